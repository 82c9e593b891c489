#!/usr/bin/env python3
"""The one place that knows how Pagoda runs QEMU.

Every QEMU command line (make qemu / qemu-nox / qemu-gdb / bench, the grader,
the GDB test) comes from qemu_command() below, and every exit status is
explained by explain_exit(), so that they cannot drift apart.

SMP modes (several CPUs):
  det       the default, and what grades: single-threaded round-robin TCG with
            instruction counting (-icount shift=5,sleep=off). Every vCPU runs
            on one host thread and the next one runs when a CPU executes PAUSE
            or HLT; time is counted in instructions, so the same kernel and
            seed give the same interleaving, the same counters and the same
            verdicts on one host core or many, idle or loaded.
  parallel  multi-threaded TCG: each vCPU a host thread, real races, timing
            that depends on the host. An opt-in for shaking out races.
One CPU always runs plain TCG (nothing to interleave). KVM is an opt-in.

As a command (the Makefile's qemu targets):
  qemucmd.py run --iso ISO [--cpus N] [--smp det|parallel] [--kvm] [--mem M]
                 [--display] [--gdb PORT] [-- EXTRA QEMU ARGS]
runs QEMU on this terminal and exits 0 when the selected tests passed, the
kernel halted on request or you quit; non-zero, saying why, otherwise.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile

QEMU = "qemu-system-x86_64"
SMP_MODES = ("det", "parallel")
# 32 ns of virtual time per instruction: a boot as fast as plain TCG (a smaller
# shift makes firmware delays cost real seconds), and the lab-4 tests' virtual
# time limits far above what a correct solution needs.
ICOUNT_SHIFT = 5

# isa-debug-exit statuses (kern/panic.h): QEMU exits with (code << 1) | 1.
EXIT_PASSED, EXIT_FAILED, EXIT_PANIC, EXIT_HALTED = 33, 35, 37, 39
# With -no-reboot a reset (a triple fault) makes QEMU exit with status 0,
# which the kernel itself can never produce; so does a user's Ctrl-A x. The
# reset log (-d cpu_reset) tells them apart: TCG writes "Triple fault".
EXIT_RESET = 0
TRIPLE_FAULT_MARK = "Triple fault"


def accel_args(cpus, smp="det", kvm=False):
    if kvm:
        return ["-accel", "kvm", "-cpu", "host,-arch-capabilities"]
    if smp not in SMP_MODES:
        raise ValueError("unknown SMP mode %r (one of %s)" % (smp, ", ".join(SMP_MODES)))
    if cpus == 1:
        return ["-accel", "tcg", "-cpu", "max"]
    if smp == "parallel":
        return ["-accel", "tcg,thread=multi", "-cpu", "max"]
    return ["-accel", "tcg,thread=single", "-icount", "shift=%d,sleep=off" % ICOUNT_SHIFT,
            "-cpu", "max"]


def qemu_command(iso, cpus=1, mem="256M", smp="det", kvm=False, serial="stdio",
                 monitor="none", display=False, gdb_port=None, qmp_path=None,
                 reset_log=None, extra=()):
    """The argument vector for one run of the ISO.

    serial: a QEMU chardev ("stdio", "mon:stdio", "file:PATH"); monitor:
    "none" or None (QEMU's default); gdb_port: wait for GDB on localhost
    (-S); qmp_path: a QMP unix socket; reset_log: where -d cpu_reset writes,
    so that explain_exit can tell a triple fault from a quit."""
    cmd = [QEMU, "-cdrom", iso, "-boot", "d", "-m", mem, "-smp", str(cpus)]
    cmd += accel_args(cpus, smp, kvm)
    cmd += ["-no-reboot", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-net", "none",
            "-serial", serial]
    if monitor is not None:
        cmd += ["-monitor", monitor]
    if not display:
        cmd += ["-display", "none"]
    if gdb_port is not None:
        cmd += ["-S", "-gdb", "tcp:127.0.0.1:%d" % gdb_port]
    if qmp_path:
        cmd += ["-qmp", "unix:%s,server=on,wait=off" % qmp_path]
    if reset_log:
        cmd += ["-d", "cpu_reset", "-D", reset_log]
    return cmd + list(extra)


SIGNALLED = re.compile(r"terminating on signal (\d+)")


def signal_status(status, stderr):
    """QEMU catches SIGTERM/SIGINT/SIGHUP, says so on stderr and exits 0:
    report that as killed by the signal (negative, like subprocess)."""
    m = SIGNALLED.search(stderr or "")
    return -int(m.group(1)) if status == 0 and m else status


def triple_faulted(reset_log):
    try:
        with open(reset_log, errors="replace") as f:
            return TRIPLE_FAULT_MARK in f.read()
    except OSError:
        return False


def explain_exit(status, reset_log=None):
    """(what happened, exit status for a wrapper) from QEMU's exit status
    (negative: killed by that signal, as subprocess reports it)."""
    if status is None:
        return "QEMU did not exit", 1
    if status < 0:
        try:
            name = signal.Signals(-status).name
        except ValueError:
            name = "signal %d" % -status
        return "QEMU was ended by %s (not by the kernel)" % name, 128 - status
    if status == EXIT_PASSED:
        return "all selected tests passed", 0
    if status == EXIT_HALTED:
        return "the kernel is done (the run= program ended, or halt was asked)", 0
    if status == EXIT_FAILED:
        return "some tests failed", 1
    if status == EXIT_PANIC:
        return "the kernel panicked", 2
    if status == EXIT_RESET:
        if reset_log and triple_faulted(reset_log):
            return ("the kernel reset the machine: a triple fault (an exception while "
                    "handling one: a bad IDT, stack or page table)"), 3
        return "QEMU exited (quit by you)", 0
    return "QEMU failed with status %d" % status, status


def run(args):
    tmp = tempfile.mkdtemp(prefix="pagoda-qemu-")
    reset_log = None if args.kvm else os.path.join(tmp, "reset.log")
    cmd = qemu_command(args.iso, args.cpus, args.mem, args.smp, args.kvm,
                       serial="mon:stdio", monitor=None, display=args.display,
                       gdb_port=args.gdb, reset_log=reset_log, extra=args.extra)
    # Ctrl-C reaches QEMU (it owns the terminal); we only report the outcome.
    # Its stderr passes through us, to see "terminating on signal N".
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, preexec_fn=lambda: signal.signal(
            signal.SIGINT, signal.SIG_DFL))
        stderr = []
        for line in proc.stderr:
            text = line.decode(errors="replace")
            stderr.append(text)
            sys.stderr.write(text)
            sys.stderr.flush()
        status = signal_status(proc.wait(), "".join(stderr))
    except OSError as e:
        print("pagoda: cannot run %s: %s (install the Debian package 'qemu-system-x86')"
              % (QEMU, e), file=sys.stderr)
        return 127
    finally:
        signal.signal(signal.SIGINT, old)
    what, code = explain_exit(status, reset_log)
    if reset_log:
        try:
            os.unlink(reset_log)
        except OSError:
            pass
    os.rmdir(tmp)
    print("pagoda: %s" % what, file=sys.stderr)
    return code


def main():
    ap = argparse.ArgumentParser(description="Run Pagoda in QEMU (the Makefile's qemu targets).")
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="boot ISO on this terminal")
    r.add_argument("--iso", required=True)
    r.add_argument("--cpus", type=int, default=1)
    r.add_argument("--mem", default="256M")
    r.add_argument("--smp", default="det", choices=SMP_MODES)
    r.add_argument("--kvm", action="store_true")
    r.add_argument("--display", action="store_true", help="open QEMU's window")
    r.add_argument("--gdb", type=int, metavar="PORT", help="wait for GDB on this port")
    r.add_argument("extra", nargs="*", help="more QEMU arguments, after --")
    p = sub.add_parser("print", help="print the command line (for scripts)")
    p.add_argument("--iso", required=True)
    p.add_argument("--cpus", type=int, default=1)
    p.add_argument("--smp", default="det", choices=SMP_MODES)
    p.add_argument("--kvm", action="store_true")
    args = ap.parse_args()
    if args.cmd == "print":
        print(" ".join(qemu_command(args.iso, args.cpus, smp=args.smp, kvm=args.kvm)))
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
