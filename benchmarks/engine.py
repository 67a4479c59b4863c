"""Engine benchmark (DESIGN section 12): replay vs a plain pass over the same events,
and validation of a deep 10,000-node quest. Timings are printed, never asserted.

Part A, replay. A layered 1,000-node quest: 111 modules of 9 nodes and one end. Each
module is: story -> (modality choice: video / worksheet for review / quiz) and a task
for review -> practice quiz (requires all) -> mastery gate (3 questions, 3 attempts);
the gate's fail path (story -> drill quiz -> redo task) has a retry edge back to the
gate; a side task merges the gate's success path and the drill's success
(requires any); the next module needs the gate passed and the side task done.

One simulated student (and teacher) plays it with ``act()``, so every event is legal.
A single clean play-through of 1,000 nodes makes about 3,000 events; a realistic one
for a student who often needs the remediation loop, whose review work is sometimes
returned for revision, and who writes reflections reaches 5,000 before the end (the
script prints the mix and stops the log at exactly 5,000 events, a legal prefix).
The events are serialised as the store keeps them: one dict per row with type,
node, role, actor, at, quest, version and ``data`` as a JSON string.

Side by side, median of N repeats (interleaved):
* plain pass: ``json.loads`` of each row's data, into a dict keyed by node;
* replay: ``json.loads`` + ``Event(...)`` for each row, then ``replay(G, events)``.

Part B, validation. A deep 10,000-node quest (one long chain with short diamonds,
requires all/any merges, quizzes whose success and fail paths merge again, and a
gate with a remediation loop and retry edge every 25 nodes). Prints the time of
``validate()`` and its peak memory (tracemalloc here, and ru_maxrss in a fresh
subprocess), then for contrast what networkx all-pairs descendants cost on a
2,000-node slice of it.

Run: ``.venv/bin/python benchmarks/engine.py [--repeats 15] [--skip-allpairs]``
"""
from __future__ import annotations

import argparse
import gc
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import networkx as nx  # noqa: E402

from questengine.engine import Action, Event, act, available, extend, replay  # noqa: E402
from questengine.graph import build_graph, validate  # noqa: E402
from questengine.model import Quest  # noqa: E402
from questengine.simulate import answer_for  # noqa: E402

EVENTS = 5_000
MODULES = 111  # 111 * 9 + 1 end = 1,000 nodes
# The simulated student: chance of a right answer per gate question at the first
# attempt and later ones (3 questions, threshold 0.8: all three must be right), the
# teacher's chance of returning work for revision (first time, again), and the chance
# of a reflection after finishing a step.
GATE_FIRST, GATE_LATER = 0.6, 0.8
RETURN_FIRST, RETURN_AGAIN = 0.5, 0.25
REFLECT = 0.6


def _questions(prefix: str, n: int) -> list[dict]:
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append({"id": f"{prefix}{i}", "type": "choice", "prompt": "Which is equal to 1/2?",
                        "options": ["2/4", "2/3", "3/4"], "answer": "2/4"})
        elif i % 3 == 1:
            out.append({"id": f"{prefix}{i}", "type": "number", "prompt": "1/4 + 1/4 as a decimal",
                        "answer": 0.5, "tolerance": 0.001})
        else:
            out.append({"id": f"{prefix}{i}", "type": "text", "prompt": "Name one of two equal parts",
                        "accept": ["one half", "1/2", "half"]})
    return out


def layered_quest(modules: int = MODULES) -> Quest:
    """About 9 nodes per module and an end: choices, review tasks, quizzes, gates with loops."""
    competencies = [{"id": f"c{i}", "name": f"Competency {i}"} for i in range(10)]
    nodes: list[dict] = []
    edges: list = []
    for m in range(modules):
        p, comp = f"m{m}.", [f"c{m % 10}"]
        nodes += [
            {"id": p + "intro", "kind": "story", "title": f"Module {m}", "xp": 5},
            {"id": p + "learn", "kind": "choice", "title": "Learn", "competencies": comp, "options": [
                {"id": "video", "modality": "video", "label": "Watch", "complete": "self"},
                {"id": "sheet", "modality": "worksheet", "label": "Worksheet", "complete": "review"},
                {"id": "check", "modality": "game", "label": "Quick check", "complete": "quiz",
                 "questions": _questions("q", 2), "pass_score": 0.5}]},
            {"id": p + "task", "kind": "task", "title": "Make a model", "complete": "review",
             "competencies": comp, "xp": 10},
            {"id": p + "practice", "kind": "quiz", "title": "Practice", "competencies": comp,
             "questions": _questions("q", 3), "pass_score": 0.6},
            {"id": p + "gate", "kind": "gate", "title": "Checkpoint", "competencies": comp,
             "threshold": 0.8, "max_attempts": 3, "questions": _questions("q", 3), "xp": 20},
            {"id": p + "help", "kind": "story", "title": "Ranger camp"},
            {"id": p + "drill", "kind": "quiz", "title": "Drill", "competencies": comp,
             "questions": _questions("q", 2), "pass_score": 0.5},
            {"id": p + "redo", "kind": "task", "title": "Redo the strips", "complete": "self"},
            {"id": p + "side", "kind": "task", "title": "Side trail", "complete": "self",
             "requires": "any"},
        ]
        if m:
            q = f"m{m - 1}."
            edges += [{"from": q + "gate", "to": p + "intro", "when": "success"}, [q + "side", p + "intro"]]
        edges += [
            [p + "intro", p + "learn"], [p + "intro", p + "task"],
            [p + "learn", p + "practice"], [p + "task", p + "practice"],
            [p + "practice", p + "gate"],
            {"from": p + "gate", "to": p + "help", "when": "fail"},
            [p + "help", p + "drill"], [p + "drill", p + "redo"],
            {"from": p + "redo", "to": p + "gate", "when": "retry"},
            {"from": p + "gate", "to": p + "side", "when": "success"},
            {"from": p + "drill", "to": p + "side", "when": "success"},
        ]
    last = f"m{modules - 1}."
    nodes.append({"id": "end", "kind": "end", "title": "Out of the forest",
                  "rewards": {"xp": 100, "badge": "ranger"}})
    edges += [{"from": last + "gate", "to": "end", "when": "success"}, [last + "side", "end"]]
    return Quest.model_validate({"id": "bench-layered", "title": "Layered benchmark quest",
                                 "version": 1, "competencies": competencies, "nodes": nodes,
                                 "edges": edges})


def play_events(G, target: int = EVENTS, seed: int = 7) -> tuple[list[Event], Counter]:
    """One student's legal events, made with act(); stops at ``target`` events."""
    rng = random.Random(seed)
    progress = replay(G, [])
    events: list[Event] = []
    stats: Counter = Counter()
    minute = 0

    def do(action: Action, role: str = "student") -> None:
        nonlocal progress, minute
        minute += 1
        at = f"2026-09-{1 + minute // 1440:02d}T{minute // 60 % 24:02d}:{minute % 60:02d}:00+00:00"
        new = act(G, progress, action, role=role, actor="t1" if role == "teacher" else "s1", at=at)
        events.extend(new)
        progress = extend(progress, new)

    while len(events) < target and not progress.complete:
        moves = available(progress)
        pending = [n for n, np in progress.nodes.items() if np.state == "pending_review"]
        for n in pending:  # the teacher reviews: a third of the work goes back for revision
            returns = sum(r.decision == "return" for r in progress.nodes[n].reviews
                          if r.round == progress.nodes[n].round)
            if rng.random() < (RETURN_FIRST if not returns else RETURN_AGAIN):
                do(Action("review", n, decision="return", feedback="Add a labelled drawing."), "teacher")
                stats["returns"] += 1
            else:
                do(Action("review", n, decision="approve", feedback="Well done."), "teacher")
        if pending:
            continue
        if not moves:  # a gate failed max_attempts times: the teacher grants one more
            stuck = list(progress.struggling)
            if not stuck:
                break
            do(Action("override", stuck[0], op="unlock", reason="one more try"), "teacher")
            stats["teacher unlocks"] += 1
            continue
        n = moves[0]
        np, model = progress.nodes[n], G.nodes[n]["node"]
        kind = model.kind
        if kind in ("story", "end") or (kind == "task" and model.complete == "self"):
            do(Action("complete", n))
        elif kind == "task":
            do(Action("submit", n, content="My model, with a photo." if np.state != "returned"
                      else "My model, now with a labelled drawing."))
        elif kind in ("quiz", "gate"):
            # gates: a student who needs the remediation loop about half of the time
            skill = (GATE_FIRST if np.attempts == 0 else GATE_LATER) if kind == "gate" else 0.93
            answers = {q.id: answer_for(q, rng.random() < skill) for q in model.questions}
            do(Action("answer", n, answers=answers))
            if kind == "gate":
                stats["gate attempts"] += 1
                stats["gate fails"] += progress.nodes[n].outcome == "fail"
        else:  # choice
            option = next((o for o in model.options if o.id == np.option), None)
            if option is None:
                option = rng.choice(model.options)
                do(Action("choose", n, option=option.id))
            elif option.complete == "self":
                do(Action("complete", n))
            elif option.complete == "review":
                do(Action("submit", n, content="My worksheet."))
            else:
                do(Action("answer", n, answers={q.id: answer_for(q, rng.random() < 0.9)
                                                for q in option.questions}))
        done = [m for m in (n,) if progress.nodes[m].state in ("success", "fail")]
        if done and rng.random() < REFLECT:
            do(Action("reflect", n, text="I folded the strip in half, then in half again."))
    events = events[:target]
    stats.update(f"event {e.type}" for e in events)
    stats["nodes touched"] = len({e.node for e in events})
    stats["quest complete"] = int(any(e.node == "end" and e.type == "complete" for e in events))
    return events, stats


def to_rows(events: list[Event]) -> list[dict]:
    """Rows as the store keeps them: ``data`` as a JSON string."""
    return [{"type": e.type, "node": e.node, "role": e.role, "actor": e.actor, "at": e.at,
             "quest": e.quest, "version": e.version, "data": json.dumps(e.data, ensure_ascii=False)}
            for e in events]


def plain_pass(rows: list[dict]) -> dict:
    by_node: dict[str, list] = {}
    for r in rows:
        by_node.setdefault(r["node"], []).append((r["type"], json.loads(r["data"])))
    return by_node


def replay_rows(G, rows: list[dict]):
    events = [Event(r["type"], r["node"], r["role"], r["actor"], r["at"], r["quest"], r["version"],
                    json.loads(r["data"])) for r in rows]
    return replay(G, events)


def timed(fn, *args) -> float:
    gc.collect()
    t = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t


def part_a(repeats: int) -> None:
    t = time.perf_counter()
    quest = layered_quest()
    G = build_graph(quest)
    problems = validate(quest)
    built = time.perf_counter() - t
    print(f"A. layered quest: {len(G):,} nodes, {G.number_of_edges():,} forward edges, "
          f"{len(G.graph['retry'])} retry edges; built and validated in {built:.2f} s "
          f"({len(problems)} problems)")
    t = time.perf_counter()
    events, stats = play_events(G)
    print(f"   {len(events):,} events of one student made with act() in {time.perf_counter() - t:.1f} s")
    kinds = ", ".join(f"{k[6:]} {v}" for k, v in sorted(stats.items()) if k.startswith("event "))
    print(f"   event mix: {kinds}")
    print(f"   how: {stats['nodes touched']} nodes touched, {stats['gate attempts']} gate attempts of "
          f"which {stats['gate fails']} failed (each failure replays the 3-node remediation loop and "
          f"the gate), {stats['teacher unlocks']} extra attempts granted by the teacher, "
          f"{stats['returns']} reviews returned for revision, "
          f"{stats['event reflect']} reflections; quest complete within the "
          f"{len(events):,}: {'yes' if stats['quest complete'] else 'no (the log stops there)'}")
    rows = to_rows(events)
    assert replay_rows(G, rows) == replay(G, events)  # the rows carry everything replay needs

    plain, full = [], []
    for _ in range(repeats):  # interleaved, so both see the same machine
        plain.append(timed(plain_pass, rows))
        full.append(timed(replay_rows, G, rows))
    p, r = statistics.median(plain), statistics.median(full)
    print(f"replay {len(G):,} nodes / {len(rows):,} events: {r * 1e3:.1f} ms; "
          f"plain dict pass: {p * 1e3:.1f} ms; ratio {r / p:.2f}x (target <= 5x)  "
          f"[median of {repeats}; replay min {min(full) * 1e3:.1f} ms, plain min {min(plain) * 1e3:.1f} ms]")


# --- part B -------------------------------------------------------------------------


def deep_quest(n: int = 10_000) -> Quest:
    """One long chain (depth in the thousands) of small patterns, ``n`` nodes in all.

    Patterns, in turn: a diamond joined with requires all; a quiz whose success and
    fail paths merge again (requires any); a gate whose fail path loops back (retry);
    plain chain steps in between.
    """
    nodes: list[dict] = [{"id": "n0", "kind": "story", "title": "Start"}]
    edges: list = []
    qs = _questions("q", 1)
    tail = "n0"
    i = 1

    def add(kind: str, **extra) -> str:
        nonlocal i
        node_id = f"n{i}"
        i += 1
        node = {"id": node_id, "kind": kind, "title": f"Step {node_id}", **extra}
        if kind == "quiz":
            node.update(questions=qs)
        if kind == "gate":
            node.update(questions=qs, max_attempts=3)
        nodes.append(node)
        return node_id

    step = 0
    while i < n - 8:
        step += 1
        if step % 5 == 0:  # gate with a remediation loop, every 25 nodes or so
            g = add("gate")
            edges.append([tail, g])
            h, d = add("story"), add("quiz")
            edges += [{"from": g, "to": h, "when": "fail"}, [h, d],
                      {"from": d, "to": g, "when": "retry"}]
            nxt = add("story")
            edges.append({"from": g, "to": nxt, "when": "success"})
            tail = nxt
        elif step % 5 == 1:  # diamond, requires all
            a, b = add("task", complete="review"), add("story")
            join = add("story")
            edges += [[tail, a], [tail, b], [a, join], [b, join]]
            tail = join
        elif step % 5 == 2:  # success and fail paths of a quiz merge again: requires any
            q = add("quiz")
            s, f = add("story"), add("story")
            join = add("story", requires="any")
            edges += [[tail, q], {"from": q, "to": s, "when": "success"},
                      {"from": q, "to": f, "when": "fail"}, [s, join], [f, join]]
            tail = join
        else:  # plain chain
            for _ in range(2):
                nxt = add("choice", options=[
                    {"id": "a", "modality": "reading", "label": "Read"},
                    {"id": "b", "modality": "song", "label": "Sing", "complete": "review"}]) \
                    if step % 2 else add("story")
                edges.append([tail, nxt])
                tail = nxt
    while i < n - 1:
        nxt = add("story")
        edges.append([tail, nxt])
        tail = nxt
    end = add("end")
    edges.append([tail, end])
    return Quest.model_validate({"id": "bench-deep", "title": "Deep benchmark quest",
                                 "nodes": nodes, "edges": edges})


def _vm(field: str) -> int | None:
    """A VmRSS/VmHWM figure of this process in kB (Linux), None elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _child_validate() -> None:
    """In a fresh process: resident memory before validate() of the deep quest and its peak
    during it (the peak is reset after building the quest, where the kernel allows it)."""
    quest = deep_quest()
    gc.collect()
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    rss_before = _vm("VmRSS")
    try:  # Linux >= 4.0: writing 5 resets the peak (VmHWM) to the current RSS
        Path("/proc/self/clear_refs").write_text("5")
        reset = _vm("VmHWM") is not None
    except OSError:
        reset = False
    t = time.perf_counter()
    problems = validate(quest)
    seconds = time.perf_counter() - t
    print(json.dumps({"rss_before_kb": rss_before, "hwm_kb": _vm("VmHWM") if reset else None,
                      "maxrss_before_kb": maxrss_before,
                      "maxrss_after_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "seconds": seconds, "problems": len(problems)}))


def part_b(repeats: int, allpairs: bool) -> None:
    t = time.perf_counter()
    quest = deep_quest()
    made = time.perf_counter() - t
    G = build_graph(quest)
    depth = len(nx.dag_longest_path(G))
    print(f"B. deep quest: {len(G):,} nodes, {G.number_of_edges():,} forward edges, "
          f"{len(G.graph['retry'])} retry edges, longest path {depth:,} nodes "
          f"(model built in {made:.2f} s)")
    times = [timed(validate, quest) for _ in range(max(3, repeats // 3))]
    problems = validate(quest)
    tracemalloc.start()
    validate(quest)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    child = subprocess.run([sys.executable, __file__, "--child-validate"], capture_output=True,
                           text=True, timeout=120)
    try:
        info = json.loads(child.stdout.strip().splitlines()[-1])
        mb = lambda kb: f"{kb / 1024:.0f} MB"  # noqa: E731
        if info["hwm_kb"] is not None:
            rss = (f"in a fresh process: RSS {mb(info['rss_before_kb'])} with the quest built, peak "
                   f"RSS during validate {mb(info['hwm_kb'])} "
                   f"(+{(info['hwm_kb'] - info['rss_before_kb']) / 1024:.1f} MB)")
        else:
            rss = "in a fresh process: "
        rss += (f"; ru_maxrss {mb(info['maxrss_before_kb'])} before validate (building the "
                f"quest), {mb(info['maxrss_after_kb'])} after")
    except (IndexError, ValueError, KeyError):
        rss = f"subprocess failed: {child.stderr.strip()[-300:]}"
    print(f"validate {len(G):,}-node deep quest: {statistics.median(times) * 1e3:.0f} ms "
          f"(median of {len(times)}, {len(problems)} problems); peak memory {peak / 2**20:.1f} MB "
          f"(tracemalloc); {rss}")
    if not allpairs:
        return
    order = G.graph["order"][:2_000]
    S = G.subgraph(order).copy()
    gc.collect()
    t = time.perf_counter()
    desc = {v: nx.descendants(S, v) for v in S}
    seconds = time.perf_counter() - t
    pairs = sum(len(d) for d in desc.values())
    del desc
    gc.collect()
    tracemalloc.start()  # memory on a second run: tracemalloc slows it down
    desc = {v: nx.descendants(S, v) for v in S}
    _, peak_all = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del desc
    # the same slice as a quest of its own (its retry edges kept, an end after any of its
    # last nodes), so that validate() runs every check on it
    inside = set(order)
    sub = Quest.model_validate({
        "id": "bench-slice", "title": "Slice",
        "nodes": [G.nodes[v]["node"].model_dump(mode="json") for v in order]
        + [{"id": "slice-end", "kind": "end", "title": "End", "requires": "any"}],
        "edges": [{"from": u, "to": v, "when": w} for u, v, w in S.edges(data="when")]
        + [{"from": u, "to": g, "when": "retry"} for u, g in G.graph["retry"].items()
           if u in inside and g in inside]
        + [{"from": u, "to": "slice-end", "when": "done"} for u in order if not S.out_degree(u)]})
    slice_problems = len(validate(sub))
    slice_validate = statistics.median(timed(validate, sub) for _ in range(3))
    print(f"contrast, 2,000-node slice: all-pairs descendants (networkx) {seconds:.2f} s, "
          f"{pairs:,} pairs, peak {peak_all / 2**20:.0f} MB (tracemalloc); validate on the same "
          f"slice {slice_validate * 1e3:.0f} ms ({slice_problems} problems)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--skip-allpairs", action="store_true")
    parser.add_argument("--child-validate", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_validate:
        _child_validate()
        return
    start = time.perf_counter()
    print(f"questengine engine benchmark, Python {sys.version.split()[0]}, "
          f"networkx {nx.__version__}")
    part_a(args.repeats)
    part_b(args.repeats, not args.skip_allpairs)
    print(f"total {time.perf_counter() - start:.0f} s; timings are printed, never asserted")


if __name__ == "__main__":
    main()
