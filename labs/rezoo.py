#!/usr/bin/env python3
# mklab: no-markers (it reads patches and student files; it has no regions)
"""Carry the bug and variant zoos over a mechanical change of the reference.

  labs/rezoo.py TRANSFORM.py [LAB...]

TRANSFORM.py defines transform(path, text) -> text: the edit (a rename, a
reworded comment, a rewritten statement) already applied to the working
tree's student files, whose committed state (HEAD) is the reference before it.
For every labs/labN/{bugs,variants}/*.patch of the labs given (default: all),
the patch is applied to HEAD's student files, transform runs over the result,
and the patch is rewritten as the diff from the working tree's new reference
to that, keeping its Description line. Where the patch changed the very text
the transform rewrites, the transform does not match and the patch keeps the
old wording of those lines (still the same bug). Then run
`python3 labs/mklab.py check` and `make discriminate`.
"""
import glob
import json
import os
import runpy
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def head_text(path):
    return subprocess.run(["git", "show", "HEAD:" + path], cwd=ROOT, check=True,
                          stdout=subprocess.PIPE, text=True).stdout


def rezoo(transform, lab):
    files = json.load(open(os.path.join(ROOT, "labs", "lab%d" % lab, "lab.json")))["student_files"]
    problems = 0
    for patch in sorted(glob.glob(os.path.join(ROOT, "labs", "lab%d" % lab, "*", "*.patch"))):
        if os.path.basename(os.path.dirname(patch)) not in ("bugs", "variants"):
            continue
        tmp = tempfile.mkdtemp(prefix="rezoo-")
        try:
            for f in files:
                os.makedirs(os.path.join(tmp, os.path.dirname(f)), exist_ok=True)
                with open(os.path.join(tmp, f), "w") as out:
                    out.write(head_text(f))
            r = subprocess.run(["patch", "-s", "-p1", "-d", tmp, "-i", patch],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode:
                print("rezoo: %s does not apply to HEAD:\n%s" % (os.path.relpath(patch, ROOT),
                                                                  r.stdout))
                problems += 1
                continue
            with open(patch) as f:
                out = f.read().splitlines()[0] + "\n"
            for f in files:
                with open(os.path.join(tmp, f)) as fp:
                    text = transform(f, fp.read())
                with open(os.path.join(tmp, f), "w") as fp:
                    fp.write(text)
                out += subprocess.run(["diff", "-u", "--label", "a/" + f, "--label", "b/" + f,
                                       os.path.join(ROOT, f), os.path.join(tmp, f)],
                                      stdout=subprocess.PIPE, text=True).stdout
            if out.count("\n") == 1:
                print("rezoo: %s would be empty: the transform undoes the bug"
                      % os.path.relpath(patch, ROOT))
                problems += 1
                continue
            with open(patch, "w") as f:
                f.write(out)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return problems


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__.strip())
    transform = runpy.run_path(sys.argv[1])["transform"]
    labs = [int(a) for a in sys.argv[2:]] or sorted(
        int(d[3:]) for d in os.listdir(os.path.join(ROOT, "labs")) if d[3:].isdigit())
    problems = sum(rezoo(transform, lab) for lab in labs)
    print("rezoo: labs %s: %d problem(s)" % (",".join(map(str, labs)), problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
