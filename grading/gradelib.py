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
import hosttests  # noqa: E402
import isocmdline  # noqa: E402

import qemucmd  # noqa: E402
import signedlines  # noqa: E402
from qemucmd import (QEMU, EXIT_PASSED, EXIT_FAILED, EXIT_PANIC, EXIT_HALTED,  # noqa: E402,F401
                     EXIT_RESET)

PASS, FAIL, PANIC, TRIPLE, TIMEOUT, BUILD, ERROR, KILLED, BAD_OUTPUT = (
    "pass", "fail", "panic", "triple-fault", "timeout", "build-error", "grader-error", "killed",
    "bad-output")
CLASS_TEXT = {
    PASS: "OK", FAIL: "FAIL", PANIC: "FAIL (kernel panic)",
    TRIPLE: "FAIL (triple fault: QEMU reset)", TIMEOUT: "FAIL (timeout: no progress)",
    BUILD: "FAIL (build error)", ERROR: "FAIL (grader error)",
    KILLED: "FAIL (QEMU killed by a signal)",
    BAD_OUTPUT: "FAIL (bad output: a result line the test framework did not sign)",
}

# Limits scale with the machine (see calibrate()); these are the floors.
NO_PROGRESS_FLOOR = 5.0
NO_PROGRESS_FACTOR = 12.0
# A whole grade run (every lab asked for), from the calibration boot on.
TIME_LIMIT_FLOOR = 600.0
TIME_LIMIT_FACTOR = 400.0


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
        self.trace = []        # [(depth, addr, "function+off")]: TEST TRACE lines

    @property
    def passed(self):
        return self.cls == PASS


class BootOutcome:
    """What one QEMU run produced."""

    def __init__(self):
        self.lines = []
        self.status = None       # QEMU exit status, None if killed
        # "exit", "timeout" (silence), "test-too-long" (no signed line for too
        # long), "after-summary", "deadline" (the grade run's cap), "aborted"
        self.ended = None
        self.elapsed = 0.0
        self.sync = {}           # test name -> data gathered by a sync handler
        self.seed_echo = None    # from the signed TEST SEED line only
        self.events = {}         # line index -> (kind, name, rest) of a signed line
        self.claims = []         # (line index, line): verdict-like lines not signed
        self.cpus = []           # where each CPU was when a hang was stopped: see cpu_places
        self.summary = False     # the signed TEST SUMMARY line came


# Every QEMU the grader started and has not reaped, so that a signal to the
# grader can end them all (each runs in its own session, away from Ctrl-C).
_live_qemus = set()
_live_lock = threading.Lock()
ABORT = threading.Event()


def process_children():
    """{ppid: [(pid, comm)]} of every process, from /proc (no procps needed)."""
    children = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                stat = f.read()
        except OSError:
            continue
        close = stat.rindex(")")
        children.setdefault(int(stat[close + 2:].split()[1]), []).append(
            (int(entry), stat[stat.index("(") + 1:close]))
    return children


def track_process(proc, alive):
    """Add (alive) or remove a process group that a signal to the grader must end."""
    with _live_lock:
        if alive:
            _live_qemus.add(proc)
        else:
            _live_qemus.discard(proc)


def kill_all_qemus():
    with _live_lock:
        procs = list(_live_qemus)
    for proc in procs:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except OSError:
            pass


def abort_grading(signum=None, frame=None):
    """Stop every boot now; what is not finished is a grader error."""
    ABORT.set()
    kill_all_qemus()


def on_termination(handler=abort_grading):
    """Call handler on SIGTERM, SIGINT and SIGHUP (grade.py and friends)."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, handler)


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

    The boot gets its own signing key (signedlines.Verifier); only lines it
    signed become events. on_line(line, outcome, event) is called for every
    serial line as it arrives, event being (kind, name, rest) for a signed
    line and None otherwise; sync_handlers maps a TEST SYNC "what" to
    fn(qmp, test, outcome) run while the kernel waits (the kernel resumes
    when we send a newline). The boot ends by deadline (time.time()) at the
    latest.
    """

    def __init__(self, iso, cmdline, workdir, log_path, cpus=1, no_progress=30.0,
                 test_cap=None, on_line=None, sync_handlers=None, kvm=False, smp="det",
                 deadline=None):
        self.iso, self.cmdline, self.workdir = iso, cmdline, workdir
        self.log_path, self.cpus, self.kvm, self.smp = log_path, cpus, kvm, smp
        self.no_progress = no_progress
        # The longest stretch without a signed line (a test that keeps
        # printing but never ends); generous, because a 4-CPU boot on 2 host
        # cores can run many times slower when loaded.
        self.test_cap = test_cap or max(90.0, 12 * no_progress)
        self.on_line = on_line
        self.sync_handlers = sync_handlers or {}
        self.deadline = deadline
        self.verifier = signedlines.Verifier()
        self.kernel_elf = os.path.join(os.path.dirname(os.path.abspath(iso)), "kern", "kernel")

    def run(self):
        out = BootOutcome()
        if ABORT.is_set() or (self.deadline is not None and time.time() > self.deadline):
            out.ended = "aborted" if ABORT.is_set() else "deadline"
            return out
        tmp = tempfile.mkdtemp(prefix="pagoda-", dir="/tmp")
        run_iso = os.path.join(tmp, "run.iso")
        qmp_path = os.path.join(tmp, "qmp.sock")  # sync handlers; where a hung CPU is
        cmdline = self.cmdline
        isocmdline.write_iso(self.iso, run_iso, cmdline)
        cmd = qemucmd.qemu_command(run_iso, self.cpus, smp=self.smp, kvm=self.kvm,
                                   qmp_path=qmp_path, extra=self.verifier.qemu_args(tmp))
        start = time.time()
        with _live_lock:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, start_new_session=True)
            _live_qemus.add(proc)
        try:
            self._follow(proc, out, qmp_path, start)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            with _live_lock:
                _live_qemus.discard(proc)
            stderr = proc.stderr.read().decode(errors="replace")
            out.elapsed = time.time() - start
            if out.ended == "exit" and ABORT.is_set():
                out.ended = "aborted"
            if out.ended == "exit":
                out.status = qemucmd.signal_status(proc.returncode, stderr)
            if stderr.strip():
                out.lines.append("[qemu stderr] " + stderr.strip())
            shutil.rmtree(tmp, ignore_errors=True)
            with open(self.log_path, "w") as f:
                f.write("# %s\n# cmdline: %s\n" % (" ".join(cmd), cmdline))
                f.write("\n".join(out.lines) + "\n")
                f.write("# ended: %s, status %s, %.2fs\n" % (out.ended, out.status, out.elapsed))
        return out

    def _over(self, out, now, last_output, last_signed, summary_at):
        """Why the boot must end now, or None."""
        if ABORT.is_set():
            return "aborted"
        if self.deadline is not None and now > self.deadline:
            return "deadline"
        if summary_at is not None and now - summary_at > self.no_progress:
            return "after-summary"
        if now - last_output > self.no_progress:
            return "timeout"
        if now - last_signed > self.test_cap:
            return "test-too-long"
        return None

    def _line(self, raw, out):
        """Record one serial line; returns its event (or None)."""
        raw = raw.rstrip(b"\r")
        line = raw.decode(errors="replace")
        event = self.verifier.verify(raw)
        out.lines.append(line)
        index = len(out.lines) - 1
        if event:
            out.events[index] = event
            if event[0] == "SEED" and out.seed_echo is None:
                out.seed_echo = event[1]
            elif event[0] == "SUMMARY":
                out.summary = True
        elif signedlines.claims(line):
            out.claims.append((index, line))
        return line, event

    def _follow(self, proc, out, qmp_path, start):
        sel = selectors.DefaultSelector()
        fd = proc.stdout.fileno()
        sel.register(fd, selectors.EVENT_READ)
        buf = b""
        last_output = last_signed = time.time()
        summary_at = None
        qmp = None
        try:
            while True:
                why = self._over(out, time.time(), last_output, last_signed, summary_at)
                if why:
                    out.ended = why
                    if why in HANG_ENDS:
                        qmp = self._where_hung(out, qmp, qmp_path)
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
                    line, event = self._line(raw, out)
                    last_output = time.time()
                    if event:
                        last_signed = last_output
                        if event[0] == "SUMMARY":
                            summary_at = last_output
                    if self.on_line:
                        self.on_line(line, out, event)
                    if line.startswith("TEST SYNC "):
                        qmp = self._sync(proc, line, out, qmp, qmp_path)
                        last_output = last_signed = time.time()
                # A line without its newline, growing forever, is no progress.
                if len(buf) > 65536:
                    self._line(buf[:4096] + b" [...]", out)
                    buf = b""
            if buf:
                self._line(buf, out)
            proc.wait(timeout=5)
            out.ended = "exit"
        finally:
            sel.close()
            if qmp:
                qmp.close()

    def _where_hung(self, out, qmp, qmp_path):
        """Ask QEMU for each CPU's RIP before the hung boot is killed."""
        try:
            if qmp is None:
                qmp = Qmp(qmp_path, timeout=2.0)
            out.cpus = cpu_places(qmp.hmp("info registers -a"), self.kernel_elf)
        except (OSError, ValueError, RuntimeError) as e:
            out.cpus = ["(could not ask QEMU where the CPUs were: %s)" % e]
        return qmp

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


HANG_ENDS = ("timeout", "test-too-long", "after-summary", "deadline")


def symbolize(elf, addrs):
    """{addr: "function (file:line)"} from the kernel's symbols and line table."""
    if not addrs or not os.path.exists(elf) or shutil.which("addr2line") is None:
        return {}
    try:
        out = subprocess.run(["addr2line", "-f", "-e", elf] + ["%#x" % a for a in addrs],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                             timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return {}
    names = {}
    for addr, fn, loc in zip(addrs, out[0::2], out[1::2]):
        loc = re.sub(r" \(discriminator \d+\)$", "", loc)
        if loc.startswith(ROOT + os.sep):
            loc = os.path.relpath(loc, ROOT)
        names[addr] = "%s (%s)" % (fn, loc) if fn != "??" else "an address outside the kernel"
    return names


def cpu_places(registers, elf):
    """Lines naming where each CPU was, from the monitor's `info registers -a`."""
    cpus = re.findall(r"CPU#(\d+).*?RIP=([0-9a-f]+)[^\n]*?HLT=(\d)", registers, re.S)
    names = symbolize(elf, [int(rip, 16) for _, rip, _ in cpus])
    return ["CPU %s: rip %#x in %s%s" % (cpu, int(rip, 16), names.get(int(rip, 16), "?"),
                                          ", halted (hlt)" if halted == "1" else "")
            for cpu, rip, halted in cpus]


def parse_results(tests, outcome):
    """Turn one boot's serial lines into TestResults for the tests that ran.

    Only signed lines frame a test or give its verdict, and only after the
    signed seed echo; EXPECTED/GOT lines count as reasons only inside the
    frame of the test they name. Returns (results, crashed_test, not_started)."""
    results = {}
    current = None
    pending = []
    seeded = False
    for index, line in enumerate(outcome.lines):
        event = outcome.events.get(index)
        if event:
            kind, name, rest = event
            if kind == "SEED":
                seeded = True
            elif kind == "START" and seeded:
                current = TestResult(name)
                results[name] = current
                pending = []
                current.log.append(line)
            elif kind in ("PASS", "FAIL") and current is not None and name == current.name:
                current.log.append(line)
                current.cls = PASS if kind == "PASS" else FAIL
                if kind == "FAIL":
                    current.reasons = pending + [rest]
                current = None
            continue
        if current is None:
            continue
        current.log.append(line)
        m = re.match(r"TEST (EXPECTED|GOT) (\S+?): (.*)$", line)
        if m and m.group(2) == current.name:
            pending.append("%-9s %s" % (m.group(1).lower() + ":", m.group(3)))
        m = re.match(r"TEST TRACE (\S+?): #(\d+) (0x[0-9a-f]+) (\S+)$", line)
        if m and m.group(1) == current.name:
            current.trace.append((int(m.group(2)), int(m.group(3), 16), m.group(4)))
    crashed = None
    for name in tests:
        r = results.get(name)
        if r is not None and r.cls is None:
            crashed = r
    not_started = [t for t in tests if t not in results]
    return results, crashed, not_started


def trace_reasons(trace, elf):
    """A crash's backtrace, each frame with its function and source line."""
    names = symbolize(elf, [addr for _, addr, _ in trace])
    return ["backtrace (innermost first):"] + [
        "    #%d %s" % (depth, names.get(addr, sym)) for depth, addr, sym in trace]


def forged_claims(outcome, name):
    """The lines of a boot that claimed a result for test name without a signature."""
    return [line for _, line in outcome.claims if name in signedlines.claims(line)]


def bad_output_reasons(lines):
    shown = ["    " + (line if len(line) <= 160 else line[:160] + " [...]") for line in lines[:3]]
    more = ["    (and %d more)" % (len(lines) - 3)] if len(lines) > 3 else []
    return ["the kernel printed a result line the test framework did not sign (only the "
            "framework's verdicts count; see the log):"] + shown + more


def crash_class(outcome):
    if outcome.ended in HANG_ENDS:
        return TIMEOUT
    if outcome.ended == "aborted":
        return ERROR
    if outcome.status == EXIT_PANIC:
        return PANIC
    if outcome.status is not None and outcome.status < 0:
        return KILLED
    if outcome.status == EXIT_RESET:
        return TRIPLE
    if outcome.status in (EXIT_PASSED, EXIT_FAILED) and not outcome.summary:
        return FAIL  # something other than the framework exited QEMU
    return ERROR


def crash_reasons(outcome, limit, test_cap=None):
    """The lines a student needs: the panic message, trap dump, backtrace."""
    cls = crash_class(outcome)
    if cls == TIMEOUT:
        what = {
            "timeout": "no serial output for %.0fs" % limit,
            "test-too-long": "no test verdict for %.0fs, though output kept coming"
            % (test_cap or 0),
            "after-summary": "the kernel kept running %.0fs after the summary line" % limit,
            "deadline": "the grade run reached its time limit",
        }[outcome.ended]
        where = ["where each CPU was when the grader stopped it:"] + \
            ["    " + c for c in outcome.cpus] if outcome.cpus else []
        return ["the kernel hung (%s); killed QEMU" % what] + where
    if outcome.ended == "aborted":
        return ["the grader was stopped (a signal) before this test ended"]
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
    if cls == FAIL:
        return ["QEMU exited with status %s (%s), but not through the test framework: no "
                "signed summary line; something else wrote to the exit port"
                % (outcome.status, qemucmd.explain_exit(outcome.status)[0])] + \
            outcome.lines[-10:]
    return ["QEMU exited with status %s" % outcome.status] + outcome.lines[-10:]


class Grader:
    """Runs a lab's tests, isolating crashes, and scores them."""

    def __init__(self, iso, logdir, seed=None, kvm=False, no_progress=None, printer=None,
                 smp="det", deadline=None, test_cap=None):
        self.iso = iso
        self.deadline = deadline    # time.time() by which every boot has ended
        self.test_cap = test_cap    # longest stretch without a signed line
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
            if self.deadline is None:
                self.deadline = time.time() + max(TIME_LIMIT_FLOOR,
                                                  TIME_LIMIT_FACTOR * self.no_progress / 12)
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
        if self.deadline is None:
            self.deadline = t0 + max(TIME_LIMIT_FLOOR, TIME_LIMIT_FACTOR * took)
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
        tests it selects are ignored). on_result(name, cls, elapsed, reasons)
        is called once per test, when its class is known. Returns
        {name: TestResult}."""
        limit = self.calibrate()
        remaining = list(tests)
        results = {}
        reported = set()

        def report(name, cls, elapsed, reasons):
            if on_result and name not in reported and name in tests:
                reported.add(name)
                on_result(name, cls, elapsed, reasons)

        while remaining:
            log_path = self._boot_log(tag)
            selection = pattern or ",".join(remaining)
            pattern = None  # reruns name exactly the tests still owed
            cmdline = "test=%s seed=%d %s" % (selection, self.seed, extra_cmdline)
            times = {}

            def on_line(line, out, event, times=times):
                # Timing only: a verdict is reported once the boot is over,
                # when every line that could disown it has been seen.
                if event and event[0] == "START" and out.seed_echo == str(self.seed):
                    times[event[1]] = [time.time(), None]
                elif event and event[0] in ("PASS", "FAIL") and event[1] in times:
                    times[event[1]][1] = time.time()

            boot = Boot(self.iso, cmdline.strip(), self.logdir, log_path, cpus=cpus,
                        no_progress=limit, on_line=on_line, sync_handlers=sync_handlers,
                        kvm=self.kvm, smp=self.smp, deadline=self.deadline,
                        test_cap=self.test_cap)
            out = boot.run()
            end = time.time()
            got, crashed, not_started = parse_results(remaining, out)
            got = {name: r for name, r in got.items() if name in remaining}
            seed_ok = out.seed_echo is None or out.seed_echo == str(self.seed)
            test_cap = max(90.0, 12 * limit) if self.test_cap is None else self.test_cap
            for name, r in got.items():
                t0, t1 = times.get(name, [end, end])
                r.elapsed = (t1 or end) - t0
                r.boot_log = log_path
                r.sync = out.sync.get(name)
                if r.cls == FAIL and r.trace:
                    r.reasons += trace_reasons(r.trace, boot.kernel_elf)
                forged = forged_claims(out, name)
                if not seed_ok:
                    r.cls = ERROR
                    r.reasons = ["the kernel echoed seed %s, the grader chose %d"
                                 % (out.seed_echo, self.seed)]
                elif r.cls is None and forged:
                    r.cls, r.reasons = BAD_OUTPUT, bad_output_reasons(forged)
                elif r.cls is None:
                    r.cls = crash_class(out)
                    r.reasons = crash_reasons(out, limit, test_cap)
                elif r.cls == FAIL and forged:
                    r.cls = BAD_OUTPUT
                    r.reasons = bad_output_reasons(forged) + \
                        ["the test framework's own verdict was FAIL:"] + r.reasons
                elif r.cls == PASS and forged:
                    r.reasons = ["(the framework's verdict counts; the kernel also printed "
                                 "result lines of its own, which do not)"]
                report(name, r.cls, r.elapsed, r.reasons)
                results[name] = r
            normal_end = out.ended == "exit" and out.summary and \
                out.status in (EXIT_PASSED, EXIT_FAILED)
            progressed = bool(got)
            if not_started and not normal_end and progressed and not ABORT.is_set() and \
                    out.ended != "deadline":
                remaining = not_started  # isolate: the rest get a fresh boot
                continue
            for name in not_started:
                forged = forged_claims(out, name)
                if forged:
                    r = TestResult(name, BAD_OUTPUT)
                    r.reasons = bad_output_reasons(forged)
                    if out.seed_echo is None:
                        r.reasons.insert(0, "the kernel printed them before the test "
                                         "framework's seed echo: no test had started")
                elif normal_end:
                    r = TestResult(name, FAIL)
                    r.reasons = ["the kernel did not run this test (is it registered "
                                 "with KTEST? test=list shows the kernel's tests)"]
                else:
                    r = TestResult(name, crash_class(out))
                    r.reasons = ["the kernel stopped before this test started:"] + \
                        crash_reasons(out, limit, test_cap)
                r.boot_log = log_path
                results[name] = r
                report(name, r.cls, 0.0, r.reasons)
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
        if "host" in t:
            continue
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
    host_specs = [t["host"] for _, t in entries.values() if "host" in t]
    host = hosttests.run(os.path.dirname(os.path.abspath(grader.iso)), host_specs,
                         grader.logdir, grader.deadline, track_process) if host_specs else {}
    for name, (part, t) in entries.items():
        if "host" in t:
            passed, reasons, elapsed = host[t["host"]]
            cls = BUILD if passed is None else PASS if passed else FAIL
            if ABORT.is_set() and cls != PASS:
                cls, reasons = ERROR, ["the grader was stopped (a signal) before this test ended"]
            log = os.path.join(grader.logdir, "host-%s.log" % t["host"].split(":")[0])
            if not quiet or cls != PASS:
                emit(format_result(name, cls, elapsed, reasons, log))
        elif "grader" in t:
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


def stopped_report(report, lab, signum):
    """A lab's report when the grader was stopped by signal signum."""
    if report is None:
        return error_report(lab, "the grader was stopped by signal %d" % signum)
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
