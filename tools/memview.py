#!/usr/bin/env python3
"""memview: Pagoda's memory viewer as one self-contained HTML page.

The kernel's census (kern/memview.c) says who holds every physical frame;
with `memview=dump` on the command line it prints it as MEMVIEW lines: the
frames as letters, the owner and virtual address of each interesting frame,
every page table the census reached with its non-zero entries, and the
checker's findings. This tool turns those lines (one block per snapshot) into
obj/memview.html: the physical map, each space's 4-level tree that expands
entry by entry (index, entry bits decoded, effective permissions), and the
findings highlighted. GDB's `memview` command (tools/gdb/pagoda.py) builds the
same model from the stopped machine's memory and uses the same writer.

  tools/memview.py boot --iso ISO --out obj/memview.html [--mem 256M]
      boot with $PAGODA_CMDLINE plus memview=dump (and halt without test=),
      write the page (make memview)
  tools/memview.py html LOG --out FILE     the page from a saved serial log
  tools/memview.py check FILE              check a page's structure: one line
      per check, then "N passed, M failed"

Python standard library only; the page needs no network and no script.
"""
import argparse
import html
import os
import re
import subprocess
import sys

PAGE = 4096
ADDR_MASK = 0x000FFFFFFFFFF000
P, W, U, PWT, PCD, A, D, PS, G = 1, 2, 4, 8, 0x10, 0x20, 0x40, 0x80, 0x100
OWNED, RESERVED, PAT_HUGE, NX = 1 << 9, 1 << 10, 1 << 12, 1 << 63
KERNEL_HALF = 0xFFFF800000000000
DMAP_BASE, DMAP_SIZE, KERNBASE = 0xFFFF800000000000, 4 << 30, 0xFFFFFFFF80000000

# The census's letters (kern/memview.c kind_letter), '1'..'4' for page tables.
KINDS = {
    " ": ("not RAM", "hole"),
    ".": ("free", "free"),
    "R": ("reserved (first MiB, boot data)", "res"),
    "K": ("kernel image", "kern"),
    "B": ("boot page table", "boot"),
    "A": ("frame allocator data", "alloc"),
    "P": ("user program image", "prog"),
    "k": ("kernel allocation (direct map only)", "kalloc"),
    "D": ("data frame owned by a space", "owned"),
    "m": ("RAM mapped by a space, not owned", "mapped"),
    "L": ("leak: allocated in the test, reached by nothing", "leak"),
}
for _lv in "1234":
    KINDS[_lv] = ("page table of level 1-4 (PT, PD, PDPT, PML4)", "table")
SPACE_COLORS = ["#0a7f8c", "#b8860b", "#a0309a", "#2e8b2e", "#3050c0", "#c03030"]


class Snapshot:
    """One census: what the kernel printed between MEMVIEW BEGIN and END."""

    def __init__(self, title):
        self.title = title
        self.frames = []  # one letter per frame
        self.info = {}  # frame number -> (space, va, level, bad)
        self.spaces = []  # (index, pml4, name)
        self.tables = {}  # table pa -> {index: entry}
        self.findings = []


def parse_dump(text):
    """Every MEMVIEW block of a serial log, in order."""
    snaps, cur, table = [], None, None
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if not line.startswith("MEMVIEW "):
            continue
        word, _, rest = line[8:].partition(" ")
        if word == "BEGIN":
            cur = Snapshot(rest)
            continue
        if cur is None:
            continue
        f = rest.split(" ")
        if word == "F":
            start = int(f[0], 16)
            letters = rest[len(f[0]) + 1:]
            if len(cur.frames) < start:
                cur.frames.extend(" " * (start - len(cur.frames)))
            cur.frames[start:start + len(letters)] = list(letters)
        elif word == "O":
            cur.info[int(f[0], 16)] = (int(f[1]), int(f[2], 16), int(f[3]), f[4] == "1")
        elif word == "SPACE":
            cur.spaces.append((int(f[0]), int(f[1], 16), " ".join(f[2:])))
        elif word == "T":
            table = cur.tables.setdefault(int(f[0], 16), {})
        elif word == "E" and table is not None:
            table[int(f[0], 16)] = int(f[1], 16)
        elif word == "FINDING":
            cur.findings.append(rest)
        elif word == "END":
            snaps.append(cur)
            cur, table = None, None
    return snaps


# ---- the page ---------------------------------------------------------------

CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fcfcfa}
h1{font-size:1.5em}h2{border-bottom:2px solid #ccc;margin-top:2em}
code,pre,.pte{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
pre.phys{line-height:1.15;background:#fff;border:1px solid #ddd;padding:.5em;overflow-x:auto}
pre.phys span{cursor:default}
.free{color:#bbb}.hole{color:#ddd}.res,.kern,.boot,.alloc{color:#555}.prog{color:#7a5}
.kalloc{color:#888}.leak,.bad{background:#e33;color:#fff;font-weight:bold}
.findings{border:2px solid #e33;background:#fff0f0;padding:.3em 1em;margin:1em 0}
.findings.none{border-color:#8c8;background:#f0fff0}
.legend span.key{display:inline-block;margin-right:1.2em}
details.space{border:1px solid #ccc;border-radius:4px;margin:.6em 0;padding:.2em .6em;background:#fff}
details.space>summary{font-weight:bold;cursor:pointer}
details.pte{margin-left:1.6em}details.pte>summary{cursor:pointer}
div.pte{margin-left:3.05em;white-space:nowrap}
.pte .idx{display:inline-block;min-width:9em}.pte .va{color:#555}
.pte .bits{color:#036}.pte .eff{color:#063}.pte.badentry{background:#fdd;outline:1px solid #e33}
.empty{color:#999;margin-left:3em}
"""

LEVEL_NAMES = {4: "PML4", 3: "PDPT", 2: "PD", 1: "PT"}


def canonical(va):
    va &= (1 << 64) - 1
    return va | 0xFFFF000000000000 if va & (1 << 47) else va & 0x0000FFFFFFFFFFFF


def entry_bits(e, level):
    """The entry's bits, by name."""
    names = []
    for bit, name in ((P, "P"), (W, "W"), (U, "U"), (PWT, "PWT"), (PCD, "PCD"), (A, "A"),
                      (D, "D")):
        if e & bit:
            names.append(name)
    if e & PS:
        names.append("PAT" if level == 1 else "PS")
    if e & G:
        names.append("G")
    if e & PAT_HUGE and level in (2, 3) and e & PS:
        names.append("PAT")
    if e & NX:
        names.append("NX")
    if e & OWNED:
        names.append("OWNED")
    if e & RESERVED:
        names.append("RESERVED")
    return " ".join(names) or "0"


def is_leaf(e, level):
    return bool(e & P) and (level == 1 or (level in (2, 3) and bool(e & PS)))


def entry_addr(e, level):
    if is_leaf(e, level) and level > 1:
        return e & ADDR_MASK & ~((1 << (12 + 9 * (level - 1))) - 1)
    return e & ADDR_MASK


def eff_text(u, w, nx):
    return "eff %s%s%s" % ("u" if u else "-", "w" if w else "-", "-" if nx else "x")


class Writer:
    def __init__(self, snap):
        self.s = snap
        self.bad_frames = {f for f, (_, _, _, bad) in snap.info.items() if bad}
        self.out = []

    def bad_target(self, pa, size):
        first = pa // PAGE
        return any(f in self.bad_frames for f in range(first, first + min(size // PAGE, 1 << 18)))

    def table(self, pa, level, base, u, w, nx, lo, hi, depth):
        """The entries of one table as HTML; returns (html, has_bad)."""
        t = self.s.tables.get(pa)
        if t is None:
            return '<div class="empty">(table %#x not in the census)</div>' % pa, False
        parts, bad_any = [], False
        for i in sorted(t):
            if not lo <= i < hi:
                continue
            e = t[i]
            size = 1 << (12 + 9 * (level - 1))
            va = canonical(base + i * size)
            eu, ew, enx = u and bool(e & U), w and bool(e & W), nx or bool(e & NX)
            head = ('<span class="idx">%s[%d]</span> <span class="va">%016x</span> '
                    '<code>%016x</code> <span class="bits">%s</span>'
                    % (LEVEL_NAMES[level], i, va, e, entry_bits(e, level)))
            if not e & P:
                what = "reserved (demand-zero)" if level == 1 and e & RESERVED else "not present"
                parts.append('<div class="pte">%s &rarr; %s</div>' % (head, what))
                continue
            target = entry_addr(e, level)
            if is_leaf(e, level):
                # The direct map and the image map reach every frame: not a use of them.
                kmap = DMAP_BASE <= va < DMAP_BASE + DMAP_SIZE or va >= KERNBASE
                bad = not kmap and self.bad_target(target, size)
                bad_any |= bad
                parts.append('<div class="pte leaf%s">%s &rarr; page %#x (%s) <span class="eff">%s'
                             '</span></div>' % (" badentry" if bad else "", head, target,
                                                {1: "4K", 2: "2M", 3: "1G"}[level],
                                                eff_text(eu, ew, enx)))
                continue
            inner, bad = self.table(target, level - 1, va, eu, ew, enx, 0, 512, depth + 1)
            bad = bad or target // PAGE in self.bad_frames
            bad_any |= bad
            parts.append('<details class="pte%s"%s><summary>%s &rarr; table %#x '
                         '<span class="eff">%s</span></summary>%s</details>'
                         % (" badentry" if bad else "", " open" if bad else "", head, target,
                            eff_text(eu, ew, enx), inner or '<div class="empty">(empty table)</div>'))
        return "".join(parts), bad_any

    def physical(self):
        rows, frames, n = [], self.s.frames, len(self.s.frames)
        row, last_free = 0, False
        while row < n:
            chunk = frames[row:row + 64]
            free = all(c == "." for c in chunk) and not any(
                f in self.bad_frames for f in range(row, row + 64))
            if free and last_free:
                end = row
                while end + 64 <= n and all(c == "." for c in frames[end:end + 64]):
                    end += 64
                rows.append('<span class="free">%010x .. %010x all free</span>'
                            % (row * PAGE, end * PAGE))
                row, last_free = end, False
                continue
            last_free = free
            cells, i = [], 0
            while i < len(chunk):
                f = row + i
                c = chunk[i]
                info = self.s.info.get(f)
                if info or f in self.bad_frames:
                    cells.append(self.cell(f, c, info))
                    i += 1
                    continue
                j = i
                while j < len(chunk) and chunk[j] == c and (row + j) not in self.s.info:
                    j += 1
                name, cls = KINDS.get(c, ("?", "res"))
                cells.append('<span class="%s" title="%#x-%#x: %s">%s</span>'
                             % (cls, f * PAGE, (row + j) * PAGE, name, html.escape(c * (j - i))))
                i = j
            rows.append("%010x %s" % (row * PAGE, "".join(cells)))
            row += 64
        return '<pre class="phys">%s</pre>' % "\n".join(rows)

    def cell(self, f, c, info):
        name, cls = KINDS.get(c, ("?", "res"))
        style, title = "", "%#x: %s" % (f * PAGE, name)
        if info:
            space, va, level, bad = info
            names = {i: nm for i, _, nm in self.s.spaces}
            title += ", space %s, %s %#x" % (names.get(space, space),
                                            "covers" if c in "1234" else "va", va)
            if not bad:
                style = ' style="color:%s;font-weight:bold"' % SPACE_COLORS[space % len(SPACE_COLORS)]
            if bad:
                cls = "bad"
        return '<span class="%s"%s title="%s">%s</span>' % (cls, style, html.escape(title),
                                                             html.escape(c))

    def render(self, anchor):
        s = self.s
        o = ['<section class="snapshot" id="%s">' % anchor,
             "<h2>%s</h2>" % html.escape(s.title)]
        if s.findings:
            o.append('<div class="findings"><h3>Findings of the checker (%d)</h3><ul>'
                     % len(s.findings))
            o += ['<li class="finding">%s</li>' % html.escape(x) for x in s.findings]
            o.append("</ul></div>")
        else:
            o.append('<div class="findings none">The checker found nothing wrong.</div>')
        o.append("<h3>Physical memory</h3><p>One character per 4 KiB frame, 64 per row; "
                 "hover for details. Page tables and data frames are coloured by their "
                 "space.</p>")
        o.append('<p class="legend">%s</p>' % " ".join(
            '<span class="key"><span class="%s">%s</span> %s</span>'
            % (cls, html.escape(c) if c != " " else "&nbsp;", html.escape(name))
            for c, (name, cls) in KINDS.items() if c not in "234"))
        o.append(self.physical())
        o.append("<h3>Address spaces</h3><p>Each space's 4-level tree: click an entry "
                 "to open the table it points to. Columns: index, first virtual "
                 "address, the entry, its bits, where it leads, and the effective "
                 "permissions of the path (u: user, w: writable, x: executable). "
                 "Entries that lead to a frame the checker named are red.</p>")
        for i, pml4, name in s.spaces:
            lo, hi = (256, 512) if i == 0 else (0, 256)
            inner, bad = self.table(pml4, 4, 0, True, True, False, lo, hi, 0)
            color = SPACE_COLORS[i % len(SPACE_COLORS)]
            o.append('<details class="space" data-space="%d"%s><summary style="color:%s">'
                     'space %d: %s, PML4 at %#x (%s half)</summary>%s</details>'
                     % (i, " open" if bad else "", color, i, html.escape(name), pml4,
                        "kernel" if i == 0 else "user", inner))
        o.append("</section>")
        return "\n".join(o)


def render(snaps, source):
    """The whole page for a list of snapshots."""
    body = []
    if len(snaps) > 1:
        body.append("<nav><ul>%s</ul></nav>" % "".join(
            '<li><a href="#s%d">%s</a> (%d finding(s))</li>' % (k, html.escape(s.title),
                                                               len(s.findings))
            for k, s in enumerate(snaps)))
    body += [Writer(s).render("s%d" % k) for k, s in enumerate(snaps)]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>Pagoda memview</title><style>%s</style></head><body>\n"
            "<h1>Pagoda memview</h1><p>From %s. Snapshots: %d.</p>\n%s\n</body></html>\n"
            % (CSS, html.escape(source), len(snaps), "\n".join(body)))


def write_page(snaps, out, source):
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        f.write(render(snaps, source))
    nfind = sum(len(s.findings) for s in snaps)
    print("memview: wrote %s (%d snapshot(s), %d finding(s))" % (out, len(snaps), nfind))


# ---- the page's structure (make test) -------------------------------------------------

def check_page(text, min_depth=3):
    """(name, ok, why) for each structural property of a page; min_depth: how
    many tables below the PML4 the tree must reach (3: down to a PT)."""
    from html.parser import HTMLParser

    class P(HTMLParser):
        VOID = {"meta", "br", "img", "hr", "link", "input"}

        def __init__(self):
            super().__init__()
            self.stack, self.errors, self.count, self.max_pte_depth = [], [], {}, 0
            self.depth = 0

        def handle_starttag(self, tag, attrs):
            cls = dict(attrs).get("class") or ""
            for c in cls.split():
                self.count[c] = self.count.get(c, 0) + 1
            self.count[tag] = self.count.get(tag, 0) + 1
            if tag in ("script", "link", "img", "iframe") or any(
                    k in ("src", "href") and v and re.match(r"[a-z]+:", v) for k, v in attrs):
                self.errors.append("external resource or script: <%s>" % tag)
            if tag in self.VOID:
                return
            if tag == "details" and "pte" in cls.split():
                self.depth += 1
                self.max_pte_depth = max(self.max_pte_depth, self.depth)
            self.stack.append((tag, "pte" in cls.split() and tag == "details"))

        def handle_endtag(self, tag):
            if tag in self.VOID:
                return
            if not self.stack or self.stack[-1][0] != tag:
                self.errors.append("unbalanced </%s>" % tag)
                return
            _, pte = self.stack.pop()
            if pte:
                self.depth -= 1

    p = P()
    p.feed(text)
    checks = [
        ("doctype", text.startswith("<!DOCTYPE html>"), "no <!DOCTYPE html>"),
        ("well_formed", not p.errors and not p.stack, "; ".join(p.errors[:3]) or "unclosed tags"),
        ("self_contained", "http://" not in text and "https://" not in text
         and not p.count.get("script"), "the page refers to the network or has a script"),
        ("physical_map", p.count.get("phys", 0) >= 1
         and len(re.findall(r"(?:^|\n|>)[0-9a-f]{10} ", text)) >= 2, "no physical map with rows"),
        ("legend", p.count.get("legend", 0) >= 1, "no legend"),
        ("spaces", p.count.get("space", 0) >= 1, "no address space"),
        ("tree_levels", p.max_pte_depth >= min_depth,
         "the tree does not expand down to page tables (depth %d)" % p.max_pte_depth),
        ("entries_decoded", re.search(r'class="bits">P W', text) is not None
         and re.search(r'class="eff">eff [u-][w-][x-]', text) is not None,
         "entries without decoded bits or effective permissions"),
        ("findings_section", p.count.get("findings", 0) >= 1, "no findings section"),
    ]
    return checks


def run_checks(text, extra=()):
    failed = 0
    for name, ok, why in list(check_page(text)) + list(extra):
        print("memview.%s: %s" % (name, "OK" if ok else "FAIL " + why))
        failed += not ok
    return failed


# ---- booting the kernel (make memview) -------------------------------------------

def boot(iso, out, mem, timeout):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cmdline = os.environ.get("PAGODA_CMDLINE", "")
    words = cmdline.split()
    extra = ["memview=dump"] if not any(w.startswith("memview") for w in words) else []
    if not any(w.startswith("test=") or w.startswith("run=") for w in words):
        extra.append("halt")
    # run= takes the rest of the line: the words go before it.
    run = cmdline.find("run=")
    if run >= 0:
        full = (cmdline[:run] + " ".join(extra) + " " + cmdline[run:]).strip()
    else:
        full = " ".join([cmdline.strip()] + extra).strip()
    obj = os.path.dirname(os.path.abspath(out))
    os.makedirs(obj, exist_ok=True)
    stem = os.path.splitext(os.path.abspath(out))[0]
    iso2, log = stem + ".iso", stem + ".log"
    subprocess.run([sys.executable, os.path.join(root, "grading", "isocmdline.py"), iso, iso2,
                    full], check=True)
    print("memview: booting with \"%s\" (serial in %s)" % (full, log))
    cmd = [sys.executable, os.path.join(root, "grading", "qemucmd.py"), "run", "--iso", iso2,
           "--mem", mem]
    with open(log, "w") as f:
        try:
            subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                           timeout=timeout)
        except subprocess.TimeoutExpired:
            print("memview: QEMU did not finish within %d s (see %s)" % (timeout, log))
    os.unlink(iso2)
    with open(log, errors="replace") as f:
        snaps = parse_dump(f.read())
    if not snaps:
        print("memview: no MEMVIEW block in %s" % log)
        return 1
    write_page(snaps, out, "a boot with \"%s\"" % full)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("boot")
    b.add_argument("--iso", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--mem", default="256M")
    b.add_argument("--timeout", type=int, default=60)
    h = sub.add_parser("html")
    h.add_argument("log")
    h.add_argument("--out", required=True)
    c = sub.add_parser("check")
    c.add_argument("page")
    args = ap.parse_args()
    if args.cmd == "boot":
        return boot(args.iso, args.out, args.mem, args.timeout)
    if args.cmd == "html":
        with open(args.log, errors="replace") as f:
            snaps = parse_dump(f.read())
        if not snaps:
            print("memview: no MEMVIEW block in %s" % args.log)
            return 1
        write_page(snaps, args.out, args.log)
        return 0
    with open(args.page) as f:
        failed = run_checks(f.read())
    n = len(check_page(""))
    print("%d passed, %d failed" % (n - failed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
