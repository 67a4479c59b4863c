"""Moodle GIFT import: Moodle's own example files (tests/fixtures/quiz/README.md) become
quest questions that the quest model accepts and the grader marks as Moodle would."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from questengine import load_quest, validate
from questengine.cli import main
from questengine.grading import grade_question
from questengine.interop.gift import loads_gift
from questengine.interop.quizfiles import QuizImportError, add_questions, read_quiz

QUIZ = Path(__file__).parent / "fixtures" / "quiz"
EXAMPLES = QUIZ / "moodle-gift-examples.txt"
FIXTURE = QUIZ / "moodle-gift-questions.gift.txt"
QUEST = Path(__file__).parent.parent / "quests" / "fraction-forest.yaml"


def by_id(result):
    return {q["id"]: q for q in result.validated()}


def test_moodle_examples_every_kind():
    result = read_quiz(EXAMPLES)
    assert result.format == "GIFT"
    questions = by_id(result)
    assert len(questions) == 40
    assert questions["q1"] == {"id": "q1", "type": "choice", "prompt": "Who's buried in Grant's tomb?",
                               "options": ["Grant", "Jefferson", "no one"], "answer": "no one"}
    # a missing word: the blank is in the prompt
    assert questions["q2"]["prompt"] == "Grant is _____ in Grant's tomb."
    assert questions["q2"]["answer"] == "entombed"
    # true/false
    assert (questions["q3"]["options"], questions["q3"]["answer"]) == (["True", "False"], "False")
    assert questions["q13"]["answer"] == "True"
    # short answer: every full-credit answer is accepted
    assert questions["q11"] == {"id": "q11", "type": "text", "prompt": "Two plus two equals",
                                "accept": ["four", "4"]}
    # numerical: a tolerance, and a range
    assert (questions["q5"]["answer"], questions["q5"]["tolerance"]) == (1822.0, 1.0)
    assert (questions["q16"]["answer"], questions["q16"]["tolerance"]) == (3.1415, 0.0005)
    # names become ids; feedback becomes the explanation
    assert questions["kanji-origins"]["accept"] == ["China"]
    assert questions["q21"]["explanation"] == "Very good!"
    # several answers sharing the credit
    assert questions["q28"]["type"] == "multi"
    assert questions["q28"]["answer"] == ["Grant", "Grant's wife"]
    # escapes undone
    assert questions["q30"]["options"] == ["= 2 + 2", "= 2 + 3", "= 2 + 4"]
    assert questions["gift-control-characters"]["options"] == ["~", "=", "#", "{", "}", "\\"]
    assert questions["q23"]["prompt"] == "Who's buried in **Grant's tomb**?"  # [markdown] kept


def test_what_cannot_be_kept_is_named():
    result = read_quiz(EXAMPLES)
    assert result.skipped == ["Matching Question.",
                              "Match the following countries with their corresponding capitals.",
                              "Match the following countries with their corresponding capitals."]
    matching = [w for w in result.warnings if w.code == "gift_matching"]
    assert [w.line for w in matching] == [55, 61, 177]
    partial = {w.message.split("'")[1] for w in result.warnings if w.code == "gift_partial_credit"}
    assert {"q25", "jesus-hometown", "q17"} <= partial


def test_moodle_test_fixture_with_formats_essay_and_general_feedback():
    result = read_quiz(FIXTURE)
    questions = by_id(result)
    assert result.skipped == ["Q8", "Moodle activities"]  # an essay, a matching question
    assert "essay" in result.warnings[0].message and result.warnings[0].line == 2
    assert questions["q2"]["options"] == ["yellow", "red", "blue"]  # [plain]/[html] markers gone
    assert questions["colours"]["answer"] == ["yellow", "off-beige"]
    assert questions["q5"]["answer"] == 3.0 and questions["q5"]["tolerance"] == 2.0
    assert "explanation" not in questions["q5"]  # "Completely wrong" is a wrong answer's
    assert questions["q1"]["explanation"].startswith("This is, of course")  # general feedback
    assert questions["shortanswer"]["accept"] == ["Frog"]
    assert {"2-08-tsl", "2-08-tsl-2"} <= set(questions)  # the same name twice


@pytest.mark.parametrize("qid, right, wrong", [
    ("q1", "no one", "Grant"), ("q11", " FOUR ", "five"), ("q5", 1823, 1824),
    ("q28", ["Grant's wife", "Grant"], ["Grant"]), ("q16", 3.1418, 3.1425),
])
def test_imported_questions_are_marked_like_moodle(qid, right, wrong):
    from questengine.model import Question
    from pydantic import TypeAdapter

    q = TypeAdapter(Question).validate_python(by_id(read_quiz(EXAMPLES))[qid])
    assert grade_question(q, right) is True
    assert grade_question(q, wrong) is False


def test_a_file_with_no_questions_says_what_gift_looks_like():
    with pytest.raises(QuizImportError, match="answers in braces"):
        loads_gift("just a line of text with no braces\n", "notes.txt")


def test_import_quiz_into_a_quest_keeps_its_comments(tmp_path):
    quest = tmp_path / "fraction-forest.yaml"
    shutil.copy(QUEST, quest)
    before = quest.read_text(encoding="utf-8")
    old = load_quest(quest).node("bridge-troll")
    result = CliRunner().invoke(main, ["import-quiz", str(FIXTURE), "--into", str(quest),
                                       "--node", "bridge-troll"])
    assert result.exit_code == 0, result.output
    assert "warning: question 'Q8' was left out" in result.stderr
    assert "node 'bridge-troll' gained 7 GIFT question(s)" in result.stderr
    after = quest.read_text(encoding="utf-8")
    assert after.splitlines()[:12] == before.splitlines()[:12]  # the teacher's header comment
    comments = [ln.strip() for ln in before.splitlines() if ln.strip().startswith("#")]
    assert comments == [ln.strip() for ln in after.splitlines() if ln.strip().startswith("#")]
    new = load_quest(quest)
    assert validate(new) == []
    questions = new.node("bridge-troll").questions
    assert [q.id for q in questions[:len(old.questions)]] == [q.id for q in old.questions]
    assert [q.id for q in questions[len(old.questions):]] == [
        "q2", "colours", "q5", "shortanswer", "q1", "2-08-tsl", "2-08-tsl-2"]
    # the other nodes did not move
    assert [n.id for n in new.nodes] == [n.id for n in load_quest(QUEST).nodes]


def test_import_quiz_twice_gives_fresh_ids_and_replace_replaces(tmp_path):
    quest = tmp_path / "q.yaml"
    shutil.copy(QUEST, quest)
    quiz = read_quiz(FIXTURE)
    _, first = add_questions(quest, "bridge-troll", quiz)
    _, second = add_questions(quest, "bridge-troll", quiz)
    assert set(first).isdisjoint(second) and second[0] == "q2-2"
    new, ids = add_questions(quest, "bridge-troll", quiz, replace=True)
    assert [q.id for q in new.node("bridge-troll").questions] == ids == first


def test_import_quiz_names_the_nodes_that_can_take_questions(tmp_path):
    quest = tmp_path / "q.yaml"
    shutil.copy(QUEST, quest)
    runner = CliRunner()
    result = runner.invoke(main, ["import-quiz", str(FIXTURE), "--into", str(quest),
                                  "--node", "trailhead"])
    assert result.exit_code == 1
    assert "choose a quiz or gate node" in result.stderr and "bridge-troll" in result.stderr
    assert "Traceback" not in result.output
    assert quest.read_text(encoding="utf-8") == QUEST.read_text(encoding="utf-8")
    missing = runner.invoke(main, ["import-quiz", str(FIXTURE), "--into", str(quest)])
    assert missing.exit_code == 2


def test_a_category_line_above_a_question():
    result = loads_gift("$CATEGORY: tom/fractions\n::Half::Which is 1/2?{=2/4 ~2/3}\n", "c.gift")
    assert [q["id"] for q in result.validated()] == ["half"]
