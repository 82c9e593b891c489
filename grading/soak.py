#!/usr/bin/env python3
"""Grade the tree over many seeds and list every failure with its seed.

  make soak SEEDS=200 LAB=2        grading/soak.py --seeds 200 --lab 2
  make soak SEEDS=50               every lab, 50 seeds each

A test that fails on some seeds only is flaky (or catches a bug on some seeds
only): each failure prints the seed and the commands that replay it. The
closing line is `N passed, M failed`, counting one lab graded on one seed as
one run. Exit status 0 only without failures.
"""
import argparse
import os
import random
import shutil
import sys
import threading
import time

import gradelib as gl


def soak_lab(lab, seed, iso, logroot, limit, smp):
    """Grade lab with seed; returns [(test, class, first reason)] of failures."""
    logdir = os.path.join(logroot, "lab%d-seed%d" % (lab, seed))
    grader = gl.Grader(iso, logdir, seed=seed, no_progress=limit, smp=smp)
    report = gl.grade_lab(lab, grader, lambda text: None, quiet=True)
    failures = [(e["name"], e["cls"], (e["reasons"] or [""])[0])
                for e in report.entries if e["cls"] != gl.PASS]
    if not failures:
        shutil.rmtree(logdir, ignore_errors=True)
    return failures


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20, help="seeds per lab")
    ap.add_argument("--lab", type=int, action="append", help="lab (repeatable; default all)")
    ap.add_argument("--first-seed", type=int,
                    help="use seeds first..first+N-1 (default: N random seeds)")
    ap.add_argument("--obj", default=os.environ.get("OBJ", "obj"))
    ap.add_argument("--smp", choices=gl.qemucmd.SMP_MODES, default="det")
    ap.add_argument("--jobs", type=int, default=gl.usable_cpus())
    args = ap.parse_args()
    labs = args.lab or gl.available_labs()
    obj = args.obj if os.path.isabs(args.obj) else os.path.join(gl.ROOT, args.obj)
    iso = os.path.join(obj, "pagoda.iso")
    if not os.path.exists(iso):
        sys.exit("soak: no ISO at %s (run make)" % iso)
    if args.first_seed is not None:
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
    else:
        seeds = random.sample(range(1, 2**31), args.seeds)
    logroot = os.path.join(obj, "soak")
    shutil.rmtree(logroot, ignore_errors=True)
    limit = gl.Grader(iso, logroot).calibrate()
    work = [(lab, seed) for lab in labs for seed in seeds]
    print("soak: labs %s, %d seeds each, %d runs, %d at a time, hang limit %.0fs"
          % (",".join(map(str, labs)), len(seeds), len(work), args.jobs, limit), flush=True)
    lock = threading.Lock()
    failed_runs = []
    done = [0]
    start = time.time()

    def worker():
        while True:
            with lock:
                if not work:
                    return
                lab, seed = work.pop(0)
            try:
                failures = soak_lab(lab, seed, iso, logroot, limit, args.smp)
            except Exception as e:  # a grader error is a failed run too
                failures = [("lab%d" % lab, gl.ERROR, "%s: %s" % (type(e).__name__, e))]
            with lock:
                done[0] += 1
                for test, cls, reason in failures:
                    cpus = gl.lab_manifest(lab).get("cpus", 1)
                    print("soak: FAIL lab %d seed %d: %s: %s: %s\n    replay: %s"
                          % (lab, seed, test, gl.CLASS_TEXT.get(cls, cls), reason,
                             " or ".join(gl.replay_commands(lab, test, seed, cpus))),
                          flush=True)
                if failures:
                    failed_runs.append((lab, seed))
                if done[0] % 25 == 0:
                    print("soak: %d runs, %d failed, %.0fs" % (done[0], len(failed_runs),
                                                               time.time() - start), flush=True)

    threads = [threading.Thread(target=worker) for _ in range(args.jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = len(labs) * len(seeds)
    for lab in labs:
        bad = sorted(s for l, s in failed_runs if l == lab)
        print("soak: lab %d: %d of %d seeds failed%s" % (
            lab, len(bad), len(seeds), (": " + " ".join(map(str, bad))) if bad else ""))
    print("soak: %.0fs" % (time.time() - start))
    print("%d passed, %d failed" % (total - len(failed_runs), len(failed_runs)))
    return 0 if not failed_runs else 1


if __name__ == "__main__":
    sys.exit(main())
