"""First open of the teacher pages (progress center, quest editor), measured side by side.

"The first open of the center took 15.8 s before the login form was usable". The
teacher pages have one preheated kernel each (``questengine/serve/voila.json``), so the
notebook's imports run before anyone opens the page; what remains is the page itself
and, after the login, the center's first drawing: reading the quests, matplotlib's first
chart, every tab of the center.

This script serves the same demo classroom (``questengine demo``'s 24 students) twice,
with the checked-in configuration, at the same time:

* ``before``: the questengine of a git ref (``--before``, default ``HEAD~1``), exported
  into a temp folder and put first on the kernels' ``PYTHONPATH``;
* ``after``: this checkout.

It opens each page in a fresh browser context, RUNS times, alternating the two servers
(so a busy moment of the machine falls on both alike), waiting for the pools to refill
and the server to go quiet before each open, and records (ms) when the
teacher login button is in the page (``performance.now()`` since navigation start) and,
for the center, how long from the login click until the class map is drawn. Figures only,
never asserted.

Run: ``.venv/bin/python benchmarks/teacher_pages.py [--runs 3] [--before REF]``
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from argon2 import PasswordHasher  # noqa: E402

from page import CHROMIUM, CHROMIUM_ARGS, kernels  # noqa: E402
from questengine.demo import build_demo  # noqa: E402
from questengine.server import VoilaServer, free_port  # noqa: E402

PAGES = ("progress.ipynb", "author.ipynb")
POOLED = 4  # play 2 + progress 1 + author 1
WAIT_MS = 600_000  # a loaded machine: minutes, not seconds
MARK = r"""
(() => {
  window.__marks = {};
  const look = () => {
    if (!("login" in window.__marks) && document.querySelector(".qe-login-button"))
      window.__marks.login = performance.now();
    if (!("center" in window.__marks) && document.querySelector(".qe-center .qe-node"))
      window.__marks.center = performance.now();
  };
  const start = () => new MutationObserver(look).observe(document.documentElement,
      {subtree: true, childList: true, attributes: true});
  if (document.documentElement) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""


def quiet(server_pid: int, want_kernels: int, timeout: float = 180) -> None:
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


def export_ref(ref: str, into: Path) -> Path:
    """The package and front ends of ``ref`` (``git archive``) in a folder, whose questengine
    the kernels then import first (its widgets/ beside it, as in a checkout)."""
    into.mkdir(parents=True, exist_ok=True)
    for part in ("questengine", "widgets"):
        data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, part], check=True,
                              capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(into)
    return into


def start_server(label: str, pythonpath: Path | None, tmp: Path, info) -> tuple:
    server = VoilaServer(db=info.db, port=free_port(), run_dir=tmp / f"run-{label}")
    log = open(tmp / f"voila-{label}.log", "wb")
    before = os.environ.get("PYTHONPATH")
    if pythonpath is not None:  # the kernels import this questengine first
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), before]))
    try:
        server.start(log=log)
    finally:
        if before is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = before
    server.wait_ready(f"http://127.0.0.1:{server.port}/", 300)
    return server, log


def open_once(browser, server, name: str, info, out: dict) -> None:
    """Open one page in a fresh context; for the center, log in and wait for the map."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(MARK)
    page = ctx.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.port}/voila/render/{name}", wait_until="commit",
                  timeout=WAIT_MS)
        page.wait_for_function("() => 'login' in window.__marks", timeout=WAIT_MS)
        out[name].append(page.evaluate("window.__marks.login"))
        if name == "progress.ipynb":
            for sel, value in ((".qe-email input", info.teacher_email),
                               (".qe-password input", info.teacher_password)):
                page.fill(sel, value)
                page.press(sel, "Tab")
            clicked = page.evaluate("performance.now()")
            page.click(".qe-login-button")
            page.wait_for_function("() => 'center' in window.__marks", timeout=WAIT_MS)
            out["after login"].append(page.evaluate("window.__marks.center") - clicked)
    finally:
        ctx.close()


def measure(browser, builds: dict, runs: int, tmp: Path, info) -> dict:
    """Both builds served at once; their opens alternate, so a busy moment of the machine
    falls on both alike."""
    servers = {label: start_server(label, path, tmp, info) for label, path in builds.items()}
    out = {label: {**{p: [] for p in PAGES}, "after login": []} for label in builds}
    pooled = {label: POOLED for label in builds}
    try:
        for _ in range(runs):
            for name in PAGES:
                for label, (server, _log) in servers.items():
                    # every kernel opened so far stays (culled after 10 min): the pools refill
                    quiet(server.process.pid, pooled[label])
                    open_once(browser, server, name, info, out[label])
                    pooled[label] += 1
    finally:
        for server, log in servers.values():
            server.stop()
            log.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default="HEAD~1", help="the git ref to compare with")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        info = build_demo(tmp / "demo.db", ROOT / "quests",
                          hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        old = export_ref(args.before, tmp / "before")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            results = measure(browser, {"before": old, "after": None}, args.runs, tmp, info)
            browser.close()
    print(f"teacher pages, ms (median of {args.runs}); before = {args.before}, "
          f"after = this checkout; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'what':<32}{'before':>10}{'after':>10}{'ratio':>8}")
    for name, what in (("progress.ipynb", "center: login form usable"),
                       ("after login", "center: class map after login"),
                       ("author.ipynb", "editor: login form usable")):
        old_ms = statistics.median(results["before"][name])
        new_ms = statistics.median(results["after"][name])
        print(f"{what:<32}{old_ms:>10.0f}{new_ms:>10.0f}{new_ms / old_ms:>8.2f}")
    print("all runs:", results)


if __name__ == "__main__":
    main()
