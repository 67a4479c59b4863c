"""The struggling list of the demo class in Chromium, checked against the event log.

A fixture builds the demo classroom (``questengine.demo.build_demo``, 24 students with
varied progress) in a tmp folder and serves it with Voilà. The teacher logs in to the
progress center and opens the Struggling tab. For the quest in the picker, the students
flagged for failing a step must be exactly those an independent computation finds from
each student's event log (a replay: failed at least twice, not passed since, the quest
not finished): nobody who passed a step is flagged for it. Then the teacher gives one
more attempt from the list, and the service shows the step open again.
"""
from __future__ import annotations

import re

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import expect

from conftest import WAIT_MS, WATCH_SCRIPT, settle
from questengine.center import StruggleRules
from questengine.classroom import Classroom
from questengine.demo import build_demo
from questengine.engine import replay
from questengine.server import VoilaServer, free_port

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]
CARD = ".qe-struggling .qe-struggle-card"


def cheap() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("struggling")
    info = build_demo(base / "demo.db", ROOT / "quests", hasher=cheap())
    server = VoilaServer(db=info.db, port=free_port(), run_dir=base / "run")
    log = open(base / "voila.log", "wb")
    server.start(log=log)
    try:
        server.wait_ready(timeout=120)
        yield info, server
    finally:
        server.stop()
        log.close()


def expected_fail_flags(info, quest_id: str, rules: StruggleRules) -> set[tuple[str, str]]:
    """(student name, step title) of every step a student failed ``rules.gate_fails``
    times or more and has not passed since, in a quest not finished: from a replay."""
    c = Classroom(info.db, hasher=cheap())
    G = c.graph(quest_id)
    out = set()
    for login in info.students:
        p = replay(G, c.store.events(login.student_id, quest_id))
        if p.complete:
            continue
        for n, np in p.nodes.items():
            if np.fails >= rules.gate_fails and np.state != "success":
                out.add((login.name, G.nodes[n]["node"].title))
    c.store.close()
    return out


def passed(info, quest_id: str) -> set[tuple[str, str]]:
    """(student name, step title) of every step passed, and every step of a finished quest."""
    c = Classroom(info.db, hasher=cheap())
    G = c.graph(quest_id)
    out = set()
    for login in info.students:
        p = replay(G, c.store.events(login.student_id, quest_id))
        out |= {(login.name, G.nodes[n]["node"].title) for n, np in p.nodes.items()
                if np.state == "success" or p.complete}
    c.store.close()
    return out


def cards(page) -> list[dict]:
    return page.eval_on_selector_all(CARD, """els => els.map(e => ({
        kind: [...e.classList].find(c => c.startsWith('qe-struggle-') && c !== 'qe-struggle-card'),
        name: e.querySelector('.qe-struggle-name').textContent,
        text: e.innerText}))""")


def test_the_demo_struggling_list_matches_the_event_log_and_its_actions_work(demo, browser,
                                                                              shots_dir):
    info, server = demo
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS * 4)
    context.add_init_script(WATCH_SCRIPT)
    page = context.new_page()
    try:
        page.goto(server.url("progress"))
        page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS * 4)
        for sel, value in ((".qe-email input", info.teacher_email),
                           (".qe-password input", info.teacher_password)):
            page.fill(sel, value)
            page.press(sel, "Tab")
        page.click(".qe-login-button")
        page.wait_for_selector(".qe-center .qe-node")
        quest_title = page.eval_on_selector_all(  # ipywidgets shows spaces as no-break ones
            ".qe-top select", "ss => ss.map(s => s.options[s.selectedIndex].textContent)")[1]
        quest_title = quest_title.replace("\u00a0", " ")
        c = Classroom(info.db, hasher=cheap())
        quest_id = next(a["quest_id"] for a in c.store.assignments(info.class_code)
                        if a["title"] == quest_title)
        c.store.close()
        page.get_by_role("tab", name="Struggling").click()
        page.wait_for_selector(".qe-struggling")
        settle(page)
        found = cards(page)
        titles = {}
        fail_flags = set()
        for card in found:
            if card["kind"] != "qe-struggle-fails":
                continue
            m = re.search(r"did not pass the (?:checkpoint|step) “(.+?)” \d+ times", card["text"])
            assert m, card["text"]
            fail_flags.add((card["name"], m.group(1)))
            titles[(card["name"], m.group(1))] = card
        assert fail_flags == expected_fail_flags(info, quest_id, StruggleRules())
        assert not fail_flags & passed(info, quest_id), "someone who passed is flagged"
        # most urgent first: no "out of attempts" card after a gentler one
        urgent = ["No attempts left" in card["text"] for card in found]
        assert urgent == sorted(urgent, reverse=True)
        # each card says what would help and offers its actions
        for card in found:
            assert "Open record" in card["text"]
        page.screenshot(path=str(shots_dir / "struggling-demo.png"), full_page=True)

        # one more attempt, from the list
        target = next((k for k, card in titles.items() if "No attempts left" in card["text"]),
                      None) or next(iter(titles), None)
        assert target is not None, "the demo class has nobody failing a step: nothing to check"
        name, step = target
        card = page.locator(CARD).filter(has_text=name).filter(has_text=step).first
        card.locator("button.qe-struggle-unlock").click()
        expect(page.locator(".qe-tab-note .qe-flash-info")).to_contain_text(
            f"Done: {name}, one more attempt on {step}.")
        c = Classroom(info.db, hasher=cheap())
        sid = next(s.student_id for s in info.students if s.name == name)
        G = c.graph(quest_id)
        node = next(n for n in G if G.nodes[n]["node"].title == step)
        events = c.store.events(sid, quest_id)
        assert events[-1].type == "override" and events[-1].data["op"] == "unlock"
        assert replay(G, events).nodes[node].state in ("available", "in_progress")
        c.store.close()
        assert page.evaluate("window.__qeBad || []") == []
    finally:
        context.close()
