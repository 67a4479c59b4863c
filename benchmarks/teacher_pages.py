"""First open of the teacher pages (progress center, quest editor), measured side by side.

"The first open of the center took 15.8 s before the login form was usable": the
center's and the editor's notebooks import matplotlib, the map widget and the
service before they show anything, and until now only the play page's kernels were
preheated. This script serves the pages twice from one temp folder, each time with
the checked-in configuration (``questengine/serve/voila.json``):

* ``preheated``: as checked in (a pool of one kernel for ``progress.ipynb`` and for
  ``author.ipynb``, two for ``play.ipynb``);
* ``cold``: the same with ``--VoilaConfiguration.preheat_kernel=False``, so each page
  starts its kernel on request, as the teacher pages did before.

For each it opens each page in a fresh browser context, RUNS times, waiting for the
pools to refill and the server to go quiet before each open, and records the time
(``performance.now()``, ms since navigation start) at which the teacher login button
is in the page. Figures only, never asserted.

Run: ``.venv/bin/python benchmarks/teacher_pages.py [--runs 3]``
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from argon2 import PasswordHasher  # noqa: E402

from page import CHROMIUM, CHROMIUM_ARGS, kernels  # noqa: E402
from questengine.classroom import Classroom  # noqa: E402
from questengine.server import VoilaServer, free_port  # noqa: E402

PAGES = ("progress.ipynb", "author.ipynb")
MARK = r"""
(() => {
  window.__marks = {};
  const look = () => {
    if (!("login" in window.__marks) && document.querySelector(".qe-login-button"))
      window.__marks.login = performance.now();
  };
  const start = () => new MutationObserver(look).observe(document.documentElement,
      {subtree: true, childList: true, attributes: true});
  if (document.documentElement) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""


def quiet(server_pid: int, want_kernels: int, timeout: float = 120) -> None:
    """Wait until ``want_kernels`` kernels run and no process of the server is busy."""
    import psutil

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(kernels(server_pid)) < want_kernels:
        time.sleep(0.3)
    calm = 0
    while time.monotonic() < deadline and calm < 3:
        procs = [psutil.Process(server_pid), *kernels(server_pid)]
        for p in procs:
            p.cpu_percent(None)
        time.sleep(0.5)
        busy = sum(p.cpu_percent(None) for p in procs if p.is_running())
        calm = calm + 1 if busy < 10 else 0


def measure(browser, label: str, extra: tuple[str, ...], runs: int, tmp: Path, db: Path) -> dict:
    run_dir = tmp / f"run-{label}"
    server = VoilaServer(db=db, port=free_port(), run_dir=run_dir, extra_args=extra)
    log = open(tmp / f"voila-{label}.log", "wb")
    server.start(log=log)
    out: dict[str, list[float]] = {p: [] for p in PAGES}
    try:
        server.wait_ready(f"http://127.0.0.1:{server.port}/", 120)
        pooled = 4 if not extra else 0  # play 2 + progress 1 + author 1
        for _ in range(runs):
            for name in PAGES:
                # every kernel opened so far stays (culled after 10 min): the pools refill
                quiet(server.process.pid, pooled)
                ctx = browser.new_context(viewport={"width": 1280, "height": 900})
                ctx.add_init_script(MARK)
                page = ctx.new_page()
                page.goto(f"http://127.0.0.1:{server.port}/voila/render/{name}",
                          wait_until="commit", timeout=120_000)
                page.wait_for_function("() => 'login' in window.__marks", timeout=120_000)
                out[name].append(page.evaluate("window.__marks.login"))
                ctx.close()
                pooled += 1
    finally:
        server.stop()
        log.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        db = tmp / "classroom.db"
        c = Classroom(db, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        c.add_teacher("bench@test.school", "Bench Teacher", "bench-pass-1")
        c.store.close()
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            results = {label: measure(browser, label, extra, args.runs, tmp, db)
                       for label, extra in (("cold", ("--VoilaConfiguration.preheat_kernel=False",)),
                                            ("preheated", ()))}
            browser.close()
    print(f"login form usable, ms since navigation start (median of {args.runs}):")
    print(f"{'page':<16}{'cold':>10}{'preheated':>12}{'ratio':>8}")
    for name in PAGES:
        cold = statistics.median(results["cold"][name])
        warm = statistics.median(results["preheated"][name])
        print(f"{name:<16}{cold:>10.0f}{warm:>12.0f}{warm / cold:>8.2f}")
    print("all runs:", results)


if __name__ == "__main__":
    main()
