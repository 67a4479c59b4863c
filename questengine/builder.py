"""Build a quest in Python: a few readable lines, checked as you go.

Each call adds one node (or path) and checks it at once, so a mistake is
reported at the line that made it. :meth:`QuestBuilder.build` checks the
whole map (the same checks as for a quest file) and returns a :class:`Quest`;
:meth:`QuestBuilder.save` writes it as YAML.

>>> q = QuestBuilder("fraction-forest", "The Fraction Forest")
>>> q.competency("equiv", "Equivalent fractions")
>>> q.story("intro", "Into the forest", text="The paths are marked in fractions.")
>>> q.choice("learn", "Learn equivalent fractions", competencies=["equiv"], options=[
...     option("video", "video", "Watch a video", url="https://example.org/fractions"),
...     option("song", "song", "Write a song", complete="review"),
... ])
>>> q.gate("check", "Checkpoint", threshold=0.8, competencies=["equiv"], questions=[
...     question("q1", "Which equals 1/2?", options=["2/4", "2/3"], answer="2/4"),
...     question("q2", "1/4 + 1/4 as a decimal", answer=0.5),
... ])
>>> q.task("practice", "Extra practice")
>>> q.end("end", "Out of the forest", xp=100, badge="forest-ranger")
>>> q.path("intro", "learn", "check")
>>> q.on_success("check", "end")
>>> q.on_fail("check", "practice")
>>> q.retry("practice", "check")
>>> quest = q.build()
>>> [n.kind for n in quest.nodes]
['story', 'choice', 'gate', 'task', 'end']
>>> quest.node("check").questions[1].type
'number'

Mistakes are reported where they are made, naming the node and the field:

>>> q.gate("boss", "Boss", threshold=80, questions=[question("b", "2 + 2", answer=4)])
Traceback (most recent call last):
...
questengine.errors.QuestFileError: nodes[5].threshold: must be between 0 and 1, got 80
>>> q.path("end", "nowhere")
Traceback (most recent call last):
...
questengine.errors.QuestValidationError: edges[5]: edge end -> nowhere: 'to' names unknown node 'nowhere'
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .errors import Problem, QuestFileError, QuestValidationError
from .graph import validate
from .loader import _problem_from_error, parse_quest, save_quest
from .model import Quest

__all__ = ["QuestBuilder", "question", "option", "test"]

_UNSET: Any = object()


def question(id: str, prompt: str, *, answer: Any = _UNSET, options: list[str] | None = None,
             accept: list[str] | None = None, tolerance: float | None = None,
             hint: str | None = None, explanation: str | None = None,
             type: str | None = None) -> dict:
    """A quiz or gate question; its type follows from what you give.

    ``options`` and one ``answer``: a choice question; ``options`` and a list of
    answers: pick-all-that-apply; ``accept`` (accepted texts): a text question;
    a number ``answer``: a number question (with an optional ``tolerance``).

    >>> question("q1", "Which equals 1/2?", options=["2/4", "2/3"], answer="2/4")["type"]
    'choice'
    >>> question("q2", "Pick all equal to 1", options=["2/2", "3/3", "1/3"], answer=["2/2", "3/3"])["type"]
    'multi'
    >>> question("q3", "1/4 + 1/4 as a decimal", answer=0.5, tolerance=0.001)["type"]
    'number'
    >>> question("q4", "One of two equal parts", accept=["one half", "1/2"])["type"]
    'text'
    """
    data: dict[str, Any] = {"id": id, "prompt": prompt}
    if type is None:
        if accept is not None:
            type = "text"
        elif options is not None:
            type = "multi" if isinstance(answer, (list, tuple)) else "choice"
        elif answer is not _UNSET and not isinstance(answer, (list, tuple, bool)):
            type = "number"
        else:
            raise ValueError(f"question {id!r}: give options and an answer, accepted answers "
                             "(accept=[...]), or a number answer")
    data["type"] = type
    if options is not None:
        data["options"] = list(options)
    if answer is not _UNSET:
        data["answer"] = list(answer) if isinstance(answer, (list, tuple)) else answer
    for key, value in (("accept", accept), ("tolerance", tolerance), ("hint", hint),
                       ("explanation", explanation)):
        if value is not None:
            data[key] = list(value) if key == "accept" else value
    return data


def option(id: str, modality: str, label: str, *, complete: str = "self",
           text: str | None = None, url: str | None = None, questions: list | None = None,
           pass_score: float | None = None) -> dict:
    """One way to learn in a choice node (``complete``: self, review or quiz).

    >>> option("video", "video", "Watch", url="https://example.org/v")
    {'id': 'video', 'modality': 'video', 'label': 'Watch', 'complete': 'self', 'url': 'https://example.org/v'}
    """
    data: dict[str, Any] = {"id": id, "modality": modality, "label": label, "complete": complete}
    for key, value in (("text", text), ("url", url), ("questions", questions),
                       ("pass_score", pass_score)):
        if value is not None:
            data[key] = value
    return data


def test(call: str, expect: Any = _UNSET, *, raises: str | None = None, name: str | None = None,
         hidden: bool = False) -> dict:
    """A test of a coding challenge: a call and the value it must give (any Python value
    that can be written as a literal), or the exception it must raise.

    >>> test("add(2, 3)", 5)
    {'call': 'add(2, 3)', 'expect': '5'}
    >>> test("add('a', 1)", raises="TypeError", hidden=True)
    {'call': "add('a', 1)", 'raises': 'TypeError', 'hidden': True}
    """
    data: dict[str, Any] = {"call": call}
    if expect is not _UNSET:
        data["expect"] = repr(expect)
    if raises is not None:
        data["raises"] = raises
    if name is not None:
        data["name"] = name
    if hidden:
        data["hidden"] = True
    return data


test.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class QuestBuilder:
    """A quest built in code. Nodes are added in order; paths join them.

    ``registry`` is the plugin registry whose kinds :meth:`node` may add (None:
    questengine's own kinds only).
    """

    def __init__(self, id: str, title: str, *, story: str | None = None,
                 description: str | None = None, version: int | None = None,
                 theme: str | None = None, registry=None):
        from .plugins import Registry

        # no registry: a new empty one (questengine's own kinds), never a process-wide one
        self.registry = registry if registry is not None else Registry(code=False)
        self.data: dict[str, Any] = {"id": id, "title": title}
        for key, value in (("version", version), ("story", story),
                           ("description", description), ("theme", theme)):
            if value is not None:
                self.data[key] = value
        self.data["competencies"] = []
        self.data["nodes"] = []
        self.data["edges"] = []

    def __repr__(self) -> str:
        return (f"QuestBuilder({self.data['id']!r}: {len(self.data['nodes'])} nodes, "
                f"{len(self.data['edges'])} paths)")

    # competencies ------------------------------------------------------------------------------

    def competency(self, id: str, name: str, *, standard: str | None = None,
                   description: str | None = None) -> None:
        """Declare a competency (a skill) that nodes can name in ``competencies=[...]``."""
        item = {"id": id, "name": name}
        if standard is not None:
            item["standard"] = standard
        if description is not None:
            item["description"] = description
        self.data["competencies"].append(item)

    # nodes -----------------------------------------------------------------------------------------

    def node(self, kind: str, id: str, title: str, **fields: Any) -> None:
        """Add a node of any kind, questengine's or a plugin's, checking its fields at once."""
        data = {"id": id, "kind": kind, "title": title,
                **{k: v for k, v in fields.items() if v is not None}}
        index = len(self.data["nodes"])
        try:
            self.registry.node_adapter().validate_python(copy.deepcopy(data))
        except ValidationError as err:
            doc = {"nodes": [*self.data["nodes"], data]}
            problems = []
            for e in err.errors():
                e = {**e, "loc": ("nodes", index, *e["loc"])}
                problems.append(_problem_from_error(e, doc, "<builder>",
                                                   self.registry.quest_model()))
            raise QuestFileError([Problem(p.message, path=p.path, code=p.code)
                                  for p in problems]) from None
        self.data["nodes"].append(data)

    def story(self, id: str, title: str, *, text: str | None = None, **fields: Any) -> None:
        """A story node: the student reads it (and it always succeeds)."""
        self.node("story", id, title, text=text, **fields)

    def task(self, id: str, title: str, *, complete: str = "self",
             instructions: str | None = None, **fields: Any) -> None:
        """A task: marked done by the student (``complete="self"``) or reviewed by the teacher
        (``complete="review"``)."""
        self.node("task", id, title, complete=complete, instructions=instructions, **fields)

    def choice(self, id: str, title: str, *, options: list[dict], **fields: Any) -> None:
        """A modality choice: the student picks one of the ``options`` (see :func:`option`)."""
        self.node("choice", id, title, options=options, **fields)

    def quiz(self, id: str, title: str, *, questions: list[dict], pass_score: float | None = None,
             **fields: Any) -> None:
        """An auto-graded quiz (see :func:`question`); passed when the score reaches ``pass_score``."""
        self.node("quiz", id, title, questions=questions, pass_score=pass_score, **fields)

    def gate(self, id: str, title: str, *, threshold: float | None = None,
             questions: list[dict] | None = None, max_attempts: int | None = None,
             **fields: Any) -> None:
        """A mastery gate: success when mastery reaches ``threshold`` (0 to 1), else fail."""
        self.node("gate", id, title, threshold=threshold, questions=questions,
                  max_attempts=max_attempts, **fields)

    def end(self, id: str, title: str, *, xp: int | None = None, badge: str | None = None,
            badge_name: str | None = None, **fields: Any) -> None:
        """The end of the quest, with its rewards (XP and a badge)."""
        rewards = {k: v for k, v in (("xp", xp), ("badge", badge), ("badge_name", badge_name))
                   if v is not None}
        if rewards:
            fields["rewards"] = {**fields.get("rewards", {}), **rewards}
        self.node("end", id, title, **fields)

    def code(self, id: str, title: str, *, prompt: str, function: str, tests: list[dict],
             starter: str | None = None, **fields: Any) -> None:
        """A coding challenge: write ``function`` so that the ``tests`` pass (see :func:`test`)."""
        self.node("code", id, title, prompt=prompt, function=function, tests=tests,
                  starter=starter, **fields)

    # paths -------------------------------------------------------------------------------------------

    def path(self, *ids: str) -> None:
        """Plain paths along ``ids``: ``path("a", "b", "c")`` joins a to b and b to c."""
        if len(ids) < 2:
            raise ValueError("a path joins at least two nodes")
        for source, target in zip(ids, ids[1:]):
            self._edge(source, target, "done")

    def on_success(self, source: str, target: str) -> None:
        """A path taken when ``source`` succeeds (a gate or quiz passed)."""
        self._edge(source, target, "success")

    def on_fail(self, source: str, target: str) -> None:
        """A path taken when ``source`` fails (for example, to extra practice)."""
        self._edge(source, target, "fail")

    def retry(self, source: str, gate: str) -> None:
        """After ``source`` (the end of the practice path), the student may try ``gate`` again."""
        self._edge(source, gate, "retry")

    def _edge(self, source: str, target: str, when: str) -> None:
        ids = {n["id"] for n in self.data["nodes"]}
        index = len(self.data["edges"])
        for end, node_id in (("from", source), ("to", target)):
            if node_id not in ids:
                raise QuestValidationError([Problem(
                    f"edge {source} -> {target}: '{end}' names unknown node '{node_id}'",
                    path=f"edges[{index}]", nodes=(node_id,), code="unknown_node")])
        self.data["edges"].append([source, target] if when == "done"
                                  else {"from": source, "to": target, "when": when})

    # the result ------------------------------------------------------------------------------------

    def to_data(self) -> dict:
        """The quest as plain data, in the shape of a quest file."""
        data = copy.deepcopy(self.data)
        if not data["competencies"]:
            del data["competencies"]
        return data

    def build(self) -> Quest:
        """The quest, checked like a quest file; QuestValidationError lists every problem."""
        quest = parse_quest(self.to_data(), "<builder>", self.registry)
        quest._source = None
        problems = validate(quest, self.registry)
        if problems:
            raise QuestValidationError(problems)
        return quest

    def save(self, path: str | Path) -> Path:
        """Check the quest and write it to ``path`` (YAML, or JSON for ``.json``)."""
        return save_quest(self.build(), path)
