#!/usr/bin/env python3
"""Prove that the graders discriminate: the reference and the correct variants
pass, stubs and bugs fail, on every seed checked.

  grading/discriminate.py [--lab N] [--jobs J] [--keep] [--seed S] [--fixed-seeds LIST]

Seeds: the fixed seeds (default 1,2,3) plus one random seed (--seed, printed).
The reference tree is copied and built once; every patched tree starts from a
copy of that build, so only the patched student files are recompiled. Each
tree is built once and graded on every seed from that build (one calibration
boot for the whole run). Checks, for every lab N with a manifest:
  labN.reference     the reference scores full marks on lab N on every seed
  labN.stub          the generated lab-N student tree builds without warnings, boots,
                     scores full marks on every lab < N and passes no lab-N test
                     (random seed)
  labN.brief         the HINTS=brief lab-N tree builds without warnings, its student files
                     differ from the stub's in stub comments only, no design hint is left
  labN.milestone.K   the lab-N tree with exercises 1..K done (mklab --upto-step K) passes
                     exactly the tests the manifest's milestone K promises (the handout's
                     "after step K" list), on the random seed. The last step's milestone
                     (every test) is the reference check.
  labN.variant.NAME  the reference plus labs/labN/variants/NAME.patch (a correct
                     design other than the reference) scores full marks on every seed
  labN.bug.NAME      the reference plus labs/labN/bugs/NAME.patch builds and loses
                     points on lab N on every seed (the failing tests are listed).
                     On the first seed the whole lab runs; on the others the quickest
                     test that failed before runs alone, then the others that failed,
                     and the whole lab only if they all pass.
One line per check, `discriminate.<check>: OK (x.xs) ...` or `... FAIL (x.xs) <why>`,
then the (bug, seed) pairs checked per lab, the wall time and last
`N passed, M failed`. Exit status 0 iff all pass.
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
import gradelib as gl  # noqa: E402
from gradelib import make_env  # noqa: E402

FIXED_SEEDS = (1, 2, 3)
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
    """Grade labs in tree with grade.py (one seed): {test: (passed, class, reason)}."""
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


def grade_seed(tree, lab, seed, limit, only=None):
    """Grade lab on the ISO built in tree with one seed, in this process (the
    hang limit comes from the run's one calibration boot). only: kernel tests
    to run instead of the whole lab. Returns {test: (passed, class, reason)}."""
    iso = os.path.join(tree, "obj", "pagoda.iso")
    logdir = os.path.join(tree, "obj", "discriminate", "lab%d-seed%d%s"
                          % (lab, seed, "-first" if only else ""))
    grader = gl.Grader(iso, logdir, seed=seed, no_progress=limit)
    if only:
        cpus = gl.lab_manifest(lab).get("cpus", 1)
        res = grader.run_tests(list(only), cpus=cpus, tag="lab%d" % lab,
                               sync_handlers=gl.SYNC_HANDLERS)
        return {n: (r.cls == gl.PASS, r.cls, (r.reasons or [""])[0], r.elapsed)
                for n, r in res.items() if n in only}
    report = gl.grade_lab(lab, grader, lambda text: None, quiet=True)
    return {e["name"]: (e["cls"] == gl.PASS, e["cls"], (e["reasons"] or [""])[0],
                        e["elapsed"] or 0.0)
            for e in report.entries}


def overlay(src, dest):
    """Write src's files over dest where their content differs (make then
    rebuilds only those) and remove dest's source files that src lacks."""
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for f in filenames:
            a, b = os.path.join(dirpath, f), os.path.join(dest, rel, f)
            with open(a, "rb") as fa:
                data = fa.read()
            try:
                with open(b, "rb") as fb:
                    same = fb.read() == data
            except OSError:
                same = False
            if not same:
                shutil.copy2(a, b)
                os.utime(b)  # newer than every object built from the old one
    for dirpath, dirnames, filenames in os.walk(dest):
        rel = os.path.relpath(dirpath, dest)
        if rel == "obj" or rel.startswith("obj" + os.sep):
            continue
        for f in filenames:
            if not os.path.exists(os.path.join(src, rel, f)):
                os.remove(os.path.join(dirpath, f))


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
        self.pairs = {}
        self.seeds = list(dict.fromkeys(list(args.fixed_seeds) + [args.seed]))
        self.regions = []     # every marked region of the source (set by main)
        self.stub_built = {}  # lab: Event, set once the lab's stub tree is built (or failed)

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

    def build_base(self):
        """Copy and build the reference once; patched trees start from this build."""
        self.base = os.path.join(self.scratch, "reference")
        self.copy_reference(self.base)
        build(self.base)
        self.limit = gl.Grader(os.path.join(self.base, "obj", "pagoda.iso"),
                               os.path.join(self.scratch, "calibrate")).calibrate()

    def patched_tree(self, name, patch):
        """A copy of the built reference (timestamps kept, so make recompiles only
        what the patch touches) with patch applied, built."""
        tree = os.path.join(self.scratch, name)

        def skip(d, names):
            # Grade logs and QMP sockets of boots still running are not copied.
            return ["discriminate", "grade"] if os.path.samefile(d, os.path.join(self.base, "obj")) \
                else []
        shutil.copytree(self.base, tree, symlinks=True, ignore=skip)
        try:
            self.mklab.apply_patch(tree, os.path.join(self.args.source, patch))
        except self.mklab.LabError as e:
            raise CheckFailed(str(e))
        build(tree)
        return tree

    def full_marks(self, tree, lab, what):
        for seed in self.seeds:
            res = lab_results(grade_seed(tree, lab, seed, self.limit), self.manifests[lab],
                              self.mklab)
            bad = [n for n, r in res.items() if not r[0]]
            if bad:
                raise CheckFailed("%s fails on seed %d: %s" % (what, seed, describe(res, bad)))
        return "%d/%d tests pass on seeds %s" % (len(res), len(res),
                                                  ",".join(map(str, self.seeds)))

    def check_reference(self, lab):
        return self.full_marks(self.base, lab, "the reference")

    def check_variant(self, lab, name, patch):
        tree = self.patched_tree("lab%d-variant-%s" % (lab, name), patch)
        return "full marks: " + self.full_marks(tree, lab, "the variant")

    def generated_tree(self, lab, name, **kw):
        """A generated lab-lab tree (mklab handout with kw), built without
        warnings. Other than the stub, it starts from a copy of the built stub
        tree with the files that differ written over it: only they recompile."""
        tree = os.path.join(self.scratch, "lab%d-%s" % (lab, name))
        stub = os.path.join(self.scratch, "lab%d-stub" % lab)
        try:
            if name == "stub":
                self.mklab.generate(self.args.source, tree, lab, quiet=True,
                                    include_untracked=self.args.include_untracked)
            else:
                self.stub_built.setdefault(lab, threading.Event()).wait(BUILD_TIMEOUT)
                fresh = tree + ".gen"
                self.mklab.generate(self.args.source, fresh, lab, quiet=True,
                                    include_untracked=self.args.include_untracked, **kw)
                if os.path.isdir(os.path.join(stub, "obj")):
                    shutil.copytree(stub, tree, symlinks=True,
                                    ignore=lambda d, names: ["discriminate", "grade"]
                                    if os.path.basename(d) == "obj" else [])
                    overlay(fresh, tree)
                    shutil.rmtree(fresh)
                else:  # the stub check is not in this run, or its build failed
                    os.rename(fresh, tree)
        except self.mklab.LabError as e:
            raise CheckFailed("mklab handout failed:\n" + tail(str(e)))
        try:
            build(tree, no_warnings=True)
        finally:
            if name == "stub":
                self.stub_built.setdefault(lab, threading.Event()).set()
        return tree

    def check_brief(self, lab):
        """The HINTS=brief tree: the stub with other comments, so it builds from
        the stub's build without warnings and its code is the stub's (its grade
        is the stub's: not graded again); no design hint is left in it."""
        tree = self.generated_tree(lab, "brief", hints="brief")
        stub = os.path.join(self.scratch, "lab%d-stub" % lab)
        files = self.manifests[lab]["student_files"]
        hints = [r.hint for r in self.regions if r.lab >= lab]
        problems = []
        for f in files:
            with open(os.path.join(tree, f)) as fb:
                brief = fb.read()
            for h in hints:
                design = self.mklab.SECTION_RE.split(h)[0].strip(" (;,")
                if len(design) > 12 and design in brief:
                    problems.append("%s still holds the design hint %r" % (f, design))
            if os.path.exists(os.path.join(stub, f)):
                with open(os.path.join(stub, f)) as fs:
                    full = fs.read()
                code = [(a, b) for a, b in zip(full.splitlines(), brief.splitlines())
                        if a != b and not (a.strip().startswith("/* LAB") and
                                           b.strip().startswith("/* LAB"))]
                if code or len(full.splitlines()) != len(brief.splitlines()):
                    problems.append("%s differs from the stub in more than its stub comments"
                                    % f)
        if problems:
            raise CheckFailed("; ".join(problems))
        return "builds without warnings; %d student file(s): stub code, no design hints" \
            % len(files)

    def check_stub(self, lab):
        tree = self.generated_tree(lab, "stub")
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

    def check_milestone(self, lab, milestone):
        """Exercises 1..step done: exactly the promised tests pass."""
        step, promised = milestone["step"], set(milestone["pass"])
        tree = self.generated_tree(lab, "step%d" % step, upto_step=step)
        for seed in [self.args.seed]:
            res = lab_results(grade_seed(tree, lab, seed, self.limit), self.manifests[lab],
                              self.mklab)
            passed = {n for n, r in res.items() if r[0]}
            if passed != promised:
                extra, missing = sorted(passed - promised), sorted(promised - passed)
                raise CheckFailed(
                    "after step %d on seed %d (%s):%s%s" % (
                        step, seed, milestone.get("where", "the handout"),
                        " passes %s, which it does not promise;" % ", ".join(extra)
                        if extra else "",
                        " fails %s" % describe(res, missing) if missing else ""))
        return "after step %d exactly %d/%d tests pass, as promised" % (step, len(promised),
                                                                        len(res))

    def check_bug(self, lab, bug, patch):
        tree = self.patched_tree("lab%d-bug-%s" % (lab, bug), patch)
        manifest = self.manifests[lab]
        host_checked = {t["name"] for part in manifest["parts"] for t in part["tests"]
                        if "grader" in t}
        caught, first = [], []
        for seed in self.seeds:
            with self.lock:
                self.pairs[lab] = self.pairs.get(lab, 0) + 1
            bad = []
            # Whatever caught the bug before usually catches it again: run the
            # quickest of those tests alone, then the others, and the whole
            # lab only if they all pass.
            for only in ([first[0]], first[1:]) if first else ():
                if only and not bad:
                    res = grade_seed(tree, lab, seed, self.limit, only=only)
                    bad = [n for n in only if n in res and not res[n][0]]
            if not bad:
                res = lab_results(grade_seed(tree, lab, seed, self.limit), manifest, self.mklab)
                bad = [n for n, r in res.items() if not r[0]]
            if not bad:
                raise CheckFailed("the bug is not caught on seed %d: every lab %d test passes%s"
                                  % (seed, lab, " (caught on seeds %s)" % ", ".join(
                                      "%d by %s" % c for c in caught) if caught else ""))
            if not first:
                first = sorted((n for n in bad if n not in host_checked),
                               key=lambda n: res[n][3])
                caught.append((seed, ", ".join("%s (%s)" % (n, res[n][1]) for n in bad)))
            else:
                caught.append((seed, "%d test(s)" % len(bad)))
        return "caught on seeds %s" % "; ".join("%d by %s" % c for c in caught)

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
            out.append(("lab%d.brief" % lab, self.check_brief, lab))
            last = max((r.step or 0 for r in self.regions if r.lab == lab), default=0)
            every = set(self.mklab.test_names(self.manifests[lab]))
            for m in self.manifests[lab].get("milestones", []):
                if m["step"] >= last and set(m["pass"]) == every:
                    continue  # all exercises done: the reference check covers it
                out.append(("lab%d.milestone.%d" % (lab, m["step"]), self.check_milestone, lab,
                            m))
            for name, patch in sorted(self.mklab.variant_patches(self.args.source, lab,
                                                                 self.files).items()):
                out.append(("lab%d.variant.%s" % (lab, name), self.check_variant, lab, name,
                            patch))
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
    ap.add_argument("--seed", type=int, help="the random seed (default: random, printed)")
    ap.add_argument("--fixed-seeds", default=",".join(map(str, FIXED_SEEDS)),
                    help="seeds every variant and bug is graded on besides the random one "
                         "(default %(default)s)")
    ap.add_argument("--only", metavar="REGEX", help="only the checks whose name matches")
    ap.add_argument("--source", default=ROOT, help=argparse.SUPPRESS)
    ap.add_argument("--include-untracked", action="store_true",
                    help="also copy untracked, non-ignored files (while developing a lab)")
    args = ap.parse_args()
    args.source = os.path.abspath(args.source)
    args.fixed_seeds = [int(x) for x in args.fixed_seeds.split(",") if x.strip()]
    start = time.time()

    if os.path.exists(os.path.join(args.source, "labs", "current.json")) or \
            not os.path.exists(os.path.join(ROOT, "labs", "mklab.py")):
        print("discriminate: nothing to check in a student lab tree (the reference is needed)")
        print("0 passed, 0 failed")
        return 0
    mklab = load_mklab()
    try:
        files, manifests, scanned = mklab.load_all(args.source, args.include_untracked)
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
    d.regions = [r for v in scanned.values() for r in v[2]]
    checks = d.checks(labs)
    if args.only:
        checks = [c for c in checks if re.search(args.only, c[0])]
    print("discriminate: %d check(s) for lab(s) %s, %d at a time, seeds %s (random: %d)"
          % (len(checks), ",".join(map(str, labs)) or "none", args.jobs,
             ",".join(map(str, d.seeds)), args.seed), flush=True)
    gl.on_termination()
    try:
        try:
            d.build_base()
        except CheckFailed as e:
            d.report("reference-build", False, time.time() - start, str(e))
            checks = []
        # The longest labs first, so that the two workers finish together.
        checks.sort(key=lambda c: -int(c[0][3]))
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for f in [pool.submit(d.run_check, *c) for c in checks]:
                f.result()
    finally:
        gl.kill_all_qemus()
        if args.keep:
            print("discriminate: scratch trees kept in %s" % scratch)
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    for lab in labs:
        nb = len(mklab.bug_patches(args.source, lab, files))
        nv = len(mklab.variant_patches(args.source, lab, files))
        print("discriminate: lab %d: %d bug(s), %d variant(s), %d (bug, seed) pair(s) checked"
              % (lab, nb, nv, d.pairs.get(lab, 0)))
    print("discriminate: wall time %.1fs" % (time.time() - start))
    print("%d passed, %d failed" % (d.passed, d.failed))
    return 0 if d.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
