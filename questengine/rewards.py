"""XP, levels and badges.

Levels follow a gentle curve: level L starts at ``50 * L * (L - 1)`` XP
(0, 100, 300, 600, 1000, ...). Badges come from rules: small pure functions
of a student's progress in a quest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from .engine import Progress

__all__ = ["BadgeRule", "BUILTIN_BADGES", "level_for", "xp_for_level", "level_progress", "earned_badges"]


def xp_for_level(level: int) -> int:
    """XP needed to reach ``level`` (level 1 needs 0)."""
    if level < 1:
        raise ValueError(f"levels start at 1, got {level}")
    return 50 * level * (level - 1)


def level_for(xp: int) -> int:
    """The level reached with this much XP."""
    if xp <= 0:
        return 1
    level = int((1 + math.sqrt(1 + 0.08 * xp)) / 2)
    while xp_for_level(level + 1) <= xp:
        level += 1
    while xp_for_level(level) > xp:
        level -= 1
    return level


def level_progress(xp: int) -> tuple[int, int, int]:
    """(level, XP earned into this level, XP this level spans) for an XP bar."""
    level = level_for(xp)
    start = xp_for_level(level)
    return level, xp - start, xp_for_level(level + 1) - start


@dataclass(frozen=True)
class BadgeRule:
    """A badge and the rule that awards it."""

    id: str
    name: str
    description: str
    earned: Callable[["Progress"], bool]


def _modalities_tried(p: "Progress") -> bool:
    return len({pick.modality for pick in p.picks}) >= 3


def _perfect(p: "Progress") -> bool:
    return any(n.perfect for n in p.nodes.values())


def _first_try_gate(p: "Progress") -> bool:
    return any(n.kind == "gate" and n.state == "success" and n.attempts == 1 and not n.by_teacher
               for n in p.nodes.values())


def _comeback(p: "Progress") -> bool:
    return any(n.kind == "gate" and n.state == "success" and n.attempts > 1 and not n.by_teacher
               for n in p.nodes.values())


def _reflective(p: "Progress") -> bool:
    return sum(1 for n in p.nodes.values() if n.reflection) >= 3


BUILTIN_BADGES: tuple[BadgeRule, ...] = (
    BadgeRule("explorer", "Explorer", "Tried three different ways of learning.", _modalities_tried),
    BadgeRule("perfect-score", "Perfect Score", "Answered every question of a quiz or gate right.",
              _perfect),
    BadgeRule("first-try", "First Try", "Passed a mastery gate on the first attempt.", _first_try_gate),
    BadgeRule("comeback", "Comeback", "Practised and passed a gate after not passing it.", _comeback),
    BadgeRule("reflective", "Reflective", "Wrote three reflections.", _reflective),
)


def earned_badges(progress: "Progress", rules: tuple[BadgeRule, ...] = BUILTIN_BADGES) -> list[str]:
    """Ids of the rule badges this progress earns, in rule order."""
    return [rule.id for rule in rules if rule.earned(progress)]
