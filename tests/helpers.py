"""What several test files share: a tiny quest, a fake clock and a fast password hasher."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from argon2 import PasswordHasher

#: A tiny quest with every feature the store and the service tests need: a modality
#: choice with a reviewed option, a gate with a remediation loop and an end with a badge.
T1 = """\
# a tiny quest
id: t1
title: Tiny fractions
competencies:
  - {id: equiv, name: Equivalent fractions, standard: CCSS.MATH.CONTENT.4.NF.A.1}
nodes:
  - {id: intro, kind: story, title: Into the forest, text: "Hello", xp: 5}
  - id: learn   # modality
    kind: choice
    title: Learn
    competencies: [equiv]
    options:
      - {id: video, modality: video, label: Watch, complete: self}
      - {id: sheet, modality: worksheet, label: Worksheet, complete: review}
  - id: check
    kind: gate
    title: Checkpoint
    competencies: [equiv]
    threshold: 0.8
    max_attempts: 2
    questions:
      - {id: q1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3"], answer: "2/4"}
      - {id: q2, type: number, prompt: 1/4 + 1/4, answer: 0.5, tolerance: 0.001}
  - {id: practice, kind: task, title: Extra practice, complete: self}
  - {id: end, kind: end, title: Out, rewards: {xp: 100, badge: forest-ranger}}
edges:
  - [intro, learn]
  - [learn, check]
  - {from: check, to: end, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
"""

START = datetime(2024, 9, 2, 8, 0, tzinfo=timezone.utc)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw) -> None:
        self.now += timedelta(**kw)


def cheap_hasher() -> PasswordHasher:
    """argon2 with tiny costs: logins in tests stay fast (the real default is much slower)."""
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


# answers as a student types or clicks them in the page (numbers as text)


def right(q):
    """The answer a student who knows it types or clicks."""
    if q.type in ("choice", "multi"):
        return q.answer
    if q.type == "number":
        return f"{q.answer:g}"
    return q.accept[0]


def wrong(q):
    if q.type == "choice":
        return next(o for o in q.options if o != q.answer)
    if q.type == "multi":
        return [o for o in q.options if o not in q.answer][:1]
    if q.type == "number":
        return f"{q.answer + 1:g}"
    return "I do not know"


def answers(questions, how):
    return {q.id: how(q) for q in questions}
