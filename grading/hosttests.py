"""Graded host unit tests: a lab's Check test cases scored like kernel tests.

A manifest entry {"name": "lab1.host_walk", "points": 2, "host": "pgtable:walk"}
is the Check test case `walk` of suite `pgtable` (tests/host/), run natively
from OBJ/host/check_pagoda. It passes when every test of that case passes;
each failure's message and source line become the reasons. Check writes its
results as XML (CK_XML_LOG_FILE_NAME), which is what is parsed here: the
console output is for people.
"""
import os
import subprocess
import time
import xml.etree.ElementTree as ET

NS = "{http://check.sourceforge.net/ns}"
TIMEOUT = 120           # the whole suite; Check limits each test itself
PER_TEST_TIMEOUT = "20"
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


def run(obj, specs, logdir):
    """Run the suites that specs ("suite:case") name. Returns
    {spec: (passed, reasons, seconds)}; passed is None when they could not run."""
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
        try:
            proc = subprocess.run([binary(obj)], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT,
                                  errors="replace")
            text = proc.stdout
        except subprocess.TimeoutExpired:
            text = "(the host tests ran longer than %ds and were stopped)" % TIMEOUT
        took = time.time() - t
        with open(log, "w") as f:
            f.write(text)
        try:
            cases = parse_xml(xml)
        except (OSError, ET.ParseError) as e:
            cases = None
            why = ["the host tests wrote no result file (%s); their output:" % e] + \
                text.strip().splitlines()[-20:]
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
