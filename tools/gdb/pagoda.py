"""GDB helpers for the Pagoda kernel (x86-64, 4-level paging, QEMU gdbstub).

Loaded by the top-level .gdbinit (`source tools/gdb/pagoda.py`).  Commands:

  ptwalk VA [CR3]   walk the page tables for VA, level by level
  ptdump [CR3]      every mapping, coalesced, in the PTDUMP format below
  pfinfo [TF]       decode a page fault: CR2, error code, faulting RIP, walk
  trapframe [TF]    print a struct trapframe
  boot-break LOC    hardware breakpoint on early boot code (runs at PA)
  ptmem [auto|qemu|dmap]   how physical memory is read (default auto)
  memview [FILE]    the memory viewer's page (default $OBJ/memview.html):
                    who holds each frame, every space's tree, the checks

VA, CR3 and TF are GDB expressions: `ptwalk $cr2`, `ptwalk kmain`,
`ptwalk tf->rip`, `ptdump as->pml4`.  CR3 defaults to the selected CPU's
$cr3; a kernel pointer (direct map or kernel image) is turned into the
physical address it maps, like kva2pa().

PTDUMP format (the kernel and the grader use the same one):

  PTDUMP BEGIN cr3=<16 hex digits: pa of the PML4>
  <va_start>-<va_end> <pa_start>-<pa_end> <size> <flags>
  PTDUMP END

16 lower-case hex digits without 0x, ends exclusive (taken mod 2^64, so a
run ending at the top of the address space ends at 0000000000000000),
sorted by va, canonical va.  size is the leaf page size 4K, 2M or 1G.
flags: u = U at every level, w = R/W at every level, x = NX clear at every
level, g = G set in the leaf; '-' otherwise.  Consecutive leaves are one
line when va and pa are both contiguous and size and flags are equal.

Physical memory is read with QEMU's `maint packet Qqemu.PhyMemMode:1`
(switched back to 0 afterwards, also on errors), or, when that packet is
not available, through the kernel's direct map (DMAP_BASE + pa), which only
works while the current CR3 maps the direct map.  A table is one 4 KiB read.
"""

import struct

import gdb

KERNBASE = 0xFFFFFFFF80000000
DMAP_BASE = 0xFFFF800000000000
DMAP_SIZE = 4 << 30  # kern/mm.h; only used to recognise kernel pointers
U64 = (1 << 64) - 1
ADDR_MASK = 0x000FFFFFFFFFF000  # bits 12..51 of an entry or of CR3

PTE_P = 1 << 0
PTE_W = 1 << 1
PTE_U = 1 << 2
PTE_PWT = 1 << 3
PTE_PCD = 1 << 4
PTE_A = 1 << 5
PTE_D = 1 << 6
PTE_PS = 1 << 7
PTE_G = 1 << 8
PTE_NX = 1 << 63

FLAG_NAMES = [(PTE_P, "P"), (PTE_W, "W"), (PTE_U, "U"), (PTE_PWT, "PWT"),
              (PTE_PCD, "PCD"), (PTE_A, "A"), (PTE_D, "D"), (PTE_PS, "PS"),
              (PTE_G, "G"), (PTE_NX, "NX")]

# name, shift of the index, name of what a non-leaf entry points to
LEVELS = [("PML4", 39, "PDPT"), ("PDPT", 30, "PD"), ("PD", 21, "PT"), ("PT", 12, None)]
SIZE_NAMES = {1 << 12: "4K", 1 << 21: "2M", 1 << 30: "1G"}

CR0_PG = 1 << 31
CR4_PAE = 1 << 5
CR4_LA57 = 1 << 12
EFER_LMA = 1 << 10

MAX_LEAVES = 1 << 22  # ptdump gives up after this many leaves (a looping table)

_mem_mode = "auto"
# .gdbinit sources this file from the top of the repository: tools/ is here.
_TOOLS_DIR = __import__("os").path.abspath("tools")


# ---- small helpers ------------------------------------------------------

def _hex16(v):
    return "%016x" % (v & U64)


def _canonical(va):
    """Sign-extend bit 47 (4-level paging)."""
    va &= U64
    if va & (1 << 47):
        va |= 0xFFFF000000000000
    else:
        va &= 0x0000FFFFFFFFFFFF
    return va


def _is_canonical(va):
    top = (va & U64) >> 47
    return top == 0 or top == (1 << 17) - 1


def _value_to_int(val):
    """An address from a gdb.Value: functions and arrays give their address."""
    code = val.type.strip_typedefs().code
    if code in (gdb.TYPE_CODE_FUNC, gdb.TYPE_CODE_ARRAY):
        val = val.address
    try:
        return int(val) & U64
    except gdb.error as e:
        raise gdb.GdbError("not an address: %s" % e)


def _eval_addr(expr):
    try:
        val = gdb.parse_and_eval(expr)
    except gdb.error as e:
        raise gdb.GdbError(str(e))
    return _value_to_int(val)


def _reg(name):
    """Value of a register of the selected CPU, or None if not exposed."""
    try:
        frame = gdb.selected_frame()
    except gdb.error:
        raise gdb.GdbError("no selected frame: is GDB connected to QEMU "
                           "(target remote localhost:$GDBPORT)?")
    try:
        val = frame.read_register(name)
    except (gdb.error, ValueError):
        try:
            val = gdb.parse_and_eval("$" + name)
        except gdb.error:
            return None
    if val.type.code == gdb.TYPE_CODE_VOID:
        return None
    return int(val) & U64


def _check_connected():
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or not inf.threads():
        raise gdb.GdbError("not connected to a running QEMU: start `make qemu-gdb`, "
                           "then `target remote localhost:$GDBPORT`")


def _paging_cr3():
    """CR3 of the selected CPU after checking it uses 4-level long-mode paging."""
    _check_connected()
    cr3 = _reg("cr3")
    if cr3 is None:
        raise gdb.GdbError("this GDB/QEMU does not expose the cr3 register "
                           "(`info registers cr3` fails): pass the PML4's physical "
                           "address explicitly, e.g. `ptdump 0x118000`")
    cr0, cr4, efer = _reg("cr0"), _reg("cr4"), _reg("efer")
    if cr0 is not None and not cr0 & CR0_PG:
        raise gdb.GdbError("paging is off on this CPU (CR0.PG=0): virtual = physical")
    if efer is not None and not efer & EFER_LMA:
        raise gdb.GdbError("this CPU is not in long mode yet (EFER.LMA=0): "
                           "ptwalk only understands 4-level x86-64 paging")
    if cr4 is not None and cr4 & CR4_LA57:
        raise gdb.GdbError("5-level paging (CR4.LA57) is on: not supported")
    return cr3


def _table_pa(expr):
    """Physical address of a PML4 from a CR3-like expression (or $cr3)."""
    if not expr:
        return _paging_cr3() & ADDR_MASK
    _check_connected()
    v = _eval_addr(expr)
    if v >= KERNBASE:
        v -= KERNBASE
    elif DMAP_BASE <= v < DMAP_BASE + DMAP_SIZE:
        v -= DMAP_BASE
    return v & ADDR_MASK


def _nxe():
    efer = _reg("efer")
    return efer is None or bool(efer & (1 << 11))


# ---- physical memory ----------------------------------------------------

class PhysMem:
    """Context manager reading physical memory, one read per 4 KiB table.

    with PhysMem() as mem: mem.table(pa) -> tuple of 512 entries
    """

    def __init__(self):
        self.qemu = False
        self.cache = {}
        self.inf = gdb.selected_inferior()

    def __enter__(self):
        if _mem_mode in ("auto", "qemu"):
            try:
                out = gdb.execute("maint packet Qqemu.PhyMemMode:1", to_string=True)
                self.qemu = 'received: "OK"' in out
            except gdb.error:
                self.qemu = False
            if not self.qemu and _mem_mode == "qemu":
                raise gdb.GdbError("QEMU refused Qqemu.PhyMemMode:1 (not a QEMU gdbstub?)")
        return self

    def __exit__(self, *exc):
        if self.qemu:
            self.qemu = False
            try:
                gdb.execute("maint packet Qqemu.PhyMemMode:0", to_string=True)
            except gdb.error as e:
                gdb.write("pagoda: warning: could not switch QEMU back to virtual "
                          "memory reads (%s); run `maint packet Qqemu.PhyMemMode:0`\n" % e,
                          gdb.STDERR)
        return False

    def read(self, pa, length):
        addr = pa if self.qemu else DMAP_BASE + pa
        try:
            return bytes(self.inf.read_memory(addr, length))
        except (gdb.MemoryError, gdb.error) as e:
            how = "physical" if self.qemu else "direct-map VA %#x for physical" % addr
            raise gdb.GdbError("cannot read %s address %#x: %s" % (how, pa, e))

    def table(self, pa):
        pa &= ADDR_MASK
        t = self.cache.get(pa)
        if t is None:
            t = struct.unpack("<512Q", self.read(pa, 4096))
            self.cache[pa] = t
        return t


# ---- decoding -----------------------------------------------------------

def decode_flags(entry, level):
    names = []
    for bit, name in FLAG_NAMES:
        if entry & bit:
            if bit == PTE_PS and level == 3:
                name = "PAT"  # bit 7 of a 4 KiB PTE
            names.append(name)
    return " ".join(names) if names else "-"


def flag_string(u, w, x, g):
    return ("u" if u else "-") + ("w" if w else "-") + ("x" if x else "-") + ("g" if g else "-")


def walk(mem, pml4_pa, va):
    """Translate va.  Returns (steps, result).

    steps: list of (level, table_pa, index, entry).
    result: None if not mapped, else dict(pa, size, u, w, x, g).
    """
    steps = []
    table = pml4_pa & ADDR_MASK
    u = w = True
    nx = False
    for level, (_, shift, _) in enumerate(LEVELS):
        idx = (va >> shift) & 511
        e = mem.table(table)[idx]
        steps.append((level, table, idx, e))
        if not e & PTE_P:
            return steps, None
        u = u and bool(e & PTE_U)
        w = w and bool(e & PTE_W)
        nx = nx or bool(e & PTE_NX)
        if level == 3 or (level in (1, 2) and e & PTE_PS):
            size = 1 << shift
            base = e & ADDR_MASK & ~(size - 1)
            return steps, dict(pa=base + (va & (size - 1)), size=size, u=u, w=w,
                               x=not nx, g=bool(e & PTE_G))
        table = e & ADDR_MASK
    raise AssertionError("unreachable")


def iter_leaves(mem, pml4_pa):
    """Yield (va, pa, size, flags) for every leaf, in va order."""
    count = [0]

    def visit(table_pa, level, va_base, u, w, nx):
        entries = mem.table(table_pa)
        name, shift, _ = LEVELS[level]
        for i, e in enumerate(entries):
            if not e & PTE_P:
                continue
            va = va_base | (i << shift)
            if level == 0:
                va = _canonical(va)
            eu, ew, enx = u and bool(e & PTE_U), w and bool(e & PTE_W), nx or bool(e & PTE_NX)
            leaf = level == 3 or (level in (1, 2) and e & PTE_PS)
            if level == 0 and e & PTE_PS:
                gdb.write("pagoda: warning: PML4[%d] has PS set (reserved: the MMU "
                          "faults with RSVD); skipped\n" % i, gdb.STDERR)
                continue
            if leaf:
                size = 1 << shift
                count[0] += 1
                if count[0] > MAX_LEAVES:
                    raise gdb.GdbError("more than %d leaves: do the tables loop?" % MAX_LEAVES)
                yield (va, e & ADDR_MASK & ~(size - 1), size,
                       flag_string(eu, ew, not enx, e & PTE_G))
            else:
                yield from visit(e & ADDR_MASK, level + 1, va, eu, ew, enx)

    yield from visit(pml4_pa & ADDR_MASK, 0, 0, True, True, False)


def coalesce(leaves):
    """Merge contiguous leaves; yield (va_start, va_end, pa_start, pa_end, size, flags).

    Ends are exclusive and may be 2^64 for a run at the very top.
    """
    run = None
    for va, pa, size, flags in leaves:
        if run and va == run[1] and pa == run[3] and size == run[4] and flags == run[5]:
            run[1] += size
            run[3] += size
            continue
        if run:
            yield tuple(run)
        run = [va, va + size, pa, pa + size, size, flags]
    if run:
        yield tuple(run)


def ptdump_lines(mem, pml4_pa):
    lines = ["PTDUMP BEGIN cr3=%s" % _hex16(pml4_pa & ADDR_MASK)]
    for vs, ve, ps, pe, size, flags in coalesce(iter_leaves(mem, pml4_pa)):
        lines.append("%s-%s %s-%s %s %s" % (_hex16(vs), _hex16(ve), _hex16(ps), _hex16(pe),
                                            SIZE_NAMES[size], flags))
    lines.append("PTDUMP END")
    return lines


# ---- commands -----------------------------------------------------------

def _split_args(arg):
    try:
        return gdb.string_to_argv(arg)
    except Exception:
        return arg.split()


def ptwalk_text(va, pml4_pa):
    """The ptwalk report as a list of lines (also used by pfinfo)."""
    out = []
    va &= U64
    if not _is_canonical(va):
        return ["%#018x is not canonical (bits 63..47 differ): any access raises #GP, "
                "not #PF; there is nothing to walk" % va]
    with PhysMem() as mem:
        steps, res = walk(mem, pml4_pa, va)
    out.append("ptwalk %#018x  cr3=%#x  indices %d/%d/%d/%d" % (
        va, pml4_pa, (va >> 39) & 511, (va >> 30) & 511, (va >> 21) & 511, (va >> 12) & 511))
    for level, table, idx, e in steps:
        name, shift, child = LEVELS[level]
        line = "  %-4s table %#012x [%3d] = %#018x  %-22s" % (
            name, table, idx, e, decode_flags(e, level) if e & PTE_P else "(not present)")
        if not e & PTE_P:
            out.append(line)
            out.append("  not present at %s: %#x is unmapped (a #PF with P=0 in the "
                       "error code)" % (name, va))
            return out
        if level == 0 and e & PTE_PS:
            line += "  PS is reserved in a PML4 entry (#PF with RSVD)!"
        if res is not None and level == len(steps) - 1:
            line += "-> %s page %#x" % (SIZE_NAMES[res["size"]], res["pa"] - (va & (res["size"] - 1)))
        else:
            line += "-> %s %#x" % (child, e & ADDR_MASK)
        out.append(line)
    if res["x"] is False and not _nxe():
        out.append("  note: EFER.NXE is 0, so an NX bit is reserved (#PF RSVD)")
    flags = flag_string(res["u"], res["w"], res["x"], res["g"])
    out.append("%#018x -> %#x (%s, %s)  [%s, %s, %s%s]" % (
        va, res["pa"], SIZE_NAMES[res["size"]], flags,
        "user" if res["u"] else "supervisor only",
        "writable" if res["w"] else "read-only",
        "executable" if res["x"] else "no-execute",
        ", global" if res["g"] else ""))
    return out


class PtWalk(gdb.Command):
    """Walk the page tables for a virtual address: ptwalk VA [CR3]

VA is any expression (ptwalk $cr2, ptwalk kmain, ptwalk tf->rip).  CR3 defaults
to the selected CPU's $cr3 (a physical address or a kernel pointer to a PML4).
Prints every level (table pa, index, raw entry, flags, next table), stops at a
not-present entry, honours PS in PDPT/PD entries, and ends with
  VA -> PA (size, flags)
where flags are u/w/x/g as in ptdump: user and writable only if set at every
level, executable only if NX is clear at every level, global from the leaf."""

    def __init__(self):
        super().__init__("ptwalk", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        args = _split_args(arg)
        if not args or len(args) > 2:
            raise gdb.GdbError("usage: ptwalk VA [CR3]")
        va = _eval_addr(args[0])
        if not _is_canonical(va):
            gdb.write(ptwalk_text(va, 0)[0] + "\n")
            return
        pml4 = _table_pa(args[1] if len(args) > 1 else None)
        gdb.write("\n".join(ptwalk_text(va, pml4)) + "\n")


class PtDump(gdb.Command):
    """Print every mapping of an address space, coalesced: ptdump [CR3]

Format (shared with the kernel and the grader):
  PTDUMP BEGIN cr3=<pa of the PML4>
  <va_start>-<va_end> <pa_start>-<pa_end> <4K|2M|1G> <u|-><w|-><x|-><g|->
  PTDUMP END
16 hex digits, ends exclusive, sorted by va.  CR3 defaults to $cr3."""

    def __init__(self):
        super().__init__("ptdump", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        args = _split_args(arg)
        if len(args) > 1:
            raise gdb.GdbError("usage: ptdump [CR3]")
        pml4 = _table_pa(args[0] if args else None)
        with PhysMem() as mem:
            lines = ptdump_lines(mem, pml4)
        gdb.write("\n".join(lines) + "\n")


class PtMem(gdb.Command):
    """How ptwalk/ptdump read physical memory: ptmem [auto|qemu|dmap]

qemu: QEMU's Qqemu.PhyMemMode:1 packet (reads physical addresses, whatever CR3
      maps); switched back to 0 after every command.
dmap: through the kernel's direct map at 0xffff800000000000 + pa (needs the
      current CR3 to map it).
auto: qemu when QEMU accepts the packet, else dmap (the default)."""

    def __init__(self):
        super().__init__("ptmem", gdb.COMMAND_DATA)

    def invoke(self, arg, from_tty):
        global _mem_mode
        arg = arg.strip()
        if arg:
            if arg not in ("auto", "qemu", "dmap"):
                raise gdb.GdbError("usage: ptmem [auto|qemu|dmap]")
            _mem_mode = arg
        gdb.write("physical memory reads: %s\n" % _mem_mode)


# ---- trap frames --------------------------------------------------------

TF_FIELDS = ["r15", "r14", "r13", "r12", "r11", "r10", "r9", "r8", "rbp", "rdi", "rsi",
             "rdx", "rcx", "rbx", "rax", "vector", "error", "rip", "cs", "rflags", "rsp", "ss"]
TRAP_NAMES = {0: "divide error", 1: "debug", 2: "NMI", 3: "breakpoint", 4: "overflow",
              5: "bound", 6: "invalid opcode", 7: "device not available",
              8: "double fault", 10: "invalid TSS", 11: "segment not present",
              12: "stack fault", 13: "general protection", 14: "page fault",
              16: "x87 FP error", 17: "alignment check", 18: "machine check",
              19: "SIMD FP error"}


def _find_tf(arg):
    """A struct trapframe * from an expression, or `tf` in this or an outer frame."""
    if arg:
        try:
            v = gdb.parse_and_eval(arg)
        except gdb.error as e:
            raise gdb.GdbError(str(e))
    else:
        v = None
        try:
            f = gdb.selected_frame()
        except gdb.error:
            raise gdb.GdbError("no frame: not connected or not stopped")
        while f is not None and v is None:
            try:
                v = f.read_var("tf")
            except (ValueError, gdb.error):
                f = f.older()
        if v is None:
            raise gdb.GdbError("no variable `tf` in the stack: stop in page_fault_handler "
                               "or trap(), or pass the trap frame: pfinfo (struct trapframe *)0x...")
    t = v.type.strip_typedefs()
    if t.code == gdb.TYPE_CODE_PTR:
        v = v.dereference()
    elif t.code == gdb.TYPE_CODE_INT:
        v = gdb.Value(int(v)).cast(gdb.lookup_type("struct trapframe").pointer()).dereference()
    if v.type.strip_typedefs().tag != "trapframe":
        raise gdb.GdbError("%s is not a struct trapframe" % v.type)
    return v


def _where(pc):
    """'<sym+off> file:line' for a code address."""
    sym = gdb.execute("info symbol %#x" % pc, to_string=True).strip()
    if sym.startswith("No symbol"):
        sym = "??"
    else:
        sym = sym.split(" in section")[0].replace(" + ", "+")
    sal = gdb.find_pc_line(pc)
    loc = ""
    if sal.symtab is not None and sal.line:
        loc = " at %s:%d" % (sal.symtab.filename, sal.line)
    return "<%s>%s" % (sym, loc)


def pf_error_text(err):
    return ", ".join([
        "protection violation (page present)" if err & 1 else "page not present",
        "write" if err & 2 else "read",
        "user mode" if err & 4 else "kernel mode",
    ] + (["reserved bit set in an entry"] if err & 8 else [])
      + (["instruction fetch"] if err & 16 else []))


class TrapFrame(gdb.Command):
    """Print a struct trapframe: trapframe [TF]

TF defaults to the variable `tf` in the selected frame or an outer one."""

    def __init__(self):
        super().__init__("trapframe", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        tf = _find_tf(arg.strip())
        val = {n: int(tf[n]) & U64 for n in TF_FIELDS}
        vec = val["vector"]
        gdb.write("trapframe at %#x: vector %d (%s), error %#x\n" % (
            int(tf.address), vec, TRAP_NAMES.get(vec, "interrupt" if vec >= 32 else "?"),
            val["error"]))
        if vec == 14:
            gdb.write("  error: %s\n" % pf_error_text(val["error"]))
        gdb.write("  rip %#018x %s\n" % (val["rip"], _where(val["rip"])))
        gdb.write("  cs %#x (ring %d)  ss %#x  rsp %#018x  rflags %#x\n" % (
            val["cs"], val["cs"] & 3, val["ss"], val["rsp"], val["rflags"]))
        regs = TF_FIELDS[:15][::-1]
        for i in range(0, len(regs), 3):
            gdb.write("  " + "  ".join("%-3s %#018x" % (r, val[r]) for r in regs[i:i + 3]) + "\n")


class PfInfo(gdb.Command):
    """Explain the page fault being handled: pfinfo [TF]

Use when stopped in page_fault_handler (break page_fault_handler).  Shows CR2,
the decoded error code, the faulting instruction and the walk of CR2."""

    def __init__(self):
        super().__init__("pfinfo", gdb.COMMAND_DATA, gdb.COMPLETE_EXPRESSION)

    def invoke(self, arg, from_tty):
        tf = _find_tf(arg.strip())
        vec, err, rip = int(tf["vector"]), int(tf["error"]), int(tf["rip"]) & U64
        cr2 = _reg("cr2")
        if vec != 14:
            gdb.write("note: this trap frame is vector %d (%s), not a page fault\n" % (
                vec, TRAP_NAMES.get(vec, "?")))
        gdb.write("page fault at %s\n" % ("%#018x (CR2)" % cr2 if cr2 is not None
                                           else "? (cr2 not exposed)"))
        gdb.write("  error %#x: %s\n" % (err, pf_error_text(err)))
        gdb.write("  by rip %#018x %s\n" % (rip, _where(rip)))
        if cr2 is not None:
            gdb.write("\n".join("  " + l for l in ptwalk_text(cr2, _table_pa(None))) + "\n")


class BootBreak(gdb.Command):
    """Hardware breakpoint on early boot code: boot-break LOCATION

kern/boot.S runs at physical addresses until it jumps to higher_half, but its
symbols are linked at KERNBASE + pa.  boot-break _start sets
hbreak *(_start - 0xffffffff80000000)."""

    def __init__(self):
        super().__init__("boot-break", gdb.COMMAND_BREAKPOINTS, gdb.COMPLETE_SYMBOL)

    def invoke(self, arg, from_tty):
        if not arg.strip():
            raise gdb.GdbError("usage: boot-break SYMBOL-or-ADDRESS")
        a = _eval_addr(arg.strip())
        if a >= KERNBASE:
            a -= KERNBASE
        gdb.execute("hbreak *%#x" % a)


# ---- memview -----------------------------------------------------------

def _sym_addr(expr):
    return int(gdb.parse_and_eval("(unsigned long)&(%s)" % expr)) & U64


def _u64_array(addr, words):
    data = bytes(gdb.selected_inferior().read_memory(addr, words * 8))
    return struct.unpack("<%dQ" % words, data)


def memview_census(mv):
    """A memview snapshot (tools/memview.py) of the stopped machine.

    Read the kernel's own data through its symbols (frame allocator bitmaps,
    boot information, the spaces memview tracks), then walk every space's
    tables in physical memory, as kern/memview.c does."""
    info = gdb.parse_and_eval("boot_info")
    top = 0
    mmap = []
    for i in range(int(info["nmmap"])):
        r = info["mmap"][i]
        base, length, typ = int(r["base"]), int(r["len"]), int(r["type"])
        mmap.append((base, length, typ))
    avail = 1  # MEM_AVAILABLE, kern/bootinfo.h
    for base, length, typ in mmap:
        if typ == avail:
            top = max(top, base + length)
    n = min(top // 4096, 65536)
    words = (n + 63) // 64
    managed = _u64_array(_sym_addr("'frame.c'::managed"), words)
    free = _u64_array(_sym_addr("'frame.c'::free_map"), words)
    bits = lambda m, i: (m[i // 64] >> (i % 64)) & 1
    kstart = _sym_addr("__kernel_start") - KERNBASE
    kend = _sym_addr("__kernel_end") - KERNBASE
    boot = {_sym_addr(t) - KERNBASE for t in ("boot_pml4", "boot_pdpt_dmap", "boot_pdpt_kern",
                                              "boot_pd_kern")}
    boot |= {_sym_addr("boot_pd_dmap") - KERNBASE + k * 4096 for k in range(4)}
    mods = [(int(info["modules"][i]["start"]), int(info["modules"][i]["end"]))
            for i in range(int(info["nmodules"]))]
    frames = []
    for i in range(n):
        pa = i * 4096
        if bits(managed, i):
            frames.append("." if bits(free, i) else "k")
        elif pa in boot:
            frames.append("B")
        elif kstart <= pa < kend:
            frames.append("K")
        elif any(s <= pa < e for s, e in mods):
            frames.append("P")
        else:
            frames.append("R" if any(b <= pa < b + l and t == avail for b, l, t in mmap)
                          else " ")
    snap = mv.Snapshot("GDB: the machine stopped at %s" % _where(_reg("rip") or 0))
    snap.frames = frames
    spaces = [(0, _sym_addr("boot_pml4") - KERNBASE, "kernel")]
    try:
        tracked = gdb.parse_and_eval("'memview.c'::spaces")
        for i in range(1, int(gdb.parse_and_eval("'memview.c'::nspaces"))):
            ptr = int(tracked[i]["as"])
            if ptr:
                pml4 = int(tracked[i]["as"].dereference()["pml4"])
                if pml4:
                    spaces.append((i, pml4, tracked[i]["name"].string()))
    except gdb.error:
        pass
    cr3 = _paging_cr3()
    if cr3 is not None and all(p != cr3 for _, p, _ in spaces):
        spaces.append((len(spaces) + 16, cr3, "current CR3"))
    snap.spaces = spaces
    owner = {}
    with PhysMem() as mem:
        for idx, pml4, name in spaces:
            lo, hi = (256, 512) if idx == 0 else (0, 256)
            _mv_walk(mv, mem, snap, owner, idx, name, pml4, 4, 0, lo, hi)
    return snap


def _mv_note(snap, f, idx, va, level, bad=False):
    old = snap.info.get(f)
    snap.info[f] = (idx, va, level, bad or (old[3] if old else False))


def _mv_walk(mv, mem, snap, owner, idx, name, pa, level, base, lo, hi):
    f = pa // 4096
    seen = snap.tables.get(pa)
    if seen is not None:
        where = snap.info.get(f)
        if where and (where[0], where[1]) != (idx, base) and level != 3:
            snap.findings.append("page table %#x is reached from two places (space %s)"
                                 % (pa, name))
            _mv_note(snap, f, idx, base, level, True)
        return
    t = mem.table(pa)
    snap.tables[pa] = {i: e for i, e in enumerate(t) if e}
    if f < len(snap.frames):
        if snap.frames[f] == ".":
            snap.findings.append("page table %#x (level %d in space %s) is free in the "
                                 "allocator: use after free" % (pa, level, name))
            _mv_note(snap, f, idx, base, level, True)
        if snap.frames[f] != "B":
            snap.frames[f] = str(level)
            _mv_note(snap, f, idx, base, level)
    size = 1 << (12 + 9 * (level - 1))
    for i in range(lo, hi):
        e = t[i]
        if not e & PTE_P:
            continue
        va = _canonical(base + i * size)
        target = mv.entry_addr(e, level)
        if not mv.is_leaf(e, level):
            _mv_walk(mv, mem, snap, owner, idx, name, target, level - 1, va, 0, 512)
            continue
        if DMAP_BASE <= va < DMAP_BASE + DMAP_SIZE or va >= KERNBASE:
            continue
        for off in range(0, size, 4096):
            g = (target + off) // 4096
            if g >= len(snap.frames):
                break
            if e & mv.OWNED:
                if snap.frames[g] == ".":
                    snap.findings.append("frame %#x is mapped at %#x by space %s (owned) but "
                                         "is free in the allocator: use after free through "
                                         "the MMU" % (g * 4096, va + off, name))
                    _mv_note(snap, g, idx, va + off, 0, True)
                elif g in owner and owner[g] != (idx, va + off):
                    snap.findings.append("frame %#x is owned twice" % (g * 4096))
                    _mv_note(snap, g, idx, va + off, 0, True)
                owner[g] = (idx, va + off)
                if snap.frames[g] not in "1234B":
                    snap.frames[g] = "D"
                    _mv_note(snap, g, idx, va + off, 0)
            elif snap.frames[g] in "k.":
                snap.frames[g] = "m"
                _mv_note(snap, g, idx, va + off, 0)


class MemView(gdb.Command):
    """Write the memory viewer's page from the stopped machine: memview [FILE]

Who holds each physical frame (the frame allocator's bitmaps, the kernel
image, the boot tables, the page tables and data frames of every space the
kernel's memview tracks, and the current CR3), each space's 4-level tree
that a browser expands entry by entry, and what the checks found. FILE
defaults to $OBJ/memview.html. The same page as `make memview`, built from
this machine's memory by GDB instead of by the kernel."""

    def __init__(self):
        super().__init__("memview", gdb.COMMAND_DATA, gdb.COMPLETE_FILENAME)

    def invoke(self, arg, from_tty):
        import os
        import sys

        _check_connected()
        out = arg.strip() or os.path.join(os.environ.get("OBJ") or "obj", "memview.html")
        if _TOOLS_DIR not in sys.path:
            sys.path.insert(0, _TOOLS_DIR)
        import memview as mv

        snap = memview_census(mv)
        mv.write_page([snap], out, "GDB")


PtWalk()
PtDump()
PtMem()
TrapFrame()
PfInfo()
BootBreak()
MemView()
