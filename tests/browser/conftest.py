"""Fixtures for the browser tests: a classroom database, Voilà on a free port, Chromium.

- ``classroom_info`` (session): a database in a tmp dir built through the
  classroom service (a teacher, one class, five students with known PINs (one per test),
  the three sample quests published and assigned, fraction-forest first so it
  is the quest the play page opens).
- ``server`` (session): :class:`questengine.server.VoilaServer` on a free
  port of 127.0.0.1 with its run dir in the tmp dir; waits for the play page
  to answer HTTP 200 and stops Voilà by its own process group at the end.
- ``browser`` (session): Debian's Chromium through Playwright's sync API.
- ``shots_dir`` (session): where screenshots go, under pytest's tmp_path_factory
  (or ``$QE_SCREENSHOTS`` when set, to keep them after the run).
- ``player`` (function): a fresh browser context and page wrapped in
  :class:`Player` (log in, click map nodes, answer questions, screenshots)
  that records every request and watches the page for traceback text;
  :func:`new_player` opens more such tabs (any page, locale, viewport, init scripts).

Teacher actions happen "through the service": the test process opens the same
SQLite file with ``Classroom(path)`` while the page's kernels use it too.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from playwright.sync_api import expect

from axe import assert_no_axe_violations
from questengine.classroom import Classroom, StudentLogin
from questengine.loader import load_quest
from questengine.server import VoilaServer, free_port

ROOT = Path(__file__).resolve().parents[2]
QUESTS = ROOT / "quests"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CLASS_CODE = "TEST-4B"
TEACHER = ("teacher@test.school", "Ms. Rivera", "teacher-pass-1")
STUDENTS = {  # key -> (name, PIN)
    "ada": ("Ada Lovelace", "4821"),
    "bo": ("Bo Diddley", "7312"),
    "cy": ("Cy Twombly", "5590"),
    "di": ("Di Fan", "6604"),
    "eve": ("Eve Ahn", "8146"),
}
QUEST_ORDER = ("fraction-forest", "water-cycle", "persuasive-writing")
WAIT_MS = 30_000  # anything that waits for a kernel: generous, the machines are loaded
# Playwright's expect() waits 5 s unless told otherwise; a loaded machine needs more.
expect.set_options(timeout=WAIT_MS)

# Python traceback text that must never reach a student's page.
TRACEBACK_RE = re.compile(r"Traceback \(most recent call last\)|Traceback|File \"|"
                          r"\b[A-Z][A-Za-z]*(Error|Exception):")

# Installed before any page script: records every piece of text that ever looks like a
# Python traceback, even if it is replaced a moment later.
WATCH_SCRIPT = r"""
(() => {
  window.__qeBad = [];
  const bad = /Traceback|File "|\b[A-Z][A-Za-z]*(Error|Exception):/;
  const check = (node) => {
    const text = node && (node.nodeType === 3 ? node.data : node.textContent);
    if (text && bad.test(text)) window.__qeBad.push(text.slice(0, 500));
  };
  const start = () => {
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === "characterData") check(r.target);
        for (const n of r.addedNodes || []) check(n);
      }
    }).observe(document.documentElement, {subtree: true, childList: true, characterData: true});
  };
  if (document.documentElement) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""


# Resolves once the kernel has handled every message sent before it (a kernel_info request
# goes through the same shell channel as the widget messages, and its future is done only
# after its reply and the kernel's idle status, which follows every earlier iopub message),
# then once the views have drawn: two animation frames after no widget view is pending.
SETTLE_JS = """async () => {
  const app = window.jupyterapp;
  const manager = app.widgetManager || app._widgetManager;
  await manager._kernel.requestKernelInfo();
  const frame = () => new Promise(r => requestAnimationFrame(() => r()));
  const source = manager._models;
  const models = await Promise.all(source instanceof Map ? [...source.values()]
                                   : Object.values(source));
  await Promise.all(models.flatMap(m => Object.values(m.views || {})));
  await frame(); await frame();
}"""

# True when no finite CSS animation or transition is running (for pictures of the page).
ANIMATIONS_DONE_JS = """() => document.getAnimations().every(
  a => a.playState !== 'running' || (a.effect && a.effect.getTiming().iterations === Infinity))"""


def settle(page) -> None:
    """Wait until the kernel has handled every message sent so far and the views have drawn."""
    page.evaluate(SETTLE_JS)


def still(page) -> None:
    """Wait until the page's animations have finished (before a screenshot)."""
    page.wait_for_function(ANIMATIONS_DONE_JS, timeout=WAIT_MS)


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)



@dataclass
class ClassroomInfo:
    db: Path
    class_code: str
    teacher_email: str
    teacher_password: str
    students: dict[str, StudentLogin]

    def classroom(self) -> Classroom:
        """A service over the same database file the page's kernels use."""
        return Classroom(self.db, hasher=cheap_hasher())


@pytest.fixture(scope="session")
def browser_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="session")
def classroom_info(browser_tmp) -> ClassroomInfo:
    db = browser_tmp / "classroom.db"
    c = Classroom(db, hasher=cheap_hasher())
    email, name, password = TEACHER
    owner = c.add_teacher(email, name, password)
    code = c.create_class(email, "Grade 4B", CLASS_CODE)
    logins = c.add_students(code, list(STUDENTS.values()))
    for quest_id in QUEST_ORDER:
        c.publish(load_quest(QUESTS / f"{quest_id}.yaml"), by=owner)
        c.assign(quest_id, code)
    by_name = {login.name: login for login in logins}
    students = {key: by_name[name] for key, (name, _pin) in STUDENTS.items()}
    c.store.close()
    return ClassroomInfo(db, code, email, password, students)



@pytest.fixture(scope="session")
def server(classroom_info, browser_tmp):
    run_dir = browser_tmp / "run"
    srv = VoilaServer(db=classroom_info.db, port=free_port(), run_dir=run_dir)
    log_path = browser_tmp / "voila.log"
    with open(log_path, "wb") as log:
        srv.start(log=log)
        try:
            base = f"http://127.0.0.1:{srv.port}/"
            srv.wait_ready(base, 60)  # the server is up (no kernel started)
            srv.wait_ready(srv.url("play"), 60)  # the play page renders
            srv.log_path = log_path
            yield srv
        finally:
            srv.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def shots_dir(tmp_path_factory) -> Path:
    env = os.environ.get("QE_SCREENSHOTS")
    path = Path(env) if env else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@dataclass
class Player:
    """One browser tab on the play page, with the steps a student takes."""

    page: object
    url: str
    shots: Path
    requests: list[str] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)

    # navigation and login ---------------------------------------------------------------------

    def open(self) -> None:
        # the first page of a fresh server starts a kernel: slow on a loaded machine
        self.page.goto(self.url, timeout=3 * WAIT_MS)
        self.page.wait_for_selector(".qe-login .qe-code input", timeout=WAIT_MS)

    def fill(self, selector: str, value: str) -> None:
        """Type into an ipywidgets text input so its value syncs before any click."""
        box = self.page.locator(selector)
        box.fill(value)
        box.press("Tab")

    def login(self, name: str, pin: str, code: str = CLASS_CODE, expect_map: bool = True) -> None:
        self.fill(".qe-code input", code)
        self.fill(".qe-name input", name)
        self.fill(".qe-pin input", pin)
        self.page.click(".qe-login-button")
        if expect_map:
            self.page.wait_for_selector(".qe-node", timeout=WAIT_MS)
            self.page.wait_for_selector(".qe-header .qe-hello", timeout=WAIT_MS)
            self.page.wait_for_selector(".qe-panel .qe-node-title", timeout=WAIT_MS)
        else:
            self.page.wait_for_selector(".qe-login .qe-error", timeout=WAIT_MS)

    def login_as(self, login: StudentLogin) -> None:
        self.login(login.name, login.pin, login.class_code)

    def reload_and_login(self, login: StudentLogin) -> None:
        self.page.reload()
        self.page.wait_for_selector(".qe-login .qe-code input", timeout=WAIT_MS)
        self.login_as(login)

    # the map and the panel ----------------------------------------------------------------------

    def node(self, node_id: str):
        return self.page.locator(f".qe-node[data-id='{node_id}']")

    def states(self) -> dict[str, str]:
        return self.page.eval_on_selector_all(
            ".qe-node", "els => Object.fromEntries(els.map(e => [e.dataset.id, e.dataset.state]))")

    def wait_state(self, node_id: str, state: str) -> None:
        self.page.wait_for_selector(f".qe-node[data-id='{node_id}'][data-state='{state}']",
                                    timeout=WAIT_MS)

    @property
    def panel(self):
        return self.page.locator(".qe-panel")

    def select(self, node_id: str, title: str) -> None:
        """Click a node on the map and wait until the panel shows it."""
        self.node(node_id).click()
        self.page.wait_for_function(
            "t => { const h = document.querySelector('.qe-panel .qe-node-title');"
            " return h && h.textContent === t; }", arg=title, timeout=WAIT_MS)

    def do(self, label: str | None = None) -> None:
        """Click the panel's action button (``.qe-do``), optionally checking its label."""
        button = self.panel.locator("button.qe-do")
        if label is not None:
            button = button.filter(has_text=label)
        button.click()

    def answer(self, question, value) -> None:
        """Answer one question of the form shown in the panel, as a student would."""
        box = self.panel.locator(f".qe-answer-{question.id}")
        if question.type == "choice":
            # click the option's words, as a student does (see test_quiz_options_do_not_overlap:
            # a long option's own radio circle can sit under the next option's)
            box.locator("label").filter(
                has=self.page.get_by_role("radio", name=value, exact=True)).click()
            expect(box.get_by_role("radio", name=value, exact=True)).to_be_checked()
        elif question.type == "multi":
            for option in question.options:
                target = box.get_by_role("checkbox", name=option, exact=True)
                if option in value:
                    target.check()
                else:
                    target.uncheck()
        else:
            self.fill(f".qe-panel .qe-answer-{question.id} input", str(value))

    def answer_all(self, questions, answers: dict) -> None:
        for q in questions:
            self.answer(q, answers[q.id])

    def settle(self) -> None:
        """Wait until the kernel has handled every message sent so far, then let views draw.

        A kernel_info request goes through the same shell channel as the widget messages, so
        its reply comes after every earlier click or value change has been handled.
        """
        settle(self.page)

    # checks and records ---------------------------------------------------------------------------

    def shot(self, name: str, at: str | None = None) -> Path:
        """A screenshot of the viewport, scrolled so that ``at`` (a selector) is at the top.

        Voilà's page scrolls inside a container, so a "full page" shot is only the viewport.
        """
        if at:
            self.page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def text(self) -> str:
        return self.page.evaluate("document.body ? document.body.innerText : ''")

    def assert_no_traceback(self) -> None:
        text = self.text()
        match = TRACEBACK_RE.search(text)
        if match is not None:
            around = text[max(0, match.start() - 200):match.end() + 300]
            raise AssertionError(f"traceback-like text in the page: {around!r}")
        seen = self.page.evaluate("window.__qeBad || []")
        assert not seen, f"traceback-like text appeared in the page during the test: {seen[:3]!r}"

    def assert_local_requests(self) -> None:
        assert self.requests, "no request recorded"
        outside = [u for u in self.requests + self.sockets
                   if not u.startswith(("blob:", "data:"))
                   and urlsplit(u).hostname != "127.0.0.1"]
        assert not outside, f"requests outside 127.0.0.1: {outside[:10]}"

    def assert_clean(self) -> None:
        self.assert_no_traceback()
        self.assert_local_requests()

    def axe(self, state: str) -> None:
        """No axe-core violation (WCAG 2.2 AA and best practices) in the page as it is now."""
        settle(self.page)
        assert_no_axe_violations(self.page, state)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.qe_failed = report.failed


def new_player(browser, url: str, shots_dir: Path, *scripts: str, **context_args):
    """A fresh browser context and page on ``url``, wrapped in :class:`Player`.

    The context waits generously, watches the page for traceback text (and runs the
    other init ``scripts`` given), and the player records every request and socket.
    ``context_args`` go to ``browser.new_context`` (viewport, locale, reduced_motion...).
    Returns ``(context, player)``; the caller closes the context.
    """
    context = browser.new_context(**{"viewport": {"width": 1280, "height": 900}, **context_args})
    context.set_default_timeout(WAIT_MS)
    for script in (WATCH_SCRIPT, *scripts):
        context.add_init_script(script)
    page = context.new_page()
    p = Player(page, url, shots_dir)
    page.on("request", lambda r: p.requests.append(r.url))
    page.on("websocket", lambda ws: p.sockets.append(ws.url))
    return context, p


def close_contexts(request, contexts, what: str = "page") -> None:
    """Close a test's browser contexts, printing each page's text first if the test failed."""
    for context in contexts:
        if getattr(request.node, "qe_failed", False):
            for page in context.pages:
                try:
                    print(f"\n--- {what} text at failure ---\n"
                          + page.evaluate("document.body.innerText")[-3000:])
                except Exception as err:  # the page may be gone
                    print(f"(no {what} text: {err})")
        context.close()


@pytest.fixture
def player(request, browser, server, shots_dir):
    context, p = new_player(browser, server.url("play"), shots_dir)
    yield p
    if getattr(request.node, "qe_failed", False):  # leave evidence for whoever reads the failure
        try:
            p.shot(f"FAILED-{request.node.name}")
            print("\n--- page text at failure ---\n" + p.text()[-3000:])
            print(f"--- Voilà log: {server.log_path}")
        except Exception as err:  # the page may be gone
            print(f"(no screenshot: {err})")
    context.close()

