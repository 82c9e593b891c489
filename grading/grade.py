#!/usr/bin/env python3
"""Grade Pagoda labs: boot the kernel in QEMU, run each lab's tests, score them.

  grading/grade.py              all labs that have a manifest (labs/labN/lab.json)
  grading/grade.py --lab 1      one lab (make grade-lab1, make grade LAB=1)

Prints one line per test as it finishes, the reasons under each failure (with
the log under obj/grade/), a score per part and lab, and `Score: x/y` last.
Exit status 0 only with full marks.

In a student's lab-N tree (labs/current.json) the labs after N are listed as
"not yet" and not graded: their code is still stubbed there. Lab N and the
earlier labs are graded (the earlier ones as a regression check).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import traceback

import gradelib as gl


def build(obj):
    """Build the ISO with make; returns (ok, output). The host tests are built
    too; when they do not build, only the graded host tests fail."""
    if shutil.which("make") is None:
        return False, "make is missing: install the Debian package 'make'"
    proc = subprocess.run(["make", "-s", "OBJ=" + obj, "all"], cwd=gl.ROOT, env=gl.make_env(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    host = subprocess.run(["make", "-s", "OBJ=" + obj, gl.hosttests.binary(obj)], cwd=gl.ROOT,
                          env=gl.make_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    gl.hosttests.record_build(obj, host.returncode == 0, host.stdout)
    return proc.returncode == 0, proc.stdout


def check_tools():
    if shutil.which(gl.QEMU) is None:
        sys.exit("grade: %s is missing: install the Debian package 'qemu-system-x86' "
                 "(or run 'make deps')" % gl.QEMU)


def print_summary(report, emit):
    parts = {}
    for e in report.entries:
        got, total = parts.get(e["part"], (0, 0))
        parts[e["part"]] = (got + (e["points"] if e["cls"] == gl.PASS else 0),
                            total + e["points"])
    for name, (got, total) in parts.items():
        emit("  part %-28s %3d/%d" % (name + ":", got, total))
    emit("Lab %d (%s): %d/%d" % (report.lab, report.title, report.score, report.max_score))


def run_parallel(fn, items, jobs):
    threads = []
    for item in items:
        while sum(t.is_alive() for t in threads) >= max(1, jobs):
            time.sleep(0.02)
        t = threading.Thread(target=fn, args=(item,))
        t.start()
        threads.append(t)
    for t in threads:
        t.join()


def tree_lab():
    """The lab of a student's tree (labs/current.json), or None in the reference."""
    try:
        with open(os.path.join(gl.ROOT, "labs", "current.json")) as f:
            return int(json.load(f)["lab"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--lab", type=int, action="append", help="lab number (repeatable)")
    ap.add_argument("--obj", default=os.environ.get("OBJ", "obj"), help="build directory")
    ap.add_argument("--json", help="write Gradescope results.json here")
    ap.add_argument("--logdir", help="where the logs go (default OBJ/grade)")
    ap.add_argument("--seed", type=int, help="seed for the run (default: random)")
    ap.add_argument("--quiet", action="store_true", help="print only failures and scores")
    ap.add_argument("--no-build", action="store_true", help="do not run make first")
    ap.add_argument("--kvm", action="store_true", help="use KVM (slow to boot here)")
    ap.add_argument("--smp", choices=gl.qemucmd.SMP_MODES,
                    default=os.environ.get("SMP") or "det",
                    help="how QEMU runs several CPUs: det (the default, and what grades: "
                         "the same result on any host) or parallel (multi-threaded, "
                         "host-dependent, for shaking out races)")
    ap.add_argument("--timeout", type=float,
                    help="seconds without serial output before a boot counts as hung "
                         "(default: scaled from a calibration boot)")
    ap.add_argument("--time-limit", type=float,
                    help="seconds for the whole run, after which every boot is stopped and "
                         "the tests not done count as timeouts (default: scaled from the "
                         "calibration boot, at least %.0f)" % gl.TIME_LIMIT_FLOOR)
    ap.add_argument("--test-cap", type=float,
                    help="seconds a boot may go without a test verdict while it prints "
                         "(default: 12 hang limits, at least 90)")
    ap.add_argument("--jobs", type=int, default=min(4, gl.usable_cpus()),
                    help="labs graded in parallel")
    args = ap.parse_args()
    stopped_by = []

    def on_signal(signum, frame):
        stopped_by.append(signum)
        gl.abort_grading()

    gl.on_termination(on_signal)
    try:
        return grade(args, stopped_by)
    except Exception:
        text = traceback.format_exc()
        print("grade: grader error:\n" + text, file=sys.stderr)
        if args.json:  # the autograder always gets its results file
            reports = [gl.error_report(lab, text) for lab in (args.lab or gl.available_labs())]
            with open(args.json, "w") as f:
                json.dump(gl.gradescope_json(reports, args.seed or 0, 0.0), f, indent=1)
        return 1
    finally:
        gl.kill_all_qemus()  # an exception, or a signal: no QEMU outlives us


def grade(args, stopped_by):

    labs = args.lab or gl.available_labs()
    if not labs:
        sys.exit("grade: no lab manifests under labs/")
    for lab in labs:
        if not os.path.exists(os.path.join(gl.ROOT, "labs", "lab%d" % lab, "lab.json")):
            sys.exit("grade: lab %d has no manifest (labs/lab%d/lab.json)" % (lab, lab))
    obj = os.path.join(gl.ROOT, args.obj) if not os.path.isabs(args.obj) else args.obj
    start = time.time()
    lock = threading.Lock()

    def emit(text):
        with lock:
            print(text, flush=True)

    mine = tree_lab()
    later = [lab for lab in labs if mine is not None and lab > mine]
    labs = [lab for lab in labs if lab not in later]
    not_yet = ["Lab %d (%s): not yet: this tree is for lab %d (README.md, \"For students\", "
               "says how to move on)" % (lab, gl.lab_manifest(lab)["title"], mine)
               for lab in later]
    if not labs:
        for line in not_yet:
            emit(line)
        emit("grade: nothing to grade yet")
        return 0

    reports = []
    ok, output = (True, "") if args.no_build else build(obj)
    iso = os.path.join(obj, "pagoda.iso")
    if ok and not os.path.exists(iso):
        ok, output = False, "no ISO at %s (run make)" % iso
    grader = None
    if not ok:
        emit("grade: the build failed:\n" + output.rstrip())
        reports = [gl.build_error_report(lab, output) for lab in labs]
        for rep in reports:
            for e in rep.entries:
                emit("%s: %s" % (e["name"], gl.CLASS_TEXT[gl.BUILD]))
    else:
        check_tools()
        deadline = time.time() + args.time_limit if args.time_limit else None
        grader = gl.Grader(iso, args.logdir or os.path.join(obj, "grade"), seed=args.seed,
                           kvm=args.kvm, no_progress=args.timeout, printer=emit,
                           smp=args.smp, deadline=deadline, test_cap=args.test_cap)
        limit = grader.calibrate()
        emit("grade: seed %d, hang limit %.0fs without output (logs in %s)%s"
             % (grader.seed, limit, os.path.relpath(grader.logdir),
                "" if args.smp == "det" else "; SMP=%s: lab 4 results depend on this host"
                % args.smp))
        results = {}

        def run(lab):
            try:
                results[lab] = gl.grade_lab(lab, grader, emit, quiet=args.quiet)
            except Exception:  # a grader bug must not read as a student's full marks
                results[lab] = gl.error_report(lab, traceback.format_exc())
            if stopped_by:
                results[lab] = gl.stopped_report(results.get(lab), lab, stopped_by[0])

        if args.smp == "det":
            # Every QEMU uses one host thread: the labs share the machine.
            run_parallel(run, labs, args.jobs)
        else:
            # Multi-threaded vCPUs spin on each other: a multi-CPU lab runs
            # alone, after the others.
            single = [lab for lab in labs if gl.lab_manifest(lab).get("cpus", 1) == 1]
            run_parallel(run, single, args.jobs)
            run_parallel(run, [lab for lab in labs if lab not in single], 1)
        reports = [results[lab] for lab in labs]
    for rep in reports:
        print_summary(rep, emit)
    for line in not_yet:
        emit(line)
    elapsed = time.time() - start
    if args.json:
        with open(args.json, "w") as f:
            json.dump(gl.gradescope_json(reports, grader.seed if grader else 0, elapsed), f,
                      indent=1)
    score = sum(r.score for r in reports)
    total = sum(r.max_score for r in reports)
    emit("grade: %.1fs, %d boot(s)" % (elapsed, grader.boots if grader else 0))
    emit("Score: %d/%d" % (score, total))
    if stopped_by:
        emit("grade: stopped by signal %d; the tests not finished count as grader errors"
             % stopped_by[0])
        return 128 + stopped_by[0]
    return 0 if score == total and total > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
