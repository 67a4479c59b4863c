"""The editor page's widgets driven from Python, as the browser would (no kernel, no browser).

Map edits arrive as the messages the map's front end sends (``{"type": "add", ...}``);
inspector edits set the value of the generated form widgets, as a person typing would.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import ipywidgets as w
import pytest
from argon2 import PasswordHasher

from questengine.authoring import DEFAULT_NODES
from questengine.classroom import Classroom
from questengine.loader import load_quest
from questengine.model import (ChoiceNode, EndNode, GateNode, NODE_KINDS, QuizNode, StoryNode,
                               TaskNode)
from questengine.ui.editor import EditorPage, kind_models
from questengine.ui.forms import model_form
from questengine.ui.questmap import QuestMap

QUESTS = Path(__file__).resolve().parent.parent / "quests"
TEACHER = ("t@school.org", "Ms T", "password1")
BUILT_IN = {"story": StoryNode, "task": TaskNode, "choice": ChoiceNode, "quiz": QuizNode,
            "gate": GateNode, "end": EndNode}


# --- helpers ----------------------------------------------------------------------------------------


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def find(root, cls, kind=None):
    root = getattr(root, "widget", root)
    return [x for x in walk(root) if cls in x._dom_classes
            and (kind is None or isinstance(x, kind))]


def one(root, cls, kind=None):
    found = find(root, cls, kind)
    assert len(found) == 1, f"expected one .{cls}, found {len(found)}"
    return found[0]


def click(root, cls):
    one(root, cls, w.Button).click()


def field(root, key: str):
    """The widget of a node's own field ``key`` (not a nested one such as a question's id)."""
    form = find(root, "qe-form")[0]
    (widget,) = [x for x in form.children if f"qe-field-{key}" in x._dom_classes]
    return widget


def texts(root) -> str:
    root = getattr(root, "widget", root)
    return " ".join(str(x.value) for x in walk(root)
                    if isinstance(getattr(x, "value", None), str))


def map_node(page, node_id) -> dict:
    return next(n for n in page.map.nodes if n["id"] == node_id)


def map_pairs(page) -> set[tuple[str, str, str]]:
    return {(e["source"], e["target"], e["when"]) for e in page.map.edges}


def problem_buttons(page) -> list[w.Button]:
    return find(page.problems_box, "qe-problem", w.Button)


def cheap() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture
def quests_dir(tmp_path) -> Path:
    folder = tmp_path / "quests"
    folder.mkdir()
    for sample in QUESTS.glob("*.yaml"):
        shutil.copy(sample, folder / sample.name)
    return folder


@pytest.fixture
def page(quests_dir) -> EditorPage:
    """The editor in a notebook: no classroom, no login, the first file opened."""
    return EditorPage(quests_dir=quests_dir)


@pytest.fixture
def classroom():
    c = Classroom(":memory:", hasher=cheap())
    c.add_teacher(*TEACHER)
    c.create_class(TEACHER[0], "4B", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    return c


def build_loop(page: EditorPage) -> dict[str, str]:
    """Draw story -> choice -> gate; gate -success-> end; gate -fail-> practice -retry-> gate,
    with messages as from the map and conditions from the edge dropdown."""
    click(page, "qe-new")
    ids = {}
    for name, kind, x, y in [("story", "story", 0, 0), ("choice", "choice", 220, 0),
                             ("gate", "gate", 440, 0), ("end", "end", 660, -100),
                             ("practice", "task", 660, 120)]:
        page.kind.value = kind
        page._on_edit({"type": "add", "x": x, "y": y})
        ids[name] = page.map.selected
    for a, b, when in [("story", "choice", "done"), ("choice", "gate", "done"),
                       ("gate", "end", "success"), ("gate", "practice", "fail"),
                       ("practice", "gate", "retry")]:
        page._on_edit({"type": "connect", "source": ids[a], "target": ids[b]})
        if when != "done":
            one(page.inspector, "qe-edge-when", w.Dropdown).value = when
    # the new steps still hold the editor's placeholder texts: problems, until written
    placeholders = [b.description for b in problem_buttons(page)]
    assert placeholders and all("placeholder" in d for d in placeholders), placeholders
    assert "No problems" not in texts(page.problems_box)
    gate = page.draft.node(ids["gate"])
    page._edit(page.draft.update_node, ids["story"], text="The river is rising.")
    page._edit(page.draft.update_node, ids["practice"], instructions="Sort the cards.")
    page._edit(page.draft.update_node, ids["gate"], questions=[
        {**gate["questions"][0], "prompt": "Where does rain come from?"}])
    return ids


# --- opening ----------------------------------------------------------------------------------------


def test_opens_the_first_file_and_draws_it(page, quests_dir):
    files = sorted(p.name for p in quests_dir.glob("*.yaml"))
    assert list(page.file_pick.options) == files
    quest = load_quest(quests_dir / files[0])
    assert page.draft.path == quests_dir / files[0]
    assert page.save_as.value == files[0]  # a name in the quests folder
    assert [n["id"] for n in page.map.nodes] == [n.id for n in quest.nodes]
    assert len(page.map.edges) == len(quest.edges)
    assert page.map.editable
    assert not problem_buttons(page) and "No problems" in texts(page.problems_box)
    assert page.undo_b.disabled and page.redo_b.disabled


def test_open_another_file_with_the_open_button(page, quests_dir):
    page.file_pick.value = "water-cycle.yaml"
    click(page, "qe-open")
    quest = load_quest(quests_dir / "water-cycle.yaml")
    assert page.draft.quest() == quest
    assert {n["id"] for n in page.map.nodes} == {n.id for n in quest.nodes}
    assert "Opened" in page.banner.value


def test_a_file_that_does_not_load_shows_a_sentence(page, quests_dir):
    bad = quests_dir / "broken.yaml"
    bad.write_text("id: broken\ntitle: Broken\nnodes:\n  - {id: a, kind: dragon, title: A}\n")
    before = page.draft
    page.open(bad)
    assert page.draft is before
    assert "dragon" in page.banner.value and "Traceback" not in page.banner.value


def test_new_starts_an_empty_quest(page, quests_dir):
    page.new_id.value = "my-new-quest"
    click(page, "qe-new")
    assert page.draft.data["id"] == "my-new-quest"
    assert page.map.nodes == [] and page.map.edges == []
    assert page.save_as.value == "my-new-quest.yaml"
    assert problem_buttons(page)  # an empty quest cannot be played yet


def test_without_quest_files_the_editor_starts_empty(tmp_path):
    page = EditorPage(quests_dir=tmp_path / "none")
    assert page.draft is not None and page.map.nodes == []


# --- map messages -----------------------------------------------------------------------------------


def test_add_move_connect_delete_through_map_messages(page):
    n0 = len(page.draft.node_ids())
    page.kind.value = "quiz"
    page._on_edit({"type": "add", "x": 500, "y": 300})
    new = page.map.selected
    assert new and new in page.draft.node_ids() and len(page.draft.node_ids()) == n0 + 1
    assert page.draft.node(new)["kind"] == "quiz"
    assert map_node(page, new)["kind"] == "quiz" and (map_node(page, new)["x"], map_node(page, new)["y"]) == (500, 300)
    assert field(page.inspector, "title").value == "Quiz"  # the new node's form
    assert not page.undo_b.disabled

    page._on_edit({"type": "move", "id": new, "x": 640.4, "y": 280.6})
    assert page.draft.node(new)["position"] == [640, 281]
    assert (map_node(page, new)["x"], map_node(page, new)["y"]) == (640, 281)

    page._on_edit({"type": "connect", "source": "trailhead", "target": new})
    assert ("trailhead", new, "done") in map_pairs(page)
    index = page.map.selected_edge
    assert page.draft.edges[index] == {"from": "trailhead", "to": new, "when": "done"}
    assert page.map.selected == ""
    assert find(page.inspector, "qe-edge-when")

    page._on_edit({"type": "delete"})  # the selected path
    assert ("trailhead", new, "done") not in map_pairs(page)
    assert page.map.selected_edge == -1

    page.map.selected = new
    page._on_edit({"type": "delete"})  # the selected node
    assert new not in page.draft.node_ids() and all(n["id"] != new for n in page.map.nodes)
    assert page.map.selected == ""
    assert len(page.draft.node_ids()) == n0


def test_messages_reach_the_editor_through_the_map_widget(page):
    n0 = len(page.map.nodes)
    page.map._handle_custom_msg({"type": "add", "x": 10, "y": 10}, [])
    assert len(page.map.nodes) == n0 + 1
    page.map.editable = False  # a read-only map ignores edit requests
    page.map._handle_custom_msg({"type": "add", "x": 10, "y": 10}, [])
    assert len(page.map.nodes) == n0 + 1


def test_bad_map_messages_show_a_sentence_and_change_nothing(page):
    before = [dict(n) for n in page.map.nodes], list(page.map.edges)
    page._on_edit({"type": "connect", "source": "trailhead", "target": "trailhead"})
    said = page.banner.value
    page._on_edit({"type": "connect", "source": "trailhead", "target": "nowhere"})
    page._on_edit({"type": "move", "id": "nowhere", "x": 1, "y": 1})
    page._on_edit({"type": "teleport"})
    page._on_edit({"type": "delete"})  # nothing selected
    assert ([dict(n) for n in page.map.nodes], list(page.map.edges)) == before
    assert "Traceback" not in page.banner.value
    assert page.undo_b.disabled
    # the teacher is told what was wrong (QuestDraft's own sentence), not a generic apology
    assert "itself" in said


def test_undo_and_redo_buttons(page):
    page.kind.value = "story"
    page._on_edit({"type": "add", "x": 0, "y": 0})
    new = page.map.selected
    click(page, "qe-undo")
    assert new not in page.draft.node_ids() and all(n["id"] != new for n in page.map.nodes)
    assert page.undo_b.disabled and not page.redo_b.disabled
    click(page, "qe-redo")
    assert new in page.draft.node_ids() and any(n["id"] == new for n in page.map.nodes)
    assert page.redo_b.disabled


def test_auto_layout_button_lays_out_the_map(page):
    for n in page.map.nodes:
        page._on_edit({"type": "move", "id": n["id"], "x": 0, "y": 0})
    click(page, "qe-layout")
    x = {n["id"]: n["x"] for n in page.map.nodes}
    for e in page.draft.edges:
        if e["when"] != "retry":
            assert x[e["from"]] < x[e["to"]]


# --- the inspector ----------------------------------------------------------------------------------


def test_select_a_node_and_change_its_fields(page):
    page.map.selected = "checkpoint"
    title = field(page.inspector, "title")
    assert title.value == page.draft.node("checkpoint")["title"]
    title.value = "The Big Checkpoint"
    assert page.draft.node("checkpoint")["title"] == "The Big Checkpoint"
    assert map_node(page, "checkpoint")["title"] == "The Big Checkpoint"

    threshold = next(x for x in walk(page.inspector) if isinstance(x, w.FloatSlider)
                     and x.description == "threshold")
    threshold.value = 0.6
    assert page.draft.node("checkpoint")["threshold"] == pytest.approx(0.6)
    attempts = next(x for x in walk(page.inspector) if isinstance(x, w.IntText)
                    and x.description == "max attempts")
    attempts.value = 5
    assert page.draft.node("checkpoint")["max_attempts"] == 5
    hints = one(page.inspector, "qe-field-hints", w.Textarea)
    hints.value = "Fold the strip again\n\nCount the parts"
    assert page.draft.node("checkpoint")["hints"] == ["Fold the strip again", "Count the parts"]
    assert page.draft.quest().node("checkpoint").max_attempts == 5
    click(page, "qe-undo")
    assert page.draft.node("checkpoint")["hints"] != ["Fold the strip again", "Count the parts"]


def test_rename_a_node_in_the_inspector_keeps_it_selected_and_renames_its_paths(page):
    page.map.selected = "checkpoint"
    field(page.inspector, "id").value = "mastery-check"
    assert page.map.selected == "mastery-check"
    assert "checkpoint" not in page.draft.node_ids()
    assert all("checkpoint" not in (e["source"], e["target"]) for e in page.map.edges)
    assert any(e["target"] == "mastery-check" and e["when"] == "retry" for e in page.map.edges)
    assert not problem_buttons(page)
    assert field(page.inspector, "id").value == "mastery-check"


def test_rename_to_a_taken_id_is_refused_in_a_sentence(page):
    page.map.selected = "checkpoint"
    field(page.inspector, "id").value = "trailhead"
    assert "already" in page.banner.value
    assert "checkpoint" in page.draft.node_ids()
    assert page.draft.node_ids().count("trailhead") == 1


def test_delete_node_button_in_the_inspector(page):
    page.map.selected = "signpost"
    click(page.inspector, "qe-delete")
    assert "signpost" not in page.draft.node_ids()
    assert all("signpost" not in (e["source"], e["target"]) for e in page.map.edges)


def test_choose_an_edge_condition_in_the_dropdown(page):
    index = next(i for i, e in enumerate(page.draft.edges)
                 if (e["from"], e["to"]) == ("checkpoint", "river-fork"))
    page.map.selected_edge = index
    when = one(page.inspector, "qe-edge-when", w.Dropdown)
    assert when.value == "success"
    assert "Ranger Checkpoint → The fork in the river trail" in texts(page.inspector)  # titles
    when.value = "done"
    assert page.draft.edges[index]["when"] == "done"
    assert ("checkpoint", "river-fork", "done") in map_pairs(page)
    when.value = "fail"
    assert page.draft.edges[index]["when"] == "fail"
    click(page.inspector, "qe-delete")  # the path's delete button
    assert ("checkpoint", "river-fork") not in {(e["from"], e["to"]) for e in page.draft.edges}


def test_every_kind_added_from_the_palette_gets_an_inspector(page):
    for kind in page.kind.options:
        kind = kind[1] if isinstance(kind, tuple) else kind
        page.kind.value = kind
        page._on_edit({"type": "add", "x": 0, "y": 0})
        new = page.map.selected
        assert page.draft.node(new)["kind"] == kind
        assert find(page.inspector, "qe-form"), kind
        assert kind in texts(page.inspector)


# --- live problems -----------------------------------------------------------------------------------


def test_a_problem_appears_and_disappears_after_undo(page):
    assert not problem_buttons(page)
    page._on_edit({"type": "connect", "source": "practice-trail", "target": "learn"})
    buttons = problem_buttons(page)
    assert len(buttons) == 1 and "loop" in buttons[0].description
    bad = {n["id"] for n in page.map.nodes if n["state"] == "problem"}
    assert {"learn", "checkpoint", "ranger-camp", "practice-trail"} == bad
    assert "loop" in map_node(page, "learn")["info"]
    click(page, "qe-undo")
    assert not problem_buttons(page) and "No problems" in texts(page.problems_box)
    assert all(n["state"] == "draft" for n in page.map.nodes)


def test_the_loop_drawn_step_by_step_shows_its_problems(page):
    ids = build_loop(page)
    assert not problem_buttons(page), [b.description for b in problem_buttons(page)]
    assert map_pairs(page) == {
        (ids["story"], ids["choice"], "done"), (ids["choice"], ids["gate"], "done"),
        (ids["gate"], ids["end"], "success"), (ids["gate"], ids["practice"], "fail"),
        (ids["practice"], ids["gate"], "retry")}
    # a path back to the gate that is not a retry is a loop; choosing 'retry' fixes it
    index = next(i for i, e in enumerate(page.draft.edges) if e["when"] == "retry")
    page.map.selected_edge = index
    one(page.inspector, "qe-edge-when", w.Dropdown).value = "done"
    assert problem_buttons(page)
    one(page.inspector, "qe-edge-when", w.Dropdown).value = "retry"
    assert not problem_buttons(page)
    # a second branch out of the story that ends nowhere is fine; a second branch off the end is not
    page.kind.value = "task"
    page._on_edit({"type": "add", "x": 880, "y": -100})
    extra = page.map.selected
    page._on_edit({"type": "connect", "source": ids["end"], "target": extra})
    (button,) = [b for b in problem_buttons(page) if "placeholder" not in b.description]
    assert "end" in button.description
    click(page, "qe-undo")  # the path goes: the task is joined to nothing, itself a problem
    assert any("“Task” is not connected" in b.description for b in problem_buttons(page))
    click(page, "qe-undo")
    assert not problem_buttons(page)


def test_clicking_a_problem_selects_its_node(page):
    page.map.selected = "checkpoint"
    page.draft.update_node("checkpoint", threshold=80)  # as a hand-edited file could have it
    page._redraw()
    page.map.selected = ""
    (button,) = problem_buttons(page)
    assert "between 0 and 1" in button.description
    button.click()
    assert page.map.selected == "checkpoint"
    assert field(page.inspector, "title").value == page.draft.node("checkpoint")["title"]

    click(page, "qe-undo")
    page.map.selected = ""
    page._on_edit({"type": "connect", "source": "practice-trail", "target": "learn"})
    assert page.map.selected_edge >= 0  # the new path is selected
    (button,) = problem_buttons(page)
    button.click()
    assert page.map.selected == "learn"  # the first node of the loop in the file
    assert page.map.selected_edge == -1
    assert field(page.inspector, "id").value == "learn"


# --- saving, preview, publishing -----------------------------------------------------------------


def test_save_writes_the_file(page, quests_dir):
    page.map.selected = "trailhead"
    field(page.inspector, "title").value = "The Trailhead"
    click(page, "qe-save")
    path = quests_dir / "fraction-forest.yaml"
    assert "Saved" in page.banner.value
    saved = load_quest(path)
    assert saved.node("trailhead").title == "The Trailhead"
    assert saved == page.draft.quest()
    assert "# For the teacher" in path.read_text()


def test_save_to_a_new_name(page, quests_dir):
    target = quests_dir / "copy-of-forest.yaml"
    page.save_as.value = str(target)
    click(page, "qe-save")
    assert load_quest(target) == load_quest(quests_dir / "fraction-forest.yaml")


def test_save_to_a_bare_file_name_goes_to_the_quests_folder(page, quests_dir, tmp_path,
                                                            monkeypatch):
    """A teacher types only a file name: it is saved in the quests folder the editor lists."""
    elsewhere = tmp_path / "kernel-cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # Voilà runs the kernel in the notebooks' folder
    page.save_as.value = "my-copy.yaml"
    click(page, "qe-save")
    assert "Saved" in page.banner.value
    assert (quests_dir / "my-copy.yaml").is_file(), (
        f"saved to {sorted(str(p) for p in elsewhere.iterdir())} instead of {quests_dir}")


@pytest.mark.parametrize("name", ["../escaped.yaml", "{outside}/escaped.yaml",
                                  "{quests}/notes.txt"])
def test_save_outside_the_quests_folder_is_refused(page, quests_dir, tmp_path, monkeypatch,
                                                   name):
    """The editor saves quest files into its quests folder only (the box's value is a synced
    trait the browser can set: it must not name any file the server can write)."""
    monkeypatch.chdir(quests_dir)
    outside = tmp_path / "outside"
    outside.mkdir()
    page.save_as.value = name.format(outside=outside, quests=quests_dir)
    click(page, "qe-save")
    written = sorted(p.name for p in [*tmp_path.iterdir(), *outside.iterdir(),
                                      *quests_dir.iterdir()] if p.is_file())
    assert "escaped.yaml" not in written and "notes.txt" not in written, page.banner.value
    assert "qe-flash-error" in page.banner.value


def test_save_of_an_invalid_map_is_refused_and_the_file_kept(page, quests_dir):
    path = quests_dir / "fraction-forest.yaml"
    before = path.read_bytes()
    page._on_edit({"type": "connect", "source": "practice-trail", "target": "trailhead"})
    click(page, "qe-save")
    assert "loop" in page.banner.value and "qe-flash-error" in page.banner.value
    assert path.read_bytes() == before


def test_save_without_a_name_asks_for_one(page):
    page.save_as.value = "  "
    click(page, "qe-save")
    assert "file name" in page.banner.value


def test_preview_shows_a_play_page(page):
    click(page, "qe-preview")
    assert page.tabs.selected_index == 1
    maps = [x for x in walk(page.preview_box) if isinstance(x, QuestMap)]
    assert len(maps) == 1
    assert {n["id"] for n in maps[0].nodes} == set(page.draft.node_ids())
    assert not maps[0].editable
    states = {n["id"]: n["state"] for n in maps[0].nodes}
    assert states.pop("trailhead") in ("available", "in_progress")
    assert set(states.values()) == {"locked"}
    assert "nothing is saved" in texts(page.preview_box)


def test_preview_of_a_broken_map_says_why(page):
    page._on_edit({"type": "connect", "source": "practice-trail", "target": "trailhead"})
    click(page, "qe-preview")
    assert page.tabs.selected_index == 0
    assert "loop" in page.banner.value


def test_a_classroom_page_asks_for_a_teacher_login_first(classroom):
    page = EditorPage(classroom, quests_dir=QUESTS)
    assert page.draft is None
    assert find(page, "qe-login") and not find(page, "qe-publish") and not find(page, "qe-save")
    page.login.email.value, page.login.password.value = TEACHER[0], "wrong password"
    page.login.button.click()
    assert page.session is None and not find(page, "qe-publish")
    assert "Traceback" not in page.login.message.value and page.login.message.value
    page.login.email.value, page.login.password.value = TEACHER[0], TEACHER[2]
    page.login.button.click()
    assert page.session is not None
    assert find(page, "qe-publish") and page.draft is not None
    assert any(isinstance(x, QuestMap) and x.editable for x in walk(page.widget))


def test_publish_through_the_teacher_session(classroom, quests_dir):
    page = EditorPage(classroom, quests_dir=quests_dir)
    page.login.email.value, page.login.password.value = TEACHER[0], TEACHER[2]
    page.login.button.click()
    assert page.class_pick.value == "OWL-1"
    page.map.selected = "trailhead"
    field(page.inspector, "title").value = "Published trailhead"
    click(page, "qe-publish")
    click(page, "qe-publish-confirm")
    assert "Published" in page.banner.value and "OWL-1" in page.banner.value
    student = classroom.login_student("OWL-1", "Ada", "1234")
    assert [q.quest_id for q in student.quests()] == ["fraction-forest"]
    assert student.graph("fraction-forest").nodes["trailhead"]["node"].title == "Published trailhead"


def test_publish_without_a_valid_session_is_refused(classroom, quests_dir):
    page = EditorPage(classroom, quests_dir=quests_dir)
    page.login.email.value, page.login.password.value = TEACHER[0], TEACHER[2]
    page.login.button.click()
    page.session.logout()
    click(page, "qe-publish")
    click(page, "qe-publish-confirm")
    assert "qe-flash-error" in page.banner.value and "Traceback" not in page.banner.value
    student = classroom.login_student("OWL-1", "Ada", "1234")
    assert student.quests() == []


def test_publish_to_another_teachers_class_is_refused(classroom, quests_dir):
    classroom.add_teacher("other@school.org", "Mr O", "password2")
    classroom.create_class("other@school.org", "5C", "FOX-2")
    classroom.add_student("FOX-2", "Bo", "4321")
    page = EditorPage(classroom, quests_dir=quests_dir)
    page.login.email.value, page.login.password.value = TEACHER[0], TEACHER[2]
    page.login.button.click()
    # the browser can set any synced trait: a forged class choice
    page.class_pick.options = [("5C (FOX-2)", "FOX-2")]
    page.class_pick.value = "FOX-2"
    click(page, "qe-publish")
    click(page, "qe-publish-confirm")
    assert "not one of your classes" in page.banner.value
    assert classroom.login_student("FOX-2", "Bo", "4321").quests() == []


def test_the_notebook_editor_without_a_classroom_has_no_publish_button(page):
    assert not find(page, "qe-publish") and find(page, "qe-preview")


# --- generic forms --------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", NODE_KINDS)
def test_a_generic_form_builds_for_every_built_in_kind(kind):
    model = BUILT_IN[kind]
    data = {"id": f"{kind}-1", "kind": kind, "title": kind.title(), **DEFAULT_NODES[kind]}
    model.model_validate(data)
    changes = []
    form = model_form(model, data, lambda field, value: changes.append((field, value)))
    assert "qe-form" in form._dom_classes
    title = field(form, "title")
    assert title.value == kind.title()
    title.value = "Renamed"
    assert changes[-1] == ("title", "Renamed")
    # hidden keys never get a widget
    assert not find(form, "qe-field-kind") and not find(form, "qe-field-position")


@pytest.mark.parametrize("kind", ["quiz", "gate"])
def test_questions_added_in_a_form_are_valid(kind):
    model = BUILT_IN[kind]
    data = {"id": "q", "kind": kind, "title": "Q", **DEFAULT_NODES[kind]}
    latest = {}
    form = model_form(model, data, lambda field, value: latest.__setitem__(field, value))
    box = one(form, "qe-list-questions")
    picker = next(x for x in walk(box) if isinstance(x, w.Dropdown) and "multi" in x.options)
    add = one(box, "qe-add-questions", w.Button)
    for qtype in picker.options:
        picker.value = qtype
        add.click()
        picker = next(x for x in walk(box) if isinstance(x, w.Dropdown) and "multi" in x.options)
        add = one(box, "qe-add-questions", w.Button)
    questions = latest["questions"]
    assert [q["type"] for q in questions[1:]] == list(picker.options)
    model.model_validate({**data, "questions": questions})
    one(box.children[1], "qe-remove", w.Button).click()
    assert len(latest["questions"]) == len(questions) - 1


def test_kind_models_hold_every_built_in_kind():
    models = kind_models()
    for kind in NODE_KINDS:
        assert models[kind] is BUILT_IN[kind]


# --- questengine.edit, and arguments refused in a sentence ------------------------------------------


def test_questengine_edit_opens_that_file_and_the_dropdown_follows(quests_dir):
    import questengine

    page = questengine.edit(quests_dir / "water-cycle.yaml")
    assert isinstance(page, EditorPage) and page.draft.data["id"] == "water-cycle"
    assert page.file_pick.value == "water-cycle.yaml"  # not the first file of the folder
    assert not find(page, "qe-publish")  # no teacher: no publishing
    page.file_pick.value = "fraction-forest.yaml"
    click(page, "qe-open")
    assert page.draft.data["id"] == "fraction-forest" and page.file_pick.value == "fraction-forest.yaml"


def test_questengine_edit_publishes_for_a_logged_in_teacher(classroom, quests_dir):
    import questengine

    teacher = classroom.login_teacher(TEACHER[0], TEACHER[2])
    page = questengine.edit(str(quests_dir / "water-cycle.yaml"), session=teacher)
    assert find(page, "qe-publish")


@pytest.mark.parametrize("call,words", [
    (lambda q: EditorPage(str(q / "water-cycle.yaml")), "use questengine.edit("),
    (lambda q: EditorPage(q / "water-cycle.yaml"), "not PosixPath"),
    (lambda q: EditorPage(quests_dir=q / "water-cycle.yaml"), "is a file: to edit it"),
    (lambda q: EditorPage(session="teacher"), "must be a teacher's"),
    (lambda q: __import__("questengine").edit(q / "no-such.yaml"), "the quest files in"),
    (lambda q: __import__("questengine").edit(42), "takes the path of a quest file"),
])
def test_wrong_arguments_are_refused_with_a_sentence(quests_dir, call, words):
    from questengine.errors import QuestEngineError

    with pytest.raises(QuestEngineError, match=re.escape(words)):
        call(quests_dir)


def test_unconnected_steps_never_show_no_problems(page):
    click(page, "qe-new")
    for kind, x in (("story", 0), ("gate", 200), ("end", 400)):
        page.kind.value = kind
        page._on_edit({"type": "add", "x": x, "y": 0})
    descriptions = [b.description for b in problem_buttons(page)]
    assert "No problems" not in texts(page.problems_box)
    for title in ("Story", "Gate", "End"):
        assert f"“{title}” is not connected to any other step: draw a path to it and from it" \
            in descriptions
    assert any("“Your question?”" in d for d in descriptions)
    assert not any("nodes[" in d or "edges[" in d for d in descriptions)  # titles, not key paths


def test_publishing_asks_first_and_refuses_a_quest_with_problems(classroom, quests_dir):
    page = EditorPage(classroom, quests_dir=quests_dir)
    page.login.email.value, page.login.password.value = TEACHER[0], TEACHER[2]
    page.login.button.click()
    click(page, "qe-publish")
    confirm = texts(page.confirm_box)
    assert "Publish “The Fraction Forest”" in confirm and "Ranger Checkpoint" in confirm
    click(page, "qe-publish-cancel")
    assert not page.confirm_box.children
    page.kind.value = "story"
    page._on_edit({"type": "add", "x": 2000, "y": 0})  # joined to nothing
    click(page, "qe-publish")
    assert not page.confirm_box.children and "Not published" in page.banner.value


def test_the_editor_has_a_logout(classroom, quests_dir):
    page = EditorPage(classroom, quests_dir=quests_dir)
    page.login.email.value, page.login.password.value = TEACHER[0], TEACHER[2]
    page.login.button.click()
    assert page.session is not None
    click(page, "qe-logout")
    assert page.session is None and page.login.widget in page.widget.children
    assert not find(page, "qe-publish")
