"""Code-kind page benchmark: how the play page answers while a student's code runs.

Moved here from tests/browser/test_code_page.py (which now only checks that the page
answers and that an endless loop is stopped). In one Voilà over a tmp classroom with the
test's coding quest, in Chromium, median of N runs, printed side by side, never asserted:

* click while idle: select another step on the map, until the panel shows it;
* click while code runs: the same, while the slow solution (1.2 s per test) runs;
* endless loop stopped: from the click on *Run* to the "was stopped" message, beside the
  quest's time limit plus the sandbox's start-up slack (the budget the sandbox allows).

Run: ``.venv/bin/python benchmarks/code_page.py [--runs 5]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "browser"))

from conftest import CHROMIUM, CHROMIUM_ARGS, Player, cheap_hasher  # noqa: E402
from test_code_page import QUEST, SLOW  # noqa: E402

from questengine.classroom import Classroom  # noqa: E402
from questengine.loader import loads_quest  # noqa: E402
from questengine.sandbox import STARTUP_SLACK  # noqa: E402
from questengine.server import VoilaServer, free_port  # noqa: E402

LOOP = "def add(a, b):\n    while True:\n        pass\n"
PANEL_JS = "t => (document.querySelector('.qe-panel') || {}).innerText?.includes(t)"


def set_up(tmp: Path, runs: int) -> tuple[VoilaServer, list[str]]:
    c = Classroom(tmp / "classroom.db", hasher=cheap_hasher())
    owner = c.add_teacher("t@bench.school", "Ms T", "teacher-pass-1")
    code = c.create_class("t@bench.school", "Coders", "CODE-1")
    names = [f"Coder {i}" for i in range(2 * runs + 1)]
    for name in names:
        c.add_student(code, name, "2468")
    c.publish(loads_quest(QUEST, registry=c.registry), by=owner)
    c.assign("coding", code)
    c.store.close()
    return VoilaServer(db=tmp / "classroom.db", port=free_port(), run_dir=tmp / "run"), names


def ready(browser, server, name: str, shots: Path) -> tuple[object, Player]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(120_000)
    p = Player(context.new_page(), server.url("play"), shots)
    p.open()
    p.login(name, "2468", "CODE-1")
    p.do("Done")
    p.wait_state("intro", "success")
    p.select("add", "Add two numbers")
    return context, p


def type_code(p: Player, source: str) -> None:
    box = p.panel.locator(".qe-code textarea")
    box.fill(source)
    box.press("Tab")
    p.settle()


def timed_click(p: Player) -> float:
    t = time.perf_counter()
    p.select("intro", "Welcome")
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    from questengine.plugins import Registry

    limit = loads_quest(QUEST, registry=Registry()).node("add").time_limit  # the code kind
    idle, busy, stopped = [], [], []
    with tempfile.TemporaryDirectory(prefix="qe-code-bench-") as tmp:
        server, names = set_up(Path(tmp), args.runs)
        with open(Path(tmp) / "voila.log", "wb") as log:
            server.start(log=log)
            try:
                server.wait_ready(server.url("play"), 120)
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    for i in range(args.runs):
                        context, p = ready(browser, server, names[2 * i], Path(tmp))
                        idle.append(timed_click(p))
                        p.select("add", "Add two numbers")
                        type_code(p, SLOW)
                        p.panel.locator("button.qe-run").click()
                        p.page.wait_for_selector(".qe-panel .qe-running")
                        busy.append(timed_click(p))
                        context.close()

                        context, p = ready(browser, server, names[2 * i + 1], Path(tmp))
                        type_code(p, LOOP)
                        t = time.perf_counter()
                        p.panel.locator("button.qe-run").click()
                        p.page.wait_for_function(PANEL_JS, arg="was stopped", timeout=120_000)
                        stopped.append(time.perf_counter() - t)
                        context.close()
                    browser.close()
            except Exception:  # a benchmark reports, it does not fail
                traceback.print_exc()
            finally:
                server.stop()

    def med(xs):
        return statistics.median(xs) * 1000 if xs else float("nan")

    def runs(xs):
        return ", ".join(f"{x * 1000:.0f}" for x in xs)

    print(f"code page benchmark: median of {args.runs} runs (Voilà + Chromium on 127.0.0.1)")
    print(f"click answered while idle:        {med(idle):7.0f} ms  (runs: {runs(idle)})")
    print(f"click answered while code runs:   {med(busy):7.0f} ms  (runs: {runs(busy)})")
    print(f"  ratio running / idle:           {med(busy) / med(idle):.1f}x")
    budget = (limit + STARTUP_SLACK) * 1000
    print(f"endless loop stopped after:       {med(stopped):7.0f} ms  (runs: {runs(stopped)})")
    print(f"  budget (time limit {limit:g} s + slack {STARTUP_SLACK:g} s): {budget:.0f} ms; "
          f"ratio {med(stopped) / budget:.2f}x")


if __name__ == "__main__":
    main()
