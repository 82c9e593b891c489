#!/usr/bin/env python3
"""Check that the student GDB workflow works: real GDB, real QEMU.

Boots OBJ/pagoda.iso with `test=boot.fault_catch` under QEMU waiting for GDB
(-S -gdb tcp:127.0.0.1:PORT, PORT free), runs `gdb -batch -n -x .gdbinit`
(OBJ and GDBPORT in the environment, like `make gdb`) with
`break page_fault_handler`, `continue`, then looks at $cr2, tf->rip, bt,
ptwalk and ptdump.  Prints one line per check (`gdb.<check>: OK` or
`gdb.<check>: FAIL <why>`), then `N passed, M failed`; exit status 0 iff all
passed.  The kernel must already be built (make OBJ=...).

Usage: grading/test_gdb.py [--obj DIR] [--verbose]
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grading"))
import isocmdline  # noqa: E402
import qemucmd  # noqa: E402

KERNBASE = 0xFFFFFFFF80000000
DMAP_BASE = 0xFFFF800000000000
# boot.fault_catch reads DMAP_BASE + DMAP_SIZE + PAGE_SIZE * rng_below(1 << 20)
FAULT_LO = DMAP_BASE + (4 << 30)
FAULT_HI = FAULT_LO + (4096 << 20)
# The boot tables' direct map (kern/boot.S): 2 MiB leaves P|W|PS|G, no U, no NX
# bit anywhere, so: not user, writable, executable, global.
DMAP_LINE = "ffff800000000000-ffff800100000000 0000000000000000-0000000100000000 2M -wxg"
PTDUMP_RE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16}) ([0-9a-f]{16})-([0-9a-f]{16}) "
                       r"(4K|2M|1G) ([u-][w-][x-][g-])$")
# Synthetic tables written into free RAM (8 MiB up) while the kernel is stopped,
# then dumped with `ptdump 0x800000`: 4K/2M/1G leaves, PAT bit in a PTE, U, W,
# NX at an upper level, coalescing across two page tables, and runs that must
# not coalesce (pa gap, other flags, other size).  QEMU's `info mem`/`info tlb`
# agreed with this listing when these tables were live.
SYNTH_PY = """
import struct, gdb
inf = gdb.selected_inferior()
cr3 = int(gdb.parse_and_eval("$cr3")) & 0x000ffffffffff000
real = struct.unpack("<512Q", bytes(inf.read_memory(0xffff800000000000 + cr3, 4096)))
P, W, U, PS, G, NX = 1, 2, 4, 0x80, 0x100, 1 << 63
def tbl(pa, ents):
    t = [0] * 512
    for i, v in ents.items():
        t[i] = v
    inf.write_memory(0xffff800000000000 + pa, struct.pack("<512Q", *t))
tbl(0x800000, {0: 0x801000|P|W|U, 257: 0x802000|P|W|NX, 300: 0x805000|P|W, 511: real[511]})
tbl(0x801000, {0: 0x803000|P|W|U, 1: 0x40000000|P|U|PS})
tbl(0x803000, {0: 0x804000|P|W|U, 1: 0x200000|P|W|U|PS|G|NX, 2: 0x808000|P|W|U,
               4: 0x806000|P|W|U, 5: 0x807000|P|W|U})
pt = {i: (0x10000 + i * 0x1000)|P|W|U for i in range(4)}
pt.update({4: 0x14000|P|U, 5: 0x20000|P|W|U|PS, 7: 0x22000|P|W|U|NX, 511: 0x30000|P|W|U|G})
tbl(0x804000, pt)
tbl(0x806000, {511: 0x50000|P|W|U})
tbl(0x807000, {0: 0x51000|P|W|U})
tbl(0x808000, {0: 0x400000|P|W|U|G|NX})
tbl(0x802000, {3: 0xc0000000|P|W|PS|G})
tbl(0x805000, {})
"""
SYNTH_DUMP = """PTDUMP BEGIN cr3=0000000000800000
0000000000000000-0000000000004000 0000000000010000-0000000000014000 4K uwx-
0000000000004000-0000000000005000 0000000000014000-0000000000015000 4K u-x-
0000000000005000-0000000000006000 0000000000020000-0000000000021000 4K uwx-
0000000000007000-0000000000008000 0000000000022000-0000000000023000 4K uw--
00000000001ff000-0000000000200000 0000000000030000-0000000000031000 4K uwxg
0000000000200000-0000000000400000 0000000000200000-0000000000400000 2M uw-g
0000000000400000-0000000000401000 0000000000400000-0000000000401000 4K uw-g
00000000009ff000-0000000000a01000 0000000000050000-0000000000052000 4K uwx-
0000000040000000-0000000080000000 0000000040000000-0000000080000000 1G u-x-
ffff8080c0000000-ffff808100000000 00000000c0000000-0000000100000000 1G -w-g
ffffffff80000000-ffffffffc0000000 0000000000000000-0000000040000000 2M -wxg
PTDUMP END"""
CMDLINE = "test=boot.fault_catch"
QEMU = qemucmd.QEMU
GDB_TIMEOUT = 20  # s; the whole test stays under 30 s
BOOT_TIMEOUT = 5  # s for QEMU to listen


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, ok, why=""):
        if ok:
            self.passed += 1
            print("gdb.%s: OK" % name)
        else:
            self.failed += 1
            print("gdb.%s: FAIL %s" % (name, why))
        sys.stdout.flush()
        return ok


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    """True once some socket listens on port (from /proc: no connection made,
    since a probing connection would disturb QEMU's single gdbstub client)."""
    try:
        with open("/proc/net/tcp") as f:
            lines = f.readlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A" and int(fields[1].split(":")[1], 16) == port:
            return True
    return False


def start_qemu(iso, serial_log):
    """Start QEMU waiting for GDB; returns (proc, port)."""
    for _ in range(3):
        port = free_port()
        args = qemucmd.qemu_command(iso, serial="file:" + serial_log, gdb_port=port)
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)
        deadline = time.time() + BOOT_TIMEOUT
        while time.time() < deadline and proc.poll() is None:
            state = listening(port)
            if state is None:  # no /proc: give QEMU a moment
                time.sleep(0.5)
                return proc, port
            if state:
                return proc, port
            time.sleep(0.02)
        if proc.poll() is None:
            stop(proc)
            raise RuntimeError("QEMU did not listen on port %d within %d s" % (port, BOOT_TIMEOUT))
        out = proc.stdout.read().decode(errors="replace")
        if "in use" not in out:
            raise RuntimeError("QEMU exited with status %s: %s" % (proc.returncode, out.strip()))
    raise RuntimeError("no free TCP port for QEMU's gdbstub after 3 tries")


def stop(proc):
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def memview_page(synth_file):
    """Where the session's `memview` writes its page."""
    return synth_file[:-len(".synth.py")] + ".memview.html"


def gdb_commands(synth_file):
    """GDB commands; each output section starts with a line '@@ name'."""
    cmds = []

    def sec(name, *commands):
        cmds.append("echo @@ %s\\n" % name)
        cmds.extend(commands)

    sec("break", "break page_fault_handler", "continue")
    sec("cr2", "p/x $cr2")
    sec("cr3", "p/x $cr3")
    sec("rip", "p/x tf->rip")
    sec("ripsym", "info symbol tf->rip")
    sec("ripline", "info line *tf->rip")
    sec("bt", "bt")
    sec("fnaddr", "p/x (unsigned long)&page_fault_handler")
    sec("ptwalk_fn", "ptwalk page_fault_handler")
    sec("ptwalk_dmap", "ptwalk 0xffff800000123458")
    sec("ptwalk_cr2", "ptwalk $cr2")
    sec("ptwalk_noncanon", "ptwalk 0x0000900000000000")
    sec("ktext", "p/x (unsigned long)&__kernel_start", "p/x (unsigned long)&__text_end")
    sec("ptdump", "python import time; _t0 = time.time()", "ptdump",
        "python print('ptdump took %.3f s' % (time.time() - _t0))")
    sec("phymem", "maint packet qqemu.PhyMemMode")
    sec("pfinfo", "pfinfo")
    # Before synth: it writes tables into free RAM.
    sec("memview", "python import time; _t0 = time.time()", "memview " + memview_page(synth_file),
        "python print('memview took %.3f s' % (time.time() - _t0))")
    sec("synth", "source " + synth_file, "ptdump 0x800000")
    sec("end", "kill")
    return cmds


def sections(out):
    secs, name = {"pre": []}, "pre"
    for line in out.splitlines():
        if line.startswith("@@ "):
            name = line[3:].strip()
            secs[name] = []
        else:
            secs.setdefault(name, []).append(line)
    return {k: "\n".join(v) for k, v in secs.items()}


def last_value(text):
    m = re.findall(r"^\$\d+ = (0x[0-9a-f]+)", text, re.M)
    return int(m[-1], 16) if m else None


def walk_result(text):
    """(va, pa) from ptwalk's final 'VA -> PA (size, flags)' line."""
    m = re.search(r"^(0x[0-9a-f]+) -> (0x[0-9a-f]+) \((4K|2M|1G), ([u-][w-][x-][g-])\)", text, re.M)
    return (int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)) if m else None


def parse_ptdump(text):
    """(cr3, [(vs, ve, ps, pe, size, flags)], errors)."""
    lines = [l.strip() for l in text.splitlines()]
    errors, rows, cr3 = [], [], None
    try:
        b = next(i for i, l in enumerate(lines) if l.startswith("PTDUMP BEGIN"))
        e = next(i for i, l in enumerate(lines) if l == "PTDUMP END" and i > b)
    except StopIteration:
        return None, [], ["no PTDUMP BEGIN ... PTDUMP END block"]
    m = re.match(r"^PTDUMP BEGIN cr3=([0-9a-f]{16})$", lines[b])
    if not m:
        errors.append("bad BEGIN line %r" % lines[b])
    else:
        cr3 = int(m.group(1), 16)
    for l in lines[b + 1:e]:
        m = PTDUMP_RE.match(l)
        if not m:
            errors.append("bad line %r" % l)
            continue
        vs, ve, ps, pe = (int(m.group(i), 16) for i in range(1, 5))
        rows.append((vs, ve, ps, pe, m.group(5), m.group(6), l))
    for prev, cur in zip(rows, rows[1:]):
        if cur[0] < prev[1]:
            errors.append("not sorted or overlapping: %r then %r" % (prev[6], cur[6]))
    for r in rows:
        if (r[1] - r[0]) % (1 << 64) != r[3] - r[2]:
            errors.append("va and pa lengths differ in %r" % r[6])
    return cr3, rows, errors


def run(obj, verbose):
    res = Results()
    t_start = time.time()
    kernel = os.path.join(obj, "kern", "kernel")
    iso = os.path.join(obj, "pagoda.iso")
    for path in (kernel, iso):
        if not os.path.exists(os.path.join(ROOT, path)):
            res.check("setup", False, "%s missing: run make OBJ=%s first" % (path, obj))
            return res
    for tool in ("gdb", QEMU):
        if not shutil.which(tool):
            res.check("setup", False, "%s is not installed" % tool)
            return res
    run_iso = os.path.join(ROOT, obj, "test_gdb.%d.iso" % os.getpid())
    serial_log = os.path.join(ROOT, obj, "test_gdb.%d.serial" % os.getpid())
    with open(os.path.join(ROOT, iso), "rb") as f:
        data = isocmdline.with_cmdline(f.read(), CMDLINE)
    with open(run_iso, "wb") as f:
        f.write(data)
    synth_file = os.path.join(ROOT, obj, "test_gdb.%d.synth.py" % os.getpid())
    page = ""
    with open(synth_file, "w") as f:
        f.write(SYNTH_PY)

    qemu = None
    try:
        qemu, port = start_qemu(run_iso, serial_log)
        env = dict(os.environ, OBJ=obj, GDBPORT=str(port))
        args = ["gdb", "-batch", "-n", "-x", ".gdbinit"]
        for c in gdb_commands(synth_file):
            args += ["-ex", c]
        try:
            p = subprocess.run(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               timeout=GDB_TIMEOUT)
            out = p.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as e:
            out = (e.stdout or b"").decode(errors="replace")
            res.check("gdb_finished", False, "GDB did not finish within %d s" % GDB_TIMEOUT)
        else:
            res.check("gdb_finished", True)
    except RuntimeError as e:
        res.check("qemu_start", False, str(e))
        return res
    finally:
        if qemu is not None:
            try:
                qemu.wait(timeout=2)  # `kill` in GDB ends QEMU
            except subprocess.TimeoutExpired:
                pass
            stop(qemu)
        try:
            with open(memview_page(synth_file)) as f:
                page = f.read()
        except OSError:
            page = ""
        for path in (run_iso, serial_log, synth_file, memview_page(synth_file)):
            try:
                os.unlink(path)
            except OSError:
                pass
    if verbose:
        print(out)
    s = sections(out)
    get = lambda k: s.get(k, "")

    res.check("no_g_packet_error", "Remote 'g' packet reply is too long" not in out,
              "GDB thought the target was 32-bit")
    res.check("connect", "pagoda: cannot connect" not in out,
              "GDB did not connect: %r" % get("pre").strip()[-300:])
    m = re.search(r"^Breakpoint \d+(?:\.\d+)?, page_fault_handler \(tf=0x[0-9a-f]+\) "
                  r"at kern/trap\.c:(\d+)$", get("break"), re.M)
    res.check("break_page_fault_handler", m is not None,
              "no 'Breakpoint N, page_fault_handler (tf=...) at kern/trap.c:LINE' in: %r"
              % get("break")[-300:])

    cr2 = last_value(get("cr2"))
    res.check("cr2", cr2 is not None and FAULT_LO <= cr2 < FAULT_HI and cr2 % 4096 == 0,
              "$cr2 = %s, want a page in [%#x, %#x)" % (
                  hex(cr2) if cr2 is not None else get("cr2").strip(), FAULT_LO, FAULT_HI))

    rip = last_value(get("rip"))
    sym = get("ripsym").strip()
    line = get("ripline")
    res.check("rip_symbol", rip is not None and sym.startswith("probe_read ")
              and '"kern/test/ktest.c"' in line,
              "tf->rip %s -> %r / %r, want probe_read in kern/test/ktest.c" % (
                  hex(rip) if rip is not None else "?", sym, line.strip()))

    bt = get("bt")
    frames = re.findall(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\w+) ", bt, re.M)
    res.check("backtrace", frames[:1] == ["page_fault_handler"] and "probe_read" in frames
              and "ktest_fn_boot_fault_catch" in frames,
              "frames %s: want page_fault_handler ... probe_read ... ktest_fn_boot_fault_catch"
              % frames)

    fn = last_value(get("fnaddr"))
    w = walk_result(get("ptwalk_fn"))
    res.check("ptwalk_kernel_symbol", w is not None and fn is not None and w[0] == fn
              and w[1] == fn - KERNBASE,
              "ptwalk page_fault_handler (%s): got %s, want PA = VA - KERNBASE" % (
                  hex(fn) if fn else "?", w))
    res.check("ptwalk_levels", all(re.search(r"^\s+%s\s+table 0x" % lv, get("ptwalk_fn"), re.M)
                                   for lv in ("PML4", "PDPT", "PD")),
              "PML4/PDPT/PD lines missing: %r" % get("ptwalk_fn"))
    w = walk_result(get("ptwalk_dmap"))
    res.check("ptwalk_direct_map", w is not None and w[:2] == (0xffff800000123458, 0x123458),
              "ptwalk 0xffff800000123458 gave %s, want PA 0x123458" % (w,))
    res.check("ptwalk_unmapped", "not present" in get("ptwalk_cr2")
              and walk_result(get("ptwalk_cr2")) is None,
              "ptwalk $cr2 did not stop at a not-present entry: %r" % get("ptwalk_cr2"))
    res.check("ptwalk_noncanonical", "not canonical" in get("ptwalk_noncanon"),
              "ptwalk 0x0000900000000000 not rejected: %r" % get("ptwalk_noncanon"))

    cr3, rows, errors = parse_ptdump(get("ptdump"))
    want_cr3 = last_value(get("cr3"))
    res.check("ptdump_format", not errors and cr3 is not None and want_cr3 is not None
              and cr3 == want_cr3 & 0x000ffffffffff000,
              "; ".join(errors) or "cr3=%s, $cr3=%s" % (cr3, want_cr3))
    lines = [r[6] for r in rows]
    res.check("ptdump_direct_map", DMAP_LINE in lines,
              "no line %r in %s" % (DMAP_LINE, lines))
    kt = re.findall(r"^\$\d+ = (0x[0-9a-f]+)", get("ktext"), re.M)
    ok, why = False, "could not read __kernel_start/__text_end: %r" % get("ktext")
    if len(kt) == 2:
        ks, ke = int(kt[0], 16), int(kt[1], 16)
        cover = [r for r in rows if r[0] <= ks and ke <= r[1]]
        if not cover:
            why = "no ptdump line covers kernel text %#x-%#x" % (ks, ke)
        else:
            r = cover[0]
            ok = r[0] - r[2] == KERNBASE and r[5][0] == "-" and r[5][2] == "x"
            why = "kernel text line %r: want pa = va - KERNBASE, not user, executable" % r[6]
    res.check("ptdump_kernel_text", ok, why)
    m = re.search(r"ptdump took ([0-9.]+) s", get("ptdump"))
    res.check("ptdump_fast", m is not None and float(m.group(1)) < 2.0,
              "ptdump took %s s" % (m.group(1) if m else "?"))
    res.check("phymem_mode_restored", 'received: "0"' in get("phymem"),
              "QEMU still in physical-memory mode after ptdump: %r" % get("phymem").strip())
    res.check("pfinfo", "probe_read" in get("pfinfo") and "not present" in get("pfinfo"),
              "pfinfo output: %r" % get("pfinfo")[-300:])
    got = [l.strip() for l in get("synth").splitlines() if l.startswith(("PTDUMP", "0", "f"))]
    want = SYNTH_DUMP.splitlines()
    diff = [("missing " if l in want else "extra ") + l for l in
            [w for w in want if w not in got] + [g for g in got if g not in want]]
    res.check("ptdump_synthetic", got == want,
              "; ".join(diff) or "lines out of order: %s" % got)
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import memview
    bad = ["%s (%s)" % (name, why) for name, ok, why in memview.check_page(page, min_depth=2)
           if not ok]
    # Stopped in boot.fault_catch: only the kernel's space, whose leaves are 2 MiB.
    res.check("memview_page", page and not bad and "space 0: kernel" in page
              and "memview: wrote" in get("memview"),
              "memview wrote no page, or a bad one: %s %r" % (bad, get("memview")[-300:]))
    m = re.search(r"memview took ([0-9.]+) s", get("memview"))
    res.check("memview_fast", m is not None and float(m.group(1)) < 10.0,
              "memview took %s s" % (m.group(1) if m else "?"))
    res.check("qemu_exited", qemu.returncode is not None, "QEMU still running")
    wall = time.time() - t_start
    res.check("wall_time", wall < 30, "%.1f s" % wall)
    print("# wall time %.2f s" % wall)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--obj", default="obj", help="build directory (default obj)")
    ap.add_argument("--verbose", "-v", action="store_true", help="print GDB's output")
    a = ap.parse_args()
    res = run(a.obj, a.verbose)
    print("%d passed, %d failed" % (res.passed, res.failed))
    sys.exit(0 if res.failed == 0 and res.passed > 0 else 1)


if __name__ == "__main__":
    main()
