"""The play page redraws by reusing its widgets: what a click sends, and what it leaves behind.

Every comm message the widgets would send to the browser is recorded (no kernel: the
comm's ``publish_msg`` is replaced), as a served page's kernel would send them.
"""
import subprocess
import sys
from pathlib import Path

import comm
import ipywidgets as w
import pytest
from ipywidgets.widgets import widget as widget_module

from questengine.classroom import Classroom
from questengine.ui.play import PlayPage
from questengine.ui.reuse import Reuse

from helpers import cheap_hasher

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sent(monkeypatch):
    """Every message the widgets publish: (msg_type, data)."""
    log: list[tuple[str, dict]] = []
    monkeypatch.setattr(comm.DummyComm, "publish_msg",
                        lambda self, msg_type, data=None, *a, **k: log.append((msg_type, data)))
    return log


@pytest.fixture
def page():
    c = Classroom(":memory:", hasher=cheap_hasher())
    owner = c.add_teacher("t@school.org", "Ms T", "password1")
    c.create_class("t@school.org", "4B", "OWL-1")
    c.add_student("OWL-1", "Ada", "1234")
    c.publish(ROOT / "quests" / "fraction-forest.yaml", by=owner)
    c.assign("fraction-forest", "OWL-1")
    p = PlayPage(c)
    p.login.form.submit(code="OWL-1", name="Ada", pin="1234")
    return p


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def done_button(page):
    return next(b for b in walk(page.panel) if "qe-do" in b._dom_classes)


def opened(log):
    return [d["state"]["_model_name"] for t, d in log if t == "comm_open"]


def panel_text(page):
    return " ".join(x.value for x in walk(page.panel) if isinstance(x, w.HTML))


def test_next_step_reuses_the_panel_widgets_and_shows_the_new_step(page, sent):
    story = done_button(page)
    done_button(page).click()  # the story is done: the map selects nothing new
    del sent[:]
    page.map.set_state({"selected": "fold-map"})  # as a click on the map sends it
    assert page.G.nodes["fold-map"]["node"].title in panel_text(page)
    assert opened(sent) == []  # no new widget: the last drawing's texts and button, new words
    task = done_button(page)
    assert task is story and task.description.startswith("Done")
    updates = [d for t, d in sent if t == "comm_msg"]
    assert updates and all(d["method"] in ("update", "echo_update") for d in updates)


def test_a_reused_button_does_the_new_steps_action(page):
    done_button(page).click()  # trailhead done
    page.map.set_state({"selected": "fold-map"})
    done_button(page).click()  # the same button model, now for the task
    states = {n["id"]: n["state"] for n in page.map.nodes}
    assert states["trailhead"] == "success" and states["fold-map"] == "success"


def open_the_choice(page):
    """Play the story and the task, so the choice step ("learn") is open."""
    for node in ("trailhead", "fold-map"):
        page.map.set_state({"selected": node})
        done_button(page).click()


def test_widgets_no_longer_shown_are_closed(page):
    open_the_choice(page)

    def live():
        return sum(1 for x in widget_module._instances.values() if x.comm is not None)

    counts = []
    for node in ["fold-map", "learn", "trailhead"] * 3:
        page.map.set_state({"selected": node})
        counts.append(live())
    # the same three panels again and again: as many live widgets each time round (the
    # first round made the area's shared layouts)
    assert counts[3:6] == counts[6:9]


def test_an_old_panels_buttons_are_closed(page):
    open_the_choice(page)
    page.map.set_state({"selected": "learn"})  # the choice: one card per option
    cards = [b for b in walk(page.panel) if "qe-option" in b._dom_classes]
    assert len(cards) == 4
    page.map.set_state({"selected": "trailhead"})  # fewer buttons: the story's Done...
    shown = list(walk(page.panel))
    # ...so each card is either one of the new panel's buttons (its label and action now
    # the new one's) or closed: a message the browser (or a forger) sends to a closed model
    # reaches no handler
    assert all(any(c is x for x in shown) or c.comm is None for c in cards)
    closed = [c for c in cards if c.comm is None]
    assert closed and all(all(c is not x for x in widget_module._instances.values())
                          for c in closed)


def test_logout_leaves_no_widget_of_the_session_open(page):
    open_the_choice(page)
    page.map.set_state({"selected": "learn"})
    shown = [x for x in walk(page.panel)] + [x for x in walk(page.quest_list)]
    page._logout()
    assert all(x.comm is None for x in shown)


def test_an_area_shares_one_layout_per_look():
    reuse = Reuse()
    area = w.VBox()
    with reuse.drawing(area):
        a = reuse.button("A", lambda: None, "", ("x",), reuse.layout(width="auto"))
        b = reuse.button("B", lambda: None, "", ("y",), reuse.layout(width="auto"))
        area.children = [a, b]
    assert a.layout is b.layout and a.style is b.style
    with reuse.drawing(area):
        c = reuse.button("C", lambda: None, "", ("z",), reuse.layout(width="auto"))
        area.children = [c]
    assert c is a and c.description == "C" and c._dom_classes == ("z",)
    assert b.comm is None  # no longer shown


def test_a_page_kernel_does_not_load_pandas(tmp_path):
    """sqlite-utils would import pandas and numpy (about 40 MB a kernel) when installed."""
    db = tmp_path / "c.db"
    Classroom(str(db), hasher=cheap_hasher()).store.close()
    code = ("import os, sys; os.environ['QUESTENGINE_DB'] = sys.argv[1]\n"
            "from questengine.ui.play import PlayPage\n"
            "PlayPage.from_env()\n"
            "print('pandas' in sys.modules, 'numpy' in sys.modules)\n"
            "import pandas\n"  # still importable afterwards (the test extra has it)
            "print(pandas.__name__)\n")
    out = subprocess.run([sys.executable, "-c", code, str(db)], capture_output=True, text=True,
                         timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["False", "False", "pandas"]
