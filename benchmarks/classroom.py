"""A class at once (DESIGN section 12): how many students one machine holds with p95 < 1 s.

Each simulated student is what a browser tab is to the server: it loads the play page over
HTTP (Voilà starts the page's kernel and runs the notebook), then speaks the kernel's
websocket protocol (Jupyter messaging over ``/api/kernels/ID/channels``) to drive the widgets
the way the page's widget manager does: it asks the kernel for every widget's state (the
``jupyter.widget.control`` comm, ``request_states``), logs in by sending the login form's
``submit`` message with the class code, name and PIN, then plays: selects a node on the map
(a ``selected`` state update of the map widget, as a click on the map sends) and presses the
panel's action button (a button ``click`` message). The time of one action is from sending
the message until the kernel reports ``idle`` for it: by then every widget update it caused
(the new panel, the map's states) has been sent on the same socket, which is what the
browser draws.

Steps of 10, 30, 60, 100, 150 students (``--steps``): each step starts a fresh server, then
that many students
(page loads bounded by ``--loaders`` at a time, so the class arrives over a minute or so as
a real one does), waits until every one is logged in, then every student performs
``--actions`` actions with a random think time (``--think`` seconds, mean) between them.
Printed per step: click -> updated panel median and p95 (and the slowest), page load +
login times, memory of the kernels (PSS, from ``/proc/PID/smaps_rollup``) per student and in
total with the Voilà server, and the machine's load. The same actions through the service
alone (``StudentSession`` in this process, no kernel, no websocket) give the ratio.

``--target serve`` (default) runs one ``questengine serve`` (Voilà with the checked-in
configuration) on a SQLite file or ``--db postgresql://...``; ``--target hub`` runs a real
JupyterHub (``questengine hub``'s configuration, the dummy authenticator), each student a
hub user with their own Voilà server (memory per student then includes that server).
``--chromium N`` runs N real Chromium students alongside (Playwright, Debian's Chromium):
what a person sees, from the click to the panel drawn.

The think time is the mean pause between one student's actions (exponential). The default,
2 s, is a student clicking every 2 s without reading: a stress figure. A real class reads a
story, does the task, types answers: ``--think 12`` is closer to it. Report both.

The client speaks the kernel websocket protocol Voilà's page speaks
(``v1.kernel.websocket.jupyter.org``: the server relays the kernel's frames without decoding
them); ``--ws-protocol legacy`` is the older JSON protocol, which makes the server decode,
check and re-encode every message (what this benchmark measured before).

``--probe N`` measures one student alone instead of the steps: N rounds of the actions (a
new student each round), and per action the CPU its kernel and the Voilà server spent
(psutil, 10 ms ticks: read the mean) and the websocket frames and bytes the browser
receives. ``benchmarks/play_action.py`` gives the same action's kernel-side messages by
widget, bytes and a cProfile, in-process (``--log``: each message, its widget and traits).

The machine is shared: steps stop early when p95 passes ``--stop-above`` seconds or memory
would pass ``--max-memory-gb``. The figures are printed, never asserted.

Run: ``.venv/bin/python benchmarks/classroom.py [--steps 10,30,60,100,150] [--target serve|hub]
[--think 2] [--probe 10]``
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from argon2 import PasswordHasher  # noqa: E402

from questengine.classroom import Classroom  # noqa: E402
from questengine.loader import load_quest  # noqa: E402
from questengine.server import VoilaServer, free_port  # noqa: E402

QUEST = "fraction-forest"
CODE = "BENCH-1"
PIN = "2468"
#: the actions each student repeats: (select this node, then press the panel's button)
PLAY = [("trailhead", "Done"), ("fold-map", "Done")]


def cheap_hasher() -> PasswordHasher:
    return PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


# --- the classroom ---------------------------------------------------------------------------------


def build_classroom(db: str, students: int) -> list[str]:
    c = Classroom(db, hasher=cheap_hasher(), reflections_a_minute=None)
    owner = c.add_teacher("bench@school.test", "Ms. Bench", "bench-pass-1")
    c.set_hub_username("teacher", owner, "msbench")
    c.create_class("bench@school.test", "Benchmark class", CODE)
    names = [f"Student {i:03d}" for i in range(1, students + 1)]
    logins = c.add_students(CODE, [(n, PIN) for n in names])
    for i, login in enumerate(logins, 1):
        c.set_hub_username("student", login.student_id, f"student{i:03d}")
    c.publish(load_quest(ROOT / "quests" / f"{QUEST}.yaml"), by=owner)
    c.assign(QUEST, CODE)
    c.store.close()
    return names


def reset_progress(db: str) -> None:
    """Every student back at the start (each step plays the same nodes again)."""
    c = Classroom(db, hasher=cheap_hasher())
    with c.store.write():
        for table in ("events", "progress", "quest_status", "reflections", "badges",
                      "mastery", "submissions", "reviews"):
            c.store._run(f"delete from {table}")
    c.store.close()


def service_alone(db: str, names: list[str], rounds: int) -> list[float]:
    """The same actions through the service in this process (no kernel, no websocket)."""
    c = Classroom(db, hasher=cheap_hasher(), reflections_a_minute=None)
    times = []
    for name in names[:rounds]:
        s = c.login_student(CODE, name, PIN)
        for node, _button in PLAY:
            t0 = time.perf_counter()
            s.open(QUEST, node)
            times.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            s.complete(QUEST, node)
            times.append(time.perf_counter() - t0)
    c.store.close()
    return times


# --- one simulated student over the kernel websocket ----------------------------------------------


#: the kernel websocket protocols: what Voilà's page asks for (JupyterLab's services), in which
#: the server relays the kernel's frames without decoding them; and the older JSON one, in
#: which it decodes, checks and re-encodes every message
V1 = "v1.kernel.websocket.jupyter.org"
PROTOCOL = {"v1": V1, "legacy": None}


class KernelClient:
    """Jupyter messaging over Voilà's kernel websocket, as the page's widget manager does it."""

    protocol = V1  # set from --ws-protocol

    def __init__(self, ws_url: str, headers: dict | None = None):
        self.ws_url = ws_url
        self.headers = headers or {}
        self.session = uuid.uuid4().hex
        self.models: dict[str, dict] = {}  # model id -> state
        self.waiting: dict[str, asyncio.Future] = {}
        self.control = uuid.uuid4().hex
        self.states_ready: asyncio.Future | None = None
        self.ws = None
        self.frames = 0  # websocket frames and bytes received (what the browser would get)
        self.bytes = 0

    async def connect(self) -> None:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        # as a browser's: the page's origin (the hub checks it for cookie-authenticated sockets)
        origin = "http://" + self.ws_url.split("://", 1)[1].split("/", 1)[0]
        headers = {**self.headers, "Origin": origin, "Sec-Fetch-Mode": "websocket",
                   "Sec-Fetch-Site": "same-origin"}
        request = HTTPRequest(f"{self.ws_url}?session_id={self.session}", headers=headers,
                              request_timeout=300, connect_timeout=300)
        self.ws = await websocket_connect(request, max_message_size=256 * 1024 * 1024,
                                          subprotocols=[self.protocol] if self.protocol else None)
        self.v1 = self.ws.selected_subprotocol == V1
        self.reader = asyncio.ensure_future(self._read())

    def _msg(self, msg_type: str, content: dict, channel: str = "shell",
             metadata: dict | None = None) -> dict:
        from datetime import datetime, timezone

        return {"header": {"msg_id": uuid.uuid4().hex, "username": "bench",
                           "session": self.session, "msg_type": msg_type, "version": "5.3",
                           "date": datetime.now(timezone.utc).isoformat()},
                "parent_header": {}, "metadata": metadata or {}, "content": content,
                "channel": channel, "buffers": []}

    async def send(self, msg_type: str, content: dict, metadata: dict | None = None
                   ) -> asyncio.Future:
        """Send on the shell channel; the future resolves when the kernel is idle for it."""
        msg = self._msg(msg_type, content, metadata=metadata)
        done = asyncio.get_running_loop().create_future()
        self.waiting[msg["header"]["msg_id"]] = done
        if self.v1:
            from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

            parts = [json.dumps(msg[k]).encode() for k in ("header", "parent_header",
                                                            "metadata", "content")]
            await self.ws.write_message(serialize_msg_to_ws_v1(parts, "shell"), binary=True)
        else:
            await self.ws.write_message(json.dumps(msg))
        return done

    async def _read(self) -> None:
        while True:
            raw = await self.ws.read_message()
            if raw is None:
                for f in self.waiting.values():
                    if not f.done():
                        f.set_exception(ConnectionError("the kernel's websocket closed"))
                return
            self.frames += 1
            self.bytes += len(raw)
            if self.v1:
                from jupyter_server.services.kernels.connection.base import (
                    deserialize_msg_from_ws_v1)

                _channel, parts = deserialize_msg_from_ws_v1(raw)
                msg = {k: json.loads(parts[i]) for i, k in enumerate(
                    ("header", "parent_header", "metadata", "content"))}
            elif isinstance(raw, bytes):
                continue  # binary frames carry buffers (images): not needed here
            else:
                msg = json.loads(raw)
            kind = msg["header"]["msg_type"]
            content = msg.get("content", {})
            parent = msg.get("parent_header", {}).get("msg_id")
            if kind == "status" and content.get("execution_state") == "idle":
                f = self.waiting.pop(parent, None)
                if f is not None and not f.done():
                    f.set_result(time.perf_counter())
            elif kind == "comm_open":
                data = content.get("data", {})
                self.models[content["comm_id"]] = dict(data.get("state", {}))
            elif kind == "comm_msg":
                data = content.get("data", {})
                if data.get("method") == "update" and content["comm_id"] in self.models:
                    self.models[content["comm_id"]].update(data.get("state", {}))
                elif data.get("method") == "update_states":
                    for mid, m in data.get("states", {}).items():
                        self.models.setdefault(mid, {}).update(m.get("state", {}))
                    if self.states_ready and not self.states_ready.done():
                        self.states_ready.set_result(True)
            elif kind == "comm_close":
                self.models.pop(content.get("comm_id"), None)

    async def request_states(self) -> None:
        self.states_ready = asyncio.get_running_loop().create_future()
        await self.send("comm_open", {"comm_id": self.control,
                                      "target_name": "jupyter.widget.control", "data": {}},
                        metadata={"version": "1.0.0"})  # ipywidgets' control protocol
        await self.send("comm_msg", {"comm_id": self.control,
                                     "data": {"method": "request_states"}})
        await asyncio.wait_for(self.states_ready, 300)

    def find(self, **match) -> str | None:
        """The newest widget whose state matches (the one on screen: a page that leaves its
        old panels' widgets open has older look-alikes)."""
        for mid, state in reversed(self.models.items()):
            if all((v(state.get(k)) if callable(v) else state.get(k) == v)
                   for k, v in match.items()):
                return mid
        return None

    async def custom(self, model_id: str, content: dict) -> float:
        t0 = time.perf_counter()
        done = await self.send("comm_msg", {"comm_id": model_id,
                                            "data": {"method": "custom", "content": content}})
        return await asyncio.wait_for(done, 300) - t0

    async def update(self, model_id: str, state: dict) -> float:
        t0 = time.perf_counter()
        done = await self.send("comm_msg", {"comm_id": model_id, "data": {
            "method": "update", "state": state, "buffer_paths": []}})
        self.models.setdefault(model_id, {}).update(state)
        return await asyncio.wait_for(done, 300) - t0

    async def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if getattr(self, "reader", None):
            self.reader.cancel()


@dataclass
class Student:
    name: str
    page_url: str
    ws_base: str
    headers: dict = field(default_factory=dict)
    cookies: object = None
    client: KernelClient | None = None
    load_s: float = 0.0
    login_s: float = 0.0
    kernel_id: str = ""

    async def arrive(self, http) -> None:
        """Load the page (Voilà runs the notebook in a new kernel), connect, log in."""
        t0 = time.perf_counter()
        try:
            response = await http.fetch(self.page_url, headers=self.headers,
                                        request_timeout=600, follow_redirects=True)
        except Exception as err:
            raise RuntimeError(f"loading {self.page_url}: {err}") from err
        html = response.body.decode()
        self.kernel_id = re.search(r'kernelId": "([0-9a-f-]+)"', html).group(1)
        self.load_s = time.perf_counter() - t0
        self.client = KernelClient(f"{self.ws_base}/api/kernels/{self.kernel_id}/channels",
                                   self.headers)
        await self.client.connect()
        await self.client.request_states()
        t0 = time.perf_counter()
        form = self.client.find(title="Start your quest")
        if form is not None:  # the play page's own login (behind the hub there is none)
            await self.client.custom(form, {"type": "submit", "values": {
                "code": CODE, "name": self.name, "pin": PIN}})
        await self._wait_for_map()
        self.login_s = time.perf_counter() - t0

    async def _wait_for_map(self, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.client.find(nodes=lambda v: isinstance(v, list) and len(v) > 0):
                return
            await asyncio.sleep(0.05)
        raise TimeoutError(f"{self.name}: the map never arrived")

    def _map(self) -> str:
        return self.client.find(nodes=lambda v: isinstance(v, list) and len(v) > 0)

    def _button(self, label: str) -> str | None:
        return self.client.find(description=lambda v: label in (v or ""),
                                _dom_classes=lambda v: bool(v) and "qe-do" in v,
                                disabled=lambda v: not v)

    async def act(self, step: int) -> list[float]:
        """Select the next node on the map, then press the panel's button: two timings."""
        node, label = PLAY[step % len(PLAY)]
        took = [await self.client.update(self._map(), {"selected": node})]
        button = self._button(label)
        if button is not None:
            took.append(await self.client.custom(button, {"event": "click"}))
        return took


# --- memory ----------------------------------------------------------------------------------------


def pss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [p.pid for p in psutil.Process(pid).children(recursive=True)]
    except psutil.Error:
        return []


def memory(root_pids: list[int]) -> tuple[float, float, int]:
    """(PSS of kernels, PSS of everything else under the roots, number of kernels) in MB."""
    import psutil

    kernels = others = 0.0
    n = 0
    pids = sorted({pid for root in root_pids for pid in [root, *descendants(root)]})
    for pid in pids:
        try:
            cmd = " ".join(psutil.Process(pid).cmdline())
        except psutil.Error:
            continue
        if "ipykernel_launcher" in cmd:
            kernels += pss_mb(pid)
            n += 1
        else:
            others += pss_mb(pid)
    return kernels, others, n


# --- targets ---------------------------------------------------------------------------------------


class ServeTarget:
    """One ``questengine serve``: Voilà with the checked-in configuration."""

    name = "questengine serve"

    def __init__(self, folder: Path, db: str):
        self.db = db
        self.server = VoilaServer(db=db, port=free_port(), run_dir=folder / "run")
        self.log = open(folder / "voila.log", "wb")
        self.server.start(log=self.log)
        self.server.wait_ready(None, 120)

    def students(self, names: list[str]) -> list[Student]:
        ws = f"ws://127.0.0.1:{self.server.port}"
        return [Student(n, self.server.url("play"), ws) for n in names]

    def roots(self) -> list[int]:
        return [self.server.process.pid]

    async def leave(self, students: list[Student], http) -> None:
        for s in students:
            await s.client.close()

    def stop(self) -> None:
        self.server.stop()


class HubTarget:
    """A real JupyterHub (``questengine hub``'s configuration); each student a hub user."""

    name = "JupyterHub"

    def __init__(self, folder: Path, db: str):
        from hubserver import HubServer

        self.hub = HubServer(folder, db).start()

    def students(self, names: list[str]) -> list[Student]:
        out = []
        for i, n in enumerate(names, 1):
            user = f"student{i:03d}"
            out.append(Student(n, f"{self.hub.url}/user/{user}/voila/render/play.ipynb",
                               f"ws://127.0.0.1:{self.hub.port}/user/{user}"))
            out[-1].hub_user = user
        return out

    async def log_in(self, student: Student, http) -> None:
        """The hub's login form, then the OAuth round to the user's server, by hand."""
        from http.cookies import SimpleCookie
        from urllib.parse import urlencode, urljoin

        jar: dict[str, str] = {}

        async def go(url, method="GET", body=None):
            for _ in range(600):
                if "/voila/render/" in url and any(k.startswith("jupyterhub-user-") for k in jar):
                    return None, url  # logged in to the user's server: arrive() loads the page
                headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}
                if body is not None:
                    headers["Content-Type"] = "application/x-www-form-urlencoded"
                r = await http.fetch(url, method=method, body=body, headers=headers,
                                     follow_redirects=False, raise_error=False,
                                     request_timeout=600)
                for value in r.headers.get_list("Set-Cookie"):
                    c = SimpleCookie()
                    c.load(value)
                    for k, m in c.items():
                        jar[k] = m.value
                if r.code in (301, 302, 303, 307) and "Location" in r.headers:
                    url, method, body = urljoin(url, r.headers["Location"]), "GET", None
                    continue
                if os.environ.get("QE_BENCH_DEBUG"):
                    print(f"   [{student.name}] {method} {url} -> {r.code}")
                if r.code == 200 and "spawn-pending" in url:
                    await asyncio.sleep(1)
                    continue
                return r, url
            raise RuntimeError(f"too many redirects for {student.name}")

        login = f"{self.hub.url}/hub/login"
        r, _ = await go(login)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', r.body.decode())
        form = {"username": student.hub_user, "password": "hub-test-password"}
        if xsrf:
            form["_xsrf"] = xsrf.group(1)
        await go(f"{login}?next=/hub/", "POST", urlencode(form))  # spawn, OAuth, the cookies
        student.headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items())}

    def roots(self) -> list[int]:
        return [self.hub.process.pid] + self.hub._user_server_groups()

    async def leave(self, students, http) -> None:
        for s in students:
            await s.client.close()

    def stop(self) -> None:
        self.hub.stop()


# --- the run ---------------------------------------------------------------------------------------


async def run_step(target, students: list[Student], actions: int, think: float,
                   loaders: int) -> dict:
    from tornado.httpclient import AsyncHTTPClient

    AsyncHTTPClient.configure(None, max_clients=max(10, loaders * 2))
    http = AsyncHTTPClient()
    gate = asyncio.Semaphore(loaders)
    failures: list[str] = []

    async def arrive(s: Student):
        async with gate:
            try:
                if isinstance(target, HubTarget):
                    await target.log_in(s, http)
                await s.arrive(http)
            except Exception as err:  # a student who never got in is reported, not hidden
                failures.append(f"{s.name}: {type(err).__name__}: {err}")

    t0 = time.perf_counter()
    await asyncio.gather(*(arrive(s) for s in students))
    arrived = time.perf_counter() - t0
    present = [s for s in students if s.client is not None and s.login_s]
    times: list[float] = []

    async def play(s: Student):
        await asyncio.sleep(random.uniform(0, think))
        for i in range(actions):
            try:
                times.extend(await s.act(i))
            except Exception as err:
                failures.append(f"{s.name} action {i}: {type(err).__name__}: {err}")
                return
            await asyncio.sleep(random.expovariate(1 / think) if think else 0)

    await asyncio.gather(*(play(s) for s in present))
    kernels, others, n = memory(target.roots())
    load1 = os.getloadavg()[0]
    await target.leave(present, http)
    return {"arrived_s": arrived, "present": len(present), "times": times,
            "loads": [s.load_s for s in present], "logins": [s.login_s for s in present],
            "kernel_mb": kernels, "server_mb": others, "kernels": n, "failures": failures,
            "load1": load1}


def cpu_s(pid: int) -> float:
    import psutil

    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


async def probe(target: "ServeTarget", names: list[str], rounds: int) -> None:
    """One student alone: per action, the CPU its kernel and the Voilà server spent, and the
    websocket frames and bytes the browser would receive."""
    from tornado.httpclient import AsyncHTTPClient

    http = AsyncHTTPClient()
    server = target.server.process.pid
    rows = []
    for i in range(rounds * len(PLAY)):
        if i % len(PLAY) == 0:  # a new student each round: the same steps, from the start
            s = target.students([names[i // len(PLAY)]])[0]
            await s.arrive(http)
            kernel = next(p for p in descendants(server)
                          if s.kernel_id in " ".join(__import__("psutil").Process(p).cmdline()))
        for what in ("select", "press"):
            await asyncio.sleep(0.3)  # the kernel's news timer and the relay settle
            k0, s0, f0, b0 = cpu_s(kernel), cpu_s(server), s.client.frames, s.client.bytes
            node, label = PLAY[i % len(PLAY)]
            if what == "select":
                took = await s.client.update(s._map(), {"selected": node})
            else:
                button = s._button(label)
                if button is None:
                    continue
                took = await s.client.custom(button, {"event": "click"})
            await asyncio.sleep(0.2)  # frames still on their way after idle
            rows.append((f"{what} {node}", took, cpu_s(kernel) - k0, cpu_s(server) - s0,
                         s.client.frames - f0, s.client.bytes - b0))
        if i % len(PLAY) == len(PLAY) - 1:
            await s.client.close()
    print(f"{'action':22} {'click->idle ms':>14} {'kernel CPU ms':>14} {'Voilà CPU ms':>13} "
          f"{'frames':>7} {'KB':>7}")
    def line(label, mine):
        # time: the median; CPU, frames, bytes: the mean (CPU is counted in 10 ms ticks)
        print(f"{label:22} {statistics.median(r[1] for r in mine) * 1000:14.0f} "
              + " ".join(f"{statistics.fmean(r[k] for r in mine) * f:{w}.{d}f}"
                         for k, f, w, d in ((2, 1000, 14, 1), (3, 1000, 13, 1), (4, 1, 7, 1),
                                            (5, 1 / 1024, 7, 1))))

    for label in dict.fromkeys(r[0] for r in rows):
        line(label, [r for r in rows if r[0] == label])
    line(f"every action ({len(rows)})", rows)


def report(step: int, r: dict, service_ms: float) -> None:
    t = r["times"]
    med, p95 = statistics.median(t) if t else float("nan"), pct(t, 95)
    per = (r["kernel_mb"] + r["server_mb"]) / max(1, r["present"])
    print(f"\n-- {step} students: {r['present']} in after {r['arrived_s']:.0f} s, "
          f"{len(t)} actions, load average {r['load1']:.1f}")
    print(f"   click -> updated panel: median {med * 1000:7.0f} ms   p95 {p95 * 1000:7.0f} ms   "
          f"slowest {max(t) * 1000 if t else float('nan'):7.0f} ms   "
          f"(service alone: median {service_ms:.1f} ms -> ratio {med * 1000 / service_ms:.0f}x)")
    print(f"   page load median {statistics.median(r['loads']):.1f} s, p95 "
          f"{pct(r['loads'], 95):.1f} s; login -> map median "
          f"{statistics.median(r['logins']):.2f} s" if r["loads"] else "   nobody got in")
    print(f"   memory: {r['kernels']} kernels {r['kernel_mb']:.0f} MB PSS "
          f"({r['kernel_mb'] / max(1, r['kernels']):.0f} MB each), servers {r['server_mb']:.0f} MB; "
          f"{per:.0f} MB per student, {(r['kernel_mb'] + r['server_mb']) / 1024:.1f} GB in all")
    for f in r["failures"][:5]:
        print(f"   FAILED {f}")
    if len(r["failures"]) > 5:
        print(f"   ... and {len(r['failures']) - 5} more failures")


def chromium_students(target, names: list[str], n: int):
    """N real Chromium students on their own thread: click -> panel drawn, as a person sees."""
    import threading

    from conftest import CHROMIUM, CHROMIUM_ARGS  # tests/browser's, on sys.path below

    results: list[float] = []
    done = threading.Event()

    def run():
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            try:
                for name in names[:n]:
                    page = browser.new_page()
                    page.set_default_timeout(300_000)
                    page.goto(target.server.url("play"))
                    page.fill(".qe-code input", CODE)
                    page.fill(".qe-name input", name)
                    page.fill(".qe-pin input", PIN)
                    page.click(".qe-login-button")
                    page.wait_for_selector(".qe-panel .qe-node-title")
                    for node, label in PLAY:
                        t0 = time.perf_counter()
                        page.locator(f".qe-node[data-id='{node}']").click()
                        page.wait_for_function(
                            "id => document.querySelector('.qe-panel .qe-node-title') && "
                            "document.querySelector(`.qe-node[data-id='${id}']`)"
                            ".dataset.state !== 'available'", arg=node)
                        results.append(time.perf_counter() - t0)
                        t0 = time.perf_counter()
                        page.locator(".qe-panel button.qe-do").filter(has_text=label).click()
                        page.wait_for_selector(f".qe-node[data-id='{node}'][data-state='success']")
                        results.append(time.perf_counter() - t0)
                    page.close()
            finally:
                browser.close()
                done.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return results, done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", default="10,30,60,100,150")
    ap.add_argument("--target", choices=["serve", "hub"], default="serve")
    ap.add_argument("--db", default=None, help="postgresql://... (default: a SQLite file)")
    ap.add_argument("--actions", type=int, default=4, help="actions per student per step")
    ap.add_argument("--think", type=float, default=2.0, help="mean seconds between actions")
    ap.add_argument("--loaders", type=int, default=4, help="pages loading at once")
    ap.add_argument("--chromium", type=int, default=0, help="real Chromium students alongside")
    ap.add_argument("--stop-above", type=float, default=5.0, help="stop when p95 passes this (s)")
    ap.add_argument("--max-memory-gb", type=float, default=16.0)
    ap.add_argument("--ws-protocol", choices=list(PROTOCOL), default="v1",
                    help="the kernel websocket protocol: v1 (what Voilà's page speaks: the "
                         "server relays frames undecoded) or legacy (JSON, decoded and "
                         "re-encoded by the server)")
    ap.add_argument("--probe", type=int, default=0, metavar="ROUNDS",
                    help="instead of the steps: one student alone, ROUNDS rounds of the "
                         "actions, with the CPU of its kernel and of the Voilà server per "
                         "action and the frames and bytes the browser receives")
    args = ap.parse_args()
    KernelClient.protocol = PROTOCOL[args.ws_protocol]
    steps = [int(x) for x in args.steps.split(",")]
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    folder = Path(tempfile.mkdtemp(prefix="qe-classroom-"))
    pg = None
    db = args.db
    if db is None and args.target == "hub":
        from pgserver import PGServer

        pg = PGServer().start()
        db = pg.fresh_address()
    db = db or str(folder / "classroom.db")
    names = build_classroom(db, max(steps) + args.chromium)
    service = service_alone(db, names, 10)
    service_ms = statistics.median(service) * 1000
    reset_progress(db)
    print(f"== a class at once: {args.target} ({'PostgreSQL' if 'postgres' in db else 'SQLite'}), "
          f"{os.cpu_count()} cores; {args.actions} actions per student, think {args.think} s ==")
    print(f"service alone (StudentSession.open/complete in-process): median {service_ms:.1f} ms, "
          f"p95 {pct(service, 95) * 1000:.1f} ms")
    held = 0
    target = None
    if args.probe:
        run = folder / "probe"
        run.mkdir()
        target = ServeTarget(run, db)
        try:
            asyncio.run(probe(target, names, args.probe))
        finally:
            target.stop()
            shutil.rmtree(folder, ignore_errors=True)
        return
    try:
        for step in steps:
            # a fresh server per step: the last step's kernels (and users' servers) are gone
            if target is not None:
                target.stop()
            run = folder / f"step-{step}"
            run.mkdir()
            target = ServeTarget(run, db) if args.target == "serve" else HubTarget(run, db)
            reset_progress(db)
            chrome = None
            if args.chromium and isinstance(target, ServeTarget):
                chrome = chromium_students(target, names[max(steps):], args.chromium)
            r = asyncio.run(run_step(target, target.students(names[:step]), args.actions,
                                     args.think, args.loaders))
            report(step, r, service_ms)
            if chrome is not None:
                chrome[1].wait(600)
                ct = chrome[0]
                if ct:
                    print(f"   Chromium students ({args.chromium}): click -> panel drawn median "
                          f"{statistics.median(ct) * 1000:.0f} ms, p95 {pct(ct, 95) * 1000:.0f} ms")
            p95 = pct(r["times"], 95)
            if r["present"] == step and p95 < 1.0:
                held = step
            total_gb = (r["kernel_mb"] + r["server_mb"]) / 1024
            if p95 > args.stop_above or r["present"] < step:
                print(f"   stopping: p95 {p95:.1f} s or not everyone got in")
                break
            if step != steps[-1]:
                next_step = steps[steps.index(step) + 1]
                if total_gb / max(1, step) * next_step > args.max_memory_gb:
                    print(f"   stopping: {next_step} students would need about "
                          f"{total_gb / step * next_step:.0f} GB (limit --max-memory-gb "
                          f"{args.max_memory_gb})")
                    break
        print(f"\nstudents this machine holds at once with p95 < 1 s ({args.target}): "
              f"{held if held else 'fewer than ' + str(steps[0])} (goal: at least 150)")
    finally:
        if target is not None:
            target.stop()
        if pg is not None:
            pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
