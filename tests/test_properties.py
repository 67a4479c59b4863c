"""Property tests (hypothesis) of the validator and the engine.

Random quests are random DAGs (forward edges only, in a random topological
order) of every node kind, with ``done``/``success``/``fail`` edges,
``requires: all``/``any``, retry edges from a gate's fail path back to the
gate, and at least one ``end``. Most of them are steered towards what the
validator accepts (a repair pass re-reads ``validate()``); some are left raw.
Every property is about what ``validate()`` accepts:

(a) some sequence of student outcomes (and teacher reviews) reaches an end;
(b) ``replay`` is deterministic and a fold over the events: a prefix replays
    to what the student saw at that point, ``extend`` continues a replay
    exactly, and the store's JSON round trip changes nothing;
(c) ``act`` refuses every student action on a locked or closed node;
(d) every node is reached (leaves locked/closed) in some play-through;
(e) ``closed`` is final: without a teacher override, a node shown closed
    never opens later in the same play-through.

(f) ``validate`` reports each defect put into a valid quest (a cycle, an
    unknown node, a success/fail edge out of a node that cannot fail, bad
    retry edges, duplicates, no end).

The searches never use teacher overrides: "reachable" means reachable by the
student's own outcomes (and the teacher's ordinary review decisions).
Generated gates are scored from their own questions (estimator ``score``);
gates that read earlier evidence (no questions, or BKT) appear only in the
literal counterexamples at the end, which are minimal quests on which a
property failed. Shrinking is off by default (set QE_SHRINK=1 to turn it on).
"""
from __future__ import annotations

import copy
import json
import os
import random

import pytest
from hypothesis import HealthCheck, Phase, assume, given, note, settings
from hypothesis import strategies as st

from questengine.engine import Action, Event, act, available, explain, extend, replay
from questengine.errors import ProgressError
from questengine.graph import build_graph, validate
from questengine.model import MODALITIES, Quest, node_can_fail
from questengine.simulate import answer_for

# --- strategies --------------------------------------------------------------

#: Pass scores and thresholds drawn for quizzes, quiz options and gates.
#: 0.0 is in range (DESIGN section 3) and deliberately included.
FRACTIONS = (0.0, 0.3, 0.5, 0.7, 0.8, 1.0)
COMPETENCIES = ("c1", "c2")
KIND_WEIGHTS = (
    ["story"] * 2 + ["task-self"] * 2 + ["task-review"] * 2 + ["choice"] * 2 + ["quiz"] * 3
    + ["gate"] * 4 + ["end"]
)


@st.composite
def _question(draw, qid: str) -> dict:
    qtype = draw(st.sampled_from(["choice", "multi", "number", "text"]))
    if qtype in ("choice", "multi"):
        options = ["a", "b", "c", "d"][: draw(st.integers(2, 4))]
        if qtype == "choice":
            answer = draw(st.sampled_from(options))
        else:
            answer = draw(st.lists(st.sampled_from(options), min_size=1, unique=True))
        return {"id": qid, "type": qtype, "prompt": "Which?", "options": options, "answer": answer}
    if qtype == "number":
        return {"id": qid, "type": "number", "prompt": "How much?",
                "answer": draw(st.sampled_from([0.5, 3.0, -2.0, 10.0])),
                "tolerance": draw(st.sampled_from([0.0, 0.001, 0.5]))}
    return {"id": qid, "type": "text", "prompt": "Name it",
            "accept": draw(st.lists(st.sampled_from(["one half", "1/2", "Half"]), min_size=1,
                                    unique=True))}


@st.composite
def _questions(draw, min_size: int = 1, max_size: int = 3) -> list[dict]:
    return [draw(_question(f"q{i}")) for i in range(draw(st.integers(min_size, max_size)))]


@st.composite
def _node(draw, node_id: str, kind: str) -> dict:
    node: dict = {"id": node_id, "title": f"Step {node_id}"}
    if draw(st.integers(0, 3)) == 0:
        node["xp"] = draw(st.integers(0, 50))
        node["fail_xp"] = draw(st.integers(0, 10))
    if kind == "story":
        node["kind"] = "story"
    elif kind in ("task-self", "task-review"):
        node.update(kind="task", complete=kind[5:])
    elif kind == "choice":
        node["kind"] = "choice"
        options = []
        for i in range(draw(st.integers(2, 3))):
            complete = draw(st.sampled_from(["self", "review", "quiz"]))
            option = {"id": f"opt{i}", "modality": draw(st.sampled_from(MODALITIES)),
                      "label": f"Option {i}", "complete": complete}
            if complete == "quiz":
                option["questions"] = draw(_questions())
                option["pass_score"] = draw(st.sampled_from(FRACTIONS))
            options.append(option)
        node["options"] = options
    elif kind == "quiz":
        node.update(kind="quiz", questions=draw(_questions()),
                    pass_score=draw(st.sampled_from(FRACTIONS)))
    elif kind == "gate":
        node.update(kind="gate", questions=draw(_questions()),
                    threshold=draw(st.sampled_from(FRACTIONS)),
                    max_attempts=draw(st.integers(1, 3)))
    else:
        node["kind"] = "end"
        node["rewards"] = {"xp": draw(st.integers(0, 100))}
        if draw(st.booleans()):
            node["rewards"]["badge"] = f"badge-{node_id}"
    if kind in ("quiz", "gate", "choice", "task-review") and draw(st.booleans()):
        node["competencies"] = draw(st.lists(st.sampled_from(COMPETENCIES), min_size=1,
                                             unique=True))
    if draw(st.integers(0, 2)) == 0:
        node["requires"] = "any"
    return node


def _can_fail(node: dict) -> bool:
    """node_can_fail on the plain data of a node."""
    if node["kind"] in ("quiz", "gate"):
        return True
    if node["kind"] == "task":
        return node["complete"] == "review"
    if node["kind"] == "choice":
        return any(o["complete"] != "self" for o in node["options"])
    return False


def _fail_path(edges: list[dict], gate: str) -> list[str]:
    """Nodes reached from a ``when: fail`` edge out of ``gate`` (forward edges only)."""
    succ: dict[str, list[str]] = {}
    for e in edges:
        succ.setdefault(e["from"], []).append(e["to"])
    stack = [e["to"] for e in edges if e["from"] == gate and e["when"] == "fail"]
    seen = set(stack)
    while stack:
        for nxt in succ.get(stack.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return sorted(seen, key=lambda n: int(n[1:]))


@st.composite
def quest_data(draw, min_nodes: int = 2, max_nodes: int = 25) -> dict:
    """A quest as plain data: a random DAG in topological order n0, n1, ... (listed shuffled)."""
    n = draw(st.integers(min_nodes, max_nodes))
    ids = [f"n{i}" for i in range(n)]
    kinds = [draw(st.sampled_from([k for k in KIND_WEIGHTS if k != "end"]))]
    kinds += [draw(st.sampled_from(KIND_WEIGHTS)) for _ in range(n - 2)] + ["end"]
    nodes = [draw(_node(ids[i], kinds[i])) for i in range(n)]
    edges: list[dict] = []
    for j in range(1, n):
        sources = [ids[i] for i in range(j) if nodes[i]["kind"] != "end"]
        if not sources:
            continue
        count = draw(st.integers(0 if draw(st.integers(0, 9)) == 0 else 1, 3))
        for u in draw(st.lists(st.sampled_from(sources), min_size=min(count, len(sources)),
                               max_size=min(count, len(sources)), unique=True)):
            source = nodes[int(u[1:])]
            when = draw(st.sampled_from(["done", "success", "fail"])) if _can_fail(source) else "done"
            edges.append({"from": u, "to": ids[j], "when": when})
    retry_sources: set[str] = set()
    for i, node in enumerate(nodes):
        if node["kind"] != "gate" or draw(st.integers(0, 3)) == 0:
            continue
        later = [ids[j] for j in range(i + 1, n - 1)]
        if later and not any(e["from"] == ids[i] and e["when"] == "fail" for e in edges):
            target = draw(st.sampled_from(later))  # a remediation path for the loop below
            edges = [e for e in edges if (e["from"], e["to"]) != (ids[i], target)]
            edges.append({"from": ids[i], "to": target, "when": "fail"})
        path = [v for v in _fail_path(edges, ids[i]) if v not in retry_sources
                and (nodes[int(v[1:])]["kind"] != "end" or draw(st.integers(0, 4)) == 0)]
        if path:
            source = draw(st.sampled_from(path))
            retry_sources.add(source)
            edges.append({"from": source, "to": ids[i], "when": "retry"})
    order = draw(st.permutations(range(n)))
    return {
        "id": "random-quest",
        "title": "Random quest",
        "competencies": [{"id": c, "name": f"Competency {c}"} for c in COMPETENCIES],
        "nodes": [nodes[i] for i in order],
        "edges": edges,
    }


def _to_quest(data: dict) -> Quest:
    out = copy.deepcopy(data)
    out["edges"] = [[e["from"], e["to"]] if e["when"] == "done" else dict(e) for e in data["edges"]]
    return Quest.model_validate(out)


def _repair(data: dict) -> dict:
    """Steer a quest towards validity: nodes reported unreachable get ``requires: any``,
    then a plain edge from the first start ``n0``."""
    data = copy.deepcopy(data)
    by_id = {n["id"]: n for n in data["nodes"]}
    for _ in range(6):
        problems = validate(_to_quest(data))
        unreachable = [p.nodes[0] for p in problems if p.code == "unreachable"]
        if not unreachable or len(unreachable) < len(problems):
            break
        for node_id in unreachable:
            node = by_id[node_id]
            if node.get("requires") != "any":
                node["requires"] = "any"
                continue
            for e in data["edges"]:
                if e["from"] == "n0" and e["to"] == node_id and e["when"] != "retry":
                    e["when"] = "done"
                    break
            else:
                data["edges"].append({"from": "n0", "to": node_id, "when": "done"})
    return data


@st.composite
def quests(draw, min_nodes: int = 2, max_nodes: int = 25) -> Quest:
    """Random quests, mostly (about 9 in 10) steered to be valid, the others raw."""
    data = draw(quest_data(min_nodes, max_nodes))
    if draw(st.integers(0, 9)) > 0:
        data = _repair(data)
    return _to_quest(data)


def valid_quests(min_nodes: int = 2, max_nodes: int = 25):
    return quests(min_nodes, max_nodes).filter(lambda q: not validate(q))


# --- playing -----------------------------------------------------------------

LOCKED = ("locked", "closed")


class Play:
    """A play-through in progress: events so far and the progress they replay to."""

    def __init__(self, G, events=None):
        self.G = G
        self.events = list(events or [])
        self.progress = replay(G, self.events)

    def do(self, action: Action, role: str = "student") -> "Play":
        new = act(self.G, self.progress, action, role=role, actor=role,
                  at=f"2026-09-01T09:{len(self.events) % 60:02d}:00+00:00")
        return Play(self.G, self.events + new)


def _answers(node_id: str, questions, right: bool) -> Action:
    return Action("answer", node_id, answers={q.id: answer_for(q, right) for q in questions})


def _perform(play: Play, move: tuple) -> Play:
    """Play one whole move: choose, then complete / answer / submit and have it reviewed."""
    node_id, option_id, outcome = move
    G = play.G
    model = G.nodes[node_id]["node"]
    right = outcome == "success"
    how = model.kind
    if model.kind == "task":
        how = "self" if model.complete == "self" else "review"
    elif model.kind == "choice":
        if play.progress.nodes[node_id].option != option_id:
            play = play.do(Action("choose", node_id, option=option_id))
        option = next(o for o in model.options if o.id == option_id)
        how = option.complete
        if how == "quiz":
            return play.do(_answers(node_id, option.questions, right))
    if how in ("quiz", "gate"):
        return play.do(_answers(node_id, model.questions, right))
    if how == "review":
        play = play.do(Action("submit", node_id, content="my work"))
        return play.do(Action("review", node_id, decision="approve" if right else "fail"),
                       role="teacher")
    return play.do(Action("complete", node_id))


def _branching(G) -> dict[str, tuple[str, ...]]:
    """The outcomes worth trying for each node.

    Both outcomes only when a ``success``/``fail`` edge leaves the node (with
    only plain edges out of it, its outcome changes nothing downstream);
    otherwise just success, which every node can reach with right answers or
    an approval.
    """
    out = {}
    for n in G:
        model = G.nodes[n]["node"]
        decides = node_can_fail(model) and any(d["when"] != "done" for d in G.succ[n].values())
        out[n] = ("success", "fail") if decides else ("success",)
    return out


def _relevant(G) -> set[str]:
    """Nodes from which an end can be reached, counting retry edges as paths."""
    pred: dict[str, list[str]] = {n: list(G.pred[n]) for n in G}
    for source, gate in G.graph["retry"].items():
        pred[gate].append(source)
    stack = [n for n in G if G.nodes[n]["node"].kind == "end"]
    seen = set(stack)
    while stack:
        for p in pred[stack.pop()]:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def _search_moves(G, progress, branching, nodes) -> list[tuple]:
    """Whole moves worth trying: per node, each useful outcome once (an option of a
    choice that can give it, the first such option)."""
    out = []
    for n in available(progress):
        if n not in nodes:
            continue
        model = G.nodes[n]["node"]
        for outcome in branching[n]:
            option = None
            if model.kind == "choice":
                np = progress.nodes[n]
                options = [o for o in model.options
                           if (outcome == "success" or o.complete == "review"
                               or (o.complete == "quiz" and o.pass_score > 0))
                           and not (np.state == "returned" and np.option not in (None, o.id))]
                if not options:
                    continue
                option = options[0].id
            out.append((n, option, outcome))
    return out


def _signature(progress, evidence: bool = False) -> tuple:
    """What decides the future of a play (rounds and history do not)."""
    sig = tuple((np.status, np.outcome, np.attempts, np.extra_attempts, np.retry_ready,
                 np.unlocked, np.option) for np in progress.nodes.values())
    if evidence:  # gates without questions, or estimated by BKT, read earlier evidence
        sig += tuple((c, tuple(obs)) for c, obs in sorted(progress.evidence.items()))
    return sig


def _reads_evidence(G) -> bool:
    return any(G.nodes[n]["node"].kind == "gate" and (not G.nodes[n]["node"].questions
                                                      or G.nodes[n]["node"].estimator != "score")
               for n in G)


def search(G, *, goal: str = "end", budget: int | None = None):
    """Depth-first search over whole moves (memoised on the progress).

    ``goal="end"``: return the first play reaching an end (None if there is
    none). ``goal="all"``: explore every state (play-throughs stop at an end)
    and return the set of nodes that ever left locked/closed.

    To keep it small, moves that cannot close anything and start no retry
    (a node with one useful outcome) are played at once without branching,
    and with ``goal="end"`` only nodes from which an end can be reached are
    played. Raises AssertionError when a move picked from ``available`` is
    refused, or when the budget of states runs out.
    """
    # an end, when there is one, is found within a few dozen states: the budget
    # only bounds the time spent proving that there is none
    budget = budget or (3_000 if goal == "end" else 20_000)
    branching = _branching(G)
    nodes = _relevant(G) if goal == "end" else set(G)
    evidence = _reads_evidence(G)
    reached: set[str] = set()
    seen: set[tuple] = set()
    stack = [Play(G)]
    while stack:
        play = stack.pop()
        sig = _signature(play.progress, evidence)
        if sig in seen:
            continue
        seen.add(sig)
        assert len(seen) <= budget, (
            f"no {'end' if goal == 'end' else 'end of the search'} after {budget} states "
            "(search budget exhausted)")
        states = play.progress.states()
        reached.update(n for n, s in states.items() if s not in LOCKED)
        if play.progress.complete:
            if goal == "end":
                return play
            continue
        moves = _search_moves(G, play.progress, branching, nodes)
        ends = [m for m in moves if G.nodes[m[0]]["node"].kind == "end"]
        if goal == "end" and ends:
            moves = ends[:1]
        else:
            moves = [m for m in moves if m not in ends]
            forced = [m for m in moves if len(branching[m[0]]) == 1
                      and m[0] not in G.graph["retry"]]
            if forced:
                moves = forced[:1]
        for move in reversed(moves):
            try:
                stack.append(_perform(play, move))
            except ProgressError as e:  # pragma: no cover - a bug if it happens
                raise AssertionError(f"move {move} refused after {len(play.events)} events: {e}")
    return reached if goal == "all" else None


def random_play(G, rng: random.Random, skill: float, max_steps: int = 300,
                stop_at_end: bool = True, overrides: float = 0.0) -> list[Play]:
    """A random student (single actions, not whole moves) and a random teacher.

    Returns the play after each step. ``skill`` is the chance of a right
    answer and of the teacher approving; ``overrides`` the chance, at each
    step, of a teacher override (unlock, reset, approve or award).
    """
    play = Play(G)
    plays = [play]
    for _ in range(max_steps):
        p = play.progress
        if stop_at_end and p.complete:
            break
        if overrides and rng.random() < overrides:
            node = rng.choice(sorted(p.nodes))
            op = rng.choice(["unlock", "reset", "approve", "award"])
            try:
                play = play.do(Action("override", node, op=op, reason="teacher", xp=5), role="teacher")
            except ProgressError:
                continue
            plays.append(play)
            continue
        pending = [n for n, np in p.nodes.items() if np.state == "pending_review"]
        moves = available(p)
        if pending and (not moves or rng.random() < 0.4):
            node = rng.choice(pending)
            roll = rng.random()
            decision = "approve" if roll < skill else ("return" if roll < (1 + skill) / 2 else "fail")
            play = play.do(Action("review", node, decision=decision, feedback="more, please"),
                           role="teacher")
            plays.append(play)
            continue
        if not moves:
            break
        node = rng.choice(moves)
        np, model = p.nodes[node], G.nodes[node]["node"]
        if np.state == "available" and rng.random() < 0.2:
            action = Action("open", node)
        elif model.kind in ("quiz", "gate"):
            action = _answers(node, model.questions, rng.random() < skill)
        elif model.kind == "task" and model.complete == "review":
            action = Action("submit", node, content="my work")
        elif model.kind == "choice":
            option = next((o for o in model.options if o.id == np.option), None)
            if option is None or (np.state != "returned" and rng.random() < 0.2):
                action = Action("choose", node, option=rng.choice(model.options).id)
            elif option.complete == "quiz":
                action = _answers(node, option.questions, rng.random() < skill)
            elif option.complete == "review":
                action = Action("submit", node, content="my work")
            else:
                action = Action("complete", node)
        else:
            action = Action("complete", node)
        play = play.do(action)
        plays.append(play)
        if rng.random() < 0.05:
            done = [n for n, q in play.progress.nodes.items() if q.state in ("success", "fail")]
            if done:
                play = play.do(Action("reflect", rng.choice(done), text="I learned something"))
                plays.append(play)
    return plays


def _describe(quest: Quest) -> str:
    return json.dumps(quest.to_data())


#: Failing examples here are slow to shrink (each one plays whole quests), so
#: shrinking is off unless QE_SHRINK=1; a failure prints the quest as JSON
#: (see ``note``) and the known counterexamples below are minimal already.
PHASES = tuple(Phase) if os.environ.get("QE_SHRINK") else (
    Phase.explicit, Phase.reuse, Phase.generate, Phase.target)


#: QE_EXAMPLES_SCALE=N runs N times as many examples (a deep run, by hand: the suite keeps
#: its usual counts so that it stays short)
SCALE = max(1, int(os.environ.get("QE_EXAMPLES_SCALE", "1")))


def fast(max_examples: int):
    return settings(max_examples=max_examples * SCALE, deadline=None, phases=PHASES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


# --- (a) every accepted quest can be finished ----------------------------------


@fast(150)
@given(valid_quests())
def test_every_valid_quest_can_reach_an_end(quest):
    note(_describe(quest))
    G = build_graph(quest)
    play = search(G, goal="end")
    assert play is not None, "validate() accepts the quest, but no sequence of outcomes reaches an end"
    assert play.progress.ends
    assert any(e.type == "complete" and G.nodes[e.node]["node"].kind == "end" for e in play.events)


# --- (b) replay is deterministic and a fold over the events ------------------------


def _progress_dump(p) -> dict:
    return {
        "states": p.states(), "xp": p.xp, "level": p.level, "badges": list(p.badges),
        "ends": list(p.ends), "mastery": dict(p.mastery), "struggling": dict(p.struggling),
        "nodes": {n: (q.state, q.outcome, q.attempts, q.round, q.score, q.option, q.xp,
                      len(q.submissions), len(q.reviews), len(q.history))
                  for n, q in p.nodes.items()},
    }


@fast(60)
@given(valid_quests(max_nodes=15), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.4, 0.7, 1.0]))
def test_replay_is_deterministic_and_prefix_consistent(quest, seed, skill):
    note(_describe(quest))
    G = build_graph(quest)
    plays = random_play(G, random.Random(seed), skill, max_steps=120, stop_at_end=False,
                        overrides=0.05)
    snapshots = [copy.deepcopy(_progress_dump(p.progress)) for p in plays]
    events = plays[-1].events
    note(f"events: {[(e.type, e.node, e.data) for e in events]}")

    # same events, twice, and on a freshly built graph: equal progress
    first, second, fresh = replay(G, events), replay(G, events), replay(build_graph(quest), events)
    assert first == second
    assert first == fresh
    assert _progress_dump(first) == _progress_dump(second)

    # each prefix replays to what the student saw at that point; nothing that
    # happened later changed a progress computed earlier (no shared state)
    for play, snapshot in zip(plays, snapshots):
        assert _progress_dump(replay(G, play.events)) == snapshot
        assert _progress_dump(play.progress) == snapshot

    # extend(replay(a), b) == replay(a + b), and extending a copy leaves the original alone
    rng = random.Random(seed)
    for k in sorted({0, len(events)} | {rng.randint(0, len(events)) for _ in range(4)}):
        base = replay(G, events[:k])
        before = _progress_dump(base)
        extended = extend(base.copy(), events[k:])
        assert extended == first, f"extend after {k} of {len(events)} events differs from replay"
        assert _progress_dump(extended) == _progress_dump(first)
        assert _progress_dump(base) == before, "extend on a copy changed the original"

    # the store keeps rows with `data` as JSON: that round trip changes nothing
    rows = [{**e.to_dict(), "data": json.dumps(e.data)} for e in events]
    back = [Event(**{**r, "data": json.loads(r["data"])}) for r in rows]
    assert _progress_dump(replay(G, back)) == _progress_dump(first)

    # events on nodes the quest does not have are skipped and counted
    stray = Event("complete", "no-such-node", data={"outcome": "success"})
    mixed = [stray] + list(events[: len(events) // 2]) + [stray] + list(events[len(events) // 2:])
    again = replay(G, mixed)
    assert again.ignored == 2
    assert _progress_dump(again) == _progress_dump(first)


# --- (c) nothing locked or closed can be played ------------------------------------


def _every_student_action(G, node_id: str) -> list[Action]:
    model = G.nodes[node_id]["node"]
    actions = [Action("open", node_id), Action("complete", node_id),
               Action("submit", node_id, content="my work"),
               Action("reflect", node_id, text="thoughts"), Action("answer", node_id, answers={})]
    questions = list(getattr(model, "questions", []) or [])
    for o in getattr(model, "options", []) or []:
        actions.append(Action("choose", node_id, option=o.id))
        questions += o.questions
    for right in (True, False):
        if questions:
            actions.append(Action("answer", node_id,
                                  answers={q.id: answer_for(q, right) for q in questions}))
        if getattr(model, "questions", None):
            actions.append(_answers(node_id, model.questions, right))
        for o in getattr(model, "options", []) or []:
            if o.questions:
                actions.append(_answers(node_id, o.questions, right))
    return actions


@fast(60)
@given(valid_quests(max_nodes=15), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.5, 1.0]),
       st.integers(0, 60))
def test_act_refuses_locked_and_closed_nodes(quest, seed, skill, steps):
    note(_describe(quest))
    G = build_graph(quest)
    plays = random_play(G, random.Random(seed), skill, max_steps=steps, stop_at_end=False,
                        overrides=0.05)
    for play in plays[:: max(1, len(plays) // 6)] + plays[-1:]:
        p = play.progress
        for node_id, np in p.nodes.items():
            actions = _every_student_action(G, node_id)
            sentence = explain(p, node_id)
            assert isinstance(sentence, str) and sentence.endswith("."), sentence
            if np.state in LOCKED:
                assert np.state in sentence, sentence
                for action in actions:
                    with pytest.raises(ProgressError):
                        act(G, p, action)
                    note(f"{action} on {np.state} {node_id} refused, as it should")
                for decision in ("approve", "fail", "return"):
                    with pytest.raises(ProgressError):
                        act(G, p, Action("review", node_id, decision=decision, feedback="x"),
                            role="teacher")
            else:
                for action in actions:
                    try:
                        new = act(G, p, action)
                    except ProgressError:
                        continue
                    assert all(p.nodes[e.node].state not in LOCKED for e in new), (action, new)
                    assert all(e.node == node_id for e in new)
                    after = replay(G, play.events + new)
                    # completing happens only to a node that was playable
                    if any(e.type == "complete" for e in new):
                        assert np.state in ("available", "in_progress", "returned"), (action, np)
                        assert after.nodes[node_id].status in ("done", None)


# --- (d) every accepted node is reached in some play-through -------------------------


@fast(60)
@given(valid_quests(max_nodes=12), st.integers(0, 2**32 - 1))
def test_every_valid_node_is_reached_in_some_playthrough(quest, seed):
    note(_describe(quest))
    G = build_graph(quest)
    rng = random.Random(seed)
    reached: set[str] = set()
    for i in range(24):  # cheap first: random students of varied skill
        for play in random_play(G, rng, skill=(0.0, 0.3, 0.7, 1.0)[i % 4], max_steps=100):
            reached.update(n for n, s in play.progress.states().items() if s not in LOCKED)
        if len(reached) == len(G):
            return
    reached |= search(G, goal="all")  # then every play-through, move by move
    missing = sorted(set(G) - reached, key=lambda n: int(n[1:]))
    assert not missing, f"validate() accepts the quest, but no play-through reaches {missing}"


# --- (e) closed is final -------------------------------------------------------------


def _reopened_closed(plays: list[Play]) -> str | None:
    """The first node shown closed that later opens (None if there is none)."""
    closed_at: dict[str, int] = {}
    for i, play in enumerate(plays):
        for n, state in play.progress.states().items():
            if state == "closed":
                closed_at.setdefault(n, i)
            elif n in closed_at and state not in LOCKED:
                return (f"{n} was closed after step {closed_at[n]} but is {state} after step {i} "
                        "with no teacher override")
    return None


@fast(150)
@given(valid_quests(max_nodes=15), st.integers(0, 2**32 - 1), st.sampled_from([0.0, 0.3, 0.7]))
def test_closed_nodes_never_open_again(quest, seed, skill):
    note(_describe(quest))
    G = build_graph(quest)
    plays = random_play(G, random.Random(seed), skill, max_steps=150, stop_at_end=False)
    problem = _reopened_closed(plays)
    if problem:
        note(f"events: {[(e.type, e.node, e.data.get('outcome')) for e in plays[-1].events]}")
    assert problem is None, problem


# --- (f) what validate() must reject --------------------------------------------------

MUTATIONS = ("cycle", "unknown-node", "cannot-fail", "retry-not-gate", "retry-not-upstream",
             "duplicate-edge", "duplicate-id", "no-end")


def _mutate(data: dict, how: str, draw) -> tuple[dict, str] | None:
    """One defect put into a valid quest, and the problem code validate() must report."""
    data = copy.deepcopy(data)
    nodes = {n["id"]: n for n in data["nodes"]}
    plain = [e for e in data["edges"] if isinstance(e, list) or e.get("when") != "retry"]
    pairs = [(e[0], e[1]) if isinstance(e, list) else (e["from"], e["to"]) for e in plain]
    retry_from = {e["from"] for e in data["edges"] if isinstance(e, dict) and e.get("when") == "retry"}
    if how == "cycle":
        back = [(u, v) for u, v in pairs if nodes[v]["kind"] != "end"]
        if not back:
            return None
        u, v = draw(st.sampled_from(back))
        data["edges"].append([v, u])
        return data, "cycle"
    if how == "unknown-node":
        data["edges"].append([draw(st.sampled_from(sorted(nodes))), "nowhere"])
        return data, "unknown_node"
    if how == "cannot-fail":
        sure = [n for n, d in nodes.items() if not _can_fail(d) and d["kind"] != "end"]
        if not sure:
            return None
        u = draw(st.sampled_from(sure))
        others = [v for v in nodes if v != u and (u, v) not in pairs]
        if not others:
            return None
        data["edges"].append({"from": u, "to": draw(st.sampled_from(others)),
                              "when": draw(st.sampled_from(["success", "fail"]))})
        return data, "cannot_fail"
    if how == "retry-not-gate":
        targets = [n for n, d in nodes.items() if d["kind"] != "gate"]
        sources = [n for n in nodes if n not in retry_from]
        if not targets or not sources:
            return None
        u, v = draw(st.sampled_from(sources)), draw(st.sampled_from(targets))
        if u == v:
            return None
        data["edges"].append({"from": u, "to": v, "when": "retry"})
        return data, "retry_not_gate"
    if how == "retry-not-upstream":
        gates = [n for n, d in nodes.items() if d["kind"] == "gate"]
        if not gates:
            return None
        g = draw(st.sampled_from(gates))
        fail_path = set(_fail_path([{"from": a, "to": b, "when": (e.get("when", "done")
                                     if isinstance(e, dict) else "done")}
                                    for (a, b), e in zip(pairs, plain)], g))
        sources = [n for n in nodes if n not in fail_path and n not in retry_from and n != g]
        if not sources:
            return None
        data["edges"].append({"from": draw(st.sampled_from(sources)), "to": g, "when": "retry"})
        return data, "retry_not_upstream"
    if how == "duplicate-edge":
        if not plain:
            return None
        data["edges"].append(copy.deepcopy(draw(st.sampled_from(plain))))
        return data, "duplicate_edge"
    if how == "duplicate-id":
        data["nodes"].append(copy.deepcopy(draw(st.sampled_from(data["nodes"]))))
        return data, "duplicate_id"
    for n in data["nodes"]:  # no-end
        if n["kind"] == "end":
            n["kind"] = "story"
            n.pop("rewards", None)
    return data, "no_end"


@fast(200)
@given(valid_quests(max_nodes=12), st.sampled_from(MUTATIONS), st.data())
def test_validate_rejects_broken_quests(quest, how, data):
    mutated = _mutate(quest.to_data(), how, data.draw)
    assume(mutated is not None)  # this quest offers no place for this mutation: draw another
    broken, code = mutated
    note(json.dumps(broken))
    problems = validate(Quest.model_validate(broken))
    codes = [p.code for p in problems]
    assert code in codes, f"{how}: expected a {code!r} problem, got {codes}"
    ids = {n["id"] for n in broken["nodes"]} | {"nowhere"}
    for p in problems:
        assert p.message and set(p.nodes) <= ids, p


# --- known counterexamples, shrunk by hand -------------------------------------------
#
# Each is a minimal quest on which one of the properties above fails (or
# failed); they stay here as fast regression tests.

_Q = [{"id": "q", "type": "choice", "prompt": "Which?", "options": ["a", "b"], "answer": "a"}]


def _quiz(node_id: str, **extra) -> dict:
    return {"id": node_id, "kind": "quiz", "title": node_id, "questions": _Q, **extra}


def _story(node_id: str, **extra) -> dict:
    return {"id": node_id, "kind": "story", "title": node_id, **extra}


def _merge_quest() -> dict:
    """'z' needs d1 and d2 to fail, and 'c', which needs one of them to pass; 32
    alternative ways to reach 'c' exceed graph.MAX_ALTERNATIVES."""
    nodes = [_quiz(f"d{i}") for i in range(1, 7)] + [_story("a", requires="any")]
    edges: list = [{"from": "d1", "to": "a", "when": "success"},
                   {"from": "d2", "to": "a", "when": "success"}, ["a", "c"]]
    for i in range(3, 7):  # b_i is reached whether d_i passes or not: 2 alternatives each
        nodes += [_story(f"s{i}"), _story(f"f{i}"), _story(f"b{i}", requires="any")]
        edges += [{"from": f"d{i}", "to": f"s{i}", "when": "success"},
                  {"from": f"d{i}", "to": f"f{i}", "when": "fail"},
                  [f"s{i}", f"b{i}"], [f"f{i}", f"b{i}"], [f"b{i}", "c"]]
    nodes += [_story("c"), {"id": "z", "kind": "end", "title": "z"}]
    edges += [["c", "z"], {"from": "d1", "to": "z", "when": "fail"},
              {"from": "d2", "to": "z", "when": "fail"}]
    return {"id": "merge", "title": "Merge", "nodes": nodes, "edges": edges}


def _two_nodes(first: dict, when: str) -> dict:
    return {"id": "tiny", "title": "Tiny", "competencies": [{"id": "c", "name": "C"}],
            "nodes": [first, {"id": "end", "kind": "end", "title": "end"}],
            "edges": [{"from": first["id"], "to": "end", "when": when}]}


UNPLAYABLE = {  # name -> (quest, the problem code validate() must report)
    # a quiz that passes with any score cannot fail: its fail path is dead
    "quiz-pass-score-0": (_two_nodes(_quiz("quiz", pass_score=0), "fail"), "cannot_fail"),
    "gate-threshold-0": (_two_nodes(
        {"id": "gate", "kind": "gate", "title": "gate", "threshold": 0, "questions": _Q}, "fail"),
        "cannot_fail"),
    "choice-quiz-option-pass-score-0": (_two_nodes(
        {"id": "pick", "kind": "choice", "title": "pick", "options": [
            {"id": "read", "modality": "reading", "label": "Read"},
            {"id": "test", "modality": "other", "label": "Test", "complete": "quiz",
             "questions": _Q, "pass_score": 0}]}, "fail"), "cannot_fail"),
    # MAX_ALTERNATIVES merging keeps only what all alternatives need: accepts a dead end
    "merged-alternatives": (_merge_quest(), "unreachable"),
    # a gate with no questions and no earlier evidence of its competency never passes
    "gate-without-evidence": (_two_nodes(
        {"id": "gate", "kind": "gate", "title": "gate", "competencies": ["c"]}, "success"),
        "gate_cannot_pass"),
    # BKT from the default prior cannot reach 0.8 with one right answer in one attempt
    "bkt-gate-one-attempt": (_two_nodes(
        {"id": "gate", "kind": "gate", "title": "gate", "competencies": ["c"], "estimator": "bkt",
         "max_attempts": 1, "questions": _Q}, "success"), "gate_cannot_pass"),
}


@pytest.mark.parametrize("name", sorted(UNPLAYABLE))
def test_known_counterexamples_are_rejected(name):
    """Each of these quests cannot be played to the end (or to every node): validate() must
    reject it, with the problem that says why."""
    data, code = UNPLAYABLE[name]
    problems = validate(Quest.model_validate(data))
    assert [p.code for p in problems] == [code], \
        f"{name}: expected one {code!r} problem, got {[(p.code, p.message) for p in problems]}"
    ids = {n["id"] for n in data["nodes"]}
    assert all(p.message and set(p.nodes) <= ids for p in problems), problems


@pytest.mark.parametrize("name", sorted(UNPLAYABLE))
def test_known_counterexamples_are_in_fact_unplayable(name):
    """The other half of properties (a) and (d): the search finds no way to an end or to
    some node, so the rejection is right (not a false alarm)."""
    G = build_graph(Quest.model_validate(UNPLAYABLE[name][0]))
    unreached = set(G) - search(G, goal="all")
    assert unreached or search(G, goal="end") is None, \
        f"{name} is playable to an end and to every node, so validate() should accept it"


def test_retry_keeps_work_done_before_the_gate():
    """Property (e), shrunk: 'x' hangs off the start and off gate 'g'; passing 'x' closes
    'end'. Retrying 'g' must not undo 'x' (done before 'g' was tried), reopen 'end',
    or give gate 'x' a second attempt beyond its max_attempts of 1."""
    quest = Quest.model_validate({
        "id": "reset", "title": "Reset", "nodes": [
            _story("s"),
            {"id": "g", "kind": "gate", "title": "g", "max_attempts": 2, "questions": _Q},
            _story("r"),
            {"id": "x", "kind": "gate", "title": "x", "max_attempts": 1, "requires": "any",
             "questions": _Q},
            {"id": "end", "kind": "end", "title": "end"}],
        "edges": [["s", "g"], {"from": "g", "to": "r", "when": "fail"},
                  {"from": "r", "to": "g", "when": "retry"}, ["s", "x"], ["g", "x"],
                  {"from": "x", "to": "end", "when": "fail"}]})
    assert not validate(quest)
    G = build_graph(quest)
    plays = [Play(G)]
    for action in [Action("complete", "s"), _answers("x", quest.node("x").questions, True),
                   _answers("g", quest.node("g").questions, False), Action("complete", "r")]:
        plays.append(plays[-1].do(action))
    p = plays[-1].progress
    assert p.state("x") == "success", (
        f"retrying 'g' reset 'x' (passed before 'g' was tried): {p.states()}, "
        f"x round {p.nodes['x'].round}")
    assert p.state("end") == "closed", p.states()
    with pytest.raises(ProgressError):
        act(G, p, _answers("x", quest.node("x").questions, False))


def test_closed_is_final_through_a_retry_loop():
    """Property (e), shrunk: 'x' is on the remediation path of gate 'g'. When 'x' fails,
    'end' is shown closed, yet finishing 'r' reopens 'g', 'x' is played again as a new
    round, and passing it opens 'end'. A node that can still open is locked, not closed."""
    quest = Quest.model_validate({
        "id": "loop", "title": "Loop", "nodes": [
            {"id": "g", "kind": "gate", "title": "g", "max_attempts": 2, "questions": _Q},
            _quiz("x"), _story("r"), {"id": "end", "kind": "end", "title": "end"}],
        "edges": [{"from": "g", "to": "x", "when": "fail"}, ["x", "r"],
                  {"from": "r", "to": "g", "when": "retry"},
                  {"from": "x", "to": "end", "when": "success"}]})
    assert not validate(quest)
    G = build_graph(quest)
    plays = [Play(G)]
    for node_id, right in [("g", False), ("x", False), ("r", None), ("g", False), ("x", True)]:
        action = (Action("complete", node_id) if right is None
                  else _answers(node_id, quest.node(node_id).questions, right))
        plays.append(plays[-1].do(action))
    assert plays[-1].progress.state("end") == "available"
    problem = _reopened_closed(plays)
    assert problem is None, f"{problem}: {explain(plays[2].progress, 'end')}"
