"""The child side of the code sandbox (see :mod:`questengine.sandbox`).

Run by bubblewrap as ``python -I -S -B /qe/harness.py RECORDS_FD``, inside a
sandbox that is the real boundary. It reads length-prefixed JSON requests from
fd 0 and writes length-prefixed JSON records to ``RECORDS_FD``:

1. the job (the student's code, the function's name, the limits); the child
   sets its limits, switches to uid 65534 if it started as root, moves the
   request pipe off fd 0 (``input()`` reads nothing), installs the audit hook
   (a second layer only) and sends ``{"event": "ready"}``;
2. it runs the code and sends ``{"event": "loaded"}`` or why not (``syntax``,
   ``load``, ``no_function``);
3. then, for each request ``{"i": i, "nonce": n, "call": "add(2, 3)"}``, exactly
   one record ``{"i": i, "nonce": n, "value": ...}`` or ``{..., "raised": ...}``,
   until the parent closes the request pipe.

It reports the *values* the calls returned, never whether a test passed: the
expected values are never in this process. Only the standard library is used.
Importing this module has no side effects.
"""
import builtins
import json
import math
import os
import resource
import signal
import struct
import sys

NOBODY = 65534
WORK = "/home/student"
#: audit events refused outright (prefix match): network, processes, native code
REFUSED = ("socket.", "subprocess.", "os.system", "os.exec", "os.spawn", "os.posix_spawn",
           "os.fork", "os.forkpty", "os.kill", "os.killpg", "os.setuid", "os.setgid", "pty.",
           "ctypes.", "resource.setrlimit", "resource.prlimit", "webbrowser.", "urllib.Request",
           "http.client.", "ftplib.", "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.",
           "sys.remote_exec", "os.add_dll_directory", "winreg.", "msvcrt.")
#: modules that reach native code or processes without an audit event of their own
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
MAX_RECORD = 100_000
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
        return value if abs(value) < 2 ** 53 else {"int": _int_text(value)}
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


def _int_text(value):
    try:
        return str(value)
    except ValueError:  # more digits than int() may convert
        raise ValueError("the number is too big to check") from None


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
        if real in ("/dev/null", "/dev/urandom", "/dev/zero"):
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


class Pipe:
    """Length-prefixed JSON over two file descriptors (requests in, records out)."""

    def __init__(self, requests, records):
        self.requests, self.records = requests, records

    def receive(self):
        head = self._read(4)
        if head is None:
            return None
        body = self._read(struct.unpack(">I", head)[0])
        return None if body is None else json.loads(body)

    def _read(self, size):
        data = b""
        while len(data) < size:
            chunk = os.read(self.requests, size - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def send(self, **data):
        _flush()
        try:
            body = json.dumps(data, ensure_ascii=True, allow_nan=True).encode()
        except (ValueError, TypeError, RecursionError, MemoryError):
            body = b""
        if not body or len(body) > MAX_RECORD:
            keep = {k: v for k, v in data.items() if k in ("i", "nonce", "event")}
            body = json.dumps(keep | {"raised": "ValueError",
                                      "message": "the answer is too big to check"}).encode()
        data = struct.pack(">I", len(body)) + body
        while data:
            data = data[os.write(self.records, data):]


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except BaseException:
            pass


def _read_roots():
    import sysconfig

    roots = {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib")}
    roots.add(os.path.dirname(os.__file__))
    roots.add("/usr/share/zoneinfo")
    return sorted({os.path.realpath(r) for r in roots if r})


def main(argv):
    pipe = Pipe(os.dup(0), int(argv[1]))
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)  # the student's input() reads nothing; the requests come on another fd
    os.close(null)
    job = pipe.receive()
    if job is None:
        return
    limits = job["limits"]
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_CPU, limits["cpu"])  # SIGKILL when spent (the child is pid 1)
    _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a too-big file raises OSError instead
    sys.stdout.reconfigure(encoding="utf-8", errors="replace", line_buffering=True)
    sys.stderr.reconfigure(encoding="utf-8", errors="replace")
    read_roots = _read_roots()
    os.chdir(WORK)
    if os.geteuid() == 0:  # bwrap started as root: become nobody for real, losing every capability
        os.setgroups([])
        os.setgid(NOBODY)
        os.setuid(NOBODY)
    _limit(resource.RLIMIT_NPROC, 0)  # no new processes or threads
    _limit(resource.RLIMIT_NOFILE, limits["files"])
    _limit(resource.RLIMIT_AS, limits["memory_bytes"])
    sys.addaudithook(_audit_hook(WORK, read_roots))
    pipe.send(event="ready")

    namespace = {"__name__": "__student__", "__builtins__": builtins}
    code_text, function = job["code"], job["function"]
    del job
    try:
        code = compile(code_text, "your code", "exec")
    except SyntaxError as err:
        pipe.send(event="syntax", line=err.lineno, message=str(err.msg))
        return
    except (ValueError, MemoryError, RecursionError) as err:
        pipe.send(event="syntax", line=None, message=str(err)[:300])
        return
    try:
        exec(code, namespace)
    except MemoryError:
        pipe.send(event="load", raised="MemoryError", message="")
        return
    except BaseException as err:
        pipe.send(event="load", raised=type(err).__name__, message=_message(err),
                  line=_student_line(err))
        return
    if not callable(namespace.get(function)):
        pipe.send(event="no_function", names=sorted(k for k, v in namespace.items()
                                                    if callable(v) and not k.startswith("__"))[:20])
        return
    pipe.send(event="loaded")
    while True:
        request = pipe.receive()
        if request is None:
            break
        i, nonce = request["i"], request["nonce"]
        try:
            value = eval(compile(request.pop("call"), f"test {i + 1}", "eval"), namespace)
            pipe.send(i=i, nonce=nonce, value=canon(value))
        except MemoryError:
            pipe.send(i=i, nonce=nonce, raised="MemoryError", message="")
        except BaseException as err:
            pipe.send(i=i, nonce=nonce, raised=type(err).__name__, message=_message(err),
                      line=_student_line(err))
    _flush()
    os._exit(0)  # no atexit handlers of the student's


def _message(err):
    try:
        return str(err)[:300]
    except BaseException:
        return ""


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
