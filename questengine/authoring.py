"""Editing a quest map: the state behind the editor page, with undo and redo.

:class:`QuestDraft` holds a quest as plain data (the file's shape), so a map
can be wrong while a teacher works on it; :meth:`QuestDraft.problems` says
what is wrong, in sentences tied to nodes. Saving merges into the file the
quest came from, so its comments and key order survive.

>>> d = QuestDraft.new("tiny", "A tiny quest")
>>> a = d.add_node("story", 0, 0, title="Hello")
>>> b = d.add_node("end", 220, 0, title="Bye")
>>> [p.message for p in d.problems()]  # doctest: +NORMALIZE_WHITESPACE
['“Hello” is not connected to any other step: draw a path to it and from it',
 '“Hello” still has the placeholder story text “Tell the story here.”: write your own',
 '“Bye” is not connected to any other step: draw a path to it and from it']
>>> d.connect(a, b)
0
>>> d.update_node(a, text="Once upon a time.")
>>> [p.message for p in d.problems()]
[]
>>> d.undo(), d.undo(), d.undo()
(True, True, True)
>>> [p.message for p in d.problems()][0]
"the quest has no 'end' node; add one (kind: end) so students can finish"
>>> d.redo(), d.node_ids()
(True, ['story-1', 'end-2'])
"""
from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import networkx as nx

from .errors import N_, Message, Problem, QuestEngineError, QuestFileError, Step
from .graph import layout, validate
from .loader import SourceInfo, dumps_quest, keep_spelling, load_quest, parse_quest, save_quest
from .model import NODE_KINDS, Quest
from .plugins import registry_of

__all__ = ["QuestDraft", "DEFAULT_NODES", "EDGE_CONDITIONS", "EditError", "MissingNode",
           "MissingEdge"]


class EditError(QuestEngineError, ValueError):
    """An edit that cannot be made; the draft is left as it was."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingNode(EditError, KeyError):
    """The edit names a node the quest does not have."""


class MissingEdge(EditError, IndexError):
    """The edit names a path the quest does not have."""

EDGE_CONDITIONS = ("done", "success", "fail", "retry")

#: What a new node of each kind starts with, so that it is valid at once where it can be.
DEFAULT_NODES: dict[str, dict] = {
    "story": {"text": "Tell the story here."},
    "task": {"complete": "self", "instructions": "What should the student do?"},
    "choice": {"options": [
        {"id": "video", "modality": "video", "label": "Watch a video", "complete": "self"},
        {"id": "worksheet", "modality": "worksheet", "label": "Do a worksheet",
         "complete": "review"},
        {"id": "song", "modality": "song", "label": "Write a song", "complete": "review"}]},
    "quiz": {"pass_score": 0.7, "questions": [
        {"id": "q1", "type": "choice", "prompt": "Your question?", "options": ["right", "wrong"],
         "answer": "right"}]},
    "gate": {"threshold": 0.8, "max_attempts": 3, "questions": [
        {"id": "q1", "type": "choice", "prompt": "Your question?", "options": ["right", "wrong"],
         "answer": "right"}]},
    "end": {"rewards": {"xp": 50}},
}


class QuestDraft:
    """A quest being edited: plain data, every change undoable."""

    def __init__(self, data: dict, source: SourceInfo | None = None, path: Path | None = None,
                 registry=None):
        self.data = data
        self.registry = registry  # the plugin kinds the draft may use (None: questengine's own)
        self.source = source
        self.path = path
        self._undo: list[dict] = []
        self._redo: list[dict] = []
        self.data.setdefault("nodes", [])
        self.data.setdefault("edges", [])

    # opening and saving ------------------------------------------------------------------------------

    @classmethod
    def new(cls, quest_id: str, title: str, registry=None) -> "QuestDraft":
        return cls({"id": quest_id, "title": title, "version": 1, "nodes": [], "edges": []},
                   registry=registry)

    @classmethod
    def open(cls, path: str | Path, registry=None) -> "QuestDraft":
        """Open a quest file (it must load; it may still have map problems)."""
        quest = load_quest(path, registry)
        return cls.from_quest(quest, Path(path), registry)

    @classmethod
    def from_quest(cls, quest: Quest, path: Path | None = None, registry=None) -> "QuestDraft":
        data = quest.to_data()
        if quest._source is not None:  # keep the file's spelling of aliased keys
            keep_spelling(quest._source.doc, data)
        return cls(data, quest._source, path,
                   registry if registry is not None else registry_of(quest))

    def quest(self) -> Quest:
        """The draft as a Quest; QuestFileError listing problems if it does not fit the format."""
        quest = parse_quest(copy.deepcopy(self._file_data()), str(self.path or "<draft>"),
                            self.registry)
        quest._source = self.source
        return quest

    def save(self, path: str | Path | None = None) -> Path:
        """Write the quest (comments and key order of its file kept); refuses an invalid one."""
        target = Path(path) if path else self.path
        if target is None:
            raise QuestFileError([Problem("choose a file name to save the quest to")])
        quest = self.quest()
        problems = validate(quest)
        if problems:
            raise QuestFileError(problems)
        save_quest(quest, target)
        self.source, self.path = quest._source, target
        return target

    def text(self) -> str:
        """The YAML the draft would be saved as."""
        return dumps_quest(self.quest())

    def _file_data(self) -> dict:
        data = copy.deepcopy(self.data)
        data["edges"] = [_edge_out(e) for e in data["edges"]]
        return data

    # undo and redo ---------------------------------------------------------------------------------------

    def _change(self) -> None:
        self._undo.append(copy.deepcopy(self.data))
        self._redo.clear()
        if len(self._undo) > 200:
            self._undo.pop(0)

    def undo(self) -> bool:
        if not self._undo:
            return False
        self._redo.append(self.data)
        self.data = self._undo.pop()
        return True

    def redo(self) -> bool:
        if not self._redo:
            return False
        self._undo.append(self.data)
        self.data = self._redo.pop()
        return True

    @property
    def can_undo(self) -> bool:
        return bool(self._undo)

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    # nodes -------------------------------------------------------------------------------------------

    def node(self, node_id: str) -> dict:
        for n in self.data["nodes"]:
            if n.get("id") == node_id:
                return n
        raise MissingNode(f"there is no node {node_id!r} in this quest")

    def node_ids(self) -> list[str]:
        return [n.get("id") for n in self.data["nodes"]]

    def _new_id(self, kind: str) -> str:
        taken = set(self.node_ids())
        i = len(self.data["nodes"]) + 1
        while f"{kind}-{i}" in taken:
            i += 1
        return f"{kind}-{i}"

    def add_node(self, kind: str, x: float, y: float, **fields: Any) -> str:
        """Add a node of ``kind`` at (x, y); returns its id."""
        plugins = self.registry.kinds if self.registry is not None else {}
        if kind not in NODE_KINDS and kind not in DEFAULT_NODES and kind not in plugins:
            raise EditError(f"unknown kind {kind!r}; valid kinds: "
                             f"{', '.join([*NODE_KINDS, *plugins])}")
        self._change()
        node_id = fields.pop("id", None) or self._new_id(kind)
        start = DEFAULT_NODES.get(kind) or (plugins[kind].defaults if kind in plugins else {})
        node = {"id": node_id, "kind": kind, "title": fields.pop("title", kind.title()),
                **copy.deepcopy(start), **fields,
                "position": [round(float(x)), round(float(y))]}
        self.data["nodes"].append(node)
        return node_id

    def move_node(self, node_id: str, x: float, y: float) -> None:
        self.node(node_id)
        self._change()
        self.node(node_id)["position"] = [round(float(x)), round(float(y))]

    def update_node(self, node_id: str, **fields: Any) -> None:
        """Change fields of a node (``None`` removes a field); renaming the id renames its edges."""
        self.node(node_id)
        new_id = fields.pop("id", None)
        if new_id and new_id != node_id and new_id in self.node_ids():
            raise EditError(f"there is already a node {new_id!r}; choose another id")
        self._change()
        node = self.node(node_id)
        for key, value in fields.items():
            if value is None:
                node.pop(key, None)
            else:
                node[key] = value
        if new_id and new_id != node_id:
            node["id"] = new_id
            for e in self.edges:
                for end in ("from", "to"):
                    if e[end] == node_id:
                        e[end] = new_id

    def delete_node(self, node_id: str) -> None:
        """Delete a node and every path into or out of it."""
        self.node(node_id)
        self._change()
        self.data["nodes"] = [n for n in self.data["nodes"] if n.get("id") != node_id]
        self.data["edges"] = [e for e in self.edges if node_id not in (e["from"], e["to"])]

    # edges -----------------------------------------------------------------------------------------------

    @property
    def edges(self) -> list[dict]:
        """The edges as {from, to, when} dicts."""
        self.data["edges"] = [_edge_in(e) for e in self.data["edges"]]
        return self.data["edges"]

    def connect(self, source: str, target: str, when: str = "done") -> int:
        """Add a path; returns its index. A path that exists already is not added twice."""
        for end in (source, target):
            self.node(end)
        if when not in EDGE_CONDITIONS:
            raise EditError(f"unknown condition {when!r}; valid: {', '.join(EDGE_CONDITIONS)}")
        if source == target:
            raise EditError("a path cannot lead from a node to itself")
        for i, e in enumerate(self.edges):
            if (e["from"], e["to"]) == (source, target):
                return i
        self._change()
        self.edges.append({"from": source, "to": target, "when": when})
        return len(self.edges) - 1

    def set_condition(self, index: int, when: str) -> None:
        if when not in EDGE_CONDITIONS:
            raise EditError(f"unknown condition {when!r}; valid: {', '.join(EDGE_CONDITIONS)}")
        self._edge(index)
        self._change()
        self.edges[index]["when"] = when

    def _edge(self, index: int) -> dict:
        if not isinstance(index, int) or not 0 <= index < len(self.edges):
            raise MissingEdge(f"there is no path number {index!r} in this quest")
        return self.edges[index]

    def delete_edge(self, index: int) -> None:
        self._edge(index)
        self._change()
        del self.edges[index]

    # quest fields and layout -------------------------------------------------------------------------

    def update_quest(self, **fields: Any) -> None:
        self._change()
        for key, value in fields.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value

    def positions(self) -> dict[str, tuple[float, float]]:
        """Every node's position: its own if placed, else from an automatic layout."""
        placed = {n["id"]: tuple(n["position"]) for n in self.data["nodes"]
                  if isinstance(n.get("position"), (list, tuple)) and len(n["position"]) == 2}
        missing = [n for n in self.node_ids() if n not in placed]
        if not missing:
            return placed
        # unplaced nodes keep the spot the first layout gave them: an edit elsewhere (a
        # node added where the teacher clicked) must not move them under the new one
        cache = getattr(self, "_auto", {})
        if any(n not in cache for n in missing):
            auto = _auto_layout(self.node_ids(), self.edges)
            cache = {**{n: auto[n] for n in missing}, **{n: cache[n] for n in missing if n in cache}}
            self._auto = cache
        return {n: placed.get(n, cache.get(n)) for n in self.node_ids()}

    def auto_layout(self, keep_placed: bool = False) -> None:
        """Place nodes in layers by topological generation (keeping hand-placed ones if asked)."""
        self._change()
        auto = _auto_layout(self.node_ids(), self.edges)
        for n in self.data["nodes"]:
            if keep_placed and n.get("position"):
                continue
            n["position"] = [round(auto[n["id"]][0]), round(auto[n["id"]][1])]

    # checking ------------------------------------------------------------------------------------------

    def problems(self) -> list[Problem]:
        """Everything wrong with the draft, in sentences (format problems, then map problems)."""
        try:
            quest = parse_quest(copy.deepcopy(self._file_data()), "<draft>", self.registry)
        except QuestFileError as err:
            return [Problem(p.message, path=p.path, code=p.code, nodes=self._nodes_of(p.path),
                            form=p.form) for p in err.problems]
        found = [Problem(p.message, path=p.path, code=p.code, form=p.form,
                         nodes=p.nodes or self._nodes_of(p.path)) for p in validate(quest)]
        return found + self._authoring_problems(found)

    def title_of(self, node_id: str) -> str:
        """A node's title as students see it (its id if it has none)."""
        for n in self.data["nodes"]:
            if n.get("id") == node_id:
                return str(n.get("title") or node_id)
        return str(node_id)

    def _authoring_problems(self, found: list[Problem]) -> list[Problem]:
        """What the format allows but students could not play well: steps joined to nothing,
        and text still as the editor wrote it."""
        out: list[Problem] = []
        ids = self.node_ids()
        touching = {end for e in self.edges for end in (e["from"], e["to"])}
        for i, n in enumerate(self.data["nodes"]):
            nid = n.get("id")
            step = Step(str(nid), self.title_of(nid))
            if len(ids) > 1 and nid not in touching:
                out.append(Problem.of(Message(N_("{step} is not connected to any other step: "
                                                 "draw a path to it and from it"), step=step),
                                      path=f"nodes[{i}]", code="unconnected", nodes=(nid,)))
            for where, text in _placeholders(n):
                out.append(Problem.of(Message(N_("{step} still has the placeholder {where} "
                                                 "“{text}”: write your own"), step=step,
                                              where=Message(where), text=text),
                                      path=f"nodes[{i}]", code="placeholder", nodes=(nid,)))
        return out

    def _nodes_of(self, path: str) -> tuple[str, ...]:
        """The node a key path such as ``nodes[3].threshold`` or ``edges[2]`` is about."""
        if path.startswith("nodes["):
            i = int(path[6:path.index("]")])
            if i < len(self.data["nodes"]):
                return (str(self.data["nodes"][i].get("id")),)
        if path.startswith("edges["):
            i = int(path[6:path.index("]")])
            if i < len(self.edges):
                return (self.edges[i]["from"], self.edges[i]["to"])
        return ()


#: The texts the editor puts in new nodes: still there means not written yet.
PLACEHOLDERS = {"Tell the story here.": N_("story text"),
                "What should the student do?": N_("instructions"), "Your question?": N_("question")}


def _placeholders(node: dict) -> list[tuple[str, str]]:
    """(what, text) of every placeholder text still in a node."""
    out = []
    for key in ("text", "instructions"):
        if node.get(key) in PLACEHOLDERS:
            out.append((PLACEHOLDERS[node[key]], node[key]))
    for q in node.get("questions") or []:
        if isinstance(q, dict) and q.get("prompt") in PLACEHOLDERS:
            out.append((N_("question"), q["prompt"]))
    return out


def _edge_in(e: Any) -> dict:
    if isinstance(e, dict):
        return {"from": e.get("from"), "to": e.get("to"), "when": e.get("when", "done")}
    return {"from": e[0], "to": e[1], "when": "done"}


def _edge_out(e: dict) -> Any:
    e = _edge_in(e)
    return [e["from"], e["to"]] if e["when"] == "done" else e


def _auto_layout(nodes: list[str], edges: list[dict]) -> dict[str, tuple[float, float]]:
    G = nx.DiGraph()
    G.add_nodes_from(nodes)
    G.add_edges_from((e["from"], e["to"]) for e in edges
                     if e["when"] != "retry" and e["from"] in G and e["to"] in G)
    G.graph["order"] = list(nx.topological_sort(G)) if nx.is_directed_acyclic_graph(G) else None
    # strict left-to-right layers, except for long quests, which wind into rows
    layers = sum(1 for _ in nx.topological_generations(G)) if G.graph["order"] else 1
    return layout(G, aspect=1e6 if layers <= 30 else 1.6)
