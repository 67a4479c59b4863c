"""Forms built from pydantic models: the editor's inspector for any node kind.

A form is made from a model's fields (text, numbers, choices, lists, nested
models, lists of models with add/remove), so a plugin's node kind gets an
inspector like a built-in one without writing UI code. Each change calls
``on_change(field, value)`` with plain data; the caller decides what to do.
"""
from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from pydantic import BaseModel

from ..i18n import _

__all__ = ["model_form", "LONG_TEXT_FIELDS"]

LONG_TEXT_FIELDS = {"text", "story", "instructions", "reflection", "prompt", "description",
                    "explanation", "starter", "hint"}
HIDDEN_FIELDS = {"kind", "type", "position"}
FRACTION_FIELDS = {"threshold", "pass_score", "prior", "learn", "guess", "slip"}
LINE_LIST_HELP = "one per line"


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """(the inner type, whether None is allowed)."""
    optional = False
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(typing.get_args(annotation))
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation, optional


def _union_members(annotation: Any) -> list[type[BaseModel]]:
    annotation, _optional = _unwrap(annotation)
    args = typing.get_args(annotation) if typing.get_origin(annotation) in (typing.Union,
                                                                             types.UnionType) else []
    return [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]


def _tag(model: type[BaseModel]) -> tuple[str, str] | None:
    for name in ("kind", "type"):
        field = model.model_fields.get(name)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            return name, typing.get_args(field.annotation)[0]
    return None


def model_form(model: type[BaseModel], data: dict, on_change: Callable[[str, Any], None],
               skip: set[str] = frozenset(), choices: dict[str, list[str]] | None = None) -> w.VBox:
    """A form for ``data`` (a dict in ``model``'s shape); edits call ``on_change(field, value)``."""
    rows = []
    choices = choices or {}
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in HIDDEN_FIELDS or key in skip:
            continue
        widget = _field_widget(key, field, data.get(key, None), on_change, choices)
        if widget is not None:
            rows.append(widget)
    box = w.VBox(rows)
    box.add_class("qe-form")
    return box


def _label(text: str) -> str:
    return text.replace("_", " ")


def _field_widget(key: str, field, value: Any, on_change, choices) -> w.Widget | None:
    annotation, optional = _unwrap(field.annotation)
    origin = typing.get_origin(annotation)
    desc = _label(key)
    style = {"description_width": "110px"}
    layout = w.Layout(width="100%")
    default = None if field.is_required() else field.get_default(call_default_factory=True)
    current = value if value is not None else default

    def changed(new):
        on_change(key, new)

    if key in choices:  # e.g. a node's competencies: pick among the declared ones
        picker = w.SelectMultiple(options=choices[key], value=tuple(v for v in (current or [])
                                                                     if v in choices[key]),
                                  description=desc, style=style, layout=layout, rows=3)
        picker.observe(lambda ch: changed(list(ch["new"])), names="value")
        return picker
    if origin is typing.Literal:
        options = list(typing.get_args(annotation))
        dd = w.Dropdown(options=options, value=current if current in options else options[0],
                        description=desc, style=style, layout=layout)
        dd.observe(lambda ch: changed(ch["new"]), names="value")
        return dd
    if annotation is bool:
        box = w.Checkbox(value=bool(current), description=desc, indent=False)
        box.observe(lambda ch: changed(ch["new"]), names="value")
        return box
    if annotation is int:
        box = w.IntText(value=int(current or 0), description=desc, style=style, layout=layout)
        box.observe(lambda ch: changed(ch["new"]), names="value")
        return box
    if annotation is float:
        if key in FRACTION_FIELDS:
            box = w.FloatSlider(value=float(current or 0), min=0, max=1, step=0.05,
                                description=desc, style=style, layout=layout,
                                continuous_update=False, readout_format=".2f")
        else:
            box = w.FloatText(value=float(current or 0), description=desc, style=style,
                              layout=layout)
        box.observe(lambda ch: changed(ch["new"]), names="value")
        return box
    if annotation is str:
        cls = w.Textarea if key in LONG_TEXT_FIELDS else w.Text
        box = cls(value="" if current is None else str(current), description=desc, style=style,
                  layout=w.Layout(width="100%", height="70px" if cls is w.Textarea else None),
                  continuous_update=False)
        box.add_class(f"qe-field-{key}")
        box.observe(lambda ch: changed(ch["new"] if ch["new"] != "" or not optional else None),
                    names="value")
        return box
    if origin in (list, tuple) and key == "position":
        return None
    if origin in (list, tuple):
        (item,) = typing.get_args(annotation)[:1] or (Any,)
        item_type, _optional = _unwrap(item)
        members = _union_members(item)
        if members or (isinstance(item_type, type) and issubclass(item_type, BaseModel)):
            return _model_list(key, members or [item_type], list(current or []), changed)
        lines = w.Textarea(value="\n".join(str(v) for v in (current or [])),
                           placeholder=LINE_LIST_HELP, description=desc, style=style,
                           layout=w.Layout(width="100%", height="70px"), continuous_update=False)
        lines.add_class(f"qe-field-{key}")
        lines.observe(lambda ch: changed([ln.strip() for ln in ch["new"].splitlines()
                                           if ln.strip()]), names="value")
        return lines
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        sub = dict(current) if isinstance(current, dict) else (
            current.model_dump(exclude_defaults=True) if isinstance(current, BaseModel) else {})

        def sub_changed(k, v):
            if v is None:
                sub.pop(k, None)
            else:
                sub[k] = v
            changed(dict(sub))

        inner = model_form(annotation, sub, sub_changed)
        box = w.VBox([w.HTML(f"<strong>{_label(key)}</strong>"), inner])
        box.add_class("qe-subform")
        return box
    return None


def _model_list(key: str, models: list[type[BaseModel]], items: list, changed) -> w.VBox:
    """A list of models with add and remove; each edit reports the whole list."""
    items = [dict(i) if isinstance(i, dict) else i.model_dump(by_alias=True, exclude_defaults=True)
             for i in items]
    by_tag = {(_tag(m) or ("", m.__name__))[1]: m for m in models}
    box = w.VBox()
    box.add_class("qe-list")
    box.add_class(f"qe-list-{key}")

    def model_of(item: dict) -> type[BaseModel]:
        for m in models:
            tag = _tag(m)
            if tag is None or item.get(tag[0]) == tag[1]:
                return m
        return models[0]

    def draw():
        rows = []
        for i, item in enumerate(items):
            def item_changed(k, v, i=i):
                if v is None:
                    items[i].pop(k, None)
                else:
                    items[i][k] = v
                changed([dict(x) for x in items])

            remove = w.Button(description=_("Remove"), layout=w.Layout(width="auto"))
            remove.add_class("qe-remove")
            remove.on_click(lambda _b, i=i: (items.pop(i), changed([dict(x) for x in items]),
                                             draw()))
            title = item.get("id") or item.get("label") or f"{key} {i + 1}"
            tag = _tag(model_of(item))
            head = w.HTML(f"<strong>{_label(key)[:-1] if key.endswith('s') else key} {i + 1}"
                          f"</strong> · {title}{' · ' + item.get(tag[0], '') if tag else ''}")
            card = w.VBox([head, model_form(model_of(item), item, item_changed), remove])
            card.add_class("qe-list-item")
            rows.append(card)
        kinds = w.Dropdown(options=list(by_tag), layout=w.Layout(width="140px"))
        add = w.Button(description=_("Add {what}").format(
                           what=key[:-1] if key.endswith("s") else key),
                       layout=w.Layout(width="auto"))
        add.add_class(f"qe-add-{key}")

        def do_add(_b):
            model = by_tag[kinds.value]
            new = _blank(model, len(items) + 1)
            items.append(new)
            changed([dict(x) for x in items])
            draw()

        add.on_click(do_add)
        controls = [kinds, add] if len(by_tag) > 1 else [add]
        box.children = [w.HTML(f"<div class='qe-list-title'>{_label(key)}</div>"), *rows,
                        w.HBox(controls)]

    draw()
    return box


def _blank(model: type[BaseModel], n: int) -> dict:
    """A new list item with the required fields filled with placeholders."""
    data: dict[str, Any] = {}
    tag = _tag(model)
    if tag:
        data[tag[0]] = tag[1]
    for name, field in model.model_fields.items():
        key = field.alias or name
        if key in data or not field.is_required():
            continue
        annotation, _optional = _unwrap(field.annotation)
        if key == "id":
            data[key] = f"{(tag[1] if tag else 'item')[:1]}{n}"
        elif typing.get_origin(annotation) is typing.Literal:
            data[key] = typing.get_args(annotation)[0]
        elif annotation is str:
            data[key] = "right" if key == "answer" else f"New {key}"
        elif typing.get_origin(annotation) in (list, tuple):
            data[key] = ["right", "wrong"] if key in ("options", "answer", "accept") else []
        elif annotation in (int, float):
            data[key] = 0
    if data.get("type") == "multi":
        data["answer"] = ["right"]
    return data
