#!/usr/bin/env python3
"""End-to-end test of the Gradescope bundle, as Gradescope runs it.

  python3 grading/test_bundle.py [--lab N] [--keep]

Builds the bundle with `make autograder LAB=N`, unpacks it into a throw-away
directory laid out like Gradescope's /autograder (source/, submission/,
results/, submission_metadata.json, run_autograder copied beside source/), and
runs that run_autograder, unchanged, on one submission after another: the
reference file (full marks), a flat upload, a whole repository inside a
folder that claims another lab, the handed-out stub (0), a file that does not
compile (build-error), an #include of a bundle file (must not compile, no
points, no solution text), an upload with two different files of one name (a
message naming both), a SIGTERM while QEMU runs and a SIGINT during the
build (QEMU or the compiler killed, results written). Every results.json is checked against Gradescope's specification
(grading/gradescope.py).

As root (CI, Gradescope) submissions run as the user `nobody`; otherwise the
privilege drop cannot happen and the checks that need it say "simulated".
Prints one line per check and `N passed, M failed` last. Staff only (not in
student trees): it needs labs/mklab.py.
"""
import argparse
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grading"))
import gradelib as gl  # noqa: E402
import gradescope  # noqa: E402

USER = "nobody"
RUN_TIMEOUT = 300
TITLE = "Lab 4: SMP TLB shootdown"  # names another lab: the bundle's lab must win


class Tally:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail="", took=None, why=""):
        """detail is shown always, why (the evidence, e.g. the output) on failure."""
        timing = " (%.1fs)" % took if took is not None else ""
        if not ok and why:
            detail = "%s\n%s" % (detail, why)
        print("bundle: %s: %s%s%s" % (name, "OK" if ok else "FAIL", timing,
                                      "" if not detail else
                                      ("\n    " if not ok else " -- ") +
                                      str(detail).replace("\n", "\n    ")), flush=True)
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        return ok


def tail(text, n=25):
    return "\n".join(text.strip().splitlines()[-n:])


def solution_lines(lab):
    """Long lines of every solution region of lab >= `lab` in the reference: text
    that must appear in no bundle file and no output."""
    files = set()
    for n in gl.available_labs():
        if n >= lab:
            files.update(gl.lab_manifest(n)["student_files"])
    found = set()
    for path in sorted(files):
        inside = False
        with open(os.path.join(ROOT, path)) as f:
            for line in f:
                m = re.match(r"\s*/\* LAB (\d+) (BEGIN|STUB)", line)
                if m:
                    inside = m.group(2) == "BEGIN" and int(m.group(1)) >= lab
                    continue
                # mklab's leak check's "long line": shorter ones also occur in tests.
                if inside and len("".join(line.split())) >= 40:
                    found.add(line.strip())
    return found


def unpack(zip_path, dest):
    """What Gradescope does with the bundle, keeping the mode bits (zipfile's
    extractall drops them)."""
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            path = zf.extract(info, dest)
            mode = (info.external_attr >> 16) & 0o777
            if mode and not info.is_dir():
                os.chmod(path, mode)


class Gradescope:
    """A throw-away /autograder: the bundle in source/, one submission at a time."""

    def __init__(self, top, zip_path, lab):
        self.ag = os.path.join(top, "autograder")
        self.lab = lab
        unpack(zip_path, os.path.join(self.ag, "source"))
        # Gradescope copies run_autograder next to source/ and runs the copy.
        shutil.copy2(os.path.join(self.ag, "source", "run_autograder"),
                     os.path.join(self.ag, "run_autograder"))
        self.root = os.geteuid() == 0
        self.env = dict(gl.make_env(), PAGODA_AUTOGRADER=self.ag, PAGODA_GRADE_USER=USER)

    def submission(self, files):
        """files: {relative path: text}, written into a fresh submission/."""
        sub = os.path.join(self.ag, "submission")
        for d in (sub, os.path.join(self.ag, "results")):
            shutil.rmtree(d, ignore_errors=True)
        os.makedirs(sub)
        for rel, text in files.items():
            p = os.path.join(sub, rel)
            os.makedirs(os.path.dirname(p), exist_ok=True)
            with open(p, "w") as f:
                f.write(text)
        with open(os.path.join(self.ag, "submission_metadata.json"), "w") as f:
            json.dump({"assignment": {"title": TITLE}, "id": 1}, f)
        return sub

    def start(self):
        return subprocess.Popen(["sh", os.path.join(self.ag, "run_autograder")],
                                env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace",
                                start_new_session=True)

    def run(self, files):
        """(exit status, output, results or None, seconds) of grading files."""
        self.submission(files)
        t = time.time()
        proc = self.start()
        try:
            out, _ = proc.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            out += "\n[test] run_autograder killed after %ds" % RUN_TIMEOUT
        return proc.returncode, out, self.results(), time.time() - t

    def results(self):
        try:
            with open(os.path.join(self.ag, "results", "results.json")) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None


def max_score(data):
    return sum(t["max_score"] for t in data["tests"])


def lab_tests(data, lab):
    """Whether results hold exactly lab's tests (by the grader's test names)."""
    want = {t["name"] for _, t in gl.manifest_tests(gl.lab_manifest(lab))}
    return {(t.get("extra_data") or {}).get("test") for t in data.get("tests", [])} == want


def classes(data):
    return {(t.get("extra_data") or {}).get("class") for t in data.get("tests", [])}


def pids_below(pid, prefix):
    """Processes whose command starts with prefix anywhere below pid (QEMU runs
    in a session of its own)."""
    children = gl.process_children()
    found, todo = [], [pid]
    while todo:
        for c, comm in children.get(todo.pop(), []):
            todo.append(c)
            if comm.startswith(prefix):
                found.append(c)
    return found


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    ap.add_argument("--lab", type=int, default=1)
    ap.add_argument("--keep", action="store_true", help="keep the throw-away root")
    args = ap.parse_args()
    lab = args.lab
    tally = Tally()
    if not os.path.exists(os.path.join(ROOT, "labs", "mklab.py")):
        print("bundle: staff only (no labs/mklab.py in this tree): nothing to test")
        print("0 passed, 0 failed")
        return 0
    top = tempfile.mkdtemp(prefix="pagoda-test-bundle-")
    try:
        run_all(tally, top, lab)
    finally:
        if args.keep:
            print("bundle: kept %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)
    print("%d passed, %d failed" % (tally.passed, tally.failed))
    return 0 if tally.failed == 0 else 1


def run_all(tally, top, lab):
    manifest = gl.lab_manifest(lab)
    total = sum(t["points"] for _, t in gl.manifest_tests(manifest))
    student = manifest["student_files"][0]
    name = os.path.basename(student)
    with open(os.path.join(ROOT, student)) as f:
        reference = f.read()
    secrets = solution_lines(lab)
    tally.check("solution_lines_known", len(secrets) >= 5,
                "%d solution line(s) of lab %d and later to look for" % (len(secrets), lab))

    def leaked(text):
        return sorted(s for s in secrets if s in text)

    # -- the bundle ---------------------------------------------------------------
    p = subprocess.run(["make", "-s", "autograder"], cwd=ROOT, env=gl.make_env(),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tally.check("make_autograder_needs_LAB", p.returncode != 0 and "LAB=N" in p.stdout,
                "exit %s, usage shown" % p.returncode, why=tail(p.stdout))
    objdir = os.path.join(top, "obj")
    t = time.time()
    p = subprocess.run(["make", "-s", "autograder", "LAB=%d" % lab, "OBJ=" + objdir], cwd=ROOT,
                       env=gl.make_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    zip_path = os.path.join(objdir, "autograder-lab%d.zip" % lab)
    if not tally.check("make_autograder_LAB%d" % lab, p.returncode == 0 and
                       os.path.exists(zip_path), tail(p.stdout) if p.returncode else
                       "%s, %d KiB" % (os.path.basename(zip_path),
                                       os.path.getsize(zip_path) // 1024), time.time() - t):
        return
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        tops = {n.split("/")[0] + ("/" if "/" in n else "") for n in names}
        want = {"setup.sh", "run_autograder", "grade-submission", "bundle.json", "tree/"}
        tally.check("bundle_layout", tops == want, "top level: %s" % sorted(tops))
        info = json.loads(zf.read("bundle.json"))
        tally.check("bundle_names_its_lab", info.get("lab") == lab, "bundle.json: %s" % info)
        found = {}
        for n in names:
            if not n.endswith("/"):
                for s in leaked(zf.read(n).decode("utf-8", "replace")):
                    found.setdefault(n, s)
        tally.check("bundle_holds_no_solution", not found,
                    "%d files, no line of a lab-%d+ solution" % (len(names), lab) if not found
                    else "solution text in: %s" % found)

    gs = Gradescope(top, zip_path, lab)
    with open(os.path.join(gs.ag, "source", "tree", student)) as f:
        stub = f.read()
    drop = gs.root
    if drop:
        try:
            pwd.getpwnam(USER)
        except KeyError:
            tally.check("build_user_exists", False, "no user %r to build as" % USER)
            return
    simulated = "" if drop else " [simulated: not root, so no privilege drop]"
    times = []

    def grade(case, files):
        rc, out, data, took = gs.run(files)
        times.append(took)
        problems = ["no results.json"] if data is None else gradescope.validate(data)
        tally.check("%s_results_valid" % case, not problems,
                    "; ".join(problems) + "\n" + tail(out) if problems else "", took)
        return rc, out, data or {"tests": [], "score": None, "output": ""}

    # -- the reference, three ways ----------------------------------------------------
    rc, out, data = grade("reference", {student: reference})
    tally.check("reference_full_marks", data["score"] == total and lab_tests(data, lab),
                "score %s of %s" % (data["score"], total), why=tail(out))
    as_user = "building as user %s" % USER
    if drop:
        tally.check("reference_built_unprivileged", as_user in out,
                    "built and booted as user %s" % USER if as_user in out else tail(out))
    else:
        tally.check("reference_built_unprivileged", True, simulated.strip(" []"))
    tally.check("execution_time_includes_build",
                data.get("execution_time", 0) >= data.get("extra_data", {}).get(
                    "build_seconds", 1e9) and "build_seconds" in data.get("extra_data", {}),
                "execution_time %s, build %ss" % (data.get("execution_time"),
                                                 data.get("extra_data", {}).get("build_seconds")))
    names_ok = all(t["name"].endswith(": " + t["extra_data"]["test"]) and
                   t["name"].startswith(t["extra_data"]["part"] + ": ") and "number" in t
                   for t in data["tests"])
    tally.check("test_names_carry_part", names_ok and data["tests"] != [],
                "e.g. %r" % (data["tests"][0]["name"] if data["tests"] else None))

    rc, out, data = grade("flat", {name: reference})
    tally.check("flat_upload_full_marks", data["score"] == total and lab_tests(data, lab),
                "score %s of %s" % (data["score"], total), why=tail(out))

    # A whole repository inside a folder, whose own labs/current.json and title
    # both name lab 4, with an edit outside the student files.
    repo = {}
    tree = os.path.join(gs.ag, "source", "tree")
    for dirpath, _, filenames in os.walk(tree):
        for f in filenames:
            rel = os.path.relpath(os.path.join(dirpath, f), tree)
            try:
                with open(os.path.join(dirpath, f)) as fh:
                    repo["pagoda-main/" + rel] = fh.read()
            except UnicodeDecodeError:
                pass
    repo["pagoda-main/" + student] = reference
    repo["pagoda-main/labs/current.json"] = json.dumps({"lab": 4})
    repo["pagoda-main/Makefile"] += "\n# my edit\n"
    rc, out, data = grade("whole_repository", repo)
    tally.check("whole_repository_graded_as_bundle_lab",
                data["score"] == total and lab_tests(data, lab),
                "score %s of %s, lab %d's tests" % (data["score"], total, lab), why=tail(out))
    said = [l for l in data.get("output", "").splitlines() if "ignored" in l]
    tally.check("whole_repository_edit_reported", said != [] and "Makefile" in said[0],
                said[0] if said else "no 'ignored' line", why=data.get("output", "")[:300])

    # -- what must score nothing ------------------------------------------------------
    rc, out, data = grade("stub", {name: stub})
    # Gradescope reads the score from results.json: the exit status says only
    # that results.json was written.
    tally.check("stub_scores_zero", data["score"] == 0 and lab_tests(data, lab) and
                rc == 0, "score %s, exit %s" % (data["score"], rc), why=tail(out))

    rc, out, data = grade("build_error", {name: reference + "\nthis does not compile;\n"})
    tally.check("build_error_scores_zero", data["score"] == 0 and lab_tests(data, lab) and
                classes(data) == {gl.BUILD} and "error" in data.get("output", ""),
                "classes %s, score %s" % (classes(data), data["score"]), why=tail(out))

    # The old bundle's hole: include a staff file. Here the bundle's own tree
    # (readable to a build as root) and the path the old all-labs bundle had.
    src = os.path.join(gs.ag, "source")
    attack = '#include "%s/tree/%s"\n#include "%s/lab%d/%s"\n' % (src, student, src, lab + 1,
                                                                   student)
    rc, out, data = grade("include_attack", {name: attack})
    text = out + json.dumps(data)
    if drop:
        tally.check("include_attack_cannot_read_bundle", classes(data) == {gl.BUILD} and
                    "Permission denied" in data.get("output", ""),
                    "classes %s, Permission denied" % classes(data), why=tail(out))
    else:
        tally.check("include_attack_cannot_read_bundle", True, simulated.strip(" []"))
    tally.check("include_attack_no_points", data["score"] == 0,
                "score %s%s" % (data["score"], simulated))
    tally.check("include_attack_no_solution_text", not leaked(text),
                "leaked: %s" % leaked(text)[:3])
    if drop:
        mode = os.stat(src).st_mode & 0o777
        tally.check("bundle_unreadable_after_run", mode == 0o700, "source/ mode %o" % mode)

    # Two different files of one name.
    # Two different files of one name, one of them at the file's own path.
    rc, out, data = grade("ambiguous", {student: reference, "old/" + name: stub})
    msg = data.get("output", "")
    tally.check("ambiguous_upload_names_both", data["score"] == 0 and lab_tests(data, lab) and
                student in msg and "old/" + name in msg,
                msg.strip().splitlines()[-1] if msg.strip() else tail(out))

    # -- a signal in mid-grading: Gradescope's timeout while QEMU runs, a staff
    # member's Ctrl-C during the build.
    check_signal(tally, gs, name, reference, signal.SIGTERM, "qemu")
    check_signal(tally, gs, name, reference, signal.SIGINT, "cc1")

    graded = sorted(times)
    print("bundle: figures: bundle %d KiB (zip), %d files; %.1fs per graded submission "
          "(median of %d; %.1f-%.1fs)%s"
          % (os.path.getsize(zip_path) // 1024, len(names), graded[len(graded) // 2],
             len(graded), graded[0], graded[-1], simulated))


def check_signal(tally, gs, name, reference, sig, victim):
    """Send sig to run_autograder while a victim (qemu, cc1) runs below it: it
    must be gone after, and results.json must say what happened."""
    signame = signal.Signals(sig).name
    gs.submission({name: reference})
    t = time.time()
    proc = gs.start()
    victims = []
    while time.time() - t < 60 and proc.poll() is None and not victims:
        victims = pids_below(proc.pid, victim)
        time.sleep(0.01)
    if victims:
        os.kill(proc.pid, sig)  # run_autograder exec'd grade-submission: the same pid
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
    time.sleep(0.2)
    left = [q for q in victims if alive(q)]
    for q in left:  # leave no QEMU behind, even when the check fails
        os.kill(q, signal.SIGKILL)
    data = gs.results()
    tally.check("%s_kills_%s" % (signame.lower(), victim), bool(victims) and not left,
                "%s %s gone" % (victim, victims) if victims and not left else
                "%s seen: %s, still alive: %s" % (victim, victims, left), time.time() - t,
                why=tail(out))
    tally.check("%s_results_written" % signame.lower(),
                data is not None and not gradescope.validate(data) and data["score"] == 0 and
                signame in data.get("output", ""),
                (data or {}).get("output", "no results.json").strip().splitlines()[-1])


if __name__ == "__main__":
    sys.exit(main())
