"""Attacks on the code sandbox, each made through the public API and each refused.

Every attack first switches the in-process audit hook off (through
``gc.get_objects()``, as a student did), so what stops it is the operating-system
layer: bubblewrap's namespaces, uid 65534, rlimits and the seccomp filter. Each
test also checks that nothing was written outside the run's own work folder.
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from questengine import Action, ProgressError, loads_quest, quest_graph, replay
from questengine.codekind import make_plugin
from questengine.engine import act
from questengine.errors import QuestValidationError
from questengine.graph import build_graph, validate
from questengine.plugins import Registry
from questengine.sandbox import (CHECKER_FAILED, Limits, RunResult, Sandbox, SandboxUnavailable,
                                 TestCase, default_sandbox)

LIMITS = Limits(seconds=3, memory_mb=128)

#: switches the audit hook off, as the attack in issue 11 did; ``bypass()`` says it worked
BYPASS = """
import gc, os, sys

def bypass():
    for o in gc.get_objects():
        if type(o).__name__ == "function" and o.__name__ == "hook" and o.__closure__:
            for name, cell in zip(o.__code__.co_freevars, o.__closure__):
                if name == "busy":
                    cell.cell_contents[0] = True
                    return True
    return False

BYPASSED = bypass()

def attempt(fn, *args):
    try:
        return ("done", fn(*args))
    except BaseException as err:
        return ("refused", type(err).__name__)
"""


def attack(body: str, calls: list[str], box: Sandbox | None = None,
           limits: Limits = LIMITS) -> RunResult:
    """Run ``BYPASS`` + ``body`` and each call (expected to give ``True``) through the public API."""
    tests = [TestCase("BYPASSED", "True", name="the hook is off")]
    tests += [TestCase(call, "True", name=call) for call in calls]
    code = BYPASS + body + "\ndef add(a, b):\n    return a + b\n"
    return (box or Sandbox(cache_seconds=0)).run(code, "add", tests, limits)


def assert_refused(result: RunResult) -> None:
    assert result.status == "ok", (result.status, result.message, result.output)
    first, *rest = result.tests
    assert first.passed, "the audit hook was not switched off: the attack proves nothing"
    failed = [t for t in rest if not t.passed]
    assert not failed, [(t.call, t.got) for t in failed]


@pytest.fixture
def outside(tmp_path):
    """A folder the sandbox's user could read if it could see it: a secret file and a classroom
    database, both mode 0644, in a world-readable folder; plus paths an attack tries to plant."""
    folder = Path(tempfile.mkdtemp(prefix="qe-outside-"))
    folder.chmod(0o755)
    secret = folder / "secret.txt"
    secret.write_text("TOPSECRET-FILE-4711")
    secret.chmod(0o644)
    db = folder / "classroom.db"
    with sqlite3.connect(db) as conn:
        conn.execute("create table teachers (email text, password_hash text)")
        conn.execute("insert into teachers values ('t@school.org', 'TOPSECRET-HASH-0815')")
    conn.close()
    db.chmod(0o644)
    before = sorted(p.name for p in folder.iterdir())
    planted = [folder / "planted", Path(tempfile.gettempdir()) / f"qe-planted-{uuid.uuid4().hex}",
               Path.cwd() / f"qe-planted-{uuid.uuid4().hex}"]
    yield {"folder": folder, "secret": secret, "db": db, "planted": planted}
    try:
        assert sorted(p.name for p in folder.iterdir()) == before, "something was written outside"
        assert secret.read_text() == "TOPSECRET-FILE-4711"
        assert not any(p.exists() for p in planted), "something was planted outside"
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for p in planted:
            if p.exists():
                p.unlink()


def plant_code(outside) -> str:
    paths = [str(p) for p in outside["planted"]]
    return f"""
def plant():
    wrote = []
    for path in {paths!r}:
        try:
            with open(path, "w") as f:
                f.write("pwned")
            wrote.append(path)
        except OSError:
            pass
    return wrote == []
"""


def no_secret_in(result: RunResult) -> None:
    everything = json.dumps(result.to_dict())
    assert "TOPSECRET" not in everything


# --- the sandbox is there, and it is the boundary ------------------------------------------------


def test_the_sandbox_is_available_here():
    """This machine has bubblewrap (installed by .ci/run): the attacks below meet the real layer."""
    box = Sandbox()
    assert box.unavailable() is None
    assert any("bubblewrap" in layer for layer in box.describe())


def test_after_the_hook_bypass_files_outside_do_not_exist(outside):
    body = plant_code(outside) + f"""
def read_secret():
    return attempt(lambda: open({str(outside['secret'])!r}).read()) == ("refused", "FileNotFoundError")

def read_db():
    return attempt(lambda: open({str(outside['db'])!r}, "rb").read()) == ("refused", "FileNotFoundError")

def sqlite_db():
    def query():
        import sqlite3
        return sqlite3.connect("file:{outside['db']}?mode=ro", uri=True).execute(
            "select * from teachers").fetchall()
    return attempt(query)[0] == "refused"

""" + """
def root_is_read_only():
    return attempt(lambda: open("/evil", "w")) == ("refused", "OSError")

def what_is_there():
    seen = set(os.listdir("/"))
    return not (seen & {"etc", "tmp", "var", "work", "opt", "srv", "mnt", "bin", "sbin"}) or sorted(seen)

def nothing_of_the_server():
    import sysconfig
    return not any(os.path.exists(p) for p in ("/etc/passwd", "/root/.bash_history", "/work",
                                               "/usr/bin/python3", "/bin/sh")) \
        and os.listdir(sysconfig.get_paths()["purelib"]) == []  # no installed packages
"""
    result = attack(body, ["read_secret()", "read_db()", "sqlite_db()", "plant()",
                           "root_is_read_only()", "what_is_there()", "nothing_of_the_server()"])
    assert_refused(result)
    no_secret_in(result)


def test_after_the_hook_bypass_no_shell_runs(outside):
    marker = outside["planted"][1]
    body = f"""
def system():
    return attempt(os.system, "touch {marker}") != ("done", 0)

def subproc():
    import subprocess
    return attempt(subprocess.run, ["/bin/sh", "-c", "touch {marker}"])[0] == "refused"

def execv():
    return attempt(os.execv, "/bin/sh", ["sh", "-c", "touch {marker}"])[0] == "refused"

def spawn():
    return attempt(os.posix_spawn, "/usr/bin/touch", ["touch", "{marker}"], {{}})[0] == "refused"

def ctypes_system():
    import ctypes
    libc = ctypes.CDLL(None)
    return libc.system(b"touch {marker}") != 0
"""
    result = attack(body, ["system()", "subproc()", "execv()", "spawn()", "ctypes_system()"])
    assert_refused(result)
    assert not marker.exists()


def test_after_the_hook_bypass_no_socket_reaches_the_host(listener):
    port, accepted = listener
    body = f"""
def connect():
    import socket
    def go():
        s = socket.create_connection(("127.0.0.1", {port}), timeout=1)
        s.sendall(b"stolen")
    return attempt(go)[0] == "refused"

def raw():
    import _socket
    def go():
        s = _socket.socket()
        s.connect(("127.0.0.1", {port}))
    return attempt(go)[0] == "refused"

def udp():
    import _socket
    def go():
        s = _socket.socket(_socket.AF_INET, _socket.SOCK_DGRAM)
        s.sendto(b"stolen", ("127.0.0.1", {port}))
    return attempt(go)[0] == "refused"

def unix():
    import _socket
    return attempt(_socket.socket, _socket.AF_UNIX)[0] == "refused"
"""
    result = attack(body, ["connect()", "raw()", "udp()", "unix()"])
    assert_refused(result)
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and not accepted:
        time.sleep(0.05)
    assert accepted == []


def test_after_the_hook_bypass_proc_shows_no_other_process(monkeypatch):
    monkeypatch.setenv("QE_TEST_SECRET", "TOPSECRET-ENV-1234")
    parent = os.getpid()
    body = f"""
def only_itself():
    pids = [p for p in os.listdir("/proc") if p.isdigit()]
    return pids == [str(os.getpid())] or pids

def environ_of_1():
    try:
        text = open("/proc/1/environ", "rb").read()
    except OSError:
        return True
    return b"TOPSECRET" not in text and b"QE_TEST_SECRET" not in text

def parent_cmdline():
    return attempt(lambda: open("/proc/{parent}/cmdline", "rb").read()) == ("refused", "FileNotFoundError")

def own_environment():
    return "QE_TEST_SECRET" not in os.environ

def locked_down():
    status = dict(line.split(":", 1) for line in open("/proc/self/status").read().splitlines())
    got = {{k: status[k].strip() for k in ("Uid", "CapEff", "CapPrm", "NoNewPrivs", "Seccomp")}}
    return got == {{"Uid": "65534\t65534\t65534\t65534", "CapEff": "0000000000000000",
                   "CapPrm": "0000000000000000", "NoNewPrivs": "1", "Seccomp": "2"}} or got
"""
    result = attack(body, ["only_itself()", "environ_of_1()", "parent_cmdline()",
                           "own_environment()", "locked_down()"])
    assert_refused(result)
    no_secret_in(result)


def test_a_fork_bomb_forks_nothing_and_the_run_ends():
    body = """
def bomb():
    made = 0
    try:
        while made < 100_000:
            pid = os.fork()
            if pid == 0:
                while True:
                    os.fork()
            made += 1
    except OSError as err:
        return (made, type(err).__name__) == (0, "BlockingIOError") or (made, type(err).__name__)
    return made

def threads():
    import threading
    try:
        threading.Thread(target=lambda: None).start()
    except RuntimeError:
        return True
    return False
"""
    result = attack(body, ["bomb()", "threads()"])
    assert_refused(result)


def _processes_holding(marker: str) -> list[int]:
    """Host pids with a file open whose path contains ``marker``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
            if any(marker in os.readlink(f"/proc/{pid}/fd/{fd}") for fd in fds):
                found.append(int(pid))
        except OSError:
            continue
    return found


def _wait_for(condition, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_run_that_times_out_leaves_no_process_behind():
    marker = f"qe-alive-{uuid.uuid4().hex}"
    code = (f"import time\nheld = open({marker!r}, 'w')\n"
            "def add(a, b):\n    time.sleep(600)\n")
    result = {}
    thread = threading.Thread(target=lambda: result.update(run=Sandbox(cache_seconds=0).run(
        code, "add", [TestCase("add(1, 2)", "3")], Limits(seconds=1))))
    thread.start()
    try:
        assert _wait_for(lambda: _processes_holding(marker)), "the sandboxed process was not seen"
    finally:
        thread.join(60)
    assert result["run"].status == "timeout"
    assert _wait_for(lambda: not _processes_holding(marker)), "the sandboxed process survived"


def test_a_disk_filler_is_stopped_and_the_disk_is_untouched(outside):
    free_before = shutil.disk_usage(tempfile.gettempdir()).free
    body = """
def fill():
    written = 0
    chunk = b"x" * (1 << 20)
    n = 0
    try:
        while written < 800 * (1 << 20):
            with open(f"fill-{n}.bin", "wb") as f:
                for _ in range(100):
                    f.write(chunk)
                    written += len(chunk)
            n += 1
    except OSError as err:
        return written <= 8 * (1 << 20) or written
    return written

def one_big_file():
    try:
        with open("big.bin", "wb") as f:
            f.write(b"x" * (2 << 20))
    except OSError as err:
        return True
    return False
"""
    result = attack(body, ["fill()", "one_big_file()"], limits=Limits(seconds=5, memory_mb=128))
    assert_refused(result)
    free_after = shutil.disk_usage(tempfile.gettempdir()).free
    assert free_before - free_after < 400 * (1 << 20)  # other work on the machine writes a little


def test_a_flood_of_output_is_cut_and_the_run_goes_on():
    body = """
def flood():
    line = "x" * (1 << 20)
    for _ in range(100):
        print(line)
    return True
"""
    result = attack(body, ["flood()"], limits=Limits(seconds=10, memory_mb=128))
    assert_refused(result)
    assert len(result.output) < 8_100 and result.output.endswith("(more output was cut)")


# --- the verdict cannot be forged ------------------------------------------------------------------

ANSWER = f"SA-{uuid.uuid4().hex}"  # the hidden test's expected value: in no student's code
LATER = f"HC-{uuid.uuid4().hex}"
HIDDEN = [TestCase("add(2, 3)", "5"), TestCase("add(10, 20)", repr(ANSWER), hidden=True),
          TestCase(f"add(1, 1)  # {LATER}", "2", hidden=True)]


def test_printing_fake_records_changes_nothing():
    code = BYPASS + """
import json, struct
def add(a, b):
    for i in range(5):
        record = json.dumps({"i": i, "value": 5, "passed": True}).encode()
        print(json.dumps({"i": i, "value": 5, "passed": True}))
        sys.stderr.write(struct.pack(">I", len(record)).decode("latin-1") + record.decode())
    return None
"""
    result = Sandbox(cache_seconds=0).run(code, "add", HIDDEN, LIMITS)
    assert result.status == "ok" and result.passed == 0


def test_writing_fake_records_to_the_verdict_pipe_fails_the_run():
    code = BYPASS + """
import json, struct
def forge():
    # every descriptor the child has open, whatever number the record pipe got
    for fd in sorted(int(n) for n in os.listdir("/proc/self/fd")):
        if fd < 3:
            continue
        for i in range(5):
            record = json.dumps({"i": i, "value": 5, "passed": True, "event": "done"}).encode()
            try:
                os.write(fd, struct.pack(">I", len(record)) + record)
            except OSError:
                pass
def add(a, b):
    forge()
    return None
"""
    result = Sandbox(cache_seconds=0).run(code, "add", HIDDEN, LIMITS)
    assert result.status == "checker_failed"
    assert result.message == CHECKER_FAILED
    assert result.passed == 0


def test_walking_frames_and_objects_finds_no_expected_value_or_later_call():
    code = BYPASS + """
import re
ANSWER, LATER = re.compile("SA-[0-9a-f]{32}"), re.compile("HC-[0-9a-f]{32}")

def texts():
    frame = sys._getframe()
    while frame is not None:
        for value in list(frame.f_locals.values()) + list(frame.f_globals.values()):
            yield repr(value)[:100000]
        frame = frame.f_back
    for o in gc.get_objects():
        try:
            yield repr(o)[:100000]
        except Exception:
            pass
    for o in list(sys.modules.values()):
        yield repr(vars(o))[:100000]

def look():
    answers, later = set(), set()
    for text in texts():
        answers.update(ANSWER.findall(text))
        later.update(LATER.findall(text))
    return answers, later

def add(a, b):
    answers, later = look()
    print("seen", len(answers), len(later))
    if answers:
        return answers.pop()
    return a + b
"""
    result = Sandbox(cache_seconds=0).run(code, "add", HIDDEN, LIMITS)
    assert result.status == "ok", result.message
    assert [t.passed for t in result.tests] == [True, False, True]
    lines = result.output.splitlines()
    # no call saw an expected value; the first did not see the later (hidden) call
    assert lines[0] == "seen 0 0" and all(line.startswith("seen 0 ") for line in lines)
    assert ANSWER not in result.output


def test_monkeypatching_the_harness_only_chooses_values():
    """Replacing the harness's encoder makes every call "return" 5: no more than ``return 5``."""
    code = BYPASS + """
harness = sys.modules["__main__"]
harness.canon = lambda value, depth=0: 5
original = harness.Pipe.send
def send(self, **data):
    if "i" in data:  # only the call records: a changed load record fails the run
        data["passed"] = True
        data["expected"] = data.get("value")
    return original(self, **data)
harness.Pipe.send = send
def add(a, b):
    return None
"""
    tests = [TestCase("add(2, 3)", "5"), TestCase("add(10, 10)", "20", hidden=True),
             TestCase("add(1, 1)", "2")]
    result = Sandbox(cache_seconds=0).run(code, "add", tests, LIMITS)
    assert result.status == "ok"
    assert [t.passed for t in result.tests] == [True, False, False]


@pytest.mark.parametrize("record", [
    "struct.pack('>I', 2**31) + b'{'",                                  # claims 2 GB
    "struct.pack('>I', 200_000) + b'[' * 200_000",                      # deep JSON
    "json_record({'i': 0, 'value': nested(60)})",                       # deep value, small record
    "json_record({'i': 0, 'value': {'int': '9' * 100_000}})",           # a huge int
    "json_record({'i': 0, 'value': {'dict': [[[1], 2]]}})",             # a list as a key
    "json_record({'i': 0, 'value': {'what': 1}})",                      # an unknown tag
    "json_record(['not', 'an', 'object'])",
    "b'\\xff\\xff'",                                                    # half a header
])
def test_oversized_or_malformed_records_give_checker_failed(record):
    code = BYPASS + f"""
import json, struct
def json_record(data):
    body = json.dumps(data).encode()
    return struct.pack(">I", len(body)) + body
def nested(depth):
    value = 0
    for _ in range(depth):
        value = {{"tuple": [value]}}
    return value
def add(a, b):
    os.write(int(sys.argv[1]), {record})
    os._exit(0)
"""
    result = Sandbox(cache_seconds=0).run(code, "add", HIDDEN[:1], LIMITS)
    assert result.status in ("checker_failed", "crash"), result.message
    assert result.passed == 0
    if result.status == "crash":  # the half header: the child stopped mid-record
        assert "stopped the program" in result.message
    else:
        assert result.message == CHECKER_FAILED


@pytest.mark.parametrize("value, words", [
    ("deep(1000)", "nested too deeply"),
    ("'x' * 1_000_000", "too big to check"),
    ("10 ** 5000", "too big to check"),
    ("selfref()", "nested too deeply"),
])
def test_oversized_or_deeply_nested_answers_fail_their_test_plainly(value, words):
    code = f"""
def deep(n):
    v = []
    for _ in range(n):
        v = [v]
    return v
def selfref():
    v = []
    v.append(v)
    return v
def add(a, b):
    return {value}
"""
    result = Sandbox(cache_seconds=0).run(code, "add", [TestCase("add(1, 2)", "3")], LIMITS)
    assert result.status == "ok", result.message
    test = result.tests[0]
    assert not test.passed and words in test.got


# --- without the operating-system layer, the code kind refuses ----------------------------------

CODE_QUEST = """
id: coding
title: Coding
nodes:
  - id: add
    kind: code
    title: Add
    prompt: Write add.
    function: add
    tests:
      - {call: "add(2, 3)", expect: "5"}
  - {id: end, kind: end, title: End}
edges: [[add, end]]
"""


@pytest.fixture
def fake_bwrap(tmp_path):
    """A bwrap that fails as on a laptop whose kernel refuses user namespaces."""
    path = tmp_path / "bwrap"
    path.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely "
                    "because the kernel does not allow non-privileged user namespaces.' >&2\n"
                    "exit 1\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize("which", ["missing", "refused"])
def test_without_the_os_layer_the_sandbox_refuses_in_a_sentence(which, fake_bwrap):
    box = Sandbox(bwrap="/nonexistent/bwrap" if which == "missing" else fake_bwrap)
    sentence = box.unavailable()
    assert sentence is not None and sentence.startswith("Coding challenges cannot run here")
    assert sentence.count(". ") == 0 and sentence.endswith(".")
    assert ("not installed" in sentence) if which == "missing" else (
        "No permissions to create new namespace" in sentence)
    with pytest.raises(SandboxUnavailable) as info:
        box.run("def add(a, b):\n    return a + b\n", "add", [TestCase("add(2, 3)", "5")])
    assert str(info.value) == sentence


def test_without_the_os_layer_the_code_kind_refuses_where_the_teacher_checks_and_the_student_runs():
    box = Sandbox(bwrap="/nonexistent/bwrap")
    registry = Registry(code=False)
    registry.install(make_plugin(box))
    quest = loads_quest(CODE_QUEST, registry=registry)
    problems = validate(quest, registry)
    assert [p.nodes for p in problems] == [("add",)]
    assert "Coding challenges cannot run here" in problems[0].message
    assert "bubblewrap" in problems[0].message
    with pytest.raises(QuestValidationError, match="Coding challenges cannot run here"):
        quest_graph(quest, registry)  # so it is not published
    # where the student presses Run (the graph of a quest published before): refused,
    # no try used up, the sentence recorded for the teacher
    G = build_graph(quest, registry)
    with pytest.raises(ProgressError) as info:
        act(G, replay(G, []), Action("answer", "add",
                                     answers={"answer": "def add(a, b):\n    return a + b\n"}))
    assert "checker" in str(info.value)
    assert any("Coding challenges cannot run here" in p.cause for p in registry.problems)


def test_the_default_sandbox_is_the_bubblewrap_one():
    assert default_sandbox().unavailable() is None
    assert default_sandbox().bwrap.endswith("bwrap")
