"""IMS QTI 2.1 import: the IMS example items (tests/fixtures/quiz/README.md) as single files,
a content package zip and a folder; unsafe XML refused."""
from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import TypeAdapter

from questengine import load_quest, validate
from questengine.cli import main
from questengine.grading import grade_question
from questengine.interop.qti import loads_qti
from questengine.interop.quizfiles import QuizImportError, read_quiz
from questengine.model import Question

QUIZ = Path(__file__).parent / "fixtures" / "quiz"
ITEMS = ["choice.xml", "choice_multiple.xml", "text_entry.xml", "extended_text.xml",
         "inline_choice.xml"]
QUEST = Path(__file__).parent.parent / "quests" / "fraction-forest.yaml"


def question(name: str):
    (q,) = read_quiz(QUIZ / name).validated()
    return q


def test_single_choice():
    q = question("choice.xml")
    assert q["type"] == "choice" and q["id"] == "choice"
    assert q["options"] == ["You must stay with your luggage at all times.",
                            "Do not let someone else look after your luggage.",
                            "Remember your luggage when you leave."]
    assert q["answer"] == "You must stay with your luggage at all times."
    # the item body's text (the picture by its alt text) comes before the prompt
    assert q["prompt"] == ("Look at the text in the picture.\n"
                           "[image: NEVER LEAVE LUGGAGE UNATTENDED]\n\nWhat does it say?")


def test_multiple_cardinality_is_a_multi_question():
    q = question("choice_multiple.xml")
    assert q["type"] == "multi"
    assert q["answer"] == ["Hydrogen", "Oxygen"]
    model = TypeAdapter(Question).validate_python(q)
    assert grade_question(model, ["Oxygen", "Hydrogen"]) is True
    assert grade_question(model, ["Hydrogen", "Oxygen", "Chlorine"]) is False


def test_text_entry_is_a_text_question_with_a_gap():
    q = question("text_entry.xml")
    assert q["type"] == "text" and q["accept"] == ["York"]
    assert "Made glorious summer by this sun of _____;" in q["prompt"]
    assert q["prompt"].startswith("Identify the missing word")
    model = TypeAdapter(Question).validate_python(q)
    assert grade_question(model, "york") is True  # York and york both score (case-insensitive)


def test_an_essay_item_is_left_out_with_the_way_to_keep_it():
    result = read_quiz(QUIZ / "extended_text.xml")
    assert result.questions == [] and result.skipped == ["Writing a Postcard"]
    (w,) = result.warnings
    assert w.code == "qti_essay" and "complete: review" in w.message


def test_a_content_package_zip_and_a_folder(tmp_path):
    manifest = ('<manifest xmlns="http://www.imsglobal.org/xsd/imscp_v1p1"><resources>'
                + "".join(f'<resource identifier="r{i}" type="imsqti_item_xmlv2p1" href="items/{n}"/>'
                          for i, n in enumerate(ITEMS)) + "</resources></manifest>")
    package = tmp_path / "bank.zip"
    with zipfile.ZipFile(package, "w") as zf:
        zf.writestr("imsmanifest.xml", manifest)
        for name in ITEMS:
            zf.write(QUIZ / name, f"items/{name}")
    result = read_quiz(package)
    assert [q["id"] for q in result.validated()] == ["choice", "choicemultiple", "textentry",
                                                     "inlinechoice"]
    assert result.skipped == ["Writing a Postcard"]
    folder = tmp_path / "items"
    folder.mkdir()
    for name in ITEMS:
        shutil.copy(QUIZ / name, folder / name)
    assert sorted(q["type"] for q in read_quiz(folder).validated()) == [
        "choice", "choice", "multi", "text"]


def test_entities_are_refused():
    bomb = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><assessmentItem>&lol2;</assessmentItem>')
    with pytest.raises(QuizImportError, match="refused for safety"):
        loads_qti(bomb, "bomb.xml")
    external = ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                "<assessmentItem>&e;</assessmentItem>")
    with pytest.raises(QuizImportError, match="refused for safety"):
        loads_qti(external, "ext.xml")


@pytest.mark.parametrize("xml, match", [
    ("<assessmentItem", "not well-formed"),
    ("<manifest/>", "no QTI assessmentItem"),
])
def test_bad_files_say_why(xml, match):
    with pytest.raises(QuizImportError, match=match):
        loads_qti(xml, "bad.xml")


def test_import_quiz_cli_with_qti_items(tmp_path):
    quest = tmp_path / "ff.yaml"
    shutil.copy(QUEST, quest)
    runner = CliRunner()
    for name in ("choice.xml", "choice_multiple.xml", "text_entry.xml"):
        result = runner.invoke(main, ["import-quiz", str(QUIZ / name), "--into", str(quest),
                                      "--node", "bridge-troll"])
        assert result.exit_code == 0, result.output
    essay = runner.invoke(main, ["import-quiz", str(QUIZ / "extended_text.xml"), "--into",
                                 str(quest), "--node", "bridge-troll"])
    assert essay.exit_code == 1 and "no question that can be imported" in essay.stderr
    new = load_quest(quest)
    assert validate(new) == []
    assert [q.id for q in new.node("bridge-troll").questions][-3:] == [
        "choice", "choicemultiple", "textentry"]


def test_an_inline_choice_is_a_choice_with_a_gap():
    q = question("inline_choice.xml")
    assert (q["type"], q["options"], q["answer"]) == ("choice", ["Gloucester", "Lancaster", "York"],
                                                      "York")
    assert "Made glorious summer by this sun of _____;" in q["prompt"]


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None, derandomize=True)
@given(name=st.sampled_from(ITEMS + ["moodle-gift-examples.txt", "moodle-gift-questions.gift.txt"]),
       damage=st.lists(st.tuples(st.floats(0, 1), st.sampled_from(
           ["", "{", "}", "=", "~", "#", "%50%", "->", "\\", "<", ">", "</p>", "<value>Z</value>",
            '"', ".."]), st.integers(0, 40)), min_size=1, max_size=5))
def test_a_damaged_quiz_file_imports_or_says_why(name, damage):
    from questengine.interop.gift import loads_gift

    text = (QUIZ / name).read_text(encoding="utf-8")
    for where, insert, cut in damage:
        i = int(where * len(text))
        text = text[:i] + insert + text[i + cut:]
    try:
        result = (loads_qti if name.endswith(".xml") else loads_gift)(text, name)
        TypeAdapter(list[Question]).validate_python(result.validated())
    except QuizImportError as err:
        assert err.problems and all(p.message for p in err.problems)
