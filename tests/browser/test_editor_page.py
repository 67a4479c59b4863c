"""The quest map editor in Chromium, used with the mouse as a teacher would.

Voilà serves a copy of the notebooks over a tmp classroom database (one teacher,
one class) and a tmp quests folder (a copy of fraction-forest and a generated
500-node quest). The teacher logs in, picks node kinds on the palette, clicks
the canvas to add nodes, drags ports to connect them, clicks paths to choose
their conditions, and saves. Text is typed only into text fields (login, titles,
the quest id and the file name). Screenshots go to the session's ``shots_dir`` (under
pytest's tmp_path, see conftest.py) as ``editor-*.png``.

The helpers here (:class:`EditorTab`, :func:`big_quest_data`, :func:`start_editor_server`)
are used by ``benchmarks/editor.py`` as well.
"""
from __future__ import annotations

import random
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from questengine.authoring import QuestDraft
from questengine.classroom import Classroom
from questengine.graph import validate
from questengine.loader import load_quest, parse_quest, save_quest
from questengine.server import VoilaServer, free_port, notebooks_dir

from axe import assert_no_axe_violations
from conftest import settle, still

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TEACHER = ("editor@test.school", "Mr. Okafor", "editor-pass-1")
CLASS_CODE = "EDIT-1"
BIG_FILE = "map-500.yaml"  # sorts after fraction-forest.yaml, which the editor opens at login
WAIT_MS = 30_000
BIG_WAIT_MS = 120_000  # a 500-node map opened or laid out on a loaded machine
NODE_W, NODE_H = 170, 50  # widgets/questmap.js

# --- a generated big quest ----------------------------------------------------------------------


def big_quest_data(n_nodes: int = 500, width: int = 5, seed: int = 7) -> dict:
    """A valid quest of ``n_nodes`` nodes: layers of ``width`` nodes, each joined to two nodes
    of the layer before, a mastery gate with a practice loop every eight layers, one end.
    Hand positions are a shuffled grid, so an auto-layout visibly changes the map."""
    rng = random.Random(seed)
    quiz = {"pass_score": 0.5, "questions": [
        {"id": "q1", "type": "choice", "prompt": "2/4 = ?", "options": ["1/2", "1/3"],
         "answer": "1/2"}]}
    kinds = ["story", "task", "quiz", "task", "story"]
    nodes: list[dict] = []
    edges: list[dict] = []
    layers: list[list[tuple[str, str]]] = []
    layer_no = 0
    while len(nodes) < n_nodes - 1:
        layer = []
        for j in range(width):
            if len(nodes) >= n_nodes - 1:
                break
            node_id = f"n{layer_no}-{j}"
            if layer_no % 8 == 4 and j == 0 and len(nodes) + 2 <= n_nodes - 1:
                practice = f"{node_id}-practice"
                nodes.append({"id": node_id, "kind": "gate", "title": f"Gate {layer_no}",
                              "threshold": 0.8, "max_attempts": 3,
                              "questions": quiz["questions"]})
                nodes.append({"id": practice, "kind": "task", "title": f"Practice {layer_no}"})
                edges += [{"from": node_id, "to": practice, "when": "fail"},
                          {"from": practice, "to": node_id, "when": "retry"}]
                layer.append((node_id, "success"))
                continue
            kind = kinds[(layer_no + j) % len(kinds)]
            node = {"id": node_id, "kind": kind, "title": f"{kind.title()} {layer_no}.{j}"}
            if kind == "quiz":
                node.update(quiz)
            nodes.append(node)
            layer.append((node_id, "done"))
        if layers:
            prev = layers[-1]
            for j, (node_id, _) in enumerate(layer):
                for source, when in sorted({prev[j % len(prev)], prev[(j + 1) % len(prev)]}):
                    edges.append({"from": source, "to": node_id, "when": when})
        layers.append(layer)
        layer_no += 1
    nodes.append({"id": "finish", "kind": "end", "title": "The end", "rewards": {"xp": 100}})
    edges += [{"from": source, "to": "finish", "when": when} for source, when in layers[-1]]
    slots = [(i % 25 * 200, i // 25 * 90) for i in range(len(nodes))]
    rng.shuffle(slots)
    for node, (x, y) in zip(nodes, slots):
        node["position"] = [x, y]
    return {"id": "big-map", "title": "A very big map", "version": 1, "nodes": nodes,
            "edges": [[e["from"], e["to"]] if e["when"] == "done" else e for e in edges]}


def write_big_quest(path: Path, n_nodes: int = 500) -> Path:
    quest = parse_quest(big_quest_data(n_nodes), str(path))
    assert not validate(quest), validate(quest)[:3]
    quest._source = None
    save_quest(quest, path)
    return path


# --- Voilà over a tmp classroom and quests folder ---------------------------------------------------




@dataclass
class EditorServer:
    server: VoilaServer
    base: Path
    quests: Path
    notebooks: Path
    log_path: Path

    @property
    def url(self) -> str:
        return self.server.url("author")


def start_editor_server(base: Path, n_big: int = 500) -> EditorServer:
    """Voilà on a free port over ``base``: a classroom with one teacher and a class, a quests
    folder (fraction-forest and a generated big quest) and a copy of the notebooks (the
    kernels' working folder, so nothing a page writes lands in the repository)."""
    base.mkdir(parents=True, exist_ok=True)
    db = base / "classroom.db"
    c = Classroom(db, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    c.add_teacher(*TEACHER)
    c.create_class(TEACHER[0], "Grade 4 editors", CLASS_CODE)
    c.store.close()
    quests = base / "quests"
    quests.mkdir()
    shutil.copy(ROOT / "quests" / "fraction-forest.yaml", quests / "fraction-forest.yaml")
    write_big_quest(quests / BIG_FILE, n_big)
    notebooks = base / "notebooks"
    shutil.copytree(notebooks_dir(), notebooks)
    server = VoilaServer(db=db, port=free_port(), run_dir=base / "run", notebooks=notebooks,
                         quests=quests)
    log_path = base / "voila.log"
    log = open(log_path, "wb")  # noqa: SIM115 - closed by stop_editor_server
    server.start(log=log)
    server._log = log
    try:
        server.wait_ready(timeout=60)
    except BaseException:
        server.stop()
        raise
    return EditorServer(server, base, quests, notebooks, log_path)


def stop_editor_server(env: EditorServer) -> None:
    env.server.stop()
    env.server._log.close()


# --- the page, as a teacher uses it ------------------------------------------------------------------

VIEW_JS = """() => {
  const svg = document.querySelector('.qe-editor .qe-map-svg');
  const r = svg.getBoundingClientRect();
  const t = svg.querySelector('.qe-viewport').getAttribute('transform') || '';
  const m = t.match(/translate\\(([-\\d.e]+),([-\\d.e]+)\\) scale\\(([-\\d.e]+)\\)/);
  return {left: r.left, top: r.top, width: r.width, height: r.height,
          x: m ? +m[1] : 0, y: m ? +m[2] : 0, k: m ? +m[3] : 1};
}"""

# a point of the path a -> b where a click reaches that path (not a node or another path
# drawn over it): the middle if it is free, else the nearest free point along the path
EDGE_POINT_JS = """([a, b]) => {
  const p = document.querySelector(
    `.qe-editor .qe-edge[data-source="${a}"][data-target="${b}"] .qe-edge-hit`);
  if (!p) return null;
  const total = p.getTotalLength();
  for (const f of [0.5, 0.45, 0.55, 0.4, 0.6, 0.35, 0.65, 0.3, 0.7, 0.25, 0.75, 0.2, 0.8]) {
    const q = p.getPointAtLength(total * f).matrixTransform(p.getScreenCTM());
    const hit = document.elementFromPoint(q.x, q.y);
    if (hit && hit.closest('.qe-edge') === p.closest('.qe-edge')) return [q.x, q.y];
  }
  return null;
}"""

# a point of the map's background: not on a node, a path, the zoom buttons or the legend
BACKGROUND_POINT_JS = """() => {
  const svg = document.querySelector('.qe-editor .qe-map-svg');
  const r = svg.getBoundingClientRect();
  for (let fy = 0.5; fy < 0.95; fy += 0.03) {
    for (let fx = 0.2; fx < 0.8; fx += 0.02) {
      const x = r.left + r.width * fx, y = r.top + r.height * fy;
      let ok = true;
      for (const [dx, dy] of [[0, 0], [-12, 0], [12, 0], [0, -12], [0, 12], [150, 0], [150, -12], [150, 12]]) {
        const e = document.elementFromPoint(x + dx, y + dy);
        if (!e || !(e === svg || e.classList.contains('qe-viewport'))) { ok = false; break; }
      }
      if (ok) return [x, y];
    }
  }
  return null;
}"""

# Called on every animation frame by wait_for_function: true once the view did not change
# since the previous frame.
VIEW_STILL_JS = """() => {
  const svg = document.querySelector('.qe-editor .qe-map-svg');
  const vp = svg && svg.querySelector('.qe-viewport');
  if (!vp) return false;
  const r = svg.getBoundingClientRect();
  const now = [r.left, r.top, r.width, r.height, vp.getAttribute('transform')].join(' ');
  const same = window.__qeLastView === now;
  window.__qeLastView = now;
  return same;
}"""

NODE_POSITIONS_JS = """() => Object.fromEntries([...document.querySelectorAll('.qe-editor .qe-node')]
  .map(e => [e.dataset.id, e.getAttribute('transform')]))"""


@dataclass
class EditorTab:
    """One browser tab on the editor page."""

    page: object
    url: str
    shots: Path | None = None  # where shot() writes (the tests' shots_dir)

    # basics -------------------------------------------------------------------------------------

    def settle(self) -> None:
        """Wait until the kernel has handled every message sent so far and the views drew."""
        settle(self.page)

    def responds(self) -> None:
        """Wait until the page runs a script and paints a frame (it is not frozen)."""
        self.page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(1)))")

    def type_into(self, selector: str, text: str) -> None:
        box = self.page.locator(selector)
        box.click()
        box.fill(text)
        box.press("Enter")

    def login(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_selector(".qe-email input", timeout=90_000)
        self.type_into(".qe-email input", TEACHER[0])
        self.type_into(".qe-password input", TEACHER[2])
        self.page.click(".qe-login-button")
        self.page.wait_for_selector(".qe-editor .qe-kind-palette", timeout=90_000)
        self.page.wait_for_selector(".qe-editor .qe-map[data-rendered]", timeout=WAIT_MS)
        self.settle()

    def text(self, selector: str = "body") -> str:
        return self.page.inner_text(selector)

    def banner(self) -> str:
        loc = self.page.locator(".qe-editor .qe-flash")
        return loc.first.inner_text() if loc.count() else ""

    def assert_no_traceback(self) -> None:
        text = self.text()
        for bad in ("Traceback", 'File "', "Error:"):
            assert bad not in text, f"{bad!r} in the page: ...{text[text.find(bad) - 200:][:600]}"

    # the map --------------------------------------------------------------------------------------

    def ids(self) -> list[str]:
        return self.page.eval_on_selector_all(".qe-editor .qe-node", "els => els.map(e => e.dataset.id)")

    def node(self, node_id: str):
        return self.page.locator(f".qe-editor .qe-node[data-id='{node_id}']")

    def positions(self) -> dict[str, str]:
        return self.page.evaluate(NODE_POSITIONS_JS)

    def view(self) -> dict:
        return self.page.evaluate(VIEW_JS)

    def wait_view_still(self) -> None:
        """Wait until the map's pan/zoom is the same on two animation frames in a row (a fit
        runs on the next frame)."""
        self.page.wait_for_function(VIEW_STILL_JS, timeout=WAIT_MS, polling="raf")

    def pick_kind(self, kind: str) -> None:
        self.page.locator(".qe-editor .qe-kind-palette button", has_text=kind).click()
        self.page.wait_for_selector(
            f".qe-editor .qe-kind-palette button.mod-active:has-text('{kind}')")

    def add_node(self, kind: str, x: float, y: float) -> str:
        """Pick ``kind`` on the palette and click the canvas so the new node's top-left corner
        lands at map point (x, y); zoom out with the map's "−" button first if it is not in view."""
        self.pick_kind(kind)
        self.settle()
        for _ in range(15):
            self.wait_view_still()
            v = self.view()
            sx = v["left"] + v["x"] + (x + NODE_W / 2) * v["k"]
            sy = v["top"] + v["y"] + (y + NODE_H / 2) * v["k"]
            if (v["left"] + 60 < sx < v["left"] + v["width"] - 130
                    and v["top"] + 60 < sy < v["top"] + v["height"] - 50):
                break
            self.page.click(".qe-editor .qe-tools button[aria-label='Zoom out']")
        else:
            raise AssertionError(f"map point ({x}, {y}) never came into view")
        before = self.ids()
        self.page.mouse.click(sx, sy)
        self.page.wait_for_function(
            "n => document.querySelectorAll('.qe-editor .qe-node').length > n", arg=len(before))
        (new,) = [i for i in self.ids() if i not in before]
        self.page.wait_for_selector(f".qe-editor .qe-node.qe-selected[data-id='{new}']")
        self.settle()
        return new

    def drag_node(self, node_id: str, dx: float, dy: float) -> None:
        box = self.node(node_id).locator(".qe-box").bounding_box()
        x, y = box["x"] + 20, box["y"] + box["height"] / 2  # on the band, away from the port
        self.page.mouse.move(x, y)
        self.page.mouse.down()
        self.page.mouse.move(x + dx, y + dy, steps=10)
        self.page.mouse.up()

    def connect(self, source: str, target: str) -> None:
        """Drag from ``source``'s port (the dot on its right edge) onto ``target``."""
        port = self.page.locator(f".qe-editor .qe-port[data-port='{source}']").bounding_box()
        box = self.node(target).locator(".qe-box").bounding_box()
        self.page.mouse.move(port["x"] + port["width"] / 2, port["y"] + port["height"] / 2)
        self.page.mouse.down()
        self.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=12)
        self.page.mouse.up()
        self.page.wait_for_selector(
            f".qe-editor .qe-edge[data-source='{source}'][data-target='{target}']", state="attached")
        self.settle()

    def click_edge(self, source: str, target: str) -> None:
        self.page.mouse.move(5, 5)  # no tooltip over the map
        point = self.page.evaluate(EDGE_POINT_JS, [source, target])
        assert point, f"no path {source} -> {target} on the map, or none of it can be clicked"
        self.page.mouse.click(*point)
        self.page.wait_for_selector(f".qe-editor .qe-edge.qe-edge-selected[data-source='{source}']"
                                    f"[data-target='{target}']", state="attached")
        # the heading names the path by its steps' titles; its data attributes by their ids
        self.page.wait_for_selector(f".qe-inspector [data-source='{source}']"
                                    f"[data-target='{target}']", state="attached")

    def choose_condition(self, source: str, target: str, label: str, when: str) -> None:
        """Click the path, then pick its condition in the inspector's dropdown."""
        self.click_edge(source, target)
        select = self.page.locator(".qe-inspector .qe-edge-when select")
        select.click()
        select.select_option(label=label)
        self.page.wait_for_selector(f".qe-editor .qe-edge.qe-when-{when}[data-source='{source}']"
                                    f"[data-target='{target}']", state="attached")
        self.settle()

    def set_title(self, node_id: str, old: str, title: str) -> None:
        """Click the node, then type its new title in the inspector."""
        self.node(node_id).locator(".qe-box").click()  # its words may be hidden when far
        self.page.wait_for_selector(f".qe-editor .qe-node.qe-selected[data-id='{node_id}']")
        self.page.wait_for_function(
            "t => { const i = document.querySelector('.qe-inspector .qe-form .qe-field-title input');"
            " return i && i.value === t; }", arg=old)
        self.type_into(".qe-inspector .qe-form .qe-field-title input >> nth=0", title)
        self.page.wait_for_function(
            "([id, t]) => { const e = document.querySelector("
            "`.qe-editor .qe-node[data-id='${id}'] .qe-title`); return e && e.textContent === t; }",
            arg=[node_id, title])
        self.settle()

    def problems(self, placeholders: bool = False) -> list[str]:
        """The problems listed; new steps' placeholder texts left out unless asked (these
        tests type titles only: test_editor_clicks.py checks the placeholders)."""
        return [p for p in self.page.eval_on_selector_all(
            ".qe-problems .qe-problem", "els => els.map(e => e.textContent)")
            if placeholders or "placeholder" not in p]

    def wait_problems(self, present: bool) -> None:
        """Wait until a problem other than a placeholder text is listed, or none is."""
        self.page.wait_for_function(
            """present => {
              const all = [...document.querySelectorAll('.qe-problems .qe-problem')]
                .map(e => e.textContent).filter(t => !t.includes('placeholder'));
              const ok = document.querySelector('.qe-problems .qe-ok');
              return present ? all.length > 0 : all.length === 0 &&
                (ok || document.querySelector('.qe-problems .qe-problem'));
            }""", arg=present)

    def shot(self, name: str, at: str | None = None) -> Path:
        assert self.shots is not None, "EditorTab(shots=...) says where screenshots go"
        if at:
            self.page.locator(at).first.evaluate("e => e.scrollIntoView({block: 'start'})")
        still(self.page)
        path = self.shots / f"editor-{name}.png"
        self.page.screenshot(path=str(path))
        if not name.startswith("FAILED"):  # every pictured state is checked by axe-core too
            self.settle()
            assert_no_axe_violations(self.page, f"editor: {name}")
        return path


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def editor_env(tmp_path_factory):
    env = start_editor_server(tmp_path_factory.mktemp("editor"))
    try:
        yield env
    finally:
        stop_editor_server(env)


@pytest.fixture
def editor(request, browser, editor_env, shots_dir):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    tab = EditorTab(context.new_page(), editor_env.url, shots_dir)
    yield tab
    if getattr(request.node, "qe_failed", False):
        try:
            print(f"\nscreenshot: {tab.shot(f'FAILED-{request.node.name}')}")
            print("--- page text at failure ---\n" + tab.text()[-3000:])
            print(f"--- Voilà log: {editor_env.log_path}")
        except Exception as err:  # the page may be gone
            print(f"(no screenshot: {err})")
    context.close()


# --- the tests ------------------------------------------------------------------------------------


def test_teacher_builds_a_remediation_quest_with_the_mouse(editor, editor_env):
    e = editor
    e.login()
    assert "fraction-forest.yaml" in e.page.locator(".qe-editor select").first.inner_text()

    # a new, empty quest
    e.type_into(".qe-editor input[placeholder='new-quest-id']", "remediation-loop")
    e.page.click(".qe-editor .qe-new")
    e.page.wait_for_function("() => document.querySelectorAll('.qe-editor .qe-node').length === 0")
    e.settle()

    # five nodes: pick the kind on the palette, click the canvas
    story = e.add_node("story", 0, 0)
    choice = e.add_node("choice", 220, 0)
    gate = e.add_node("gate", 440, 0)
    end = e.add_node("end", 660, -110)
    practice = e.add_node("task", 660, 130)
    assert e.ids() == [story, choice, gate, end, practice]
    kinds = e.page.eval_on_selector_all(
        ".qe-editor .qe-node", "els => els.map(e => [...e.classList].find(c => c.startsWith('qe-kind-')))")
    assert kinds == ["qe-kind-story", "qe-kind-choice", "qe-kind-gate", "qe-kind-end",
                     "qe-kind-task"]

    titles = {story: "Into the forest", choice: "Learn it your way", gate: "Checkpoint",
              end: "Out of the forest", practice: "Extra practice"}
    for node_id, old in [(story, "Story"), (choice, "Choice"), (gate, "Gate"), (end, "End"),
                         (practice, "Task")]:
        e.set_title(node_id, old, titles[node_id])

    # paths: drag from each port onto the next node
    e.connect(story, choice)
    e.connect(choice, gate)
    e.connect(gate, end)
    e.connect(gate, practice)
    assert e.page.locator(".qe-editor .qe-edge").count() == 4

    # a wrong condition is a problem at once, and goes away when it is put right
    e.choose_condition(story, choice, "on success", "success")
    e.wait_problems(present=True)
    assert any("always succeeds" in p for p in e.problems()), e.problems()
    e.choose_condition(story, choice, "done (either outcome)", "done")
    e.wait_problems(present=False)

    e.choose_condition(gate, end, "on success", "success")
    e.choose_condition(gate, practice, "on fail", "fail")
    e.wait_problems(present=False)

    # back from the practice to the gate: a plain path makes a loop...
    e.connect(practice, gate)
    e.wait_problems(present=True)
    (loop,) = e.problems()
    assert "loop" in loop, loop
    for node_id in (gate, practice):
        assert e.node(node_id).get_attribute("data-state") == "problem"
    e.shot("5-node-problem", at=".qe-editor .qe-kind-palette")
    # ...clicking the problem selects its node...
    e.page.locator(".qe-problems .qe-problem").first.click()
    e.page.wait_for_selector(f".qe-editor .qe-node.qe-selected[data-id='{gate}']")
    # ...and making the path a retry fixes it
    e.choose_condition(practice, gate, "retry (back to its gate)", "retry")
    e.wait_problems(present=False)
    # the loop is gone from the problems (steps whose placeholder text is still to write
    # stay marked on the map, so the map's states are not all "draft" here)
    assert not any("loop" in p for p in e.problems()), e.problems()

    # drag a node: Python moves it and the map draws it at its new place
    before = e.positions()[end]
    e.drag_node(end, 0, -40)
    e.page.wait_for_function(
        "([id, t]) => document.querySelector(`.qe-editor .qe-node[data-id='${id}']`)"
        ".getAttribute('transform') !== t", arg=[end, before])
    e.settle()
    assert e.positions()[end] != before

    # save under a file name
    e.page.mouse.move(5, 5)  # off the map, so no tooltip covers the nodes
    e.page.locator(".qe-editor .qe-tools button[aria-label='Fit the map']").click()
    e.wait_view_still()
    e.shot("5-node", at=".qe-editor .qe-kind-palette")
    e.type_into(".qe-editor .qe-save-as input", "remediation-loop.yaml")
    e.page.click(".qe-editor .qe-save")
    e.page.wait_for_function(
        "() => { const f = document.querySelector('.qe-editor .qe-flash');"
        " return f && /Saved|save/i.test(f.textContent); }")
    e.settle()
    banner = e.banner()
    assert "Saved" in banner, banner
    e.shot("5-node-saved", at=".qe-editor .qe-kind-palette")
    e.assert_no_traceback()

    expected = editor_env.quests / "remediation-loop.yaml"
    stray = editor_env.notebooks / "remediation-loop.yaml"
    saved = expected if expected.is_file() else stray
    assert saved.is_file(), f"no file saved (banner: {banner!r})"

    # the file is valid for the command line tool...
    result = subprocess.run([str(Path(sys.executable).parent / "questengine"), "validate",
                             str(saved)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    # ...and holds what the teacher drew
    quest = load_quest(saved)
    assert [(n.id, n.kind, n.title) for n in quest.nodes] == [
        (story, "story", titles[story]), (choice, "choice", titles[choice]),
        (gate, "gate", titles[gate]), (end, "end", titles[end]),
        (practice, "task", titles[practice])]
    assert {(x.source, x.target, x.when) for x in quest.edges} == {
        (story, choice, "done"), (choice, gate, "done"), (gate, end, "success"),
        (gate, practice, "fail"), (practice, gate, "retry")}
    assert quest.id == "remediation-loop"

    # the file name typed is the name of a file in the quests folder the editor lists
    assert saved == expected, (
        f"'remediation-loop.yaml' was saved to {saved} (the kernel's working folder), "
        f"not to the quests folder {editor_env.quests}; banner: {banner!r}")


def test_a_500_node_quest_opens_pans_and_lays_out(editor, editor_env):
    """How long each step takes is printed by benchmarks/editor.py; here each step must
    happen (generous waits: a loaded machine is slow, not broken)."""
    e = editor
    e.login()
    e.page.locator(".qe-editor select").first.select_option(BIG_FILE)
    e.settle()

    e.page.click(".qe-editor .qe-open")
    e.page.wait_for_function(
        "() => document.querySelectorAll('.qe-editor .qe-node').length === 500",
        timeout=BIG_WAIT_MS)
    e.wait_view_still()
    e.responds()
    e.settle()
    assert "Opened" in e.banner()
    assert not e.problems()
    e.page.mouse.move(5, 5)
    e.shot("500-node", at=".qe-editor .qe-kind-palette")

    # pan: drag the background
    point = e.page.evaluate(BACKGROUND_POINT_JS)
    assert point, "no empty background point on the map to drag"
    v0 = e.view()
    e.page.mouse.move(*point)
    e.page.mouse.down()
    e.page.mouse.move(point[0] + 150, point[1] + 60, steps=15)
    e.page.mouse.up()
    e.responds()
    v1 = e.view()
    assert (round(v1["x"] - v0["x"]), round(v1["y"] - v0["y"])) == (150, 60)
    e.settle()
    assert len(e.ids()) == 500  # a drag is a pan, not a click that adds a node

    # auto-layout: Python lays the map out in layers and the map redraws
    draft = QuestDraft.open(editor_env.quests / BIG_FILE)
    draft.auto_layout()
    expected = {n["id"]: n["position"] for n in draft.data["nodes"]}
    probe = "finish"
    assert e.positions()[probe] != f"translate({expected[probe][0]},{expected[probe][1]})"
    e.page.click(".qe-editor .qe-layout")
    e.page.wait_for_function(
        "([id, t]) => { const n = document.querySelector(`.qe-editor .qe-node[data-id='${id}']`);"
        " return n && n.getAttribute('transform') === t; }",
        arg=[probe, f"translate({expected[probe][0]},{expected[probe][1]})"],
        timeout=BIG_WAIT_MS)
    e.wait_view_still()
    e.responds()
    positions = e.positions()
    assert len(positions) == 500
    wrong = [n for n, (x, y) in expected.items() if positions[n] != f"translate({x},{y})"]
    assert not wrong, f"{len(wrong)} nodes not where the layout put them, e.g. {wrong[:5]}"
    e.settle()
    e.page.mouse.move(5, 5)
    e.shot("500-node-laid-out", at=".qe-editor .qe-kind-palette")
    e.assert_no_traceback()


# --- Delete, undo/redo, publish and preview ---------------------------------------------------------

FOREST = load_quest(ROOT / "quests" / "fraction-forest.yaml")


def edge_count(e: EditorTab) -> int:
    return e.page.locator(".qe-editor .qe-edge").count()


def wait_counts(e: EditorTab, nodes: int, edges: int) -> None:
    e.page.wait_for_function(
        "([n, m]) => document.querySelectorAll('.qe-editor .qe-node').length === n"
        " && document.querySelectorAll('.qe-editor .qe-edge').length === m", arg=[nodes, edges])
    e.settle()


def test_delete_then_undo_and_redo_with_the_buttons_and_the_delete_key(editor):
    e = editor
    e.login()  # the editor opens fraction-forest.yaml, the first file of the folder
    n, m = len(FOREST.nodes), len(FOREST.edges)
    wait_counts(e, n, m)
    touching = sum(1 for x in FOREST.edges if "signpost" in (x.source, x.target))

    # a node: selected with a click, deleted with the inspector's button, with its paths
    e.node("signpost").locator(".qe-title").click()
    e.page.wait_for_selector(".qe-editor .qe-node.qe-selected[data-id='signpost']")
    e.page.locator(".qe-inspector button.qe-delete").click()
    wait_counts(e, n - 1, m - touching)
    assert "signpost" not in e.ids()
    e.page.click(".qe-editor .qe-undo")
    wait_counts(e, n, m)
    assert e.ids() == [x.id for x in FOREST.nodes]
    e.page.click(".qe-editor .qe-redo")
    wait_counts(e, n - 1, m - touching)
    e.page.click(".qe-editor .qe-undo")
    wait_counts(e, n, m)

    # a path: selected with a click, deleted with the Delete key, back with Undo
    e.click_edge("river-fork", "bridge-troll")
    e.page.locator(".qe-editor .qe-map-svg").focus()
    e.page.keyboard.press("Delete")
    wait_counts(e, n, m - 1)
    assert e.page.locator(".qe-editor .qe-edge[data-source='river-fork']"
                          "[data-target='bridge-troll']").count() == 0
    e.page.click(".qe-editor .qe-undo")
    wait_counts(e, n, m)
    e.page.wait_for_selector(".qe-editor .qe-edge[data-source='river-fork']"
                             "[data-target='bridge-troll']", state="attached")
    e.wait_problems(present=False)
    e.assert_no_traceback()


def test_publish_to_the_class_then_preview_as_a_student(editor, editor_env):
    e = editor
    e.login()
    wait_counts(e, len(FOREST.nodes), len(FOREST.edges))
    new_title = "The windy trail"
    e.set_title("trailhead", FOREST.node("trailhead").title, new_title)

    e.page.click(".qe-editor button.qe-publish")
    # publishing asks first, showing the steps students will see
    confirm = e.page.locator(".qe-editor .qe-publish-confirm-box")
    confirm.locator("button.qe-publish-confirm").wait_for()
    assert new_title in confirm.inner_text()
    confirm.locator("button.qe-publish-confirm").click()
    e.page.wait_for_function(
        "() => /Published/.test((document.querySelector('.qe-editor .qe-flash') || {}).textContent)")
    c = Classroom(editor_env.base / "classroom.db",
                  hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    teacher = c.login_teacher(TEACHER[0], TEACHER[2])
    version = c.store.quest_row(FOREST.id)["version"]
    assert e.banner() == (f"Published “{FOREST.title}” as version {version} to class "
                          f"{CLASS_CODE}.")
    assert FOREST.id in [a["quest_id"] for a in teacher.assigned(CLASS_CODE)]
    assert c.graph(FOREST.id).nodes["trailhead"]["node"].title == new_title

    # the preview: the play page over a classroom in memory, in the editor's second tab
    e.page.click(".qe-editor button.qe-preview")
    tab = e.page.get_by_role("tab", name="Preview")
    e.page.wait_for_function(
        "() => { const t = [...document.querySelectorAll('[role=tab]')]"
        ".find(t => t.textContent.includes('Preview')); return t && t.getAttribute('aria-selected') === 'true'; }")
    assert tab.get_attribute("aria-selected") == "true"
    preview = ".qe-editor .qe-page:visible"
    e.page.wait_for_selector(f"{preview} .qe-node[data-id='trailhead']")
    e.page.wait_for_function(
        "t => [...document.querySelectorAll('.qe-panel .qe-node-title')].some("
        "h => h.offsetParent !== null && h.textContent === t)", arg=new_title)
    assert "Preview student" in e.page.locator(f"{preview} .qe-header").first.inner_text()
    e.page.locator(f"{preview} button.qe-do:visible", has_text="Done").click()
    e.page.wait_for_selector(f"{preview} .qe-node[data-id='trailhead'][data-state='success']")
    e.settle()
    assert_no_axe_violations(e.page, "editor: the preview as a student")
    e.assert_no_traceback()
    # nothing of the preview reached the class
    assert teacher.students(CLASS_CODE) == []
