"""Pagoda's grading library: boot the kernel in QEMU, follow the in-kernel test
protocol on the serial port (grading/README.md), classify every test's outcome
and score it from the lab manifests (labs/labN/lab.json).

Standard library only: students' machines have python3 and nothing else.
"""
import json
import os
import random
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grading"))
import isocmdline  # noqa: E402

import qemucmd  # noqa: E402
from qemucmd import (QEMU, EXIT_PASSED, EXIT_FAILED, EXIT_PANIC, EXIT_HALTED,  # noqa: E402,F401
                     EXIT_RESET)

PASS, FAIL, PANIC, TRIPLE, TIMEOUT, BUILD, ERROR, KILLED = (
    "pass", "fail", "panic", "triple-fault", "timeout", "build-error", "error", "killed")
CLASS_TEXT = {
    PASS: "OK", FAIL: "FAIL", PANIC: "FAIL (kernel panic)",
    TRIPLE: "FAIL (triple fault: QEMU reset)", TIMEOUT: "FAIL (timeout: no progress)",
    BUILD: "FAIL (build error)", ERROR: "FAIL (grader error)",
    KILLED: "FAIL (QEMU killed by a signal)",
}

# Limits scale with the machine (see calibrate()); these are the floors.
NO_PROGRESS_FLOOR = 5.0
NO_PROGRESS_FACTOR = 12.0


def make_env():
    """The environment for a nested, independent `make`: without the calling
    make's jobserver variables, which would make it warn and serialize."""
    env = dict(os.environ)
    for var in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"):
        env.pop(var, None)
    return env


def usable_cpus():
    """Host CPUs this process may run on (taskset, cgroup affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def lab_manifest(lab):
    path = os.path.join(ROOT, "labs", "lab%d" % lab, "lab.json")
    with open(path) as f:
        return json.load(f)


def available_labs():
    labs = []
    for n in range(1, 10):
        if os.path.exists(os.path.join(ROOT, "labs", "lab%d" % n, "lab.json")):
            labs.append(n)
    return labs


class TestResult:
    def __init__(self, name, cls=None, elapsed=0.0):
        self.name = name
        self.cls = cls
        self.elapsed = elapsed
        self.reasons = []      # what a student reads under a FAIL line
        self.log = []          # this test's serial lines
        self.boot_log = None   # path of the whole boot's log
        self.sync = None       # what a TEST SYNC handler gathered for this test

    @property
    def passed(self):
        return self.cls == PASS


class BootOutcome:
    """What one QEMU run produced."""

    def __init__(self):
        self.lines = []
        self.status = None       # QEMU exit status, None if killed
        self.ended = None        # "exit", "timeout", "test-too-long"
        self.elapsed = 0.0
        self.sync = {}           # test name -> data gathered by a sync handler
        self.seed_echo = None


class Qmp:
    """A minimal QMP client: enough to run human monitor commands."""

    def __init__(self, path, timeout=5.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.02)
        self.file = self.sock.makefile("rw")
        self.file.readline()  # greeting
        self._call({"execute": "qmp_capabilities"})

    def _call(self, msg):
        self.file.write(json.dumps(msg) + "\n")
        self.file.flush()
        while True:
            reply = json.loads(self.file.readline())
            if "return" in reply or "error" in reply:
                return reply

    def hmp(self, command):
        reply = self._call({"execute": "human-monitor-command",
                            "arguments": {"command-line": command}})
        if "error" in reply:
            raise RuntimeError("QMP error for %r: %s" % (command, reply["error"]))
        return reply["return"]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class Boot:
    """Boot the ISO once with a command line and follow the protocol.

    on_line(line, outcome) is called for every serial line as it arrives;
    sync_handlers maps a TEST SYNC "what" to fn(qmp, test, outcome) run while
    the kernel waits (the kernel resumes when we send a newline).
    """

    def __init__(self, iso, cmdline, workdir, log_path, cpus=1, no_progress=30.0,
                 test_cap=None, on_line=None, sync_handlers=None, kvm=False, smp="det"):
        self.iso, self.cmdline, self.workdir = iso, cmdline, workdir
        self.log_path, self.cpus, self.kvm, self.smp = log_path, cpus, kvm, smp
        self.no_progress = no_progress
        # A test that keeps printing but never ends; generous, because a
        # 4-CPU boot on 2 host cores can run many times slower when loaded.
        self.test_cap = test_cap or max(90.0, 12 * no_progress)
        self.on_line = on_line
        self.sync_handlers = sync_handlers or {}

    def run(self):
        out = BootOutcome()
        tmp = tempfile.mkdtemp(prefix="pagoda-", dir="/tmp")
        run_iso = os.path.join(tmp, "run.iso")
        qmp_path = os.path.join(tmp, "qmp.sock") if self.sync_handlers else None
        isocmdline.write_iso(self.iso, run_iso, self.cmdline)
        cmd = qemucmd.qemu_command(run_iso, self.cpus, smp=self.smp, kvm=self.kvm,
                                   qmp_path=qmp_path)
        start = time.time()
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, start_new_session=True)
        try:
            self._follow(proc, out, qmp_path, start)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            stderr = proc.stderr.read().decode(errors="replace")
            out.elapsed = time.time() - start
            if out.ended == "exit":
                out.status = qemucmd.signal_status(proc.returncode, stderr)
            if stderr.strip():
                out.lines.append("[qemu stderr] " + stderr.strip())
            shutil.rmtree(tmp, ignore_errors=True)
            with open(self.log_path, "w") as f:
                f.write("# %s\n# cmdline: %s\n" % (" ".join(cmd), self.cmdline))
                f.write("\n".join(out.lines) + "\n")
                f.write("# ended: %s, status %s, %.2fs\n" % (out.ended, out.status, out.elapsed))
        return out

    def _follow(self, proc, out, qmp_path, start):
        sel = selectors.DefaultSelector()
        fd = proc.stdout.fileno()
        sel.register(fd, selectors.EVENT_READ)
        buf = b""
        last_progress = time.time()
        test_start = None
        qmp = None
        try:
            while True:
                now = time.time()
                if now - last_progress > self.no_progress:
                    out.ended = "timeout"
                    return
                if test_start and now - test_start > self.test_cap:
                    out.ended = "test-too-long"
                    return
                events = sel.select(timeout=0.05)
                if not events:
                    if proc.poll() is not None:
                        chunk = os.read(fd, 65536)
                        if not chunk:
                            break
                    continue
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.decode(errors="replace").rstrip("\r")
                    out.lines.append(line)
                    last_progress = time.time()
                    if line.startswith("TEST START "):
                        test_start = last_progress
                    elif line.startswith(("TEST PASS ", "TEST FAIL ")):
                        test_start = None
                    elif line.startswith("TEST SEED ") and out.seed_echo is None:
                        out.seed_echo = line.split()[2]
                    if self.on_line:
                        self.on_line(line, out)
                    if line.startswith("TEST SYNC "):
                        qmp = self._sync(proc, line, out, qmp, qmp_path)
                        last_progress = time.time()
            if buf:
                out.lines.append(buf.decode(errors="replace").rstrip("\r"))
            proc.wait(timeout=5)
            out.ended = "exit"
        finally:
            sel.close()
            if qmp:
                qmp.close()

    def _sync(self, proc, line, out, qmp, qmp_path):
        m = re.match(r"TEST SYNC (\S+): (\S+)", line)
        if m and m.group(2) in self.sync_handlers and qmp_path:
            test, what = m.group(1), m.group(2)
            try:
                if qmp is None:
                    qmp = Qmp(qmp_path)
                out.sync[test] = self.sync_handlers[what](qmp, test, out)
            except Exception as e:  # report, do not crash the grader
                out.sync[test] = {"error": "%s: %s" % (type(e).__name__, e)}
        try:
            proc.stdin.write(b"\n")
            proc.stdin.flush()
        except OSError:
            pass
        return qmp


def parse_results(tests, outcome):
    """Turn one boot's serial lines into TestResults for the tests that ran.

    Returns (results, crashed_test, not_started)."""
    results = {}
    current = None
    pending = []
    for line in outcome.lines:
        m = re.match(r"TEST (START|PASS|FAIL|EXPECTED|GOT|INFO|SYNC) (\S+?):?(?: (.*))?$", line)
        if m:
            kind, name, rest = m.group(1), m.group(2), m.group(3) or ""
            if kind == "START":
                current = TestResult(name)
                results[name] = current
                pending = []
                current.log.append(line)
                continue
            r = results.get(name)
            if r is None:
                continue
            r.log.append(line)
            if kind == "PASS" and r.cls is None:
                r.cls = PASS
            elif kind == "FAIL":
                r.cls = FAIL
                r.reasons.extend(pending)
                r.reasons.append(rest)
                pending = []
            elif kind in ("EXPECTED", "GOT"):
                pending.append("%-9s %s" % (kind.lower() + ":", rest))
            if kind in ("PASS", "FAIL"):
                current = None
            continue
        if current is not None:
            current.log.append(line)
    crashed = None
    for name in tests:
        r = results.get(name)
        if r is not None and r.cls is None:
            crashed = r
    not_started = [t for t in tests if t not in results]
    return results, crashed, not_started


def crash_class(outcome):
    if outcome.ended in ("timeout", "test-too-long"):
        return TIMEOUT
    if outcome.status == EXIT_PANIC:
        return PANIC
    if outcome.status is not None and outcome.status < 0:
        return KILLED
    if outcome.status == EXIT_RESET:
        return TRIPLE
    return ERROR


def crash_reasons(outcome, limit):
    """The lines a student needs: the panic message, trap dump, backtrace."""
    cls = crash_class(outcome)
    if cls == TIMEOUT:
        what = "no serial output for %.0fs" % limit if outcome.ended == "timeout" else \
            "the test ran longer than its limit"
        return ["the kernel hung (%s); killed QEMU" % what]
    if cls == KILLED:
        return [qemucmd.explain_exit(outcome.status)[0] + "; the run was not completed"] + \
            outcome.lines[-5:]
    if cls == TRIPLE:
        return ["QEMU reset the machine (a triple fault: an exception while handling one, "
                "e.g. a bad IDT, stack or page table); with -no-reboot it exits"]
    if cls == PANIC:
        start = None
        for i, line in enumerate(outcome.lines):
            if line.startswith(("TRAP ", "PANIC")) and start is None:
                start = i
        block = outcome.lines[start:] if start is not None else outcome.lines[-20:]
        return [line for line in block if line.strip()][:40]
    return ["QEMU exited with status %s" % outcome.status] + outcome.lines[-10:]


class Grader:
    """Runs a lab's tests, isolating crashes, and scores them."""

    def __init__(self, iso, logdir, seed=None, kvm=False, no_progress=None, printer=None,
                 smp="det"):
        self.iso = iso
        self.logdir = logdir
        self.seed = seed if seed is not None else random.randrange(1, 2**31)
        self.kvm = kvm
        self.smp = smp
        self.no_progress = no_progress
        self.printer = printer or (lambda s: None)
        self.boots = 0
        self.lock = threading.Lock()
        os.makedirs(logdir, exist_ok=True)

    def calibrate(self):
        """Time one smoke boot; limits are multiples of it, never below a floor."""
        if self.no_progress is not None:
            return self.no_progress
        t0 = time.time()
        out = Boot(self.iso, "test=boot.console seed=1", self.logdir,
                   os.path.join(self.logdir, "calibrate.log"), no_progress=60).run()
        took = time.time() - t0
        if out.status != EXIT_PASSED:
            self.printer("warning: the calibration boot (test=boot.console) ended with "
                         "status %s; see %s" % (out.status, os.path.join(self.logdir,
                                                                          "calibrate.log")))
        self.no_progress = max(NO_PROGRESS_FLOOR, NO_PROGRESS_FACTOR * took)
        return self.no_progress

    def _boot_log(self, tag):
        with self.lock:
            self.boots += 1
            n = self.boots
        return os.path.join(self.logdir, "%s-boot%d.log" % (tag, n))

    def run_tests(self, tests, cpus=1, tag="run", sync_handlers=None, on_result=None,
                  extra_cmdline="", pattern=None):
        """Run kernel tests in as few boots as possible: one boot runs them all;
        a test that crashes the kernel is charged with the crash and the tests
        after it run again in a fresh boot. pattern (e.g. "lab3") selects the
        tests on the first boot's command line instead of listing them (other
        tests it selects are ignored). Returns {name: TestResult}."""
        limit = self.calibrate()
        remaining = list(tests)
        results = {}
        while remaining:
            log_path = self._boot_log(tag)
            selection = pattern or ",".join(remaining)
            pattern = None  # reruns name exactly the tests still owed
            cmdline = "test=%s seed=%d %s" % (selection, self.seed, extra_cmdline)
            times = {}

            def on_line(line, out, times=times):
                m = re.match(r"TEST (START|PASS|FAIL|EXPECTED|GOT) (\S+?):?(?: (.*))?$", line)
                if not m:
                    return
                kind, name, rest, now = m.group(1), m.group(2), m.group(3) or "", time.time()
                if kind == "START":
                    times[name] = [now, None, []]
                    return
                if name not in times or times[name][1] is not None:
                    return
                if kind in ("EXPECTED", "GOT"):
                    times[name][2].append("%-9s %s" % (kind.lower() + ":", rest))
                    return
                times[name][1] = now
                if on_result:
                    reasons = [] if kind == "PASS" else times[name][2] + [rest]
                    on_result(name, PASS if kind == "PASS" else FAIL, now - times[name][0],
                              reasons)

            out = Boot(self.iso, cmdline.strip(), self.logdir, log_path, cpus=cpus,
                       no_progress=limit, on_line=on_line, sync_handlers=sync_handlers,
                       kvm=self.kvm, smp=self.smp).run()
            end = time.time()
            got, crashed, not_started = parse_results(remaining, out)
            got = {name: r for name, r in got.items() if name in remaining}
            seed_ok = out.seed_echo is None or out.seed_echo == str(self.seed)
            for name, r in got.items():
                t0, t1, _ = times.get(name, [end, end, None])
                r.elapsed = (t1 or end) - t0
                r.boot_log = log_path
                r.sync = out.sync.get(name)
                if not seed_ok:
                    r.cls = ERROR
                    r.reasons = ["the kernel echoed seed %s, the grader chose %d"
                                 % (out.seed_echo, self.seed)]
                elif r.cls is None:
                    r.cls = crash_class(out)
                    r.reasons = crash_reasons(out, limit)
                    if on_result:
                        on_result(name, r.cls, r.elapsed, r.reasons)
                results[name] = r
            normal_end = out.ended == "exit" and out.status in (EXIT_PASSED, EXIT_FAILED)
            progressed = any(line.startswith("TEST START ") for line in out.lines)
            if not_started and not normal_end and progressed:
                remaining = not_started  # isolate: the rest get a fresh boot
                continue
            for name in not_started:
                r = TestResult(name, FAIL if normal_end else crash_class(out))
                r.boot_log = log_path
                if normal_end:
                    r.reasons = ["the kernel did not run this test (is it registered "
                                 "with KTEST? test=list shows the kernel's tests)"]
                else:
                    r.reasons = ["the kernel stopped before this test started:"] + \
                        crash_reasons(out, limit)
                results[name] = r
                if on_result:
                    on_result(name, r.cls, 0.0, r.reasons)
            break
        for r in results.values():
            self._write_test_log(r)
        return results

    def _write_test_log(self, r):
        path = os.path.join(self.logdir, "%s.log" % r.name)
        with open(path, "w") as f:
            f.write("# %s: %s\n# whole boot: %s\n" % (r.name, r.cls, r.boot_log))
            f.write("\n".join(r.log) + "\n")
            if r.reasons:
                f.write("# reasons:\n" + "\n".join(r.reasons) + "\n")


# ---- host-side checks named by "grader" in a manifest -----------------------

def sync_ptdump(qmp, test, outcome):
    """While the kernel waits after printing its dump, ask QEMU for its view."""
    return {"info tlb": qmp.hmp("info tlb"), "info mem": qmp.hmp("info mem")}


SYNC_HANDLERS = {"ptdump": sync_ptdump}


def check_ptdump_vs_qemu(kernel_result):
    import ptcheck
    if kernel_result is None:
        return FAIL, ["the kernel test that prints the dump did not run"]
    data = kernel_result.sync
    if not data:
        return FAIL, ["the kernel never waited for the grader after its dump "
                      "(no TEST SYNC ...: ptdump line)"]
    if "error" in data:
        return ERROR, ["could not query QEMU's monitor: " + data["error"]]
    problems = ptcheck.compare(kernel_result.log, data["info tlb"], data["info mem"])
    return (FAIL, problems) if problems else (PASS, [])


GRADER_CHECKS = {"ptdump-vs-qemu": check_ptdump_vs_qemu}


# ---- scoring a lab ------------------------------------------------------------

def manifest_tests(manifest):
    """[(part, test-entry)] in manifest order."""
    return [(part["name"], t) for part in manifest["parts"] for t in part["tests"]]


def kernel_test_needed(t):
    """The kernel test whose output a grader check (manifest "grader") reads."""
    return t.get("needs", t["name"].rsplit(".", 1)[0] + ".dump")


def kernel_tests_of(manifest):
    """Kernel tests to boot: every non-grader test, plus what grader checks need."""
    names = []
    for _, t in manifest_tests(manifest):
        name = kernel_test_needed(t) if "grader" in t else t["name"]
        if name not in names:
            names.append(name)
    return names


def replay_commands(lab, test, seed, cpus=1):
    """How a person replays one test of a graded run: the same seed."""
    return ['make grade-lab%d GRADEFLAGS="--seed %d"' % (lab, seed),
            'make qemu-nox%s CMDLINE="test=%s seed=%d"'
            % (" CPUS=%d" % cpus if cpus > 1 else "", test, seed)]


def format_result(name, cls, elapsed, reasons, log=None, replay=None):
    lines = ["%s: %s (%.1fs)" % (name, CLASS_TEXT.get(cls, cls), elapsed)]
    for r in reasons[:40]:
        lines.append("    " + r)
    if log and cls != PASS:
        lines.append("    log: " + os.path.relpath(log))
    if replay and cls != PASS:
        lines.append("    replay: " + " or ".join(replay))
    return "\n".join(lines)


class LabReport:
    def __init__(self, lab, title):
        self.lab, self.title = lab, title
        self.entries = []   # dicts: name, part, points, cls, elapsed, reasons, log

    @property
    def score(self):
        return sum(e["points"] for e in self.entries if e["cls"] == PASS)

    @property
    def max_score(self):
        return sum(e["points"] for e in self.entries)


def grade_lab(lab, grader, emit, quiet=False):
    """Run lab `lab`'s tests with grader, emitting one line per test as it
    finishes. Returns a LabReport."""
    manifest = lab_manifest(lab)
    report = LabReport(lab, manifest.get("title", "lab %d" % lab))
    entries = dict((t["name"], (part, t)) for part, t in manifest_tests(manifest))
    printed = set()
    cpus = manifest.get("cpus", 1)

    def replay(name):
        return replay_commands(lab, name, grader.seed, cpus)

    def on_result(name, cls, elapsed, reasons):
        if name in entries and "grader" not in entries[name][1]:
            printed.add(name)
            if not quiet or cls != PASS:
                emit(format_result(name, cls, elapsed, reasons,
                                   os.path.join(grader.logdir, name + ".log"), replay(name)))

    results = grader.run_tests(kernel_tests_of(manifest), cpus=cpus,
                               tag="lab%d" % lab, sync_handlers=SYNC_HANDLERS,
                               on_result=on_result, pattern="lab%d" % lab)
    for name, (part, t) in entries.items():
        if "grader" in t:
            needed = results.get(kernel_test_needed(t))
            check = GRADER_CHECKS.get(t["grader"])
            if check is None:
                cls, reasons = ERROR, ["unknown grader check %r" % t["grader"]]
            else:
                cls, reasons = check(needed)
            elapsed = needed.elapsed if needed else 0.0
            log = needed.boot_log if needed else None
            if not quiet or cls != PASS:
                emit(format_result(name, cls, elapsed, reasons, log,
                                   replay(kernel_test_needed(t))))
        else:
            r = results.get(name)
            cls, elapsed, reasons, log = (r.cls, r.elapsed, r.reasons, r.boot_log) if r \
                else (ERROR, 0.0, ["no result"], None)
            if name not in printed and (not quiet or cls != PASS):
                emit(format_result(name, cls, elapsed, reasons, log, replay(name)))
        report.entries.append({"name": name, "part": part, "points": t["points"], "cls": cls,
                               "elapsed": elapsed, "reasons": reasons, "log": log})
    return report


def error_report(lab, output, cls=ERROR):
    """Every test of the lab failed with class cls, output as the reason."""
    manifest = lab_manifest(lab)
    report = LabReport(lab, manifest.get("title", "lab %d" % lab))
    for part, t in manifest_tests(manifest):
        report.entries.append({"name": t["name"], "part": part, "points": t["points"],
                               "cls": cls, "elapsed": 0.0,
                               "reasons": output.strip().splitlines()[-30:], "log": None})
    return report


def build_error_report(lab, output):
    return error_report(lab, output, BUILD)


def gradescope_json(reports, seed, elapsed, output=None):
    """Gradescope's results.json (grading/gradescope.py has the specification and
    a validator). Plain text throughout, so compiler output and backtraces are
    shown as written; each test's name carries its part, and its number
    (part.test, lab.part.test for several labs) groups the parts in order."""
    tests = []
    for rep in reports:
        parts = {}  # part: tests numbered so far
        for e in rep.entries:
            parts.setdefault(e["part"], 0)
            parts[e["part"]] += 1
            number = "%d.%d" % (list(parts).index(e["part"]) + 1, parts[e["part"]])
            text = "%s: %s\n%s" % (e["name"], CLASS_TEXT.get(e["cls"], "FAIL (%s)" % e["cls"]),
                                   "\n".join(e["reasons"]))
            tests.append({"number": number if len(reports) == 1 else "%d.%s" % (rep.lab, number),
                          "name": "%s: %s" % (e["part"], e["name"]),
                          "score": e["points"] if e["cls"] == PASS else 0,
                          "max_score": e["points"],
                          "status": "passed" if e["cls"] == PASS else "failed",
                          "output": text.strip(), "output_format": "text",
                          "visibility": "visible",
                          "extra_data": {"class": e["cls"], "part": e["part"], "test": e["name"],
                                         "lab": rep.lab, "seconds": round(e["elapsed"], 2)}})
    if output is None:
        output = "".join("Lab %d (%s): %d/%d, seed %d\n" % (r.lab, r.title, r.score,
                                                           r.max_score, seed) for r in reports)
    return {"score": sum(r.score for r in reports), "execution_time": int(round(elapsed)),
            "output": output, "output_format": "text", "test_output_format": "text",
            "visibility": "visible", "stdout_visibility": "visible",
            "extra_data": {"seed": seed, "labs": [r.lab for r in reports]}, "tests": tests}
