"""Quest -> networkx DAG, and the checks that make a quest playable.

Forward edges (``done``, ``success``, ``fail``) form a DAG; ``retry`` edges are
kept apart in ``G.graph["retry"]`` (source -> gate) so the DAG stays acyclic.
Every check is a small generator of :class:`Problem`; all of them are linear
or near-linear in the size of the quest (no all-pairs descendants).
"""
from __future__ import annotations

import difflib
import textwrap
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx

from .errors import N_, Message, Problem, QuestValidationError
from .model import Quest, node_can_fail

__all__ = ["build_graph", "quest_graph", "validate", "check", "outcomes", "layout", "map_layout",
           "MapLayout", "title"]

#: Above this many alternative ways to reach a node, the reachability analysis
#: merges them, keeping only what they all need: it may then accept a node that
#: needs an impossible mix of outcomes (random play-throughs find those). Below
#: it the analysis is exact.
MAX_ALTERNATIVES = 64


def outcomes(node) -> tuple[str, ...]:
    """The outcomes a node can end with."""
    return ("success", "fail") if node_can_fail(node) else ("success",)


def title(G: nx.DiGraph, node_id: str) -> str:
    """A node's name for sentences: its title in quotes (its id if it has none)."""
    node = G.nodes[node_id].get("node") if node_id in G else None
    return f"“{node.title}”" if node is not None and node.title else f"“{node_id}”"


def build_graph(quest: Quest, registry=None) -> nx.DiGraph:
    """The quest as a DiGraph, without checks (see :func:`quest_graph`).

    Node attribute ``node`` holds the model, edge attribute ``when`` the
    condition; ``G.graph`` holds ``quest``, ``retry`` (source -> gate), ``retry_gates`` and,
    when the forward edges are acyclic, ``order`` (a topological order). It holds the
    plugin ``registry`` it was built with (by default the one the quest was read with)
    as ``registry``, and from it ``kinds`` (the behaviour of the quest's plugin kinds)
    and ``badges`` (the badge rules): the engine reads these, never a process-wide default.
    """
    registry = _registry(quest, registry)
    G = nx.DiGraph(quest=quest, retry={}, registry=registry)  # the graph carries its registry
    G.graph.update(registry.graph_parts(quest))
    for node in quest.nodes:
        G.add_node(node.id, node=node)
    for edge in quest.edges:
        if edge.when == "retry":
            G.graph["retry"][edge.source] = edge.target
        else:
            G.add_edge(edge.source, edge.target, when=edge.when)
    G.graph["retry_gates"] = set(G.graph["retry"].values())
    try:
        G.graph["order"] = list(nx.topological_sort(G))
    except nx.NetworkXUnfeasible:
        G.graph["order"] = None
    return G


def quest_graph(quest: Quest, registry=None) -> nx.DiGraph:
    """Validate the quest and return its graph; raise QuestValidationError listing every problem."""
    check(quest, registry)
    return build_graph(quest, registry)


def check(quest: Quest, registry=None) -> None:
    """Raise QuestValidationError with every problem, if there is any."""
    problems = validate(quest, registry)
    if problems:
        raise QuestValidationError(problems)


def _registry(quest: Quest, registry=None):
    """The registry given, else the one the quest was read with, else a new empty one (a
    quest read without a registry has only questengine's own kinds): never a process-wide one."""
    from .plugins import Registry, registry_of

    if registry is None:
        registry = registry_of(quest)
    return registry if registry is not None else Registry(code=False)


def validate(quest: Quest, registry=None) -> list[Problem]:
    """Every problem that makes the quest unplayable, each naming the nodes involved."""
    registry = _registry(quest, registry)
    problems = list(_duplicate_ids(quest))
    problems += _bad_edges(quest)
    blocking = bool(problems)  # the graph below would be wrong
    problems += _plugin_kinds(quest, registry)
    problems += _unknown_competencies(quest)
    if not any(n.kind == "end" for n in quest.nodes):
        problems.append(_NO_END)
    if blocking:
        return _with_lines(quest, problems)
    G = build_graph(quest, registry)
    problems += _cannot_fail(quest, G)
    problems += _cycles(quest, G)
    problems += _starts_and_ends(quest, G)
    if G.graph["order"] is not None:
        problems += _retries(quest, G)
        problems += _gates_that_cannot_pass(quest, G)
        # other problems of the map would only echo here as unreachable nodes
        if all(p.code in ("unknown_competency", "no_end", "unknown_kind", "no_checker",
                          "kind_problem")
               for p in problems):
            problems += _unreachable(quest, G)
    return _with_lines(quest, problems)


# --- locating problems in the file -------------------------------------------


def _with_lines(quest: Quest, problems: list[Problem]) -> list[Problem]:
    source = quest._source
    if source is None:
        return problems
    out = []
    for p in problems:
        path = _parse_path(p.path)
        line = source.line_of(*path) if path else None
        out.append(Problem(p.message, path=p.path, file=source.filename, line=line,
                           nodes=p.nodes, code=p.code, form=p.form))
    return out


def _parse_path(path: str) -> tuple:
    out: list = []
    for part in path.replace("]", "").replace("[", ".").split("."):
        if part:
            out.append(int(part) if part.isdigit() else part)
    return tuple(out)


def _node_index(quest: Quest) -> dict[str, int]:
    return {n.id: i for i, n in reversed(list(enumerate(quest.nodes)))}


def _quoted(ids) -> str:
    ids = [f"'{i}'" for i in ids]
    return ids[0] if len(ids) == 1 else ", ".join(ids[:-1]) + " and " + ids[-1]


# --- the checks --------------------------------------------------------------


def _duplicate_ids(quest: Quest) -> Iterator[Problem]:
    yield from _duplicates(quest.nodes, "nodes", "node")
    yield from _duplicates(quest.competencies, "competencies", "competency")
    for i, node in enumerate(quest.nodes):
        yield from _duplicates(getattr(node, "questions", []), f"nodes[{i}].questions",
                               "question", node.id)
        for j, option in enumerate(getattr(node, "options", [])):
            yield from _duplicates(getattr(option, "questions", []), f"nodes[{i}].options[{j}].questions",
                                   "question", node.id)
        yield from _duplicates(getattr(node, "options", []), f"nodes[{i}].options", "option",
                               node.id)


def _duplicates(items: list, path: str, what: str, owner: str | None = None) -> Iterator[Problem]:
    where = defaultdict(list)
    for i, item in enumerate(items):
        if isinstance(getattr(item, "id", None), str):  # (a plugin's 'options' may be plain text)
            where[item.id].append(i)
    for item_id, indices in where.items():
        if len(indices) > 1:
            places = " and ".join(f"{path}[{i}]" for i in indices)
            inside = f" in node '{owner}'" if owner else ""
            yield Problem(f"duplicate {what} id '{item_id}'{inside} (used by {places}); "
                          f"{what} ids must be unique", path=f"{path}[{indices[1]}].id",
                          nodes=(owner or item_id,), code="duplicate_id")


def _plugin_kinds(quest: Quest, registry) -> Iterator[Problem]:
    kinds = registry.kinds
    for i, kind in registry.unknown_kinds(quest):
        broken = f" (plugins that failed to load: {registry.problems_text()})" \
            if registry.problems else ""
        yield Problem(f"node '{quest.nodes[i].id}' is a '{kind}' node, but no installed plugin "
                      f"provides that kind; kinds here: {', '.join(registry.kind_names())}{broken}",
                      path=f"nodes[{i}].kind", nodes=(quest.nodes[i].id,), code="unknown_kind")
    for i, node in enumerate(quest.nodes):
        spec = kinds.get(node.kind)
        if spec is not None and spec.completes == "answer" and spec.grader is None:
            yield Problem(f"node '{node.id}' is a '{node.kind}' node, but plugin '{spec.plugin}' "
                          f"gives no checker for that kind, so answers cannot be checked",
                          path=f"nodes[{i}].kind", nodes=(node.id,), code="no_checker")
        if spec is not None and spec.problems is not None:
            try:
                said = [str(m) for m in spec.problems(node)]
            except Exception as err:
                said = [f"plugin '{spec.plugin}' could not check it ({type(err).__name__}: {err})"]
            for message in said:
                yield Problem(f"node '{node.id}': {message}", path=f"nodes[{i}].kind",
                              nodes=(node.id,), code="kind_problem")


def _unknown_competencies(quest: Quest) -> Iterator[Problem]:
    known = {c.id for c in quest.competencies}
    for i, node in enumerate(quest.nodes):
        for j, comp in enumerate(node.competencies):
            if comp not in known:
                valid = ", ".join(sorted(known)) or "none are declared"
                yield Problem(f"node '{node.id}' uses competency '{comp}', which the quest does not "
                              f"declare under 'competencies' (declared: {valid})",
                              path=f"nodes[{i}].competencies[{j}]", nodes=(node.id,),
                              code="unknown_competency")


def _bad_edges(quest: Quest) -> Iterator[Problem]:
    ids = {n.id for n in quest.nodes}
    kinds = {n.id: n.kind for n in quest.nodes}
    seen: dict[tuple[str, str], int] = {}
    retry_from: dict[str, int] = {}
    for i, edge in enumerate(quest.edges):
        path = f"edges[{i}]"
        for end, node_id in (("from", edge.source), ("to", edge.target)):
            if node_id not in ids:
                close = difflib.get_close_matches(node_id, sorted(ids), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                yield Problem(f"edge {edge.source} -> {edge.target}: '{end}' names unknown node "
                              f"'{node_id}'{hint}", path=path, nodes=(node_id,), code="unknown_node")
        if edge.source == edge.target:
            yield Problem.of(Message(N_("edge {source} -> {target} leads from a node to itself"),
                                     source=edge.source, target=edge.target),
                             path=path, nodes=(edge.source,), code="self_loop")
            continue
        if edge.source in ids and kinds[edge.source] == "end" and edge.when != "retry":
            yield Problem.of(Message(N_("edge {source} -> {target} leaves end node '{source}'; an "
                                        "end finishes the quest, so no path may leave it"),
                                     source=edge.source, target=edge.target),
                             path=path, nodes=(edge.source, edge.target), code="edge_from_end")
        if edge.when == "retry":
            if edge.source in retry_from:
                yield Problem(f"node '{edge.source}' has more than one retry edge "
                              f"(edges[{retry_from[edge.source]}] and edges[{i}]); keep one",
                              path=path, nodes=(edge.source,), code="duplicate_retry")
            retry_from[edge.source] = i
            continue
        pair = (edge.source, edge.target)
        if pair in seen:
            yield Problem(f"edge {edge.source} -> {edge.target} is given twice (edges[{seen[pair]}] "
                          f"and edges[{i}]); keep one", path=path, nodes=pair, code="duplicate_edge")
        seen.setdefault(pair, i)


def _cannot_fail(quest: Quest, G: nx.DiGraph) -> Iterator[Problem]:
    for i, edge in enumerate(quest.edges):
        if edge.when in ("success", "fail"):
            node = G.nodes[edge.source]["node"]
            if not node_can_fail(node):
                yield Problem(
                    f"edge {edge.source} -> {edge.target} has when: {edge.when}, but '{edge.source}' "
                    f"(a {_kind_phrase(node)}) always succeeds; use a plain edge",
                    path=f"edges[{i}]", nodes=(edge.source, edge.target), code="cannot_fail")


def _kind_phrase(node) -> str:
    if node.kind == "task":
        return "task completed by the student"
    if node.kind == "choice":
        return "choice whose options cannot fail"
    if node.kind == "quiz":
        return "quiz with pass_score 0, which every answer passes"
    if node.kind == "gate":
        return "gate with threshold 0, which every answer passes"
    return f"{node.kind} node"


def _gates_that_cannot_pass(quest: Quest, G: nx.DiGraph) -> Iterator[Problem]:
    """Gates whose success path is dead: no evidence to judge, or a BKT line out of reach."""
    from .mastery import BKT, bkt

    index = _node_index(quest)
    for n in G.graph["order"]:
        gate = G.nodes[n]["node"]
        if gate.kind != "gate":
            continue
        upstream = None
        if not gate.questions or gate.estimator == "bkt":
            comps = set(gate.competencies)
            upstream = [a for a in nx.ancestors(G, n) if comps & set(G.nodes[a]["node"].competencies)
                        and _gives_evidence(G.nodes[a]["node"])]
        if not gate.questions and not upstream:
            yield Problem(f"gate '{n}' has no questions and no earlier step assesses "
                          f"{_quoted(sorted(gate.competencies))}, so it can never be passed; add "
                          "questions to the gate or a quiz before it", path=f"nodes[{index[n]}]",
                          nodes=(n,), code="gate_cannot_pass")
        elif gate.estimator == "bkt" and gate.questions and not upstream:
            params = BKT(**gate.bkt.model_dump()) if gate.bkt else BKT()
            answers = len(gate.questions) * gate.max_attempts
            best = bkt([True] * answers, params)
            if best < gate.threshold:
                yield Problem(f"gate '{n}' can never be passed: even with all {answers} answers "
                              f"right over {gate.max_attempts} attempt(s), BKT mastery reaches "
                              f"{best:.2f}, below its threshold {gate.threshold}; add questions, "
                              "allow more attempts or lower the threshold",
                              path=f"nodes[{index[n]}].threshold", nodes=(n,),
                              code="gate_cannot_pass")


def _gives_evidence(node) -> bool:
    if node.kind in ("quiz", "gate"):
        return bool(getattr(node, "questions", None))
    if node.kind == "task":
        return node.complete == "review"
    if node.kind == "choice":
        return any(o.complete in ("review", "quiz") for o in node.options)
    return False


def _cycles(quest: Quest, G: nx.DiGraph) -> Iterator[Problem]:
    if G.graph["order"] is not None:
        return
    index = _node_index(quest)
    edge_index = {(e.source, e.target): i for i, e in enumerate(quest.edges) if e.when != "retry"}
    for component in nx.strongly_connected_components(G):
        if len(component) > 1:
            members = sorted(component, key=index.get)
            loop = nx.find_cycle(G.subgraph(component))
            # the edge to fix: the one leading back to the node written first
            back = min(loop, key=lambda e: (index[e[1]], -index[e[0]]))
            yield Problem.of(Message(N_("the paths between {nodes} form a loop ({loop}); only "
                                        "'retry' edges may lead back (from the end of a "
                                        "remediation path to its gate)"),
                                     nodes=_quoted(members),
                                     loop=" -> ".join([u for u, _ in loop] + [loop[0][0]])),
                             path=f"edges[{edge_index[back[:2]]}]", nodes=tuple(members),
                             code="cycle")


def _starts_and_ends(quest: Quest, G: nx.DiGraph) -> Iterator[Problem]:
    if not any(G.in_degree(n) == 0 for n in G):
        yield Problem.of(Message(N_("the quest has no starting point: every node has a path "
                                    "into it")), path="nodes", code="no_start")


_NO_END = Problem.of(Message(N_("the quest has no 'end' node; add one (kind: end) so students can "
                                "finish")), path="nodes", code="no_end")


def _retries(quest: Quest, G: nx.DiGraph) -> Iterator[Problem]:
    position = {n: i for i, n in enumerate(G.graph["order"])}
    edge_index = {(e.source, e.target): i for i, e in enumerate(quest.edges) if e.when == "retry"}
    for source, gate in G.graph["retry"].items():
        path = f"edges[{edge_index[(source, gate)]}]"
        node = G.nodes[gate]["node"]
        if node.kind != "gate":
            yield Problem(f"retry edge {source} -> {gate} must lead back to a gate, but '{gate}' is "
                          f"a {node.kind} node", path=path, nodes=(source, gate), code="retry_not_gate")
            continue
        if not _on_fail_path(G, gate, source, position):
            yield Problem(f"retry edge {source} -> {gate} must start on the fail path of gate "
                          f"'{gate}' (a node reached through a 'when: fail' edge out of it), but "
                          f"'{source}' is not", path=path, nodes=(source, gate),
                          code="retry_not_upstream")


def _on_fail_path(G: nx.DiGraph, gate: str, target: str, position: dict[str, int]) -> bool:
    """Whether ``target`` is reached from a fail edge of ``gate``.

    The search never goes past ``target`` in topological order, so its cost is
    the span of the remediation path, not the size of the quest.
    """
    limit = position[target]
    stack = [v for v, data in G.succ[gate].items() if data["when"] == "fail"]
    seen = set(stack)
    while stack:
        node = stack.pop()
        if node == target:
            return True
        for nxt in G.succ[node]:
            if nxt not in seen and position[nxt] <= limit:
                seen.add(nxt)
                stack.append(nxt)
    return False


def _unreachable(quest: Quest, G: nx.DiGraph) -> Iterator[Problem]:
    """Nodes that no sequence of outcomes unlocks.

    One pass in topological order. For each node we keep the alternative sets
    of outcomes (as bit masks) that a play-through reaching it must have had; a
    set that needs one node both to succeed and to fail is impossible. A
    node is unreachable when none of its alternatives is possible.
    """
    order = G.graph["order"]
    position = {n: i for i, n in enumerate(order)}
    deciders = sorted({u for u, _, w in G.edges(data="when") if w != "done"}, key=position.get)
    bit = {}
    for i, u in enumerate(deciders):
        bit[(u, "success")] = 1 << (2 * i)
        bit[(u, "fail")] = 1 << (2 * i + 1)
    evens = sum(1 << (2 * i) for i in range(len(deciders)))

    def conflicts(mask: int) -> int:
        return mask & (mask >> 1) & evens

    alternatives: dict[str, list[int]] = {}
    cause: dict[str, Message] = {}
    index = _node_index(quest)
    for n in order:
        node = G.nodes[n]["node"]
        incoming = list(G.pred[n].items())
        if not incoming:
            alternatives[n] = [0]
            continue
        per_edge = []
        for p, data in incoming:
            when = data["when"]
            if when != "done" and when not in outcomes(G.nodes[p]["node"]):
                per_edge.append([])
                continue
            extra = bit.get((p, when), 0)
            per_edge.append([a | extra for a in alternatives[p]])
        if node.requires == "any":
            alts = [a for edge in per_edge for a in edge]
        else:
            alts = [0]
            for edge in per_edge:
                alts = [a | b for a in alts for b in edge if not conflicts(a | b)]
                alts = _minimal(alts)
        alts = _minimal(alts)
        if len(alts) > MAX_ALTERNATIVES:
            merged = alts[0]
            for a in alts[1:]:
                merged &= a
            alts = [merged]
        alternatives[n] = alts
        if alts:
            continue
        dead = [p for p, _ in incoming if not alternatives[p]]
        if dead:
            cause[n] = Message(N_("it waits for {nodes}, which can never unlock either"),
                               nodes=_quoted(dead))
        elif node.requires == "any":
            cause[n] = Message(N_("none of its incoming paths can ever be taken"))
        else:
            mask = 0
            for edge in per_edge:
                mask |= edge[0] if edge else 0
            clash = [u for u in deciders if conflicts(mask) & bit[(u, "success")]]
            who = _quoted(clash) if clash else Message(N_("an earlier node"))
            cause[n] = Message(N_("it requires all of its incoming paths, which need {who} to both "
                                  "succeed and fail in one play-through; use 'requires: any' or "
                                  "join the paths after the gate"), who=who)
    for n, why in cause.items():
        yield Problem.of(Message(N_("node '{node}' can never be reached: {why}"), node=n, why=why),
                         path=f"nodes[{index[n]}]", nodes=(n,), code="unreachable")


def _minimal(masks: list[int]) -> list[int]:
    """Drop duplicates and any set of needs that includes another (it is harder to meet)."""
    out: list[int] = []
    for m in sorted(set(masks), key=lambda m: m.bit_count()):
        if not any(m & o == o for o in out):
            out.append(m)
    return out


# --- drawing: a layered layout with routed edges ------------------------------


@dataclass
class MapLayout:
    """Where to draw a quest map: node boxes and the path of every edge.

    ``positions`` are box top-left corners, ``sizes`` box (width, height),
    ``lines`` each title wrapped to fit its box. ``routes`` maps an edge
    ``(source, target, when)`` (``when="retry"`` for retry edges) to an SVG
    path and the point for its condition mark; it is empty when nodes were
    placed by hand (the front end then draws plain curves).
    """

    positions: dict[str, tuple[float, float]]
    sizes: dict[str, tuple[float, float]] = field(default_factory=dict)
    lines: dict[str, list[str]] = field(default_factory=dict)
    routes: dict[tuple[str, str, str], tuple[str, tuple[float, float]]] = field(default_factory=dict)


def layout(G: nx.DiGraph, width: float = 215.0, height: float = 100.0,
           aspect: float = 1.6) -> dict[str, tuple[float, float]]:
    """Positions for drawing (box top-left corners), hand-placed positions kept.

    Nodes are layered by longest path from the starts, left to right, and
    ordered inside each layer to keep crossings few (see :func:`map_layout`).
    A long quest winds like a trail: the layers wrap into rows that run left
    to right, then right to left, choosing the row length that best fills a
    frame of the given aspect ratio (so the map is drawn large enough to read).
    """
    return _layered(G, width, height, aspect).positions


def map_layout(G: nx.DiGraph, aspect: float = 1.6, node_width: float = 184.0,
               gap: float = 56.0, chars: int = 18) -> MapLayout:
    """The layout the quest map draws: wrapped titles and edges routed around the boxes.

    An edge that spans several layers passes through a free slot in each layer
    between (a "dummy node", as in Sugiyama's layered drawing), so no path runs
    under a step; retry edges are laid out as if they went forward from the
    gate to the end of its practice path, then drawn back. Where a winding map
    turns into its next row, the paths go round the outside of the turn.
    The result is cached on the graph per aspect ratio.
    """
    cache = G.graph.setdefault("_map_layouts", {})
    key = (round(aspect, 2), node_width, gap, chars)
    if key not in cache:
        lines = {n: _wrap(_title_of(G, n), chars) for n in G}
        heights = {n: 24.0 + 15.0 * len(lines[n]) for n in G}
        tallest = max(heights.values(), default=54.0)
        result = _layered(G, node_width + gap, tallest + 40.0, aspect, node_width, heights)
        result.lines = lines
        cache[key] = result
    return cache[key]


def _title_of(G: nx.DiGraph, n) -> str:
    node = G.nodes[n].get("node")
    return str(getattr(node, "title", None) or n)


def _wrap(title: str, chars: int, most: int = 4) -> list[str]:
    lines = textwrap.wrap(title, chars, break_on_hyphens=True) or [title]
    if len(lines) > most:
        lines = lines[:most]
        lines[-1] = lines[-1][:chars - 1].rstrip() + "…"
    return lines


_Dummy = tuple  # ("", edge key, index): a slot a long edge passes through


def _layered(G: nx.DiGraph, pitch_x: float, pitch_y: float, aspect: float,
             node_width: float | None = None,
             heights: dict | None = None) -> MapLayout:
    order = G.graph.get("order")
    if order is None:  # not a DAG (an editor draft): one column per node in file order
        ranks = {n: i for i, n in enumerate(G)}
        segments: list[tuple[object, object, tuple]] = []
        chains: dict[tuple, list] = {}
    else:
        ranks = {n: i for i, gen in enumerate(nx.topological_generations(G)) for n in gen}
        segments, chains = _segments(G, ranks)
    depth = max(ranks.values(), default=-1) + 1
    layers: list[list] = [[] for _ in range(depth)]
    for n in (order or list(G)):
        layers[ranks[n]].append(n)
    for chain_key, chain in chains.items():
        for i, d in enumerate(chain[1:-1], start=1):
            layers[ranks[chain[0]] + i].append(d)
    if segments:
        _order_layers(layers, segments)
    else:
        layers = [sorted(layer, key=str) for layer in layers]
    per_row = _row_length([len(layer) for layer in layers], pitch_x, pitch_y, aspect)

    node_width = node_width or pitch_x * 0.8
    heights = heights or {}
    inner = max(heights.values(), default=0.0)
    slot: dict = {}  # item -> (row, left x, centre y)
    positions: dict[str, tuple[float, float]] = {}
    top = 0.0
    for r, start in enumerate(range(0, depth, per_row)):
        row = layers[start:start + per_row]
        for c, layer in enumerate(row):
            col = c if r % 2 == 0 else per_row - 1 - c
            for i, item in enumerate(layer):
                x, y = col * pitch_x, top + i * pitch_y
                slot[item] = (r, x, y + inner / 2)
                if not isinstance(item, _Dummy):
                    h = heights.get(item)
                    positions[item] = (x, y + (inner - h) / 2 if h is not None else y)
        top += max(len(layer) for layer in row) * pitch_y + pitch_y * 0.6
    placed = False
    for n in G:
        p = getattr(G.nodes[n].get("node"), "position", None)
        if p:
            positions[n] = tuple(p)
            placed = True
    sizes = {n: (node_width, heights.get(n, pitch_y * 0.5)) for n in G}
    result = MapLayout(positions, sizes)
    if not placed and segments:
        result.routes = _routes(chains, slot, sizes, positions, node_width)
    return result


def _segments(G: nx.DiGraph, ranks: dict) -> tuple[list, dict]:
    """Edges cut into one-layer steps through dummy slots; retry edges reversed."""
    edges = [((u, v, w), u, v) for u, v, w in G.edges(data="when")]
    for source, gate in G.graph.get("retry", {}).items():
        if source in ranks and gate in ranks and ranks[gate] < ranks[source]:
            edges.append(((source, gate, "retry"), gate, source))
    segments, chains = [], {}
    for key, a, b in edges:
        chain = [a] + [("", key, i) for i in range(1, ranks[b] - ranks[a])] + [b]
        for i, d in enumerate(chain[1:-1], start=1):
            ranks[d] = ranks[a] + i
        chains[key] = chain
        segments += [(p, q, key) for p, q in zip(chain, chain[1:])]
    return segments, chains


def _order_layers(layers: list[list], segments: list, sweeps: int = 4) -> None:
    """Barycentre sweeps down and up; keeps the order with the fewest crossings."""
    down, up = defaultdict(list), defaultdict(list)
    for p, q, _key in segments:
        down[q].append(p)
        up[p].append(q)

    def sweep(indices, neighbours):
        for i in indices:
            near = {item: k for k, item in enumerate(layers[i + (-1 if neighbours is down else 1)])}
            pos = {item: k for k, item in enumerate(layers[i])}
            keys = {}
            for item in layers[i]:
                ks = [near[x] for x in neighbours.get(item, ()) if x in near]
                keys[item] = sum(ks) / len(ks) if ks else pos[item]
            layers[i].sort(key=lambda item: (keys[item], pos[item]))

    def crossings():
        total = 0
        for i in range(len(layers) - 1):
            pos_a = {item: k for k, item in enumerate(layers[i])}
            pos_b = {item: k for k, item in enumerate(layers[i + 1])}
            pairs = sorted((pos_a[p], pos_b[q]) for p in layers[i] for q in up.get(p, ())
                           if q in pos_b)
            total += _inversions([b for _a, b in pairs])
        return total

    best, best_order = crossings(), [list(layer) for layer in layers]
    for _ in range(sweeps):
        if best == 0:
            break
        sweep(range(1, len(layers)), down)
        sweep(range(len(layers) - 2, -1, -1), up)
        now = crossings()
        if now < best:
            best, best_order = now, [list(layer) for layer in layers]
    layers[:] = best_order


def _inversions(seq: list[int]) -> int:
    """Pairs out of order (merge sort), i.e. edge crossings between two layers."""
    if len(seq) < 2:
        return 0
    mid = len(seq) // 2
    left, right = seq[:mid], seq[mid:]
    count = _inversions(left) + _inversions(right)
    left.sort()
    right.sort()
    j = 0
    for x in left:
        while j < len(right) and right[j] < x:
            j += 1
        count += j
    return count


def _row_length(sizes: list[int], pitch_x: float, pitch_y: float, aspect: float) -> int:
    best, best_scale = max(1, len(sizes)), 0.0
    for per_row in range(1, len(sizes) + 1):
        rows = [sizes[i:i + per_row] for i in range(0, len(sizes), per_row)]
        w = per_row * pitch_x
        h = sum(max(row) * pitch_y for row in rows) + pitch_y * 0.6 * (len(rows) - 1)
        scale = min(aspect / w, 1 / h)
        if scale > best_scale * 1.0001:
            best, best_scale = per_row, scale
    return best


def _routes(chains: dict, slot: dict, sizes: dict, positions: dict, node_width: float) -> dict:
    """An SVG path per edge, from the slots its chain passes through."""
    # spread the ports of a node's several paths along its side, in the order of their other ends
    outs, ins = defaultdict(list), defaultdict(list)
    for key, chain in chains.items():
        outs[chain[0]].append((slot[chain[1]][2], key))
        ins[chain[-1]].append((slot[chain[-2]][2], key))

    def port_y(item, key, table):
        if isinstance(item, _Dummy):
            return slot[item][2]
        ends = sorted(table[item], key=lambda t: (t[0], str(t[1])))
        k = next(i for i, (_y, kk) in enumerate(ends) if kk == key)
        spread = min(12.0, (sizes[item][1] - 16) / max(1, len(ends) - 1))
        return slot[item][2] + (k - (len(ends) - 1) / 2) * spread

    turns: dict[int, int] = defaultdict(int)
    routes = {}
    for key, chain in chains.items():
        pieces = []
        for i, (p, q) in enumerate(zip(chain, chain[1:])):
            (rp, xp, _), (rq, xq, _) = slot[p], slot[q]
            yp = port_y(p, key, outs) if i == 0 else slot[p][2]
            yq = port_y(q, key, ins) if i == len(chain) - 2 else slot[q][2]
            right = rp % 2 == 0  # this row runs left to right
            x1 = xp + node_width if right else xp
            if rq == rp:
                x2 = xq if right else xq + node_width
                pieces.append(("hop", (x1, yp), (x2, yq)))
            else:  # round the outside of the turn into the next row
                turns[rp] += 1
                margin = 14.0 + 7.0 * min(turns[rp], 5)
                pieces.append(("turn", (x1, yp), (x1 + (margin if right else -margin), yq),
                               (x1, yq)))
            if 0 < i + 1 < len(chain) - 1:  # straight through the dummy's slot
                (_, xd, yd) = slot[q]
                a, b = (xd, xd + node_width) if (rq % 2 == 0) else (xd + node_width, xd)
                pieces.append(("line", (a, yd), (b, yd)))
        if key[2] == "retry":  # laid out from the gate: drawn from the practice back to it
            pieces = [_reverse(piece) for piece in reversed(pieces)]
            mark = _middle(pieces[0])
        else:
            mark = _middle(pieces[0])
        routes[key] = (_path(pieces), (round(mark[0], 1), round(mark[1], 1)))
    return routes


def _reverse(piece):
    kind, a, *rest = piece
    if kind == "turn":
        bend, b = rest
        return ("turn", b, (bend[0], a[1]), a)
    return (kind, rest[0], a)


def _middle(piece) -> tuple[float, float]:
    if piece[0] == "turn":
        _, a, bend, b = piece
        return bend[0], (a[1] + b[1]) / 2
    _, a, b = piece
    return (a[0] + b[0]) / 2, (a[1] + b[1]) / 2


def _path(pieces) -> str:
    f = lambda v: f"{v:.1f}".rstrip("0").rstrip(".")  # noqa: E731
    start = pieces[0][1]
    out = [f"M{f(start[0])},{f(start[1])}"]
    for piece in pieces:
        if piece[0] == "hop":
            (x1, y1), (x2, y2) = piece[1], piece[2]
            if abs(y1 - y2) < 0.5:
                out.append(f"L{f(x2)},{f(y2)}")
            else:
                xm = (x1 + x2) / 2
                out.append(f"C{f(xm)},{f(y1)} {f(xm)},{f(y2)} {f(x2)},{f(y2)}")
        elif piece[0] == "line":
            out.append(f"L{f(piece[2][0])},{f(piece[2][1])}")
        else:
            (x1, y1), (xb, yb), (x2, y2) = piece[1], piece[2], piece[3]
            r = min(10.0, abs(xb - x1) / 2, abs(y2 - y1) / 2)
            s = 1 if xb > x1 else -1
            t = 1 if y2 > y1 else -1
            out.append(f"L{f(xb - s * r)},{f(y1)} Q{f(xb)},{f(y1)} {f(xb)},{f(y1 + t * r)}")
            out.append(f"L{f(xb)},{f(y2 - t * r)} Q{f(xb)},{f(y2)} {f(xb - s * r)},{f(y2)}")
            out.append(f"L{f(x2)},{f(y2)}")
    return " ".join(out)
