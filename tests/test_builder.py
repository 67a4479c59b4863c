"""The Python builder: the same quests as files, in a few readable lines."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from questengine import QuestFileError, QuestValidationError, load_quest, quest_graph
from questengine.builder import QuestBuilder, option, question, test
from questengine.plugins import Plugin, PluginNode, Registry, Verdict
from questengine.simulate import play

QUESTS = Path(__file__).resolve().parent.parent / "quests"


def forest() -> QuestBuilder:
    q = QuestBuilder("fraction-forest", "The Fraction Forest", story="Paths marked in fractions.")
    q.competency("equiv", "Equivalent fractions", standard="CCSS.MATH.CONTENT.4.NF.A.1")
    q.story("intro", "Into the forest", text="The forest paths are marked in fractions.")
    q.choice("learn", "Learn equivalent fractions", competencies=["equiv"], options=[
        option("video", "video", "Watch", url="https://example.org/v"),
        option("sheet", "worksheet", "Worksheet", complete="review"),
        option("song", "song", "Write a song", complete="review"),
    ])
    q.gate("check", "Checkpoint", threshold=0.8, max_attempts=3, competencies=["equiv"],
           questions=[question("q1", "Which equals 1/2?", options=["2/4", "2/3"], answer="2/4"),
                      question("q2", "1/4 + 1/4 as a decimal", answer=0.5, tolerance=0.001)])
    q.task("practice", "Extra practice")
    q.quiz("boss", "The Bridge Troll", pass_score=0.7, questions=[
        question("b1", "Pick all equal to 1", options=["2/2", "3/3", "1/3"], answer=["2/2", "3/3"]),
        question("b2", "Name one of two equal parts", accept=["one half", "1/2", "half"])])
    q.end("end", "Out of the forest", xp=100, badge="forest-ranger")
    q.path("intro", "learn", "check")
    q.on_success("check", "boss")
    q.on_fail("check", "practice")
    q.retry("practice", "check")
    q.path("boss", "end")
    return q


def test_build_returns_a_validated_quest_that_plays():
    quest = forest().build()
    assert [n.id for n in quest.nodes] == ["intro", "learn", "check", "practice", "boss", "end"]
    assert [q.type for q in quest.node("boss").questions] == ["multi", "text"]
    G = quest_graph(quest)
    assert G.graph["retry"] == {"practice": "check"}
    assert play(G, random.Random(2), skill=0.9).progress.complete


def test_the_builder_quest_equals_the_same_quest_written_as_a_file(tmp_path):
    text = """
id: mini
title: Mini
competencies:
  - {id: add, name: Adding}
nodes:
  - {id: intro, kind: story, title: Hello, text: Hi there}
  - id: check
    kind: gate
    title: Check
    competencies: [add]
    threshold: 0.5
    questions:
      - {id: q1, type: number, prompt: 1 + 1, answer: 2}
  - {id: again, kind: task, title: Practice}
  - {id: end, kind: end, title: Bye, rewards: {xp: 10}}
edges:
  - [intro, check]
  - {from: check, to: end, when: success}
  - {from: check, to: again, when: fail}
  - {from: again, to: check, when: retry}
"""
    path = tmp_path / "mini.yaml"
    path.write_text(text)
    q = QuestBuilder("mini", "Mini")
    q.competency("add", "Adding")
    q.story("intro", "Hello", text="Hi there")
    q.gate("check", "Check", competencies=["add"], threshold=0.5,
           questions=[question("q1", "1 + 1", answer=2)])
    q.task("again", "Practice", complete=None)
    q.end("end", "Bye", xp=10)
    q.path("intro", "check")
    q.on_success("check", "end")
    q.on_fail("check", "again")
    q.retry("again", "check")
    assert q.build() == load_quest(path)


def test_save_writes_a_file_that_loads_back(tmp_path):
    q = forest()
    path = q.save(tmp_path / "forest.yaml")
    assert load_quest(path) == q.build()
    text = path.read_text()
    assert text.startswith("id: fraction-forest\ntitle: The Fraction Forest\n")
    assert "  - [intro, learn]\n" in text and "when: fail" in text
    json_path = q.save(tmp_path / "forest.json")
    assert load_quest(json_path) == q.build()


def test_the_sample_quest_can_be_built_in_code():
    sample = load_quest(QUESTS / "fraction-forest.yaml")
    q = QuestBuilder(sample.id, sample.title)
    for comp in sample.competencies:
        q.competency(comp.id, comp.name, standard=comp.standard, description=comp.description)
    for node in sample.to_data()["nodes"]:
        node = dict(node)
        q.node(node.pop("kind"), node.pop("id"), node.pop("title"), **node)
    for edge in sample.edges:
        {"done": lambda s, t: q.path(s, t), "success": q.on_success, "fail": q.on_fail,
         "retry": q.retry}[edge.when](edge.source, edge.target)
    built = q.build()
    assert built.to_data()["nodes"] == sample.to_data()["nodes"]
    assert built.edges == sample.edges


@pytest.mark.parametrize("call, path, words", [
    (lambda q: q.gate("g", "G", threshold=80, questions=[question("a", "1+1", answer=2)]),
     "nodes[1].threshold", "must be between 0 and 1, got 80"),
    (lambda q: q.quiz("z", "Z", questions=[]), "nodes[1].questions", "needs at least 1"),
    (lambda q: q.story("bad id!", "S"), "nodes[1].id", "not a valid id"),
    (lambda q: q.task("t", "T", complete="maybe"), "nodes[1].complete", "must be one of"),
    (lambda q: q.story("s", "S", colour="red"), "nodes[1].colour", "unknown key 'colour'"),
    (lambda q: q.node("lecture", "l", "L"), "nodes[1].kind", "unknown kind 'lecture'"),
    (lambda q: q.quiz("z", "Z", questions=[question("a", "Pick", options=["x", "y"], answer="z")]),
     "nodes[1].questions[0].answer", "not one of the options"),
])
def test_mistakes_are_reported_at_the_call_that_made_them(call, path, words):
    q = QuestBuilder("t", "T")
    q.story("intro", "Intro")
    with pytest.raises(QuestFileError) as info:
        call(q)
    problems = info.value.problems
    assert any(p.path == path and words in p.message for p in problems), info.value
    assert len(q.data["nodes"]) == 1  # nothing was added


def test_paths_to_unknown_nodes_and_map_problems():
    q = QuestBuilder("t", "T")
    q.story("intro", "Intro")
    with pytest.raises(QuestValidationError, match="'to' names unknown node 'nowhere'"):
        q.path("intro", "nowhere")
    with pytest.raises(QuestValidationError, match="no 'end' node"):
        q.build()
    q.task("more", "More")
    q.end("end", "End")
    q.path("intro", "end")
    q.on_fail("intro", "more")
    with pytest.raises(QuestValidationError, match="always succeeds"):
        q.build()


def test_question_needs_enough_to_know_its_type():
    with pytest.raises(ValueError, match="give options and an answer"):
        question("q", "What?")


def test_coding_challenges_and_plugin_kinds():
    registry = Registry()
    plugin = Plugin("riddles")

    @plugin.kind("riddle")
    class Riddle(PluginNode):
        question: str
        answer: str

    plugin.grader("riddle")(lambda node, answer: Verdict(correct=answer == node.answer))
    registry.install(plugin)
    q = QuestBuilder("c", "Code and riddles", registry=registry)
    q.code("add", "Add", prompt="Write add(a, b)", function="add",
           starter="def add(a, b):\n    return 0\n",
           tests=[test("add(2, 3)", 5), test("add('a', 'b')", "ab"),
                  test("add([], 1)", raises="TypeError", hidden=True)])
    q.node("riddle", "r", "A riddle", question="What has keys?", answer="piano")
    q.end("end", "End")
    q.path("add", "r", "end")
    quest = q.build()
    assert quest.node("add").tests[1].expect == "'ab'"
    assert quest.node("r").answer == "piano"
    with pytest.raises(QuestFileError, match="nodes\\[3\\].answer: required key is missing"):
        q.node("riddle", "r2", "Another", question="?")
