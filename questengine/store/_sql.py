"""What the two stores share: every query both dialects understand, written once.

Statements use ``?`` placeholders; the PostgreSQL store turns them into
``%s``. A subclass provides the connection plumbing (``_all``, ``_run``,
``_insert``, ``_many``, ``write``, ``_lock``) and the few statements whose
dialects differ (``_STATUS_UPSERT``, ``_PICKS``, ``_save_status``).
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from ..engine import Event, Progress
from ..rewards import level_for
from . import STUDENT_TABLES, Grant, StoreError, progress_row

_EVENT_COLUMNS = "id, type, node, role, actor, at, quest_id, version, data"


class SQLStore:
    """The queries; see :class:`questengine.store.StoreInterface` for what each returns."""

    address: str

    # plumbing (the subclass) ----------------------------------------------------------

    def _all(self, sql: str, params: tuple = ()) -> list[tuple]:
        raise NotImplementedError

    def _rows(self, sql: str, params: tuple = ()) -> list[dict]:
        raise NotImplementedError

    def _run(self, sql: str, params: tuple = ()) -> int:
        raise NotImplementedError

    def _insert(self, sql: str, params: tuple = ()) -> int:
        raise NotImplementedError

    def _many(self, sql: str, rows: list[tuple]) -> None:
        raise NotImplementedError

    def _insert_if(self, sql: str, params: tuple = ()) -> int | None:
        """Run an ``insert ... select ... where`` and return the new id, None if it inserted none."""
        raise NotImplementedError

    def _lock(self, *key: Any) -> None:
        """Hold ``key`` until the current write transaction ends (a no-op where writes are serial)."""

    def write(self, lock: tuple | None = None):
        """A transaction (nested use joins the outer one); ``lock``: a key held from its start."""
        raise NotImplementedError

    def _row(self, sql: str, params: tuple = ()) -> dict | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def _one(self, sql: str, params: tuple = ()) -> Any:
        rows = self._all(sql, params)
        return rows[0][0] if rows else None

    # people and classes ---------------------------------------------------------------

    def add_teacher(self, email: str, name: str, password_hash: str, at: str) -> int:
        with self.write():
            return self._insert("insert into teachers (email, name, password_hash, created) "
                                "values (?, ?, ?, ?)", (email, name, password_hash, at))

    def teacher_by_email(self, email: str) -> dict | None:
        return self._row("select * from teachers where email = ?", (email,))

    def teacher(self, teacher_id: int) -> dict | None:
        return self._row("select * from teachers where id = ?", (teacher_id,))

    def add_class(self, code: str, name: str, teacher_id: int, at: str) -> None:
        with self.write():
            self._run("insert into classes (code, name, teacher_id, created) values (?, ?, ?, ?)",
                      (code, name, teacher_id, at))

    def get_class(self, code: str) -> dict | None:
        return self._row("select * from classes where code = ?", (code,))

    def classes_of(self, teacher_id: int) -> list[dict]:
        return self._rows("select * from classes where teacher_id = ? order by code", (teacher_id,))

    def add_student(self, class_code: str, name: str, name_key: str, pin_hash: str,
                    opaque_id: str, at: str) -> int:
        with self.write():
            sid = self._insert("insert into students (opaque_id, class_code, name, name_key, "
                               "pin_hash, created) values (?, ?, ?, ?, ?, ?)",
                               (opaque_id, class_code, name, name_key, pin_hash, at))
            self._run("insert into enrolments (student_id, class_code, enrolled) values (?, ?, ?)",
                      (sid, class_code, at))
            return sid

    def student(self, student_id: int) -> dict | None:
        return self._row("select * from students where id = ?", (student_id,))

    def student_by_name(self, class_code: str, name_key: str) -> dict | None:
        return self._row("select * from students where class_code = ? and name_key = ?",
                         (class_code, name_key))

    def students_in(self, class_code: str) -> list[dict]:
        return self._rows("select s.* from students s join enrolments e on e.student_id = s.id "
                          "where e.class_code = ? order by s.name, s.id", (class_code,))

    def set_pin(self, student_id: int, pin_hash: str) -> None:
        with self.write():
            self._run("update students set pin_hash = ? where id = ?", (pin_hash, student_id))

    # hub identity and roster sources (migration 9) --------------------------------------

    def students_by_hub(self, hub_username: str) -> list[dict]:
        """Every student row (one per class) mapped to a hub username, by class code."""
        return self._rows("select * from students where hub_username = ? order by class_code, id",
                          (hub_username,))

    def teacher_by_hub(self, hub_username: str) -> dict | None:
        return self._row("select * from teachers where hub_username = ?", (hub_username,))

    def teacher_by_source(self, source_id: str) -> dict | None:
        return self._row("select * from teachers where source_id = ?", (source_id,))

    def class_by_source(self, source_id: str) -> dict | None:
        return self._row("select * from classes where source_id = ?", (source_id,))

    def student_by_source(self, source_id: str, class_code: str) -> dict | None:
        return self._row("select * from students where source_id = ? and class_code = ?",
                         (source_id, class_code))

    def set_teacher_identity(self, teacher_id: int, *, email: str, name: str,
                             hub_username: str | None, source_id: str | None) -> None:
        with self.write():
            self._run("update teachers set email = ?, name = ?, hub_username = ?, source_id = ? "
                      "where id = ?", (email, name, hub_username, source_id, teacher_id))

    def set_class_identity(self, code: str, *, name: str, teacher_id: int,
                           source_id: str | None) -> None:
        with self.write():
            self._run("update classes set name = ?, teacher_id = ?, source_id = ? where code = ?",
                      (name, teacher_id, source_id, code))

    def set_student_identity(self, student_id: int, *, name: str, name_key: str,
                             hub_username: str | None, source_id: str | None) -> None:
        with self.write():
            self._run("update students set name = ?, name_key = ?, hub_username = ?, "
                      "source_id = ? where id = ?",
                      (name, name_key, hub_username, source_id, student_id))

    # quests ---------------------------------------------------------------------------

    def put_quest(self, quest_id: str, title: str, source: str, digest: str, at: str,
                  by: int | None) -> int:
        """Store a quest's source; a changed source becomes a new version. Returns the version."""
        with self.write():
            self._lock("quest", quest_id)
            latest = self.quest_row(quest_id)
            if latest is not None and latest["hash"] == digest:
                return latest["version"]
            version = (latest["version"] + 1) if latest else 1
            self._run("insert into quests (id, version, title, source, hash, published, "
                      "published_by) values (?, ?, ?, ?, ?, ?, ?)",
                      (quest_id, version, title, source, digest, at, by))
            return version

    def quest_row(self, quest_id: str, version: int | None = None) -> dict | None:
        if version is None:
            return self._row("select * from quests where id = ? order by version desc limit 1",
                             (quest_id,))
        return self._row("select * from quests where id = ? and version = ?", (quest_id, version))

    def latest_version(self, quest_id: str) -> int | None:
        """The newest version number of a published quest (None if it was never published)."""
        return self._one("select max(version) from quests where id = ?", (quest_id,))

    def is_assigned(self, class_code: str, quest_id: str) -> bool:
        return bool(self._all("select 1 from assignments where class_code = ? and quest_id = ?",
                              (class_code, quest_id)))

    def assign(self, class_code: str, quest_id: str, at: str, by: int | None) -> None:
        with self.write():
            self._run("insert into assignments (class_code, quest_id, assigned, assigned_by) "
                      "values (?, ?, ?, ?) on conflict (class_code, quest_id) do update set "
                      "assigned = excluded.assigned, assigned_by = excluded.assigned_by",
                      (class_code, quest_id, at, by))

    def assignments(self, class_code: str) -> list[dict]:
        return self._rows("select a.*, q.title, q.version from assignments a join quests q "
                          "on q.id = a.quest_id and q.version = (select max(version) from quests "
                          "where id = a.quest_id) where a.class_code = ? order by a.assigned, "
                          "a.quest_id", (class_code,))

    # events and materialized progress ---------------------------------------------------

    def events(self, student_id: int, quest_id: str) -> list[Event]:
        return self.events_since(student_id, quest_id, 0)[1]

    def events_since(self, student_id: int, quest_id: str, after_id: int) -> tuple[int, list[Event]]:
        """(the last event id, the events after ``after_id``) of one student in one quest."""
        rows = self._all(f"select {_EVENT_COLUMNS} from events where student_id = ? and "
                         "quest_id = ? and id > ? order by id", (student_id, quest_id, after_id))
        last = rows[-1][0] if rows else after_id
        return last, [Event(t, n, r, a, at, q, v, json.loads(d))
                      for _, t, n, r, a, at, q, v, d in rows]

    def last_event_id(self, student_id: int, quest_id: str) -> int:
        """The newest event id of a student's quest log; in ``write()`` the log stays ours."""
        self._lock("log", student_id, quest_id)
        return self._one("select max(id) from events where student_id = ? and quest_id = ?",
                         (student_id, quest_id)) or 0

    def append(self, student_id: int, events: list[Event]) -> list[int]:
        """Append events and the submission, review and reflection rows they make."""
        with self.write():
            for quest in {ev.quest for ev in events}:
                self._lock("log", student_id, quest)
            return self._append_rows(student_id, events, self._event_rows(student_id, events))

    @staticmethod
    def _event_rows(student_id: int, events: list[Event]) -> list[tuple]:
        return [(student_id, ev.quest, ev.version, ev.node, ev.type, ev.role, ev.actor, ev.at,
                 json.dumps(ev.data, ensure_ascii=False)) for ev in events]

    _EVENT_INSERT = ("insert into events (student_id, quest_id, version, node, type, role, "
                     "actor, at, data) values (?, ?, ?, ?, ?, ?, ?, ?, ?)")
    # the same, only if the student's quest log still ends at the given id
    _EVENT_INSERT_AFTER = (
        "insert into events (student_id, quest_id, version, node, type, role, actor, at, data) "
        "select ?, ?, ?, ?, ?, ?, ?, ?, ? where coalesce((select max(id) from events where "
        "student_id = ? and quest_id = ?), 0) = ?")

    # and only if a student's grant still holds: the session, the assignment, the quest's
    # latest version and the student's accommodations (their settings text, '' for none)
    _GRANT_HOLDS = (
        " and exists (select 1 from sessions where token_hash = ? and kind = 'student' and "
        "user_id = ?) and exists (select 1 from assignments where class_code = ? and "
        "quest_id = ?) and coalesce((select max(version) from quests where id = ?), 0) = ? "
        "and coalesce((select settings from accommodations where student_id = ?), '') = ?")

    def _append_rows(self, student_id: int, events: list[Event], rows: list[tuple],
                     after: tuple | None = None, grant: Grant | None = None) -> list[int] | None:
        """Insert the event rows (and what they make); with ``after`` = (quest, last id),
        only if the log still ends there, and with a ``grant`` only if it still holds (else
        nothing is inserted: None)."""
        ids = []
        for ev, row in zip(events, rows):
            if after is not None and not ids:
                sql, params = self._EVENT_INSERT_AFTER, (*row, student_id, *after)
                if grant is not None:
                    sql += self._GRANT_HOLDS
                    params += (grant.token_hash, student_id, grant.class_code, after[0],
                               after[0], grant.version, student_id, grant.settings)
                event_id = self._insert_if(sql, params)
                if event_id is None:
                    return None
            else:
                event_id = self._insert(self._EVENT_INSERT, row)
            ids.append(event_id)
            self._materialize(student_id, ev, event_id)
        return ids

    def record(self, student_id: int, quest_id: str, last_id: int, events: list[Event],
               progress: Progress, at: str, previous: Progress | None = None,
               by_student: bool = True, activity_recent: bool = False,
               grant: Grant | None = None) -> list[int] | None:
        """Append one action's events and save the progress they lead to, in one transaction,
        if the student's quest log still ends at ``last_id`` (and ``grant``, if given, still
        holds: the student's session was not read for this action); else write nothing,
        return None.

        Returns the new events' ids. Everything that does not need the database (the rows,
        the diff against ``previous``) is worked out before the write lock is taken, so the
        lock is held for the statements alone. See :meth:`save_progress` for the arguments.
        """
        rows = self._event_rows(student_id, events)
        plan = None if previous is None else self._progress_plan(
            student_id, progress, at, previous, by_student, activity_recent)
        with self._record_write(("log", student_id, quest_id)):  # the log stays ours till commit
            # the check that nobody wrote meanwhile is part of the first insert
            ids = self._append_rows(student_id, events, rows, after=(quest_id, last_id),
                                    grant=grant)
            if ids is None:
                return None  # another tab or the teacher acted first
            if plan is None:  # compared with the stored rows, read under the lock
                plan = self._progress_plan(student_id, progress, at, None, by_student,
                                           activity_recent)
            self._write_plan(student_id, progress, at, by_student, plan)
        return ids

    def _record_write(self, lock: tuple):
        """The transaction :meth:`record` runs in (a dialect may send its statements in fewer
        round trips)."""
        return self.write(lock=lock)

    def _materialize(self, student_id: int, ev: Event, event_id: int) -> None:
        key = (student_id, ev.quest, ev.node)
        if ev.type == "submit" and "content" in ev.data:
            last = self._one("select max(round) from submissions where student_id = ? and "
                             "quest_id = ? and node = ?", key)
            self._run("insert into submissions (student_id, quest_id, node, round, content, "
                      "status, at, event_id) values (?, ?, ?, ?, ?, 'pending', ?, ?)",
                      (*key, (last or 0) + 1, ev.data["content"], ev.at, event_id))
        elif ev.type == "review":
            subs = self._all("select id, round from submissions where student_id = ? and "
                             "quest_id = ? and node = ? and status = 'pending' order by id desc "
                             "limit 1", key)
            sub = subs[0] if subs else None
            status = {"approve": "approved", "fail": "failed", "return": "returned"}[
                ev.data["decision"]]
            if sub is not None:
                self._run("update submissions set status = ? where id = ?", (status, sub[0]))
            self._run("insert into reviews (submission_id, student_id, quest_id, node, round, "
                      "decision, feedback, teacher, at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (sub[0] if sub else None, *key, sub[1] if sub else None,
                       ev.data["decision"], ev.data.get("feedback", ""), ev.actor, ev.at))
        elif ev.type == "reflect":
            self._run("insert into reflections (student_id, quest_id, node, text, at) "
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
        with self.write():
            plan = self._progress_plan(student_id, progress, at, previous, by_student,
                                       activity_recent)
            self._write_plan(student_id, progress, at, by_student, plan)

    _PROGRESS_UPSERT = (
        "insert into progress (student_id, quest_id, node, state, attempts, score, round, "
        "fails, updated) values (?, ?, ?, ?, ?, ?, ?, ?, ?) on conflict (student_id, quest_id, "
        "node) do update set state = excluded.state, attempts = excluded.attempts, score = "
        "excluded.score, round = excluded.round, fails = excluded.fails, updated = "
        "excluded.updated")
    _MASTERY_UPSERT = (
        "insert into mastery (student_id, quest_id, competency, value, evidence, updated) "
        "values (?, ?, ?, ?, ?, ?) on conflict (student_id, quest_id, competency) do update "
        "set value = excluded.value, evidence = excluded.evidence, updated = excluded.updated")
    _BADGES_INSERT = ("insert into badges (student_id, badge, quest_id, at) values (?, ?, ?, ?) "
                      "on conflict do nothing")

    def _progress_plan(self, student_id: int, progress: Progress, at: str,
                       previous: Progress | None, by_student: bool,
                       activity_recent: bool) -> list[tuple[str, Any]]:
        """The statements that materialize ``progress``: (sql, rows) pairs, ("status", None)
        for the quest summary. Without ``previous`` it reads the stored rows (call it in a
        ``write()`` then)."""
        quest_id = progress.quest
        plan: list[tuple[str, Any]] = []
        if previous is None:
            self._lock("log", student_id, quest_id)
            stored = {row[0]: tuple(row[1:]) for row in self._all(
                "select node, state, attempts, score, round, fails from progress where "
                "student_id = ? and quest_id = ?", (student_id, quest_id))}
            rows = [(student_id, quest_id, n, *progress_row(np), at)
                    for n, np in progress.nodes.items() if stored.get(n) != progress_row(np)]
        else:
            rows = []
            for n, np in progress.nodes.items():
                old = previous.nodes.get(n)
                if old is np:  # shared by the two progresses (copy-on-write): unchanged
                    continue
                row = progress_row(np)
                if old is None or progress_row(old) != row:
                    rows.append((student_id, quest_id, n, *row, at))
        if rows:
            plan.append((self._PROGRESS_UPSERT, rows))
        if previous is None:
            nodes = list(progress.nodes)
            plan.append((f"delete from progress where student_id = ? and quest_id = ? and node "
                         f"not in ({', '.join('?' for _ in nodes)})",
                         (student_id, quest_id, *nodes)))
        summary = (progress.version, progress.xp, progress.complete, progress.current,
                   progress.struggling)
        same = previous is not None and summary == (
            previous.version, previous.xp, previous.complete, previous.current,
            previous.struggling)
        if not (same and (activity_recent or not by_student)):
            plan.append(("status", None))
        mastery = [(student_id, quest_id, c, v, len(progress.evidence.get(c, [])), at)
                   for c, v in progress.mastery.items()
                   if previous is None or previous.mastery.get(c) != v
                   or len(previous.evidence.get(c, [])) != len(progress.evidence.get(c, []))]
        if mastery:
            plan.append((self._MASTERY_UPSERT, mastery))
        badges = [(student_id, b, quest_id, at) for b in progress.badges
                  if previous is None or b not in previous.badges]
        if badges:
            plan.append((self._BADGES_INSERT, badges))
        return plan

    def _write_plan(self, student_id: int, progress: Progress, at: str, by_student: bool,
                    plan: list[tuple[str, Any]]) -> None:
        for sql, rows in plan:
            if sql == "status":
                self._save_status(student_id, progress, at, by_student)
            elif isinstance(rows, list):
                self._many(sql, rows)
            else:
                self._run(sql, rows)

    def _status_params(self, student_id: int, progress: Progress, at: str,
                       by_student: bool) -> tuple:
        return (student_id, progress.quest, progress.version, progress.xp,
                level_for(progress.xp), int(progress.complete), progress.current,
                json.dumps(progress.struggling), at, at if by_student else None)

    def _save_status(self, student_id: int, progress: Progress, at: str, by_student: bool) -> None:
        raise NotImplementedError

    def bank_xp(self, student_id: int, quest_id: str, version: int, replay_xp: int) -> None:
        """On the first use of a new quest version, keep the XP its removed nodes had given."""
        with self.write():
            self._lock("log", student_id, quest_id)
            rows = self._all("select xp, version from quest_status where student_id = ? "
                             "and quest_id = ?", (student_id, quest_id))
            if rows and rows[0][1] != version:
                carried = max(0, rows[0][0] - replay_xp)
                self._run("update quest_status set carried_xp = ?, version = ?, xp = ? "
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
        """Interests and goals; inside ``write()`` the profile stays ours until it ends."""
        self._lock("profile", student_id)
        row = self._row("select * from profiles where student_id = ?", (student_id,))
        if row is None:
            return {"interests": [], "goals": []}
        return {"interests": json.loads(row["interests"]), "goals": json.loads(row["goals"])}

    def save_profile(self, student_id: int, interests: list, goals: list, at: str) -> None:
        with self.write():
            self._run("insert into profiles (student_id, interests, goals, updated) values "
                      "(?, ?, ?, ?) on conflict (student_id) do update set interests = "
                      "excluded.interests, goals = excluded.goals, updated = excluded.updated",
                      (student_id, json.dumps(interests, ensure_ascii=False),
                       json.dumps(goals, ensure_ascii=False), at))

    def accommodations(self, student_ids: list[int]) -> dict[int, dict]:
        """The accommodations (settings dicts) of these students; students without any are left out."""
        if not student_ids:
            return {}
        marks = ", ".join("?" for _ in student_ids)
        rows = self._rows(f"select student_id, settings from accommodations where student_id in "
                          f"({marks})", tuple(student_ids))
        return {r["student_id"]: json.loads(r["settings"]) for r in rows}

    def save_accommodations(self, student_id: int, settings: dict, by: int, at: str) -> None:
        with self.write():
            self._run("insert into accommodations (student_id, settings, set_by, updated) values "
                      "(?, ?, ?, ?) on conflict (student_id) do update set settings = "
                      "excluded.settings, set_by = excluded.set_by, updated = excluded.updated",
                      (student_id, json.dumps(settings, sort_keys=True), by, at))

    def badges_of(self, student_id: int) -> list[dict]:
        return self._rows("select * from badges where student_id = ? order by at, badge",
                          (student_id,))

    # logins and sessions ----------------------------------------------------------------

    @staticmethod
    def _login_key(key: str) -> str:
        # a key made of what someone typed can be huge: long ones are kept as their hash
        # (an index row has a size limit in PostgreSQL; a real name is at most 60 characters)
        return key if len(key) <= 200 else "sha256:" + hashlib.sha256(key.encode()).hexdigest()

    def login_failures(self, key: str, since: float) -> int:
        return self._one("select count(*) from login_failures where key = ? and at >= ?",
                         (self._login_key(key), since))

    def reserve_login_attempt(self, key: str, now: float, since: float,
                              wait_for: Callable[[int], float]) -> tuple[int | None, float]:
        """Count a login attempt as a failure before its secret is checked, atomically.

        ``wait_for(n)`` is how long after the latest attempt the next one may come, when
        ``n`` attempts since ``since`` were not cleared by a success. Returns (the attempt's
        id, 0) when it may go ahead, or (None, seconds left to wait). Parallel attempts are
        serialized (SQLite's ``BEGIN IMMEDIATE``; a lock on the key in PostgreSQL), so none
        of them slips past the count.
        """
        key = self._login_key(key)
        with self.write():
            self._lock("login", key)
            count, last = self._all("select count(*), max(at) from login_failures where "
                                    "key = ? and at >= ?", (key, since))[0]
            wait = wait_for(count)
            if last is not None and now < last + wait:
                return None, last + wait - now
            return self._insert("insert into login_failures (key, at) values (?, ?)",
                                (key, now)), 0.0

    def login_failures_of(self, keys: list[str], since: float) -> list[dict]:
        """Per login key: failures since ``since`` and the latest one's time."""
        if not keys:
            return []
        stored = {self._login_key(k): k for k in keys}
        rows = self._rows(f"select key, count(*) as failures, max(at) as last from "
                          f"login_failures where key in ({self._marks(list(stored))}) and "
                          f"at >= ? group by key order by key", (*stored, since))
        for row in rows:
            row["key"] = stored[row["key"]]
        return rows

    def reflections_since(self, student_id: int, since: str) -> int:
        """How many reflections a student wrote at or after ``since`` (ISO time)."""
        return self._one("select count(*) from reflections where student_id = ? and at >= ?",
                         (student_id, since))

    def clear_login_failures(self, key: str) -> None:
        with self.write():
            self._run("delete from login_failures where key = ?", (self._login_key(key),))

    def add_session(self, token_hash: str, kind: str, user_id: int, created: str,
                    expires: str) -> None:
        with self.write():
            self._run("insert into sessions (token_hash, kind, user_id, created, expires) "
                      "values (?, ?, ?, ?, ?)", (token_hash, kind, user_id, created, expires))

    def session(self, token_hash: str) -> dict | None:
        return self._row("select * from sessions where token_hash = ?", (token_hash,))

    def session_for_quest(self, token_hash: str, class_code: str, quest_id: str) -> dict | None:
        """A session row with ``assigned`` (is the quest assigned to the class?),
        ``latest_version`` (of the quest) and, for a student's session, ``accommodations``
        (the settings dict, None without any): a student's every action reads them in one go."""
        row = self._row(
            "select s.*, exists (select 1 from assignments where class_code = ? and "
            "quest_id = ?) as assigned, (select max(version) from quests where id = ?) as "
            "latest_version, (select a.settings from accommodations a where s.kind = "
            "'student' and a.student_id = s.user_id) as accommodations from sessions s "
            "where s.token_hash = ?",
            (class_code, quest_id, quest_id, token_hash))
        if row is not None:
            row["settings"] = row["accommodations"] or ""  # as stored, for a Grant
            if row["accommodations"] is not None:
                row["accommodations"] = json.loads(row["accommodations"])
        return row

    def end_session(self, token_hash: str) -> None:
        with self.write():
            self._run("delete from sessions where token_hash = ?", (token_hash,))

    # privacy ------------------------------------------------------------------------------

    def export_student(self, student_id: int) -> dict:
        """Every row about one student, table by table (the login secret left out)."""
        out: dict[str, list[dict]] = {}
        for table, column in STUDENT_TABLES.items():
            rows = self._rows(f"select * from {table} where {column} = ? order by 1, 2",
                              (student_id,))
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
            counts["sessions"] = self._run(
                "delete from sessions where kind = 'student' and user_id = ?", (student_id,))
            counts["login_failures"] = self._run(
                "delete from login_failures where key = ?", (self._login_key(login_key),))
            counts["reviews"] = self._run("delete from reviews where student_id = ?", (student_id,))
            for table, column in STUDENT_TABLES.items():
                if table == "reviews":
                    continue
                counts[table] = self._run(f"delete from {table} where {column} = ?", (student_id,))
        return counts

    # files (rows only: the bytes are in questengine.files.FileStore) ---------------------------

    def latest_submission(self, student_id: int, quest_id: str, node: str) -> dict | None:
        return self._row("select * from submissions where student_id = ? and quest_id = ? and "
                         "node = ? order by id desc limit 1", (student_id, quest_id, node))

    def add_submission_files(self, submission: dict, files: list[dict], at: str) -> None:
        if not files:
            return
        with self.write():
            self._many(
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
            self._run("insert into quest_assets (quest_id, version, path, mime, "
                              "size, sha256) values (?, ?, ?, ?, ?, ?) on conflict (quest_id, "
                              "version, path) do update set mime = excluded.mime, size = "
                              "excluded.size, sha256 = excluded.sha256",
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
            self._run("insert into class_settings (class_code, upload_limit) values (?, ?) "
                              "on conflict(class_code) do update set upload_limit = "
                              "excluded.upload_limit", (class_code, limit))

    def published_quest_ids(self) -> list[str]:
        """Every published quest id (to warm a page's caches before anyone logs in)."""
        return [r["id"] for r in self._rows("select distinct id from quests order by id")]

    # the progress center's reads ------------------------------------------------------------

    def class_students(self, class_code: str) -> list[dict]:
        """The students enrolled in a class: id, name, opaque_id."""
        return self._rows("select s.id, s.name, s.opaque_id from students s join enrolments e on "
                          "e.student_id = s.id where e.class_code = ? order by s.id", (class_code,))

    def enrolled_count(self, class_code: str) -> int:
        return self._one("select count(*) from enrolments where class_code = ?", (class_code,))

    def node_state_counts(self, class_code: str, quest_id: str) -> list[tuple[str, str, int]]:
        """(node, state, students) of one class in one quest, from ``progress``."""
        # (NOT EXISTS, not NOT IN: PostgreSQL plans NOT IN over a subquery as a loop)
        others = self._one(
            "select exists (select 1 from quest_status q where q.quest_id = ? and not exists "
            "(select 1 from enrolments e where e.student_id = q.student_id and "
            "e.class_code = ?))", (quest_id, class_code))
        if others:  # other classes play this quest too: count this class's students only
            return self._all(
                "select p.node, p.state, count(*) from progress p join enrolments e on "
                "e.student_id = p.student_id where e.class_code = ? and p.quest_id = ? "
                "group by p.node, p.state", (class_code, quest_id))
        # every row of the quest is this class's: no join needed
        return self._all("select node, state, count(*) from progress where quest_id = ? "
                         "group by node, state", (quest_id,))

    def class_progress(self, class_code: str, quest_id: str) -> list[tuple[int, str, str, int]]:
        """(student, node, state, attempts) of a class's students in a quest."""
        return self._all(
            "select p.student_id, p.node, p.state, p.attempts from progress p join enrolments e "
            "on e.student_id = p.student_id where e.class_code = ? and p.quest_id = ?",
            (class_code, quest_id))

    def class_quest_status(self, class_code: str, quest_id: str) -> list[tuple[int, int, int]]:
        """(student, xp, complete) of a class's students in a quest."""
        return self._all(
            "select q.student_id, q.xp, q.complete from quest_status q join enrolments e on "
            "e.student_id = q.student_id where e.class_code = ? and q.quest_id = ?",
            (class_code, quest_id))

    @staticmethod
    def _marks(values: list) -> str:
        return ", ".join("?" for _ in values) or "null"

    def failed_nodes(self, class_code: str, quest_ids: list[str],
                     min_fails: int) -> list[tuple[int, str, str, int]]:
        """(student, quest, node, fails) where a student failed at least ``min_fails`` times."""
        return self._all(
            f"select p.student_id, p.quest_id, p.node, p.fails from progress p join enrolments e "
            f"on e.student_id = p.student_id where e.class_code = ? and p.quest_id in "
            f"({self._marks(quest_ids)}) and p.fails >= ? order by p.fails desc, p.student_id, "
            f"p.quest_id, p.node", (class_code, *quest_ids, min_fails))

    def stuck_nodes(self, class_code: str, quest_ids: list[str],
                    before: str) -> list[tuple[int, str, str, str, str]]:
        """(student, quest, node, state, updated) in progress or returned since before ``before``."""
        return self._all(
            f"select p.student_id, p.quest_id, p.node, p.state, p.updated from progress p join "
            f"enrolments e on e.student_id = p.student_id where e.class_code = ? and p.quest_id "
            f"in ({self._marks(quest_ids)}) and p.state in ('in_progress', 'returned') and "
            f"p.updated < ? order by p.student_id, p.quest_id, p.node",
            (class_code, *quest_ids, before))

    def returned_counts(self, class_code: str, quest_ids: list[str],
                        min_returns: int) -> list[tuple[int, str, str, int]]:
        """(student, quest, node, returns) with work returned at least ``min_returns`` times."""
        return self._all(
            f"select r.student_id, r.quest_id, r.node, count(*) from reviews r join enrolments e "
            f"on e.student_id = r.student_id where e.class_code = ? and r.quest_id in "
            f"({self._marks(quest_ids)}) and r.decision = 'return' group by r.student_id, "
            f"r.quest_id, r.node having count(*) >= ? order by r.student_id, r.quest_id, r.node",
            (class_code, *quest_ids, min_returns))

    def low_mastery(self, class_code: str, quest_ids: list[str],
                    below: float) -> list[tuple[int, str, str, float]]:
        """(student, quest, competency, value) with evidence and a value under ``below``."""
        return self._all(
            f"select m.student_id, m.quest_id, m.competency, m.value from mastery m join "
            f"enrolments e on e.student_id = m.student_id where e.class_code = ? and m.quest_id "
            f"in ({self._marks(quest_ids)}) and m.evidence > 0 and m.value < ? order by "
            f"m.student_id, m.quest_id, m.competency", (class_code, *quest_ids, below))

    def last_activity(self, class_code: str) -> list[tuple[int, str | None]]:
        """(student, when they last acted in any quest, or None) for each student of a class."""
        return self._all(
            "select e.student_id, max(q.last_active) from enrolments e left join quest_status q "
            "on q.student_id = e.student_id where e.class_code = ? group by e.student_id "
            "order by e.student_id", (class_code,))

    def class_mastery(self, class_code: str) -> list[tuple[int, str, float]]:
        """(student, competency, value) of a class, oldest first (the last row is the latest)."""
        return self._all(
            "select m.student_id, m.competency, m.value from mastery m join enrolments e on "
            "e.student_id = m.student_id where e.class_code = ? order by m.updated, m.quest_id",
            (class_code,))

    _PICKS = ""  # (student, node, option) of every `choose` event: the dialect's JSON access

    def class_picks(self, class_code: str, quest_id: str) -> list[tuple[int, str, str]]:
        """(student, node, option) of each modality pick in a quest, in the order made."""
        return self._all(self._PICKS, (class_code, quest_id))

    def student_states(self, student_id: int, quest_id: str) -> list[tuple[str, str]]:
        return self._all("select node, state from progress where student_id = ? and "
                         "quest_id = ? order by node", (student_id, quest_id))

    def student_mastery(self, student_id: int) -> list[tuple[str, float, int]]:
        """(competency, value, evidence) of a student, oldest first."""
        return self._all("select competency, value, evidence from mastery where student_id = ? "
                         "order by updated, quest_id", (student_id,))

    def recent_reflections(self, student_id: int, limit: int) -> list[str]:
        return [t for (t,) in self._all("select text from reflections where student_id = ? "
                                        "order by at desc, id desc limit ?", (student_id, limit))]

    # families (issue 18) ----------------------------------------------------------------------

    def add_family(self, email: str, name: str, password_hash: str, language: str | None,
                   at: str) -> int:
        with self.write():
            return self._insert("insert into families (email, name, password_hash, language, "
                                "created) values (?, ?, ?, ?, ?)",
                                (email, name, password_hash, language, at))

    def family(self, family_id: int) -> dict | None:
        return self._row("select * from families where id = ?", (family_id,))

    def family_by_email(self, email: str) -> dict | None:
        return self._row("select * from families where email = ?", (email,))

    def set_family_language(self, family_id: int, language: str | None) -> None:
        with self.write():
            self._run("update families set language = ? where id = ?", (language, family_id))

    def set_student_language(self, student_id: int, language: str | None) -> None:
        with self.write():
            self._run("update students set language = ? where id = ?", (language, student_id))

    def set_teacher_language(self, teacher_id: int, language: str | None) -> None:
        with self.write():
            self._run("update teachers set language = ? where id = ?", (language, teacher_id))

    def replace_family_codes(self, codes: list[tuple[int, str]], at: str) -> None:
        """Give each student a new code (by its hash); the student's older codes stop working."""
        with self.write():
            for student_id, code_hash in codes:
                self._run("delete from family_codes where student_id = ?", (student_id,))
                self._run("insert into family_codes (code_hash, student_id, created) "
                          "values (?, ?, ?)", (code_hash, student_id, at))

    def student_by_family_code(self, code_hash: str) -> dict | None:
        return self._row("select s.* from family_codes c join students s on s.id = c.student_id "
                         "where c.code_hash = ?", (code_hash,))

    def request_family_link(self, family_id: int, student_id: int, at: str) -> str:
        """Ask for a link (pending); returns the link's status (an existing one is kept)."""
        with self.write():
            row = self._row("select status from family_links where family_id = ? and "
                            "student_id = ?", (family_id, student_id))
            if row is not None:
                return row["status"]
            self._run("insert into family_links (family_id, student_id, status, requested) "
                      "values (?, ?, 'pending', ?)", (family_id, student_id, at))
            return "pending"

    def family_link(self, family_id: int, student_id: int) -> dict | None:
        return self._row("select * from family_links where family_id = ? and student_id = ?",
                         (family_id, student_id))

    def family_children(self, family_id: int) -> list[dict]:
        """The family's links with the child's name and class: approved and pending."""
        return self._rows(
            "select l.student_id, l.status, l.requested, l.decided, s.name, s.class_code, "
            "c.name as class_name from family_links l join students s on s.id = l.student_id "
            "join classes c on c.code = s.class_code where l.family_id = ? "
            "order by l.status, s.name", (family_id,))

    def class_family_links(self, class_code: str) -> list[dict]:
        """Every family link of a class's students, with the family's name and email."""
        return self._rows(
            "select l.family_id, l.student_id, l.status, l.requested, l.decided, "
            "s.name as student_name, f.name as family_name, f.email as family_email "
            "from family_links l join students s on s.id = l.student_id join families f on "
            "f.id = l.family_id where s.class_code = ? order by l.status desc, s.name, f.name",
            (class_code,))

    def set_family_link(self, family_id: int, student_id: int, status: str | None,
                        at: str) -> int:
        """Approve a link (``status='approved'``) or remove it (``None``); rows changed."""
        with self.write():
            if status is None:
                return self._run("delete from family_links where family_id = ? and "
                                 "student_id = ?", (family_id, student_id))
            return self._run("update family_links set status = ?, decided = ? where "
                             "family_id = ? and student_id = ?",
                             (status, at, family_id, student_id))

    def add_family_messages(self, rows: list[tuple[int, int | None, str, str, str, str]]) -> None:
        """Messages as (student_id, family_id, sender, author, text, at)."""
        with self.write():
            self._many("insert into family_messages (student_id, family_id, sender, author, "
                       "text, at) values (?, ?, ?, ?, ?, ?)", rows)

    def family_messages(self, student_id: int, family_id: int | None = None) -> list[dict]:
        """A student's family messages, oldest first (one family's only, when given)."""
        if family_id is None:
            return self._rows("select m.*, f.name as family_name from family_messages m "
                              "left join families f on f.id = m.family_id where "
                              "m.student_id = ? order by m.id", (student_id,))
        return self._rows("select m.*, f.name as family_name from family_messages m left "
                          "join families f on f.id = m.family_id where m.student_id = ? and "
                          "m.family_id = ? order by m.id", (student_id, family_id))

    def add_student_message(self, student_id: int, teacher_id: int | None, sender: str,
                            author: str, text: str, at: str) -> int:
        """One message between a student and their teacher (``sender``: teacher or student)."""
        with self.write():
            return self._insert("insert into student_messages (student_id, teacher_id, sender, "
                                "author, text, at) values (?, ?, ?, ?, ?, ?)",
                                (student_id, teacher_id, sender, author, text, at))

    def add_student_messages(self, rows: list[tuple[int, int | None, str, str, str, str]]) -> None:
        """Messages as (student_id, teacher_id, sender, author, text, at), in one transaction."""
        with self.write():
            self._many("insert into student_messages (student_id, teacher_id, sender, author, "
                       "text, at) values (?, ?, ?, ?, ?, ?)", rows)

    def student_messages(self, student_ids: list[int]) -> list[dict]:
        """The messages of these students with their teachers, oldest first."""
        if not student_ids:
            return []
        marks = ", ".join("?" for _ in student_ids)
        return self._rows(f"select * from student_messages where student_id in ({marks}) "
                          "order by student_id, id", tuple(student_ids))

    def mark_student_messages_read(self, student_id: int, sender: str, upto: int,
                                   at: str) -> int:
        """Mark as read the messages ``sender`` wrote to this student's thread, up to id
        ``upto``; rows changed."""
        with self.write():
            return self._run("update student_messages set read_at = ? where student_id = ? and "
                             "sender = ? and id <= ? and read_at is null",
                             (at, student_id, sender, upto))

    def student_reflections(self, student_id: int, shared_only: bool = False) -> list[dict]:
        """A student's reflections, newest first (only the ones shared with the family)."""
        return self._rows("select id, quest_id, node, text, at, shared from reflections where "
                          "student_id = ?" + (" and shared = 1" if shared_only else "") +
                          " order by at desc, id desc", (student_id,))

    def share_reflection(self, student_id: int, reflection_id: int, shared: bool) -> int:
        with self.write():
            return self._run("update reflections set shared = ? where id = ? and "
                             "student_id = ?", (1 if shared else 0, reflection_id, student_id))

    # the exports' reads ---------------------------------------------------------------------

    def database_identity(self) -> str:
        """The random UUID that names this database (xAPI statement ids are made from it)."""
        return self._one("select uuid from questengine_identity where id = 1")

    def class_events(self, class_code: str) -> list[dict]:
        """Every event of a class's students, oldest first, with the student's opaque id."""
        return self._rows(
            "select e.id, e.student_id, e.quest_id, e.version, e.node, e.type, e.role, e.actor, "
            "e.at, e.data, s.opaque_id from events e join enrolments en on en.student_id = "
            "e.student_id and en.class_code = ? join students s on s.id = e.student_id "
            "order by e.id", (class_code,))

    # copying a whole database (questengine migrate) ---------------------------------------

    def table_columns(self, table: str) -> list[str]:
        raise NotImplementedError

    def dump_table(self, table: str) -> list[tuple]:
        """Every row of a table, columns in :meth:`table_columns` order, in key order."""
        cols = self.table_columns(table)
        return self._all(f"select {', '.join(cols)} from {table} order by 1, 2")

    def count_rows(self, table: str) -> int:
        return self._one(f"select count(*) from {table}")

    def loaded(self) -> None:
        """After a bulk copy: let the database learn about the new rows (its planner's statistics)."""
        self._run("analyze")

    def load_table(self, table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        """Insert rows as they are (ids kept) into an empty table, inside ``write()``
        (or :meth:`bulk_load`); ``rows`` may be any iterable: it is streamed, not kept."""
        self._many(f"insert into {table} ({', '.join(columns)}) values "
                   f"({', '.join('?' for _ in columns)})", rows)

    def _secondary_indexes(self, tables: Iterable[str]) -> list[tuple[str, str]]:
        """(name, create statement) of the tables' indexes that are not their primary keys."""
        raise NotImplementedError

    def _bulk_settings(self) -> None:
        """Settings for a bulk load's transaction only (e.g. more memory to sort indexes)."""

    @contextmanager
    def bulk_load(self, tables: Iterable[str], *, analyze: bool = True) -> Iterator["SQLStore"]:
        """One write transaction for filling empty ``tables`` with :meth:`load_table`.

        The tables' secondary indexes are dropped at the start and built again
        from their own definitions at the end (one sort per index instead of one
        index insert per row; a unique index built again still refuses
        duplicates, and then nothing is written), then the planner's statistics
        are gathered (:meth:`loaded`; ``analyze=False``: the caller does it), as
        autovacuum or ``ANALYZE`` would later.
        On any error the transaction rolls back: the indexes are there as before.
        """
        tables = list(tables)
        with self.write():
            self._bulk_settings()
            indexes = self._secondary_indexes(tables)
            for name, _ in indexes:
                self._run(f"drop index {name}")
            yield self
            for name, statement in indexes:
                try:
                    self._run(statement)
                except Exception as err:  # a unique index refusing the loaded rows
                    problem = (str(err).strip() or type(err).__name__).splitlines()[0]
                    raise StoreError(f"the loaded rows break the index {name} ({problem}); "
                                     "nothing was loaded") from err
        if analyze:
            self.loaded()
