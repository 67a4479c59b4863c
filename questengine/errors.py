"""One exception family: every error the engine raises is a QuestEngineError.

Subclasses carry the context a person needs to fix the problem: the file,
line and key path of a quest file, the nodes involved in a graph problem,
the node and reason of an illegal action.

Errors a person sees also carry a translatable form (:class:`Message`): the
catalog's English sentence with ``{fields}`` and its values. ``str(err)`` stays
the English sentence (for developers and logs); a page shows
``err.translated(_, names)`` with the user's gettext function and the graph
whose titles name the steps (the quest as the user sees it). Nothing here keeps a
language: whoever renders passes it.

>>> err = ProgressError("You cannot {verb} {step} yet.", "learn",
...                     verb=Message("complete"), step=Step("learn", "Learn"))
>>> str(err)
'You cannot complete “Learn” yet.'
>>> err.translated({"complete": "completar", "You cannot {verb} {step} yet.":
...                 "No puedes {verb} {step} todavía.", "“{title}”": "«{title}»"}.get)
'No puedes completar «Learn» todavía.'
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "QuestEngineError",
    "Message",
    "Step",
    "Problem",
    "QuestFileError",
    "QuestValidationError",
    "ProgressError",
    "ClassroomError",
    "AccessDenied",
    "LoginError",
    "LoginThrottled",
    "SessionExpired",
]


def _same(text: str) -> str:
    return text


def N_(text: str) -> str:
    """Mark a sentence for the translators' catalog where it is defined (Babel extracts it)."""
    return text


def _value(value: Any, translate: Callable[[str], str], names) -> Any:
    render = getattr(value, "render", None)
    return render(translate, names) if callable(render) else value


class Message:
    """A sentence for a person: its catalog id (the English text, with ``{fields}``) and
    the values of its fields, rendered in any language by :meth:`render`.

    A value that has a ``render(translate, names)`` method (another Message, a
    :class:`Step`) is rendered in the same language; other values are shown as they are.
    A message with no values is not formatted (its braces stay as written).
    """

    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, **params: Any):
        self.msgid = msgid
        self.params = params

    def render(self, translate: Callable[[str], str] | None = None, names=None) -> str:
        """The sentence through ``translate`` (a gettext function; None: English), the steps
        named by their titles in ``names`` (a quest graph as the reader sees it)."""
        t = translate or _same
        text = t(self.msgid) or self.msgid
        if not self.params:
            return text
        return text.format(**{k: _value(v, t, names) for k, v in self.params.items()})

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Message({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, Message) and other.msgid == self.msgid
                and other.params == self.params)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Step:
    """A step named in a sentence: shown in quotes with its title in the reader's graph
    (``names``), else the title it had when the sentence was made."""

    node: str
    title: str

    def render(self, translate: Callable[[str], str] | None = None, names=None) -> str:
        title = self.title
        model = None
        if names is not None and self.node in names:
            model = names.nodes[self.node].get("node")
        if getattr(model, "title", None):
            title = model.title
        t = translate or _same
        return (t("“{title}”") or "“{title}”").format(title=title)

    def __str__(self) -> str:
        return self.render()


class QuestEngineError(Exception):
    """Base class of every error questengine raises on purpose.

    ``QuestEngineError(msgid, **values)`` keeps the sentence's translatable form
    (``form``, a :class:`Message`); ``str(err)`` is its English text.
    """

    form: Message | None = None

    def __init__(self, message: Any = "", *args: Any, **params: Any):
        form = message if isinstance(message, Message) else (
            Message(message, **params) if isinstance(message, str) else None)
        super().__init__(form.render() if form is not None else message, *args)
        self.form = form

    def translated(self, translate: Callable[[str], str] | None = None, names=None) -> str:
        """The sentence in the reader's language (``translate``: their gettext function),
        the steps named by their titles in ``names`` (the graph the reader sees)."""
        if self.form is None:
            return str(self)
        return self.form.render(translate, names)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a quest, located as precisely as we can.

    ``path`` is a key path such as ``nodes[3].threshold``; ``line`` is the
    1-based line in ``file`` when the quest came from a file; ``nodes`` are
    the node ids involved (for graph problems).
    """

    message: str
    path: str = ""
    file: str | None = None
    line: int | None = None
    nodes: tuple[str, ...] = field(default=())
    code: str = "invalid"
    #: the sentence's translatable form (a :class:`Message`), when it has one
    form: Message | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of(cls, form: Message, **where: Any) -> "Problem":
        """A problem whose sentence can be shown in the reader's language."""
        return cls(form.render(), form=form, **where)

    def translated(self, translate: Callable[[str], str] | None = None, names=None) -> str:
        """The sentence (without its place) in the reader's language."""
        return self.form.render(translate, names) if self.form is not None else self.message

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}: " if self.line else f"{self.file}: "
        elif self.line:
            where = f"line {self.line}: "
        key = f"{self.path}: " if self.path else ""
        return f"{where}{key}{self.message}"


class _ProblemsError(QuestEngineError):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class QuestFileError(_ProblemsError):
    """A quest file could not be read or does not match the quest format."""


class QuestValidationError(_ProblemsError):
    """A quest parsed but its map is wrong (cycles, unreachable nodes...)."""


class ProgressError(QuestEngineError):
    """An action a student or teacher may not take now; says why."""

    def __init__(self, message: Any, node: str | None = None, **params: Any):
        self.node = node
        super().__init__(message, **params)


class ClassroomError(QuestEngineError):
    """Bad input to the classroom service (an empty name, a roster without a name column...)."""


class AccessDenied(QuestEngineError):
    """This session may not see or change that student, class or quest."""


class LoginError(QuestEngineError):
    """A login did not succeed; the message says what to check."""


class LoginThrottled(LoginError):
    """Too many failed logins for this name (or teacher) in a short time: wait ``wait`` seconds."""

    def __init__(self, message: Any, wait: float = 0.0, **params: Any):
        super().__init__(message, **params)
        self.wait = wait


class SessionExpired(QuestEngineError):
    """The session ended (logged out or timed out); log in again."""
