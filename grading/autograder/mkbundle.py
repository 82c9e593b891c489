#!/usr/bin/env python3
"""Write the Gradescope autograder bundle (make autograder [LAB=N]).

  grading/autograder/mkbundle.py --out obj/autograder.zip [--lab N ...]

The zip holds setup.sh and run_autograder at its root (as Gradescope wants),
grading/grade-submission, bundle.json, and one generated lab tree per lab
(labN/, made by labs/mklab.py: the graded lab's solution is not in it).
Default: every lab with a manifest; with one lab, run_autograder grades that
lab, otherwise it picks the lab from the assignment title ("Lab 2 ...").
"""
import argparse
import importlib.util
import json
import os
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--lab", type=int, action="append")
    ap.add_argument("--include-untracked", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    mklab = load_mklab()
    try:
        _, manifests, _ = mklab.load_all(ROOT, args.include_untracked)
        labs = sorted(set(args.lab)) if args.lab else sorted(manifests)
        if not labs:
            raise mklab.LabError("no lab manifests under labs/")
        with tempfile.TemporaryDirectory(prefix="pagoda-bundle-") as tmp:
            for lab in labs:
                mklab.generate(ROOT, os.path.join(tmp, "lab%d" % lab), lab,
                               include_untracked=args.include_untracked, quiet=True)
            os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
            part = args.out + ".tmp"
            with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as zf:
                for name in ("setup.sh", "run_autograder"):
                    add(zf, os.path.join(HERE, name), name)
                add(zf, os.path.join(ROOT, "grading", "grade-submission"), "grade-submission")
                info = zipfile.ZipInfo("bundle.json", date_time=time.localtime()[:6])
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, json.dumps({"labs": labs}) + "\n")
                for lab in labs:
                    top = os.path.join(tmp, "lab%d" % lab)
                    for dirpath, dirnames, filenames in os.walk(top):
                        dirnames.sort()
                        for f in sorted(filenames):
                            full = os.path.join(dirpath, f)
                            add(zf, full, os.path.join("lab%d" % lab, os.path.relpath(full, top)))
            os.replace(part, args.out)
    except mklab.LabError as e:
        print("mkbundle: error: %s" % e, file=sys.stderr)
        return 1
    print("autograder bundle for lab(s) %s: %s (%d KiB); upload it to Gradescope"
          % (", ".join(map(str, labs)), args.out, os.path.getsize(args.out) // 1024))
    return 0


if __name__ == "__main__":
    sys.exit(main())
