"""No page makes the reader's browser fetch anything outside the server (issue 11, item 6).

An image in a quest's story, a submission, a reflection or a teacher's feedback pointing
at another server would tell that server who read it and when. The attack: such images
everywhere, a second HTTP server on another port counting hits, and Chromium's request
log. Own classroom and Voilà server (module-scoped).
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
  - {{id: end, kind: end, title: Done}}
edges: [[intro, sign], [sign, end]]
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
        expect(card).to_contain_text("My sign")
        page.wait_for_timeout(1000)
        for title in ("Students", "Struggling", "Exports"):
            page.get_by_role("tab", name=title).click()
        page.wait_for_timeout(1000)
        assert _outside(requests, picture_server) == []
        assert tracker.hits == []
    finally:
        context.close()
