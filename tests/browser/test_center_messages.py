"""Issue 16 in Chromium: the teacher messages a struggling student from the struggle card and
the student sees it on the play page (axe-core clean in both states); the center shows times
in the browser's time zone (the same submission in Chicago and in Tokyo).

This module adds its own teacher, class and students to the shared test database, so the
other modules' students and classes are untouched.
"""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from axe import assert_no_axe_violations
from conftest import WAIT_MS, Player, cheap_hasher, settle
from questengine.classroom import Classroom
from test_center_page import Tab, new_tab, open_tab, teacher_login

Q = "fraction-forest"
CODE = "MSG-6C"
TEACHER = ("messages@test.school", "Ms. Okafor", "messages-pass-1")
QUIET = ("Max Quiet", "3141")  # never started: "has not started any quest yet"
BUSY = ("Nia Busy", "2718")  # handed work in: waits in the review queue
CARD = ".qe-struggling .qe-struggle-card"


@pytest.fixture(scope="module")
def message_class(classroom_info):
    c = Classroom(classroom_info.db, hasher=cheap_hasher())
    c.add_teacher(*TEACHER)
    c.create_class(TEACHER[0], "Grade 6C", CODE)
    quiet, busy = c.add_students(CODE, [QUIET, BUSY])
    c.assign(Q, CODE)  # published by conftest
    s = c.login_student(CODE, *BUSY)
    for n in ("trailhead", "fold-map"):
        s.complete(Q, n)
    s.choose(Q, "learn", "video")
    s.complete(Q, "learn")
    s.submit(Q, "signpost", "My sign: 1/2 = 2/4")
    at = c.store.latest_submission(busy.student_id, Q, "signpost")["at"]
    c.store.close()
    return quiet, busy, at


def login_center(browser, server, **context_args):
    context, tab = new_tab(browser)
    if context_args:  # a context with the given time zone (new_tab's settings otherwise)
        context.close()
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, **context_args)
        context.set_default_timeout(WAIT_MS)
        tab.page = context.new_page()
        tab.page.on("request", lambda r: tab.requests.append(r.url))
    # a loaded machine: the page's first load may take long (the kernel pool refilling)
    tab.page.goto(server.url("progress"), wait_until="commit", timeout=WAIT_MS * 4)
    tab.page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS * 4)
    teacher_login(tab, TEACHER[0], TEACHER[2])
    tab.page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS * 4)
    return context, tab


def test_the_teacher_messages_a_struggling_student_who_sees_it(browser, server, shots_dir,
                                                              message_class, classroom_info):
    quiet, _busy, _at = message_class
    context, tab = login_center(browser, server)
    page = tab.page
    try:
        open_tab(tab, "Struggling")
        card = page.locator(CARD).filter(has_text=QUIET[0]).filter(
            has_text="has not started any quest yet")
        expect(card).to_have_count(1)
        card.locator("button.qe-struggle-message").click()
        box = card.locator(".qe-message-text textarea")
        expect(box).to_be_visible()
        # the suggestion comes from the card's help line, addressed to the student
        expect(box).to_have_value(
            "Hi Max, I have not seen you on your quests for a while. Where are you? Tell me "
            "if something is in the way.")
        box.fill("Hi Max, your first step is **the Trailhead**: open it today!")
        box.press("Tab")
        card.locator("button.qe-message-send").click()
        expect(card.locator(".qe-message-status")).to_contain_text(
            "Sent to Max Quiet: they see it on their page.")
        expect(card.locator(".qe-message-thread")).to_contain_text("not read yet")
        settle(page)
        page.screenshot(path=str(shots_dir / "center-message-form.png"), full_page=True)
        assert_no_axe_violations(page, "center: a message sent from a struggle card")
        tab.assert_clean()
    finally:
        context.close()

    # the student's page shows it, above the quests, and says it to screen readers
    scontext = browser.new_context(viewport={"width": 1280, "height": 900})
    scontext.set_default_timeout(WAIT_MS)
    student = Player(scontext.new_page(), server.url("play"), shots_dir)
    try:
        student.page.goto(student.url, wait_until="commit", timeout=WAIT_MS * 4)
        student.page.wait_for_selector(".qe-login .qe-code input", timeout=WAIT_MS * 4)
        student.login_as(quiet)
        notice = student.page.locator(".qe-messages")
        expect(notice.locator(".qe-message-from")).to_contain_text(
            "A message from your teacher, Ms. Okafor")
        expect(notice.locator(".qe-message-text strong")).to_have_text("the Trailhead")
        expect(student.page.locator(".qe-announcer")).to_contain_text(
            "A message from your teacher, Ms. Okafor: Hi Max, your first step is the Trailhead")
        settle(student.page)
        student.shot("play-teacher-message")
        assert_no_axe_violations(student.page, "play: a message from the teacher")
        notice.locator("button.qe-message-read").click()
        expect(notice.locator(".qe-message-from")).to_have_count(0)
        student.assert_no_traceback()
    finally:
        scontext.close()
    # the teacher sees it was read
    c = classroom_info.classroom()
    t = c.login_teacher(TEACHER[0], TEACHER[2])
    (sent,) = t.student_messages(quiet.student_id)
    assert sent["read_at"] is not None
    c.store.close()


@pytest.mark.parametrize("zone", ["America/Chicago", "Asia/Tokyo"])
def test_the_center_shows_times_in_the_browsers_time_zone(browser, server, message_class, zone):
    _quiet, _busy, at = message_class
    expected = datetime.fromisoformat(at).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M %Z")
    context, tab = login_center(browser, server, timezone_id=zone)
    try:
        assert tab.page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == zone
        open_tab(tab, "Review queue")
        when = tab.page.locator(".qe-review-card").filter(has_text=BUSY[0]).locator(".qe-when")
        expect(when).to_have_text(expected)
    finally:
        context.close()


SIZES = [(390, 844), (768, 1024), (1366, 768)]


@pytest.mark.parametrize("width,height", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_the_class_wide_message_form_reads_well_and_sends_at_every_size(
        browser, server, shots_dir, message_class, width, height):
    """The Struggling tab's "Message to the whole class": its label above a box as wide as
    the form (on a phone the label beside it left the box 130 px wide), the Send button its
    own size, nothing wider than the screen, axe-core clean; sent at phone size, it says to
    how many students it went."""
    context = browser.new_context(viewport={"width": width, "height": height})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    tab = Tab(page)
    try:
        page.goto(server.url("progress"), wait_until="commit", timeout=WAIT_MS * 4)
        page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS * 4)
        teacher_login(tab, TEACHER[0], TEACHER[2])
        page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS * 4)
        open_tab(tab, "Struggling")
        form = page.locator(".qe-class-message")
        box = form.locator("textarea")
        expect(box).to_be_visible()
        box.fill("The quest closes on Friday: ask me if you are stuck!")
        box.press("Tab")
        form.scroll_into_view_if_needed()
        settle(page)
        label = form.get_by_text("Message to the whole class", exact=True)
        expect(label).to_be_visible()
        frame, label_box, text_box = (x.bounding_box() for x in (form, label, box))
        send = form.locator("button.qe-class-message-send").bounding_box()
        assert label_box["y"] + label_box["height"] <= text_box["y"] + 1, "label beside the box"
        assert text_box["width"] >= min(0.8 * (frame["width"] - 40), 600), (text_box, frame)
        assert send["width"] < frame["width"] / 2, "the Send button stretched across the form"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.screenshot(path=str(shots_dir / f"center-class-message-{width}x{height}.png"))
        assert_no_axe_violations(page, f"center: the class-wide message form at {width}x{height}")
        if width == 390:
            form.locator("button.qe-class-message-send").click()
            expect(form.locator(".qe-message-status")).to_contain_text(
                "Sent to 2 students: they see it on their page.")
            expect(box).to_have_value("")
            assert_no_axe_violations(page, "center: the class-wide message sent (phone)")
    finally:
        context.close()
