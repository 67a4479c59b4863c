"""Accommodations: the supports a teacher turns on for one student, applied by the service.

A student's :class:`Accommodations` live in their learner profile (set by a teacher through
:meth:`questengine.classroom.TeacherSession.set_accommodations`). The classroom service plays
every quest of that student on :func:`adapt_graph`'s copy of the quest graph, so the engine
itself grants the extra gate attempts and judges answers among the options the student saw,
and the pages only show what the service hands them:

- ``read_aloud``: a button that reads each story, instruction and question aloud (the
  browser's own speech synthesis: offline);
- ``larger_text``: larger text and more space between lines, words and letters;
- ``extra_attempts``: more tries at every mastery gate (added to its ``max_attempts``);
- ``extra_time``: a factor on the minutes of timed challenges (``time_limit``);
- ``fewer_options``: the options the author marked as ``distractors`` are left out;
- ``simple_text``: the author's ``text_simple`` is shown instead of a node's ``text``.

Everything here is pure: no I/O, no widgets.

>>> acc = Accommodations(extra_attempts=2, fewer_options=True)
>>> acc.words()
['2 more tries at checkpoints', 'fewer options']
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import N_, QuestEngineError
from .model import timed_minutes

__all__ = ["Accommodations", "AccommodationError", "SUPPORTS", "adapt_node", "adapt_graph",
           "parse_accommodations"]

#: Each support: its field and the words a teacher or a family reads.
#: (marked for the translators' catalog: show them through the reader's gettext function)
SUPPORTS = {
    "read_aloud": N_("read aloud"),
    "larger_text": N_("larger text and spacing"),
    "extra_attempts": N_("more tries at checkpoints"),
    "extra_time": N_("more time on timed challenges"),
    "fewer_options": N_("fewer options"),
    "simple_text": N_("simpler text"),
}


class AccommodationError(QuestEngineError):
    """Settings that are not valid accommodations (the message names the field and the choices)."""


class Accommodations(BaseModel):
    """One student's supports. The defaults are "none"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    read_aloud: bool = False
    larger_text: bool = False
    extra_attempts: int = Field(default=0, ge=0, le=10)
    extra_time: float = Field(default=1.0, ge=1.0, le=4.0)
    fewer_options: bool = False
    simple_text: bool = False

    def any(self) -> bool:
        """Whether any support is on."""
        return self != Accommodations()

    def words(self, translate: Callable[[str], str] | None = None) -> list[str]:
        """The supports that are on, in words (for the progress center, the student's profile
        and exports), in the reader's language when ``translate`` is their gettext function.

        >>> Accommodations(read_aloud=True, extra_attempts=2).words()
        ['read aloud', '2 more tries at checkpoints']
        """
        _ = translate or (lambda text: text)
        out = []
        if self.read_aloud:
            out.append(_(SUPPORTS["read_aloud"]))
        if self.larger_text:
            out.append(_(SUPPORTS["larger_text"]))
        if self.extra_attempts:
            out.append(_(N_("{n} more try at checkpoints") if self.extra_attempts == 1 else
                         N_("{n} more tries at checkpoints")).format(n=self.extra_attempts))
        if self.extra_time > 1:
            out.append(_("{factor}× time on timed challenges").format(
                factor=f"{self.extra_time:g}"))
        if self.fewer_options:
            out.append(_(SUPPORTS["fewer_options"]))
        if self.simple_text:
            out.append(_(SUPPORTS["simple_text"]))
        return out


def parse_accommodations(data: dict[str, Any] | None) -> Accommodations:
    """Accommodations from a dict (a stored row, a form), or AccommodationError naming the field.

    >>> parse_accommodations({"extra_attempts": 1}).extra_attempts
    1
    >>> parse_accommodations({"louder": True})
    Traceback (most recent call last):
    ...
    questengine.accommodations.AccommodationError: unknown accommodation 'louder'; the choices are read_aloud, larger_text, extra_attempts, extra_time, fewer_options, simple_text
    """
    data = dict(data or {})
    unknown = [k for k in data if k not in SUPPORTS]
    if unknown:
        raise AccommodationError(f"unknown accommodation {unknown[0]!r}; the choices are "
                                 + ", ".join(SUPPORTS))
    try:
        return Accommodations(**data)
    except ValidationError as err:
        first = err.errors()[0]
        field = ".".join(str(x) for x in first["loc"])
        raise AccommodationError(f"accommodation {field}: {first['msg']} "
                                 f"(got {first.get('input')!r})") from err


def _fewer(question):
    distractors = getattr(question, "distractors", None)
    if not distractors:
        return question
    return question.model_copy(update={
        "options": [o for o in question.options if o not in distractors], "distractors": []})


def adapt_node(node, acc: Accommodations):
    """The node as a student with ``acc`` gets it (the same object when nothing changes).

    >>> from questengine.model import GateNode
    >>> gate = GateNode(id="g", kind="gate", title="G", competencies=["c"], max_attempts=3)
    >>> adapt_node(gate, Accommodations(extra_attempts=2)).max_attempts
    5
    """
    update: dict[str, Any] = {}
    if acc.simple_text and getattr(node, "text_simple", None):
        if node.text or not getattr(node, "instructions", None):
            update["text"] = node.text_simple
        else:
            update["instructions"] = node.text_simple
    if acc.extra_attempts and node.kind == "gate":
        update["max_attempts"] = min(100, node.max_attempts + acc.extra_attempts)
    if acc.extra_time > 1 and timed_minutes(node):  # quizzes and gates, not a program's seconds
        update["time_limit"] = round(node.time_limit * acc.extra_time, 2)
    if acc.fewer_options:
        questions = getattr(node, "questions", None)
        if questions:
            fewer = [_fewer(q) for q in questions]
            if any(a is not b for a, b in zip(fewer, questions)):
                update["questions"] = fewer
        options = getattr(node, "options", None)
        if node.kind == "choice" and options:
            new = [o.model_copy(update={"questions": [_fewer(q) for q in o.questions]})
                   if any(getattr(q, "distractors", None) for q in o.questions) else o
                   for o in options]
            if any(a is not b for a, b in zip(new, options)):
                update["options"] = new
    return node.model_copy(update=update) if update else node


def adapt_graph(G: nx.DiGraph, acc: Accommodations) -> nx.DiGraph:
    """A copy of a quest graph whose nodes are adapted to ``acc`` (``G`` itself when none is on).

    The copy shares the graph's attributes (order, retry edges, registry, layout); only the
    node models differ, so the engine plays it like the original.
    """
    if not acc.any():
        return G
    H = G.copy()
    H.graph["accommodations"] = acc
    for n in H:
        H.nodes[n]["node"] = adapt_node(G.nodes[n]["node"], acc)
    return H
