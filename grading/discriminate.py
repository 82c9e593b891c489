#!/usr/bin/env python3
"""Prove that the graders discriminate: the reference passes, stubs and bugs fail.

  grading/discriminate.py [--lab N] [--jobs J] [--keep] [--seed S]

For every lab N with a manifest (labs/labN/lab.json), each in its own scratch
copy of the tree (git ls-files, working-tree content), built with make -j2:
  labN.reference   the reference scores full marks on lab N
  labN.stub        the generated lab-N student tree builds without warnings, boots,
                   scores full marks on every lab < N and passes no lab-N test
  labN.bug.NAME    the reference plus labs/labN/bugs/NAME.patch builds and loses
                   points on lab N (the failing tests are listed)
One line per check, `discriminate.<check>: OK (x.xs) ...` or `... FAIL (x.xs) <why>`,
then the wall time and last `N passed, M failed`. Exit status 0 iff all pass.
In a student lab tree (no reference solutions) it checks nothing.
"""
import argparse
import concurrent.futures
import importlib.util
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grading"))
from gradelib import make_env  # noqa: E402

BUILD_TIMEOUT = 300
GRADE_TIMEOUT = 900


def load_mklab():
    spec = importlib.util.spec_from_file_location("mklab", os.path.join(ROOT, "labs", "mklab.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class CheckFailed(Exception):
    pass


def run(cmd, cwd, timeout):
    try:
        proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, timeout=timeout, errors="replace", env=make_env())
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return None, out + "\n(timed out after %ds)" % timeout
    return proc.returncode, proc.stdout


def tail(text, n=12):
    lines = [l for l in text.strip().splitlines() if l.strip() and
             not re.match(r"^\s*(CC|AS|LD|ISO|HOSTCC)\s+\S+\s*$", l)]
    return "\n".join("    " + l for l in lines[-n:])


def build(tree, no_warnings=False):
    rc, out = run(["make", "-j2", "OBJ=obj", "all", "obj/host/check_pagoda"], tree, BUILD_TIMEOUT)
    if rc != 0:
        raise CheckFailed("the build failed:\n" + tail(out))
    if no_warnings:
        warns = [l for l in out.splitlines() if "warning:" in l.lower()]
        if warns:
            raise CheckFailed("the build printed warnings:\n" + tail("\n".join(warns)))


def grade(tree, labs, seed):
    out_json = os.path.join(tree, "obj", "discriminate-results.json")
    cmd = [sys.executable, "grading/grade.py", "--obj", "obj", "--json", out_json, "--quiet",
           "--no-build", "--seed", str(seed), "--jobs", "1"]
    for lab in labs:
        cmd += ["--lab", str(lab)]
    rc, out = run(cmd, tree, GRADE_TIMEOUT)
    try:
        with open(out_json) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        raise CheckFailed("grade.py wrote no results (%s; status %s):\n%s" % (e, rc, tail(out)))
    results = {}
    for t in data.get("tests", []):
        # Gradescope's name carries the part ("Walk: lab1.walk_huge"); the test is in extra_data.
        name = (t.get("extra_data") or {}).get("test") or t.get("name", "")
        passed = t.get("status") == "passed" if "status" in t else \
            t.get("score", 0) >= t.get("max_score", 1)
        cls = (t.get("extra_data") or {}).get("class", "pass" if passed else "fail")
        reason = ""
        for line in (t.get("output") or "").splitlines()[1:]:
            if line.strip():
                reason = line.strip()
                break
        results[name] = (passed, cls, reason)
    return results


def lab_results(results, manifest, mklab):
    names = mklab.test_names(manifest)
    missing = [n for n in names if n not in results]
    if missing:
        raise CheckFailed("the grader reported nothing for %s" % ", ".join(missing))
    return {n: results[n] for n in names}


def describe(res, names):
    return ", ".join("%s (%s%s)" % (n, res[n][1], ": " + res[n][2][:80] if res[n][2] else "")
                     for n in names)


class Discriminator:
    def __init__(self, args, mklab, manifests, files, scratch):
        self.args, self.mklab, self.manifests, self.files = args, mklab, manifests, files
        self.scratch = scratch
        self.lock = threading.Lock()
        self.passed = self.failed = 0

    def report(self, name, ok, elapsed, detail):
        with self.lock:
            if ok:
                self.passed += 1
                line = "discriminate.%s: OK (%.1fs)%s" % (name, elapsed, " " + detail if detail else "")
            else:
                self.failed += 1
                line = "discriminate.%s: FAIL (%.1fs) %s" % (name, elapsed, detail)
            print(line, flush=True)

    def copy_reference(self, dest):
        self.mklab.copy_reference(self.args.source, dest, self.args.include_untracked)

    def check_reference(self, lab):
        tree = os.path.join(self.scratch, "lab%d-reference" % lab)
        self.copy_reference(tree)
        build(tree)
        res = lab_results(grade(tree, [lab], self.args.seed), self.manifests[lab], self.mklab)
        bad = [n for n, r in res.items() if not r[0]]
        if bad:
            raise CheckFailed("the reference fails %s" % describe(res, bad))
        return "%d/%d tests pass" % (len(res), len(res))

    def check_stub(self, lab):
        tree = os.path.join(self.scratch, "lab%d-stub" % lab)
        try:
            self.mklab.generate(self.args.source, tree, lab,
                                include_untracked=self.args.include_untracked, quiet=True)
        except self.mklab.LabError as e:
            raise CheckFailed("mklab handout failed:\n" + tail(str(e)))
        build(tree, no_warnings=True)
        earlier = [l for l in sorted(self.manifests) if l < lab]
        allres = grade(tree, earlier + [lab], self.args.seed)
        problems = []
        for l in earlier:
            res = lab_results(allres, self.manifests[l], self.mklab)
            bad = [n for n, r in res.items() if not r[0]]
            if bad:
                problems.append("lab %d (given solution) fails %s" % (l, describe(res, bad)))
        res = lab_results(allres, self.manifests[lab], self.mklab)
        good = [n for n, r in res.items() if r[0]]
        if good:
            problems.append("the stub passes %s" % ", ".join(good))
        if problems:
            raise CheckFailed("; ".join(problems))
        return "0/%d tests pass%s" % (len(res), ", labs %s full marks" %
                                       ",".join(map(str, earlier)) if earlier else "")

    def check_bug(self, lab, bug, patch):
        tree = os.path.join(self.scratch, "lab%d-bug-%s" % (lab, bug))
        self.copy_reference(tree)
        try:
            self.mklab.apply_patch(tree, os.path.join(self.args.source, patch))
        except self.mklab.LabError as e:
            raise CheckFailed(str(e))
        build(tree)
        res = lab_results(grade(tree, [lab], self.args.seed), self.manifests[lab], self.mklab)
        bad = [n for n, r in res.items() if not r[0]]
        if not bad:
            raise CheckFailed("the bug is not caught: every lab %d test passes" % lab)
        return "caught by %s" % ", ".join("%s (%s)" % (n, res[n][1]) for n in bad)

    def run_check(self, name, fn, *a):
        start = time.time()
        try:
            detail = fn(*a)
            self.report(name, True, time.time() - start, detail)
        except CheckFailed as e:
            self.report(name, False, time.time() - start, str(e))
        except Exception as e:  # a bug here must not hide the other checks
            self.report(name, False, time.time() - start, "internal error: %r" % e)

    def checks(self, labs):
        out = []
        for lab in labs:
            out.append(("lab%d.reference" % lab, self.check_reference, lab))
            out.append(("lab%d.stub" % lab, self.check_stub, lab))
            for bug, patch in sorted(self.mklab.bug_patches(self.args.source, lab,
                                                            self.files).items()):
                out.append(("lab%d.bug.%s" % (lab, bug), self.check_bug, lab, bug, patch))
        return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.strip().splitlines()[1:]))
    ap.add_argument("--lab", type=int, action="append", help="only this lab (repeatable)")
    ap.add_argument("--jobs", type=int, default=2, help="checks run in parallel (default 2)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch trees")
    ap.add_argument("--seed", type=int, help="grader seed (default: random, printed)")
    ap.add_argument("--source", default=ROOT, help=argparse.SUPPRESS)
    ap.add_argument("--include-untracked", action="store_true",
                    help="also copy untracked, non-ignored files (while developing a lab)")
    args = ap.parse_args()
    args.source = os.path.abspath(args.source)
    start = time.time()

    if os.path.exists(os.path.join(args.source, "labs", "current.json")) or \
            not os.path.exists(os.path.join(ROOT, "labs", "mklab.py")):
        print("discriminate: nothing to check in a student lab tree (the reference is needed)")
        print("0 passed, 0 failed")
        return 0
    mklab = load_mklab()
    try:
        files, manifests, _ = mklab.load_all(args.source, args.include_untracked)
    except mklab.LabError as e:
        print("discriminate.manifests: FAIL (%.1fs) mklab check:\n%s"
              % (time.time() - start, tail(str(e), 30)))
        print("0 passed, 1 failed")
        return 1
    labs = sorted(manifests)
    if args.lab:
        unknown = [l for l in args.lab if l not in manifests]
        if unknown:
            sys.exit("discriminate: no manifest for lab %s" % ", ".join(map(str, unknown)))
        labs = sorted(set(args.lab))
    if args.seed is None:
        args.seed = random.randrange(1, 1 << 31)
    scratch = tempfile.mkdtemp(prefix="pagoda-discriminate-")
    d = Discriminator(args, mklab, manifests, files, scratch)
    checks = d.checks(labs)
    print("discriminate: %d check(s) for lab(s) %s, %d at a time, seed %d"
          % (len(checks), ",".join(map(str, labs)) or "none", args.jobs, args.seed), flush=True)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for f in [pool.submit(d.run_check, *c) for c in checks]:
                f.result()
    finally:
        if args.keep:
            print("discriminate: scratch trees kept in %s" % scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print("discriminate: wall time %.1fs" % (time.time() - start))
    print("%d passed, %d failed" % (d.passed, d.failed))
    return 0 if d.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
