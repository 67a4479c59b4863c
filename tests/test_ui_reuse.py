"""The play page redraws by reusing its widgets: what a click sends, and what it leaves behind.

Every comm message the widgets would send to the browser is recorded (no kernel: the
comm's ``publish_msg`` is replaced), as a served page's kernel would send them. The map's
messages are replayed into a stand-in for the browser's model of the map, which must then
draw the states the service holds.
"""
import html
import subprocess
import sys
from pathlib import Path

import comm
import ipywidgets as w
import pytest
from ipywidgets.widgets import widget as widget_module

from questengine.classroom import Classroom
from questengine.engine import Event, replay
from questengine.graph import quest_graph
from questengine.loader import load_quest
from questengine.ui.play import PlayPage
from questengine.ui.questmap import QuestMap, map_nodes
from questengine.ui.reuse import SPARES, Reuse

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
def by_widget(monkeypatch):
    """Every message the widgets publish: (comm id, msg_type, data)."""
    log: list[tuple[str, str, dict]] = []
    monkeypatch.setattr(comm.DummyComm, "publish_msg",
                        lambda self, msg_type, data=None, *a, **k:
                        log.append((self.comm_id, msg_type, data)))
    return log


class BrowserMap:
    """The browser's model of one map widget, built from the messages the kernel sent."""

    def __init__(self, log, widget):
        self.state: dict = {}
        for comm_id, msg_type, data in log:
            if comm_id != widget.comm.comm_id:
                continue
            if msg_type == "comm_open" or data.get("method") == "update":
                self.state.update(data["state"])

    def drawn(self) -> list[dict]:
        """The nodes as the front end draws them: the list with the patch over it."""
        patch = self.state.get("patch", {})
        return [{**n, **patch.get(n["id"], {})} for n in self.state["nodes"]]


def map_messages(log, widget) -> list[dict]:
    return [d for c, t, d in log if c == widget.comm.comm_id and t == "comm_msg"]


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


def test_an_old_panels_buttons_are_closed_or_spares_that_do_nothing(page):
    open_the_choice(page)
    page.map.set_state({"selected": "learn"})  # the choice: one card per option
    cards = [b for b in walk(page.panel) if "qe-option" in b._dom_classes]
    assert len(cards) == 4
    page.map.set_state({"selected": "trailhead"})  # fewer buttons: the story's Done...
    shown = list(walk(page.panel))
    # ...so each card is one of the new panel's buttons (its label and action now the new
    # one's), a spare kept for the next drawings (on no page, with no action), or closed: a
    # message the browser (or a forger) sends to a closed model reaches no handler
    on_page = [c for c in cards if any(c is x for x in shown)]
    closed = [c for c in cards if c.comm is None]
    spares = [c for c in cards if c not in on_page and c not in closed]
    assert on_page and spares and len(spares) <= SPARES
    assert all(all(c is not x for x in widget_module._instances.values()) for c in closed)
    before = page.session.progress("fraction-forest")
    for spare in spares:  # a forged click on a spare: nothing happens
        spare._handle_button_msg(None, {"event": "click"}, [])
    assert page.session.progress("fraction-forest").nodes == before.nodes
    assert page.selected == "trailhead"


def test_spares_are_taken_again_instead_of_new_widgets(by_widget, page):
    open_the_choice(page)
    for node in ("learn", "trailhead", "fold-map"):  # every panel shape once
        page.map.set_state({"selected": node})
    del by_widget[:]
    kind_of = {x.comm.comm_id: type(x) for x in widget_module._instances.values() if x.comm}
    for node in ("learn", "trailhead", "fold-map", "learn"):
        page.map.set_state({"selected": node})
        assert html.escape(page.G.nodes[node]["node"].title) in panel_text(page)
    opened = [d["state"]["_model_name"] for _c, t, d in by_widget if t == "comm_open"]
    assert not {"HTMLModel", "ButtonModel", "TextareaModel"} & set(opened)
    closed = {kind_of.get(c) for c, t, _d in by_widget if t == "comm_close"}
    assert not {w.HTML, w.Button, w.Textarea} & closed  # (the choice's box of cards goes)


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
    assert b.comm is not None and b not in area.children  # no longer shown: a spare
    with reuse.drawing(area):
        d = reuse.button("D", lambda: None, "", ("z",), reuse.layout(width="auto"))
        e = reuse.button("E", lambda: None, "", ("z",), reuse.layout(width="auto"))
        area.children = [d, e]
    assert (d, e) == (a, b) and e.description == "E"  # the spare, taken again
    spares = [reuse.button(str(i), lambda: None, "", (), reuse.layout()) for i in range(9)]
    with reuse.drawing(area):
        area.children = spares
    with reuse.drawing(area):
        area.children = []
    assert sum(1 for x in [a, b, *spares] if x.comm is not None) == SPARES  # the rest: closed
    reuse.forget()
    assert all(x.comm is None for x in [a, b, *spares])


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


def test_an_action_sends_the_maps_changed_states_not_its_node_list(by_widget, page):
    drawn_first = BrowserMap(by_widget, page.map).state["nodes"]  # the list sent at login
    already = len(map_messages(by_widget, page.map))
    done_button(page).click()  # the story is done: it succeeds, the task opens
    page.map.set_state({"selected": "fold-map"})
    sent = map_messages(by_widget, page.map)[already:]
    assert sent and not any("nodes" in d.get("state", {}) for d in sent)  # no node list again
    patches = [d["state"]["patch"] for d in sent if "patch" in d.get("state", {})]
    assert patches and set(patches[-1]) <= {n["id"] for n in drawn_first}
    assert all(set(fields) <= {"state", "info"} for fields in patches[-1].values())
    # what the browser draws is the service's progress, and Python's list says the same
    browser = BrowserMap(by_widget, page.map)
    progress = page.session.progress("fraction-forest")
    assert {n["id"]: n["state"] for n in browser.drawn()} == {
        n: np.state for n, np in progress.nodes.items()}
    assert browser.drawn() == page.map.nodes == map_nodes(page.G, progress, page.map.aspect)
    states = {n["id"]: n["state"] for n in browser.drawn()}
    assert states["trailhead"] == "success" and states["fold-map"] == "in_progress"
    assert {n["id"]: n["state"] for n in browser.state["nodes"]}["fold-map"] == "locked"


FOREST = ROOT / "quests" / "fraction-forest.yaml"


def test_the_map_sends_its_whole_list_only_when_the_map_changes(by_widget):
    G = quest_graph(load_quest(FOREST))
    m = QuestMap()
    m.show(G, replay(G, []))
    start = next(n for n in G.graph["order"] if replay(G, []).nodes[n].state == "available")
    assert m.patch == {}
    del by_widget[:]
    m.show(G, _done(G, start))
    (update,) = map_messages(by_widget, m)
    assert "nodes" not in update["state"] and update["state"]["patch"][start]["state"] == "success"

    del by_widget[:]
    m.set_state({"aspect": 0.6})  # a phone turned: new places, the whole list, no patch
    (update,) = [d for d in map_messages(by_widget, m) if "nodes" in d["state"]]
    assert update["state"]["patch"] == {} and m.patch == {}
    assert BrowserMap(by_widget, m).state["nodes"] == m.nodes

    del by_widget[:]
    quest = load_quest(FOREST)
    quest.nodes[-1].title = "Die Lichtung"  # the quest in another language: new titles
    other = quest_graph(quest)
    m.show(other, _done(other, start))
    (update,) = [d for d in map_messages(by_widget, m) if "nodes" in d["state"]]
    assert "Die Lichtung" in [n["title"] for n in update["state"]["nodes"]]
    assert m.patch == {}

    m.show(other, replay(other, []))
    assert m.patch  # the states went back: a patch again...
    m.nodes = [{**n, "sub": "3 here"} for n in m.nodes]  # ...until a page sets the list itself
    assert m.patch == {}


def _done(G, node):
    return replay(G, [Event(node=node, type="open"), Event(node=node, type="complete")])
