"""OneRoster 1.1 CSV import: classes, teachers and students with hub usernames; re-import updates.

The folders in tests/fixtures/oneroster are modelled on public OneRoster 1.1 sample files
(see the README there). Every test runs on both stores (SQLite, PostgreSQL).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from questengine.classroom import Classroom, StudentSession, TeacherSession
from questengine.cli import main
from questengine.errors import LoginError
from questengine.interop import InteropError
from questengine.interop.oneroster import import_oneroster
from questengine.loader import loads_quest

from helpers import T1, cheap_hasher
from pgserver import scalar

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "oneroster"
DISTRICT, UPDATE = FIXTURES / "district", FIXTURES / "district-update"


@pytest.fixture
def classroom(db_address):
    c = Classroom(db_address, hasher=cheap_hasher())
    yield c
    c.store.close()


def people(c: Classroom) -> dict:
    """What the roster looks like in the database: classes, teachers, students."""
    s = c.store
    return {
        "classes": sorted((r[0], r[1], r[2]) for r in s._all(
            "select c.code, c.name, t.email from classes c join teachers t on t.id = c.teacher_id")),
        "teachers": sorted(tuple(r) for r in s._all(
            "select email, name, hub_username from teachers")),
        "students": sorted(tuple(r) for r in s._all(
            "select class_code, name, hub_username from students")),
    }


def test_a_oneroster_folder_creates_classes_teachers_and_students(classroom):
    result = import_oneroster(classroom, DISTRICT)
    assert result.classes == {"created": 2, "updated": 0}
    assert result.teachers == {"created": 2, "updated": 0}
    assert result.students == {"created": 5, "updated": 0}
    assert people(classroom) == {
        "classes": [("MATH4-12", "Grade 4 Math - Room 12", "mrivera@sample-district.org"),
                    # "SCI 4/14" is no class code (a space, a slash): one is made from it
                    ("SCI-4-14", "Grade 4 Science - Room 14", "jokafor@sample-district.org")],
        "teachers": [("jokafor@sample-district.org", "James Okafor", "jokafor"),
                     ("mrivera@sample-district.org", "Maria Rivera", "mrivera")],
        "students": [("MATH4-12", "Ada Lovelace", "ada.l"), ("MATH4-12", "Bo Diddley", "bo.d"),
                     ("MATH4-12", "Cy Twombly", "cy.t"), ("SCI-4-14", "Ada Lovelace", "ada.l"),
                     ("SCI-4-14", "Di Fan", "di.f")],
    }
    # the new students' logins work (for a class without a hub)
    bo = next(x for x in result.logins if x.name == "Bo Diddley")
    assert classroom.login_student(bo.class_code, bo.name, bo.pin).name == "Bo Diddley"


def test_hub_usernames_from_the_roster_log_people_in(classroom):
    import_oneroster(classroom, DISTRICT)
    bo = classroom.login_hub("bo.d")
    assert isinstance(bo, StudentSession) and (bo.name, bo.class_code) == ("Bo Diddley", "MATH4-12")
    teacher = classroom.login_hub("mrivera")
    assert isinstance(teacher, TeacherSession)
    assert [c["code"] for c in teacher.classes()] == ["MATH4-12"]
    # Ada is on two rosters: the LMS course (class) picks one, else a sentence says so
    with pytest.raises(LoginError, match=r"several classes \(MATH4-12, SCI-4-14\)"):
        classroom.login_hub("ada.l")
    assert classroom.login_hub("ada.l", class_code="SCI-4-14").class_code == "SCI-4-14"
    with pytest.raises(LoginError, match="“nobody” is not on any class roster"):
        classroom.login_hub("nobody")


def test_importing_the_same_export_again_changes_nothing(classroom):
    import_oneroster(classroom, DISTRICT)
    before = people(classroom)
    again = import_oneroster(classroom, DISTRICT)
    assert (again.classes, again.teachers, again.students) == (
        {"created": 0, "updated": 2}, {"created": 0, "updated": 2}, {"created": 0, "updated": 5})
    assert again.logins == []
    assert people(classroom) == before
    assert scalar(classroom.store, "select count(*) from enrolments") == 5


def test_a_newer_export_updates_in_place_and_keeps_the_students_work(classroom):
    first = import_oneroster(classroom, DISTRICT)
    owner = classroom.store.teacher_by_hub("mrivera")["id"]
    classroom.publish(loads_quest(T1), by=owner)
    classroom.assign("t1", "MATH4-12")
    bo_id = next(x.student_id for x in first.logins if x.name == "Bo Diddley")
    classroom.login_hub("bo.d").open("t1", "intro")
    events = classroom.store.events(bo_id, "t1")
    assert events

    result = import_oneroster(classroom, UPDATE)
    assert result.students == {"created": 1, "updated": 4}
    assert result.skipped == 1  # Cy's enrolment is tobedeleted
    after = people(classroom)
    assert ("MATH4-12", "Grade 4 Math - Room 12 (spring)", "mrivera@sample-district.org") \
        in after["classes"]
    assert ("mrivera@sample-district.org", "Maria Rivera-Lopez", "mrivera") in after["teachers"]
    assert ("MATH4-12", "Bo Diddley", "bo.diddley") in after["students"]  # a new username
    assert ("MATH4-12", "Eve Ahn", "eve.a") in after["students"]
    assert ("MATH4-12", "Cy Twombly", "cy.t") in after["students"]  # kept with their work
    assert len(after["students"]) == 6
    # Bo is the same student: their events are still theirs, under the new hub username
    assert classroom.store.events(bo_id, "t1") == events
    assert classroom.login_hub("bo.diddley").progress("t1").nodes["intro"].state != "locked"
    with pytest.raises(LoginError):
        classroom.login_hub("bo.d")


def test_a_student_added_by_hand_before_is_adopted_not_doubled(classroom):
    import_oneroster(classroom, DISTRICT)
    classroom.store._run("update students set source_id = null where name = 'Di Fan'")
    import_oneroster(classroom, DISTRICT)
    assert [s for s in people(classroom)["students"] if s[1] == "Di Fan"] == \
        [("SCI-4-14", "Di Fan", "di.f")]


def _broken(tmp_path: Path, name: str, old: str, new: str) -> Path:
    folder = tmp_path / "export"
    shutil.copytree(DISTRICT, folder)
    path = folder / name
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")
    return folder


@pytest.mark.parametrize("name, old, new, message", [
    ("users.csv", '"givenName"', '"firstName"',
     r"users.csv:1: missing column givenName \(found: sourcedId, status"),
    ("enrollments.csv", '"en0005","","","cl0001"', '"en0005","","","cl9999"',
     r"enrollments.csv:6: classSourcedId 'cl9999' is not in classes.csv"),
    ("enrollments.csv", '"en0002","","","cl0002","or0001","us0002","teacher"',
     '"en0002","","","cl0002","or0001","us0002","guardian"',
     r"enrollments.csv:3: role 'guardian' is not one of student"),
    ("users.csv", '"jokafor@sample-district.org"', '""',
     r"users.csv:3: teacher 'us0002' needs an email"),
    ("users.csv", '"us0006","","","true","or0001","student","di.f","","Di","Fan"',
     '"us0006","","","true","or0001","student","di.f","","Ada","Lovelace"',
     r"two students of class SCI-4-14 are named 'Ada Lovelace'"),
    ("manifest.csv", '"oneroster.version","1.1"', '"oneroster.version","1.2"',
     r"oneroster.version is 1.2"),
])
def test_a_broken_export_is_refused_whole_naming_file_line_and_column(
        classroom, tmp_path, name, old, new, message):
    folder = _broken(tmp_path, name, old, new)
    with pytest.raises(InteropError, match=message):
        import_oneroster(classroom, folder)
    assert people(classroom) == {"classes": [], "teachers": [], "students": []}


def test_every_problem_is_listed_at_once(classroom, tmp_path):
    folder = _broken(tmp_path, "enrollments.csv", '"en0001","","","cl0001","or0001","us0001"',
                     '"en0001","","","cl0001","or0001","us9999"')
    text = (folder / "enrollments.csv").read_text().replace('"cl0002","or0001","us0006"',
                                                            '"cl7777","or0001","us0006"')
    (folder / "enrollments.csv").write_text(text)
    with pytest.raises(InteropError) as err:
        import_oneroster(classroom, folder)
    lines = str(err.value).splitlines()
    assert lines[0] == "OneRoster import refused:"
    assert any("enrollments.csv:2: userSourcedId 'us9999'" in x for x in lines)
    assert any("enrollments.csv:9: classSourcedId 'cl7777'" in x for x in lines)
    assert any("class 'cl0001' (Grade 4 Math - Room 12) has no teacher enrolment" in x
               for x in lines)


def test_a_missing_file_is_named(classroom, tmp_path):
    folder = tmp_path / "export"
    shutil.copytree(DISTRICT, folder)
    (folder / "enrollments.csv").unlink()
    with pytest.raises(InteropError, match=r"enrollments.csv: missing"):
        import_oneroster(classroom, folder)


def test_the_command_imports_and_reimports(db_address, tmp_path):
    runner = CliRunner()
    first = runner.invoke(main, ["roster", "import-oneroster", str(DISTRICT), "--db", db_address])
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines()[0] == "class_code,name,pin"
    assert len(first.stdout.splitlines()) == 6
    assert "students: 5 new, 0 updated" in first.stderr
    logins = tmp_path / "logins.csv"
    second = runner.invoke(main, ["roster", "import-oneroster", str(UPDATE), "--db", db_address,
                                  "--logins", str(logins)])
    assert second.exit_code == 0, second.output
    assert "students: 1 new, 4 updated; 1 left out" in second.stderr
    assert logins.read_text().splitlines()[1].startswith("MATH4-12,Eve Ahn,")
    bad = runner.invoke(main, ["roster", "import-oneroster", str(tmp_path), "--db", db_address])
    assert bad.exit_code == 1
    assert "orgs.csv: missing" in bad.stderr
