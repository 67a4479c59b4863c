"""Tests of questengine.grading: server-side auto-grading."""
import pytest
from pydantic import TypeAdapter

from questengine import ProgressError
from questengine.grading import check_answers, grade, grade_question, normalize_text, parse_number
from questengine.model import Question

QUESTION = TypeAdapter(Question)


def q(**data):
    return QUESTION.validate_python(data)


CHOICE = q(id="c", type="choice", prompt="Which equals 1/2?", options=["2/4", "2/3"], answer="2/4")
MULTI = q(id="m", type="multi", prompt="Equal to 1", options=["2/2", "3/3", "1/3"], answer=["2/2", "3/3"])
NUMBER = q(id="n", type="number", prompt="1/4 + 1/4", answer=0.5, tolerance=0.001)
EXACT = q(id="x", type="number", prompt="-1 - 1/2", answer=-1.5)
TEXT = q(id="t", type="text", prompt="One of two equal parts", accept=["one half", "1/2", "half"])


# --- each question type ------------------------------------------------------------


@pytest.mark.parametrize("given, right", [("2/4", True), ("2/3", False)])
def test_choice(given, right):
    assert grade_question(CHOICE, given) is right


@pytest.mark.parametrize(
    "given, right",
    [
        (["2/2", "3/3"], True),
        (["3/3", "2/2"], True),  # order does not matter
        (["2/2"], False),  # missing one
        (["2/2", "3/3", "1/3"], False),  # one too many
        (["1/3"], False),
        ("2/2", False),  # a single value is a one-item set
    ],
)
def test_multi_is_set_equality(given, right):
    assert grade_question(MULTI, given) is right


@pytest.mark.parametrize(
    "given, right",
    [
        ("0.5", True),
        (0.5, True),
        ("0,5", True),
        ("1/2", True),
        (" 1 / 2 ", True),
        ("2/4", True),
        ("0.5009", True),  # inside the tolerance
        ("0.4991", True),
        ("0.501", True),  # on the edge of the tolerance
        ("0.502", False),
        ("0.498", False),
        ("1", False),
        ("-0.5", False),
    ],
)
def test_number_with_tolerance(given, right):
    assert grade_question(NUMBER, given) is right


@pytest.mark.parametrize(
    "given, right",
    [("-1 1/2", True), ("-1.5", True), ("-1,5", True), ("-3/2", True), ("1 1/2", False), ("-1", False)],
)
def test_negative_numbers(given, right):
    assert grade_question(EXACT, given) is right


def test_number_without_tolerance_is_exact():
    third = q(id="t", type="number", prompt="1/3", answer=1 / 3)
    assert grade_question(third, "1/3")
    assert not grade_question(third, "0.333")


def test_tolerance_edge_is_not_lost_to_float_error():
    question = q(id="t", type="number", prompt="x", answer=0.3, tolerance=0.1)
    assert grade_question(question, "0.4")
    assert grade_question(question, "0.2")
    assert not grade_question(question, "0.41")


@pytest.mark.parametrize(
    "given, right",
    [
        ("one half", True),
        ("One Half", True),
        ("  ONE   half  ", True),
        ("one\thalf\n", True),
        ("1/2", True),
        ("HALF", True),
        ("onehalf", False),
        ("a half", False),
        ("", False),
    ],
)
def test_text_ignores_case_and_spaces(given, right):
    assert grade_question(TEXT, given) is right


def test_text_accepted_answers_are_normalized_too():
    question = q(id="t", type="text", prompt="x", accept=["  Paris  "])
    assert grade_question(question, "paris")


@pytest.mark.parametrize(
    "raw, value",
    [
        ("0.5", 0.5), ("0,5", 0.5), ("1/2", 0.5), ("1 1/2", 1.5), ("-1 1/2", -1.5), ("-0,25", -0.25),
        ("  3 ", 3.0), ("-4", -4.0), (2, 2.0), (0.25, 0.25), ("3/4", 0.75), ("1\u00a01/2", 1.5),
    ],
)
def test_parse_number(raw, value):
    assert parse_number(raw) == value


@pytest.mark.parametrize("raw", ["abc", "", "1/0", "1/2/3", "one", "1..2", True, None, "nan", "inf"])
def test_parse_number_garbage(raw):
    assert parse_number(raw) is None


def test_normalize_text():
    assert normalize_text("  A\t  b\nC ") == "a b c"


# --- grade -------------------------------------------------------------------------


def test_score_is_the_fraction_right():
    questions = [CHOICE, MULTI, NUMBER, TEXT]
    result = grade(questions, {"c": "2/4", "m": ["2/2", "3/3"], "n": "0,5", "t": "wrong"})
    assert result.score == 0.75
    assert result.results == {"c": True, "m": True, "n": True, "t": False}
    assert not result.perfect


def test_perfect_score():
    result = grade([CHOICE, TEXT], {"c": "2/4", "t": "Half"})
    assert (result.score, result.perfect) == (1.0, True)


def test_all_wrong():
    result = grade([CHOICE, TEXT], {"c": "2/3", "t": "third"})
    assert (result.score, result.results) == (0.0, {"c": False, "t": False})


def test_unanswered_questions_are_wrong():
    result = grade([CHOICE, TEXT], {"c": "2/4"})
    assert result.score == 0.5
    assert result.results == {"c": True, "t": False}


def test_no_questions():
    result = grade([], {})
    assert (result.score, result.results, result.perfect) == (0.0, {}, False)


# --- check_answers -------------------------------------------------------------------


@pytest.mark.parametrize("answers, score", [
    ({"c": "2/4", "m": ["3/3", "2/2"], "n": "1/2", "t": "Half!"}, 1.0),  # right, in any shape
    ({"c": "2/3", "m": ["1/3"], "n": "1 1/2", "t": "anything"}, 0.0),  # wrong, but well-formed
    ({"c": "2/4", "m": "2/2", "n": 0.5, "t": "one half"}, 0.75),  # one checkbox alone; a float
])
def test_check_answers_accepts_complete_answers(answers, score):
    """A complete, well-formed set of answers passes the check (no error) and is graded."""
    questions = [CHOICE, MULTI, NUMBER, TEXT]
    try:
        check_answers(questions, answers, "“Quiz”")
    except ProgressError as err:
        pytest.fail(f"complete answers refused: {err}")
    result = grade(questions, answers)
    assert set(result.results) == {"c", "m", "n", "t"}
    assert result.score == score


@pytest.mark.parametrize(
    "answers, match",
    [
        ({"c": "2/4"}, r"answer every question of “Quiz” before submitting; no answer yet for 'n'"),
        ({"c": "2/4", "n": " "}, r"no answer yet for 'n'"),
        ({"c": "2/4", "n": None}, r"no answer yet for 'n'"),
        ({}, r"no answer yet for 'c', 'n'"),
        ({"c": "2/4", "n": "1", "z": "?"}, r"“Quiz” has no question 'z'; its questions are 'c', 'n'"),
        ({"c": "5/8", "n": "1"}, r"'5/8' is not a choice of question 'c'; choices: 2/4, 2/3"),
        ({"c": "2/4", "n": "half"}, r"question 'n' needs a number \(like 0.5 or 1/2\), got 'half'"),
        ({"c": "2/4", "n": "1/0"}, r"question 'n' needs a number"),
        ({"c": "2/4", "n": True}, r"question 'n' needs a number"),
    ],
)
def test_check_answers_refuses(answers, match):
    with pytest.raises(ProgressError, match=match):
        check_answers([CHOICE, NUMBER], answers, "“Quiz”")


def test_check_answers_multi_unknown_choice():
    with pytest.raises(ProgressError, match=r"'4/4' not among the choices of question 'm'"):
        check_answers([MULTI], {"m": ["2/2", "4/4"]}, "“Quiz”")


def test_check_answers_empty_multi():
    with pytest.raises(ProgressError, match=r"no answer yet for 'm'"):
        check_answers([MULTI], {"m": []}, "“Quiz”")


def test_check_answers_long_text():
    check_answers([TEXT], {"t": "x" * 2000}, "“Quiz”")
    with pytest.raises(ProgressError, match=r"the answer to question 't' is too long \(2000 characters at most\)"):
        check_answers([TEXT], {"t": "x" * 2001}, "“Quiz”")


def test_check_answers_needs_a_mapping():
    with pytest.raises(ProgressError, match=r"must map question ids to answers"):
        check_answers([TEXT], ["half"], "“Quiz”")
