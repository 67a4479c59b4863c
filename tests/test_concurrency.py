"""Concurrency and faults: many processes writing one database file through the service,
and writers killed in the middle of a transaction (DESIGN sections 6, 11 and 12)."""
from __future__ import annotations

import multiprocessing as mp
import os
import random
import signal
import sqlite3
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone

import pytest

from questengine import loads_quest, replay
from questengine.classroom import Classroom
from questengine.engine import Event
from questengine.store import Store, StoreBusy, is_postgres, open_store
from helpers import cheap_hasher
from pgserver import query



CTX = mp.get_context("fork")
STORIES = 20
EVENTS_PER_STUDENT = 200
WRITERS = 40
CODE = "OWL-0040"
PIN = "2468"


def chain_quest(n: int = STORIES) -> str:
    """A chain of story nodes and an end: completing each gives open + complete (2 events);
    a reflection on a completed node is legal again and again (1 event)."""
    nodes = "\n".join(f"  - {{id: s{i}, kind: story, title: Step {i}, xp: 1}}" for i in range(n))
    edges = "\n".join(f"  - [s{i}, s{i + 1}]" for i in range(n - 1))
    return (f"id: chain\ntitle: Chain\nnodes:\n{nodes}\n"
            f"  - {{id: end, kind: end, title: End, rewards: {{xp: 10, badge: chained}}}}\n"
            f"edges:\n{edges}\n  - [s{n - 1}, end]\n")




def clock() -> datetime:
    return datetime.now(timezone.utc)


def student_name(i: int) -> str:
    return f"Student {i:02d}"


def set_up(path, students: int) -> dict[str, int]:
    """A class with the chain quest and ``students`` students; returns name -> id."""
    c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
    c.add_teacher("t@school.org", "Tess", "correct horse")
    c.create_class("t@school.org", "Class", CODE)
    t = c.login_teacher("t@school.org", "correct horse")
    t.publish(loads_quest(chain_quest()))
    t.assign("chain", CODE)
    ids = {}
    for i in range(students):
        ids[student_name(i)] = t.add_student(CODE, student_name(i), PIN).student_id
    c.store.close()  # never carry an open connection across fork
    return ids


def next_action(session, progress):
    """The next legal action of the plan: complete the chain, then reflect."""
    for i in range(STORIES):
        if progress.state(f"s{i}") != "success":
            return lambda: session.complete("chain", f"s{i}")
    if progress.state("end") != "success":
        return lambda: session.complete("chain", "end")
    node = f"s{progress.events % STORIES}"
    return lambda: session.reflect("chain", node, f"reflection {progress.events}")


# --- children (module level so that they can be pickled) ----------------------------------


def play_child(path, name, target, barrier, results):
    errors: list[str] = []
    appended = 0
    try:
        c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
        barrier.wait(timeout=120)
        session = c.login_student(CODE, name, PIN)
        progress = session.progress("chain")
        while progress.events < target:
            try:
                progress = next_action(session, progress)()
            except Exception as err:  # every failure is collected, none hidden
                errors.append(f"{type(err).__name__}: {err}")
                if len(errors) > 20:
                    break
                progress = session.progress("chain")
        appended = progress.events
        c.store.close()
    except BaseException as err:
        errors.append("".join(traceback.format_exception(err)))
    results.put((name, appended, errors))


def reader_child(path, stop, results):
    """A teacher's progress center reading while the students write."""
    errors, reads = [], 0
    try:
        c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
        t = c.login_teacher("t@school.org", "correct horse")
        students = t.students(CODE)
        rng = random.Random(1)
        while not stop.is_set():
            try:
                t.review_queue()
                t.progress(rng.choice(students)["id"], "chain")
                query(c.store, "select node, state, count(*) from progress where "
                      "quest_id = 'chain' group by node, state")
                reads += 1
            except Exception as err:
                errors.append(f"{type(err).__name__}: {err}")
            time.sleep(0.02)
        c.store.close()
    except BaseException as err:
        errors.append("".join(traceback.format_exception(err)))
    results.put(("reader", reads, errors))


def hold_transaction_child(path, sid, committed, uncommitted, ready):
    """Commit some events, then open a transaction, write a lot, signal, and wait to be killed."""
    store = open_store(path)
    for i in range(committed):
        store.append(sid, [Event("reflect", "s0", "student", "kill-test", "", "chain", 1,
                                 {"text": f"committed {i}"})])
    with store.write():
        pad = "u" * 1000
        store.append(sid, [Event("reflect", "s0", "student", "kill-test", "", "chain", 1,
                                 {"text": f"UNCOMMITTED {i} {pad}"}) for i in range(uncommitted)])
        ready.set()
        time.sleep(120)  # killed long before this ends
    os._exit(3)  # never reached when the test works


def stream_child(path, name, done):
    """Play through the service, publishing how many events are known to be committed."""
    c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
    session = c.login_student(CODE, name, PIN)
    progress = session.progress("chain")
    while True:
        progress = next_action(session, progress)()
        done.value = progress.events


# --- helpers ---------------------------------------------------------------------------------


def integrity(path) -> str:
    """SQLite's integrity check; for PostgreSQL (whose server survives any client), that a new
    client can read every table."""
    if is_postgres(path):
        from questengine.store import TABLES

        with open_store(path) as store:
            for table in TABLES:
                store.count_rows(table)
        return "ok"
    conn = sqlite3.connect(path)
    try:
        return conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()


def queue_is_free(path) -> bool:
    """Whether nobody holds the database's write queue (questengine.store.sqlite.WriteQueue)."""
    import fcntl

    fd = os.open(str(path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # (a lock taken here goes with the file)


def wait_until_queue_is_free(path, limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while not queue_is_free(path):
        assert time.monotonic() < deadline, "a writer that left the queue kept its turn"
        time.sleep(0.05)


def assert_progress_equals_replay(c: Classroom, sid: int) -> None:
    G = c.graph("chain")
    p = replay(G, c.store.events(sid, "chain"))
    rows = {r[0]: r[1:] for r in query(c.store, 
        "select node, state, attempts, score, round from progress where student_id = ? and "
        "quest_id = 'chain'", (sid,))}
    if p.events == 0:
        assert rows == {}
        return
    assert rows == {n: (np.state, np.attempts, np.score, np.round) for n, np in p.nodes.items()}
    status = c.store.quest_status(sid, "chain")
    assert status["xp"] == p.xp and status["complete"] == int(p.complete)
    assert {b["badge"] for b in c.store.badges_of(sid)} == set(p.badges)
    reflections = query(c.store, "select count(*) from reflections where student_id = ?",
                                       (sid,)).fetchone()[0]
    assert reflections == sum(1 for e in c.store.events(sid, "chain") if e.type == "reflect")


def collect(results, n: int, timeout: float) -> list:
    out, deadline = [], time.monotonic() + timeout
    while len(out) < n:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(out)} of {n} processes reported in time: {out}"
        try:
            out.append(results.get(timeout=remaining))
        except Exception:
            pass
    return out


# --- tests -----------------------------------------------------------------------------------


def test_forty_processes_append_through_the_service(db_address):
    path = db_address
    ids = set_up(path, WRITERS)
    barrier = CTX.Barrier(WRITERS)
    results = CTX.Queue()
    stop = CTX.Event()
    started = time.monotonic()
    procs = [CTX.Process(target=play_child, args=(path, name, EVENTS_PER_STUDENT, barrier,
                                                  results)) for name in ids]
    reader = CTX.Process(target=reader_child, args=(path, stop, results))
    for p in procs + [reader]:
        p.start()
    try:  # generous: on a machine loaded by other work, 8,000 actions can take minutes
        reports = collect(results, WRITERS, timeout=900)
        stop.set()
        reports += collect(results, 1, timeout=120)
    finally:
        stop.set()
        for p in procs + [reader]:
            p.join(timeout=60)
            if p.is_alive():  # a failed test leaves no process behind
                p.kill()
    elapsed = time.monotonic() - started

    errors = [(name, e) for name, _, errs in reports for e in errs]
    assert errors == [], errors[:5]
    assert all(p.exitcode == 0 for p in procs + [reader])
    assert {name: n for name, n, _ in reports if name != "reader"} == \
        {name: EVENTS_PER_STUDENT for name in ids}
    assert [n for name, n, _ in reports if name == "reader"][0] > 0

    assert integrity(path) == "ok"
    c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
    counts = dict(query(c.store, "select student_id, count(*) from events group by "
                                       "student_id").fetchall())
    assert counts == {sid: EVENTS_PER_STUDENT for sid in ids.values()}  # 0 lost, 0 extra
    assert query(c.store, "select count(*) from events").fetchone()[0] == \
        WRITERS * EVENTS_PER_STUDENT
    for sid in ids.values():
        assert_progress_equals_replay(c, sid)
        assert c.store.quest_status(sid, "chain")["complete"] == 1
    # events of each student are in the order they were made
    for sid in ids.values():
        texts = [e.data.get("text") for e in c.store.events(sid, "chain") if e.type == "reflect"]
        assert texts == sorted(texts, key=lambda t: int(t.split()[-1]))
    c.store.close()
    print(f"\n{WRITERS} processes x {EVENTS_PER_STUDENT} events in {elapsed:.1f} s")


def test_writer_killed_mid_transaction(tmp_path):
    path = str(tmp_path / "kill.db")
    ids = set_up(path, 1)
    sid = next(iter(ids.values()))
    committed, uncommitted = 40, 6000  # about 6 MB: spills out of the page cache into the WAL
    ready = CTX.Event()
    child = CTX.Process(target=hold_transaction_child,
                        args=(path, sid, committed, uncommitted, ready))
    child.start()
    try:
        assert ready.wait(timeout=300), "the writer never opened its transaction"
        # the uncommitted pages really reached the WAL file (not only the page cache)
        assert os.path.getsize(path + "-wal") > 1_000_000
        # the transaction really is open: nobody else can write now
        probe = sqlite3.connect(path, timeout=0, isolation_level=None)
        with pytest.raises(sqlite3.OperationalError, match="locked|busy"):
            probe.execute("BEGIN IMMEDIATE")
        # and readers see only what was committed
        assert probe.execute("select count(*) from events").fetchone()[0] == committed
        probe.close()
        # the writer holds the write queue too; readers never line up in it
        assert not queue_is_free(path)
        with Store(path) as reader:
            assert len(reader.events(sid, "chain")) == committed
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL
    assert queue_is_free(path), "the killed writer's place in the write queue was not freed"

    assert integrity(path) == "ok"
    with Store(path) as store:
        assert store.conn.execute("pragma integrity_check").fetchone()[0] == "ok"
        texts = [e.data["text"] for e in store.events(sid, "chain")]
        assert texts == [f"committed {i}" for i in range(committed)]
        assert store.conn.execute("select count(*) from events where data like "
                                  "'%UNCOMMITTED%'").fetchone()[0] == 0
        assert store.conn.execute("select count(*) from reflections").fetchone()[0] == committed
        # the lock died with the writer: a new write goes through at once
        store.append(sid, [Event("reflect", "s0", "student", "", "", "chain", 1,
                                 {"text": "after"})])
        assert store.conn.execute("select count(*) from events").fetchone()[0] == committed + 1


def test_writers_killed_at_random_moments_lose_nothing_committed(db_address):
    path = db_address
    ids = set_up(path, 6)
    names = list(ids)
    rng = random.Random(20240902)
    for rounds in range(2):
        done = {n: CTX.Value("i", -1) for n in names}
        before = {}
        with open_store(path) as store:
            for n in names:
                before[n] = query(store, "select count(*) from events where student_id = ?",
                                  (ids[n],)).fetchone()[0]
        procs = {n: CTX.Process(target=stream_child, args=(path, n, done[n])) for n in names}
        for p in procs.values():
            p.start()
        for n in names:  # kill each at its own random moment
            time.sleep(rng.uniform(0.05, 0.4))
            os.kill(procs[n].pid, signal.SIGKILL)
        for p in procs.values():
            p.join(timeout=30)
            assert p.exitcode == -signal.SIGKILL

        assert integrity(path) == "ok"
        c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
        for n in names:
            count = query(c.store, "select count(*) from events where student_id = ?",
                                         (ids[n],)).fetchone()[0]
            reported = done[n].value
            # everything reported as committed is there; at most one more action (2 events)
            # committed just before the kill
            if reported >= 0:
                assert reported <= count <= reported + 2, (n, reported, count)
            else:
                assert before[n] <= count <= before[n] + 2
            # events and the materialized rows were written in one transaction
            assert_progress_equals_replay(c, ids[n])
        c.store.close()

    # and every student can log in again and carry on from where they were
    c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
    for n in names:
        s = c.login_student(CODE, n, PIN)
        p = s.progress("chain")
        p2 = next_action(s, p)()
        assert p2.events > p.events
        assert_progress_equals_replay(c, ids[n])
    c.store.close()


def test_postgres_writer_killed_mid_transaction(pg_address):
    """The PostgreSQL store under the same fault: the server rolls the dead client's
    transaction back and frees its locks; committed events are all there."""
    path = pg_address
    ids = set_up(path, 1)
    sid = next(iter(ids.values()))
    committed, uncommitted = 40, 6000
    ready = CTX.Event()
    child = CTX.Process(target=hold_transaction_child,
                        args=(path, sid, committed, uncommitted, ready))
    child.start()
    probe = open_store(path)
    try:
        assert ready.wait(timeout=300), "the writer never opened its transaction"
        # readers see only what was committed
        assert query(probe, "select count(*) from events").fetchone()[0] == committed
        # the transaction really is open: the student's log is held by the writer
        waiting = threading.Event()
        wrote: list[int] = []

        def write_after():
            waiting.set()
            wrote.extend(probe.append(sid, [Event("reflect", "s0", "student", "", "", "chain",
                                                  1, {"text": "after"})]))

        writer = threading.Thread(target=write_after)
        writer.start()
        assert waiting.wait(30)
        time.sleep(0.5)
        assert wrote == []  # still waiting for the lock the child holds
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
    assert child.exitcode == -signal.SIGKILL
    writer.join(timeout=60)  # the server noticed the dead client and freed the lock
    assert len(wrote) == 1
    texts = [e.data["text"] for e in probe.events(sid, "chain")]
    assert texts == [f"committed {i}" for i in range(committed)] + ["after"]
    assert query(probe, "select count(*) from events where data like '%UNCOMMITTED%'"
                 ).fetchone()[0] == 0
    assert query(probe, "select count(*) from reflections").fetchone()[0] == committed + 1
    assert integrity(path) == "ok"
    probe.close()


def hold_write_child(path, sid, seconds, ready):
    """Append one event inside a write that lasts ``seconds``, then commit."""
    store = open_store(path)
    with store.write():
        store.append(sid, [Event("reflect", "s0", "student", "holder", "", "chain", 1,
                                 {"text": "holder"})])
        ready.set()
        time.sleep(seconds)
    store.close()
    os._exit(0)


@pytest.mark.parametrize("waiting_in", ["main thread", "another thread"])
def test_a_writer_waits_its_turn_in_the_write_queue(tmp_path, waiting_in):
    path = str(tmp_path / "queue.db")
    sid = next(iter(set_up(path, 1).values()))
    ready = CTX.Event()
    child = CTX.Process(target=hold_write_child, args=(path, sid, 0.5, ready))
    child.start()
    try:
        assert ready.wait(timeout=300), "the holder never started its write"
        assert not queue_is_free(path)
        # SQLite's busy handler alone would give up long before the holder commits
        # (one try, a busy timeout ten times shorter than the hold); in the queue the
        # writer waits for its turn (up to queue_timeout) and then goes through
        with Store(path, timeout=0.05, busy_retries=0, queue_timeout=300) as store:
            def write():
                store.append(sid, [Event("reflect", "s0", "student", "waiter", "", "chain", 1,
                                         {"text": "waiter"})])

            if waiting_in == "another thread":
                assert in_a_thread(write) is None
            else:
                write()
            assert [e.data["text"] for e in store.events(sid, "chain")] == ["holder", "waiter"]
    finally:
        child.join(timeout=300)
    assert child.exitcode == 0
    assert queue_is_free(path)


def in_a_thread(fn):
    """Run ``fn`` in another thread; returns what it raised (None if nothing)."""
    raised = []

    def run():
        try:
            fn()
        except BaseException as err:
            raised.append(err)
        else:
            raised.append(None)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=300)
    assert raised, "the thread did not finish"
    return raised[0]


# the main thread waits in flock itself, timed by SIGALRM; another thread, or the main thread
# when the application has an alarm of its own running or blocks the signal, waits through
# the helper thread
@pytest.mark.parametrize("waiting_in", ["main thread", "another thread", "alarm taken",
                                        "alarm blocked"])
def test_a_wait_in_the_write_queue_is_bounded(tmp_path, waiting_in):
    path = str(tmp_path / "stuck.db")
    sid = next(iter(set_up(path, 1).values()))
    ready = CTX.Event()
    child = CTX.Process(target=hold_write_child, args=(path, sid, 600, ready))
    child.start()
    rang = []
    try:
        assert ready.wait(timeout=300), "the holder never started its write"
        with Store(path, timeout=0.1, busy_retries=1, backoff=0.01) as store:
            def write():
                store.append(sid, [Event("reflect", "s0", "student", "waiter", "", "chain", 1,
                                         {"text": "waiter"})])

            # a stuck holder: the writer leaves the queue, then SQLite's lock says busy
            if waiting_in == "another thread":
                err = in_a_thread(write)
                assert isinstance(err, StoreBusy) and "nothing was written" in str(err)
            else:
                if waiting_in == "alarm taken":
                    signal.signal(signal.SIGALRM, lambda *a: rang.append(1))
                    signal.setitimer(signal.ITIMER_REAL, 600)
                if waiting_in == "alarm blocked":  # a timer's signal would never come here
                    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
                with pytest.raises(StoreBusy, match="nothing was written"):
                    write()
            assert not store.conn.in_transaction
            assert store.events(sid, "chain") == []  # the holder has not committed either
            if waiting_in == "alarm taken":  # the application's alarm was left as it was
                assert 0 < signal.getitimer(signal.ITIMER_REAL)[0] <= 600 and rang == []
            else:  # and the queue leaves no alarm of its own behind
                assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
                assert signal.getsignal(signal.SIGALRM) is signal.SIG_DFL
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})
        signal.signal(signal.SIGALRM, signal.SIG_DFL)
        os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=30)
    # a helper thread still waiting behind the holder gets the turn the writer left, and
    # lets it go
    wait_until_queue_is_free(path)
    with Store(path) as store:  # the next write goes through at once
        store.append(sid, [Event("reflect", "s0", "student", "after", "", "chain", 1,
                                 {"text": "after"})])
        assert [e.data["text"] for e in store.events(sid, "chain")] == ["after"]


def test_an_interrupted_wait_in_the_write_queue_leaves_no_lock_behind(tmp_path):
    path = str(tmp_path / "interrupted.db")
    sid = next(iter(set_up(path, 1).values()))
    ready = CTX.Event()
    child = CTX.Process(target=hold_write_child, args=(path, sid, 2, ready))
    child.start()
    try:
        assert ready.wait(timeout=300), "the holder never started its write"
        with Store(path, timeout=0.05, busy_retries=0, queue_timeout=300) as store:
            # Ctrl-C while the writer waits its turn behind the holder
            threading.Timer(0.3, signal.pthread_kill,
                            (threading.main_thread().ident, signal.SIGINT)).start()
            with pytest.raises(KeyboardInterrupt):
                store.append(sid, [Event("reflect", "s0", "student", "waiter", "", "chain", 1,
                                         {"text": "interrupted"})])
            child.join(timeout=300)
            assert child.exitcode == 0
            # the turn the writer left comes after the holder's: it is let go at once
            wait_until_queue_is_free(path)
            store.append(sid, [Event("reflect", "s0", "student", "after", "", "chain", 1,
                                     {"text": "after"})])
            assert [e.data["text"] for e in store.events(sid, "chain")] == ["holder", "after"]
    finally:
        child.join(timeout=300)
    assert queue_is_free(path)
