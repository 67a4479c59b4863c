"""Tests of questengine.store: schema, migrations, pragmas, transactions, materialized rows."""
from __future__ import annotations

import json
import sqlite3

import pytest

from questengine import loads_quest, quest_graph, replay
from questengine.engine import Event
from questengine.rewards import level_for
from questengine.store import SCHEMA_VERSION, STUDENT_TABLES, Store, StoreBusy, StoreError
from helpers import T1


#: DESIGN section 6, "Tables (at least)".
DESIGN_TABLES = {"classes", "students", "teachers", "enrolments", "quests", "assignments",
                 "events", "progress", "submissions", "reviews", "mastery", "profiles",
                 "reflections", "badges", "sessions"}
AT = "2024-01-01T00:00:00+00:00"


def tables(conn) -> set[str]:
    return {r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")}


def columns(conn, table: str) -> set[str]:
    return {r[1] for r in conn.execute(f"pragma table_info({table})")}


def schema_sql(conn) -> list[tuple]:
    return sorted(conn.execute("select type, name, sql from sqlite_master").fetchall(),
                  key=lambda r: (r[0], r[1]))


def count(store: Store, table: str) -> int:
    return store.conn.execute(f"select count(*) from {table}").fetchone()[0]


@pytest.fixture
def store():
    s = Store(":memory:")
    yield s
    s.close()


@pytest.fixture
def file_store(tmp_path):
    s = Store(tmp_path / "q.db")
    yield s
    s.close()


@pytest.fixture
def graph():
    return quest_graph(loads_quest(T1))


def add_student(store: Store, name: str = "Ann") -> int:
    tid = store.add_teacher(f"{name.lower()}-teacher@x.org", "T", "hash", AT)
    code = f"C-{tid}"
    store.add_class(code, "Class", tid, AT)
    return store.add_student(code, name, name.lower(), "pinhash", f"opaque-{name}", AT)


def ev(type_: str, node: str, **data) -> Event:
    role = "teacher" if type_ in ("review", "override") else "student"
    return Event(type_, node, role, f"{role}:1", AT, "t1", 1, data)


# --- schema and migrations ---------------------------------------------------------------


def test_schema_has_every_table_of_the_design(store):
    assert DESIGN_TABLES <= tables(store.conn)
    assert {"id", "version", "source", "hash"} <= columns(store.conn, "quests")
    assert "status" in columns(store.conn, "submissions")
    assert {"student_id", "quest_id", "node", "state", "attempts", "score", "updated"} <= \
        columns(store.conn, "progress")
    assert {"version", "quest_id", "node", "type", "role", "actor", "at"} <= \
        columns(store.conn, "events")
    # every table STUDENT_TABLES names exists with the named column
    for table, column in STUDENT_TABLES.items():
        assert column in columns(store.conn, table), (table, column)


def test_schema_version_is_current(store, file_store):
    assert store.schema_version == SCHEMA_VERSION
    assert file_store.schema_version == SCHEMA_VERSION
    assert file_store.conn.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION


def test_migrate_is_idempotent(tmp_path):
    path = tmp_path / "m.db"
    with Store(path) as s:
        before = schema_sql(s.conn)
        assert s.migrate() == SCHEMA_VERSION
        assert s.migrate() == SCHEMA_VERSION
        assert schema_sql(s.conn) == before
    with Store(path) as s:  # reopening migrates nothing and loses nothing
        assert schema_sql(s.conn) == before
        assert s.schema_version == SCHEMA_VERSION


def test_migrate_keeps_data(tmp_path):
    path = tmp_path / "m.db"
    with Store(path) as s:
        sid = add_student(s)
    with Store(path) as s:
        assert s.student(sid)["name"] == "Ann"


def test_newer_database_is_refused_with_a_clear_error(tmp_path):
    path = tmp_path / "new.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"pragma user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError) as info:
        Store(path)
    message = str(info.value)
    assert "newer" in message
    assert str(SCHEMA_VERSION + 1) in message and str(SCHEMA_VERSION) in message
    assert "upgrade" in message
    # and the database was not touched
    conn = sqlite3.connect(path)
    assert conn.execute("pragma user_version").fetchone()[0] == SCHEMA_VERSION + 1
    conn.close()


def test_unopenable_path_gives_store_error(tmp_path):
    with pytest.raises(StoreError):
        Store(tmp_path / "no-such-dir" / "x.db")


# --- pragmas -------------------------------------------------------------------------------


def test_file_database_uses_wal_normal_and_a_busy_timeout(tmp_path):
    with Store(tmp_path / "p.db", timeout=7.5) as s:
        assert s.conn.execute("pragma journal_mode").fetchone()[0] == "wal"
        assert s.conn.execute("pragma synchronous").fetchone()[0] == 1  # NORMAL
        assert s.conn.execute("pragma busy_timeout").fetchone()[0] == 7500
        assert s.conn.execute("pragma foreign_keys").fetchone()[0] == 1
    # WAL is persistent: a plain connection sees it too
    conn = sqlite3.connect(tmp_path / "p.db")
    assert conn.execute("pragma journal_mode").fetchone()[0] == "wal"
    conn.close()


# --- transactions --------------------------------------------------------------------------


def test_write_commits(file_store):
    with file_store.write() as db:
        db["profiles"].insert({"student_id": 99, "interests": "[]", "goals": "[]",
                               "updated": AT})
    assert not file_store.conn.in_transaction
    other = sqlite3.connect(file_store.path)
    assert other.execute("select count(*) from profiles").fetchone()[0] == 1
    other.close()


def test_write_rolls_back_on_an_exception(file_store):
    sid = add_student(file_store)
    before = {t: count(file_store, t) for t in tables(file_store.conn)}
    with pytest.raises(RuntimeError, match="boom"):
        with file_store.write():
            file_store.conn.execute(
                "insert into events (student_id, quest_id, version, node, type, role, actor, "
                "at, data) values (?, 't1', 1, 'intro', 'open', 'student', '', '', '{}')",
                (sid,))
            file_store.save_profile(sid, ["x"], [], AT)  # a nested write joins, rolls back too
            raise RuntimeError("boom")
    assert not file_store.conn.in_transaction
    assert {t: count(file_store, t) for t in tables(file_store.conn)} == before
    # and the store still works
    file_store.save_profile(sid, ["y"], [], AT)
    assert file_store.profile(sid)["interests"] == ["y"]


def test_append_rolls_back_as_a_whole(store, graph):
    sid = add_student(store)
    bad = Event("open", "intro", "student", "", AT, "t1", 1, {"x": object()})  # not JSON
    with pytest.raises(TypeError):
        store.append(sid, [ev("open", "intro"), bad])
    assert count(store, "events") == 0


def test_nested_write_joins_the_outer_transaction(file_store):
    sid = add_student(file_store)
    with file_store.write():
        file_store.save_profile(sid, ["a"], [], AT)
        with file_store.write():  # no second BEGIN (that would raise)
            assert file_store.conn.in_transaction
            file_store.conn.execute("insert into badges (student_id, badge, quest_id, at) "
                                    "values (?, 'b', 't1', ?)", (sid, AT))
        assert file_store.conn.in_transaction  # the inner block did not commit
        other = sqlite3.connect(file_store.path)
        assert other.execute("select count(*) from badges").fetchone()[0] == 0
        other.close()
    assert count(file_store, "badges") == 1
    assert file_store.profile(sid)["interests"] == ["a"]


def test_inner_failure_rolls_back_the_outer_work(file_store):
    sid = add_student(file_store)
    with pytest.raises(ValueError):
        with file_store.write():
            file_store.save_profile(sid, ["a"], [], AT)
            with file_store.write():
                file_store.conn.execute("insert into badges (student_id, badge, quest_id, at) "
                                        "values (?, 'b', 't1', ?)", (sid, AT))
                raise ValueError("inner")
    assert count(file_store, "badges") == 0
    assert count(file_store, "profiles") == 0


def test_store_busy_when_another_connection_holds_the_write_lock(tmp_path):
    path = tmp_path / "busy.db"
    store = Store(path, timeout=0.05, busy_retries=2, backoff=0.01)
    sid = add_student(store)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StoreBusy) as info:
            with store.write():
                store.conn.execute("insert into badges (student_id, badge, quest_id, at) "
                                   "values (?, 'b', 't1', ?)", (sid, AT))
        message = str(info.value)
        assert "busy" in message and str(path) in message
        assert "3 tries" in message and "nothing was written" in message
        assert isinstance(info.value, StoreError)
        # the higher-level methods report the same way and write nothing
        with pytest.raises(StoreBusy):
            store.append(sid, [ev("open", "intro")])
        assert not store.conn.in_transaction
        # readers are not blocked in WAL mode
        assert store.student(sid)["name"] == "Ann"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert count(store, "events") == 0 and count(store, "badges") == 0
    store.append(sid, [ev("open", "intro")])  # works again once the lock is gone
    assert count(store, "events") == 1
    store.close()


def test_store_waits_for_a_short_lock_instead_of_failing(tmp_path):
    import threading
    path = tmp_path / "wait.db"
    store = Store(path, timeout=2.0)
    sid = add_student(store)
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.2, lambda: holder.execute("COMMIT"))
    release.start()
    store.append(sid, [ev("open", "intro")])
    release.join()
    holder.close()
    assert count(store, "events") == 1
    store.close()


# --- append materializes ------------------------------------------------------------------


def test_append_returns_ids_and_keeps_the_events(store):
    sid = add_student(store)
    events = [ev("open", "intro"), ev("complete", "intro", outcome="success")]
    ids = store.append(sid, events)
    assert len(ids) == 2 and ids[0] < ids[1]
    assert store.events(sid, "t1") == events


def test_append_materializes_submissions_reviews_and_reflections(store):
    sid = add_student(store)
    store.append(sid, [ev("open", "learn"), ev("choose", "learn", option="sheet"),
                       ev("submit", "learn", content="my worksheet 🧮")])
    subs = store.conn.execute("select round, content, status, event_id from submissions "
                              "where student_id = ?", (sid,)).fetchall()
    assert len(subs) == 1 and subs[0][:3] == (1, "my worksheet 🧮", "pending")
    event_id = subs[0][3]
    assert store.conn.execute("select type from events where id = ?",
                              (event_id,)).fetchone()[0] == "submit"

    store.append(sid, [ev("review", "learn", decision="return", feedback="show steps")])
    assert store.conn.execute("select status from submissions").fetchone()[0] == "returned"
    reviews = store.reviews_of(sid, "t1", "learn")
    assert [(r["decision"], r["feedback"], r["round"]) for r in reviews] == \
        [("return", "show steps", 1)]
    assert reviews[0]["submission_id"] == store.conn.execute(
        "select id from submissions").fetchone()[0]

    store.append(sid, [ev("submit", "learn", content="v2"),
                       ev("review", "learn", decision="approve", feedback=""),
                       ev("complete", "learn", outcome="success")])
    rows = store.conn.execute("select round, content, status from submissions order by id"
                              ).fetchall()
    assert rows == [(1, "my worksheet 🧮", "returned"), (2, "v2", "approved")]
    assert [r["decision"] for r in store.reviews_of(sid, "t1", "learn")] == ["return", "approve"]

    # answers (quiz submissions) are not work to review
    store.append(sid, [ev("submit", "check", answers={"q1": "2/4"})])
    assert count(store, "submissions") == 2

    store.append(sid, [ev("reflect", "learn", text="I liked it"),
                       ev("reflect", "learn", text="again")])
    refl = store.conn.execute("select node, text from reflections where student_id = ? "
                              "order by id", (sid,)).fetchall()
    assert refl == [("learn", "I liked it"), ("learn", "again")]


def test_pending_submissions_are_oldest_first_per_class(store):
    sid = add_student(store, "Ann")
    other = add_student(store, "Bob")
    code = store.student(sid)["class_code"]
    later = Event("submit", "learn", "student", "", "2024-01-02", "t1", 1, {"content": "late"})
    early = Event("submit", "learn", "student", "", "2024-01-01", "t1", 1, {"content": "early"})
    store.append(sid, [later])
    store.append(sid, [Event("submit", "practice", "student", "", "2024-01-01", "t1", 1,
                             {"content": "early"})])
    store.append(other, [early])
    rows = store.pending_submissions([code])
    assert [r["content"] for r in rows] == ["early", "late"]
    assert {r["student_id"] for r in rows} == {sid}
    assert store.pending_submissions([]) == []


# --- save_progress -------------------------------------------------------------------------


def play_to_end(graph) -> list[Event]:
    from questengine import Action, act
    events: list[Event] = []
    for action in [Action("complete", "intro"), Action("choose", "learn", option="video"),
                   Action("complete", "learn"),
                   Action("answer", "check", answers={"q1": "2/4", "q2": 0.5}),
                   Action("complete", "end")]:
        events += act(graph, replay(graph, events), action, actor="student:1", at=AT)
    return events


def progress_rows(store, sid):
    return {r[0]: r[1:] for r in store.conn.execute(
        "select node, state, attempts, score, round from progress where student_id = ? "
        "and quest_id = 't1'", (sid,))}


def test_save_progress_materializes_the_replay(store, graph):
    sid = add_student(store)
    events = play_to_end(graph)
    store.append(sid, events)
    p = replay(graph, store.events(sid, "t1"))
    store.save_progress(sid, p, AT)
    assert progress_rows(store, sid) == {
        n: (np.state, np.attempts, np.score, np.round) for n, np in p.nodes.items()}
    status = store.quest_status(sid, "t1")
    assert status["xp"] == p.xp == 105 and status["level"] == level_for(105)
    assert status["complete"] == 1 and status["version"] == 1
    assert {b["badge"] for b in store.badges_of(sid)} == set(p.badges)
    assert "forest-ranger" in p.badges
    assert store.conn.execute("select count(*) from mastery where student_id = ?",
                              (sid,)).fetchone()[0] == len(p.mastery) > 0


def test_save_progress_never_lowers_xp_nor_loses_badges(store, graph):
    sid = add_student(store)
    events = play_to_end(graph)
    full = replay(graph, events)
    store.save_progress(sid, full, AT)
    badges = {b["badge"] for b in store.badges_of(sid)}
    partial = replay(graph, events[:2])  # e.g. a newer version that dropped nodes
    assert partial.xp < full.xp
    store.save_progress(sid, partial, "2024-01-02T00:00:00+00:00")
    status = store.quest_status(sid, "t1")
    assert status["xp"] == full.xp
    assert status["level"] == level_for(full.xp)
    assert status["complete"] == 1
    assert {b["badge"] for b in store.badges_of(sid)} == badges
    # node states do follow the replay
    assert progress_rows(store, sid)["end"][0] == partial.nodes["end"].state
    # and XP still grows when earned
    from dataclasses import replace
    more = replace(full, xp=full.xp + 50)
    store.save_progress(sid, more, AT)
    assert store.quest_status(sid, "t1")["xp"] == full.xp + 50


def test_save_progress_is_atomic(store, graph, monkeypatch):
    sid = add_student(store)
    p = replay(graph, play_to_end(graph))
    p.mastery = {"equiv": object()}  # unstorable, and written after progress and quest_status
    with pytest.raises(sqlite3.ProgrammingError, match="type 'object' is not supported"):
        store.save_progress(sid, p, AT)
    assert not store.conn.in_transaction
    for table in ("progress", "quest_status", "mastery", "badges"):
        assert count(store, table) == 0, f"{table} was written by a failed save"


# --- indexes ---------------------------------------------------------------------------------


def index_columns(conn, table: str) -> list[tuple[str, ...]]:
    out = []
    for row in conn.execute(f"pragma index_list({table})"):
        name = row[1]
        out.append(tuple(r[2] for r in conn.execute(f"pragma index_info('{name}')")))
    return out


def test_indexes_for_the_progress_center(store):
    assert ("quest_id", "node", "state") in index_columns(store.conn, "progress")
    assert ("status", "at") in index_columns(store.conn, "submissions")
    assert ("student_id", "quest_id", "id") in index_columns(store.conn, "events")


@pytest.mark.parametrize("sql, params, index", [
    ("select node, state, count(*) from progress where quest_id = ? group by node, state",
     ("t1",), "quest_id"),
    ("select * from submissions where status = 'pending' order by at", (), "status"),
    ("select * from events where student_id = ? and quest_id = ? order by id", (1, "t1"),
     "student_id"),
])
def test_progress_center_queries_use_an_index(store, sql, params, index):
    plan = " ".join(str(r[-1]) for r in store.conn.execute("explain query plan " + sql, params))
    assert "USING" in plan and "INDEX" in plan and index in plan, plan
    assert "SCAN progress" not in plan and "SCAN submissions" not in plan, plan


def test_json_data_round_trips_unicode(store):
    sid = add_student(store)
    text = "Robert'); DROP TABLE students;-- ✓ שלום 🎉"
    store.append(sid, [ev("reflect", "intro", text=text)])
    assert store.events(sid, "t1")[0].data == {"text": text}
    raw = store.conn.execute("select data from events").fetchone()[0]
    assert json.loads(raw) == {"text": text} and "🎉" in raw  # stored readable, not escaped
    assert "students" in tables(store.conn)
