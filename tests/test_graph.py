"""Tests of questengine.graph: the quest DAG, validate() and layout()."""
import networkx as nx
import pytest

from questengine import QuestValidationError, loads_quest
from questengine.graph import build_graph, layout, quest_graph, validate
from questengine.model import Quest

GATE_LOOP = """
id: loop
title: Loop
competencies:
  - {id: equiv, name: Equivalent fractions}
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: check, kind: gate, title: Checkpoint, competencies: [equiv], questions: [{id: q, type: number, prompt: x, answer: 1}]}
  - {id: practice, kind: task, title: Extra practice}
  - {id: boss, kind: story, title: Boss}
  - {id: end, kind: end, title: End}
edges:
  - [intro, check]
  - {from: check, to: boss, when: success}
  - {from: check, to: practice, when: fail}
  - {from: practice, to: check, when: retry}
  - [boss, end]
"""

Q = "questions: [{id: q, type: number, prompt: x, answer: 1}]"


def problems_of(text):
    return validate(loads_quest(text))


def codes(problems):
    return sorted(p.code for p in problems)


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, f"no {code!r} problem in {[str(p) for p in problems]}"
    return found


# --- build_graph ---------------------------------------------------------------


def test_build_graph_keeps_retry_edges_apart():
    G = build_graph(loads_quest(GATE_LOOP))
    assert G.graph["retry"] == {"practice": "check"}
    assert G.graph["retry_gates"] == {"check"}
    assert not G.has_edge("practice", "check")
    assert nx.is_directed_acyclic_graph(G)
    assert G.graph["order"] is not None
    assert sorted(G.edges(data="when")) == [
        ("boss", "end", "done"), ("check", "boss", "success"), ("check", "practice", "fail"),
        ("intro", "check", "done"),
    ]
    assert G.nodes["check"]["node"].title == "Checkpoint"


def test_build_graph_order_is_topological():
    G = build_graph(loads_quest(GATE_LOOP))
    position = {n: i for i, n in enumerate(G.graph["order"])}
    assert all(position[u] < position[v] for u, v in G.edges)
    assert set(position) == set(G)


def test_valid_quest_has_no_problems():
    assert problems_of(GATE_LOOP) == []
    G = quest_graph(loads_quest(GATE_LOOP))
    assert set(G) == {"intro", "check", "practice", "boss", "end"}


# --- validate: each problem ----------------------------------------------------

CYCLE = """
id: c
title: C
nodes:
  - {id: start, kind: story, title: Start}
  - {id: a, kind: story, title: A}
  - {id: b, kind: story, title: B}
  - {id: c, kind: story, title: C}
  - {id: end, kind: end, title: End}
edges: [[start, a], [a, b], [b, c], [c, a], [c, end]]
"""


def test_cycle_names_every_node_of_the_loop():
    (problem,) = only(problems_of(CYCLE), "cycle")
    assert problem.nodes == ("a", "b", "c")
    assert "'a', 'b' and 'c'" in problem.message
    assert "start" not in problem.message and "end" not in problem.nodes


def test_cycle_message_via_quest_graph():
    with pytest.raises(QuestValidationError, match=r"the paths between 'a', 'b' and 'c' form a loop"):
        quest_graph(loads_quest(CYCLE))


def test_two_cycles_are_two_problems():
    text = """
id: c
title: C
nodes:
  - {id: s, kind: story, title: S}
  - {id: a, kind: story, title: A}
  - {id: b, kind: story, title: B}
  - {id: x, kind: story, title: X}
  - {id: y, kind: story, title: Y}
  - {id: end, kind: end, title: End}
edges: [[s, a], [a, b], [b, a], [s, x], [x, y], [y, x], [b, end]]
"""
    cycles = only(problems_of(text), "cycle")
    assert sorted(p.nodes for p in cycles) == [("a", "b"), ("x", "y")]


def test_unknown_node_in_edge_suggests_a_name():
    text = """
id: u
title: U
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: ending, kind: end, title: End}
edges: [[intro, endng]]
"""
    (problem,) = problems_of(text)
    assert problem.code == "unknown_node"
    assert problem.nodes == ("endng",)
    assert "'to' names unknown node 'endng'; did you mean 'ending'?" in problem.message
    assert problem.path == "edges[0]"


def test_unknown_node_without_close_match():
    text = """
id: u
title: U
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: end, kind: end, title: End}
edges: [[zzzzzz, end], [intro, end]]
"""
    (problem,) = problems_of(text)
    assert problem.nodes == ("zzzzzz",)
    assert "'from' names unknown node 'zzzzzz'" in problem.message
    assert "did you mean" not in problem.message


def test_duplicate_ids():
    text = """
id: d
title: D
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: intro, kind: story, title: Intro again}
  - {id: end, kind: end, title: End}
edges: [[intro, end]]
"""
    (problem,) = problems_of(text)
    assert problem.code == "duplicate_id"
    assert problem.nodes == ("intro",)
    assert "duplicate node id 'intro' (used by nodes[0] and nodes[1])" in problem.message


QUESTIONS_DUP = "[{id: q1, type: number, prompt: x, answer: 1}, {id: q1, type: number, prompt: y, answer: 2}]"


@pytest.mark.parametrize(
    "node, what, path",
    [
        (f"{{id: s, kind: quiz, title: S, questions: {QUESTIONS_DUP}}}", "question", "nodes[0].questions[1].id"),
        (f"{{id: s, kind: gate, title: S, questions: {QUESTIONS_DUP}}}", "question", "nodes[0].questions[1].id"),
        ("{id: s, kind: choice, title: S, options: [{id: video, modality: video, label: A}, "
         f"{{id: game, modality: game, label: B, complete: quiz, questions: {QUESTIONS_DUP}}}]}}",
         "question", "nodes[0].options[1].questions[1].id"),
        ("{id: s, kind: choice, title: S, options: [{id: video, modality: video, label: A}, "
         "{id: video, modality: song, label: B}]}", "option", "nodes[0].options[1].id"),
    ],
    ids=["quiz-question", "gate-question", "option-question", "option"],
)
def test_duplicate_option_and_question_ids(node, what, path):
    text = f"""
id: d
title: D
nodes:
  - {node}
  - {{id: end, kind: end, title: End}}
edges: [[s, end]]
"""
    (problem,) = problems_of(text)
    assert problem.code == "duplicate_id"
    assert problem.nodes == ("s",)
    assert problem.path == path
    dup = "video" if what == "option" else "q1"
    assert f"duplicate {what} id '{dup}' in node 's'" in problem.message


def test_duplicate_competency_ids():
    text = """
id: d
title: D
competencies: [{id: c, name: C}, {id: c, name: D}]
nodes:
  - {id: intro, kind: story, title: Intro, competencies: [c]}
  - {id: end, kind: end, title: End}
edges: [[intro, end]]
"""
    (problem,) = problems_of(text)
    assert problem.code == "duplicate_id"
    assert "duplicate competency id 'c'" in problem.message


def test_no_end():
    text = """
id: n
title: N
nodes:
  - {id: a, kind: story, title: A}
  - {id: b, kind: story, title: B}
edges: [[a, b]]
"""
    (problem,) = problems_of(text)
    assert problem.code == "no_end"
    assert "no 'end' node" in problem.message


def test_no_start():
    text = """
id: n
title: N
nodes:
  - {id: a, kind: story, title: A}
  - {id: end, kind: end, title: End}
  - {id: b, kind: story, title: B}
edges: [[a, b], [b, a], [b, end]]
"""
    problems = problems_of(text)
    assert "no_start" in codes(problems)
    assert "cycle" in codes(problems)  # a quest without a start always loops
    assert only(problems, "cycle")[0].nodes == ("a", "b")
    assert "no starting point" in only(problems, "no_start")[0].message


UNREACHABLE = f"""
id: un
title: Un
nodes:
  - {{id: start, kind: story, title: Start}}
  - {{id: check, kind: gate, title: Checkpoint, {Q}}}
  - {{id: good, kind: story, title: Good}}
  - {{id: bad, kind: story, title: Bad}}
  - {{id: join, kind: story, title: Join, requires: REQUIRES}}
  - {{id: end, kind: end, title: End}}
edges:
  - [start, check]
  - {{from: check, to: good, when: success}}
  - {{from: check, to: bad, when: fail}}
  - [good, join]
  - [bad, join]
  - [join, end]
"""


def test_requires_all_over_success_and_fail_path_is_unreachable():
    problems = problems_of(UNREACHABLE.replace("REQUIRES", "all"))
    unreachable = only(problems, "unreachable")
    join = next(p for p in unreachable if p.nodes == ("join",))
    assert "node 'join' can never be reached" in join.message
    assert "'check' to both succeed and fail" in join.message
    # what follows the dead node is reported as waiting for it
    end = next(p for p in unreachable if p.nodes == ("end",))
    assert "waits for 'join'" in end.message


def test_requires_any_over_success_and_fail_path_is_fine():
    assert problems_of(UNREACHABLE.replace("REQUIRES", "any")) == []


def test_success_edge_out_of_a_fail_edge_target_is_fine():
    # fail path then success path of two different gates: reachable
    text = f"""
id: ok
title: OK
nodes:
  - {{id: g1, kind: gate, title: G1, {Q}}}
  - {{id: g2, kind: gate, title: G2, {Q}}}
  - {{id: end, kind: end, title: End}}
edges:
  - {{from: g1, to: g2, when: fail}}
  - {{from: g2, to: end, when: success}}
  - {{from: g1, to: end, when: success}}
"""
    # end requires all: g1 must both fail (to reach g2) and succeed -> unreachable
    problems = problems_of(text)
    (problem,) = only(problems, "unreachable")
    assert problem.nodes == ("end",)
    assert "'g1' to both succeed and fail" in problem.message


@pytest.mark.parametrize(
    "source",
    [
        "{id: s, kind: story, title: S}",
        "{id: s, kind: task, title: S}",
        "{id: s, kind: choice, title: S, options: [{id: a, modality: video, label: A}, {id: b, modality: song, label: B}]}",
    ],
    ids=["story", "task-self", "choice-self"],
)
@pytest.mark.parametrize("when", ["success", "fail"])
def test_success_or_fail_edge_out_of_a_node_that_cannot_fail(source, when):
    text = f"""
id: cf
title: CF
nodes:
  - {source}
  - {{id: end, kind: end, title: End}}
edges: [{{from: s, to: end, when: {when}}}]
"""
    problems = problems_of(text)
    (problem,) = only(problems, "cannot_fail")
    assert problem.nodes == ("s", "end")
    assert f"has when: {when}, but 's'" in problem.message
    assert "always succeeds" in problem.message


@pytest.mark.parametrize(
    "source",
    [
        "{id: s, kind: task, title: S, complete: review}",
        f"{{id: s, kind: quiz, title: S, {Q}}}",
        f"{{id: s, kind: gate, title: S, {Q}}}",
    ],
)
def test_success_and_fail_edges_out_of_nodes_that_can_fail(source):
    text = f"""
id: cf
title: CF
nodes:
  - {source}
  - {{id: end, kind: end, title: End}}
  - {{id: end2, kind: end, title: End 2}}
edges: [{{from: s, to: end, when: success}}, {{from: s, to: end2, when: fail}}]
"""
    assert problems_of(text) == []


def test_retry_edge_to_a_non_gate():
    text = f"""
id: r
title: R
nodes:
  - {{id: quiz, kind: quiz, title: Quiz, {Q}}}
  - {{id: practice, kind: task, title: Practice}}
  - {{id: end, kind: end, title: End}}
edges:
  - {{from: quiz, to: practice, when: fail}}
  - {{from: quiz, to: end, when: success}}
  - {{from: practice, to: quiz, when: retry}}
"""
    (problem,) = problems_of(text)
    assert problem.code == "retry_not_gate"
    assert problem.nodes == ("practice", "quiz")
    assert "must lead back to a gate, but 'quiz' is a quiz node" in problem.message


def test_retry_from_a_node_not_on_the_gates_fail_path():
    text = f"""
id: r
title: R
nodes:
  - {{id: check, kind: gate, title: Check, {Q}}}
  - {{id: practice, kind: task, title: Practice}}
  - {{id: boss, kind: story, title: Boss}}
  - {{id: end, kind: end, title: End}}
  - {{id: end2, kind: end, title: End 2}}
edges:
  - {{from: check, to: practice, when: fail}}
  - {{from: check, to: boss, when: success}}
  - [boss, end]
  - [practice, end2]
  - {{from: boss, to: check, when: retry}}
"""
    (problem,) = problems_of(text)
    assert problem.code == "retry_not_upstream"
    assert problem.nodes == ("boss", "check")
    assert "must start on the fail path of gate 'check'" in problem.message
    assert "'boss' is not" in problem.message


def test_retry_from_a_node_before_the_gate():
    text = f"""
id: r
title: R
nodes:
  - {{id: intro, kind: story, title: Intro}}
  - {{id: check, kind: gate, title: Check, {Q}}}
  - {{id: end, kind: end, title: End}}
edges:
  - [intro, check]
  - [check, end]
  - {{from: intro, to: check, when: retry}}
"""
    (problem,) = problems_of(text)
    assert problem.code == "retry_not_upstream"
    assert problem.nodes == ("intro", "check")


def test_retry_from_deep_in_the_fail_path_is_fine():
    text = f"""
id: r
title: R
nodes:
  - {{id: check, kind: gate, title: Check, {Q}}}
  - {{id: p1, kind: story, title: P1}}
  - {{id: p2, kind: task, title: P2}}
  - {{id: end, kind: end, title: End}}
edges:
  - {{from: check, to: p1, when: fail}}
  - [p1, p2]
  - {{from: p2, to: check, when: retry}}
  - {{from: check, to: end, when: success}}
"""
    assert problems_of(text) == []


def test_undeclared_competency():
    text = """
id: comp
title: Comp
competencies: [{id: equiv, name: Equivalent fractions}]
nodes:
  - {id: learn, kind: story, title: Learn, competencies: [equiv, ordering]}
  - {id: end, kind: end, title: End}
edges: [[learn, end]]
"""
    (problem,) = problems_of(text)
    assert problem.code == "unknown_competency"
    assert problem.nodes == ("learn",)
    assert "node 'learn' uses competency 'ordering'" in problem.message
    assert "(declared: equiv)" in problem.message
    assert problem.path == "nodes[0].competencies[1]"


def test_edge_out_of_an_end_node():
    text = """
id: e
title: E
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: end, kind: end, title: End}
  - {id: epilogue, kind: story, title: Epilogue}
edges: [[intro, end], [end, epilogue]]
"""
    (problem,) = problems_of(text)
    assert problem.code == "edge_from_end"
    assert problem.nodes == ("end", "epilogue")
    assert "leaves end node 'end'" in problem.message


def test_self_loop():
    text = """
id: e
title: E
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: end, kind: end, title: End}
edges: [[intro, intro], [intro, end]]
"""
    (problem,) = problems_of(text)
    assert problem.code == "self_loop"
    assert problem.nodes == ("intro",)


def test_problem_carries_file_and_line():
    text = """id: e
title: E
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: end, kind: end, title: End}
edges:
  - [intro, end]
  - [intro, ned]
"""
    (problem,) = validate(loads_quest(text, "quests/e.yaml"))
    assert (problem.file, problem.line) == ("quests/e.yaml", 8)
    assert str(problem).startswith("quests/e.yaml:8: edges[1]: ")


# --- quest_graph ---------------------------------------------------------------


def test_quest_graph_lists_every_problem():
    text = """
id: many
title: Many
nodes:
  - {id: intro, kind: story, title: Intro}
  - {id: intro, kind: story, title: Again}
  - {id: end, kind: end, title: End}
edges: [[intro, end], [intro, nowhere], [elsewhere, end]]
"""
    with pytest.raises(QuestValidationError) as info:
        quest_graph(loads_quest(text))
    err = info.value
    assert codes(err.problems) == ["duplicate_id", "unknown_node", "unknown_node"]
    message = str(err)
    for name in ("'intro'", "'nowhere'", "'elsewhere'"):
        assert name in message
    assert len(message.splitlines()) == 3


def test_quest_graph_lists_graph_problems_together():
    text = """
id: many
title: Many
nodes:
  - {id: a, kind: story, title: A}
  - {id: b, kind: story, title: B}
  - {id: c, kind: story, title: C}
edges: [[a, b], [b, c], [c, b], {from: a, to: c, when: fail}]
"""
    with pytest.raises(QuestValidationError) as info:
        quest_graph(loads_quest(text))
    assert codes(info.value.problems) == ["cannot_fail", "cycle", "no_end"]


def test_quest_graph_lists_independent_problems_of_different_stages():
    # An undeclared competency does not change the graph: the missing end and
    # the edge out of a story that cannot fail should be reported with it.
    text = """
id: many
title: Many
nodes:
  - {id: a, kind: story, title: A, competencies: [nope]}
  - {id: b, kind: story, title: B}
edges: [{from: a, to: b, when: fail}]
"""
    with pytest.raises(QuestValidationError) as info:
        quest_graph(loads_quest(text))
    assert codes(info.value.problems) == ["cannot_fail", "no_end", "unknown_competency"]


# --- layout --------------------------------------------------------------------


def test_layout_positions_every_node_in_layers():
    G = quest_graph(loads_quest(GATE_LOOP))
    positions = layout(G, aspect=100)  # a frame wide enough for one row
    assert set(positions) == set(G)
    assert all(positions[u][0] < positions[v][0] for u, v in G.edges)
    assert len(set(positions.values())) == len(positions)  # no two nodes on one spot
    assert positions["intro"] == (0.0, 0.0)


def test_layout_spacing():
    G = quest_graph(loads_quest(GATE_LOOP))
    positions = layout(G, width=100, height=50, aspect=100)
    assert positions["check"] == (100, 0)
    assert {positions["boss"], positions["practice"]} == {(200, 0), (200, 50)}


def test_layout_keeps_hand_placed_positions():
    text = """
id: l
title: L
nodes:
  - {id: intro, kind: story, title: Intro, position: [400, -30.5]}
  - {id: mid, kind: story, title: Mid}
  - {id: end, kind: end, title: End, position: [0, 0]}
edges: [[intro, mid], [mid, end]]
"""
    positions = layout(quest_graph(loads_quest(text)), aspect=100)
    assert positions["intro"] == (400.0, -30.5)
    assert positions["end"] == (0.0, 0.0)
    assert positions["mid"] == (215.0, 0.0)


def test_layout_winds_a_long_quest_into_rows_like_a_trail():
    chain = [f"s{i}" for i in range(12)]
    nodes = ", ".join(f"{{id: {n}, kind: story, title: {n}}}" for n in chain[:-1])
    text = (f"id: c\ntitle: C\nnodes: [{nodes}, {{id: {chain[-1]}, kind: end, title: E}}]\n"
            f"edges: [{', '.join(f'[{a}, {b}]' for a, b in zip(chain, chain[1:]))}]\n")
    positions = layout(quest_graph(loads_quest(text)), width=200, height=100, aspect=1.6)
    rows = sorted({y for _, y in positions.values()})
    assert len(rows) > 1  # wrapped, so it can be drawn large
    xs, ys = zip(*(positions[n] for n in chain))
    assert max(xs) - min(xs) < 11 * 200  # narrower than one long row
    for a, b in zip(chain, chain[1:]):  # each step of the trail is next to the one before
        (x1, y1), (x2, y2) = positions[a], positions[b]
        assert (y1 == y2 and abs(x1 - x2) == 200) or (x1 == x2 and y2 > y1)


# --- scale ---------------------------------------------------------------------


def gate_chain(n_gates):
    nodes = [{"id": "start", "kind": "story", "title": "Start"}]
    edges = []
    previous = "start"
    for i in range(n_gates):
        gate, practice = f"g{i}", f"p{i}"
        nodes.append({"id": gate, "kind": "gate", "title": f"Gate {i}",
                      "questions": [{"id": "q", "type": "number", "prompt": "x", "answer": 1}]})
        nodes.append({"id": practice, "kind": "task", "title": f"Practice {i}"})
        edges.append({"from": previous, "to": gate, "when": "success" if previous != "start" else "done"})
        edges.append({"from": gate, "to": practice, "when": "fail"})
        edges.append({"from": practice, "to": gate, "when": "retry"})
        previous = gate
    nodes.append({"id": "end", "kind": "end", "title": "End"})
    edges.append({"from": previous, "to": "end", "when": "success"})
    return Quest.model_validate({"id": "chain", "title": "Chain", "nodes": nodes, "edges": edges})


def test_validate_a_5000_node_chain_of_gates_with_retry_loops():
    quest = gate_chain(2500)
    assert len(quest.nodes) == 5002
    assert validate(quest) == []
    G = build_graph(quest)
    assert len(G.graph["retry"]) == 2500
    assert nx.is_directed_acyclic_graph(G)
