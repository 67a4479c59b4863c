"""Run a student's Python function against a challenge's tests, behind an operating-system boundary.

The page's kernel never runs student code. :meth:`Sandbox.run` starts a fresh
interpreter for every run inside a `bubblewrap <https://github.com/containers/bubblewrap>`_
sandbox (``bwrap``, the Debian package ``bubblewrap``); the child
(``_sandbox_child.py``) runs the student's code, then each test's *call*, and
reports what the call returned. The comparison with the expected value happens
here, in the parent.

What the sandbox guarantees, layer by layer (:meth:`Sandbox.describe` lists them):

1. **A file system of its own.** A fresh mount namespace whose root is
   read-only and holds only the system libraries (``/usr/lib``, ``/lib*``),
   the interpreter, its standard library (its ``site-packages`` hidden under
   an empty folder), the child script, ``/dev/null``, ``/dev/zero``,
   ``/dev/urandom``, a ``/proc`` of its own, and ``/home/student``: an empty,
   size-limited tmpfs (``Limits.disk_kb``) that is the only writable place and
   vanishes with the run. Nothing of the host's disk is writable, and the
   classroom database, the quest files, the server's code and home folders do
   not exist for the child.
2. **Its own namespaces**: network (only a loopback with nothing listening,
   so no connection leaves it), processes (``/proc`` shows the child alone;
   the server's processes, their command lines and environments are not
   there), IPC, hostname and cgroup. ``--die-with-parent`` and a new session.
3. **Another user.** Started as root, bwrap keeps the host's user namespace
   (a user namespace created by root would map the sandbox to uid 0 outside,
   which ``RLIMIT_NPROC`` does not bind); every capability is dropped except
   ``setuid``/``setgid``, which the child uses at once to become uid/gid
   65534 (``nobody``) for real, losing the last capabilities. Started as
   another user, bwrap makes a user namespace in which the child is 65534
   (and can make no further ones). ``no_new_privs`` is set either way.
4. **Limits** (``setrlimit``, set before the student's code runs and not
   raisable by it): CPU seconds, address space, open files, size of one file,
   no core dumps, and no new processes or threads (``RLIMIT_NPROC`` 0); the
   work folder's tmpfs bounds the total bytes written (a 0.8 GB writer stops
   at ``disk_kb``); what the code prints is read through a pipe and cut at
   ``MAX_OUTPUT``. A wall-clock deadline kills the whole sandbox.
5. **A seccomp filter** (x86-64 and arm64; passed with ``bwrap --seccomp``):
   ``socket``, ``socketpair``, ``unshare``, ``setns``, ``mount`` and the new
   mount API, ``chroot``, ``pivot_root``, ``ptrace``, ``process_vm_*``,
   ``bpf``, ``perf_event_open``, ``userfaultfd``, ``io_uring_*``, the kernel
   keyring, modules, ``kexec``, ``personality`` and a few more fail with
   ``EPERM`` (``clone3`` with ``ENOSYS``); other architectures run without it.
6. **An audit hook** (PEP 578) in the child, as a second layer only: it refuses
   sockets, subprocesses, ``ctypes`` and files outside ``/home/student``, so ordinary
   mistakes get a plain ``PermissionError``. It is not a boundary: code in
   the same interpreter can switch it off (through ``gc.get_objects()``);
   the layers above do not depend on it.

The verdict cannot be forged. The expected values never enter the child: the
parent sends the student's code, waits for one record saying it loaded, then
sends one test's call at a time, with a fresh random nonce, and reads exactly
one length-prefixed record (at most ``MAX_RECORD`` bytes, nesting at most
``MAX_DEPTH``) from a pipe of its own before sending the next call; a hidden
test's call is in the child only while it runs, and its expected value never.
What the student prints goes to another pipe. Why this is sound although
student code *can* write to the record pipe (it shares the process with the
harness, so nothing in the process can hide the descriptor from it): a record
only says "call *i* returned *v*" (or "raised *E*"), and the parent alone
compares *v* with what it expects. Forging the record for the running call is
choosing *v*, which the student's function controls anyway; a record for a
later call cannot carry that call's nonce (it is not in the child yet), and a
record out of turn, bytes left over after it, a wrong shape, a record too
large or too deep, or a value that cannot be rebuilt ends the run as
``checker_failed`` (a plain sentence, never a ``RecursionError`` or
``ValueError``). Values are rebuilt with exact built-in types only, so an object
that claims to equal anything equals nothing.

Where the operating-system layer cannot be had (no ``bwrap``, a kernel that
refuses its namespaces, not Linux), :meth:`Sandbox.run` raises
:class:`SandboxUnavailable` with one sentence saying why and what to install:
there is no fall-back to the audit hook alone. :meth:`Sandbox.unavailable`
gives that sentence without running anything else, so the ``code`` kind can
report it where a quest is checked and published.

What it does not guarantee: bugs in the Linux kernel or in bubblewrap; the
child can use its CPU and memory limits in full, read the standard library and
system libraries, and learn the call expressions of the tests (hidden ones too,
as it runs them), though never their expected values; timing depends on the
machine's load.
"""
from __future__ import annotations

import ast
import hashlib
import json
import math
import os
import platform
import secrets
import select
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .errors import QuestEngineError

__all__ = ["Limits", "TestCase", "TestResult", "RunResult", "Sandbox", "SandboxUnavailable",
           "default_sandbox", "literal", "same_value"]

CHILD = Path(__file__).with_name("_sandbox_child.py")
NOBODY = 65534
MAX_OUTPUT = 8_000
MAX_RECORD = 256 * 1024  # bytes in one record from the child (it sends at most ~100 kB)
MAX_DEPTH = 40  # nesting of a value in a record (the child sends at most 31)
MAX_TEXT = 300  # characters of an exception's message kept from a record
STARTUP_SLACK = 1.5  # seconds on top of the time limit before the wall clock kills
WORK = "/home/student"
HARNESS = "/qe/harness.py"
CHECKER_FAILED = ("The checker failed: your code sent something that is not a test result, "
                  "so no test could be checked.")


class SandboxUnavailable(QuestEngineError):
    """Student code cannot run here: the operating-system sandbox is missing or refused."""


@dataclass(frozen=True)
class Limits:
    """What one run may use: CPU seconds, memory, open files, bytes per file, bytes in all."""

    seconds: float = 2.0
    memory_mb: int = 128
    files: int = 32
    file_kb: int = 1024
    disk_kb: int = 4096

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
    else ``syntax``, ``load_error``, ``no_function``, ``timeout``, ``memory``, ``crash`` or
    ``checker_failed`` (the child sent something that is not a test result);
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


class _BadRecord(Exception):
    """The child sent something that is not a record of the protocol."""


def _rebuild(value: Any, depth: int = 0) -> Any:
    """The child's tagged JSON back into Python values; _BadRecord if it is not such JSON.

    >>> _rebuild({"tuple": [1, {"set": [2]}]})
    (1, {2})
    >>> _rebuild([[[[0]]]], depth=MAX_DEPTH - 1)
    Traceback (most recent call last):
    ...
    questengine.sandbox._BadRecord: a value nested too deeply
    """
    if depth >= MAX_DEPTH:
        raise _BadRecord("a value nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if type(value) is list:
        return [_rebuild(v, depth + 1) for v in value]
    if type(value) is not dict or not value:
        raise _BadRecord("not a value")
    tag, inner = next(iter(value.items()))
    try:
        if tag == "tuple":
            return tuple(_rebuild(v, depth + 1) for v in _items(inner))
        if tag in ("set", "frozenset"):
            items = [_rebuild(v, depth + 1) for v in _items(inner)]
            try:
                return set(items) if tag == "set" else frozenset(items)
            except TypeError:
                return _Opaque(repr(items))
        if tag == "dict":
            pairs = [(_rebuild(k, depth + 2), _rebuild(v, depth + 2)) for k, v in
                     (_pair(p) for p in _items(inner))]
            try:
                return dict(pairs)
            except TypeError:
                return _Opaque(repr(pairs))
        if tag == "int" and type(inner) is str and len(inner) <= 4000:
            return int(inner)
        if tag == "float" and type(inner) is str:
            return float(inner)
        if tag == "complex" and type(inner) is list and len(inner) == 2:
            return complex(*(float(x) for x in inner))
        if tag == "bytes" and type(inner) is str:
            return bytes.fromhex(inner)
        if tag == "repr":
            return _Opaque(str(inner)[:MAX_TEXT])
    except (TypeError, ValueError, OverflowError) as err:
        raise _BadRecord(f"a malformed {tag} value") from err
    raise _BadRecord("an unknown value tag")


def _items(inner: Any) -> list:
    if type(inner) is not list:
        raise _BadRecord("not a list of values")
    return inner


def _pair(pair: Any) -> tuple:
    if type(pair) is not list or len(pair) != 2:
        raise _BadRecord("not a key and a value")
    return pair[0], pair[1]


def _shown(value: Any) -> str:
    try:
        text = repr(value)
    except RecursionError:
        text = "<a value nested too deeply to show>"
    return text if len(text) <= 200 else text[:197] + "..."


def _text(value: Any) -> str:
    return value[:MAX_TEXT] if type(value) is str else ""


# --- the sandbox's seccomp filter ------------------------------------------------------------

#: system calls refused with EPERM (clone3 with ENOSYS, so that libc falls back to clone)
_SYSCALLS = {
    "x86_64": (0xC000003E, {
        "socket": 41, "socketpair": 53, "unshare": 272, "setns": 308, "mount": 165,
        "umount2": 166, "pivot_root": 155, "chroot": 161, "ptrace": 101,
        "process_vm_readv": 310, "process_vm_writev": 311, "keyctl": 250, "add_key": 248,
        "request_key": 249, "bpf": 321, "perf_event_open": 298, "userfaultfd": 323,
        "io_uring_setup": 425, "io_uring_enter": 426, "io_uring_register": 427,
        "kexec_load": 246, "kexec_file_load": 320, "init_module": 175, "finit_module": 313,
        "delete_module": 176, "open_by_handle_at": 304, "name_to_handle_at": 303,
        "mount_setattr": 442, "open_tree": 428, "move_mount": 429, "fsopen": 430,
        "fsconfig": 431, "fsmount": 432, "fspick": 433, "personality": 135, "acct": 163,
        "swapon": 167, "swapoff": 168, "reboot": 169, "quotactl": 179, "syslog": 103,
        "iopl": 172, "ioperm": 173, "vhangup": 153}, 435),
    "aarch64": (0xC00000B7, {
        "socket": 198, "socketpair": 199, "unshare": 97, "setns": 268, "mount": 40,
        "umount2": 39, "pivot_root": 41, "chroot": 51, "ptrace": 117, "process_vm_readv": 270,
        "process_vm_writev": 271, "keyctl": 219, "add_key": 217, "request_key": 218,
        "bpf": 280, "perf_event_open": 241, "userfaultfd": 282, "io_uring_setup": 425,
        "io_uring_enter": 426, "io_uring_register": 427, "kexec_load": 104,
        "kexec_file_load": 294, "init_module": 105, "finit_module": 273, "delete_module": 106,
        "open_by_handle_at": 265, "name_to_handle_at": 264, "mount_setattr": 442,
        "open_tree": 428, "move_mount": 429, "fsopen": 430, "fsconfig": 431, "fsmount": 432,
        "fspick": 433, "personality": 92, "acct": 89, "swapon": 224, "swapoff": 225,
        "reboot": 142, "quotactl": 60, "syslog": 116, "vhangup": 58}, 435),
}
_EPERM, _ENOSYS = 1, 38


def seccomp_filter(machine: str | None = None) -> bytes | None:
    """The compiled classic-BPF program bwrap's ``--seccomp`` loads, or None on other machines.

    It kills a process of another architecture (or x32 calls), refuses the
    listed calls and allows the rest.

    >>> len(seccomp_filter("x86_64")) % 8, seccomp_filter("sparc")
    (0, None)
    """
    machine = machine or platform.machine()
    if machine in ("amd64", "AMD64"):
        machine = "x86_64"
    if machine == "arm64":
        machine = "aarch64"
    if machine not in _SYSCALLS:
        return None
    arch, numbers, clone3 = _SYSCALLS[machine]
    ld, jeq, jge, ret = 0x20, 0x15, 0x35, 0x06
    allow, kill = 0x7FFF0000, 0x80000000
    refused = sorted(set(numbers.values()))
    prog: list[tuple[int, int, int, int]] = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, kill),
                                             (ld, 0, 0, 0)]
    checks = [(n, "eperm") for n in refused] + [(clone3, "enosys")]
    first_check = len(prog) + (1 if machine == "x86_64" else 0)
    end = first_check + len(checks)  # index of "allow"; then "eperm", then "enosys"
    target = {"allow": end, "eperm": end + 1, "enosys": end + 2}
    if machine == "x86_64":  # x32 system calls carry bit 30
        prog.append((jge, target["eperm"] - len(prog) - 1, 0, 0x40000000))
    for number, outcome in checks:
        prog.append((jeq, target[outcome] - len(prog) - 1, 0, number))
    prog += [(ret, 0, 0, allow), (ret, 0, 0, 0x00050000 | _EPERM),
             (ret, 0, 0, 0x00050000 | _ENOSYS)]
    return b"".join(struct.pack("=HBBI", *op) for op in prog)


# --- what the sandbox sees of the host ---------------------------------------------------------


def _base_python() -> str:
    return str(Path(getattr(sys, "_base_executable", None) or sys.executable).resolve())


_PATHS_SCRIPT = """
import json, os, sys, sysconfig
names = {"base": sys.base_prefix, "platbase": sys.base_exec_prefix,
         "installed_base": sys.base_prefix, "installed_platbase": sys.base_exec_prefix}
paths = sysconfig.get_paths(vars=names)
lib = None
if sysconfig.get_config_var("Py_ENABLE_SHARED"):
    lib = os.path.join(sysconfig.get_config_var("LIBDIR") or "",
                       sysconfig.get_config_var("INSTSONAME") or "")
print(json.dumps({"stdlib": [paths["stdlib"], paths["platstdlib"], os.path.dirname(os.__file__)],
                  "hide": [paths["purelib"], paths["platlib"]], "lib": lib,
                  "executable": os.path.realpath(sys.executable)}))
"""


def _python_paths(python: str) -> tuple[list[str], list[str]]:
    """Paths to bind read-only for ``python`` (its install: interpreter, shared library,
    standard library) and the ``site-packages`` folders inside them to hide.

    The interpreter itself is asked (``python -I -S -c ...``), so another install than this
    one's works too.
    """
    done = subprocess.run([python, "-I", "-S", "-c", _PATHS_SCRIPT], capture_output=True,
                          text=True, timeout=30, env={"PATH": "/usr/bin:/bin"},
                          stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise OSError(f"{python} could not say where its standard library is: "
                      f"{(done.stderr.strip().splitlines() or ['no answer'])[-1]}")
    found = json.loads(done.stdout)
    binds = {str(Path(python).resolve()), found["executable"]}
    binds |= {str(Path(p).resolve()) for p in found["stdlib"] if p and Path(p).is_dir()}
    if found["lib"] and Path(found["lib"]).is_file():
        binds.add(str(Path(found["lib"]).resolve()))
    hide = set()
    for path in found["hide"]:
        if path and Path(path).is_dir():
            real = str(Path(path).resolve())
            if any(real.startswith(b + os.sep) for b in binds):
                hide.add(real)
    # a folder inside another bound folder needs no bind of its own
    binds = {b for b in binds if not any(b.startswith(o + os.sep) for o in binds)}
    return sorted(binds), sorted(hide)


def _system_mounts() -> list[str]:
    args: list[str] = []
    for lib in ("/usr/lib", "/usr/lib64", "/usr/lib32"):
        if Path(lib).is_dir() and not Path(lib).is_symlink():
            args += ["--ro-bind", lib, lib]
    for lib in ("/lib", "/lib64", "/lib32", "/libx32"):
        path = Path(lib)
        if path.is_symlink():
            args += ["--symlink", os.readlink(lib), lib]
        elif path.is_dir():
            args += ["--ro-bind", lib, lib]
    for dev in ("/dev/null", "/dev/zero", "/dev/urandom"):
        args += ["--dev-bind", dev, dev]
    if Path("/usr/share/zoneinfo").is_dir():
        args += ["--ro-bind", "/usr/share/zoneinfo", "/usr/share/zoneinfo"]
    return args


def _with_folders(args: list[str]) -> list[str]:
    """Create every folder above a mount point first, readable by all (bwrap makes them 0700)."""
    made: set[str] = {"/"}
    out: list[str] = []
    i = 0
    while i < len(args):
        op = args[i]
        if op in ("--ro-bind", "--dev-bind", "--symlink"):
            dest = args[i + 2]
            parents = [str(p) for p in reversed(Path(dest).parents)]
            for parent in parents:
                if parent not in made:
                    out += ["--perms", "0755", "--dir", parent]
                    made.add(parent)
            out += args[i:i + 3]
            made.add(dest)
            i += 3
        else:
            out.append(op)
            i += 1
    return out


# --- the parent side ---------------------------------------------------------------------------


class Sandbox:
    """Runs student code in a bubblewrap sandbox, one fresh process per run; results are cached.

    ``bwrap`` is the bubblewrap program (found on ``PATH`` by default);
    ``python`` the interpreter to run inside (this one's base interpreter by
    default). If bubblewrap is missing or cannot build its sandbox here,
    :meth:`run` raises :class:`SandboxUnavailable` and :meth:`unavailable`
    says why. The cache (keyed by code, tests and limits) lets a page run the
    code in a background thread and the engine's grader, called afterwards,
    reuse that run instead of starting another.
    """

    RETRY_PROBE = 60.0  # seconds before a failed probe is tried again

    def __init__(self, *, bwrap: str | None = None, python: str | None = None,
                 cache_size: int = 128, cache_seconds: float = 600.0):
        self.bwrap = bwrap or shutil.which("bwrap") or "/usr/bin/bwrap"
        self.python = python or _base_python()
        self.cache_size = cache_size
        self.cache_seconds = cache_seconds
        self._cache: OrderedDict[str, tuple[float, RunResult]] = OrderedDict()
        self._lock = threading.Lock()
        self._probe_lock = threading.Lock()
        self._probed: tuple[float, str | None] | None = None
        self._seccomp = seccomp_filter()
        self._root = hasattr(os, "geteuid") and os.geteuid() == 0
        self._paths: tuple[list[str], list[str]] | None = None

    # what is in force ---------------------------------------------------------------------------

    def describe(self) -> tuple[str, ...]:
        """The layers in force here, in words (for the teacher and the tests)."""
        user = ("runs as user nobody (uid 65534), every capability dropped" if self._root else
                "runs as uid 65534 in a user namespace, every capability dropped")
        layers = ["bubblewrap sandbox: a read-only file system of its own (Python, its standard "
                  "library and an empty work folder), no network, no other processes in sight",
                  user,
                  "limits: CPU time, memory, open files, file size, work folder size, "
                  "no new processes",
                  "wall-clock timeout"]
        if self._seccomp is not None:
            layers.append("seccomp filter: no sockets, namespaces, mounts, ptrace or bpf")
        layers.append("audit hook (second layer): no sockets, subprocesses or files outside "
                      "its folder")
        return tuple(layers)

    def unavailable(self) -> str | None:
        """Why student code cannot run here, in one sentence; None when the sandbox works.

        The first call builds a sandbox and runs a tiny function in it; the
        answer is kept (a failure is tried again after a minute).
        """
        with self._probe_lock:
            now = time.monotonic()
            if self._probed is not None and (self._probed[1] is None
                                             or now - self._probed[0] < self.RETRY_PROBE):
                return self._probed[1]
            problem = self._probe()
            self._probed = (time.monotonic(), problem)
            return problem

    def _probe(self) -> str | None:
        if not sys.platform.startswith("linux"):
            return ("Coding challenges cannot run here: their sandbox (bubblewrap) needs Linux, "
                    "and student code is never run without it.")
        if not (os.path.isfile(self.bwrap) and os.access(self.bwrap, os.X_OK)):
            return (f"Coding challenges cannot run here: the sandbox program bubblewrap "
                    f"({self.bwrap}) is not installed; install the Debian package bubblewrap "
                    f"(student code is never run without it).")
        try:
            result = self._execute("def probe():\n    return 1\n", "probe",
                                   (TestCase("probe()", "1"),), Limits(seconds=10))
        except OSError as err:
            result = RunResult("crash", (), str(err))
        if result.status == "ok" and result.passed == 1:
            return None
        said = [line.strip() for line in result.output.splitlines() if line.strip()]
        reason = next((line for line in said if line.startswith("bwrap")), said[0] if said else
                      result.message or result.status)
        return (f"Coding challenges cannot run here: bubblewrap could not build its sandbox "
                f"({reason[:200]}), probably because this machine does not allow user "
                f"namespaces (student code is never run without them).")

    # running ------------------------------------------------------------------------------------

    def run(self, code: str, function: str, tests: list[TestCase] | tuple[TestCase, ...],
            limits: Limits = Limits()) -> RunResult:
        """Run ``code`` and call each test; a cached result if this exact run happened lately.

        Raises :class:`SandboxUnavailable` where the sandbox cannot be had.
        """
        tests = tuple(tests)
        key = hashlib.sha256(json.dumps(
            [code, function, [asdict(t) for t in tests], asdict(limits), self.bwrap,
             self.python], sort_keys=True).encode()).hexdigest()
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
        problem = self.unavailable()
        if problem is not None:
            raise SandboxUnavailable(problem)
        return self._execute(code, function, tuple(tests), limits)

    def command(self, limits: Limits, records_fd: int, seccomp_fd: int | None,
                info_fd: int | None = None) -> list[str]:
        """The bwrap command line of one run (the child's record pipe is ``records_fd``)."""
        if self._paths is None:
            self._paths = _python_paths(self.python)
        binds, hide = self._paths
        mounts = _system_mounts()
        for path in binds:
            mounts += ["--ro-bind", path, path]
        mounts += ["--ro-bind", str(CHILD), HARNESS]
        args = [self.bwrap, "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts",
                "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--as-pid-1"]
        if self._root:  # see layer 3 in the module's docstring
            args += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            args += ["--unshare-user", "--uid", str(NOBODY), "--gid", str(NOBODY),
                     "--disable-userns"]
        args += _with_folders(mounts)
        for path in hide:
            args += ["--size", "4096", "--perms", "0555", "--tmpfs", path, "--remount-ro", path]
        for parent in reversed(Path(WORK).parents):
            if str(parent) != "/":
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--proc", "/proc",
                 "--size", str(limits.disk_kb * 1024), "--perms", "01777", "--tmpfs", WORK,
                 "--remount-ro", "/", "--chdir", WORK, "--clearenv",
                 "--setenv", "PATH", "/usr/bin:/bin", "--setenv", "LC_ALL", "C.UTF-8",
                 "--setenv", "LANG", "C.UTF-8", "--setenv", "HOME", WORK,
                 "--setenv", "TMPDIR", WORK]
        if seccomp_fd is not None:
            args += ["--seccomp", str(seccomp_fd)]
        if info_fd is not None:
            args += ["--info-fd", str(info_fd)]
        return args + ["--", self.python, "-I", "-S", "-B", HARNESS, str(records_fd)]

    def _execute(self, code: str, function: str, tests: tuple[TestCase, ...],
                 limits: Limits) -> RunResult:
        started = time.monotonic()
        deadline = started + limits.seconds + STARTUP_SLACK
        req_r, req_w = os.pipe()
        rec_r, rec_w = os.pipe()
        out_r, out_w = os.pipe()
        info_r, info_w = os.pipe()
        passed = [rec_w, info_w]
        seccomp_fd = None
        if self._seccomp is not None:
            seccomp_fd, filter_w = os.pipe()
            os.write(filter_w, self._seccomp)  # a few hundred bytes: fits in the pipe
            os.close(filter_w)
            passed.append(seccomp_fd)
        try:
            proc = subprocess.Popen(self.command(limits, rec_w, seccomp_fd, info_w), stdin=req_r,
                                    stdout=out_w, stderr=out_w, pass_fds=tuple(passed),
                                    env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
                                    start_new_session=True, close_fds=True)
        except OSError:
            for fd in (req_r, req_w, rec_r, out_r, out_w, info_r, *passed):
                os.close(fd)
            raise
        for fd in (req_r, out_w, *passed):
            os.close(fd)
        channel = _Channel(req_w, rec_r, out_r)
        child = _Child(info_r, deadline)
        try:
            status, message, results = _converse(channel, proc, code, function, tests, limits,
                                                 deadline)
            channel.close_requests()  # the child exits when it reads the end of its requests
            channel.drain(min(deadline, time.monotonic() + 0.5))
        finally:
            try:  # whatever happened above, nothing of the run outlives it
                child.kill(proc)
                _kill_group(proc)
                proc.wait()
                channel.drain(time.monotonic() + 1.0)
            finally:
                channel.close()
        seconds = time.monotonic() - started
        output = channel.output.decode("utf-8", "replace")
        if len(output) > MAX_OUTPUT:
            output = output[:MAX_OUTPUT] + "\n… (more output was cut)"
        return RunResult(status, tuple(results), message, output, round(seconds, 3),
                         self.describe())


class _Channel:
    """The parent's ends of the three pipes: requests out, records in, printed output in."""

    def __init__(self, requests: int, records: int, output: int):
        self.requests, self.records, self.out = requests, records, output
        self.output = bytearray()
        self.selector = selectors.DefaultSelector()
        self.selector.register(records, selectors.EVENT_READ)
        self.selector.register(output, selectors.EVENT_READ)
        self.pending = bytearray()
        self.out_open = True
        self.records_open = True

    def send(self, data: dict) -> bool:
        """Write one length-prefixed request; False if the child is gone."""
        body = json.dumps(data).encode()
        try:
            _write_all(self.requests, struct.pack(">I", len(body)) + body)
        except (BrokenPipeError, OSError):
            return False
        return True

    def _read_output(self) -> None:
        try:
            chunk = os.read(self.out, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            self.selector.unregister(self.out)
            self.out_open = False
        elif len(self.output) <= MAX_OUTPUT * 4:
            self.output += chunk[:MAX_OUTPUT * 4 + 1 - len(self.output)]

    def receive(self, deadline: float) -> dict | str:
        """One record from the child; or "timeout", or "eof" when the child closed its end.

        Raises _BadRecord for a record that breaks the protocol.
        """
        while True:
            if len(self.pending) >= 4:
                size = struct.unpack(">I", self.pending[:4])[0]
                if size > MAX_RECORD:
                    raise _BadRecord("a record too large")
                if len(self.pending) >= 4 + size:
                    body = bytes(self.pending[4:4 + size])
                    del self.pending[:4 + size]
                    return _parse(body)
            if not self.records_open:
                return "eof"
            left = deadline - time.monotonic()
            if left <= 0:
                return "timeout"
            for key, _ in self.selector.select(left):
                if key.fd == self.out:
                    self._read_output()
                    continue
                try:
                    chunk = os.read(self.records, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    self.selector.unregister(self.records)
                    self.records_open = False
                else:
                    self.pending += chunk
                    if len(self.pending) > MAX_RECORD + 4:
                        raise _BadRecord("a record too large")

    def drain(self, until: float) -> None:
        """Read what the child prints until it closes its end (or ``until``)."""
        while self.out_open and time.monotonic() < until:
            for key, _ in self.selector.select(max(0.0, min(0.05, until - time.monotonic()))):
                if key.fd == self.out:
                    self._read_output()
                elif self.records_open:
                    try:
                        if not os.read(self.records, 65536):
                            raise OSError
                    except OSError:
                        self.selector.unregister(self.records)
                        self.records_open = False

    def close_requests(self) -> None:
        if self.requests >= 0:
            os.close(self.requests)
            self.requests = -1

    def close(self) -> None:
        self.close_requests()
        self.selector.close()
        for fd in (self.records, self.out):
            try:
                os.close(fd)
            except OSError:
                pass


class _Child:
    """The sandboxed process itself, from what bwrap's ``--info-fd`` says.

    bwrap writes the child's pid before it starts the child and is its parent (nothing
    but bwrap, which we still hold, can reap it), so the pid cannot have been reused yet;
    a pidfd taken at once keeps it that way.
    """

    def __init__(self, info: int, deadline: float):
        self.pid, self.pidfd = None, None
        data = b""
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([info], [], [],
                                            max(0.0, deadline - time.monotonic()))
                if not ready:
                    break
                chunk = os.read(info, 4096)
                if not chunk:
                    break
                data += chunk
            pid = json.loads(data or b"{}").get("child-pid")
            if type(pid) is int and pid > 0:
                self.pid = pid
                self.pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
        except (OSError, ValueError, AttributeError):
            pass
        finally:
            os.close(info)

    def kill(self, bwrap: subprocess.Popen) -> None:
        """SIGKILL the child: it lost bwrap's parent-death signal when it changed its uid."""
        try:
            if self.pidfd is not None:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            elif self.pid is not None and bwrap.poll() is None:  # not reaped: still ours
                os.kill(self.pid, signal.SIGKILL)
        except OSError:
            pass
        finally:
            if self.pidfd is not None:
                os.close(self.pidfd)
                self.pidfd = None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _parse(body: bytes) -> dict:
    try:
        record = json.loads(body)
    except (ValueError, RecursionError, MemoryError) as err:
        raise _BadRecord("a record that is not JSON") from err
    if type(record) is not dict:
        raise _BadRecord("a record that is not an object")
    return record


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        pass


def _converse(channel: _Channel, proc: subprocess.Popen, code: str, function: str,
              tests: tuple[TestCase, ...], limits: Limits,
              deadline: float) -> tuple[str, str, list[TestResult]]:
    """Talk to the child: the code, then one call at a time; the status, message and results."""
    results: list[TestResult] = []

    def not_run(why: str) -> list[TestResult]:
        return results + [TestResult(_name(t, i), t.call, False, _expected(t), "", why, t.hidden)
                          for i, t in enumerate(tests) if i >= len(results)]

    def ended(reply: str, phase: str) -> tuple[str, str, list[TestResult]]:
        status, message = _ending(reply, phase, proc, deadline, limits, results)
        why = {"timeout": "not run: time ran out", "memory": "not run: out of memory"}.get(
            status, "not run")
        return status, message, not_run(why)

    try:
        if not channel.send({"code": code, "function": function, "limits": limits.child()}):
            return ended("eof", "start")
        reply = channel.receive(deadline)
        if not isinstance(reply, dict):
            return ended(reply, "start")
        if reply != {"event": "ready"}:
            raise _BadRecord("no ready record")
        reply = channel.receive(deadline)
        if not isinstance(reply, dict):
            return ended(reply, "load")
        if channel.pending:  # the child now waits for the first call: nothing may follow
            raise _BadRecord("more than one load record")
        loaded = _loaded(reply, limits)
        if loaded is not None:
            return loaded[0], loaded[1], not_run("not run")
        for i, test in enumerate(tests):
            nonce = secrets.token_hex(8)  # unknown to the child until this call is sent
            if not channel.send({"i": i, "nonce": nonce, "call": test.call}):
                return ended("eof", "calls")
            reply = channel.receive(deadline)
            if not isinstance(reply, dict):
                return ended(reply, "calls")
            if reply.get("i") != i or reply.get("nonce") != nonce or channel.pending \
                    or not ("value" in reply or "raised" in reply):
                raise _BadRecord("a record out of turn")
            results.append(_check(_name(test, i), test, reply))
    except _BadRecord:
        return "checker_failed", CHECKER_FAILED, [
            TestResult(_name(t, i), t.call, False, _expected(t), "", "not checked", t.hidden)
            for i, t in enumerate(tests)]
    if any(r.message == "used too much memory" for r in results):
        return "memory", f"Your code used more memory than allowed ({limits.memory_mb} MB).", \
            results
    return "ok", "", results


def _name(test: TestCase, i: int) -> str:
    return test.name or f"test {i + 1}"


def _expected(test: TestCase) -> str:
    return (test.expect or "") if test.raises is None else f"raises {test.raises}"


def _ending(reply: str, phase: str, proc: subprocess.Popen, deadline: float, limits: Limits,
            results: list[TestResult]) -> tuple[str, str]:
    """Why the child stopped answering: the status and the sentence for the student."""
    if reply == "eof":
        try:
            proc.wait(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        except subprocess.TimeoutExpired:
            pass
    code = proc.poll()
    killed = reply == "timeout" or code in (128 + signal.SIGKILL, 128 + signal.SIGXCPU,
                                            -signal.SIGKILL, -signal.SIGXCPU)
    if killed and phase != "start":
        return "timeout", (f"Your code ran longer than {limits.seconds:g} seconds and was "
                           "stopped. Is there a loop that never ends?")
    if phase == "start":
        return "crash", "The checker could not start your code; your teacher has been told."
    if results and results[-1].got.startswith("raised MemoryError"):
        return "memory", f"Your code used more memory than allowed ({limits.memory_mb} MB)."
    return "crash", "Your code stopped the program before every test had run."


def _loaded(record: dict, limits: Limits) -> tuple[str, str] | None:
    """The status and sentence of a load record that is not "loaded"; None when it is."""
    event = record.get("event")
    if record == {"event": "loaded"}:
        return None
    line = record.get("line") if type(record.get("line")) is int else None
    if event == "syntax":
        where = f" on line {line}" if line is not None else ""
        return "syntax", f"Python could not read your code{where}: {_text(record.get('message'))}."
    if event == "load":
        if record.get("raised") == "MemoryError":
            return "memory", f"Your code used more memory than allowed ({limits.memory_mb} MB)."
        return "load_error", _raised_text(record, "while your code was loading")
    if event == "no_function":
        names = record.get("names")
        names = [n for n in names if type(n) is str][:20] if type(names) is list else []
        return "no_function", ("Your code has no function with the name this challenge calls "
                               f"(functions found: {', '.join(names) or 'none'}).")
    raise _BadRecord("an unknown load record")


def _raised_text(record: dict, when: str) -> str:
    line = f" (line {record['line']})" if type(record.get("line")) is int else ""
    message = _text(record.get("message"))
    detail = f": {message}" if message else ""
    return f"Your code raised {_text(record.get('raised')) or 'an error'}{line} {when}{detail}."


def _check(name: str, test: TestCase, record: dict) -> TestResult:
    if "raised" in record:
        raised = _text(record["raised"]) or "an error"
        message = _text(record.get("message"))
        got = f"raised {raised}" + (f": {message}" if message else "")
        if test.raises is not None:
            ok = raised == test.raises
            return TestResult(name, test.call, ok, f"raises {test.raises}", got,
                              "" if ok else f"expected {test.raises}", test.hidden)
        why = "used too much memory" if raised == "MemoryError" else (
            f"error on line {record['line']}" if type(record.get("line")) is int else "error")
        return TestResult(name, test.call, False, test.expect or "", got, why, test.hidden)
    got = _rebuild(record.get("value"))
    if test.raises is not None:
        return TestResult(name, test.call, False, f"raises {test.raises}", _shown(got),
                          f"expected {test.raises}", test.hidden)
    expected = literal(test.expect or "None")
    try:
        ok = same_value(expected, got)
    except RecursionError as err:
        raise _BadRecord("a value nested too deeply") from err
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
