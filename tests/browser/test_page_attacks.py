"""Attacks through the real pages in Chromium (issue 11, items 6, 9 and 10).

- Remote pictures: an image in a quest's story, a submission or a reflection pointing at
  another server would tell it who read it and when. Such images everywhere, a second
  HTTP server on another port counting hits, and Chromium's request log.
- Forged widget messages: a radio index out of range, values of the wrong type, clicks
  on the widgets of a student who logged out; no message the kernel sends may carry a
  traceback or a server path, and after logout no widget of that student is left in the
  browser's widget manager.

Own classroom and Voilà server (module-scoped).
"""
from __future__ import annotations

import http.server
import threading
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from conftest import WAIT_MS, WATCH_SCRIPT, Player, cheap_hasher
from questengine.classroom import Classroom
from questengine.loader import loads_quest
from questengine.server import VoilaServer, free_port

QUEST = """
id: pictures
title: Pictures everywhere
nodes:
  - id: intro
    kind: story
    title: Into the forest
    text: |
      Look at the map: ![forest map](http://127.0.0.1:{port}/story.png)
      and this one ![second](https://127.0.0.1:{port}/story2.png).
  - {{id: sign, kind: task, title: Make a sign, complete: review, text: Describe your sign.}}
  - id: quiz
    kind: quiz
    title: A little quiz
    pass_score: 0.5
    questions:
      - {{id: q1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3"], answer: "2/4"}}
      - {{id: q2, type: number, prompt: 1/4 + 1/4, answer: 0.5, tolerance: 0.001}}
  - {{id: end, kind: end, title: Done}}
edges: [[intro, sign], [intro, quiz], [sign, end], [quiz, end]]
"""


class Tracker:
    """An HTTP server on another port that counts every request it gets."""

    def __init__(self):
        self.hits: list[str] = []
        tracker = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                tracker.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()


@pytest.fixture(scope="module")
def tracker():
    t = Tracker()
    yield t
    t.close()


@pytest.fixture(scope="module")
def picture_server(tmp_path_factory, tracker):
    tmp = tmp_path_factory.mktemp("pictures")
    db = tmp / "classroom.db"
    c = Classroom(db, hasher=cheap_hasher())
    owner = c.add_teacher("t@test.school", "Ms T", "teacher-pass-1")
    code = c.create_class("t@test.school", "Artists", "PIX-1")
    c.add_student(code, "Frida Kahlo", "2468")
    c.add_student(code, "Diego Rivera", "1357")
    c.publish(loads_quest(QUEST.format(port=tracker.port)), by=owner)
    c.assign("pictures", code, by=owner)
    s = c.login_student(code, "Frida Kahlo", "2468")
    s.complete("pictures", "intro")
    s.reflect("pictures", "intro", f"I liked ![me](http://127.0.0.1:{tracker.port}/reflect.png)")
    s.submit("pictures", "sign", f"My sign: ![pixel](http://127.0.0.1:{tracker.port}/sub.png)")
    c.store.close()
    srv = VoilaServer(db=db, port=free_port(), run_dir=tmp / "run")
    with open(tmp / "voila.log", "wb") as log:
        srv.start(log=log)
        try:
            srv.wait_ready(srv.url("play"), 120)
            yield srv
        finally:
            srv.stop()


def _tab(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(WATCH_SCRIPT)
    return context


def _outside(requests, server):
    return [u for u in requests if not u.startswith(("blob:", "data:"))
            and (urlsplit(u).hostname, urlsplit(u).port) != ("127.0.0.1", server.port)]


def test_the_student_page_shows_remote_pictures_as_links_and_fetches_none(
        browser, picture_server, tracker, shots_dir):
    context = _tab(browser)
    try:
        p = Player(context.new_page(), picture_server.url("play"), shots_dir)
        p.page.on("request", lambda r: p.requests.append(r.url))
        p.open()
        p.login("Frida Kahlo", "2468", "PIX-1")
        p.select("intro", "Into the forest")
        link = p.panel.get_by_role("link", name="forest map", exact=False)
        expect(link).to_be_visible()
        assert link.get_attribute("target") == "_blank"
        assert p.panel.locator("img").count() == 0
        p.select("sign", "Make a sign")
        expect(p.panel).to_contain_text("My sign")
        p.settle()
        p.page.wait_for_timeout(1000)
        p.shot("remote-pictures-student")
        p.axe("play: a submission with remote pictures shown as links")
        assert _outside(p.requests, picture_server) == []
        assert tracker.hits == []
    finally:
        context.close()


def test_the_teacher_pages_fetch_nothing_from_a_submission(browser, picture_server, tracker):
    context = _tab(browser)
    requests = []
    try:
        page = context.new_page()
        page.on("request", lambda r: requests.append(r.url))
        page.goto(picture_server.url("progress"))
        page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS)
        for selector, value in ((".qe-email input", "t@test.school"),
                                (".qe-password input", "teacher-pass-1")):
            page.locator(selector).fill(value)
            page.locator(selector).press("Tab")
        page.click(".qe-login-button")
        page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS)
        page.get_by_role("tab", name="Review queue").click()
        card = page.locator(".qe-review-card").filter(has_text="Frida Kahlo")
        try:
            expect(card).to_contain_text("My sign")
        except AssertionError:
            print(page.evaluate("document.body.innerText")[-3000:])
            raise
        page.wait_for_timeout(1000)
        for title in ("Students", "Struggling", "Exports"):
            page.get_by_role("tab", name=title).click()
        page.wait_for_timeout(1000)
        assert _outside(requests, picture_server) == []
        assert tracker.hits == []
    finally:
        context.close()


# -- forged widget messages ------------------------------------------------------------------

FRAMES_SCRIPT = """
(() => {
  const manager = () => { const app = window.jupyterapp;
                          return app.widgetManager || app._widgetManager; };
  window.__qeModels = async () => {
    const m = manager();
    const out = [];
    const all = m._models instanceof Map ? [...m._models.values()] : Object.values(m._models);
    for (const promise of all) { try { out.push(await promise); } catch (e) {} }
    return out;
  };
})();
"""

BAD_FRAME = ("Traceback", 'File "', "site-packages", "/questengine/", ".py\\\"", "Error:")


def _frames(page, into):
    def on_socket(ws):
        ws.on("framereceived", lambda payload: into.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))
    page.on("websocket", on_socket)


def _student(context, server, shots_dir, frames, name, pin) -> Player:
    """A logged-in student tab that records every websocket frame it receives."""
    page = context.new_page()
    _frames(page, frames)
    p = Player(page, server.url("play"), shots_dir)
    p.open()
    p.login(name, pin, "PIX-1")
    return p


def test_forged_widget_messages_bring_back_no_traceback(browser, picture_server, shots_dir):
    context = _tab(browser)
    frames: list[str] = []
    try:
        p = _student(context, picture_server, shots_dir, frames, "Diego Rivera", "1357")
        page = p.page
        p.select("intro", "Into the forest")
        p.do("Done")
        p.wait_state("quiz", "available")
        p.select("quiz", "A little quiz")
        page.wait_for_selector(".qe-panel .qe-answer-q1 input[type=radio]", timeout=WAIT_MS)
        page.evaluate(FRAMES_SCRIPT)
        forged = page.evaluate("""async () => {
          const models = await window.__qeModels();
          let n = 0;
          for (const m of models) {
            const name = m.get('_model_name');
            try {
              if (name === 'RadioButtonsModel') { m.set('index', 99); m.save_changes(); n++; }
              if (name === 'TextModel') { m.set('value', {not: 'text'}); m.save_changes(); n++; }
              if (name === 'ButtonModel') { m.send({event: 'click', extra: [1, 2, 3]}); n++; }
              if (name === 'AnyModel') { m.set('selected', 'no-such-node'); m.save_changes(); n++; }
            } catch (e) {}
          }
          return n;
        }""")
        assert forged > 5
        p.settle()
        page.wait_for_timeout(1500)
        p.assert_no_traceback()
        bad = [f[:300] for f in frames if any(b in f for b in BAD_FRAME)]
        assert frames and bad == [], bad[:3]
    finally:
        context.close()


def test_after_logout_no_widget_of_the_student_is_left_and_old_clicks_do_nothing(
        browser, picture_server, shots_dir):
    context = _tab(browser)
    frames: list[str] = []
    try:
        p = _student(context, picture_server, shots_dir, frames, "Frida Kahlo", "2468")
        page = p.page
        p.select("sign", "Make a sign")
        expect(p.panel).to_contain_text("My sign")
        page.evaluate(FRAMES_SCRIPT)
        page.evaluate("""async () => { window.__qeOld = await window.__qeModels(); }""")
        page.click(".qe-logout")
        page.wait_for_selector(".qe-login .qe-code input", timeout=WAIT_MS)
        p.settle()
        page.wait_for_timeout(1000)
        left = page.evaluate("""async () => {
          const models = await window.__qeModels();
          return models.map(m => JSON.stringify(m.attributes)).filter(
            t => t.includes('Frida') || t.includes('My sign') || t.includes('2468'));
        }""")
        assert left == []
        # clicks sent on the old widgets (a second user at the tab replaying them)
        page.evaluate("""() => { for (const m of window.__qeOld) {
            try { if (m.get('_model_name') === 'ButtonModel') m.send({event: 'click'}); }
            catch (e) {} } }""")
        p.settle()
        page.wait_for_timeout(1000)
        expect(page.locator(".qe-login .qe-code input")).to_have_value("")
        assert page.locator(".qe-panel").count() == 0
        p.axe("play: logged out")
        p.assert_no_traceback()
        bad = [f[:300] for f in frames if any(b in f for b in BAD_FRAME)]
        assert bad == [], bad[:3]
    finally:
        context.close()
