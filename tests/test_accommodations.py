"""Accommodations: the pure adaptation of a quest (questengine.accommodations) and the
service applying a teacher's settings to everything one student plays."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from questengine import loads_quest
from questengine.accommodations import (AccommodationError, Accommodations, adapt_graph,
                                        adapt_node, parse_accommodations)
from questengine.classroom import Classroom
from questengine.engine import TIME_GRACE
from questengine.errors import AccessDenied, ProgressError, QuestEngineError
from questengine.graph import quest_graph
from helpers import cheap_hasher

QUEST = """\
id: aq
title: Supported fractions
competencies:
  - {id: equiv, name: Equivalent fractions}
nodes:
  - {id: intro, kind: story, title: Start, text: "The numerator sits above the vinculum.",
     text_simple: "The top number is on top."}
  - {id: task, kind: task, title: Fold, instructions: "Fold the sheet into congruent halves.",
     text_simple: "Fold the paper in two equal parts."}
  - id: check
    kind: gate
    title: Checkpoint
    competencies: [equiv]
    max_attempts: 1
    time_limit: 10
    questions:
      - {id: q1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3", "3/5", "1/3"],
         answer: "2/4", distractors: ["3/5", "1/3"]}
      - {id: q2, type: multi, prompt: Pick all equal to 1, options: ["2/2", "3/3", "1/3", "4/5"],
         answer: ["2/2", "3/3"], distractors: ["4/5"]}
  - {id: practice, kind: task, title: Practice, complete: self}
  - {id: end, kind: end, title: Done}
edges:
  - [intro, task]
  - [task, check]
  - {from: check, to: end, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
"""
RIGHT = {"q1": "2/4", "q2": ["2/2", "3/3"]}
WRONG = {"q1": "2/3", "q2": ["2/2"]}


def nodes(G):
    return {n: G.nodes[n]["node"] for n in G}


# --- the pure part ----------------------------------------------------------------------------


def test_no_accommodation_keeps_the_very_same_graph():
    G = quest_graph(loads_quest(QUEST))
    assert adapt_graph(G, Accommodations()) is G
    assert not Accommodations().any()


def test_every_support_changes_its_own_part_only():
    G = quest_graph(loads_quest(QUEST))
    acc = Accommodations(simple_text=True, extra_attempts=2, extra_time=1.5, fewer_options=True)
    H = adapt_graph(G, acc)
    old, new = nodes(G), nodes(H)
    assert new["intro"].text == "The top number is on top."
    assert new["task"].instructions == "Fold the paper in two equal parts."
    assert new["check"].max_attempts == 3
    assert new["check"].time_limit == 15
    assert new["check"].questions[0].options == ["2/4", "2/3"]
    assert new["check"].questions[1].options == ["2/2", "3/3", "1/3"]
    assert new["practice"] is old["practice"]  # nothing to change: the same model
    # the original is untouched
    assert old["check"].max_attempts == 1 and len(old["check"].questions[0].options) == 4
    assert old["intro"].text.startswith("The numerator")
    assert H.graph["order"] == G.graph["order"]


@pytest.mark.parametrize("acc, words", [
    (Accommodations(read_aloud=True, larger_text=True),
     ["read aloud", "larger text and spacing"]),
    (Accommodations(extra_attempts=1, extra_time=2), ["1 more try at checkpoints",
                                                       "2× time on timed challenges"]),
    (Accommodations(simple_text=True, fewer_options=True), ["fewer options", "simpler text"]),
])
def test_words_name_the_supports_that_are_on(acc, words):
    assert acc.words() == words


@pytest.mark.parametrize("data, match", [
    ({"louder": True}, r"unknown accommodation 'louder'; the choices are read_aloud, "),
    ({"extra_attempts": 99}, r"extra_attempts: .*less than or equal to 10"),
    ({"extra_time": 0.5}, r"extra_time: .*greater than or equal to 1"),
])
def test_bad_settings_name_the_field_and_the_choices(data, match):
    with pytest.raises(AccommodationError, match=match) as err:
        parse_accommodations(data)
    assert isinstance(err.value, QuestEngineError)


def test_a_node_without_simple_text_keeps_its_text():
    source = QUEST.replace(',\n     text_simple: "The top number is on top."', "")
    assert source != QUEST
    quest = loads_quest(source)
    node = next(n for n in quest.nodes if n.id == "intro")
    assert adapt_node(node, Accommodations(simple_text=True)) is node


# --- through the service ----------------------------------------------------------------------


@pytest.fixture
def world():
    c = Classroom(":memory:", hasher=cheap_hasher())
    c.add_teacher("t@school.test", "Ms. T", "teacher-pass")
    code = c.create_class("t@school.test", "Class", "ACC-1")
    c.add_teacher("u@school.test", "Mr. U", "teacher-pass")
    c.create_class("u@school.test", "Other", "ACC-2")
    teacher = c.login_teacher("t@school.test", "teacher-pass")
    teacher.publish(loads_quest(QUEST))
    teacher.assign("aq", code)
    ada, bo = teacher.add_student(code, "Ada", "1234"), teacher.add_student(code, "Bo", "1234")
    return c, teacher, ada, bo


def student(c, login):
    return c.login_student(login.class_code, login.name, "1234")


def play_to_gate(s):
    s.complete("aq", "intro")
    s.complete("aq", "task")
    s.open("aq", "check")  # a timed challenge: its clock starts here


def test_extra_attempts_are_granted_by_the_engine_for_that_student_only(world):
    c, teacher, ada, bo = world
    teacher.set_accommodations(ada.student_id, extra_attempts=1)
    for login, attempts_left in ((ada, True), (bo, False)):
        s = student(c, login)
        play_to_gate(s)
        s.answer("aq", "check", WRONG)
        s.complete("aq", "practice")
        p = s.progress("aq")
        if attempts_left:  # Ada's gate opens again: her second try is allowed
            assert p.nodes["check"].retry_ready
            s.open("aq", "check")
            assert s.answer("aq", "check", RIGHT).state("check") == "success"
        else:  # one attempt only: Bo waits for the teacher
            assert not p.nodes["check"].retry_ready
            with pytest.raises(ProgressError):
                s.answer("aq", "check", RIGHT)


def test_fewer_options_shows_fewer_and_refuses_a_hidden_one(world):
    c, teacher, ada, bo = world
    teacher.set_accommodations(ada.student_id, fewer_options=True)
    s = student(c, ada)
    q1 = nodes(s.graph("aq"))["check"].questions[0]
    assert q1.options == ["2/4", "2/3"]
    assert nodes(student(c, bo).graph("aq"))["check"].questions[0].options == [
        "2/4", "2/3", "3/5", "1/3"]
    play_to_gate(s)
    with pytest.raises(ProgressError, match="not a choice of question .q1.; choices: 2/4, 2/3$"):
        s.answer("aq", "check", {"q1": "3/5", "q2": ["2/2", "3/3"]})
    assert s.answer("aq", "check", RIGHT).state("check") == "success"


def test_simple_text_and_more_time_reach_the_students_graph(world):
    c, teacher, ada, _bo = world
    teacher.set_accommodations(ada.student_id, simple_text=True, extra_time=2)
    G = student(c, ada).graph("aq")
    assert nodes(G)["intro"].text == "The top number is on top."
    assert nodes(G)["check"].time_limit == 20


def test_settings_change_from_the_next_action_and_merge(world):
    c, teacher, ada, _bo = world
    s = student(c, ada)
    play_to_gate(s)
    assert teacher.set_accommodations(ada.student_id, read_aloud=True).read_aloud
    acc = teacher.set_accommodations(ada.student_id, extra_attempts=2)
    assert acc.read_aloud and acc.extra_attempts == 2  # the earlier setting stays
    assert s.accommodations() == acc
    s.answer("aq", "check", WRONG)  # the same open session plays on the adapted graph
    assert s.progress("aq").nodes["check"].attempts == 1
    assert nodes(s.progress("aq").graph)["check"].max_attempts == 3
    teacher.set_accommodations(ada.student_id, extra_attempts=0, read_aloud=False)
    assert not s.accommodations().any()
    assert teacher.class_accommodations("ACC-1") == {}


def test_a_bad_setting_writes_nothing(world):
    c, teacher, ada, _bo = world
    with pytest.raises(AccommodationError, match="the choices are"):
        teacher.set_accommodations(ada.student_id, bigger=True)
    assert c.store.accommodations([ada.student_id]) == {}


def test_another_teacher_can_neither_read_nor_set_them(world):
    c, teacher, ada, _bo = world
    other = c.login_teacher("u@school.test", "teacher-pass")
    with pytest.raises(AccessDenied):
        other.set_accommodations(ada.student_id, read_aloud=True)
    with pytest.raises(AccessDenied):
        other.accommodations(ada.student_id)
    assert c.store.accommodations([ada.student_id]) == {}


def test_supports_are_in_the_record_the_export_and_go_with_a_deleted_student(world):
    c, teacher, ada, bo = world
    teacher.set_accommodations(ada.student_id, larger_text=True)
    assert teacher.class_accommodations("ACC-1") == {
        ada.student_id: Accommodations(larger_text=True)}
    assert teacher.student_record(ada.student_id)["accommodations"]["larger_text"] is True
    (row,) = teacher.export_student(ada.student_id)["accommodations"]
    assert '"larger_text": true' in row["settings"]
    teacher.delete_student(ada.student_id)
    assert c.store.accommodations([ada.student_id]) == {}


class FakeClock:
    """The service's clock in a test: it moves only when told."""

    def __init__(self):
        self.now = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)


def test_the_service_clock_times_the_challenge_with_the_students_own_limit():
    clock = FakeClock()
    c = Classroom(":memory:", hasher=cheap_hasher(), clock=clock)
    c.add_teacher("t@school.test", "Ms. T", "teacher-pass")
    code = c.create_class("t@school.test", "Class", "ACC-1")
    teacher = c.login_teacher("t@school.test", "teacher-pass")
    teacher.publish(loads_quest(QUEST))
    teacher.assign("aq", code)
    ada, bo = teacher.add_student(code, "Ada", "1234"), teacher.add_student(code, "Bo", "1234")
    teacher.set_accommodations(ada.student_id, extra_time=2)  # 10 minutes -> 20 for Ada
    sa, sb = student(c, ada), student(c, bo)
    for s in (sa, sb):
        s.complete("aq", "intro")
        s.complete("aq", "task")
        assert s.time_left("aq", "check") is None  # not started: no clock yet
    sa.open("aq", "check")
    sb.open("aq", "check")
    assert (sa.time_left("aq", "check"), sb.time_left("aq", "check")) == (1200, 600)
    clock.advance(minutes=10, seconds=TIME_GRACE.total_seconds() + 1)
    assert sb.time_left("aq", "check") == 0
    assert sa.time_left("aq", "check") == pytest.approx(600 - TIME_GRACE.total_seconds() - 1)
    late = sb.answer("aq", "check", RIGHT)  # right answers, but Bo's time was up
    assert late.state("check") == "fail" and late.nodes["check"].time_up
    assert late.nodes["check"].attempts == 1
    assert sa.answer("aq", "check", RIGHT).state("check") == "success"  # Ada's was not
    # the teacher's record says why Bo's right answers did not pass
    from questengine.ui.center import _record_html
    record = teacher.student_record(bo.student_id)
    [attempt] = record["quests"]["aq"]["attempts"]["check"]
    assert attempt["time_up"] and attempt["outcome"] == "fail"
    assert "not passed: the time was up" in _record_html(record)
    assert sa.time_left("aq", "task") is None  # not a timed step
    with pytest.raises(ProgressError, match="no step 'nope'"):
        sa.time_left("aq", "nope")
