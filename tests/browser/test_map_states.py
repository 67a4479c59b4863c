"""The map after an action, in Chromium: it shows the new states (on the map, in what a screen
reader says, in the list view) from a patch of the nodes that changed, the node list it got
when the quest opened staying as it was.

A student of her own in the session's class (conftest.py), so the other play tests keep theirs.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from questengine.loader import load_quest

QUEST = "fraction-forest"
TITLES = {n.id: n.title for n in load_quest(
    Path(__file__).resolve().parents[2] / "quests" / f"{QUEST}.yaml").nodes}
NAME, PIN = "Mia Mapa", "2719"

# the page's model of the map widget (the one with a node list), as its views read it
MAP_MODEL_JS = """
async () => {
  const app = window.jupyterapp;
  const manager = app.widgetManager || app._widgetManager;
  const source = manager._models;
  const models = await Promise.all(source instanceof Map ? [...source.values()] : Object.values(source));
  const map = models.find((m) => Array.isArray(m.get('nodes')) && m.get('nodes').length
                                 && m.get('follow') === '.qe-panel');
  return { nodes: map.get('nodes'), patch: map.get('patch') };
}
"""


@pytest.fixture(scope="module")
def mia(classroom_info):
    c = classroom_info.classroom()
    login = c.add_student(classroom_info.class_code, NAME, PIN)
    c.store.close()
    return login


def test_after_an_action_the_map_shows_the_new_states_from_a_patch(player, classroom_info, mia):
    p = player
    p.open()
    p.login_as(mia)
    p.wait_state("trailhead", "in_progress")  # opened at login (the panel shows it)
    listed = p.page.evaluate(MAP_MODEL_JS)["nodes"]  # the node list, as the quest opened
    assert {n["id"]: n["state"] for n in listed}["trailhead"] == "available"

    p.do("Done")  # the story is done: it succeeds and the task after it opens
    p.wait_state("trailhead", "success")
    p.wait_state("fold-map", "available")
    classroom = classroom_info.classroom()
    progress = classroom.login_student(mia.class_code, NAME, PIN).progress(QUEST)
    expected = {n: np.state for n, np in progress.nodes.items()}
    assert p.states() == expected  # every node on the map as the service has it

    model = p.page.evaluate(MAP_MODEL_JS)
    assert model["nodes"] == listed  # the node list was not sent again...
    assert model["patch"]["trailhead"]["state"] == "success"  # ...only what changed
    assert model["patch"]["fold-map"]["state"] == "available"
    assert {n for n, fields in model["patch"].items()} <= set(expected)

    # what a screen reader hears for a node, and its place in the Tab order, follow the patch
    expect(p.page.get_by_role("button", name=f"{TITLES['trailhead']}. Done", exact=True)
           ).to_be_visible()
    expect(p.node("fold-map")).to_have_attribute("aria-label", f"{TITLES['fold-map']}. Open")
    locked = next(n for n, s in expected.items() if s == "locked")
    expect(p.node(locked)).to_have_attribute(  # with why it is locked
        "aria-label", re.compile(rf"^{re.escape(TITLES[locked])}\. Locked\. .+"))

    # the task, then the list view: the same states in words
    p.select("fold-map", TITLES["fold-map"])
    p.do("Done")
    p.wait_state("fold-map", "success")
    p.page.locator(".qe-view-list").click()
    steps = p.page.locator(".qe-step-list")
    expect(steps.locator(".qe-step-button[data-id='fold-map']")).to_have_attribute(
        "data-state", "success")
    expect(steps.locator(".qe-step-button[data-id='fold-map'] .qe-step-state")).to_have_text("Done")
    expect(steps.locator(".qe-step-button[data-id='trailhead'] .qe-step-state")).to_have_text("Done")
    now = classroom.login_student(mia.class_code, NAME, PIN).progress(QUEST)
    assert p.page.eval_on_selector_all(
        ".qe-step-button", "els => Object.fromEntries(els.map(e => [e.dataset.id, e.dataset.state]))"
    ) == {n: np.state for n, np in now.nodes.items()}
    assert p.page.evaluate(MAP_MODEL_JS)["nodes"] == listed
    p.assert_no_traceback()
