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

``--kernel`` measures the same two builds without a browser or Voilà, in fresh Python
processes (alternating): the notebook's cell (imports and ``CenterPage.from_env()``, which
a preheated kernel runs before anyone comes), then the teacher's login until the center is
shown, then opening every other tab. On a machine too loaded for the browser runs this
still shows where the kernel's time goes.

The center is also opened a second time at once ("center again at once"), without waiting
for the pool to refill: a teacher's reload, or a second teacher.

``--breakdown`` serves this checkout once and opens the play page (the student's baseline)
and the center alternately, each twice in a row (the second "again", at once), and prints,
side by side, where the time until the login button is usable goes: the HTML's response
(start, end: with an empty pool Voilà holds the page until a kernel has run the notebook)
and size, the number and size of JS and CSS requests, DOMContentLoaded and the load event,
the kernel websocket created and open, the kernel_info reply, the widget states asked for
and received (``jupyter.widget.control``: how many models the page restores and their
bytes), the first widget rendered, the login button visible and enabled, and the main
thread's script / layout / style / task seconds (CDP ``Performance.getMetrics``); then the
PSS of each preheated kernel. The websocket is observed by a wrapper installed in the page
(``BREAKDOWN_SCRIPT``), which reads both the JSON and the v1 binary kernel protocol.

Run: ``.venv/bin/python benchmarks/teacher_pages.py [--runs 3] [--before REF] [--kernel]``
or ``.venv/bin/python benchmarks/teacher_pages.py --breakdown [--runs 3]``
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

from page import CHROMIUM, CHROMIUM_ARGS, kernels  # noqa: E402
from questengine.server import VoilaServer, free_port  # noqa: E402

PAGES = ("progress.ipynb", "author.ipynb")


def serve_dir(pythonpath: Path | None) -> Path:
    """The Voilà configuration folder of a build (its own ``voila.json``: its pool sizes)."""
    return (pythonpath or ROOT) / "questengine" / "serve"


def pooled_kernels(pythonpath: Path | None) -> int:
    """How many preheated kernels a build's configuration keeps for the served pages."""
    import json

    pools = json.loads((serve_dir(pythonpath) / "voila.json").read_text())[
        "VoilaKernelManager"]["kernel_pools_config"]
    return sum(pools.get(name, pools.get("default", {})).get("pool_size", 0)
               for name in ("play.ipynb", "progress.ipynb", "author.ipynb", "family.ipynb"))


class BuildServer(VoilaServer):
    """This checkout's server, with the configuration (pool sizes) of the build served."""

    def __init__(self, *args, config: Path, **kwargs):
        super().__init__(*args, **kwargs)
        self.config = config

    def command(self):
        argv, env = super().command()
        env["JUPYTER_CONFIG_DIR"] = str(self.config)
        return argv, env
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
    for part in ("questengine", "widgets", "quests"):
        data = subprocess.run(["git", "-C", str(ROOT), "archive", ref, part], check=True,
                              capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(into)
    return into


DEMO_SCRIPT = r"""
import json, sys
from argon2 import PasswordHasher
from questengine.demo import build_demo
info = build_demo(sys.argv[1], sys.argv[2],
                  hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
print(json.dumps({"db": str(info.db), "teacher_email": info.teacher_email,
                  "teacher_password": info.teacher_password}))
"""


def build_env(pythonpath: Path | None) -> dict:
    env = dict(os.environ)
    if pythonpath is not None:  # this questengine is imported first
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath),
                                                          env.get("PYTHONPATH")]))
    return env


def demo_for(label: str, pythonpath: Path | None, tmp: Path):
    """The demo classroom, built by the build's own questengine (an older questengine
    refuses a database of a newer schema)."""
    import json
    from types import SimpleNamespace

    done = subprocess.run([sys.executable, "-c", DEMO_SCRIPT, str(tmp / f"demo-{label}.db"),
                           str((pythonpath or ROOT) / "quests")], env=build_env(pythonpath),
                          cwd=tmp,
                          check=True, capture_output=True, text=True)
    info = json.loads(done.stdout.strip().splitlines()[-1])
    return SimpleNamespace(**{**info, "db": Path(info["db"])})


def start_server(label: str, pythonpath: Path | None, tmp: Path, info) -> tuple:
    server = BuildServer(db=info.db, port=free_port(), run_dir=tmp / f"run-{label}",
                         config=serve_dir(pythonpath))
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


def open_once(browser, server, name: str, info, out: dict, key: str | None = None,
              login: bool = True) -> None:
    """Open one page in a fresh context; for the center, log in and wait for the map."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(MARK)
    page = ctx.new_page()
    try:
        page.goto(f"http://127.0.0.1:{server.port}/voila/render/{name}", wait_until="commit",
                  timeout=WAIT_MS)
        page.wait_for_function("() => 'login' in window.__marks", timeout=WAIT_MS)
        out[key or name].append(page.evaluate("window.__marks.login"))
        if name == "progress.ipynb" and login:
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


def measure(browser, builds: dict, runs: int, tmp: Path) -> dict:
    """Both builds served at once; their opens alternate, so a busy moment of the machine
    falls on both alike."""
    infos = {label: demo_for(label, path, tmp) for label, path in builds.items()}
    servers = {label: start_server(label, path, tmp, infos[label])
               for label, path in builds.items()}
    out = {label: {**{p: [] for p in PAGES}, "after login": [], "again": []}
           for label in builds}
    pooled = {label: pooled_kernels(path) for label, path in builds.items()}
    try:
        for _ in range(runs):
            for name in PAGES:
                for label, (server, _log) in servers.items():
                    # every kernel opened so far stays (culled after 10 min): the pools refill
                    quiet(server.process.pid, pooled[label])
                    open_once(browser, server, name, infos[label], out[label])
                    pooled[label] += 1
                    if name == "progress.ipynb":  # opened again at once (a reload)
                        open_once(browser, server, name, infos[label], out[label],
                                  key="again", login=False)
                        pooled[label] += 1
    finally:
        for server, log in servers.values():
            server.stop()
            log.close()
    return out


BREAKDOWN_SCRIPT = r"""
(() => {
  const m = window.__bd = {ws: [], sent: [], first_widget: null, login_visible: null,
                           login_usable: null};
  const decoder = new TextDecoder();
  // one Jupyter message (JSON text, or the v1 binary protocol) -> its parts
  const parse = (data) => {
    try {
      if (typeof data === "string") {
        const msg = JSON.parse(data);
        return {channel: msg.channel, type: msg.header && msg.header.msg_type,
                content: msg.content, size: data.length};
      }
      const view = new DataView(data);
      const n = Number(view.getBigUint64(0, true));
      const off = [];
      for (let i = 1; i <= n; i++) off.push(Number(view.getBigUint64(8 * i, true)));
      const part = (i) => decoder.decode(new Uint8Array(data, off[i],
          (i + 1 < off.length ? off[i + 1] : data.byteLength) - off[i]));
      const header = JSON.parse(part(1));
      return {channel: part(0), type: header.msg_type, content: JSON.parse(part(4)),
              size: data.byteLength};
    } catch (e) {
      return {type: "?", size: typeof data === "string" ? data.length : data.byteLength};
    }
  };
  const Orig = window.WebSocket;
  class Spy extends Orig {
    constructor(...args) {
      super(...args);
      const rec = {url: String(args[0]), created: performance.now(), open: null};
      m.ws.push(rec);
      this.addEventListener("open", () => { rec.open = performance.now(); });
      this.addEventListener("message", (ev) => {
        const p = parse(ev.data);
        const c = p.content || {};
        const d = c.data || {};
        const item = {t: performance.now(), type: p.type, size: p.size,
                      method: d.method || null};
        if (p.type === "comm_msg" && d.method === "update_states" && d.states)
          item.models = Object.keys(d.states).length;
        if (p.type === "comm_open") item.models = 1;
        m.sent.push(Object.assign(item, {dir: "in"}));
      });
    }
    send(data) {
      const p = parse(data);
      const d = (p.content || {}).data || {};
      m.sent.push({t: performance.now(), dir: "out", type: p.type, size: p.size,
                   method: d.method || null});
      return super.send(data);
    }
  }
  window.WebSocket = Spy;
  const look = () => {
    const now = performance.now();
    if (m.first_widget === null && document.querySelector(".jupyter-widgets, .widget-box, .lm-Widget.jupyter-widgets"))
      m.first_widget = now;
    const b = document.querySelector(".qe-login-button");
    if (b) {
      const r = b.getBoundingClientRect();
      const shown = r.width > 0 && r.height > 0 && getComputedStyle(b).visibility !== "hidden";
      if (shown && m.login_visible === null) m.login_visible = now;
      if (shown && !b.disabled && m.login_usable === null) m.login_usable = now;
    }
  };
  const start = () => new MutationObserver(look).observe(document.documentElement,
      {subtree: true, childList: true, attributes: true});
  if (document.documentElement) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""

BREAKDOWN_PAGES = ("play.ipynb", "progress.ipynb")


def breakdown_once(browser, server, name: str) -> dict:
    """One open of ``name`` in a fresh context: where the time until the login form is
    usable goes (ms from navigation start, sizes in kB)."""
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.add_init_script(BREAKDOWN_SCRIPT)
    page = ctx.new_page()
    requests: list = []
    page.on("requestfinished", lambda r: requests.append(r))
    cdp = ctx.new_cdp_session(page)
    cdp.send("Performance.enable")
    try:
        page.goto(f"http://127.0.0.1:{server.port}/voila/render/{name}", wait_until="commit",
                  timeout=WAIT_MS)
        page.wait_for_function("() => window.__bd.login_usable !== null", timeout=WAIT_MS)
        metrics = {m["name"]: m["value"] for m in cdp.send("Performance.getMetrics")["metrics"]}
        bd = page.evaluate("window.__bd")
        nav = page.evaluate("JSON.parse(JSON.stringify(performance.getEntriesByType('navigation')[0]))")
        page.wait_for_timeout(200)
        rows = []
        for r in list(requests):
            try:
                size = r.sizes()["responseBodySize"]
            except Exception:
                size = 0
            rows.append((r.resource_type, r.url, size, r.timing))
    finally:
        ctx.close()
    usable = bd["login_usable"]
    doc = next(row for row in rows if row[0] == "document")
    scripts = [row for row in rows if row[0] == "script"]
    styles = [row for row in rows if row[0] == "stylesheet"]
    before = [row for row in rows if row[0] not in ("document",)
              and row[3]["responseEnd"] >= 0]

    def first(kind, method=None, direction="in"):
        for s in bd["sent"]:
            if s["dir"] == direction and s["type"] == kind and (method is None or s["method"] == method):
                return s["t"]
        return float("nan")

    incoming = [s for s in bd["sent"] if s["dir"] == "in" and s["t"] <= usable]
    models = sum(s.get("models", 0) for s in incoming)
    state_bytes = sum(s["size"] for s in incoming
                      if s["type"] == "comm_msg" and s["method"] in ("update_states", "update")
                      or s["type"] == "comm_open")
    ws = [x for x in bd["ws"] if "/channels" in x["url"]]
    return {
        "HTML response start": nav["responseStart"],
        "HTML response end": nav["responseEnd"],
        "HTML kB": doc[2] / 1024,
        "JS requests": len(scripts),
        "JS kB": sum(r[2] for r in scripts) / 1024,
        "CSS requests": len(styles),
        "CSS kB": sum(r[2] for r in styles) / 1024,
        "all requests": len(before),
        "DOMContentLoaded": nav["domContentLoadedEventEnd"],
        "load event": nav["loadEventEnd"],
        "websocket created": ws[0]["created"] if ws else float("nan"),
        "websocket open": ws[0]["open"] if ws and ws[0]["open"] else float("nan"),
        "kernel_info reply": first("kernel_info_reply"),
        "comm_info reply": first("comm_info_reply"),
        "widget states asked": first("comm_msg", "request_states", "out"),
        "widget states received": first("comm_msg", "update_states"),
        "widget models restored": models,
        "widget state kB": state_bytes / 1024,
        "ws messages in": len(incoming),
        "first widget rendered": bd["first_widget"] or float("nan"),
        "login button visible": bd["login_visible"],
        "login button usable": usable,
        "main thread: script s": metrics.get("ScriptDuration", 0),
        "main thread: layout s": metrics.get("LayoutDuration", 0),
        "main thread: style s": metrics.get("RecalcStyleDuration", 0),
        "main thread: tasks s": metrics.get("TaskDuration", 0),
    }


def breakdown(browser, runs: int, tmp: Path) -> dict:
    """This checkout served once; the play page and the center opened alternately."""
    info = demo_for("after", None, tmp)
    server, log = start_server("after", None, tmp, info)
    out = {name: [] for name in BREAKDOWN_PAGES}
    out.update({f"{name} again": [] for name in BREAKDOWN_PAGES})
    pooled = pooled_kernels(None)
    try:
        quiet(server.process.pid, pooled)
        from page import pss_mb

        idle = sorted(pss_mb(k.pid)[0] for k in kernels(server.process.pid))
        for _ in range(runs):
            for name in BREAKDOWN_PAGES:
                quiet(server.process.pid, pooled)
                out[name].append(breakdown_once(browser, server, name))
                # a reload at once (the teacher's second tab): is a preheated kernel left?
                out[f"{name} again"].append(breakdown_once(browser, server, name))
                pooled += 2
    finally:
        server.stop()
        log.close()
    return out, idle


def print_breakdown(results: dict, runs: int, idle: list) -> None:
    print(f"first open, play page vs progress center (median of {runs}; times ms from "
          f"navigation start); {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    names = list(results)  # play, center, play again, center again
    print("ratio = center / play page; 'again' = opened a second time at once (no wait for "
          "the kernel pool to refill)")
    print(f"{'what':<28}" + "".join(f"{n.replace('.ipynb', ''):>16}" for n in names)
          + f"{'ratio':>7}{'again':>7}")
    for key in results[names[0]][0]:
        vals = [statistics.median(r[key] for r in results[n]) for n in names]
        ratios = [b / a if a else float("nan") for a, b in ((vals[0], vals[1]),
                                                             (vals[2], vals[3]))]
        print(f"{key:<28}" + "".join(f"{v:>16.1f}" for v in vals)
              + "".join(f"{r:>7.2f}" for r in ratios))
    print(f"preheated kernels before the first open: {len(idle)}, PSS MB each "
          + ", ".join(f"{mb:.0f}" for mb in idle) + f" (total {sum(idle):.0f})")


KERNEL_SCRIPT = r"""
import json, sys, time
t0 = time.perf_counter()
from questengine.ui.center import CenterPage
page = CenterPage.from_env()
t1 = time.perf_counter()
page.login.email.value, page.login.password.value = sys.argv[1], sys.argv[2]
page.login.button.click()
t2 = time.perf_counter()
assert page.session is not None, "the login failed"
for i in range(1, len(page.tabs.children)):
    page.tabs.selected_index = i
t3 = time.perf_counter()
print(json.dumps({"notebook cell": t1 - t0, "login to center": t2 - t1,
                  "every other tab": t3 - t2}))
"""


def kernel_runs(builds: dict, runs: int, tmp: Path) -> dict:
    import json

    out = {label: {} for label in builds}
    infos = {label: demo_for(label, path, tmp) for label, path in builds.items()}
    for _ in range(runs):
        for label, path in builds.items():
            info = infos[label]
            env = {**build_env(path), "QUESTENGINE_DB": str(info.db)}
            env.pop("QUESTENGINE_SERVED", None)
            done = subprocess.run([sys.executable, "-c", KERNEL_SCRIPT, info.teacher_email,
                                   info.teacher_password], env=env, cwd=tmp, check=True,
                                  capture_output=True, text=True)
            for key, value in json.loads(done.stdout.strip().splitlines()[-1]).items():
                out[label].setdefault(key, []).append(1000 * value)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--before", default="HEAD~1", help="the git ref to compare with")
    parser.add_argument("--kernel", action="store_true",
                        help="measure in Python processes (no browser, no Voilà)")
    parser.add_argument("--breakdown", action="store_true",
                        help="where the first open's time goes, play page vs center "
                             "(this checkout only)")
    args = parser.parse_args()
    if args.breakdown:
        from playwright.sync_api import sync_playwright

        with tempfile.TemporaryDirectory() as d, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            results, idle = breakdown(browser, args.runs, Path(d))
            browser.close()
        print_breakdown(results, args.runs, idle)
        return
    if args.kernel:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d)
            old = export_ref(args.before, tmp / "before")
            results = kernel_runs({"before": old, "after": None}, args.runs, tmp)
        print(f"progress center in a Python process, ms (median of {args.runs}); before = "
              f"{args.before}, after = this checkout; {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        print(f"{'what':<32}{'before':>10}{'after':>10}{'ratio':>8}")
        for what in results["after"]:
            old_ms = statistics.median(results["before"][what])
            new_ms = statistics.median(results["after"][what])
            print(f"{what:<32}{old_ms:>10.0f}{new_ms:>10.0f}{new_ms / old_ms:>8.2f}")
        print("all runs:", results)
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        old = export_ref(args.before, tmp / "before")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            results = measure(browser, {"before": old, "after": None}, args.runs, tmp)
            browser.close()
    print(f"teacher pages, ms (median of {args.runs}); before = {args.before}, "
          f"after = this checkout; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    print(f"{'what':<32}{'before':>10}{'after':>10}{'ratio':>8}")
    for name, what in (("progress.ipynb", "center: login form usable"),
                       ("after login", "center: class map after login"),
                       ("again", "center again at once: login"),
                       ("author.ipynb", "editor: login form usable")):
        old_ms = statistics.median(results["before"][name])
        new_ms = statistics.median(results["after"][name])
        print(f"{what:<32}{old_ms:>10.0f}{new_ms:>10.0f}{new_ms / old_ms:>8.2f}")
    print("all runs:", results)


if __name__ == "__main__":
    main()
