"""Tests of questengine.center through TeacherSession: every progress-center figure checked
against an independent replay of each student's events.

A class of 26 students plays the three sample quests with the simulator's random legal
moves (questengine.simulate.next_move), through StudentSessions, over two weeks of a
fake clock; the teacher reviews and overrides through a TeacherSession. Then every
query (class overview, grid, struggling with its reasons, mastery matrix, small groups,
modality insights, CSV exports, parent report) is compared with what
``engine.replay(G, store.events(student, quest))`` says, student by student.
"""
from __future__ import annotations

import csv
import io
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from itertools import groupby
from pathlib import Path

import networkx as nx
import pytest

from questengine import center
from questengine.center import StruggleRules
from questengine.classroom import Classroom, StudentLogin, TeacherSession
from questengine.engine import replay
from questengine.errors import AccessDenied, SessionExpired
from questengine.loader import load_quest
from questengine.simulate import next_move
from helpers import cheap_hasher
from pgserver import BACKENDS, query

QUESTS = Path(__file__).resolve().parent.parent / "quests"
QUEST_IDS = ("fraction-forest", "water-cycle", "persuasive-writing")
START = datetime(2026, 9, 1, 8, 0, tzinfo=timezone.utc)
DAYS = 14
NOW = START + timedelta(days=20, hours=10)  # "today" when the teacher looks
TEACHER = ("teacher@school.org", "Ms. Rivera", "password-1")
OTHER_TEACHER = ("other@school.org", "Mr. Okoye", "password-2")
CODE = "OWL-4B"
HERE = ("available", "in_progress", "pending_review", "returned")
NAMES = (
    "Amara Okafor", "Ben Cohen", "Chloé Martin", "Diego Ramírez", "Elif Yılmaz", "Finn Murphy",
    "Grace Kim", "Hiro Tanaka", "Isla Brown", "Jamal Carter", "Kavya Iyer", "Leo Rossi",
    "Maya Singh", "Noah Smith", "Olivia Nowak", "Priya Patel", "Quinn Lee", "Rosa García",
    "Sami Haddad", "Tala Nguyen", "Uma Shah", "Victor Dubois", "Wen Li", "Zara Ahmed",
    "Zoë <b>Bold</b> & Co", "Ōta Ren",
)
NEVER = {"Uma Shah", "Wen Li"}  # never log in: "has not started any quest yet"
STOP_EARLY = {"Ben Cohen": 2, "Grace Kim": 4, "Quinn Lee": 5, "Sami Haddad": 3}  # last day they play


class FakeClock:
    """A clock the test moves by hand: every call in one action gets the same time."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now




def pin_for(i: int) -> str:
    return f"{90817263 + 7919 * i:08d}"  # 8 digits: never equal to an XP or a count in a CSV


def new_classroom(clock: FakeClock | None = None, db: str = ":memory:") -> Classroom:
    # sessions that outlast the fake weeks (expiry is tested in test_classroom)
    return Classroom(db, clock=clock or FakeClock(), hasher=cheap_hasher(),
                     session_hours=24 * 365)


@dataclass
class World:
    classroom: Classroom
    clock: FakeClock
    teacher: TeacherSession
    logins: list[StudentLogin]
    graphs: dict[str, nx.DiGraph]
    moves: Counter = field(default_factory=Counter)

    @property
    def store(self):
        return self.classroom.store

    @property
    def ids(self) -> list[int]:
        return [s.student_id for s in self.logins]

    def name(self, sid: int) -> str:
        return next(s.name for s in self.logins if s.student_id == sid)

    def events(self, sid: int, quest_id: str):
        return self.store.events(sid, quest_id)

    def replayed(self, sid: int, quest_id: str):
        """The independent view: the student's whole log replayed by the engine."""
        return replay(self.graphs[quest_id], self.events(sid, quest_id))


def do_move(world: World, student, quest_id: str, move) -> None:
    """Carry out a simulator move through the sessions, as the pages would."""
    a, sid = move.action, student._row["id"]
    if move.role == "teacher" and a.type == "review":
        item = next(q for q in world.teacher.review_queue(CODE)
                    if q.student_id == sid and q.node == a.node and q.quest_id == quest_id)
        world.teacher.review(item.submission_id, a.decision, a.feedback or "")
    elif move.role == "teacher":
        world.teacher.override(sid, quest_id, a.node, a.op, a.reason or "")
    elif a.type == "choose":
        student.choose(quest_id, a.node, a.option)
    elif a.type == "answer":
        student.answer(quest_id, a.node, a.answers)
    elif a.type == "submit":
        student.submit(quest_id, a.node, a.content)
    else:
        student.complete(quest_id, a.node)
    world.moves[(move.role, a.type)] += 1


def build_world(db: str = ":memory:", seed: int = 5) -> World:
    rng = random.Random(seed)
    clock = FakeClock(START)
    classroom = new_classroom(clock, db)
    email, name, password = TEACHER
    owner = classroom.add_teacher(email, name, password)
    classroom.create_class(email, "Grade 4B", CODE)
    classroom.add_teacher(*OTHER_TEACHER)
    classroom.create_class(OTHER_TEACHER[0], "Grade 5C", "FOX-5C")
    logins = classroom.add_students(CODE, [(n, pin_for(i)) for i, n in enumerate(NAMES)])
    for qid in QUEST_IDS:
        classroom.publish(load_quest(QUESTS / f"{qid}.yaml"), by=owner)
        classroom.assign(qid, CODE)
    teacher = classroom.login_teacher(email, password)
    world = World(classroom, clock, teacher, logins,
                  {q: classroom.graph(q) for q in QUEST_IDS})
    skill = {s.student_id: rng.choice([0.1, 0.3, 0.5, 0.7, 0.9]) for s in logins}
    sessions = {s.student_id: classroom.login_student(CODE, s.name, s.pin)
                for s in logins if s.name not in NEVER}
    helped: dict[tuple[int, str], set] = defaultdict(set)
    for day in range(DAYS):
        clock.now = START + timedelta(days=day, hours=1)  # 9:00
        order = [s for s in logins if s.student_id in sessions]
        rng.shuffle(order)
        for s in order:
            if day > STOP_EARLY.get(s.name, DAYS) or rng.random() < 0.3:
                continue
            student = sessions[s.student_id]
            for qid in QUEST_IDS:
                G = world.graphs[qid]
                for _ in range(rng.randint(0, 3)):
                    clock.now += timedelta(minutes=rng.randint(1, 9))
                    progress = student.progress(qid)
                    if progress.complete:
                        break
                    move = next_move(G, progress, rng, skill=skill[s.student_id],
                                     helped=helped[(s.student_id, qid)],
                                     teacher=rng.random() < 0.3)
                    if move is None:
                        break
                    do_move(world, student, qid, move)
                    done = [n for n, np in student.progress(qid).nodes.items()
                            if np.state in ("success", "fail")]
                    if done and rng.random() < 0.15:
                        clock.now += timedelta(minutes=1)
                        student.reflect(qid, rng.choice(done), f"I learned something on day {day}.")
                        world.moves[("student", "reflect")] += 1
                progress = student.progress(qid)
                openable = [n for n, np in progress.nodes.items()
                            if np.state == "available" and np.status is None]
                if openable and rng.random() < 0.25:  # opens a step and walks away
                    clock.now += timedelta(minutes=2)
                    student.open(qid, rng.choice(openable))
                    world.moves[("student", "open")] += 1
        # end of the day: the teacher works through part of the queue
        clock.now = START + timedelta(days=day, hours=8)  # 16:00
        for item in world.teacher.review_queue(CODE):
            roll = rng.random()
            if roll < 0.5:
                continue  # left for another day
            clock.now += timedelta(minutes=1)
            decision = "approve" if roll < 0.75 else ("return" if roll < 0.93 else "fail")
            world.teacher.review(item.submission_id, decision,
                                 "" if decision == "approve" else "Add one more example.")
            world.moves[("teacher", f"review:{decision}")] += 1
    clock.now = NOW
    return world


@pytest.fixture(scope="module", params=BACKENDS)
def world(request) -> World:
    """The generated class, once in SQLite and once in PostgreSQL."""
    if request.param == "sqlite":
        return build_world()
    return build_world(request.getfixturevalue("pg_server").fresh_address())


# --- independent expectations -------------------------------------------------------------------


def bucket(state: str) -> str:
    if state in ("success", "fail"):
        return state
    return "here" if state in HERE else "not_reached"


def expected_overview(world: World, quest_id: str) -> dict[str, Counter]:
    G = world.graphs[quest_id]
    out = {n: Counter() for n in G}
    for sid in world.ids:
        events = world.events(sid, quest_id)
        p = replay(G, events)
        for n in G:
            # a student who has not started the quest has no rows: "not reached" everywhere
            state = p.nodes[n].state if events else "locked"
            out[n][bucket(state)] += 1
            out[n]["pending_review"] += state == "pending_review"
    return out


def row_change_times(G: nx.DiGraph, events) -> dict[str, str]:
    """When each node's materialized row (state, attempts, score, round, fails) last changed.

    Events of one action share their time stamp; the rows are compared after each action
    by replaying the log up to it. The first action writes every row.
    """
    times: dict[str, str] = {}
    before = None
    count = 0
    for at, group in groupby(events, key=lambda e: e.at):
        count += len(list(group))
        p = replay(G, events[:count])
        rows = {n: (np.state, np.attempts, np.score, np.round, np.fails) for n, np in p.nodes.items()}
        for n, row in rows.items():
            if before is None or before[n] != row:
                times[n] = at
        before = rows
    return times


def expected_struggles(world: World, rules: StruggleRules, kind: str) -> set[tuple]:
    """What the struggling list must hold, from a replay of each student's log: only
    struggles still going on (the step not passed since, the quest not finished)."""
    now = world.clock()
    out = set()
    for sid in world.ids:
        student_times, finished = [], []
        for qid, G in world.graphs.items():
            events = world.events(sid, qid)
            p = replay(G, events)
            finished.append(p.complete)
            student_times += [e.at for e in events if e.role == "student"]
            if p.complete:
                continue  # a finished quest is history
            if kind == "fails":
                out |= {(sid, qid, n, np.fails) for n, np in p.nodes.items()
                        if np.fails >= rules.gate_fails and events and np.state != "success"}
            elif kind == "stuck":
                changed = row_change_times(G, events)
                for n, np in p.nodes.items():
                    if events and np.state in ("in_progress", "returned"):
                        since = datetime.fromisoformat(changed[n])
                        if since < now - timedelta(days=rules.stuck_days):
                            out.add((sid, qid, n, (now - since).days))
            elif kind == "returned":
                returns = Counter(e.node for e in events
                                  if e.type == "review" and e.data.get("decision") == "return")
                out |= {(sid, qid, n, k) for n, k in returns.items()
                        if k >= rules.returned and p.nodes[n].state not in ("success", "fail")}
            elif kind == "mastery":  # one item per quest: its weakest skill
                low = [v for c, v in p.mastery.items()
                       if p.evidence.get(c) and v < rules.mastery_below]
                if low:
                    out.add((sid, qid, None, round(100 * min(low))))
        if kind == "inactive" and not all(finished):
            if not student_times:
                out.add((sid, None, None, None))
            else:
                last = datetime.fromisoformat(max(student_times))
                if last < now - timedelta(days=rules.inactive_days):
                    out.add((sid, None, None, (now - last).days))
    return out


NUMBER = {"fails": r" (\d+) times$", "stuck": r" for (\d+) days$", "returned": r" returned (\d+) times$",
          "mastery": r" (\d+)% mastery", "inactive": r" for (\d+) days$"}


def found_struggles(world: World, rules: StruggleRules, kind: str) -> set[tuple]:
    out = set()
    for s in world.teacher.struggling(CODE, rules):
        assert s.name == world.name(s.student_id)
        if s.kind != kind:
            continue
        if kind == "inactive" and s.reason == "has not started any quest yet":
            number = None
        else:
            match = re.search(NUMBER[kind], s.reason)
            assert match, f"no figure in the reason {s.reason!r}"
            number = int(match.group(1))
        out.add((s.student_id, s.quest_id, s.node, number))
    return out


def expected_next_gate(G: nx.DiGraph, node: str) -> str | None:
    """The nearest gate downstream of a node (shortest path), if any."""
    lengths = nx.single_source_shortest_path_length(G, node)
    gates = sorted((d, n) for n, d in lengths.items()
                   if d > 0 and G.nodes[n]["node"].kind == "gate")
    return gates[0][1] if gates else None


def expected_modalities(world: World, quest_id: str) -> dict[str, dict]:
    G = world.graphs[quest_id]
    out: dict[str, dict] = {}
    for sid in world.ids:
        events = world.events(sid, quest_id)
        p = replay(G, events)
        last_pick = {}
        for e in events:
            if e.type == "choose":
                last_pick[e.node] = e.data["option"]
        for node, option_id in last_pick.items():
            option = next(o for o in G.nodes[node]["node"].options if o.id == option_id)
            m = out.setdefault(option.modality, {"picks": 0, "students": set(), "first": 0,
                                                 "later": 0, "not_yet": 0, "not_reached": 0,
                                                 "by_teacher": 0, "attempts": []})
            m["picks"] += 1
            m["students"].add(sid)
            gate = expected_next_gate(G, node)
            gp = p.nodes[gate] if gate else None
            if gp is not None and gp.state == "success" and gp.by_teacher:
                m["by_teacher"] += 1  # the teacher marked it done
            elif gp is not None and gp.state == "success":
                m["first" if gp.attempts <= 1 else "later"] += 1
                m["attempts"].append(gp.attempts)
            elif gp is not None and (gp.state == "fail" or (gp.attempts and gp.state in HERE)):
                m["not_yet"] += 1
                m["attempts"].append(gp.attempts)
            else:
                m["not_reached"] += 1
    return out


# --- the generated class is varied enough to test anything ---------------------------------------


def test_the_generated_class_covers_every_case(world):
    m = world.moves
    assert m[("student", "choose")] and m[("student", "answer")] and m[("student", "submit")]
    assert m[("student", "reflect")] and m[("teacher", "review")] and m[("teacher", "override")]
    assert m[("teacher", "review:return")] and m[("teacher", "review:approve")]
    states = Counter(st for sid in world.ids for q in QUEST_IDS
                     for st in world.replayed(sid, q).states().values())
    for state in ("success", "fail", "available", "in_progress", "pending_review", "locked"):
        assert states[state], f"no node is {state} anywhere: {states}"
    for kind in ("fails", "stuck", "mastery", "inactive"):
        assert expected_struggles(world, StruggleRules(), kind), f"nobody struggles by {kind}"
    assert expected_struggles(world, StruggleRules(returned=1), "returned")


# --- class overview, grid ---------------------------------------------------------------------------


@pytest.mark.parametrize("quest_id", QUEST_IDS)
def test_class_overview_counts_match_replay(world, quest_id):
    overview = world.teacher.class_overview(CODE, quest_id)
    G = world.graphs[quest_id]
    assert [c.node for c in overview] == list(G.graph["order"])
    expected = expected_overview(world, quest_id)
    for c in overview:
        e = expected[c.node]
        assert (c.success, c.fail, c.here, c.not_reached, c.pending_review) == (
            e["success"], e["fail"], e["here"], e["not_reached"], e["pending_review"]), c.node
        assert c.success + c.fail + c.here + c.not_reached == len(world.ids)
        assert c.as_map_counts() == {"success": c.success, "fail": c.fail, "here": c.here,
                                     "not_reached": c.not_reached}


@pytest.mark.parametrize("quest_id", QUEST_IDS)
def test_overview_equals_a_raw_group_by_on_progress(world, quest_id):
    raw = Counter()
    for node, state, n in query(world.store, 
            "select node, state, count(*) from progress where quest_id = ? group by node, state",
            (quest_id,)):
        raw[(node, bucket(state))] += n
    for c in world.teacher.class_overview(CODE, quest_id):
        assert (c.success, c.fail, c.here) == (raw[(c.node, "success")], raw[(c.node, "fail")],
                                               raw[(c.node, "here")])


@pytest.mark.parametrize("quest_id", QUEST_IDS)
def test_grid_cells_match_replay(world, quest_id):
    g = world.teacher.grid(CODE, quest_id)
    G = world.graphs[quest_id]
    assert g.nodes == list(G.graph["order"])
    assert sorted(s["id"] for s in g.students) == sorted(world.ids)
    assert len(g.students) == len(NAMES)
    for s in g.students:
        sid = s["id"]
        events = world.events(sid, quest_id)
        p = replay(G, events)
        assert s["name"] == world.name(sid)
        assert re.fullmatch(r"[0-9a-f]{16}", s["opaque_id"])
        if not events:
            assert sid not in g.cells and all(g.state(sid, n) == "" for n in G)
            assert (s["xp"], s["done"], s["complete"]) == (0, 0, False)
            continue
        assert g.cells[sid] == p.states(), world.name(sid)
        assert s["xp"] == p.xp
        assert s["done"] == sum(st in ("success", "fail") for st in p.states().values())
        assert s["complete"] == p.complete
    assert len({s["opaque_id"] for s in g.students}) == len(g.students)


# --- mastery and groups ------------------------------------------------------------------------------


def test_mastery_matrix_matches_replay(world):
    m = world.teacher.mastery(CODE)
    expected: dict[int, dict[str, float]] = defaultdict(dict)
    for sid in world.ids:
        for qid in QUEST_IDS:
            p = world.replayed(sid, qid)
            expected[sid].update(p.mastery)
    comps = sorted({c for row in expected.values() for c in row})
    assert m.competencies == comps
    assert sorted(s["id"] for s in m.students) == sorted(world.ids)
    for sid in world.ids:
        assert set(m.values.get(sid, {})) == set(expected[sid]), world.name(sid)
        for comp, value in expected[sid].items():
            assert m.value(sid, comp) == pytest.approx(value, abs=1e-12), (world.name(sid), comp)
    for sid in never_ids(world):
        assert m.values.get(sid, {}) == {}


def never_ids(world) -> list[int]:
    return [s.student_id for s in world.logins if s.name in NEVER]


@pytest.mark.parametrize("threshold,size", [(0.8, 5), (0.5, 3), (1.0, 2), (0.0, 5)])
def test_small_groups_share_real_gaps(world, threshold, size):
    m = world.teacher.mastery(CODE)
    groups = world.teacher.groups(CODE, threshold, size)
    gaps = {sid: {c for c, v in row.items() if v < threshold} for sid, row in m.values.items()}
    with_gaps = {sid for sid, g in gaps.items() if g}
    seen = [sid for g in groups for sid in g.students]
    assert sorted(seen) == sorted(with_gaps), "each student with a gap is in exactly one group"
    for g in groups:
        assert 1 <= len(g.students) <= size
        assert g.names == tuple(world.name(s) for s in g.students)
        for sid in g.students:
            assert set(g.gaps) <= gaps[sid], (g, world.name(sid))
    if threshold == 0.0:
        assert groups == []


# --- struggling -------------------------------------------------------------------------------------

RULES = {
    "default": StruggleRules(),
    "sensitive": StruggleRules(gate_fails=1, stuck_days=0, returned=1, mastery_below=1.0,
                               inactive_days=0),
    "strict": StruggleRules(gate_fails=3, stuck_days=8, returned=3, mastery_below=0.3,
                            inactive_days=10),
    "never": StruggleRules(gate_fails=10**9, stuck_days=36_500, returned=10**9, mastery_below=0.0,
                           inactive_days=36_500),
}


@pytest.mark.parametrize("rules", RULES.values(), ids=RULES.keys())
@pytest.mark.parametrize("kind", ["fails", "stuck", "returned", "mastery"])
def test_struggling_reasons_match_replay(world, kind, rules):
    assert found_struggles(world, rules, kind) == expected_struggles(world, rules, kind)


@pytest.mark.parametrize("rules", RULES.values(), ids=RULES.keys())
def test_inactivity_counts_the_students_own_activity(world, rules):
    """'has done nothing for N days' is about the student: the teacher's reviews are not theirs."""
    assert found_struggles(world, rules, "inactive") == expected_struggles(world, rules, "inactive")


def test_stuck_depends_on_the_log_not_on_which_page_wrote_last(db_factory):
    """A step opened on day 0 and untouched since is 'stuck' on day 5, whether the student's
    later work on another step came through the same kernel or a new page (a new kernel,
    i.e. a new Classroom over the same database file)."""
    results = {}
    for pages in ("one page", "a new page"):
        clock = FakeClock(START)
        db = db_factory()
        c = Classroom(db, clock=clock, hasher=cheap_hasher(), session_hours=24 * 365)
        owner = c.add_teacher(*TEACHER)
        code = c.create_class(TEACHER[0], "Small", "ELK-1")
        c.publish(load_quest(QUESTS / "fraction-forest.yaml"), by=owner)
        c.assign("fraction-forest", code)
        (ada,) = c.add_students(code, [("Ada", "1234")])
        q = "fraction-forest"
        s = c.login_student(code, "Ada", "1234")
        for n in ("trailhead", "fold-map"):
            s.complete(q, n)
        s.choose(q, "learn", "video")
        s.complete(q, "learn")
        s.open(q, "signpost")  # then she leaves the sign alone
        clock.now = START + timedelta(days=4)
        if pages == "a new page":
            c = Classroom(db, clock=clock, hasher=cheap_hasher(), session_hours=24 * 365)
            s = c.login_student(code, "Ada", "1234")
        s.reflect(q, "trailhead", "The trail was muddy.")
        clock.now = START + timedelta(days=5)
        teacher = c.login_teacher(TEACHER[0], TEACHER[2])
        results[pages] = [(s.node, s.reason) for s in teacher.struggling(code)
                          if s.kind == "stuck"]
    assert results["one page"] == [("signpost", "has been on “Repair a trail sign” for 5 days")]
    assert results["a new page"] == results["one page"]


def test_struggling_reasons_name_the_node_and_are_sorted(world):
    found = world.teacher.struggling(CODE)
    assert [s.need for s in found] == sorted(s.need for s in found)  # most urgent first
    assert all(s.help for s in found)  # each says what would help
    titles = {q: {n: G.nodes[n]["node"].title for n in G} for q, G in world.graphs.items()}
    for s in found:
        if s.node is not None:
            assert f"“{titles[s.quest_id][s.node]}”" in s.reason
        if s.kind == "fails" and world.graphs[s.quest_id].nodes[s.node]["node"].kind == "gate":
            assert s.reason.startswith("did not pass the checkpoint")
    never = {s.student_id for s in found if s.reason == "has not started any quest yet"}
    assert never == set(never_ids(world))


def test_never_rules_find_nobody_but_the_students_who_never_started(world):
    found = world.teacher.struggling(CODE, RULES["never"])
    assert {s.student_id for s in found} == set(never_ids(world))
    assert {s.kind for s in found} == {"inactive"}


@pytest.mark.parametrize("rules", [
    StruggleRules(gate_fails=0), StruggleRules(returned=0), StruggleRules(gate_fails=-1),
])
def test_zero_or_negative_counts_never_report_zero_failures(world, rules):
    """A threshold of 0 (or less) must not list every node as 'did not pass ... 0 times'."""
    found = world.teacher.struggling(CODE, rules)
    assert not [s.reason for s in found if re.search(r"\b0 times$", s.reason)]


def test_huge_day_thresholds_do_not_crash(world):
    found = world.teacher.struggling(CODE, StruggleRules(stuck_days=10**6, inactive_days=10**6))
    assert {s.kind for s in found} <= {"fails", "returned", "mastery", "inactive"}


def _gate_graph():
    from questengine.graph import build_graph
    from questengine.loader import parse_quest

    quest = parse_quest({
        "id": "tiny", "title": "Tiny", "nodes": [
            {"id": "gate", "kind": "gate", "title": "Bridge", "threshold": 0.5, "max_attempts": 3,
             "questions": [{"id": "q", "type": "number", "prompt": "1+1", "answer": 2}]},
            {"id": "end", "kind": "end", "title": "Home"}],
        "edges": [{"from": "gate", "to": "end", "when": "success"}]})
    return build_graph(quest)


def test_a_struggle_that_is_over_is_not_flagged_and_the_stuck_come_first():
    G, now = _gate_graph(), datetime(2024, 9, 10)
    students = [{"id": 1, "name": "Ben"}, {"id": 2, "name": "Al"}, {"id": 3, "name": "Cy"}]
    fails = [(1, "tiny", "gate", 3), (2, "tiny", "gate", 2), (3, "tiny", "gate", 3)]
    current = {(1, "tiny", "gate"): "success", (2, "tiny", "gate"): "available",
               (3, "tiny", "gate"): "fail"}
    found = center.struggling(students, {"tiny": G}, now, fails=fails, current=current,
                              complete=[(1, "tiny")])
    assert [(s.name, s.attempts_left) for s in found] == [("Cy", 0), ("Al", 1)]
    assert "unlock" in found[0].actions and "No attempts left" in found[0].help
    assert "1 attempt left" in found[1].help


# --- modality insights ---------------------------------------------------------------------------


@pytest.mark.parametrize("quest_id", QUEST_IDS)
def test_modality_insights_match_replay(world, quest_id):
    found = world.teacher.modality_insights(CODE, quest_id)
    expected = expected_modalities(world, quest_id)
    assert found, "nobody picked a modality"
    assert {m.modality for m in found} == set(expected)
    assert [m.picks for m in found] == sorted((m.picks for m in found), reverse=True)
    for m in found:
        e = expected[m.modality]
        assert (m.picks, m.students, m.gate_first_try, m.gate_later, m.gate_not_yet,
                m.gate_not_reached, m.gate_by_teacher) == (
            e["picks"], len(e["students"]), e["first"], e["later"], e["not_yet"],
            e["not_reached"], e["by_teacher"]), m.modality
        assert sorted(m.attempts) == sorted(e["attempts"])
        assert m.picks == (m.gate_first_try + m.gate_later + m.gate_not_yet + m.gate_not_reached
                           + m.gate_by_teacher)


def test_a_gate_passed_by_teacher_approval_is_not_a_first_try():
    """Modality insights: a teacher's 'mark as done' on a gate is not the student passing it first try."""
    c, code, logins, teacher = small_class(["Ada"])
    ada = c.login_student(code, "Ada", logins[0].pin)
    q = "fraction-forest"
    ada.complete(q, "trailhead")
    ada.complete(q, "fold-map")
    ada.choose(q, "learn", "video")
    ada.complete(q, "learn")
    teacher.override(logins[0].student_id, q, "checkpoint", "approve", "she showed me in class")
    assert ada.progress(q).state("checkpoint") == "success"
    (video,) = teacher.modality_insights(code, q)
    assert video.gate_first_try == 0 and video.gate_by_teacher == 1, video


# --- bad input -----------------------------------------------------------------------------------


def small_class(names, quests=("fraction-forest",), clock=None):
    c = new_classroom(clock)
    owner = c.add_teacher(*TEACHER)
    code = c.create_class(TEACHER[0], "Small class", "ELK-1")
    for qid in quests:
        c.publish(load_quest(QUESTS / f"{qid}.yaml"), by=owner)
        c.assign(qid, code)
    logins = c.add_students(code, [(n, pin_for(i)) for i, n in enumerate(names)]) if names else []
    return c, code, logins, c.login_teacher(TEACHER[0], TEACHER[2])


def test_a_class_with_no_students():
    c, code, _, teacher = small_class([], quests=QUEST_IDS)
    for qid in QUEST_IDS:
        overview = teacher.class_overview(code, qid)
        assert len(overview) == len(teacher.graph(code, qid))
        assert all((n.success, n.fail, n.here, n.not_reached, n.pending_review) == (0, 0, 0, 0, 0)
                   for n in overview)
        g = teacher.grid(code, qid)
        assert (g.students, g.cells) == ([], {})
        assert teacher.modality_insights(code, qid) == []
        rows = list(csv.reader(io.StringIO(center.grid_csv(g))))
        assert rows == [["name", "opaque_id", "xp", "complete", "steps_done",
                         *(f"{g.titles[n]} ({n})" for n in g.nodes)]]
    assert teacher.struggling(code) == []
    assert teacher.struggling(code, RULES["sensitive"]) == []
    m = teacher.mastery(code)
    assert (m.students, m.competencies, m.values) == ([], [], {})
    assert teacher.groups(code) == []
    assert list(csv.reader(io.StringIO(center.mastery_csv(m)))) == [["name", "opaque_id"]]
    assert teacher.review_queue(code) == []


def test_a_class_with_no_quest_assigned():
    c = new_classroom()
    c.add_teacher(*TEACHER)
    code = c.create_class(TEACHER[0], "Empty", "EMU-1")
    (ada,) = c.add_students(code, [("Ada", "1234")])
    teacher = c.login_teacher(TEACHER[0], TEACHER[2])
    assert teacher.assigned(code) == []
    found = teacher.struggling(code)
    assert [(s.student_id, s.kind) for s in found] == [(ada.student_id, "inactive")]
    with pytest.raises(AccessDenied):
        teacher.class_overview(code, "fraction-forest")
    assert "How Ada is doing" in teacher.parent_report(ada.student_id)


def test_a_quest_with_no_events():
    c, code, logins, teacher = small_class(["Ada", "Bo", "Cy"], quests=QUEST_IDS)
    ada = c.login_student(code, "Ada", logins[0].pin)
    ada.complete("fraction-forest", "trailhead")  # the other quests stay untouched
    for qid in ("water-cycle", "persuasive-writing"):
        assert all((n.success, n.fail, n.here, n.not_reached) == (0, 0, 0, 3)
                   for n in teacher.class_overview(code, qid))
        g = teacher.grid(code, qid)
        assert g.cells == {} and [s["done"] for s in g.students] == [0, 0, 0]
        assert teacher.modality_insights(code, qid) == []
    found = teacher.struggling(code, RULES["sensitive"])
    assert {s.quest_id for s in found} <= {"fraction-forest", None}
    overview = {n.node: n for n in teacher.class_overview(code, "fraction-forest")}
    assert (overview["trailhead"].success, overview["trailhead"].not_reached) == (1, 2)
    assert (overview["fold-map"].here, overview["fold-map"].not_reached) == (1, 2)


def test_unknown_class_or_quest_not_assigned_is_access_denied(world):
    t = world.teacher
    sid = world.ids[0]
    for code in ("NOPE-1", "", "FOX-5C", None):  # FOX-5C is the other teacher's class
        for call in (lambda: t.class_overview(code, "fraction-forest"),
                     lambda: t.grid(code, "fraction-forest"),
                     lambda: t.struggling(code),
                     lambda: t.mastery(code),
                     lambda: t.groups(code),
                     lambda: t.modality_insights(code, "fraction-forest"),
                     lambda: t.review_queue(code) if code else t.review_queue("NOPE-2"),
                     lambda: t.assigned(code)):
            with pytest.raises(AccessDenied):
                call()
    for quest in ("no-such-quest", "", "FRACTION-FOREST"):
        for call in (t.class_overview, t.grid, t.modality_insights):
            with pytest.raises(AccessDenied, match="not assigned"):
                call(CODE, quest)
    assert t.class_overview(CODE.lower(), "fraction-forest") == t.class_overview(CODE, "fraction-forest")
    # the other teacher sees none of this class
    other = world.classroom.login_teacher(OTHER_TEACHER[0], OTHER_TEACHER[2])
    for call in (lambda: other.class_overview(CODE, "fraction-forest"),
                 lambda: other.grid(CODE, "fraction-forest"), lambda: other.struggling(CODE),
                 lambda: other.mastery(CODE), lambda: other.parent_report(sid),
                 lambda: other.modality_insights(CODE, "fraction-forest")):
        with pytest.raises(AccessDenied):
            call()
    assert other.review_queue() == []
    # a student's session has no teacher methods at all, and a logged-out teacher is refused
    student = world.classroom.login_student(CODE, world.logins[0].name, world.logins[0].pin)
    assert not hasattr(student, "class_overview") and not hasattr(student, "struggling")
    gone = world.classroom.login_teacher(TEACHER[0], TEACHER[2])
    gone.logout()
    with pytest.raises(SessionExpired):
        gone.class_overview(CODE, "fraction-forest")


def test_a_quest_assigned_to_another_class_only_is_not_visible():
    c, code, logins, teacher = small_class(["Ada"])
    code2 = teacher.create_class("Second class", "ELK-2")
    c.publish(load_quest(QUESTS / "water-cycle.yaml"), by=teacher.teacher_id)
    teacher.assign("water-cycle", code2)
    with pytest.raises(AccessDenied, match="not assigned"):
        teacher.class_overview(code, "water-cycle")
    assert teacher.class_overview(code2, "water-cycle")[0].not_reached == 0


# --- a student with 10,000 events ---------------------------------------------------------------


@pytest.fixture(scope="module")
def busy():
    clock = FakeClock(START)
    c, code, logins, teacher = small_class(["Ada", "Bo"], clock=clock)
    ada = c.login_student(code, "Ada", logins[0].pin)
    q = "fraction-forest"
    for n in ("trailhead", "fold-map"):
        ada.complete(q, n)
    ada.choose(q, "learn", "video")
    ada.complete(q, "learn")
    rounds = 1_000
    for i in range(rounds):  # review rounds: submit, return with feedback
        clock.now += timedelta(minutes=1)
        ada.submit(q, "signpost", f"My sign, version {i + 1}.")
        (sub,) = query(c.store, "select id from submissions where status = 'pending'").fetchone()
        clock.now += timedelta(minutes=1)
        teacher.review(sub, "return", f"Round {i + 1}: add the missing fraction.")
    count = len(c.store.events(logins[0].student_id, q))
    for _ in range(10_000 - count):
        clock.now += timedelta(seconds=30)
        ada.reflect(q, "trailhead", f"Reflection at {clock.now:%H:%M:%S}: forests are big.")
    clock.now += timedelta(minutes=1)
    ada.submit(q, "signpost", "The final sign.")
    clock.now += timedelta(days=4)
    return c, code, logins, teacher, rounds


def test_a_student_with_10000_events(busy):
    c, code, logins, teacher, rounds = busy
    sid, q = logins[0].student_id, "fraction-forest"
    events = c.store.events(sid, q)
    assert len(events) >= 10_000
    p = replay(c.graph(q), events)
    overview = {n.node: n for n in teacher.class_overview(code, q)}
    assert overview["signpost"].pending_review == 1 and overview["signpost"].here == 1
    assert overview["trailhead"].success == 1 and overview["trailhead"].not_reached == 1
    g = teacher.grid(code, q)
    assert g.cells[sid] == p.states()
    found = [s for s in teacher.struggling(code) if s.student_id == sid]
    assert [s.reason for s in found if s.kind == "returned"] == [
        f"had work on “Repair a trail sign” returned {rounds} times"]
    (item,) = teacher.review_queue(code)
    assert item.round == rounds + 1 and len(item.earlier) == rounds
    assert item.earlier[-1]["feedback"] == f"Round {rounds}: add the missing fraction."
    report = teacher.parent_report(sid)
    assert report.count("forests are big") == 3  # the latest three reflections, not 8,000
    assert "Waiting for the teacher to look at: Repair a trail sign." in report
    (video,) = teacher.modality_insights(code, q)
    assert (video.picks, video.gate_not_reached) == (1, 1)


# --- exports ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("quest_id", QUEST_IDS)
def test_grid_csv_parses_back(world, quest_id):
    g = world.teacher.grid(CODE, quest_id)
    text = center.grid_csv(g)
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    assert header == ["name", "opaque_id", "xp", "complete", "steps_done",
                      *(f"{g.titles[n]} ({n})" for n in g.nodes)]
    assert len(body) == len(NAMES)
    assert sorted(r[0].removeprefix("'") for r in body) == sorted(NAMES)  # '<b>', '&', commas
    by_name = {s["name"]: s for s in g.students}
    pins = {s.pin for s in world.logins}
    for row in body:
        s = by_name[row[0].removeprefix("'")]
        assert len(row) == len(header)
        assert row[1] == s["opaque_id"] and row[1] != str(s["id"])
        assert (int(row[2]), row[3], int(row[4])) == (
            s["xp"], "yes" if s["complete"] else "no", s["done"])
        assert row[5:] == [g.state(s["id"], n) or "not_started" for n in g.nodes]
        assert not pins & set(row)
    assert not any(p in text for p in pins) and "pin" not in header
    assert "$argon2" not in text


def test_mastery_csv_parses_back(world):
    m = world.teacher.mastery(CODE)
    text = center.mastery_csv(m)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["name", "opaque_id", *m.competencies]
    assert len(rows) == 1 + len(NAMES)
    opaque = {s["name"]: s["opaque_id"] for s in m.students}
    for row in rows[1:]:
        name = row[0].removeprefix("'") if row[0].removeprefix("'") in opaque else row[0]
        sid = next(s["id"] for s in m.students if s["name"] == name)
        assert row[1] == opaque[name]
        for comp, cell in zip(m.competencies, row[2:]):
            value = m.value(sid, comp)
            assert cell == ("" if value is None else f"{value:.2f}")
            if cell:
                assert 0.0 <= float(cell) <= 1.0
    pins = {s.pin for s in world.logins}
    assert not any(p in text for p in pins) and "$argon2" not in text


# --- parent report --------------------------------------------------------------------------------


class StrictHTML(HTMLParser):
    """Checks that every tag is closed in order (void tags excepted) and collects the text."""

    VOID = {"meta", "br", "hr", "img", "link", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.tags, self.text, self.problems = [], Counter(), [], []
        self.doctype = None

    def handle_decl(self, decl):
        self.doctype = decl

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_html(text: str) -> StrictHTML:
    parser = StrictHTML()
    parser.feed(text)
    parser.close()
    assert parser.problems == [] and parser.stack == [], (parser.problems, parser.stack)
    assert parser.doctype and parser.doctype.lower() == "doctype html"
    return parser


def test_parent_report_is_valid_html_with_the_name_escaped(world):
    sid = next(s.student_id for s in world.logins if "<b>" in s.name)
    report = world.teacher.parent_report(sid)
    parsed = parse_html(report)
    assert parsed.tags["b"] == 0 and parsed.tags["script"] == 0
    assert set(parsed.tags) <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p",
                                "table", "tr", "th", "td", "ul", "li", "strong"}
    assert "Zoë &lt;b&gt;Bold&lt;/b&gt; &amp; Co" in report
    text = "".join(parsed.text)
    assert "How Zoë <b>Bold</b> & Co is doing" in text
    assert "Grade 4B" in text and NOW.date().isoformat() in text
    for qid in QUEST_IDS:
        assert world.graphs[qid].graph["quest"].title in text


def test_parent_report_figures_match_replay(world):
    for sid in world.ids:
        report = world.teacher.parent_report(sid)
        text = "".join(parse_html(report).text)
        for qid, G in world.graphs.items():
            events = world.events(sid, qid)
            p = replay(G, events)
            done = sum(st in ("success", "fail") for st in p.states().values())
            title = G.graph["quest"].title
            total = sum(st != "closed" for st in p.states().values())  # as the play page counts
            where = ("finished" if p.complete else f"{done} of {total} steps done" if events
                     else "not started yet")
            assert f"{title}{where}." in text, (world.name(sid), qid)
            waiting = [G.nodes[n]["node"].title for n, st in p.states().items()
                       if st == "pending_review"]
            if waiting:
                assert "Waiting for the teacher to look at" in text
        for qid in QUEST_IDS:
            p = world.replayed(sid, qid)
            for comp, value in p.mastery.items():
                assert f"{round(100 * value)}% on the latest check" in text


def test_parent_report_of_a_student_in_another_class_is_refused(world):
    other = world.classroom.login_teacher(OTHER_TEACHER[0], OTHER_TEACHER[2])
    (bo,) = world.classroom.add_students("FOX-5C", [("Bo Other", "4321")])
    with pytest.raises(AccessDenied):
        world.teacher.parent_report(bo.student_id)
    assert "How Bo Other is doing" in other.parent_report(bo.student_id)
    with pytest.raises(AccessDenied):
        world.teacher.parent_report(10**9)
