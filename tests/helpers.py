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


def two_class_school(db_address, clock=None):
    """Ms. Ann's Class A (quest T1 assigned; Ada and Alan) and Mr. Bob's Class B (Bea).

    Returns the classroom, both teachers' sessions and the students' ids by name."""
    from questengine import loads_quest
    from questengine.classroom import Classroom

    c = Classroom(db_address, clock=clock or FakeClock(), hasher=cheap_hasher())
    c.add_teacher("ann@school.org", "Ms. Ann", "password-ann")
    c.create_class("ann@school.org", "Class A", "CLASS-A")
    c.add_teacher("bob@school.org", "Mr. Bob", "password-bob")
    c.create_class("bob@school.org", "Class B", "CLASS-B")
    ann = c.login_teacher("ann@school.org", "password-ann")
    bob = c.login_teacher("bob@school.org", "password-bob")
    ann.publish(loads_quest(T1))
    ann.assign("t1", "CLASS-A")
    ids = {name: ann.add_student("CLASS-A", name, "1234").student_id for name in ("Ada", "Alan")}
    ids["Bea"] = bob.add_student("CLASS-B", "Bea", "1234").student_id
    return c, ann, bob, ids


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
