"""The quest map widget: one anywidget shared by every page.

Synced traits are plain JSON: ``nodes`` (id, title, kind, state, x, y, info),
``edges`` (source, target, when), ``selected`` (set by a click in the
browser), ``current``, ``counts`` (per node, for the progress center),
``editable`` and ``height``. The browser can set any trait, so ``selected``
only chooses what a panel shows: it never grants anything.
"""
from __future__ import annotations

from pathlib import Path

import anywidget
import networkx as nx
import traitlets

from ..engine import Progress, explain
from ..graph import layout

__all__ = ["QuestMap", "map_nodes", "map_edges", "FRONT_END"]


def _front_end() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "_widgets"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "widgets"


FRONT_END = _front_end()


def map_nodes(G: nx.DiGraph, progress: Progress | None = None) -> list[dict]:
    """The ``nodes`` trait for a quest graph, with states and explanations when given progress."""
    positions = layout(G)
    kinds = G.graph.get("kinds", {})  # plugin kinds bring their own icon
    out = []
    for n in G.graph["order"] or list(G):
        node = G.nodes[n]["node"]
        x, y = positions[n]
        item = {"id": n, "title": node.title, "kind": node.kind, "x": float(x), "y": float(y)}
        icon = getattr(kinds.get(node.kind), "icon", None)
        if icon:
            item["icon"] = icon
        if progress is not None:
            item["state"] = progress.nodes[n].state
            item["info"] = explain(progress, n)
        out.append(item)
    return out


def map_edges(G: nx.DiGraph) -> list[dict]:
    """The ``edges`` trait: forward edges with their condition, then retry edges."""
    edges = [{"source": u, "target": v, "when": w} for u, v, w in G.edges(data="when")]
    edges += [{"source": s, "target": g, "when": "retry"} for s, g in G.graph["retry"].items()]
    return [{**e, "index": i} for i, e in enumerate(edges)]


class QuestMap(anywidget.AnyWidget):
    """An SVG quest map with pan, zoom, hover explanations and click to select."""

    _esm = FRONT_END / "questmap.js"
    _css = FRONT_END / "questmap.css"

    nodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    edges = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    current = traitlets.Unicode("").tag(sync=True)
    counts = traitlets.Dict().tag(sync=True)
    editable = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(440).tag(sync=True)
    selected_edge = traitlets.Int(-1).tag(sync=True)
    background = traitlets.Unicode("").tag(sync=True)  # a data: URL of the quest's theme image

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._edit_handlers: list = []
        self.on_msg(self._on_front_end_msg)

    def on_edit(self, handler) -> None:
        """Call ``handler(message)`` for each edit the browser asks for (editable mode).

        Messages: ``{"type": "add", "x", "y"}``, ``{"type": "move", "id", "x", "y"}``,
        ``{"type": "connect", "source", "target"}``, ``{"type": "delete"}``. They are
        requests: the handler decides, and redraws.
        """
        self._edit_handlers.append(handler)

    def _on_front_end_msg(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict) or not self.editable:
            return
        for handler in self._edit_handlers:
            handler(content)

    def fit(self) -> None:
        """Zoom the drawing to show the whole map."""
        self.send({"type": "fit"})

    def show(self, G: nx.DiGraph, progress: Progress | None = None,
             counts: dict | None = None) -> None:
        """Draw a quest graph (and a student's progress, or a class's counts)."""
        with self.hold_sync():
            self.nodes = map_nodes(G, progress)
            self.edges = map_edges(G)
            self.counts = counts or {}
            self.current = (progress.current or "") if progress is not None else ""
