"""Page benchmarks (DESIGN section 12), measured side by side in one run, never asserted.

1. Time to interactive of the play page vs a one-label Voilà notebook, both served by
   the SAME Voilà process (started with ``VoilaServer`` and the checked-in
   configuration) from one temp folder holding a copy of ``notebooks/play.ipynb`` and
   ``label.ipynb`` (``ipywidgets.Label('hello')``). Each run uses a fresh browser
   context (cold HTTP cache) in one Chromium, label and play runs alternate, and the
   server is left to go quiet (kernel pool refilled, no kernel busy) before each run.
   Times are ``performance.now()`` values recorded in the page by a MutationObserver,
   i.e. milliseconds from navigation start:

   * label  — the Label's text is in the page (a widget appears only once its kernel
     is connected, so visible = interactive);
   * login  — the play page's login form (its "Let's go!" button) is in the page;
   * map    — the play page's map has drawn its ``.qe-node`` elements after logging in.
     This is the play page's time to interactive: load + log in (Playwright types the
     class code, name and PIN and clicks, reported separately as "typing") + the map
     and node panel drawn. Nothing is subtracted.

   The checked-in configuration preheats kernels for ``play.ipynb`` only (pool of 2),
   so the label notebook starts its kernel on request; the login-form figure shows
   what preheating buys.

2. First render of a 500-node map in Chromium: ``widgets/questmap.js`` (the real
   module and stylesheet) rendered into a bare page by a small script with a stand-in
   for the anywidget model, nodes and edges from ``map_nodes``/``map_edges`` of a
   500-node quest. Timed with ``performance.now()``: the ``render()`` call plus a forced
   layout (synchronous part), and until the second animation frame (the fit-to-view and
   paint included). Cross-check in Voilà: a notebook showing the same map; the time
   from navigation start until ``data-rendered == '500'``, and a full redraw of the
   500 nodes triggered on the real widget model (``model.set('nodes', ...)``).

   Also a 1,000-node map the same way (figures only, no target).

4. Phone-size time to interactive: the play page at 390x844 (touch, mobile) against the
   one-label notebook at the same size.

5. A 50 MB file handed in (``StudentSession.submit_files``: every byte hashed, its type
   read from its first bytes, written to the content-addressed file store, the rows in
   SQLite) against copying the same file on the same disk with ``shutil.copyfile``.

3. Memory of one play-page kernel after login: PSS from ``/proc/PID/smaps_rollup`` of the
   kernel process (a child of the Voilà process running ``ipykernel_launcher`` whose
   connection file names the page's kernel id), next to an idle preheated kernel.

Run: ``.venv/bin/python benchmarks/page.py [--runs 5] [--only tti,map,phone,upload,memory]``
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

from questengine.classroom import Classroom  # noqa: E402
from questengine.graph import quest_graph  # noqa: E402
from questengine.loader import load_quest, loads_quest  # noqa: E402
from questengine.server import VoilaServer, free_port, notebooks_dir  # noqa: E402
from questengine.ui.questmap import FRONT_END, QuestMap, map_edges, map_nodes  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
CODE, NAME, PIN = "BENCH-1", "Bea Bench", "2580"
MAP_NODES = 500
TARGETS = {"tti_ratio": 1.3, "map_ms": 150.0, "kernel_mb": 150.0, "upload_ratio": 3.0}
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}

# first time (performance.now(), ms since navigation start) each selector is in the page
MARKS_SCRIPT = r"""
(() => {
  window.__marks = {};
  const wanted = {label: ".bench-label", login: ".qe-login-button", map: ".qe-node",
                  map500: ".qe-map[data-rendered='%d']"};
  const look = () => {
    for (const [k, sel] of Object.entries(wanted)) {
      if (!(k in window.__marks) && document.querySelector(sel)) window.__marks[k] = performance.now();
    }
  };
  const start = () => new MutationObserver(look).observe(document.documentElement,
      {subtree: true, childList: true, attributes: true, characterData: true});
  if (document.documentElement) start(); else document.addEventListener("DOMContentLoaded", start);
  document.addEventListener("click", () => {
    if (!("click" in window.__marks)) window.__marks.click = performance.now();
  }, true);
})();
""" % MAP_NODES


def notebook(source: str) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {},
                       "outputs": [], "source": source}],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"},
                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def big_quest(n: int = MAP_NODES, width: int = 10) -> dict:
    """A layered quest of n nodes: n - 1 stories in rows of ``width``, then one end."""
    nodes, edges = [], []
    ids = [f"s{k // width}-{k % width}" for k in range(n - 1)]
    for k, nid in enumerate(ids):
        layer, i = divmod(k, width)
        nodes.append({"id": nid, "kind": "story", "title": f"Step {layer}.{i} of the long road",
                      "xp": 1})
        if layer:
            edges.append([f"s{layer - 1}-{i}", nid])
            if i % 3 == 0:
                edges.append([f"s{layer - 1}-{(i + 1) % width}", nid])
    nodes.append({"id": "finish", "kind": "end", "title": "The end"})
    has_out = {u for u, _ in edges}
    edges += [[nid, "finish"] for nid in ids if nid not in has_out]
    return {"id": "big-map", "title": "A 500-step map", "version": 1, "nodes": nodes,
            "edges": edges}




def kernels(server_pid: int) -> list[psutil.Process]:
    try:
        children = psutil.Process(server_pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    out = []
    for p in children:
        try:
            if "ipykernel_launcher" in " ".join(p.cmdline()):
                out.append(p)
        except psutil.Error:
            pass
    return out


def wait_quiet(server_pid: int, log_path: Path, play_fills: int, timeout: float = 60) -> None:
    """Wait until the play pool has been refilled ``play_fills`` times and no kernel is busy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_path.read_text(errors="replace").count("Kernel pool of play.ipynb is filled") >= play_fills:
            break
        time.sleep(0.1)
    procs = [psutil.Process(server_pid), *kernels(server_pid)]
    for p in procs:
        try:
            p.cpu_percent(None)
        except psutil.Error:
            pass
    quiet = 0
    while time.monotonic() < deadline and quiet < 2:
        time.sleep(0.3)
        busy = 0.0
        for p in procs:
            try:
                busy += p.cpu_percent(None)
            except psutil.Error:
                pass
        quiet = quiet + 1 if busy < 8.0 else 0


def pss_mb(pid: int) -> tuple[float, float]:
    """(PSS, RSS) in MB from /proc/PID/smaps_rollup."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[-1] == "kB":
            fields[key] = int(parts[0])
    return fields["Pss"] / 1024, fields["Rss"] / 1024


class Bench:
    def __init__(self, browser, server: VoilaServer, log_path: Path):
        self.browser, self.server, self.log_path = browser, server, log_path
        self.play_fills = 1  # the pool's first fill
        self.device: dict | None = None  # Playwright context options (None: a 1280x900 laptop)
        self.base = f"http://127.0.0.1:{server.port}/voila/render/"

    def _context(self):
        ctx = self.browser.new_context(**(self.device or {"viewport": {"width": 1280, "height": 900}}))
        ctx.add_init_script(MARKS_SCRIPT)
        ctx.set_default_timeout(60_000)
        return ctx

    def label(self) -> float:
        wait_quiet(self.server.process.pid, self.log_path, self.play_fills)
        ctx = self._context()
        page = ctx.new_page()
        page.goto(self.base + "label.ipynb", wait_until="commit")
        page.wait_for_selector(".bench-label")
        page.wait_for_function("() => 'label' in window.__marks")
        marks = page.evaluate("window.__marks")
        ctx.close()
        return marks["label"]

    def play(self, keep: bool = False):
        wait_quiet(self.server.process.pid, self.log_path, self.play_fills)
        ctx = self._context()
        page = ctx.new_page()
        page.goto(self.base + "play.ipynb", wait_until="commit")
        page.wait_for_selector(".qe-login-button")
        for sel, value in ((".qe-code input", CODE), (".qe-name input", NAME), (".qe-pin input", PIN)):
            page.fill(sel, value)
        page.press(".qe-pin input", "Tab")
        page.click(".qe-login-button")
        page.wait_for_selector(".qe-node")
        page.wait_for_function("() => 'map' in window.__marks")
        marks = page.evaluate("window.__marks")
        self.play_fills += 1
        if keep:
            return marks, ctx, page
        ctx.close()
        return marks

    def kernel_of(self, page) -> psutil.Process | None:
        kid = page.evaluate("(() => { const a = window.jupyterapp;"
                            " return (a.widgetManager || a._widgetManager)._kernel.id; })()")
        for p in kernels(self.server.process.pid):
            if kid in " ".join(p.cmdline()):
                return p
        return None


def map_harness(browser, runs: int, size: int = MAP_NODES) -> list[tuple[float, float]]:
    """(render + layout ms, until second frame ms) of questmap.js for a ``size``-node quest."""
    G = quest_graph(loads_quest(json.dumps(big_quest(size)), "big-map.json"))
    t = time.perf_counter()
    nodes, edges = map_nodes(G), map_edges(G)
    print(f"   ({size} nodes: layout and traits in Python {1000 * (time.perf_counter() - t):.0f} ms,"
          f" once per quest version and frame shape; {len(json.dumps([nodes, edges])) // 1024} KB"
          " of JSON)")
    assert len(nodes) == size, len(nodes)
    for i, n in enumerate(nodes):  # states as a student's map has them
        n["state"] = ("success", "available", "locked")[min(2, i * 3 // len(nodes))]
        n["info"] = f"{n['title']} is locked: it opens after finishing the step before."
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    page = ctx.new_page()
    css = QuestMap._css  # the stylesheet with the state colours in front
    page.set_content(f"<!doctype html><html><head><style>{css}</style></head>"
                     "<body style='margin:0'><div id='slot' style='width:900px'></div></body></html>")
    js = (FRONT_END / "questmap.js").read_text(encoding="utf-8")
    out = []
    for _ in range(runs):
        out.append(tuple(page.evaluate("""async ([js, nodes, edges]) => {
          const url = URL.createObjectURL(new Blob([js], {type: 'text/javascript'}));
          const mod = (await import(url)).default;
          const state = {nodes, edges, selected: '', current: '', counts: {}, editable: false,
                         height: 480};
          const handlers = {};
          const model = {
            get: (k) => state[k], set: (k, v) => { state[k] = v; },
            save_changes: () => {}, send: () => {},
            on: (ev, fn) => { (handlers[ev] = handlers[ev] || []).push(fn); },
            off: (ev, fn) => { handlers[ev] = (handlers[ev] || []).filter((f) => f !== fn); },
          };
          const slot = document.getElementById('slot');
          slot.replaceChildren();
          const host = document.createElement('div');
          slot.appendChild(host);
          await new Promise((r) => requestAnimationFrame(() => r()));
          const t0 = performance.now();
          const cleanup = mod.render({model, el: host});
          host.getBoundingClientRect();  // force style and layout
          const t1 = performance.now();
          await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
          const t2 = performance.now();
          if (host.dataset.rendered !== String(nodes.length)) throw new Error('not rendered');
          if (typeof cleanup === 'function') cleanup();
          return [t1 - t0, t2 - t0];
        }""", [js, nodes, edges])))
    ctx.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default="tti,map,phone,upload,memory",
                        help="comma-separated parts to run (tti, map, phone, upload, memory)")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if parts == {"upload"}:
        upload_bench(args.runs)
        return

    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="qe-page-bench-") as tmp:
        tmp = Path(tmp)
        db = tmp / "classroom.db"
        c = Classroom(db, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
        owner = c.add_teacher("bench@school.org", "Bench", "bench-password")
        c.create_class("bench@school.org", "Bench class", CODE)
        c.add_student(CODE, NAME, PIN)
        for path in sorted((ROOT / "quests").glob("*.yaml")):
            quest = load_quest(path)
            c.publish(quest, by=owner)
            c.assign(quest.id, CODE)
        c.store.close()

        nb = tmp / "notebooks"
        nb.mkdir()
        shutil.copy2(notebooks_dir() / "play.ipynb", nb / "play.ipynb")
        (nb / "label.ipynb").write_text(json.dumps(notebook(
            "import ipywidgets\nlabel = ipywidgets.Label('hello')\nlabel.add_class('bench-label')\nlabel")))
        (nb / "big-map.json").write_text(json.dumps(big_quest()))
        (nb / "map500.ipynb").write_text(json.dumps(notebook(
            "from questengine.loader import loads_quest\nfrom questengine.graph import quest_graph\n"
            "from questengine.ui.questmap import QuestMap\n"
            f"G = quest_graph(loads_quest(open({str(nb / 'big-map.json')!r}).read(), 'big-map.json'))\n"
            "m = QuestMap(height=480)\nm.show(G)\nm")))

        server = VoilaServer(db=db, port=free_port(), run_dir=tmp / "run", notebooks=nb)
        log_path = tmp / "voila.log"
        with open(log_path, "wb") as log:
            server.start(log=log)
            try:
                server.wait_ready()
                print(f"Voilà pid {server.process.pid} on 127.0.0.1:{server.port}; "
                      f"{args.runs} runs each; Chromium {CHROMIUM}; {os.cpu_count()} CPUs, "
                      f"load average {os.getloadavg()[0]:.1f} at start", flush=True)
                with sync_playwright() as pw:
                    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                    try:
                        run(browser, server, log_path, args.runs, parts)
                    finally:
                        browser.close()
            finally:
                server.stop()


def upload_bench(runs: int) -> None:
    """A 50 MB file handed in through the service vs shutil.copyfile of it on the same disk."""
    print("\n== a 50 MB file handed in (StudentSession.submit_files) vs copying it on disk ==")
    with tempfile.TemporaryDirectory(prefix="qe-upload-bench-") as tmp:
        tmp = Path(tmp)
        c = Classroom(tmp / "classroom.db", hasher=PasswordHasher(time_cost=1, memory_cost=8,
                                                                     parallelism=1))
        owner = c.add_teacher("bench@school.org", "Bench", "bench-password")
        c.create_class("bench@school.org", "Bench class", CODE)
        c.publish(load_quest(ROOT / "quests" / "fraction-forest.yaml"), by=owner)
        c.assign("fraction-forest", CODE)
        size = 50 * 1024 * 1024 - 4096
        source = tmp / "movie.mp4"
        with open(source, "wb") as f:  # an MP4 header, then bytes that do not compress
            f.write(b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom")
            f.write(os.urandom(size - 24))
        copies, uploads = [], []
        for i in range(runs):
            login = c.add_student(CODE, f"Uploader {i}", "2580")
            s = c.login_student(CODE, login.name, "2580")
            for n in ("trailhead", "fold-map"):
                s.complete("fraction-forest", n)
            s.choose("fraction-forest", "learn", "video")
            s.complete("fraction-forest", "learn")
            data = bytearray(source.read_bytes())  # different bytes each run: no shortcut by hash
            data[-8:] = i.to_bytes(8, "big")
            source.write_bytes(data)
            del data
            os.sync()
            t = time.perf_counter()
            shutil.copyfile(source, tmp / f"copy-{i}.mp4")
            copies.append(time.perf_counter() - t)
            payload = source.read_bytes()  # the kernel holds the bytes the browser sent
            t = time.perf_counter()
            s.submit_files("fraction-forest", "signpost", "my movie", [("movie.mp4", payload)])
            uploads.append(time.perf_counter() - t)
            del payload
        med = statistics.median
        ratio = med(uploads) / med(copies)
        print(f"copy on disk (shutil.copyfile)   : {1000 * med(copies):7.0f} ms   "
              f"[{', '.join(f'{1000 * x:.0f}' for x in copies)}]")
        print(f"handed in (submit_files)         : {1000 * med(uploads):7.0f} ms   "
              f"[{', '.join(f'{1000 * x:.0f}' for x in uploads)}]")
        print(f"RATIO hand-in / copy             : {ratio:5.2f}x  (target <= "
              f"{TARGETS['upload_ratio']}x: {'OK' if ratio <= TARGETS['upload_ratio'] else 'OVER'})")


def run(browser, server: VoilaServer, log_path: Path, runs: int,
        parts: set[str] = frozenset({"tti", "map", "phone", "upload", "memory"})) -> None:
    bench = Bench(browser, server, log_path)
    # warm-up (not counted): the server's templates and the browser's first start
    bench.label()
    bench.play()
    if "tti" in parts:
        tti(bench, runs)
    if "phone" in parts:
        bench.device = PHONE
        bench.label()
        bench.play()
        tti(bench, runs, "at phone size (390x844, touch)")
        bench.device = None
    if "map" in parts:
        maps(browser, server, log_path, bench, runs)
    if "upload" in parts:
        upload_bench(runs)
    if "memory" in parts:
        memory(server, log_path, bench)


def tti(bench: Bench, runs: int, where: str = "at 1280x900") -> None:
    labels, logins, maps, typing, login_to_map = [], [], [], [], []
    for _ in range(runs):
        labels.append(bench.label())
        marks = bench.play()
        logins.append(marks["login"])
        maps.append(marks["map"])
        typing.append(marks["click"] - marks["login"])
        login_to_map.append(marks["map"] - marks["click"])
    med = statistics.median
    fmt = lambda xs: ", ".join(f"{x:.0f}" for x in xs)  # noqa: E731
    print(f"\n== time to interactive {where} (ms from navigation start, median of "
          f"{runs}; fresh browser context each) ==")
    print(f"one-label notebook (kernel started on request)   : {med(labels):7.0f}   [{fmt(labels)}]")
    print(f"play page, login form shown (preheated kernel)   : {med(logins):7.0f}   [{fmt(logins)}]")
    print(f"play page, logged in, map drawn (= its TTI)      : {med(maps):7.0f}   [{fmt(maps)}]")
    print(f"   of which typing code/name/PIN by Playwright   : {med(typing):7.0f}")
    print(f"   of which click 'Let's go!' -> map drawn       : {med(login_to_map):7.0f}")
    ratio = med(maps) / med(labels)
    ratio_login = med(logins) / med(labels)
    print(f"RATIO play TTI (logged-in map) / one-label     : {ratio:5.2f}x  (target <= "
          f"{TARGETS['tti_ratio']}x: {'OK' if ratio <= TARGETS['tti_ratio'] else 'OVER'})")
    print(f"RATIO play login form / one-label              : {ratio_login:5.2f}x")



def maps(browser, server, log_path, bench: Bench, runs: int) -> None:
    med = statistics.median
    for size in (MAP_NODES, 1000):
        print(f"\n== first render of a {size}-node map in Chromium (questmap.js, bare page) ==")
        results = map_harness(browser, runs, size)
        sync_ms = med(r[0] for r in results)
        frame_ms = med(r[1] for r in results)
        print(f"render() + layout      : {sync_ms:7.1f} ms   [{', '.join(f'{r[0]:.1f}' for r in results)}]")
        target = (f"   (target <= {TARGETS['map_ms']:.0f} ms: "
                  f"{'OK' if frame_ms <= TARGETS['map_ms'] else 'OVER'})") if size == MAP_NODES else ""
        print(f"until 2nd frame painted: {frame_ms:7.1f} ms   "
              f"[{', '.join(f'{r[1]:.1f}' for r in results)}]{target}")

    # the same map in a Voilà notebook: end to end, and a redraw on the real widget model
    wait_quiet(server.process.pid, log_path, bench.play_fills)
    ctx = bench._context()
    page = ctx.new_page()
    page.goto(bench.base + "map500.ipynb", wait_until="commit")
    page.wait_for_selector(f".qe-map[data-rendered='{MAP_NODES}']", timeout=120_000)
    page.wait_for_function("() => 'map500' in window.__marks")
    shown = page.evaluate("window.__marks.map500")
    redraw = page.evaluate("""async () => {
      const a = window.jupyterapp;
      const manager = a.widgetManager || a._widgetManager;
      const src = manager._models;
      const models = await Promise.all(src instanceof Map ? [...src.values()] : Object.values(src));
      const map = models.find((m) => Array.isArray(m.get('nodes')) && 'selected' in m.attributes);
      const host = document.querySelector('.qe-map');
      const times = [];
      for (let i = 0; i < 5; i++) {
        const nodes = map.get('nodes').map((n) => ({...n, x: n.x + (i % 2 ? -1 : 1)}));
        const t0 = performance.now();
        map.set('nodes', nodes);  // change:nodes -> draw() of every node and edge
        host.getBoundingClientRect();
        times.push(performance.now() - t0);
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      }
      return times;
    }""")
    ctx.close()
    print(f"in Voilà: navigation start -> {MAP_NODES} nodes drawn : {shown:7.0f} ms "
          f"(kernel start + graph + layout + transfer + render; compare the one-label page)")
    print(f"in Voilà: full redraw on the real model (median of 5) : {med(redraw):7.1f} ms   "
          f"[{', '.join(f'{t:.1f}' for t in redraw)}]")


def memory(server, log_path, bench: Bench) -> None:
    print("\n== memory of one play-page kernel (PSS from /proc/PID/smaps_rollup) ==")
    marks, ctx, page = bench.play(keep=True)
    proc = bench.kernel_of(page)
    if proc is None:
        print("could not find the page's kernel process")
    else:
        pss, rss = pss_mb(proc.pid)
        print(f"play-page kernel after login (pid {proc.pid}) : PSS {pss:6.1f} MB  RSS {rss:6.1f} MB"
              f"   (target <= {TARGETS['kernel_mb']:.0f} MB: "
              f"{'OK' if pss <= TARGETS['kernel_mb'] else 'OVER'})")
    wait_quiet(server.process.pid, log_path, bench.play_fills)
    used = {proc.pid} if proc else set()
    others = []
    for k in kernels(server.process.pid):
        if k.pid not in used:
            try:
                others.append((k.create_time(), k))
            except psutil.Error:
                pass
    if others:
        idle = max(others, key=lambda t: t[0])[1]  # the newest: a preheated pool kernel
        pss, rss = pss_mb(idle.pid)
        print(f"idle preheated play kernel (pid {idle.pid})   : PSS {pss:6.1f} MB  RSS {rss:6.1f} MB")
    print(f"kernels alive under Voilà now: {len(kernels(server.process.pid))} "
          "(each page load leaves one until culled)")
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other work on the machine "
          "makes every figure above noisier)")
    ctx.close()


if __name__ == "__main__":
    main()
