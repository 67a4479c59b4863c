"""Mastery estimates from evidence: a score rule and Bayesian Knowledge Tracing.

Evidence for a competency is a list of :class:`Observation` (one per graded
question, or one per reviewed piece of work). Everything here is a pure
function of that list.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

__all__ = ["Observation", "BKT", "score_rule", "bkt_update", "bkt", "estimate", "MASTERED_P"]

#: BKT's usual mastery line: p(known) >= 0.95.
MASTERED_P = 0.95


@dataclass(frozen=True)
class Observation:
    """One piece of evidence: right or wrong, with the score of the attempt it came from."""

    correct: bool
    score: float
    node: str = ""
    attempt: int = 1  # the node's graded attempt it came from, counted over all rounds


@dataclass(frozen=True)
class BKT:
    """BKT parameters: p(L0) prior, p(T) learn, p(G) guess, p(S) slip."""

    prior: float = 0.3
    learn: float = 0.1
    guess: float = 0.2
    slip: float = 0.1

    def __post_init__(self):
        for name in ("prior", "learn", "guess", "slip"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"BKT {name} must be between 0 and 1, got {value}")


def score_rule(scores: Iterable[float], mode: Literal["latest", "best"] = "latest") -> float:
    """The latest (or best) score; 0.0 without evidence."""
    scores = list(scores)
    if not scores:
        return 0.0
    return max(scores) if mode == "best" else scores[-1]


def _bkt_step(known: float, unknown: float, correct: bool, params: BKT) -> tuple[float, float]:
    """One BKT step on both probabilities, so neither is lost to rounding near 0 or 1."""
    g, s = params.guess, params.slip
    if correct:
        k, u = known * (1 - s), unknown * g
    else:
        k, u = known * s, unknown * (1 - g)
    total = k + u
    if total <= 0:
        return known, unknown
    k, u = k / total, u / total
    return k + u * params.learn, u * (1 - params.learn)


def bkt_update(p_known: float, correct: bool, params: BKT = BKT()) -> float:
    """One BKT step: the posterior given the answer, then the chance of learning."""
    return _bkt_step(p_known, 1 - p_known, correct, params)[0]


def bkt(observations: Iterable[bool | Observation], params: BKT = BKT()) -> float:
    """p(known) after a sequence of right/wrong answers, starting from the prior."""
    known, unknown = params.prior, 1 - params.prior
    for obs in observations:
        correct = obs.correct if isinstance(obs, Observation) else bool(obs)
        known, unknown = _bkt_step(known, unknown, correct, params)
    return known


def estimate(observations: list[Observation], estimator: Literal["score", "bkt"] = "score",
             params: BKT = BKT(), mode: Literal["latest", "best"] = "latest") -> float:
    """Mastery in [0, 1]: the score rule over attempts' scores, or BKT over answers."""
    if estimator == "bkt":
        return bkt(observations, params)
    scores, last = [], None
    for obs in observations:  # one score per attempt, in order
        key = (obs.node, obs.attempt)
        if key != last:
            scores.append(obs.score)
            last = key
    return score_rule(scores, mode)
