"""What one student action costs the play page's kernel: comm messages, bytes, CPU.

The play page is built in this process exactly as its kernel builds it (no Voilà, no
websocket): every comm message the widgets would send to the browser is counted by
replacing the comm's ``publish_msg`` (``comm_open`` for a new widget, ``comm_msg`` for a
state update, ``comm_close``), with the size of its JSON. The actions are those of
``benchmarks/classroom.py`` (select a node on the map as a click sends it, then press the
panel's button), then a quiz answered (the gate's form, a heavier panel). Printed per
action: messages by type, kilobytes, CPU milliseconds (``time.process_time``, the median
of ``--rounds`` students), and with ``--profile`` the functions where the time goes
(cProfile, by cumulative time).

This is the kernel's own share of a click. A served page adds, per message, the kernel's
serialisation and signing, ZeroMQ, and Voilà's relay to the websocket (see
``benchmarks/classroom.py`` for the whole path).

``--log`` prints every message of the last student's actions: its type, the widget's model,
its size and the traits it carries.

Run: ``.venv/bin/python benchmarks/play_action.py [--rounds 10] [--profile] [--log]``
"""
from __future__ import annotations

import argparse
import cProfile
import collections
import json
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# as in a served page's kernel (questengine/server.py): no echo of the browser's own changes
os.environ.setdefault("JUPYTER_WIDGETS_ECHO", "0")

import comm  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

QUEST = "fraction-forest"
CODE = "BENCH-1"
PIN = "2468"


_models: dict[str, str] = {}  # comm id -> the widget's model name


class Counter:
    """Every comm message the widgets publish, by type, with its JSON size."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.counts: collections.Counter = collections.Counter()
        self.bytes = 0
        self.by_trait: collections.Counter = collections.Counter()
        self.log: list[str] = []  # one line per message: type, widget, traits, bytes

    def __call__(self, comm_self, msg_type, data=None, metadata=None, buffers=None, **keys):
        body = {"data": data, "metadata": metadata, **keys}
        size = len(json.dumps(body, default=str))
        self.counts[msg_type] += 1
        self.bytes += size
        model = _models.get(comm_self.comm_id, "?")
        if msg_type == "comm_open" and isinstance(data, dict):
            state = data.get("state", {})
            model = _models[comm_self.comm_id] = " ".join(
                [state.get("_model_name", "?"), *state.get("_dom_classes", ())[:1]])
        traits = ",".join((data or {}).get("state", {})) if msg_type == "comm_msg" else ""
        value = (data or {}).get("state", {}).get("value")
        if isinstance(value, str):
            traits += "  " + value[:60].replace("\n", " ")
        self.log.append(f"{msg_type:10} {model:34} {size:6} B  {traits}")
        if msg_type == "comm_msg" and isinstance(data, dict) and data.get("method") == "update":
            for k in data.get("state", {}):
                self.by_trait[k] += 1
        elif msg_type == "comm_open" and isinstance(data, dict):
            self.by_trait["new " + data.get("state", {}).get("_model_name", "?")] += 1


def classroom(db: str, students: int):
    from questengine.classroom import Classroom
    from questengine.loader import load_quest

    c = Classroom(db, hasher=PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
                  reflections_a_minute=None)
    owner = c.add_teacher("bench@school.test", "Ms. Bench", "bench-pass-1")
    c.create_class("bench@school.test", "Benchmark class", CODE)
    names = [f"Student {i:03d}" for i in range(1, students + 1)]
    c.add_students(CODE, [(n, PIN) for n in names])
    c.publish(load_quest(ROOT / "quests" / f"{QUEST}.yaml"), by=owner)
    c.assign(QUEST, CODE)
    return c, names


def walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from walk(child)


def button(page, label: str):
    return next(b for b in walk(page.panel) if "qe-do" in b._dom_classes
                and label in (getattr(b, "description", "") or ""))


def actions(page):
    """(name, callable) in the order one student plays them."""
    from questengine.grading import grade  # noqa: F401  (imported by the session anyway)

    def select(node):
        return lambda: page.map.set_state({"selected": node})  # as the browser sends it

    def press(label):
        return lambda: button(page, label).click()

    def answer_gate():
        gate = page.selected
        qs = page.G.nodes[gate]["node"].questions
        for q in qs:
            field = next(w for w in walk(page.panel) if f"qe-answer-{q.id}" in w._dom_classes)
            if q.type == "choice":
                field.set_state({"index": q.options.index(q.answer)})
            elif q.type == "multi":
                for box in field.children:
                    box.set_state({"value": box.description in q.answer})
            elif q.type == "number":
                field.set_state({"value": str(q.answer)})
            else:
                field.set_state({"value": q.accept[0]})
        button(page, "Check").click()

    return [("select trailhead (story)", select("trailhead")),
            ("Done on trailhead", press("Done")),
            ("select fold-map (task)", select("fold-map")),
            ("Done on fold-map", press("Done")),
            ("select learn (choice)", select("learn")),
            ("pick the video option", lambda: next(
                b for b in walk(page.panel) if "qe-option-video" in b._dom_classes).click()),
            ("Done on the video", press("Done")),
            ("select the checkpoint (gate)", select("checkpoint")),
            ("answer the checkpoint", answer_gate)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=10, help="students, each plays once")
    ap.add_argument("--profile", action="store_true", help="cProfile the actions")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--log", action="store_true",
                    help="print every message of the last student's actions (widget, traits)")
    args = ap.parse_args()

    counter = Counter()
    comm.DummyComm.publish_msg = lambda self, *a, **k: counter(self, *a, **k)
    from questengine.ui.play import PlayPage

    c, names = classroom(":memory:", args.rounds)
    results: dict[str, list] = collections.defaultdict(list)
    login_costs = []
    profiler = cProfile.Profile() if args.profile else None
    for name in names:
        counter.reset()
        t0 = time.process_time()
        page = PlayPage(c)
        page.login.form.submit(code=CODE, name=name, pin=PIN)
        login_costs.append((time.process_time() - t0, sum(counter.counts.values()),
                            counter.bytes))
        for label, act in actions(page):
            counter.reset()
            if profiler:
                profiler.enable()
            t0 = time.process_time()
            act()
            took = time.process_time() - t0
            if profiler:
                profiler.disable()
            results[label].append((took, dict(counter.counts), counter.bytes,
                                   dict(counter.by_trait)))
            if args.log and name == names[-1]:
                print(f"-- {label}")
                print("\n".join("   " + line for line in counter.log))
        page._logout()

    print(f"== one student's actions in the play page's kernel (median of {args.rounds}) ==")
    print(f"{'action':28} {'CPU ms':>7} {'open':>5} {'update':>6} {'close':>5} {'KB':>7}"
          "  what they carry (new models, traits updated)")
    for label, rows in results.items():
        ms = statistics.median(r[0] for r in rows) * 1000
        last = rows[-1]
        traits = ", ".join(f"{k}×{v}" for k, v in sorted(last[3].items(), key=lambda kv: -kv[1])
                           [:8])
        print(f"{label:28} {ms:7.1f} {last[1].get('comm_open', 0):5} "
              f"{last[1].get('comm_msg', 0):6} {last[1].get('comm_close', 0):5} "
              f"{last[2] / 1024:7.1f}  {traits}")
    ms = statistics.median(x[0] for x in login_costs[1:] or login_costs) * 1000
    print(f"{'(page + login)':28} {ms:7.1f}  messages {login_costs[-1][1]}, "
          f"{login_costs[-1][2] / 1024:.1f} KB")
    if profiler:
        print()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
