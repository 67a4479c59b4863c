"""Editor benchmark: the quest map editor in Chromium against Voilà, with a 500-node quest.

Measured in the page (``performance.now()``), median of N runs each:

* open: from the mouse click on *Open* to the moment the map holds all of the quest's
  ``.qe-node`` elements (the kernel reads and checks the file, the traits travel, the
  map draws). The same is timed for the 10-node sample quest, side by side.
* move round trip: a node dragged with the mouse; from the mouse-up to the moment
  the map has redrawn that node, from Python's new state, at its new position.
* add round trip: a click on the empty canvas with a kind picked on the palette; from
  the mouse-down to the moment the new node is drawn.

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
    tab.settle(50)
    watch(tab, "open", count=count)
    tab.page.click(".qe-editor .qe-open")
    out = result(tab)
    tab.wait_view_still()
    tab.settle(100)
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
    tab.settle(100)
    return out


def click_to_add(tab: EditorTab) -> dict:
    point = tab.page.evaluate(BACKGROUND_POINT_JS)
    if point is None:
        return {"ms": None, "painted_ms": None}
    watch(tab, "add")
    tab.page.mouse.click(*point)
    out = result(tab)
    tab.wait_view_still()
    tab.settle(100)
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
            movable = [i for i in tab.ids() if not i.endswith("practice")][10:10 + args.runs]
            for node_id in movable:
                results.setdefault("move big", []).append(drag_some_node(tab, node_id))
            tab.pick_kind("task")
            for _ in range(args.runs):
                results.setdefault("add big", []).append(click_to_add(tab))

            open_file(tab, SMALL_FILE, small_count)
            for node_id in tab.ids()[:args.runs]:
                results.setdefault("move small", []).append(drag_some_node(tab, node_id))
            tab.pick_kind("task")
            for _ in range(args.runs):
                results.setdefault("add small", []).append(click_to_add(tab))
            tab.responds(60)
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
    print(f"  painted (next frame after the DOM change): open {n} {median(get('open big', []), 'painted_ms')}; "
          f"move {n} {median(get('move big', []), 'painted_ms')}; add {n} {median(get('add big', []), 'painted_ms')}")


if __name__ == "__main__":
    main()
