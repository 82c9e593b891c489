#!/usr/bin/env python3
"""Everything `make test` (and CI) runs, with one line per check and a closing
`N passed, M failed` line. Steps that other scripts implement report their own
counts, which are added in.

  host unit tests (Check)     obj/host/check_pagoda
  kernel image                Multiboot2 header, boot smoke tests boot.*
  grader self-checks          panic / triple fault / hang / failure classified
  clang                       kernel, user programs, host tests built by clang + lld; lab 1
  GDB                         grading/test_gdb.py drives real GDB against QEMU
  handouts' GDB sessions      grading/test_handout_gdb.py runs each session a handout shows, checks it
  signed lines, attacks       grading/test_integrity.py: forged results score nothing, caps hold
  hostile inputs              grading/test_hardening.py: CMDLINE byte for byte, run= E2BIG,
                              too many user programs
  documented commands         grading/test_docs.py runs each one the README and handouts show
  course repository           grading/test_course.py: publish, clone, lab 1, move on to lab 2
  SMP determinism             lab 4 graded twice with one seed, once on one host core
  each test alone             grading/alone.py: every graded kernel test booted on its own passes
  labs                        labs/mklab.py check, grading/discriminate.py
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

import gradelib as gl

ROOT = gl.ROOT


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail="", took=None):
        t = " (%.1fs)" % took if took is not None else ""
        print("selftest.%s: %s%s%s" % (name, "OK" if ok else "FAIL", t,
                                       "" if ok or not detail else "\n    " +
                                       detail.replace("\n", "\n    ")), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1

    def add(self, name, passed, failed, took):
        print("selftest.%s: %d passed, %d failed (%.1fs)" % (name, passed, failed, took),
              flush=True)
        self.passed += passed
        self.failed += failed


def run(cmd, timeout, env=None):
    t = time.time()
    try:
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, time.time() - t
    except OSError as e:
        return None, "cannot run %s: %s" % (cmd[0], e), time.time() - t
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else \
            (e.stdout or "")
        return None, out + "\n[timed out after %ds]" % timeout, time.time() - t


def closing_counts(output):
    """(passed, failed) from a closing 'N passed, M failed' line, else None."""
    for line in reversed(output.strip().splitlines()):
        m = re.match(r"^(?:\w+: )?(\d+) passed, (\d+) failed", line.strip())
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def host_tests(tally, obj):
    binary = os.path.join(obj, "host", "check_pagoda")
    # As make check: in a lab-N tree the suites of later labs do not run.
    lab = current_student_lab()
    rc, out, took = run([binary], 120, env=dict(os.environ, PAGODA_LAB=str(lab or "")))
    print(out.rstrip())
    m = re.search(r"(\d+)%: Checks: (\d+), Failures: (\d+), Errors: (\d+)", out)
    if not m:
        tally.check("host_unit_tests", False, "no Check summary in the output", took)
        return
    checks, fails, errors = int(m.group(2)), int(m.group(3)), int(m.group(4))
    tally.add("host_unit_tests", checks - fails - errors, fails + errors, took)


def kernel_image(tally, obj):
    kernel = os.path.join(obj, "kern", "kernel")
    rc, out, took = run(["grub-file", "--is-x86-multiboot2", kernel], 30)
    tally.check("multiboot2_header", rc == 0, out or "grub-file rejected %s" % kernel, took)


def boot_smoke(tally, grader):
    t = time.time()
    names = ["boot.console", "boot.memory_map", "boot.frames", "boot.frame_exhaustion",
             "boot.fault_catch", "boot.symbols"]
    results = grader.run_tests(names, tag="selftest")
    for name in names:
        r = results[name]
        tally.check(name, r.passed, "%s: %s" % (r.cls, "\n".join(r.reasons)), r.elapsed)
    echo = [line for line in results["boot.console"].log if "echo seed=" in line]
    ok = bool(echo) and ("seed=%d " % grader.seed) in echo[0]
    tally.check("seed_echo", ok, "the kernel did not echo seed %d: %s" % (grader.seed, echo),
                time.time() - t)


def crash_classes(tally, grader):
    """The grader must name each way a kernel can die, and quickly."""
    saved = grader.no_progress
    grader.no_progress = 3.0  # the hang case waits this long, no more
    cases = [("crash.fail", gl.FAIL, None), ("crash.panic", gl.PANIC, "deliberate panic"),
             ("crash.page_fault", gl.PANIC, "page fault"),
             ("crash.double_free", gl.PANIC, "double free"),
             ("crash.triple_fault", gl.TRIPLE, None),
             ("crash.hang", gl.TIMEOUT, "in ktest_fn_crash_hang (kern/test/boot.c:")]
    try:
        for name, want, text in cases:
            t = time.time()
            r = grader.run_tests([name], tag="selftest")[name]
            took = time.time() - t
            ok = r.cls == want and (text is None or text in "\n".join(r.reasons))
            ok = ok and took < (grader.no_progress + 5 if want == gl.TIMEOUT else 5)
            tally.check("grader_classifies_" + name.split(".")[1], ok,
                        "expected %s%s, got %s in %.1fs: %s" % (
                            want, " mentioning %r" % text if text else "", r.cls, took,
                            "\n".join(r.reasons[:5])), took)
    finally:
        grader.no_progress = saved


def pinned_to_one_cpu():
    """preexec_fn: run the child (and its QEMU) on one host CPU only."""
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def serial_lines(logdir):
    """What the kernel printed in each boot of a grade run (grader comments
    dropped; the per-boot nonce and signatures too, which differ by design)."""
    lines = []
    for name in sorted(os.listdir(logdir)):
        if re.match(r"lab\d+-boot\d+\.log$", name):
            with open(os.path.join(logdir, name), errors="replace") as f:
                lines += [re.sub(r" nonce=\S+| ~\d+:[0-9a-f]{32}$", "", l.rstrip("\n"))
                          for l in f if not l.startswith("#")]
    return lines


def smp_determinism(tally, obj, lab=4, seed=20261130):
    """SMP=det promises the same result on any host: grade the multi-CPU lab
    twice with one seed, the second time pinned to one host core, and require
    the same verdicts and the same serial output (counters, interleavings)."""
    runs = []
    for pin in (False, True):
        logdir = os.path.join(obj, "selftest", "det-%s" % ("pinned" if pin else "free"))
        cmd = [sys.executable, "grading/grade.py", "--lab", str(lab), "--obj", obj,
               "--no-build", "--seed", str(seed), "--logdir", logdir]
        t = time.time()
        p = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=300, preexec_fn=pinned_to_one_cpu if pin else None)
        verdicts = [l for l in p.stdout.splitlines() if re.match(r"^lab%d\.\S+: " % lab, l)]
        verdicts = [re.sub(r" \([0-9.]+s\)$", "", l) for l in verdicts]
        runs.append((verdicts, serial_lines(logdir), time.time() - t, p.stdout))
    (v1, s1, t1, out1), (v2, s2, t2, out2) = runs
    tally.check("smp_det_verdicts_same_pinned", v1 == v2 and len(v1) > 0,
                "lab %d, seed %d: free %s / pinned %s" % (lab, seed, v1, v2), t1 + t2)
    # Not a check: under heavy host load an interleaving can differ between
    # runs (measured: 1-3 boots in 10 of lab4.concurrent at load average 13 on
    # 2 cores); what must not differ is the verdicts, checked above.
    diff = [(a, b) for a, b in zip(s1, s2) if a != b]
    print("selftest: SMP=det serial output %s" % (
        "identical in both runs (%d lines)" % len(s1) if s1 == s2 else
        "differs (%d vs %d lines; first difference: %s)" % (len(s1), len(s2),
                                                            diff[0] if diff else "length")))
    tally.check("smp_det_pinned_full_marks", "Score: 100/100" in out2,
                out2.strip().splitlines()[-1] if out2.strip() else "no output")


def qemu_wrapper_statuses(tally, obj):
    """`make qemu-nox` names how the kernel ended and exits non-zero unless the
    tests passed (README, "Running tests by hand")."""
    cases = [("crash.fail", 1, "some tests failed"), ("crash.panic", 2, "the kernel panicked"),
             ("crash.triple_fault", 3, "a triple fault"),
             ("boot.console", 0, "all selected tests passed")]
    for test, want, text in cases:
        cmd = ["make", "-s", "qemu-nox", "OBJ=" + os.path.relpath(obj, ROOT),
               "CMDLINE=test=" + test]
        rc, out, took = run(cmd, 60, env=gl.make_env())
        got = re.search(r"Error (\d+)", out)
        status = int(got.group(1)) if got else rc
        tally.check("make_qemu_status_" + test.split(".")[1], status == want and
                    ("pagoda: " in out and text in out),
                    "expected status %d and %r, got %s:\n%s" % (want, text, status,
                                                                  out.strip()[-600:]), took)


def clang_build(tally, obj):
    """macOS students have clang as cc: build the kernel, user programs and
    host tests with clang and lld (without warnings: -Werror) into their own
    OBJ, run the host tests, and grade lab 1 from that build (the README's
    `make CC=clang LD=ld.lld grade`, one lab)."""
    if not (shutil.which("clang") and shutil.which("ld.lld")):
        print("selftest.clang: clang not installed: skipped (the Debian packages 'clang' "
              "and 'lld')", flush=True)
        return
    clang_obj = os.path.relpath(obj, ROOT) + "-clang"
    make = ["make", "-s", "CC=clang", "LD=ld.lld", "OBJ=" + clang_obj]
    rc, out, took = run(make + ["all", "check"], 300, env=gl.make_env())
    m = re.search(r"(\d+)%: Checks: (\d+), Failures: (\d+), Errors: (\d+)", out)
    tally.check("clang_build_and_host_tests", rc == 0 and m is not None and m.group(1) == "100",
                "make CC=clang LD=ld.lld OBJ=%s all check: exit %s\n%s" % (
                    clang_obj, rc, "\n".join(out.strip().splitlines()[-15:])), took)
    if rc != 0:
        return
    lab = 1 if current_student_lab() is None else None
    if lab is None:  # a student's tree: their lab 1 may be unfinished
        rc, out, took = run(make + ["qemu-nox", "CMDLINE=test=boot"], 120, env=gl.make_env())
        tally.check("clang_boot", rc == 0 and "all selected tests passed" in out,
                    "\n".join(out.strip().splitlines()[-10:]), took)
        return
    rc, out, took = run(make + ["grade", "LAB=%d" % lab], 300, env=gl.make_env())
    score = re.search(r"^Score: (\d+)/(\d+)$", out, re.M)
    tally.check("clang_grade_lab%d" % lab, rc == 0 and score is not None and
                score.group(1) == score.group(2), "\n".join(out.strip().splitlines()[-10:]),
                took)


def script_step(tally, name, cmd, timeout):
    if not os.path.exists(os.path.join(ROOT, cmd[1])):
        return
    rc, out, took = run(cmd, timeout)
    print(out.rstrip())
    counts = closing_counts(out)
    if counts is None:
        tally.check(name, rc == 0, "exit status %s and no closing 'N passed, M failed' line"
                    % rc, took)
    else:
        tally.add(name, counts[0], counts[1] + (1 if rc != 0 and counts[1] == 0 else 0),
                  took)


def current_student_lab(key="lab"):
    """The lab a generated student tree is for (labs/current.json), or None."""
    path = os.path.join(ROOT, "labs", "current.json")
    if not os.path.exists(path):
        return None
    import json
    with open(path) as f:
        return json.load(f).get(key)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--obj", default=os.environ.get("OBJ", "obj"))
    ap.add_argument("--quick", action="store_true", help="skip the lab discrimination step")
    args = ap.parse_args()
    obj = os.path.join(ROOT, args.obj)
    start = time.time()
    tally = Tally()
    host_tests(tally, obj)
    kernel_image(tally, obj)
    grader = gl.Grader(os.path.join(obj, "pagoda.iso"), os.path.join(obj, "selftest"))
    t = time.time()
    limit = grader.calibrate()
    tally.check("calibration_boot", True, took=time.time() - t)
    print("selftest: seed %d, hang limit %.0fs" % (grader.seed, limit))
    boot_smoke(tally, grader)
    crash_classes(tally, grader)
    qemu_wrapper_statuses(tally, obj)
    clang_build(tally, obj)
    script_step(tally, "gdb", [sys.executable, "grading/test_gdb.py", "--obj", args.obj], 180)
    script_step(tally, "handout_gdb", [sys.executable, "grading/test_handout_gdb.py", "--obj",
                                       args.obj], 600)
    script_step(tally, "memview", [sys.executable, "grading/test_memview.py", "--obj",
                                   args.obj], 120)
    script_step(tally, "integrity", [sys.executable, "grading/test_integrity.py"], 300)
    script_step(tally, "hardening", [sys.executable, "grading/test_hardening.py", "--obj",
                                     args.obj], 300)
    script_step(tally, "labs_check", [sys.executable, "labs/mklab.py", "check"], 120)
    script_step(tally, "docs", [sys.executable, "grading/test_docs.py"], 1200)
    script_step(tally, "course_repo", [sys.executable, "grading/test_course.py"], 600)
    # The Gradescope bundle end to end, in a throw-away /autograder (staff only).
    script_step(tally, "bundle", [sys.executable, "grading/test_bundle.py"], 600)
    student_lab = current_student_lab()
    # On a course-repository branch (stub_all) the earlier labs are the
    # student's own code too.
    earlier_mine = bool(current_student_lab("stub_all"))
    for lab in gl.available_labs():
        if student_lab is not None and (lab >= student_lab or earlier_mine):
            print("selftest: lab %d is yours to do in this tree; `make grade-lab%d` grades it"
                  % (lab, lab))
            continue
        script_step(tally, "grade_lab%d_reference" % lab,
                    [sys.executable, "grading/grade.py", "--lab", str(lab), "--obj", args.obj,
                     "--no-build", "--quiet"], 600)
    if 4 in gl.available_labs() and (student_lab is None or student_lab > 4):
        smp_determinism(tally, obj)
    if student_lab is None:
        script_step(tally, "alone", [sys.executable, "grading/alone.py", "--obj", args.obj],
                    600)
    if not args.quick:
        script_step(tally, "discriminate", [sys.executable, "grading/discriminate.py"], 3000)
    print("selftest: %.1fs in all" % (time.time() - start))
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
