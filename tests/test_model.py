"""Tests of questengine.model: the pydantic models of a quest file."""
import pytest
from pydantic import ValidationError

from questengine import QuestFileError, loads_quest
from questengine.model import Edge, Quest, node_can_fail


def quest(*nodes, edges=(), **extra):
    """A quest dict around some node dicts."""
    return {"id": "q", "title": "Q", "nodes": list(nodes), "edges": list(edges), **extra}


STORY = {"id": "intro", "kind": "story", "title": "Intro"}
END = {"id": "end", "kind": "end", "title": "End"}
CHOICE_Q = {"id": "q1", "type": "choice", "prompt": "1/2?", "options": ["2/4", "2/3"], "answer": "2/4"}
NUMBER_Q = {"id": "q2", "type": "number", "prompt": "1/4 + 1/4", "answer": 0.5, "tolerance": 0.001}


def errors_of(data):
    with pytest.raises(ValidationError) as info:
        Quest.model_validate(data)
    return info.value.errors()


# --- discriminated unions ------------------------------------------------------


def test_bad_gate_field_gives_one_precise_error():
    gate = {"id": "g", "kind": "gate", "title": "G", "threshold": 2, "questions": [CHOICE_Q]}
    errors = errors_of(quest(gate, END))
    assert len(errors) == 1
    assert errors[0]["type"] == "less_than_equal"
    assert errors[0]["loc"] == ("nodes", 0, "gate", "threshold")


def test_unknown_kind_gives_one_error_listing_the_kinds():
    errors = errors_of(quest({"id": "x", "kind": "gat", "title": "X"}, END))
    assert len(errors) == 1
    assert errors[0]["type"] == "union_tag_invalid"
    assert "'gate'" in errors[0]["msg"] and "'story'" in errors[0]["msg"]


def test_missing_kind_gives_one_error():
    errors = errors_of(quest({"id": "x", "title": "X"}, END))
    assert [e["type"] for e in errors] == ["union_tag_not_found"]


def test_bad_question_gives_one_error_for_its_type():
    question = {**NUMBER_Q, "tolerance": -1}
    errors = errors_of(quest({"id": "z", "kind": "quiz", "title": "Z", "questions": [question]}, END))
    assert len(errors) == 1
    assert errors[0]["loc"] == ("nodes", 0, "quiz", "questions", 0, "number", "tolerance")


def test_unknown_question_type_is_one_error():
    question = {**NUMBER_Q, "type": "essay"}
    errors = errors_of(quest({"id": "z", "kind": "quiz", "title": "Z", "questions": [question]}, END))
    assert [e["type"] for e in errors] == ["union_tag_invalid"]


def test_loaded_file_error_is_one_line_with_path():
    text = """
id: q
title: Q
nodes:
  - {id: g, kind: gate, title: G, threshold: 80, questions: [{id: a, type: number, prompt: x, answer: 1}]}
  - {id: end, kind: end, title: End}
edges: [[g, end]]
"""
    with pytest.raises(QuestFileError, match=r"nodes\[0\]\.threshold: must be between 0 and 1, got 80") as info:
        loads_quest(text)
    assert len(info.value.problems) == 1


# --- unknown keys --------------------------------------------------------------


@pytest.mark.parametrize(
    "data, loc",
    [
        (quest(STORY, END, colour="red"), ("colour",)),
        (quest({**STORY, "colour": "red"}, END), ("nodes", 0, "story", "colour")),
        (quest(STORY, END, edges=[{"from": "intro", "to": "end", "label": "go"}]), ("edges", 0, "label")),
        (quest(STORY, {**END, "rewards": {"xp": 1, "gold": 5}}), ("nodes", 1, "end", "rewards", "gold")),
        (quest(STORY, END, competencies=[{"id": "c", "name": "C", "level": 3}]), ("competencies", 0, "level")),
    ],
)
def test_extra_keys_are_forbidden(data, loc):
    errors = errors_of(data)
    assert [(e["type"], e["loc"]) for e in errors] == [("extra_forbidden", loc)]


# --- options and questions -----------------------------------------------------


def choice_node(*options):
    return {"id": "pick", "kind": "choice", "title": "Pick", "options": list(options)}


VIDEO = {"id": "video", "modality": "video", "label": "Watch"}
SHEET = {"id": "sheet", "modality": "worksheet", "label": "Sheet", "complete": "review"}


def test_option_completed_by_quiz_needs_questions():
    quiz_option = {"id": "check", "modality": "game", "label": "Play", "complete": "quiz"}
    with pytest.raises(ValidationError, match="an option completed by 'quiz' needs questions"):
        Quest.model_validate(quest(choice_node(VIDEO, quiz_option), END))


def test_option_with_questions_but_not_quiz_is_an_error():
    option = {**VIDEO, "questions": [CHOICE_Q]}
    with pytest.raises(ValidationError, match="questions are only used when complete is 'quiz'"):
        Quest.model_validate(quest(choice_node(option, SHEET), END))


def test_option_quiz_with_questions_is_fine():
    option = {"id": "check", "modality": "game", "label": "Play", "complete": "quiz", "questions": [CHOICE_Q]}
    q = Quest.model_validate(quest(choice_node(VIDEO, option), END))
    assert q.node("pick").options[1].questions[0].answer == "2/4"


def test_unknown_modality_is_an_error():
    with pytest.raises(ValidationError, match="modality"):
        Quest.model_validate(quest(choice_node({**VIDEO, "modality": "tiktok"}, SHEET), END))


def test_choice_question_answer_must_be_an_option():
    bad = {**CHOICE_Q, "answer": "3/6"}
    with pytest.raises(ValidationError, match=r"answer '3/6' is not one of the options \['2/4', '2/3'\]"):
        Quest.model_validate(quest({"id": "z", "kind": "quiz", "title": "Z", "questions": [bad]}, END))


def test_multi_question_answers_must_be_options():
    bad = {"id": "m", "type": "multi", "prompt": "p", "options": ["a", "b"], "answer": ["a", "c"]}
    with pytest.raises(ValidationError, match=r"answers \['c'\] are not among the options"):
        Quest.model_validate(quest({"id": "z", "kind": "quiz", "title": "Z", "questions": [bad]}, END))


def test_gate_needs_questions_or_competencies():
    with pytest.raises(ValidationError, match="a gate needs questions, competencies"):
        Quest.model_validate(quest({"id": "g", "kind": "gate", "title": "G"}, END))


@pytest.mark.parametrize("bad_id", ["", "has space", "-dash-first", "x" * 101])
def test_bad_node_ids(bad_id):
    with pytest.raises(ValidationError):
        Quest.model_validate(quest({**STORY, "id": bad_id}, END))


# --- edges ---------------------------------------------------------------------


def test_edge_as_pair():
    edge = Edge.model_validate(["a", "b"])
    assert (edge.source, edge.target, edge.when) == ("a", "b", "done")


def test_edge_as_mapping():
    edge = Edge.model_validate({"from": "a", "to": "b", "when": "fail"})
    assert (edge.source, edge.target, edge.when) == ("a", "b", "fail")


@pytest.mark.parametrize("when", ["done", "success", "fail", "retry"])
def test_edge_conditions(when):
    assert Edge.model_validate({"from": "a", "to": "b", "when": when}).when == when


def test_edge_with_unknown_condition():
    with pytest.raises(ValidationError, match="when"):
        Edge.model_validate({"from": "a", "to": "b", "when": "maybe"})


@pytest.mark.parametrize("pair", [["a"], ["a", "b", "c"]])
def test_edge_list_needs_two_items(pair):
    with pytest.raises(ValidationError, match=rf"needs exactly \[from, to\], got {len(pair)} items"):
        Edge.model_validate(pair)


def test_edges_in_a_quest_accept_both_forms():
    q = Quest.model_validate(quest(STORY, END, edges=[["intro", "end"], {"from": "intro", "to": "end", "when": "done"}]))
    assert [(e.source, e.target, e.when) for e in q.edges] == [("intro", "end", "done")] * 2


# --- round trip ----------------------------------------------------------------

RICH = """
id: fraction-forest
title: The Fraction Forest
version: 3
story: The forest paths are marked in fractions.
competencies:
  - {id: equiv, name: Equivalent fractions, standard: CCSS.MATH.CONTENT.4.NF.A.1}
nodes:
  - {id: intro, kind: story, title: Into the forest, text: "...", position: [10, 20]}
  - id: learn
    kind: choice
    title: Learn equivalent fractions
    competencies: [equiv]
    options:
      - {id: video, modality: video, label: Watch, url: "https://example.org/v", complete: self}
      - {id: sheet, modality: worksheet, label: Worksheet, complete: review}
      - id: game
        modality: game
        label: Play
        complete: quiz
        pass_score: 0.5
        questions:
          - {id: q1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3"], answer: "2/4"}
  - id: check
    kind: gate
    title: Checkpoint
    competencies: [equiv]
    threshold: 0.8
    max_attempts: 3
    estimator: bkt
    bkt: {prior: 0.2}
    questions:
      - {id: q2, type: multi, prompt: Pick all equal to 1, options: ["2/2", "3/3", "1/3"], answer: ["2/2", "3/3"]}
      - {id: q3, type: number, prompt: 1/4 + 1/4, answer: 0.5, tolerance: 0.001}
      - {id: q4, type: text, prompt: One of two equal parts, accept: [one half, "1/2", half]}
  - {id: practice, kind: task, title: Extra practice, complete: self, xp: 5}
  - {id: boss, kind: quiz, title: The Bridge Troll, pass_score: 0.7, fail_xp: 2, questions: [{id: q5, type: text, prompt: x, accept: [y]}]}
  - {id: end, kind: end, title: Out of the forest, rewards: {xp: 100, badge: forest-ranger}}
edges:
  - [intro, learn]
  - [learn, check]
  - {from: check, to: boss, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
  - [boss, end]
"""


def test_to_data_round_trip():
    q = Quest.model_validate(loads_quest(RICH).to_data())
    again = Quest.model_validate(q.to_data())
    assert again == q
    assert again.to_data() == q.to_data()


def test_to_data_shape():
    data = loads_quest(RICH).to_data()
    assert list(data)[:2] == ["id", "title"]
    assert data["edges"][0] == ["intro", "learn"]
    assert data["edges"][2] == {"from": "check", "to": "boss", "when": "success"}
    assert data["nodes"][0] == {"id": "intro", "kind": "story", "title": "Into the forest", "text": "...",
                                "position": [10.0, 20.0]}
    assert "xp" not in data["nodes"][0]  # keys never set are left out


def test_loaded_quest_equals_its_round_trip():
    # A quest loaded from text and the same quest rebuilt from its data are the same quest.
    loaded = loads_quest(RICH)
    assert loaded == Quest.model_validate(loaded.to_data())


def test_same_text_loads_to_equal_quests():
    assert loads_quest(RICH) == loads_quest(RICH)


# --- node_can_fail -------------------------------------------------------------


@pytest.mark.parametrize(
    "node, can_fail",
    [
        (STORY, False),
        ({"id": "t", "kind": "task", "title": "T"}, False),
        ({"id": "t", "kind": "task", "title": "T", "complete": "self"}, False),
        ({"id": "t", "kind": "task", "title": "T", "complete": "review"}, True),
        (choice_node(VIDEO, {**VIDEO, "id": "v2"}), False),
        (choice_node(VIDEO, SHEET), True),
        (choice_node(VIDEO, {"id": "o", "modality": "game", "label": "L", "complete": "quiz",
                             "questions": [CHOICE_Q]}), True),
        ({"id": "z", "kind": "quiz", "title": "Z", "questions": [CHOICE_Q]}, True),
        ({"id": "g", "kind": "gate", "title": "G", "questions": [CHOICE_Q]}, True),
        (END, False),
    ],
    ids=["story", "task-default", "task-self", "task-review", "choice-self", "choice-review",
         "choice-quiz", "quiz", "gate", "end"],
)
def test_node_can_fail(node, can_fail):
    nodes = [node] if node["id"] == "end" else [node, END]
    q = Quest.model_validate(quest(*nodes))
    assert node_can_fail(q.node(node["id"])) is can_fail


def test_quest_node_lookup_names_the_quest():
    q = Quest.model_validate(quest(STORY, END))
    with pytest.raises(KeyError, match="no node 'nope' in quest 'q'"):
        q.node("nope")


# --- accommodation fields (issue 15): distractors, text_simple, time_limit -------------------

FOUR = {"id": "q1", "type": "choice", "prompt": "1/2?", "options": ["2/4", "2/3", "1/3", "3/5"],
        "answer": "2/4"}


def quiz_with(question, **node):
    return quest({"id": "z", "kind": "quiz", "title": "Z", "questions": [question], **node}, END)


def test_distractors_text_simple_and_time_limit_load():
    data = quiz_with({**FOUR, "distractors": ["1/3", "3/5"]}, time_limit=5,
                     text_simple="Pick one.")
    node = Quest.model_validate(data).nodes[0]
    assert node.questions[0].distractors == ["1/3", "3/5"]
    assert (node.time_limit, node.text_simple) == (5, "Pick one.")


@pytest.mark.parametrize("question, match", [
    ({**FOUR, "distractors": ["9/9"]}, r"distractors \['9/9'\] are not among the options"),
    ({**FOUR, "distractors": ["2/4"]}, r"distractors \['2/4'\] are right answers"),
    ({**FOUR, "distractors": ["2/3", "1/3", "3/5"]}, r"fewer than 2 of the options"),
    ({"id": "q2", "type": "multi", "prompt": "=1?", "options": ["2/2", "3/3", "1/3"],
      "answer": ["2/2", "3/3"], "distractors": ["3/3"]}, r"distractors \['3/3'\] are right"),
])
def test_bad_distractors_say_which_and_why(question, match):
    (err,) = errors_of(quiz_with(question))
    assert err["loc"][-1] == "distractors"
    import re
    assert re.search(match, err["msg"]), err["msg"]


def test_time_limit_must_be_positive():
    (err,) = errors_of(quiz_with(CHOICE_Q, time_limit=0))
    assert err["loc"][-1] == "time_limit"
