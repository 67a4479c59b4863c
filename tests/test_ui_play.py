"""The play page's widgets driven from Python, as the browser would (no kernel, no browser)."""
import html
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from questengine.classroom import Classroom
from questengine.ui.play import PlayPage

QUESTS = Path(__file__).resolve().parent.parent / "quests"


@pytest.fixture
def classroom():
    c = Classroom(":memory:", hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    owner = c.add_teacher("t@school.org", "Ms T", "password1")
    c.create_class("t@school.org", "4B", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    c.publish(QUESTS / "fraction-forest.yaml", by=owner)
    c.assign("fraction-forest", "OWL-1")
    return c


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def find(page, cls, kind=None):
    return [w for w in walk(page.widget) if cls in w._dom_classes
            and (kind is None or isinstance(w, kind))]


def login(page, code="OWL-1", name="Ada", pin="1234"):
    # as the browser sends it: every field's value with the submit message
    page.login.form.submit(code=code, name=name, pin=pin)


def test_wrong_pin_shows_a_sentence_and_no_session(classroom):
    page = PlayPage(classroom)
    login(page, pin="9999")
    assert page.session is None
    assert "do not match" in page.login.form.message
    assert "Traceback" not in page.login.form.message


def test_login_shows_map_and_first_node(classroom):
    page = PlayPage(classroom)
    login(page)
    assert page.session is not None
    assert len(page.map.nodes) == 10
    assert page.map.selected == "trailhead"
    assert find(page, "qe-do")  # the story's Done button
    assert "Ada" in page.header.value


def test_done_button_completes_and_unlocks(classroom):
    page = PlayPage(classroom)
    login(page)
    find(page, "qe-do")[0].click()
    states = {n["id"]: n["state"] for n in page.map.nodes}
    assert states["trailhead"] == "success"
    assert "available" in states.values()


def test_locked_node_shows_why_and_no_action(classroom):
    page = PlayPage(classroom)
    login(page)
    locked = next(n["id"] for n in page.map.nodes if n["state"] == "locked")
    page.map.selected = locked  # as a click in the browser would set it
    text = " ".join(w.value for w in walk(page.panel) if hasattr(w, "value") and isinstance(w.value, str))
    assert "is locked: it opens after" in text
    assert not find(page, "qe-do")


def test_forged_button_on_locked_node_writes_nothing(classroom):
    page = PlayPage(classroom)
    login(page)
    sid = page.session._row["id"]
    before = len(classroom.store.events(sid, "fraction-forest"))
    locked = next(n["id"] for n in page.map.nodes if n["state"] == "locked")
    # a forged click: the handler runs for a node the student may not complete
    page.selected = locked
    page._act("complete", locked)
    assert len(classroom.store.events(sid, "fraction-forest")) == before
    assert "cannot complete" in page.banner.value
    assert "Traceback" not in page.banner.value


def test_forged_answer_outside_the_options_is_refused(classroom):
    page = PlayPage(classroom)
    login(page)
    progress = page.session.progress("fraction-forest")
    G = page.G
    for n in G.graph["order"]:  # play until the gate is open
        node = G.nodes[n]["node"]
        if progress.nodes[n].state not in ("available", "in_progress") or node.kind == "gate":
            continue
        if node.kind == "choice":
            self_opt = next(o for o in node.options if o.complete == "self")
            page.session.choose("fraction-forest", n, self_opt.id)
            progress = page.session.complete("fraction-forest", n)
        elif node.kind in ("story", "task") and getattr(node, "complete", "self") == "self":
            progress = page.session.complete("fraction-forest", n)
    gate = next(n for n in G if G.nodes[n]["node"].kind == "gate")
    assert page.session.progress("fraction-forest").nodes[gate].state == "available"
    page._open_quest("fraction-forest")
    page.map.selected = gate  # as a click on the map
    questions = G.nodes[gate]["node"].questions
    multi = next(q for q in questions if q.type == "multi")
    # every question answered right through its widgets, as a student would...
    for q in questions:
        (field,) = find(page, f"qe-answer-{q.id}")
        if q.type == "choice":
            field.set_state({"index": q.options.index(q.answer)})
        elif q.type == "multi":
            for box in field.children:
                box.set_state({"value": box.description in q.answer})
        else:
            field.set_state({"value": f"{q.answer:g}" if q.type == "number" else q.accept[0]})
    # ...then one checkbox relabelled from the browser to an answer nobody offered
    (group,) = find(page, f"qe-answer-{multi.id}")
    group.children[0].set_state({"description": "FORGED", "value": True})
    sid = page.session._row["id"]
    before = len(classroom.store.events(sid, "fraction-forest"))
    (button,) = find(page, "qe-do")
    button.click()
    shown = html.unescape(page.banner.value)
    assert f"'FORGED' not among the choices of question '{multi.id}'" in shown, shown
    assert "Traceback" not in page.banner.value
    assert len(classroom.store.events(sid, "fraction-forest")) == before
    assert page.session.progress("fraction-forest").nodes[gate].state == "in_progress"


def test_logout_returns_to_login(classroom):
    page = PlayPage(classroom)
    login(page)
    page.logout.click()
    assert page.session is None
    assert page.login.widget in page.widget.children


# --- feedback, news, materials and uploads (issue 14) --------------------------------------------

def text_of(widget):
    return " ".join(w.value for w in walk(widget) if isinstance(getattr(w, "value", None), str))


def play_to_gate(page):
    s = page.session
    for n in ("trailhead", "fold-map"):
        s.complete("fraction-forest", n)
    s.choose("fraction-forest", "learn", "video")
    s.complete("fraction-forest", "learn")
    page._open_quest("fraction-forest")


def test_the_login_form_says_what_is_missing(classroom):
    page = PlayPage(classroom)
    page.login.form.submit(code="OWL-1", name="", pin="")
    assert page.login.form.message == "Please type your name and your PIN."
    assert page.session is None


def test_a_failed_gate_says_what_to_do_and_goes_to_the_practice(classroom):
    page = PlayPage(classroom)
    login(page)
    play_to_gate(page)
    gate = page.G.nodes["checkpoint"]["node"]
    page.map.selected = "checkpoint"
    wrong = {q.id: (next(o for o in q.options if o != q.answer) if q.type == "choice" else
                    ["2/3"] if q.type == "multi" else "7") for q in gate.questions}
    page._act("answer", "checkpoint", wrong)
    text = text_of(page.panel)
    assert "Not yet! You got 0 of 5 right, and you need 4 to pass." in text
    assert "Mastery" not in text and "needed" not in text
    assert all(q.explanation.split()[0] in text for q in gate.questions if q.explanation)
    go = find(page, "qe-go")
    assert go and go[0].description == "Go to “Back to Ranger Camp” ➜"
    go[0].click()
    assert page.map.selected == "ranger-camp"
    assert "Back to Ranger Camp" in text_of(page.panel)


def test_an_unanswered_question_is_named_by_its_number(classroom):
    page = PlayPage(classroom)
    login(page)
    play_to_gate(page)
    page.map.selected = "checkpoint"
    sid = page.session._row["id"]
    before = len(classroom.store.events(sid, "fraction-forest"))
    find(page, "qe-do")[0].click()  # nothing answered
    assert "Questions 1, 2, 3, 4 and 5 have no answer yet" in page.banner.value
    assert "'g1'" not in page.banner.value
    assert len(classroom.store.events(sid, "fraction-forest")) == before


def test_a_teachers_review_reaches_an_open_page(classroom):
    page = PlayPage(classroom)
    login(page)
    play_to_gate(page)
    page.session.submit("fraction-forest", "signpost", "my sign")
    page._open_quest("fraction-forest")
    page.map.selected = "signpost"
    assert page.check_news() is False  # nothing new yet
    teacher = classroom.login_teacher("t@school.org", "password1")
    item = teacher.review_queue()[0]
    teacher.review(item.submission_id, "return", "Label both fractions, please.")
    assert page.check_news() is True
    assert "sent “Repair a trail sign” back" in page.banner.value
    assert {n["id"]: n["state"] for n in page.map.nodes}["signpost"] == "returned"
    panel = list(walk(page.panel))
    note = next(i for i, w in enumerate(panel) if "qe-feedback" in str(getattr(w, "value", "")))
    box = next(i for i, w in enumerate(panel) if "qe-submission" in w._dom_classes)
    assert note < box and "Label both fractions" in panel[note].value


def test_files_go_with_the_submission(classroom):
    from questengine.ui.media import UploadBox

    page = PlayPage(classroom)
    login(page)
    play_to_gate(page)
    page.map.selected = "signpost"
    upload = next(w for w in walk(page.panel) if isinstance(w, UploadBox))
    photo = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    upload._on_msg(upload, {"type": "add", "name": "sign.png", "size": len(photo)}, [photo])
    assert upload.chosen == [{"name": "sign.png", "size": len(photo)}]
    find(page, "qe-do")[0].click()
    assert {n["id"]: n["state"] for n in page.map.nodes}["signpost"] == "pending_review"
    rows = page.session.my_files("fraction-forest", "signpost")
    assert [(r["name"], r["mime"]) for r in rows] == [("sign.png", "image/png")]
    assert "sign.png" in text_of(page.panel)


def test_the_browser_cannot_slip_in_a_file_over_the_limit(classroom):
    from questengine.ui.media import UploadBox

    box = UploadBox(limit=10)
    box._on_msg(box, {"type": "add", "name": "big.png", "size": 1}, [b"\x89PNG\r\n\x1a\n" * 3])
    assert box.files == [] and "bigger than" in box.message


# --- accommodations (issue 15): set by the teacher, applied by the service, shown here ---------


def set_supports(classroom, **settings):
    teacher = classroom.login_teacher("t@school.org", "password1")
    ada = classroom.find_student("OWL-1", "Ada")
    return teacher.set_accommodations(ada["id"], **settings)


def texts(widget):
    return " ".join(w.value for w in walk(widget) if isinstance(getattr(w, "value", None), str))


def test_a_student_without_supports_gets_no_extra_controls(classroom):
    from questengine.ui.media import ReadAloud

    page = PlayPage(classroom)
    login(page)
    assert not [w for w in walk(page.widget) if isinstance(w, ReadAloud)]
    assert "qe-larger" not in page.widget._dom_classes
    assert "Fractions name parts of a whole" in texts(page.panel)


def test_read_aloud_larger_text_and_simpler_text_reach_the_page(classroom):
    from questengine.ui.media import ReadAloud

    set_supports(classroom, read_aloud=True, larger_text=True, simple_text=True)
    page = PlayPage(classroom)
    login(page)
    assert "qe-larger" in page.widget._dom_classes
    spoken = [w.text for w in walk(page.panel) if isinstance(w, ReadAloud)]
    assert any(t.startswith("You meet Ranger Rosa") for t in spoken)  # the story
    assert any("Some fractions look different" in t for t in spoken)  # the simpler text
    assert "Fractions name parts of a whole" not in texts(page.panel)
    assert "Some fractions look different" in texts(page.panel)
    # the Done button is announced for screen readers
    find(page, "qe-do")[0].click()
    assert "“The storm-blown trail”: Done." in html.unescape(page.announcer.value)
    # logging out takes the supports away from the next person at this screen
    page._logout()
    assert "qe-larger" not in page.widget._dom_classes


def test_fewer_options_and_more_tries_at_the_gate(classroom):
    set_supports(classroom, fewer_options=True, extra_attempts=2)
    student = classroom.login_student("OWL-1", "Ada", "1234")
    for n in ("trailhead", "fold-map"):
        student.complete("fraction-forest", n)
    student.choose("fraction-forest", "learn", "video")
    student.complete("fraction-forest", "learn")
    page = PlayPage(classroom)
    login(page)
    page.map.selected = "checkpoint"
    (g1,) = find(page, "qe-answer-g1")
    assert list(g1.options) == ["3/4", "4/6"]
    assert page.G.nodes["checkpoint"]["node"].max_attempts == 3 + 2  # the service's graph
    page._show_profile()
    assert "2 more tries at checkpoints" in texts(page.profile_box)


TIMED_QUEST = """
id: timed
title: Timed fractions
nodes:
  - id: sprint
    kind: quiz
    title: Fraction sprint
    time_limit: 10
    questions:
      - {id: s1, type: choice, prompt: Which equals 1/2?, options: ["2/4", "2/3"], answer: "2/4"}
  - {id: end, kind: end, title: End}
edges:
  - [sprint, end]
"""


def timed_classroom(extra_time=1.0):
    from datetime import datetime, timedelta, timezone

    from questengine import loads_quest

    class Clock:
        now = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)

        def __call__(self):
            return self.now

        def advance(self, **delta):
            self.now += timedelta(**delta)

    clock = Clock()
    c = Classroom(":memory:", clock=clock,
                  hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    owner = c.add_teacher("t@school.org", "Ms T", "password1")
    c.create_class("t@school.org", "4B", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    c.publish(loads_quest(TIMED_QUEST), by=owner)
    c.assign("timed", "OWL-1")
    if extra_time > 1:
        set_supports(c, extra_time=extra_time)
    return c, clock


def test_a_timed_quiz_starts_with_start_and_counts_down_from_the_services_clock():
    from questengine.ui.countdown import Countdown

    c, clock = timed_classroom(extra_time=1.5)
    page = PlayPage(c)
    login(page)
    assert page.map.selected == "sprint"
    assert "you have 15 minutes" in texts(page.panel)  # 10 minutes, more time x1.5
    assert "Your teacher gave you extra time." in texts(page.panel)
    assert not find(page, "qe-answer-s1")  # the questions wait for Start
    assert page.progress.nodes["sprint"].state == "available"  # selecting did not start it
    clock.advance(minutes=30)  # looking at it costs no time
    (start,) = find(page, "qe-start")
    start.click()
    (countdown,) = [w for w in walk(page.panel) if isinstance(w, Countdown)]
    assert countdown.seconds == 15 * 60
    (s1,) = find(page, "qe-answer-s1")
    clock.advance(minutes=14)
    s1.value = "2/4"
    find(page, "qe-do")[-1].click()
    assert page.progress.state("sprint") == "success"


def test_an_answer_after_the_time_is_up_says_so_and_counts_as_not_passed():
    from questengine.ui.countdown import Countdown

    c, clock = timed_classroom()
    page = PlayPage(c)
    login(page)
    find(page, "qe-start")[0].click()
    clock.advance(minutes=11)
    page._render_panel()  # drawn again: the countdown starts from the service's seconds left
    (countdown,) = [w for w in walk(page.panel) if isinstance(w, Countdown)]
    assert countdown.seconds == 0
    find(page, "qe-do")[-1].click()  # nothing chosen: at time up, what there is goes in
    assert page.progress.state("sprint") == "fail" and page.progress.nodes["sprint"].time_up
    assert "Time was up before your answers came in" in texts(page.panel)
    assert "Time was up." in html.unescape(page.announcer.value)
