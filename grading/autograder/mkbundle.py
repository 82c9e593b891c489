#!/usr/bin/env python3
"""Write Gradescope autograder bundles: one lab per bundle.

  grading/autograder/mkbundle.py --lab N [--out obj/autograder-labN.zip]
  grading/autograder/mkbundle.py --all [--outdir obj]     one zip per lab

A bundle grades exactly one lab, named in its bundle.json; a submission cannot
choose another. Its zip holds, at the root (as Gradescope wants): setup.sh,
run_autograder, grade-submission, bundle.json, and tree/, the lab-N student
tree made by labs/mklab.py -- so no solution of lab N or of a later lab is in
it (the earlier labs' solutions are, as in every lab-N student tree). The
grading library grade-submission imports is the tree's (tree/grading).
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def load_mklab():
    spec = importlib.util.spec_from_file_location("mklab", os.path.join(ROOT, "labs", "mklab.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def add(zf, path, arcname):
    if os.path.islink(path):
        info = zipfile.ZipInfo(arcname)
        info.external_attr = 0o120777 << 16
        zf.writestr(info, os.readlink(path))
        return
    zf.write(path, arcname)  # keeps the mode bits (executables stay executable)


def source_commit():
    try:
        out = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        return out.stdout.strip() or None
    except OSError:
        return None


def write_bundle(mklab, lab, out, include_untracked=False, hints="full"):
    with tempfile.TemporaryDirectory(prefix="pagoda-bundle-") as tmp:
        top = os.path.join(tmp, "tree")
        manifest = mklab.generate(ROOT, top, lab, include_untracked=include_untracked,
                                  quiet=True, hints=hints)
        os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
        part = out + ".tmp"
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
            for name in ("setup.sh", "run_autograder"):
                add(zf, os.path.join(HERE, name), name)
            add(zf, os.path.join(ROOT, "grading", "grade-submission"), "grade-submission")
            info = zipfile.ZipInfo("bundle.json", date_time=time.localtime()[:6])
            info.external_attr = 0o100644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, json.dumps({"lab": lab, "title": manifest["title"],
                                          "student_files": manifest["student_files"],
                                          "source": source_commit()}, indent=1) + "\n")
            for dirpath, dirnames, filenames in os.walk(top):
                dirnames.sort()
                for f in sorted(filenames):
                    full = os.path.join(dirpath, f)
                    add(zf, full, os.path.join("tree", os.path.relpath(full, top)))
        os.replace(part, out)
    print("autograder bundle for lab %d: %s (%d KiB); upload it to the lab %d assignment"
          % (lab, out, os.path.getsize(out) // 1024, lab))


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--lab", type=int, help="the lab this bundle grades")
    which.add_argument("--all", action="store_true", help="one bundle per lab")
    ap.add_argument("--out", help="the zip (--lab; default OUTDIR/autograder-labN.zip)")
    ap.add_argument("--outdir", default="obj", help="where the zips go (default obj)")
    ap.add_argument("--hints", choices=("full", "brief"), default="full",
                    help="the stub comments of the bundled tree (brief: no design hints)")
    ap.add_argument("--include-untracked", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    mklab = load_mklab()
    try:
        _, manifests, _ = mklab.load_all(ROOT, args.include_untracked)
        labs = sorted(manifests) if args.all else [args.lab]
        if not labs:
            raise mklab.LabError("no lab manifests under labs/")
        for lab in labs:
            if lab not in manifests:
                raise mklab.LabError("lab %d has no manifest; labs: %s"
                                     % (lab, ", ".join(map(str, sorted(manifests)))))
            out = args.out if args.out and not args.all else \
                os.path.join(args.outdir, "autograder-lab%d.zip" % lab)
            write_bundle(mklab, lab, out, args.include_untracked, args.hints)
    except mklab.LabError as e:
        print("mkbundle: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
