#!/usr/bin/env python3
"""What a student's lab tree is about: its lab, the student's files, the hand-in.

  tools/labtree.py handin [--lab N] [--out FILE]   make handin: pack the lab's files
  tools/labtree.py files [--ext .c,.h]             the student's files of labs 1..N

The lab is the tree's labs/current.json (written by labs/mklab.py), or --lab N
in the staff's reference tree. The hand-in archive is a zip with the lab's
student files (labs/labN/lab.json) at their paths in the tree, plus the answers
file when the handout asks for one (`answers-labN.txt`): what the autograder
takes, and nothing else, so no build output or private notes leave the machine.
"""
import argparse
import json
import os
import re
import sys
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_json(rel):
    with open(os.path.join(ROOT, rel)) as f:
        return json.load(f)


def tree_lab():
    try:
        return int(read_json("labs/current.json")["lab"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def manifest(lab):
    return read_json("labs/lab%d/lab.json" % lab)


def answers_file(m):
    """The answers file the handout asks for (`answers-labN.txt`), or None."""
    try:
        with open(os.path.join(ROOT, m["handout"])) as f:
            text = f.read()
    except OSError:
        return None
    found = re.search(r"`(answers-lab%d\.txt)`" % m["lab"], text)
    return found.group(1) if found else None


def which_lab(args):
    lab = args.lab or tree_lab()
    if lab is None:
        sys.exit("labtree: this tree has no labs/current.json (it is not a student's lab "
                 "tree): give LAB=N")
    if not os.path.exists(os.path.join(ROOT, "labs", "lab%d" % lab, "lab.json")):
        sys.exit("labtree: lab %d has no manifest (labs/lab%d/lab.json)" % (lab, lab))
    return lab


def cmd_files(args):
    """Every student file of labs 1..N that exists (the student's own code in a
    course-repository tree), filtered by extension."""
    lab = tree_lab()
    if lab is None:
        return 1
    exts = tuple(args.ext.split(",")) if args.ext else ("",)
    seen = []
    for n in range(1, lab + 1):
        if os.path.exists(os.path.join(ROOT, "labs", "lab%d" % n, "lab.json")):
            seen += [p for p in manifest(n)["student_files"]
                     if p.endswith(exts) and p not in seen and os.path.exists(os.path.join(ROOT, p))]
    print(" ".join(seen))
    return 0


def cmd_handin(args):
    lab = which_lab(args)
    m = manifest(lab)
    out = args.out or "handin-lab%d.zip" % lab
    out_path = os.path.join(ROOT, out) if not os.path.isabs(out) else out
    files = list(m["student_files"])
    missing = [p for p in files if not os.path.isfile(os.path.join(ROOT, p))]
    if missing:
        sys.exit("handin: lab %d: missing %s; nothing packed" % (lab, ", ".join(missing)))
    answers = answers_file(m)
    warn = None
    if answers:
        if os.path.isfile(os.path.join(ROOT, answers)):
            files.append(answers)
        else:
            warn = ("handin: warning: %s asks for %s, which is not there: write it and run "
                    "make handin again" % (m["handout"], answers))
    tmp = out_path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for p in files:
            z.write(os.path.join(ROOT, p), p)
    os.replace(tmp, out_path)
    print("handin: lab %d (%s): packed %s:" % (lab, m["title"], os.path.relpath(out_path)))
    for p in files:
        print("  %-24s %7d bytes" % (p, os.path.getsize(os.path.join(ROOT, p))))
    if warn:
        print(warn)
    print("handin: upload %s to the course's autograder for lab %d; it grades %s on a "
          "clean lab-%d tree (check first with make grade)"
          % (os.path.relpath(out_path), lab, ", ".join(m["student_files"]), lab))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.strip().splitlines()[1:]))
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("handin", help="pack the lab's student files for the autograder")
    p.add_argument("--lab", type=int, help="the lab (default: labs/current.json)")
    p.add_argument("--out", help="the archive (default: handin-labN.zip in the tree)")
    p.set_defaults(fn=cmd_handin)
    p = sub.add_parser("files", help="the student's files of labs 1..N")
    p.add_argument("--ext", help="only these endings, comma-separated (.c,.h)")
    p.set_defaults(fn=cmd_files)
    args = ap.parse_args()
    return args.fn(args)


if __name__ == "__main__":
    sys.exit(main())
