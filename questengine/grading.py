"""Auto-grading of quiz and gate answers, on the server side only.

A quiz's score is the fraction of its questions answered right. Text answers
are compared case- and space-insensitively; numbers accept a tolerance, a
decimal comma and fractions such as ``1/2``.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from .errors import N_, ProgressError

__all__ = ["Grade", "grade", "grade_question", "normalize_text", "parse_number", "check_answers"]

#: What a number answer may look like at most: 40 characters, exponents up to 10**100.
MAX_NUMBER_CHARS = 40
MAX_EXPONENT = 100


@dataclass(frozen=True)
class Grade:
    """The result of grading one set of answers: score in [0, 1] and per-question results."""

    score: float
    results: dict[str, bool] = field(default_factory=dict)

    @property
    def perfect(self) -> bool:
        return bool(self.results) and all(self.results.values())


def normalize_text(text: str) -> str:
    """Lower-case, white space folded, no spaces around ``/``, end punctuation dropped.

    >>> normalize_text("  However, ") == normalize_text("however") == "however"
    True
    >>> normalize_text("2 / 10")
    '2/10'
    """
    text = re.sub(r"\s+", " ", str(text)).strip().casefold()
    text = re.sub(r"\s*/\s*", "/", text)
    return re.sub(r"^[\s.,;:!?\"'“”‘’]+|[\s.,;:!?\"'“”‘’]+$", "", text)


def parse_number(value: Any) -> float | None:
    """A number from what a student typed: ``0.5``, ``0,5``, ``1/2``, ``1 1/2``; None if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    text = str(value).strip().replace(" ", " ")
    # a bound before any arithmetic: `1e10000000` would otherwise build a ten-million-digit
    # integer and tie up the kernel for half a minute
    if len(text) > MAX_NUMBER_CHARS:
        return None
    exponent = re.search(r"[eE]\s*([+-]?\d+)", text)
    if exponent and abs(int(exponent.group(1))) > MAX_EXPONENT:
        return None
    mixed = re.fullmatch(r"(-?\d+)\s+(\d+)\s*/\s*(\d+)", text)
    try:
        if mixed:
            whole, num, den = (int(g) for g in mixed.groups())
            frac = Fraction(num, den)
            return float(whole - frac if whole < 0 else whole + frac)
        text = re.sub(r"\s*/\s*", "/", text)
        if re.fullmatch(r"-?\d{1,3}(,\d{3})+", text):  # 1,000: a thousands separator
            text = text.replace(",", "")
        elif re.fullmatch(r"-?\d+,\d+", text):  # 0,5: a decimal comma
            text = text.replace(",", ".")
        number = float(Fraction(text))
    except (ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def check_answers(questions: list, answers: dict[str, Any], where: str,
                  blanks: bool = False) -> None:
    """Raise ProgressError unless ``answers`` answers every question with a value of the right shape.

    With ``blanks`` (a timed round handed in as its time ran out) unanswered questions may
    stay blank; the ones answered are still checked.
    """
    if not isinstance(answers, dict):
        raise ProgressError(f"answers to {where} must map question ids to answers")
    ids = [q.id for q in questions]
    unknown = [k for k in answers if k not in ids]
    if unknown:
        raise ProgressError(f"{where} has no question {_names(unknown)}; its questions are {_names(ids)}")
    missing = [q.id for q in questions if _blank(answers.get(q.id))]
    if missing and not blanks:
        raise ProgressError(N_("answer every question of {where} before submitting; no answer "
                               "yet for {missing}"), where=where, missing=_names(missing))
    for q in questions:
        value = answers.get(q.id)
        if _blank(value):  # only with ``blanks``: counted wrong when graded
            continue
        if q.type == "choice" and value not in q.options:
            raise ProgressError(f"{value!r} is not a choice of question '{q.id}'; "
                                f"choices: {', '.join(q.options)}")
        if q.type == "multi":
            picked = value if isinstance(value, (list, tuple)) else [value]
            wrong = [v for v in picked if v not in q.options]
            if wrong:
                raise ProgressError(f"{_names(wrong)} not among the choices of question '{q.id}'; "
                                    f"choices: {', '.join(q.options)}")
        if q.type == "number" and isinstance(value, str) and len(value) > MAX_NUMBER_CHARS:
            raise ProgressError(f"the answer to question '{q.id}' is too long for a number "
                                f"({MAX_NUMBER_CHARS} characters at most)")
        if q.type == "number" and parse_number(value) is None:
            raise ProgressError(N_("question '{question}' needs a number (like 0.5 or 1/2), got "
                                   "{value!r}"), question=q.id, value=value)
        if q.type == "text" and len(str(value)) > 2000:
            raise ProgressError(f"the answer to question '{q.id}' is too long (2000 characters at most)")


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, (list, tuple)):
        return not value
    return False


def _names(items) -> str:
    return ", ".join(f"'{i}'" for i in items)


def grade_question(question: Any, answer: Any) -> bool:
    """Whether one answer is right."""
    if question.type == "choice":
        return answer == question.answer
    if question.type == "multi":
        picked = answer if isinstance(answer, (list, tuple)) else [answer]
        return set(picked) == set(question.answer)
    if question.type == "number":
        value = parse_number(answer)
        return value is not None and abs(value - question.answer) <= question.tolerance + 1e-12
    if question.type == "text":
        given = normalize_text(answer)
        return any(given == normalize_text(a) for a in question.accept)
    raise ValueError(f"unknown question type {question.type!r}")


def grade(questions: list, answers: dict[str, Any]) -> Grade:
    """Grade answers to a list of questions; unanswered questions count as wrong."""
    if not questions:
        return Grade(score=0.0, results={})
    results = {q.id: q.id in answers and grade_question(q, answers[q.id]) for q in questions}
    return Grade(score=sum(results.values()) / len(questions), results=results)
