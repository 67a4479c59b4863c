"""QuestDraft, the editor's state: every edit, its undo and redo, errors, problems, saving."""
from __future__ import annotations

import copy
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from questengine.authoring import DEFAULT_NODES, EDGE_CONDITIONS, QuestDraft
from questengine.cli import main as cli
from questengine.errors import QuestFileError
from questengine.loader import load_quest
from questengine.model import NODE_KINDS, Quest

QUESTS = Path(__file__).resolve().parent.parent / "quests"
SAMPLES = sorted(QUESTS.glob("*.yaml"))


# --- helpers ---------------------------------------------------------------------------------------


def remediation_draft() -> QuestDraft:
    """story -> choice -> gate; gate -success-> end; gate -fail-> practice; practice -retry-> gate."""
    d = QuestDraft.new("loop", "A loop")
    d.add_node("story", 0, 0, id="intro", title="Into the forest")
    d.add_node("choice", 220, 0, id="learn", title="Learn it your way")
    d.add_node("gate", 440, 0, id="check", title="Checkpoint")
    d.add_node("end", 660, -100, id="out", title="Out of the forest")
    d.add_node("task", 660, 120, id="practice", title="Extra practice")
    d.connect("intro", "learn")
    d.connect("learn", "check")
    d.connect("check", "out", "success")
    d.connect("check", "practice", "fail")
    d.connect("practice", "check", "retry")
    return d


def messages(draft: QuestDraft, placeholders: bool = False) -> list[str]:
    """The draft's problems; the placeholder texts of new nodes left out unless asked (the
    drafts here are built with the editor's defaults; their own tests check them)."""
    return [p.message for p in draft.problems() if placeholders or p.code != "placeholder"]


def comment_lines(text: str) -> list[str]:
    """Every comment of a YAML text: whole comment lines, and the '# ...' tail of other lines."""
    out = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("#"):
            out.append(stripped)
            continue
        # a trailing comment: ' #' outside quotes (the sample files quote no '#')
        m = re.search(r"\s(#\s.*)$", line)
        if m and line[:m.start()].count('"') % 2 == 0 and line[:m.start()].count("'") % 2 == 0:
            out.append(m.group(1).strip())
    return out


def in_order(items: list, within: list) -> bool:
    """Whether ``items`` appear in ``within`` in the same order (not necessarily adjacent)."""
    rest = iter(within)
    return all(any(x == y for y in rest) for x in items)


def cli_validate(path: Path):
    return CliRunner().invoke(cli, ["validate", str(path)])


# --- every edit, undone and redone --------------------------------------------------------------


def _add(d):
    d.add_node("quiz", 100.4, 200.6, title="Pop quiz")


def _move(d):
    d.move_node("learn", 333.3, -12.7)


def _update(d):
    d.update_node("intro", title="A new beginning", xp=5, text=None)


def _rename(d):
    d.update_node("practice", id="ranger-camp")


def _delete_node(d):
    d.delete_node("practice")


def _connect(d):
    d.connect("intro", "out")


def _set_condition(d):
    d.set_condition(0, "fail")


def _delete_edge(d):
    d.delete_edge(2)


def _update_quest(d):
    d.update_quest(title="Another title", story="Once upon a time", version=None)


def _auto_layout(d):
    d.auto_layout()


EDITS = [_add, _move, _update, _rename, _delete_node, _connect, _set_condition, _delete_edge,
         _update_quest, _auto_layout]


@pytest.mark.parametrize("edit", EDITS, ids=lambda f: f.__name__.strip("_"))
def test_each_edit_can_be_undone_and_redone(edit):
    d = remediation_draft()
    before = copy.deepcopy(d.data)
    edit(d)
    after = copy.deepcopy(d.data)
    assert after != before
    assert d.can_undo and not d.can_redo
    assert d.undo() is True
    assert d.data == before
    assert d.can_redo
    assert d.redo() is True
    assert d.data == after
    assert not d.can_redo


@pytest.mark.parametrize("edit", EDITS, ids=lambda f: f.__name__.strip("_"))
def test_each_edit_works_on_a_freshly_opened_file(edit, tmp_path):
    """The same edits on a draft opened from a file (plain edges written as [from, to])."""
    path = tmp_path / "loop.yaml"
    remediation_draft().save(path)
    d = QuestDraft.open(path)
    before = copy.deepcopy(d.quest().to_data())
    edit(d)
    assert d.quest().to_data() != before
    d.undo()
    assert d.quest().to_data() == before


def test_a_new_edit_clears_redo():
    d = remediation_draft()
    d.move_node("intro", 10, 10)
    d.undo()
    assert d.can_redo
    d.update_node("intro", title="Changed")
    assert not d.can_redo
    assert d.redo() is False
    assert d.node("intro")["title"] == "Changed"
    assert d.node("intro")["position"] == [0, 0]


def test_undo_and_redo_on_empty_history_do_nothing():
    d = QuestDraft.new("q", "Q")
    assert d.undo() is False and d.redo() is False
    assert d.data["nodes"] == [] and d.data["edges"] == []


def test_undo_walks_back_every_step_to_the_start():
    d = remediation_draft()  # five nodes and five paths: ten edits
    end = copy.deepcopy(d.data)
    steps = 0
    while d.undo():
        steps += 1
    assert steps == 10
    assert d.data == QuestDraft.new("loop", "A loop").data
    while d.redo():
        pass
    assert d.data == end


def test_add_node_gives_defaults_an_id_and_a_rounded_position():
    d = QuestDraft.new("q", "Q")
    for i, kind in enumerate(NODE_KINDS):
        node_id = d.add_node(kind, 10.6, -3.2)
        node = d.node(node_id)
        assert node_id == f"{kind}-{i + 1}"
        assert node["kind"] == kind and node["title"] == kind.title()
        assert node["position"] == [11, -3]
        for key, value in DEFAULT_NODES[kind].items():
            assert node[key] == value
    # a new node of each kind fits the format on its own: only the map needs paths, and
    # its placeholder texts need writing
    d.connect("story-1", "end-6")
    problems = d.problems()
    assert {p.code for p in problems} == {"unconnected", "placeholder"}
    assert {p.nodes[0] for p in problems if p.code == "unconnected"} == {
        "task-2", "choice-3", "quiz-4", "gate-5"}
    assert {p.nodes[0] for p in problems if p.code == "placeholder"} == {
        "story-1", "task-2", "quiz-4", "gate-5"}
    # ids are never reused, even after a delete
    d.delete_node("task-2")
    assert d.add_node("task", 0, 0) not in d.node_ids()[:-1]


def test_update_node_renames_the_paths_and_none_removes_a_field():
    d = remediation_draft()
    d.update_node("check", id="gate", reflection="What did you learn?")
    assert "check" not in d.node_ids()
    assert d.node("gate")["reflection"] == "What did you learn?"
    pairs = {(e["from"], e["to"], e["when"]) for e in d.edges}
    assert ("learn", "gate", "done") in pairs
    assert ("gate", "out", "success") in pairs and ("practice", "gate", "retry") in pairs
    d.update_node("gate", reflection=None)
    assert "reflection" not in d.node("gate")
    assert messages(d) == []


def test_delete_node_removes_its_paths():
    d = remediation_draft()
    d.delete_node("check")
    assert "check" not in d.node_ids()
    assert all("check" not in (e["from"], e["to"]) for e in d.edges)
    assert len(d.edges) == 1  # intro -> learn


def test_connect_an_existing_pair_returns_its_index_without_a_new_edit():
    d = remediation_draft()
    undo_depth = len(d._undo)
    assert d.connect("learn", "check") == 1
    assert len(d.edges) == 5 and len(d._undo) == undo_depth


def test_set_condition_and_delete_edge():
    d = remediation_draft()
    for when in EDGE_CONDITIONS:
        d.set_condition(0, when)
        assert d.edges[0]["when"] == when
    d.delete_edge(0)
    assert ("intro", "learn") not in {(e["from"], e["to"]) for e in d.edges}


# --- bad input: an error, and the draft as it was --------------------------------------------------


def _unchanged(d: QuestDraft, fn, error):
    before, depth = copy.deepcopy(d.data), len(d._undo)
    with pytest.raises(error) as info:
        fn()
    assert d.data == before, "a refused edit changed the draft"
    assert len(d._undo) == depth, "a refused edit left an undo step"
    return str(info.value)


def test_unknown_kind_is_refused():
    d = remediation_draft()
    text = _unchanged(d, lambda: d.add_node("dragon", 0, 0), ValueError)
    assert "dragon" in text and "story" in text


def test_connecting_to_a_missing_node_is_refused():
    d = remediation_draft()
    assert "nowhere" in _unchanged(d, lambda: d.connect("intro", "nowhere"), KeyError)
    assert "nowhere" in _unchanged(d, lambda: d.connect("nowhere", "intro"), KeyError)


def test_a_self_loop_is_refused():
    d = remediation_draft()
    assert "itself" in _unchanged(d, lambda: d.connect("learn", "learn"), ValueError)


def test_renaming_to_an_existing_id_is_refused():
    d = remediation_draft()
    assert "already" in _unchanged(d, lambda: d.update_node("practice", id="check"), ValueError)


def test_renaming_to_an_existing_id_changes_no_other_field_either():
    """A refused rename given with other fields must not apply those fields halfway."""
    d = remediation_draft()
    _unchanged(d, lambda: d.update_node("practice", title="Ranger camp", id="check"), ValueError)


@pytest.mark.parametrize("when", ["always", "", "Success", None])
def test_a_bad_condition_is_refused(when):
    d = remediation_draft()
    _unchanged(d, lambda: d.connect("intro", "out", when), ValueError)
    _unchanged(d, lambda: d.set_condition(0, when), ValueError)


def test_edits_of_missing_things_are_refused():
    d = remediation_draft()
    _unchanged(d, lambda: d.move_node("nowhere", 0, 0), KeyError)
    _unchanged(d, lambda: d.update_node("nowhere", title="x"), KeyError)
    _unchanged(d, lambda: d.delete_node("nowhere"), KeyError)
    _unchanged(d, lambda: d.set_condition(99, "fail"), IndexError)
    _unchanged(d, lambda: d.delete_edge(99), IndexError)


# --- problems, tied to nodes ------------------------------------------------------------------------


def test_the_remediation_loop_has_no_problems_and_a_gate_needs_no_fail_path():
    assert messages(remediation_draft()) == []
    d = QuestDraft.new("q", "Q")
    d.add_node("story", 0, 0, id="intro")
    d.add_node("gate", 220, 0, id="check")
    d.add_node("end", 440, 0, id="out")
    d.connect("intro", "check")
    d.connect("check", "out", "success")
    assert messages(d) == []


def test_an_empty_draft_says_what_is_missing():
    problems = QuestDraft.new("q", "Q").problems()
    assert problems and all(p.nodes == () for p in problems)


def test_a_cycle_names_its_nodes():
    d = remediation_draft()
    d.set_condition(4, "done")  # practice -> check is no longer a retry: a loop
    (problem,) = [p for p in d.problems() if p.code != "placeholder"]
    assert problem.code == "cycle"
    assert set(problem.nodes) == {"check", "practice"}
    assert "loop" in problem.message and "retry" in problem.message


def test_a_longer_cycle_names_every_node_on_it():
    d = QuestDraft.new("q", "Q")
    for i, kind in enumerate(["story", "task", "task", "task", "end"]):
        d.add_node(kind, i * 220, 0, id=f"n{i}")
    for i in range(4):
        d.connect(f"n{i}", f"n{i + 1}")
    d.connect("n3", "n1")
    (problem,) = [p for p in d.problems() if p.code != "placeholder"]
    assert problem.code == "cycle" and set(problem.nodes) == {"n1", "n2", "n3"}


def test_an_unreachable_node_is_named():
    # 'both' requires all of its paths, one after the gate's success and one after its fail
    d = QuestDraft.new("q", "Q")
    d.add_node("story", 0, 0, id="intro")
    d.add_node("gate", 220, 0, id="check")
    d.add_node("task", 440, -100, id="onward")
    d.add_node("task", 440, 100, id="practice")
    d.add_node("task", 660, 0, id="both")
    d.add_node("end", 880, 0, id="out")
    d.connect("intro", "check")
    d.connect("check", "onward", "success")
    d.connect("check", "practice", "fail")
    d.connect("onward", "both")
    d.connect("practice", "both")
    d.connect("both", "out")
    problems = d.problems()
    assert any(p.nodes == ("both",) and "never be reached" in p.message for p in problems)
    d.update_node("both", requires="any")
    assert messages(d) == []


def test_a_format_problem_maps_to_its_node():
    d = remediation_draft()
    d.update_node("check", threshold=80)
    (problem,) = [p for p in d.problems() if p.code != "placeholder"]
    assert problem.nodes == ("check",)
    assert problem.path == "nodes[2].threshold"
    assert "between 0 and 1" in problem.message and "80" in problem.message


def test_a_wrong_condition_is_a_problem_of_both_ends():
    d = remediation_draft()
    d.set_condition(0, "success")  # a story always succeeds
    (problem,) = [p for p in d.problems() if p.code != "placeholder"]
    assert set(problem.nodes) == {"intro", "learn"} and "always succeeds" in problem.message


def test_a_retry_to_a_non_gate_is_named():
    d = remediation_draft()
    d.delete_edge(4)
    d.connect("practice", "learn", "retry")
    (problem,) = [p for p in d.problems() if p.code != "placeholder"]
    assert set(problem.nodes) == {"practice", "learn"} and "gate" in problem.message


# --- saving and opening -------------------------------------------------------------------------


def test_save_then_load_gives_an_equal_quest(tmp_path):
    d = remediation_draft()
    d.update_quest(story="The forest paths are marked in fractions.")
    path = d.save(tmp_path / "loop.yaml")
    assert path == tmp_path / "loop.yaml" and d.path == path
    loaded = load_quest(path)
    assert isinstance(loaded, Quest)
    assert loaded == d.quest()
    assert QuestDraft.open(path).quest() == d.quest()
    assert cli_validate(path).exit_code == 0


def test_save_as_json_and_text(tmp_path):
    d = remediation_draft()
    path = d.save(tmp_path / "loop.json")
    assert path.read_text().lstrip().startswith("{")
    assert load_quest(path) == d.quest()
    assert load_quest(_write(tmp_path / "text.yaml", d.text())) == d.quest()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_save_without_a_file_name_is_refused():
    with pytest.raises(QuestFileError) as info:
        remediation_draft().save()
    assert "file name" in str(info.value)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_an_unchanged_sample_saves_byte_for_byte(sample, tmp_path):
    path = Path(shutil.copy(sample, tmp_path / sample.name))
    QuestDraft.open(path).save()
    assert path.read_text(encoding="utf-8") == sample.read_text(encoding="utf-8")


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_comments_survive_edits_and_save(sample, tmp_path):
    path = Path(shutil.copy(sample, tmp_path / sample.name))
    original = sample.read_text(encoding="utf-8")
    d = QuestDraft.open(path)
    first, second = d.node_ids()[:2]
    end = next(n["id"] for n in d.data["nodes"] if n["kind"] == "end")
    d.move_node(first, 12, 34)
    d.update_node(second, title="A title changed in the editor")
    new = d.add_node("story", 900, 400, title="A new step")
    d.connect(new, end)
    assert messages(d) == []
    d.save()

    saved = path.read_text(encoding="utf-8")
    saved_comments = comment_lines(saved)
    missing = [c for c in comment_lines(original) if c not in saved_comments]
    assert not missing, f"comments lost in {sample.name}: {missing}"
    assert in_order(comment_lines(original), saved_comments), "comments moved out of order"

    result = cli_validate(path)
    assert result.exit_code == 0, result.output
    reloaded = load_quest(path)
    assert reloaded == d.quest()
    assert reloaded.node(second).title == "A title changed in the editor"
    assert reloaded.node(first).position == (12, 34)
    assert reloaded.node(new).title == "A new step"
    assert any(e.source == new and e.target == end for e in reloaded.edges)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: p.stem)
def test_comments_survive_a_rename_and_auto_layout(sample, tmp_path):
    path = Path(shutil.copy(sample, tmp_path / sample.name))
    original = sample.read_text(encoding="utf-8")
    d = QuestDraft.open(path)
    first = d.node_ids()[0]
    d.update_node(first, id=f"{first}-renamed")
    d.auto_layout()
    d.save()
    saved_comments = comment_lines(path.read_text(encoding="utf-8"))
    assert [c for c in comment_lines(original) if c not in saved_comments] == []
    assert cli_validate(path).exit_code == 0
    assert load_quest(path).node(f"{first}-renamed")


@pytest.mark.parametrize("spoil", ["cycle", "threshold"])
def test_an_invalid_draft_is_not_saved(spoil, tmp_path):
    sample = QUESTS / "fraction-forest.yaml"
    path = Path(shutil.copy(sample, tmp_path / sample.name))
    before = path.read_bytes()
    d = QuestDraft.open(path)
    if spoil == "cycle":
        d.connect("practice-trail", "trailhead")
    else:
        d.update_node("checkpoint", threshold=80)
    with pytest.raises(QuestFileError) as info:
        d.save()
    assert "loop" in str(info.value) if spoil == "cycle" else "between 0 and 1" in str(info.value)
    assert path.read_bytes() == before
    assert not list(tmp_path.glob(".*.tmp"))
    with pytest.raises(QuestFileError):
        d.save(tmp_path / "elsewhere.yaml")
    assert not (tmp_path / "elsewhere.yaml").exists()


# --- layout -------------------------------------------------------------------------------------


def unplaced(draft: QuestDraft) -> QuestDraft:
    data = copy.deepcopy(draft.data)
    for n in data["nodes"]:
        n.pop("position", None)
    return QuestDraft(data)


def test_auto_layout_places_layers_left_to_right_along_edges():
    d = unplaced(remediation_draft())
    d.auto_layout()
    pos = {n["id"]: tuple(n["position"]) for n in d.data["nodes"]}
    assert len(pos) == 5
    for e in d.edges:
        if e["when"] != "retry":
            assert pos[e["from"]][0] < pos[e["to"]][0], (e, pos)
    # the retry edge goes back: it does not push the gate to the right of its practice
    assert pos["practice"][0] > pos["check"][0]
    # one layer: the same column, different rows
    assert pos["out"][0] == pos["practice"][0] and pos["out"][1] != pos["practice"][1]
    assert len(set(pos.values())) == 5
    assert messages(d) == []


def test_auto_layout_of_a_branching_map():
    d = QuestDraft.new("q", "Q")
    ids = [d.add_node(k, 0, 0) for k in ["story", "task", "task", "task", "quiz", "end"]]
    a, b, c, e, q, end = ids
    for u, v in [(a, b), (a, c), (b, e), (c, e), (e, q), (a, q), (q, end)]:
        d.connect(u, v)
    d.auto_layout()
    pos = {n["id"]: n["position"] for n in d.data["nodes"]}
    for edge in d.edges:
        assert pos[edge["from"]][0] < pos[edge["to"]][0]
    assert pos[b][0] == pos[c][0]


def test_auto_layout_keep_placed_keeps_hand_placed_nodes():
    d = unplaced(remediation_draft())
    d.node("learn")["position"] = [1234, -567]  # placed by hand
    d.auto_layout(keep_placed=True)
    assert d.node("learn")["position"] == [1234, -567]
    others = {n["id"]: n["position"] for n in d.data["nodes"] if n["id"] != "learn"}
    assert all(isinstance(p, list) and len(p) == 2 for p in others.values())
    assert others["intro"][0] < others["check"][0] < others["practice"][0]
    d.undo()
    assert "position" not in d.node("intro")
    d.auto_layout()  # without keep_placed every node moves
    assert d.node("learn")["position"] != [1234, -567]


def test_positions_fill_in_unplaced_nodes():
    d = unplaced(remediation_draft())
    d.node("intro")["position"] = [-50, 40]
    pos = d.positions()
    assert pos["intro"] == (-50, 40)
    assert set(pos) == set(d.node_ids())
    assert pos["learn"][0] < pos["check"][0]


# --- what the format allows but students could not play ------------------------------------------


def test_unconnected_steps_are_problems_named_by_title():
    d = QuestDraft.new("q", "Q")
    start = d.add_node("story", 0, 0, title="Start", text="Hi.")
    gate = d.add_node("gate", 200, 0, title="Bridge")
    end = d.add_node("end", 400, 0, title="Home")
    problems = d.problems()
    unconnected = {p.nodes[0] for p in problems if p.code == "unconnected"}
    assert unconnected == {start, gate, end}
    assert "“Bridge” is not connected to any other step" in [p.message for p in problems][1]
    d.connect(start, gate)
    assert {p.nodes[0] for p in d.problems() if p.code == "unconnected"} == {end}
    d.connect(gate, end, "success")
    assert {p.code for p in d.problems()} == {"placeholder"}


def test_the_placeholder_question_is_a_problem_until_it_is_written():
    d = QuestDraft.new("q", "Q")
    gate = d.add_node("gate", 200, 0, title="Bridge")
    end = d.add_node("end", 400, 0, title="Home")
    d.connect(gate, end, "success")
    (problem,) = d.problems()
    assert problem.code == "placeholder" and problem.nodes == (gate,)
    assert "“Bridge” still has the placeholder question “Your question?”" in problem.message
    questions = [{**d.node(gate)["questions"][0], "prompt": "What is 2 + 2?",
                  "options": ["4", "5"], "answer": "4"}]
    d.update_node(gate, questions=questions)
    assert d.problems() == []


def test_explain_is_written_back_as_explain(tmp_path):
    path = tmp_path / "q.yaml"
    path.write_text(
        "id: q\ntitle: Q\nnodes:\n"
        "  - id: quiz\n    kind: quiz\n    title: Quiz\n    questions:\n"
        "      - {id: a, type: number, prompt: 1 + 1?, answer: 2, explain: One and one make two.}\n"
        "  - {id: end, kind: end, title: End}\nedges: [[quiz, end]]\n")
    d = QuestDraft.open(path)
    d.update_node("quiz", title="The quiz")
    d.save()
    text = path.read_text()
    assert "explain: One and one make two." in text and "explanation" not in text
