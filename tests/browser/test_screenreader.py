"""What a screen reader would announce, read from Chromium's accessibility tree (issue 15).

No person with a screen reader tests here, and Orca cannot be driven headless on these
machines (see the README's accessibility section). The next best real thing: the tree
Chromium hands to screen readers, read through the DevTools protocol
(``Accessibility.getFullAXTree``), with the roles, names, states and live-region
properties a screen reader speaks. The tests check, on the play page: the map is a named
group whose steps are buttons named by their title, state and why-locked sentence; the
list view is a named list of the same steps; the live regions exist before anything is
said, with their politeness, and carry the result after an action; every form control
has a name; a timed challenge's countdown is a timer that is not live, beside a polite
region. In the progress center: the charts have their text alternative.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import count

import pytest
from playwright.sync_api import expect

from conftest import TEACHER, WAIT_MS, new_player
from questengine.engine import explain
from questengine.loader import load_quest
from test_a11y import QUESTS, timed_student
from test_center_page import new_tab, teacher_login

QUEST = "fraction-forest"
FOREST = load_quest(QUESTS / f"{QUEST}.yaml")
TITLES = {n.id: n.title for n in FOREST.nodes}
# the words the map's front end says for each state (widgets/questmap.js STATE_WORDS)
SAID = {"locked": "Locked", "available": "Open", "in_progress": "Started",
        "pending_review": "Waiting for your teacher", "returned": "Back from your teacher",
        "success": "Done", "fail": "Not passed yet", "closed": "Not on your path"}
# roles of things a student fills in, picks or presses: each must have a name (WCAG 4.1.2)
CONTROLS = {"button", "checkbox", "combobox", "listbox", "menuitem", "radio", "searchbox",
            "slider", "spinbutton", "switch", "tab", "textbox", "link"}
_numbers = count(1)


@dataclass
class AX:
    """One node of Chromium's accessibility tree, as a screen reader gets it."""

    role: str
    name: str
    props: dict
    ignored: bool
    children: list["AX"] = field(default_factory=list)

    def walk(self):
        """Every node a screen reader can reach (ignored nodes are skipped, not their children)."""
        if not self.ignored:
            yield self
        for child in self.children:
            yield from child.walk()

    def find(self, role: str | None = None, name: str | re.Pattern | None = None) -> list["AX"]:
        def named(n):
            if name is None:
                return True
            return bool(name.search(n.name)) if isinstance(name, re.Pattern) else n.name == name
        return [n for n in self.walk() if (role is None or n.role == role) and named(n)]

    def text(self) -> str:
        """The words inside, as a screen reader reads a region out."""
        return " ".join(n.name for n in self.walk() if n.role in ("StaticText", "text") and n.name)

    def __repr__(self) -> str:  # short, for failure messages
        return f"<{self.role} {self.name[:60]!r}{' ' + str(self.props) if self.props else ''}>"


def ax_tree(page) -> AX:
    """The whole page's accessibility tree, through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("Accessibility.enable")
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
    finally:
        cdp.detach()
    by_id = {}
    for raw in nodes:
        props = {p["name"]: p.get("value", {}).get("value") for p in raw.get("properties", [])}
        by_id[raw["nodeId"]] = AX((raw.get("role") or {}).get("value", ""),
                                  str((raw.get("name") or {}).get("value", "") or "").strip(),
                                  props, bool(raw.get("ignored")))
    for raw in nodes:
        by_id[raw["nodeId"]].children = [by_id[c] for c in raw.get("childIds", []) if c in by_id]
    return by_id[nodes[0]["nodeId"]]


def unnamed_controls(tree: AX) -> list[AX]:
    return [n for n in tree.walk() if n.role in CONTROLS and not n.name
            and not n.props.get("hidden")]


def live_regions(tree: AX) -> dict[str, list[AX]]:
    """Regions by politeness (``polite`` / ``assertive``): only their roots carry ``live``."""
    out: dict[str, list[AX]] = {}
    for n in tree.walk():
        if n.props.get("live") in ("polite", "assertive"):
            out.setdefault(n.props["live"], []).append(n)
    return out


def eventually(page, check, what: str):
    """Read the tree again until ``check(tree)`` holds (the kernel answers in its own time)."""
    last = None
    for _ in range(60):
        tree = ax_tree(page)
        last = check(tree)
        if last:
            return tree
        page.wait_for_timeout(500)
    raise AssertionError(f"{what}: never so in the accessibility tree (last check: {last!r})")


@pytest.fixture
def kid(classroom_info, request):
    classroom = classroom_info.classroom()
    name = f"Sam {request.node.name[5:15]} {next(_numbers)}"
    return classroom, classroom.add_student(classroom_info.class_code, name, "3691")


def test_the_map_and_the_list_of_steps_as_a_screen_reader_meets_them(browser, server,
                                                                       shots_dir, kid):
    classroom, student = kid
    context, p = new_player(browser, server.url("play"), shots_dir)
    try:
        p.open()
        tree = ax_tree(p.page)
        assert not unnamed_controls(tree), unnamed_controls(tree)  # the login form
        assert len([b for b in tree.find("textbox") if b.name]) == 3, tree.find("textbox")
        p.login_as(student)
        progress = classroom.login_student(student.class_code, student.name,
                                           student.pin).progress(QUEST)

        # the map: a named group; each step a button named "title. state. why locked"
        tree = eventually(p.page, lambda t: t.find("group", re.compile("^Quest map")),
                          "the map group")
        (group,) = tree.find("group", re.compile("^Quest map"))
        assert "Arrow keys move between steps" in group.name
        steps = {b.name.split(". ")[0]: b.name for b in group.find("button")}
        assert set(steps) == set(TITLES.values()), steps
        for n, title in TITLES.items():
            state = progress.nodes[n].state
            said = steps[title]
            assert said.startswith(f"{title}. {SAID[state]}"), (n, said)
            if state in ("locked", "closed"):  # why it is locked, in the same breath
                assert explain(progress, n).rstrip(".") in said, (n, said)
        assert group.props.get("roledescription") == "quest map", group.props

        # the same steps as a list, for whoever prefers one
        p.page.locator(".qe-view-list").click()
        tree = eventually(p.page, lambda t: t.find("list", "Steps of the quest"), "the list view")
        (steps_list,) = tree.find("list", "Steps of the quest")
        items = steps_list.find("listitem")
        assert len(items) == len(TITLES), items
        said = {}
        for item in items:  # in the map's order; each item one button, said in one breath
            (button,) = item.find("button")
            (title,) = [t for t in TITLES.values() if button.name.startswith(t + " ")]
            said[title] = button.name
        assert set(said) == set(TITLES.values()), said
        for n, title in TITLES.items():
            words = said[title]
            state = progress.nodes[n].state
            assert TITLES[n] in words and SAID[state] in words, (n, words)
            if state in ("locked", "closed"):
                assert explain(progress, n).rstrip(".") in words, (n, words)
        assert not tree.find("group", re.compile("^Quest map"))  # the hidden map is not read
        assert not unnamed_controls(tree), unnamed_controls(tree)
        p.page.locator(".qe-view-map").click()
        p.assert_clean()
    finally:
        context.close()


def test_live_regions_say_the_result_and_every_control_has_a_name(browser, server, shots_dir,
                                                                   kid):
    classroom, student = kid
    s = classroom.login_student(student.class_code, student.name, student.pin)
    s.complete(QUEST, "trailhead")
    context, p = new_player(browser, server.url("play"), shots_dir)
    try:
        p.open()
        p.login_as(student)
        tree = ax_tree(p.page)
        regions = live_regions(tree)
        # there before anything is said, so that what comes is read out: the banner (status)
        # and the announcer are polite; nothing on the page interrupts by default
        polite = regions.get("polite", [])
        assert {"status"} <= {r.role for r in polite}, regions
        assert len(polite) >= 2, regions
        assert not regions.get("assertive"), regions

        # an action: the result is in a live region, in words
        fold = TITLES["fold-map"]
        p.select("fold-map", fold)
        p.do()
        said = f"“{fold}”: Done."
        tree = eventually(p.page, lambda t: any(said in r.text() for r in
                                                live_regions(t).get("polite", [])),
                          f"the announcement {said!r}")
        assert not unnamed_controls(tree), unnamed_controls(tree)

        # an error is an alert (assertive): said at once
        s.choose(QUEST, "learn", "video")
        s.complete(QUEST, "learn")
        s.submit(QUEST, "signpost", "1/2 = 2/4")
        teacher = classroom.login_teacher(TEACHER[0], TEACHER[2])
        item = next(i for i in teacher.review_queue() if i.student_id == student.student_id)
        teacher.review(item.submission_id, "approve", "Good")
        p.reload_and_login(student)
        p.select("checkpoint", TITLES["checkpoint"])
        tree = ax_tree(p.page)
        # the gate's form: every radio, box and button has a name a screen reader says
        assert tree.find("radio"), "the checkpoint's choices"
        assert not unnamed_controls(tree), unnamed_controls(tree)
        p.do("Check my mastery")  # nothing answered yet
        tree = eventually(p.page, lambda t: any("no answer yet" in r.text() for r in
                                                live_regions(t).get("assertive", [])),
                          "the error as an alert")
        (alert,) = [r for r in live_regions(tree)["assertive"] if "no answer yet" in r.text()]
        assert alert.role == "alert", alert
        # the profile's fields (a new goal, interests) too
        p.page.get_by_role("tab", name="My profile").click()
        tree = eventually(p.page, lambda t: t.find("textbox", "A new goal"), "the profile's goal box")
        assert tree.find("textbox", "Your interests")
        assert not unnamed_controls(tree), unnamed_controls(tree)
        p.assert_clean()
    finally:
        context.close()


def test_a_timed_challenge_is_a_timer_that_does_not_talk_every_second(browser, server,
                                                                      shots_dir, classroom_info):
    student = timed_student(classroom_info, extra_time=2)
    context, p = new_player(browser, server.url("play"), shots_dir)
    try:
        p.open()
        p.login_as(student)
        tree = ax_tree(p.page)
        assert tree.find("button", "Start"), "the timed step waits for Start"
        assert not tree.find("textbox")  # no question before the start
        polite_before = len(live_regions(tree).get("polite", []))
        p.do("Start")
        tree = eventually(p.page, lambda t: t.find("timer"), "the countdown")
        (timer,) = tree.find("timer")
        assert re.search(r"(10:00|9:[0-5]\d) left", timer.text()), timer.text()
        assert timer.props.get("live") in (None, "off"), timer.props  # not read every second
        # beside it, one more polite region, silent until a minute is left or time is up
        polite = live_regions(tree).get("polite", [])
        assert len(polite) == polite_before + 1, polite
        assert [r for r in polite if r.role == "status" and not r.text()], polite
        (box,) = tree.find("textbox")
        assert box.name, box  # the question, as its label
        assert not unnamed_controls(tree), unnamed_controls(tree)
        p.assert_clean()
    finally:
        context.close()


def test_the_progress_centers_charts_have_their_text_alternative(browser, server, classroom_info):
    classroom = classroom_info.classroom()
    login = classroom.add_student(classroom_info.class_code, f"Chart {next(_numbers)}", "1470")
    classroom.login_student(login.class_code, login.name, login.pin).complete(QUEST, "trailhead")
    context, t = new_tab(browser)
    try:
        t.page.goto(server.url("progress"))
        t.page.wait_for_selector(".qe-login .qe-email input", timeout=WAIT_MS)
        tree = ax_tree(t.page)
        assert not unnamed_controls(tree), unnamed_controls(tree)
        teacher_login(t, classroom_info.teacher_email, classroom_info.teacher_password)
        t.page.wait_for_selector(".qe-center .qe-node", timeout=WAIT_MS)
        expect(t.page.locator(".qe-chart-img")).to_be_visible()
        tree = eventually(t.page, lambda t_: [i for i in t_.find("image")
                                              if i.name.startswith("Bar chart of where")],
                          "the states chart's alternative")
        (chart,) = [i for i in tree.find("image") if i.name.startswith("Bar chart of where")]
        for title in TITLES.values():  # every step, in words
            assert re.search(rf"{re.escape(title)}: \d+ done, \d+ not passed, \d+ there now, "
                             rf"\d+ not reached", chart.name), (title, chart.name)
        assert not [i for i in tree.find("image") if not i.name], "an image without a name"
        assert not unnamed_controls(tree), unnamed_controls(tree)
    finally:
        context.close()
