"""The child side of the code sandbox (see :mod:`questengine.sandbox`).

Run as ``python -I -S _sandbox_child.py JOB`` in a fresh process (inside a
network namespace when ``unshare`` works). It reads the job, sets its limits,
drops root privileges when it has them, installs an audit hook, runs the
student's code and then each test's call, and writes one JSON line per call to
the result channel (an inherited file descriptor). It reports the *values* the
calls returned, never whether a test passed: the expected values are not in
this process, so nothing the student's code does here can fake a pass.

Only the standard library is used, and everything is imported before the
student's code runs. Importing this module has no side effects.
"""
import builtins
import json
import math
import os
import resource
import signal
import sys

NOBODY = 65534
#: imported up front: a process that dropped to ``nobody`` may not be able to
#: read the standard library any more, and students use these.
PRELOAD = ("math", "cmath", "random", "string", "itertools", "functools", "collections", "re",
           "fractions", "decimal", "statistics", "datetime", "heapq", "bisect", "operator",
           "copy", "textwrap", "unicodedata", "time", "enum", "dataclasses", "typing")
#: audit events refused outright (prefix match): network, processes, native code
REFUSED = ("socket.", "subprocess.", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
           "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.setuid", "os.setgid", "pty.",
           "ctypes.", "resource.setrlimit", "resource.prlimit", "webbrowser.", "urllib.Request",
           "http.client.", "ftplib.", "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.",
           "sys.remote_exec", "os.add_dll_directory", "winreg.", "msvcrt.")
#: modules that reach native code or processes without an audit event of their own
#: (sockets need no entry: every socket operation raises an audit event refused above)
REFUSED_IMPORTS = frozenset({"ctypes", "_ctypes", "_posixsubprocess", "_xxsubinterpreters",
                             "_testcapi", "_testinternalcapi", "_testbuffer", "_testmultiphase",
                             "multiprocessing", "_multiprocessing", "subprocess"})
#: events whose first (and, for two-path events, second) argument is a path
PATH_EVENTS = {"open": 1, "os.listdir": 1, "os.scandir": 1, "os.remove": 1, "os.rmdir": 1,
               "os.mkdir": 1, "os.rename": 2, "os.replace": 2, "os.symlink": 2, "os.link": 2,
               "os.truncate": 1, "os.chmod": 1, "os.chown": 1, "os.utime": 1, "os.chflags": 1,
               "os.mkfifo": 1, "os.mknod": 1, "os.listxattr": 1, "os.getxattr": 1,
               "os.setxattr": 1, "os.removexattr": 1, "shutil.rmtree": 1, "shutil.copyfile": 2,
               "shutil.copytree": 2, "shutil.move": 2, "glob.glob": 1, "os.chdir": 1}
READ_ONLY_EVENTS = {"open", "os.listdir", "os.scandir", "glob.glob", "os.chdir"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
MAX_LINE = 100_000
MAX_DEPTH = 30


def canon(value, depth=0):
    """A value as JSON the parent can rebuild: built-in types only, tagged.

    Exact types are checked (``type(v) is int``), so an object that claims to
    equal anything is reported by its ``repr`` and never matches an expected
    value.
    """
    if depth > MAX_DEPTH:
        raise ValueError("the value is nested too deeply to check")
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t is int:
        return value if abs(value) < 2 ** 53 else {"int": str(value)}
    if t is float:
        return value if math.isfinite(value) else {"float": repr(value)}
    if t is list:
        return [canon(v, depth + 1) for v in value]
    if t is tuple:
        return {"tuple": [canon(v, depth + 1) for v in value]}
    if t is set or t is frozenset:
        return {t.__name__: [canon(v, depth + 1) for v in value]}
    if t is dict:
        return {"dict": [[canon(k, depth + 1), canon(v, depth + 1)] for k, v in value.items()]}
    if t is complex:
        return {"complex": [value.real, value.imag]}
    if t is bytes:
        return {"bytes": value.hex()}
    try:
        text = object.__repr__(value) if t.__repr__ is object.__repr__ else repr(value)
    except BaseException:
        text = f"<{t.__name__} object>"
    return {"repr": str(text)[:300], "type": t.__name__}


def _limit(which, soft, hard=None):
    try:
        resource.setrlimit(which, (soft, soft if hard is None else hard))
    except (ValueError, OSError):
        pass


def _audit_hook(workdir, read_roots):
    inside = workdir + os.sep
    realpath, fsdecode = os.path.realpath, os.fsdecode
    refused, path_events, read_only = REFUSED, PATH_EVENTS, READ_ONLY_EVENTS
    refused_imports, write_flags = REFUSED_IMPORTS, WRITE_FLAGS
    busy = [False]

    isdir = os.path.isdir

    def allowed(path, write, opening=False):
        if isinstance(path, int):
            return True  # an already open descriptor
        try:
            real = realpath(fsdecode(path))
        except BaseException:
            return False
        if real == workdir or real.startswith(inside):
            return True
        if real in ("/dev/null", "/dev/urandom"):
            return True
        if opening and isdir(real):
            return False  # no descriptor of an outside folder (it would let dir_fd escape)
        return not write and any(real == r or real.startswith(r + os.sep) for r in read_roots)

    def hook(event, args):
        if busy[0]:
            return
        if event.startswith(refused):
            raise PermissionError(f"not allowed in a coding challenge ({event})")
        if event == "import":
            name = str(args[0]) if args else ""
            if name.partition(".")[0] in refused_imports:
                raise ImportError(f"the module {name!r} is not available in a coding challenge")
            return
        count = path_events.get(event)
        if count is None:
            return
        busy[0] = True
        try:
            write = event not in read_only
            if event == "open" and len(args) >= 3:
                mode, flags = args[1], args[2]
                write = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                    isinstance(flags, int) and bool(flags & write_flags))
            for path in args[:count]:
                if path is not None and not allowed(path, write, event == "open"):
                    raise PermissionError(f"your code may only use files in its own folder "
                                          f"(tried {fsdecode(path) if not isinstance(path, int) else path!r})")
        finally:
            busy[0] = False

    return hook


def main(argv):
    with open(argv[1], encoding="utf-8") as f:
        job = json.load(f)
    channel = os.fdopen(job["channel"], "w", encoding="utf-8", buffering=1)

    def send(**data):
        line = json.dumps(data, ensure_ascii=True, allow_nan=True)
        if len(line) > MAX_LINE:
            line = json.dumps({k: v for k, v in data.items() if k in ("i", "event")}
                              | {"raised": "ValueError",
                                 "message": "the answer is too big to check"})
        channel.write(line + "\n")
        channel.flush()

    limits = job["limits"]
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_CPU, limits["cpu"], limits["cpu"] + 1)
    _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    _limit(resource.RLIMIT_NOFILE, limits["files"])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big file raises OSError instead
    for name in PRELOAD:
        __import__(name)
    sys.stdout.reconfigure(encoding="utf-8", errors="replace", line_buffering=True)
    sys.stderr.reconfigure(encoding="utf-8", errors="replace")
    workdir = os.path.realpath(job["workdir"])
    os.chdir(workdir)
    if job.get("drop") and os.geteuid() == 0:
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    _limit(resource.RLIMIT_NPROC, 0)  # no new processes (has no effect on root)
    _limit(resource.RLIMIT_AS, limits["memory_bytes"])
    read_roots = sorted({os.path.realpath(p) for p in job["read_roots"]})
    sys.addaudithook(_audit_hook(workdir, read_roots))
    send(event="ready")

    namespace = {"__name__": "__student__", "__builtins__": builtins}
    try:
        code = compile(job["code"], "your code", "exec")
    except SyntaxError as err:
        send(event="syntax", line=err.lineno, message=str(err.msg))
        return
    except (ValueError, MemoryError, RecursionError) as err:
        send(event="syntax", line=None, message=str(err)[:300])
        return
    try:
        exec(code, namespace)
    except MemoryError:
        send(event="load", raised="MemoryError", message="")
        return
    except BaseException as err:
        send(event="load", raised=type(err).__name__, message=str(err)[:300],
             line=_student_line(err))
        return
    if not callable(namespace.get(job["function"])):
        send(event="no_function", names=sorted(k for k, v in namespace.items()
                                               if callable(v) and not k.startswith("__"))[:20])
        return
    for i, call in enumerate(job["calls"]):
        try:
            value = eval(compile(call, f"test {i + 1}", "eval"), namespace)
            send(i=i, value=canon(value))
        except MemoryError:
            send(i=i, raised="MemoryError", message="")
        except BaseException as err:
            send(i=i, raised=type(err).__name__, message=str(err)[:300], line=_student_line(err))
    send(event="done")


def _student_line(err):
    """The line of the student's code where an exception happened, if any."""
    tb, line = err.__traceback__, None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "your code":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


if __name__ == "__main__":
    main(sys.argv)
