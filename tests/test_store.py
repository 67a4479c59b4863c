"""Tests of questengine.store: schema, migrations, pragmas, transactions, materialized rows."""
from __future__ import annotations

import json
import sqlite3
import time

import pytest

from questengine import loads_quest, quest_graph, replay
from questengine.engine import Event
from questengine.rewards import level_for
from questengine.store import (
    SCHEMA_VERSION, STUDENT_TABLES, TABLES, Store, StoreBusy, StoreError, open_store,
)
from helpers import T1
from pgserver import BACKENDS, is_sqlite, query, scalar


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


def count(store, table: str) -> int:
    return scalar(store, f"select count(*) from {table}")


@pytest.fixture(params=BACKENDS)
def store(request):
    """An empty store: SQLite in memory, then PostgreSQL (a schema of its own)."""
    if request.param == "sqlite":
        s = Store(":memory:")
    else:
        s = open_store(request.getfixturevalue("pg_server").fresh_address())
    yield s
    s.close()


@pytest.fixture
def sqlite_store():
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
    assert DESIGN_TABLES <= {t for t in TABLES if store.table_columns(t)}
    assert {"id", "version", "source", "hash"} <= set(store.table_columns("quests"))
    assert "status" in set(store.table_columns("submissions"))
    assert {"student_id", "quest_id", "node", "state", "attempts", "score", "updated"} <= \
        set(store.table_columns("progress"))
    assert {"version", "quest_id", "node", "type", "role", "actor", "at"} <= \
        set(store.table_columns("events"))
    # every table STUDENT_TABLES names exists with the named column
    for table, column in STUDENT_TABLES.items():
        assert column in store.table_columns(table), (table, column)


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
                query(store, "insert into badges (student_id, badge, quest_id, at) "
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
    subs = query(store, "select round, content, status, event_id from submissions "
                              "where student_id = ?", (sid,)).fetchall()
    assert len(subs) == 1 and subs[0][:3] == (1, "my worksheet 🧮", "pending")
    event_id = subs[0][3]
    assert query(store, "select type from events where id = ?",
                              (event_id,)).fetchone()[0] == "submit"

    store.append(sid, [ev("review", "learn", decision="return", feedback="show steps")])
    assert query(store, "select status from submissions").fetchone()[0] == "returned"
    reviews = store.reviews_of(sid, "t1", "learn")
    assert [(r["decision"], r["feedback"], r["round"]) for r in reviews] == \
        [("return", "show steps", 1)]
    assert reviews[0]["submission_id"] == query(store, 
        "select id from submissions").fetchone()[0]

    store.append(sid, [ev("submit", "learn", content="v2"),
                       ev("review", "learn", decision="approve", feedback=""),
                       ev("complete", "learn", outcome="success")])
    rows = query(store, "select round, content, status from submissions order by id"
                              ).fetchall()
    assert rows == [(1, "my worksheet 🧮", "returned"), (2, "v2", "approved")]
    assert [r["decision"] for r in store.reviews_of(sid, "t1", "learn")] == ["return", "approve"]

    # answers (quiz submissions) are not work to review
    store.append(sid, [ev("submit", "check", answers={"q1": "2/4"})])
    assert count(store, "submissions") == 2

    store.append(sid, [ev("reflect", "learn", text="I liked it"),
                       ev("reflect", "learn", text="again")])
    refl = query(store, "select node, text from reflections where student_id = ? "
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
    return {r[0]: r[1:] for r in query(store, 
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
    assert query(store, "select count(*) from mastery where student_id = ?",
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
    import psycopg

    with pytest.raises((sqlite3.ProgrammingError, psycopg.ProgrammingError),
                       match="type 'object' is not supported|cannot adapt type 'object'"):
        store.save_progress(sid, p, AT)
    if is_sqlite(store):
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


def test_indexes_for_the_progress_center(sqlite_store):
    store = sqlite_store
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
def test_progress_center_queries_use_an_index(sqlite_store, sql, params, index):
    store = sqlite_store
    plan = " ".join(str(r[-1]) for r in query(store, "explain query plan " + sql, params))
    assert "USING" in plan and "INDEX" in plan and index in plan, plan
    assert "SCAN progress" not in plan and "SCAN submissions" not in plan, plan


def test_json_data_round_trips_unicode(store):
    sid = add_student(store)
    text = "Robert'); DROP TABLE students;-- ✓ שלום 🎉"
    store.append(sid, [ev("reflect", "intro", text=text)])
    assert store.events(sid, "t1")[0].data == {"text": text}
    raw = query(store, "select data from events").fetchone()[0]
    assert json.loads(raw) == {"text": text} and "🎉" in raw  # stored readable, not escaped
    assert count(store, "students") == 1


# --- PostgreSQL: the same guarantees --------------------------------------------------------


def test_open_store_picks_the_backend_from_the_address(pg_address, tmp_path):
    from questengine.store.postgres import PostgresStore
    from questengine.store.sqlite import SQLiteStore

    with open_store(pg_address) as pg:
        assert isinstance(pg, PostgresStore) and pg.schema_version == SCHEMA_VERSION
    with open_store(tmp_path / "x.db") as lite:
        assert isinstance(lite, SQLiteStore)
    assert isinstance(open_store(str(tmp_path / "postgresql.db")), SQLiteStore)  # a file name


def test_postgres_migrate_is_idempotent_and_keeps_data(pg_address):
    with open_store(pg_address) as s:
        sid = add_student(s)
        assert s.migrate() == SCHEMA_VERSION
    with open_store(pg_address) as s:  # reopening migrates nothing and loses nothing
        assert s.schema_version == SCHEMA_VERSION
        assert s.student(sid)["name"] == "Ann"
        ident = s.database_identity()
    with open_store(pg_address) as s:
        assert s.database_identity() == ident


def test_postgres_newer_schema_is_refused(pg_address):
    with open_store(pg_address) as s:
        with s.write():
            query(s, "update questengine_schema set version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1}, newer"):
        open_store(pg_address)


def test_postgres_bad_address_is_one_sentence_without_the_password(pg_server):
    bad = "postgresql://postgres:s3cret@/nope?host=/nonexistent-folder"
    with pytest.raises(StoreError) as info:
        open_store(bad)
    assert "cannot open the database" in str(info.value) and "s3cret" not in str(info.value)
    assert "\n" not in str(info.value)


def test_postgres_write_commits_rolls_back_and_nests(pg_address):
    s, other = open_store(pg_address), open_store(pg_address)
    sid = add_student(s)
    with s.write():
        s.save_profile(sid, ["a"], [], AT)
        with s.write():  # joins the outer transaction
            query(s, "insert into badges (student_id, badge, quest_id, at) values (?, 'b', "
                     "'t1', ?)", (sid, AT))
        assert count(other, "badges") == 0  # not committed yet: another connection sees nothing
    assert count(other, "badges") == 1 and other.profile(sid)["interests"] == ["a"]
    with pytest.raises(ValueError):
        with s.write():
            s.save_profile(sid, ["b"], [], AT)
            with s.write():
                query(s, "insert into badges (student_id, badge, quest_id, at) values (?, 'c', "
                         "'t1', ?)", (sid, AT))
                raise ValueError("inner")
    assert count(other, "badges") == 1 and other.profile(sid)["interests"] == ["a"]
    s.close(), other.close()


def test_postgres_reads_give_both_row_shapes_in_turn_and_survive_dropped_connections(
        pg_address):
    import psycopg

    s = open_store(pg_address)
    sid = add_student(s)
    code = s.student(sid)["class_code"]
    for _ in range(3):  # dict rows and tuple rows, one after the other on the same connection
        assert s.student(sid)["name"] == "Ann"
        assert s.enrolled_count(code) == 1
        assert [r["name"] for r in s.students_in(code)] == ["Ann"]
        assert s.last_event_id(sid, "t1") == 0
    # the server drops every connection the store holds (a restart, an administrator)
    with psycopg.connect(pg_address, autocommit=True) as admin:
        dropped = admin.execute(
            "select count(pg_terminate_backend(pid)) from pg_stat_activity where pid <> "
            "pg_backend_pid() and datname = current_database()").fetchone()[0]
    assert dropped >= 1
    failures = 0
    for _ in range(10):  # each broken connection fails once (one sentence), then is replaced
        try:
            assert s.student(sid)["name"] == "Ann"
            break
        except StoreError as err:
            assert "database error" in str(err)
            failures += 1
    assert failures <= dropped
    assert s.enrolled_count(code) == 1 and s.student(sid)["name"] == "Ann"
    s.append(sid, [ev("reflect", "a", text="after")])
    assert [e.data["text"] for e in s.events(sid, "t1")] == ["after"]
    s.close()


def test_postgres_a_students_log_is_held_from_check_to_commit(pg_address):
    """What BEGIN IMMEDIATE gives SQLite: a second writer of the same student's log waits
    until the first commits, so "check the last event, then append" cannot interleave."""
    import threading

    a, b = open_store(pg_address), open_store(pg_address)
    sid = add_student(a)
    order: list[str] = []
    held = threading.Event()

    def second():
        held.wait(30)
        with b.write():
            last = b.last_event_id(sid, "t1")  # waits for the first writer's commit
            order.append(f"second saw {last}")
            b.append(sid, [ev("open", "learn")])

    thread = threading.Thread(target=second)
    thread.start()
    with a.write():
        assert a.last_event_id(sid, "t1") == 0
        held.set()
        time.sleep(0.5)  # the second writer is now waiting on the lock
        ids = a.append(sid, [ev("open", "intro")])
        order.append("first committed")
    thread.join(30)
    assert order == ["first committed", f"second saw {ids[0]}"]
    assert [e.node for e in a.events(sid, "t1")] == ["intro", "learn"]
    a.close(), b.close()


def test_postgres_another_students_writes_are_not_held(pg_address):
    import threading

    a, b = open_store(pg_address), open_store(pg_address)
    ann, bob = add_student(a, "Ann"), add_student(a, "Bob")
    done = threading.Event()

    def other():
        with b.write():
            b.last_event_id(bob, "t1")
            b.append(bob, [ev("open", "intro")])
        done.set()

    with a.write():
        a.last_event_id(ann, "t1")
        thread = threading.Thread(target=other)
        thread.start()
        assert done.wait(30)  # Bob's transaction committed while Ann's is still open
    thread.join()
    a.close(), b.close()


@pytest.mark.parametrize("sql, params", [
    ("select node, state, count(*) from progress where quest_id = ? group by node, state",
     ("t1",)),
    ("select p.node, p.state, count(*) from progress p join enrolments e on e.student_id = "
     "p.student_id where e.class_code = ? and p.quest_id = ? group by p.node, p.state",
     ("C-1", "t1")),
    ("select * from submissions where status = 'pending' order by at", ()),
    ("select * from events where student_id = ? and quest_id = ? order by id", (1, "t1")),
    ("select student_id, quest_id, node, fails from progress where quest_id = ? and fails >= ?",
     ("t1", 2)),
    ("select * from mastery where competency = ?", ("equiv",)),
    ("select * from reviews where student_id = ? and quest_id = ? and node = ?", (1, "t1", "a")),
])
def test_postgres_has_an_index_for_every_center_query(pg_address, sql, params):
    with open_store(pg_address) as s, s.write():
        query(s, "set local enable_seqscan = off")  # tiny tables: ask whether an index exists
        plan = "\n".join(r[0] for r in query(s, "explain " + sql, params))
    assert "Index" in plan, plan


# --- questengine migrate: a classroom copied from SQLite to PostgreSQL ---------------------------


def test_migrate_copies_a_classroom_and_verifies_it(tmp_path, pg_address):
    from click.testing import CliRunner

    from questengine.classroom import Classroom
    from questengine.cli import main
    from helpers import FakeClock, cheap_hasher

    db = str(tmp_path / "classroom.db")
    c = Classroom(db, clock=FakeClock(), hasher=cheap_hasher())
    owner = c.add_teacher("t@school.org", "Tess", "correct horse")
    code = c.create_class("t@school.org", "Class", "OWL-0003")
    c.publish(loads_quest(T1), by=owner)
    c.assign("t1", code)
    logins = [c.add_student(code, n, "2468") for n in ("Ada", "Bo 🦊", "Cy")]
    ada, bo = (c.login_student(code, n, "2468") for n in ("Ada", "Bo 🦊"))
    ada.complete("t1", "intro")
    ada.choose("t1", "learn", "sheet")
    ada.submit("t1", "learn", "my work, with “quotes” and 100%")
    t = c.login_teacher("t@school.org", "correct horse")
    t.review(t.review_queue()[0].submission_id, "return", "more, please")
    bo.complete("t1", "intro")
    bo.reflect("t1", "intro", "it's fine")
    bo.add_goal("read more")
    before = {"grid": t.grid(code, "t1"), "overview": t.class_overview(code, "t1"),
              "struggling": t.struggling(code), "record": t.student_record(logins[0].student_id)}
    c.store.close()

    runner = CliRunner()
    result = runner.invoke(main, ["migrate", "--from", db, "--to", pg_address])
    assert result.exit_code == 0, result.output
    assert "verified: the same rows in all" in result.stdout and "2 event logs" in result.stdout
    copied = dict(part.rsplit(" ", 1) for part in
                  result.stdout.splitlines()[0].split(": ", 1)[1].split(", "))
    assert int(copied["students"]) == 3 and int(copied["events"]) > 0
    # the copy is the same classroom: same logins, same figures, ids kept
    pg = Classroom(pg_address, clock=FakeClock(), hasher=cheap_hasher())
    t2 = pg.login_teacher("t@school.org", "correct horse")
    assert t2.grid(code, "t1") == before["grid"]
    assert t2.class_overview(code, "t1") == before["overview"]
    assert t2.struggling(code) == before["struggling"]
    assert t2.student_record(logins[0].student_id) == before["record"]
    assert pg.login_student(code, "bo 🦊", "2468").profile().goals[0]["text"] == "read more"
    # new rows get new ids after the copied ones
    new = t2.add_student(code, "Dee", "1357")
    assert new.student_id > max(lg.student_id for lg in logins)
    # a second migrate into the same database is refused: it is no longer empty
    again = runner.invoke(main, ["migrate", "--from", db, "--to", pg_address])
    assert again.exit_code == 1 and "already holds a classroom" in again.stderr
    missing = runner.invoke(main, ["migrate", "--from", str(tmp_path / "none.db"), "--to",
                                   pg_address])
    assert missing.exit_code == 2


def test_a_students_action_reads_session_assignment_version_and_supports_at_once(store):
    sid = add_student(store)
    code = store.student(sid)["class_code"]
    store.put_quest("t1", "T1", T1, "h1", AT, None)
    store.add_session("student-token", "student", sid, AT, "2999-01-01T00:00:00+00:00")
    row = store.session_for_quest("student-token", code, "t1")
    assert (row["user_id"], row["assigned"], row["latest_version"]) == (sid, 0, 1)
    assert row["accommodations"] is None  # none set
    store.assign(code, "t1", AT, None)
    store.save_accommodations(sid, {"extra_attempts": 2}, 1, AT)
    row = store.session_for_quest("student-token", code, "t1")
    assert bool(row["assigned"]) and row["accommodations"] == {"extra_attempts": 2}
    # a teacher whose id is the student's gets no student's supports with the session
    store.add_session("teacher-token", "teacher", sid, AT, "2999-01-01T00:00:00+00:00")
    assert store.session_for_quest("teacher-token", code, "t1")["accommodations"] is None
    assert store.session_for_quest("no-such-token", code, "t1") is None


def test_record_appends_and_saves_only_if_the_log_still_ends_where_it_was_read(store, graph):
    sid = add_student(store)
    events = play_to_end(graph)
    first, rest = events[:2], events[2:]
    p1 = replay(graph, first)
    ids = store.record(sid, "t1", 0, first, p1, AT)
    assert len(ids) == 2 and [e.type for e in store.events(sid, "t1")] == [e.type for e in first]
    before = progress_rows(store, sid)
    assert before and count(store, "quest_status") == 1
    # another tab wrote meanwhile: a record made from the older log writes nothing at all
    stale = store.record(sid, "t1", 0, rest, replay(graph, events), AT, previous=p1)
    assert stale is None
    assert len(store.events(sid, "t1")) == 2 and progress_rows(store, sid) == before
    # from the log's real end it goes through, events and progress together
    assert store.record(sid, "t1", ids[-1], rest, replay(graph, events), AT, previous=p1)
    assert progress_rows(store, sid) == {n: (np.state, np.attempts, np.score, np.round)
                                         for n, np in replay(graph, events).nodes.items()}


def test_record_is_atomic_and_the_store_works_on_after_a_failure(store, graph):
    sid = add_student(store)
    events = play_to_end(graph)
    p = replay(graph, events)
    p.mastery = {"equiv": object()}  # unstorable, written after the events and progress rows
    import psycopg

    with pytest.raises((sqlite3.ProgrammingError, psycopg.ProgrammingError),
                       match="type 'object' is not supported|cannot adapt type 'object'"):
        store.record(sid, "t1", 0, events, p, AT)
    for table in ("events", "reflections", "progress", "quest_status", "mastery"):
        assert count(store, table) == 0, f"{table} was written by a failed record"
    assert store.record(sid, "t1", 0, events, replay(graph, events), AT)  # the next one works
    assert len(store.events(sid, "t1")) == len(events)


# --- bulk loading (migrate's copy, the district benchmark) -----------------------------------------


def test_bulk_load_streams_rows_in_keeps_the_indexes_and_refuses_duplicates(store):
    tables = ("students", "enrolments", "events")
    indexes = store._secondary_indexes(tables)
    assert indexes  # students and events have secondary indexes (a unique one among them)
    tid = store.add_teacher("t@x.org", "T", "hash", AT)
    store.add_class("C-1", "Class", tid, AT)
    store.put_quest("t1", "T1", T1, "h1", AT, None)

    def students(n):  # a generator: the store streams it, it never needs a list
        for i in range(1, n + 1):
            yield (i, f"opaque-{i}", "C-1", f"Student {i}", f"student {i}", "pinhash", AT)

    events = [(i, 1 + i % 3, "t1", 1, "intro", "open", "student", f"student:{1 + i % 3}", AT,
               "{}") for i in range(1, 31)]
    with store.bulk_load(tables):
        store.load_table("students", ["id", "opaque_id", "class_code", "name", "name_key",
                                      "pin_hash", "created"], students(3))
        store.load_table("enrolments", ["student_id", "class_code", "enrolled"],
                         ((i, "C-1", AT) for i in (1, 2, 3)))
        store.load_table("events", ["id", "student_id", "quest_id", "version", "node", "type",
                                    "role", "actor", "at", "data"], iter(events))
    # the rows are there for the store's readers, and the indexes are back
    assert [s["name"] for s in store.class_students("C-1")] == ["Student 1", "Student 2",
                                                                 "Student 3"]
    assert [e.type for e in store.events(2, "t1")] == ["open"] * 10
    assert store.last_event_id(1, "t1") == 30 and store.last_event_id(3, "t1") == 29
    assert store._secondary_indexes(tables) == indexes
    # ids go on after the loaded ones, and the unique index on (class, name) works again
    assert store.add_student("C-1", "Dee", "dee", "pinhash", "opaque-dee", AT) == 4
    with pytest.raises(Exception):
        store.add_student("C-1", "Student 1", "student 1", "pinhash", "opaque-x", AT)

    # a load whose rows break a unique index is refused when the index is built again, with
    # the index named, and nothing of it stays
    with pytest.raises(StoreError, match="idx_students_class_code_name_key"):
        with store.bulk_load(["students"]):
            store.load_table("students", ["id", "opaque_id", "class_code", "name", "name_key",
                                          "pin_hash", "created"],
                             [(10, "o-10", "C-1", "Eve", "eve", "h", AT),
                              (11, "o-11", "C-1", "Eve", "eve", "h", AT)])
    assert count(store, "students") == 4
    assert store._secondary_indexes(tables) == indexes
