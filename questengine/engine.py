"""The progression engine: pure functions over a quest graph and an event log.

``replay(G, events)`` derives a student's whole :class:`Progress` from the
append-only events; ``act(G, progress, action)`` checks that an action is
legal and returns the events to append. Grading happens here, never in the
browser. Nothing in this module does I/O or keeps global state.

Semantics (DESIGN section 3): an edge is met when its source is completed
with a matching outcome (``done`` matches either). A node unlocks when all
(or, with ``requires: any``, any) of its incoming edges are met. Completing
the source of a ``retry`` edge reopens a failed gate for a new attempt: the
gate and every node played after it start a new round, and earlier rounds
stay in each node's ``history``.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import networkx as nx

from .errors import N_, Message, ProgressError, Step
from .grading import check_answers, grade
from .graph import outcomes, title
from .mastery import BKT, Observation, estimate
from .model import timed_minutes
from .rewards import BUILTIN_BADGES, BadgeRule, earned_badges, level_for

__all__ = [
    "STATES", "EVENT_TYPES", "ACTION_TYPES", "Event", "Action", "Submission", "Review", "Pick",
    "NodeProgress", "Progress", "replay", "extend", "available", "explain", "act",
    "TIME_GRACE", "TIME_UP", "deadline", "seconds_left",
]

STATES = ("locked", "available", "in_progress", "pending_review", "returned", "success", "fail",
          "closed")
EVENT_TYPES = ("open", "choose", "submit", "grade", "review", "complete", "reflect", "override")
ACTION_TYPES = ("open", "choose", "answer", "submit", "complete", "reflect", "review", "override")
ROLES = ("student", "teacher", "system")
REVIEW_DECISIONS = ("approve", "fail", "return")
OVERRIDES = ("unlock", "reset", "approve", "award")
MAX_TEXT = 20_000
CHECKER_FAILED = N_("The checker for this step failed; your teacher has been told. Try again "
                    "later.")
PLAYABLE = ("available", "in_progress", "returned")
#: how late an answer to a timed challenge may arrive and still count as in time (the network,
#: a loaded server): answers stamped after the start + the limit + this are out of time
TIME_GRACE = timedelta(seconds=15)
TIME_UP = "time"  # the ``reason`` of a timed challenge's failed attempt when time was up


@dataclass(frozen=True)
class Event:
    """One fact in the log: who did what to which node, when, against which quest version."""

    type: str
    node: str
    role: str = "student"
    actor: str = ""
    at: str = ""
    quest: str = ""
    version: int = 0
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Event":
        return cls(**data)


@dataclass(frozen=True)
class Action:
    """Something a student or teacher wants to do; :func:`act` decides whether they may.

    ``type`` is one of ACTION_TYPES; the other fields are used by the types
    that need them: ``option`` (choose), ``answers`` (answer), ``content``
    (submit), ``text`` (reflect), ``decision`` and ``feedback`` (review),
    ``op``, ``reason``, ``xp`` and ``badge`` (override).
    """

    type: str
    node: str
    option: str | None = None
    answers: dict | None = None
    content: str | None = None
    text: str | None = None
    decision: str | None = None
    feedback: str | None = None
    op: str | None = None
    reason: str | None = None
    xp: int = 0
    badge: str | None = None


@dataclass(frozen=True)
class Submission:
    round: int
    content: str
    at: str = ""


@dataclass(frozen=True)
class Review:
    round: int
    decision: str
    feedback: str = ""
    actor: str = ""
    at: str = ""


@dataclass
class Pick:
    """A modality choice and, once known, how it went."""

    node: str
    option: str
    modality: str
    round: int
    outcome: str | None = None


@dataclass
class NodeProgress:
    """One node as one student sees it, with everything that happened to it."""

    id: str
    kind: str
    state: str = "locked"
    outcome: str | None = None
    attempts: int = 0
    round: int = 1
    score: float | None = None
    results: dict = field(default_factory=dict)
    answers: dict | None = None
    option: str | None = None
    submissions: list[Submission] = field(default_factory=list)
    reviews: list[Review] = field(default_factory=list)
    reflection: str | None = None
    mastery: dict = field(default_factory=dict)
    perfect: bool = False
    xp: int = 0
    retry_ready: bool = False
    unlocked: bool = False
    extra_attempts: int = 0
    graded: int = 0
    fails: int = 0
    touched: int = -1  # the event (by number) that first touched it in this round
    done_at: int = -1  # the event that last completed it
    by_teacher: bool = False
    history: list[dict] = field(default_factory=list)
    tries: int = 0  # answers checked in this round (plugin kinds may allow several)
    report: dict = field(default_factory=dict)  # the last check's feedback and details
    started: str = ""  # when this round was opened (a timed challenge's clock starts here)
    time_up: bool = False  # this round's attempt came after a timed challenge's time was up
    # internal: None (untouched), "open", "pending", "returned" or "done"
    status: str | None = field(default=None, repr=False)
    paid: set = field(default_factory=set, repr=False)

    def copy(self) -> "NodeProgress":
        new = object.__new__(NodeProgress)
        new.__dict__.update(self.__dict__)
        new.results, new.mastery, new.paid = dict(self.results), dict(self.mastery), set(self.paid)
        new.answers = dict(self.answers) if self.answers is not None else None
        new.submissions, new.reviews = list(self.submissions), list(self.reviews)
        new.history = list(self.history)
        new.report = dict(self.report)
        return new

    @property
    def opened(self) -> bool:
        """Whether this round was opened (a timed challenge's clock runs from then)."""
        return self.status is not None

    @property
    def feedback(self) -> list[Review]:
        """Every review with written feedback, oldest first (all rounds)."""
        return [r for r in self.reviews if r.feedback]


@dataclass
class Progress:
    """Everything :func:`replay` derives for one student in one quest."""

    graph: nx.DiGraph = field(repr=False, compare=False)
    quest: str
    version: int
    nodes: dict[str, NodeProgress]
    xp: int = 0
    level: int = 1
    badges: list[str] = field(default_factory=list)
    awarded: list[str] = field(default_factory=list)
    ends: list[str] = field(default_factory=list)
    picks: list[Pick] = field(default_factory=list)
    evidence: dict[str, list[Observation]] = field(default_factory=dict)
    mastery: dict[str, float] = field(default_factory=dict)
    struggling: dict[str, str] = field(default_factory=dict)
    current: str | None = None
    events: int = 0
    ignored: int = 0
    # nodes whose NodeProgress this progress shares with a copy (copy-on-write: the engine
    # copies one with :meth:`own` before changing it, so copies stay independent)
    _shared: set = field(default_factory=set, repr=False, compare=False)

    @property
    def complete(self) -> bool:
        """Whether the student has completed an ``end`` node."""
        return bool(self.ends)

    def state(self, node: str) -> str:
        return self.nodes[node].state

    def copy(self) -> "Progress":
        """An independent copy (sharing the graph and the immutable records inside).

        Copy-on-write: the two share every node's record until the engine changes one
        (through :meth:`own`), so a copy costs one dict, not one record per node.
        """
        shared = set(self.nodes)
        self._shared = set(shared)
        return replace(self, nodes=dict(self.nodes), badges=list(self.badges),
                       awarded=list(self.awarded), ends=list(self.ends), picks=list(self.picks),
                       evidence=dict(self.evidence), mastery=dict(self.mastery),
                       struggling=dict(self.struggling), _shared=shared)

    def own(self, node: str) -> NodeProgress:
        """The record of ``node``, this progress's own (copied first if a copy shares it).

        Everything that changes a node's record goes through here; records are never
        changed in place while shared, nor are the picks and evidence lists (replaced).
        """
        np = self.nodes[node]
        if node in self._shared:
            self._shared.discard(node)
            np = self.nodes[node] = np.copy()
        return np

    def states(self) -> dict[str, str]:
        return {n: np.state for n, np in self.nodes.items()}


# --- replay --------------------------------------------------------------------


def replay(G: nx.DiGraph, events: Iterable[Event],
           badge_rules: tuple[BadgeRule, ...] | None = None) -> Progress:
    """Derive a student's progress from their events, in order.

    Badges come from ``badge_rules``, else from the graph's ``badges`` (the
    plugin registry puts them there), else from the built-in rules.

    Events on nodes the quest no longer has (a newer version removed them)
    are kept by the store and skipped here; ``progress.ignored`` counts them.
    """
    quest = G.graph["quest"]
    progress = Progress(graph=G, quest=quest.id, version=quest.version,
                        nodes={n.id: NodeProgress(n.id, n.kind) for n in quest.nodes})
    return extend(progress, events, badge_rules)


def extend(progress: Progress, events: Iterable[Event],
           badge_rules: tuple[BadgeRule, ...] | None = None) -> Progress:
    """Apply more events to ``progress`` in place and derive its states again.

    ``extend(replay(G, a), b)`` equals ``replay(G, a + b)``: the service uses it
    to keep a student's progress up to date without replaying the whole log.
    """
    G = progress.graph
    nodes = progress.nodes  # own() replaces records in this same dict
    for event in events:
        apply = _APPLY.get(event.type)
        if event.node not in nodes or apply is None:
            progress.ignored += 1
            continue
        apply(G, progress, progress.own(event.node), event)
        progress.events += 1
    _derive_states(G, progress)
    progress.mastery = {c: estimate(obs) for c, obs in progress.evidence.items()}
    progress.level = level_for(progress.xp)
    if badge_rules is None:
        badge_rules = G.graph.get("badges", BUILTIN_BADGES)
    rule_badges = earned_badges(progress, badge_rules)
    progress.badges = list(dict.fromkeys(progress.awarded + rule_badges))
    return progress


def _touch(p: Progress, np: NodeProgress) -> None:
    if np.status is None:
        np.touched = p.events


def _on_open(G, p: Progress, np: NodeProgress, ev: Event) -> None:
    _touch(p, np)
    if np.status is None:
        np.status = "open"
        np.started = ev.at
    np.retry_ready = False
    p.current = np.id


def _on_choose(G, p, np, ev) -> None:
    _on_open(G, p, np, ev)
    np.option = ev.data.get("option")
    option = _option(G, np.id, np.option)
    p.picks = [k for k in p.picks if not (k.node == np.id and k.round == np.round)]
    p.picks.append(Pick(np.id, np.option, option.modality if option else "other", np.round))


def _on_submit(G, p, np, ev) -> None:
    _touch(p, np)
    if np.status is None:
        np.status = "open"
    if "answers" in ev.data:
        np.answers = dict(ev.data["answers"])
    if "content" in ev.data:
        np.submissions.append(Submission(np.round, ev.data["content"], ev.at))
        np.status = "pending"
    p.current = np.id


def _on_grade(G, p, np, ev) -> None:
    np.score = ev.data.get("score")
    np.results = dict(ev.data.get("results", {}))
    np.mastery = dict(ev.data.get("mastery", {}))
    np.perfect = np.perfect or (bool(np.results) and all(np.results.values()))
    np.graded += 1
    np.tries += 1
    np.report = dict(ev.data.get("report") or {})
    attempt = np.graded
    for comp in G.nodes[np.id]["node"].competencies:
        p.evidence[comp] = p.evidence.get(comp, []) + [  # a new list: copies share the old
            Observation(ok, np.score or 0.0, np.id, attempt) for ok in np.results.values()]


def _on_review(G, p, np, ev) -> None:
    decision = ev.data.get("decision")
    np.reviews.append(Review(np.round, decision, ev.data.get("feedback") or "", ev.actor, ev.at))
    if decision == "return":
        np.status = "returned"
    elif decision in ("approve", "fail"):
        ok = decision == "approve"
        np.graded += 1
        for comp in G.nodes[np.id]["node"].competencies:
            p.evidence[comp] = p.evidence.get(comp, []) + [
                Observation(ok, 1.0 if ok else 0.0, np.id, np.graded)]


def _on_complete(G, p, np, ev) -> None:
    np.time_up = ev.data.get("reason") == TIME_UP
    _finish(G, p, np, ev.data.get("outcome", "success"))
    source_of_retry = G.graph["retry"].get(np.id)
    if source_of_retry is not None:
        _retry(G, p, source_of_retry)


def _finish(G, p: Progress, np: NodeProgress, outcome: str, by_teacher: bool = False) -> None:
    node = G.nodes[np.id]["node"]
    _touch(p, np)
    np.status, np.outcome = "done", outcome
    np.done_at = p.events
    np.by_teacher = by_teacher
    if not by_teacher:
        np.attempts += 1
    if outcome == "fail":
        np.fails += 1  # over all rounds: the progress center counts them
    np.retry_ready = False
    if outcome not in np.paid:  # XP once per node and outcome: replays of a path earn no more
        np.paid.add(outcome)
        gained = node.xp if outcome == "success" else node.fail_xp
        np.xp += gained
        p.xp += gained
    if node.kind == "end" and np.id not in p.ends:
        p.ends.append(np.id)
        p.xp += node.rewards.xp
        np.xp += node.rewards.xp
        if node.rewards.badge:
            p.awarded.append(node.rewards.badge)
    p.picks = [replace(k, outcome=outcome) if k.node == np.id and k.round == np.round else k
               for k in p.picks]  # picks are shared with copies: replaced, never changed
    if node.kind == "gate":
        if outcome == "fail" and np.attempts >= node.max_attempts + np.extra_attempts:
            p.struggling[np.id] = (
                f"did not pass {title(G, np.id)} in {np.attempts} attempts "
                f"(the most allowed is {node.max_attempts + np.extra_attempts})")
        elif outcome == "success":
            p.struggling.pop(np.id, None)


def _retry(G, p: Progress, gate: str) -> None:
    gp = p.nodes[gate]
    node = G.nodes[gate]["node"]
    if gp.status == "done" and gp.outcome == "fail" and gp.attempts < node.max_attempts + gp.extra_attempts:
        _new_round(G, p, gate, since=gp.done_at)
        p.own(gate).retry_ready = True


def _new_round(G, p: Progress, start: str, since: int, reset_attempts: bool = False) -> None:
    """Start a new round for ``start`` and the nodes played after it (history kept).

    Only nodes first touched after event number ``since`` (the gate's failed
    attempt, or the reset node's start) are reset: work done before, through
    another path, stays done.
    """
    for n in _round_members(G, p, start, since):
        np = p.nodes[n]
        if np.status is not None or n == start:
            np = p.own(n)
            np.history.append({"round": np.round, "outcome": np.outcome, "score": np.score,
                               "option": np.option, "answers": np.answers,
                               "time_up": np.time_up})
            np.round += 1
            np.status = np.outcome = np.score = np.answers = np.option = None
            np.results = {}
            np.tries, np.report = 0, {}
            np.started, np.time_up = "", False
            np.retry_ready = False
            np.by_teacher = False
            if n != start:
                np.unlocked = False
            np.touched = -1
    if reset_attempts:
        p.own(start).attempts = 0
        p.own(start).extra_attempts = 0
        p.struggling.pop(start, None)


def _round_members(G, p: Progress, start: str, since: int) -> list[str]:
    """``start`` and the nodes a new round from it resets: those played after event ``since``
    that follow it through nodes also played after ``since``."""
    stack, seen = [start], {start: None}  # a dict keeps the order found
    while stack:
        for nxt in G.succ[stack.pop()]:
            np = p.nodes[nxt]
            if nxt not in seen and np.status is not None and np.touched > since:
                seen[nxt] = None
                stack.append(nxt)
    return list(seen)


def _on_reflect(G, p, np, ev) -> None:
    np.reflection = ev.data.get("text")


def _on_override(G, p, np, ev) -> None:
    op = ev.data.get("op")
    if op == "unlock":
        if np.status == "done" and np.outcome == "fail" and np.kind == "gate":
            np.extra_attempts += 1
            p.struggling.pop(np.id, None)
            _new_round(G, p, np.id, since=np.done_at)
            np.retry_ready = True
        np.unlocked = True
    elif op == "reset":
        _new_round(G, p, np.id, since=np.touched, reset_attempts=True)
    elif op == "approve":
        _finish(G, p, np, "success", by_teacher=True)
    elif op == "award":
        p.xp += int(ev.data.get("xp") or 0)
        if ev.data.get("badge"):
            p.awarded.append(ev.data["badge"])


_APPLY = {
    "open": _on_open, "choose": _on_choose, "submit": _on_submit, "grade": _on_grade,
    "review": _on_review, "complete": _on_complete, "reflect": _on_reflect,
    "override": _on_override,
}


def _reopenable(G, np: NodeProgress) -> bool:
    if np.kind != "gate" or np.outcome != "fail":
        return False
    node = G.nodes[np.id]["node"]
    return np.id in G.graph["retry_gates"] and np.attempts < node.max_attempts + np.extra_attempts


def _replayable(G, p: Progress) -> set[str]:
    """Nodes a retry can still play again: for each gate that may reopen, its fail path
    and every node its new round would reset (played after its failed attempt)."""
    found: set[str] = set()
    for gate in G.graph["retry_gates"]:
        gp = p.nodes[gate]
        if _reopenable(G, gp):
            found.update(_round_members(G, p, gate, since=gp.done_at)[1:])
            stack = [v for v, d in G.succ[gate].items() if d["when"] == "fail"]
            while stack:
                n = stack.pop()
                if n not in found:
                    found.add(n)
                    stack.extend(G.succ[n])
    return found


def _edge_status(G, p: Progress, u: str, when: str,
                 replayable: set[str] = frozenset()) -> tuple[bool, bool]:
    """(met now, could still be met) for an edge out of ``u``."""
    up = p.nodes[u]
    if up.status == "done" and (when == "done" or up.outcome == when):
        return True, True
    if up.state == "closed" and u not in replayable:
        return False, False
    if up.status == "done" and not (_reopenable(G, up) or u in replayable):
        return False, False
    return False, when == "done" or when in outcomes(G.nodes[u]["node"])


def _derive_states(G, p: Progress) -> None:
    replayable = _replayable(G, p)
    for n in G.graph["order"]:
        np = p.nodes[n]
        if np.status == "done":
            state = np.outcome
        elif np.status == "pending":
            state = "pending_review"
        elif np.status == "returned":
            state = "returned"
        elif np.status == "open":
            state = "in_progress"
        else:
            met, possible = _condition(G, p, n, replayable)
            state = "available" if met or np.unlocked else ("locked" if possible else "closed")
        if np.state != state:
            p.own(n).state = state


def _condition(G, p: Progress, n: str, replayable: set[str]) -> tuple[bool, bool]:
    incoming = G.pred[n]
    if not incoming:
        return True, True
    statuses = [_edge_status(G, p, u, data["when"], replayable) for u, data in incoming.items()]
    if G.nodes[n]["node"].requires == "any":
        return any(m for m, _ in statuses), any(c for _, c in statuses)
    return all(m for m, _ in statuses), all(c for _, c in statuses)


def _option(G, node_id: str, option_id: str | None):
    node = G.nodes[node_id]["node"]
    return next((o for o in getattr(node, "options", []) if o.id == option_id), None)


# --- questions a student asks ----------------------------------------------------


def available(progress: Progress) -> list[str]:
    """Nodes the student can act on now (available, in progress or returned), in map order."""
    return [n for n in progress.graph.graph["order"] if progress.nodes[n].state in PLAYABLE]


def _same(message: str) -> str:
    return message


_NEEDS = {"done": N_("finishing {step}"), "success": N_("passing {step}"),
          "fail": N_("not passing {step}")}


def explain(progress: Progress, node: str, *, translate=None, names=None) -> str:
    """One plain sentence: the state of ``node`` and, if locked or closed, what it waits for.

    ``translate`` maps each English sentence pattern to the reader's language (a gettext
    function: :func:`questengine.i18n.explain` passes one; the engine itself does no I/O);
    ``names`` is a graph whose titles name the steps (a translated copy), else the quest's.
    """
    _ = translate or _same
    G = progress.graph
    if node not in progress.nodes:
        raise ProgressError(f"there is no step {node!r} in this quest", node)
    shown = names if names is not None else G

    def name_of(n: str) -> str:
        model = (shown.nodes[n].get("node") if n in shown else None) or G.nodes[n].get("node")
        return _("“{title}”").format(title=getattr(model, "title", None) or n)

    np = progress.nodes[node]
    name = name_of(node)
    model = G.nodes[node]["node"]
    joiner = _(" or ") if model.requires == "any" else _(" and ")
    if np.state == "locked":
        waits = [_(_NEEDS[d["when"]]).format(step=name_of(u)) for u, d in G.pred[node].items()
                 if not _edge_status(G, progress, u, d["when"])[0]]
        return _("{step} is locked: it opens after {what}.").format(step=name,
                                                                   what=_join(waits, joiner))
    if np.state == "closed":
        blocked = []
        for u, d in G.pred[node].items():
            _met, could = _edge_status(G, progress, u, d["when"], _replayable(G, progress))
            if not could:
                up = progress.nodes[u]
                why = (_("{step} is closed") if up.state == "closed" else
                       _("{step} was passed") if up.outcome == "success" else
                       _("{step} was not passed")).format(step=name_of(u))
                blocked.append(_("{need}, but {why}").format(
                    need=_(_NEEDS[d["when"]]).format(step=name_of(u)), why=why))
        return _("{step} is closed: it opens only after {what}.").format(
            step=name, what=_join(blocked, joiner))
    if np.state == "available":
        if np.retry_ready:
            return _("{step} is open again: try it once more (attempt {n}).").format(
                step=name, n=np.attempts + 1)
        return _("{step} is open: you can start it now.").format(step=name)
    if np.state == "in_progress":
        return _("{step} is in progress.").format(step=name)
    if np.state == "pending_review":
        return _("{step} is waiting for your teacher's review.").format(step=name)
    if np.state == "returned":
        return _("Your teacher returned {step} with feedback: revise it and submit it "
                 "again.").format(step=name)
    if np.state == "success":
        return _("{step} is done.").format(step=name)
    if np.kind == "gate":
        allowed = model.max_attempts + np.extra_attempts
        if np.attempts >= allowed:
            return _("{step} was not passed after {n} attempts, the most allowed; your teacher "
                     "will decide the next step.").format(step=name, n=np.attempts)
        sources = [s for s, g in G.graph["retry"].items() if g == np.id]
        if sources:
            return _("{step} was not passed (attempt {n} of {most}); finish {what} to try "
                     "again.").format(step=name, n=np.attempts, most=allowed,
                                      what=_(" or ").join(name_of(s) for s in sources))
    return _("{step} was not passed.").format(step=name)


def _join(parts: list[str], joiner: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + joiner + parts[-1]


# --- act -------------------------------------------------------------------------


def act(G: nx.DiGraph, progress: Progress, action: Action, *, role: str = "student",
        actor: str = "", at: str = "") -> list[Event]:
    """The events that ``action`` adds, or ProgressError saying why it is not allowed.

    ``role`` is who acts (``student`` or ``teacher``); ``actor`` and ``at`` are
    recorded on the events (the caller supplies the time: this stays pure).
    """
    quest = G.graph["quest"]
    if role not in ("student", "teacher"):
        raise ProgressError(f"unknown role {role!r}; actions come from a student or a teacher")
    if action.type == "grade":
        raise ProgressError("grades are computed by the engine from the answers; "
                            "send an 'answer' action instead", action.node)
    handler = _ACTIONS.get(action.type)
    if handler is None:
        raise ProgressError(f"unknown action {action.type!r}; valid actions: {', '.join(ACTION_TYPES)}",
                            action.node)
    if action.node not in progress.nodes:
        raise ProgressError(N_("there is no step {name!r} in {quest!r}"), action.node,
                            name=action.node, quest=quest.title)
    if action.type in ("review", "override") and role != "teacher":
        raise ProgressError("only a teacher can review work or change a student's progress",
                            action.node)
    if action.type not in ("review", "override") and role != "student":
        raise ProgressError(f"a teacher does not play quests; use 'review' or 'override' "
                            f"(got {action.type!r})", action.node)

    def event(kind: str, by: str = role, **data) -> Event:
        return Event(kind, action.node, by, actor if by != "system" else "engine", at,
                     quest.id, quest.version, data)

    return handler(G, progress, progress.nodes[action.node], G.nodes[action.node]["node"],
                   action, event)


def _step(G, n: str) -> Step:
    """A step named in a refusal: shown with its title in the reader's graph."""
    model = G.nodes[n].get("node") if n in G else None
    return Step(n, getattr(model, "title", None) or n)


@dataclass(frozen=True)
class _OptionName:
    """An option named in a refusal: its label in the reader's graph, else the original."""

    node: str
    option: str
    label: str

    def render(self, translate=None, names=None) -> str:
        label = self.label
        model = names.nodes[self.node].get("node") if names is not None and \
            self.node in names else None
        for o in getattr(model, "options", None) or ():
            if getattr(o, "id", None) == self.option and getattr(o, "label", None):
                label = o.label
        return ((translate or _same)("“{title}”")).format(title=label)

    def __str__(self) -> str:
        return self.render()


@dataclass(frozen=True)
class _Why:
    """Why a step cannot be played, as :func:`explain` says it in the reader's language."""

    progress: Progress
    node: str

    def render(self, translate=None, names=None) -> str:
        return explain(self.progress, self.node, translate=translate, names=names)

    def __str__(self) -> str:
        return self.render()


def _text(value: Any, what: Message, node: str) -> str:
    """Text a person typed, trimmed; a clear error for anything that is not text."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ProgressError(N_("{what} must be text, got {type}"), node, what=what,
                            type=type(value).__name__)
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise ProgressError(N_("{what} is {n:,} characters; the most is {most:,} (share a link "
                               "for longer work)"), node, what=what, n=len(value), most=MAX_TEXT)
    return value


#: "You cannot ... yet/now" for each action, whole sentences for the translators
_CANNOT_YET = {"open": N_("You cannot open {step} yet. {why}"),
               "choose in": N_("You cannot choose in {step} yet. {why}"),
               "answer": N_("You cannot answer {step} yet. {why}"),
               "submit work for": N_("You cannot submit work for {step} yet. {why}"),
               "complete": N_("You cannot complete {step} yet. {why}")}
_CANNOT_NOW = {"open": N_("You cannot open {step} now. {why}"),
               "choose in": N_("You cannot choose in {step} now. {why}"),
               "answer": N_("You cannot answer {step} now. {why}"),
               "submit work for": N_("You cannot submit work for {step} now. {why}"),
               "complete": N_("You cannot complete {step} now. {why}")}


def _playable(G, p: Progress, np: NodeProgress, verb: str) -> None:
    if np.state in PLAYABLE:
        return
    step = _step(G, np.id)
    if np.state in ("locked", "closed"):
        raise ProgressError(_CANNOT_YET[verb], np.id, step=step, why=_Why(p, np.id))
    if np.state == "pending_review":
        raise ProgressError(N_("{step} is waiting for your teacher's review; you can change it "
                               "only if your teacher returns it."), np.id, step=step)
    if np.state == "fail":
        raise ProgressError(_CANNOT_NOW[verb], np.id, step=step, why=_Why(p, np.id))
    raise ProgressError(N_("{step} is already done."), np.id, step=step)


def _opening(np: NodeProgress, event) -> list[Event]:
    return [event("open")] if np.status is None else []


def _act_open(G, p, np, node, action, event) -> list[Event]:
    _playable(G, p, np, "open")
    return _opening(np, event)


def _act_choose(G, p, np, node, action, event) -> list[Event]:
    _playable(G, p, np, "choose in")
    step = _step(G, np.id)
    if node.kind != "choice":
        raise ProgressError(N_("{step} is not a modality choice; nothing to choose"), np.id,
                            step=step)
    ids = [o.id for o in node.options]
    if action.option not in ids:
        raise ProgressError(N_("{option!r} is not an option of {step}; options: {options}"),
                            np.id, option=action.option, step=step, options=", ".join(ids))
    if np.submissions and np.state == "returned" and np.option != action.option:
        raise ProgressError(N_("your teacher returned your work on {step}; revise it in the "
                               "same option"), np.id, step=step)
    return _opening(np, event) + [event("choose", option=action.option)]


def _questions_for(G, np: NodeProgress, node) -> tuple[list, float | None, Any]:
    step = _step(G, np.id)
    if node.kind == "quiz":
        return node.questions, node.pass_score, step
    if node.kind == "gate":
        return node.questions, None, step
    if node.kind == "choice":
        option = _option(G, np.id, np.option)
        if option is None:
            raise ProgressError(N_("choose an option of {step} before answering"), np.id,
                                step=step)
        label = _OptionName(np.id, option.id, option.label)
        if option.complete != "quiz":
            raise ProgressError(N_("{option} in {step} has no questions to answer"), np.id,
                                option=label, step=step)
        return option.questions, option.pass_score, label
    raise ProgressError(N_("{step} has no questions to answer"), np.id, step=step)


def _plugin_kind(G, node):
    """How a plugin kind completes and is checked, from the graph (None for built-in kinds)."""
    return G.graph.get("kinds", {}).get(node.kind)


def _act_answer(G, p, np, node, action, event) -> list[Event]:
    _playable(G, p, np, "answer")
    kind = _plugin_kind(G, node)
    if kind is not None:
        return _act_answer_plugin(G, np, node, kind, action, event)
    questions, pass_score, where = _questions_for(G, np, node)
    if action.answers is not None and not isinstance(action.answers, dict):
        raise ProgressError(N_("answers to {where} must map each question to an answer"), np.id,
                            where=where)
    answers = dict(action.answers or {})
    timed, at = bool(timed_minutes(node)), event("submit").at
    if timed and _out_of_time(G, np, node, at):
        return _late_events(G, np, questions, answers, event)
    # handed in as the time ran out (inside the grace): what is blank goes in, counted wrong
    check_answers(questions, answers, where, blanks=timed and _past(np, node, at))
    result = grade(questions, answers)
    data: dict[str, Any] = {"score": result.score if questions else None,
                            "results": result.results}
    if node.kind == "gate":
        mastery = _gate_mastery(p, np, node, result.results, result.score)
        value = min(mastery.values()) if mastery else result.score
        data["mastery"] = mastery
        outcome = "success" if value >= node.threshold else "fail"
    else:
        outcome = "success" if result.score >= pass_score else "fail"
    return (_opening(np, event) + [event("submit", answers=answers),
                                   event("grade", "system", **data),
                                   event("complete", "system", outcome=outcome)])


# --- timed challenges ------------------------------------------------------------------------
# A quiz or gate with ``time_limit`` (minutes, already multiplied for a student with the
# "more time" support: the service hands the engine the student's adapted graph) is timed.
# Its clock starts with the round's ``open`` event, stamped by the service's clock; the
# engine never reads a clock: it compares the times the events carry. An answer stamped
# later than start + limit + TIME_GRACE is out of time: the attempt counts and fails with
# the reason "time" (its answers kept, not graded); a gate may then be retried as usual.


def _parse_time(at: str) -> datetime | None:
    try:
        return datetime.fromisoformat(at) if at else None
    except ValueError:
        return None


def deadline(G: nx.DiGraph, progress: Progress, node: str) -> datetime | None:
    """When the time of a started timed challenge is up (``None``: not timed, or not started).

    >>> from questengine import loads_quest, quest_graph
    >>> G = quest_graph(loads_quest(
    ...     '{id: t, title: T, nodes: [{id: q, kind: quiz, title: Q, time_limit: 2, questions: '
    ...     '[{id: a, type: text, prompt: "?", accept: [x]}]}, {id: e, kind: end, title: E}], '
    ...     'edges: [[q, e]]}'))
    >>> p = replay(G, [Event("open", "q", at="2026-12-01T10:00:00+00:00")])
    >>> deadline(G, p, "q").isoformat()
    '2026-12-01T10:02:00+00:00'
    """
    minutes = timed_minutes(G.nodes[node]["node"])
    np = progress.nodes[node]
    start = _parse_time(np.started) if minutes and np.opened else None
    return None if start is None else start + timedelta(minutes=minutes)


def seconds_left(G: nx.DiGraph, progress: Progress, node: str, at: str) -> float | None:
    """Seconds of a started timed challenge left at time ``at`` (never below 0; ``None``: untimed).

    The grace for the network is not included: the page counts down to the limit itself.
    """
    end, now = deadline(G, progress, node), _parse_time(at)
    if end is None or now is None:
        return None
    return max(0.0, (end - now).total_seconds())


def _out_of_time(G, np: NodeProgress, node, at: str) -> bool:
    """Whether an answer stamped ``at`` to a timed challenge comes after its time was up.

    A round that was not started (opened) cannot be answered: the clock starts when the
    student starts, so an answer without a start would have all the time in the world.
    Events without times (literal tests) are never late.
    """
    if not np.opened:
        raise ProgressError(N_("Start {step} first: it is a timed challenge, and your time "
                               "begins when you start."), np.id, step=_step(G, np.id))
    return _past(np, node, at, TIME_GRACE)


def _past(np: NodeProgress, node, at: str, grace: timedelta = timedelta(0)) -> bool:
    """Whether ``at`` is after a started timed round's limit (plus ``grace``)."""
    start, now = _parse_time(np.started), _parse_time(at)
    if start is None or now is None:
        return False
    return now > start + timedelta(minutes=timed_minutes(node)) + grace


def _late_events(G, np: NodeProgress, questions, answers: dict, event) -> list[Event]:
    """An answer after the time was up: kept (the quest's questions only), not graded, failed."""
    ids = {q.id for q in questions}
    kept = {k: v for k, v in answers.items() if k in ids}
    for v in kept.values():  # blanks may go in; anything else is checked like any answer
        if v not in (None, "", []):
            _check_answer_value(v, _step(G, np.id), np.id)
    return [event("submit", answers=kept),
            event("complete", "system", outcome="fail", reason=TIME_UP)]


def _act_answer_plugin(G, np: NodeProgress, node, kind, action, event) -> list[Event]:
    """Check an answer to a plugin kind with its checker (which the graph carries)."""
    step = _step(G, np.id)
    if kind.completes != "answer":
        raise ProgressError(N_("{step} has no answer to check; mark it done")
                            if kind.completes == "self" else
                            N_("{step} has no answer to check; submit your work for review"),
                            np.id, step=step)
    if not isinstance(action.answers, dict) or set(action.answers) - {"answer"}:
        raise ProgressError(N_("send your answer to {step} as {{'answer': ...}}"), np.id,
                            step=step)
    answer = action.answers.get("answer")
    _check_answer_value(answer, step, np.id)
    try:
        verdict = kind.grade(node, answer, np.tries)
    except Exception as err:  # a plugin's code failed: a plain sentence, never a traceback
        raise ProgressError(CHECKER_FAILED, np.id) from err
    report = {"correct": verdict.correct, "feedback": verdict.feedback}
    if verdict.details:
        report["details"] = verdict.details
    events = _opening(np, event) + [
        event("submit", answers={"answer": answer}),
        event("grade", "system", score=verdict.score, results=dict(verdict.results or {}),
              report=report)]
    if verdict.final:
        events.append(event("complete", "system",
                            outcome="success" if verdict.correct else "fail"))
    return events


def _check_answer_value(answer: Any, step: Step, node: str) -> None:
    """An answer is text, a number, true/false, or a short list of those."""
    values = answer if isinstance(answer, list) and len(answer) <= 100 else [answer]
    for v in values:
        if isinstance(v, str):
            if len(v) > MAX_TEXT:
                raise ProgressError(N_("your answer to {step} is {n:,} characters; the most is "
                                       "{most:,}"), node, step=step, n=len(v), most=MAX_TEXT)
        elif v is not None and not isinstance(v, (bool, int, float)):
            raise ProgressError(N_("your answer to {step} must be text, a number or a list of "
                                   "those, got {type}"), node, step=step, type=type(v).__name__)
    if answer is None or (isinstance(answer, str) and not answer.strip()) or answer == []:
        raise ProgressError(N_("write your answer to {step} first"), node, step=step)


def _gate_mastery(p: Progress, np: NodeProgress, node, results: dict, score: float) -> dict:
    """Mastery of each of the gate's competencies, counting this attempt's answers."""
    new = [Observation(ok, score, np.id, np.graded + 1) for ok in results.values()]
    params = BKT(**node.bkt.model_dump()) if node.bkt else BKT()
    out = {}
    for comp in node.competencies:
        evidence = list(p.evidence.get(comp, [])) + new
        if node.estimator == "score" and node.questions:
            out[comp] = score
        else:
            out[comp] = round(estimate(evidence, node.estimator, params), 6)
    return out


def _act_submit(G, p, np, node, action, event) -> list[Event]:
    step = _step(G, np.id)
    _playable(G, p, np, "submit work for")
    kind = _plugin_kind(G, node)
    needs_review = (node.kind == "task" and node.complete == "review") or (
        node.kind == "choice" and (opt := _option(G, np.id, np.option)) is not None
        and opt.complete == "review") or (kind is not None and kind.completes == "review")
    if not needs_review:
        if node.kind == "choice" and np.option is None:
            raise ProgressError(N_("choose an option of {step} before submitting work"), np.id,
                                step=step)
        answered = node.kind in ("quiz", "gate") or (kind is not None and kind.completes == "answer")
        raise ProgressError(N_("{step} does not take submitted work; answer its questions")
                            if answered else
                            N_("{step} does not take submitted work; mark it done"),
                            np.id, step=step)
    content = _text(action.content, Message(N_("your submission for {step}"), step=step), np.id)
    if not content:
        raise ProgressError(N_("your submission for {step} is empty; write something or paste "
                               "a link"), np.id, step=step)
    return _opening(np, event) + [event("submit", content=content)]


def _act_complete(G, p, np, node, action, event) -> list[Event]:
    step = _step(G, np.id)
    _playable(G, p, np, "complete")
    kind = _plugin_kind(G, node)
    if kind is not None and kind.completes != "self":
        raise ProgressError(N_("{step} is completed by checking your answer")
                            if kind.completes == "answer" else
                            N_("{step} is completed by your teacher's review; submit your work "
                               "instead"), np.id, step=step)
    if node.kind in ("quiz", "gate"):
        raise ProgressError(N_("{step} is completed by answering its questions"), np.id,
                            step=step)
    if node.kind == "task" and node.complete == "review":
        raise ProgressError(N_("{step} is completed by your teacher's review; submit your work "
                               "instead"), np.id, step=step)
    if node.kind == "choice":
        option = _option(G, np.id, np.option)
        if option is None:
            raise ProgressError(N_("choose an option of {step} first"), np.id, step=step)
        label = _OptionName(np.id, option.id, option.label)
        if option.complete == "review":
            raise ProgressError(N_("{option} is completed by your teacher's review; submit your "
                                   "work instead"), np.id, option=label)
        if option.complete == "quiz":
            raise ProgressError(N_("{option} is completed by answering its questions"), np.id,
                                option=label)
    return _opening(np, event) + [event("complete", outcome="success")]


def _act_reflect(G, p, np, node, action, event) -> list[Event]:
    step = _step(G, np.id)
    if np.state not in ("success", "fail"):
        raise ProgressError(N_("reflect on {step} after you finish it"), np.id, step=step)
    text = _text(action.text, Message(N_("your reflection on {step}"), step=step), np.id)
    if not text:
        raise ProgressError(N_("your reflection on {step} is empty"), np.id, step=step)
    return [event("reflect", text=text)]


def _act_review(G, p, np, node, action, event) -> list[Event]:
    step = _step(G, np.id)
    if np.state != "pending_review":
        raise ProgressError(N_("{step} has no work waiting for review (it is {state})"), np.id,
                            step=step, state=Message(_STATE_WORDS[np.state]))
    if action.decision not in REVIEW_DECISIONS:
        raise ProgressError(f"unknown review decision {action.decision!r}; choose one of "
                            f"{', '.join(REVIEW_DECISIONS)}", np.id)
    feedback = _text(action.feedback, Message(N_("the feedback")), np.id)
    if action.decision == "return" and not feedback:
        raise ProgressError(N_("returning work needs feedback that tells the student what to "
                               "revise"), np.id)
    events = [event("review", decision=action.decision, feedback=feedback)]
    if action.decision != "return":
        events.append(event("complete", outcome="success" if action.decision == "approve" else "fail"))
    return events


def _act_override(G, p, np, node, action, event) -> list[Event]:
    step = _step(G, np.id)
    op = action.op
    if op not in OVERRIDES:
        raise ProgressError(f"unknown override {op!r}; choose one of {', '.join(OVERRIDES)}", np.id)
    data: dict[str, Any] = {"op": op, "reason": _text(action.reason, Message(N_("the reason")),
                                                      np.id)}
    if op == "unlock" and not (np.state in ("locked", "closed") or
                               (np.kind == "gate" and np.state == "fail")):
        raise ProgressError(N_("{step} is {state}; only a locked or closed node, or a failed "
                               "gate, can be unlocked"), np.id, step=step,
                            state=Message(_STATE_WORDS[np.state]))
    if op == "reset" and np.status is None and not np.unlocked:
        raise ProgressError(N_("{step} has not been started; there is nothing to reset"), np.id,
                            step=step)
    if op == "approve" and np.state == "success":
        raise ProgressError(N_("{step} is already done"), np.id, step=step)
    if op == "award":
        if not isinstance(action.xp, int) or isinstance(action.xp, bool):
            raise ProgressError(N_("awarded XP must be a whole number, got {xp!r}"), np.id,
                                xp=action.xp)
        if action.badge is not None and not isinstance(action.badge, str):
            raise ProgressError(N_("a badge is named by text, got {badge!r}"), np.id,
                                badge=action.badge)
        if action.xp < 0 or action.xp > 100_000:
            raise ProgressError(N_("awarded XP must be between 0 and 100000, got {xp}"), np.id,
                                xp=action.xp)
        if not action.xp and not action.badge:
            raise ProgressError(N_("an award needs XP, a badge, or both"), np.id)
        data.update(xp=action.xp, badge=action.badge)
    return [event("override", **data)]


#: a step's state in the words of a sentence ("it is locked")
_STATE_WORDS = {"locked": N_("locked"), "available": N_("available"),
                "in_progress": N_("in progress"), "pending_review": N_("pending review"),
                "returned": N_("returned"), "success": N_("done"), "fail": N_("not passed"),
                "closed": N_("closed")}


_ACTIONS = {
    "open": _act_open, "choose": _act_choose, "answer": _act_answer, "submit": _act_submit,
    "complete": _act_complete, "reflect": _act_reflect, "review": _act_review,
    "override": _act_override,
}
