"""Progress-center queries: SQL aggregates over the materialized tables.

Every figure comes from ``progress``, ``quest_status``, ``mastery``,
``reviews``, ``enrolments`` (and, for modality picks, an indexed scan of the
``choose`` events), never from replaying event logs in Python. Results are
small typed records. Access checks live in the classroom service
(:class:`~questengine.classroom.TeacherSession`), which calls these.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import networkx as nx

from .csvsafe import csv_text

__all__ = [
    "NodeCounts", "Grid", "Struggle", "StruggleRules", "MasteryMatrix", "Group",
    "ModalityInsight", "class_overview", "grid", "struggling", "mastery_matrix",
    "small_groups", "modality_insights", "grid_csv", "mastery_csv", "parent_report", "HERE_STATES",
]

HERE_STATES = ("available", "in_progress", "pending_review", "returned")


@dataclass(frozen=True)
class NodeCounts:
    """How many students of a class stand where on one node."""

    node: str
    success: int = 0
    fail: int = 0
    here: int = 0  # available, in progress, waiting for review or returned
    not_reached: int = 0  # locked, closed, or not started
    pending_review: int = 0

    def as_map_counts(self) -> dict:
        return {"success": self.success, "fail": self.fail, "here": self.here,
                "not_reached": self.not_reached}


@dataclass
class Grid:
    """Students x nodes, each cell a state ('' where the student has no row yet)."""

    students: list[dict]  # id, name, opaque_id, xp, done
    nodes: list[str]
    cells: dict[int, dict[str, str]]

    def state(self, student_id: int, node: str) -> str:
        return self.cells.get(student_id, {}).get(node, "")


@dataclass(frozen=True)
class Struggle:
    student_id: int
    name: str
    quest_id: str | None
    node: str | None
    kind: str
    reason: str


@dataclass(frozen=True)
class StruggleRules:
    """When a student counts as struggling; the teacher can change each number."""

    gate_fails: int = 2
    stuck_days: float = 3
    returned: int = 2
    mastery_below: float = 0.6
    inactive_days: float = 7

    def __post_init__(self):
        # out-of-range numbers are brought into range: a count below 1 means 1, and days
        # stop at 100 years (further back than any date a class can have)
        for name, low, high in (("gate_fails", 1, 10**9), ("stuck_days", 0, 36_500),
                                ("returned", 1, 10**9), ("mastery_below", 0.0, 1.0),
                                ("inactive_days", 0, 36_500)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                from .errors import ClassroomError

                raise ClassroomError(f"{name.replace('_', ' ')} must be a number, got {value!r}")
            object.__setattr__(self, name, min(max(value, low), high))


@dataclass
class MasteryMatrix:
    """Students x competencies: the latest mastery estimate of each."""

    students: list[dict]
    competencies: list[str]
    values: dict[int, dict[str, float]]

    def value(self, student_id: int, competency: str) -> float | None:
        return self.values.get(student_id, {}).get(competency)


@dataclass(frozen=True)
class Group:
    """Students who share the same gaps: a small group for targeted teaching."""

    gaps: tuple[str, ...]
    students: tuple[int, ...]
    names: tuple[str, ...]


@dataclass
class ModalityInsight:
    """How the students who picked one modality then did at the next gate."""

    modality: str
    picks: int = 0
    students: int = 0
    gate_first_try: int = 0
    gate_later: int = 0
    gate_by_teacher: int = 0  # marked done by the teacher
    gate_not_yet: int = 0
    gate_not_reached: int = 0
    attempts: list[int] = field(default_factory=list)

    @property
    def mean_attempts(self) -> float | None:
        return sum(self.attempts) / len(self.attempts) if self.attempts else None


def _students(conn, class_code: str) -> list[dict]:
    cur = conn.execute(
        "select s.id, s.name, s.opaque_id from students s join enrolments e on "
        "e.student_id = s.id where e.class_code = ? order by s.name collate nocase",
        (class_code,))
    return [{"id": i, "name": n, "opaque_id": o} for i, n, o in cur]


def class_overview(conn, class_code: str, G: nx.DiGraph) -> list[NodeCounts]:
    """Per node of the quest: students who succeeded, failed, are there now, or have not reached it."""
    quest_id = G.graph["quest"].id
    total = conn.execute("select count(*) from enrolments where class_code = ?",
                         (class_code,)).fetchone()[0]
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    others = conn.execute(
        "select exists (select 1 from quest_status q where q.quest_id = ? and q.student_id not in "
        "(select student_id from enrolments where class_code = ?))",
        (quest_id, class_code)).fetchone()[0]
    if others:  # other classes play this quest too: count this class's students only
        rows = conn.execute(
            "select p.node, p.state, count(*) from progress p join enrolments e on "
            "e.student_id = p.student_id where e.class_code = ? and p.quest_id = ? "
            "group by p.node, p.state", (class_code, quest_id))
    else:  # every row of the quest is this class's: no join needed
        rows = conn.execute("select node, state, count(*) from progress where quest_id = ? "
                            "group by node, state", (quest_id,))
    for node, state, n in rows:
        counts[node][state] += n
    out = []
    for node in G.graph["order"] or list(G):
        c = counts.get(node, {})
        success, fail = c.get("success", 0), c.get("fail", 0)
        here = sum(c.get(s, 0) for s in HERE_STATES)
        out.append(NodeCounts(node, success, fail, here, total - success - fail - here,
                              c.get("pending_review", 0)))
    return out


def grid(conn, class_code: str, G: nx.DiGraph) -> Grid:
    """Every student's state on every node of the quest."""
    quest_id = G.graph["quest"].id
    students = _students(conn, class_code)
    status = {sid: (xp, complete) for sid, xp, complete in conn.execute(
        "select q.student_id, q.xp, q.complete from quest_status q join enrolments e on "
        "e.student_id = q.student_id where e.class_code = ? and q.quest_id = ?",
        (class_code, quest_id))}
    cells: dict[int, dict[str, str]] = defaultdict(dict)
    for sid, node, state in conn.execute(
            "select p.student_id, p.node, p.state from progress p join enrolments e on "
            "e.student_id = p.student_id where e.class_code = ? and p.quest_id = ?",
            (class_code, quest_id)):
        cells[sid][node] = state
    for s in students:
        xp, complete = status.get(s["id"], (0, 0))
        row = cells.get(s["id"], {})
        s.update(xp=xp, complete=bool(complete),
                 done=sum(1 for st in row.values() if st in ("success", "fail")))
    return Grid(students, list(G.graph["order"] or G), dict(cells))


def struggling(conn, class_code: str, graphs: dict[str, nx.DiGraph], now: datetime,
               rules: StruggleRules = StruggleRules()) -> list[Struggle]:
    """Students who need help, each with the reason in one sentence."""
    names = {s["id"]: s["name"] for s in _students(conn, class_code)}
    out: list[Struggle] = []
    titles = {q: {n: G.nodes[n]["node"].title for n in G} for q, G in graphs.items()}

    def title(q, n):
        return f"“{titles.get(q, {}).get(n, n)}”"

    quests = tuple(graphs)
    marks = ", ".join("?" for _ in quests) or "''"
    # failed a gate (or any node) several times
    for sid, q, node, fails in conn.execute(
            f"select p.student_id, p.quest_id, p.node, p.fails from progress p join enrolments e "
            f"on e.student_id = p.student_id where e.class_code = ? and p.quest_id in ({marks}) "
            f"and p.fails >= ? order by p.fails desc", (class_code, *quests, rules.gate_fails)):
        kind = graphs[q].nodes[node]["node"].kind if node in graphs[q] else "node"
        what = "checkpoint" if kind == "gate" else "step"
        out.append(Struggle(sid, names.get(sid, "?"), q, node, "fails",
                            f"did not pass the {what} {title(q, node)} {fails} times"))
    # stuck on one node
    since = (now - timedelta(days=rules.stuck_days)).isoformat()
    for sid, q, node, state, updated in conn.execute(
            f"select p.student_id, p.quest_id, p.node, p.state, p.updated from progress p join "
            f"enrolments e on e.student_id = p.student_id where e.class_code = ? and p.quest_id "
            f"in ({marks}) and p.state in ('in_progress', 'returned') and p.updated < ?",
            (class_code, *quests, since)):
        days = (now - datetime.fromisoformat(updated)).days
        out.append(Struggle(sid, names.get(sid, "?"), q, node, "stuck",
                            f"has been on {title(q, node)} for {days} days"))
    # work returned several times
    for sid, q, node, n in conn.execute(
            f"select r.student_id, r.quest_id, r.node, count(*) from reviews r join enrolments e "
            f"on e.student_id = r.student_id where e.class_code = ? and r.quest_id in ({marks}) "
            f"and r.decision = 'return' group by r.student_id, r.quest_id, r.node "
            f"having count(*) >= ?", (class_code, *quests, rules.returned)):
        out.append(Struggle(sid, names.get(sid, "?"), q, node, "returned",
                            f"had work on {title(q, node)} returned {n} times"))
    # mastery below the line
    comp_names = {c.id: c.name for G in graphs.values() for c in G.graph["quest"].competencies}
    for sid, q, comp, value in conn.execute(
            f"select m.student_id, m.quest_id, m.competency, m.value from mastery m join "
            f"enrolments e on e.student_id = m.student_id where e.class_code = ? and m.quest_id "
            f"in ({marks}) and m.evidence > 0 and m.value < ?",
            (class_code, *quests, rules.mastery_below)):
        out.append(Struggle(sid, names.get(sid, "?"), q, None, "mastery",
                            f"shows {round(100 * value)}% mastery of "
                            f"{comp_names.get(comp, comp)} (below {round(100 * rules.mastery_below)}%)"))
    # no activity
    since = (now - timedelta(days=rules.inactive_days)).isoformat()
    last = dict(conn.execute(
        "select e.student_id, max(q.last_active) from enrolments e left join quest_status q on "
        "q.student_id = e.student_id where e.class_code = ? group by e.student_id", (class_code,)))
    for sid, when in last.items():
        if when is None:
            out.append(Struggle(sid, names.get(sid, "?"), None, None, "inactive",
                                "has not started any quest yet"))
        elif when < since:
            days = (now - datetime.fromisoformat(when)).days
            out.append(Struggle(sid, names.get(sid, "?"), None, None, "inactive",
                                f"has done nothing for {days} days"))
    return sorted(out, key=lambda s: (s.name.casefold(), s.kind))


def mastery_matrix(conn, class_code: str) -> MasteryMatrix:
    """The latest mastery of each student in each competency (over all quests)."""
    students = _students(conn, class_code)
    values: dict[int, dict[str, float]] = defaultdict(dict)
    comps: set[str] = set()
    for sid, comp, value in conn.execute(
            "select m.student_id, m.competency, m.value from mastery m join enrolments e on "
            "e.student_id = m.student_id where e.class_code = ? order by m.updated",
            (class_code,)):
        values[sid][comp] = value  # later rows win: the latest estimate
        comps.add(comp)
    return MasteryMatrix(students, sorted(comps), dict(values))


def small_groups(matrix: MasteryMatrix, threshold: float = 0.8, size: int = 5) -> list[Group]:
    """Groups of at most ``size`` students who share the same gaps (mastery below threshold).

    Students with the same set of gaps are grouped together first; the rest
    are grouped by the competency most of them lack.
    """
    names = {s["id"]: s["name"] for s in matrix.students}
    gaps: dict[int, frozenset[str]] = {}
    for s in matrix.students:
        mine = frozenset(c for c, v in matrix.values.get(s["id"], {}).items() if v < threshold)
        if mine:
            gaps[s["id"]] = mine
    by_gaps: dict[frozenset[str], list[int]] = defaultdict(list)
    for sid, g in gaps.items():
        by_gaps[g].append(sid)
    groups, loose = [], []
    for g, members in sorted(by_gaps.items(), key=lambda kv: (-len(kv[1]), sorted(kv[0]))):
        if len(members) >= 2:
            for i in range(0, len(members), size):
                chunk = members[i:i + size]
                if len(chunk) >= 2:
                    groups.append(Group(tuple(sorted(g)), tuple(chunk),
                                        tuple(names[m] for m in chunk)))
                else:
                    loose += chunk
        else:
            loose += members
    while loose:  # the rest: by the gap most of them share
        counts: dict[str, int] = defaultdict(int)
        for sid in loose:
            for c in gaps[sid]:
                counts[c] += 1
        comp = max(sorted(counts), key=counts.get)
        members = [sid for sid in loose if comp in gaps[sid]][:size]
        groups.append(Group((comp,), tuple(members), tuple(names[m] for m in members)))
        loose = [sid for sid in loose if sid not in members]
    return groups


def _next_gate(G: nx.DiGraph, node: str) -> str | None:
    """The first gate after a node (breadth first), if any."""
    seen, frontier = {node}, [node]
    while frontier:
        nxt = []
        for n in frontier:
            for m in G.succ[n]:
                if m in seen:
                    continue
                if G.nodes[m]["node"].kind == "gate":
                    return m
                seen.add(m)
                nxt.append(m)
        frontier = nxt
    return None


def modality_insights(conn, class_code: str, G: nx.DiGraph) -> list[ModalityInsight]:
    """Which modalities students pick, and how those students then do at the next gate."""
    quest_id = G.graph["quest"].id
    picks: dict[tuple[int, str], str] = {}
    for sid, node, option in conn.execute(
            "select ev.student_id, ev.node, json_extract(ev.data, '$.option') from events ev "
            "join enrolments e on e.student_id = ev.student_id where e.class_code = ? and "
            "ev.quest_id = ? and ev.type = 'choose' order by ev.id", (class_code, quest_id)):
        picks[(sid, node)] = option  # the last pick counts
    gate_rows = {(sid, node): (state, attempts) for sid, node, state, attempts in conn.execute(
        "select p.student_id, p.node, p.state, p.attempts from progress p join enrolments e on "
        "e.student_id = p.student_id where e.class_code = ? and p.quest_id = ?",
        (class_code, quest_id))}
    out: dict[str, ModalityInsight] = {}
    seen_students: dict[str, set[int]] = defaultdict(set)
    for (sid, node), option_id in picks.items():
        if node not in G:
            continue
        options = {o.id: o for o in getattr(G.nodes[node]["node"], "options", [])}
        option = options.get(option_id)
        if option is None:
            continue
        m = out.setdefault(option.modality, ModalityInsight(option.modality))
        m.picks += 1
        seen_students[option.modality].add(sid)
        gate = _next_gate(G, node)
        state, attempts = gate_rows.get((sid, gate), ("", 0)) if gate else ("", 0)
        if state == "success" and attempts == 0:  # a teacher's "mark as done"
            m.gate_by_teacher += 1
        elif state == "success":
            m.attempts.append(attempts)
            if attempts == 1:
                m.gate_first_try += 1
            else:
                m.gate_later += 1
        elif state == "fail" or (attempts and state in HERE_STATES):
            m.gate_not_yet += 1
            m.attempts.append(attempts)
        else:
            m.gate_not_reached += 1
    for modality, m in out.items():
        m.students = len(seen_students[modality])
    return sorted(out.values(), key=lambda m: -m.picks)


def grid_csv(g: Grid) -> str:
    """The grid as CSV: one row per student, one column per node (opaque id, no PINs)."""
    return csv_text(["student", "opaque_id", "xp", "steps_done", *g.nodes],
                    ([s["name"], s["opaque_id"], s.get("xp", 0), s.get("done", 0),
                      *(g.state(s["id"], n) or "not_started" for n in g.nodes)]
                     for s in g.students))


def mastery_csv(m: MasteryMatrix) -> str:
    """Mastery as CSV: one row per student, one column per competency (0-1, empty if no evidence)."""
    return csv_text(["student", "opaque_id", *m.competencies],
                    ([s["name"], s["opaque_id"],
                      *("" if m.value(s["id"], c) is None else f"{m.value(s['id'], c):.2f}"
                        for c in m.competencies)] for s in m.students))


def parent_report(conn, student_id: int, graphs: dict[str, nx.DiGraph], today: str) -> str:
    """A printable HTML page for a student's family, in plain language."""
    from html import escape

    name, code = conn.execute("select name, class_code from students where id = ?",
                              (student_id,)).fetchone()
    class_name = conn.execute("select name from classes where code = ?", (code,)).fetchone()[0]
    comp_names = {c.id: c.name for G in graphs.values() for c in G.graph["quest"].competencies}
    comp_standards = {c.id: c.standard for G in graphs.values()
                      for c in G.graph["quest"].competencies}
    rows = []
    for quest_id, G in graphs.items():
        quest = G.graph["quest"]
        states = dict(conn.execute("select node, state from progress where student_id = ? and "
                                   "quest_id = ?", (student_id, quest_id)))
        status = conn.execute("select xp, complete from quest_status where student_id = ? and "
                              "quest_id = ?", (student_id, quest_id)).fetchone()
        done = sum(1 for st in states.values() if st in ("success", "fail"))
        where = ("finished" if status and status[1] else
                 f"{done} of {len(G)} steps done" if states else "not started yet")
        waiting = [G.nodes[n]["node"].title for n, st in states.items()
                   if st == "pending_review" and n in G]
        note = f" Waiting for the teacher to look at: {escape(', '.join(waiting))}." if waiting else ""
        rows.append(f"<tr><td>{escape(quest.title)}</td><td>{where}.{note}</td>"
                    f"<td>{status[0] if status else 0}</td></tr>")
    mastery = conn.execute("select competency, value, evidence from mastery where student_id = ? "
                           "order by updated", (student_id,)).fetchall()
    latest = {c: (v, n) for c, v, n in mastery}
    skills = []
    for comp, (value, n) in sorted(latest.items()):
        words = ("has mastered" if value >= 0.8 else "is getting there with" if value >= 0.5
                 else "is still learning")
        standard = f" ({escape(comp_standards.get(comp) or '')})" if comp_standards.get(comp) else ""
        skills.append(f"<li>{escape(name.split()[0])} {words} <strong>"
                      f"{escape(comp_names.get(comp, comp))}</strong>{standard}: "
                      f"{round(100 * value)}% on the latest check.</li>")
    badges = [b for (b,) in conn.execute("select badge from badges where student_id = ? order by at",
                                         (student_id,))]
    goals_row = conn.execute("select goals from profiles where student_id = ?",
                             (student_id,)).fetchone()
    goals = json.loads(goals_row[0]) if goals_row else []
    reflections = conn.execute("select text from reflections where student_id = ? order by at "
                               "desc limit 3", (student_id,)).fetchall()
    goal_items = "".join(f"<li>{escape(g['text'])}{' ✓ done' if g.get('done') else ''}</li>"
                         for g in goals) or "<li>No goals written yet.</li>"
    reflection_items = "".join(f"<li>“{escape(t)}”</li>" for (t,) in reflections) or \
        "<li>No reflections yet.</li>"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Progress report: {escape(name)}</title>
<style>
body {{ font-family: Georgia, "DejaVu Serif", serif; max-width: 760px; margin: 2em auto; color: #222; }}
h1 {{ font-size: 1.6em; margin-bottom: .2em; }} .sub {{ color: #555; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border-bottom: 1px solid #ccc; padding: 6px; text-align: left; }}
@media print {{ body {{ margin: 0; }} }}
</style></head><body>
<h1>How {escape(name)} is doing</h1>
<p class="sub">{escape(class_name)} · report of {escape(today)}</p>
<h2>Quests</h2>
<table><tr><th>Quest</th><th>Where they are</th><th>XP</th></tr>{''.join(rows)}</table>
<h2>Skills</h2><ul>{''.join(skills) or '<li>No skill checks yet.</li>'}</ul>
<h2>Badges</h2><p>{escape(', '.join(badges)) or 'None yet.'}</p>
<h2>Goals {escape(name.split()[0])} set</h2><ul>{goal_items}</ul>
<h2>In their own words</h2><ul>{reflection_items}</ul>
</body></html>
"""
