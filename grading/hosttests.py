"""Graded host unit tests: a lab's Check test cases scored like kernel tests.

A manifest entry {"name": "lab1.host_walk", "points": 2, "host": "pgtable:walk"}
is the Check test case `walk` of suite `pgtable` (tests/host/), run natively
from OBJ/host/check_pagoda. It passes when every test of that case passes;
each failure's message and source line become the reasons. Check writes its
results as XML (CK_XML_LOG_FILE_NAME), which is what is parsed here: the
console output is for people.
"""
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

try:
    import resource
except ImportError:  # not on every OS; the limit is a guard, not the grade
    resource = None

NS = "{http://check.sourceforge.net/ns}"
TIMEOUT = 120           # the whole suite; Check limits each test itself
PER_TEST_TIMEOUT = "10"
OUTPUT_LIMIT = 8 << 20  # bytes of output: a test that prints forever is stopped (SIGXFSZ)
BUILD_FAILED = "build-failed.txt"  # written by grade.py when the host build failed


def binary(obj):
    return os.path.join(obj, "host", "check_pagoda")


def record_build(obj, ok, output):
    """grade.py: remember a failed host build, so no stale binary is graded."""
    path = os.path.join(obj, "host", BUILD_FAILED)
    if ok:
        if os.path.exists(path):
            os.remove(path)
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(output)


def not_runnable(obj):
    """Why the host tests cannot run (the reasons), or None."""
    failed = os.path.join(obj, "host", BUILD_FAILED)
    if os.path.exists(failed):
        with open(failed) as f:
            return ["the host tests did not build:"] + f.read().strip().splitlines()[-30:]
    if not os.path.exists(binary(obj)):
        return ["the host tests are not built: run `make check` (needs the Debian packages "
                "'check' and 'pkg-config')"]
    return None


def parse_xml(path):
    """{(suite, case): [(result, "file:line", test id, message)]} from Check's XML log."""
    cases = {}
    root = ET.parse(path).getroot()
    for suite in root.iter(NS + "suite"):
        title = suite.findtext(NS + "title", "")
        for test in suite.iter(NS + "test"):
            key = (title, test.findtext(NS + "description", ""))
            cases.setdefault(key, []).append((test.get("result"), test.findtext(NS + "fn", ""),
                                              test.findtext(NS + "id", ""),
                                              test.findtext(NS + "message", "")))
    return cases


def limit_output():
    """preexec_fn: no file of the test run (its log) grows past OUTPUT_LIMIT."""
    if resource is not None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (OUTPUT_LIMIT, OUTPUT_LIMIT))


def run_suite(obj, env, log, timeout, track):
    """Run the host tests with env, output to log; returns a note when stopped.
    track(proc, alive) tells the grader which process group to kill on a signal."""
    with open(log, "w") as out:
        # Its own process group: Check forks a child per test, which must go too.
        proc = subprocess.Popen([binary(obj)], env=env, stdout=out, stderr=subprocess.STDOUT,
                                preexec_fn=limit_output, start_new_session=True)
        track(proc, True)
        try:
            proc.wait(timeout=max(1.0, timeout))
            return None
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return "(the host tests ran longer than %.0fs and were stopped)" % timeout
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
            track(proc, False)


def log_tail(log, n=20):
    try:
        with open(log, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - 4096))
            return f.read().decode(errors="replace").strip().splitlines()[-n:]
    except OSError:
        return []


def run(obj, specs, logdir, deadline=None, track=lambda proc, alive: None):
    """Run the suites that specs ("suite:case") name, by deadline (time.time())
    at the latest. Returns {spec: (passed, reasons, seconds)}; passed is None
    when they could not run."""
    blocked = not_runnable(obj)
    if blocked:
        return {spec: (None, blocked, 0.0) for spec in specs}
    os.makedirs(logdir, exist_ok=True)
    out = {}
    for suite in sorted({spec.split(":")[0] for spec in specs}):
        xml = os.path.join(logdir, "host-%s.xml" % suite)
        log = os.path.join(logdir, "host-%s.log" % suite)
        if os.path.exists(xml):
            os.remove(xml)
        env = dict(os.environ, CK_RUN_SUITE=suite, CK_XML_LOG_FILE_NAME=xml,
                   CK_DEFAULT_TIMEOUT=PER_TEST_TIMEOUT, CK_VERBOSITY="normal")
        env.pop("CK_RUN_CASE", None)
        t = time.time()
        left = TIMEOUT if deadline is None else min(TIMEOUT, deadline - t)
        stopped = run_suite(obj, env, log, left, track)
        took = time.time() - t
        try:
            cases = parse_xml(xml)
        except (OSError, ET.ParseError) as e:
            cases = None
            why = [stopped or "the host tests wrote no result file (%s); the end of their "
                   "output:" % e] + log_tail(log)
        for spec in specs:
            if spec.split(":")[0] != suite:
                continue
            if cases is None:
                out[spec] = (False, why, took)
                continue
            tests = cases.get(tuple(spec.split(":", 1)))
            if not tests:
                out[spec] = (False, ["no test of case %s ran (is it in tests/host/suites.h?)"
                                     % spec], took)
                continue
            bad = [t for t in tests if t[0] != "success"]
            reasons = ["%s: %s: %s" % (fn, tid, msg) for _, fn, tid, msg in bad[:10]]
            if len(bad) > 10:
                reasons.append("(and %d more)" % (len(bad) - 10))
            if bad:
                reasons.append("run it alone: CK_RUN_SUITE=%s CK_RUN_CASE=%s make check"
                               % tuple(spec.split(":", 1)))
            out[spec] = (not bad, reasons, took)
    return out


def main(argv):
    """hosttests.py record OBJ STATUS LOG: remember how the host build ended (make grade)."""
    if len(argv) != 4 or argv[0] != "record":
        print("usage: hosttests.py record OBJ STATUS LOG", file=sys.stderr)
        return 2
    obj, status, log = argv[1], int(argv[2]), argv[3]
    with open(log, errors="replace") as f:
        output = f.read()
    record_build(obj, status == 0, output)
    if status != 0:
        print("make: the host tests did not build; the graded host tests will fail (%s)" % log)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
