"""A demo classroom: a teacher, a class of 24 students with varied progress.

Everything goes through the classroom service, as the pages would: students
play with the simulator's moves, the teacher reviews some work and leaves
some waiting, and a few students stay stuck at a gate.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from argon2 import PasswordHasher

from .classroom import Classroom, StudentLogin
from .errors import ClassroomError
from .loader import load_quest
from .simulate import next_move
from .store import is_postgres, open_store

__all__ = ["DemoInfo", "build_demo", "DEMO_TEACHER", "DEMO_PASSWORD", "DEMO_CLASS"]

DEMO_TEACHER = "teacher@demo.school"
DEMO_PASSWORD = "demo-teacher"
DEMO_CLASS = "DEMO-4B"
STUDENT_NAMES = (
    "Amara Okafor", "Ben Cohen", "Chloé Martin", "Diego Ramírez", "Elif Yılmaz", "Finn Murphy",
    "Grace Kim", "Hiro Tanaka", "Isla Brown", "Jamal Carter", "Kavya Iyer", "Leo Rossi",
    "Maya Singh", "Noah Smith", "Olivia Nowak", "Priya Patel", "Quinn Lee", "Rosa García",
    "Sami Haddad", "Tala Nguyen", "Uma Shah", "Victor Dubois", "Wen Li", "Zara Ahmed",
)


@dataclass
class DemoInfo:
    db: Path | str  # a SQLite file, or the postgresql:// address as given
    class_code: str
    teacher_email: str
    teacher_password: str
    students: list[StudentLogin]
    quests: list[str]


def build_demo(db: str | Path, quests_dir: str | Path, *, seed: int = 7,
               hasher: PasswordHasher | None = None) -> DemoInfo:
    """Create a fresh demo database at ``db``: a SQLite file (an existing one is replaced), or
    ``postgresql://user@host/dbname``, which must hold no classroom yet (nothing is dropped)."""
    if is_postgres(str(db)):
        db = str(db)
        store = open_store(db)  # creates the tables in an empty database
        if any(store.count_rows(table) for table in ("teachers", "classes", "students")):
            shown = getattr(store, "shown", "the database")
            store.close()
            raise ClassroomError(f"{shown} already holds a classroom; the demo writes only into "
                                 "an empty database (make one, e.g. `createdb questengine_demo`, "
                                 "and pass its address)")
    else:
        db = store = Path(db)
        db.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
    rng = random.Random(seed)
    # a history that ends about now, so "no activity for N days" means something
    start = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=9)
    clock = _Clock(start)
    classroom = Classroom(store, clock=clock, hasher=hasher)
    teacher_id = classroom.add_teacher(DEMO_TEACHER, "Ms. Rivera", DEMO_PASSWORD)
    code = classroom.create_class(DEMO_TEACHER, "Grade 4B", DEMO_CLASS)
    logins = classroom.add_students(code, [(name, f"{1000 + i * 37:04d}")
                                           for i, name in enumerate(STUDENT_NAMES)])
    quest_ids = []
    for path in sorted(Path(quests_dir).glob("*.yaml")):
        quest = load_quest(path, classroom.registry)
        classroom.publish(quest, by=teacher_id)
        classroom.assign(quest.id, code, by=teacher_id)
        quest_ids.append(quest.id)
    for i, login in enumerate(logins):
        clock.now = start + timedelta(hours=8 * i)  # students work on different days
        teacher = classroom.login_teacher(DEMO_TEACHER, DEMO_PASSWORD)
        student = classroom.login_student(code, login.name, login.pin)
        # varied progress: a few have not started, most are part-way, some finished
        for quest_id in quest_ids:
            steps = rng.choice([0, 3, 6, 10, 15, 25, 60]) if i else 0
            skill = rng.choice([0.15, 0.4, 0.6, 0.8, 0.95])
            _play(classroom, student, teacher, quest_id, rng, steps, skill, clock)
    classroom.store.close()
    return DemoInfo(db, code, DEMO_TEACHER, DEMO_PASSWORD, logins, quest_ids)


class _Clock:
    """A demo clock: each call moves 5 s on, so the demo has a history."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=5)
        return self.now


def _play(classroom: Classroom, student, teacher, quest_id: str, rng: random.Random,
          steps: int, skill: float, clock: _Clock) -> None:
    G = classroom.graph(quest_id)
    helped: set[str] = set()
    for _ in range(steps):
        progress = student.progress(quest_id)
        if progress.complete:
            return
        move = next_move(G, progress, rng, skill=skill, helped=helped,
                         teacher=rng.random() < 0.6)
        if move is None:
            return
        a = move.action
        sid = student._row["id"]
        if move.role == "teacher" and a.type == "review":
            item = next(q for q in teacher.review_queue()
                        if q.student_id == sid and q.node == a.node and q.quest_id == quest_id)
            teacher.review(item.submission_id, a.decision, a.feedback or "")
        elif move.role == "teacher":
            teacher.override(sid, quest_id, a.node, a.op, a.reason or "")
        elif a.type == "choose":
            student.choose(quest_id, a.node, a.option)
        elif a.type == "answer":
            student.answer(quest_id, a.node, a.answers)
        elif a.type == "submit":
            student.submit(quest_id, a.node, a.content)
        else:
            student.complete(quest_id, a.node)
