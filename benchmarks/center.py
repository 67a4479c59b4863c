"""Progress-center benchmark (DESIGN section 12): the class overview over 10,000 students x
200 nodes (about 2 million events), side by side with one raw SQL GROUP BY on ``progress``,
on SQLite and on PostgreSQL in one run, with the other center reads (grid, struggling,
mastery matrix) and, on SQLite, loading the events into pandas; then the progress page's
time to interactive for a class of 40 in Chromium.

Everything runs in this one invocation, on databases built in a tmp dir:

* plan (once): a 200-node quest (10 sections of 20 nodes: story, modality choice, tasks,
  quizzes, a work-for-review task, a mastery gate with a practice node on its fail path and a
  retry edge back). Each of 10,000 students gets a play pattern (how far along the quest,
  which gates they failed once, where they stand now: open, started, waiting for review or
  returned). Each distinct pattern's events (open, choose, submit, grade, review, complete,
  with realistic ``data`` JSON) are replayed once by the engine (a pure function): the rows
  the store would have materialized from them (``progress`` for all 200 nodes,
  ``quest_status``, ``mastery``, ``submissions``, ``reviews``) come from that replay.
* build (per backend): the teacher, the class and the quest go in through the classroom
  service; every student's rows, with the student's own ids and time stamps, go in through
  the store's bulk path, ``store.bulk_load`` + ``store.load_table`` (the one ``questengine
  migrate`` uses): executemany in one transaction on SQLite, ``COPY`` on PostgreSQL, the
  secondary indexes dropped at the start and built again from their own definitions at the
  end, then ``ANALYZE`` (autovacuum would gather the statistics in production). The rows are
  streamed from the plan, never held in memory.
* check (per backend): a sample of 40 students is replayed from the database (the engine's
  replay is the oracle) and must equal both their progress rows and the plan's; the store's
  (node, state) counts must equal the ones counted from the plan alone.
* (a) the center's reads through the service (``TeacherSession.class_overview``, ``grid``,
  ``struggling``, ``mastery``: what the page calls); (b) ``select node, state, count(*) from
  progress where quest_id = ? group by node, state`` on a raw connection (sqlite3 / psycopg).
  On SQLite also (c) pandas: ``pd.read_sql`` of the quest's events, then (c1) counts by node
  and type, and (c2) each student's last state-changing event per node mapped to a state
  (complete -> its outcome, review 'return' -> returned, submit of work -> pending_review,
  open/choose/submit of answers -> in_progress) and counted by node and state; EXPLAIN QUERY
  PLAN of the overview and the raw query; an alternative form of the overview; the overview
  on the index the schema had before migration 5 (``progress(quest_id, node, state)``).
  On PostgreSQL: EXPLAIN ANALYZE of the overview's statements and the grid's.
  Medians of --runs (struggling and mastery: of at most 3); ratios are printed, never
  asserted.
* Page: the progress page (``CenterPage`` in Voilà, served by ``VoilaServer``) over a tmp
  database of 40 students; time from navigation to the class map's nodes drawn after the
  teacher logs in, median of 5 fresh browser contexts.

PostgreSQL is a throw-away server (Debian's binaries, ``tests/pgserver.py``: fsync on, a
Unix socket in a tmp folder, stopped by its pid at the end).

Run: ``.venv/bin/python benchmarks/center.py [--students 2000 | --full] [--runs 5]
[--no-page] [--no-postgres]`` (``--full``: the target's 10,000 students)
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

from questengine.classroom import Classroom  # noqa: E402
from questengine.engine import Event, replay  # noqa: E402
from questengine.loader import loads_quest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
QUEST_ID = "district-math"
CODE = "DST-0001"
TEACHER = ("bench@district.org", "Ms. Bench", "bench-password")
SECTIONS = 10
START = datetime(2026, 9, 1, 8, 0, tzinfo=timezone.utc)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RAW = "select node, state, count(*) from progress where quest_id = ? group by node, state"


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


# --- the quest ------------------------------------------------------------------------------------

# one section: 20 nodes; the gate's fail path goes to the practice node, which retries the gate
SECTION = [("story", "intro"), ("choice", "learn"), ("task", "try"), ("quiz", "check1"),
           ("task", "sketch"), ("review", "poster"), ("task", "explain"), ("quiz", "check2"),
           ("task", "game"), ("story", "middle"), ("task", "build"), ("quiz", "check3"),
           ("task", "journal"), ("task", "pairs"), ("task", "model"), ("quiz", "check4"),
           ("task", "share"), ("story", "before-gate"), ("gate", "gate"), ("task", "practice")]
QUESTION = {"id": "q1", "type": "choice", "prompt": "Which equals 1/2?",
            "options": ["2/4", "2/3", "3/4"], "answer": "2/4"}
QUESTION2 = {"id": "q2", "type": "number", "prompt": "1/4 + 1/4 as a decimal", "answer": 0.5,
             "tolerance": 0.001}


def quest_data() -> dict:
    comps = [{"id": f"skill-{s}", "name": f"Skill {s + 1}"} for s in range(SECTIONS)]
    nodes, edges = [], []
    previous = None
    for s in range(SECTIONS):
        chain = []
        for kind, name in SECTION:
            nid = f"s{s}-{name}"
            title = f"{name.replace('-', ' ').title()} {s + 1}"
            if kind == "story":
                node = {"id": nid, "kind": "story", "title": title, "text": "Read this.", "xp": 5}
            elif kind == "choice":
                node = {"id": nid, "kind": "choice", "title": title, "xp": 10,
                        "competencies": [f"skill-{s}"],
                        "options": [{"id": "video", "modality": "video", "label": "Watch",
                                     "complete": "self"},
                                    {"id": "sheet", "modality": "worksheet", "label": "Worksheet",
                                     "complete": "self"},
                                    {"id": "song", "modality": "song", "label": "Song",
                                     "complete": "self"}]}
            elif kind == "task":
                node = {"id": nid, "kind": "task", "title": title, "complete": "self", "xp": 10}
            elif kind == "review":
                node = {"id": nid, "kind": "task", "title": title, "complete": "review", "xp": 20}
            elif kind == "quiz":
                node = {"id": nid, "kind": "quiz", "title": title, "pass_score": 0.5, "xp": 10,
                        "competencies": [f"skill-{s}"], "questions": [QUESTION, QUESTION2]}
            else:  # gate
                node = {"id": nid, "kind": "gate", "title": title, "threshold": 0.8,
                        "max_attempts": 3, "competencies": [f"skill-{s}"], "estimator": "score",
                        "questions": [QUESTION, QUESTION2]}
            nodes.append(node)
            chain.append(nid)
        gate, practice = chain[-2], chain[-1]
        main = chain[:-1]
        if previous is not None:
            edges.append({"from": previous, "to": main[0], "when": "success"})
        edges += [[a, b] for a, b in zip(main, main[1:])]
        edges += [{"from": gate, "to": practice, "when": "fail"},
                  {"from": practice, "to": gate, "when": "retry"}]
        previous = gate
    nodes.append({"id": "finish", "kind": "end", "title": "The end",
                  "rewards": {"xp": 100, "badge": "district-star"}})
    # 10 x 20 + 1 = 201: drop the last section's closing story to keep 200 nodes
    drop = f"s{SECTIONS - 1}-before-gate"
    nodes = [n for n in nodes if n["id"] != drop]
    fixed = []
    for e in edges:
        a, b = (e["from"], e["to"]) if isinstance(e, dict) else e
        if b == drop:
            fixed.append([a, f"s{SECTIONS - 1}-gate"])
        elif a == drop:
            continue
        else:
            fixed.append(e)
    fixed.append({"from": previous, "to": "finish", "when": "success"})
    return {"id": QUEST_ID, "title": "District math year", "version": 1, "competencies": comps,
            "nodes": nodes, "edges": fixed}


# --- play patterns ------------------------------------------------------------------------------


def pattern_events(G, order: list[str], done: int, fail_every: int, now_state: str,
                   rng: random.Random) -> list[tuple]:
    """Events (type, node, role, data) of a student who finished the first ``done`` nodes of
    the main path, failed every ``fail_every``-th gate once (0: never), and stands in
    ``now_state`` on the next node."""
    out = []

    def ev(kind, node, role="student", **data):
        out.append((kind, node, role, data))

    def finish(nid, attempt_ok=True):
        node = G.nodes[nid]["node"]
        kind = node.kind
        if kind == "choice":
            ev("open", nid)
            ev("choose", nid, option=rng.choice(["video", "sheet", "song"]))
            ev("complete", nid, outcome="success")
        elif kind in ("quiz", "gate"):
            ok = attempt_ok
            answers = {"q1": "2/4" if ok else "2/3", "q2": 0.5 if ok else 3}
            ev("open", nid)
            ev("submit", nid, answers=answers)
            data = {"score": 1.0 if ok else 0.0, "results": {"q1": ok, "q2": ok}}
            if kind == "gate":
                data["mastery"] = {c: data["score"] for c in node.competencies}
            ev("grade", nid, "system", **data)
            ev("complete", nid, "system", outcome="success" if ok else "fail")
        elif kind == "task" and node.complete == "review":
            ev("open", nid)
            ev("submit", nid, content="My poster: I drew 1/2 and 2/4 as the same bar.")
            ev("review", nid, "teacher", decision="approve", feedback="Clear and neat.")
            ev("complete", nid, "teacher", outcome="success")
        else:
            ev("open", nid)
            ev("complete", nid, outcome="success")

    gates = 0
    for nid in order[:done]:
        node = G.nodes[nid]["node"]
        if node.kind == "gate":
            gates += 1
            if fail_every and gates % fail_every == 0:
                finish(nid, attempt_ok=False)
                practice = next(m for m in G.succ[nid] if G.edges[nid, m]["when"] == "fail")
                finish(practice)  # the retry edge reopens the gate
        finish(nid)
    if done < len(order):
        nid = order[done]
        node = G.nodes[nid]["node"]
        if now_state in ("pending_review", "returned") and node.kind == "task" \
                and node.complete == "review":
            ev("open", nid)
            ev("submit", nid, content="First draft of my poster.")
            if now_state == "returned":
                ev("review", nid, "teacher", decision="return",
                   feedback="Label both bars, please.")
        elif now_state != "available":
            ev("open", nid)
            if node.kind == "choice":
                ev("choose", nid, option="video")
    return out


class Pattern:
    """One play pattern: its events (data already as JSON), the rows they materialize, and
    the submissions and reviews among its events (by their index in the pattern)."""

    def __init__(self, G, raw_events):
        events = [Event(t, n, r, "x", "", QUEST_ID, 1, d) for t, n, r, d in raw_events]
        p = replay(G, events)
        self.events = [(t, n, r, json.dumps(d, ensure_ascii=False)) for t, n, r, d in raw_events]
        self.rows = [(n, np.state, np.attempts, np.score, np.round, np.fails)
                     for n, np in p.nodes.items()]
        self.states = p.states()
        self.xp, self.level, self.complete = p.xp, p.level, int(p.complete)
        self.current, self.struggling = p.current, json.dumps(p.struggling)
        self.mastery = [(c, v, len(p.evidence.get(c, []))) for c, v in p.mastery.items()]
        # the store materializes a submission from a submit of work and a review row from a
        # review (which settles the latest submission's status)
        self.submissions: list[list] = []  # [event index, node, content, status]
        self.reviews: list[tuple] = []  # (event index, submission index, node, decision, feedback)
        for k, (t, n, _r, d) in enumerate(raw_events):
            if t == "submit" and "content" in d:
                self.submissions.append([k, n, d["content"], "pending"])
            elif t == "review":
                self.submissions[-1][3] = {"approve": "approved", "return": "returned",
                                           "fail": "failed"}[d["decision"]]
                self.reviews.append((k, len(self.submissions) - 1, n, d["decision"],
                                     d["feedback"]))


class District:
    """The district's data, planned once and loaded into each backend: the quest published
    through the classroom service, then every row through the store's bulk path
    (:meth:`~questengine.store._sql.SQLStore.bulk_load` and ``load_table``: executemany in
    one transaction on SQLite, ``COPY`` on PostgreSQL, secondary indexes built once at the
    end, ``ANALYZE`` after)."""

    TABLES = {
        "students": ["id", "opaque_id", "class_code", "name", "name_key", "pin_hash", "created"],
        "enrolments": ["student_id", "class_code", "enrolled"],
        "events": ["id", "student_id", "quest_id", "version", "node", "type", "role", "actor",
                   "at", "data"],
        "progress": ["student_id", "quest_id", "node", "state", "attempts", "score", "round",
                     "fails", "updated"],
        "quest_status": ["student_id", "quest_id", "version", "xp", "level", "complete",
                         "current", "struggling", "updated", "carried_xp", "last_active"],
        "mastery": ["student_id", "quest_id", "competency", "value", "evidence", "updated"],
        "submissions": ["id", "student_id", "quest_id", "node", "round", "content", "status",
                        "at", "event_id"],
        "reviews": ["id", "submission_id", "student_id", "quest_id", "node", "round",
                    "decision", "feedback", "teacher", "at"],
    }

    def __init__(self, students: int, seed: int = 11):
        t0 = time.perf_counter()
        rng = random.Random(seed)
        G = publish(Classroom(":memory:", hasher=cheap_hasher()))[1]
        assert len(G) == 200, len(G)
        # the main path: every node but the practice nodes, in map order
        order = [n for n in G.graph["order"] if not n.endswith("-practice")]
        self.patterns: dict[tuple, Pattern] = {}
        self.plan: list[tuple] = []
        for _ in range(students):
            done = min(len(order), int(rng.triangular(0, len(order), 55)))
            fail_every = rng.choice([0, 0, 1, 2, 3])
            now_state = rng.choice(["available", "in_progress", "in_progress", "pending_review",
                                    "returned"])
            key = (done, fail_every, now_state)
            if key not in self.patterns:
                self.patterns[key] = Pattern(G, pattern_events(G, order, done, fail_every,
                                                               now_state, random.Random(str(key))))
            self.plan.append(key)
        self.opaque = [f"{rng.getrandbits(64):016x}" for _ in range(students)]
        self.pin_hash = cheap_hasher().hash("0000")
        self.seconds = time.perf_counter() - t0
        longest = max(len(p.events) for p in self.patterns.values())
        self._hours = [timedelta(hours=k) for k in range(longest)]
        self._stamps: dict[int, list[str]] = {}

    def students(self) -> int:
        return len(self.plan)

    def expected_counts(self) -> dict[tuple[str, str], int]:
        """(node, state) -> students, computed from the plan alone (the oracle of the counts)."""
        counts: dict[tuple[str, str], int] = {}
        for key in self.plan:
            for node, state in self.patterns[key].states.items():
                counts[node, state] = counts.get((node, state), 0) + 1
        return counts

    def stamps(self, sid: int) -> list[str]:
        """Each event's time stamp for a student: their own minute, one hour per event."""
        minute = sid % 997
        if minute not in self._stamps:
            base = START + timedelta(minutes=minute)
            self._stamps[minute] = [(base + h).isoformat(timespec="microseconds")
                                    for h in self._hours]
        return self._stamps[minute]

    def rows(self, table: str):
        """The rows of one table, streamed (nothing is kept: each backend makes them again)."""
        created = START.isoformat()
        event_id = submission_id = review_id = 0
        for i, key in enumerate(self.plan):
            sid, p = i + 1, self.patterns[key]
            stamps = self.stamps(sid)
            last = stamps[max(0, len(p.events) - 1)]
            if table == "students":
                yield (sid, self.opaque[i], CODE, f"Student {sid:05d}", f"student {sid:05d}",
                       self.pin_hash, created)
            elif table == "enrolments":
                yield (sid, CODE, created)
            elif table == "events":
                student = f"student:{sid}"
                for k, (t, n, r, d) in enumerate(p.events):
                    actor = "engine" if r == "system" else \
                        "teacher:1" if r == "teacher" else student
                    yield (event_id + k + 1, sid, QUEST_ID, 1, n, t, r, actor, stamps[k], d)
            elif table == "progress":
                for row in p.rows:
                    yield (sid, QUEST_ID, *row, last)
            elif table == "quest_status":
                yield (sid, QUEST_ID, 1, p.xp, p.level, p.complete, p.current, p.struggling,
                       last, 0, last)
            elif table == "mastery":
                for comp, v, n in p.mastery:
                    yield (sid, QUEST_ID, comp, v, n, last)
            elif table == "submissions":
                for k, node, content, status in p.submissions:
                    submission_id += 1
                    yield (submission_id, sid, QUEST_ID, node, 1, content, status, stamps[k],
                           event_id + k + 1)
            elif table == "reviews":
                for k, s, node, decision, feedback in p.reviews:
                    review_id += 1
                    yield (review_id, submission_id + s + 1, sid, QUEST_ID, node, 1, decision,
                           feedback, "teacher:1", stamps[k])
                submission_id += len(p.submissions)
            event_id += len(p.events)


def publish(c: Classroom) -> tuple[int, object]:
    """The teacher, the class and the 200-node quest, through the classroom service."""
    owner = c.add_teacher(*TEACHER)
    c.create_class(TEACHER[0], "District grade 4", CODE)
    c.publish(loads_quest(json.dumps(quest_data()), "district-math.json"), by=owner)
    c.assign(QUEST_ID, CODE)
    return owner, c.graph(QUEST_ID)


def build(address, district: District) -> dict:
    """The district in an empty database at ``address``: published through the service, every
    student's rows through the store's bulk path. Returns timings and row counts."""
    t0 = time.perf_counter()
    c = Classroom(address, hasher=cheap_hasher())
    owner, _G = publish(c)
    assert owner == 1, owner  # the events name the teacher as teacher:1
    store = c.store
    seconds = {}
    with store.bulk_load(district.TABLES, analyze=False):
        for table, columns in district.TABLES.items():
            t = time.perf_counter()
            store.load_table(table, columns, district.rows(table))
            seconds[table] = time.perf_counter() - t
        t = time.perf_counter()
    seconds["indexes"] = time.perf_counter() - t  # built again at the end of bulk_load
    t = time.perf_counter()
    store.loaded()  # the planner's statistics (what bulk_load does unless told not to)
    seconds["analyze"] = time.perf_counter() - t
    counts = {t: store.count_rows(t) for t in
              ("events", "progress", "quest_status", "mastery", "submissions", "reviews")}
    store.close()
    return {"seconds": time.perf_counter() - t0, "tables": seconds, "counts": counts}


def consistency_check(address, district: District, sample: int = 40) -> tuple[int, int, bool]:
    """A sample of students replayed from the database (the engine's replay is the oracle of
    their progress rows), and the class's (node, state) counts in the store against the ones
    computed from the plan alone."""
    c = Classroom(address, hasher=cheap_hasher())
    G = c.graph(QUEST_ID)
    rng = random.Random(3)
    ok = 0
    for sid in rng.sample(range(1, district.students() + 1), sample):
        p = replay(G, c.store.events(sid, QUEST_ID))
        rows = dict(c.store.student_states(sid, QUEST_ID))
        ok += rows == p.states() == district.patterns[district.plan[sid - 1]].states
    counts = {(n, s): k for n, s, k in c.store.node_state_counts(CODE, QUEST_ID)}
    c.store.close()
    return ok, sample, counts == district.expected_counts()


# --- timing -------------------------------------------------------------------------------------


def median_time(fn, runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), result


def pandas_counts(conn) -> tuple[pd.Series, pd.DataFrame]:
    ev = pd.read_sql("select id, student_id, node, type, data from events where quest_id = ?",
                     conn, params=(QUEST_ID,))
    by_type = ev.groupby(["node", "type"]).size()
    changing = ev[ev["type"].isin(["open", "choose", "submit", "review", "complete"])]
    last = changing.sort_values("id").groupby(["student_id", "node"]).tail(1)
    state = pd.Series("in_progress", index=last.index)
    is_complete = last["type"] == "complete"
    state[is_complete] = "success"
    state[is_complete & last["data"].str.contains('"outcome": "fail"', regex=False)] = "fail"
    state[(last["type"] == "review") & last["data"].str.contains('"decision": "return"',
                                                                 regex=False)] = "returned"
    state[(last["type"] == "submit") & last["data"].str.startswith('{"content"')] = "pending_review"
    counts = last.assign(state=state).groupby(["node", "state"]).size().unstack(fill_value=0)
    return by_type, counts


def explain(conn, sql: str, params: tuple) -> list[str]:
    # a fresh statement each time: a cached EXPLAIN keeps the plan of the schema it was made on
    fresh = f" -- {time.perf_counter_ns()}"
    return [row[3] for row in conn.execute("explain query plan " + sql + fresh, params)]


def query_benchmark(db: Path, runs: int, students: int, extras: bool = True) -> dict:
    c = Classroom(db, hasher=cheap_hasher())
    G = c.graph(QUEST_ID)
    teacher = c.login_teacher(TEACHER[0], TEACHER[2])
    conn = c.store.conn  # the raw side only: the service reads through its store
    conn.execute(RAW, (QUEST_ID,)).fetchall()  # warm the page cache once for everyone

    result = service_timings(teacher, lambda: conn.execute(RAW, (QUEST_ID,)).fetchall(), runs)
    t_overview, overview = result["overview"], result["overview_rows"]
    t_grid, grid = result["grid"], result["grid_rows"]
    t_raw, raw = result["raw"], result["raw_rows"]
    if extras:  # pandas moves every event of the class: at most 3 runs
        t_pandas, (by_type, pcounts) = median_time(lambda: pandas_counts(conn), min(runs, 3))

    # the same figures three ways?
    raw_counts: dict[tuple[str, str], int] = {(n, s): k for n, s, k in raw}
    same = all(o.success == raw_counts.get((o.node, "success"), 0)
               and o.fail == raw_counts.get((o.node, "fail"), 0) for o in overview)
    cells = sum(len(v) for v in grid.cells.values())

    print(f"data: {students:,} students x {len(G)} nodes; "
          f"{sum(k for *_, k in raw):,} progress rows; {result['struggles']:,} struggles")
    print(f"(a) TeacherSession.class_overview  median {t_overview * 1000:8.1f} ms")
    print(f"(a) TeacherSession.grid            median {t_grid * 1000:8.1f} ms  ({cells:,} cells)")
    print(f"(b) raw GROUP BY on progress       median {t_raw * 1000:8.1f} ms")
    print(f"ratio overview / raw GROUP BY      {t_overview / t_raw:6.2f}x   (target <= 2x)")
    print(f"ratio grid / raw GROUP BY          {t_grid / t_raw:6.2f}x")
    print(f"overview success/fail counts equal to the raw GROUP BY on every node: {same}")
    if extras:
        agree = sum(int(pcounts.get("success", {}).get(o.node, 0)) == o.success
                    and int(pcounts.get("fail", {}).get(o.node, 0)) == o.fail for o in overview)
        print(f"(c) pandas read_sql + group        median {t_pandas * 1000:8.1f} ms  "
              f"({int(by_type.sum()):,} events)")
        print(f"ratio pandas / overview            {t_pandas / t_overview:6.2f}x   "
              f"(target > 1: overview faster than pandas)")
        print(f"pandas last-event success/fail counts equal to the overview on {agree} of "
              f"{len(G)} nodes (the event log alone cannot tell a closed practice node from a "
              f"passed one, nor 'available' from 'locked')")

    overview_sql = ("select p.node, p.state, count(*) from progress p join enrolments e on "
                    "e.student_id = p.student_id where e.class_code = ? and p.quest_id = ? "
                    "group by p.node, p.state")
    outsiders_sql = (  # students with rows for the quest who are not in the class (usually none)
        "select count(*) from quest_status q where q.quest_id = ? and not exists (select 1 from "
        "enrolments e where e.student_id = q.student_id and e.class_code = ?)")

    def raw_unless_outsiders():
        if conn.execute(outsiders_sql, (QUEST_ID, CODE)).fetchone()[0]:
            return sorted(conn.execute(overview_sql, (CODE, QUEST_ID)).fetchall())
        return sorted(conn.execute(RAW, (QUEST_ID,)).fetchall())

    reference = sorted(conn.execute(overview_sql, (CODE, QUEST_ID)).fetchall())
    if t_overview > 2 * t_raw:
        print("\nthe overview is slower than 2x the raw GROUP BY; query plans:")
    else:
        print("\nquery plans:")
    for line in explain(conn, overview_sql, (CODE, QUEST_ID)):
        print(f"  overview: {line}")
    for line in explain(conn, RAW, (QUEST_ID,)):
        print(f"  raw:      {line}")
    if not extras:
        c.store.close()
        return {**result, "raw": t_raw, "same": same}
    t_alt, alt = median_time(raw_unless_outsiders, min(runs, 3))
    print(f"  alternative (one check over quest_status that no student outside the class has "
          f"rows for the quest, then the raw GROUP BY; the join only when someone does): median "
          f"{t_alt * 1000:.1f} ms, {t_alt / t_raw:.2f}x raw, same counts: {alt == reference}")
    for line in explain(conn, outsiders_sql, (QUEST_ID, CODE)):
        print(f"    plan of the check: {line}")

    # the same query on the index the schema had before migration 5 (quest_id, node, state)
    new_index = [name for (name,) in conn.execute(
        "select name from sqlite_master where type = 'index' and tbl_name = 'progress'")
        if [r[2] for r in conn.execute(f"pragma index_info({name})")]
        == ["quest_id", "node", "state", "student_id"]]
    if new_index:
        conn.execute(f"drop index {new_index[0]}")
        conn.execute("create index if not exists idx_progress_quest_id_node_state on progress "
                     "(quest_id, node, state)")
        t, _ = side_by_side({"old": lambda: conn.execute(overview_sql, (CODE, QUEST_ID)).fetchall(),
                             "raw": lambda: conn.execute(RAW, (QUEST_ID,)).fetchall()},
                            min(runs, 3))
        t_old, t_old_raw = t["old"], t["raw"]
        print(f"before migration 5 (index progress(quest_id, node, state)): overview median "
              f"{t_old * 1000:.1f} ms, raw GROUP BY median {t_old_raw * 1000:.1f} ms, "
              f"ratio {t_old / t_old_raw:.2f}x")
        for line in explain(conn, overview_sql, (CODE, QUEST_ID)):
            print(f"  overview plan then: {line}")
    c.store.close()
    return {**result, "raw": t_raw, "same": same}


def side_by_side(fns: dict, runs: int) -> tuple[dict[str, float], dict[str, object]]:
    """Medians of ``runs`` rounds, each round running every function once in turn (so a
    change of the machine's load falls on all of them alike), and each one's last result."""
    times: dict[str, list[float]] = {k: [] for k in fns}
    results: dict[str, object] = {}
    for _ in range(runs):
        for k, fn in fns.items():
            t = time.perf_counter()
            results[k] = fn()
            times[k].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in times.items()}, results


def service_timings(teacher, raw, runs: int) -> dict:
    """The overview and the raw GROUP BY (``raw``), side by side (see :func:`side_by_side`),
    then the other center reads through the service, medians of ``runs`` (the grid, the
    struggling list and the mastery matrix move every row of the class: at most 3 runs)."""
    t, r = side_by_side({"overview": lambda: teacher.class_overview(CODE, QUEST_ID),
                         "raw": raw}, runs)
    t_overview, overview, t_raw, raw_rows = t["overview"], r["overview"], t["raw"], r["raw"]
    t_grid, grid = median_time(lambda: teacher.grid(CODE, QUEST_ID), min(runs, 3))
    t_struggling, struggles = median_time(lambda: teacher.struggling(CODE), min(runs, 3))
    t_mastery, matrix = median_time(lambda: teacher.mastery(CODE), min(runs, 3))
    return {"overview": t_overview, "grid": t_grid, "struggling": t_struggling,
            "mastery": t_mastery, "overview_rows": overview, "grid_rows": grid,
            "raw": t_raw, "raw_rows": raw_rows,
            "struggles": len(struggles),
            "cells": sum(len(v) for v in grid.cells.values())}


def postgres_benchmark(address: str, runs: int) -> dict:
    """The overview (and the other center reads) through the service against one raw GROUP BY
    on the same PostgreSQL server, with the plans of the center's statements."""
    import psycopg

    c = Classroom(address, hasher=cheap_hasher())
    c.graph(QUEST_ID)  # the quest parsed once, as on the SQLite side (a page warms it too)
    teacher = c.login_teacher(TEACHER[0], TEACHER[2])
    raw_conn = psycopg.connect(address, autocommit=True)
    raw_sql = RAW.replace("?", "%s")
    raw_conn.execute(raw_sql, (QUEST_ID,)).fetchall()  # warm the cache once for everyone
    result = service_timings(
        teacher, lambda: raw_conn.execute(raw_sql, (QUEST_ID,)).fetchall(), runs)
    t_raw, raw = result["raw"], result["raw_rows"]
    raw_counts = {(n, st): k for n, st, k in raw}
    same = all(o.success == raw_counts.get((o.node, "success"), 0)
               and o.fail == raw_counts.get((o.node, "fail"), 0)
               for o in result["overview_rows"])
    print(f"data: {sum(raw_counts.values()):,} progress rows; "
          f"{result['cells']:,} grid cells; {result['struggles']:,} struggles")
    print("plans (EXPLAIN ANALYZE) of the overview's statements and the raw GROUP BY:")
    others = ("select exists (select 1 from quest_status q where q.quest_id = %s and not exists "
              "(select 1 from enrolments e where e.student_id = q.student_id and "
              "e.class_code = %s))")
    grid_sql = ("select p.student_id, p.node, p.state, p.attempts from progress p join "
                "enrolments e on e.student_id = p.student_id where e.class_code = %s and "
                "p.quest_id = %s")
    for title, sql, params in (("overview: is the quest played outside the class?", others,
                                (QUEST_ID, CODE)),
                               ("overview / raw: the GROUP BY", raw_sql, (QUEST_ID,)),
                               ("grid: the class's progress rows", grid_sql, (CODE, QUEST_ID))):
        print(f"  {title}")
        for (line,) in raw_conn.execute("explain (analyze, buffers off) " + sql, params):
            print(f"    {line}")
    raw_conn.close()
    c.store.close()
    return {**result, "raw": t_raw, "same": same}


# --- the page -----------------------------------------------------------------------------------



def page_benchmark(tmp: Path, runs: int) -> None:
    from playwright.sync_api import sync_playwright

    from questengine.demo import STUDENT_NAMES
    from questengine.loader import load_quest
    from questengine.server import VoilaServer, free_port
    from questengine.simulate import next_move

    db = tmp / "class40.db"
    rng = random.Random(4)
    c = Classroom(db, hasher=cheap_hasher())
    owner = c.add_teacher(*TEACHER)
    code = c.create_class(TEACHER[0], "Grade 4, 40 students", "OWL-0040")
    names = [f"{n} {i // len(STUDENT_NAMES) + 1}" for i, n in
             enumerate(STUDENT_NAMES * 2)][:40]
    logins = c.add_students(code, [(n, "1234") for n in names])
    quest_ids = []
    for path in sorted((ROOT / "quests").glob("*.yaml")):
        quest = load_quest(path)
        c.publish(quest, by=owner)
        c.assign(quest.id, code)
        quest_ids.append(quest.id)
    teacher = c.login_teacher(TEACHER[0], TEACHER[2])
    first = quest_ids[0]
    G = c.graph(first)
    for login in logins:  # varied progress in the quest the page opens first
        s = c.login_student(code, login.name, "1234")
        for _ in range(rng.choice([0, 4, 8, 15, 30])):
            p = s.progress(first)
            move = next_move(G, p, rng, skill=0.6, teacher=False)
            if move is None or p.complete:
                break
            a = move.action
            if a.type == "choose":
                s.choose(first, a.node, a.option)
            elif a.type == "answer":
                s.answer(first, a.node, a.answers)
            elif a.type == "submit":
                s.submit(first, a.node, a.content)
            else:
                s.complete(first, a.node)
    pending = len(teacher.review_queue(code))
    c.store.close()

    srv = VoilaServer(db=db, port=free_port(), run_dir=tmp / "run")
    log = open(tmp / "voila.log", "wb")
    srv.start(log=log)
    try:
        srv.wait_ready(timeout=90)
        srv.wait_ready(srv.url("progress"), timeout=120)  # warm up once
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            totals, logins_t, forms, filled = [], [], [], []
            outside: list[str] = []
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                page = context.new_page()
                page.on("request", lambda r: outside.append(r.url)
                        if not r.url.startswith(("data:", "blob:", "http://127.0.0.1")) else None)
                t0 = time.perf_counter()
                page.goto(srv.url("progress"))
                page.wait_for_selector(".qe-login .qe-email input", timeout=120_000)
                t1 = time.perf_counter()
                page.fill(".qe-email input", TEACHER[0])
                page.fill(".qe-password input", TEACHER[2])
                page.press(".qe-password input", "Tab")
                t2 = time.perf_counter()
                page.click(".qe-login-button")
                page.wait_for_function(
                    "n => document.querySelectorAll('.qe-center .qe-node .qe-count').length > 0 "
                    "&& document.querySelectorAll('.qe-center .qe-node').length === n",
                    arg=len(G), timeout=120_000)
                t3 = time.perf_counter()
                # the last tab the refresh fills is Exports: the kernel has finished the login
                page.wait_for_function(
                    "() => document.querySelectorAll('.qe-center .qe-download').length >= 2",
                    timeout=120_000)
                t4 = time.perf_counter()
                totals.append(t3 - t0 - (t2 - t1))  # typing time left out
                forms.append(t1 - t0)
                logins_t.append(t3 - t2)
                filled.append(t4 - t2)
                context.close()
            browser.close()
    finally:
        srv.stop()
        log.close()
    print(f"page: class of 40 ({pending} submissions waiting), '{first}' map of {len(G)} nodes")
    print(f"page: navigation -> login form ready   median {statistics.median(forms):6.2f} s")
    print(f"page: login click -> class map drawn   median {statistics.median(logins_t):6.2f} s")
    print(f"page: login click -> every tab filled  median {statistics.median(filled):6.2f} s")
    print(f"page: time to interactive (navigation -> map drawn, typing excluded) median "
          f"{statistics.median(totals):6.2f} s  "
          f"(runs: {', '.join(f'{t:.2f}' for t in totals)})")
    print(f"page: requests outside 127.0.0.1: {len(outside)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=2_000,
                        help="students in the class (default 2,000: a few minutes on 2 busy "
                             "cores; --full for the target's 10,000)")
    parser.add_argument("--full", action="store_true", help="10,000 students x 200 nodes")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-page", action="store_true")
    parser.add_argument("--no-extras", action="store_true",
                        help="on SQLite, leave out pandas, the alternative overview and the "
                             "overview on the index before migration 5 (minutes at --full)")
    args = parser.parse_args()
    if args.full:
        args.students = 10_000
    tmp = Path(tempfile.mkdtemp(prefix="qe-center-bench-"))
    server = None
    try:
        district = District(args.students)
        print(f"plan: {args.students:,} students, {len(district.patterns)} play patterns "
              f"replayed by the engine in {district.seconds:.1f} s")
        addresses = {"SQLite": tmp / "district.db"}
        if not args.no_postgres:
            sys.path.insert(0, str(ROOT / "tests"))
            from pgserver import PGServer

            server = PGServer(fsync=True).start()
            addresses["PostgreSQL"] = server.fresh_address()
            print(f"PostgreSQL {server.bin.parent.name}: a throw-away server, fsync on, "
                  f"a Unix socket")
        results, builds = {}, {}
        for backend, address in addresses.items():
            print(f"\n=== {backend} ===")
            info = build(address, district)
            builds[backend] = info
            counts = info["counts"]
            print(f"build: {info['seconds']:.1f} s ("
                  + ", ".join(f"{t} {s:.1f}" for t, s in info["tables"].items())
                  + " s); rows: " + ", ".join(f"{t} {n:,}" for t, n in counts.items())
                  + f"; {counts['events'] / args.students:.0f} events per student")
            t = time.perf_counter()
            ok, sample, counts_ok = consistency_check(address, district)
            print(f"check ({time.perf_counter() - t:.1f} s): {ok} of {sample} sampled students "
                  f"replayed from the database match their progress rows and the plan; the "
                  f"store's (node, state) counts equal the plan's: {counts_ok}")
            if backend == "SQLite":
                results[backend] = query_benchmark(address, args.runs, args.students,
                                                   extras=not args.no_extras)
            else:
                results[backend] = postgres_benchmark(address, args.runs)
            results[backend]["build"] = info["seconds"]
            results[backend]["check"] = ok == sample and counts_ok
        print(f"\nclass overview at {args.students:,} students x 200 nodes, medians of "
              f"{args.runs}, overview and raw run in turn (grid, struggling, mastery: of "
              f"{min(args.runs, 3)}):")
        print(f"{'':34}" + "".join(f"{k:>12}" for k in results))
        for title, fn in (("build s", lambda r: f"{r['build']:.1f}"),
                          ("consistency check passed", lambda r: str(r["check"])),
                          ("overview (service) ms", lambda r: f"{r['overview'] * 1000:.1f}"),
                          ("raw GROUP BY ms", lambda r: f"{r['raw'] * 1000:.1f}"),
                          ("ratio overview/raw (<= 2x)", lambda r: f"{r['overview'] / r['raw']:.2f}x"),
                          ("same counts as raw", lambda r: str(r["same"])),
                          ("grid (service) ms", lambda r: f"{r['grid'] * 1000:.1f}"),
                          ("ratio grid/raw", lambda r: f"{r['grid'] / r['raw']:.2f}x"),
                          ("struggling (service) ms", lambda r: f"{r['struggling'] * 1000:.1f}"),
                          ("mastery matrix (service) ms", lambda r: f"{r['mastery'] * 1000:.1f}")):
            print(f"{title:34}" + "".join(f"{fn(r):>12}" for r in results.values()))
        if len(results) > 1:
            same = len({tuple(o for o in r["overview_rows"]) for r in results.values()}) == 1
            print(f"the overview is the same on both backends: {same}")
        if not args.no_page:
            page_benchmark(tmp, args.runs)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
