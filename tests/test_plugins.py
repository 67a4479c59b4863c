"""Plugins: node kinds, checkers and badge rules, by entry point and by decorator; broken ones."""
from __future__ import annotations

import importlib.metadata
import random
import sys
import textwrap

import pytest
from argon2 import PasswordHasher

from questengine import Action, ProgressError, loads_quest, quest_graph, replay
from questengine.classroom import Classroom
from questengine.engine import act
from questengine.errors import QuestFileError, QuestValidationError
from questengine.graph import validate
from questengine.plugins import (
    ENTRY_POINT_GROUP, Plugin, PluginError, PluginNode, Registry, Verdict, graph_registry,
    installed_registry, registry_of,
)
from questengine.simulate import play
from questengine.ui.questmap import map_nodes

SCRAMBLE_QUEST = """
id: words
title: Word games
nodes:
  - {id: intro, kind: story, title: Welcome}
  - {id: w1, kind: scramble, title: Unscramble!, word: forest, xp: 5}
  - {id: end, kind: end, title: Done}
edges: [[intro, w1], [w1, end]]
"""


@pytest.fixture(scope="module")
def installed():
    """The installed plugins (the example's entry point too), in a registry of this module's."""
    return installed_registry()


def cheap() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def answer(G, events, node, value):
    return events + act(G, replay(G, events), Action("answer", node, answers={"answer": value}))


# --- through the entry point (tests/plugin_example, installed in the test environment) ---------


def test_the_example_plugin_is_installed_and_loaded_through_its_entry_point():
    names = [ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)]
    assert "scramble" in names, ("install the example plugin: "
                                 "pip install -e tests/plugin_example (make setup does)")
    registry = installed_registry()
    assert "scramble" in registry.kinds and "code" in registry.kinds
    assert registry.kinds["scramble"].plugin == "scramble"
    assert not [p for p in registry.problems if p.plugin == "scramble"]
    assert "word-wizard" in {r.id for r in registry.badge_rules()}


def test_an_entry_point_kind_validates_plays_and_earns_its_badge(installed):
    G = quest_graph(loads_quest(SCRAMBLE_QUEST, registry=installed))
    assert G.graph["registry"] is installed
    events = act(G, replay(G, []), Action("complete", "intro"))
    events = answer(G, events, "w1", "Forest ")
    p = replay(G, events)
    assert p.state("w1") == "success" and p.state("end") == "available"
    assert p.xp == 5
    assert "word-wizard" in p.badges


def test_an_entry_point_kind_gives_hints_after_wrong_tries(installed):
    G = quest_graph(loads_quest(SCRAMBLE_QUEST, registry=installed))
    events = act(G, replay(G, []), Action("complete", "intro"))
    events = answer(G, events, "w1", "fortes")
    assert replay(G, events).nodes["w1"].report["feedback"] == "Not yet. Try again!"
    events = answer(G, events, "w1", "softer")
    p = replay(G, events)
    assert p.nodes["w1"].report["feedback"] == "Not yet. It starts with 'F'."
    assert p.state("w1") == "in_progress"
    events = answer(G, events, "w1", "forest")
    p = replay(G, events)
    assert p.state("w1") == "success" and "word-wizard" not in p.badges


def test_an_entry_point_kind_shows_in_the_map_with_its_own_icon(installed):
    G = quest_graph(loads_quest(SCRAMBLE_QUEST, registry=installed))
    nodes = {n["id"]: n for n in map_nodes(G, replay(G, []))}
    assert nodes["w1"]["icon"] == installed.kinds["scramble"].icon
    assert "icon" not in nodes["intro"]  # built-in kinds use the map's own icons


def test_an_entry_point_kind_appears_in_the_editor_like_a_built_in_one(installed):
    from questengine.authoring import QuestDraft
    from questengine.ui.editor import kind_models
    from questengine.ui.forms import model_form

    info = installed.kind_info("scramble")
    assert info["label"] == "Word scramble" and info["icon"]
    assert [f["name"] for f in info["fields"]] == ["word", "clue"]
    assert installed.kind_info("gate")["label"] == "Checkpoint"
    models = kind_models(installed)
    assert "scramble" in models and "code" in models
    assert "scramble" not in kind_models() and "gate" in kind_models()  # no registry: built-ins
    draft = QuestDraft.new("d", "Draft", installed)
    a = draft.add_node("scramble", 0, 0)
    b = draft.add_node("end", 200, 0)
    draft.connect(a, b)
    assert draft.node(a)["word"] == "forest"
    assert [p.message for p in draft.problems()] == []
    changes = []
    form = model_form(models["scramble"], draft.node(a), lambda k, v: changes.append((k, v)))
    assert form.children


def test_the_loader_lists_plugin_kinds_and_points_at_bad_plugin_fields(tmp_path, installed):
    path = tmp_path / "words.yaml"
    path.write_text(SCRAMBLE_QUEST.replace("kind: story", "kind: stroy"))
    with pytest.raises(QuestFileError) as info:
        from questengine.loader import load_quest

        load_quest(path, installed)
    (problem,) = info.value.problems
    assert problem.path == "nodes[0].kind" and problem.line == 5
    assert "unknown kind 'stroy'" in problem.message
    assert "'scramble'" in problem.message and "'code'" in problem.message

    bad = SCRAMBLE_QUEST.replace(
        "  - {id: w1, kind: scramble, title: Unscramble!, word: forest, xp: 5}",
        "  - id: w1\n    kind: scramble\n    title: Unscramble!\n    word: 'two words'\n"
        "    colour: red")
    with pytest.raises(QuestFileError) as info:
        loads_quest(bad, "words.yaml", installed)
    problems = {p.path: p for p in info.value.problems}
    assert problems["nodes[1].word"].line == 9
    assert "word" in str(problems["nodes[1].word"])
    assert problems["nodes[1].colour"].line == 10
    assert "valid keys:" in problems["nodes[1].colour"].message
    assert "word, clue" in problems["nodes[1].colour"].message

    missing = SCRAMBLE_QUEST.replace(", word: forest", "")
    with pytest.raises(QuestFileError) as info:
        loads_quest(missing, "words.yaml", installed)
    assert [(p.path, p.line, p.message) for p in info.value.problems] == [
        ("nodes[1].word", 6, "required key is missing")]


def test_the_play_page_plays_a_plugin_kind_with_the_generic_panel(tmp_path):
    from questengine.ui.play import PlayPage

    c = Classroom(str(tmp_path / "c.db"), hasher=cheap())  # builds its registry: the installed
    owner = c.add_teacher("t@school.org", "Ms T", "password1")
    c.create_class("t@school.org", "Words", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    c.publish(loads_quest(SCRAMBLE_QUEST, registry=c.registry), by=owner)
    c.assign("words", "OWL-1")
    page = PlayPage(c)
    page.login.code.value, page.login.name.value, page.login.pin.value = "OWL-1", "Ada", "1234"
    page.login.button.click()
    widgets = list(_walk(page.widget))
    next(w for w in widgets if "qe-do" in w._dom_classes).click()
    page.map.selected = "w1"
    text = _text(page.panel)
    assert "Word scramble" in text and "Unscramble:" in text
    box = next(w for w in _walk(page.panel) if "qe-plugin-answer" in w._dom_classes)
    box.value = "nope"
    next(w for w in _walk(page.panel) if "qe-do" in w._dom_classes).click()
    assert "Not yet. Try again!" in _text(page.panel)
    box = next(w for w in _walk(page.panel) if "qe-plugin-answer" in w._dom_classes)
    box.value = "forest"
    next(w for w in _walk(page.panel) if "qe-do" in w._dom_classes).click()
    assert page.progress.state("w1") == "success"
    assert "Word Wizard" not in page.header.value  # not on the first try
    assert {n["id"]: n.get("icon") for n in page.map.nodes}["w1"]


def test_the_simulator_plays_plugin_kinds(installed):
    G = quest_graph(loads_quest(SCRAMBLE_QUEST, registry=installed))
    assert play(G, random.Random(1), skill=0.5).progress.complete


# --- by decorator, in a notebook ------------------------------------------------------------


@pytest.fixture
def riddles():
    registry = Registry(code=False)

    @registry.kind("riddle", icon="M3 3h10v10H3z", on_wrong="retry")
    class Riddle(PluginNode):
        question: str
        answer: str
        hint: str = "Think about it."

    @registry.grader("riddle")
    def check(node, answer, tries):
        if answer.strip().lower() == node.answer:
            return True
        return Verdict(correct=False, feedback=f"Hint: {node.hint}" if tries + 1 >= 2 else "No.")

    @registry.badge("riddler", "Riddler", "Solved a riddle on the first try")
    def riddler(progress):
        return any(n.kind == "riddle" and n.state == "success" and n.tries == 1
                   for n in progress.nodes.values())

    return registry


RIDDLE_QUEST = """
id: riddles
title: Riddles
nodes:
  - {id: r1, kind: riddle, title: First, question: What has keys but no locks?, answer: piano}
  - {id: r2, kind: riddle, title: Second, question: What has hands but no arms?, answer: clock}
  - {id: end, kind: end, title: Done}
edges: [[r1, r2], [r2, end]]
"""


def test_a_decorated_kind_plays_with_a_hint_after_two_wrong_tries(riddles):
    quest = loads_quest(RIDDLE_QUEST, registry=riddles)
    G = quest_graph(quest)  # the quest remembers the registry it was read with
    assert set(G.graph["kinds"]) == {"riddle"}
    events = answer(G, [], "r1", "Piano")
    assert "riddler" in replay(G, events).badges
    events = answer(G, events, "r2", "a watch")
    assert replay(G, events).nodes["r2"].report["feedback"] == "No."
    events = answer(G, events, "r2", "a man")
    assert replay(G, events).nodes["r2"].report["feedback"] == "Hint: Think about it."
    events = answer(G, events, "r2", "clock")
    assert replay(G, events).state("end") == "available"


def test_the_engine_reads_behaviour_from_the_graph_only(riddles):
    quest = loads_quest(RIDDLE_QUEST, registry=riddles)
    G = quest_graph(quest)
    bare = quest_graph(quest, riddles)
    bare.graph["kinds"] = {}
    with pytest.raises(ProgressError, match="has no questions to answer"):
        act(bare, replay(bare, []), Action("answer", "r1", answers={"answer": "piano"}))
    assert replay(G, answer(G, [], "r1", "piano")).state("r1") == "success"


def test_a_quest_of_an_uninstalled_kind_is_refused_clearly(riddles):
    with pytest.raises(QuestFileError, match="unknown kind 'riddle'"):
        loads_quest(RIDDLE_QUEST)  # read without a registry: questengine's own kinds only
    quest = loads_quest(RIDDLE_QUEST, registry=riddles)
    problems = validate(quest, Registry(code=False))
    assert [p.code for p in problems][:2] == ["unknown_kind", "unknown_kind"]
    assert "no installed plugin provides that kind" in problems[0].message


def test_a_classroom_with_its_own_registry(riddles, tmp_path):
    c = Classroom(str(tmp_path / "c.db"), hasher=cheap(), registry=riddles)
    owner = c.add_teacher("t@school.org", "Ms T", "password1")
    c.create_class("t@school.org", "R", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    c.publish(RIDDLE_QUEST_FILE(tmp_path), by=owner)
    c.assign("riddles", "OWL-1")
    s = c.login_student("OWL-1", "Ada", "1234")
    p = s.answer("riddles", "r1", {"answer": "piano"})
    assert p.state("r1") == "success" and "riddler" in p.badges


def RIDDLE_QUEST_FILE(tmp_path):
    path = tmp_path / "riddles.yaml"
    path.write_text(RIDDLE_QUEST)
    return path


def test_reinstalling_a_plugin_replaces_it():
    registry = Registry(code=False)
    plugin = Plugin("mine")
    plugin.kind("thing", completes="self")(type("Thing", (PluginNode,), {"__annotations__": {}}))
    assert registry.install(plugin)
    assert registry.install(plugin)  # a notebook cell run twice
    assert list(registry.kinds) == ["thing"] and registry.problems == []
    G = quest_graph(loads_quest("id: t\ntitle: T\nnodes:\n  - {id: a, kind: thing, title: A}\n"
                                "  - {id: end, kind: end, title: E}\nedges: [[a, end]]\n",
                                registry=registry))
    p = replay(G, act(G, replay(G, []), Action("complete", "a")))
    assert p.state("a") == "success"
    with pytest.raises(ProgressError, match="has no answer to check; mark it done"):
        act(G, replay(G, []), Action("answer", "a", answers={"answer": "x"}))


# --- broken plugins -------------------------------------------------------------------------------


def _ep(name, value):
    return importlib.metadata.EntryPoint(name=name, value=value, group=ENTRY_POINT_GROUP)


@pytest.fixture
def fake_modules(tmp_path, monkeypatch):
    """Write modules into a folder on sys.path (imported only when an entry point loads them)."""
    monkeypatch.syspath_prepend(str(tmp_path))
    added = []

    def add(name, source):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        added.append(name)

    yield add
    for name in added:
        sys.modules.pop(name, None)


def test_broken_entry_points_are_reported_and_the_rest_load(fake_modules):
    fake_modules("qe_broken_model", """
        from questengine.plugins import Plugin
        plugin = Plugin("broken-model")
        @plugin.kind("gizmo")
        class Gizmo:          # not a PluginNode
            pass
    """)
    fake_modules("qe_raises_on_import", "raise RuntimeError('the plugin crashed while loading')")
    fake_modules("qe_good", """
        from questengine.plugins import Plugin, PluginNode
        plugin = Plugin("good")
        @plugin.kind("note", completes="self")
        class Note(PluginNode):
            pass
    """)
    registry = Registry(code=False)
    loaded = registry.load_entry_points([
        _ep("missing", "qe_no_such_module:plugin"),
        _ep("crashing", "qe_raises_on_import:plugin"),
        _ep("broken-model", "qe_broken_model:plugin"),
        _ep("not-a-plugin", "qe_good:Plugin.kind"),
        _ep("good", "qe_good:plugin"),
    ])
    assert loaded == ["good"] and list(registry.kinds) == ["note"]
    text = {p.plugin: p.cause for p in registry.problems}
    assert "could not be imported" in text["missing"] and "qe_no_such_module" in text["missing"]
    assert "RuntimeError: the plugin crashed while loading" in text["crashing"]
    assert "must be a class built on questengine.plugins.PluginNode, got Gizmo" in text["broken-model"]
    assert "not-a-plugin" in text
    assert str(registry.problems[0]).startswith("plugin 'missing': ")


@pytest.mark.parametrize("define, cause", [
    (lambda p: p.kind("quiz")(type("Q", (PluginNode,), {})), "already a kind of questengine"),
    (lambda p: p.kind("Bad Name")(type("Q", (PluginNode,), {})), "must be lower-case"),
    (lambda p: p.kind("x", completes="magic")(type("Q", (PluginNode,), {})), "completes must be"),
    (lambda p: p.kind("x", icon="<script>")(type("Q", (PluginNode,), {})), "SVG path data"),
    (lambda p: p.kind("x", on_wrong="explode")(type("Q", (PluginNode,), {})), "on_wrong"),
    (lambda p: p.grader("nothing")(lambda n, a: True), "which no plugin defines"),
    (lambda p: p.grader("gate")(lambda n, a: True), "graded by questengine itself"),
    (lambda p: p.badge("explorer", "E")(lambda pr: True), "already a badge of questengine"),
    (lambda p: p.badge("Not An Id", "E")(lambda pr: True), "badge id"),
])
def test_bad_definitions_name_the_plugin_and_the_cause(define, cause):
    registry = Registry(code=False)
    plugin = Plugin("oops")
    define(plugin)
    with pytest.raises(PluginError, match=f"plugin 'oops': .*{cause}"):
        registry.install(plugin)
    assert registry.problems and registry.problems[-1].plugin == "oops"
    assert cause in registry.problems[-1].cause
    assert registry.install(plugin, strict=False) is False  # and nothing was installed
    assert registry.kinds == {}


def test_a_model_with_a_wrong_kind_literal_is_refused():
    from typing import Literal

    registry = Registry(code=False)
    plugin = Plugin("oops")

    class Wrong(PluginNode):
        kind: Literal["other"]

    plugin.kind("thing")(Wrong)
    with pytest.raises(PluginError, match="must be Literal\\['thing'\\]"):
        registry.install(plugin)


def test_two_plugins_cannot_define_the_same_kind():
    registry = Registry(code=False)
    for name in ("first", "second"):
        plugin = Plugin(name)
        plugin.kind("thing", completes="self")(type("T", (PluginNode,), {}))
        registry.install(plugin, strict=False)
    assert registry.kinds["thing"].plugin == "first"
    assert "already defined by plugin 'first'" in str(registry.problems[-1])


@pytest.fixture
def fragile():
    registry = Registry(code=False)
    plugin = Plugin("fragile")

    @plugin.kind("boom")
    class Boom(PluginNode):
        pass

    @plugin.grader("boom")
    def explode(node, answer):
        return 1 / 0

    @plugin.badge("never", "Never")
    def bad_rule(progress):
        raise KeyError("no such thing")

    registry.install(plugin)
    return registry


BOOM_QUEST = """
id: boom
title: Boom
nodes:
  - {id: b, kind: boom, title: Explodes}
  - {id: end, kind: end, title: End}
edges: [[b, end]]
"""


def test_a_checker_that_raises_becomes_a_plain_sentence(fragile):
    G = quest_graph(loads_quest(BOOM_QUEST, registry=fragile))
    with pytest.raises(ProgressError) as info:
        act(G, replay(G, []), Action("answer", "b", answers={"answer": "x"}))
    assert str(info.value) == ("The checker for this step failed; your teacher has been told. "
                               "Try again later.")
    assert "Traceback" not in str(info.value)
    causes = [p.cause for p in fragile.problems if p.plugin == "fragile"]
    assert any("ZeroDivisionError" in c for c in causes)


def test_a_badge_rule_that_raises_awards_nothing_and_is_reported(fragile):
    G = quest_graph(loads_quest(BOOM_QUEST, registry=fragile))
    p = replay(G, [])
    assert "never" not in p.badges
    assert any("badge 'never' raised KeyError" in p.cause for p in fragile.problems)


@pytest.mark.parametrize("returned, words", [
    ("not a verdict", "not a verdict"), (2.5, "between 0 and 1"),
    (Verdict(correct=True, results={"a": "yes"}), "results must map"),
])
def test_a_checker_that_returns_nonsense_is_caught(returned, words):
    registry = Registry(code=False)
    plugin = Plugin("odd")
    plugin.kind("boom")(type("Boom", (PluginNode,), {}))
    plugin.grader("boom")(lambda node, answer: returned)
    registry.install(plugin)
    G = quest_graph(loads_quest(BOOM_QUEST, registry=registry))
    with pytest.raises(ProgressError, match="checker for this step failed"):
        act(G, replay(G, []), Action("answer", "b", answers={"answer": "x"}))
    assert words in registry.problems[-1].cause


def test_a_kind_without_a_checker_is_a_validation_problem():
    registry = Registry(code=False)
    plugin = Plugin("lazy")
    plugin.kind("boom")(type("Boom", (PluginNode,), {}))
    registry.install(plugin)
    with pytest.raises(QuestValidationError, match="gives no checker"):
        quest_graph(loads_quest(BOOM_QUEST, registry=registry))


def test_a_broken_checker_never_takes_the_play_page_down(fragile, tmp_path):
    from questengine.ui.play import PlayPage

    c = Classroom(str(tmp_path / "c.db"), hasher=cheap(), registry=fragile)
    owner = c.add_teacher("t@school.org", "Ms T", "password1")
    c.create_class("t@school.org", "B", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    c.publish(loads_quest(BOOM_QUEST, registry=fragile), by=owner)
    c.assign("boom", "OWL-1")
    page = PlayPage(c)
    page.login.code.value, page.login.name.value, page.login.pin.value = "OWL-1", "Ada", "1234"
    page.login.button.click()
    page.map.selected = "b"
    box = next(w for w in _walk(page.panel) if "qe-plugin-answer" in w._dom_classes)
    box.value = "x"
    next(w for w in _walk(page.panel) if "qe-do" in w._dom_classes).click()
    assert "checker for this step failed" in page.banner.value
    assert "Traceback" not in page.banner.value and "ZeroDivision" not in page.banner.value
    assert page.progress.state("b") == "in_progress"
    assert _text(page.panel)  # the panel is still there


def test_a_broken_custom_panel_falls_back_to_the_generic_one(tmp_path):
    from questengine.ui.play import PlayPage

    registry = Registry(code=False)

    def panel(node, state, send):
        raise RuntimeError("my widgets are broken")

    @registry.kind("fancy", completes="self", panel=panel)
    class Fancy(PluginNode):
        pass

    c = Classroom(str(tmp_path / "c.db"), hasher=cheap(), registry=registry)
    owner = c.add_teacher("t@school.org", "Ms T", "password1")
    c.create_class("t@school.org", "B", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    c.publish(loads_quest(BOOM_QUEST.replace("kind: boom", "kind: fancy"), registry=registry), by=owner)
    c.assign("boom", "OWL-1")
    page = PlayPage(c)
    page.login.code.value, page.login.name.value, page.login.pin.value = "OWL-1", "Ada", "1234"
    page.login.button.click()
    page.map.selected = "b"
    assert "could not be shown" in page.banner.value
    next(w for w in _walk(page.panel) if "qe-do" in w._dom_classes).click()
    assert page.progress.state("b") == "success"


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def _text(widget) -> str:
    return " ".join(w.value for w in _walk(widget) if isinstance(getattr(w, "value", None), str))


def test_a_quest_whose_plugin_went_missing_does_not_take_the_page_down(riddles, tmp_path):
    from questengine.ui.play import PlayPage

    db = str(tmp_path / "c.db")
    c = Classroom(db, hasher=cheap(), registry=riddles)
    owner = c.add_teacher("t@school.org", "Ms T", "password1")
    c.create_class("t@school.org", "R", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    c.publish(loads_quest(RIDDLE_QUEST, registry=riddles), by=owner)
    c.publish(loads_quest(SCRAMBLE_QUEST.replace("kind: scramble", "kind: story")
                          .replace(", word: forest", "")), by=owner)
    c.assign("riddles", "OWL-1")
    c.assign("words", "OWL-1")
    c.store.close()
    later = Classroom(db, hasher=cheap(), registry=Registry(code=False))  # the plugin is gone
    page = PlayPage(later)
    page.login.code.value, page.login.name.value, page.login.pin.value = "OWL-1", "Ada", "1234"
    page.login.button.click()
    assert page.session is not None
    assert "“Riddles” cannot be opened right now; your teacher has been told." in page.banner.value
    assert "Error" not in page.banner.value and "riddle'" not in page.banner.value
    buttons = [w for w in _walk(page.quest_list) if "qe-quest-button" in w._dom_classes]
    assert [b.description for b in buttons] == ["Riddles", "Word games"]
    buttons[1].click()
    assert page.quest_id == "words" and len(page.map.nodes) == 3


def test_a_kind_registered_with_on_wrong_fail_can_take_the_fail_path():
    registry = Registry(code=False)
    plugin = Plugin("strict")

    @plugin.kind("oneshot", on_wrong="fail")
    class OneShot(PluginNode):
        answer: str

    plugin.grader("oneshot")(lambda node, answer: answer == node.answer)
    registry.install(plugin)
    text = """
id: one
title: One shot
nodes:
  - {id: q, kind: oneshot, title: Q, answer: "42"}
  - {id: win, kind: end, title: Win}
  - {id: lose, kind: end, title: Lose}
edges:
  - {from: q, to: win, when: success}
  - {from: q, to: lose, when: fail}
"""
    G = quest_graph(loads_quest(text, registry=registry))
    p = replay(G, answer(G, [], "q", "41"))
    assert p.state("q") == "fail" and p.state("lose") == "available" and p.state("win") == "closed"


# --- registries side by side: nothing is process-wide ------------------------------------------


def _word_plugin(name: str, answer_field: str, feedback: str) -> Plugin:
    """A plugin with a kind called ``word`` whose field and checker depend on the plugin."""
    plugin = Plugin(name)
    plugin.kind("word", label=f"Word ({name})")(type(
        f"Word_{name}", (PluginNode,), {"__annotations__": {answer_field: str}}))

    @plugin.grader("word")
    def check(node, answer, tries):
        return answer == getattr(node, answer_field) or Verdict(correct=False, feedback=feedback)

    @plugin.badge(f"{name}-badge", name.title(), "Answered a word")
    def earned(progress):
        return any(n.kind == "word" and n.state == "success" for n in progress.nodes.values())

    return plugin


WORD_QUEST = """
id: words
title: Words
nodes:
  - {{id: w, kind: word, title: A word, {field}: {value}}}
  - {{id: end, kind: end, title: Done}}
edges: [[w, end]]
"""


def test_two_registries_in_one_process_do_not_leak_into_each_other(tmp_path):
    red, blue = Registry(code=False), Registry(code=False)
    red.install(_word_plugin("red", "red_word", "Not red."))
    blue.install(_word_plugin("blue", "blue_word", "Not blue."))
    red_quest = loads_quest(WORD_QUEST.format(field="red_word", value="rose"), registry=red)
    blue_quest = loads_quest(WORD_QUEST.format(field="blue_word", value="sky"), registry=blue)
    assert registry_of(red_quest) is red and registry_of(blue_quest) is blue
    with pytest.raises(QuestFileError, match="unknown key 'red_word'; valid keys: .*blue_word"):
        loads_quest(WORD_QUEST.format(field="red_word", value="rose"), registry=blue)
    R, B = quest_graph(red_quest), quest_graph(blue_quest)
    assert graph_registry(R) is red and graph_registry(B) is blue
    # the same kind name behaves as each graph's own registry says
    wrong = replay(R, answer(R, [], "w", "sky"))
    assert wrong.nodes["w"].report["feedback"] == "Not red." and wrong.state("w") != "success"
    right = replay(B, answer(B, [], "w", "sky"))
    assert right.state("w") == "success"
    assert "blue-badge" in right.badges and "red-badge" not in right.badges
    # a classroom holds its own registry and reads every published quest with it
    reds = Classroom(str(tmp_path / "red.db"), hasher=cheap(), registry=red)
    blues = Classroom(str(tmp_path / "blue.db"), hasher=cheap(), registry=blue)
    for c, quest in ((reds, red_quest), (blues, blue_quest)):
        owner = c.add_teacher("t@school.org", "Ms T", "password1")
        c.create_class("t@school.org", "W", "OWL-1")
        c.add_student("OWL-1", "Ada", "1234")
        c.publish(quest, by=owner)
        c.assign("words", "OWL-1")
    with pytest.raises(QuestFileError, match="unknown key 'red_word'"):
        blues.publish(red_quest, by=1)  # read again with blue, which has no red_word field
    assert graph_registry(reds.graph("words")) is red
    assert graph_registry(blues.graph("words")) is blue
    ada = blues.login_student("OWL-1", "Ada", "1234")
    assert ada.answer("words", "w", {"answer": "sky"}).state("w") == "success"
    ada = reds.login_student("OWL-1", "Ada", "1234")
    assert ada.answer("words", "w", {"answer": "sky"}).nodes["w"].report["feedback"] == "Not red."
    # installing into one registry changes neither the other nor a new installed one
    green = Plugin("green")
    green.badge("green-badge", "Green", "Always")(lambda progress: True)
    red.install(green)
    assert "green" in red.plugins and "green" not in blue.plugins
    assert "green-badge" in replay(quest_graph(loads_quest(
        WORD_QUEST.format(field="red_word", value="rose"), registry=red)), []).badges
    assert "green-badge" not in replay(B, []).badges
    assert "green" not in installed_registry().plugins


def test_a_quest_read_without_a_registry_has_only_questengines_kinds():
    with pytest.raises(QuestFileError) as info:
        loads_quest(SCRAMBLE_QUEST)  # the example plugin is installed, but not asked for
    (problem,) = info.value.problems
    assert "unknown kind 'scramble'" in problem.message
    assert "registry=questengine.plugins.installed_registry()" in problem.message
    plain = loads_quest(SCRAMBLE_QUEST.replace("kind: scramble, title: Unscramble!, word: forest",
                                               "kind: story, title: A story"))
    assert registry_of(plain) is None
    G = quest_graph(plain)  # a graph always carries a registry: here a new, empty one
    assert graph_registry(G).kinds == {} and G.graph["registry"] is not quest_graph(plain).graph[
        "registry"]
    assert replay(G, []).badges == []


def test_a_graph_without_a_registry_is_an_error_naming_the_fix(installed):
    import networkx as nx

    G = quest_graph(loads_quest(SCRAMBLE_QUEST, registry=installed))
    assert graph_registry(G) is installed
    hand_made = nx.DiGraph(G)
    del hand_made.graph["registry"]
    with pytest.raises(PluginError, match=r"carries no plugin registry; build it with "
                                          r"questengine\.graph\.quest_graph\(quest, registry\)"):
        graph_registry(hand_made)
