#!/usr/bin/env python3
"""Check the memory viewer end to end: the console maps over serial, the page
that `make memview` writes, and how the page shows the checker's findings.

Boots OBJ/pagoda.iso three times (`memview halt`, `memview=color halt`, and
`test=lab2.unmap_split` with memview=dump through tools/memview.py), checks
the page's structure with tools/memview.py's checks, and renders a made-up
census with a finding. Prints one line per check (`memview.<check>: OK` or
`memview.<check>: FAIL <why>`), then `N passed, M failed`. The kernel must
already be built (make OBJ=...).

Usage: grading/test_memview.py [--obj DIR]
"""
import argparse
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import memview  # noqa: E402

ROW = re.compile(r"^[0-9a-f]{10} [ .RKBAPkDmL1-4]{1,64}$", re.M)
# A made-up census: a user space whose page maps a frame the checker named.
SYNTHETIC = """MEMVIEW BEGIN made-up
MEMVIEW FRAMES 128
MEMVIEW F 0 RRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR
MEMVIEW F 40 4321D...........................................................
MEMVIEW O 40 1 0 4 0
MEMVIEW O 41 1 0 3 0
MEMVIEW O 42 1 0 2 0
MEMVIEW O 43 1 0 1 0
MEMVIEW O 44 1 400000 0 1
MEMVIEW SPACE 0 40000 kernel
MEMVIEW SPACE 1 40000 made-up
MEMVIEW T 40000
MEMVIEW E 0 41007
MEMVIEW T 41000
MEMVIEW E 0 42007
MEMVIEW T 42000
MEMVIEW E 2 43007
MEMVIEW T 43000
MEMVIEW E 0 8000000000044207
MEMVIEW E 1 406
MEMVIEW FINDING frame 0x44000 is mapped at 0x400000 by space made-up (owned) but is free
MEMVIEW END
"""


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, why=""):
        print("memview.%s: %s" % (name, "OK" if ok else "FAIL " + why), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1


def boot(obj, cmdline, name):
    iso = os.path.join(obj, "memview-test-%s.iso" % name)
    subprocess.run([sys.executable, os.path.join(ROOT, "grading", "isocmdline.py"),
                    os.path.join(obj, "pagoda.iso"), iso, cmdline], check=True)
    p = subprocess.run([sys.executable, os.path.join(ROOT, "grading", "qemucmd.py"), "run",
                        "--iso", iso], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    os.unlink(iso)
    return p.stdout.decode(errors="replace").replace("\r\n", "\n")


def page_checks(res, obj):
    """make memview's page after lab2.unmap_split (what the lab-2 handout shows)."""
    page = os.path.join(obj, "memview-test.html")
    env = dict(os.environ, PAGODA_CMDLINE="test=lab2.unmap_split")
    p = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "memview.py"), "boot",
                        "--iso", os.path.join(obj, "pagoda.iso"), "--out", page], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=90)
    text = open(page).read() if os.path.exists(page) else ""
    res.check("page_written", p.returncode == 0 and text, p.stdout.decode(errors="replace"))
    with open(os.path.join(obj, "memview-test.log"), errors="replace") as f:
        passed = "TEST PASS lab2.unmap_split" in f.read()
    for name, ok, why in memview.check_page(text, min_depth=3 if passed else 2):
        res.check("page_" + name, ok, why)
    if not passed:
        # A tree whose lab 2 is not written yet: no space of the test to show.
        return
    res.check("page_test_space", "space 1: lab2-a" in text, "the test's space is not shown")
    # The split 2 MiB page: one PT with 511 4 KiB leaves under the test's space.
    res.check("page_split_visible", text.count("<span class=\"idx\">PT[") >= 511,
              "the split page's PT is not in the tree")
    res.check("page_no_findings", "The checker found nothing wrong" in text,
              "the reference kernel has findings")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--obj", default=os.path.join(ROOT, "obj"))
    args = ap.parse_args()
    obj = os.path.abspath(args.obj)
    res = Results()
    if not os.path.exists(os.path.join(obj, "pagoda.iso")):
        res.check("setup", False, "%s/pagoda.iso missing: run make OBJ=%s first" % (obj, obj))
        print("%d passed, %d failed" % (res.passed, res.failed))
        return 1

    out = boot(obj, "memview halt", "plain")
    if "lab 1's walker is not written yet" in out:
        # A lab-1 tree: the census walks with the student's walker, a stub so far.
        res.check("console_says_walker_missing", True)
    else:
        rows = ROW.findall(out)
        res.check("console_plain", "physical memory:" in out and "legend:" in out
                  and len(rows) >= 8 and "\x1b[" not in out,
                  "no plain map over serial (%d rows):\n%s" % (len(rows), out[-600:]))
        res.check("console_kernel_space", re.search(r"^virtual memory of space 0 \(kernel\)",
                                                    out, re.M) is not None, "no virtual map")
        res.check("console_no_findings", "==== memview end: 0 finding(s) ====" in out,
                  "the census of a freshly booted kernel found something")
        out = boot(obj, "memview=color halt", "color")
        res.check("console_color", "\x1b[" in out and "legend:" in out, "no ANSI colours")
        page_checks(res, obj)

    synth = memview.render(memview.parse_dump(SYNTHETIC), "a made-up census")
    for name, ok, why in memview.check_page(synth):
        if not ok:
            res.check("synthetic_" + name, ok, why)
    res.check("findings_listed", '<li class="finding">frame 0x44000' in synth,
              "the finding is not listed")
    res.check("findings_frame_marked", re.search(r'<span class="bad"[^>]*>D</span>', synth)
              is not None, "the named frame is not marked in the physical map")
    res.check("findings_path_open", synth.count('class="pte badentry" open') == 3
              and 'class="pte leaf badentry"' in synth and 'data-space="1" open' in synth,
              "the path to the named frame is not opened and marked")
    res.check("reservation_shown", "reserved (demand-zero)" in synth,
              "a reservation is not shown as one")
    print("%d passed, %d failed" % (res.passed, res.failed))
    return 1 if res.failed else 0


if __name__ == "__main__":
    sys.exit(main())
