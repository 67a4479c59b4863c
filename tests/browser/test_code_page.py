"""A coding challenge in the real play page: Voilà's kernel stays responsive while code runs.

Own classroom database and Voilà server (module-scoped), so the shared class of the
other browser tests keeps its three quests. How fast the page answers while code runs,
and how soon an endless loop is stopped, is printed by benchmarks/code_page.py; here the
page must answer a click while the code still runs, and the loop must be stopped.
"""
from __future__ import annotations

import pytest

from questengine.classroom import Classroom
from questengine.loader import loads_quest
from questengine.server import VoilaServer, free_port

from axe import assert_no_axe_violations
from conftest import WAIT_MS, Player, cheap_hasher

QUEST = """
id: coding
title: Coding class
nodes:
  - {id: intro, kind: story, title: Welcome, text: Time to code.}
  - id: add
    kind: code
    title: Add two numbers
    prompt: Write `add(a, b)` that returns the sum.
    function: add
    time_limit: 3
    starter: |
      def add(a, b):
          return 0
    tests:
      - {call: "add(2, 3)", expect: "5"}
      - {call: "add(-1, 1)", expect: "0"}
  - {id: end, kind: end, title: Done}
edges: [[intro, add], [add, end]]
"""
SLOW = "import time\ndef add(a, b):\n    time.sleep(1.2)\n    return a + b\n"


@pytest.fixture(scope="module")
def coding_server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("coding")
    c = Classroom(tmp / "classroom.db", hasher=cheap_hasher())
    owner = c.add_teacher("t@test.school", "Ms T", "teacher-pass-1")
    code = c.create_class("t@test.school", "Coders", "CODE-1")
    c.add_student(code, "Grace Hopper", "2468")
    c.add_student(code, "Alan Turing", "1357")
    c.publish(loads_quest(QUEST, registry=c.registry), by=owner)
    c.assign("coding", code)
    c.store.close()
    srv = VoilaServer(db=tmp / "classroom.db", port=free_port(), run_dir=tmp / "run")
    with open(tmp / "voila.log", "wb") as log:
        srv.start(log=log)
        try:
            srv.wait_ready(srv.url("play"), 90)
            yield srv
        finally:
            srv.stop()


def test_running_code_shows_running_and_the_page_stays_responsive(browser, coding_server,
                                                                  shots_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        player = Player(context.new_page(), coding_server.url("play"), shots_dir)
        player.open()
        player.login("Grace Hopper", "2468", "CODE-1")
        player.do("Done")
        player.wait_state("intro", "success")
        player.select("add", "Add two numbers")
        player.axe("play: a coding challenge")
        box = player.panel.locator(".qe-code textarea")
        box.fill(SLOW)
        box.press("Tab")
        player.settle()
        player.panel.locator("button.qe-run").click()
        player.page.wait_for_selector(".qe-panel .qe-running", timeout=WAIT_MS)
        assert_no_axe_violations(player.page, "play: code running")  # no settle: it runs
        # while the code runs (over a second per test), the page still answers a click: the
        # panel shows another node while the challenge is not passed yet
        player.select("intro", "Welcome")
        assert player.states()["add"] == "in_progress", \
            "the code had finished before the page answered the click"
        player.select("add", "Add two numbers")
        player.page.wait_for_function(
            "() => (document.querySelector('.qe-panel') || {}).innerText?.includes('All 2 tests passed')",
            timeout=WAIT_MS)
        player.wait_state("add", "success")
        assert "2 passed, 0 failed" in player.panel.inner_text()
        player.shot("code-kind-passed", at=".qe-panel")
        player.axe("play: a coding challenge passed")
        player.assert_no_traceback()
    finally:
        context.close()


def test_an_endless_loop_is_stopped_and_explained(browser, coding_server, shots_dir):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        player = Player(context.new_page(), coding_server.url("play"), shots_dir)
        player.open()
        player.login("Alan Turing", "1357", "CODE-1")
        player.do("Done")
        player.wait_state("intro", "success")
        player.select("add", "Add two numbers")
        box = player.panel.locator(".qe-code textarea")
        box.fill("def add(a, b):\n    while True:\n        pass\n")
        box.press("Tab")
        player.settle()
        player.panel.locator("button.qe-run").click()
        player.page.wait_for_function(
            "() => (document.querySelector('.qe-panel') || {}).innerText?.includes('was stopped')",
            timeout=WAIT_MS * 2)
        assert player.states()["add"] == "in_progress"
        assert "0 passed, 2 failed" in player.panel.inner_text()
        player.shot("code-kind-timeout", at=".qe-panel")
        player.axe("play: code stopped after too long")
        player.assert_no_traceback()
    finally:
        context.close()
