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

__all__ = ["Step", "Playthrough", "play", "answer_for"]


@dataclass
class Step:
    """One move: who did what, the events it added and the states that changed."""

    number: int
    node: str
    what: str
    role: str
    changes: dict[str, tuple[str, str]]
    xp: int


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
        move = _next_move(G, progress, rng, skill, helped)
        if move is None:
            break
        node, action, role, what = move
        clock += timedelta(minutes=rng.randint(1, 20))
        new = act(G, progress, action, role=role, actor=role, at=clock.isoformat())
        run.events.extend(new)
        before = progress.states()
        progress = replay(G, run.events)
        after = progress.states()
        changes = {n: (before[n], after[n]) for n in after if before[n] != after[n]}
        run.steps.append(Step(number, node, what, role, changes, progress.xp))
    run.progress = progress
    return run


def _next_move(G, progress: Progress, rng: random.Random, skill: float, helped: set[str]):
    pending = [n for n, np in progress.nodes.items() if np.state == "pending_review"]
    moves = available(progress)
    if pending and (not moves or rng.random() < 0.5):
        node = rng.choice(pending)
        roll = rng.random()
        decision = "approve" if roll < 0.7 else ("return" if roll < 0.9 else "fail")
        feedback = {"approve": "Well done.", "return": "Add one more example, please.",
                    "fail": "This does not show the skill yet."}[decision]
        return node, Action("review", node, decision=decision, feedback=feedback), "teacher", \
            f"teacher review: {decision}"
    if not moves:
        stuck = [n for n in progress.struggling if n not in helped]
        if not stuck:
            return None
        helped.add(stuck[0])
        return stuck[0], Action("override", stuck[0], op="unlock", reason="one more try"), \
            "teacher", "teacher grants one more attempt"
    node = rng.choice(moves)
    np = progress.nodes[node]
    model = G.nodes[node]["node"]
    kind = model.kind
    if kind in ("story", "end") or (kind == "task" and model.complete == "self"):
        return node, Action("complete", node), "student", "complete"
    if kind == "task":
        text = "My revised work." if np.state == "returned" else "My work, with examples."
        return node, Action("submit", node, content=text), "student", "submit work"
    if kind in ("quiz", "gate"):
        chance = 1.0 if node in helped else skill
        return node, _answers(node, model.questions, rng, chance), "student", "answer"
    if kind == "choice":
        option = next((o for o in model.options if o.id == np.option), None)
        if option is None or (np.state != "returned" and rng.random() < 0.1 and np.status is None):
            option = rng.choice(model.options)
            return node, Action("choose", node, option=option.id), "student", \
                f"choose {option.modality}: {option.label}"
        if option.complete == "self":
            return node, Action("complete", node), "student", "complete"
        if option.complete == "review":
            return node, Action("submit", node, content=f"My {option.modality}."), "student", \
                "submit work"
        return node, _answers(node, option.questions, rng, skill), "student", "answer"
    raise ValueError(f"the simulator does not know how to play a {kind!r} node")


def _answers(node: str, questions, rng: random.Random, chance: float) -> Action:
    return Action("answer", node, answers={q.id: answer_for(q, rng.random() < chance)
                                           for q in questions})
