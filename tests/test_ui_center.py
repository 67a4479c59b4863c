"""The progress center's widgets driven from Python, as the browser would (no kernel, no browser).

Clicks are ``button.click()``; typing is setting a widget's ``value``. Everything the
page shows is compared with what the classroom service says.
"""
from __future__ import annotations

import base64
import html
import csv
import io
import re
from collections import Counter
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import ipywidgets as w
import pytest
from argon2 import PasswordHasher

from questengine.center import grid_csv
from questengine.classroom import Classroom, TeacherSession
from questengine.simulate import answer_for
from questengine.ui.center import CenterPage, ClickTable

QUESTS = Path(__file__).resolve().parent.parent / "quests"
CODE = "OWL-1"
Q = "fraction-forest"
TEACHER = ("t@school.org", "Ms T", "password1")
XSS = "Look: <script>alert(1)</script> and <img src=x onerror=alert(1)> done"
ODD_NAME = "Eve <img src=x onerror=alert(2)>"
TAB_TITLES = ["Class map", "Students", "Review queue", "Struggling", "Mastery & groups",
              "Modalities", "Overrides", "Exports"]


class FakeClock:
    def __init__(self):
        self.now = datetime(2026, 9, 7, 9, 0, tzinfo=timezone.utc)

    def __call__(self):
        return self.now


def to_gate(s):
    for n in ("trailhead", "fold-map"):
        s.complete(Q, n)
    s.choose(Q, "learn", "video")
    s.complete(Q, "learn")


@pytest.fixture
def setup():
    """A class: Ada and Bo wait for review (Ada's work holds HTML), Cy failed the gate 3 times."""
    clock = FakeClock()
    c = Classroom(":memory:", clock=clock, hasher=PasswordHasher(time_cost=1, memory_cost=8,
                                                                   parallelism=1))
    owner = c.add_teacher(*TEACHER)
    c.create_class(TEACHER[0], "Grade 4B", CODE)
    c.add_teacher("other@school.org", "Mr O", "password2")
    c.create_class("other@school.org", "Grade 5", "FOX-1")
    c.add_students(CODE, [("Ada", "1234"), ("Bo", "2345"), ("Cy", "3456"), (ODD_NAME, "4567")])
    c.add_students("FOX-1", [("Zed", "9999")])
    for quest in ("fraction-forest", "water-cycle"):
        c.publish(QUESTS / f"{quest}.yaml", by=owner)
        c.assign(quest.replace(".yaml", ""), CODE)
    ada, bo, cy = (c.login_student(CODE, n, p) for n, p in (("Ada", "1234"), ("Bo", "2345"),
                                                            ("Cy", "3456")))
    for s in (ada, bo, cy):
        to_gate(s)
    clock.now += timedelta(minutes=5)
    ada.submit(Q, "signpost", XSS)
    clock.now += timedelta(minutes=5)
    bo.submit(Q, "signpost", "My **sign**: 1/2 = 2/4")
    G = c.graph(Q)
    wrong = {n: {q.id: answer_for(q, False) for q in G.nodes[n]["node"].questions}
             for n in ("checkpoint", "practice-trail")}
    for attempt in range(3):
        cy.answer(Q, "checkpoint", wrong["checkpoint"])
        if attempt < 2:
            cy.complete(Q, "ranger-camp")
            cy.answer(Q, "practice-trail", wrong["practice-trail"])
    assert cy.progress(Q).state("checkpoint") == "fail"
    clock.now += timedelta(hours=1)
    return c, clock


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def find(root, cls, kind=None):
    root = getattr(root, "widget", root)
    return [x for x in walk(root) if cls in getattr(x, "_dom_classes", ())
            and (kind is None or isinstance(x, kind))]


def html_of(root) -> str:
    root = getattr(root, "widget", root)
    return "\n".join(x.value if isinstance(x, w.HTML) else x.html for x in walk(root)
                     if isinstance(x, (w.HTML, ClickTable)))


MESSAGE_BOXES = ("qe-tab-note", "qe-card-note", "qe-override-note", "qe-struggle-note")


def messages(page) -> str:
    """Every message the page shows now: its banner and the notes beside each action."""
    notes = [x.value for x in walk(page.widget) if isinstance(x, w.HTML)
             and set(x._dom_classes) & set(MESSAGE_BOXES)]
    return "\n".join([page.banner.value, *notes])


def login(page, email=TEACHER[0], password=TEACHER[2]):
    page.login.email.value, page.login.password.value = email, password
    page.login.button.click()


@pytest.fixture
def page(setup):
    c, _ = setup
    p = CenterPage(c)
    login(p)
    assert isinstance(p.session, TeacherSession)
    return p


def card_of(page, student_name):
    item = next(i for i in page.session.review_queue(CODE) if i.student_name == student_name)
    (card,) = find(page.queue_box, f"qe-review-{item.submission_id}")
    return item, card


class TagCheck(HTMLParser):
    """Collects every live tag and attribute in a piece of HTML."""

    def __init__(self):
        super().__init__()
        self.tags, self.attrs = Counter(), []

    def handle_starttag(self, tag, attrs):
        self.tags[tag] += 1
        self.attrs += [(tag, k, v) for k, v in attrs]


def live(html: str) -> TagCheck:
    t = TagCheck()
    t.feed(html)
    t.close()
    return t


# --- login --------------------------------------------------------------------------------------


def test_teacher_login_fills_every_tab(setup):
    c, _ = setup
    page = CenterPage(c)
    assert page.login.widget in page.widget.children
    login(page)
    assert isinstance(page.session, TeacherSession)
    assert page.tabs in page.widget.children and page.login.widget not in page.widget.children
    assert [page.tabs.get_title(i) for i in range(len(TAB_TITLES))] == TAB_TITLES
    assert page.class_pick.value == CODE and page.quest_pick.value == Q
    assert [o[1] for o in page.class_pick.options] == [CODE]  # not the other teacher's class
    # class map: every node, with counts matching the service
    overview = {n.node: n for n in page.session.class_overview(CODE, Q)}
    assert [n["id"] for n in page.map.nodes] == list(overview)
    assert page.map.counts == {n: o.as_map_counts() for n, o in overview.items()}
    assert page.map.counts["signpost"]["here"] == 3  # Ada and Bo wait for review, Cy may start
    assert overview["signpost"].pending_review == 2 and page.map.counts["checkpoint"]["fail"] == 1
    assert page.map.counts["trailhead"] == {"success": 3, "fail": 0, "here": 0, "not_reached": 1}
    assert page.states_chart.value[:8] == b"\x89PNG\r\n\x1a\n"
    # students grid, queue, struggling, mastery, modalities, overrides, exports
    grid = html_of(page.grid_box)
    for name in ("Ada", "Bo", "Cy"):
        assert f"title='Open the record'>{name}</button></th>" in grid
    assert len(find(page.queue_box, "qe-review-card")) == 2
    struggling = html_of(page.struggle_box)
    assert "Cy" in struggling and "did not pass the checkpoint “Ranger Checkpoint” 3 times" in struggling
    assert "has not started any quest yet" in struggling  # Eve never logged in
    assert "qe-mastery-grid" in html_of(page.mastery_box)
    assert "<td>video</td>" in html_of(page.modality_box)
    assert find(page.override_box, "qe-override")
    assert html_of(page.export_box).count("qe-download") == 3  # grid, mastery, supports
    assert "Traceback" not in html_of(page)


def test_wrong_password_shows_a_sentence(setup):
    c, _ = setup
    page = CenterPage(c)
    login(page, password="wrong-password")
    assert page.session is None
    assert "That email and password do not match." in page.login.message.value
    assert "Traceback" not in page.login.message.value


def test_a_students_credentials_are_refused_by_the_teacher_login(setup):
    c, _ = setup
    page = CenterPage(c)
    for email, password in ((CODE, "1234"), ("Ada", "1234")):
        login(page, email, password)
        assert page.session is None
        assert "do not match" in page.login.message.value


def test_a_student_session_is_refused_with_a_plain_sentence(setup):
    c, _ = setup
    page = CenterPage(c)
    student = c.login_student(CODE, "Ada", "1234")
    page.open(student)
    assert page.session is None
    assert not hasattr(page, "tabs")
    message = page.login.message.value
    assert "This page is for teachers. Students play on the play page." in message
    assert "Traceback" not in message and "Error" not in message
    assert page.login.widget in page.widget.children


def test_logout_returns_to_the_login(page):
    token = page.session.token
    find(page, "qe-logout")[0].click()
    assert page.session is None and page.login.widget in page.widget.children
    with pytest.raises(Exception, match="session has ended"):
        page.classroom.resume(token)


# --- review queue -----------------------------------------------------------------------------


def test_return_with_feedback_through_the_card(page, setup):
    c, _ = setup
    item, card = card_of(page, "Ada")
    (box,) = find(card, "qe-feedback-box", w.Textarea)
    box.value = "Please add a picture of your sign."
    find(card, "qe-return", w.Button)[0].click()
    reviews = c.store.reviews_of(item.student_id, Q, "signpost")
    assert [(r["decision"], r["feedback"]) for r in reviews] == [
        ("return", "Please add a picture of your sign.")]
    ada = c.login_student(CODE, "Ada", "1234")
    np = ada.progress(Q).nodes["signpost"]
    assert np.state == "returned" and np.feedback[-1].feedback == "Please add a picture of your sign."
    # the queue was redrawn: Ada's card is gone, Bo's is still there
    assert not find(page.queue_box, f"qe-review-{item.submission_id}")
    assert len(find(page.queue_box, "qe-review-card")) == 1
    assert page.map.counts["signpost"]["here"] == 3  # returned still counts as 'there now'
    # the teacher is told what happened
    assert "Ada's work on Repair a trail sign was returned." in html.unescape(messages(page))
    # she revises; the new round shows the earlier feedback in the card
    ada.submit(Q, "signpost", "Now with a picture.")
    page.refresh()
    item2, card2 = card_of(page, "Ada")
    assert item2.round == 2
    assert "Please add a picture of your sign." in html_of(card2) and "round 1: returned" in html_of(card2)


def test_return_without_feedback_is_refused_and_writes_nothing(page, setup):
    c, _ = setup
    item, card = card_of(page, "Bo")
    before = c.store.conn.execute("select count(*) from events").fetchone()[0]
    find(card, "qe-return", w.Button)[0].click()
    assert "Returning work needs feedback" in messages(page)
    assert c.store.conn.execute("select count(*) from events").fetchone()[0] == before
    assert find(page.queue_box, f"qe-review-{item.submission_id}")


def test_approve_and_fail_buttons(page, setup):
    c, _ = setup
    item, card = card_of(page, "Bo")
    find(card, "qe-approve", w.Button)[0].click()
    assert c.store.submission(item.submission_id)["status"] == "approved"
    item, card = card_of(page, "Ada")
    find(card, "qe-fail", w.Button)[0].click()
    assert c.store.submission(item.submission_id)["status"] == "failed"
    assert "Nothing waiting for review" in html_of(page.queue_box)
    assert page.map.counts["signpost"]["success"] == 1 and page.map.counts["signpost"]["fail"] == 1


def test_bulk_approve_the_ticked_cards(page, setup):
    c, _ = setup
    (bulk,) = find(page.queue_box, "qe-bulk-approve", w.Button)
    bulk.click()
    assert "Tick the submissions to approve first." in messages(page)
    ids = []
    for name in ("Ada", "Bo"):
        item, card = card_of(page, name)
        (tick,) = [x for x in walk(card) if isinstance(x, w.Checkbox)]
        tick.value = True
        ids.append(item.submission_id)
    find(page.queue_box, "qe-bulk-approve", w.Button)[0].click()
    assert [c.store.submission(i)["status"] for i in ids] == ["approved", "approved"]
    assert page.session.review_queue(CODE) == []
    assert "Nothing waiting for review" in html_of(page.queue_box)
    assert "Approved 2 submission(s)." in messages(page)


def test_bulk_approve_with_one_reviewed_meanwhile(page, setup):
    """Another tab approved Bo's work first: the rest is approved, the page says why one was not."""
    c, _ = setup
    ticks = {}
    for name in ("Ada", "Bo"):
        item, card = card_of(page, name)
        tick = next(x for x in walk(card) if isinstance(x, w.Checkbox))
        tick.value = True
        ticks[name] = item.submission_id
    other_tab = c.login_teacher(TEACHER[0], TEACHER[2])
    other_tab.review(ticks["Bo"], "approve")
    find(page.queue_box, "qe-bulk-approve", w.Button)[0].click()
    assert c.store.submission(ticks["Ada"])["status"] == "approved"
    assert "Approved 1 submission(s)." in messages(page)
    assert f"submission {ticks['Bo']}" in messages(page)


def test_submission_html_is_escaped_in_the_queue(page):
    item, card = card_of(page, "Ada")
    html = html_of(card)
    tags = live(html)
    assert tags.tags["script"] == 0 and tags.tags["img"] == 0
    assert not [a for a in tags.attrs if a[1].startswith("on")]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    # markdown still renders for ordinary work
    _, bo_card = card_of(page, "Bo")
    assert "<strong>sign</strong>" in html_of(bo_card)


def test_no_live_tag_from_names_or_work_anywhere_in_the_page(page):
    """The odd student name and the submission stay text in every tab (grid, struggling,
    mastery, overrides, exports, queue)."""
    page.map.selected = "signpost"  # the node detail lists names too
    for i, _ in enumerate(TAB_TITLES):
        page.tabs.selected_index = i
    html = html_of(page)
    tags = live(html)
    assert tags.tags["script"] == 0
    assert tags.tags["img"] == 0, [a for a in tags.attrs if a[0] == "img"]
    assert not [a for a in tags.attrs if a[1].startswith("on")]
    assert "Eve &lt;img src=x onerror=alert(2)&gt;" in html
    labels = [label for x in walk(page.widget) if isinstance(x, w.Dropdown)
              for label in x._options_labels]
    assert ODD_NAME in labels  # dropdown labels are text, rendered as text by the front end


# --- overrides ------------------------------------------------------------------------------------


def override_form(page):
    student, quest, node, op, reason, xp, badge, row = page.override_box.children[:8]
    return student, quest, node, op, reason, xp, badge, row.children[0]


def test_apply_an_override_from_the_form(page, setup):
    c, _ = setup
    cy = c.find_student(CODE, "Cy")["id"]
    student, quest, node, op, reason, xp, badge, go = override_form(page)
    student.value, quest.value = cy, Q
    node.value, op.value, reason.value = "checkpoint", "unlock", "we practised together"
    go.click()
    (last,) = [e for e in c.store.events(cy, Q) if e.type == "override"]
    assert (last.node, last.data["op"], last.data["reason"], last.role) == (
        "checkpoint", "unlock", "we practised together", "teacher")
    assert page.session.progress(cy, Q).state("checkpoint") == "available"
    assert "did not pass the checkpoint" in html_of(page.struggle_box)  # 3 fails stay on record
    assert page.map.counts["checkpoint"]["here"] == 3 and page.map.counts["checkpoint"]["fail"] == 0
    assert "Done: the change and its reason are recorded." in messages(page)
    assert "Done" in page.override_note.value  # beside the Apply button
    student, quest, node, op, *_ = override_form(page)  # the form was redrawn ...
    assert (student.value, quest.value, node.value, op.value) == (cy, Q, "checkpoint", "unlock")


def test_an_illegal_override_shows_a_sentence_and_writes_nothing(page, setup):
    c, _ = setup
    ada = c.find_student(CODE, "Ada")["id"]
    student, quest, node, op, reason, xp, badge, go = override_form(page)
    student.value, quest.value, node.value, op.value = ada, Q, "trailhead", "unlock"
    before = len(c.store.events(ada, Q))
    go.click()
    assert "nly a locked or closed node" in messages(page)
    assert len(c.store.events(ada, Q)) == before
    op.value, xp.value = "award", 0
    go.click()
    assert "n award needs XP, a badge, or both" in messages(page)
    assert "Traceback" not in messages(page)


def test_award_xp_from_the_form(page, setup):
    c, _ = setup
    bo = c.find_student(CODE, "Bo")["id"]
    student, quest, node, op, reason, xp, badge, go = override_form(page)
    before = page.session.progress(bo, Q).xp
    student.value, quest.value, node.value, op.value = bo, Q, "trailhead", "award"
    xp.value, badge.value, reason.value = 25, "helper", "helped a classmate"
    go.click()
    p = page.session.progress(bo, Q)
    assert p.xp == before + 25 and "helper" in p.badges


def test_the_step_shown_first_is_the_step_the_form_uses(page):
    """A <select> shows its first option when the value is None: the value must match it."""
    student, quest, node, op, reason, xp, badge, go = override_form(page)
    assert node.options and node.value == node.options[0][1]
    go.click()  # rebuilds the form after the change
    student, quest, node, *_ = override_form(page)
    assert node.value == node.options[0][1]


# --- other tabs ----------------------------------------------------------------------------------


def test_struggling_rules_can_be_changed(page):
    fails = next(x for x in walk(page.struggle_box) if isinstance(x, w.BoundedIntText)
                 and x.description == "fails ≥")
    fails.value = 4
    find(page.struggle_box, "qe-apply", w.Button)[0].click()
    assert page.rules.gate_fails == 4
    assert "did not pass the checkpoint" not in html_of(page.struggle_box)


def test_node_detail_lists_names_by_state(page):
    page.map.selected = "signpost"
    detail = page.node_detail.value
    assert "Repair a trail sign" in detail
    assert re.search(r"Waiting for review</strong>: (Ada, Bo|Bo, Ada)", detail)


def test_grid_sort_and_filter(page):
    sort, filt = page.grid_box.children[0].children
    table = page.grid_box.children[1]
    filt.value = "cy"
    assert "data-pick" in table.html and ">Cy</button>" in table.html and ">Ada<" not in table.html
    filt.value = ""
    sort.value = "done"
    names = re.findall(r"title='Open the record'>([^<]*)</button></th>", table.html)
    g = page.session.grid(CODE, Q)
    done = {s["name"]: s["done"] for s in g.students}
    assert [done[n.replace("&lt;", "<").replace("&gt;", ">")] for n in names] == sorted(
        done.values(), reverse=True)


def test_the_grid_export_link_is_the_grid_csv(page):
    html = html_of(page.export_box)
    links = re.findall(r"download='([^']*)' href='data:text/csv;charset=utf-8;base64,([^']*)'", html)
    assert [name for name, _ in links] == [f"{CODE}-{Q}-grid.csv", f"{CODE}-mastery.csv",
                                           f"{CODE}-supports.csv"]
    text = base64.b64decode(links[0][1]).decode("utf-8")
    assert text == grid_csv(page.session.grid(CODE, Q))
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 4 and "1234" not in text


def test_parent_report_button(page):
    pick = next(x for x in walk(page.export_box) if isinstance(x, w.Dropdown))
    pick.value = next(v for label, v in pick.options if label == ODD_NAME)
    find(page.export_box, "qe-report", w.Button)[0].click()
    html = html_of(page.export_box)
    (data,) = re.findall(r"href='data:text/html;charset=utf-8;base64,([^']*)'", html)
    report = base64.b64decode(data).decode("utf-8")
    assert "How Eve &lt;img src=x onerror=alert(2)&gt; is doing" in report
    assert live(report).tags["img"] == 0
    assert live(html).tags["img"] == 0  # the download link's label is escaped too


def test_switching_quest_redraws_the_map(page):
    page.quest_pick.value = "water-cycle"
    assert page.map.nodes[0]["id"] == "ocean"
    assert all(c["not_reached"] == 4 for c in page.map.counts.values())


def test_the_teacher_sets_a_students_supports_in_the_record(page):
    """Issue 15: the student record holds the supports form; the grid and the export show them."""
    student = next(x for x in page.grid_box.children if isinstance(x, w.Dropdown))
    ada = next(v for label, v in student.options if label == "Ada")
    student.value = ada
    form = page.grid_box.children[4]
    find(form, "qe-support-read-aloud", w.Checkbox)[0].value = True
    find(form, "qe-support-extra-attempts", w.BoundedIntText)[0].value = 2
    find(form, "qe-save-supports", w.Button)[0].click()
    assert "Ada's supports: read aloud, 2 more tries at checkpoints." in html_of(form)
    acc = page.session.accommodations(ada)
    assert acc.read_aloud and acc.extra_attempts == 2
    table = page.grid_box.children[1].html
    assert "<td class='qe-supports-cell'>read aloud, 2 more tries at checkpoints</td>" in table
    page._show_exports()
    html = html_of(page.export_box)
    (data,) = re.findall(r"download='[^']*-supports.csv' href='data:text/csv;charset=utf-8;"
                         r"base64,([^']*)'", html)
    rows = list(csv.reader(io.StringIO(base64.b64decode(data).decode("utf-8"))))
    assert rows[0] == ["student", "read_aloud", "larger_text", "extra_attempts", "extra_time",
                       "fewer_options", "simple_text"]
    assert ["Ada", "True", "False", "2", "1.0", "False", "False"] in rows


# --- struggling: actions beside each item, the record from the grid ------------------------------


def test_struggling_items_offer_actions_that_work(page, setup):
    c, _ = setup
    cy = c.find_student(CODE, "Cy")["id"]
    cards = [x for x in find(page.struggle_box, "qe-struggle-card")
             if "Cy" in html_of(x) and "Ranger Checkpoint" in html_of(x)]
    assert cards, html_of(page.struggle_box)
    card = cards[0]
    assert "No attempts left" in html_of(card)
    assert page.session.progress(cy, Q).state("checkpoint") == "fail"
    find(card, "qe-struggle-unlock", w.Button)[0].click()
    assert page.session.progress(cy, Q).state("checkpoint") == "available"
    (last,) = [e for e in c.store.events(cy, Q) if e.type == "override"]
    assert last.data["op"] == "unlock" and "struggling list" in last.data["reason"]
    assert "Done: Cy, one more attempt on Ranger Checkpoint." in messages(page)
    # the item is still there (the fails are not passed yet) but no longer out of attempts
    assert "Still trying (given another attempt)" in html_of(page.struggle_box)


def test_open_record_from_the_struggling_list_and_from_the_grid(page, setup):
    c, _ = setup
    cy = c.find_student(CODE, "Cy")["id"]
    card = [x for x in find(page.struggle_box, "qe-struggle-card") if "Cy" in html_of(x)][0]
    find(card, "qe-struggle-record", w.Button)[0].click()
    assert page.tabs.selected_index == 1 and page.record_pick.value == cy
    record = html_of(page.grid_box)
    assert "Ranger Checkpoint, attempt 1 (not passed" in record
    assert "Ranger Checkpoint, attempt 3 (not passed" in record
    assert "✗ wrong" in record and "{" not in record.split("qe-record")[-1]
    # a name clicked in the grid (the browser sets the pick) opens that record
    ada = c.find_student(CODE, "Ada")["id"]
    table = page.grid_box.children[1]
    table.set_state({"picked": ada, "clicks": table.clicks + 1})
    assert page.record_pick.value == ada


def test_message_a_struggling_student_from_the_card(page, setup):
    c, _ = setup
    cards = [x for x in find(page.struggle_box, "qe-struggle-card")
             if "Cy" in html_of(x) and "Ranger Checkpoint" in html_of(x)]
    card = cards[0]
    find(card, "qe-struggle-message", w.Button)[0].click()
    (box,) = find(card, "qe-message-text", w.Textarea)
    # a suggestion from the card's help line, addressed to the student, to edit
    assert box.value.startswith("Hi Cy,") and "“Ranger Checkpoint”" in box.value
    assert "Message to Cy" in box.description
    box.value = "Cy, come and see me about **the checkpoint**."
    find(card, "qe-message-send", w.Button)[0].click()
    assert "Sent to Cy" in html_of(card)
    cy = c.login_student(CODE, "Cy", "3456")
    assert [m["text"] for m in cy.unread_messages()] == [
        "Cy, come and see me about **the checkpoint**."]
    thread = html_of(find(card, "qe-message-thread")[0])
    assert "<strong>the checkpoint</strong>" in thread and "not read yet" in thread
    cy.mark_messages_read()
    find(card, "qe-message-cancel", w.Button)[0].click()  # closed, then opened again
    assert not find(card, "qe-message-text")
    find(card, "qe-struggle-message", w.Button)[0].click()
    assert "read 2026-09-07" in html_of(find(card, "qe-message-thread")[0])
    # an empty message is refused beside the form and sends nothing
    find(card, "qe-message-text", w.Textarea)[0].value = "  "
    find(card, "qe-message-send", w.Button)[0].click()
    assert "empty" in html_of(find(card, "qe-message-status")[0])
    assert len(cy.messages()) == 1


def test_message_the_whole_class_from_the_struggling_tab(page, setup):
    c, _ = setup
    (form,) = find(page.struggle_box, "qe-class-message")
    (box,) = find(form, "qe-class-message-text", w.Textarea)
    assert box.description == "Message to the whole class"
    find(form, "qe-class-message-send", w.Button)[0].click()  # empty: refused beside it
    assert "empty" in html_of(find(form, "qe-message-status")[0])
    box.value = "Quest day tomorrow: bring your **maps**."
    find(form, "qe-class-message-send", w.Button)[0].click()
    status = html_of(find(form, "qe-message-status")[0])
    assert re.search(r"Sent to \d+ students", status)
    cy = c.login_student(CODE, "Cy", "3456")
    assert [m["text"] for m in cy.unread_messages()] == [
        "Quest day tomorrow: bring your **maps**."]
    assert box.value == ""


def test_times_follow_the_browsers_time_zone(page, setup):
    # the fixture's clock: Ada handed in at 09:05 UTC on 2026-09-07
    def shown():
        item, card = card_of(page, "Ada")
        (when,) = re.findall(r"class='qe-when'>([^<]+)<", html_of(card))
        return when

    page.zone_probe._msg(None, {"type": "zone", "zone": "America/Chicago"}, [])
    assert shown() == "2026-09-07 04:05 CDT"
    page.zone_probe._msg(None, {"type": "zone", "zone": "Asia/Tokyo"}, [])
    assert shown() == "2026-09-07 18:05 JST"
    page.zone_probe._msg(None, {"type": "zone", "zone": "Not/AZone"}, [])  # ignored
    assert shown() == "2026-09-07 18:05 JST"
    assert str(page.session.time_zone) == "Asia/Tokyo"


def test_a_zone_reported_before_login_is_used_after_it(setup):
    c, _ = setup
    p = CenterPage(c)
    p.zone_probe._msg(None, {"type": "zone", "zone": "Asia/Tokyo"}, [])
    login(p)
    assert str(p.session.time_zone) == "Asia/Tokyo"
    assert "JST" in html_of(p.queue_box)


def test_a_served_center_draws_a_tab_when_it_is_opened(setup):
    c, _ = setup
    p = CenterPage(c, lazy=True)
    login(p)
    assert p.tabs.selected_index == 0 and find(p.widget, "qe-node-detail")[0].value
    assert p.struggle_box.children == () and p.queue_box.children == ()
    p.tabs.selected_index = 3
    assert find(p.struggle_box, "qe-struggle-card")
    assert p.queue_box.children == ()
    # an action redraws the open tab; the others are drawn afresh when opened
    card = [x for x in find(p.struggle_box, "qe-struggle-card") if "Cy" in html_of(x)][0]
    find(card, "qe-struggle-record", w.Button)[0].click()  # opens the Students tab
    assert p.tabs.selected_index == 1 and p.record_pick.value == c.find_student(CODE, "Cy")["id"]
    p.tabs.selected_index = 2
    assert len(find(p.queue_box, "qe-review-card")) == 2


def test_warming_reads_the_quests_before_anyone_logs_in(setup):
    c, _ = setup
    p = CenterPage(c, lazy=True)
    p.warm()
    assert p.session is None
    assert c.graph(Q) is c.graph(Q)  # read once, kept
