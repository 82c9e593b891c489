#!/usr/bin/env python3
# mklab: no-markers (this file describes the markers; it is not scanned for them)
"""Make Pagoda's student lab trees from the instructor's reference tree.

  mklab.py check                                  validate manifests, markers, bug and variant patches
  mklab.py handout --lab N --dest DIR [--stub-all] [--hints brief] [--upto-step K] [--source SRC]
                                                  write the student tree for lab N
  mklab.py branches --dest REPO --upto N [--hints brief]
                                                  commit lab 1..N's trees to branches labN
  mklab.py apply-bug --lab N --bug NAME --dest DIR
                                                  reference tree + one bug patch
  mklab.py apply-variant --lab N --variant NAME --dest DIR
                                                  reference tree + one correct variant

The files come from `git ls-files` of the source (working-tree content, so
uncommitted edits count; untracked files never do unless --include-untracked).
The marker convention, manifest and bug-zoo formats are in labs/README.md.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# A file with this token in its first lines is never scanned nor transformed.
OPT_OUT = "mklab: no-markers"

_S = r"[ \t]"
BEGIN_RE = re.compile(r"^(?P<indent>%s*)/\*%s*LAB%s+(?P<lab>\d+)%s+BEGIN(?:%s+step%s+(?P<step>\d+))?:"
                      r"%s*(?P<hint>.*?)%s*\*/%s*$" % ((_S,) * 9))
# The handout reference every hint ends with: the only hint a brief tree keeps.
SECTION_RE = re.compile(r"\bsection\s+(?P<section>\d+)")
HINT_LEVELS = ("full", "brief")
STUB_RE = re.compile(r"^%s*/\*%s*LAB%s+(?P<lab>\d+)%s+STUB%s*$" % ((_S,) * 5))
END_RE = re.compile(r"^%s*LAB%s+(?P<lab>\d+)%s+END%s*\*/%s*$" % ((_S,) * 5))
# Anything that looks like a marker; it must then be exactly one of the three.
# "/* LAB n: ..." (the generated "your code here" comment) is ordinary text.
LIKE_RE = re.compile(r"/\*%s*LAB%s*\d+\b(?!%s*:)|\bLAB%s*\d+%s*(BEGIN|STUB|END)\b|^%s*LAB%s+\d+%s+\w+%s*\*/"
                     % ((_S,) * 9))

# Files and directories never copied into a student tree (besides every
# labs/*/bugs and each manifest's reference_only).
INSTRUCTOR_ONLY = ["labs/mklab.py", "labs/rezoo.py", "labs/README.md", "grading/grade-submission",
                   "grading/autograder", "grading/test_bundle.py"]
# Written into each generated tree: which lab it is (grade-submission and
# grading/discriminate.py read it).
LAB_STAMP = "labs/current.json"
# Lines between these two (each alone on its line, in any text file) are the
# staff's: a student tree has neither them nor the lines between (README.md's
# "For instructors" section, say), so it never points to a file it lacks.
STAFF_BEGIN = "<!-- staff-only -->"
STAFF_END = "<!-- /staff-only -->"

COMMITTER = {"GIT_AUTHOR_NAME": "Pagoda course staff", "GIT_AUTHOR_EMAIL": "pagoda@localhost",
             "GIT_COMMITTER_NAME": "Pagoda course staff",
             "GIT_COMMITTER_EMAIL": "pagoda@localhost"}


class LabError(Exception):
    """An error the instructor must fix; str() is one or more 'file:line: why' lines."""


# ---- reading the reference tree ---------------------------------------------------

def git(args, cwd, env=None, input=None, check=True):
    proc = subprocess.run(["git"] + args, cwd=cwd, env=env, input=input,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check and proc.returncode != 0:
        raise LabError("git %s: %s" % (" ".join(args), proc.stderr.decode(errors="replace").strip()))
    return proc.stdout.decode(errors="replace")


def tree_files(src, include_untracked=False):
    """Relative paths of the files in the source tree: git's list, working-tree content."""
    if not os.path.isdir(src):
        raise LabError("%s: no such directory" % src)
    try:
        out = git(["ls-files", "-z", "--cached"], src)
    except (LabError, FileNotFoundError) as e:
        raise LabError("%s: not a git work tree (%s)" % (src, e))
    paths = [p for p in out.split("\0") if p]
    if include_untracked:
        extra = git(["ls-files", "-z", "--others", "--exclude-standard"], src)
        # Build directories (obj, obj-lab1, ...) are never source.
        paths += [p for p in extra.split("\0") if p and not p.split("/")[0].startswith("obj")]
    seen, result = set(), []
    for p in paths:
        full = os.path.join(src, p)
        if p in seen or not (os.path.lexists(full)) or os.path.isdir(full) and not os.path.islink(full):
            continue  # deleted in the working tree, or a submodule
        seen.add(p)
        result.append(p)
    return sorted(result)


def read_text(path):
    """The file's text, or None if it is binary."""
    if os.path.islink(path):
        return None
    with open(path, "rb") as f:
        data = f.read()
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def not_scanned(path):
    """Bug patches quote markers in their context lines."""
    return bool(re.match(r"^labs/[^/]+/(bugs|variants)/", path)) or \
        path.endswith((".patch", ".diff"))


def opted_out(text):
    return OPT_OUT in "\n".join(text.splitlines()[:5])


# ---- markers -----------------------------------------------------------------------

class Region:
    def __init__(self, path, lab, begin, indent, hint, step=None):
        self.path, self.lab, self.begin, self.indent, self.hint = path, lab, begin, indent, hint
        self.step = step     # the handout's exercise (milestones), or None
        self.solution = []   # (line number, text)
        self.stub = []       # text lines, as written (with line endings)
        self.stub_line = None
        self.end = None


def parse(path, text):
    """Split text into plain lines and regions. Returns (items, regions) where an
    item is a line (str) or a Region; raises LabError listing every malformed marker."""
    items, regions, errors = [], [], []
    region, state = None, None   # state: None, "solution", "stub"
    for no, line in enumerate(text.splitlines(keepends=True), 1):
        body = line.rstrip("\r\n")
        where = "%s:%d" % (path, no)
        mb, ms, me = BEGIN_RE.match(body), STUB_RE.match(body), END_RE.match(body)
        like = mb or ms or me or LIKE_RE.search(body)
        if not like:
            if state == "solution":
                region.solution.append((no, line))
            elif state == "stub":
                if "*/" in body or "/*" in body:
                    errors.append("%s: a stub line inside the LAB %d STUB comment contains a "
                                  "comment delimiter" % (where, region.lab))
                region.stub.append(line)
            else:
                items.append(line)
            continue
        if not (mb or ms or me):
            errors.append("%s: malformed lab marker (expected '/* LAB n BEGIN: hint */', "
                          "'/* LAB n STUB' or 'LAB n END */' alone on the line): %s"
                          % (where, body.strip()))
            continue
        lab = int((mb or ms or me).group("lab"))
        if lab < 1:
            errors.append("%s: lab numbers start at 1" % where)
        if mb:
            if state is not None:
                errors.append("%s: LAB %d BEGIN inside the LAB %d region that begins at line %d "
                              "(regions do not nest)" % (where, lab, region.lab, region.begin))
                continue
            step = mb.group("step")
            region = Region(path, lab, no, mb.group("indent"), mb.group("hint"),
                            int(step) if step else None)
            if not SECTION_RE.search(region.hint):
                errors.append("%s: the hint of a LAB %d region must name its handout section "
                              "('... (section N)'): a brief tree keeps only that" % (where, lab))
            state = "solution"
        elif ms:
            if state != "solution":
                errors.append("%s: LAB %d STUB without a LAB %d BEGIN before it" % (where, lab, lab))
                continue
            if lab != region.lab:
                errors.append("%s: LAB %d STUB closes the LAB %d region that begins at line %d"
                              % (where, lab, region.lab, region.begin))
            region.stub_line = no
            state = "stub"
        else:
            if state != "stub":
                errors.append("%s: LAB %d END without a LAB %d STUB before it" % (where, lab, lab))
                continue
            if lab != region.lab:
                errors.append("%s: LAB %d END closes the LAB %d region that begins at line %d"
                              % (where, lab, region.lab, region.begin))
            region.end = no
            items.append(region)
            regions.append(region)
            region, state = None, None
    if state is not None:
        errors.append("%s:%d: LAB %d BEGIN without %s" % (path, region.begin, region.lab,
                      "a LAB %d STUB / END" % region.lab if state == "solution"
                      else "LAB %d END */" % region.lab))
    if errors:
        raise LabError("\n".join(errors))
    return items, regions


def drop_staff_only(path, text):
    """text without its staff-only blocks, or None if it has none."""
    if STAFF_BEGIN not in text:
        return None
    out, inside, start = [], False, 0
    for no, line in enumerate(text.splitlines(keepends=True), 1):
        mark = line.strip()
        if mark == STAFF_BEGIN:
            if inside:
                raise LabError("%s:%d: %s inside the staff-only block of line %d"
                               % (path, no, STAFF_BEGIN, start))
            inside, start = True, no
        elif mark == STAFF_END:
            if not inside:
                raise LabError("%s:%d: %s without a %s before it" % (path, no, STAFF_END,
                                                                     STAFF_BEGIN))
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise LabError("%s:%d: %s without a %s" % (path, start, STAFF_BEGIN, STAFF_END))
    return "".join(out)


def stubbed(region, lab, stub_all, upto_step=None):
    """Is region a stub in the lab-`lab` tree? upto_step: lab `lab`'s regions
    of that exercise or an earlier one keep their solution (milestone trees)."""
    if upto_step is not None and region.lab == lab and region.step is not None \
            and region.step <= upto_step:
        return False
    return region.lab >= lab or stub_all


def stub_comment(region, hints):
    """The comment a stub starts with. Brief trees keep the handout reference
    and drop the design hint, for courses where students design the mechanism."""
    if hints == "brief":
        m = SECTION_RE.search(region.hint)
        return "your code here; see handouts/lab%d.md section %s." % (region.lab,
                                                                    m.group("section"))
    return "your code here.%s" % ((" " + region.hint) if region.hint else "")


def render(items, lab, stub_all, eol="\n", hints="full", upto_step=None):
    out = []
    for it in items:
        if isinstance(it, str):
            out.append(it)
        elif stubbed(it, lab, stub_all, upto_step):
            out.append("%s/* LAB %d: %s */%s" % (it.indent, it.lab, stub_comment(it, hints),
                                                 eol))
            out.extend(it.stub)
        else:
            out.extend(text for _, text in it.solution)
    return "".join(out)


def scan_tree(src, files):
    """{path: (text or None, items, regions)} for every file; raises LabError with all errors."""
    result, errors = {}, []
    for p in files:
        text = read_text(os.path.join(src, p))
        if text is None or opted_out(text) or not_scanned(p):
            result[p] = (text, None, [])
            continue
        try:
            items, regions = parse(p, text)
        except LabError as e:
            errors.append(str(e))
            continue
        result[p] = (text, items if regions else None, regions)
    if errors:
        raise LabError("\n".join(errors))
    return result


# ---- manifests and bugs ------------------------------------------------------------

def lab_numbers(src, files):
    labs = set()
    for p in files:
        m = re.match(r"^labs/lab(\d+)/lab\.json$", p)
        if m:
            labs.add(int(m.group(1)))
    return sorted(labs)


def load_manifest(src, lab, files=None):
    """Load and validate labs/labN/lab.json; raises LabError listing every problem."""
    rel = "labs/lab%d/lab.json" % lab
    path = os.path.join(src, rel)
    try:
        with open(path) as f:
            m = json.load(f)
    except FileNotFoundError:
        raise LabError("%s: missing" % rel)
    except json.JSONDecodeError as e:
        raise LabError("%s:%d: invalid JSON: %s" % (rel, e.lineno, e.msg))
    errs = []

    def exists(p):
        if files is not None:
            return p in files or any(f.startswith(p.rstrip("/") + "/") for f in files)
        return os.path.exists(os.path.join(src, p))

    if not isinstance(m, dict):
        raise LabError("%s: must be a JSON object" % rel)
    for key, typ in (("lab", int), ("title", str), ("handout", str), ("student_files", list),
                     ("parts", list)):
        if key not in m:
            errs.append("%s: missing key '%s'" % (rel, key))
        elif not isinstance(m[key], typ) or isinstance(m[key], bool):
            errs.append("%s: '%s' must be a %s" % (rel, key, typ.__name__))
    if errs:
        raise LabError("\n".join(errs))
    if m["lab"] != lab:
        errs.append("%s: 'lab' is %r but the directory is lab%d" % (rel, m["lab"], lab))
    if not m["title"].strip():
        errs.append("%s: empty 'title'" % rel)
    if not exists(m["handout"]):
        errs.append("%s: handout '%s' does not exist" % (rel, m["handout"]))
    if not m["student_files"]:
        errs.append("%s: 'student_files' is empty" % rel)
    for p in m["student_files"]:
        if not isinstance(p, str) or not exists(p):
            errs.append("%s: student file %r does not exist" % (rel, p))
    cpus = m.get("cpus", 1)
    if not isinstance(cpus, int) or isinstance(cpus, bool) or cpus < 1:
        errs.append("%s: 'cpus' must be a positive integer" % rel)
    ro = m.get("reference_only", [])
    if not isinstance(ro, list) or not all(isinstance(p, str) for p in ro):
        errs.append("%s: 'reference_only' must be a list of paths" % rel)
    else:
        for p in ro:
            if p.startswith("/") or ".." in p.split("/"):
                errs.append("%s: reference_only path %r must be relative to the tree" % (rel, p))
    leak_ok = m.get("leak_ok", [])
    if not isinstance(leak_ok, list) or not all(isinstance(s, str) for s in leak_ok):
        errs.append("%s: 'leak_ok' must be a list of strings" % rel)
    names = set()
    if not m["parts"]:
        errs.append("%s: 'parts' is empty" % rel)
    for i, part in enumerate(m["parts"]):
        if not isinstance(part, dict) or not isinstance(part.get("name"), str) \
                or not isinstance(part.get("tests"), list) or not part.get("tests"):
            errs.append("%s: part %d needs a 'name' and a non-empty 'tests' list" % (rel, i + 1))
            continue
        for t in part["tests"]:
            if not isinstance(t, dict) or not isinstance(t.get("name"), str):
                errs.append("%s: part '%s': every test needs a 'name'" % (rel, part["name"]))
                continue
            name = t["name"]
            if not re.match(r"^lab%d\.[A-Za-z0-9_]+$" % lab, name):
                errs.append("%s: test name '%s' must be lab%d.<identifier>" % (rel, name, lab))
            if name in names:
                errs.append("%s: test name '%s' appears twice" % (rel, name))
            names.add(name)
            pts = t.get("points")
            if not isinstance(pts, (int, float)) or isinstance(pts, bool) or pts <= 0:
                errs.append("%s: test '%s': 'points' must be a number > 0" % (rel, name))
            if "grader" in t and not isinstance(t["grader"], str):
                errs.append("%s: test '%s': 'grader' must be a string" % (rel, name))
            if "host" in t and not (isinstance(t["host"], str) and
                                    re.match(r"^[a-z0-9_]+:[a-z0-9_]+$", t["host"])):
                errs.append("%s: test '%s': 'host' must be '<suite>:<test case>' of "
                            "tests/host" % (rel, name))
    ms = m.get("milestones", [])
    if not isinstance(ms, list):
        errs.append("%s: 'milestones' must be a list" % rel)
        ms = []
    last = 0
    for i, ml in enumerate(ms):
        if isinstance(ml, dict) and ml.get("pass") == "all":
            ml["all"] = True  # the handout says "every test"; the list is every test
            ml["pass"] = sorted(names)
        if not (isinstance(ml, dict) and isinstance(ml.get("step"), int)
                and isinstance(ml.get("pass"), list)
                and all(isinstance(n, str) for n in ml["pass"])):
            errs.append("%s: milestone %d needs an integer 'step' and a 'pass' list of test "
                        "names (or \"all\")" % (rel, i + 1))
            continue
        if ml["step"] <= last:
            errs.append("%s: milestone steps must increase (%d after %d)"
                        % (rel, ml["step"], last))
        last = ml["step"]
        for n in ml["pass"]:
            if n not in names:
                errs.append("%s: milestone %d: '%s' is not a test of lab %d"
                            % (rel, ml["step"], n, lab))
    if errs:
        raise LabError("\n".join(errs))
    return m


def handout_step_text(handout, step):
    """The text of item `step` of the handout's "Exercises" list (its section
    whose title starts with Exercises), or None."""
    section = re.search(r"^## \d+\. Exercises.*?$(.*?)(?=^## |\Z)", handout, re.M | re.S)
    if not section:
        return None
    items = re.split(r"^(\d+)\. ", section.group(1), flags=re.M)
    for k in range(1, len(items) - 1, 2):
        if int(items[k]) == step:
            return re.split(r"\n\s*\n", items[k + 1])[0]
    return None


def check_milestones(src, lab, m, regions):
    """Errors: a milestone lab has regions without a step, or a handout step
    that does not name the tests the manifest says it makes pass."""
    errs = []
    ms = m.get("milestones", [])
    if not ms:
        return errs
    for r in regions:
        if r.lab == lab and r.step is None:
            errs.append("%s:%d: lab %d has milestones: its region needs its handout step "
                        "('/* LAB %d BEGIN step K: ...')" % (r.path, r.begin, lab, lab))
    steps = {r.step for r in regions if r.lab == lab and r.step is not None}
    with open(os.path.join(src, m["handout"])) as f:
        handout = f.read()
    before = set()
    for ml in ms:
        if ml["step"] not in steps | {max(steps, default=0) + 1}:
            errs.append("labs/lab%d/lab.json: milestone %d: no region is marked step %d"
                        % (lab, ml["step"], ml["step"]))
        text = handout_step_text(handout, ml["step"])
        if text is None:
            errs.append("%s: no step %d in its Exercises section (labs/lab%d/lab.json has a "
                        "milestone for it)" % (m["handout"], ml["step"], lab))
            continue
        # A step names each test it makes pass (labN.x or lab N's bare x),
        # or says that every test passes.
        if ml.get("all"):
            if not re.search(r"\bevery (lab[- ]\d )?test\b|\ball (the )?tests\b", text):
                errs.append("%s: step %d does not say that every test passes after it "
                            "(labs/lab%d/lab.json milestone %d)"
                            % (m["handout"], ml["step"], lab, ml["step"]))
            before = set(ml["pass"])
            continue
        for n in sorted(set(ml["pass"]) - before):
            short = n.split(".", 1)[1]
            if not re.search(r"`(%s|%s)`" % (re.escape(n), re.escape(short)), text):
                errs.append("%s: step %d does not name `%s`, which passes after it "
                            "(labs/lab%d/lab.json milestone %d)"
                            % (m["handout"], ml["step"], n, lab, ml["step"]))
        for n in sorted(before - set(ml["pass"])):
            errs.append("labs/lab%d/lab.json: milestone %d: `%s` passed after an earlier "
                        "step and not after this one" % (lab, ml["step"], n))
        before = set(ml["pass"])
    return errs


def check_test_table(src, lab, m):
    """Errors: a test of the manifest without a row in the handout's test
    table (a table whose header is `| test | checks |`), or with an empty one.
    A row may name several tests, by full or bare name or a pattern (`host_*`)."""
    import fnmatch
    with open(os.path.join(src, m["handout"])) as f:
        lines = f.read().splitlines()
    covered, in_table = {}, False
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")] \
            if line.startswith("|") else None
        if not cells:
            in_table = False
            continue
        if cells[0].lower() == "test":
            in_table = True
            continue
        if not in_table or len(cells) < 2:
            continue
        for span in re.findall(r"`([^`]+)`", cells[0]):
            covered[span] = cells[1]
    errs = []
    for name in test_names(m):
        short = name.split(".", 1)[1]
        rows = [d for pat, d in covered.items()
                if fnmatch.fnmatchcase(name, pat) or fnmatch.fnmatchcase(short, pat)]
        if not rows:
            errs.append("%s: no row of its test table (| test | checks |) names `%s`"
                        % (m["handout"], name))
        elif not any(rows):
            errs.append("%s: the test table row of `%s` does not say what it checks"
                        % (m["handout"], name))
    return errs


def test_names(manifest):
    return [t["name"] for part in manifest["parts"] for t in part["tests"]]


def zoo_patches(lab, files, kind):
    """{name: relative path} of labs/labN/<kind>/*.patch (kind: bugs or variants)."""
    pre = "labs/lab%d/%s/" % (lab, kind)
    return {p[len(pre):-len(".patch")]: p for p in files
            if p.startswith(pre) and p.endswith(".patch") and "/" not in p[len(pre):]}


def bug_patches(src, lab, files):
    """{name: relative path} of labs/labN/bugs/*.patch."""
    return zoo_patches(lab, files, "bugs")


def variant_patches(src, lab, files):
    """{name: relative path} of labs/labN/variants/*.patch: correct designs
    other than the reference, which must score full marks."""
    return zoo_patches(lab, files, "variants")


def patched_files(src, path):
    """The files a patch changes (its +++ lines, without the a/ b/ prefix)."""
    out = []
    with open(os.path.join(src, path), errors="replace") as f:
        for line in f:
            m = re.match(r"^\+\+\+ (\S+)", line)
            if m:
                name = m.group(1)
                out.append(name.split("/", 1)[1] if "/" in name else name)
    return out


def bug_description(src, path):
    with open(os.path.join(src, path), errors="replace") as f:
        first = f.readline().rstrip("\n")
    if not first.startswith("Description: ") or not first[len("Description: "):].strip():
        raise LabError("%s:1: the first line must be 'Description: <one line>'" % path)
    return first[len("Description: "):].strip()


def apply_patch(tree, patch_file, dry_run=False):
    cmd = ["patch", "-p1", "--forward", "--batch", "--no-backup-if-mismatch", "-s",
           "-i", os.path.abspath(patch_file)]
    if dry_run:
        cmd.insert(1, "--dry-run")
    proc = subprocess.run(cmd, cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)
    if proc.returncode != 0:
        raise LabError("%s: does not apply to the reference:\n%s"
                       % (os.path.relpath(patch_file), proc.stdout.strip()))


# ---- copying and generating ---------------------------------------------------------

def copy_file(src, dst, rel, text=None):
    s, d = os.path.join(src, rel), os.path.join(dst, rel)
    os.makedirs(os.path.dirname(d), exist_ok=True)
    if os.path.islink(s):
        os.symlink(os.readlink(s), d)
    elif text is None:
        shutil.copy2(s, d)
    else:
        with open(d, "w", newline="") as f:
            f.write(text)
        shutil.copymode(s, d)


def prepare_dest(dest):
    if os.path.exists(dest):
        if not os.path.isdir(dest) or os.listdir(dest):
            raise LabError("%s: exists and is not an empty directory" % dest)
    os.makedirs(dest, exist_ok=True)


def copy_reference(src, dest, include_untracked=False):
    """A clean copy of the reference tree (what git lists, working-tree content)."""
    prepare_dest(dest)
    for p in tree_files(src, include_untracked):
        copy_file(src, dest, p)


def under(path, prefixes):
    return any(path == p.rstrip("/") or path.startswith(p.rstrip("/") + "/") for p in prefixes)


def removed_paths(manifests):
    prefixes = list(INSTRUCTOR_ONLY)
    for m in manifests.values():
        prefixes.extend(m.get("reference_only", []))
    return prefixes


def is_trivial(s):
    """A solution line so generic that finding it elsewhere proves nothing."""
    if re.fullmatch(r"[{}()\[\];:,\s]*", s):
        return True
    return bool(re.fullmatch(r"(\}\s*)?(else|do|default:|return|break;|continue;|"
                             r"return\s+-?[A-Za-z0-9_]+;|goto\s+\w+;|#\s*(else|endif))(\s*\{)?", s))


def nonspace_len(s):
    return len(re.sub(r"\s", "", s))


LONG_LINE = 40  # non-space characters: a solution line this long is never a coincidence
SHORT_LINE = 12  # shorter lines are never part of a leak


def leak_check(out_texts, regions, manifests, lab, stub_all):
    """Fail if a stubbed solution shows up anywhere in the generated tree.

    out_texts: {path: text} of the generated tree's text files (non-opted-out).
    Lines present in the output come from the given code or a stub. A solution
    line found there is a leak when it is long (>= LONG_LINE non-space
    characters), when it and the next non-trivial solution line also follow
    each other in some output file (one of them >= SHORT_LINE), or when every
    line of its region is found (one of them >= SHORT_LINE). Blank and
    trivial lines, stub lines and the manifests' leak_ok lines never count."""
    allowed = set()
    for m in manifests.values():
        allowed.update(s.strip() for s in m.get("leak_ok", []))
    hidden = [r for r in regions if stubbed(r, lab, stub_all)]
    for r in hidden:
        allowed.update(l.strip() for l in r.stub)

    def counts(s):
        return bool(s) and not is_trivial(s) and s not in allowed

    where, pairs = {}, {}
    for p, text in out_texts.items():
        prev = None
        for no, line in enumerate(text.splitlines(), 1):
            s = line.strip()
            if not s or is_trivial(s):
                continue
            where.setdefault(s, []).append((p, no))
            if prev is not None:
                pairs.setdefault((prev, s), []).append((p, no - 1))
            prev = s
    errors, seen = [], set()

    def leak(p, ono, r, no, s):
        if (p, ono) not in seen:
            seen.add((p, ono))
            errors.append("%s:%d: leaks the LAB %d solution line %s:%d: %s"
                          % (p, ono, r.lab, r.path, no, s))

    for r in hidden:
        sol = [(no, line.strip()) for no, line in r.solution
               if line.strip() and not is_trivial(line.strip())]
        # A region whose every line can be found (a one-line solution, say) is leaked.
        if sol and all(counts(s) and s in where for _, s in sol) and \
                max(nonspace_len(s) for _, s in sol) >= SHORT_LINE:
            for no, s in sol:
                leak(*where[s][0], r, no, s)
        for i, (no, s) in enumerate(sol):
            if counts(s) and s in where and nonspace_len(s) >= LONG_LINE:
                for p, ono in where[s][:3]:
                    leak(p, ono, r, no, s)
            if i + 1 < len(sol):
                no2, s2 = sol[i + 1]
                if counts(s) and counts(s2) and (s, s2) in pairs and \
                        max(nonspace_len(s), nonspace_len(s2)) >= SHORT_LINE:
                    for p, ono in pairs[(s, s2)][:3]:
                        leak(p, ono, r, no, s)
    for p, text in out_texts.items():
        for no, line in enumerate(text.splitlines(), 1):
            if BEGIN_RE.match(line) or STUB_RE.match(line) or END_RE.match(line) or \
                    re.search(r"\bLAB%s*\d+%s*(BEGIN|STUB|END)\b" % (_S, _S), line):
                errors.append("%s:%d: a lab marker survived: %s" % (p, no, line.strip()))
    if errors:
        raise LabError("leak check failed:\n" + "\n".join(errors))


def load_all(src, include_untracked=False):
    """(files, manifests, scanned) of the source tree, fully validated."""
    files = tree_files(src, include_untracked)
    fileset = set(files)
    errors, manifests = [], {}
    for lab in lab_numbers(src, files):
        try:
            manifests[lab] = load_manifest(src, lab, fileset)
        except LabError as e:
            errors.append(str(e))
    try:
        scanned = scan_tree(src, files)
    except LabError as e:
        errors.append(str(e))
        scanned = {}
    for p, (_, _, regions) in sorted(scanned.items()):
        for lab in sorted({r.lab for r in regions}):
            first = min(r.begin for r in regions if r.lab == lab)
            if lab not in manifests:
                if not any("labs/lab%d/lab.json" % lab in e for e in errors):
                    errors.append("%s:%d: a LAB %d region but no labs/lab%d/lab.json"
                                  % (p, first, lab, lab))
            elif p not in manifests[lab]["student_files"]:
                errors.append("%s:%d: a LAB %d region, but the file is not in lab %d's "
                              "student_files (the graders would not take the student's copy)"
                              % (p, first, lab, lab))
    all_regions = [r for v in scanned.values() for r in v[2]]
    for lab, m in manifests.items():
        errors.extend(check_milestones(src, lab, m, all_regions))
        errors.extend(check_test_table(src, lab, m))
        for sf in m["student_files"]:
            if sf in scanned and not any(r.lab == lab for r in scanned[sf][2]):
                errors.append("labs/lab%d/lab.json: student file %s has no LAB %d region"
                              % (lab, sf, lab))
        zoo = list(bug_patches(src, lab, files).values()) + \
            list(variant_patches(src, lab, files).values())
        for p in zoo:
            try:
                bug_description(src, p)
            except LabError as e:
                errors.append(str(e))
            # A student can change only the student files: so can a bug or a variant.
            for f in patched_files(src, p):
                if f not in m["student_files"]:
                    errors.append("%s: changes %s, which is not one of lab %d's student_files"
                                  % (p, f, lab))
    if errors:
        raise LabError("\n".join(errors))
    return files, manifests, scanned


def generate(src, dest, lab, stub_all=False, include_untracked=False, quiet=False,
             hints="full", upto_step=None):
    """Write the student tree for lab `lab` into dest (empty or absent).
    hints: "full" or "brief" (stub comments without design hints). upto_step:
    a milestone tree, lab `lab`'s exercises up to that step already done."""
    if hints not in HINT_LEVELS:
        raise LabError("hints must be one of %s, not %r" % (", ".join(HINT_LEVELS), hints))
    files, manifests, scanned = load_all(src, include_untracked)
    if lab not in manifests:
        raise LabError("lab %d has no manifest (labs/lab%d/lab.json); labs: %s"
                       % (lab, lab, ", ".join(map(str, sorted(manifests))) or "none"))
    drop = removed_paths(manifests)
    keep = [p for p in files if not under(p, drop) and not re.match(r"^labs/[^/]+/(bugs|variants)/", p)]
    prepare_dest(dest)
    out_texts, regions, nstub = {}, [], 0
    for p in keep:
        text, items, regs = scanned[p]
        if items is not None:
            text = render(items, lab, stub_all, "\r\n" if "\r\n" in text else "\n", hints,
                          upto_step)
            regions.extend(regs)
            nstub += sum(1 for r in regs if stubbed(r, lab, stub_all, upto_step))
            copy_file(src, dest, p, text)
        elif text is not None and drop_staff_only(p, text) is not None:
            text = drop_staff_only(p, text)
            copy_file(src, dest, p, text)
        else:
            copy_file(src, dest, p)
        if text is not None and not opted_out(text):
            out_texts[p] = text
    # Regions in dropped files never reach the student; still check their solutions.
    for p in files:
        if p not in keep and scanned.get(p):
            regions.extend(scanned[p][2])
    stamp = {"lab": lab, "title": manifests[lab]["title"], "stub_all": bool(stub_all),
             "hints": hints, "student_files": manifests[lab]["student_files"]}
    if upto_step is not None:
        stamp["upto_step"] = upto_step
    with open(os.path.join(dest, LAB_STAMP), "w") as f:
        json.dump(stamp, f, indent=1)
        f.write("\n")
    try:
        if upto_step is None:  # a milestone tree is the staff's: it shows solutions
            leak_check(out_texts, regions, manifests, lab, stub_all)
    except LabError:
        shutil.rmtree(dest, ignore_errors=True)
        print("mklab: removed %s: it leaked solutions" % dest, file=sys.stderr)
        raise
    if not quiet:
        print("mklab: lab %d tree in %s: %d files, %d region(s) stubbed, %d kept"
              % (lab, dest, len(keep) + 1, nstub, len(regions) - nstub))
    return manifests[lab]


# ---- branches ----------------------------------------------------------------------

def commit_message(m, first_lab, changed=None):
    """The message of a branch's first commit (changed None) or of an update.
    Each gives the commands that bring it into a student's clone: they work on
    git 2.39 without configuration (plain `git pull` refuses divergent branches
    there), and `git merge labN` names the student's own branch in a clone."""
    lab = m["lab"]
    if changed is not None:
        shown = changed[:20] + (["... (%d more)" % (len(changed) - 20)] if len(changed) > 20 else [])
        return ("Lab %d: update from the course staff\n\n"
                "Changed: %s\n\n"
                "To bring it into your work, commit your own changes, then run this on\n"
                "your lab-%d branch:\n\n"
                "    git fetch origin && git merge --no-edit origin/lab%d\n\n"
                "Your own code stays. If git reports a conflict, README.md (\"For students\")\n"
                "says what to do. If you have moved on to a later lab, merge that lab's\n"
                "branch (origin/labN) instead: it includes this update.\n"
                % (lab, ", ".join(shown), lab, lab))
    msg = ("Lab %d: %s\n\n"
           "Start with %s. Your code goes in %s: look for \"LAB %d: your code here\".\n"
           "Build with `make`, boot with `make qemu-nox`, grade yourself with `make grade`,\n"
           "hand in with `make handin`.\n" % (lab, m["title"], m["handout"],
                                             ", ".join(m["student_files"]), lab))
    if lab != first_lab:
        msg += ("\nTo move here from lab %d, commit your work on your lab-%d branch, then:\n\n"
                "    git fetch origin\n"
                "    git checkout -b lab%d lab%d\n"
                "    git merge --no-edit origin/lab%d\n\n"
                "This branch keeps the earlier labs' files as they were handed out, so the\n"
                "merge keeps your own code of the earlier labs (and `make grade` grades it\n"
                "again, as a regression check).\n" % (lab - 1, lab - 1, lab, lab - 1, lab))
    return msg


def branches(src, repo, upto, include_untracked=False, hints="full"):
    """Add or update branches lab1..lab<upto> in repo (staged release: later
    labs stay unpublished). Each branch's tree is its lab's student tree with
    every earlier lab stubbed too: the files of earlier labs are then the same
    on every branch, so a student who merges the next lab's branch into their
    work keeps their own code there, without a conflict. Branch labN is built
    on labN-1 (a new labN-1 commit is merged into labN), so merging it brings
    the earlier labs' updates along."""
    _, manifests, _ = load_all(src, include_untracked)
    if not manifests:
        raise LabError("no lab manifests under labs/")
    labs = [lab for lab in sorted(manifests) if lab <= upto]
    if not labs:
        raise LabError("--upto %d: no lab up to %d (labs: %s)"
                       % (upto, upto, ", ".join(map(str, sorted(manifests)))))
    created = not os.path.exists(repo)
    if created:
        os.makedirs(repo)
        git(["init", "-q"], repo)
        print("mklab: created git repository %s" % repo)
    elif not os.path.isdir(repo):
        raise LabError("%s: not a directory" % repo)
    gitdir = os.path.abspath(os.path.join(repo, git(["rev-parse", "--git-dir"], repo).strip()))
    env = dict(os.environ)
    for k, v in COMMITTER.items():
        env.setdefault(k, v)
    prev = None
    with tempfile.TemporaryDirectory(prefix="mklab-branches-") as tmp:
        for lab in labs:
            tree_dir = os.path.join(tmp, "lab%d" % lab)
            m = generate(src, tree_dir, lab, True, include_untracked, quiet=True, hints=hints)
            e = dict(env, GIT_DIR=gitdir, GIT_WORK_TREE=tree_dir,
                     GIT_INDEX_FILE=os.path.join(tmp, "index%d" % lab))
            git(["add", "-A", "-f", "."], tree_dir, env=e)
            tree = git(["write-tree"], tree_dir, env=e).strip()
            ref = "refs/heads/lab%d" % lab
            head = git(["rev-parse", "--verify", "-q", ref + "^{commit}"], repo, check=False).strip()
            parents = [head] if head else []
            if prev and not (head and subprocess.run(
                    ["git", "merge-base", "--is-ancestor", prev, head], cwd=repo).returncode == 0):
                parents.append(prev)
            if head and len(parents) == 1 and \
                    git(["rev-parse", head + "^{tree}"], repo).strip() == tree:
                print("mklab: lab%d is up to date (%s)" % (lab, head[:12]))
                prev = head
                continue
            changed = None
            if head:
                changed = git(["diff-tree", "-r", "--name-only", head + "^{tree}", tree],
                              repo).split()
            args = ["commit-tree", tree]
            for p in parents:
                args += ["-p", p]
            commit = git(args + ["-F", "-"], repo, env=env,
                         input=commit_message(m, min(manifests), changed).encode()).strip()
            git(["update-ref", ref, commit] + ([head] if head else ["0" * 40]), repo)
            print("mklab: lab%d %s %s" % (lab, "updated to" if head else "created at", commit[:12]))
            prev = commit
            current = git(["symbolic-ref", "-q", "HEAD"], repo, check=False).strip()
            bare = git(["rev-parse", "--is-bare-repository"], repo).strip() == "true"
            if head and current == ref and not bare:
                print("mklab: note: %s has lab%d checked out; its working tree still shows the "
                      "old commit (git reset --hard lab%d)" % (repo, lab, lab))
    for lab in sorted(manifests):
        if lab > upto and git(["rev-parse", "--verify", "-q", "refs/heads/lab%d" % lab], repo,
                              check=False).strip():
            print("mklab: note: lab%d is published but was not updated (--upto %d); "
                  "rerun with --upto %d to update it" % (lab, upto, max(manifests)))
    unpublished = [l for l in sorted(manifests) if l > upto]
    if unpublished:
        print("mklab: not published yet: %s" % ", ".join("lab%d" % l for l in unpublished))
    if created:
        # A clone checks out the repository's HEAD: students start on lab 1.
        git(["checkout", "-q", "lab%d" % labs[0]], repo)

# ---- commands ----------------------------------------------------------------------

def cmd_check(args):
    files, manifests, scanned = load_all(args.source, args.include_untracked)
    nreg = sum(len(v[2]) for v in scanned.values())
    nbugs = nvariants = 0
    with tempfile.TemporaryDirectory(prefix="mklab-check-") as tmp:
        for lab, m in sorted(manifests.items()):
            for name, p in sorted(bug_patches(args.source, lab, files).items()):
                apply_patch(args.source, os.path.join(args.source, p), dry_run=True)
                nbugs += 1
            for name, p in sorted(variant_patches(args.source, lab, files).items()):
                apply_patch(args.source, os.path.join(args.source, p), dry_run=True)
                nvariants += 1
            # Every lab's tree must generate without leaks.
            generate(args.source, os.path.join(tmp, "lab%d" % lab), lab,
                     include_untracked=args.include_untracked, quiet=True)
    print("mklab: OK: %d lab(s) (%s), %d marked region(s), %d bug patch(es), "
          "%d variant patch(es)"
          % (len(manifests), ", ".join("lab%d" % l for l in sorted(manifests)) or "none",
             nreg, nbugs, nvariants))


def cmd_handout(args):
    generate(args.source, args.dest, args.lab, args.stub_all, args.include_untracked,
             hints=args.hints, upto_step=args.upto_step)


def cmd_branches(args):
    branches(args.source, args.dest, args.upto, args.include_untracked, args.hints)


def cmd_apply_bug(args):
    files = tree_files(args.source, args.include_untracked)
    kind, name = ("variant", args.variant) if args.cmd == "apply-variant" else ("bug", args.bug)
    patches = (variant_patches if kind == "variant" else bug_patches)(args.source, args.lab, files)
    if name not in patches:
        raise LabError("lab %d has no %s '%s'; it has: %s"
                       % (args.lab, kind, name, ", ".join(sorted(patches)) or "none"))
    desc = bug_description(args.source, patches[name])
    copy_reference(args.source, args.dest, args.include_untracked)
    apply_patch(args.dest, os.path.join(args.source, patches[name]))
    print("mklab: reference + lab%d %s '%s' (%s) in %s"
          % (args.lab, kind, name, desc, args.dest))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="\n".join(__doc__.strip().splitlines()[1:]))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--source", default=ROOT, help="reference tree (default: %(default)s)")
    common.add_argument("--include-untracked", action="store_true",
                        help="also copy untracked, non-ignored files (not obj*)")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("check", parents=[common], help="validate manifests, markers, bugs")
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("handout", parents=[common], help="write the student tree for a lab")
    p.add_argument("--lab", type=int, required=True)
    p.add_argument("--dest", required=True)
    p.add_argument("--stub-all", action="store_true", help="stub earlier labs too")
    p.add_argument("--hints", choices=HINT_LEVELS, default="full",
                   help="brief: stub comments keep the handout reference, not the design hint")
    p.add_argument("--upto-step", type=int, metavar="K",
                   help="staff: lab N's exercises 1..K already solved (a milestone tree)")
    p.set_defaults(fn=cmd_handout)
    p = sub.add_parser("branches", parents=[common],
                       help="commit lab 1..N's trees to branches labN (staged release)")
    p.add_argument("--dest", required=True, help="git repository (created if missing)")
    p.add_argument("--upto", type=int, required=True,
                   help="publish (add or update) branches lab1..labN only")
    p.add_argument("--hints", choices=HINT_LEVELS, default="full",
                   help="brief: stub comments keep the handout reference, not the design hint")
    p.set_defaults(fn=cmd_branches)
    p = sub.add_parser("apply-bug", parents=[common], help="reference tree plus one bug patch")
    p.add_argument("--lab", type=int, required=True)
    p.add_argument("--bug", required=True)
    p.add_argument("--dest", required=True)
    p.set_defaults(fn=cmd_apply_bug)
    p = sub.add_parser("apply-variant", parents=[common],
                       help="reference tree plus one correct-variant patch")
    p.add_argument("--lab", type=int, required=True)
    p.add_argument("--variant", required=True)
    p.add_argument("--dest", required=True)
    p.set_defaults(fn=cmd_apply_bug)
    args = ap.parse_args(argv)
    args.source = os.path.abspath(args.source)
    try:
        args.fn(args)
    except LabError as e:
        print("mklab: error:\n" + str(e) if "\n" in str(e) else "mklab: error: %s" % e,
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
