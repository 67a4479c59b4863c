"""The SQLite store (the embedded default): a thin class over sqlite-utils.

One database file is shared by many processes (one Voilà kernel per open
page), so the connection is opened here with a busy timeout, in WAL mode with
``synchronous=NORMAL``, and every read-then-write runs in ``BEGIN IMMEDIATE``
(:meth:`SQLiteStore.write`), retried a bounded number of times when the
database is busy. Writers line up for the write lock in a :class:`WriteQueue`
(a ``flock`` beside the database) instead of sleeping in SQLite's busy
handler. Events are appended and the materialized rows (progress,
submissions, reviews, reflections, mastery, badges) updated in the same
transaction. The queries themselves are shared with PostgreSQL
(:mod:`questengine.store._sql`).
"""
from __future__ import annotations

import fcntl
import os
import queue
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlite_utils

from ..rewards import level_for
from . import StoreBusy, StoreError
from ._sql import SQLStore

__all__ = ["SQLiteStore", "WriteQueue", "SCHEMA_VERSION", "MIGRATIONS"]


# --- schema and migrations ----------------------------------------------------------


def _migration_1(db: sqlite_utils.Database) -> None:
    db["teachers"].create({"id": int, "email": str, "name": str, "password_hash": str,
                           "created": str}, pk="id", not_null={"email", "password_hash"})
    db["teachers"].create_index(["email"], unique=True)
    db["classes"].create({"code": str, "name": str, "teacher_id": int, "created": str},
                         pk="code", foreign_keys=[("teacher_id", "teachers", "id")])
    db["classes"].create_index(["teacher_id"])
    # AUTOINCREMENT: a deleted student's id is never given to someone else
    db.execute("create table students (id integer primary key autoincrement, opaque_id text, "
               "class_code text references classes(code), name text, name_key text, "
               "pin_hash text, created text)")
    db["students"].create_index(["class_code", "name_key"], unique=True)
    db["students"].create_index(["opaque_id"], unique=True)
    db["enrolments"].create({"student_id": int, "class_code": str, "enrolled": str},
                            pk=("student_id", "class_code"),
                            foreign_keys=[("student_id", "students", "id"),
                                          ("class_code", "classes", "code")])
    db["enrolments"].create_index(["class_code"])
    db["quests"].create({"id": str, "version": int, "title": str, "source": str, "hash": str,
                         "published": str, "published_by": int}, pk=("id", "version"))
    db["assignments"].create({"class_code": str, "quest_id": str, "assigned": str,
                              "assigned_by": int}, pk=("class_code", "quest_id"),
                             foreign_keys=[("class_code", "classes", "code")])
    db["assignments"].create_index(["quest_id"])
    db["events"].create({"id": int, "student_id": int, "quest_id": str, "version": int,
                         "node": str, "type": str, "role": str, "actor": str, "at": str,
                         "data": str}, pk="id", foreign_keys=[("student_id", "students", "id")])
    db["events"].create_index(["student_id", "quest_id", "id"])
    db["events"].create_index(["quest_id", "node"])
    db["progress"].create({"student_id": int, "quest_id": str, "node": str, "state": str,
                           "attempts": int, "score": float, "round": int, "updated": str},
                          pk=("student_id", "quest_id", "node"))
    db["progress"].create_index(["quest_id", "node", "state"])
    db["progress"].create_index(["quest_id", "state"])
    db["quest_status"].create({"student_id": int, "quest_id": str, "version": int, "xp": int,
                               "level": int, "complete": int, "current": str,
                               "struggling": str, "updated": str},
                              pk=("student_id", "quest_id"))
    db["quest_status"].create_index(["quest_id", "complete"])
    db["submissions"].create({"id": int, "student_id": int, "quest_id": str, "node": str,
                              "round": int, "content": str, "status": str, "at": str,
                              "event_id": int}, pk="id",
                             foreign_keys=[("student_id", "students", "id")])
    db["submissions"].create_index(["status", "at"])
    db["submissions"].create_index(["student_id", "quest_id", "node"])
    db["reviews"].create({"id": int, "submission_id": int, "student_id": int, "quest_id": str,
                          "node": str, "round": int, "decision": str, "feedback": str,
                          "teacher": str, "at": str}, pk="id",
                         foreign_keys=[("submission_id", "submissions", "id")])
    db["reviews"].create_index(["submission_id"])
    db["reviews"].create_index(["student_id", "quest_id", "node"])
    db["mastery"].create({"student_id": int, "quest_id": str, "competency": str,
                          "value": float, "evidence": int, "updated": str},
                         pk=("student_id", "quest_id", "competency"))
    db["mastery"].create_index(["competency"])
    db["profiles"].create({"student_id": int, "interests": str, "goals": str, "updated": str},
                          pk="student_id")
    db["reflections"].create({"id": int, "student_id": int, "quest_id": str, "node": str,
                              "text": str, "at": str}, pk="id")
    db["reflections"].create_index(["student_id", "quest_id"])
    db["badges"].create({"student_id": int, "badge": str, "quest_id": str, "at": str},
                        pk=("student_id", "badge"))
    db["sessions"].create({"token_hash": str, "kind": str, "user_id": int, "created": str,
                           "expires": str}, pk="token_hash")
    db["sessions"].create_index(["kind", "user_id"])
    db["login_failures"].create({"id": int, "key": str, "at": float}, pk="id")
    db["login_failures"].create_index(["key", "at"])


def _migration_2(db: sqlite_utils.Database) -> None:
    # XP earned on nodes a newer quest version removed: kept, never lost
    db["quest_status"].add_column("carried_xp", int, not_null_default=0)


def _migration_3(db: sqlite_utils.Database) -> None:
    # failed attempts over all rounds, for the progress center's "struggling" list
    db["progress"].add_column("fails", int, not_null_default=0)
    db["progress"].create_index(["quest_id", "fails"])


#: version -> function that brings the schema from version - 1 to version.
def _migration_4(db: sqlite_utils.Database) -> None:
    # a random name for this database: xAPI statement ids stay stable across exports
    db.execute("create table if not exists questengine_identity "
               "(id integer primary key check (id = 1), uuid text not null)")
    db.execute("insert or ignore into questengine_identity (id, uuid) values (1, ?)",
               (str(uuid.uuid4()),))


def _migration_5(db: sqlite_utils.Database) -> None:
    # the class overview counts (node, state) over one class's students: with student_id in
    # the index, the join to enrolments reads the index alone instead of one table row per
    # progress row (benchmarks/center.py: 21x -> 2.8x the raw GROUP BY at 10,000 students)
    db["progress"].create_index(["quest_id", "node", "state", "student_id"])


def _migration_6(db: sqlite_utils.Database) -> None:
    # when the student (not the teacher) last acted, for "no activity for N days"
    db["quest_status"].add_column("last_active", str)
    db.execute("update quest_status set last_active = updated")


def _migration_7(db: sqlite_utils.Database) -> None:
    # every published quest has an owning teacher: quests published without one (by the
    # command line or the demo) go to the teacher of the first class they were assigned to
    for statement in OWNERLESS_QUESTS:
        db.execute(statement)


#: Migration 7's statements (PostgreSQL runs the very same ones).
OWNERLESS_QUESTS = (
    "update quests set published_by = (select c.teacher_id from assignments a "
    "join classes c on c.code = a.class_code where a.quest_id = quests.id "
    "order by a.assigned limit 1) where published_by is null",
    "update quests set published_by = (select q.published_by from quests q "
    "where q.id = quests.id and q.published_by is not null order by q.version "
    "limit 1) where published_by is null",
)

def _migration_8(db: sqlite_utils.Database) -> None:
    # files handed in with a submission and files shipped with a quest: the bytes live in
    # the content-addressed file store (questengine.files), the rows name them by SHA-256
    db["submission_files"].create({"id": int, "submission_id": int, "student_id": int,
                                   "quest_id": str, "node": str, "round": int, "name": str,
                                   "mime": str, "size": int, "sha256": str, "at": str},
                                  pk="id", foreign_keys=[("submission_id", "submissions", "id")],
                                  if_not_exists=True)
    db["submission_files"].create_index(["submission_id"], if_not_exists=True)
    db["submission_files"].create_index(["student_id"], if_not_exists=True)
    db["submission_files"].create_index(["sha256"], if_not_exists=True)
    db["quest_assets"].create({"quest_id": str, "version": int, "path": str, "mime": str,
                               "size": int, "sha256": str},
                              pk=("quest_id", "version", "path"), if_not_exists=True)
    db["quest_assets"].create_index(["sha256"], if_not_exists=True)
    db["class_settings"].create({"class_code": str, "upload_limit": int}, pk="class_code",
                                if_not_exists=True)


def _migration_9(db: sqlite_utils.Database) -> None:
    # behind JupyterHub the hub user is the identity: the roster's "hub username" column maps
    # it to a teacher or a student (one row per class the student is on); OneRoster imports
    # keep each record's sourcedId so a re-import updates instead of duplicating
    for table, column in (("students", "hub_username"), ("students", "source_id"),
                          ("teachers", "hub_username"), ("teachers", "source_id"),
                          ("classes", "source_id")):
        _add_column(db, table, column)
    db["students"].create_index(["hub_username"], if_not_exists=True)
    db["students"].create_index(["source_id", "class_code"], unique=True, if_not_exists=True)
    db["teachers"].create_index(["hub_username"], unique=True, if_not_exists=True)
    db["teachers"].create_index(["source_id"], unique=True, if_not_exists=True)
    db["classes"].create_index(["source_id"], unique=True, if_not_exists=True)


def _add_column(db: sqlite_utils.Database, table: str, column: str, type_=str) -> None:
    # migrations may meet a database that already has part of them (one marked older than
    # it is): adding what is there already would stop the whole upgrade
    if column not in db[table].columns_dict:
        db[table].add_column(column, type_)


def _migration_10(db: sqlite_utils.Database) -> None:
    # families (issue 18): accounts, the codes on the teacher's handout, the links the
    # teacher approves, notes both ways; reflections a student shares; a language per user
    for statement in FAMILY_TABLES:
        words = statement.split()
        if words[:2] == ["alter", "table"]:  # alter table T add column C TYPE...
            if words[5] not in db[words[2]].columns_dict:
                db.execute(statement)
            continue
        db.execute(statement.replace("create table ", "create table if not exists ")
                   .replace("create index ", "create index if not exists ")
                   .replace("create unique index ", "create unique index if not exists "))


#: Migration 10's statements (PostgreSQL runs the same ones with its own id column).
FAMILY_TABLES = (
    "create table families (id integer primary key autoincrement, email text not null, "
    "name text, password_hash text not null, language text, created text)",
    "create unique index idx_families_email on families (email)",
    "create table family_codes (code_hash text primary key, student_id integer "
    "references students(id), created text)",
    "create index idx_family_codes_student_id on family_codes (student_id)",
    "create table family_links (family_id integer references families(id), student_id "
    "integer references students(id), status text not null, requested text, decided text, "
    "primary key (family_id, student_id))",
    "create index idx_family_links_student_id on family_links (student_id)",
    "create table family_messages (id integer primary key autoincrement, student_id integer "
    "references students(id), family_id integer, sender text not null, author text, "
    "text text not null, at text)",
    "create index idx_family_messages_student_id on family_messages (student_id, id)",
    "alter table reflections add column shared integer not null default 0",
    "alter table students add column language text",
)


def _migration_11(db: sqlite_utils.Database) -> None:
    # a student's accommodations (issue 15), set by a teacher: one JSON object per student
    db["accommodations"].create({"student_id": int, "settings": str, "set_by": int, "updated": str},
                                pk="student_id", foreign_keys=[("student_id", "students", "id")],
                                if_not_exists=True)


def _migration_12(db: sqlite_utils.Database) -> None:
    # a teacher's interface language (issue 18), like a family's and a student's; none
    # (NULL) means the browser's preference
    _add_column(db, "teachers", "language")


def _migration_13(db: sqlite_utils.Database) -> None:
    # teacher-to-student messages (issue 16): a thread per student, with when each was read
    for statement in STUDENT_MESSAGE_TABLES:
        db.execute(statement.replace("create table ", "create table if not exists ")
                   .replace("create index ", "create index if not exists "))


#: Migration 13's statements (PostgreSQL runs the same ones with its own id column).
STUDENT_MESSAGE_TABLES = (
    "create table student_messages (id integer primary key autoincrement, student_id integer "
    "references students(id), teacher_id integer, sender text not null, author text, "
    "text text not null, at text, read_at text)",
    "create index idx_student_messages_student_id on student_messages (student_id, id)",
)


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _migration_1, 2: _migration_2, 3: _migration_3, 4: _migration_4, 5: _migration_5,
    6: _migration_6, 7: _migration_7, 8: _migration_8, 9: _migration_9, 10: _migration_10,
    11: _migration_11, 12: _migration_12, 13: _migration_13}
SCHEMA_VERSION = max(MIGRATIONS)


def _create_private(path: Path) -> None:
    """Create a new database file readable by its owner only (0600); leave an existing one."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    except OSError as err:
        raise StoreError(f"cannot create the database {path}: {err.strerror}") from err
    os.close(fd)


def _open_problem(path: str, err: Exception) -> str:
    text = str(err)
    if "readonly" in text or "read-only" in text:
        return (f"the database {path} is read-only; questengine must be able to write it and "
                "its folder (check the file's permissions)")
    if "disk is full" in text or "database or disk is full" in text:
        return f"the disk holding the database {path} is full; nothing was written"
    if "unable to open" in text:
        return f"cannot open the database {path}: its folder is missing or not writable"
    if "not a database" in text:
        return f"{path} is not a questengine database (not an SQLite file)"
    if text.startswith(("the database", "cannot", "database error")) and path in text:
        return text
    return f"cannot open the database {path}: {text}"


class _Expired(Exception):
    """The main thread's wait for its turn in the write queue ran out."""


def _expire(signum, frame):
    raise _Expired


def _alarm_is_free() -> bool:
    """Whether this thread may time its wait with SIGALRM: the main thread, not blocking
    the signal (the kernel sends a process's timer signal there then), with its default
    handling and no timer of anybody else's running."""
    return (threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
            and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
            and signal.SIGALRM not in signal.pthread_sigmask(signal.SIG_BLOCK, ()))


class _Waiter:
    """One writer's place in the queue while a helper thread waits for the lock."""

    __slots__ = ("done", "fd", "left", "mutex")

    def __init__(self) -> None:
        # a bare lock, held until the helper is done with this waiter: waiting on it is one
        # C call (an Event waits through a Condition written in Python)
        self.done, self.mutex = threading.Lock(), threading.Lock()
        self.done.acquire()
        self.fd: int | None = None
        self.left = False  # the writer stopped waiting: whoever gets the lock lets it go


class WriteQueue:
    """Writers of one database file line up before SQLite's write lock.

    SQLite's busy handler makes a writer that finds the lock taken sleep 1, 2, 5,
    10 ... 100 ms before it looks again, so when 40 processes want to write, the
    lock sits free while the waiters sleep. Here each writer first takes an
    exclusive ``flock`` on ``<database>.lock`` (before ``BEGIN IMMEDIATE``, let go
    after the commit or rollback): a waiter sleeps in the kernel and wakes as soon
    as the holder lets go. The kernel drops the lock when its holder's process
    ends, SIGKILL included. Readers never take it.

    It is only a queue: SQLite's own lock still decides who writes, so a writer
    that does not line up (the ``sqlite3`` shell, another program) is as safe as
    before. A wait is bounded: past ``timeout`` the writer leaves the line and goes
    on to SQLite's busy handling (and to :class:`StoreBusy` if the database stays
    locked). The main thread waits in ``flock`` itself, bounded by a ``SIGALRM``
    timer when the alarm is free (see :func:`_alarm_is_free`); other threads, and the
    main thread when it is not, wait through a helper thread, which costs a thread
    switch more per turn. Where the lock file cannot be made (a read-only folder)
    writers do without the queue.
    """

    def __init__(self, path: str, timeout: float):
        self.path, self.timeout = path + ".lock", timeout
        self._requests: queue.SimpleQueue | None = None
        self._pid = -1

    def _open(self) -> int | None:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return None

    def enter(self) -> Callable[[], None] | None:
        """Wait for our turn; returns how to let go (None: not in the queue)."""
        fd = self._open()  # a file of our own each time: closing it lets go of the lock
        if fd is None:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return lambda: os.close(fd)
        except OSError:
            pass
        if _alarm_is_free():
            return self._wait_here(fd)
        os.close(fd)
        if self._pid != os.getpid():  # no helper yet (or it stayed in the parent at a fork)
            self._pid, self._requests = os.getpid(), queue.SimpleQueue()
            threading.Thread(target=self._wait_for_turns, args=(self._requests,), daemon=True,
                             name=f"questengine write queue {self.path}").start()
        waiter = _Waiter()
        self._requests.put(waiter)
        try:
            waiter.done.acquire(timeout=self.timeout)
        except BaseException:  # interrupted (Ctrl-C): leave the line, let go of a lock we got
            with waiter.mutex:
                waiter.left = True
                if waiter.fd is not None:
                    os.close(waiter.fd)
                    waiter.fd = None
            raise
        with waiter.mutex:
            if waiter.fd is None:
                waiter.left = True
                return None
        return lambda: os.close(waiter.fd)

    def _wait_here(self, fd: int) -> Callable[[], None] | None:
        """Wait in ``flock`` in this (the main) thread until ``timeout``, then leave."""
        previous = signal.signal(signal.SIGALRM, _expire)
        try:
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
        except BaseException as err:  # no lock is kept (an alarm just after the lock was got
            os.close(fd)  # lets it go too); Ctrl-C and errors go on up
            if isinstance(err, _Expired):
                return None
            raise
        finally:
            signal.signal(signal.SIGALRM, previous)
        return lambda: os.close(fd)

    def _wait_for_turns(self, requests: queue.SimpleQueue) -> None:
        while True:
            waiter = requests.get()
            if waiter.left:
                continue
            fd = self._open()
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX)
                except OSError:
                    os.close(fd)
                    fd = None
            with waiter.mutex:
                if waiter.left and fd is not None:
                    os.close(fd)
                elif not waiter.left:
                    waiter.fd = fd
            waiter.done.release()


class SQLiteStore(SQLStore):
    """SQLite through sqlite-utils; see the module docstring for the concurrency rules.

    ``SQLiteStore(":memory:")`` gives a private in-memory database for tests.
    """

    def __init__(self, path: str | Path = ":memory:", *, timeout: float = 10.0,
                 busy_retries: int = 8, backoff: float = 0.05,
                 queue_timeout: float | None = None):
        self.path = self.address = str(path)
        self.busy_retries = busy_retries
        self.backoff = backoff
        # a writer waits its turn in the queue up to queue_timeout (the busy timeout by default)
        self.queue = None if self.path == ":memory:" else WriteQueue(
            self.path, timeout if queue_timeout is None else queue_timeout)
        if self.path != ":memory:":
            _create_private(Path(self.path))
        try:
            conn = sqlite3.connect(self.path, timeout=timeout, isolation_level=None,
                                   check_same_thread=False)
            self._setup(conn, timeout)
        except (sqlite3.Error, StoreError) as err:
            raise StoreError(_open_problem(self.path, err)) from err
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        try:
            self.migrate()
        except StoreError as err:
            raise StoreError(_open_problem(self.path, err)) from err

    def _setup(self, conn: sqlite3.Connection, timeout: float) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        if self.path != ":memory:":
            self._retrying(lambda: conn.execute("PRAGMA journal_mode = WAL"))
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.create_function("qe_level", 1, level_for, deterministic=True)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "SQLiteStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # plumbing ------------------------------------------------------------------------

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        return self.conn.execute(sql, params).fetchall()

    def _rows(self, sql: str, params: tuple = ()) -> list[dict]:
        cursor = self.conn.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor]

    def _run(self, sql: str, params: tuple = ()) -> int:
        return self.conn.execute(sql, params).rowcount

    def _insert(self, sql: str, params: tuple = ()) -> int:
        return self.conn.execute(sql, params).lastrowid

    def _many(self, sql: str, rows: list[tuple]) -> None:
        self.conn.executemany(sql, rows)

    def _insert_if(self, sql: str, params: tuple = ()) -> int | None:
        cursor = self.conn.execute(sql, params)
        return cursor.lastrowid if cursor.rowcount == 1 else None

    # transactions ----------------------------------------------------------------

    def _retrying(self, fn: Callable[[], Any]) -> Any:
        for attempt in range(self.busy_retries + 1):
            try:
                return fn()
            except sqlite3.OperationalError as err:
                if "locked" not in str(err) and "busy" not in str(err):
                    raise StoreError(f"database error: {err}") from err
                if attempt == self.busy_retries:
                    raise StoreBusy(
                        f"the database {self.path} stayed busy after {self.busy_retries + 1} "
                        "tries; nothing was written, try again") from err
                time.sleep(self.backoff * (2 ** attempt))

    @contextmanager
    def write(self, lock: tuple | None = None) -> Iterator[sqlite_utils.Database]:
        """A ``BEGIN IMMEDIATE`` transaction: commits at the end, rolls back on any error.

        Nested use joins the outer transaction. Writers are serial, so every
        read inside it sees what it will write over (and ``lock`` needs no more).
        Writers of the file line up in its :class:`WriteQueue` first.
        """
        if self.conn.in_transaction:
            yield self.db
            return
        leave = self.queue.enter() if self.queue is not None else None
        try:
            yield from self._write()
        finally:
            if leave is not None:
                leave()

    def _write(self) -> Iterator[sqlite_utils.Database]:
        try:
            self._retrying(lambda: self.conn.execute("BEGIN IMMEDIATE"))
        except StoreBusy:
            raise
        except StoreError as err:
            raise StoreError(_open_problem(self.path, err)) from err
        try:
            yield self.db
        except sqlite3.OperationalError as err:  # read-only file, full disk, I/O error
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise StoreError(_open_problem(self.path, err)) from err
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self._retrying(lambda: self.conn.execute("COMMIT"))
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise

    @property
    def schema_version(self) -> int:
        return self.conn.execute("PRAGMA user_version").fetchone()[0]

    def migrate(self) -> int:
        """Bring the schema to SCHEMA_VERSION; returns the version found before."""
        before = self.schema_version
        if before > SCHEMA_VERSION:
            raise StoreError(f"the database {self.path} has schema version {before}, newer than "
                             f"this questengine understands ({SCHEMA_VERSION}); upgrade questengine")
        if before == SCHEMA_VERSION:
            return before
        with self.write():
            current = self.schema_version  # another process may have migrated meanwhile
            for version in sorted(v for v in MIGRATIONS if v > current):  # numbers may skip
                MIGRATIONS[version](self.db)
                self.conn.execute(f"PRAGMA user_version = {version}")
        return before

    # the statements whose dialects differ ------------------------------------------------

    def _save_status(self, student_id, progress, at, by_student) -> None:
        # XP is never lowered; XP banked from removed nodes (carried_xp) is added
        self.conn.execute(
            "insert into quest_status (student_id, quest_id, version, xp, level, complete, "
            "current, struggling, updated, carried_xp, last_active) "
            "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) "
            "on conflict (student_id, quest_id) do update set version = excluded.version, "
            "last_active = coalesce(excluded.last_active, quest_status.last_active), "
            "xp = max(excluded.xp + quest_status.carried_xp, quest_status.xp), "
            "level = qe_level(max(excluded.xp + quest_status.carried_xp, quest_status.xp)), "
            "complete = max(excluded.complete, quest_status.complete), "
            "current = excluded.current, struggling = excluded.struggling, "
            "updated = excluded.updated", self._status_params(student_id, progress, at, by_student))

    _PICKS = ("select ev.student_id, ev.node, json_extract(ev.data, '$.option') from events ev "
              "join enrolments e on e.student_id = ev.student_id where e.class_code = ? and "
              "ev.quest_id = ? and ev.type = 'choose' order by ev.id")

    def table_columns(self, table: str) -> list[str]:
        return [r[1] for r in self.conn.execute(f"pragma table_info({table})")]

    def _secondary_indexes(self, tables) -> list[tuple[str, str]]:
        tables = list(tables)  # (automatic indexes of primary keys have no sql: they stay)
        return self._all(f"select name, sql from sqlite_master where type = 'index' and sql is "
                         f"not null and tbl_name in ({self._marks(tables)}) order by name",
                         tuple(tables))
