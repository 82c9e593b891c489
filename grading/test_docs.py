#!/usr/bin/env python3
"""Run every command the README and the handouts tell a person to type.

Commands are read from the documents themselves: each line of a fenced code
block and each inline code span that starts like a command (`make ...`,
`VAR=... make ...`, `grading/...`, `python3 ...`, `gdb ...`). Each one must
match a case below, which runs it (or a concrete instance of a usage line
such as `make handout LAB=N DEST=DIR`) with a timeout and checks its output.
A documented command that no case covers fails: a new command in a document
needs a case here, so that a broken one fails `make test`.

Prints one line per command and `N passed, M failed` last.
"""
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grading"))
import gradelib as gl  # noqa: E402
from test_gdb import listening  # noqa: E402

DOCUMENTS = ["README.md", "handouts/*.md", "labs/README.md", "grading/README.md"]
COMMAND_START = re.compile(r"^(?:[A-Z_]+=\S+ )*(?:make|gdb|grading/|labs/|python3 )")


def documented_commands():
    """{command: [where, ...]} from the documents' code blocks and spans."""
    found = {}

    def add(cmd, where):
        cmd = re.split(r"\s{2,}|\s#\s", cmd.strip())[0].strip()
        if cmd.startswith("$ "):
            cmd = cmd[2:]
        if re.match(r"^(grading|labs)/\S*$", cmd):
            return  # a file named in the text, not a command
        if COMMAND_START.match(cmd):
            found.setdefault(cmd, []).append(where)

    for pattern in DOCUMENTS:
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            rel = os.path.relpath(path, ROOT)
            fenced = False
            with open(path) as f:
                for n, line in enumerate(f, 1):
                    if line.startswith("```"):
                        fenced = not fenced
                        continue
                    where = "%s:%d" % (rel, n)
                    if fenced:
                        add(line, where)
                    else:
                        for span in re.findall(r"`([^`]+)`", line):
                            add(span, where)
    return found


def student_lab():
    path = os.path.join(ROOT, "labs", "current.json")
    if os.path.exists(path):
        with open(path) as f:
            return json.load(f).get("lab")
    return None


def env():
    e = gl.make_env()
    e.pop("DISPLAY", None)  # `make qemu` opens no window here
    return e


def spawn(cmd, cwd=ROOT, stdin=subprocess.DEVNULL):
    """cmd through the shell in its own process group (see finish)."""
    return subprocess.Popen(cmd, shell=True, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, env=env(), start_new_session=True)


def finish(p, timeout, data=None):
    """(status, output) of p; on timeout its whole group (make, QEMU, GDB) is
    killed and status is None."""
    try:
        out = p.communicate(data, timeout=timeout)[0]
        return p.returncode, out.decode(errors="replace")
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out = p.communicate()[0]
        return None, out.decode(errors="replace") + "\n[timed out after %ds]" % timeout


def sh(cmd, timeout, cwd=ROOT):
    """Run cmd through the shell; (status, output). status None on timeout."""
    return finish(spawn(cmd, cwd), timeout)


def expect(status, out, pattern, want_status=0):
    """(ok, detail): status as wanted and pattern found in the output."""
    if want_status is not None and status != want_status:
        return False, "exit status %s, expected %s:\n%s" % (status, want_status, tail(out))
    if pattern and not re.search(pattern, out, re.M):
        return False, "no match for /%s/ in:\n%s" % (pattern, tail(out))
    return True, ""


def tail(out, n=15):
    return "\n".join(out.strip().splitlines()[-n:])


# ---- runners: each takes the documented command (and its regex match) ----------

def run_plain(pattern, timeout=120, want_status=0):
    def runner(cmd, m):
        return expect(*sh(cmd, timeout), pattern, want_status)
    return runner


def run_qemu(cmd, m):
    """A boot: with a test list it must end with the tests passed; with run=
    the program's output; with nothing to run, a quit with Ctrl-A x."""
    cmdline = re.search(r'CMDLINE="([^"]*)"', cmd)
    if cmdline is None:
        return quit_after_banner(cmd)
    if "run=" in cmdline.group(1):
        prog = cmdline.group(1).split("run=")[1].split()
        return expect(*sh(cmd, 60), r"ring 3:.*\[%s\]" % re.escape(prog[-1]) +
                      r"[\s\S]*pagoda: the kernel is done")
    return expect(*sh(cmd, 90), r"^TEST SUMMARY \d+ passed, 0 failed[\s\S]*"
                  r"pagoda: all selected tests passed")


def quit_after_banner(cmd):
    """Boot with nothing to run, wait for the kernel's prompt, type Ctrl-A x."""
    p = spawn(cmd, stdin=subprocess.PIPE)
    out, deadline = b"", time.time() + 120
    os.set_blocking(p.stdout.fileno(), False)
    while time.time() < deadline and p.poll() is None:
        chunk = p.stdout.read() or b""
        out += chunk
        if b"nothing to run" in out:
            p.stdin.write(b"\x01x")
            p.stdin.flush()
            break
        time.sleep(0.05)
    os.set_blocking(p.stdout.fileno(), True)
    status, rest = finish(p, 20)
    out = out.decode(errors="replace") + rest
    if status is None:
        return False, "QEMU did not quit on Ctrl-A x:\n" + tail(out)
    return expect(status, out,
                  r"nothing to run[\s\S]*pagoda: QEMU exited \(quit by you\)")


def run_kvm(cmd, m):
    """KVM is an opt-in that these machines cannot run usefully (a boot takes
    a minute): check the command line it produces, without booting."""
    return expect(*sh("make -n " + cmd[len("make "):], 30), r"qemucmd\.py run .*--kvm")


def run_deps(cmd, m):
    status, missing = sh("tools/deps.sh missing", 30)
    if missing.strip():
        return True, "skipped: packages missing here (%s); make deps would install them" \
            % " ".join(missing.split())
    if cmd.strip() == "make deps":
        return expect(*sh(cmd, 60), r"deps: all packages present")
    return quit_after_banner(cmd)


def run_check(cmd, m):
    """In a student's tree the host tests of their own labs may fail: the work
    is in progress. Elsewhere every test must pass."""
    if student_lab() is not None:
        return expect(*sh(cmd, 120), r"^\d+%: Checks: \d+, Failures: \d+, Errors: \d+", None)
    return expect(*sh(cmd, 120), r"^100%: Checks: \d+, Failures: 0, Errors: 0")


def run_grade(cmd, m):
    lab = re.search(r"(?:grade-lab|LAB=)(\d)", cmd)
    mine = student_lab()
    if mine is not None and lab is not None and int(lab.group(1)) > mine:
        return expect(*sh(cmd, 600), r"^Lab \d+ \(.*\): not yet")  # not released here
    if mine is not None and (lab is None or int(lab.group(1)) >= mine):
        return expect(*sh(cmd, 600), r"^Score: \d+/\d+$", None)  # the student's own work
    return expect(*sh(cmd, 600), r"^Score: (\d+)/\1$")


def run_grade_json(cmd, m):
    """As documented, it writes results.json here; check it and remove it."""
    path = os.path.join(ROOT, "results.json")
    existed = os.path.exists(path)
    ok, detail = run_grade(cmd, m)
    try:
        with open(path) as f:
            data = json.load(f)
        ok = ok and data["score"] == sum(t["max_score"] for t in data["tests"])
    except (OSError, ValueError, KeyError) as e:
        ok, detail = False, "results.json: %s" % e
    finally:
        if not existed and os.path.exists(path):
            os.unlink(path)
    return ok, detail


def run_bench(cmd, m):
    return expect(*sh(cmd, 600), r"copy_from_user[\s\S]*SMP=det[\s\S]*IPI\(s\)[\s\S]*"
                  r"SMP=parallel[\s\S]*IPI\(s\)")


def run_creating(cmd, timeout, path, cwd=ROOT):
    """Run cmd: it must exit 0 and leave path behind (when path is given)."""
    status, out = sh(cmd, timeout, cwd=cwd)
    ok, detail = expect(status, out, None)
    if ok and path and not os.path.exists(path):
        return False, "exit %s, no %s:\n%s" % (status, path, tail(out))
    return ok, detail


def in_scratch_copy(cmd, pattern, tool, package, timeout=300):
    """Run cmd in a copy of the tree (it rewrites or cleans it)."""
    with tempfile.TemporaryDirectory(prefix="pagoda-docs-") as tmp:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, stdout=subprocess.PIPE)
        names = [n for n in files.stdout.decode().split("\0") if n] if files.returncode == 0 \
            else None
        if not names:
            shutil.copytree(ROOT, tmp, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("obj", ".git"))
        for name in names or []:
            os.makedirs(os.path.dirname(os.path.join(tmp, name)) or tmp, exist_ok=True)
            shutil.copy2(os.path.join(ROOT, name), os.path.join(tmp, name))
        if shutil.which(tool) is None:
            return expect(*sh(cmd, timeout, cwd=tmp), r"'%s' is missing: install the Debian "
                          "package '%s'" % (re.escape(tool), package), None)
        return run_creating(cmd, timeout, os.path.join(tmp, pattern) if pattern else None,
                            cwd=tmp)


def run_format(cmd, m):
    return in_scratch_copy(cmd, None, "clang-format", "clang-format")


def run_compile_commands(cmd, m):
    return in_scratch_copy(cmd, "compile_commands.json", "bear", "bear")


class Scratch:
    """A scratch directory shared by the staff commands (handout, branches, ...)."""
    dir = None


def scratch(name):
    """A path in the scratch directory, with nothing left there from before."""
    if Scratch.dir is None:
        Scratch.dir = tempfile.mkdtemp(prefix="pagoda-docs-")
    path = os.path.join(Scratch.dir, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def staff_only(runner):
    def wrapped(cmd, m):
        if not os.path.exists(os.path.join(ROOT, "labs", "mklab.py")):
            if not cmd.startswith("make "):
                return True, "skipped: a staff command; this is a student tree"
            return expect(*sh(cmd.split(" [")[0], 30), r"needs the staff's reference tree",
                          None)
        return runner(cmd, m)
    return wrapped


@staff_only
def run_handout(cmd, m):
    m = re.search(r"LAB=(\d)", cmd)
    lab = int(m.group(1)) if m else 1
    dest = scratch("handout-lab%d" % lab)
    return run_creating("make handout LAB=%d DEST=%s" % (lab, dest), 300,
                        os.path.join(dest, "labs", "current.json"))


@staff_only
def run_branches(cmd, m):
    """A staged release into a new repository: branches lab1..labUPTO, none later
    (UPTO=N: every lab)."""
    upto = re.search(r"UPTO=(\d+)", cmd)
    upto = int(upto.group(1)) if upto else max(gl.available_labs())
    dest = scratch("course-repo")
    status, out = sh("make branches DEST=%s UPTO=%d" % (dest, upto), 600)
    ok, detail = expect(status, out, None)
    if not ok:
        return ok, detail
    _, branches = sh("git branch --format='%(refname:short)'", 30, cwd=dest)
    want = ["lab%d" % n for n in gl.available_labs() if n <= upto]
    ok = sorted(branches.split()) == want
    return ok, "" if ok else "branches in %s: %s, expected %s" % (dest, branches.split(), want)


def run_handin(cmd, m):
    """make handin in a lab tree: this one, or a new lab-1 tree in the reference.
    It must pack the lab's student files and say so."""
    mine = student_lab()
    tree = ROOT
    if mine is None:
        tree = scratch("handin-lab1")
        status, out = sh("make handout LAB=1 DEST=%s" % tree, 300)
        if status != 0:
            return False, "make handout LAB=1 failed:\n" + tail(out)
    lab = mine or 1
    files = gl.lab_manifest(lab)["student_files"]
    archive = os.path.join(tree, "handin-lab%d.zip" % lab)
    existed = os.path.exists(archive)
    try:
        ok, detail = expect(*sh(cmd, 60, cwd=tree), r"^handin: lab %d .*packed" % lab)
        if ok:
            import zipfile
            with zipfile.ZipFile(archive) as z:
                names = z.namelist()
            extra = [n for n in names if n not in files and not n.startswith("answers-lab")]
            if not set(files) <= set(names) or extra:
                return False, "%s holds %s, expected %s (and an answers file)" % (
                    archive, names, files)
        return ok, detail
    finally:
        if not existed and os.path.exists(archive):
            os.unlink(archive)


@staff_only
def run_autograder(cmd, m):
    """make autograder LAB=N: that lab's zip; make autograders: one per lab."""
    if cmd == "make autograders":
        labs = gl.available_labs()
        return run_creating(cmd, 300, os.path.join(ROOT, "obj", "autograder-lab%d.zip"
                                                   % labs[-1]))
    lab = re.search(r"LAB=(\d+|N)", cmd).group(1)
    lab = "1" if lab == "N" else lab
    return run_creating("make autograder LAB=%s" % lab, 300,
                        os.path.join(ROOT, "obj", "autograder-lab%s.zip" % lab))


@staff_only
def run_brief(cmd, m):
    """HINTS=brief: the tree's stub comments point at the handout and keep no
    design hint, and labs/current.json says so (handout, branch or bundle)."""
    lab = re.search(r"(?:LAB|UPTO)=(\d+|N)", cmd).group(1)
    lab = 1 if lab == "N" else int(lab)
    student = gl.lab_manifest(lab)["student_files"][0]
    dest = scratch("brief-%s" % cmd.split()[1])
    if cmd.startswith("make handout"):
        status, out = sh("make handout LAB=%d DEST=%s HINTS=brief" % (lab, dest), 300)
        read = lambda rel: open(os.path.join(dest, rel)).read() if status == 0 else ""
    elif cmd.startswith("make branches"):
        status, out = sh("make branches DEST=%s UPTO=%d HINTS=brief" % (dest, lab), 300)
        read = lambda rel: sh("git show lab%d:%s" % (lab, rel), 30, cwd=dest)[1]
    else:
        status, out = sh("make autograder LAB=%d HINTS=brief" % lab, 300)
        import zipfile
        zpath = os.path.join(ROOT, "obj", "autograder-lab%d.zip" % lab)
        read = lambda rel: zipfile.ZipFile(zpath).read("tree/" + rel).decode()
    if status != 0:
        return False, "%s: exit %s\n%s" % (cmd, status, tail(out))
    stamp, code = json.loads(read("labs/current.json")), read(student)
    ok = stamp.get("hints") == "brief" and \
        "your code here; see handouts/lab%d.md section" % lab in code and \
        "your code here. " not in code
    return ok, "" if ok else "%s: hints %r, stub comments: %s" % (
        cmd, stamp.get("hints"), re.findall(r"/\* LAB \d+: [^\n]*", code)[:3])


@staff_only
def run_autograder_usage(cmd, m):
    """Without LAB= it must stop with its usage, not bundle every lab."""
    return expect(*sh(cmd, 60), r"usage: make autograder LAB=N", 2)


def run_results_validator(cmd, m):
    """A results.json as the grader writes it passes; a top-level status does not."""
    good = {"score": 2, "output": "", "output_format": "text", "tests": [
        {"name": "Walk: lab1.walk", "number": "1.1", "score": 2, "max_score": 2,
         "status": "passed", "output_format": "text", "extra_data": {"class": "pass"}}]}
    path = scratch("results.json")
    for data, want, pattern in ((good, 0, None), (dict(good, status="build-error"), 1,
                                                   r"'status' is not in Gradescope's")):
        with open(path, "w") as f:
            json.dump(data, f)
        ok, detail = expect(*sh(cmd.replace("FILE", path), 60), pattern, want)
        if not ok:
            return ok, detail
    return True, ""


@staff_only
def run_grade_submission(cmd, m):
    """Grade a generated lab-3 tree (labs 1-2 solved in it) as lab 2: full marks."""
    tree = scratch("submission-lab3")
    status, out = sh("make handout LAB=3 DEST=%s" % tree, 300)
    if status != 0:
        return False, "make handout LAB=3 failed:\n" + tail(out)
    results = scratch("results.json")
    status, out = sh("grading/grade-submission %s --lab 2 --json %s" % (tree, results), 600)
    if not os.path.exists(results):
        return False, "no results.json (exit %s):\n%s" % (status, tail(out))
    with open(results) as f:
        data = json.load(f)
    total = sum(t["max_score"] for t in data.get("tests", []))
    if data.get("score") != total or total == 0:
        return False, "score %s of %s:\n%s" % (data.get("score"), total, tail(out))
    return True, ""


def run_gdb_pair(cmd, m):
    """`make qemu-gdb ...` in one terminal, `make gdb` in another: GDB connects,
    continues, and the kernel runs its tests to the end. Without a CMDLINE the
    kernel would wait for a person: this instance runs boot.console."""
    if "CMDLINE=" not in cmd:
        cmd += ' CMDLINE="test=boot.console"'
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    qemu = spawn(cmd + " GDBPORT=%d" % port)
    deadline = time.time() + 60
    while time.time() < deadline and qemu.poll() is None and not listening(port):
        time.sleep(0.05)
    gdb = spawn("make gdb GDBPORT=%d" % port, stdin=subprocess.PIPE)
    _, gdb_out = finish(gdb, 120, b"continue\nquit\n")
    status, qemu_out = finish(qemu, 60)
    ok, detail = expect(status, qemu_out, r"waiting for GDB[\s\S]*"
                        r"pagoda: all selected tests passed")
    if ok and "Continuing." not in gdb_out:
        return False, "GDB did not connect and continue:\n" + tail(gdb_out)
    return ok, detail


def run_memview_console(cmd, m):
    """The memory viewer's maps over serial: after boot (with halt) or after each
    test. A tree whose lab-1 walker is a stub says so instead of drawing."""
    status, out = sh(cmd, 90)
    if "lab 1's walker is not written yet" in out:
        return True, "the walker is a stub here: the kernel says so"
    pattern = r"^physical memory: \d+ frames[\s\S]*^legend:[\s\S]*^==== memview end: 0 finding"
    if "test=" in cmd:
        pattern += r"[\s\S]*pagoda: all selected tests passed"
    return expect(status, out, pattern, None)


def run_memview_page(cmd, m):
    """make memview: the page is written and has its structure."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    import memview
    status, out = sh(cmd, 120)
    ok, detail = expect(status, out, r"^memview: wrote obj/memview\.html")
    if not ok or "lab 1's walker is not written yet" in open(
            os.path.join(ROOT, "obj", "memview.log"), errors="replace").read():
        return ok, detail
    with open(os.path.join(ROOT, "obj", "memview.html")) as f:
        bad = [n + ": " + why for n, ok, why in memview.check_page(f.read(), min_depth=2)
               if not ok]
    return not bad, "; ".join(bad)


def run_clang_grade(cmd, m):
    """The clang build grades like GCC's. In obj-clang, the build make test's
    clang step made, so that obj/ stays GCC's."""
    if shutil.which("clang") is None or shutil.which("ld.lld") is None:
        return True, "skipped: clang not installed (the Debian packages 'clang' and 'lld')"
    return run_grade(cmd + " OBJ=obj-clang", m)


def not_runnable_here(reason):
    def runner(cmd, m):
        return True, "not runnable here: " + reason
    return runner


def covered_elsewhere(step):
    def runner(cmd, m):
        return True, "run by make test's %s step" % step
    return runner


# (regex over the documented command, runner). First match wins.
CASES = [
    (r"^make test$", covered_elsewhere("whole (this very run)")),
    (r"^make discriminate( \[LAB=N\])?$", covered_elsewhere("discriminate")),
    (r"^python3 labs/mklab\.py check$", covered_elsewhere("labs_check")),
    (r"^make( V=1)?$", run_plain(None)),
    (r"^make deps( qemu-nox)?$", run_deps),
    (r"^make qemu(-nox)? KVM=1$", run_kvm),
    (r"^make qemu(-nox)? CMDLINE=\"[^\"]*\bmemview\b[^\"]*\"$", run_memview_console),
    (r"^make qemu(-nox)?( CPUS=\d)?( SMP=\w+)?( CMDLINE=\"[^\"]*\")?$", run_qemu),
    (r"^make memview( CMDLINE=\"[^\"]*\")?$", run_memview_page),
    (r"^make qemu-gdb( CPUS=\d)?( CMDLINE=\"[^\"]*\")?$", run_gdb_pair),
    (r"^make gdb$", covered_elsewhere("make qemu-gdb pair")),
    (r"^(CK_[A-Z_]+=\S+ )*make check$", run_check),
    (r"^(CK_FORK=no )?gdb obj/host/check_pagoda$", lambda cmd, m: expect(*sh(
        "make -s obj/host/check_pagoda && CK_FORK=no gdb -q -batch -ex run obj/host/check_pagoda",
        120), r"100%: Checks: \d+, Failures: 0")),
    (r"^make grade( LAB=\d)?$|^make grade-lab\d$", run_grade),
    (r"^make CC=clang LD=ld\.lld grade$", run_clang_grade),
    (r"^make distro-check SUITE=\w+$", not_runnable_here(
        "it needs root, debootstrap, a Debian mirror and 10-15 minutes per release; "
        "run by hand, results in README.md")),
    (r"^make grade-lab\d GRADEFLAGS=\"--seed (N|\d+)\"$",
     lambda cmd, m: run_grade(cmd.replace("--seed N", "--seed 42"), m)),
    (r"^make grade-lab\d SMP=parallel$", lambda cmd, m: expect(*sh(cmd, 600),
                                                                r"^Score: \d+/\d+$|: not yet",
                                                                None)),
    (r"^make grade GRADEFLAGS=\"--json results.json --seed \d+\"$", run_grade_json),
    (r"^python3 grading/grade\.py --help$", run_plain(r"^usage: grade\.py")),
    (r"^gdb$", covered_elsewhere("gdb (grading/test_gdb.py: GDB with .gdbinit)")),
    (r"^make bench$", run_bench),
    (r"^make soak( .*)?$", lambda cmd, m: expect(*sh(re.sub(r"SEEDS=\d+", "SEEDS=3", cmd),
                                                          600), r"^\d+ passed, 0 failed$")),
    (r"^make format$", run_format),
    (r"^make compile_commands\.json$", run_compile_commands),
    (r"^make (handout LAB=[N\d] DEST=\S+|branches DEST=\S+ UPTO=[N\d]|autograder LAB=[N\d]) "
     r"HINTS=brief$", run_brief),
    (r"^make handout LAB=[N\d] DEST=\S+( \[?STUB_ALL=1\]?)?$", run_handout),
    (r"^make branches DEST=\S+ UPTO=[N\d]$", run_branches),
    (r"^make handin$", run_handin),
    (r"^make autograder LAB=(N|\d+)$|^make autograders$", run_autograder),
    (r"^make autograder$", run_autograder_usage),
    (r"^python3 grading/test_bundle\.py$", covered_elsewhere("bundle")),
    (r"^python3 grading/gradescope\.py FILE$", run_results_validator),
    (r"^grading/grade-submission DIR .*$", run_grade_submission),
]

# Fragments in running text that complete a command shown elsewhere.
FRAGMENTS = {"CK_RUN_SUITE=aspace CK_RUN_CASE=model": "CK_RUN_SUITE=aspace CK_RUN_CASE=model "
             "make check"}


def main():
    commands = documented_commands()
    passed = failed = 0
    t_all = time.time()
    for cmd in sorted(commands, key=lambda c: commands[c][0]):
        where = commands[cmd][0]
        concrete = FRAGMENTS.get(cmd, cmd)
        runner = next(((r, re.match(p, concrete)) for p, r in CASES if re.match(p, concrete)),
                      None)
        t = time.time()
        if runner is None:
            ok, detail = False, "documented but not run by make test: add a case to " \
                "grading/test_docs.py"
        else:
            try:
                ok, detail = runner[0](concrete, runner[1])
            except Exception as e:  # a broken case is a failure, not a crash
                ok, detail = False, "%s: %s" % (type(e).__name__, e)
        print("docs: %s: %s (%.1fs) [%s]%s" % (
            cmd, "OK" if ok else "FAIL", time.time() - t, where,
            "" if ok and not detail else "\n    " + str(detail).replace("\n", "\n    ")),
            flush=True)
        passed, failed = (passed + 1, failed) if ok else (passed, failed + 1)
    if Scratch.dir:
        shutil.rmtree(Scratch.dir, ignore_errors=True)
    print("docs: %d documented commands in %.1fs" % (len(commands), time.time() - t_all))
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
