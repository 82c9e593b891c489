"""The QEMU oracle for page-table dumps: compare the kernel's PTDUMP block
with what QEMU itself reports for the same CR3 (monitor `info tlb` gives every
leaf's va -> pa, `info mem` the effective user/write permissions per range).
The dump format is documented in kern/pgtable.h and grading/README.md.
"""
import re

SIZES = {"4K": 1 << 12, "2M": 1 << 21, "1G": 1 << 30}
DUMP_LINE = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16}) ([0-9a-f]{16})-([0-9a-f]{16}) "
                       r"(4K|2M|1G) ([u-][w-][x-][g-])$")
MAX_LEAVES = 1 << 21


class DumpError(Exception):
    pass


def extract_dump(lines):
    """The last PTDUMP block in lines: (cr3, [line...]) or raise DumpError."""
    start = end = None
    for i, line in enumerate(lines):
        if line.startswith("PTDUMP BEGIN"):
            start, end = i, None
        elif line.startswith("PTDUMP END") and start is not None:
            end = i
    if start is None or end is None:
        raise DumpError("no complete PTDUMP BEGIN ... PTDUMP END block in the output")
    m = re.search(r"cr3=(?:0x)?([0-9a-fA-F]+)", lines[start])
    return (int(m.group(1), 16) if m else None), lines[start + 1:end]


def parse_dump(body):
    """[(va_start, va_end, pa_start, size, flags)] from the dump lines."""
    ranges = []
    for line in body:
        m = DUMP_LINE.match(line.strip())
        if not m:
            raise DumpError("malformed dump line: %r" % line)
        va0, va1, pa0, pa1 = (int(m.group(i), 16) for i in range(1, 5))
        size = SIZES[m.group(5)]
        if va1 <= va0 or va1 - va0 != pa1 - pa0 or (va1 - va0) % size or va0 % size:
            raise DumpError("inconsistent dump line: %r" % line)
        ranges.append((va0, va1, pa0, size, m.group(6)))
    return ranges


def dump_leaves(ranges):
    """{va: (pa, huge)} for every leaf page of the dump."""
    leaves = {}
    for va0, va1, pa0, size, _ in ranges:
        if len(leaves) + (va1 - va0) // size > MAX_LEAVES:
            raise DumpError("dump maps more than %d leaf pages" % MAX_LEAVES)
        for va in range(va0, va1, size):
            leaves[va] = (pa0 + va - va0, size != SIZES["4K"])
    return leaves


def qemu_leaves(info_tlb):
    """{va: (pa, huge)} from `info tlb` lines like
    'ffff800000000000: 0000000000000000 -GPDA---W' (flags: X G P(S) D A C T U W)."""
    leaves = {}
    for line in info_tlb.splitlines():
        m = re.match(r"^([0-9a-f]{16}): ([0-9a-f]{16}) ([-A-Z]{9})$", line.strip())
        if m:
            leaves[int(m.group(1), 16)] = (int(m.group(2), 16), m.group(3)[2] == "P")
    return leaves


def coalesce_perms(ranges):
    """[(start, end, 'ur'/'-r' + 'w'/'-')] merged like QEMU's `info mem` does."""
    out = []
    for va0, va1, _, _, flags in sorted(ranges):
        prot = ("u" if flags[0] == "u" else "-") + "r" + ("w" if flags[1] == "w" else "-")
        if out and out[-1][1] == va0 and out[-1][2] == prot:
            out[-1] = (out[-1][0], va1, prot)
        else:
            out.append((va0, va1, prot))
    return out


def qemu_perms(info_mem):
    out = []
    for line in info_mem.splitlines():
        m = re.match(r"^([0-9a-f]{16})-([0-9a-f]{16}) [0-9a-f]{16} ([u-]r[w-])$", line.strip())
        if m:
            out.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3)))
    return out


def compare(lines, info_tlb, info_mem, max_report=8):
    """Return a list of disagreements (empty when the dump matches QEMU)."""
    try:
        _, body = extract_dump(lines)
        ranges = parse_dump(body)
        mine = dump_leaves(ranges)
    except DumpError as e:
        return [str(e)]
    theirs = qemu_leaves(info_tlb)
    problems = []
    if not theirs:
        problems.append("QEMU's info tlb listed no mappings")
    for va in sorted(set(mine) | set(theirs)):
        if len(problems) >= max_report:
            problems.append("... (more differences)")
            return problems
        a, b = mine.get(va), theirs.get(va)
        if a == b:
            continue
        if a is None:
            problems.append("QEMU maps %016x -> %016x, the dump does not show it" % (va, b[0]))
        elif b is None:
            problems.append("the dump maps %016x -> %016x, QEMU says it is not mapped"
                            % (va, a[0]))
        else:
            problems.append("at %016x the dump says pa %016x%s, QEMU says pa %016x%s"
                            % (va, a[0], " (huge)" if a[1] else "", b[0],
                               " (huge)" if b[1] else ""))
    want, got = qemu_perms(info_mem), coalesce_perms(ranges)
    if want != got:
        for w, g in zip(want + [None] * len(got), got + [None] * len(want)):
            if w != g and len(problems) < max_report:
                fmt = lambda r: "none" if r is None else "%016x-%016x %s" % r  # noqa: E731
                problems.append("permissions: QEMU's info mem has %s, the dump gives %s"
                                % (fmt(w), fmt(g)))
    return problems
