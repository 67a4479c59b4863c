"""The classroom commands of ``questengine`` through click's CliRunner, and ``serve`` for real.

init-db, teacher add, class create, roster import, assign, student export / delete,
demo --no-serve: each is run as a teacher would type it, then the database is read back
through the classroom service to show that the command did what it printed. ``serve`` is
started as a real process on a free port of 127.0.0.1, answers the play page, and stops on
SIGTERM with every process it started.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from questengine.classroom import Classroom
from questengine.cli import main
from questengine.demo import DEMO_CLASS, DEMO_PASSWORD, DEMO_TEACHER
from questengine.server import free_port
from questengine.store import SCHEMA_VERSION

from helpers import cheap_hasher

ROOT = Path(__file__).resolve().parent.parent
QUESTS = ROOT / "quests"
EMAIL, PASSWORD = "rivera@school.org", "teacher-pass-1"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "run" / "classroom.db"


def ok(runner: CliRunner, db: Path, *args: str, input: str | None = None):
    """Run ``questengine ARGS --db DB``; it must exit 0."""
    result = runner.invoke(main, [*args, "--db", str(db)], input=input)
    assert result.exit_code == 0, f"{args}: exit {result.exit_code}\n{result.output}"
    return result


def refused(runner: CliRunner, db: Path, *args: str, input: str | None = None) -> str:
    """Run a command that must fail with exit 1 and one ``error:`` line; returns that line."""
    result = runner.invoke(main, [*args, "--db", str(db)], input=input)
    assert result.exit_code == 1, f"{args}: exit {result.exit_code}\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def service(db: Path) -> Classroom:
    return Classroom(db, hasher=cheap_hasher())


@pytest.fixture
def school(runner, db) -> dict:
    """A database with a teacher and a class, made with the commands."""
    ok(runner, db, "init-db")
    ok(runner, db, "teacher", "add", EMAIL, "--name", "Ms. Rivera", "--password", PASSWORD)
    code = ok(runner, db, "class", "create", "Grade 4B", "--teacher", EMAIL,
              "--code", "owl-4b").stdout.strip()
    return {"code": code}


# --- init-db -------------------------------------------------------------------------------------


def test_init_db_creates_the_schema_and_can_run_again(runner, db):
    first = ok(runner, db, "init-db")
    assert first.stdout == f"{db}: schema version {SCHEMA_VERSION}\n"
    assert db.is_file()
    again = ok(runner, db, "init-db")  # a migration of an up-to-date database changes nothing
    assert again.stdout == first.stdout
    assert service(db).store.schema_version == SCHEMA_VERSION


def test_init_db_reads_the_database_from_the_environment(runner, tmp_path):
    db = tmp_path / "from-env.db"
    result = runner.invoke(main, ["init-db"], env={"QUESTENGINE_DB": str(db)})
    assert result.exit_code == 0, result.output
    assert db.is_file()


def test_init_db_on_a_file_that_is_not_a_database(runner, tmp_path):
    bad = tmp_path / "notes.db"
    bad.write_text("these are my notes, not a database\n" * 100, encoding="utf-8")
    result = runner.invoke(main, ["init-db", "--db", str(bad)])
    assert result.exit_code == 1, result.output
    (line,) = result.stderr.splitlines()
    assert str(bad) in line and "is not a questengine database" in line, line
    assert bad.read_text(encoding="utf-8").startswith("these are my notes")


# --- teacher add, class create -------------------------------------------------------------------


def test_teacher_add_then_the_teacher_logs_in(runner, db):
    ok(runner, db, "init-db")
    result = ok(runner, db, "teacher", "add", " Rivera@School.org ", "--name", "Ms. Rivera",
                "--password", PASSWORD)
    assert result.stdout == f"teacher {EMAIL} added\n"
    teacher = service(db).login_teacher(EMAIL, PASSWORD)
    assert teacher.name == "Ms. Rivera"


def test_teacher_add_asks_for_the_password_twice(runner, db):
    ok(runner, db, "teacher", "add", EMAIL, "--name", "Ms. Rivera",
       input=f"{PASSWORD}\n{PASSWORD}\n")
    assert service(db).login_teacher(EMAIL, PASSWORD).name == "Ms. Rivera"


def test_teacher_add_takes_the_password_from_the_environment(runner, db):
    result = runner.invoke(main, ["teacher", "add", EMAIL, "--name", "T", "--db", str(db)],
                           env={"QUESTENGINE_PASSWORD": PASSWORD})
    assert result.exit_code == 0, result.output
    assert service(db).login_teacher(EMAIL, PASSWORD)


@pytest.mark.parametrize("email, password, message", [
    ("not-an-email", PASSWORD, "'not-an-email' is not an email address"),
    (EMAIL, "short", "a teacher password needs at least 8 characters"),
])
def test_teacher_add_refuses_bad_input(runner, db, email, password, message):
    line = refused(runner, db, "teacher", "add", email, "--name", "T", "--password", password)
    assert line == f"error: {message}"


def test_teacher_add_twice_is_refused(runner, db, school):
    line = refused(runner, db, "teacher", "add", EMAIL, "--name", "Again", "--password", PASSWORD)
    assert line == f"error: a teacher with email {EMAIL} already exists"
    assert service(db).login_teacher(EMAIL, PASSWORD).name == "Ms. Rivera"


def test_class_create_prints_the_code_and_a_generated_one(runner, db, school):
    assert school["code"] == "OWL-4B"
    generated = ok(runner, db, "class", "create", "Grade 5", "--teacher", EMAIL).stdout.strip()
    teacher = service(db).login_teacher(EMAIL, PASSWORD)
    classes = {c["code"]: c["name"] for c in teacher.classes()}
    assert classes == {"OWL-4B": "Grade 4B", generated: "Grade 5"}


def test_class_create_for_an_unknown_teacher(runner, db, school):
    line = refused(runner, db, "class", "create", "Grade 5", "--teacher", "nobody@school.org")
    assert "no teacher has the email 'nobody@school.org'" in line


def test_class_create_without_a_teacher_is_a_usage_error(runner, db):
    result = runner.invoke(main, ["class", "create", "Grade 5", "--db", str(db)])
    assert result.exit_code == 2
    assert "--teacher" in result.output


# --- roster import -------------------------------------------------------------------------------


def test_roster_import_prints_logins_that_work(runner, db, school, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,pin\nAda Lovelace,4821\nBo Diddley,\n", encoding="utf-8")
    result = ok(runner, db, "roster", "import", str(roster), "--class", "owl-4b")
    header, *rows = result.stdout.splitlines()
    assert header == "class_code,name,pin"
    logins = [row.split(",") for row in rows]
    assert [(c, n) for c, n, _ in logins] == [("OWL-4B", "Ada Lovelace"), ("OWL-4B", "Bo Diddley")]
    assert logins[0][2] == "4821" and len(logins[1][2]) == 4 and logins[1][2].isdigit()
    c = service(db)
    for code, name, pin in logins:
        assert c.login_student(code, name, pin).name == name


def test_roster_import_into_an_unknown_class(runner, db, school, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name\nAda\n", encoding="utf-8")
    line = refused(runner, db, "roster", "import", str(roster), "--class", "NOPE-1")
    assert "NOPE-1" in line
    assert service(db).login_teacher(EMAIL, PASSWORD).students(school["code"]) == []


def test_roster_import_without_a_name_column(runner, db, school, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("pin\n1234\n", encoding="utf-8")
    line = refused(runner, db, "roster", "import", str(roster), "--class", school["code"])
    assert "'name' column" in line


def test_roster_import_of_a_missing_file_is_a_usage_error(runner, db, school, tmp_path):
    result = runner.invoke(main, ["roster", "import", str(tmp_path / "nope.csv"), "--class",
                                  school["code"], "--db", str(db)])
    assert result.exit_code == 2
    assert "nope.csv" in result.output


def test_roster_hub_username_maps_a_student_and_a_teacher_for_the_hub(runner, db, school, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("name,pin\nAda Lovelace,4821\n", encoding="utf-8")
    ok(runner, db, "roster", "import", str(roster), "--class", school["code"])
    result = ok(runner, db, "roster", "hub-username", "alovelace", "--class",
                school["code"].lower(), "--student", "ada lovelace")
    assert result.stdout.strip() == "student Ada Lovelace is hub user alovelace"
    ok(runner, db, "roster", "hub-username", "mrivera", "--teacher", EMAIL)
    c = service(db)
    assert c.login_hub("alovelace").name == "Ada Lovelace"  # the hub user is the identity
    assert c.login_hub("mrivera").teacher_id
    # a name that is not in the class is refused naming the class's students; nothing changes
    line = refused(runner, db, "roster", "hub-username", "x", "--class", school["code"],
                   "--student", "Nobody")
    assert "no student named 'Nobody'" in line and "Ada Lovelace" in line
    line = refused(runner, db, "roster", "hub-username", "x", "--teacher", EMAIL,
                   "--class", school["code"], "--student", "Ada Lovelace")
    assert "not both" in line
    assert ok(runner, db, "roster", "hub-username", "", "--class", school["code"], "--student",
              "Ada Lovelace").stdout.strip() == "student Ada Lovelace has no hub user now"
    assert service(db).login_hub("mrivera").teacher_id  # the teacher's mapping stayed


# --- assign --------------------------------------------------------------------------------------


def test_assign_a_quest_file_publishes_and_assigns_it(runner, db, school):
    result = ok(runner, db, "assign", str(QUESTS / "water-cycle.yaml"), "owl-4b")
    assert result.stdout == "water-cycle v1 assigned to OWL-4B\n"
    teacher = service(db).login_teacher(EMAIL, PASSWORD)
    assert [a["quest_id"] for a in teacher.assigned("OWL-4B")] == ["water-cycle"]
    # a published quest is assigned again by its id (to a second class)
    second = ok(runner, db, "class", "create", "Grade 5", "--teacher", EMAIL, "--code", "OWL-5").stdout
    assert second.strip() == "OWL-5"
    assert ok(runner, db, "assign", "water-cycle", "OWL-5").stdout == "water-cycle assigned to OWL-5\n"
    assert [a["quest_id"] for a in teacher.assigned("OWL-5")] == ["water-cycle"]


def test_assign_an_unpublished_quest_id(runner, db, school):
    line = refused(runner, db, "assign", "no-such-quest", school["code"])
    assert line == "error: no quest 'no-such-quest' is published; publish it first"


def test_assign_a_broken_quest_file_prints_its_problems(runner, db, school):
    bad = ROOT / "tests" / "malformed" / "17_forward_cycle.yaml"
    result = runner.invoke(main, ["assign", str(bad), school["code"], "--db", str(db)])
    assert result.exit_code == 1, result.output
    assert all(line.startswith(f"{bad}:") for line in result.stderr.strip().splitlines())
    assert service(db).login_teacher(EMAIL, PASSWORD).assigned(school["code"]) == []


# --- student export / delete ---------------------------------------------------------------------


@pytest.fixture
def ada(runner, db, school, tmp_path) -> dict:
    """Ada has played the first step of the water cycle."""
    roster = tmp_path / "ada.csv"
    roster.write_text("name,pin\nAda Lovelace,4821\nBo Diddley,7312\n", encoding="utf-8")
    ok(runner, db, "roster", "import", str(roster), "--class", school["code"])
    ok(runner, db, "assign", str(QUESTS / "water-cycle.yaml"), school["code"])
    c = service(db)
    student = c.login_student(school["code"], "Ada Lovelace", "4821")
    first = c.graph("water-cycle").graph["order"][0]
    student.complete("water-cycle", first)
    return {"id": student._row["id"], "node": first}


def test_student_export_to_stdout_and_to_a_file(runner, db, school, ada, tmp_path):
    args = ("student", "export", "--class", school["code"], "--name", "ada lovelace")
    data = json.loads(ok(runner, db, *args).stdout)
    assert [s["name"] for s in data["students"]] == ["Ada Lovelace"]
    assert data["students"][0]["id"] == ada["id"]
    assert any(e["node"] == ada["node"] for e in data["events"])
    out = tmp_path / "ada.json"
    assert ok(runner, db, *args, "-o", str(out)).stdout == ""
    assert json.loads(out.read_text(encoding="utf-8")) == data


def test_student_export_of_an_unknown_student(runner, db, school, ada):
    line = refused(runner, db, "student", "export", "--class", school["code"], "--name", "Nobody")
    assert "Nobody" in line


def test_student_delete_asks_first_and_no_keeps_everything(runner, db, school, ada):
    args = ("student", "delete", "--class", school["code"], "--name", "Ada Lovelace")
    result = runner.invoke(main, [*args, "--db", str(db)], input="n\n")
    assert result.exit_code == 1  # click's Abort
    assert f"Delete all data of Ada Lovelace in {school['code']}?" in result.output
    assert "Aborted" in result.output
    assert service(db).store.student(ada["id"]) is not None


def test_student_delete_removes_every_row_of_that_student_only(runner, db, school, ada):
    c = service(db)
    before = c.store.export_student(ada["id"])
    result = ok(runner, db, "student", "delete", "--class", school["code"], "--name",
                "Ada Lovelace", "--yes")
    assert result.stdout.startswith("deleted ")
    total = int(result.stdout.split()[1])
    assert total >= 1 + len(before["events"])  # the student row and every event at least
    c = service(db)
    assert c.store.student(ada["id"]) is None
    assert [s["name"] for s in c.login_teacher(EMAIL, PASSWORD).students(school["code"])] == \
        ["Bo Diddley"]
    with pytest.raises(Exception, match="Ada Lovelace|do not match"):
        c.login_student(school["code"], "Ada Lovelace", "4821")
    # the same command again names the student it cannot find
    line = refused(runner, db, "student", "delete", "--class", school["code"], "--name",
                   "Ada Lovelace", "--yes")
    assert "Ada Lovelace" in line


# --- demo --no-serve -----------------------------------------------------------------------------


def test_demo_without_serving_builds_a_classroom_and_prints_logins_that_work(runner, tmp_path):
    db = tmp_path / "demo.db"
    result = runner.invoke(main, ["demo", "--no-serve", "--db", str(db)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for quest in ("fraction-forest", "persuasive-writing", "water-cycle"):
        assert f"{quest}.yaml: valid; a simulated student took" in out
    assert f"class {DEMO_CLASS}: 24 students, quests: " in out
    assert f"teacher login: {DEMO_TEACHER} / {DEMO_PASSWORD}" in out
    logins = [line.split() for line in out.split("student logins (class code, name, PIN):\n")[1]
              .splitlines()]
    assert len(logins) == 24
    c = service(db)
    assert c.login_teacher(DEMO_TEACHER, DEMO_PASSWORD).classes()[0]["code"] == DEMO_CLASS
    code, *name, pin = logins[3]
    assert c.login_student(code, " ".join(name), pin).name == " ".join(name)
    assert "play page" not in out  # nothing was served


def test_demo_with_a_folder_without_quests_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(main, ["demo", "--no-serve", "--db", str(tmp_path / "d.db"),
                                  "--quests", str(tmp_path)])
    assert result.exit_code == 2
    assert "no quest files" in result.output


# --- serve ---------------------------------------------------------------------------------------


def test_serve_without_a_database_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(main, ["serve", "--db", str(tmp_path / "none.db")])
    assert result.exit_code == 2
    assert "questengine init-db" in result.output


def wait_for_page(url: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    import urllib.error
    import urllib.request

    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"serve exited with {proc.returncode} before {url} answered"
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                if response.status == 200:
                    return
                last = response.status
        except OSError as err:
            last = err
        time.sleep(0.2)
    raise AssertionError(f"{url} did not answer 200 within {timeout} s (last: {last})")


def group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_serve_starts_voila_and_sigterm_stops_everything(runner, tmp_path):
    db = tmp_path / "classroom.db"
    ok(runner, db, "init-db")
    port = free_port()
    env = {**os.environ, "QUESTENGINE_QUIET": "1"}
    cli = str(Path(sys.executable).parent / "questengine")
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([cli, "serve", "--db", str(db), "--port", str(port)], cwd=tmp_path,
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    started: list[psutil.Process] = []
    try:
        wait_for_page(f"http://127.0.0.1:{port}/voila/render/play.ipynb", proc)
        started += psutil.Process(proc.pid).children(recursive=True)
        assert started, "serve started no Voilà process"
        groups = {os.getpgid(proc.pid)} | {os.getpgid(p.pid) for p in started}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        gone, alive = psutil.wait_procs(started, timeout=30)
        assert not alive, f"still running after serve stopped: {[p.cmdline() for p in alive]}"
        assert not [g for g in groups if group_alive(g)], "a process group of serve is still there"
    finally:
        # the test failed part-way: stop what it started, by pid, and leave nothing behind
        for p in [*started, psutil.Process(proc.pid)] if proc.poll() is None else started:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        proc.wait()
        log.close()
    text = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert f"play page:        http://127.0.0.1:{port}/voila/render/play.ipynb" in text
    assert "Traceback" not in text
    assert (tmp_path / "run" / "jupyter" / "runtime").is_dir()  # Jupyter's files stay in run/
