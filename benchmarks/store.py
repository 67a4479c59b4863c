"""Store benchmark (DESIGN section 12): events appended by 40 processes at once through the
classroom service, vs raw sqlite3 inserts of the same rows by 40 processes.

Both sides run in this one invocation on the same machine:

* service: 40 processes, each logged in as its own student, play a quest through
  ``StudentSession`` (complete a chain of steps, then reflect) until it has appended
  EVENTS events. Every action checks the action on the cached progress, works out the new
  progress and its changed rows, then runs one ``BEGIN IMMEDIATE`` transaction
  (``store.record``) that appends the events only if the student's log still ends where it
  was read and the session still holds (the first action reads the session; later ones
  check it in this insert), and writes the changed progress rows.
* raw: 40 processes, each with its own sqlite3 connection (WAL, synchronous=NORMAL, the
  same busy timeout), insert exactly the event rows the service produced, one INSERT
  per transaction, into a fresh database with the same schema.

* raw, taking turns (SQLite): the raw side again, each transaction waiting its turn in the
  store's write queue as the service's do. The raw side's processes insert with no work
  between their rows, so one that has just committed takes the lock again with a warm page
  cache while the others sleep in SQLite's busy handler; writers that take turns start
  every transaction after another process's, and SQLite reads its pages again.
* floor (SQLite): the statements the store sent for each student (recorded beforehand, one
  student at a time, untimed) sent again by 40 processes through raw sqlite3 with the
  store's pragmas and write queue, and no service: ``BEGIN IMMEDIATE``, the conditional
  event insert, the reflection or progress rows, ``COMMIT`` (and the session read of a
  student's first action). It is what
  the service would reach if its Python took no time, so service/floor is the cost of
  the service's Python and floor/raw the cost of its statements.

The figure compared is events appended per second (wall clock, from the moment all
processes start together to the moment the last one finishes). Timings are printed,
never asserted.

Beside the rates it prints the CPU each side spends per event (the clients' and, for
PostgreSQL, the server's: the postmaster and its children, read from /proc) and the CPU an
event may cost for the service to reach half the raw rate on this machine's cores,
``cores / (0.5 x raw events/s)``: a side that spends more than that cannot reach the target
here however its writers take turns. The CPU one action costs with nobody else writing
(one process, warm caches) is printed with the statements per action.

The same two sides then run against PostgreSQL (a throw-away server started here from
Debian's binaries, fsync on, on a Unix socket): the service through the PostgreSQL store,
and raw psycopg inserts (one autocommitted INSERT per event, 40 connections), and the
two backends are printed side by side.

Each process appends 1,000 events by default: with 200 (8,000 in all) the raw side was over
in about a second, mostly the start when 40 processes meet SQLite's busy handler at once,
and its rate swung between 5,100 and 12,300 events/s from run to run; with 1,000 it runs
long enough to reach its steady rate (about 16,000 events/s on two cores).

``--runs N`` repeats the whole measurement N times (the target is judged over five runs)
and prints every run, then the medians, both backends side by side.

Run: ``.venv/bin/python benchmarks/store.py [--processes 40] [--events 1000]
[--backend sqlite|postgresql|both] [--runs 5]``
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
import traceback
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from argon2 import PasswordHasher  # noqa: E402

from questengine import loads_quest  # noqa: E402
from questengine.classroom import Classroom  # noqa: E402
from questengine.store import is_postgres, open_store  # noqa: E402


CTX = mp.get_context("fork")
CODE = "OWL-0040"
PIN = "2468"
STORIES = 20
TIMEOUT = 10.0  # the store's default busy timeout, used by both sides


def chain_quest(n: int = STORIES) -> str:
    nodes = "\n".join(f"  - {{id: s{i}, kind: story, title: Step {i}, xp: 1}}" for i in range(n))
    edges = "\n".join(f"  - [s{i}, s{i + 1}]" for i in range(n - 1))
    return (f"id: chain\ntitle: Chain\nnodes:\n{nodes}\n"
            f"  - {{id: end, kind: end, title: End, rewards: {{xp: 10}}}}\n"
            f"edges:\n{edges}\n  - [s{n - 1}, end]\n")


def cheap_hasher() -> PasswordHasher:
    # logins are outside the timed part; a cheap hasher only keeps the set-up short
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def clock() -> datetime:
    return datetime.now(timezone.utc)


def set_up(path: str, students: int) -> dict[str, int]:
    c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
    c.add_teacher("t@school.org", "Tess", "correct horse")
    c.create_class("t@school.org", "Class", CODE)
    t = c.login_teacher("t@school.org", "correct horse")
    t.publish(loads_quest(chain_quest()))
    t.assign("chain", CODE)
    ids = {f"Student {i:02d}": t.add_student(CODE, f"Student {i:02d}", PIN).student_id
           for i in range(students)}
    c.store.close()
    return ids


def _cpu() -> tuple[float, float]:
    """This process's CPU seconds so far: (user, system), all its threads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def _cpu_since(start: tuple[float, float]) -> tuple[float, float]:
    now = _cpu()
    return now[0] - start[0], now[1] - start[1]


def server_cpu(pid: int | None) -> float:
    """CPU seconds a PostgreSQL server has used so far: the postmaster, its live children
    (backends, WAL writer, checkpointer...) and the children it has reaped (a backend ends
    when its client disconnects). 0 when it cannot be read."""
    if pid is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")

    def fields(p):  # utime, stime, cutime, cstime, after the command's parentheses
        stat = Path(f"/proc/{p}/stat").read_text()
        rest = stat[stat.rindex(")") + 2:].split()
        return int(rest[1]), [int(v) for v in rest[11:15]]  # ppid, times

    try:
        _, times = fields(pid)
        total = sum(times)
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit() and entry.name != str(pid):
                try:
                    ppid, child = fields(entry.name)
                except (OSError, ValueError, IndexError):
                    continue
                if ppid == pid:
                    total += child[0] + child[1]
        return total / tick
    except OSError:
        return 0.0


# --- service side ----------------------------------------------------------------------------


def service_child(path, name, target, barrier, results):
    errors, appended, actions, lock_errors = [], 0, 0, 0
    try:
        c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
        session = c.login_student(CODE, name, PIN)
        progress = session.progress("chain")
        barrier.wait(timeout=300)
        cpu = _cpu()
        while progress.events < target:
            try:
                progress = next_action(session, progress)()
                actions += 1
            except Exception as err:
                if "locked" in str(err) or "busy" in str(err):
                    lock_errors += 1
                errors.append(f"{type(err).__name__}: {err}")
                if len(errors) > 50:
                    break
                progress = session.progress("chain")
        appended = progress.events
        finished, cpu = time.perf_counter(), _cpu_since(cpu)
        c.store.close()
    except BaseException as err:
        finished, cpu = time.perf_counter(), (0.0, 0.0)
        errors.append("".join(traceback.format_exception(err)))
    results.put((name, appended, actions, lock_errors, errors, finished, cpu))


def next_action(session, progress):
    for i in range(STORIES):
        if progress.state(f"s{i}") != "success":
            return lambda: session.complete("chain", f"s{i}")
    if progress.state("end") != "success":
        return lambda: session.complete("chain", "end")
    node = f"s{progress.events % STORIES}"
    return lambda: session.reflect("chain", node, f"reflection {progress.events}")


# --- raw side --------------------------------------------------------------------------------

INSERT = ("insert into events (student_id, quest_id, version, node, type, role, actor, at, data) "
          "values (?, ?, ?, ?, ?, ?, ?, ?, ?)")


def raw_connection(path: str) -> sqlite3.Connection:
    """A raw sqlite3 connection with the store's pragmas (WAL, synchronous=NORMAL, its busy
    timeout)."""
    conn = sqlite3.connect(path, timeout=TIMEOUT, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {int(TIMEOUT * 1000)}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def raw_child(path, name, rows, barrier, results, take_turns=False):
    """One INSERT per transaction; with ``take_turns``, each transaction waits its turn in
    the store's write queue as the service's do (the "raw, taking turns" side)."""
    from questengine.store.sqlite import WriteQueue

    errors, appended, lock_errors = [], 0, 0
    try:
        conn = raw_connection(path)
        write_queue = WriteQueue(path, TIMEOUT) if take_turns else None
        barrier.wait(timeout=300)
        cpu = _cpu()
        for row in rows:
            leave = write_queue.enter() if write_queue is not None else None
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute(INSERT, row)
                conn.execute("COMMIT")
                appended += 1
            except sqlite3.OperationalError as err:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if "locked" in str(err) or "busy" in str(err):
                    lock_errors += 1
                errors.append(f"{type(err).__name__}: {err}")
            finally:
                if leave is not None:
                    leave()
        finished, cpu = time.perf_counter(), _cpu_since(cpu)
        conn.close()
    except BaseException as err:
        finished, cpu = time.perf_counter(), (0.0, 0.0)
        errors.append("".join(traceback.format_exception(err)))
    results.put((name, appended, appended, lock_errors, errors, finished, cpu))


def raw_turns_child(path, name, rows, barrier, results):
    raw_child(path, name, rows, barrier, results, take_turns=True)


def raw_pg_child(address, name, rows, barrier, results):
    import psycopg

    errors, appended = [], 0
    try:
        conn = psycopg.connect(address, autocommit=True)
        barrier.wait(timeout=300)
        cpu = _cpu()
        insert = INSERT.replace("?", "%s")
        for row in rows:
            try:
                conn.execute(insert, row)  # autocommit: one transaction per event
                appended += 1
            except psycopg.Error as err:
                errors.append(f"{type(err).__name__}: {err}")
        finished, cpu = time.perf_counter(), _cpu_since(cpu)
        conn.close()
    except BaseException as err:
        finished, cpu = time.perf_counter(), (0.0, 0.0)
        errors.append("".join(traceback.format_exception(err)))
    results.put((name, appended, appended, 0, errors, finished, cpu))


# --- floor side: the service's own statements, sent without the service ----------------------


class Recorder:
    """Stands in for a store's sqlite3 connection and notes every statement sent through it."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn, self.statements = conn, []

    def execute(self, sql, params=()):
        self.statements.append((sql, tuple(params)))
        return self._conn.execute(sql, params)

    def executemany(self, sql, rows):
        rows = [tuple(r) for r in rows]
        self.statements.append((sql, rows))
        return self._conn.executemany(sql, rows)

    def __getattr__(self, name):
        return getattr(self._conn, name)


class StatementTimer:
    """Stands in for a store's sqlite3 connection and adds up the CPU its statements take."""

    def __init__(self, conn: sqlite3.Connection):
        self._conn, self.cpu = conn, 0.0

    def execute(self, sql, params=()):
        started = time.process_time()
        try:
            return self._conn.execute(sql, params)
        finally:
            self.cpu += time.process_time() - started

    def executemany(self, sql, rows):
        started = time.process_time()
        try:
            return self._conn.executemany(sql, rows)
        finally:
            self.cpu += time.process_time() - started

    def __getattr__(self, name):
        return getattr(self._conn, name)


def service_statements(path: str, template: str, per: int,
                       students: int) -> dict[str, list[tuple]]:
    """Each student plays the service side's plan alone, one after the other, untimed; the
    statements the store sent for them, in order, per student name. ``template`` gets a
    copy of the database as it was before the first action (the students logged in), for
    the floor side to replay into."""
    ids = set_up(path, students)
    c = Classroom(path, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
    sessions = {name: c.login_student(CODE, name, PIN) for name in ids}
    copy = sqlite3.connect(template)
    c.store.conn.backup(copy)
    copy.close()
    by_name = {}
    for name, session in sessions.items():
        progress = session.progress("chain")
        recorder = c.store.conn = Recorder(c.store.conn)
        while progress.events < per:
            progress = next_action(session, progress)()
        c.store.conn = recorder._conn
        by_name[name] = recorder.statements
    c.store.close()
    return by_name


def floor_child(path, name, statements, barrier, results):
    """Sends one student's recorded statements through raw sqlite3 with the store's pragmas
    and its write queue (taken at BEGIN IMMEDIATE, let go after COMMIT): what the service
    would cost if its Python took no time. A conditional event insert waits on this
    student's own last event id (ids differ from the recording's); a grant it checks holds."""
    from questengine.rewards import level_for
    from questengine.store.sqlite import SQLiteStore, WriteQueue

    guarded, plain = SQLiteStore._EVENT_INSERT_AFTER, SQLiteStore._EVENT_INSERT
    errors, appended, transactions, last = [], 0, 0, 0
    try:
        conn = raw_connection(path)
        conn.create_function("qe_level", 1, level_for, deterministic=True)
        write_queue, leave = WriteQueue(path, TIMEOUT), None
        barrier.wait(timeout=300)
        cpu = _cpu()
        for sql, params in statements:
            if sql == "BEGIN IMMEDIATE":
                leave = write_queue.enter()
                conn.execute(sql)
            elif sql == "COMMIT":
                conn.execute(sql)
                transactions += 1
                if leave is not None:
                    leave()
                leave = None
            elif isinstance(params, list):
                conn.executemany(sql, params)
            else:
                conditional = sql.startswith(guarded)
                if conditional:  # the last id it waits for comes after the row
                    params = (*params[:11], last, *params[12:])
                cursor = conn.execute(sql, params)
                if (conditional or sql == plain) and cursor.rowcount == 1:
                    last, appended = cursor.lastrowid, appended + 1
                else:
                    cursor.fetchall()
        finished, cpu = time.perf_counter(), _cpu_since(cpu)
        conn.close()
    except BaseException as err:
        finished, cpu = time.perf_counter(), (0.0, 0.0)
        errors.append("".join(traceback.format_exception(err)))
    results.put((name, appended, transactions, 0, errors, finished, cpu))


# --- running -----------------------------------------------------------------------------------


def run(target, argsets: list[tuple], server_pid: int | None = None) -> dict:
    """Start one process per argset, release them together, time until the last one ends
    (with ``server_pid``, also the CPU the PostgreSQL server used meanwhile)."""
    n = len(argsets)
    barrier = CTX.Barrier(n + 1)
    results = CTX.Queue()
    procs = [CTX.Process(target=target, args=(*a, barrier, results)) for a in argsets]
    for p in procs:
        p.start()
    barrier.wait(timeout=300)
    server_before = server_cpu(server_pid)
    started = time.perf_counter()
    reports = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    time.sleep(0.5 if server_pid else 0)  # the closed connections' backends end and are reaped
    ended = max(r[5] for r in reports)
    return {
        "seconds": ended - started,
        "appended": sum(r[1] for r in reports),
        "transactions": sum(r[2] for r in reports),
        "lock_errors": sum(r[3] for r in reports),
        "errors": [e for r in reports for e in r[4]],
        "crashed": sum(1 for p in procs if p.exitcode != 0),
        # CPU seconds of the clients (not the server's), user and system
        "user": sum(r[6][0] for r in reports),
        "sys": sum(r[6][1] for r in reports),
        "cpu": sum(r[6][0] + r[6][1] for r in reports),
        "server_cpu": server_cpu(server_pid) - server_before if server_pid else 0.0,
    }


def count_events(path: str) -> int:
    if is_postgres(path):
        with open_store(path) as store:
            return store.count_rows("events")
    conn = sqlite3.connect(path)
    try:
        return conn.execute("select count(*) from events").fetchone()[0]
    finally:
        conn.close()


def integrity(path: str) -> str:
    if is_postgres(path):
        return "n/a (PostgreSQL)"
    conn = sqlite3.connect(path)
    try:
        return conn.execute("pragma integrity_check").fetchone()[0]
    finally:
        conn.close()


def report(label: str, r: dict, expected: int, path: str) -> float:
    stored = count_events(path)
    rate = r["appended"] / r["seconds"] if r["seconds"] > 0 else float("nan")
    print(f"{label}: {r['appended']:,} events in {r['seconds']:.2f} s = {rate:,.0f} events/s "
          f"({r['transactions']:,} transactions, "
          f"{r['transactions'] / r['seconds']:,.0f} transactions/s; clients' CPU "
          f"{r['cpu'] / max(1, r['transactions']) * 1000:.2f} ms per transaction = user "
          f"{r['user'] / max(1, r['transactions']) * 1000:.2f} + sys "
          f"{r['sys'] / max(1, r['transactions']) * 1000:.2f}, "
          f"{r['cpu'] / r['seconds']:.1f} cores busy"
          + (f"; server's CPU {r['server_cpu'] / max(1, r['transactions']) * 1000:.2f} ms per "
             f"transaction, {r['server_cpu'] / r['seconds']:.1f} cores busy"
             if r["server_cpu"] else "") + ")")
    print(f"{label}: lost rows {expected - stored} (expected {expected:,}, stored {stored:,}); "
          f"lock errors {r['lock_errors']}; other errors {len(r['errors']) - r['lock_errors']}; "
          f"crashed processes {r['crashed']}; integrity_check {integrity(path)}")
    for e in r["errors"][:3]:
        print(f"{label}:   error: {e.strip().splitlines()[-1]}")
    return rate


def event_rows(path: str, ids: dict[str, int]) -> dict[int, list[tuple]]:
    """The event rows the service wrote, per student, in order."""
    by_student: dict[int, list[tuple]] = {sid: [] for sid in ids.values()}
    with open_store(path) as store:
        for row in store._all("select student_id, quest_id, version, node, type, role, actor, "
                              "at, data from events order by id"):
            by_student[row[0]].append(tuple(row))
    return by_student


def per_event(r: dict) -> float:
    """CPU ms per event appended: the clients' and (PostgreSQL) the server's."""
    return (r["cpu"] + r["server_cpu"]) / max(1, r["appended"]) * 1000


def measure(service_db: str, raw_db: str, n: int, per: int, raw_target, label: str,
            floor: tuple[str, dict] | None = None, server_pid: int | None = None) -> dict:
    """One run: the service side, then the raw side; with ``floor`` = (template database,
    statements per student) the floor side too, into a copy of the template; with
    ``server_pid`` the PostgreSQL server's CPU is measured too."""
    ids = set_up(service_db, n)
    expected = n * per
    service = run(service_child, [(service_db, name, per) for name in ids], server_pid)
    set_up(raw_db, n)
    by_student = event_rows(service_db, ids)
    raw = run(raw_target, [(raw_db, name, by_student[ids[name]]) for name in ids], server_pid)
    floor_run = turns = None
    if floor is not None:  # SQLite: the raw rows again, writers taking turns
        turns_db = os.path.join(os.path.dirname(raw_db), "turns.db")
        set_up(turns_db, n)
        turns = run(raw_turns_child, [(turns_db, name, by_student[ids[name]]) for name in ids])
        floor_db = os.path.join(os.path.dirname(raw_db), "floor.db")
        source, target = sqlite3.connect(floor[0]), sqlite3.connect(floor_db)
        source.backup(target)
        source.close(), target.close()
        floor_run = run(floor_child, [(floor_db, name, floor[1][name]) for name in ids])
    print()
    service_rate = report(f"{label} service", service, expected, service_db)
    raw_rate = report(f"{label} raw", raw, sum(len(v) for v in by_student.values()), raw_db)
    turns_rate = float("nan")
    if turns is not None:
        turns_rate = report(f"{label} raw, taking turns in the write queue", turns,
                            sum(len(v) for v in by_student.values()), turns_db)
    floor_rate = float("nan")
    if floor_run is not None:
        floor_rate = report(f"{label} floor (the service's statements, no service)", floor_run,
                            expected, floor_db)
    ratio = service_rate / raw_rate if raw_rate else float("nan")
    return {"service": service_rate, "raw": raw_rate, "ratio": ratio,
            "floor": floor_rate, "floor_ratio": floor_rate / raw_rate if raw_rate else float("nan"),
            "cpu_floor": (floor_run["cpu"] / max(1, floor_run["transactions"]) * 1000
                          if floor_run else float("nan")),
            "lost": expected - count_events(service_db),
            "ms_service": service["seconds"] / max(1, service["transactions"]) * 1000,
            "ms_raw": raw["seconds"] / max(1, raw["transactions"]) * 1000,
            "cpu_service": service["cpu"] / max(1, service["transactions"]) * 1000,
            "cpu_raw": raw["cpu"] / max(1, raw["transactions"]) * 1000,
            "user_service": service["user"] / max(1, service["transactions"]) * 1000,
            "sys_service": service["sys"] / max(1, service["transactions"]) * 1000,
            "user_raw": raw["user"] / max(1, raw["transactions"]) * 1000,
            "sys_raw": raw["sys"] / max(1, raw["transactions"]) * 1000,
            "server_service": service["server_cpu"] / max(1, service["transactions"]) * 1000,
            "server_raw": raw["server_cpu"] / max(1, raw["transactions"]) * 1000,
            # the CPU an event may cost, clients and server together, for the service to
            # reach half the raw rate on this machine's cores (if no core ever sat idle)
            "budget": (os.cpu_count() or 1) / (0.5 * raw_rate) * 1000 if raw_rate else float("nan"),
            "event_service": per_event(service), "event_raw": per_event(raw),
            "event_floor": per_event(floor_run) if floor_run else float("nan"),
            "turns": turns_rate, "turns_ratio": turns_rate / raw_rate if raw_rate else float("nan"),
            "event_turns": per_event(turns) if turns else float("nan"),
            "per_tx": service["appended"] / max(1, service["transactions"])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=40)
    ap.add_argument("--events", type=int, default=1000, help="events per process")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    ap.add_argument("--runs", type=int, default=1, help="repeat the measurement (report medians)")
    args = ap.parse_args()
    n, per = args.processes, args.events
    print(f"store benchmark: {n} processes x {per} events, {os.cpu_count()} CPUs, "
          f"SQLite {sqlite3.sqlite_version}, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.1f}")
    runs: dict[str, list[dict]] = {}
    with tempfile.TemporaryDirectory(prefix="qe-bench-") as tmp:
        server = None
        if args.backend in ("postgresql", "both"):
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
            from pgserver import PGServer

            server = PGServer(fsync=True).start()
            print(f"PostgreSQL: {server.bin.parent.name}, fsync on, Unix socket")
        try:
            floor = None
            if args.backend in ("sqlite", "both"):
                template = os.path.join(tmp, "floor-template.db")
                floor = (template, service_statements(os.path.join(tmp, "recorded.db"),
                                                      template, per, n))
            for i in range(args.runs):
                if args.backend in ("sqlite", "both"):
                    folder = os.path.join(tmp, f"run{i}")
                    os.makedirs(folder)
                    runs.setdefault("SQLite", []).append(measure(
                        os.path.join(folder, "service.db"), os.path.join(folder, "raw.db"), n,
                        per, raw_child, "sqlite", floor))
                if server is not None:
                    runs.setdefault("PostgreSQL", []).append(measure(
                        server.fresh_address(), server.fresh_address(), n, per, raw_pg_child,
                        "postgresql", server_pid=server.server_pid()))
                print(f"run {i + 1}: " + "; ".join(
                    f"{name} {r[-1]['service']:,.0f} vs {r[-1]['raw']:,.0f} events/s = "
                    f"{r[-1]['ratio']:.2f}x, {r[-1]['lost']} lost" for name, r in runs.items())
                    + f" (load average {os.getloadavg()[0]:.1f})")
            if args.backend in ("sqlite", "both"):
                busy_gives_up(tmp)
                print("sqlite: one student alone: "
                      + statements_per_action(os.path.join(tmp, "alone.db")))
            if server is not None:
                print("postgresql: one student alone: "
                      + statements_per_action(server.fresh_address()))
        finally:
            if server is not None:
                server.stop()
    results = {name: {key: statistics.median(r[key] for r in rs) for key in rs[0]}
               for name, rs in runs.items()}
    print()
    if args.runs > 1:
        print("every run (ratio service/raw):")
        for name, rs in runs.items():
            print(f"  {name:12}" + "".join(f"{r['ratio']:>8.2f}x" for r in rs))
        print(f"medians of {args.runs} runs:")
    print(f"{'':24}" + "".join(f"{k:>14}" for k in results))
    rows = [("service events/s", "service", "{:,.0f}"), ("raw events/s", "raw", "{:,.0f}"),
            ("ratio service/raw", "ratio", "{:.2f}x"),
            ("raw, taking turns", "turns", "{:,.0f}"),
            ("ratio turns/raw", "turns_ratio", "{:.2f}x"),
            ("floor events/s", "floor", "{:,.0f}"), ("ratio floor/raw", "floor_ratio", "{:.2f}x"),
            ("CPU ms per floor tx", "cpu_floor", "{:.2f}"),
            ("lost events", "lost", "{:.0f}"),
            ("ms per service tx", "ms_service", "{:.2f}"), ("ms per raw tx", "ms_raw", "{:.2f}"),
            ("CPU ms per service tx", "cpu_service", "{:.2f}"),
            ("  user", "user_service", "{:.2f}"), ("  sys", "sys_service", "{:.2f}"),
            ("CPU ms per raw tx", "cpu_raw", "{:.2f}"),
            ("  user", "user_raw", "{:.2f}"), ("  sys", "sys_raw", "{:.2f}"),
            ("server CPU ms, service tx", "server_service", "{:.2f}"),
            ("server CPU ms, raw tx", "server_raw", "{:.2f}"),
            ("events per service tx", "per_tx", "{:.2f}"),
            ("CPU ms per event: raw", "event_raw", "{:.3f}"),
            ("  raw, taking turns", "event_turns", "{:.3f}"),
            ("  floor", "event_floor", "{:.3f}"),
            ("  service", "event_service", "{:.3f}"),
            ("  budget at 0.5x raw", "budget", "{:.3f}")]
    for title, key, fmt in rows:
        print(f"{title:24}" + "".join(f"{fmt.format(r[key]):>14}" for r in results.values()))
    for name, rs in runs.items():
        ratios = [r["ratio"] for r in rs]
        lost = sum(r["lost"] for r in rs)
        print(f"{name}: ratio {min(ratios):.2f}-{max(ratios):.2f}x over {len(rs)} run(s) "
              f"(target >= 0.5x) -> {'meets' if min(ratios) >= 0.5 else 'BELOW'} the target; "
              f"{lost} lost")
        r = results[name]
        print(f"{name}: at half the raw rate, {os.cpu_count()} cores give an event "
              f"{r['budget']:.3f} ms of CPU (clients and server, no core ever idle); the "
              f"service's events take {r['event_service']:.3f} ms"
              + (f", the floor's (its statements alone, no Python of the service) "
                 f"{r['event_floor']:.3f} ms" if r["event_floor"] == r["event_floor"] else ""))


def statements_per_action(address: str, actions: int = 200) -> str:
    """One student alone plays ``actions`` actions of the benchmark's plan through the service:
    the statements sent per action and, for PostgreSQL, the round trips (a statement outside
    a pipeline, a pipeline's sync or its end); then as many again, for the CPU one action
    takes with nobody else writing."""
    import collections

    set_up(address, 1)
    c = Classroom(address, clock=clock, hasher=cheap_hasher(), reflections_a_minute=None)
    session = c.login_student(CODE, "Student 00", PIN)
    progress = session.progress("chain")
    for _ in range(30):  # past the first steps: the benchmark's mix is mostly later actions
        progress = next_action(session, progress)()
    kinds: collections.Counter = collections.Counter()
    trips = [0]
    if is_postgres(address):
        import psycopg
        from psycopg.pq import PipelineStatus

        execute, sync, leave = psycopg.Cursor.execute, psycopg.Pipeline.sync, \
            psycopg.Pipeline.__exit__

        def counted_execute(cur, query, *args, **kwargs):
            kinds[str(query).split()[0].lower()] += 1
            if cur.connection.info.pipeline_status == PipelineStatus.OFF:
                trips[0] += 1  # outside a pipeline every statement waits for its answer
            return execute(cur, query, *args, **kwargs)

        def counted_sync(pipeline):
            trips[0] += 1
            return sync(pipeline)

        def counted_leave(pipeline, *exc):
            trips[0] += 1
            return leave(pipeline, *exc)

        psycopg.Cursor.execute, psycopg.Pipeline.sync = counted_execute, counted_sync
        psycopg.Pipeline.__exit__ = counted_leave
        try:
            for _ in range(actions):
                progress = next_action(session, progress)()
        finally:
            psycopg.Cursor.execute, psycopg.Pipeline.sync = execute, sync
            psycopg.Pipeline.__exit__ = leave
    else:
        c.store.conn.set_trace_callback(lambda sql: kinds.update([sql.split()[0].lower()]))
        for _ in range(actions):
            progress = next_action(session, progress)()
        c.store.conn.set_trace_callback(None)
    timer = None if is_postgres(address) else c.store.conn
    if timer is not None:  # SQLite: the CPU spent inside the statements is told apart
        timer = c.store.conn = StatementTimer(timer)
    cpu = time.process_time()  # the same actions again, not traced: CPU alone, warm caches
    for _ in range(actions):
        progress = next_action(session, progress)()
    cpu = (time.process_time() - cpu) / actions * 1000
    if timer is not None:
        c.store.conn = timer._conn
    c.store.close()
    text = (f"{cpu:.3f} ms of CPU per action (this process"
            + (", not the server" if timer is None else
               f"; {timer.cpu / actions * 1000:.3f} of it in SQLite's statements, "
               f"{cpu - timer.cpu / actions * 1000:.3f} in the service's Python") + "); "
            f"{sum(kinds.values()) / actions:.2f} statements per action ("
            + ", ".join(f"{k} {n / actions:.2f}" for k, n in kinds.most_common()) + ")")
    if is_postgres(address):
        text += f"; {trips[0] / actions:.2f} round trips per action (raw: 1 per event)"
    return text


def busy_gives_up(tmp: str, timeout: float = 0.05, retries: int = 2) -> None:
    """How long a write waits before StoreBusy when another connection holds the write lock,
    beside its budget (tries x busy timeout; moved here from tests/test_store.py)."""
    from questengine.store import Store, StoreBusy

    path = os.path.join(tmp, "busy.db")
    store = Store(path, timeout=timeout, busy_retries=retries, backoff=0.01)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    started = time.perf_counter()
    try:
        with store.write():
            pass
        outcome = "no StoreBusy (?)"
    except StoreBusy:
        outcome = "StoreBusy"
    elapsed = time.perf_counter() - started
    holder.execute("ROLLBACK")
    holder.close()
    store.close()
    budget = (retries + 1) * timeout
    print(f"write against a held lock: {outcome} after {elapsed * 1000:.0f} ms; budget "
          f"{retries + 1} tries x {timeout * 1000:.0f} ms = {budget * 1000:.0f} ms "
          f"(ratio {elapsed / budget:.1f}x)")


if __name__ == "__main__":
    main()
