"""Pydantic models of a quest file.

Node kinds and question types are discriminated unions (on ``kind`` and
``type``): a bad node gets one precise error, not one per variant. Every
model forbids unknown keys.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

__all__ = [
    "TIMED_KINDS",
    "timed_minutes",
    "Asset",
    "MODALITIES",
    "NODE_KINDS",
    "Competency",
    "ChoiceQuestion",
    "MultiQuestion",
    "NumberQuestion",
    "TextQuestion",
    "Question",
    "Rewards",
    "Option",
    "StoryNode",
    "TaskNode",
    "ChoiceNode",
    "QuizNode",
    "GateNode",
    "EndNode",
    "Node",
    "Edge",
    "Quest",
    "node_can_fail",
]

MODALITIES = (
    "video", "reading", "worksheet", "audio", "story", "song", "movie",
    "project", "game", "discussion", "other",
)

Id = Annotated[
    str,
    Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"),
]
Fraction = Annotated[float, Field(ge=0, le=1)]


class Strict(BaseModel):
    """Base of every quest model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", coerce_numbers_to_str=True)


class Competency(Strict):
    id: Id
    name: str
    standard: str | None = None
    description: str | None = None


# --- questions ---------------------------------------------------------------


class _QuestionBase(Strict):
    id: Id
    prompt: str
    hint: str | None = None
    #: shown after grading, right or wrong; written ``explanation:`` or ``explain:``
    explanation: str | None = Field(default=None,
                                    validation_alias=AliasChoices("explanation", "explain"))


def _check_distractors(distractors: list[str], info: ValidationInfo, answers: list[str]) -> list[str]:
    options = info.data.get("options")
    if options is None:
        return distractors
    unknown = [d for d in distractors if d not in options]
    if unknown:
        raise ValueError(f"distractors {unknown} are not among the options {options}")
    right = [d for d in distractors if d in answers]
    if right:
        raise ValueError(f"distractors {right} are right answers; a distractor is a wrong option "
                         "that a student with 'fewer options' does not see")
    if len(set(options) - set(distractors)) < 2:
        raise ValueError(f"with the distractors {distractors} removed, fewer than 2 of the options "
                         f"{options} are left; mark fewer distractors")
    return distractors


class ChoiceQuestion(_QuestionBase):
    type: Literal["choice"]
    options: list[str] = Field(min_length=2)
    answer: str
    #: wrong options a student with the "fewer options" accommodation does not see
    distractors: list[str] = Field(default_factory=list)

    @field_validator("distractors")
    @classmethod
    def _distractors_are_wrong_options(cls, distractors: list[str], info: ValidationInfo):
        return _check_distractors(distractors, info, [info.data.get("answer")])

    @field_validator("answer")
    @classmethod
    def _answer_is_an_option(cls, answer: str, info: ValidationInfo):
        options = info.data.get("options")
        if options is not None and answer not in options:
            raise ValueError(f"answer {answer!r} is not one of the options {options}")
        return answer


class MultiQuestion(_QuestionBase):
    type: Literal["multi"]
    options: list[str] = Field(min_length=2)
    answer: list[str] = Field(min_length=1)
    #: wrong options a student with the "fewer options" accommodation does not see
    distractors: list[str] = Field(default_factory=list)

    @field_validator("distractors")
    @classmethod
    def _distractors_are_wrong_options(cls, distractors: list[str], info: ValidationInfo):
        return _check_distractors(distractors, info, info.data.get("answer") or [])

    @field_validator("answer")
    @classmethod
    def _answers_are_options(cls, answer: list[str], info: ValidationInfo):
        options = info.data.get("options")
        wrong = [a for a in answer if options is not None and a not in options]
        if wrong:
            raise ValueError(f"answers {wrong} are not among the options {options}")
        return answer


class NumberQuestion(_QuestionBase):
    type: Literal["number"]
    answer: float
    tolerance: float = Field(default=0.0, ge=0)
    unit: str | None = None


class TextQuestion(_QuestionBase):
    type: Literal["text"]
    accept: list[str] = Field(min_length=1)


Question = Annotated[
    Union[ChoiceQuestion, MultiQuestion, NumberQuestion, TextQuestion],
    Field(discriminator="type"),
]


# --- nodes -------------------------------------------------------------------


class Rewards(Strict):
    xp: int = Field(default=0, ge=0, le=100_000)
    badge: Id | None = None
    badge_name: str | None = None
    title: str | None = None


class Option(Strict):
    """One way to learn or show understanding in a modality choice."""

    id: Id
    modality: Literal[MODALITIES]  # type: ignore[valid-type]
    label: str
    text: str | None = None
    url: str | None = None
    complete: Literal["self", "review", "quiz"] = "self"
    questions: list[Question] = Field(default_factory=list)
    pass_score: Fraction = 0.7

    @model_validator(mode="after")
    def _quiz_needs_questions(self):
        if self.complete == "quiz" and not self.questions:
            raise ValueError("an option completed by 'quiz' needs questions")
        if self.complete != "quiz" and self.questions:
            raise ValueError("questions are only used when complete is 'quiz'")
        return self


class _NodeBase(Strict):
    id: Id
    title: str
    story: str | None = None
    text: str | None = None
    #: the author's simpler-language version of ``text`` (for a task without ``text``: of its
    #: ``instructions``), shown instead to students with the "simpler text" accommodation
    text_simple: str | None = None
    xp: int = Field(default=0, ge=0, le=100_000)
    fail_xp: int = Field(default=0, ge=0, le=100_000)
    competencies: list[Id] = Field(default_factory=list)
    hints: list[str] = Field(default_factory=list)
    reflection: str | None = None
    requires: Literal["all", "any"] = "all"
    position: tuple[float, float] | None = None


class StoryNode(_NodeBase):
    kind: Literal["story"]


class TaskNode(_NodeBase):
    kind: Literal["task"]
    complete: Literal["self", "review"] = "self"
    instructions: str | None = None


class ChoiceNode(_NodeBase):
    kind: Literal["choice"]
    options: list[Option] = Field(min_length=2)



class QuizNode(_NodeBase):
    kind: Literal["quiz"]
    questions: list[Question] = Field(min_length=1)
    pass_score: Fraction = 0.7
    #: a timed challenge: minutes the student is given (students with "more time" get more)
    time_limit: float | None = Field(default=None, gt=0, le=600)


#: the kinds that may be timed challenges (``time_limit``, in minutes)
TIMED_KINDS = ("quiz", "gate")


def timed_minutes(node) -> float | None:
    """The minutes a timed challenge gives (``None`` for a step that is not timed).

    Only quizzes and gates are timed challenges; a plugin kind's own ``time_limit``
    (the ``code`` kind's seconds for running the student's program) is something else.

    >>> timed_minutes(QuizNode(id="q", kind="quiz", title="Q", time_limit=5,
    ...               questions=[{"id": "a", "type": "text", "prompt": "?", "accept": ["x"]}]))
    5.0
    """
    if getattr(node, "kind", None) not in TIMED_KINDS:
        return None
    return getattr(node, "time_limit", None)


class BKTParams(Strict):
    """Bayesian Knowledge Tracing parameters (see mastery.py)."""

    prior: Fraction = 0.3
    learn: Fraction = 0.1
    guess: Fraction = 0.2
    slip: Fraction = 0.1


class GateNode(_NodeBase):
    """Mastery gate: success when mastery of its competencies >= threshold."""

    kind: Literal["gate"]
    threshold: Fraction = 0.8
    max_attempts: int = Field(default=3, ge=1, le=100)
    questions: list[Question] = Field(default_factory=list)
    #: a timed challenge: minutes the student is given (students with "more time" get more)
    time_limit: float | None = Field(default=None, gt=0, le=600)
    estimator: Literal["score", "bkt"] = "score"
    bkt: BKTParams | None = None

    @model_validator(mode="after")
    def _bkt_mastered_line(self):
        # BKT's usual line is p >= 0.95; a gate that does not say otherwise uses it
        if self.estimator == "bkt" and "threshold" not in self.model_fields_set:
            self.threshold = 0.95
        return self

    @model_validator(mode="after")
    def _needs_evidence(self):
        if not self.questions and not self.competencies:
            raise ValueError(
                "a gate needs questions, competencies (to use earlier evidence), or both"
            )
        return self


class EndNode(_NodeBase):
    kind: Literal["end"]
    rewards: Rewards = Field(default_factory=Rewards)


Node = Annotated[
    Union[StoryNode, TaskNode, ChoiceNode, QuizNode, GateNode, EndNode],
    Field(discriminator="kind"),
]
NODE_KINDS = ("story", "task", "choice", "quiz", "gate", "end")


def node_can_fail(node: Any) -> bool:
    """Whether a node's outcome can be ``fail`` (so fail/success edges make sense)."""
    kind = node.kind
    if kind == "quiz":
        return node.pass_score > 0  # with pass_score 0 every answer passes
    if kind == "gate":
        return node.threshold > 0
    if kind == "task":
        return node.complete == "review"
    if kind == "choice":
        return any(o.complete == "review" or (o.complete == "quiz" and o.pass_score > 0)
                   for o in node.options)
    return bool(getattr(node, "can_fail", False))


# --- edges and the quest -----------------------------------------------------


class Edge(Strict):
    """A path between two nodes; ``when`` says which outcome of the source opens it."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    when: Literal["done", "success", "fail", "retry"] = "done"

    @model_validator(mode="before")
    @classmethod
    def _from_pair(cls, data: Any) -> Any:
        if isinstance(data, (list, tuple)):
            if len(data) != 2:
                raise ValueError(
                    f"an edge written as a list needs exactly [from, to], got {len(data)} items"
                )
            return {"from": data[0], "to": data[1]}
        return data


class Asset(Strict):
    """A file shipped with the quest (a video, a recording, a worksheet, a picture).

    ``path`` is relative to the quest file (``assets/fraction-forest/song.wav``) and is
    what an option's ``url`` names; ``captions`` a WebVTT file for a video or a recording.
    """

    path: str = Field(pattern=r"^assets/[A-Za-z0-9._/-]+$")
    title: str | None = None
    captions: str | None = Field(default=None, pattern=r"^assets/[A-Za-z0-9._/-]+\.vtt$")


class Quest(Strict):
    id: Id
    title: str
    version: int = Field(default=1, ge=1)
    story: str | None = None
    description: str | None = None
    theme: str | None = None
    competencies: list[Competency] = Field(default_factory=list)
    assets: list[Asset] = Field(default_factory=list)
    nodes: list[Node] = Field(min_length=1)
    edges: list[Edge] = Field(default_factory=list)
    # texts in other languages, by language code (questengine.i18n.localize shows them):
    # {es: {title, story, competencies: {id: {name}}, nodes: {id: {title, text, hints,
    #  options: {id: {label, text}}, questions: {id: {prompt, options}}}}}}
    translations: dict[Annotated[str, Field(pattern=r"^[a-z]{2,3}$")], dict[str, Any]] = Field(
        default_factory=dict)

    _source: Any = PrivateAttr(default=None)

    def __eq__(self, other: object) -> bool:
        # equal content, wherever it was loaded from (the private source is left out)
        if not isinstance(other, Quest):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]

    def node(self, node_id: str):
        """The node with this id (KeyError naming the valid ids if missing)."""
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise KeyError(f"no node {node_id!r} in quest {self.id!r}")

    def to_data(self) -> dict:
        """Plain data in the file's shape: keys never set left out, plain edges as pairs."""
        data = self.model_dump(mode="json", by_alias=True, exclude_unset=True)
        data["nodes"] = [
            {"id": n.id, "kind": n.kind, **{k: v for k, v in d.items() if k not in ("id", "kind")}}
            for n, d in zip(self.nodes, data.get("nodes", []))
        ]
        data["edges"] = [
            [e.source, e.target] if e.when == "done" else {"from": e.source, "to": e.target, "when": e.when}
            for e in self.edges
        ]
        ordered = {k: data[k] for k in ("id", "title") if k in data}
        ordered.update({k: v for k, v in data.items() if k not in ordered})
        return ordered
