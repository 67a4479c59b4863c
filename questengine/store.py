"""The SQLite store: a thin class over sqlite-utils.

One database file is shared by many processes (one Voilà kernel per open
page), so the connection is opened here with a busy timeout, in WAL mode with
``synchronous=NORMAL``, and every read-then-write runs in ``BEGIN IMMEDIATE``
(:meth:`Store.write`), retried a bounded number of times when the database is
busy. Events are appended and the materialized rows (progress, submissions,
reviews, reflections, mastery, badges) updated in the same transaction.

:class:`StoreInterface` lists what the classroom service uses; another
backend (PostgreSQL for a district) implements the same methods.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import sqlite_utils

from .engine import Event, Progress
from .errors import QuestEngineError
from .rewards import level_for

__all__ = ["Store", "StoreInterface", "StoreError", "StoreBusy", "SCHEMA_VERSION", "MIGRATIONS",
           "STUDENT_TABLES", "progress_row"]


class StoreError(QuestEngineError):
    """The database refused an operation."""


class StoreBusy(StoreError):
    """The database stayed locked by other writers past the retry bound."""


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
    db.execute("update quests set published_by = (select c.teacher_id from assignments a "
               "join classes c on c.code = a.class_code where a.quest_id = quests.id "
               "order by a.assigned limit 1) where published_by is null")
    db.execute("update quests set published_by = (select q.published_by from quests q "
               "where q.id = quests.id and q.published_by is not null order by q.version "
               "limit 1) where published_by is null")


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


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _migration_1, 2: _migration_2, 3: _migration_3, 4: _migration_4, 5: _migration_5,
    6: _migration_6, 7: _migration_7, 8: _migration_8}
SCHEMA_VERSION = max(MIGRATIONS)

#: Tables that hold a student's data, with the column naming the student.
STUDENT_TABLES = {
    "events": "student_id", "progress": "student_id", "quest_status": "student_id",
    "submission_files": "student_id",
    "submissions": "student_id", "reviews": "student_id", "mastery": "student_id",
    "profiles": "student_id", "reflections": "student_id", "badges": "student_id",
    "enrolments": "student_id", "students": "id",
}


class StoreInterface(Protocol):
    """What the classroom service needs from a store."""

    def write(self) -> Any: ...
    def add_teacher(self, email: str, name: str, password_hash: str, at: str) -> int: ...
    def teacher_by_email(self, email: str) -> dict | None: ...
    def teacher(self, teacher_id: int) -> dict | None: ...
    def add_class(self, code: str, name: str, teacher_id: int, at: str) -> None: ...
    def get_class(self, code: str) -> dict | None: ...
    def classes_of(self, teacher_id: int) -> list[dict]: ...
    def add_student(self, class_code: str, name: str, name_key: str, pin_hash: str,
                    opaque_id: str, at: str) -> int: ...
    def student(self, student_id: int) -> dict | None: ...
    def student_by_name(self, class_code: str, name_key: str) -> dict | None: ...
    def students_in(self, class_code: str) -> list[dict]: ...
    def set_pin(self, student_id: int, pin_hash: str) -> None: ...
    def put_quest(self, quest_id: str, title: str, source: str, digest: str, at: str,
                  by: int | None) -> int: ...
    def quest_row(self, quest_id: str, version: int | None = None) -> dict | None: ...
    def assign(self, class_code: str, quest_id: str, at: str, by: int | None) -> None: ...
    def assignments(self, class_code: str) -> list[dict]: ...
    def events(self, student_id: int, quest_id: str) -> list[Event]: ...
    def events_since(self, student_id: int, quest_id: str,
                     after_id: int) -> tuple[int, list[Event]]: ...
    def last_event_id(self, student_id: int, quest_id: str) -> int: ...
    def append(self, student_id: int, events: list[Event]) -> list[int]: ...
    def save_progress(self, student_id: int, progress: Progress, at: str,
                      previous: Progress | None = None, by_student: bool = True) -> None: ...
    def quest_status(self, student_id: int, quest_id: str) -> dict | None: ...
    def bank_xp(self, student_id: int, quest_id: str, version: int, replay_xp: int) -> None: ...
    def pending_submissions(self, class_codes: list[str]) -> list[dict]: ...
    def submission(self, submission_id: int) -> dict | None: ...
    def reviews_of(self, student_id: int, quest_id: str, node: str) -> list[dict]: ...
    def profile(self, student_id: int) -> dict: ...
    def save_profile(self, student_id: int, interests: list, goals: list, at: str) -> None: ...
    def badges_of(self, student_id: int) -> list[dict]: ...
    def login_failures(self, key: str, since: float) -> int: ...
    def reserve_login_attempt(self, key: str, now: float, since: float,
                              wait_for: Callable[[int], float]) -> tuple[int | None, float]: ...
    def reflections_since(self, student_id: int, since: str) -> int: ...
    def clear_login_failures(self, key: str) -> None: ...
    def reflections_since(self, student_id: int, since: str) -> int:
        """How many reflections a student wrote at or after ``since`` (ISO time)."""
        return self.conn.execute("select count(*) from reflections where student_id = ? and "
                                 "at >= ?", (student_id, since)).fetchone()[0]

    def login_failures_of(self, keys: list[str], since: float) -> list[dict]: ...
    def add_session(self, token_hash: str, kind: str, user_id: int, created: str,
                    expires: str) -> None: ...
    def session(self, token_hash: str) -> dict | None: ...
    def end_session(self, token_hash: str) -> None: ...
    def export_student(self, student_id: int) -> dict: ...
    def delete_student(self, student_id: int, login_key: str) -> dict[str, int]: ...
    def latest_submission(self, student_id: int, quest_id: str, node: str) -> dict | None: ...
    def add_submission_files(self, submission: dict, files: list[dict], at: str) -> None: ...
    def submission_files(self, submission_ids: list[int]) -> list[dict]: ...
    def student_file(self, student_id: int, sha256: str) -> dict | None: ...
    def student_file_hashes(self, student_id: int) -> list[str]: ...
    def file_in_use(self, sha256: str) -> bool: ...
    def put_quest_asset(self, quest_id: str, version: int, path: str, mime: str, size: int,
                        sha256: str) -> None: ...
    def quest_asset(self, quest_id: str, version: int, path: str) -> dict | None: ...
    def upload_limit(self, class_code: str) -> int | None: ...
    def published_quest_ids(self) -> list[str]: ...
    def set_upload_limit(self, class_code: str, limit: int) -> None: ...


def progress_row(np) -> tuple:
    """The materialized columns of one node's progress."""
    return (np.state, np.attempts, np.score, np.round, np.fails)


# --- the SQLite store -----------------------------------------------------------------


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


class Store:
    """SQLite through sqlite-utils; see the module docstring for the concurrency rules.

    ``Store(":memory:")`` gives a private in-memory database for tests.
    """

    def __init__(self, path: str | Path = ":memory:", *, timeout: float = 10.0,
                 busy_retries: int = 8, backoff: float = 0.05):
        self.path = str(path)
        self.busy_retries = busy_retries
        self.backoff = backoff
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

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

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
    def write(self) -> Iterator[sqlite_utils.Database]:
        """A ``BEGIN IMMEDIATE`` transaction: commits at the end, rolls back on any error.

        Nested use joins the outer transaction.
        """
        if self.conn.in_transaction:
            yield self.db
            return
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
            for version in range(current + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[version](self.db)
                self.conn.execute(f"PRAGMA user_version = {version}")
        return before

    def _rows(self, sql: str, params: tuple | dict = ()) -> list[dict]:
        cursor = self.conn.execute(sql, params)
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, row)) for row in cursor]

    def _row(self, sql: str, params: tuple | dict = ()) -> dict | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    # people and classes ---------------------------------------------------------------

    def add_teacher(self, email: str, name: str, password_hash: str, at: str) -> int:
        with self.write():
            return self.db["teachers"].insert({"email": email, "name": name,
                                               "password_hash": password_hash,
                                               "created": at}).last_pk

    def teacher_by_email(self, email: str) -> dict | None:
        return self._row("select * from teachers where email = ?", (email,))

    def teacher(self, teacher_id: int) -> dict | None:
        return self._row("select * from teachers where id = ?", (teacher_id,))

    def add_class(self, code: str, name: str, teacher_id: int, at: str) -> None:
        with self.write():
            self.db["classes"].insert({"code": code, "name": name, "teacher_id": teacher_id,
                                       "created": at})

    def get_class(self, code: str) -> dict | None:
        return self._row("select * from classes where code = ?", (code,))

    def classes_of(self, teacher_id: int) -> list[dict]:
        return self._rows("select * from classes where teacher_id = ? order by code", (teacher_id,))

    def add_student(self, class_code: str, name: str, name_key: str, pin_hash: str,
                    opaque_id: str, at: str) -> int:
        with self.write():
            sid = self.db["students"].insert({
                "opaque_id": opaque_id, "class_code": class_code, "name": name,
                "name_key": name_key, "pin_hash": pin_hash, "created": at}).last_pk
            self.db["enrolments"].insert({"student_id": sid, "class_code": class_code,
                                          "enrolled": at})
            return sid

    def student(self, student_id: int) -> dict | None:
        return self._row("select * from students where id = ?", (student_id,))

    def student_by_name(self, class_code: str, name_key: str) -> dict | None:
        return self._row("select * from students where class_code = ? and name_key = ?",
                         (class_code, name_key))

    def students_in(self, class_code: str) -> list[dict]:
        return self._rows("select s.* from students s join enrolments e on e.student_id = s.id "
                          "where e.class_code = ? order by s.name", (class_code,))

    def set_pin(self, student_id: int, pin_hash: str) -> None:
        with self.write():
            self.db["students"].update(student_id, {"pin_hash": pin_hash})

    # quests ---------------------------------------------------------------------------

    def put_quest(self, quest_id: str, title: str, source: str, digest: str, at: str,
                  by: int | None) -> int:
        """Store a quest's source; a changed source becomes a new version. Returns the version."""
        with self.write():
            latest = self.quest_row(quest_id)
            if latest is not None and latest["hash"] == digest:
                return latest["version"]
            version = (latest["version"] + 1) if latest else 1
            self.db["quests"].insert({"id": quest_id, "version": version, "title": title,
                                      "source": source, "hash": digest, "published": at,
                                      "published_by": by})
            return version

    def quest_row(self, quest_id: str, version: int | None = None) -> dict | None:
        if version is None:
            return self._row("select * from quests where id = ? order by version desc limit 1",
                             (quest_id,))
        return self._row("select * from quests where id = ? and version = ?", (quest_id, version))

    def assign(self, class_code: str, quest_id: str, at: str, by: int | None) -> None:
        with self.write():
            self.db["assignments"].upsert({"class_code": class_code, "quest_id": quest_id,
                                           "assigned": at, "assigned_by": by},
                                          pk=("class_code", "quest_id"))

    def assignments(self, class_code: str) -> list[dict]:
        return self._rows("select a.*, q.title, q.version from assignments a join quests q "
                          "on q.id = a.quest_id and q.version = (select max(version) from quests "
                          "where id = a.quest_id) where a.class_code = ? order by a.assigned",
                          (class_code,))

    # events and materialized progress ---------------------------------------------------

    def events(self, student_id: int, quest_id: str) -> list[Event]:
        return self.events_since(student_id, quest_id, 0)[1]

    def events_since(self, student_id: int, quest_id: str, after_id: int) -> tuple[int, list[Event]]:
        """(the last event id, the events after ``after_id``) of one student in one quest."""
        rows = self.conn.execute(
            "select id, type, node, role, actor, at, quest_id, version, data from events "
            "where student_id = ? and quest_id = ? and id > ? order by id",
            (student_id, quest_id, after_id)).fetchall()
        last = rows[-1][0] if rows else after_id
        return last, [Event(t, n, r, a, at, q, v, json.loads(d))
                      for _, t, n, r, a, at, q, v, d in rows]

    def last_event_id(self, student_id: int, quest_id: str) -> int:
        row = self.conn.execute("select max(id) from events where student_id = ? and quest_id = ?",
                                (student_id, quest_id)).fetchone()
        return row[0] or 0

    def append(self, student_id: int, events: list[Event]) -> list[int]:
        """Append events and the submission, review and reflection rows they make."""
        ids = []
        with self.write():
            for ev in events:
                cur = self.conn.execute(
                    "insert into events (student_id, quest_id, version, node, type, role, actor, "
                    "at, data) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (student_id, ev.quest, ev.version, ev.node, ev.type, ev.role, ev.actor, ev.at,
                     json.dumps(ev.data, ensure_ascii=False)))
                ids.append(cur.lastrowid)
                self._materialize(student_id, ev, cur.lastrowid)
        return ids

    def _materialize(self, student_id: int, ev: Event, event_id: int) -> None:
        key = (student_id, ev.quest, ev.node)
        execute = self.conn.execute
        if ev.type == "submit" and "content" in ev.data:
            last = execute("select max(round) from submissions where student_id = ? and "
                           "quest_id = ? and node = ?", key).fetchone()[0]
            execute("insert into submissions (student_id, quest_id, node, round, content, status, "
                    "at, event_id) values (?, ?, ?, ?, ?, 'pending', ?, ?)",
                    (*key, (last or 0) + 1, ev.data["content"], ev.at, event_id))
        elif ev.type == "review":
            sub = execute("select id, round from submissions where student_id = ? and quest_id = ? "
                          "and node = ? and status = 'pending' order by id desc limit 1",
                          key).fetchone()
            status = {"approve": "approved", "fail": "failed", "return": "returned"}[
                ev.data["decision"]]
            if sub is not None:
                execute("update submissions set status = ? where id = ?", (status, sub[0]))
            execute("insert into reviews (submission_id, student_id, quest_id, node, round, "
                    "decision, feedback, teacher, at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (sub[0] if sub else None, *key, sub[1] if sub else None,
                     ev.data["decision"], ev.data.get("feedback", ""), ev.actor, ev.at))
        elif ev.type == "reflect":
            execute("insert into reflections (student_id, quest_id, node, text, at) "
                    "values (?, ?, ?, ?, ?)", (*key, ev.data["text"], ev.at))

    def save_progress(self, student_id: int, progress: Progress, at: str,
                      previous: Progress | None = None, by_student: bool = True,
                      activity_recent: bool = False) -> None:
        """Materialize a progress: node rows, XP (never lowered), mastery, badges.

        With ``previous`` (the progress these rows were last saved from) only
        what changed is written; without it the stored rows are compared, and
        rows of nodes the quest no longer has are removed. A row's ``updated``
        time changes only when the row does. ``by_student`` says whether the
        student acted (a teacher's review is not the student's activity);
        ``activity_recent`` that their activity was recorded under a minute ago,
        so an unchanged quest summary need not be written again.
        """
        quest_id = progress.quest
        execute = self.conn.execute
        with self.write():
            if previous is None:
                stored = {row[0]: tuple(row[1:]) for row in execute(
                    "select node, state, attempts, score, round, fails from progress where "
                    "student_id = ? and quest_id = ?", (student_id, quest_id))}
            else:
                stored = {n: progress_row(np) for n, np in previous.nodes.items()}
            rows = [(student_id, quest_id, n, *progress_row(np), at)
                    for n, np in progress.nodes.items() if stored.get(n) != progress_row(np)]
            if rows:
                self.conn.executemany(
                    "insert into progress (student_id, quest_id, node, state, attempts, score, "
                    "round, fails, updated) values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict "
                    "(student_id, quest_id, node) do update set state = excluded.state, attempts = "
                    "excluded.attempts, score = excluded.score, round = excluded.round, "
                    "fails = excluded.fails, updated = excluded.updated", rows)
            if previous is None:
                nodes = list(progress.nodes)
                execute(f"delete from progress where student_id = ? and quest_id = ? and node not in "
                        f"({', '.join('?' for _ in nodes)})", (student_id, quest_id, *nodes))
            summary = (progress.version, progress.xp, progress.complete, progress.current,
                       progress.struggling)
            same = previous is not None and summary == (
                previous.version, previous.xp, previous.complete, previous.current,
                previous.struggling)
            # XP is never lowered; XP banked from removed nodes (carried_xp) is added
            if not (same and (activity_recent or not by_student)):
                execute("insert into quest_status (student_id, quest_id, version, xp, level, complete, "
                        "current, struggling, updated, carried_xp, last_active) "
                        "values (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?) "
                        "on conflict (student_id, quest_id) do update set version = excluded.version, "
                        "last_active = coalesce(excluded.last_active, quest_status.last_active), "
                        "xp = max(excluded.xp + quest_status.carried_xp, quest_status.xp), "
                        "level = qe_level(max(excluded.xp + quest_status.carried_xp, quest_status.xp)), "
                        "complete = max(excluded.complete, quest_status.complete), "
                        "current = excluded.current, struggling = excluded.struggling, "
                        "updated = excluded.updated",
                        (student_id, quest_id, progress.version, progress.xp, level_for(progress.xp),
                         int(progress.complete), progress.current, json.dumps(progress.struggling), at,
                         at if by_student else None))
            mastery = [(student_id, quest_id, c, v, len(progress.evidence.get(c, [])), at)
                       for c, v in progress.mastery.items()
                       if previous is None or previous.mastery.get(c) != v
                       or len(previous.evidence.get(c, [])) != len(progress.evidence.get(c, []))]
            if mastery:
                self.conn.executemany(
                    "insert into mastery (student_id, quest_id, competency, value, evidence, "
                    "updated) values (?, ?, ?, ?, ?, ?) on conflict (student_id, quest_id, "
                    "competency) do update set value = excluded.value, evidence = "
                    "excluded.evidence, updated = excluded.updated", mastery)
            badges = [(student_id, b, quest_id, at) for b in progress.badges
                      if previous is None or b not in previous.badges]
            if badges:
                self.conn.executemany("insert or ignore into badges (student_id, badge, quest_id, "
                                      "at) values (?, ?, ?, ?)", badges)

    def bank_xp(self, student_id: int, quest_id: str, version: int, replay_xp: int) -> None:
        """On the first use of a new quest version, keep the XP its removed nodes had given."""
        with self.write():
            row = self.conn.execute("select xp, version from quest_status where student_id = ? "
                                    "and quest_id = ?", (student_id, quest_id)).fetchone()
            if row is not None and row[1] != version:
                carried = max(0, row[0] - replay_xp)
                self.conn.execute("update quest_status set carried_xp = ?, version = ?, xp = ? "
                                  "where student_id = ? and quest_id = ?",
                                  (carried, version, replay_xp + carried, student_id, quest_id))

    def quest_status(self, student_id: int, quest_id: str) -> dict | None:
        return self._row("select * from quest_status where student_id = ? and quest_id = ?",
                         (student_id, quest_id))

    def pending_submissions(self, class_codes: list[str]) -> list[dict]:
        if not class_codes:
            return []
        marks = ", ".join("?" for _ in class_codes)
        return self._rows(
            "select sub.*, s.name as student_name, s.class_code from submissions sub "
            "join students s on s.id = sub.student_id "
            f"where sub.status = 'pending' and s.class_code in ({marks}) order by sub.at, sub.id",
            tuple(class_codes))

    def submission(self, submission_id: int) -> dict | None:
        return self._row("select sub.*, s.class_code from submissions sub join students s on "
                         "s.id = sub.student_id where sub.id = ?", (submission_id,))

    def reviews_of(self, student_id: int, quest_id: str, node: str) -> list[dict]:
        return self._rows("select * from reviews where student_id = ? and quest_id = ? and "
                          "node = ? order by id", (student_id, quest_id, node))

    # profiles and badges ----------------------------------------------------------------

    def profile(self, student_id: int) -> dict:
        row = self._row("select * from profiles where student_id = ?", (student_id,))
        if row is None:
            return {"interests": [], "goals": []}
        return {"interests": json.loads(row["interests"]), "goals": json.loads(row["goals"])}

    def save_profile(self, student_id: int, interests: list, goals: list, at: str) -> None:
        with self.write():
            self.db["profiles"].upsert({"student_id": student_id,
                                        "interests": json.dumps(interests, ensure_ascii=False),
                                        "goals": json.dumps(goals, ensure_ascii=False),
                                        "updated": at}, pk="student_id")

    def badges_of(self, student_id: int) -> list[dict]:
        return self._rows("select * from badges where student_id = ? order by at, badge",
                          (student_id,))

    # logins and sessions ----------------------------------------------------------------

    def login_failures(self, key: str, since: float) -> int:
        return self.conn.execute("select count(*) from login_failures where key = ? and at >= ?",
                                 (key, since)).fetchone()[0]

    def reserve_login_attempt(self, key: str, now: float, since: float,
                              wait_for: Callable[[int], float]) -> tuple[int | None, float]:
        """Count a login attempt as a failure before its secret is checked, atomically.

        ``wait_for(n)`` is how long after the latest attempt the next one may come, when
        ``n`` attempts since ``since`` were not cleared by a success. Returns (the attempt's
        id, 0) when it may go ahead, or (None, seconds left to wait). Parallel attempts are
        serialized by ``BEGIN IMMEDIATE``, so none of them slips past the count.
        """
        with self.write():
            count, last = self.conn.execute(
                "select count(*), max(at) from login_failures where key = ? and at >= ?",
                (key, since)).fetchone()
            wait = wait_for(count)
            if last is not None and now < last + wait:
                return None, last + wait - now
            cursor = self.conn.execute("insert into login_failures (key, at) values (?, ?)",
                                       (key, now))
            return cursor.lastrowid, 0.0

    def reflections_since(self, student_id: int, since: str) -> int:
        """How many reflections a student wrote at or after ``since`` (ISO time)."""
        return self.conn.execute("select count(*) from reflections where student_id = ? and "
                                 "at >= ?", (student_id, since)).fetchone()[0]

    def login_failures_of(self, keys: list[str], since: float) -> list[dict]:
        """Per login key: failures since ``since`` and the latest one's time."""
        if not keys:
            return []
        marks = ", ".join("?" * len(keys))
        return self._rows(f"select key, count(*) as failures, max(at) as last from login_failures "
                          f"where key in ({marks}) and at >= ? group by key", (*keys, since))

    def clear_login_failures(self, key: str) -> None:
        with self.write():
            self.conn.execute("delete from login_failures where key = ?", (key,))

    def add_session(self, token_hash: str, kind: str, user_id: int, created: str,
                    expires: str) -> None:
        with self.write():
            self.db["sessions"].insert({"token_hash": token_hash, "kind": kind,
                                        "user_id": user_id, "created": created,
                                        "expires": expires})

    def session(self, token_hash: str) -> dict | None:
        return self._row("select * from sessions where token_hash = ?", (token_hash,))

    def end_session(self, token_hash: str) -> None:
        with self.write():
            self.conn.execute("delete from sessions where token_hash = ?", (token_hash,))

    # privacy ------------------------------------------------------------------------------

    def export_student(self, student_id: int) -> dict:
        """Every row about one student, table by table (the login secret left out)."""
        out: dict[str, list[dict]] = {}
        for table, column in STUDENT_TABLES.items():
            rows = self._rows(f"select * from {table} where {column} = ?", (student_id,))
            for row in rows:
                row.pop("pin_hash", None)
                if "data" in row and isinstance(row["data"], str):
                    row["data"] = json.loads(row["data"])
            out[table] = rows
        out["sessions"] = self._rows("select kind, created, expires from sessions where "
                                     "kind = 'student' and user_id = ?", (student_id,))
        return out

    def delete_student(self, student_id: int, login_key: str) -> dict[str, int]:
        """Delete every row about one student; returns rows deleted per table."""
        counts: dict[str, int] = {}
        with self.write():
            counts["sessions"] = self.conn.execute(
                "delete from sessions where kind = 'student' and user_id = ?",
                (student_id,)).rowcount
            counts["login_failures"] = self.conn.execute(
                "delete from login_failures where key = ?", (login_key,)).rowcount
            counts["reviews"] = self.conn.execute(
                "delete from reviews where student_id = ?", (student_id,)).rowcount
            for table, column in STUDENT_TABLES.items():
                if table == "reviews":
                    continue
                counts[table] = self.conn.execute(
                    f"delete from {table} where {column} = ?", (student_id,)).rowcount
        return counts

    # files (rows only: the bytes are in questengine.files.FileStore) ---------------------------

    def latest_submission(self, student_id: int, quest_id: str, node: str) -> dict | None:
        return self._row("select * from submissions where student_id = ? and quest_id = ? and "
                         "node = ? order by id desc limit 1", (student_id, quest_id, node))

    def add_submission_files(self, submission: dict, files: list[dict], at: str) -> None:
        if not files:
            return
        with self.write():
            self.conn.executemany(
                "insert into submission_files (submission_id, student_id, quest_id, node, round, "
                "name, mime, size, sha256, at) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(submission["id"], submission["student_id"], submission["quest_id"],
                  submission["node"], submission["round"], f["name"], f["mime"], f["size"],
                  f["sha256"], at) for f in files])

    def submission_files(self, submission_ids: list[int]) -> list[dict]:
        if not submission_ids:
            return []
        marks = ", ".join("?" for _ in submission_ids)
        return self._rows(f"select * from submission_files where submission_id in ({marks}) "
                          "order by submission_id, id", tuple(submission_ids))

    def student_file(self, student_id: int, sha256: str) -> dict | None:
        return self._row("select * from submission_files where student_id = ? and sha256 = ? "
                         "limit 1", (student_id, sha256))

    def student_file_hashes(self, student_id: int) -> list[str]:
        return [r["sha256"] for r in self._rows(
            "select distinct sha256 from submission_files where student_id = ?", (student_id,))]

    def file_in_use(self, sha256: str) -> bool:
        return self._row("select 1 as x from submission_files where sha256 = ? union all "
                         "select 1 from quest_assets where sha256 = ? limit 1",
                         (sha256, sha256)) is not None

    def put_quest_asset(self, quest_id: str, version: int, path: str, mime: str, size: int,
                        sha256: str) -> None:
        with self.write():
            self.conn.execute("insert or replace into quest_assets (quest_id, version, path, mime, "
                              "size, sha256) values (?, ?, ?, ?, ?, ?)",
                              (quest_id, version, path, mime, size, sha256))

    def quest_asset(self, quest_id: str, version: int, path: str) -> dict | None:
        return self._row("select * from quest_assets where quest_id = ? and version = ? and "
                         "path = ?", (quest_id, version, path))

    def upload_limit(self, class_code: str) -> int | None:
        row = self._row("select upload_limit from class_settings where class_code = ?",
                        (class_code,))
        return row["upload_limit"] if row else None

    def set_upload_limit(self, class_code: str, limit: int) -> None:
        with self.write():
            self.conn.execute("insert into class_settings (class_code, upload_limit) values (?, ?) "
                              "on conflict(class_code) do update set upload_limit = "
                              "excluded.upload_limit", (class_code, limit))

    def published_quest_ids(self) -> list[str]:
        """Every published quest id (to warm a page's caches before anyone logs in)."""
        return [r["id"] for r in self._rows("select distinct id from quests order by id")]
