"""Accessibility of the play page in Chromium (issue 15): the keyboard alone, live regions,
reflow at 320 CSS px and at 200 % zoom, reduced motion, and the accommodations a teacher
sets in the progress center reaching the student's page. axe-core checks every state.
"""
from __future__ import annotations

import re
from itertools import count
from pathlib import Path

import pytest
from playwright.sync_api import expect

from axe import assert_no_axe_violations
from conftest import WAIT_MS, Player, new_player, settle
from helpers import answers, right
from questengine.loader import load_quest, loads_quest
from test_center_page import new_tab, open_tab, teacher_login

QUESTS = Path(__file__).resolve().parents[2] / "quests"
QUEST = "fraction-forest"
FOREST = load_quest(QUESTS / f"{QUEST}.yaml")
NODES = {n.id: n for n in FOREST.nodes}
TITLES = {n.id: n.title for n in FOREST.nodes}
_numbers = count(1)

# what the element that has the focus looks like: is the focus visible?
FOCUS_JS = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const s = getComputedStyle(e);
  const ring = e.querySelector && e.querySelector('.qe-focus-ring');
  return {tag: e.tagName.toLowerCase(), cls: String(e.className.baseVal ?? e.className),
          id: e.dataset ? (e.dataset.id || '') : '', text: (e.textContent || '').trim().slice(0, 60),
          outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
          ring: ring ? getComputedStyle(ring).display !== 'none' : false};
}"""

# speech synthesis is recorded instead of spoken (a headless browser has no voices)
SPEECH_SCRIPT = """
window.__qeSpoken = [];
if (window.speechSynthesis) {
  window.speechSynthesis.speak = (u) => { window.__qeSpoken.push(u.text);
    setTimeout(() => u.onend && u.onend(), 10); };
  window.speechSynthesis.cancel = () => {};
}
"""


@pytest.fixture
def student(classroom_info, request):
    classroom = classroom_info.classroom()
    name = f"Lee {request.node.name[5:17]} {next(_numbers)}"
    return classroom, classroom.add_student(classroom_info.class_code, name, "2580")


def open_player(browser, server, shots_dir, **context_args) -> tuple[object, Player]:
    return new_player(browser, server.url("play"), shots_dir, SPEECH_SCRIPT, **context_args)


def focused(p: Player) -> dict | None:
    return p.page.evaluate(FOCUS_JS)


def tab_to(p: Player, selector: str, limit: int = 80, back: bool = False) -> dict:
    """Press Tab (or Shift+Tab) until the focus is on ``selector``; the focus must show."""
    seen = []
    for _ in range(limit):
        p.page.keyboard.press("Shift+Tab" if back else "Tab")
        if p.page.evaluate("s => !!document.activeElement && document.activeElement.matches(s)",
                           selector):
            info = focused(p)
            assert info["outline"] or info["ring"], f"the focus on {selector} does not show: {info}"
            return info
        seen.append(focused(p))
    raise AssertionError(f"Tab never reached {selector}; the focus went through "
                         f"{[(s or {}).get('cls', '')[:30] + ' ' + (s or {}).get('text', '')[:20] for s in seen[:40]]}")


def arrow_to(p: Player, node_id: str, key: str = "ArrowRight", limit: int = 12) -> None:
    for _ in range(limit):
        if (focused(p) or {}).get("id") == node_id:
            return
        p.page.keyboard.press(key)
    assert (focused(p) or {}).get("id") == node_id, f"the arrow keys never reached {node_id}"


def wait_state(p: Player, node_id: str, state: str) -> None:
    """A step's state on the map (drawn even while the list of steps is shown instead)."""
    p.page.wait_for_selector(f".qe-node[data-id='{node_id}'][data-state='{state}']",
                             state="attached", timeout=WAIT_MS)


def wait_title(p: Player, title: str) -> None:
    p.page.wait_for_function(
        "t => { const h = document.querySelector('.qe-panel .qe-node-title');"
        " return h && h.textContent === t; }", arg=title, timeout=WAIT_MS)


# -------------------------------------------------------------------------------------------------


def test_keyboard_only_play_through(browser, server, shots_dir, student):
    """Tab, Shift+Tab, the arrow keys, Enter, Space and Escape: no mouse anywhere."""
    classroom, kid = student
    context, p = open_player(browser, server, shots_dir)
    try:
        p.open()
        # log in with the keyboard: the first field, Tab between fields, Enter to send
        tab_to(p, ".qe-code input")
        p.page.keyboard.type(kid.class_code)
        p.page.keyboard.press("Tab")
        p.page.keyboard.type(kid.name)
        p.page.keyboard.press("Tab")
        p.page.keyboard.type(kid.pin)
        p.page.keyboard.press("Enter")
        p.page.wait_for_selector(".qe-panel .qe-node-title", timeout=WAIT_MS)
        wait_title(p, TITLES["trailhead"])

        # the map: one step in the Tab order, its focus ring shows; Enter opens it
        info = tab_to(p, ".qe-node")
        assert info["id"] == "trailhead" and info["ring"], info
        p.page.keyboard.press("Enter")
        wait_title(p, TITLES["trailhead"])
        tab_to(p, ".qe-panel button.qe-do")
        p.page.keyboard.press("Enter")
        p.wait_state("trailhead", "success")
        expect(p.page.locator(".qe-announcer")).to_contain_text(f"“{TITLES['trailhead']}”: Done.")
        p.axe("keyboard: a story done")

        # back to the map (Shift+Tab), the arrow keys to the next step, Space opens it
        tab_to(p, ".qe-node", back=True)
        arrow_to(p, "fold-map")
        p.page.keyboard.press(" ")
        wait_title(p, TITLES["fold-map"])
        # the hints open and close with the keyboard
        tab_to(p, ".qe-panel details.qe-hints summary")
        p.page.keyboard.press("Enter")
        expect(p.panel.locator("details.qe-hints")).to_have_attribute("open", "")
        p.axe("keyboard: a task with its hints open")
        tab_to(p, ".qe-panel button.qe-do")
        p.page.keyboard.press(" ")
        p.wait_state("fold-map", "success")

        # a locked step explains itself on focus; Escape hides the explanation
        tab_to(p, ".qe-node", back=True)
        arrow_to(p, "checkpoint")
        tip = p.page.locator(".qe-tip")
        expect(tip).to_be_visible()
        expect(tip).to_contain_text("is locked")
        p.axe("keyboard: a locked step's explanation")
        p.page.keyboard.press("Escape")
        expect(tip).to_be_hidden()

        # the list of steps, then a modality card, all by keyboard
        tab_to(p, ".qe-view-list")
        p.page.keyboard.press("Enter")
        expect(p.page.locator(".qe-step-list")).to_be_visible()
        tab_to(p, ".qe-step-button[data-id='learn']")
        p.page.keyboard.press("Enter")
        wait_title(p, TITLES["learn"])
        p.axe("keyboard: the list of steps")
        tab_to(p, ".qe-panel button.qe-option-video")
        p.page.keyboard.press("Enter")
        expect(p.panel.locator(".qe-chosen")).to_be_visible()
        tab_to(p, ".qe-panel button.qe-do")
        p.page.keyboard.press("Enter")
        wait_state(p, "learn", "success")

        # the gate's form: radio buttons with the arrow keys, checkboxes with Space, typing
        tab_to(p, ".qe-view-map", back=True)
        p.page.keyboard.press("Enter")
        tab_to(p, ".qe-node")
        arrow_to(p, "checkpoint")
        p.page.keyboard.press("Enter")
        wait_title(p, NODES["checkpoint"].title)
        given = answers(NODES["checkpoint"].questions, right)
        for q in NODES["checkpoint"].questions:
            if q.type == "choice":
                tab_to(p, f".qe-answer-{q.id} input[type=radio]")
                target = q.options.index(given[q.id])
                for _ in range(target):
                    p.page.keyboard.press("ArrowDown")
                if target == 0:
                    p.page.keyboard.press(" ")
                expect(p.panel.locator(f".qe-answer-{q.id}").get_by_role(
                    "radio", name=given[q.id], exact=True)).to_be_checked()
            elif q.type == "multi":  # its checkboxes are next to each other in Tab order
                tab_to(p, f".qe-answer-{q.id} input[type=checkbox]")
                for i, option in enumerate(q.options):
                    if i:
                        p.page.keyboard.press("Tab")
                    if option in given[q.id]:
                        p.page.keyboard.press(" ")
                for option in q.options:
                    box = p.panel.locator(f".qe-answer-{q.id}").get_by_role(
                        "checkbox", name=option, exact=True)
                    if option in given[q.id]:
                        expect(box).to_be_checked()
                    else:
                        expect(box).not_to_be_checked()
            else:
                tab_to(p, f".qe-answer-{q.id} input")
                p.page.keyboard.type(str(given[q.id]))
        p.axe("keyboard: a gate form filled in")
        tab_to(p, ".qe-panel button.qe-do")
        p.page.keyboard.press("Enter")
        p.wait_state("checkpoint", "success")
        expect(p.page.locator(".qe-announcer")).to_contain_text("Score: 100%")

        # the profile tab, reached and chosen with the keyboard
        tab_to(p, "[role=tab][aria-selected=true]", back=True)
        p.page.keyboard.press("ArrowRight")
        p.page.keyboard.press("Enter")
        expect(p.page.get_by_role("tab", name="My profile")).to_have_attribute(
            "aria-selected", "true")
        expect(p.page.locator(".qe-profile .qe-mastery-table")).to_be_visible()
        p.axe("keyboard: the profile")
        p.assert_clean()
    finally:
        context.close()


def test_news_and_results_are_announced_in_live_regions(browser, server, shots_dir, student):
    classroom, kid = student
    s = classroom.login_student(kid.class_code, kid.name, kid.pin)
    for n in ("trailhead", "fold-map"):
        s.complete(QUEST, n)
    s.choose(QUEST, "learn", "video")
    s.complete(QUEST, "learn")
    s.submit(QUEST, "signpost", "1/2 = 2/4 because both are half.")
    context, p = open_player(browser, server, shots_dir)
    try:
        p.open()
        p.login_as(kid)
        banner = p.page.locator(".qe-banner[aria-live='polite'][role='status']")
        expect(banner).to_have_count(1)  # there before any message, so new ones are read out
        expect(p.page.locator(".qe-announcer[aria-live]")).to_have_count(1)
        teacher = classroom.login_teacher(*_teacher(classroom))
        item = next(i for i in teacher.review_queue() if i.student_id == kid.student_id)
        teacher.review(item.submission_id, "approve", "Clear!")
        expect(banner.locator(".qe-flash-info")).to_contain_text("approved", timeout=WAIT_MS)
        p.axe("live: the teacher's review came back")
        # an error goes to the same region as an alert
        p.select("checkpoint", NODES["checkpoint"].title)
        p.do("Check my mastery")
        expect(banner.locator(".qe-flash-error[role='alert']")).to_contain_text("no answer yet")
        p.axe("live: an error")
        p.assert_clean()
    finally:
        context.close()


def _teacher(classroom) -> tuple[str, str]:
    from conftest import TEACHER

    return TEACHER[0], TEACHER[2]


@pytest.mark.parametrize("width, scale", [(320, 1), (640, 2)], ids=["320px", "zoom-200"])
def test_the_page_reflows_at_320px_and_at_200_percent(browser, server, shots_dir, student,
                                                       width, scale):
    """WCAG 1.4.10 (320 CSS px, no sideways scrolling) and 1.4.4 (a 1280 px screen at 200 %
    is 640 CSS px wide with every CSS pixel twice as big)."""
    classroom, kid = student
    context, p = open_player(browser, server, shots_dir,
                             viewport={"width": width, "height": 720 if scale == 1 else 450},
                             device_scale_factor=scale)
    try:
        p.open()
        p.login_as(kid)
        for state in ("map", "list"):
            if state == "list":
                p.page.locator(".qe-view-list").click()
                expect(p.page.locator(".qe-step-list")).to_be_visible()
            wide = p.page.evaluate("""() => {
              const vw = document.documentElement.clientWidth, out = [];
              const root = document.scrollingElement || document.documentElement;
              if (root.scrollWidth > vw + 1) out.push(`page ${root.scrollWidth}px on ${vw}px`);
              for (const e of document.querySelectorAll('.qe-page *')) {
                const r = e.getBoundingClientRect();
                if (!r.width || e.closest('.qe-map-frame, .qe-grid-scroll, .qe-sr-only')) continue;
                if (r.right > vw + 1) out.push(`${e.tagName}.${e.className} ends at ${Math.round(r.right)}`);
              }
              return out.slice(0, 6);
            }""")
            p.page.screenshot(path=str(shots_dir / f"a11y-reflow-{width}-{state}.png"))
            assert not wide, f"at {width} CSS px ({state}): {wide}"
            p.axe(f"reflow at {width} CSS px: {state}")
    finally:
        context.close()


def test_reduced_motion_stops_the_moving_parts(browser, server, shots_dir, student):
    classroom, kid = student
    for motion, moving in (("reduce", False), ("no-preference", True)):
        context, p = open_player(browser, server, shots_dir, reduced_motion=motion)
        try:
            p.open()
            p.login_as(kid)
            p.page.wait_for_selector(".qe-current-ring", state="attached")
            # the map's pulsing ring, and a celebration as the page shows one (same classes)
            names = p.page.evaluate("""() => {
              const box = document.createElement('div');
              box.innerHTML = "<div class='qe-celebrate'><div class='qe-confetti'><i></i></div></div>";
              document.querySelector('.qe-page').appendChild(box);
              const out = [document.querySelector('.qe-current-ring'),
                           box.querySelector('.qe-celebrate'), box.querySelector('.qe-confetti i')]
                .map(e => getComputedStyle(e).animationName);
              box.remove();
              return out;
            }""")
            if moving:
                assert all(n != "none" for n in names), names
            else:
                assert names == ["none"] * 3, names
        finally:
            context.close()


def test_accommodations_set_in_the_center_reach_the_students_page(browser, server, shots_dir,
                                                                   student, classroom_info):
    classroom, kid = student
    # the teacher ticks the supports in the student's record
    tcontext, t = new_tab(browser)
    try:
        t.page.goto(server.url("progress"))
        t.page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS)
        teacher_login(t, classroom_info.teacher_email, classroom_info.teacher_password)
        t.page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS)
        open_tab(t, "Students")
        pick = t.page.locator(".qe-center .widget-tab-contents .widget-dropdown:visible").filter(
            has=t.page.locator("label", has_text="Student")).locator("select")
        pick.select_option(label=kid.name)
        form = t.page.locator(".qe-support-form")
        expect(form.locator("button.qe-save-supports")).to_be_visible()
        for key in ("read-aloud", "larger-text", "fewer-options", "simple-text"):
            form.locator(f".qe-support-{key} input").check()
        tries = form.locator(".qe-support-extra-attempts input")
        tries.fill("2")
        tries.press("Tab")
        settle(t.page)
        assert_no_axe_violations(t.page, "center: the supports form filled in")
        form.locator("button.qe-save-supports").click()
        expect(form.locator(".qe-support-note")).to_contain_text(
            "read aloud, larger text and spacing, 2 more tries at checkpoints, fewer options, "
            "simpler text")
        row = t.page.locator(".qe-grid-table tr").filter(has_text=kid.name)
        expect(row.locator(".qe-supports-cell")).to_contain_text("read aloud")
        settle(t.page)
        assert_no_axe_violations(t.page, "center: a student's supports saved")
    finally:
        tcontext.close()
    acc = classroom.login_teacher(*_teacher(classroom)).accommodations(kid.student_id)
    assert acc.read_aloud and acc.fewer_options and acc.extra_attempts == 2

    # the student's page, as the service hands it over
    context, p = open_player(browser, server, shots_dir)
    try:
        p.open()
        p.login_as(kid)
        expect(p.page.locator(".qe-page.qe-larger")).to_have_count(1)
        expect(p.panel.locator(".qe-text")).to_contain_text(
            "Some fractions look different but are the same amount")
        expect(p.panel).not_to_contain_text("Fractions name parts of a whole")
        size = p.page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('.qe-panel .qe-text')).fontSize)")
        assert size >= 18, size
        p.panel.locator("button.qe-read-aloud").first.click()
        p.page.wait_for_function("() => window.__qeSpoken.length > 0")
        spoken = p.page.evaluate("window.__qeSpoken")
        assert spoken[0].startswith("You meet Ranger Rosa"), spoken
        p.shot("a11y-supports-story")
        p.axe("supports: a story with read aloud, larger and simpler text")

        # fewer options and more tries at the gate
        s = classroom.login_student(kid.class_code, kid.name, kid.pin)
        for n in ("trailhead", "fold-map"):
            s.complete(QUEST, n)
        s.choose(QUEST, "learn", "video")
        s.complete(QUEST, "learn")
        p.reload_and_login(kid)
        p.select("checkpoint", NODES["checkpoint"].title)
        g1 = NODES["checkpoint"].questions[0]
        radios = p.panel.locator(f".qe-answer-{g1.id}").get_by_role("radio")
        expect(radios).to_have_count(len(g1.options) - len(g1.distractors))
        expect(p.panel.locator(".qe-speak")).to_have_count(len(NODES["checkpoint"].questions) + 2)
        p.shot("a11y-supports-gate")
        p.axe("supports: a gate with fewer options")
        p.page.get_by_role("tab", name="My profile").click()
        expect(p.page.locator(".qe-profile .qe-supports")).to_contain_text(
            "2 more tries at checkpoints")
        p.axe("supports: the profile lists them")
        p.assert_clean()
    finally:
        context.close()


# --- timed challenges: the countdown shows the student's own limit ----------------------------

TIMED = """
id: timed-sprint
title: Fraction sprint
nodes:
  - id: sprint
    kind: quiz
    title: Ten-minute sprint
    time_limit: 5
    questions:
      - {id: s1, type: text, prompt: Name the fraction for one of two equal parts, accept: [one half, "1/2"]}
  - id: blitz
    kind: quiz
    title: Blitz
    time_limit: 0.05
    questions:
      - {id: b1, type: text, prompt: "1/4 + 1/4 as a fraction", accept: ["1/2", "2/4"]}
  - {id: end, kind: end, title: Finish line}
edges:
  - [sprint, blitz]
  - {from: blitz, to: end, when: done}
"""
TIMED_NODES = {n.id: n for n in loads_quest(TIMED).nodes}


def timed_student(classroom_info, extra_time: float = 1.0):
    """A student alone in a class whose one quest is timed, with the "more time" support."""
    classroom = classroom_info.classroom()
    teacher = classroom.login_teacher(classroom_info.teacher_email, classroom_info.teacher_password)
    teacher.publish(loads_quest(TIMED))  # the same version again when it is already there
    n = next(_numbers)
    code = teacher.create_class(f"Timed {n}", f"TIMED-{n}")
    teacher.assign("timed-sprint", code)
    kid = teacher.add_student(code, f"Tia Timed {n}", "2580")
    if extra_time > 1:
        teacher.set_accommodations(kid.student_id, extra_time=extra_time)
    return kid


def test_a_timed_challenge_counts_down_from_the_students_own_limit(browser, server, shots_dir,
                                                                  classroom_info):
    """WCAG 2.2.1: the student with extra time gets the longer limit (set by the teacher,
    applied by the service); the countdown is announced at one minute left and at time up,
    never every second (4.1.3)."""
    kid = timed_student(classroom_info, extra_time=2)
    context, p = open_player(browser, server, shots_dir)
    try:
        p.page.clock.install()  # the page's clock runs as usual until fast-forwarded below
        p.open()
        p.login_as(kid)
        note = p.panel.locator(".qe-time-limit")
        expect(note).to_contain_text("you have 10 minutes")  # 5 minutes, twice the time
        expect(note).to_contain_text("Your teacher gave you extra time.")
        expect(p.panel.locator(".qe-answer-s1")).to_have_count(0)  # the questions wait
        p.axe("timed: before the start")
        p.do("Start")
        timer = p.panel.locator(".qe-countdown [role='timer']")
        expect(timer).to_have_text(re.compile(r"⏱ (10:00|9:[0-5]\d) left"))
        expect(timer).to_have_attribute("aria-live", "off")  # not read out every second
        live = p.panel.locator(".qe-countdown [role='status'][aria-live='polite']")
        expect(live).to_have_text("")
        p.shot("a11y-timed-countdown", at=".qe-panel")
        p.axe("timed: counting down")
        # the browser's clock nine minutes on (the service's is not: the answer is in time)
        p.page.clock.fast_forward("09:00")
        expect(live).to_have_text("One minute left.")
        expect(timer).to_have_text(re.compile(r"⏱ (1:00|0:[0-5]\d) left"))
        p.answer(TIMED_NODES["sprint"].questions[0], "one half")
        p.do("Check my answers")
        p.wait_state("sprint", "success")

        # 0.05 minutes, twice: 6 seconds. A countdown drawn with less than a minute left
        # does not say "one minute left" (nor does one drawn again after a redraw): only
        # what changes from then on is announced, here the time running out
        p.select("blitz", TIMED_NODES["blitz"].title)
        expect(p.panel.locator(".qe-time-limit")).to_contain_text("you have 0.1 minutes")
        p.do("Start")
        live = p.panel.locator(".qe-countdown [role='status'][aria-live='polite']")
        expect(live).to_have_text("")
        expect(live).to_have_text("Time is up. Hand in what you have.", timeout=WAIT_MS)
        expect(p.panel.locator(".qe-countdown [role='timer']")).to_have_text("⏱ Time is up")
        p.axe("timed: time is up")
        # the page only shows: the engine decides when the answer arrives (after the 15 s
        # grace for the network, an empty answer goes in and the attempt counts as not passed)
        p.page.wait_for_timeout(16_000)
        p.do("Check my answers")
        p.wait_state("blitz", "fail")
        expect(p.panel.locator(".qe-verdict-fail")).to_contain_text("Time was up")
        expect(p.page.locator(".qe-announcer")).to_contain_text("Time was up.")
        p.axe("timed: the verdict")
        p.assert_clean()
    finally:
        context.close()
