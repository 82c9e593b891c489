#!/usr/bin/env python3
"""Gradescope's results.json: what its specification allows, and a validator.

  python3 grading/gradescope.py results.json [...]   prints each problem; exit 0 iff none

Gradescope reads /autograder/results/results.json after run_autograder. Its
specification lists the keys below; anything else (a top-level "status", say)
is not part of it and may be dropped or rejected, so the grader writes only
these, and make test validates every results.json the bundle writes
(grading/test_bundle.py). Standard library only.
"""
import json
import sys

FORMATS = ("text", "html", "simple_format", "md", "ansi")
VISIBILITIES = ("hidden", "after_due_date", "after_published", "visible")
STATUSES = ("passed", "failed")

# key: (types, allowed values or None)
NUMBER = (int, float)
TOP_KEYS = {
    "score": (NUMBER, None),
    "execution_time": (NUMBER, None),
    "output": ((str,), None),
    "output_format": ((str,), FORMATS),
    "test_output_format": ((str,), FORMATS),
    "test_name_format": ((str,), FORMATS),
    "visibility": ((str,), VISIBILITIES),
    "stdout_visibility": ((str,), VISIBILITIES),
    "extra_data": ((dict,), None),
    "tests": ((list,), None),
    "leaderboard": ((list,), None),
}
TEST_KEYS = {
    "score": (NUMBER, None),
    "max_score": (NUMBER, None),
    "status": ((str,), STATUSES),
    "name": ((str,), None),
    "name_format": ((str,), FORMATS),
    "number": ((str,), None),
    "output": ((str,), None),
    "output_format": ((str,), FORMATS),
    "tags": ((list,), None),
    "visibility": ((str,), VISIBILITIES),
    "extra_data": ((dict,), None),
}
LEADERBOARD_KEYS = {"name": ((str,), None), "value": ((str, int, float), None),
                    "order": ((str,), ("asc", "desc"))}


def _check_keys(obj, spec, where, problems):
    if not isinstance(obj, dict):
        problems.append("%s: not an object" % where)
        return
    for key, value in obj.items():
        if key not in spec:
            problems.append("%s: key %r is not in Gradescope's specification" % (where, key))
            continue
        types, allowed = spec[key]
        # bool is an int in Python, but not a number in the specification.
        if not isinstance(value, types) or isinstance(value, bool):
            problems.append("%s.%s: %r is not %s" % (where, key, value,
                                                     "/".join(t.__name__ for t in types)))
        elif allowed is not None and value not in allowed:
            problems.append("%s.%s: %r is not one of %s" % (where, key, value,
                                                            ", ".join(allowed)))


def validate(data):
    """The list of ways data (a parsed results.json) breaks the specification,
    plus this project's own rules (every test has a name, a score within
    max_score and a status; the total is the sum of the tests)."""
    problems = []
    _check_keys(data, TOP_KEYS, "results", problems)
    if problems and not isinstance(data, dict):
        return problems
    tests = data.get("tests")
    if "score" not in data and not tests:
        problems.append("results: neither score nor tests")
    for i, t in enumerate(tests if isinstance(tests, list) else []):
        where = "tests[%d]" % i
        _check_keys(t, TEST_KEYS, where, problems)
        if not isinstance(t, dict):
            continue
        for key in ("name", "score", "max_score", "status"):
            if key not in t:
                problems.append("%s: no %s" % (where, key))
        s, m = t.get("score"), t.get("max_score")
        if isinstance(s, NUMBER) and isinstance(m, NUMBER) and not 0 <= s <= m:
            problems.append("%s: score %s outside 0..%s" % (where, s, m))
        if t.get("status") == "passed" and s != m:
            problems.append("%s: passed with %s of %s points" % (where, s, m))
    for i, row in enumerate(data.get("leaderboard") or []):
        _check_keys(row, LEADERBOARD_KEYS, "leaderboard[%d]" % i, problems)
    if isinstance(tests, list) and tests and isinstance(data.get("score"), NUMBER):
        total = sum(t.get("score", 0) for t in tests if isinstance(t, dict)
                    and isinstance(t.get("score"), NUMBER))
        if abs(total - data["score"]) > 1e-9:
            problems.append("results: score %s is not the sum of the tests' scores (%s)"
                            % (data["score"], total))
    return problems


def main(paths):
    if not paths:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    bad = 0
    for path in paths:
        try:
            with open(path) as f:
                problems = validate(json.load(f))
        except (OSError, ValueError) as e:
            problems = [str(e)]
        for p in problems:
            print("%s: %s" % (path, p))
        bad += bool(problems)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
