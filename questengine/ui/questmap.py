"""The quest map widget: one anywidget shared by every page.

Synced traits are plain JSON: ``nodes`` (id, title, kind, state, x, y, w, h,
lines, info), ``patch`` (what changed in the nodes since the browser got the list),
``edges`` (source, target, when, and the routed ``path`` with the
point ``mark`` for its condition), ``selected`` (set by a click or a tap in the
browser, on the map or in its list view), ``current``, ``counts`` (per node,
for the progress center), ``editable``, ``height``, ``view`` (``map`` or
``list``) and ``aspect`` (the drawing frame's shape, reported by the browser
so the layout fits a phone as well as a laptop). The browser can set any
trait, so ``selected`` only chooses what a panel shows: it never grants anything.

The layout (layers, edge routes, wrapped titles) is computed in Python by
:func:`questengine.graph.map_layout`; the front end only draws.

A student's action changes a few nodes' states, not the map: :meth:`QuestMap.show` then
sends only those (``patch``: node id -> the fields that differ from the list the browser
has, ``state`` and ``info``, with their current values), not the whole node list again.
The full list goes to the browser only when the map itself changes (another quest, graph,
language or frame shape), and ``patch`` is then empty. In Python ``nodes`` is always the
map as it is now (the browser's list with the patch applied), so a page reloaded, a second
view or a widget-state request get the current map either way: the patch holds values, not
steps, and applying it again changes nothing.
"""
from __future__ import annotations

from pathlib import Path

import anywidget
import networkx as nx
import traitlets

from ..engine import Progress
from ..graph import map_layout
from ..i18n import N_, _
from ..i18n import explain as i18n_explain
from .palette import map_css_variables

__all__ = ["QuestMap", "map_nodes", "map_edges", "nodes_patch", "FRONT_END", "ASPECTS"]

#: The frame shapes the layout is computed for (the browser reports the nearest).
ASPECTS = (0.6, 0.8, 1.0, 1.3, 1.6, 2.0, 2.6)

#: The fields of a node that a student's progress changes (sent as a ``patch``).
PROGRESS_FIELDS = ("state", "info")


def _front_end() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "_widgets"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parents[2] / "widgets"


FRONT_END = _front_end()


def _geometry(G: nx.DiGraph, n: str, lay) -> dict:
    x, y = lay.positions[n]
    w, h = lay.sizes[n]
    return {"x": float(x), "y": float(y), "w": w, "h": h, "lines": lay.lines[n]}


def map_nodes(G: nx.DiGraph, progress: Progress | None = None, aspect: float = 1.6) -> list[dict]:
    """The ``nodes`` trait for a quest graph, with states and explanations when given progress."""
    lay = map_layout(G, aspect)
    kinds = G.graph.get("kinds", {})  # plugin kinds bring their own icon
    out = []
    for n in G.graph["order"] or list(G):
        node = G.nodes[n]["node"]
        item = {"id": n, "title": node.title, "kind": node.kind, **_geometry(G, n, lay)}
        icon = getattr(kinds.get(node.kind), "icon", None)
        if icon:
            item["icon"] = icon
        if progress is not None:
            item["state"] = progress.nodes[n].state
            item["info"] = i18n_explain(progress, n, G)  # in the page's language
        out.append(item)
    return out


def map_edges(G: nx.DiGraph, aspect: float = 1.6) -> list[dict]:
    """The ``edges`` trait: forward edges with their condition, then retry edges, routed."""
    routes = map_layout(G, aspect).routes
    edges = [{"source": u, "target": v, "when": w} for u, v, w in G.edges(data="when")]
    edges += [{"source": s, "target": g, "when": "retry"} for s, g in G.graph["retry"].items()]
    out = []
    for i, e in enumerate(edges):
        route = routes.get((e["source"], e["target"], e["when"]))
        if route is not None:
            e = {**e, "path": route[0], "mark": list(route[1])}
        out.append({**e, "index": i})
    return out


def _drawing(node: dict) -> dict:
    return {k: v for k, v in node.items() if k not in PROGRESS_FIELDS}


def nodes_patch(sent: list[dict], now: list[dict]) -> dict | None:
    """What the browser, holding ``sent``, needs to show ``now``: ``{id: {field: value}}``
    for the progress fields that differ, or None when the map itself differs (other nodes,
    titles, places: the whole list must go).

    >>> sent = [{"id": "a", "x": 0, "state": "available"},
    ...         {"id": "b", "x": 9, "state": "locked", "info": "after a"}]
    >>> nodes_patch(sent, [{"id": "a", "x": 0, "state": "success"},
    ...                    {"id": "b", "x": 9, "state": "available", "info": ""}])
    {'a': {'state': 'success'}, 'b': {'state': 'available', 'info': ''}}
    >>> nodes_patch(sent, sent)
    {}
    >>> nodes_patch(sent, [{"id": "a", "x": 5, "state": "available"}, sent[1]]) is None
    True
    """
    if len(sent) != len(now):
        return None
    patch = {}
    for old, new in zip(sent, now):
        if old.get("id") != new.get("id") or _drawing(old) != _drawing(new):
            return None
        changed = {k: new.get(k) for k in PROGRESS_FIELDS if old.get(k) != new.get(k)}
        if changed:
            patch[new["id"]] = changed
    return patch


#: The words the map's front end shows (widgets/questmap.js looks each one up in ``words``).
MAP_WORDS = (
    N_("locked"), N_("open"), N_("in progress"), N_("waiting for review"), N_("returned"),
    N_("done"), N_("not passed"), N_("closed"), N_("has a problem"), N_("Locked"), N_("Open"),
    N_("Started"), N_("Waiting for your teacher"), N_("Back from your teacher"), N_("Done"),
    N_("Not passed yet"), N_("Not on your path"), N_("if passed"), N_("if not passed yet"),
    N_("back to try again"), N_("Show the steps as"), N_("🗺 Map"), N_("☰ List of steps"),
    N_("Quest map. Arrow keys move between steps, Enter opens one, plus and minus zoom."),
    N_("Zoom in"), N_("Zoom out"), N_("Fit the map"), N_("Steps of the quest"),
)


def map_words() -> dict[str, str]:
    """The map's words in the active language (only those that differ from English)."""
    return {w: _(w) for w in MAP_WORDS if _(w) != w}


class QuestMap(anywidget.AnyWidget):
    """An SVG quest map with pan, pinch and zoom, hover explanations, tap to select, a list view."""

    _esm = FRONT_END / "questmap.js"
    # the state colours and symbols (palette.py) in front of the stylesheet
    _css = map_css_variables() + (FRONT_END / "questmap.css").read_text(encoding="utf-8")

    nodes = traitlets.List(traitlets.Dict()).tag(sync=True)
    edges = traitlets.List(traitlets.Dict()).tag(sync=True)
    selected = traitlets.Unicode("").tag(sync=True)
    current = traitlets.Unicode("").tag(sync=True)
    counts = traitlets.Dict().tag(sync=True)
    editable = traitlets.Bool(False).tag(sync=True)
    height = traitlets.Int(440).tag(sync=True)
    selected_edge = traitlets.Int(-1).tag(sync=True)
    background = traitlets.Unicode("").tag(sync=True)  # a data: URL of the quest's theme image
    view = traitlets.Unicode("map").tag(sync=True)  # "map" or "list" (the student's pick)
    aspect = traitlets.Float(1.6).tag(sync=True)  # width / height of the frame, from the browser
    follow = traitlets.Unicode("").tag(sync=True)  # a selector to scroll to after a tap (phones)
    words = traitlets.Dict().tag(sync=True)  # the front end's English words -> the page's language
    # node id -> {field: value}: the progress fields that changed since ``nodes`` was sent
    patch = traitlets.Dict().tag(sync=True)

    def __init__(self, **kwargs):
        kwargs.setdefault("words", map_words())
        self._sent: list[dict] = list(kwargs.get("nodes", []))  # the list the browser has
        self._quiet = False  # set ``nodes`` without sending it (its patch goes instead)
        super().__init__(**kwargs)
        self._edit_handlers: list = []
        self._focus_handlers: list = []
        self._graph: nx.DiGraph | None = None
        self._edges_for: tuple | None = None  # (graph, aspect) the edges were routed for
        self.observe(self._on_nodes, names="nodes")
        self.observe(self._on_edges, names="edges")
        self.on_msg(self._on_front_end_msg)
        self.observe(self._on_aspect, names="aspect")

    def on_edit(self, handler) -> None:
        """Call ``handler(message)`` for each edit the browser asks for (editable mode).

        Messages: ``{"type": "add", "x", "y"}``, ``{"type": "move", "id", "x", "y"}``,
        ``{"type": "connect", "source", "target"}``, ``{"type": "delete"}``. They are
        requests: the handler decides, and redraws.
        """
        self._edit_handlers.append(handler)

    def on_focus(self, handler) -> None:
        """Call ``handler()`` when the student comes back to the tab (to look for news)."""
        self._focus_handlers.append(handler)

    def _on_front_end_msg(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "focus" and not self.editable:
            for handler in self._focus_handlers:
                handler()
            return
        if not isinstance(content, dict) or not self.editable:
            return
        for handler in self._edit_handlers:
            handler(content)

    def fit(self) -> None:
        """Zoom the drawing to show the whole map."""
        self.send({"type": "fit"})

    def _layout_aspect(self) -> float:
        try:
            value = float(self.aspect)
        except (TypeError, ValueError):
            return 1.6
        return min(ASPECTS, key=lambda a: abs(a - value))  # only the offered shapes

    def _should_send_property(self, key, value):
        # ipywidgets asks this before sending a changed trait: a quiet ``nodes`` stays here
        if key == "nodes" and self._quiet:
            return False
        return super()._should_send_property(key, value)

    def _on_nodes(self, change) -> None:
        if self._quiet:
            return
        self._sent = list(change["new"])  # the whole list went: nothing left to patch
        if self.patch:
            self.patch = {}

    def _on_edges(self, _change) -> None:
        self._edges_for = None  # set from outside (the editor): route them again in show()

    def show(self, G: nx.DiGraph, progress: Progress | None = None,
             counts: dict | None = None) -> None:
        """Draw a quest graph (and a student's progress, or a class's counts).

        The same map with new states sends only the nodes that changed (``patch``)."""
        aspect = self._layout_aspect()
        nodes = map_nodes(G, progress, aspect)
        patch = nodes_patch(self._sent, nodes) if progress is not None and \
            G is self._graph and self.nodes else None
        self._graph = G
        with self.hold_sync():
            if patch is None:
                self.nodes = nodes
            elif nodes != self.nodes:
                self._quiet = True
                try:
                    self.nodes = nodes
                finally:
                    self._quiet = False
                self.patch = patch
            if self._edges_for != (G, aspect):  # routes are the graph's and the frame's
                self.edges = map_edges(G, aspect)
                self._edges_for = (G, aspect)  # (after the line above: its observer clears it)
            self.counts = counts or {}
            self.current = (progress.current or "") if progress is not None else ""

    def _on_aspect(self, _change) -> None:
        """The frame changed shape (a phone turned, a window resized): lay the map out again.

        Only positions and routes change; whatever else the page put in the nodes stays.
        """
        G = self._graph
        if G is None or self.editable or not self.nodes:
            return
        aspect = self._layout_aspect()
        lay = map_layout(G, aspect)
        routes = {(e["source"], e["target"], e["when"]): e for e in map_edges(G, aspect)}
        with self.hold_sync():
            self.nodes = [{**n, **_geometry(G, n["id"], lay)} if n.get("id") in lay.positions
                          else n for n in self.nodes]
            self.edges = [{**e, **{k: v for k, v in routes.get(
                (e["source"], e["target"], e["when"]), {}).items() if k in ("path", "mark")}}
                for e in self.edges]
            self._edges_for = (G, aspect)
