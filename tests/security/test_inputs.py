"""Hostile input: alias bombs and deep nesting in quest files, huge numbers typed as answers."""
import pytest
from click.testing import CliRunner

from helpers import T1
from questengine.cli import main
from questengine.errors import ProgressError, QuestFileError
from questengine.grading import check_answers, parse_number
from questengine.loader import load_quest, loads_quest


def billion_laughs() -> str:
    """632 bytes that stand for 9**10 values once the aliases are expanded."""
    lines = ["id: bomb", "title: Bomb", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 10):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    lines.append("nodes: *a9")
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_with_its_line(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    with pytest.raises(QuestFileError) as info:
        load_quest(path)
    (problem,) = info.value.problems
    assert problem.file == str(path) and problem.line is not None and problem.line <= 11
    assert "aliases" in problem.message


@pytest.mark.parametrize("command", [["validate"], ["import-bundle", "--db", "x.db"]])
def test_the_command_line_refuses_an_alias_bomb_in_one_line(tmp_path, command):
    path = tmp_path / "bomb.yaml"
    path.write_text(billion_laughs(), encoding="utf-8")
    if command[0] == "import-bundle":  # a bundle whose quest file is the bomb
        import zipfile
        bundle = tmp_path / "bomb.quest.zip"
        with zipfile.ZipFile(bundle, "w") as z:
            z.writestr("quest.yaml", billion_laughs())
        args = [command[0], str(bundle), "--db", str(tmp_path / "x.db"), "--quests",
                str(tmp_path / "q")]
    else:
        args = [command[0], str(path)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "q").exists()


def test_the_alias_bomb_is_refused_quickly_enough_to_measure_by_hand():
    # not a timing assertion: a bound on the work, counted in values, not seconds
    with pytest.raises(QuestFileError, match="200,000 values"):
        loads_quest(billion_laughs(), "bomb.yaml")


def test_nesting_100000_deep_is_a_line_error_not_a_recursion_error():
    text = "id: x\ntitle: X\nnodes: " + "[" * 100_000 + "]" * 100_000 + "\n"
    with pytest.raises(QuestFileError) as info:
        loads_quest(text, "deep.yaml")
    (problem,) = info.value.problems
    assert problem.line == 3 and "nested more than 64 deep" in problem.message


def test_ordinary_anchors_still_work():
    text = T1.replace("title: Tiny fractions", "title: &t Tiny fractions\nstory: *t")
    assert loads_quest(text).story == "Tiny fractions"


@pytest.mark.parametrize("typed", ["1e10000000", "1E+999999", "9" * 5000, "1/" + "7" * 100,
                                   "1e400", "-1e309", "inf", "nan", 10 ** 5000, float("inf")],
                         ids=lambda v: repr(v)[:12] if not isinstance(v, int) else "10**5000")
def test_huge_numbers_are_not_numbers(typed):
    assert parse_number(typed) is None


def test_a_huge_number_typed_as_an_answer_is_refused_in_a_sentence():
    quest = loads_quest(T1)
    questions = next(n for n in quest.nodes if n.id == "check").questions
    number = next(q for q in questions if q.type == "number")
    other = {q.id: q.options[0] for q in questions if q.type != "number"}
    with pytest.raises(ProgressError, match="needs a number"):
        check_answers(questions, {**other, number.id: "1e10000000"}, "the checkpoint")
    with pytest.raises(ProgressError, match="too long for a number"):
        check_answers(questions, {**other, number.id: "1" * 5000}, "the checkpoint")
    assert parse_number("1e3") == 1000.0 and parse_number("1 1/2") == 1.5
