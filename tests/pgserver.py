"""A throw-away PostgreSQL server for the tests, and the fixture that runs a test on both stores.

The server is Debian's (``/usr/lib/postgresql/<version>/bin``; ``.ci/run``
installs the ``postgresql`` package when it is missing): ``initdb`` into a
temporary folder, listening only on a Unix socket in that folder
(``listen_addresses=''``), started once per test session and stopped by its
pid. ``initdb`` refuses to run as root, so as root the folder is given to the
``postgres`` system user (or ``nobody``) and the server runs as that user.
Each test gets its own schema (``search_path``) in one database.

If PostgreSQL is missing the tests that need it fail, with the reason.
"""
from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import pytest

BACKENDS = ("sqlite", "postgresql")


def postgres_bin() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: [int(x) for x in Path(p).parent.parent.name.split(".")
                                  if x.isdigit()])
    if not found:
        pytest.fail("PostgreSQL is not installed: no /usr/lib/postgresql/*/bin/initdb "
                    "(apt-get install postgresql; .ci/run does it)", pytrace=False)
    return Path(found[-1]).parent


def _server_user() -> str | None:
    """The user the server runs as when we are root (initdb refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    pytest.fail("running as root but there is no 'postgres' or 'nobody' user to run "
                "PostgreSQL as", pytrace=False)


class PGServer:
    """One PostgreSQL server in a temporary folder, reachable only through its socket."""

    def __init__(self, *, fsync: bool = False):
        self.bin = postgres_bin()
        self.user = _server_user()
        self.root = Path(tempfile.mkdtemp(prefix="qe-pg-"))
        self.data = self.root / "data"
        self.socket_dir = self.root
        self.fsync = fsync
        self.process: subprocess.Popen | None = None
        self._schemas = itertools.count(1)
        self.log = self.root / "server.log"

    def _as_user(self, argv: list[str]) -> list[str]:
        if self.user is None:
            return argv
        return ["runuser", "-u", self.user, "--", *argv]

    def start(self) -> "PGServer":
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.root, info.pw_uid, info.pw_gid)
        os.chmod(self.root, 0o755)
        init = subprocess.run(
            self._as_user([str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                           "-U", "postgres", "-E", "UTF8", "--locale=C", "--no-sync"]),
            capture_output=True, text=True)
        if init.returncode != 0:
            pytest.fail(f"initdb failed: {init.stderr or init.stdout}", pytrace=False)
        log = open(self.log, "w")
        if self.user is not None:
            info = pwd.getpwnam(self.user)
            os.chown(self.log, info.pw_uid, info.pw_gid)
        argv = [str(self.bin / "postgres"), "-D", str(self.data), "-k", str(self.socket_dir),
                "-c", "listen_addresses=", "-c", "max_connections=300",
                "-c", f"fsync={'on' if self.fsync else 'off'}",
                "-c", "shared_buffers=128MB"]
        if not self.fsync:
            argv += ["-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
        self.process = subprocess.Popen(self._as_user(argv), stdout=log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"PostgreSQL stopped at start: {self.log.read_text()[-2000:]}",
                            pytrace=False)
            ready = subprocess.run([str(self.bin / "pg_isready"), "-h", str(self.socket_dir),
                                    "-U", "postgres", "-d", "postgres"], capture_output=True)
            if ready.returncode == 0:
                break
            time.sleep(0.1)
        else:
            self.stop()
            pytest.fail("PostgreSQL did not become ready within 60 s", pytrace=False)
        import psycopg

        with psycopg.connect(self.address("postgres"), autocommit=True) as conn:
            conn.execute("create database questengine")
        return self

    def address(self, dbname: str = "questengine", schema: str | None = None) -> str:
        """A ``postgresql://`` address of a database on this server (in one schema)."""
        url = f"postgresql://postgres@/{dbname}?host={quote(str(self.socket_dir), safe='')}"
        if schema:
            url += "&options=" + quote(f"-c search_path={schema}", safe="")
        return url

    def fresh_address(self) -> str:
        """The address of a new, empty schema: a database of its own for one test."""
        import psycopg

        schema = f"t{os.getpid()}_{next(self._schemas)}"
        with psycopg.connect(self.address(), autocommit=True) as conn:
            conn.execute(f"create schema {schema}")
        return self.address(schema=schema)

    def server_pid(self) -> int | None:
        """The postmaster's own pid (under runuser, our child is runuser, not the server)."""
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def stop(self) -> None:
        """Stop the server by its pid ("fast" shutdown, SIGINT), wait for it, remove the folder."""
        pid = self.server_pid()
        if pid is not None:
            try:
                os.kill(pid, signal.SIGINT)
            except ProcessLookupError:
                pid = None
        deadline = time.monotonic() + 30
        while pid is not None and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
        if self.process is not None:
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)


class Rows(list):
    """Result rows that also read like a sqlite3 cursor (``fetchone``, ``fetchall``)."""

    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return list(self)


def query(store, sql: str, params: tuple = ()) -> Rows:
    """Rows of a test's own SQL (``?`` placeholders) on either store."""
    return Rows(tuple(r) for r in store._all(sql, params))


def is_sqlite(store) -> bool:
    return type(store).__name__ == "SQLiteStore"


def table_rows(store) -> dict[str, list[dict]]:
    """Every row of every questengine table, as dicts, table by table."""
    from questengine.store import TABLES

    out = {}
    for table in TABLES:
        cols = store.table_columns(table)
        out[table] = [dict(zip(cols, r)) for r in store.dump_table(table)]
    return out


def scalar(store, sql: str, params: tuple = ()):
    return query(store, sql, params)[0][0]


# --- fixtures (imported by the root conftest.py) ----------------------------------------------


@pytest.fixture(scope="session")
def pg_server():
    """The session's PostgreSQL server (started on first use, stopped by pid at the end)."""
    server = PGServer().start()
    yield server
    server.stop()


@pytest.fixture
def pg_address(pg_server) -> str:
    """A ``postgresql://`` address of an empty schema of its own."""
    return pg_server.fresh_address()


@pytest.fixture(params=BACKENDS)
def db_address(request, tmp_path) -> str:
    """The address of an empty database, once per backend: a SQLite file, then PostgreSQL."""
    if request.param == "sqlite":
        return str(tmp_path / "classroom.db")
    return request.getfixturevalue("pg_server").fresh_address()


@pytest.fixture(params=BACKENDS)
def db_factory(request, tmp_path):
    """Makes addresses of new empty databases, once per backend (for tests that need several)."""
    counter = itertools.count(1)
    if request.param == "sqlite":
        return lambda: str(tmp_path / f"db{next(counter)}.db")
    server = request.getfixturevalue("pg_server")
    return server.fresh_address
