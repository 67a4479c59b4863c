"""Quest -> networkx DAG, and the checks that make a quest playable.

Forward edges (``done``, ``success``, ``fail``) form a DAG; ``retry`` edges are
kept apart in ``G.graph["retry"]`` (source -> gate) so the DAG stays acyclic.
Every check is a small generator of :class:`Problem`; all of them are linear
or near-linear in the size of the quest (no all-pairs descendants).
"""
from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Iterator

import networkx as nx

from .errors import Problem, QuestValidationError
from .model import Quest, node_can_fail

__all__ = ["build_graph", "quest_graph", "validate", "check", "outcomes", "layout", "title"]

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
    when the forward edges are acyclic, ``order`` (a topological order). From the
    plugin ``registry`` (the one the quest was read with by default) it holds
    ``kinds`` (the behaviour of the quest's plugin kinds) and ``badges`` (the badge rules).
    """
    G = nx.DiGraph(quest=quest, retry={})
    G.graph.update(_registry(quest, registry).graph_parts(quest))
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
    from .plugins import registry_of

    return registry if registry is not None else registry_of(quest)


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
                           nodes=p.nodes, code=p.code))
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
            yield Problem(f"edge {edge.source} -> {edge.target} leads from a node to itself",
                          path=path, nodes=(edge.source,), code="self_loop")
            continue
        if edge.source in ids and kinds[edge.source] == "end" and edge.when != "retry":
            yield Problem(f"edge {edge.source} -> {edge.target} leaves end node '{edge.source}'; "
                          "an end finishes the quest, so no path may leave it",
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
            yield Problem(f"the paths between {_quoted(members)} form a loop "
                          f"({' -> '.join([u for u, _ in loop] + [loop[0][0]])}); only 'retry' "
                          f"edges may lead back (from the end of a remediation path to its gate)",
                          path=f"edges[{edge_index[back[:2]]}]", nodes=tuple(members), code="cycle")


def _starts_and_ends(quest: Quest, G: nx.DiGraph) -> Iterator[Problem]:
    if not any(G.in_degree(n) == 0 for n in G):
        yield Problem("the quest has no starting point: every node has a path into it",
                      path="nodes", code="no_start")


_NO_END = Problem("the quest has no 'end' node; add one (kind: end) so students can finish",
                  path="nodes", code="no_end")


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
    cause: dict[str, str] = {}
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
            cause[n] = f"it waits for {_quoted(dead)}, which can never unlock either"
        elif node.requires == "any":
            cause[n] = "none of its incoming paths can ever be taken"
        else:
            mask = 0
            for edge in per_edge:
                mask |= edge[0] if edge else 0
            clash = [u for u in deciders if conflicts(mask) & bit[(u, "success")]]
            who = _quoted(clash) if clash else "an earlier node"
            cause[n] = (f"it requires all of its incoming paths, which need {who} to both succeed "
                        "and fail in one play-through; use 'requires: any' or join the paths "
                        "after the gate")
    for n, why in cause.items():
        yield Problem(f"node '{n}' can never be reached: {why}", path=f"nodes[{index[n]}]",
                      nodes=(n,), code="unreachable")


def _minimal(masks: list[int]) -> list[int]:
    """Drop duplicates and any set of needs that includes another (it is harder to meet)."""
    out: list[int] = []
    for m in sorted(set(masks), key=lambda m: m.bit_count()):
        if not any(m & o == o for o in out):
            out.append(m)
    return out


def layout(G: nx.DiGraph, width: float = 215.0, height: float = 100.0,
           aspect: float = 1.6) -> dict[str, tuple[float, float]]:
    """Positions for drawing, hand-placed positions kept.

    Nodes are layered by topological generation, left to right. A long quest
    winds like a trail: the layers wrap into rows that run left to right, then
    right to left, choosing the row length that best fills a frame of the
    given aspect ratio (so the map is drawn large enough to read).
    """
    if G.graph.get("order") is not None:
        generations = [sorted(g, key=str) for g in nx.topological_generations(G)]
    else:
        generations = [sorted(G, key=str)]
    gap = height * 0.6
    best, best_scale = len(generations), 0.0
    for per_row in range(1, len(generations) + 1):
        rows = [generations[i:i + per_row] for i in range(0, len(generations), per_row)]
        w = per_row * width
        h = sum(max(len(g) for g in row) * height for row in rows) + gap * (len(rows) - 1)
        scale = min(aspect / w, 1 / h)
        if scale > best_scale * 1.0001:
            best, best_scale = per_row, scale
    positions: dict[str, tuple[float, float]] = {}
    top = 0.0
    for r, start in enumerate(range(0, len(generations), best)):
        row = generations[start:start + best]
        for c, generation in enumerate(row):
            col = c if r % 2 == 0 else best - 1 - c
            for y, n in enumerate(generation):
                placed = getattr(G.nodes[n].get("node"), "position", None)
                positions[n] = tuple(placed) if placed else (col * width, top + y * height)
        top += max(len(g) for g in row) * height + gap
    return positions
