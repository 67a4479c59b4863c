"""The state colours, measured and pictured: run by hand, look at the pictures.

Prints the WCAG contrast ratio of every state colour (questengine/ui/palette.py) against
white, the map's background and its white text, then draws, in Debian's Chromium, the
quest map with every state (the real widgets/questmap.js and its stylesheet) and the
progress center's students x steps grid (the real cells), at a phone, a tablet and a
laptop size, into a folder of PNGs::

    .venv/bin/python benchmarks/palette_shots.py --out /tmp/palette-shots
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from questengine.graph import quest_graph  # noqa: E402
from questengine.loader import load_quest  # noqa: E402
from questengine.ui import center  # noqa: E402
from questengine.ui.palette import (INK, MAP_BACKGROUND, STATE_COLOURS, STATE_MARKS,  # noqa: E402
                                    WHITE, contrast)
from questengine.ui.questmap import FRONT_END, QuestMap, map_edges, map_nodes  # noqa: E402

SIZES = {"phone": (390, 844), "tablet": (768, 1024), "laptop": (1366, 768)}
STATES = ("locked", "available", "in_progress", "pending_review", "returned", "success", "fail",
          "closed")


def table() -> None:
    print(f"{'state':16} {'colour':8} {'on white':>9} {'on map bg':>10} {'white on it':>12}")
    for state, colour in STATE_COLOURS.items():
        bg = min(contrast(colour, c) for c in MAP_BACKGROUND)
        print(f"{state:16} {colour:8} {contrast(colour, WHITE):8.2f}: {bg:9.2f}: "
              f"{contrast(INK, colour):11.2f}:")
    print("needed: 3:1 for a state's fill or outline (1.4.11), 4.5:1 for text (1.4.3)")


MOUNT = """async ([js, state]) => {
  const url = URL.createObjectURL(new Blob([js], {type: 'text/javascript'}));
  const mod = (await import(url)).default;
  const handlers = {};
  const model = {get: (k) => state[k], set: (k, v) => { state[k] = v; }, save_changes: () => {},
    send: () => {}, on: (e, f) => { (handlers[e] = handlers[e] || []).push(f); }, off: () => {}};
  const host = document.getElementById('map');
  mod.render({model, el: host});
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
}"""


def grid_html() -> str:
    heads = "".join(f"<th><div>{s.replace('_', ' ')}</div></th>" for s in STATES)
    rows = "".join(f"<tr><th class='qe-student'>Student {i + 1}</th>"
                   + "".join(center._grid_cell(STATES[(i + k) % len(STATES)])
                             for k in range(len(STATES))) + "</tr>" for i in range(4))
    legend = "".join(f"<span class='qe-legend-chip' style='background:{c};color:"
                     f"{center.STATE_MARKS[s][1]}'>{center.STATE_MARKS[s][0]}</span>{s} "
                     for s, c in center.STATE_COLOURS.items())
    return (f"<div class='qe-grid-legend'>{legend}</div><div class='qe-grid-scroll'><table "
            f"class='qe-grid-table'><tr><th>Student</th>{heads}</tr>{rows}</table></div>")


def shots(out: Path) -> None:
    from playwright.sync_api import sync_playwright

    G = quest_graph(load_quest(ROOT / "quests" / "fraction-forest.yaml"))
    nodes = map_nodes(G)
    for i, n in enumerate(nodes):
        n["state"] = STATES[i % len(STATES)]
        n["info"] = f"{n['title']} is locked: it opens after the step before."
    css = QuestMap._css + (FRONT_END / "pages.css").read_text(encoding="utf-8")
    js = (FRONT_END / "questmap.js").read_text(encoding="utf-8")
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium",
                                     args=["--no-sandbox", "--disable-gpu"])
        for name, (width, height) in SIZES.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_content(f"<!doctype html><html><head><style>{css}</style></head><body "
                             "style='margin:8px;font-family:sans-serif'><div id='map'></div>"
                             f"<div class='qe-center'>{grid_html()}</div></body></html>")
            page.evaluate(MOUNT, [js, {"nodes": nodes, "edges": map_edges(G), "selected": "",
                                       "current": nodes[1]["id"], "counts": {}, "editable": False,
                                       "height": 440, "words": {}, "view": "map"}])
            page.screenshot(path=str(out / f"map-grid-{name}-{width}x{height}.png"), full_page=True)
            page.close()
        browser.close()
    print(f"pictures in {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("palette-shots"))
    args = parser.parse_args()
    table()
    shots(args.out)


if __name__ == "__main__":
    main()
