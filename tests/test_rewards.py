"""Tests of questengine.rewards: XP curve, levels and badge rules."""
import pytest

from questengine import Action, loads_quest, quest_graph
from questengine.engine import act, replay
from questengine.rewards import (
    BUILTIN_BADGES, BadgeRule, earned_badges, level_for, level_progress, xp_for_level,
)

# --- levels ------------------------------------------------------------------------------


@pytest.mark.parametrize("level, xp", [(1, 0), (2, 100), (3, 300), (4, 600), (5, 1000), (10, 4500)])
def test_xp_for_level(level, xp):
    assert xp_for_level(level) == xp


@pytest.mark.parametrize("level", [0, -1])
def test_levels_start_at_one(level):
    with pytest.raises(ValueError, match=f"levels start at 1, got {level}"):
        xp_for_level(level)


def test_level_for_is_consistent_with_xp_for_level():
    for xp in range(0, 100_001):
        level = level_for(xp)
        assert xp_for_level(level) <= xp < xp_for_level(level + 1), xp


@pytest.mark.parametrize("xp, level", [(0, 1), (99, 1), (100, 2), (299, 2), (300, 3), (599, 3), (600, 4)])
def test_level_for(xp, level):
    assert level_for(xp) == level


@pytest.mark.parametrize("xp", [-1, -1000])
def test_negative_xp_is_level_one(xp):
    assert level_for(xp) == 1


def test_level_at_every_threshold():
    for level in range(1, 200):
        assert level_for(xp_for_level(level)) == level
        assert level_for(xp_for_level(level) - 1) == max(level - 1, 1)


@pytest.mark.parametrize(
    "xp, expected",
    [(0, (1, 0, 100)), (50, (1, 50, 100)), (100, (2, 0, 200)), (299, (2, 199, 200)), (300, (3, 0, 300)),
     (1234, (5, 234, 500))],
)
def test_level_progress(xp, expected):
    assert level_progress(xp) == expected


def test_level_progress_is_consistent():
    for xp in range(0, 20_000, 7):
        level, into, span = level_progress(xp)
        assert level == level_for(xp)
        assert 0 <= into < span
        assert xp_for_level(level) + into == xp
        assert span == xp_for_level(level + 1) - xp_for_level(level)


# --- badges via replayed progress ---------------------------------------------------------


def run(text, *actions):
    G = quest_graph(loads_quest(text))
    events = []
    for action in actions:
        role = "teacher" if action.type in ("review", "override") else "student"
        events += act(G, replay(G, events), action, role=role)
    return replay(G, events)


def choice(node_id, modalities):
    options = ", ".join(f"{{id: {m}, modality: {m}, label: {m.title()}}}" for m in modalities)
    return f"  - {{id: {node_id}, kind: choice, title: {node_id.upper()}, options: [{options}]}}"


THREE_CHOICES = "\n".join([
    "id: three",
    "title: Three",
    "nodes:",
    choice("c1", ["video", "song", "reading"]),
    choice("c2", ["video", "song", "reading"]),
    choice("c3", ["video", "song", "reading"]),
    "  - {id: end, kind: end, title: End}",
    "edges: [[c1, c2], [c2, c3], [c3, end]]",
])


def pick(node, option):
    return [Action("choose", node, option=option), Action("complete", node)]


def test_explorer_for_three_modalities():
    progress = run(THREE_CHOICES, *pick("c1", "video"), *pick("c2", "song"), *pick("c3", "reading"))
    assert "explorer" in progress.badges


def test_no_explorer_for_two_modalities():
    progress = run(THREE_CHOICES, *pick("c1", "video"), *pick("c2", "song"), *pick("c3", "video"))
    assert "explorer" not in progress.badges


def test_no_explorer_for_switching_options_in_one_choice():
    progress = run(THREE_CHOICES, Action("choose", "c1", option="video"), Action("choose", "c1", option="song"),
                   Action("choose", "c1", option="reading"))
    assert "explorer" not in progress.badges


QUIZ = """
id: z
title: Z
nodes:
  - id: quiz
    kind: quiz
    title: Quiz
    questions:
      - {id: q1, type: number, prompt: x, answer: 1}
      - {id: q2, type: text, prompt: y, accept: [yes]}
  - {id: end, kind: end, title: End}
edges: [[quiz, end]]
"""


def test_perfect_score():
    progress = run(QUIZ, Action("answer", "quiz", answers={"q1": "1", "q2": "YES"}))
    assert progress.badges == ["perfect-score"]


def test_no_perfect_score_with_one_wrong():
    progress = run(QUIZ, Action("answer", "quiz", answers={"q1": "1", "q2": "no"}))
    assert "perfect-score" not in progress.badges


def test_perfect_score_in_a_quiz_option():
    text = """
id: o
title: O
nodes:
  - id: learn
    kind: choice
    title: Learn
    options:
      - {id: video, modality: video, label: Watch}
      - {id: game, modality: game, label: Play, complete: quiz, questions: [{id: q, type: number, prompt: x, answer: 3}]}
  - {id: end, kind: end, title: End}
edges: [[learn, end]]
"""
    progress = run(text, Action("choose", "learn", option="game"), Action("answer", "learn", answers={"q": "3"}))
    assert "perfect-score" in progress.badges


GATE = """
id: g
title: G
nodes:
  - id: check
    kind: gate
    title: Check
    questions:
      - {id: q1, type: number, prompt: x, answer: 1}
      - {id: q2, type: number, prompt: y, answer: 2}
  - {id: practice, kind: task, title: Practice}
  - {id: end, kind: end, title: End}
edges:
  - {from: check, to: end, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
"""
PASS = Action("answer", "check", answers={"q1": "1", "q2": "2"})
HALF = Action("answer", "check", answers={"q1": "1", "q2": "3"})


def test_first_try():
    progress = run(GATE, PASS)
    assert "first-try" in progress.badges
    assert "comeback" not in progress.badges


def test_comeback():
    progress = run(GATE, HALF, Action("complete", "practice"), PASS)
    assert "comeback" in progress.badges
    assert "first-try" not in progress.badges


def test_no_gate_badge_while_failing():
    progress = run(GATE, HALF)
    assert not {"first-try", "comeback", "perfect-score"} & set(progress.badges)


def test_perfect_score_sticks_after_a_later_round():
    progress = run(GATE, HALF, Action("complete", "practice"), PASS)
    assert "perfect-score" in progress.badges


STORIES = """
id: s
title: S
nodes:
  - {id: a, kind: story, title: A, reflection: What did you learn?}
  - {id: b, kind: story, title: B}
  - {id: c, kind: story, title: C}
  - {id: end, kind: end, title: End}
edges: [[a, b], [b, c], [c, end]]
"""


def reflect(node, text="I learned something."):
    return Action("reflect", node, text=text)


def test_reflective_after_three_reflections():
    done = [Action("complete", n) for n in "abc"]
    progress = run(STORIES, *done, reflect("a"), reflect("b"), reflect("c"))
    assert "reflective" in progress.badges


def test_not_reflective_after_two():
    done = [Action("complete", n) for n in "abc"]
    progress = run(STORIES, *done, reflect("a"), reflect("b"), reflect("b", "again"))
    assert "reflective" not in progress.badges


def test_end_reward_badge():
    text = """
id: e
title: E
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: end, kind: end, title: End, rewards: {xp: 50, badge: finisher}}
edges: [[intro, end]]
"""
    assert run(text, Action("complete", "intro")).badges == []
    progress = run(text, Action("complete", "intro"), Action("complete", "end"))
    assert progress.badges == ["finisher"]
    assert progress.xp == 50


def test_no_badges_at_the_start():
    assert run(GATE).badges == []


def test_builtin_badge_ids():
    assert [r.id for r in BUILTIN_BADGES] == ["explorer", "perfect-score", "first-try", "comeback", "reflective"]
    assert all(r.name and r.description for r in BUILTIN_BADGES)


def test_custom_badge_rule():
    G = quest_graph(loads_quest(GATE))
    events = act(G, replay(G, []), PASS)
    rule = BadgeRule("quick", "Quick", "Finished in one event.", lambda p: p.events <= 4)
    progress = replay(G, events, badge_rules=(rule,))
    assert progress.badges == ["quick"]
    assert earned_badges(progress, BUILTIN_BADGES) == ["perfect-score", "first-try"]


def test_teacher_approval_is_not_a_first_try_pass():
    # The student never answered the gate; the teacher approved it. That is not
    # "passed a mastery gate on the first attempt".
    progress = run(GATE, Action("override", "check", op="approve", reason="assessed in class"))
    assert progress.state("check") == "success"
    assert "first-try" not in progress.badges
