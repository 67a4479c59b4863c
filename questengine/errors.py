"""One exception family: every error the engine raises is a QuestEngineError.

Subclasses carry the context a person needs to fix the problem: the file,
line and key path of a quest file, the nodes involved in a graph problem,
the node and reason of an illegal action.
"""
from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "QuestEngineError",
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


class QuestEngineError(Exception):
    """Base class of every error questengine raises on purpose."""


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

    def __init__(self, message: str, node: str | None = None):
        self.node = node
        super().__init__(message)


class ClassroomError(QuestEngineError):
    """Bad input to the classroom service (an empty name, a roster without a name column...)."""


class AccessDenied(QuestEngineError):
    """This session may not see or change that student, class or quest."""


class LoginError(QuestEngineError):
    """A login did not succeed; the message says what to check."""


class LoginThrottled(LoginError):
    """Too many failed logins for this name (or teacher) in a short time: wait ``wait`` seconds."""

    def __init__(self, message: str, wait: float = 0.0):
        super().__init__(message)
        self.wait = wait


class SessionExpired(QuestEngineError):
    """The session ended (logged out or timed out); log in again."""
