"""The progress center's other tabs in Chromium: the grid (sort, filter, a student's record),
approving one piece of work and several at once, overrides, and the exports (downloads).

Reuses the session's Voilà server and Chromium (conftest.py) and the teacher tab helpers of
test_center_page.py; this module adds its own teacher, class and students to the shared
database, so it touches nobody else's.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from conftest import cheap_hasher, settle
from questengine.classroom import Classroom
from questengine.simulate import answer_for
from test_center_page import axe, new_tab, open_tab, teacher_login

Q = "fraction-forest"
CODE = "FEAT-6"
TEACHER = ("features@test.school", "Ms. Adeyemi", "features-pass-1")
STUDENTS = {  # key -> (name, PIN)
    "ana": ("Ana Feature", "1122"),
    "ben": ("Ben Feature", "3344"),
    "cal": ("Cal Feature", "5566"),
    "dee": ("Dee Feature", "7788"),
}
SIGN = "My sign: 1/2 = 2/4 = 4/8."


@dataclass
class FeatureClass:
    db: Path
    ids: dict[str, int]

    def classroom(self) -> Classroom:
        return Classroom(self.db, hasher=cheap_hasher())

    def teacher(self):
        return self.classroom().login_teacher(TEACHER[0], TEACHER[2])


@pytest.fixture(scope="module")
def feature_class(classroom_info) -> FeatureClass:
    """Ana passed the checkpoint and sent her sign; Ben and Cal sent theirs; Dee read the start."""
    c = Classroom(classroom_info.db, hasher=cheap_hasher())
    c.add_teacher(*TEACHER)
    c.create_class(TEACHER[0], "Grade 6", CODE)
    logins = dict(zip(STUDENTS, c.add_students(CODE, list(STUDENTS.values()))))
    c.assign(Q, CODE)  # published by conftest
    G = c.graph(Q)
    right = {q.id: answer_for(q, True) for q in G.nodes["checkpoint"]["node"].questions}
    for key in ("ana", "ben", "cal"):
        s = c.login_student(CODE, *STUDENTS[key])
        s.complete(Q, "trailhead")
        s.complete(Q, "fold-map")
        s.choose(Q, "learn", "video")
        s.complete(Q, "learn")
        if key == "ana":
            s.answer(Q, "checkpoint", right)
        s.submit(Q, "signpost", f"{SIGN} ({STUDENTS[key][0]})")
    c.login_student(CODE, *STUDENTS["dee"]).complete(Q, "trailhead")
    c.store.close()
    return FeatureClass(classroom_info.db, {k: v.student_id for k, v in logins.items()})


@pytest.fixture
def center(browser, server, feature_class):
    """A teacher tab on the progress center, logged in, the class map drawn."""
    context, tab = new_tab(browser)
    tab.page.goto(server.url("progress"))
    tab.page.wait_for_selector(".qe-login .qe-email input")
    teacher_login(tab, TEACHER[0], TEACHER[2])
    tab.page.wait_for_selector(".qe-center .qe-node")
    expect(tab.page.locator(".qe-hello")).to_contain_text(TEACHER[1])
    yield tab
    tab.assert_clean()
    context.close()


def visible(tab, selector: str):
    return tab.page.locator(f"{selector}:visible")


def dropdown(tab, label: str):
    """The <select> of the ipywidgets Dropdown whose description is ``label`` in the open tab
    (not the class and quest pickers above the tabs)."""
    return visible(tab, ".qe-center .widget-tab-contents .widget-dropdown").filter(
        has=tab.page.locator("label", has_text=re.compile(rf"^{re.escape(label)}$"))).locator("select")


def grid_names(tab) -> list[str]:
    return visible(tab, ".qe-grid-table th.qe-student").all_inner_texts()


def flash(tab):
    return tab.page.locator(".qe-center .qe-flash")


# -------------------------------------------------------------------------------------------------


def test_grid_sorts_filters_and_opens_a_students_record(center, feature_class):
    t = center
    open_tab(t, "Students")
    names = [n for n, _ in STUDENTS.values()]
    expect(visible(t, ".qe-grid-table th.qe-student")).to_have_text(sorted(names))  # by name
    axe(t, "the students × steps grid")

    grid = feature_class.teacher().grid(CODE, Q)
    by_xp = [s["name"] for s in sorted(sorted(grid.students, key=lambda s: s["name"].casefold()),
                                       key=lambda s: -s["xp"])]
    assert by_xp[0] == "Ana Feature" and by_xp[-1] == "Dee Feature"  # the class as set up
    dropdown(t, "Sort by").select_option(label="XP")
    expect(visible(t, ".qe-grid-table th.qe-student")).to_have_text(by_xp)
    by_done = [s["name"] for s in sorted(sorted(grid.students, key=lambda s: s["name"].casefold()),
                                         key=lambda s: -s["done"])]
    dropdown(t, "Sort by").select_option(label="steps done")
    expect(visible(t, ".qe-grid-table th.qe-student")).to_have_text(by_done)

    filt = visible(t, ".qe-grid input[placeholder='filter by name'], "
                      "input[placeholder='filter by name']").first
    filt.fill("cal")
    filt.press("Tab")
    expect(visible(t, ".qe-grid-table th.qe-student")).to_have_text(["Cal Feature"])
    filt.fill("FEATURE")
    filt.press("Tab")
    expect(visible(t, ".qe-grid-table th.qe-student")).to_have_count(4)
    filt.fill("nobody")
    filt.press("Tab")
    expect(visible(t, ".qe-grid-table th.qe-student")).to_have_count(0)

    # a student's record: what Ana did, in words
    dropdown(t, "Student").select_option(label="Ana Feature")
    record = visible(t, ".qe-record")
    expect(record.locator("h2")).to_have_text("Ana Feature")
    expect(record).to_contain_text("The Fraction Forest")
    expect(record).to_contain_text("Mastery:")
    expect(record).to_contain_text("Answers:")
    expect(record).to_contain_text("Ranger Checkpoint")  # steps by their titles
    expect(visible(t, "button.qe-save-supports")).to_have_count(1)
    axe(t, "a student's record with the supports form")
    dropdown(t, "Student").select_option(label="— pick a student —")
    expect(t.page.locator(".qe-center .qe-record")).to_have_text("")


def test_exports_download_csvs_and_a_family_report(center, feature_class, tmp_path):
    t = center
    open_tab(t, "Exports")
    links = visible(t, "a.qe-download")
    expect(links).to_have_count(3)  # the grid, mastery and supports CSVs
    axe(t, "exports")

    def download(link) -> str:
        with t.page.expect_download() as info:
            link.click()
        path = tmp_path / info.value.suggested_filename
        info.value.save_as(path)
        return path.read_text(encoding="utf-8")

    grid_link = links.filter(has_text="Students × steps (CSV)")
    rows = list(csv.reader(io.StringIO(download(grid_link))))
    assert rows[0][:5] == ["name", "opaque_id", "xp", "complete", "steps_done"]
    assert sorted(r[0] for r in rows[1:]) == sorted(n for n, _ in STUDENTS.values())

    def column(node: str) -> int:  # headed "Title (id)"
        return next(i for i, h in enumerate(rows[0]) if h == node or h.endswith(f"({node})"))

    ana = next(r for r in rows if r[0] == "Ana Feature")
    assert ana[column("checkpoint")] == "success"
    assert ana[column("signpost")] == "pending_review"
    assert not any(pin in ",".join(r) for r in rows for _, pin in STUDENTS.values())  # no PINs

    mastery = list(csv.reader(io.StringIO(download(links.filter(has_text="Mastery (CSV)")))))
    assert mastery[0][:2] == ["name", "opaque_id"] and len(mastery) == 1 + len(STUDENTS)

    dropdown(t, "Report for").select_option(label="Ana Feature")
    visible(t, "button.qe-report").click()
    report_link = visible(t, "a.qe-download").filter(has_text="Report for Ana Feature's family")
    expect(report_link).to_have_count(1)
    html = download(report_link)
    assert "<html" in html and "Ana Feature" in html
    assert "The Fraction Forest" in html


def test_bulk_approve_asks_for_a_tick_then_approves_the_ticked(center, feature_class):
    t = center
    open_tab(t, "Review queue")
    cards = visible(t, ".qe-review-card")
    expect(cards).to_have_count(3)
    visible(t, "button.qe-bulk-approve").click()
    expect(flash(t)).to_contain_text("Tick the submissions to approve first.")
    expect(cards).to_have_count(3)
    axe(t, "the review queue with a message")

    # one approved with its own button
    ben = cards.filter(has_text="Ben Feature")
    ben.locator("button.qe-approve").click()
    expect(flash(t)).to_contain_text("Ben Feature's work on Repair a trail sign was approved.")
    expect(cards).to_have_count(2)
    teacher = feature_class.teacher()
    assert teacher.progress(feature_class.ids["ben"], Q).state("signpost") == "success"

    # the two left, ticked and approved at once
    for key in ("ana", "cal"):
        cards.filter(has_text=STUDENTS[key][0]).get_by_role("checkbox").check()
    settle(t.page)
    visible(t, "button.qe-bulk-approve").click()
    expect(flash(t)).to_contain_text("Approved 2 submission(s).")
    expect(visible(t, ".qe-info")).to_contain_text("Nothing waiting for review")
    axe(t, "an empty review queue")
    for key in ("ana", "cal"):
        assert teacher.progress(feature_class.ids[key], Q).state("signpost") == "success", key
    assert teacher.review_queue(CODE) == []


def test_override_awards_xp_and_unlocks_with_a_reason(center, feature_class):
    t = center
    teacher = feature_class.teacher()
    dee = feature_class.ids["dee"]
    before = teacher.progress(dee, Q)
    assert before.state("checkpoint") == "locked"
    open_tab(t, "Overrides")
    dropdown(t, "Student").select_option(label="Dee Feature")
    dropdown(t, "Quest").select_option(label="The Fraction Forest")
    checkpoint = teacher.graph(CODE, Q).nodes["checkpoint"]["node"].title
    dropdown(t, "Step").select_option(label=checkpoint)
    dropdown(t, "Do").select_option(label="unlock (or one more attempt at a gate)")
    axe(t, "the overrides form")
    reason = visible(t, ".widget-text").filter(has_text="Reason").locator("input")
    reason.fill("Worked the fractions out with me on paper")
    reason.press("Tab")
    settle(t.page)
    visible(t, "button.qe-override").click()
    expect(flash(t)).to_contain_text("Done: the change and its reason are recorded.")
    after = teacher.progress(dee, Q)
    assert after.state("checkpoint") == "available"
    override = [e for e in feature_class.classroom().store.events(dee, Q) if e.type == "override"]
    assert [(e.node, e.data.get("reason")) for e in override] == [
        ("checkpoint", "Worked the fractions out with me on paper")]

    # XP awarded with its reason, on the first step (the form keeps what was picked: the
    # same student, quest and step after Apply)
    expect(dropdown(t, "Student")).to_have_value("Dee Feature")
    expect(dropdown(t, "Step")).to_have_value(checkpoint)
    first = teacher.graph(CODE, Q).graph["order"][0]
    dropdown(t, "Step").select_option(label=teacher.graph(CODE, Q).nodes[first]["node"].title)
    dropdown(t, "Do").select_option(label="award XP or a badge")
    xp = visible(t, ".widget-text").filter(
        has=t.page.locator("label", has_text=re.compile("^XP$"))).locator("input")
    xp.fill("25")
    xp.press("Tab")
    reason.fill("Helped a classmate")
    reason.press("Tab")
    settle(t.page)
    visible(t, "button.qe-override").click()
    settle(t.page)  # the click has been handled (the banner still says "Done" from the first)
    expect(flash(t)).to_contain_text("Done: the change and its reason are recorded.")
    assert teacher.progress(dee, Q).xp == after.xp + 25
    award = [e for e in feature_class.classroom().store.events(dee, Q) if e.type == "override"][-1]
    assert (award.node, award.data["op"], award.data["reason"]) == (
        first, "award", "Helped a classmate")
