"""The progress center's figures: pure functions over plain rows, like networkx's algorithms.

The rows come from the store's reads (:class:`~questengine.store.StoreInterface`:
``node_state_counts``, ``class_progress``, ``failed_nodes``...), which are SQL
aggregates over the materialized tables (``progress``, ``quest_status``,
``mastery``, ``reviews``), never replays of event logs. Nothing here touches
a database: every function takes rows and a quest graph and returns small
typed records, so each is tested with literal rows. The classroom service
(:class:`~questengine.classroom.TeacherSession`) is the only caller: it
checks access, reads the rows and hands them here.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import networkx as nx

from .csvsafe import csv_text
from .errors import N_

__all__ = [
    "NodeCounts", "Grid", "Struggle", "StruggleRules", "MasteryMatrix", "Group",
    "ModalityInsight", "class_overview", "grid", "struggling", "mastery_matrix",
    "small_groups", "modality_insights", "grid_csv", "mastery_csv", "parent_report", "HERE_STATES",
    "ReportRows", "sorted_students", "stuck_before",
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

    students: list[dict]  # id, name, opaque_id, xp, complete, done
    nodes: list[str]
    cells: dict[int, dict[str, str]]
    titles: dict[str, str] = field(default_factory=dict)  # node -> title

    def state(self, student_id: int, node: str) -> str:
        return self.cells.get(student_id, {}).get(node, "")


@dataclass(frozen=True)
class Struggle:
    """One student who needs help now: where, why, and what would help.

    ``need`` orders the list (lower first: stuck with no attempts left comes before
    idle); ``days`` is how long since the student last moved there (None if unknown);
    ``attempts_left`` counts the tries a gate still allows (None for other steps);
    ``actions`` are the teacher's overrides that fit (``unlock``, ``reset``, ``approve``).
    """

    student_id: int
    name: str
    quest_id: str | None
    node: str | None
    kind: str
    reason: str
    help: str = ""
    need: int = 9
    days: int | None = None
    attempts_left: int | None = None
    actions: tuple[str, ...] = ()
    since: str | None = None  # when the student last moved there (UTC ISO), if known


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


def sorted_students(rows: Iterable[dict]) -> list[dict]:
    """Students in the order pages list them: by name (case-insensitive), then id.

    >>> [s["name"] for s in sorted_students([{"id": 2, "name": "bo"}, {"id": 1, "name": "Al"}])]
    ['Al', 'bo']
    """
    return sorted((dict(r) for r in rows), key=lambda s: (s["name"].casefold(), s["id"]))


def class_overview(nodes: list[str], enrolled: int,
                   counts: Iterable[tuple[str, str, int]]) -> list[NodeCounts]:
    """Per node: students who succeeded, failed, are there now, or have not reached it.

    ``counts`` are (node, state, students) rows of the class's ``progress``;
    ``enrolled`` is how many students the class has.

    >>> rows = [("a", "success", 3), ("a", "fail", 1), ("b", "available", 2), ("b", "locked", 2)]
    >>> [(n.node, n.success, n.fail, n.here, n.not_reached) for n in class_overview(["a", "b"], 5, rows)]
    [('a', 3, 1, 0, 1), ('b', 0, 0, 2, 3)]
    """
    by_node: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for node, state, n in counts:
        by_node[node][state] += n
    out = []
    for node in nodes:
        c = by_node.get(node, {})
        success, fail = c.get("success", 0), c.get("fail", 0)
        here = sum(c.get(s, 0) for s in HERE_STATES)
        out.append(NodeCounts(node, success, fail, here, enrolled - success - fail - here,
                              c.get("pending_review", 0)))
    return out


def grid(students: Iterable[dict], nodes: list[str], progress: Iterable[tuple],
         status: Iterable[tuple[int, int, int]], titles: dict[str, str] | None = None) -> Grid:
    """Every student's state on every node: ``progress`` rows (student, node, state, ...),
    ``status`` rows (student, xp, complete).

    >>> g = grid([{"id": 1, "name": "Al", "opaque_id": "x1"}], ["a", "b"],
    ...          [(1, "a", "success", 1)], [(1, 5, 0)])
    >>> g.state(1, "a"), g.state(1, "b"), g.students[0]["xp"], g.students[0]["done"]
    ('success', '', 5, 1)
    """
    students = sorted_students(students)
    xp_done = {sid: (xp, complete) for sid, xp, complete in status}
    cells: dict[int, dict[str, str]] = defaultdict(dict)
    for sid, node, state, *_ in progress:
        cells[sid][node] = state
    for s in students:
        xp, complete = xp_done.get(s["id"], (0, 0))
        row = cells.get(s["id"], {})
        s.update(xp=xp, complete=bool(complete),
                 done=sum(1 for st in row.values() if st in ("success", "fail")))
    return Grid(students, list(nodes), dict(cells), dict(titles or {}))


def _same(text: str) -> str:
    return text


NEED = {"out_of_attempts": 0, "stuck": 1, "returned": 2, "fails": 3, "mastery": 4,
        "inactive": 5}  # the order of the struggling list: who is stuck now comes first
FINISHED = ("success",)


def struggling(students: Iterable[dict], graphs: dict[str, nx.DiGraph], now: datetime,
               rules: StruggleRules = StruggleRules(), *,
               fails: Iterable[tuple] = (), stuck: Iterable[tuple] = (),
               returned: Iterable[tuple] = (), low_mastery: Iterable[tuple] = (),
               last_active: Iterable[tuple] = (), current: dict | None = None,
               complete: Iterable[tuple[int, str]] = (),
               translate: Callable[[str], str] | None = None) -> list[Struggle]:
    """Students who need help now, most urgent first, each with the reason and what would help.

    The rows are what the store's reads give, already cut by ``rules``:
    ``fails`` (student, quest, node, fails), ``stuck`` (student, quest, node,
    state, updated), ``returned`` (student, quest, node, returns),
    ``low_mastery`` (student, quest, competency, value) and ``last_active``
    (student, when or None) for every student of the class. ``current`` maps
    (student, quest, node) to the node's state now and ``complete`` holds the
    (student, quest) pairs finished: a struggle that is over (the step passed
    since, the quest finished) is history, not a flag. ``translate`` (the teacher's gettext
    function; English by default) gives the reasons and help texts in their language.

    >>> now = datetime(2024, 9, 10)
    >>> found = struggling([{"id": 1, "name": "Al"}, {"id": 2, "name": "Bo"}], {}, now,
    ...                    last_active=[(1, None), (2, "2024-09-01T00:00:00")])
    >>> [(s.name, s.reason) for s in found]
    [('Bo', 'has done nothing for 9 days'), ('Al', 'has not started any quest yet')]
    """
    _ = translate or _same
    names = {s["id"]: s["name"] for s in students}
    current = current or {}
    complete = set(complete)
    out: list[Struggle] = []
    titles = {q: {n: G.nodes[n]["node"].title for n in G} for q, G in graphs.items()}

    def title(q, n):
        return _("“{title}”").format(title=titles.get(q, {}).get(n, n))

    def over(sid, q, node=None):
        return (sid, q) in complete or (node is not None and current.get((sid, q, node))
                                        in FINISHED)

    def add(sid, q, node, kind, reason, help, need, days=None, left=None, actions=(),
            since=None):
        out.append(Struggle(sid, names.get(sid, "?"), q, node, kind, reason, help, need,
                            days, left, tuple(actions), since))

    for sid, q, node, n in fails:  # failed a gate (or any node) several times, not passed since
        if over(sid, q, node):
            continue
        spec = graphs[q].nodes[node]["node"] if q in graphs and node in graphs[q] else None
        kind = getattr(spec, "kind", "node")
        left = max(0, spec.max_attempts - n) if kind == "gate" else None
        state = current.get((sid, q, node), "")
        reason = _(N_("did not pass the checkpoint {step} {n} times") if kind == "gate" else
                   N_("did not pass the step {step} {n} times")).format(step=title(q, node), n=n)
        if left == 0 and state == "fail":
            add(sid, q, node, "fails", reason,
                _("No attempts left: go over it together, then give one more attempt "
                  "(unlock) or mark it as done."), NEED["out_of_attempts"], left=0,
                actions=("unlock", "approve", "reset"))
        else:
            tries = ("" if left is None else _("given another attempt") if left == 0 else
                     _(N_("{n} attempt left") if left == 1 else N_("{n} attempts left")).format(
                         n=left))
            add(sid, q, node, "fails", reason,
                _("Still trying ({tries}): a short talk or the extra practice may help.").format(
                    tries=tries) if tries else _("Still trying: a short talk may help."),
                NEED["fails"], left=left, actions=("unlock", "reset"))
    for sid, q, node, state, updated in stuck:  # stuck on one node, now
        if over(sid, q, node):
            continue
        days = (now - datetime.fromisoformat(updated)).days
        help = (_("Read the feedback with them: the work is waiting for their revision.")
                if state == "returned" else _("Ask what blocks them; reset the step if they "
                                              "want a fresh start."))
        add(sid, q, node, "stuck", _(N_("has been on {step} for {n} day") if days == 1 else
                                     N_("has been on {step} for {n} days")).format(
                                         step=title(q, node), n=days), help,
            NEED["stuck"], days, actions=("reset", "approve"), since=updated)
    for sid, q, node, n in returned:  # work returned several times, not accepted since
        if over(sid, q, node) or current.get((sid, q, node)) == "fail":
            continue
        add(sid, q, node, "returned", _("had work on {step} returned {n} times").format(
                step=title(q, node), n=n),
            _("Show an example of finished work, or accept it as it is."), NEED["returned"],
            actions=("approve", "reset"))
    comp_names = {c.id: c.name for G in graphs.values() for c in G.graph["quest"].competencies}
    weak: dict[tuple[int, str], list[tuple[float, str]]] = defaultdict(list)
    for sid, q, comp, value in low_mastery:  # mastery below the line, in a quest still going
        if not over(sid, q):
            weak[(sid, q)].append((value, comp_names.get(comp, comp)))
    for (sid, q), skills in weak.items():  # one item per student and quest: the weakest skill
        value, name = min(skills)
        more = len(skills) - 1
        reason = _("shows {percent}% mastery of {skill} (below {line}%)").format(
            percent=round(100 * value), skill=name, line=round(100 * rules.mastery_below))
        if more:
            reason += _(N_(", and {n} other skill below it") if more == 1 else
                        N_(", and {n} other skills below it")).format(n=more)
        add(sid, q, None, "mastery", reason,
            _("Suggest the extra practice, or group them with others who share this gap "
              "(Mastery & groups)."), NEED["mastery"])
    since = (now - timedelta(days=rules.inactive_days)).isoformat()
    done_all = {sid for sid in names if graphs and all((sid, q) in complete for q in graphs)}
    for sid, when in last_active:  # no activity, with something left to do
        if sid in done_all:
            continue
        if when is None:
            add(sid, None, None, "inactive", _("has not started any quest yet"),
                _("Check that they can log in (class code, name and PIN)."), NEED["inactive"])
        elif when < since:
            days = (now - datetime.fromisoformat(when)).days
            add(sid, None, None, "inactive", _(N_("has done nothing for {n} day") if days == 1
                                               else N_("has done nothing for {n} days")).format(
                                                   n=days),
                _("Check in with them: a reminder of where they are may help."),
                NEED["inactive"], days, since=when)
    return sorted(out, key=lambda s: (s.need, -(s.days if s.days is not None else -1),
                                      s.attempts_left if s.attempts_left is not None else 99,
                                      s.name.casefold(), s.quest_id or "", s.node or ""))


def stuck_before(now: datetime, rules: StruggleRules) -> str:
    """The time before which an unfinished step counts as stuck (for the store's read)."""
    return (now - timedelta(days=rules.stuck_days)).isoformat()


def mastery_matrix(students: Iterable[dict], rows: Iterable[tuple[int, str, float]]) -> MasteryMatrix:
    """The latest mastery of each student in each competency; ``rows`` oldest first.

    >>> m = mastery_matrix([{"id": 1, "name": "Al"}], [(1, "equiv", 0.4), (1, "equiv", 0.9)])
    >>> m.competencies, m.value(1, "equiv")
    (['equiv'], 0.9)
    """
    values: dict[int, dict[str, float]] = defaultdict(dict)
    comps: set[str] = set()
    for sid, comp, value in rows:
        values[sid][comp] = value  # later rows win: the latest estimate
        comps.add(comp)
    return MasteryMatrix(sorted_students(students), sorted(comps), dict(values))


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


def modality_insights(G: nx.DiGraph, picks: Iterable[tuple[int, str, str]],
                      progress: Iterable[tuple[int, str, str, int]]) -> list[ModalityInsight]:
    """Which modalities students pick, and how those students then do at the next gate.

    ``picks`` are (student, node, option) in the order made (the last pick of
    a node counts); ``progress`` (student, node, state, attempts) rows.
    """
    last_pick: dict[tuple[int, str], str] = {}
    for sid, node, option in picks:
        last_pick[(sid, node)] = option
    gate_rows = {(sid, node): (state, attempts) for sid, node, state, attempts in progress}
    out: dict[str, ModalityInsight] = {}
    seen_students: dict[str, set[int]] = defaultdict(set)
    for (sid, node), option_id in last_pick.items():
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




def grid_csv(g: Grid, *, anonymous: bool = False) -> str:
    """The grid as CSV: one row per student, one column per node (opaque id, no PINs).

    Columns: name (left out when ``anonymous``), opaque_id, xp, complete
    (yes/no), steps_done, then one per node in map order, headed by its title
    and id, holding the student's state there (``not_started`` where the
    student has no row yet).

    >>> g = grid([{"id": 1, "name": "Al", "opaque_id": "x1"}], ["a"], [(1, "a", "fail", 1)],
    ...          [(1, 5, 0)], {"a": "Start"})
    >>> grid_csv(g).splitlines()
    ['name,opaque_id,xp,complete,steps_done,Start (a)', 'Al,x1,5,no,1,fail']
    """
    header = ([] if anonymous else ["name"]) + ["opaque_id", "xp", "complete", "steps_done"]
    header += [f"{g.titles[n]} ({n})" if g.titles.get(n, n) != n else n for n in g.nodes]
    return csv_text(header, (
        ([] if anonymous else [s["name"]])
        + [s["opaque_id"], s.get("xp", 0), "yes" if s.get("complete") else "no", s.get("done", 0)]
        + [g.state(s["id"], n) or "not_started" for n in g.nodes]
        for s in g.students))


def mastery_csv(m: MasteryMatrix) -> str:
    """Mastery as CSV: one row per student, one column per competency (0-1, empty if no evidence)."""
    return csv_text(["name", "opaque_id", *m.competencies], (
        [s["name"], s["opaque_id"],
         *("" if m.value(s["id"], c) is None else f"{m.value(s['id'], c):.2f}"
           for c in m.competencies)] for s in m.students))


@dataclass
class ReportRows:
    """What a parent report is made of, as the store reads it for one student."""

    name: str
    class_name: str
    states: dict[str, dict[str, str]]  # quest -> node -> state
    status: dict[str, dict | None]  # quest -> quest_status row
    mastery: list[tuple[str, float, int]]  # (competency, value, evidence), oldest first
    badges: list[str]
    goals: list[dict]
    reflections: list[str]  # newest first


def parent_report(r: ReportRows, graphs: dict[str, nx.DiGraph], today: str) -> str:
    """A printable HTML page for a student's family, in plain language."""
    from html import escape

    name, class_name = r.name, r.class_name
    comp_names = {c.id: c.name for G in graphs.values() for c in G.graph["quest"].competencies}
    comp_standards = {c.id: c.standard for G in graphs.values()
                      for c in G.graph["quest"].competencies}
    rows = []
    for quest_id, G in graphs.items():
        quest = G.graph["quest"]
        states = r.states.get(quest_id, {})
        status = r.status.get(quest_id)
        done = sum(1 for st in states.values() if st in ("success", "fail"))
        # counted as on the student's page: closed paths (not needed) are not steps to do
        total = sum(1 for n in G if states.get(n) != "closed")
        where = ("finished" if status and status["complete"] else
                 f"{done} of {total} steps done" if states else "not started yet")
        waiting = [G.nodes[n]["node"].title for n, st in states.items()
                   if st == "pending_review" and n in G]
        note = f" Waiting for the teacher to look at: {escape(', '.join(waiting))}." if waiting else ""
        rows.append(f"<tr><td>{escape(quest.title)}</td><td>{where}.{note}</td>"
                    f"<td>{status['xp'] if status else 0}</td></tr>")
    latest = {c: (v, n) for c, v, n in r.mastery}
    skills = []
    for comp, (value, n) in sorted(latest.items()):
        words = ("has mastered" if value >= 0.8 else "is getting there with" if value >= 0.5
                 else "is still learning")
        standard = f" ({escape(comp_standards.get(comp) or '')})" if comp_standards.get(comp) else ""
        skills.append(f"<li>{escape(name.split()[0])} {words} <strong>"
                      f"{escape(comp_names.get(comp, comp))}</strong>{standard}: "
                      f"{round(100 * value)}% on the latest check.</li>")
    badges = r.badges
    goal_items = "".join(f"<li>{escape(g['text'])}{' ✓ done' if g.get('done') else ''}</li>"
                         for g in r.goals) or "<li>No goals written yet.</li>"
    reflection_items = "".join(f"<li>“{escape(t)}”</li>" for t in r.reflections) or \
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
