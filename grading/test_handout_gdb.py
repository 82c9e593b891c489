#!/usr/bin/env python3
"""Run every GDB session the handouts show, in batch, and check what it prints.

A session starts at a `make qemu-gdb [CPUS=N] CMDLINE="..."` line of a fenced
block in handouts/labN.md and takes every `(gdb) COMMAND` line after it (in
that block and the next ones) up to the next `make qemu-gdb` line. Each is
run like grading/test_gdb.py runs the README's: QEMU waiting for GDB with that
command line and CPU count, then `gdb -batch -n -x .gdbinit` with the
session's commands (comments after `#` dropped). The kernel is the reference
build in OBJ, where every lab is done: the stage the handouts' sessions
describe (each is about its own lab's code, solved). In a student's lab-N
tree the sessions of labs N and later are skipped: their code is a stub there.

Checks, one line each (`handout_gdb.<lab>.<n>: OK` or `FAIL <why>`):
  - the session ran to its end and no command failed (GDB's errors:
    "No symbol", "Cannot access memory", "not defined", ...);
  - EXPECT below: what the handout's text says a command shows.
A handout command that EXPECT does not know is still run and must not fail;
an EXPECT entry whose command is no longer in the handout fails (the text
changed: update the check). Ends with `N passed, M failed`; exit status 0 iff
all passed.

Usage: grading/test_handout_gdb.py [--obj DIR] [--verbose]
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grading"))
import isocmdline  # noqa: E402
import qemucmd  # noqa: E402
import test_gdb  # noqa: E402

GDB_TIMEOUT = 60
SESSION_RE = re.compile(r'make qemu-gdb(?: CPUS=(\d+))? CMDLINE="([^"]*)"')
GDB_ERRORS = re.compile(r"(No symbol .*|Cannot access memory.*|Undefined command.*|"
                        r"is not defined.*|No frame selected.*|A syntax error.*|"
                        r"Python Exception.*|Error occurred in Python.*|"
                        r"Invalid thread ID.*|The program is not being run.*)$", re.M)

# (handout, command as written, regex its output must match, what the text says).
EXPECT = [
    ("lab1", "break page_fault_handler", r"Breakpoint 1 at 0x", "a breakpoint"),
    ("lab1", "continue", r"page_fault_handler \(tf=", "stops in the handler"),
    ("lab1", "print/x $cr2", r"^\$\d+ = 0xffff8001", "CR2 past the 4 GiB direct map"),
    ("lab1", "print/x tf->error", r"^\$\d+ = 0x0$", "a read of a not-present page"),
    ("lab1", "x/gx 0xffff800000000000 + ($cr3 & 0x000ffffffffff000) + 8 * $i4",
     r"0xffff8000[0-9a-f]+:\s+0x[0-9a-f]+", "the PML4 entry"),
    ("lab1", "ptwalk $cr2", r"not present at", "the walk stops at a hole"),
    ("lab1", "ptwalk kmain", r"\(2M, -wxg\)", "a kernel-image address: a 2 MiB leaf"),
    ("lab1", "ptdump", r"PTDUMP BEGIN[\s\S]*ffff800000000000-ffff800100000000 "
     r"0000000000000000-0000000100000000 2M -wxg[\s\S]*PTDUMP END", "the PTDUMP format"),
    ("lab2", "continue", r"aspace_map \(as=", "stops in aspace_map"),
    ("lab2", "ptdump $root", r"PTDUMP BEGIN", "before: the kernel half only"),
    ("lab2", "ptwalk $va $root", r"not present at PML4", "the walk stops at the PML4"),
    ("lab2", "finish", r"Value returned is \$\d+ = 0", "aspace_map returns 0"),
    ("lab3", "continue", r"extable_fixup \(tf=", "the first fault"),
    ("lab3", "x/4ga &__extable_start", r"<__uaccess_copy\+\d+>\s+0x[0-9a-f]+ <__uaccess_copy\+",
     "the sorted table: insn, fixup"),
    ("lab3", "info symbol tf->rip", r"__uaccess_copy \+ \d+", "the faulting instruction"),
    ("lab3", "finish", r"in dispatch \([\s\S]*Value returned is \$\d+ = true",
     "back in dispatch (a tail call), true"),
    ("lab3", "p $rcx", r"^\$\d+ = 20$", "quadwords left: 20"),
    ("lab3", "p $rdx", r"^\$\d+ = 7$", "tail bytes left: 7"),
    ("lab4", "continue", r"tlb_serve_requests \(\)", "stops in tlb_serve_requests"),
    ("lab4", "info threads", r"(?s)1 +Thread 1\.1.*2 +Thread 1\.2.*3 +Thread 1\.3.*"
     r"4 +Thread 1\.4", "one thread per CPU"),
    ("lab4", "thread 2", r"Switching to thread 2", "CPU 1"),
    ("lab4", "p/x percpu[0].tlb_req", r"start = 0x[0-9a-f]+, end = 0x[0-9a-f]+, stride_shift = ", "a request"),
    ("lab4", "thread apply all bt", r"Thread 4 [\s\S]*Thread 1 ", "every CPU's stack"),
]
# Whole-session checks: (handout, regex over the whole output, why).
EXPECT_SESSION = [
    ("lab2", r"PTDUMP END[\s\S]*Value returned[\s\S]*\n[0-9a-f]{16}-[0-9a-f]{16} "
     r"[0-9a-f]{16}-[0-9a-f]{16} 4K -w--\n", "after finish: one more 4K line, flags -w--"),
    ("lab3", r"Breakpoint 1, extable_fixup", "the fixup breakpoint is hit"),
]


def student_lab():
    """The lab of a student's tree (labs/current.json), or None in the reference."""
    path = os.path.join(ROOT, "labs", "current.json")
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f).get("lab")


def sessions(path):
    """[(cpus, cmdline, [commands])] of one handout."""
    out, cur, fenced = [], None, False
    with open(path) as f:
        for line in f:
            if line.startswith("```"):
                fenced = not fenced
                continue
            if not fenced:
                continue
            m = SESSION_RE.search(line)
            if m:
                cur = (int(m.group(1) or 1), m.group(2), [])
                out.append(cur)
                continue
            if line.startswith("(gdb) ") and cur is not None:
                cur[2].append(re.split(r"\s+#", line[6:].rstrip("\n"))[0].strip())
    return [s for s in out if s[2]]


def run_session(obj, cpus, cmdline, commands):
    """GDB's output, split per command: [(command, text)], and the whole text."""
    run_iso = os.path.join(ROOT, obj, "handout_gdb.%d.iso" % os.getpid())
    serial = os.path.join(ROOT, obj, "handout_gdb.%d.serial" % os.getpid())
    with open(os.path.join(ROOT, obj, "pagoda.iso"), "rb") as f:
        data = isocmdline.with_cmdline(f.read(), cmdline)
    with open(run_iso, "wb") as f:
        f.write(data)
    orig = qemucmd.qemu_command
    qemucmd.qemu_command = lambda iso, **kw: orig(iso, cpus=cpus, **kw)
    qemu = None
    try:
        qemu, port = test_gdb.start_qemu(run_iso, serial)
        env = dict(os.environ, OBJ=obj, GDBPORT=str(port))
        args = ["gdb", "-batch", "-n", "-x", ".gdbinit"]
        for i, c in enumerate(commands):
            args += ["-ex", "echo @@ %d\\n" % i, "-ex", c]
        args += ["-ex", "echo @@ end\\n", "-ex", "kill"]
        try:
            p = subprocess.run(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=GDB_TIMEOUT)
            text = p.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            text = (e.stdout or b"").decode(errors="replace") + \
                "\n(GDB did not finish within %d s)" % GDB_TIMEOUT
    finally:
        qemucmd.qemu_command = orig
        if qemu is not None:
            test_gdb.stop(qemu)
        for path in (run_iso, serial):
            if os.path.exists(path):
                os.unlink(path)
    parts = re.split(r"^@@ (\d+|end)$", text, flags=re.M)
    per = {}
    for i in range(1, len(parts) - 1, 2):
        per[parts[i]] = parts[i + 1]
    return [(c, per.get(str(i))) for i, c in enumerate(commands)], ("@@ end" in text), text


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--obj", default="obj")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    results = []

    def check(name, ok, why=""):
        results.append(ok)
        print("handout_gdb.%s: %s" % (name, "OK" if ok else "FAIL " + why), flush=True)

    if not os.path.exists(os.path.join(ROOT, args.obj, "pagoda.iso")):
        check("setup", False, "%s/pagoda.iso missing: run make OBJ=%s first" % (args.obj, args.obj))
        return 1
    t0 = time.time()
    seen = set()
    tree_lab = student_lab()
    for path in sorted(glob.glob(os.path.join(ROOT, "handouts", "lab*.md"))):
        lab = os.path.basename(path)[:-3]
        if tree_lab is not None and int(lab[3:]) >= tree_lab:
            # The student's lab and later ones are stubs here: their sessions need the solution.
            print("handout_gdb.%s: skipped (this tree is for lab %d)" % (lab, tree_lab))
            seen.update((h, c) for h, c, _, _ in EXPECT if h == lab)
            continue
        for n, (cpus, cmdline, commands) in enumerate(sessions(path), 1):
            name = "%s.%d" % (lab, n)
            try:
                per, finished, text = run_session(args.obj, cpus, cmdline, commands)
            except RuntimeError as e:
                check(name, False, str(e))
                continue
            if args.verbose:
                print(text)
            bad = [(c, m.group(0)) for c, out in per if out is not None
                   for m in [GDB_ERRORS.search(out)] if m]
            missing = [c for c, out in per if out is None]
            check(name + ".ran", finished and not bad and not missing,
                  "; ".join(["`%s`: %s" % b for b in bad] +
                            ["`%s` printed nothing (did GDB stop?)" % c for c in missing] +
                            ([] if finished else ["the session did not reach its end"])))
            for h, cmd, regex, why in EXPECT:
                if h != lab:
                    continue
                if cmd not in commands:
                    continue
                seen.add((h, cmd))
                outs = [out for c, out in per if c == cmd and out is not None]
                ok = any(re.search(regex, out, re.M) for out in outs)
                check("%s.%s" % (name, re.sub(r"\W+", "_", cmd).strip("_")[:40]), ok,
                      "`%s` should show %s (/%s/); it printed:\n%s" %
                      (cmd, why, regex, "\n".join(outs)[-800:]))
            for h, regex, why in EXPECT_SESSION:
                if h == lab:
                    seen.add((h, regex))
                    check("%s.session" % name, bool(re.search(regex, text)),
                          "%s (/%s/)" % (why, regex))
    for h, cmd, _, _ in EXPECT:
        if (h, cmd) not in seen:
            check("%s.stale" % h, False, "EXPECT names `%s`, which no session of "
                  "handouts/%s.md runs any more: update the check" % (cmd, h))
    failed = results.count(False)
    print("%d passed, %d failed (%.1f s)" % (len(results) - failed, failed, time.time() - t0))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
