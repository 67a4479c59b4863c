"""The sample quests in quests/: real lessons that exercise every part of the format.

Every file must load and validate, use every built-in node kind, offer a
modality choice, have a mastery gate with a remediation loop, a review task,
competencies tied to standards and an end with a badge; its questions must be
gradable; and simulated students (fixed seeds, so deterministic) must reach
an end, both through the gate's fail path and straight through its success path.
"""
from __future__ import annotations

import functools
import math
import random
import re
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from questengine import dumps_quest, load_quest, loads_quest, quest_graph, validate
from questengine.cli import main
from questengine.grading import grade_question
from questengine.model import MODALITIES, NODE_KINDS
from questengine.simulate import answer_for, play

QUEST_DIR = Path(__file__).resolve().parent.parent / "quests"
QUEST_FILES = sorted(p for p in QUEST_DIR.iterdir() if p.suffix in (".yaml", ".yml", ".json"))
SEEDS = range(20)
CLI_SEEDS = (0, 7)

SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
STANDARD = re.compile(
    r"^(?:CCSS\.MATH\.CONTENT\.[0-9A-Z]+\.[A-Z]+\.[A-Z]\.\d+(?:\.[a-z])?"      # 4.NF.A.1
    r"|CCSS\.ELA-LITERACY\.[A-Z]+\.\d+\.\d+(?:\.[A-Z])?"                       # W.6.1.A
    r"|NGSS [A-Z]{2}-[A-Z]+\d+-\d+)$"                                          # MS-ESS2-4
)

ids = pytest.mark.parametrize("path", QUEST_FILES, ids=[p.stem for p in QUEST_FILES])


@functools.lru_cache(maxsize=None)
def _quest(path: Path):
    return load_quest(path)


@functools.lru_cache(maxsize=None)
def _graph(path: Path):
    return quest_graph(_quest(path))


@functools.lru_cache(maxsize=None)
def _run(path: Path, seed: int):
    return play(_graph(path), random.Random(seed))


def _nodes(quest, kind):
    return [n for n in quest.nodes if n.kind == kind]


def _all_questions(quest):
    """(where, question) for every question: quizzes, gates and quiz-completed options."""
    for node in quest.nodes:
        for q in getattr(node, "questions", []):
            yield f"{node.id}.{q.id}", q
        for option in getattr(node, "options", []):
            for q in option.questions:
                yield f"{node.id}.{option.id}.{q.id}", q


def _remediation_loops(quest):
    """(gate, success targets, fail targets, retry sources) for every gate with a retry edge."""
    loops = []
    for gate in _nodes(quest, "gate"):
        out = [e for e in quest.edges if e.source == gate.id]
        success = {e.target for e in out if e.when == "success"}
        fail = {e.target for e in out if e.when == "fail"}
        retry = {e.source for e in quest.edges if e.when == "retry" and e.target == gate.id}
        if retry:
            loops.append((gate, success, fail, retry))
    return loops


# --- the folder ------------------------------------------------------------------


def test_the_three_sample_quests_are_there():
    names = {p.name for p in QUEST_FILES}
    assert {"fraction-forest.yaml", "water-cycle.yaml", "persuasive-writing.yaml"} <= names


# --- loading and validating ------------------------------------------------------------


@ids
def test_loads_and_validates(path):
    quest = _quest(path)
    assert validate(quest) == []
    assert quest.id == path.stem, "a sample quest's id is its file name"
    assert 9 <= len(quest.nodes) <= 14


@ids
def test_ids_are_simple_slugs(path):
    quest = _quest(path)
    found = [quest.id] + [c.id for c in quest.competencies] + [n.id for n in quest.nodes]
    found += [o.id for n in _nodes(quest, "choice") for o in n.options]
    found += [n.rewards.badge for n in _nodes(quest, "end") if n.rewards.badge]
    assert [i for i in found if not SLUG.match(i)] == []


@ids
def test_saving_unchanged_keeps_data_and_comments(path):
    quest = _quest(path)
    text = path.read_text(encoding="utf-8")
    saved = dumps_quest(quest)
    assert loads_quest(saved).model_dump() == quest.model_dump()
    comments = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("#")]
    assert comments, "sample quests carry comments for teachers"
    kept = {ln.strip() for ln in saved.splitlines()}
    assert [c for c in comments if c not in kept] == []


@ids
def test_no_external_links(path):
    text = path.read_text(encoding="utf-8")
    assert not re.search(r"https?://|www\.", text), "sample quests must work offline"
    quest = _quest(path)
    urls = [o.url for n in _nodes(quest, "choice") for o in n.options if o.url]
    assert all(u.startswith("assets/") for u in urls), urls


# --- structure: every part of the format ---------------------------------------


@ids
def test_uses_every_builtin_kind(path):
    kinds = {n.kind for n in _quest(path).nodes}
    assert set(NODE_KINDS) <= kinds, f"missing kinds: {set(NODE_KINDS) - kinds}"


@ids
def test_has_a_modality_choice_with_three_modalities_and_mixed_completion(path):
    choices = _nodes(_quest(path), "choice")
    good = [
        c for c in choices
        if len({o.modality for o in c.options}) >= 3
        and {o.complete for o in c.options} == {"self", "review", "quiz"}
    ]
    assert good, "needs a choice with >= 3 modalities completed by self, review and quiz"
    for choice in good:
        assert all(o.modality in MODALITIES for o in choice.options)
        assert all(o.text for o in choice.options), "every option tells the student what to do"


@ids
def test_has_a_mastery_gate_with_a_remediation_loop(path):
    quest = _quest(path)
    G = _graph(path)
    loops = _remediation_loops(quest)
    assert loops, "needs a gate with a retry edge back from its remediation path"
    for gate, success, fail, retry in loops:
        assert success and fail, f"gate {gate.id} needs both a success and a fail path"
        assert 0.6 <= gate.threshold <= 0.95
        assert 2 <= gate.max_attempts <= 5
        assert gate.competencies and len(gate.questions) >= 4
        # the threshold can be met, and not by a student who gets half wrong
        needed = math.ceil(gate.threshold * len(gate.questions) - 1e-9)
        assert len(gate.questions) // 2 < needed <= len(gate.questions)
        # every retry source lies on the fail path: reachable from a fail target
        for source in retry:
            assert any(source == t or source in nx.descendants(G, t)
                       for t in fail), f"{source} is not on the fail path of {gate.id}"
        # the remediation path is real practice: at least one task or quiz
        practice = set(fail) | {d for t in fail for d in nx.descendants(G, t)}
        practice -= set(success) | {d for t in success for d in nx.descendants(G, t)}
        assert any(quest.node(n).kind in ("task", "quiz") for n in practice)


@ids
def test_has_a_review_task(path):
    reviewed = [n for n in _nodes(_quest(path), "task") if n.complete == "review"]
    assert reviewed
    assert all(n.instructions for n in reviewed)


@ids
def test_competencies_are_tied_to_standards_and_used(path):
    quest = _quest(path)
    assert quest.competencies
    for comp in quest.competencies:
        assert comp.standard and STANDARD.match(comp.standard), comp.standard
    used = {c for n in quest.nodes for c in n.competencies}
    assert {c.id for c in quest.competencies} <= used, "every competency is practised somewhere"


@ids
def test_ends_with_a_badge(path):
    ends = _nodes(_quest(path), "end")
    assert ends
    for end in ends:
        assert end.rewards.xp > 0
        assert end.rewards.badge and end.rewards.badge_name


@ids
def test_story_instructions_hints_reflections_and_xp(path):
    quest = _quest(path)
    assert quest.story and quest.description
    nodes = quest.nodes
    assert sum(1 for n in nodes if n.story) >= len(nodes) - 1, "a narrative thread runs through"
    for n in nodes:
        says = n.text or getattr(n, "instructions", None)
        assert says, f"{n.id} has no text or instructions for the student"
        if n.kind != "end":
            assert n.xp > 0, f"{n.id} gives no XP"
    for task in _nodes(quest, "task"):
        assert task.instructions, f"task {task.id} needs instructions"
    assert sum(1 for n in nodes if n.hints) >= 3
    assert sum(1 for n in nodes if n.reflection) >= 3


# --- questions: gradable and sensible ------------------------------------------


@ids
def test_questions_are_gradable_and_sensible(path):
    quest = _quest(path)
    questions = list(_all_questions(quest))
    assert {q.type for _, q in questions} == {"choice", "multi", "number", "text"}
    for where, q in questions:
        assert grade_question(q, answer_for(q, True)), where
        assert not grade_question(q, answer_for(q, False)), where
        if q.type == "choice":
            assert len(set(q.options)) == len(q.options) >= 2, where
        elif q.type == "multi":
            assert len(set(q.options)) == len(q.options) > len(q.answer), where
        elif q.type == "number":
            assert q.tolerance <= max(0.5, 0.01 * abs(q.answer)), f"{where}: tolerance too wide"
            assert grade_question(q, str(q.answer).removesuffix(".0")), where
        elif q.type == "text":
            assert len(q.accept) >= 2, f"{where}: accept several ways of writing the answer"
            assert all(grade_question(q, f"  {a.upper()} ") for a in q.accept), where
            assert not grade_question(q, "I don't know"), where


@ids
def test_pass_scores_can_be_met_and_are_not_trivial(path):
    quest = _quest(path)
    scored = [(n.id, n.pass_score, len(n.questions)) for n in _nodes(quest, "quiz")]
    scored += [(f"{n.id}.{o.id}", o.pass_score, len(o.questions))
               for n in _nodes(quest, "choice") for o in n.options if o.complete == "quiz"]
    assert scored
    for where, pass_score, count in scored:
        assert 0.5 <= pass_score <= 0.9, where
        # some number of right answers passes, and all-but-everything-wrong does not
        assert any(k / count >= pass_score for k in range(count + 1)), where
        assert 1 / count < pass_score, where


# --- simulated play-throughs ---------------------------------------------------


@ids
@pytest.mark.parametrize("seed", SEEDS)
def test_simulated_student_reaches_an_end(path, seed):
    run = _run(path, seed)
    assert run.progress.complete, f"seed {seed} stopped at {run.path[-3:]}"
    end = run.progress.ends[-1]
    assert _quest(path).node(end).rewards.badge in run.progress.badges


@ids
def test_simulation_is_deterministic(path):
    again = play(quest_graph(load_quest(path)), random.Random(3))
    assert [e.to_dict() for e in again.events] == [e.to_dict() for e in _run(path, 3).events]


@ids
def test_gate_fail_path_and_success_path_are_both_taken(path):
    quest = _quest(path)
    for gate, success, fail, retry in _remediation_loops(quest):
        first_pass = first_fail = fail_path_walked = success_path_walked = looped = False
        for seed in SEEDS:
            events = _run(path, seed).events
            completes = [(i, e) for i, e in enumerate(events) if e.type == "complete"]
            outcomes = [e.data.get("outcome") for _, e in completes if e.node == gate.id]
            assert outcomes, f"seed {seed} never reached gate {gate.id}"
            first_pass |= outcomes[0] == "success"
            first_fail |= outcomes[0] == "fail"
            done = {e.node for _, e in completes}
            fail_path_walked |= bool(done & fail)
            success_path_walked |= bool(done & success)
            # the loop closes by itself: fail, remediation, then the gate again,
            # without a teacher's override in between
            fails = [i for i, e in completes if e.node == gate.id and e.data.get("outcome") == "fail"]
            if fails:
                after = [i for i, e in completes if i > fails[0] and e.node in retry]
                again = [i for i, e in completes if after and i > after[0] and e.node == gate.id]
                overrides = [i for i, e in enumerate(events)
                             if e.type == "override" and fails[0] < i < (again or [0])[0]]
                looped |= bool(again) and not overrides
        assert first_pass, f"no seed passed {gate.id} on the first try"
        assert first_fail, f"no seed failed {gate.id} on the first try"
        assert fail_path_walked and success_path_walked
        assert looped, f"no seed came back to {gate.id} through its retry edge"


@ids
@pytest.mark.parametrize("seed", CLI_SEEDS)
def test_cli_simulate_reaches_an_end(path, seed):
    result = CliRunner().invoke(main, ["simulate", str(path), "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    assert "end reached" in result.output


def test_cli_validates_the_folder():
    result = CliRunner().invoke(main, ["validate", str(QUEST_DIR)])
    assert result.exit_code == 0, result.output
