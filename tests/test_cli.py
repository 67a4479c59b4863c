"""`questengine validate` and `questengine simulate`, through click's CliRunner.

Contract (cli.py): exit 0 when every file is valid; exit 1 with one
``FILE:LINE: message`` line per problem on stdout; exit 2 on usage errors.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from questengine.cli import main

CORPUS = Path(__file__).parent / "malformed"
EXPECTED = YAML(typ="safe", pure=True).load((CORPUS / "EXPECTED.yaml").read_text(encoding="utf-8"))

TINY = """\
# A tiny quest: one lesson, a checkpoint, practice on a fail, and an end.
id: tiny-fractions
title: Tiny Fractions
competencies:
  - {id: half, name: Halves}
nodes:
  - {id: intro, kind: story, title: Hello, text: Let us cut a pizza.}
  - id: check
    kind: gate
    title: Checkpoint
    competencies: [half]
    threshold: 0.5
    max_attempts: 2
    questions:
      - {id: q1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3"], answer: "2/4"}
      - {id: q2, type: number, prompt: 1/4 + 1/4, answer: 0.5, tolerance: 0.01}
  - {id: practice, kind: task, title: Extra practice, xp: 5}
  - {id: end, kind: end, title: Done, rewards: {xp: 20, badge: pizza-cutter}}
edges:
  - [intro, check]
  - {from: check, to: end, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
"""


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY, encoding="utf-8")
    return path


def problem_lines(stdout: str) -> list[str]:
    return [ln for ln in stdout.splitlines() if ln.strip()]


def assert_file_line(lines: list[str], path: Path) -> None:
    pattern = re.compile(rf"{re.escape(str(path))}:\d+: \S")
    for line in lines:
        assert pattern.match(line), f"not FILE:LINE: message: {line!r}"


# --- validate ------------------------------------------------------------------


def test_validate_valid_file(runner, tiny):
    result = runner.invoke(main, ["validate", str(tiny)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "ok" in result.stderr


def test_validate_bad_file_one_line_per_problem(runner, tmp_path):
    bad = tmp_path / "debrief.yaml"
    shutil.copy(CORPUS / "20_unreachable_requires_all.yaml", bad)
    result = runner.invoke(main, ["validate", str(bad)])
    assert result.exit_code == 1, result.output
    lines = problem_lines(result.stdout)
    assert len(lines) == 2, result.stdout
    assert_file_line(lines, bad)
    assert lines[0].startswith(f"{bad}:11: nodes[3]: node 'debrief' can never be reached")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_validate_each_malformed_file_prints_file_line_per_problem(runner, name):
    path = CORPUS / name
    want = EXPECTED[name]
    result = runner.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    lines = problem_lines(result.stdout)
    assert len(lines) == want.get("count", 1), result.stdout
    assert_file_line(lines, path)  # the exact line and path are checked in test_loader.py


def test_validate_folder_with_a_mix(runner, tmp_path, tiny):
    folder = tmp_path / "quests"
    (folder / "unit2").mkdir(parents=True)
    shutil.copy(tiny, folder / "good.yaml")
    shutil.copy(tiny, folder / "unit2" / "also-good.yml")
    shutil.copy(CORPUS / "10_threshold_out_of_range.yaml", folder / "threshold.yaml")
    shutil.copy(CORPUS / "20_unreachable_requires_all.yaml", folder / "unit2" / "debrief.yaml")
    shutil.copy(CORPUS / "33_json_max_attempts_text.json", folder / "attempts.json")
    (folder / "notes.txt").write_text("not a quest", encoding="utf-8")

    result = runner.invoke(main, ["validate", str(folder)])
    assert result.exit_code == 1, result.output
    lines = problem_lines(result.stdout)
    assert len(lines) == 1 + 2 + 1, result.stdout
    assert sorted({ln.split(":")[0] for ln in lines}) == sorted(
        str(p) for p in (folder / "threshold.yaml", folder / "unit2" / "debrief.yaml",
                         folder / "attempts.json"))
    assert f"{folder / 'threshold.yaml'}:11: nodes[1].threshold: must be between 0 and 1, got 80" in lines
    assert f"{folder / 'attempts.json'}:6: nodes[0].max_attempts: expected a whole number, got 'three'" in lines
    assert "good" not in result.stdout and "notes.txt" not in result.output
    assert "3 of 5" in result.stderr


def test_validate_several_paths(runner, tmp_path, tiny):
    bad = tmp_path / "bad.yaml"
    shutil.copy(CORPUS / "07_unknown_kind.yaml", bad)
    result = runner.invoke(main, ["validate", str(tiny), str(bad)])
    assert result.exit_code == 1
    lines = problem_lines(result.stdout)
    assert len(lines) == 1 and lines[0].startswith(f"{bad}:")


def test_validate_folder_of_valid_quests(runner, tmp_path, tiny):
    folder = tmp_path / "quests"
    folder.mkdir()
    shutil.copy(tiny, folder / "a.yaml")
    shutil.copy(tiny, folder / "b.yaml")
    result = runner.invoke(main, ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert result.stdout == ""


def _not_utf8(path: Path) -> None:
    path.write_bytes(b"id: foret\ntitle: La for\xeat\nnodes:\n  - {id: end, kind: end, title: Fin}\n")


def _too_large(path: Path) -> None:
    path.write_text("id: big\ntitle: Big\nstory: " + "x" * (10 * 1024 * 1024) + "\n"
                    "nodes:\n  - {id: end, kind: end, title: Fin}\n", encoding="utf-8")


def _empty(path: Path) -> None:
    path.write_text("", encoding="utf-8")


@pytest.mark.parametrize("make", [_empty, _not_utf8, _too_large], ids=["empty", "not-utf8", "too-large"])
def test_whole_file_problems_still_print_file_and_line(runner, tmp_path, make):
    path = tmp_path / "broken.yaml"
    make(path)
    result = runner.invoke(main, ["validate", str(path)])
    assert result.exit_code == 1, result.output
    lines = problem_lines(result.stdout)
    assert len(lines) == 1, result.stdout
    assert_file_line(lines, path)


def test_validate_without_arguments_is_a_usage_error(runner):
    result = runner.invoke(main, ["validate"])
    assert result.exit_code == 2
    assert "Usage" in result.output


def test_validate_unknown_option_is_a_usage_error(runner, tiny):
    result = runner.invoke(main, ["validate", "--strictest", str(tiny)])
    assert result.exit_code == 2
    assert "--strictest" in result.output


def test_unknown_command_is_a_usage_error(runner):
    result = runner.invoke(main, ["valdiate", "x.yaml"])
    assert result.exit_code == 2


def test_validate_folder_without_quests_is_a_usage_error(runner, tmp_path):
    result = runner.invoke(main, ["validate", str(tmp_path)])
    assert result.exit_code == 2
    assert str(tmp_path) in result.output


# --- simulate ------------------------------------------------------------------


def test_simulate_is_deterministic_for_a_seed(runner, tiny):
    first = runner.invoke(main, ["simulate", str(tiny), "--seed", "7"])
    second = runner.invoke(main, ["simulate", str(tiny), "--seed", "7"])
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    out = first.stdout
    assert out.startswith("Tiny Fractions (v1), seed 7\n")
    assert "path: intro > " in out
    assert "end reached: end (Done)" in out


def test_simulate_seed_changes_the_play_through(runner, tiny):
    outputs = {runner.invoke(main, ["simulate", str(tiny), "--seed", str(s)]).stdout for s in range(12)}
    assert len(outputs) > 1


def test_simulate_is_deterministic_across_processes(tiny):
    """Same seed, different hash seeds: no dict/set order leaks into the play-through."""
    code = "from questengine.cli import main; main()"
    outs = []
    for hashseed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": hashseed}
        proc = subprocess.run([sys.executable, "-c", code, "simulate", str(tiny), "--seed", "5"],
                              capture_output=True, text=True, env=env, timeout=120)
        assert proc.returncode == 0, proc.stderr
        outs.append(proc.stdout)
    assert outs[0] == outs[1] == outs[2]


def test_simulate_broken_quest(runner, tmp_path):
    bad = tmp_path / "loop.yaml"
    shutil.copy(CORPUS / "17_forward_cycle.yaml", bad)
    result = runner.invoke(main, ["simulate", str(bad), "--seed", "1"])
    assert result.exit_code == 1
    assert result.stdout == ""
    lines = problem_lines(result.stderr)
    assert lines, result.output
    assert_file_line(lines, bad)
    assert "loop" in result.stderr


def test_simulate_file_that_does_not_parse(runner, tmp_path):
    bad = tmp_path / "brackets.yaml"
    shutil.copy(CORPUS / "29_unbalanced_brackets.yaml", bad)
    result = runner.invoke(main, ["simulate", str(bad)])
    assert result.exit_code == 1
    assert_file_line(problem_lines(result.stderr), bad)


def test_simulate_without_a_quest_is_a_usage_error(runner):
    assert runner.invoke(main, ["simulate"]).exit_code == 2


def test_simulate_bad_seed_is_a_usage_error(runner, tiny):
    assert runner.invoke(main, ["simulate", str(tiny), "--seed", "many"]).exit_code == 2
