"""Run a student's Python function against a challenge's tests, in another process.

The page's kernel never runs student code. :class:`Sandbox` starts a fresh
interpreter for every run and the child (``_sandbox_child.py``) reports what
each test's call returned; the comparison with the expected values happens
here, in the parent, so nothing the student's code does in the child can fake
a pass.

What the sandbox does, layer by layer (see :meth:`Sandbox.describe`):

* a separate process: ``python -I -S`` (no site-packages, no user site, no
  ``PYTHON*`` variables, the script's folder not on ``sys.path``), a clean
  environment, stdin closed, a new session, a fresh temporary working folder;
* limits from ``setrlimit``: CPU seconds (``RLIMIT_CPU``), address space
  (``RLIMIT_AS``), open files (``RLIMIT_NOFILE``), file size
  (``RLIMIT_FSIZE``), no core dumps, no new processes (``RLIMIT_NPROC`` = 0,
  which binds every user but root), and a wall-clock timeout after which the
  whole process group is killed;
* network: when ``unshare --net`` works (as root), or ``unshare --user
  --map-root-user --net`` (where unprivileged user namespaces are allowed),
  the child runs in a new network namespace with no interface up, so no
  connection can leave it, whatever the code does;
* privileges: started as root, the child switches to ``nobody`` before the
  student's code runs (so files that ``nobody`` may not write stay safe, and
  the process limit binds);
* an audit hook (PEP 578) in the child refuses sockets, subprocesses,
  ``os.system``/``exec``/``spawn``/``fork``, ``ctypes``, opening files outside
  the working folder (reading the standard library is allowed) and listing,
  deleting or renaming anything outside it.

What it does not guarantee: an audit hook is not a security boundary (PEP 578
says so); a determined attacker who finds a way around it in CPython can read
any file the child's user may read. With a network namespace and a switch to
``nobody`` the damage is bounded by the operating system; without them (a
normal user's laptop where user namespaces are off), reading files the server's
user can read, or opening a connection, rests on the hook alone. There is no
seccomp filter and no separate file-system view. Keep the classroom database
readable by its owner only (mode 0600) and serve as a dedicated user.
"""
from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["Limits", "TestCase", "TestResult", "RunResult", "Sandbox", "default_sandbox",
           "literal", "same_value"]

CHILD = Path(__file__).with_name("_sandbox_child.py")
NOBODY = 65534
MAX_OUTPUT = 8_000
STARTUP_SLACK = 1.5  # seconds on top of the time limit before the wall clock kills


@dataclass(frozen=True)
class Limits:
    """What one run may use: CPU seconds, memory, open files, bytes written."""

    seconds: float = 2.0
    memory_mb: int = 128
    files: int = 32
    file_kb: int = 1024

    def child(self) -> dict:
        return {"cpu": max(1, math.ceil(self.seconds)), "memory_bytes": self.memory_mb * 2 ** 20,
                "files": self.files, "file_bytes": self.file_kb * 1024}


@dataclass(frozen=True)
class TestCase:
    """One test: a call such as ``add(2, 3)`` and the expected value as Python text (``"5"``),
    or the name of the exception it must raise."""

    __test__ = False  # not a pytest class

    call: str
    expect: str | None = None
    raises: str | None = None
    name: str = ""
    hidden: bool = False


@dataclass(frozen=True)
class TestResult:
    """How one test went: the call, what was expected and what came back."""

    __test__ = False  # not a pytest class

    name: str
    call: str
    passed: bool
    expected: str
    got: str
    message: str = ""
    hidden: bool = False


@dataclass(frozen=True)
class RunResult:
    """What a run found. ``status`` is ``ok`` when every test's call ran (passed or not),
    else ``syntax``, ``load_error``, ``no_function``, ``timeout``, ``memory`` or ``crash``;
    ``message`` says it in a sentence for the student."""

    status: str
    tests: tuple[TestResult, ...]
    message: str = ""
    output: str = ""
    seconds: float = 0.0
    isolation: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> int:
        return sum(t.passed for t in self.tests)

    @property
    def failed(self) -> int:
        return len(self.tests) - self.passed

    @property
    def score(self) -> float:
        return self.passed / len(self.tests) if self.tests else 0.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["tests"] = [asdict(t) for t in self.tests]
        data["isolation"] = list(self.isolation)
        return data


def literal(text: str) -> Any:
    """The value of an expected-value text (a Python literal).

    >>> literal("[1, 2.5, 'three']")
    [1, 2.5, 'three']
    >>> literal("open('x')")
    Traceback (most recent call last):
    ...
    ValueError: "open('x')" is not a plain value: write a number, text in quotes, True, False, None, or a list, tuple, set or dict of those
    """
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError) as err:
        raise ValueError(f"{text!r} is not a plain value: write a number, text in quotes, True, "
                         "False, None, or a list, tuple, set or dict of those") from err


def same_value(expected: Any, got: Any) -> bool:
    """Python's ``==``, except that floats are compared with a small tolerance.

    >>> same_value(0.3, 0.1 + 0.2), same_value([1, (2, 3)], [1, (2, 3)]), same_value([1], (1,))
    (True, True, False)
    """
    if isinstance(expected, float) or isinstance(got, float):
        if isinstance(expected, (int, float)) and isinstance(got, (int, float)) \
                and not isinstance(expected, bool) and not isinstance(got, bool):
            return math.isclose(expected, got, rel_tol=1e-9, abs_tol=1e-12) or expected == got
        return False
    if type(expected) in (list, tuple) and type(got) is type(expected):
        return len(expected) == len(got) and all(same_value(a, b) for a, b in zip(expected, got))
    if type(expected) is dict and type(got) is dict:
        return expected.keys() == got.keys() and all(same_value(v, got[k])
                                                      for k, v in expected.items())
    try:
        return bool(expected == got) and not isinstance(got, _Opaque)
    except Exception:
        return False


class _Opaque:
    """A value of a type the child could not send (shown by its repr; equals nothing)."""

    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def _rebuild(value: Any) -> Any:
    """The child's tagged JSON back into Python values."""
    if isinstance(value, list):
        return [_rebuild(v) for v in value]
    if not isinstance(value, dict):
        return value
    (tag, inner), *rest = list(value.items()) or [("repr", "?")]
    if tag == "tuple":
        return tuple(_rebuild(v) for v in inner)
    if tag in ("set", "frozenset"):
        items = [_rebuild(v) for v in inner]
        try:
            return set(items) if tag == "set" else frozenset(items)
        except TypeError:
            return _Opaque(repr(items))
    if tag == "dict":
        try:
            return {_rebuild(k): _rebuild(v) for k, v in inner}
        except TypeError:
            return _Opaque(repr(inner))
    if tag == "int":
        return int(inner)
    if tag == "float":
        return float(inner)
    if tag == "complex":
        return complex(*inner)
    if tag == "bytes":
        return bytes.fromhex(inner)
    return _Opaque(str(value.get("repr", "?")))


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 200 else text[:197] + "..."


# --- the parent side -------------------------------------------------------------------------


def _read_roots() -> list[str]:
    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
    roots.add(os.path.dirname(os.__file__))
    roots.add("/usr/share/zoneinfo")
    return sorted(str(Path(r).resolve()) for r in roots if r)


def _base_python() -> str:
    return str(Path(getattr(sys, "_base_executable", None) or sys.executable).resolve())


def _probe_unshare(timeout: float = 5.0) -> tuple[list[str], str]:
    """The command prefix that gives the child its own network namespace, and its name."""
    unshare = shutil.which("unshare") or ("/usr/bin/unshare" if Path("/usr/bin/unshare").exists()
                                          else None)
    if not unshare or not sys.platform.startswith("linux"):
        return [], ""
    candidates = [([unshare, "--net", "--"], "network namespace (unshare --net)"),
                  ([unshare, "--user", "--map-root-user", "--net", "--"],
                   "network namespace (unshare --user --net)")]
    for prefix, name in candidates:
        try:
            done = subprocess.run(prefix + ["/bin/true" if Path("/bin/true").exists() else "true"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL, timeout=timeout)
        except (OSError, subprocess.SubprocessError):
            continue
        if done.returncode == 0:
            return prefix, name
    return [], ""


class Sandbox:
    """Runs student code in separate, limited processes; results are cached briefly.

    ``network`` is ``"auto"`` (a network namespace when ``unshare`` works,
    else the audit hook alone) or ``"hook"`` (the audit hook only; for tests
    of that layer). ``drop_privileges`` (on by default) switches a child started
    as root to ``nobody``; tests turn it off to check the audit hook alone.
    The cache (keyed by code, tests and limits) lets a page
    run the code in a background thread and the engine's grader, called
    afterwards, reuse that run instead of starting another.
    """

    def __init__(self, *, network: str = "auto", python: str | None = None,
                 drop_privileges: bool = True, cache_size: int = 128,
                 cache_seconds: float = 600.0):
        if network not in ("auto", "hook"):
            raise ValueError(f"network must be 'auto' or 'hook', got {network!r}")
        self.network = network
        self.drop_privileges = drop_privileges
        self.python = python or _base_python()
        self.cache_size = cache_size
        self.cache_seconds = cache_seconds
        self._cache: OrderedDict[str, tuple[float, RunResult]] = OrderedDict()
        self._lock = threading.Lock()
        self._prefix: tuple[list[str], str] | None = None

    # what is in force ---------------------------------------------------------------------------

    def _isolation(self) -> tuple[list[str], str]:
        if self.network == "hook":
            return [], ""
        if self._prefix is None:
            self._prefix = _probe_unshare()
        return self._prefix

    def _drops_privileges(self) -> bool:
        prefix, _ = self._isolation()
        return (self.drop_privileges and hasattr(os, "geteuid") and os.geteuid() == 0
                and "--user" not in prefix)

    def describe(self) -> tuple[str, ...]:
        """The layers in force here, in words (for the teacher and the tests)."""
        _, net = self._isolation()
        layers = ["separate process (python -I -S, clean environment, temporary folder)",
                  "limits: CPU time, memory, open files, file size, no new processes",
                  "wall-clock timeout",
                  "audit hook: no sockets, subprocesses or files outside its folder"]
        if net:
            layers.insert(2, net)
        if self._drops_privileges():
            layers.insert(2, "runs as user nobody")
        return tuple(layers)

    # running ------------------------------------------------------------------------------------

    def run(self, code: str, function: str, tests: list[TestCase] | tuple[TestCase, ...],
            limits: Limits = Limits()) -> RunResult:
        """Run ``code`` and call each test; a cached result if this exact run happened lately."""
        tests = tuple(tests)
        key = hashlib.sha256(json.dumps(
            [code, function, [asdict(t) for t in tests], asdict(limits), self.network,
             self.drop_privileges],
            sort_keys=True).encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None and now - hit[0] <= self.cache_seconds:
                self._cache.move_to_end(key)
                return hit[1]
        result = self._run(code, function, tests, limits)
        with self._lock:
            self._cache[key] = (time.monotonic(), result)
            self._cache.move_to_end(key)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return result

    def _run(self, code: str, function: str, tests: tuple[TestCase, ...],
             limits: Limits) -> RunResult:
        prefix, _ = self._isolation()
        drop = self._drops_privileges()
        private = Path(tempfile.mkdtemp(prefix="qe-run-"))
        work = Path(tempfile.mkdtemp(prefix="qe-code-"))
        started = time.monotonic()
        try:
            if drop:
                os.chown(work, NOBODY, NOBODY)
            results_path, out_path, err_path = (private / n for n in ("results", "out", "err"))
            with open(results_path, "w+b") as results, open(out_path, "w+b") as out, \
                    open(err_path, "w+b") as err:
                job = {"code": code, "function": function, "calls": [t.call for t in tests],
                       "limits": limits.child(), "workdir": str(work), "drop": drop,
                       "channel": results.fileno(), "read_roots": _read_roots()}
                job_path = private / "job.json"
                job_path.write_text(json.dumps(job), encoding="utf-8")
                command = prefix + [self.python, "-I", "-S", str(CHILD), str(job_path)]
                env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8",
                       "HOME": str(work), "TMPDIR": str(work)}
                proc = subprocess.Popen(command, cwd=work, env=env, stdin=subprocess.DEVNULL,
                                        stdout=out, stderr=err, pass_fds=(results.fileno(),),
                                        start_new_session=True, close_fds=True)
                killed = False
                try:
                    proc.wait(timeout=limits.seconds + STARTUP_SLACK)
                except subprocess.TimeoutExpired:
                    killed = True
                finally:
                    _kill_group(proc)
                    proc.wait()
                seconds = time.monotonic() - started
                results.seek(0)
                lines = results.read(4 * 2 ** 20).decode("utf-8", "replace").splitlines()
                out.seek(0)
                output = out.read(MAX_OUTPUT + 1).decode("utf-8", "replace")
                err.seek(0)
                errors = err.read(MAX_OUTPUT).decode("utf-8", "replace")
        finally:
            shutil.rmtree(private, ignore_errors=True)
            shutil.rmtree(work, ignore_errors=True)
        if len(output) > MAX_OUTPUT:
            output = output[:MAX_OUTPUT] + "\n… (more output was cut)"
        return _judge(tests, lines, proc.returncode, killed, seconds, output, errors, limits,
                      self.describe())


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _records(lines: list[str]) -> list[dict]:
    out = []
    for line in lines:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out


def _judge(tests: tuple[TestCase, ...], lines: list[str], returncode: int, killed: bool,
           seconds: float, output: str, errors: str, limits: Limits,
           isolation: tuple[str, ...]) -> RunResult:
    """Compare what the child reported with the expected values; say what happened."""
    records = _records(lines)
    events = {r["event"]: r for r in records if isinstance(r.get("event"), str)}
    calls = {}
    for r in records:
        if isinstance(r.get("i"), int) and r["i"] not in calls:
            calls[r["i"]] = r
    status, message = "ok", ""
    if "syntax" in events:
        e = events["syntax"]
        where = f" on line {e['line']}" if isinstance(e.get("line"), int) else ""
        status, message = "syntax", f"Python could not read your code{where}: {e.get('message', '')}."
    elif "load" in events:
        e = events["load"]
        status, message = "load_error", _raised_text(e, "while your code was loading")
        if e.get("raised") == "MemoryError":
            status = "memory"
            message = f"Your code used more memory than allowed ({limits.memory_mb} MB)."
    elif "no_function" in events:
        e = events["no_function"]
        names = ", ".join(e.get("names") or []) or "none"
        status, message = "no_function", f"Your code has no function with the name this challenge calls (functions found: {names})."
    elif "done" not in events:
        memory = any(c.get("raised") == "MemoryError" for c in calls.values())
        if killed or (returncode in (-signal.SIGXCPU, -signal.SIGKILL) and not memory):
            status = "timeout"
            message = (f"Your code ran longer than {limits.seconds:g} seconds and was stopped. "
                       "Is there a loop that never ends?")
        elif memory:
            status = "memory"
            message = f"Your code used more memory than allowed ({limits.memory_mb} MB)."
        elif "ready" not in events:
            status = "crash"
            message = "The checker could not start your code; your teacher has been told."
        else:
            status = "crash"
            message = "Your code stopped the program before every test had run."
    results = []
    for i, test in enumerate(tests):
        name = test.name or f"test {i + 1}"
        expected = test.expect if test.raises is None else f"raises {test.raises}"
        record = calls.get(i)
        if record is None:
            why = {"timeout": "not run: time ran out", "memory": "not run: out of memory"}.get(
                status, "not run")
            results.append(TestResult(name, test.call, False, expected or "", "", why, test.hidden))
            continue
        results.append(_check(name, test, record, limits))
    if status == "ok" and any(r.message == "used too much memory" for r in results):
        status = "memory"
        message = f"Your code used more memory than allowed ({limits.memory_mb} MB)."
    return RunResult(status, tuple(results), message, output, round(seconds, 3), isolation)


def _raised_text(record: dict, when: str) -> str:
    line = f" (line {record['line']})" if isinstance(record.get("line"), int) else ""
    detail = f": {record['message']}" if record.get("message") else ""
    return f"Your code raised {record.get('raised', 'an error')}{line} {when}{detail}."


def _check(name: str, test: TestCase, record: dict, limits: Limits) -> TestResult:
    if "raised" in record:
        raised = str(record["raised"])
        got = f"raised {raised}" + (f": {record['message']}" if record.get("message") else "")
        if test.raises is not None:
            ok = raised == test.raises
            return TestResult(name, test.call, ok, f"raises {test.raises}", got,
                              "" if ok else f"expected {test.raises}", test.hidden)
        message = "used too much memory" if raised == "MemoryError" else (
            f"error on line {record['line']}" if isinstance(record.get("line"), int) else "error")
        return TestResult(name, test.call, False, test.expect or "", got, message, test.hidden)
    got = _rebuild(record.get("value"))
    if test.raises is not None:
        return TestResult(name, test.call, False, f"raises {test.raises}", _shown(got),
                          f"expected {test.raises}", test.hidden)
    expected = literal(test.expect or "None")
    ok = same_value(expected, got)
    return TestResult(name, test.call, ok, _shown(expected), _shown(got),
                      "" if ok else "different answer", test.hidden)


_DEFAULT: Sandbox | None = None
_DEFAULT_LOCK = threading.Lock()


def default_sandbox() -> Sandbox:
    """The sandbox the shipped ``code`` kind uses (created on first use)."""
    global _DEFAULT
    with _DEFAULT_LOCK:
        if _DEFAULT is None:
            _DEFAULT = Sandbox()
        return _DEFAULT
