"""Editor benchmark: the quest map editor in Chromium against Voilà, with a 500-node quest.

Measured in the page (``performance.now()``), median of N runs each:

* open: from the mouse click on *Open* to the moment the map holds all of the quest's
  ``.qe-node`` elements (the kernel reads and checks the file, the traits travel, the
  map draws). The same is timed for the 10-node sample quest, side by side.
* move round trip: a node dragged with the mouse; from the mouse-up to the moment
  the map has redrawn that node, from Python's new state, at its new position.
* add round trip: a click on the empty canvas with a kind picked on the palette; from
  the mouse-down to the moment the new node is drawn.
* pan: a 15-step drag of the map's background, from the mouse-down until the page has
  painted the next frame after the mouse-up (the map pans in the browser alone).
* auto-layout: from the click on *Layout* until the map has drawn the last node at the
  place Python's layout gave it; then until the page paints its next frame.
  (Moved here from tests/browser/test_editor_page.py, which only checks that each step
  happens.)

Both edit round trips are timed on the 500-node map and on the 10-node one. Nothing
is asserted; the lines printed are the result.

Run: ``.venv/bin/python benchmarks/editor.py [--runs 5] [--nodes 500]``
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from test_editor_page import (BACKGROUND_POINT_JS, BIG_FILE, CHROMIUM,  # noqa: E402
                              CHROMIUM_ARGS, EditorTab, start_editor_server,
                              stop_editor_server)

from questengine.authoring import QuestDraft  # noqa: E402

SMALL_FILE = "fraction-forest.yaml"

# Starts a watch in the page: the clock starts at the next `start_event` on the map (or on
# the Open button) and stops at the first DOM change after which `done()` holds.
WATCH_JS = """([kind, arg]) => {
  const map = document.querySelector('.qe-editor .qe-map');
  const nodes = () => document.querySelectorAll('.qe-editor .qe-node');
  let t0 = null, before = null;
  const checks = {
    open: () => nodes().length === arg.count,
    add: () => nodes().length === before + 1,
    move: () => {
      const n = document.querySelector(`.qe-editor .qe-node[data-id="${arg.id}"]`);
      return n && n !== window.__qeDragged && n.getAttribute('transform') === window.__qeExpect;
    },
  };
  const startEvent = {open: 'click', add: 'pointerdown', move: 'pointerup'}[kind];
  const startOn = kind === 'open' ? document.querySelector('.qe-editor .qe-open') : window;
  window.__qeWatch = new Promise((resolve) => {
    const onStart = (ev) => {
      if (t0 !== null) return;
      t0 = performance.now();
      before = nodes().length;
      if (kind === 'move') {
        const n = document.querySelector(`.qe-editor .qe-node[data-id="${arg.id}"]`);
        window.__qeDragged = n;
        // the map sends Math.round of the dragged position; Python draws exactly that
        const m = n.getAttribute('transform').match(/translate\\(([-\\d.e]+),([-\\d.e]+)\\)/);
        window.__qeExpect = `translate(${Math.round(+m[1])},${Math.round(+m[2])})`;
      }
      startOn.removeEventListener(startEvent, onStart, true);
    };
    startOn.addEventListener(startEvent, onStart, true);
    const obs = new MutationObserver(() => {
      if (t0 === null || !checks[kind]()) return;
      const t1 = performance.now();
      obs.disconnect();
      requestAnimationFrame(() => resolve({ms: t1 - t0, painted_ms: performance.now() - t0}));
    });
    obs.observe(map, {subtree: true, childList: true, attributes: true});
    setTimeout(() => { obs.disconnect(); resolve({ms: null, painted_ms: null}); }, 60000);
  });
}"""


def watch(tab: EditorTab, kind: str, **arg) -> None:
    tab.page.evaluate(WATCH_JS, [kind, arg])


def result(tab: EditorTab) -> dict:
    return tab.page.evaluate("() => window.__qeWatch")


def open_file(tab: EditorTab, name: str, count: int) -> dict:
    tab.page.locator(".qe-editor select").first.select_option(name)
    tab.settle()
    watch(tab, "open", count=count)
    tab.page.click(".qe-editor .qe-open")
    out = result(tab)
    tab.wait_view_still()
    tab.settle()
    return out


def drag_some_node(tab: EditorTab, node_id: str) -> dict:
    box = tab.node(node_id).locator(".qe-box").bounding_box()
    x, y = box["x"] + min(6.0, box["width"] / 4), box["y"] + box["height"] / 2
    watch(tab, "move", id=node_id)
    tab.page.mouse.move(x, y)
    tab.page.mouse.down()
    tab.page.mouse.move(x + 40, y + 25, steps=6)
    tab.page.mouse.up()
    out = result(tab)
    tab.wait_view_still()
    tab.settle()
    return out


def click_to_add(tab: EditorTab) -> dict:
    point = tab.page.evaluate(BACKGROUND_POINT_JS)
    if point is None:
        return {"ms": None, "painted_ms": None}
    watch(tab, "add")
    tab.page.mouse.click(*point)
    out = result(tab)
    tab.wait_view_still()
    tab.settle()
    return out


def frame_ms(tab: EditorTab) -> float:
    """Milliseconds for the page to run a script and paint a frame."""
    t = time.perf_counter()
    tab.page.evaluate("() => new Promise(r => requestAnimationFrame(() => r(1)))")
    return (time.perf_counter() - t) * 1000


def pan(tab: EditorTab) -> dict:
    point = tab.page.evaluate(BACKGROUND_POINT_JS)
    if point is None:
        return {"ms": None, "painted_ms": None}
    t = time.perf_counter()
    tab.page.mouse.move(*point)
    tab.page.mouse.down()
    tab.page.mouse.move(point[0] + 150, point[1] + 60, steps=15)
    tab.page.mouse.up()
    ms = (time.perf_counter() - t) * 1000
    return {"ms": ms, "painted_ms": ms + frame_ms(tab)}


def auto_layout(tab: EditorTab, path: Path) -> dict:
    """Click Layout and wait until every node is where QuestDraft.auto_layout puts it."""
    draft = QuestDraft.open(path)
    draft.auto_layout()
    want = {n["id"]: f"translate({n['position'][0]},{n['position'][1]})"
            for n in draft.data["nodes"]}
    t = time.perf_counter()
    tab.page.click(".qe-editor .qe-layout")
    tab.page.wait_for_function(
        "want => Object.entries(want).every(([id, t]) => { const n = document.querySelector("
        "`.qe-editor .qe-node[data-id='${id}']`); return n && n.getAttribute('transform') === t; })",
        arg=want, timeout=120_000)
    ms = (time.perf_counter() - t) * 1000
    out = {"ms": ms, "painted_ms": ms + frame_ms(tab)}
    tab.wait_view_still()
    tab.settle()
    return out


def median(samples: list[dict], key: str = "ms") -> str:
    values = [s[key] for s in samples if s.get(key) is not None]
    if not values:
        return "n/a"
    return f"{statistics.median(values):7.0f} ms (runs: {', '.join(f'{v:.0f}' for v in values)})"


def med(samples: list[dict]) -> float | None:
    values = [s["ms"] for s in samples if s.get("ms") is not None]
    return statistics.median(values) if values else None


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.1f}x" if a and b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--nodes", type=int, default=500)
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    base = Path(tempfile.mkdtemp(prefix="qe-editor-bench-"))
    print(f"editor benchmark: {args.nodes}-node quest, median of {args.runs} runs "
          f"(Voilà + Chromium on 127.0.0.1; work dir {base})")
    t = time.perf_counter()
    env = start_editor_server(base / "env", n_big=args.nodes)
    print(f"  Voilà up in {time.perf_counter() - t:.1f} s")
    results: dict[str, list[dict]] = {}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            context.set_default_timeout(60_000)
            tab = EditorTab(context.new_page(), env.url)
            t = time.perf_counter()
            tab.login()
            print(f"  page + teacher login in {time.perf_counter() - t:.1f} s "
                  f"(the editor opens {SMALL_FILE} at login)")
            small_count = len(tab.ids())

            for _ in range(args.runs):
                results.setdefault("open big", []).append(open_file(tab, BIG_FILE, args.nodes))
                results.setdefault("open small", []).append(
                    open_file(tab, SMALL_FILE, small_count))

            open_file(tab, BIG_FILE, args.nodes)
            for _ in range(args.runs):
                results.setdefault("pan big", []).append(pan(tab))
            # one layout per run: reopen the file (hand positions) before each
            for i in range(args.runs):
                if i:
                    open_file(tab, BIG_FILE, args.nodes)
                results.setdefault("layout big", []).append(
                    auto_layout(tab, env.quests / BIG_FILE))
            open_file(tab, BIG_FILE, args.nodes)
            movable = [i for i in tab.ids() if not i.endswith("practice")][10:10 + args.runs]
            for node_id in movable:
                results.setdefault("move big", []).append(drag_some_node(tab, node_id))
            tab.pick_kind("task")
            for _ in range(args.runs):
                results.setdefault("add big", []).append(click_to_add(tab))

            for i in range(args.runs):
                open_file(tab, SMALL_FILE, small_count)
                results.setdefault("layout small", []).append(
                    auto_layout(tab, env.quests / SMALL_FILE))
            open_file(tab, SMALL_FILE, small_count)
            for _ in range(args.runs):
                results.setdefault("pan small", []).append(pan(tab))
            for node_id in tab.ids()[:args.runs]:
                results.setdefault("move small", []).append(drag_some_node(tab, node_id))
            tab.pick_kind("task")
            for _ in range(args.runs):
                results.setdefault("add small", []).append(click_to_add(tab))
            browser.close()
    except Exception:  # a benchmark reports, it does not fail
        traceback.print_exc()
    finally:
        stop_editor_server(env)
        shutil.rmtree(base, ignore_errors=True)

    n, s = args.nodes, "10-node"
    get = results.get
    print()
    print(f"open {n}-node quest (click Open -> {n} .qe-node drawn):   {median(get('open big', []))}")
    print(f"open {s} quest (click Open -> 10 .qe-node drawn):      {median(get('open small', []))}")
    print(f"  ratio {n}-node / {s}:                               "
          f"{ratio(med(get('open big', [])), med(get('open small', [])))}")
    print(f"move round trip, {n}-node map (mouse up -> node redrawn from Python): "
          f"{median(get('move big', []))}")
    print(f"move round trip, {s} map:                              {median(get('move small', []))}")
    print(f"add round trip, {n}-node map (click on canvas -> new node drawn):   "
          f"{median(get('add big', []))}")
    print(f"add round trip, {s} map:                               {median(get('add small', []))}")
    print(f"pan, {n}-node map (15-step drag, mouse down -> up):     {median(get('pan big', []))}")
    print(f"pan, {s} map:                                          {median(get('pan small', []))}")
    print(f"auto-layout, {n}-node map (click -> every node redrawn): {median(get('layout big', []))}")
    print(f"auto-layout, {s} map:                                  {median(get('layout small', []))}")
    print(f"  ratio {n}-node / {s} auto-layout:                   "
          f"{ratio(med(get('layout big', [])), med(get('layout small', [])))}")
    print(f"  painted (next frame after the DOM change): open {n} {median(get('open big', []), 'painted_ms')}; "
          f"move {n} {median(get('move big', []), 'painted_ms')}; add {n} {median(get('add big', []), 'painted_ms')}")


if __name__ == "__main__":
    main()
