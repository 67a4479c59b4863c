"""Widgets reused from one drawing of a page area to the next.

Every widget a kernel makes costs a ``comm_open`` message with its whole state (and the
browser builds a model and a view for it), and ipywidgets gives each widget its own
``Layout`` and style model too: a panel of five texts and a button was some twenty
models, re-made at every click, and the old ones were never closed (the kernel and the
browser kept them all). An area drawn inside :meth:`Reuse.drawing` instead takes its
texts and buttons from the last drawing, so a click changes a few values (one small
``update`` message each, only for what differs), shares one layout and one style model per
kind, and closes what is no longer shown.

Only what is drawn changes, never what it says: a reused button gets the new drawing's
label, look, classes and action, a reused text its new HTML, a reused text box its new
value, placeholder and name.

A few texts, buttons and text boxes no longer shown are kept as spares (at most
:data:`SPARES` of each kind, out of the page and with no action: a forged click on a spare
does nothing) instead of being closed, so that panels of different shapes in turn (a step
with a reflection box, then one without) do not close and open widgets at every click: a
spare taken again costs one small update, a new widget a ``comm_open`` with its whole state
and a close for the old one.
"""
from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator

import ipywidgets as w

__all__ = ["Reuse", "active", "shared_layout", "shared_models", "SPARES"]

#: How many widgets of each leaf kind an area keeps, unseen, for its next drawings.
SPARES = 4
_SPARE_KINDS = (w.HTML, w.Button, w.Textarea)


def _nothing() -> None:
    """The action of a spare button: none (it is on no page)."""

_ACTIVE: contextvars.ContextVar["Reuse | None"] = contextvars.ContextVar("qe_reuse",
                                                                         default=None)


def active() -> "Reuse | None":
    """The area being drawn now, if any."""
    return _ACTIVE.get()


def shared_layout(**kwargs) -> w.Layout:
    """A layout model with these values: shared in an area being drawn, else a new one."""
    reuse = active()
    return reuse.layout(**kwargs) if reuse is not None else w.Layout(**kwargs)


def shared_models(kind: type, **layout) -> dict:
    """``layout=`` and ``style=`` for a new widget of ``kind``: in an area being drawn,
    models shared by every widget of the area that looks the same, else a new layout
    (and the style ipywidgets makes)."""
    reuse = active()
    if reuse is None:
        return {"layout": w.Layout(**layout)}
    return {"layout": reuse.layout(**layout), "style": reuse.style(kind)}


def _tree(widgets) -> Iterator[w.Widget]:
    for widget in widgets:
        yield widget
        yield from _tree(getattr(widget, "children", ()) or ())


class Reuse:
    """One page area's widgets: texts and buttons reused, the rest closed when gone."""

    def __init__(self) -> None:
        self._layouts: dict[tuple, w.Layout] = {}
        self._styles: dict[type, w.Widget] = {}
        self._roots: list[w.Widget] = []  # the area's children after the last drawing
        self._shown: list[w.Widget] = []  # every widget of the last drawing (the tree)
        self._made: set[int] = set()  # ids of the widgets this area made (reusable)
        self._free: dict[type, list[w.Widget]] = {}
        self._taken: list[w.Widget] = []
        self._spares: dict[type, list[w.Widget]] = {}  # kept open, shown nowhere

    # shared models ------------------------------------------------------------------------------

    def layout(self, **kwargs) -> w.Layout:
        key = tuple(sorted(kwargs.items()))
        got = self._layouts.get(key)
        if got is None or got.comm is None:
            got = self._layouts[key] = w.Layout(**kwargs)
        return got

    def style(self, kind: type) -> w.Widget:
        """The style model shared by this area's widgets of ``kind`` (which keep its defaults)."""
        style = kind.class_traits()["style"].klass
        got = self._styles.get(style)
        if got is None or got.comm is None:
            got = self._styles[style] = style()
        return got

    def _shared(self) -> set[int]:
        return {id(m) for m in (*self._layouts.values(), *self._styles.values())}

    # a drawing ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def drawing(self, area: w.Box) -> Iterator["Reuse"]:
        """Draw ``area`` again: inside, :func:`questengine.ui.play._html` and ``_button``
        take widgets from the last drawing (and its spares); set ``area.children`` inside the
        block. After it, whatever the last drawing showed and this one does not is kept as
        a spare or closed."""
        self._free = {}
        self._shown = list(_tree(self._roots))  # as it is now (a part may have changed since)
        for widget in self._shown:
            if id(widget) in self._made and widget.comm is not None:
                self._free.setdefault(type(widget), []).append(widget)
        for stack in self._free.values():
            stack.reverse()  # taken in the order they were shown: the same slot, fewest changes
        for kind, spares in self._spares.items():  # then the spares (taken from the front)
            self._free[kind] = [x for x in reversed(spares) if x.comm is not None] + \
                self._free.get(kind, [])
        self._spares = {}
        self._taken = []
        token = _ACTIVE.set(self)
        try:
            yield self
        finally:
            _ACTIVE.reset(token)
            self._settle(area)

    def _take(self, kind: type):
        stack = self._free.get(kind)
        widget = stack.pop() if stack else None
        if widget is not None:
            self._taken.append(widget)
        return widget

    def _settle(self, area: w.Box) -> None:
        now = list(_tree(area.children))
        keep = {id(x) for x in now} | {id(area)}
        shared = self._shared()
        was_shown = {id(x) for x in self._shown}
        for stack in self._free.values():  # spares not taken this time stay spares
            for widget in stack:
                if id(widget) not in was_shown and id(widget) not in keep \
                        and widget.comm is not None:
                    self._spares.setdefault(type(widget), []).append(widget)
        for widget in self._shown:
            if id(widget) in keep or widget.comm is None:
                continue
            if self._spare(widget):
                continue
            for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
                if isinstance(part, w.Widget) and id(part) not in shared and part.comm is not None:
                    part.close()
            widget.close()
            self._made.discard(id(widget))
        self._roots = list(area.children)
        self._shown = now
        self._free = {}

    def _spare(self, widget: w.Widget) -> bool:
        """Keep a widget no longer shown as a spare, if its kind has room: True if kept."""
        kind = type(widget)
        spares = self._spares.setdefault(kind, [])
        if id(widget) not in self._made or kind not in _SPARE_KINDS or len(spares) >= SPARES:
            return False
        if isinstance(widget, w.Button):
            widget._qe_action = _nothing
        spares.append(widget)
        return True

    def forget(self) -> None:
        """Close every widget this area shows, its spares and its shared models (a logout)."""
        for widget in [*_tree(self._roots), *(x for s in self._spares.values() for x in s)]:
            if widget.comm is not None:
                widget.close()
        for model in (*self._layouts.values(), *self._styles.values()):
            if model.comm is not None:
                model.close()
        self.__init__()

    # the reusable kinds ---------------------------------------------------------------------------

    def html(self, value: str, classes: tuple[str, ...] = ()) -> w.HTML:
        widget = self._take(w.HTML)
        if widget is None:
            widget = w.HTML(layout=self.layout(), style=self.style(w.HTML),
                            _dom_classes=classes, value=value)
            self._made.add(id(widget))
            return widget
        with widget.hold_sync():
            widget.value = value
            widget._dom_classes = classes
        return widget

    def button(self, label: str, on_click: Callable[[], None], style: str,
               classes: tuple[str, ...], layout: w.Layout, tooltip: str | None = None
               ) -> w.Button:
        widget = self._take(w.Button)
        if widget is None:
            widget = w.Button(description=label, button_style=style, layout=layout,
                              style=self.style(w.Button), _dom_classes=classes,
                              tooltip=tooltip)
            widget.on_click(lambda b: b._qe_action())
            widget._qe_action = on_click
            self._made.add(id(widget))
            return widget
        widget._qe_action = on_click
        with widget.hold_sync():
            widget.description = label
            widget.button_style = style
            widget.layout = layout
            widget._dom_classes = classes
            widget.disabled = False
            widget.tooltip = tooltip
            widget.icon = ""
        return widget

    def textarea(self, value: str, placeholder: str, description: str,
                 _dom_classes: tuple[str, ...], layout: w.Layout) -> w.Textarea:
        classes = tuple(_dom_classes)
        widget = self._take(w.Textarea)
        if widget is None:
            widget = w.Textarea(value=value, placeholder=placeholder, description=description,
                                _dom_classes=classes, layout=layout,
                                style=self.style(w.Textarea))
            self._made.add(id(widget))
            return widget
        with widget.hold_sync():
            widget.value = value
            widget.placeholder = placeholder
            widget.description = description
            widget._dom_classes = classes
            widget.layout = layout
            widget.disabled = False
        return widget

    def box(self, kind: type, children, classes: tuple[str, ...] = (),
            layout: w.Layout | None = None) -> w.Box:
        widget = self._take(kind)
        if widget is None:
            widget = kind(list(children), _dom_classes=classes,
                          layout=layout or self.layout())
            self._made.add(id(widget))
            return widget
        with widget.hold_sync():
            widget.children = list(children)
            widget._dom_classes = classes
            widget.layout = layout or self.layout()
        return widget
