"""Tests of questengine.engine: replay, act, explain and available over tiny quests."""
import re

import pytest

from questengine import Action, Event, ProgressError, loads_quest, quest_graph
from questengine.engine import act, available, explain, extend, replay
from questengine.rewards import level_for

FOREST = """
id: forest
title: The Fraction Forest
version: 2
competencies:
  - {id: equiv, name: Equivalent fractions}
nodes:
  - {id: intro, kind: story, title: Intro, xp: 5}
  - id: learn
    kind: choice
    title: Learn
    options:
      - {id: video, modality: video, label: Watch}
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
    max_attempts: 2
    xp: 20
    fail_xp: 2
    questions:
      - {id: a, type: number, prompt: 1/4 + 1/4, answer: 0.5, tolerance: 0.001}
      - {id: b, type: text, prompt: One of two equal parts, accept: [one half]}
  - {id: practice, kind: task, title: Extra practice, xp: 3}
  - {id: essay, kind: task, title: Essay, complete: review, xp: 10}
  - {id: end, kind: end, title: Out of the forest, rewards: {xp: 100, badge: forest-ranger}}
edges:
  - [intro, learn]
  - [learn, check]
  - {from: check, to: essay, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
  - {from: essay, to: end, when: success}
"""

RIGHT = {"a": "0.5", "b": "One  Half"}
WRONG = {"a": "2", "b": "a third"}


@pytest.fixture(scope="module")
def G():
    return quest_graph(loads_quest(FOREST))


def graph(text):
    return quest_graph(loads_quest(text))


# --- a tiny driver -------------------------------------------------------------


def complete(node):
    return Action("complete", node)


def choose(node, option):
    return Action("choose", node, option=option)


def answer(node, answers):
    return Action("answer", node, answers=answers)


def submit(node, content):
    return Action("submit", node, content=content)


def review(node, decision, feedback=""):
    return Action("review", node, decision=decision, feedback=feedback)


def override(node, op, **kw):
    return Action("override", node, op=op, **kw)


TEACHER_ACTIONS = ("review", "override")


def run(G, *actions, events=None):
    """Play actions one after the other (teachers review and override); return all events."""
    events = list(events or [])
    for action in actions:
        role = "teacher" if action.type in TEACHER_ACTIONS else "student"
        events += act(G, replay(G, events), action, role=role, actor=role[0], at="t")
    return events


def play(G, *actions, events=None):
    return replay(G, run(G, *actions, events=events))


def refuse(G, events, action, match, role=None):
    role = role or ("teacher" if action.type in TEACHER_ACTIONS else "student")
    with pytest.raises(ProgressError, match=match) as info:
        act(G, replay(G, events), action, role=role)
    return info.value


TO_GATE = (complete("intro"), choose("learn", "video"), complete("learn"))
TO_ESSAY = TO_GATE + (answer("check", RIGHT),)


# --- replay ----------------------------------------------------------------------


def test_replay_of_nothing(G):
    progress = replay(G, [])
    assert progress.states() == {
        "intro": "available", "learn": "locked", "check": "locked", "practice": "locked",
        "essay": "locked", "end": "locked",
    }
    assert (progress.xp, progress.level, progress.badges, progress.complete) == (0, 1, [], False)
    assert (progress.quest, progress.version) == ("forest", 2)
    assert available(progress) == ["intro"]


def test_replay_of_several_starts():
    G = graph("""
id: s
title: S
nodes:
  - {id: a, kind: story, title: A}
  - {id: b, kind: story, title: B}
  - {id: end, kind: end, title: End}
edges: [[a, end], [b, end]]
""")
    assert replay(G, []).states() == {"a": "available", "b": "available", "end": "locked"}


def test_events_on_unknown_nodes_are_ignored(G):
    events = [Event("complete", "ghost"), Event("open", "intro"), Event("complete", "intro"),
              Event("teleport", "intro")]
    progress = replay(G, events)
    assert progress.ignored == 2
    assert progress.events == 2
    assert progress.state("intro") == "success"
    assert progress.state("learn") == "available"


def test_replay_is_deterministic(G):
    events = run(G, *TO_ESSAY, submit("essay", "my essay"))
    one, two = replay(G, events), replay(G, list(events))
    assert one.states() == two.states()
    assert (one.xp, one.badges) == (two.xp, two.badges)


# --- act: every action type --------------------------------------------------------


def test_act_open(G):
    events = act(G, replay(G, []), Action("open", "intro"), actor="ana", at="2024-05-01T10:00")
    assert events == [Event("open", "intro", "student", "ana", "2024-05-01T10:00", "forest", 2, {})]
    progress = replay(G, events)
    assert progress.state("intro") == "in_progress"
    assert progress.current == "intro"
    # opening what is already open adds nothing
    assert act(G, progress, Action("open", "intro")) == []


def test_act_complete(G):
    events = act(G, replay(G, []), complete("intro"))
    assert [(e.type, e.data) for e in events] == [("open", {}), ("complete", {"outcome": "success"})]
    progress = replay(G, events)
    assert progress.state("intro") == "success"
    assert progress.state("learn") == "available"


def test_act_choose(G):
    events = run(G, complete("intro"))
    new = act(G, replay(G, events), choose("learn", "sheet"))
    assert [(e.type, e.data) for e in new] == [("open", {}), ("choose", {"option": "sheet"})]
    progress = replay(G, events + new)
    assert progress.nodes["learn"].option == "sheet"
    assert progress.state("learn") == "in_progress"


def test_act_answer_grades_on_the_server(G):
    events = run(G, *TO_GATE)
    new = act(G, replay(G, events), answer("check", RIGHT))
    assert [(e.type, e.role) for e in new] == [
        ("open", "student"), ("submit", "student"), ("grade", "system"), ("complete", "system")]
    assert new[1].data == {"answers": RIGHT}
    assert new[2].data["score"] == 1.0
    assert new[2].data["results"] == {"a": True, "b": True}
    assert new[2].data["mastery"] == {"equiv": 1.0}
    assert new[2].actor == "engine"
    assert new[3].data == {"outcome": "success"}


def test_act_submit(G):
    events = run(G, *TO_ESSAY)
    new = act(G, replay(G, events), submit("essay", "  https://example.org/essay  "))
    assert [(e.type, e.data) for e in new] == [
        ("open", {}), ("submit", {"content": "https://example.org/essay"})]
    progress = replay(G, events + new)
    assert progress.state("essay") == "pending_review"
    assert [s.content for s in progress.nodes["essay"].submissions] == ["https://example.org/essay"]


def test_act_reflect(G):
    events = run(G, complete("intro"))
    new = act(G, replay(G, events), Action("reflect", "intro", text=" It was fun. "))
    assert [(e.type, e.data) for e in new] == [("reflect", {"text": "It was fun."})]
    assert replay(G, events + new).nodes["intro"].reflection == "It was fun."


def test_act_review(G):
    events = run(G, *TO_ESSAY, submit("essay", "essay"))
    new = act(G, replay(G, events), review("essay", "approve", "Nice"), role="teacher", actor="mr-b")
    assert [(e.type, e.role, e.actor, e.data) for e in new] == [
        ("review", "teacher", "mr-b", {"decision": "approve", "feedback": "Nice"}),
        ("complete", "teacher", "mr-b", {"outcome": "success"}),
    ]


def test_act_override(G):
    new = act(G, replay(G, []), override("check", "unlock", reason="absent"), role="teacher")
    assert [(e.type, e.role, e.data) for e in new] == [
        ("override", "teacher", {"op": "unlock", "reason": "absent"})]
    assert replay(G, new).state("check") == "available"


# --- act: illegal actions ----------------------------------------------------------

LOCKED_LEARN = re.escape("“Learn” is locked: it opens after finishing “Intro”.")


@pytest.mark.parametrize(
    "action, verb",
    [
        (Action("open", "learn"), "open"),
        (choose("learn", "video"), "choose in"),
        (complete("learn"), "complete"),
        (answer("learn", {"q1": "2/4"}), "answer"),
    ],
    ids=["open", "choose", "complete", "answer"],
)
def test_acting_on_a_locked_node_explains_why(G, action, verb):
    refuse(G, [], action, rf"^You cannot {verb} “Learn” yet\. {LOCKED_LEARN}$")


@pytest.mark.parametrize(
    "action, node, sentence",
    [
        (answer("check", RIGHT), "Checkpoint", "“Checkpoint” is locked: it opens after finishing “Learn”."),
        (submit("essay", "x"), "Essay", "“Essay” is locked: it opens after passing “Checkpoint”."),
        (complete("practice"), "Extra practice",
         "“Extra practice” is locked: it opens after not passing “Checkpoint”."),
    ],
)
def test_locked_message_names_the_awaited_outcome(G, action, node, sentence):
    verb = {"answer": "answer", "submit": "submit work for", "complete": "complete"}[action.type]
    refuse(G, [], action, "^" + re.escape(f"You cannot {verb} “{node}” yet. {sentence}") + "$")


def test_unknown_node(G):
    refuse(G, [], Action("open", "nowhere"), r"there is no step 'nowhere' in 'The Fraction Forest'")


def test_unknown_option_lists_the_valid_options(G):
    refuse(G, run(G, complete("intro")), choose("learn", "podcast"),
           r"'podcast' is not an option of “Learn”; options: video, sheet, game")


def test_choose_in_a_node_that_is_not_a_choice(G):
    refuse(G, [], choose("intro", "video"), "“Intro” is not a modality choice; nothing to choose")


def test_completing_a_review_task_directly(G):
    refuse(G, run(G, *TO_ESSAY), complete("essay"),
           r"“Essay” is completed by your teacher's review; submit your work instead")


def test_completing_a_review_option_directly(G):
    refuse(G, run(G, complete("intro"), choose("learn", "sheet")), complete("learn"),
           r"“Worksheet” is completed by your teacher's review; submit your work instead")


def test_completing_a_quiz_option_directly(G):
    refuse(G, run(G, complete("intro"), choose("learn", "game")), complete("learn"),
           r"“Play” is completed by answering its questions")


def test_completing_a_choice_before_choosing(G):
    refuse(G, run(G, complete("intro")), complete("learn"), r"choose an option of “Learn” first")


def test_completing_a_gate_directly(G):
    refuse(G, run(G, *TO_GATE), complete("check"), r"“Checkpoint” is completed by answering its questions")


def test_completing_a_quiz_directly():
    G = graph("""
id: z
title: Z
nodes:
  - {id: quiz, kind: quiz, title: Quiz, questions: [{id: q, type: number, prompt: x, answer: 1}]}
  - {id: end, kind: end, title: End}
edges: [[quiz, end]]
""")
    refuse(G, [], complete("quiz"), r"“Quiz” is completed by answering its questions")


def test_completing_what_is_done(G):
    refuse(G, run(G, complete("intro")), complete("intro"), r"“Intro” is already done")


def test_answer_with_a_missing_answer(G):
    refuse(G, run(G, *TO_GATE), answer("check", {"a": "0.5"}),
           r"answer every question of “Checkpoint” before submitting; no answer yet for 'b'")


def test_answer_with_a_blank_answer(G):
    refuse(G, run(G, *TO_GATE), answer("check", {"a": "0.5", "b": "   "}), r"no answer yet for 'b'")


def test_answer_with_an_unknown_question(G):
    refuse(G, run(G, *TO_GATE), answer("check", {**RIGHT, "zz": "1"}),
           r"“Checkpoint” has no question 'zz'; its questions are 'a', 'b'")


def test_answer_a_node_without_questions(G):
    refuse(G, [], answer("intro", {}), r"“Intro” has no questions to answer")


def test_answer_a_choice_before_choosing(G):
    refuse(G, run(G, complete("intro")), answer("learn", {"q1": "2/4"}),
           r"choose an option of “Learn” before answering")


def test_answer_an_option_without_questions(G):
    refuse(G, run(G, complete("intro"), choose("learn", "video")), answer("learn", {"q1": "2/4"}),
           r"“Watch” in “Learn” has no questions to answer")


@pytest.mark.parametrize("action", [review("essay", "approve"), override("essay", "unlock")])
def test_a_student_cannot_review_or_override(G, action):
    refuse(G, [], action, r"only a teacher can review work or change a student's progress", role="student")


@pytest.mark.parametrize("action", [Action("open", "intro"), complete("intro"), submit("essay", "x"),
                                    Action("reflect", "intro", text="x")])
def test_a_teacher_does_not_play(G, action):
    refuse(G, [], action, rf"a teacher does not play quests; use 'review' or 'override' \(got '{action.type}'\)",
           role="teacher")


@pytest.mark.parametrize("role", ["student", "teacher"])
def test_nobody_sends_grades(G, role):
    refuse(G, run(G, *TO_GATE), Action("grade", "check"),
           r"grades are computed by the engine from the answers; send an 'answer' action instead", role=role)


def test_unknown_action_type(G):
    refuse(G, [], Action("fly", "intro"), r"unknown action 'fly'; valid actions: open, choose, answer")


def test_unknown_role(G):
    refuse(G, [], Action("open", "intro"), r"unknown role 'system'", role="system")


def test_reflect_before_finishing(G):
    refuse(G, [], Action("reflect", "intro", text="deep thoughts"), r"reflect on “Intro” after you finish it")
    refuse(G, run(G, Action("open", "intro")), Action("reflect", "intro", text="x"),
           r"reflect on “Intro” after you finish it")


def test_reflect_with_nothing_to_say(G):
    refuse(G, run(G, complete("intro")), Action("reflect", "intro", text="  "),
           r"your reflection on “Intro” is empty")


@pytest.mark.parametrize("content", ["", "   \n\t ", None])
def test_submit_empty(G, content):
    refuse(G, run(G, *TO_ESSAY), submit("essay", content),
           r"your submission for “Essay” is empty; write something or paste a link")


def test_submit_too_long(G):
    refuse(G, run(G, *TO_ESSAY), submit("essay", "x" * 20_001),
           r"your submission for “Essay” is 20,001 characters; the most is 20,000")


def test_submit_the_longest_allowed(G):
    progress = play(G, *TO_ESSAY, submit("essay", "x" * 20_000))
    assert progress.state("essay") == "pending_review"


def test_submit_to_a_node_that_takes_no_work(G):
    refuse(G, [], submit("intro", "hello"), r"“Intro” does not take submitted work; mark it done")
    refuse(G, run(G, *TO_GATE), submit("check", "hello"),
           r"“Checkpoint” does not take submitted work; answer its questions")


def test_submit_to_a_choice_before_choosing(G):
    refuse(G, run(G, complete("intro")), submit("learn", "hello"),
           r"choose an option of “Learn” before submitting work")


def test_submit_while_waiting_for_review(G):
    refuse(G, run(G, *TO_ESSAY, submit("essay", "v1")), submit("essay", "v2"),
           r"“Essay” is waiting for your teacher's review; you can change it only if your teacher returns it")


def test_review_without_pending_work(G):
    refuse(G, run(G, *TO_ESSAY), review("essay", "approve"),
           r"“Essay” has no work waiting for review \(it is available\)")


def test_review_with_an_unknown_decision(G):
    refuse(G, run(G, *TO_ESSAY, submit("essay", "v1")), review("essay", "maybe"),
           r"unknown review decision 'maybe'; choose one of approve, fail, return")


def test_return_needs_feedback(G):
    refuse(G, run(G, *TO_ESSAY, submit("essay", "v1")), review("essay", "return", "  "),
           r"returning work needs feedback")


# --- the gate loop -----------------------------------------------------------------


def test_failing_a_gate_opens_the_fail_path(G):
    progress = play(G, *TO_GATE, answer("check", WRONG))
    check = progress.nodes["check"]
    assert (check.state, check.outcome, check.attempts, check.score) == ("fail", "fail", 1, 0.0)
    assert check.results == {"a": False, "b": False}
    assert progress.state("practice") == "available"
    # the success path stays locked while a retry is possible
    assert progress.state("essay") == "locked"
    assert explain(progress, "essay") == "“Essay” is locked: it opens after passing “Checkpoint”."
    assert explain(progress, "check") == (
        "“Checkpoint” was not passed (attempt 1 of 2); finish “Extra practice” to try again.")
    assert progress.struggling == {}


def test_a_failed_gate_cannot_be_answered_again_before_practice(G):
    refuse(G, run(G, *TO_GATE, answer("check", WRONG)), answer("check", RIGHT),
           re.escape("You cannot answer “Checkpoint” now. “Checkpoint” was not passed (attempt 1 of 2); "
                     "finish “Extra practice” to try again."))


def test_practice_reopens_the_gate_for_a_new_round(G):
    progress = play(G, *TO_GATE, answer("check", WRONG), complete("practice"))
    check, practice = progress.nodes["check"], progress.nodes["practice"]
    assert check.state == "available"
    assert check.retry_ready
    assert check.attempts == 1
    assert check.round == 2
    assert check.history[0]["outcome"] == "fail" and check.history[0]["round"] == 1
    assert check.history[0]["answers"] == WRONG
    assert explain(progress, "check") == "“Checkpoint” is open again: try it once more (attempt 2)."
    # the practice starts a new round; its first round stays in the history
    assert practice.round == 2
    assert practice.state == "locked"
    assert practice.outcome is None
    assert [h["outcome"] for h in practice.history] == ["success"]
    assert progress.state("essay") == "locked"


def test_passing_after_practice_closes_the_fail_path(G):
    progress = play(G, *TO_GATE, answer("check", WRONG), complete("practice"), answer("check", RIGHT))
    check = progress.nodes["check"]
    assert (check.state, check.attempts, check.retry_ready) == ("success", 2, False)
    assert progress.state("practice") == "closed"
    assert progress.state("essay") == "available"
    assert explain(progress, "practice") == (
        "“Extra practice” is closed: it opens only after not passing “Checkpoint”, but “Checkpoint” was passed.")
    assert "comeback" in progress.badges and "first-try" not in progress.badges


def test_second_failure_opens_the_fail_path_afresh(G):
    progress = play(G, *TO_GATE, answer("check", WRONG), complete("practice"), answer("check", WRONG))
    assert progress.state("practice") == "available"
    assert progress.nodes["practice"].round == 2


def test_retry_past_max_attempts(G):
    events = run(G, *TO_GATE, answer("check", WRONG), complete("practice"), answer("check", WRONG))
    progress = replay(G, events)
    check = progress.nodes["check"]
    assert (check.state, check.attempts) == ("fail", 2)
    assert list(progress.struggling) == ["check"]
    assert "Checkpoint" in progress.struggling["check"]
    assert progress.struggling["check"] == "did not pass “Checkpoint” in 2 attempts (the most allowed is 2)"
    # attempts are exhausted: the success path is closed
    assert progress.state("essay") == "closed"
    assert explain(progress, "essay") == (
        "“Essay” is closed: it opens only after passing “Checkpoint”, but “Checkpoint” was not passed.")
    sentence = ("“Checkpoint” was not passed after 2 attempts, the most allowed; "
                "your teacher will decide the next step.")
    assert explain(progress, "check") == sentence
    refuse(G, events, Action("open", "check"), re.escape(f"You cannot open “Checkpoint” now. {sentence}"))
    # doing the practice again does not reopen it either
    events = run(G, complete("practice"), events=events)
    progress = replay(G, events)
    assert progress.state("check") == "fail"
    assert not progress.nodes["check"].retry_ready
    refuse(G, events, answer("check", RIGHT), re.escape(sentence))


def test_gate_without_retry_edge_closes_its_success_path_after_one_failure():
    G = graph("""
id: g
title: G
nodes:
  - {id: check, kind: gate, title: Check, questions: [{id: q, type: number, prompt: x, answer: 1}]}
  - {id: good, kind: end, title: Good}
  - {id: bad, kind: end, title: Bad}
edges: [{from: check, to: good, when: success}, {from: check, to: bad, when: fail}]
""")
    progress = play(G, answer("check", {"q": "2"}))
    assert progress.states() == {"check": "fail", "good": "closed", "bad": "available"}
    assert explain(progress, "check") == "“Check” was not passed."


RETRY_AFTER_LOOK = """
id: look
title: Look again
nodes:
  - {id: check, kind: gate, title: Check, max_attempts: 2,
     questions: [{id: q, type: number, prompt: x, answer: 1}]}
  - {id: look, kind: quiz, title: Look, questions: [{id: q, type: number, prompt: y, answer: 2}]}
  - {id: bonus, kind: task, title: Bonus}
  - {id: practice, kind: task, title: Practice}
  - {id: end, kind: end, title: End}
edges:
  - [check, look]
  - {from: look, to: bonus, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
  - {from: check, to: end, when: success}
"""


def test_a_step_after_a_failed_gate_is_played_again_so_what_it_closes_waits():
    # found by test_properties: "Look" follows the gate whatever its outcome, so a retry plays
    # it again in the new round; "Bonus" behind its success must wait, not close and reopen
    G = graph(RETRY_AFTER_LOOK)
    events = run(G, answer("check", {"q": "0"}), answer("look", {"q": "0"}))
    progress = replay(G, events)
    assert (progress.state("look"), progress.state("bonus")) == ("fail", "locked")
    assert explain(progress, "bonus") == "“Bonus” is locked: it opens after passing “Look”."
    events = run(G, complete("practice"), answer("check", {"q": "0"}), events=events)
    assert replay(G, events).state("look") == "available"  # a new round
    progress = play(G, answer("look", {"q": "2"}), events=events)
    assert (progress.state("look"), progress.state("bonus")) == ("success", "available")
    assert [h["outcome"] for h in progress.nodes["look"].history] == ["fail"]


def test_what_a_replayable_step_closes_is_closed_once_the_gate_cannot_reopen():
    G = graph(RETRY_AFTER_LOOK)
    events = run(G, answer("check", {"q": "0"}), complete("practice"), answer("check", {"q": "0"}),
                 answer("look", {"q": "0"}))
    progress = replay(G, events)  # the second and last attempt failed: no new round can come
    assert (progress.state("look"), progress.state("bonus")) == ("fail", "closed")


# --- review -------------------------------------------------------------------------


def test_review_flow_keeps_every_round_of_feedback(G):
    events = run(G, *TO_ESSAY, submit("essay", "draft one"))
    assert replay(G, events).state("essay") == "pending_review"
    assert explain(replay(G, events), "essay") == "“Essay” is waiting for your teacher's review."
    events = run(G, review("essay", "return", "Add an example."), events=events)
    progress = replay(G, events)
    assert progress.state("essay") == "returned"
    assert available(progress) == ["essay"]
    assert explain(progress, "essay") == (
        "Your teacher returned “Essay” with feedback: revise it and submit it again.")
    events = run(G, submit("essay", "draft two"), events=events)
    assert replay(G, events).state("essay") == "pending_review"
    events = run(G, review("essay", "return", "Now cite a source."), submit("essay", "draft three"),
                 review("essay", "approve", "Well done."), events=events)
    progress = replay(G, events)
    essay = progress.nodes["essay"]
    assert essay.state == "success"
    assert [s.content for s in essay.submissions] == ["draft one", "draft two", "draft three"]
    assert [(r.decision, r.feedback) for r in essay.reviews] == [
        ("return", "Add an example."), ("return", "Now cite a source."), ("approve", "Well done.")]
    assert [r.feedback for r in essay.feedback] == ["Add an example.", "Now cite a source.", "Well done."]
    assert all(r.actor == "t" for r in essay.reviews)
    assert progress.state("end") == "available"


def test_review_fail_closes_the_success_path(G):
    progress = play(G, *TO_ESSAY, submit("essay", "draft"), review("essay", "fail", "Off topic."))
    assert progress.state("essay") == "fail"
    assert progress.state("end") == "closed"
    assert explain(progress, "end") == (
        "“Out of the forest” is closed: it opens only after passing “Essay”, but “Essay” was not passed.")
    assert explain(progress, "essay") == "“Essay” was not passed."


def test_review_option_in_a_choice(G):
    progress = play(G, complete("intro"), choose("learn", "sheet"), submit("learn", "my worksheet"),
                    review("learn", "approve"))
    assert progress.state("learn") == "success"
    assert progress.state("check") == "available"
    assert [(p.option, p.modality, p.outcome) for p in progress.picks] == [("sheet", "worksheet", "success")]


def test_returned_work_is_revised_in_the_same_option(G):
    events = run(G, complete("intro"), choose("learn", "sheet"), submit("learn", "v1"),
                 review("learn", "return", "Show your work."))
    refuse(G, events, choose("learn", "video"), r"revise it in the same option")


# --- choices ------------------------------------------------------------------------


def test_choose_records_the_pick(G):
    progress = play(G, complete("intro"), choose("learn", "video"))
    assert [(p.node, p.option, p.modality, p.round, p.outcome) for p in progress.picks] == [
        ("learn", "video", "video", 1, None)]
    progress = play(G, complete("intro"), choose("learn", "video"), complete("learn"))
    assert [(p.option, p.modality, p.outcome) for p in progress.picks] == [("video", "video", "success")]
    assert progress.nodes["learn"].option == "video"


def test_changing_the_option_keeps_one_pick(G):
    progress = play(G, complete("intro"), choose("learn", "video"), choose("learn", "game"))
    assert [(p.option, p.modality) for p in progress.picks] == [("game", "game")]


@pytest.mark.parametrize("given, score, outcome", [("2/4", 1.0, "success"), ("2/3", 0.0, "fail")])
def test_quiz_option_is_graded_on_the_server(G, given, score, outcome):
    events = run(G, complete("intro"), choose("learn", "game"))
    new = act(G, replay(G, events), answer("learn", {"q1": given}))
    assert [(e.type, e.role) for e in new] == [
        ("submit", "student"), ("grade", "system"), ("complete", "system")]
    assert new[1].data["score"] == score
    assert new[2].data == {"outcome": outcome}
    progress = replay(G, events + new)
    assert progress.state("learn") == outcome
    assert progress.nodes["learn"].score == score
    assert [(p.option, p.modality, p.outcome) for p in progress.picks] == [("game", "game", outcome)]
    # 'done' edge: the gate opens either way
    assert progress.state("check") == "available"


def test_quiz_node_pass_score():
    G = graph("""
id: z
title: Z
nodes:
  - id: quiz
    kind: quiz
    title: Quiz
    pass_score: 0.5
    fail_xp: 1
    xp: 7
    questions:
      - {id: q1, type: number, prompt: x, answer: 1}
      - {id: q2, type: number, prompt: y, answer: 2}
  - {id: end, kind: end, title: End}
edges: [{from: quiz, to: end, when: success}]
""")
    progress = play(G, answer("quiz", {"q1": "1", "q2": "3"}))
    assert (progress.state("quiz"), progress.nodes["quiz"].score, progress.xp) == ("success", 0.5, 7)
    progress = play(G, answer("quiz", {"q1": "0", "q2": "3"}))
    assert (progress.state("quiz"), progress.nodes["quiz"].score, progress.xp) == ("fail", 0.0, 1)
    assert progress.state("end") == "closed"


# --- XP, rewards, levels ----------------------------------------------------------------


def test_xp_for_success_and_end_rewards(G):
    progress = play(G, *TO_ESSAY, submit("essay", "x"), review("essay", "approve"), complete("end"))
    assert progress.complete
    assert progress.ends == ["end"]
    assert progress.xp == 5 + 20 + 10 + 100
    assert progress.nodes["end"].xp == 100
    assert progress.level == level_for(135) == 2
    assert "forest-ranger" in progress.badges
    assert "first-try" in progress.badges
    assert progress.state("end") == "success"


def test_xp_once_per_node_through_rounds(G):
    events = run(G, *TO_GATE,
                 answer("check", WRONG), complete("practice"),
                 answer("check", WRONG), complete("practice"),
                 override("check", "unlock"), answer("check", WRONG),
                 )
    progress = replay(G, events)
    assert progress.nodes["practice"].round == 3
    assert progress.nodes["check"].attempts == 3
    # intro 5, the gate's fail_xp once, the practice once
    assert progress.xp == 5 + 2 + 3
    assert progress.nodes["practice"].xp == 3
    assert progress.nodes["check"].xp == 2
    events = run(G, complete("practice"), override("check", "unlock"), answer("check", RIGHT), events=events)
    progress = replay(G, events)
    assert progress.state("check") == "success"
    assert progress.xp == 5 + 2 + 3 + 20


def test_no_xp_farming_through_a_reset(G):
    events = run(G, complete("intro"), override("intro", "reset"), complete("intro"))
    progress = replay(G, events)
    assert progress.nodes["intro"].round == 2
    assert progress.state("intro") == "success"
    assert progress.xp == 5


def test_level_follows_xp(G):
    progress = play(G, complete("intro"), override("intro", "award", xp=1000))
    assert progress.xp == 1005
    assert progress.level == level_for(1005) == 5


# --- overrides -----------------------------------------------------------------------


def test_override_unlocks_a_locked_node(G):
    progress = play(G, override("essay", "unlock", reason="did it on paper"))
    assert progress.state("essay") == "available"
    assert progress.state("intro") == "available"
    progress = play(G, override("essay", "unlock"), submit("essay", "x"), review("essay", "approve"))
    assert progress.state("essay") == "success"
    assert progress.state("end") == "available"


def test_override_unlocks_a_closed_node(G):
    progress = play(G, *TO_ESSAY, override("practice", "unlock"))
    assert progress.state("practice") == "available"


def test_override_unlock_of_an_available_node_is_refused(G):
    refuse(G, [], override("intro", "unlock"),
           r"“Intro” is available; only a locked or closed node, or a failed gate, can be unlocked")


def test_override_gives_an_exhausted_gate_one_more_attempt(G):
    exhausted = (*TO_GATE, answer("check", WRONG), complete("practice"), answer("check", WRONG))
    progress = play(G, *exhausted, override("check", "unlock"))
    check = progress.nodes["check"]
    assert check.state == "available"
    assert check.retry_ready
    assert progress.struggling == {}
    assert progress.state("essay") == "locked"
    progress = play(G, *exhausted, override("check", "unlock"), answer("check", WRONG))
    assert progress.nodes["check"].attempts == 3
    assert progress.struggling["check"] == "did not pass “Checkpoint” in 3 attempts (the most allowed is 3)"
    assert progress.state("essay") == "closed"
    progress = play(G, *exhausted, override("check", "unlock"), answer("check", RIGHT))
    assert progress.state("check") == "success"
    assert progress.state("essay") == "available"
    assert progress.state("practice") == "closed"


def test_override_reset(G):
    exhausted = (*TO_GATE, answer("check", WRONG), complete("practice"), answer("check", WRONG))
    progress = play(G, *exhausted, override("check", "reset"))
    check = progress.nodes["check"]
    assert (check.state, check.attempts, check.round) == ("available", 0, 3)
    assert progress.struggling == {}
    assert progress.state("practice") == "locked"
    assert [h["outcome"] for h in check.history] == ["fail", "fail"]


def test_override_reset_relocks_what_followed(G):
    progress = play(G, complete("intro"), choose("learn", "video"), override("intro", "reset"))
    assert progress.state("intro") == "available"
    assert progress.nodes["intro"].history[0]["outcome"] == "success"
    # learn was started after intro: it starts over too and waits for intro again
    assert progress.state("learn") == "locked"
    assert progress.nodes["learn"].option is None


def test_override_reset_of_an_untouched_node_is_refused(G):
    refuse(G, [], override("essay", "reset"), r"“Essay” has not been started; there is nothing to reset")


def test_override_approve(G):
    progress = play(G, *TO_ESSAY, submit("essay", "x"), override("essay", "approve", reason="seen in class"))
    assert progress.state("essay") == "success"
    assert progress.state("end") == "available"
    refuse(G, run(G, complete("intro")), override("intro", "approve"), r"“Intro” is already done")


def test_override_approve_an_exhausted_gate(G):
    exhausted = (*TO_GATE, answer("check", WRONG), complete("practice"), answer("check", WRONG))
    progress = play(G, *exhausted, override("check", "approve"))
    assert progress.state("check") == "success"
    assert progress.struggling == {}
    assert progress.state("essay") == "available"


def test_override_award(G):
    progress = play(G, override("intro", "award", xp=40, badge="helper", reason="helped a friend"))
    assert progress.xp == 40
    assert progress.badges == ["helper"]
    refuse(G, [], override("intro", "award"), r"an award needs XP, a badge, or both")
    refuse(G, [], override("intro", "award", xp=-5), r"awarded XP must be between 0 and 100000, got -5")


def test_unknown_override(G):
    refuse(G, [], override("intro", "delete"), r"unknown override 'delete'; choose one of unlock, reset, approve, award")


# --- explain ---------------------------------------------------------------------------


def test_explain_locked_names_nodes_and_outcomes(G):
    progress = replay(G, [])
    assert explain(progress, "learn") == "“Learn” is locked: it opens after finishing “Intro”."
    assert explain(progress, "essay") == "“Essay” is locked: it opens after passing “Checkpoint”."
    assert explain(progress, "practice") == "“Extra practice” is locked: it opens after not passing “Checkpoint”."
    assert explain(progress, "end") == "“Out of the forest” is locked: it opens after passing “Essay”."


def test_explain_other_states(G):
    assert explain(replay(G, []), "intro") == "“Intro” is open: you can start it now."
    assert explain(play(G, Action("open", "intro")), "intro") == "“Intro” is in progress."
    assert explain(play(G, complete("intro")), "intro") == "“Intro” is done."


def test_explain_unknown_node(G):
    with pytest.raises(ProgressError, match=r"there is no step 'nope' in this quest"):
        explain(replay(G, []), "nope")


JOIN = """
id: j
title: J
nodes:
  - {id: a, kind: story, title: Alpha}
  - {id: b, kind: story, title: Beta}
  - {id: c, kind: story, title: Gamma}
  - {id: all, kind: story, title: All}
  - {id: any, kind: story, title: Any, requires: any}
  - {id: end, kind: end, title: End, requires: any}
edges: [[a, all], [b, all], [c, all], [a, any], [b, any], [c, any], [all, end], [any, end]]
"""


def test_requires_all_and_any():
    G = graph(JOIN)
    progress = replay(G, [])
    assert explain(progress, "all") == "“All” is locked: it opens after finishing “Alpha”, finishing “Beta” and finishing “Gamma”."
    assert explain(progress, "any") == "“Any” is locked: it opens after finishing “Alpha”, finishing “Beta” or finishing “Gamma”."
    progress = play(G, complete("b"))
    assert progress.state("all") == "locked"
    assert progress.state("any") == "available"
    # only what is still awaited is named
    assert explain(progress, "all") == "“All” is locked: it opens after finishing “Alpha” and finishing “Gamma”."
    progress = play(G, complete("b"), complete("a"), complete("c"))
    assert progress.state("all") == "available"


def test_requires_any_closes_only_when_every_path_is_closed():
    G = graph("""
id: j
title: J
nodes:
  - {id: g, kind: gate, title: Gate, questions: [{id: q, type: number, prompt: x, answer: 1}]}
  - {id: h, kind: gate, title: Hurdle, questions: [{id: q, type: number, prompt: x, answer: 1}]}
  - {id: end, kind: end, title: End, requires: any}
edges: [{from: g, to: end, when: success}, {from: h, to: end, when: success}]
""")
    progress = play(G, answer("g", {"q": "5"}))
    assert progress.state("end") == "locked"
    assert explain(progress, "end") == "“End” is locked: it opens after passing “Gate” or passing “Hurdle”."
    progress = play(G, answer("g", {"q": "5"}), answer("h", {"q": "5"}))
    assert progress.state("end") == "closed"
    assert explain(progress, "end") == (
        "“End” is closed: it opens only after passing “Gate”, but “Gate” was not passed or "
        "passing “Hurdle”, but “Hurdle” was not passed.")


def test_closed_because_an_earlier_node_is_closed(G):
    progress = play(G, *TO_ESSAY)
    assert progress.state("practice") == "closed"
    G2 = graph("""
id: c
title: C
nodes:
  - {id: g, kind: gate, title: Gate, questions: [{id: q, type: number, prompt: x, answer: 1}]}
  - {id: p, kind: story, title: Practice}
  - {id: q, kind: story, title: More practice}
  - {id: end, kind: end, title: End}
edges: [{from: g, to: p, when: fail}, [p, q], {from: g, to: end, when: success}]
""")
    progress = play(G2, answer("g", {"q": "1"}))
    assert progress.state("q") == "closed"
    assert explain(progress, "q") == "“More practice” is closed: it opens only after finishing “Practice”, but “Practice” is closed."


# --- available ----------------------------------------------------------------------------


def test_available_in_map_order():
    G = graph(JOIN)
    assert available(replay(G, [])) == ["a", "b", "c"]
    progress = play(G, Action("open", "c"), complete("a"))
    assert available(progress) == ["b", "c", "any"]


def test_available_includes_returned_but_not_pending(G):
    events = run(G, *TO_ESSAY, submit("essay", "v1"))
    assert available(replay(G, events)) == []
    events = run(G, review("essay", "return", "more"), events=events)
    assert available(replay(G, events)) == ["essay"]


# --- mastery evidence -----------------------------------------------------------------------


def test_gate_answers_feed_mastery(G):
    progress = play(G, *TO_GATE, answer("check", WRONG), complete("practice"), answer("check", RIGHT))
    assert [o.correct for o in progress.evidence["equiv"]] == [False, False, True, True]
    assert progress.mastery == {"equiv": 1.0}
    assert progress.nodes["check"].mastery == {"equiv": 1.0}


def test_mastery_after_a_reset_counts_the_new_attempt(G):
    # The teacher resets a failed gate; the student then passes it. The
    # competency's mastery must follow the new attempt, not the erased one.
    progress = play(G, *TO_GATE, answer("check", WRONG), override("check", "reset"), answer("check", RIGHT))
    assert progress.state("check") == "success"
    assert progress.nodes["check"].mastery == {"equiv": 1.0}
    assert progress.mastery == {"equiv": 1.0}


EVIDENCE_GATE = """
id: e
title: E
competencies: [{id: c, name: C}]
nodes:
  - {id: quiz, kind: quiz, title: Quiz, competencies: [c], questions: [{id: q, type: number, prompt: x, answer: 1}]}
  - {id: gate, kind: gate, title: Gate, competencies: [c], threshold: 0.8}
  - {id: end, kind: end, title: End}
edges: [[quiz, gate], {from: gate, to: end, when: success}]
"""


@pytest.mark.parametrize("given, outcome", [("1", "success"), ("2", "fail")])
def test_gate_without_questions_decides_on_earlier_evidence(given, outcome):
    G = graph(EVIDENCE_GATE)
    progress = play(G, answer("quiz", {"q": given}), answer("gate", {}))
    assert progress.state("gate") == outcome
    mastery = 1.0 if outcome == "success" else 0.0
    assert progress.nodes["gate"].mastery == {"c": mastery}


def test_gate_without_questions_does_not_report_a_zero_score():
    # A gate passed on earlier evidence has no questions of its own: it should
    # not show a score of 0 next to its success.
    G = graph(EVIDENCE_GATE)
    progress = play(G, answer("quiz", {"q": "1"}), answer("gate", {}))
    assert progress.state("gate") == "success"
    assert progress.nodes["gate"].score in (None, 1.0)


# --- copies and extend -------------------------------------------------------------


LONG_PLAY = TO_GATE + (answer("check", WRONG), complete("practice"), answer("check", RIGHT),
                       submit("essay", "draft"), review("essay", "return", "more please"),
                       submit("essay", "better"), review("essay", "approve"), complete("end"),
                       override("check", "reset"), answer("check", WRONG),
                       override("check", "unlock"), answer("check", RIGHT))


def test_extending_a_copy_leaves_the_original_and_equals_a_replay(G):
    events = run(G, *LONG_PLAY)
    for cut in range(len(events) + 1):
        before = replay(G, events[:cut])
        copy = before.copy()
        after = replay(G, events[:cut]).copy()
        for event in events[cut:]:  # one event at a time, copying each step as the service does
            after = replay_step = after.copy()
            after = extend(replay_step, [event])
        extended = extend(copy, events[cut:])
        assert extended == replay(G, events) == after
        assert before == replay(G, events[:cut])  # the original did not change
        assert extended.ends == ["end"] and "forest-ranger" in extended.badges


# --- timed challenges (issue 15): the clock is the events' own times ------------------------

from questengine.engine import TIME_GRACE, deadline, seconds_left  # noqa: E402

TIMED = """
id: timed
title: Timed
nodes:
  - id: check
    kind: gate
    title: Speed check
    max_attempts: 2
    time_limit: 2
    questions:
      - {id: a, type: number, prompt: 1/4 + 1/4, answer: 0.5}
  - {id: practice, kind: task, title: Practice}
  - {id: end, kind: end, title: End}
edges:
  - {from: check, to: end, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
"""
T0 = "2026-12-01T10:00:00.000000+00:00"


def at(seconds: float) -> str:
    from datetime import datetime, timedelta
    return (datetime.fromisoformat(T0) + timedelta(seconds=seconds)).isoformat()


@pytest.fixture(scope="module")
def TG():
    return quest_graph(loads_quest(TIMED))


def started(TG, when=T0):
    return replay(TG, [Event("open", "check", at=when)])


def answer_at(TG, p, seconds, answers=None):
    return act(TG, p, Action("answer", "check", answers=answers or {"a": "0.5"}), at=at(seconds))


def test_the_clock_starts_with_the_rounds_open_event(TG):
    p = started(TG)
    assert p.nodes["check"].started == T0
    assert deadline(TG, p, "check").isoformat() == at(120)
    assert seconds_left(TG, p, "check", at(30)) == 90
    assert seconds_left(TG, p, "check", at(500)) == 0
    assert deadline(TG, replay(TG, []), "check") is None  # not started: no clock
    assert deadline(TG, p, "practice") is None  # not timed


def test_an_answer_in_time_is_graded_as_usual(TG):
    p = started(TG)
    events = answer_at(TG, p, 119)
    assert [e.type for e in events] == ["submit", "grade", "complete"]
    after = extend(p.copy(), events)
    assert after.state("check") == "success" and not after.nodes["check"].time_up


def test_the_grace_for_the_network_still_counts_as_in_time(TG):
    p = started(TG)
    inside = 120 + TIME_GRACE.total_seconds()
    assert extend(p.copy(), answer_at(TG, p, inside)).state("check") == "success"


def test_an_answer_after_the_time_is_up_counts_as_a_failed_attempt(TG):
    p = started(TG)
    events = answer_at(TG, p, 120 + TIME_GRACE.total_seconds() + 1)
    assert [e.type for e in events] == ["submit", "complete"]  # kept, not graded
    assert events[0].data["answers"] == {"a": "0.5"}
    assert events[1].data == {"outcome": "fail", "reason": "time"}
    after = extend(p.copy(), events)
    np = after.nodes["check"]
    assert (after.state("check"), np.attempts, np.time_up, np.score) == ("fail", 1, True, None)
    assert after.state("practice") == "available"  # the fail path, like any failed attempt
    assert not after.evidence  # late answers are no evidence of mastery


def test_time_up_takes_an_unfinished_answer(TG):
    p = started(TG)
    events = answer_at(TG, p, 600, answers={"a": "", "nope": "x"})
    assert events[0].data["answers"] == {"a": ""}  # only the quest's questions are kept
    assert extend(p.copy(), events).nodes["check"].time_up


def test_handed_in_as_the_time_runs_out_blanks_go_in_and_count_wrong(TG):
    p = started(TG)
    with pytest.raises(ProgressError, match="answer every question"):
        answer_at(TG, p, 60, answers={"a": ""})  # time left: finish first
    events = answer_at(TG, p, 125, answers={"a": ""})  # time up, inside the grace
    assert [e.type for e in events] == ["submit", "grade", "complete"]
    assert events[1].data["results"] == {"a": False}
    assert extend(p.copy(), events).state("check") == "fail"


def test_a_retry_is_a_new_round_with_a_new_clock(TG):
    p = started(TG)
    p = extend(p, answer_at(TG, p, 1000))  # out of time: attempt 1 fails
    p = extend(p, act(TG, p, Action("complete", "practice"), at=at(1100)))
    np = p.nodes["check"]
    assert np.retry_ready and np.started == "" and not np.time_up
    with pytest.raises(ProgressError, match="Start “Speed check” first: it is a timed challenge"):
        answer_at(TG, p, 1200)
    p = extend(p, act(TG, p, Action("open", "check"), at=at(1200)))
    assert p.nodes["check"].started == at(1200)
    assert extend(p.copy(), answer_at(TG, p, 1300)).state("check") == "success"
    assert p.nodes["check"].history[-1]["outcome"] == "fail"


def test_a_timed_challenge_cannot_be_answered_before_it_is_started(TG):
    with pytest.raises(ProgressError, match="your time begins when you start"):
        answer_at(TG, replay(TG, []), 10)


def test_events_without_times_are_never_late(TG):
    p = replay(TG, [Event("open", "check")])
    events = act(TG, p, Action("answer", "check", answers={"a": "0.5"}))
    assert extend(p.copy(), events).state("check") == "success"


def test_a_longer_limit_in_the_graph_gives_more_time(TG):
    from questengine.accommodations import Accommodations, adapt_graph
    H = adapt_graph(TG, Accommodations(extra_time=1.5))  # what the service hands the engine
    p = replay(H, [Event("open", "check", at=T0)])
    assert seconds_left(H, p, "check", at(0)) == 180
    assert extend(p.copy(), answer_at(H, p, 170)).state("check") == "success"
    plain = started(TG)  # without the support, the same answer is out of time
    assert extend(plain, answer_at(TG, plain, 170)).nodes["check"].time_up


def test_replay_of_a_late_attempt_is_the_same(TG):
    p = started(TG)
    events = [Event("open", "check", at=T0), *answer_at(TG, p, 900)]
    assert replay(TG, events).nodes["check"].time_up
