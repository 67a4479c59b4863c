"""questengine.demo.build_demo: a demo classroom built through the classroom service."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from questengine.classroom import Classroom
from questengine.errors import ClassroomError
from questengine.demo import DEMO_CLASS, DEMO_PASSWORD, DEMO_TEACHER, STUDENT_NAMES, build_demo

from helpers import cheap_hasher

QUESTS = Path(__file__).resolve().parent.parent / "quests"
SAMPLE_IDS = sorted(p.stem for p in QUESTS.glob("*.yaml"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    db = tmp_path_factory.mktemp("demo") / "demo.db"
    info = build_demo(db, QUESTS, seed=7, hasher=cheap_hasher())
    classroom = Classroom(db, hasher=cheap_hasher())
    return info, classroom, classroom.login_teacher(DEMO_TEACHER, DEMO_PASSWORD)


def test_the_demo_has_its_teacher_class_students_and_every_sample_quest(demo):
    info, _, teacher = demo
    assert (info.class_code, info.teacher_email, info.teacher_password) == (
        DEMO_CLASS, DEMO_TEACHER, DEMO_PASSWORD)
    assert [c["code"] for c in teacher.classes()] == [DEMO_CLASS]
    assert sorted(info.quests) == SAMPLE_IDS
    assert sorted(a["quest_id"] for a in teacher.assigned(DEMO_CLASS)) == SAMPLE_IDS
    assert [s.name for s in info.students] == list(STUDENT_NAMES)
    assert sorted(s["name"] for s in teacher.students(DEMO_CLASS)) == sorted(STUDENT_NAMES)


def test_every_printed_login_works(demo):
    info, classroom, _ = demo
    for login in info.students:
        assert classroom.login_student(login.class_code, login.name, login.pin).name == login.name


def test_progress_is_varied_as_a_class_is(demo):
    """Some have not started, some are part-way, some work waits for review, some are stuck."""
    info, _, teacher = demo
    states = {}
    for login in info.students:
        for q in info.quests:
            p = teacher.progress(login.student_id, q)
            states[login.name, q] = set(p.states().values())
    untouched = [k for k, s in states.items() if s <= {"locked", "available"}]
    finished = [k for k in states if teacher.progress(
        next(s.student_id for s in info.students if s.name == k[0]), k[1]).complete]
    assert untouched, "every student started every quest: no one to nudge"
    assert finished, "nobody finished a quest: no badge to show"
    assert len(untouched) + len(finished) < len(states), "nobody is part-way"
    assert teacher.review_queue(DEMO_CLASS), "no work waits for review"
    kinds = {s.kind for s in teacher.struggling(DEMO_CLASS)}
    assert "fails" in kinds, f"nobody is stuck at a gate: {kinds}"


def test_the_history_ends_about_now(demo):
    info, classroom, _ = demo
    now = datetime.now(timezone.utc)
    last = max(e.at for login in info.students for q in info.quests
               for e in classroom.store.events(login.student_id, q))
    last = datetime.fromisoformat(last) if isinstance(last, str) else last
    assert now - timedelta(days=10) < last <= now + timedelta(days=1)


def test_the_same_seed_builds_the_same_class_and_an_old_file_is_replaced(demo, tmp_path):
    info, _, teacher = demo
    db = tmp_path / "again.db"
    db.write_text("an old file that is not a database", encoding="utf-8")
    Path(f"{db}-wal").write_text("stale", encoding="utf-8")
    again = build_demo(db, QUESTS, seed=7, hasher=cheap_hasher())
    other = Classroom(db, hasher=cheap_hasher()).login_teacher(DEMO_TEACHER, DEMO_PASSWORD)
    assert [(s.name, s.pin) for s in again.students] == [(s.name, s.pin) for s in info.students]
    for a, b in zip(info.students, again.students):
        for q in info.quests:
            assert other.progress(b.student_id, q).states() == \
                teacher.progress(a.student_id, q).states(), (a.name, q)


def test_a_quests_folder_without_quests_builds_a_class_with_none(tmp_path):
    info = build_demo(tmp_path / "empty.db", tmp_path, hasher=cheap_hasher())
    assert info.quests == [] and len(info.students) == len(STUDENT_NAMES)


def test_the_demo_command_builds_the_same_class_in_postgresql(demo, pg_address):
    from click.testing import CliRunner

    from questengine.cli import main

    info, _, teacher = demo
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--db", pg_address, "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert f"building the demo classroom in {pg_address}" in result.output
    for login in info.students:
        assert f"{login.name:<16} {login.pin}" in result.output
    classroom = Classroom(pg_address, hasher=cheap_hasher())
    try:
        other = classroom.login_teacher(DEMO_TEACHER, DEMO_PASSWORD)
        there = {s["name"]: s["id"] for s in other.students(DEMO_CLASS)}
        assert sorted(there) == sorted(STUDENT_NAMES)
        for login in info.students:
            student = classroom.login_student(DEMO_CLASS, login.name, login.pin)
            for q in info.quests:
                assert student.progress(q).states() == \
                    teacher.progress(login.student_id, q).states(), (login.name, q)
        assert len(other.review_queue(DEMO_CLASS)) == len(teacher.review_queue(DEMO_CLASS))
    finally:
        classroom.store.close()


def test_the_demo_leaves_a_postgresql_classroom_alone(pg_address):
    classroom = Classroom(pg_address, hasher=cheap_hasher())
    classroom.add_teacher("real@school.org", "Real Teacher", "correct horse")
    classroom.store.close()
    with pytest.raises(ClassroomError, match="already holds a classroom; the demo writes only "
                                             "into an empty database"):
        build_demo(pg_address, QUESTS, hasher=cheap_hasher())
    classroom = Classroom(pg_address, hasher=cheap_hasher())
    try:
        assert classroom.login_teacher("real@school.org", "correct horse").name == "Real Teacher"
        assert classroom.store.count_rows("students") == 0
    finally:
        classroom.store.close()
