#!/usr/bin/env python3
"""Grader self-test: printed text is never a result, and the grader always ends.

  grading/test_integrity.py [--keep]

First the signed-line checks that need no kernel (a replayed, edited or
reordered line does not verify). Then, in a scratch copy of the tree, each
attack a student could make from their own file is built and graded, with
the score and classes it must get (grading/README.md, "Signed lines"):

  broken          the baseline: pt_translate gives up at once (no forgery)
  forged_pass     the same, printing TEST PASS for every lab-1 test: same score
  glued           the same, forged lines glued without newlines: same score
  unknown_test    the reference printing a framed result for a test it lacks: 100
  exit_before_seed  lab 3: uaccess_init prints START/PASS for every test and
                  exits QEMU with the "passed" status: 0, bad-output
  print_loop      a forged PASS, then printing forever: ends within its caps
  sigterm         SIGTERM to grade.py: it ends, its QEMU too, results written

and, with the same machinery, that a crash in a student's function is reported
at the test's calling line with a backtrace named by function and file:line.

One line per check and a closing `N passed, M failed`; exit status 0 iff all pass.
"""
import argparse
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import gradelib as gl  # noqa: E402
import signedlines  # noqa: E402

SEED = 20261130
GRADE_CAPS = ["--timeout", "3", "--test-cap", "6"]


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail="", took=None):
        t = " (%.1fs)" % took if took is not None else ""
        print("integrity.%s: %s%s%s" % (name, "OK" if ok else "FAIL", t,
                                        "" if ok else "\n    " + detail.replace("\n", "\n    ")),
              flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def kernel_tests(lab):
    return [t["name"] for _, t in gl.manifest_tests(gl.lab_manifest(lab))
            if "grader" not in t and "host" not in t]


def c_string(text):
    return '"%s"' % text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") \
        .replace("\r", "\\r")


def forge_all(lab, kind="PASS", end="\n"):
    """C statements printing a forged line per kernel test of lab."""
    return "".join("kprintf(%s);\n" % c_string("TEST %s %s%s" % (kind, name, end))
                   for name in kernel_tests(lab))


BREAK_TRANSLATE = "return -EINVAL;\n"
# Where each attack goes: the start of a function body in a student's file.
ANCHORS = {
    "translate": ("kern/pgtable.c", "int pt_translate(paddr_t root, uint64_t va, "
                  "struct pt_translation *t)\n{\n"),
    "uaccess_init": ("kern/uaccess.c", "void uaccess_init(void)\n{\n"),
}
INCLUDES = '#include "kern/console.h"\n#include "kern/panic.h"\n#include "lib/errno.h"\n'


def signed_line_checks(tally):
    """What the MAC stops, without a kernel."""
    v = signedlines.Verifier()
    lines = [v.sign("TEST SEED 5"), v.sign("TEST START lab1.a"), v.sign("TEST PASS lab1.a")]
    fresh = signedlines.Verifier(v.key, v.nonce)
    tally.check("mac_verifies_in_order",
                [fresh.verify(line.encode()) for line in lines] ==
                [("SEED", "5", ""), ("START", "lab1.a", ""), ("PASS", "lab1.a", "")])
    other = signedlines.Verifier()  # another boot: another key
    tally.check("mac_rejects_replay_from_another_boot",
                other.verify(lines[0].encode()) is None)
    fresh = signedlines.Verifier(v.key, v.nonce)
    edited = lines[0].replace("SEED 5", "SEED 6").encode()
    tally.check("mac_rejects_edited_line", fresh.verify(edited) is None)
    fresh = signedlines.Verifier(v.key, v.nonce)
    fresh.verify(lines[0].encode())
    tally.check("mac_rejects_out_of_order",
                fresh.verify(lines[2].encode()) is None and
                fresh.verify(lines[1].encode()) is not None and
                fresh.verify(lines[1].encode()) is None)
    fresh = signedlines.Verifier(v.key, "another-nonce")
    tally.check("mac_rejects_other_nonce", fresh.verify(lines[0].encode()) is None)


def key_hidden(tally, iso, logdir):
    """The key reaches the framework (the lines verify) but no test, log or
    command line sees it: boot.console prints the kernel's command line."""
    t = time.time()
    boot = gl.Boot(iso, "test=boot.console seed=7", logdir, os.path.join(logdir, "key-hidden.log"))
    out = boot.run()
    text = "\n".join(out.lines)
    with open(os.path.join(logdir, "key-hidden.log")) as f:
        log = f.read()
    key = boot.verifier.key.hex()
    ok = out.summary and "cmdline \"test=boot.console seed=7\"" in text and key not in log
    tally.check("key_not_on_kernel_command_line", ok,
                "summary %s; the boot printed:\n%s" % (out.summary, text[-1500:]),
                time.time() - t)


def killed_from_outside(tally, iso, logdir):
    """A QEMU that someone else ends with a signal is `killed`, not a triple fault."""
    import threading
    t = time.time()
    grader = gl.Grader(iso, logdir, seed=3, no_progress=20)
    res = {}
    th = threading.Thread(target=lambda: res.update(grader.run_tests(["crash.hang"])))
    th.start()
    procs = []
    while time.time() - t < 20 and not procs:
        with gl._live_lock:
            procs = list(gl._live_qemus)
        time.sleep(0.05)
    time.sleep(0.5)
    for proc in procs:
        os.kill(proc.pid, signal.SIGTERM)
    th.join(60)
    r = res.get("crash.hang")
    ok = bool(procs) and r is not None and r.cls == gl.KILLED and \
        "SIGTERM" in "\n".join(r.reasons)
    tally.check("qemu_killed_from_outside_is_killed", ok,
                "QEMU seen: %s; class %s: %s" % (bool(procs), r and r.cls,
                                                 r and "\n".join(r.reasons)), time.time() - t)


class Scratch:
    """A copy of the tree in which student files are edited and rebuilt."""

    def __init__(self, keep):
        self.dir = tempfile.mkdtemp(prefix="pagoda-integrity-")
        self.keep = keep
        spec = importlib.util.spec_from_file_location("mklab",
                                                      os.path.join(ROOT, "labs", "mklab.py"))
        mklab = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mklab)
        mklab.copy_reference(ROOT, self.dir)
        self.originals = {}

    def edit(self, anchor, code):
        """Put code at the start of a function body (anchors above); None restores."""
        for rel, text in self.originals.items():
            with open(os.path.join(self.dir, rel), "w") as f:
                f.write(text)
        if anchor is None:
            return
        rel, head = ANCHORS[anchor]
        path = os.path.join(self.dir, rel)
        text = self.originals.setdefault(rel, open(path).read())
        if head not in text:
            raise RuntimeError("%s: cannot find %r" % (rel, head))
        with open(path, "w") as f:
            body = "".join("\t" + line + "\n" for line in code.splitlines())
            f.write(INCLUDES + text.replace(head, head + body, 1))

    def build(self):
        p = subprocess.run(["make", "-j2", "-s", "OBJ=obj", "all", "obj/host/check_pagoda"], cwd=self.dir,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           env=gl.make_env())
        if p.returncode != 0:
            raise RuntimeError("build failed:\n" + p.stdout[-2000:])

    def grade_cmd(self, lab, json_path, extra=()):
        return [sys.executable, "grading/grade.py", "--lab", str(lab), "--obj", "obj",
                "--no-build", "--jobs", "1", "--seed", str(SEED), "--json", json_path] + \
            GRADE_CAPS + list(extra)

    def grade(self, lab, name, extra=()):
        """(stdout, {test: (score, max)}, total score, seconds)."""
        json_path = os.path.join(self.dir, "obj", name + ".json")
        t = time.time()
        p = subprocess.run(self.grade_cmd(lab, json_path, extra), cwd=self.dir,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=300)
        took = time.time() - t
        with open(json_path) as f:
            res = json.load(f)
        scores = {}
        for test in res["tests"]:
            m = re.search(r"(lab\d\.\S+)", test["name"])
            scores[m.group(1) if m else test["name"]] = (test["score"], test["max_score"])
        return p.stdout, scores, res["score"], took

    def close(self):
        if not self.keep:
            shutil.rmtree(self.dir, ignore_errors=True)
        else:
            print("integrity: scratch tree kept at %s" % self.dir)


def verdict_lines(stdout, name):
    return [line for line in stdout.splitlines() if line.startswith(name + ": ")]


def one_verdict_each(stdout, names):
    return [n for n in names if len(verdict_lines(stdout, n)) != 1]


def classes_of(stdout, names):
    return {n: (verdict_lines(stdout, n) or ["-: none"])[0].split(": ", 1)[1] for n in names}


def attacks(tally, scratch):
    lab1 = kernel_tests(1)
    bad = gl.CLASS_TEXT[gl.BAD_OUTPUT]

    scratch.edit("translate", BREAK_TRANSLATE)
    scratch.build()
    base_out, base, base_score, took = scratch.grade(1, "broken")
    tally.check("baseline_broken_translate_loses_points", base_score < 100,
                "score %d" % base_score, took)
    # The host tests' failures say which errors, by name (ck_assert_err).
    named = re.search(r"returned -\d+ \(E[A-Z0-9]+\), expected -\d+ \(E[A-Z0-9]+\)", base_out)
    tally.check("host_test_failures_name_errnos", named is not None,
                "no 'returned -N (ENAME), expected -M (ENAME)' in:\n%s" % base_out[-1500:])

    # ... and one made inside a helper names the test's line (check_err.h).
    site = re.search(r"(test_\w+\.c):(\d+)\b.*\(assertion at tests/host/"
                     r"(test_\w+\.c):(\d+)\)", base_out)
    tally.check("host_test_failures_at_test_line",
                site is not None and site.group(2) != site.group(4),
                "no 'FILE:LINE ... (assertion at FILE:OTHER)' in:\n%s" % base_out[-1500:])

    scratch.edit("translate", forge_all(1) + BREAK_TRANSLATE)
    scratch.build()
    out, scores, score, took = scratch.grade(1, "forged_pass")
    twice = one_verdict_each(out, lab1)
    lost = [n for n in lab1 if base.get(n, (0,))[0] == 0]
    not_bad = {n: c for n, c in classes_of(out, lost).items() if not c.startswith(bad)}
    tally.check("forged_pass_scores_as_without", scores == base and score == base_score and
                not twice and lost and not not_bad,
                "score %d, without the forgery %d; tests with other than one verdict line: %s; "
                "failing tests not bad-output: %s" % (score, base_score, twice, not_bad), took)

    glue = 'kprintf("x TEST PASS %s");\nkprintf("\\rTEST PASS %s TEST PASS %s");\n' % (
        lab1[0], lab1[1], lab1[2])
    scratch.edit("translate", glue + BREAK_TRANSLATE)
    scratch.build()
    out, scores, score, took = scratch.grade(1, "glued")
    tally.check("glued_lines_score_as_without", scores == base and score == base_score,
                "score %d, without them %d" % (score, base_score), took)

    bogus = 'static int once;\nif (!once++) {\n\tkprintf("TEST START lab1.bogus\\n' \
        'TEST PASS lab1.bogus\\nTEST SUMMARY 99 passed, 0 failed\\n");\n}\n'
    scratch.edit("translate", bogus)
    scratch.build()
    out, scores, score, took = scratch.grade(1, "unknown_test")
    tally.check("unknown_test_not_credited", score == 100 and "lab1.bogus" not in scores and
                "lab1.bogus: " not in out,
                "score %d; tests %s" % (score, sorted(scores)), took)

    # Not an attack: a crash in a student's code names the calling line and
    # the frames down to the fault, with file:line (KT_CALL, TEST TRACE).
    scratch.edit("translate", "*(volatile uint64_t *)(va ^ 0xdead000000000000UL) = 1;\n")
    scratch.build()
    out, scores, score, took = scratch.grade(1, "crash")
    block = "\n".join(out.split(lab1[0] + ": ", 1)[-1].splitlines()[:8])
    tally.check("crash_names_line_and_backtrace",
                re.search(r"kern/test/lab1\.c:\d+: pt_translate\(.*\) crashed: general "
                          r"protection", block) is not None and
                re.search(r"#0 pt_translate \(kern/pgtable\.c:\d+\)", block) is not None and
                re.search(r"ktest_fn_lab1_\w+ \(kern/test/lab1\.c:\d+\)", block) is not None,
                "the failure of %s:\n%s" % (lab1[0], block), took)

    scratch.edit(None, None)
    scratch.edit("uaccess_init", "".join(
        "kprintf(%s);\n" % c_string("TEST START %s\nTEST PASS %s\n" % (n, n))
        for n in kernel_tests(3)) + "qemu_exit(EXIT_TESTS_PASSED);\n")
    scratch.build()
    out, scores, score, took = scratch.grade(3, "exit_before_seed")
    lab3 = kernel_tests(3)
    cls = classes_of(out, lab3)
    wrong = {n: c for n, c in cls.items() if not c.startswith(bad)}
    kernel_score = sum(scores.get(n, (1,))[0] for n in lab3)
    tally.check("exit_before_seed_echo_scores_0_bad_output", kernel_score == 0 and not wrong,
                "kernel tests scored %d (lab score %d; the host tests never run uaccess_init); "
                "classes not bad-output: %s" % (kernel_score, score, wrong), took)

    scratch.edit(None, None)
    scratch.edit("translate", forge_all(1) + 'for (;;)\n\tkprintf("TEST PASS %s\\n");\n'
                 % lab1[0])
    scratch.build()
    limit = 20
    out, scores, score, took = scratch.grade(1, "print_loop", ["--time-limit", str(limit)])
    cls = classes_of(out, lab1)
    forged = [n for n, c in cls.items() if c.startswith(bad)]
    tally.check("print_loop_ends_within_its_cap", score == 0 and forged and took < limit + 15,
                "score %d in %.0fs (limit %ds); bad-output: %s; classes %s"
                % (score, took, limit, forged, cls), took)
    sigterm(tally, scratch)


def children(pid):
    """[(pid, comm)] of pid's children."""
    return gl.process_children().get(pid, [])


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    # A zombie is dead too.
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def sigterm(tally, scratch):
    """SIGTERM to grade.py (the print-loop kernel is built): it and its QEMU end."""
    json_path = os.path.join(scratch.dir, "obj", "sigterm.json")
    t = time.time()
    proc = subprocess.Popen(scratch.grade_cmd(1, json_path, ["--time-limit", "120"]),
                            cwd=scratch.dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    qemus = []
    while time.time() - t < 20 and not qemus:
        qemus = [pid for pid, comm in children(proc.pid) if comm.startswith("qemu")]
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=15)
        ended = True
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        ended = False
    time.sleep(0.2)
    left = [pid for pid in qemus if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    written = os.path.exists(json_path)
    score = json.load(open(json_path))["score"] if written else None
    ok = ended and bool(qemus) and not left and proc.returncode == 128 + signal.SIGTERM and \
        written and score == 0 and gl.CLASS_TEXT[gl.ERROR] in out
    tally.check("sigterm_ends_grader_and_qemu", ok,
                "QEMU seen %s, left running %s; grade.py ended %s with status %s; results %s "
                "(score %s); output:\n%s" % (qemus, left, ended, proc.returncode,
                                             "written" if written else "missing", score,
                                             out[-1500:]), time.time() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--keep", action="store_true", help="keep the scratch tree")
    args = ap.parse_args()
    tally = Tally()
    t0 = time.time()
    signed_line_checks(tally)
    iso = os.path.join(ROOT, os.environ.get("OBJ", "obj"), "pagoda.iso")
    logdir = tempfile.mkdtemp(prefix="pagoda-integrity-logs-")
    if os.path.exists(iso):
        key_hidden(tally, iso, logdir)
        killed_from_outside(tally, iso, logdir)
    shutil.rmtree(logdir, ignore_errors=True)
    if not os.path.exists(os.path.join(ROOT, "labs", "lab3", "bugs")):
        print("integrity: a student tree (no reference solutions): the attacks are not run")
    else:
        scratch = Scratch(args.keep)
        try:
            attacks(tally, scratch)
        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
            tally.check("attacks_ran", False, "%s: %s" % (type(e).__name__, e))
        finally:
            scratch.close()
    print("integrity: %.1fs in all" % (time.time() - t0))
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 0 if tally.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
