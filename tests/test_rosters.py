"""CSV rosters in and out, and the progress grid export, in one set of conventions."""
from __future__ import annotations

import csv
import io

import pytest
from argon2 import PasswordHasher
from click.testing import CliRunner

from questengine import loads_quest
from questengine.classroom import Classroom
from questengine.cli import main
from questengine.interop import InteropError
from questengine.interop.rosters import csv_cell, grid_csv, roster_csv, write_csv

QUEST = """\
id: t1
title: Tiny fractions
nodes:
  - {id: intro, kind: story, title: Into the forest}
  - id: check
    kind: quiz
    title: Checkpoint
    questions:
      - {id: q1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3"], answer: "2/4"}
  - {id: work, kind: task, title: Show your work, complete: review}
  - {id: end, kind: end, title: Out, rewards: {xp: 100}}
edges:
  - [intro, check]
  - [check, work]
  - [work, end]
"""
ROSTER = "name,pin\nJosé Núñez,1111\nAmara Okafor,2222\n=HYPERLINK(\"x\"),3333\nLi Wei,\n"
NAMES = ["José Núñez", "Amara Okafor", '=HYPERLINK("x")', "Li Wei"]


def cheap() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def world(tmp_path):
    c = Classroom(tmp_path / "class.db", hasher=cheap())
    owner = c.add_teacher("ada@school.example", "Ms Ada", "password-ada")
    code = c.create_class("ada@school.example", "Fractions 4B", "OWL-0001")
    c.publish(loads_quest(QUEST), by=owner)
    c.assign("t1", code)
    c.import_roster(code, ROSTER)
    return c, code


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_roster_export(world):
    c, code = world
    text = roster_csv(c, code)
    assert text.splitlines()[0] == "name,opaque_id,class_code"
    assert "\r\n" in text  # RFC 4180 line ends
    got = rows(text)
    by_name = {s["name"]: s for s in c.store.students_in(code)}
    assert len(got) == 4
    for row in got:
        name = row["name"].removeprefix("'") if row["name"].startswith("'=") else row["name"]
        assert row["opaque_id"] == by_name[name]["opaque_id"]
        assert row["class_code"] == code
    assert "pin" not in text.lower().split("\r\n")[0]
    for s in c.store.students_in(code):
        assert s["pin_hash"] not in text


def test_a_cell_a_spreadsheet_would_run_is_defused(world):
    c, code = world
    assert "'=HYPERLINK(\"\"x\"\")" in roster_csv(c, code)
    for value in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx"):
        assert csv_cell(value) == "'" + value
    assert csv_cell("Ana-Maria") == "Ana-Maria"


def test_an_exported_roster_imports_into_another_class(world):
    c, code = world
    c.add_teacher("bo@school.example", "Mr Bo", "password-bo")
    other = c.create_class("bo@school.example", "Science", "FOX-0002")
    text = roster_csv(c, code)
    safe = "\r\n".join(ln for ln in text.split("\r\n") if "HYPERLINK" not in ln)
    logins = c.import_roster(other, safe)
    assert sorted(lg.name for lg in logins) == sorted(n for n in NAMES if "HYPERLINK" not in n)
    assert all(lg.pin.isdigit() for lg in logins)  # new PINs: old ones are never exported
    # different people in the other class: their own opaque ids
    assert {s["opaque_id"] for s in c.store.students_in(other)}.isdisjoint(
        s["opaque_id"] for s in c.store.students_in(code))


def test_anonymous_roster(world):
    c, code = world
    text = roster_csv(c, code, anonymous=True)
    assert text.splitlines()[0] == "opaque_id,class_code"
    for name in ("José", "Amara", "Li Wei"):
        assert name not in text


def test_files_are_utf8_with_a_byte_order_mark(world, tmp_path):
    c, code = world
    path = write_csv(roster_csv(c, code), tmp_path / "roster.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and "José Núñez".encode() in raw
    plain = write_csv(roster_csv(c, code), tmp_path / "plain.csv", bom=False)
    assert plain.read_bytes().startswith(b"name,")


def test_unknown_class(world):
    c, _ = world
    with pytest.raises(InteropError, match="no class has the code 'NOPE'"):
        roster_csv(c, "NOPE")


# --- the progress grid ------------------------------------------------------------------------


def play(c, code):
    s = {n: c.login_student(code, n, pin) for n, pin in
         (("José Núñez", "1111"), ("Amara Okafor", "2222"))}
    s["José Núñez"].complete("t1", "intro")
    s["José Núñez"].answer("t1", "check", {"q1": "2/4"})
    s["José Núñez"].submit("t1", "work", "my drawing")
    t = c.login_teacher("ada@school.example", "password-ada")
    t.review(t.review_queue(code)[0].submission_id, "approve")
    s["José Núñez"].complete("t1", "end")
    s["Amara Okafor"].complete("t1", "intro")
    s["Amara Okafor"].answer("t1", "check", {"q1": "2/3"})
    s["Amara Okafor"].submit("t1", "work", "draft")
    return s


def test_grid_matches_each_students_progress(world):
    c, code = world
    sessions = play(c, code)
    text = grid_csv(c, code, "t1")
    assert text.splitlines()[0] == "name,opaque_id,xp,complete,intro,check,work,end"
    got = {r["name"]: r for r in rows(text)}
    assert len(got) == 4
    for name, session in sessions.items():
        states = session.progress("t1").states()
        assert {n: got[name][n] for n in states} == states
    jose, amara = got["José Núñez"], got["Amara Okafor"]
    assert (jose["complete"], jose["xp"]) == ("yes", "100")
    assert [amara[n] for n in ("intro", "check", "work", "end")] == \
        ["success", "fail", "pending_review", "locked"]
    assert amara["complete"] == "no"
    # a student who has not started sees a fresh start
    li = got["Li Wei"]
    assert [li[n] for n in ("intro", "check", "work", "end")] == \
        ["available", "locked", "locked", "locked"]
    assert (li["xp"], li["complete"]) == ("0", "no")
    ids = {s["name"]: s["opaque_id"] for s in c.store.students_in(code)}
    assert all(r["opaque_id"] == ids[n] for n, r in got.items() if not n.startswith("'"))


def test_grid_reads_the_materialized_progress_table(world):
    c, code = world
    play(c, code)
    sid = c.find_student(code, "Li Wei")["id"]
    c.store.conn.execute("insert into progress (student_id, quest_id, node, state, attempts, "
                         "round, updated) values (?, 't1', 'intro', 'in_progress', 0, 1, 'now')",
                         (sid,))
    assert {r["name"]: r for r in rows(grid_csv(c, code, "t1"))}["Li Wei"]["intro"] == "in_progress"


def test_grid_anonymous_and_errors(world):
    c, code = world
    play(c, code)
    text = grid_csv(c, code, "t1", anonymous=True)
    assert text.splitlines()[0] == "opaque_id,xp,complete,intro,check,work,end"
    assert "José" not in text
    c.publish(loads_quest(QUEST.replace("id: t1", "id: t2")), by=c.class_teacher(code))
    with pytest.raises(InteropError, match="'t2' is not assigned to class OWL-0001"):
        grid_csv(c, code, "t2")
    with pytest.raises(InteropError):
        grid_csv(c, "NOPE", "t1")


# --- the commands ---------------------------------------------------------------------------------


def test_cli_roster_export_and_grid(world, tmp_path):
    c, code = world
    play(c, code)
    db = str(tmp_path / "class.db")
    runner = CliRunner()
    help_text = runner.invoke(main, ["roster", "export", "--help"]).output
    assert "PINs are not exported" in help_text
    out = tmp_path / "roster.csv"
    result = runner.invoke(main, ["roster", "export", "--class", "owl-0001", "-o", str(out),
                                  "--db", db])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.stderr and "4 student rows" in result.stderr
    assert out.read_bytes().decode("utf-8-sig") == roster_csv(c, code)
    printed = runner.invoke(main, ["roster", "export", "--class", code, "--db", db, "--anonymous"])
    assert printed.stdout_bytes.decode("utf-8") == roster_csv(c, code, anonymous=True)

    grid = tmp_path / "grid.csv"
    result = runner.invoke(main, ["export-grid", "--class", code, "--quest", "t1", "-o",
                                  str(grid), "--db", db, "--no-bom"])
    assert result.exit_code == 0, result.output
    assert grid.read_bytes().decode("utf-8") == grid_csv(c, code, "t1")

    bad = runner.invoke(main, ["export-grid", "--class", code, "--quest", "nope", "--db", db])
    assert bad.exit_code == 1 and bad.stderr.startswith("error: the quest 'nope' is not assigned")
    assert runner.invoke(main, ["export-grid", "--class", code, "--db", db]).exit_code == 2
    assert runner.invoke(main, ["roster", "export", "--db", db]).exit_code == 2
    # the roster import the CLI already had still works beside the export
    roster = tmp_path / "new.csv"
    roster.write_text("name\nNew Kid\n", encoding="utf-8")
    assert runner.invoke(main, ["roster", "import", str(roster), "--class", code, "--db",
                                db]).exit_code == 0
