"""Simulated play-throughs: a random student (and teacher) playing a quest.

Used by ``questengine simulate`` and ``demo``, and by the property tests. The
randomness comes only from the ``random.Random`` passed in.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import networkx as nx

from .engine import Action, Event, Progress, act, available, replay
from .errors import QuestEngineError

__all__ = ["Step", "Move", "Playthrough", "play", "next_move", "answer_for", "SimulationError"]


class SimulationError(QuestEngineError):
    """The simulated student cannot play a node (a plugin kind with no example answer...)."""


@dataclass
class Step:
    """One move: who did what, the events it added and the states that changed."""

    number: int
    node: str
    what: str
    role: str
    changes: dict[str, tuple[str, str]]
    xp: int


@dataclass(frozen=True)
class Move:
    """What the simulated student (or teacher) does next."""

    node: str
    action: Action
    role: str
    what: str


@dataclass
class Playthrough:
    steps: list[Step] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    progress: Progress | None = None

    @property
    def path(self) -> list[str]:
        """Nodes in the order they were finished (a node played twice appears twice)."""
        return [e.node for e in self.events if e.type == "complete" or
                (e.type == "override" and e.data.get("op") == "approve")]


def answer_for(question, right: bool):
    """A right or a wrong answer to a question, as a student would type it."""
    if question.type == "choice":
        return question.answer if right else next(o for o in question.options if o != question.answer)
    if question.type == "multi":
        if right:
            return list(question.answer)
        wrong = [o for o in question.options if o not in question.answer]
        return wrong[:1] or list(question.answer[:-1]) or question.options[:1]
    if question.type == "number":
        return question.answer if right else question.answer + question.tolerance + 1
    return question.accept[0] if right else "I am not sure"


def play(G: nx.DiGraph, rng: random.Random, *, skill: float = 0.6, max_steps: int = 2000,
         start: datetime | None = None) -> Playthrough:
    """Play the quest with random picks until an end is reached (or nothing is left to do).

    ``skill`` is the chance of answering each question right. A simulated
    teacher reviews submitted work (mostly approving) and, when a student has
    used every attempt at a gate, grants one more.
    """
    clock = start or datetime(2026, 9, 1, 9, 0, tzinfo=timezone.utc)
    run = Playthrough()
    progress = replay(G, [])
    helped: set[str] = set()
    for number in range(1, max_steps + 1):
        if progress.complete:
            break
        move = next_move(G, progress, rng, skill=skill, helped=helped)
        if move is None:
            break
        clock += timedelta(minutes=rng.randint(1, 20))
        new = act(G, progress, move.action, role=move.role, actor=move.role, at=clock.isoformat())
        run.events.extend(new)
        before = progress.states()
        progress = replay(G, run.events)
        after = progress.states()
        changes = {n: (before[n], after[n]) for n in after if before[n] != after[n]}
        run.steps.append(Step(number, move.node, move.what, move.role, changes, progress.xp))
    run.progress = progress
    return run


def next_move(G, progress: Progress, rng: random.Random, *, skill: float = 0.6,
              helped: set[str] | None = None, teacher: bool = True) -> Move | None:
    """A random legal next move, or None when nothing is left to do.

    With ``teacher`` the simulated teacher may review pending work and grant
    one more attempt at a gate the student is stuck on (``helped`` remembers
    which gates, and those are then answered right).
    """
    helped = helped if helped is not None else set()
    pending = [n for n, np in progress.nodes.items() if np.state == "pending_review"]
    moves = available(progress)
    if teacher and pending and (not moves or rng.random() < 0.5):
        node = rng.choice(pending)
        roll = rng.random()
        decision = "approve" if roll < 0.7 else ("return" if roll < 0.9 else "fail")
        feedback = {"approve": "Well done.", "return": "Add one more example, please.",
                    "fail": "This does not show the skill yet."}[decision]
        return Move(node, Action("review", node, decision=decision, feedback=feedback), "teacher",
                    f"teacher review: {decision}")
    if not moves:
        stuck = [n for n in progress.struggling if n not in helped]
        if not teacher or not stuck:
            return None
        helped.add(stuck[0])
        return Move(stuck[0], Action("override", stuck[0], op="unlock", reason="one more try"),
                    "teacher", "teacher grants one more attempt")
    node = rng.choice(moves)
    np = progress.nodes[node]
    model = G.nodes[node]["node"]
    kind = model.kind
    if kind in ("story", "end") or (kind == "task" and model.complete == "self"):
        return Move(node, Action("complete", node), "student", "complete")
    if kind == "task":
        text = "My revised work." if np.state == "returned" else "My work, with examples."
        return Move(node, Action("submit", node, content=text), "student", "submit work")
    if kind in ("quiz", "gate"):
        chance = 1.0 if node in helped else skill
        return Move(node, _answers(node, model.questions, rng, chance), "student", "answer")
    if kind == "choice":
        option = next((o for o in model.options if o.id == np.option), None)
        if option is None:
            option = rng.choice(model.options)
            return Move(node, Action("choose", node, option=option.id), "student",
                        f"choose {option.modality}: {option.label}")
        if option.complete == "self":
            return Move(node, Action("complete", node), "student", "complete")
        if option.complete == "review":
            return Move(node, Action("submit", node, content=f"My {option.modality}."), "student",
                        "submit work")
        return Move(node, _answers(node, option.questions, rng, skill), "student", "answer")
    plugin = G.graph.get("kinds", {}).get(kind)
    if plugin is not None:
        return _plugin_move(node, model, plugin, np, rng, 1.0 if node in helped else skill)
    raise SimulationError(f"the simulator does not know how to play a {kind!r} node")


def _plugin_move(node: str, model, plugin, np, rng: random.Random, chance: float) -> Move:
    """A move on a plugin kind: mark done, submit work, or answer with the plugin's example."""
    if plugin.completes == "self":
        return Move(node, Action("complete", node), "student", "complete")
    if plugin.completes == "review":
        text = "My revised work." if np.state == "returned" else "My work, with examples."
        return Move(node, Action("submit", node, content=text), "student", "submit work")
    right = rng.random() < chance
    answer = plugin.example(model, right) if plugin.example is not None else None
    if answer is None and not right and plugin.example is not None:
        answer, right = plugin.example(model, True), True
    if answer is None:
        raise SimulationError(f"the simulator cannot answer the {plugin.name!r} node {node!r}: its "
                         "plugin gives no example answer (a code node needs a 'solution')")
    return Move(node, Action("answer", node, answers={"answer": answer}), "student",
                "answer" if right else "answer (wrong)")


def _answers(node: str, questions, rng: random.Random, chance: float) -> Action:
    return Action("answer", node, answers={q.id: answer_for(q, rng.random() < chance)
                                           for q in questions})
