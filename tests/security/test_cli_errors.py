"""Input that used to give raw Python tracebacks from the command line: one line each now."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from questengine.cli import main

QUESTENGINE = str(Path(sys.executable).with_name("questengine"))


@pytest.fixture
def school(tmp_path):
    db = tmp_path / "c.db"
    runner = CliRunner()
    for args in (["init-db"], ["teacher", "add", "t@s.org", "--name", "T", "--password",
                                "long-password"], ["class", "create", "K", "--teacher", "t@s.org",
                                                   "--code", "K-001"]):
        result = runner.invoke(main, [*args, "--db", str(db)])
        assert result.exit_code == 0, result.output
    return db


def one_line_error(result, *needles):
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def roster(school, path):
    return CliRunner().invoke(main, ["roster", "import", str(path), "--class", "K-001",
                                     "--db", str(school)])


def test_a_utf16_roster_with_its_bom_is_read(school, tmp_path):
    path = tmp_path / "excel-unicode.csv"
    path.write_bytes("name,pin\nJosé Núñez,1234\n".encode("utf-16"))
    result = roster(school, path)
    assert result.exit_code == 0, result.output
    assert "José Núñez" in result.stdout


def test_a_latin1_roster_is_one_line_naming_file_and_line(school, tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes("name,pin\nAda,1111\nJosé,1234\n".encode("latin-1"))
    line = one_line_error(roster(school, path), str(path), "line 3", "UTF-8")
    assert "Save" in line or "save" in line


def test_a_field_over_128_kb_is_one_line(school, tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text('name,pin\n"' + "x" * 200_000 + '",1234\n', encoding="utf-8")
    one_line_error(roster(school, path), str(path), "line 2")


def test_a_quest_nested_100000_deep_is_one_line(tmp_path):
    path = tmp_path / "deep.yaml"
    path.write_text("id: x\ntitle: X\nnodes: " + "[" * 100_000 + "]" * 100_000 + "\n")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    problems = [ln for ln in result.output.splitlines() if ln.startswith(str(path))]
    assert len(problems) == 1 and problems[0].startswith(f"{path}:3:"), result.output


def test_the_demo_with_a_code_quest_lacking_a_solution_is_one_line(tmp_path):
    folder = tmp_path / "quests"
    folder.mkdir()
    (folder / "code.yaml").write_text(
        "id: code-quest\ntitle: Code quest\nnodes:\n  - id: add\n    kind: code\n"
        "    title: Write add\n    prompt: Write add(a, b).\n    function: add\n    tests:\n"
        "      - {call: 'add(1, 2)', expect: '3'}\n  - {id: end, kind: end, title: Done}\n"
        "edges:\n  - [add, end]\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["demo", "--no-serve", "--quests", str(folder),
                                       "--db", str(tmp_path / "demo.db")])
    one_line_error(result, "code.yaml", "solution")
    assert not (tmp_path / "demo.db").exists()


def test_a_read_only_database_is_one_line(school, tmp_path):
    # root ignores file modes, so make the folder read-only for real: a read-only bind mount
    # in a private mount namespace (the test runs as root, as CI does)
    assert shutil.which("unshare"), "util-linux's unshare is needed for this test"
    folder = school.parent
    script = (f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} && "
              f"{QUESTENGINE} roster import {folder}/none.csv --class K-001 --db {school}; "
              f"{QUESTENGINE} teacher add x@s.org --name X --password long-password "
              f"--db {school}")
    (folder / "none.csv").write_text("name,pin\nAda,1234\n")
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True,
                          text=True, timeout=120)
    lines = done.stderr.strip().splitlines()
    assert "Traceback" not in done.stderr and len(lines) == 2, done.stderr
    for line in lines:
        assert str(school) in line and ("not writable" in line or "read-only" in line), line
