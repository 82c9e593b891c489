#!/usr/bin/env python3
"""Every graded kernel test, booted on its own, passes on the reference.

`make grade` boots each lab once with all its tests; a test that only passes
because an earlier one left the machine in some state (a space created, a
page mapped, the frame allocator warmed up) passes there and fails when a
student replays it alone with `make qemu CMDLINE="test=NAME seed=S"`, the
command the grader prints under every failure. Here each test is its own
boot, on one seed, boots in parallel (SMP=det: each QEMU is one host thread).

  grading/alone.py [--obj obj] [--seed N] [--lab N]...   ends in `N passed, M failed`
"""
import argparse
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import gradelib as gl


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--obj", default=os.environ.get("OBJ", "obj"))
    ap.add_argument("--seed", type=int, help="default: random (printed)")
    ap.add_argument("--lab", type=int, action="append", help="lab number (repeatable)")
    ap.add_argument("--jobs", type=int, default=gl.usable_cpus())
    args = ap.parse_args()
    obj = os.path.join(gl.ROOT, args.obj) if not os.path.isabs(args.obj) else args.obj
    iso = os.path.join(obj, "pagoda.iso")
    if not os.path.exists(iso):
        sys.exit("alone: no ISO at %s (run make)" % iso)
    gl.on_termination()
    start = time.time()
    grader = gl.Grader(iso, os.path.join(obj, "alone"), seed=args.seed)
    grader.calibrate()
    jobs = []
    for lab in args.lab or gl.available_labs():
        manifest = gl.lab_manifest(lab)
        jobs += [(name, manifest.get("cpus", 1)) for name in gl.kernel_tests_of(manifest)]
    print("alone: %d tests, one boot each, seed %d" % (len(jobs), grader.seed), flush=True)
    lock = threading.Lock()
    tally = [0, 0]

    def one(job):
        name, cpus = job
        t = time.time()
        r = grader.run_tests([name], cpus=cpus, tag=name,
                             sync_handlers=gl.SYNC_HANDLERS).get(name)
        ok = r is not None and r.cls == gl.PASS
        with lock:
            tally[0 if ok else 1] += 1
            print("alone.%s: %s (%.1fs)" % (name, "OK" if ok else "FAIL", time.time() - t),
                  flush=True)
            if not ok:
                reasons = r.reasons if r else ["no result"]
                print("    fails booted alone (make grade boots it after other tests): make qemu-nox%s "
                      "CMDLINE=\"test=%s seed=%d\"" % (" CPUS=%d" % cpus if cpus > 1 else "",
                                                      name, grader.seed))
                for line in reasons[:15]:
                    print("    " + line)

    with ThreadPoolExecutor(max(1, args.jobs)) as pool:
        list(pool.map(one, jobs))
    gl.kill_all_qemus()
    print("alone: %.1fs in all" % (time.time() - start))
    print("%d passed, %d failed" % tuple(tally))
    return 1 if tally[1] else 0


if __name__ == "__main__":
    sys.exit(main())
