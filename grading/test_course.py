#!/usr/bin/env python3
# mklab: no-markers (this file writes a marker into a scratch copy of the tree)
"""The course repository, end to end, as the staff and a student use it.

The staff publish lab 1 only (make branches UPTO=1); a student clones, finishes
lab 1 on branch lab1, checks, grades, hands in (and the archive is graded by
grading/grade-submission); the staff fix a file and publish lab 2 (UPTO=2);
the student runs the command from the update's commit message, then the steps
of README.md's "For students" to move on (the same lines as handouts/lab2.md
and the lab2 commit message), and grades there: lab 1 again, from their own
code, and lab 2. Last, a staff update that conflicts with the student's code,
resolved as README.md's "On a conflict" says. The student's "work" is the reference solution, taken from a
generated lab-3 tree. Everything happens in a scratch directory, on a copy of
this tree (so the staff's fix does not touch it), with git's global and system
configuration ignored.

Prints one line per check and `N passed, M failed` last.
"""
import difflib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grading"))
import gradelib as gl  # noqa: E402

# A mark the staff's fix puts into a given part of lab 1's student file: the
# student's clone must end up with it and with their own code.
STAFF_FIX = "/* Course staff: a fix in the given code (grading/test_course.py). */\n"
# The student's code is the reference solution with this line at the start of
# every change from the stub: their own code, which a merge of the staff's
# solution would conflict with.
MINE = "/* A student's own code (grading/test_course.py). */\n"


def students_version(stub, solution):
    """solution with MINE before each part that differs from stub."""
    a, b = stub.splitlines(keepends=True), solution.splitlines(keepends=True)
    out, last = [], 0
    for tag, _, _, j1, _ in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "insert") and not (j1 and b[j1 - 1].rstrip().endswith("\\")):
            out += b[last:j1] + [MINE]
            last = j1
    return "".join(out + b[last:])


class Checks:
    def __init__(self):
        self.passed = self.failed = 0
        self.t = time.time()

    def check(self, name, ok, detail=""):
        print("course.%s: %s (%.1fs)%s" % (name, "OK" if ok else "FAIL", time.time() - self.t,
                                          "" if ok or not detail else
                                          "\n    " + detail.strip().replace("\n", "\n    ")),
              flush=True)
        self.t = time.time()
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def env():
    e = gl.make_env()
    e.pop("DISPLAY", None)
    # The student's git as installed: no user configuration (pull.rebase,
    # merge.ff, ...) may change what the documented commands do.
    e.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1",
             GIT_AUTHOR_NAME="A Student", GIT_AUTHOR_EMAIL="student@localhost",
             GIT_COMMITTER_NAME="A Student", GIT_COMMITTER_EMAIL="student@localhost",
             GIT_TERMINAL_PROMPT="0", GIT_EDITOR="false")
    return e


def sh(cmd, cwd, timeout=300):
    """(status, output) of cmd through the shell; status None on timeout."""
    try:
        p = subprocess.run(cmd, shell=True, cwd=cwd, env=env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace")
    except subprocess.TimeoutExpired as e:
        return None, (e.stdout or b"").decode(errors="replace") + "\n[timed out]"


def tail(out, n=12):
    return "\n".join(out.strip().splitlines()[-n:])


def read(path):
    with open(path) as f:
        return f.read()


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def copy_source(dest):
    """This tree's files (git's list, working-tree content) in a new git work
    tree, the staff's side of the test."""
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    for name in (n for n in out.split("\0") if n):
        src = os.path.join(ROOT, name)
        if os.path.isfile(src):
            os.makedirs(os.path.dirname(os.path.join(dest, name)) or dest, exist_ok=True)
            shutil.copy2(src, os.path.join(dest, name))
    return sh("git init -q && git add -A", dest)[0] == 0


def fenced_after(text, heading):
    """The lines of the first fenced block after heading (a '> ' quote stripped)."""
    start = text.find(heading)
    if start < 0:
        return []
    lines, inside = [], False
    for line in text[start:].splitlines():
        line = re.sub(r"^>\s?", "", line)
        if line.startswith("```"):
            if inside:
                return lines
            inside = True
        elif inside:
            lines.append(line.strip())
    return []


def readme_paths_exist(tree):
    """Paths the README names (in code spans) that the tree lacks."""
    missing = []
    for span in re.findall(r"`([^`\s]+)`", read(os.path.join(tree, "README.md"))):
        path = span.rstrip("/")
        if re.fullmatch(r"(kern|lib|user|labs|grading|handouts|tests|tools)/[\w./-]+", path) \
                and not re.search(r"labN|/\w*N\b|\*", path) \
                and not os.path.exists(os.path.join(tree, path)):
            missing.append(span)
    return missing


def grade_ok(out, score, not_yet):
    """Detail of what is wrong with a make grade output, or ''."""
    problems = []
    if not re.search(r"^Score: %s$" % score, out, re.M):
        problems.append("no 'Score: %s'" % score)
    for lab in not_yet:
        if not re.search(r"^Lab %d \(.*\): not yet" % lab, out, re.M):
            problems.append("lab %d not listed as 'not yet'" % lab)
    if re.search(r": FAIL", out):
        problems.append("a test failed")
    return "; ".join(problems)


def zip_names(path):
    with zipfile.ZipFile(path) as z:
        return sorted(z.namelist())


def main():
    if os.path.exists(os.path.join(ROOT, "labs", "current.json")) or \
            not os.path.exists(os.path.join(ROOT, "labs", "mklab.py")):
        print("course: nothing to check in a student lab tree (the reference is needed)")
        print("0 passed, 0 failed")
        return 0
    c = Checks()
    t_all = time.time()
    tmp = tempfile.mkdtemp(prefix="pagoda-course-")
    try:
        run(c, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("course: %.1fs in all" % (time.time() - t_all))
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 0 if c.failed == 0 else 1


def run(c, tmp):
    src, course, clone = (os.path.join(tmp, d) for d in ("src", "course", "student"))
    sol = os.path.join(tmp, "solutions")
    if not c.check("staff_source", copy_source(src), "cannot copy the tree to %s" % src):
        return
    # The student's work: the reference solutions of labs 1 and 2.
    st, out = sh("%s labs/mklab.py handout --lab 3 --dest %s" % (sys.executable, sol), ROOT)
    if not c.check("solutions", st == 0, tail(out)):
        return

    # ---- the staff publish lab 1 only ----
    st, out = sh("make -s branches DEST=%s UPTO=1" % course, src)
    _, branches = sh("git branch --format='%(refname:short)'", course)
    c.check("publish_lab1_only", st == 0 and branches.split() == ["lab1"] and
            "not published yet: lab2, lab3, lab4" in out,
            "exit %s, branches %s:\n%s" % (st, branches.split(), tail(out)))

    # ---- a student clones it and does lab 1 ----
    st, out = sh("git clone -q %s %s" % (course, clone), tmp)
    _, head = sh("git rev-parse --abbrev-ref HEAD", clone)
    _, remote = sh("git branch -r", clone)
    if not c.check("clone_on_lab1", st == 0 and head.strip() == "lab1" and
                   "origin/lab2" not in remote,
                   "exit %s, on %r, remote branches %s:\n%s" % (st, head.strip(), remote.split(),
                                                               tail(out))):
        return
    readme = read(os.path.join(clone, "README.md"))
    missing = readme_paths_exist(clone)
    bad = [s for s in ("For instructors", "labs/README.md", "staff-only", "grade-submission")
           if s in readme]
    c.check("student_readme", "## For students" in readme and not bad and not missing,
            "in the student's README.md: %s; paths it names that the tree lacks: %s"
            % (bad, missing))
    stub = read(os.path.join(clone, "kern", "pgtable.c"))
    write(os.path.join(clone, "kern", "pgtable.c"),
          students_version(stub, read(os.path.join(sol, "kern", "pgtable.c"))))
    write(os.path.join(clone, "answers-lab1.txt"), "1. ...\n")
    st, out = sh("git add answers-lab1.txt && git commit -q -am 'lab 1 done'", clone)
    c.check("lab1_commit", st == 0, tail(out))

    st, out = sh("make -s check", clone, 120)
    c.check("lab1_make_check", st == 0 and re.search(r"^100%: Checks: \d+, Failures: 0",
                                                      out, re.M) is not None
            and "aspace_suite: lab 2, not yet" in out, "exit %s:\n%s" % (st, tail(out)))
    st, out = sh("make -s -j2 grade", clone, 600)
    problem = grade_ok(out, "100/100", [2, 3, 4])
    c.check("lab1_make_grade", st == 0 and not problem,
            "exit %s, %s:\n%s" % (st, problem, tail(out, 20)))

    st, out = sh("make -s handin", clone, 60)
    archive = os.path.join(clone, "handin-lab1.zip")
    names = zip_names(archive) if st == 0 and os.path.exists(archive) else None
    c.check("lab1_make_handin", names == ["answers-lab1.txt", "kern/pgtable.c"] and
            "kern/pgtable.c" in out and "answers-lab1.txt" in out,
            "exit %s, archive %s:\n%s" % (st, names, tail(out)))
    _, status = sh("git status --porcelain", clone)
    c.check("handin_not_committable", "handin-lab1.zip" not in status,
            "git status shows the archive:\n" + status)
    if names:
        upload = os.path.join(tmp, "upload")
        with zipfile.ZipFile(archive) as z:
            z.extractall(upload)
        st, out = sh("grading/grade-submission %s --lab 1" % upload, ROOT, 600)
        c.check("handin_graded_by_grade_submission",
                st == 0 and re.search(r"^Score: 100/100$", out, re.M) is not None,
                "exit %s:\n%s" % (st, tail(out)))

    # make format in a copy without .git: it works, and touches the student's file only.
    nogit = os.path.join(tmp, "nogit")
    shutil.copytree(clone, nogit, ignore=shutil.ignore_patterns(".git", "obj"))
    st, out = sh("make -s format", nogit, 120)
    changed = sorted(os.path.relpath(os.path.join(d, f), nogit)
                     for d, _, fs in os.walk(nogit) for f in fs
                     if read_bytes(os.path.join(d, f)) !=
                     read_bytes(os.path.join(clone, os.path.relpath(os.path.join(d, f), nogit))))
    if shutil.which("clang-format"):
        c.check("make_format_without_git", st == 0 and set(changed) <= {"kern/pgtable.c"},
                "exit %s, changed %s:\n%s" % (st, changed, tail(out)))
    else:
        c.check("make_format_without_git", st != 0 and "clang-format" in out, tail(out))

    # ---- the staff fix lab 1's given code and publish lab 2 ----
    pg = os.path.join(src, "kern", "pgtable.c")
    lines = read(pg).splitlines(keepends=True)
    # After the file's opening comment: far from every LAB region.
    at = next(i for i, line in enumerate(lines) if line.startswith("#include"))
    write(pg, "".join(lines[:at] + [STAFF_FIX] + lines[at:]))
    st, out = sh("git add -A && make -s branches DEST=%s UPTO=2" % course, src)
    _, branches = sh("git branch --format='%(refname:short)'", course)
    c.check("publish_lab2", st == 0 and sorted(branches.split()) == ["lab1", "lab2"] and
            "lab1 updated to" in out and "lab2 created at" in out,
            "exit %s, branches %s:\n%s" % (st, branches.split(), tail(out)))
    _, msg = sh("git log -1 --format=%B lab1", course)
    commands = [line.strip() for line in msg.splitlines() if line.startswith("    git ")]
    c.check("update_message", "Changed: kern/pgtable.c" in msg and commands ==
            ["git fetch origin && git merge --no-edit origin/lab1"], msg)

    # ---- the student takes the update, as its message says ----
    st, out = sh(" && ".join(commands) or "false", clone)
    mine = read(os.path.join(clone, "kern", "pgtable.c"))
    c.check("update_merged", st == 0 and STAFF_FIX in mine and MINE in mine,
            "exit %s, staff fix %s, student's code %s:\n%s"
            % (st, STAFF_FIX in mine, MINE in mine, tail(out)))

    # ---- and moves on to lab 2, as README.md, handouts/lab2.md and the commit say ----
    steps = fenced_after(readme, "**Moving on to the next lab.**")
    handout = fenced_after(read(os.path.join(clone, "handouts", "lab2.md")), "Getting this lab")
    _, msg2 = sh("git log -1 --format=%B origin/lab2", clone)
    in_msg = all(("    " + s) in msg2 for s in steps)
    c.check("moving_on_documented", len(steps) == 3 and steps == handout and in_msg,
            "README: %s\nhandouts/lab2.md: %s\nlab2 commit message has them: %s"
            % (steps, handout, in_msg))
    _, diff = sh("git diff --name-only origin/lab1 origin/lab2", clone)
    c.check("lab2_branch_keeps_lab1_files", diff.split() == ["labs/current.json"],
            "origin/lab1..origin/lab2 changes: %s" % diff.split())
    outs = []
    for step in steps:
        st, out = sh(step, clone)
        outs.append("$ %s\n%s" % (step, out))
        if st != 0:
            break
    mine = read(os.path.join(clone, "kern", "pgtable.c"))
    _, head = sh("git rev-parse --abbrev-ref HEAD", clone)
    ok = st == 0 and head.strip() == "lab2" and "CONFLICT" not in "".join(outs) and \
        '"lab": 2' in read(os.path.join(clone, "labs", "current.json")) and \
        STAFF_FIX in mine and MINE in mine and "LAB 1: your code here" not in mine and \
        os.path.exists(os.path.join(clone, "answers-lab1.txt")) and \
        "LAB 2: your code here" in read(os.path.join(clone, "kern", "aspace.c"))
    c.check("moved_to_lab2_keeping_lab1", ok, tail("\n".join(outs), 20))

    # ---- lab 2 done: lab 1 (the student's own) and lab 2 graded, 3 and 4 not yet ----
    shutil.copy(os.path.join(sol, "kern", "aspace.c"), os.path.join(clone, "kern", "aspace.c"))
    write(os.path.join(clone, "answers-lab2.txt"), "1. ...\n")
    st, out = sh("git add answers-lab2.txt && git commit -q -am 'lab 2 done'", clone)
    c.check("lab2_commit", st == 0, tail(out))
    st, out = sh("make -s check", clone, 120)
    c.check("lab2_make_check", st == 0 and not re.search(r"lab [12], not yet", out) and
            re.search(r"^100%: Checks: \d+, Failures: 0", out, re.M) is not None,
            "exit %s:\n%s" % (st, tail(out)))
    st, out = sh("make -s -j2 grade", clone, 600)
    problem = grade_ok(out, r"(\d+)/\1", [3, 4])
    labs_graded = re.findall(r"^Lab (\d) \(.*\): \d+/\d+$", out, re.M)
    c.check("lab2_make_grade", st == 0 and not problem and labs_graded == ["1", "2"],
            "exit %s, %s, labs graded %s:\n%s" % (st, problem, labs_graded, tail(out, 20)))
    st, out = sh("make -s handin", clone, 60)
    archive = os.path.join(clone, "handin-lab2.zip")
    names = zip_names(archive) if st == 0 and os.path.exists(archive) else None
    c.check("lab2_make_handin", names == ["answers-lab2.txt", "kern/aspace.c"],
            "exit %s, archive %s:\n%s" % (st, names, tail(out)))

    # ---- a staff update that conflicts with the student's code, resolved as
    # README.md's "On a conflict" says (keeping the student's whole file) ----
    text = read(pg)
    hint = re.search(r"/\* LAB 1 BEGIN((?: step \d+)?): (.*) \*/", text)
    write(pg, text.replace(hint.group(0), "/* LAB 1 BEGIN%s: %s (reworded) */"
                           % (hint.group(1), hint.group(2)), 1))
    st, out = sh("git add -A && make -s branches DEST=%s UPTO=2" % course, src)
    c.check("publish_conflicting_update", st == 0 and "lab2 updated to" in out, tail(out))
    st, out = sh("git fetch -q origin && git merge --no-edit origin/lab2", clone)
    conflict = st != 0 and "CONFLICT (content): Merge conflict in kern/pgtable.c" in out
    st2, out2 = sh("git checkout --ours kern/pgtable.c && git add kern/pgtable.c && "
                   "git commit -q --no-edit && make -s check", clone, 120)
    mine = read(os.path.join(clone, "kern", "pgtable.c"))
    c.check("conflict_resolved_as_documented", conflict and st2 == 0 and MINE in mine and
            STAFF_FIX in mine and "<<<<<<<" not in mine and
            re.search(r"^100%: Checks", out2, re.M) is not None,
            "merge exit %s (conflict reported: %s):\n%s\nresolution exit %s:\n%s"
            % (st, conflict, tail(out, 6), st2, tail(out2, 8)))


def read_bytes(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


if __name__ == "__main__":
    sys.exit(main())
