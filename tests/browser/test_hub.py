"""questengine behind a real JupyterHub, in Chromium: the hub user is the identity.

The fixture ``hub`` starts JupyterHub on 127.0.0.1 (configurable-http-proxy from the
project's node_modules, the simple local process spawner, the dummy authenticator: any
username with the shared test password) over a classroom in PostgreSQL (the store's
throw-away server). The roster maps hub usernames to two students and a teacher; a
fourth hub user is on no roster. People log in on the hub's own login page only.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from questengine.classroom import Classroom
from questengine.loader import load_quest

from conftest import CHROMIUM_ARGS, WAIT_MS, WATCH_SCRIPT, cheap_hasher  # noqa: F401
from hubserver import HUB_PASSWORD, HubServer

ROOT = Path(__file__).resolve().parents[2]
QUEST = "fraction-forest"
CODE = "HUB-4B"
HUB_WAIT_MS = 180_000  # a user's first visit starts their server: Voilà and a kernel


@dataclass
class HubClass:
    db: str
    ids: dict[str, int]  # hub username -> student id
    teacher_id: int

    def classroom(self) -> Classroom:
        return Classroom(self.db, hasher=cheap_hasher())


@pytest.fixture(scope="module")
def hub_class(pg_server) -> HubClass:
    db = pg_server.fresh_address()
    c = Classroom(db, hasher=cheap_hasher())
    teacher = c.add_teacher("rivera@hub.school", "Ms. Rivera", "teacher-pass-1")
    c.set_hub_username("teacher", teacher, "rivera")
    code = c.create_class("rivera@hub.school", "Grade 4B", CODE)
    ids = {}
    for name, hub_name in (("Ada Lovelace", "ada"), ("Bo Diddley", "bo")):
        login = c.add_student(code, name)
        c.set_hub_username("student", login.student_id, hub_name)
        ids[hub_name] = login.student_id
    c.publish(load_quest(ROOT / "quests" / f"{QUEST}.yaml"), by=teacher)
    c.assign(QUEST, code)
    c.store.close()
    return HubClass(db, ids, teacher)


@pytest.fixture(scope="module")
def hub(hub_class, tmp_path_factory):
    server = HubServer(tmp_path_factory.mktemp("hub"), hub_class.db).start()
    yield server
    server.stop()


@pytest.fixture
def hub_tab(browser, hub, request):
    """Opens a fresh browser context per hub user: ``tab("ada")`` is logged in to the hub."""
    contexts = []

    def open_as(username: str):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(WAIT_MS)
        context.add_init_script(WATCH_SCRIPT)
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login")
        page.fill("#username_input", username)
        page.fill("#password_input", HUB_PASSWORD)
        page.click("#login_submit")
        return page

    yield open_as
    if getattr(request.node, "qe_failed", False):
        print(f"--- hub log ---\n{hub.log_tail()}")
    for context in contexts:
        context.close()


def _wait_map(page) -> None:
    page.wait_for_selector(".qe-node", timeout=HUB_WAIT_MS)
    page.wait_for_selector(".qe-panel .qe-node-title", timeout=HUB_WAIT_MS)


def test_two_students_land_on_their_own_play_pages_and_act(hub_tab, hub, hub_class):
    ada, bo = hub_tab("ada"), hub_tab("bo")
    for page, name, user in ((ada, "Ada Lovelace", "ada"), (bo, "Bo Diddley", "bo")):
        _wait_map(page)
        assert f"/user/{user}/voila/render/play.ipynb" in page.url
        expect(page.locator(".qe-header .qe-hello")).to_contain_text(name)
        expect(page.locator(".qe-login")).to_have_count(0)  # the hub's login is the only one
    # each completes the story node on their own page
    for page in (ada, bo):
        page.locator(".qe-panel button.qe-do").filter(has_text="Done").click()
        page.wait_for_selector(".qe-node[data-id='trailhead'][data-state='success']",
                               timeout=WAIT_MS)
    classroom = hub_class.classroom()
    try:
        assert classroom.store.address.startswith("postgresql://")
        for user in ("ada", "bo"):
            events = classroom.store.events(hub_class.ids[user], QUEST)
            assert [(e.type, e.node) for e in events if e.type == "complete"] == \
                [("complete", "trailhead")]
    finally:
        classroom.store.close()
    expect(ada.locator(".qe-header")).not_to_contain_text("Bo Diddley")


def test_a_student_cannot_open_another_hub_users_page(hub_tab, hub):
    ada = hub_tab("ada")
    _wait_map(ada)
    response = ada.goto(f"{hub.url}/user/bo/voila/render/play.ipynb")
    ada.wait_for_load_state()
    text = ada.evaluate("document.body ? document.body.innerText : ''")
    assert "Bo Diddley" not in text
    assert response.status in (403, 404) or "/user/bo/" not in ada.url, (response.status, ada.url)


def test_teacher_lands_on_the_progress_center_and_sees_both(hub_tab, hub_class):
    page = hub_tab("rivera")
    page.wait_for_selector(".qe-hello", timeout=HUB_WAIT_MS)
    assert "/user/rivera/voila/render/progress.ipynb" in page.url
    expect(page.locator(".qe-hello")).to_contain_text("Ms. Rivera")
    page.get_by_role("tab", name="Students").click()
    grid = page.locator(".qe-grid-table").first
    expect(grid).to_contain_text("Ada Lovelace", timeout=WAIT_MS)
    expect(grid).to_contain_text("Bo Diddley", timeout=WAIT_MS)


def test_a_hub_user_without_a_roster_entry_is_refused_in_a_sentence(hub_tab):
    page = hub_tab("zed")
    refusal = page.locator(".qe-hub-refusal")
    expect(refusal).to_contain_text("not on any class roster", timeout=HUB_WAIT_MS)
    expect(refusal).to_contain_text("zed")
    expect(page.locator(".qe-node")).to_have_count(0)
    expect(page.locator(".qe-login")).to_have_count(0)
    text = page.evaluate("document.body.innerText")
    assert "Ada Lovelace" not in text and "Bo Diddley" not in text


# --- launch from the school's LMS: LTI 1.3 --------------------------------------------------------


@pytest.fixture(scope="module")
def lti_hub(hub_class, tmp_path_factory):
    from hubserver import LTIPlatform

    platform = LTIPlatform()
    server = HubServer(tmp_path_factory.mktemp("lti-hub"), hub_class.db, authenticator="lti13",
                       lti=platform.settings())
    platform.hub_url = server.url
    server.start()
    yield server, platform
    server.stop()
    platform.stop()


@pytest.fixture
def lms_tab(browser, request):
    contexts = []

    def new():
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(WAIT_MS)
        context.add_init_script(WATCH_SCRIPT)
        contexts.append(context)
        return context.new_page()

    yield new
    for context in contexts:
        context.close()


def test_an_lti_launch_as_a_learner_lands_on_the_students_play_page(lti_hub, lms_tab, hub_class):
    hub, platform = lti_hub
    page = lms_tab()
    page.goto(platform.launch_url("bo", "Learner", CODE))
    _wait_map(page)
    assert "/user/bo/voila/render/play.ipynb" in page.url
    expect(page.locator(".qe-header .qe-hello")).to_contain_text("Bo Diddley")


def test_an_lti_launch_as_an_instructor_lands_on_the_progress_center(lti_hub, lms_tab):
    hub, platform = lti_hub
    page = lms_tab()
    page.goto(platform.launch_url("rivera", "Instructor", CODE))
    page.wait_for_selector(".qe-hello", timeout=HUB_WAIT_MS)
    assert "/user/rivera/voila/render/progress.ipynb" in page.url
    expect(page.locator(".qe-hello")).to_contain_text("Ms. Rivera")


def test_a_launch_signed_by_another_key_is_refused(lti_hub, lms_tab):
    hub, platform = lti_hub
    page = lms_tab()
    page.goto(platform.launch_url("ada", "Learner", CODE, forged=True))
    page.wait_for_load_state()
    page.wait_for_function("() => !location.href.includes('/authorize')", timeout=WAIT_MS)
    text = page.evaluate("document.body ? document.body.innerText : ''")
    assert "Ada Lovelace" not in text
    assert "/user/ada/" not in page.url
    assert page.locator(".qe-node").count() == 0
