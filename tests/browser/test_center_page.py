"""The progress center in Chromium, clicked and typed as a teacher would.

Reuses the fixtures of ``conftest.py`` (Voilà on a free port over a tmp database,
Chromium, the ``player`` student tab). This module adds its own teacher, class and
students to that database, so it never touches the students the play-page tests use.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from axe import assert_no_axe_violations
from conftest import TRACEBACK_RE, WAIT_MS, WATCH_SCRIPT, cheap_hasher, settle, still
from questengine.classroom import Classroom
from questengine.simulate import answer_for

Q = "fraction-forest"
CODE = "CTR-5A"
TEACHER = ("center@test.school", "Mr. Osei", "center-pass-1")
STUDENTS = {
    "ada": ("Ada Center", "2468"),
    "bo": ("Bo Center", "1357"),
    "cy": ("Cy Center", "8642"),
    "eve": ("Eve <img src=x onerror=alert(3)>", "9753"),
}
XSS = "My sign <script>alert(1)</script> and <img src=x onerror=alert(2)> the end"
FEEDBACK = "Nice start! Please add the fraction 2/4 to your sign."


@dataclass
class CenterClass:
    db: Path
    logins: dict


@pytest.fixture(scope="module")
def center_class(classroom_info) -> CenterClass:
    """Ada's work waits for review, Bo's work holds HTML, Cy failed the checkpoint 3 times."""
    c = Classroom(classroom_info.db, hasher=cheap_hasher())
    c.add_teacher(*TEACHER)
    c.create_class(TEACHER[0], "Grade 5A", CODE)
    logins = dict(zip(STUDENTS, c.add_students(CODE, list(STUDENTS.values()))))
    for quest in ("fraction-forest", "water-cycle"):  # both already published by conftest
        c.assign(quest, CODE)
    G = c.graph(Q)
    wrong = {n: {q.id: answer_for(q, False) for q in G.nodes[n]["node"].questions}
             for n in ("checkpoint", "practice-trail")}
    for key in ("ada", "bo", "cy"):
        s = c.login_student(CODE, *STUDENTS[key])
        s.complete(Q, "trailhead")
        s.complete(Q, "fold-map")
        s.choose(Q, "learn", "video")
        s.complete(Q, "learn")
    c.login_student(CODE, *STUDENTS["ada"]).submit(Q, "signpost", "My sign shows 1/2 = 2/4.")
    c.login_student(CODE, *STUDENTS["bo"]).submit(Q, "signpost", XSS)
    cy = c.login_student(CODE, *STUDENTS["cy"])
    for attempt in range(3):
        cy.answer(Q, "checkpoint", wrong["checkpoint"])
        if attempt < 2:
            cy.complete(Q, "ranger-camp")
            cy.answer(Q, "practice-trail", wrong["practice-trail"])
    assert cy.progress(Q).state("checkpoint") == "fail"
    c.store.close()
    return CenterClass(classroom_info.db, logins)


@dataclass
class Tab:
    """One browser tab, recording requests, dialogs and traceback-like text."""

    page: object
    requests: list = field(default_factory=list)
    dialogs: list = field(default_factory=list)

    def fill(self, selector: str, value: str) -> None:
        box = self.page.locator(selector)
        box.fill(value)
        box.press("Tab")

    def text(self) -> str:
        return self.page.evaluate("document.body ? document.body.innerText : ''")

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"a dialog fired: {self.dialogs}"
        match = TRACEBACK_RE.search(self.text())
        assert match is None, f"traceback-like text: {self.text()[max(0, match.start() - 200):][:500]!r}"
        assert self.page.evaluate("window.__qeBad || []") == []
        outside = [u for u in self.requests if not u.startswith(("blob:", "data:"))
                   and urlsplit(u).hostname != "127.0.0.1"]
        assert self.requests and not outside, f"requests outside 127.0.0.1: {outside[:10]}"


def new_tab(browser) -> tuple[object, Tab]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(WATCH_SCRIPT)
    page = context.new_page()
    tab = Tab(page)
    page.on("request", lambda r: tab.requests.append(r.url))
    page.on("websocket", lambda ws: tab.requests.append(ws.url))

    def on_dialog(dialog):
        tab.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return context, tab


@pytest.fixture
def teacher_tab(browser, server, center_class):
    context, tab = new_tab(browser)
    tab.page.goto(server.url("progress"))
    tab.page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS)
    yield tab
    context.close()


def teacher_login(tab: Tab, email: str = TEACHER[0], password: str = TEACHER[2]) -> None:
    tab.fill(".qe-email input", email)
    tab.fill(".qe-password input", password)
    tab.page.click(".qe-login-button")


def open_tab(tab: Tab, title: str) -> None:
    tab.page.get_by_role("tab", name=title).click()
    expect(tab.page.get_by_role("tab", name=title)).to_have_attribute("aria-selected", "true")


def shot(tab: Tab, shots_dir: Path, name: str) -> Path:
    """A picture of the center in this state, and axe-core's check of the state."""
    path = shots_dir / f"center-{name}.png"
    still(tab.page)
    tab.page.screenshot(path=str(path), full_page=True)
    axe(tab, name)
    return path


def axe(tab: Tab, state: str) -> None:
    settle(tab.page)
    assert_no_axe_violations(tab.page, f"center: {state}")


# -------------------------------------------------------------------------------------------------


def test_teacher_finds_the_struggler_returns_work_and_the_student_sees_feedback(
        teacher_tab, center_class, player, shots_dir):
    t = teacher_tab
    teacher_login(t)
    t.page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS)  # the class map is drawn
    expect(t.page.locator(".qe-hello")).to_contain_text("Mr. Osei")
    expect(t.page.locator(".qe-node")).to_have_count(10)
    # counts on the map: 3 of 4 students passed the trailhead, Cy failed the checkpoint
    trail = t.page.locator(".qe-node[data-id='trailhead']")
    expect(trail.locator(".qe-count-success")).to_have_count(1)
    expect(trail.locator(".qe-count-text").first).to_have_text("3")
    expect(t.page.locator(".qe-node[data-id='checkpoint'] .qe-count-fail")).to_have_count(1)
    shot(t, shots_dir, "class-map")

    open_tab(t, "Students")
    grid = t.page.locator(".qe-grid-table").first
    for key in ("ada", "bo", "cy"):
        expect(grid).to_contain_text(STUDENTS[key][0])
    expect(grid).to_contain_text("Eve <img src=x onerror=alert(3)>")  # the name, as text
    shot(t, shots_dir, "grid")

    open_tab(t, "Struggling")
    struggling = t.page.locator(".qe-struggling")
    cy_item = (struggling.locator(".qe-struggle-card").filter(has_text="Cy Center")
               .filter(has_text="Ranger Checkpoint"))
    expect(cy_item).to_contain_text("did not pass the checkpoint “Ranger Checkpoint” 3 times")
    axe(t, "struggling")
    expect(struggling.locator(".qe-struggle-card").filter(has_text="Ada Center")).to_have_count(0)

    open_tab(t, "Review queue")
    cards = t.page.locator(".qe-review-card")
    expect(cards).to_have_count(2)
    expect(cards.first).to_contain_text("Ada Center")  # oldest first
    shot(t, shots_dir, "queue")
    card = cards.filter(has_text="Ada Center")
    t.fill(".qe-review-card:has-text('Ada Center') .qe-feedback-box textarea", FEEDBACK)
    card.locator("button.qe-return").click()
    expect(t.page.locator(".qe-review-card")).to_have_count(1)
    expect(t.page.locator(".qe-review-card")).not_to_contain_text("Ada Center")
    shot(t, shots_dir, "queue-after-return")

    c = Classroom(center_class.db, hasher=cheap_hasher())
    ada = center_class.logins["ada"]
    (review,) = c.store.reviews_of(ada.student_id, Q, "signpost")
    assert (review["decision"], review["feedback"]) == ("return", FEEDBACK)
    assert c.login_student(CODE, *STUDENTS["ada"]).progress(Q).state("signpost") == "returned"
    t.assert_clean()

    # a second browser context: Ada on the play page sees the feedback on that node
    p = player
    p.page.on("dialog", lambda d: (t.dialogs.append(d.message), d.dismiss()))
    p.open()
    p.login(ada.name, ada.pin, CODE)
    p.wait_state("signpost", "returned")
    p.select("signpost", "Repair a trail sign")
    expect(p.panel.locator(".qe-feedback")).to_contain_text(FEEDBACK)
    expect(p.panel.locator(".qe-feedback")).to_contain_text("Please change it and send it again")
    p.axe("play: work returned with feedback")
    p.assert_clean()
    assert t.dialogs == []


def test_student_credentials_are_refused_by_the_teacher_login(teacher_tab, center_class):
    t = teacher_tab
    ada = center_class.logins["ada"]
    for email, password in ((ada.name, ada.pin), (CODE, ada.pin)):
        teacher_login(t, email, password)
        expect(t.page.locator(".qe-login .qe-error")).to_contain_text(
            "That email and password do not match.")
    axe(t, "a refused login")
    expect(t.page.locator(".qe-node")).to_have_count(0)
    expect(t.page.get_by_role("tab", name="Review queue")).to_have_count(0)
    t.assert_clean()


def test_html_in_a_submission_and_a_name_renders_as_text(teacher_tab, center_class):
    t = teacher_tab
    teacher_login(t)
    t.page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS)
    open_tab(t, "Review queue")
    card = t.page.locator(".qe-review-card").filter(has_text="Bo Center")
    expect(card).to_have_count(1)
    text = card.locator(".qe-submission-text")
    expect(text).to_contain_text("<script>alert(1)</script>")
    expect(text).to_contain_text("<img src=x onerror=alert(2)>")
    expect(text).to_be_visible()
    assert t.page.locator(".qe-review-card script, .qe-review-card img").count() == 0
    for title in ("Students", "Struggling", "Mastery & groups", "Modalities", "Overrides",
                  "Exports"):
        open_tab(t, title)  # Eve's name shows up in each of these
        axe(t, title)
    assert t.page.locator(".qe-center img[src='x']").count() == 0
    settle(t.page)  # every tab's content has been sent and drawn: a dialog would be recorded
    t.assert_clean()


def _kernel_lines(log_path: Path, start: int) -> list[str]:
    return log_path.read_text(errors="replace")[start:].splitlines()


def test_the_center_opened_twice_at_once_gets_a_kernel_started_ahead_both_times(
        browser, server, center_class):
    """A reload (or a second teacher) right after an open: with one preheated kernel the
    second page waited for a kernel started only then (about 10 s on these machines; see
    ``benchmarks/teacher_pages.py --breakdown``). Now the kernel the second page gets was
    started before the first page was served (Voilà's log), both pages show the login
    form and the second logs in to the center."""
    start = len(server.log_path.read_text(errors="replace"))
    contexts = []
    try:
        tabs = []
        for _ in range(2):  # the second open follows at once: no wait for a refill
            context, tab = new_tab(browser)
            contexts.append(context)
            tab.page.goto(server.url("progress"), wait_until="commit", timeout=WAIT_MS * 4)
            tabs.append(tab)
        for tab in tabs:
            tab.page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS * 4)
        teacher_login(tabs[1])
        tabs[1].page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS * 4)
        expect(tabs[1].page.locator(".qe-hello")).to_contain_text("Mr. Osei")
        lines = _kernel_lines(server.log_path, start)
        used = [(i, line.split("Using pre-heated kernel: ")[1].split()[0])
                for i, line in enumerate(lines)
                if "Using pre-heated kernel: " in line and "progress.ipynb" in line]
        assert len(used) == 2, f"two opens, two preheated kernels: {used}\n" + "\n".join(lines)
        (first_use, _k1), (_i2, k2) = used
        started = [i for i, line in enumerate(lines) if f"Kernel started: {k2}" in line]
        assert not started or started[0] < first_use, (
            f"the second page's kernel {k2} was started only after the first open:\n"
            + "\n".join(lines))
        for tab in tabs:
            tab.assert_clean()
    finally:
        for context in contexts:
            context.close()
