"""The editor in Chromium: steps land where the teacher clicks, and the view stays still.

Voilà serves the editor over a tmp classroom and quests folder (``start_editor_server``
of test_editor_page.py, with a small generated quest beside fraction-forest). The teacher
logs in, starts a new quest and adds five steps by clicking five known points of the
map; each new step must be drawn centred where the click was, none may overlap another,
and the map's pan and zoom must not move while steps are added. With steps joined to
nothing, the "no problems" line must never show.
"""
from __future__ import annotations

import pytest

from test_editor_page import (NODE_H, NODE_W, WAIT_MS, EditorTab, start_editor_server,
                              stop_editor_server)

# where to click, as fractions of the map's width and height (away from the tools and legend)
POINTS = [(0.18, 0.3), (0.5, 0.3), (0.82, 0.3), (0.3, 0.7), (0.7, 0.7)]
KINDS = ["story", "gate", "task", "quiz", "end"]

# the centre of a node on the screen, from its drawn box
CENTRE_JS = """id => {
  const b = document.querySelector(`.qe-editor .qe-node[data-id="${id}"] .qe-box`);
  const r = b.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2, r.width, r.height];
}"""


@pytest.fixture(scope="module")
def clicks_env(tmp_path_factory):
    env = start_editor_server(tmp_path_factory.mktemp("editor-clicks"), n_big=20)
    try:
        yield env
    finally:
        stop_editor_server(env)


@pytest.fixture
def tab(browser, clicks_env, shots_dir):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(WAIT_MS)
    yield EditorTab(context.new_page(), clicks_env.url, shots_dir)
    context.close()


def test_five_steps_land_where_they_were_clicked_and_the_view_stays_still(tab):
    tab.login()
    tab.type_into(".qe-editor input[placeholder='new-quest-id']", "clicked-quest")
    tab.page.locator(".qe-editor button.qe-new").click()
    tab.page.wait_for_function("() => document.querySelectorAll('.qe-editor .qe-node').length == 0")
    tab.settle()
    tab.wait_view_still()
    start = tab.view()
    placed = {}
    for kind, (fx, fy) in zip(KINDS, POINTS):
        tab.pick_kind(kind)
        tab.settle()
        v = tab.view()
        assert (v["x"], v["y"], v["k"]) == (start["x"], start["y"], start["k"]), \
            f"the map moved before adding a {kind}: {start} -> {v}"
        sx, sy = v["left"] + v["width"] * fx, v["top"] + v["height"] * fy
        before = tab.ids()
        tab.page.mouse.click(sx, sy)
        tab.page.wait_for_function(
            "n => document.querySelectorAll('.qe-editor .qe-node').length > n", arg=len(before))
        (new,) = [i for i in tab.ids() if i not in before]
        tab.settle()
        tab.wait_view_still()
        placed[new] = (sx, sy)
        # every step so far is still where it was clicked (none moved under a later one)
        for node_id, (cx, cy) in placed.items():
            x, y, w, h = tab.page.evaluate(CENTRE_JS, node_id)
            assert abs(x - cx) <= 3 and abs(y - cy) <= 3, \
                f"{node_id} is drawn at ({x:.0f}, {y:.0f}), clicked at ({cx:.0f}, {cy:.0f})"
        # the "no problems" line never shows for steps joined to nothing
        tab.page.wait_for_selector(".qe-problems .qe-problem")
        assert tab.page.locator(".qe-problems .qe-ok").count() == 0
    v = tab.view()
    assert (v["x"], v["y"], v["k"]) == (start["x"], start["y"], start["k"])
    # no two steps overlap
    boxes = [tab.page.evaluate(CENTRE_JS, n) for n in placed]
    for i, (x1, y1, w1, h1) in enumerate(boxes):
        for x2, y2, w2, h2 in boxes[i + 1:]:
            assert abs(x1 - x2) >= (w1 + w2) / 2 or abs(y1 - y2) >= (h1 + h2) / 2
    problems = tab.problems()
    assert any("is not connected to any other step" in p for p in problems), problems
    assert not any("nodes[" in p for p in problems), problems
    tab.shot("five-clicks")
    tab.assert_no_traceback()


# where the page is scrolled: the window and every scrolled ancestor of the map (Voilà's
# page scrolls in a container), and where the map's box is on the screen
SCROLL_JS = """() => {
  const map = document.querySelector('.qe-editor .qe-map');
  const offsets = [['window', window.scrollX, window.scrollY]];
  for (let e = map.parentElement; e; e = e.parentElement) {
    if (e.scrollTop || e.scrollLeft || e.scrollHeight > e.clientHeight + 1)
      offsets.push([e.className.toString().slice(0, 60), e.scrollLeft, e.scrollTop]);
  }
  const r = map.getBoundingClientRect();
  return {offsets, top: r.top, bottom: r.bottom, left: r.left, right: r.right,
          vh: window.innerHeight, vw: window.innerWidth};
}"""


def test_palette_clicks_on_a_768_pixel_screen_keep_the_map_in_view(tab):
    """Issue 16: on a 1366x768 laptop, clicking a palette button scrolled the notebook away
    from the map. Every button of the palette, clicked in turn, leaves the page where it was
    and the whole map on the screen."""
    tab.login()
    tab.page.locator(".qe-editor .qe-board").evaluate(
        "e => e.scrollIntoView({block: 'start'})")
    tab.settle()
    tab.wait_view_still()
    start = tab.page.evaluate(SCROLL_JS)
    assert start["top"] >= 0 and start["bottom"] <= start["vh"], \
        f"the map does not fit on a 768-pixel screen: {start}"
    buttons = tab.page.locator(".qe-editor .qe-kind-palette button")
    labels = buttons.all_inner_texts()
    assert len(labels) >= 6, labels
    for i, label in enumerate(labels):
        buttons.nth(i).click()
        tab.page.wait_for_function(
            "i => document.querySelectorAll('.qe-editor .qe-kind-palette button')[i]"
            ".classList.contains('mod-active')", arg=i)
        tab.settle()
        tab.wait_view_still()
        now = tab.page.evaluate(SCROLL_JS)
        assert now["offsets"] == start["offsets"], \
            f"clicking {label!r} scrolled the page: {start['offsets']} -> {now['offsets']}"
        assert now["top"] >= 0 and now["bottom"] <= now["vh"], \
            f"after clicking {label!r} the map left the screen: {now}"
        assert abs(now["top"] - start["top"]) <= 1, (label, start, now)
    tab.shot("palette-768")
    tab.assert_no_traceback()
