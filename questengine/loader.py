"""Read and write quest files (YAML or JSON), with errors as ``file:line key.path``.

Files are parsed with ruamel.yaml's round-trip parser, which keeps every
node's line, the key order and the comments. The resolver is YAML 1.2 without
timestamps, whatever the file's ``%YAML`` directive says: ``yes``, ``no``,
``on``, ``off`` and date-like values stay strings. Only plain data is built
(maps, lists, scalars): tags such as ``!!python/object`` are refused.
"""
from __future__ import annotations

import functools
import io
import json
import re
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.scalarstring import LiteralScalarString
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.resolver import VersionedResolver, implicit_resolvers

from .errors import Problem, QuestFileError
from .model import Quest

__all__ = ["MAX_FILE_BYTES", "load_quest", "loads_quest", "parse_quest", "save_quest", "dumps_quest"]

MAX_FILE_BYTES = 2_000_000
#: How deep lists and mappings may nest, and how many values a file may hold once its
#: aliases (``*name``) are expanded: a few hundred bytes of nested aliases can otherwise
#: stand for billions of values (the "billion laughs" attack).
MAX_DEPTH = 64
MAX_EXPANDED_VALUES = 200_000
# Numbers stay text until pydantic converts them where a number is expected, so
# ids and titles such as `1.10` or `007` keep their spelling, and a `%YAML 1.1`
# directive cannot turn `010` into 8.
_DROPPED_TAGS = {"tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:int",
                 "tag:yaml.org,2002:float"}


class _QuestResolver(VersionedResolver):
    """YAML 1.2 core rules for every document, minus timestamps and numbers."""

    @property
    def versioned_resolver(self) -> Any:
        table = self._version_implicit_resolver
        if "questengine" not in table:
            for versions, tag, regexp, first in implicit_resolvers:
                if (1, 2) in versions and tag not in _DROPPED_TAGS:
                    self.add_version_implicit_resolver("questengine", tag, regexp, first)
        return table["questengine"]


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.Resolver = _QuestResolver
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # never re-wrap a teacher's long lines
    return yaml


# --- reading -----------------------------------------------------------------


def load_quest(path: str | Path, registry=None) -> Quest:
    """Load and check a quest file; raise QuestFileError naming file:line on any problem.

    Node kinds are questengine's and those of the plugin ``registry`` (without one,
    questengine's own kinds only: see :func:`questengine.plugins.installed_registry`).
    """
    path = Path(path)
    name = str(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise QuestFileError([Problem(f"cannot read the file: {err.strerror}", file=name)]) from err
    if size > MAX_FILE_BYTES:
        raise QuestFileError([Problem(
            f"the file is {size / 1e6:.1f} MB; quest files may be at most "
            f"{MAX_FILE_BYTES / 1e6:.1f} MB (keep videos and images as separate assets)",
            file=name, line=1, code="too_large")])
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise QuestFileError([Problem(
            f"the file is not UTF-8 text (byte {err.start} cannot be decoded); save it as UTF-8",
            file=name, line=line, code="encoding")]) from err
    return loads_quest(text, name, registry)


def loads_quest(text: str, filename: str = "<quest>", registry=None) -> Quest:
    """Parse quest text (YAML or JSON) into a Quest."""
    return parse_quest(_parse_text(text, filename), filename, registry)


def _parse_text(text: str, filename: str) -> Any:
    if len(text.encode("utf-8", "replace")) > MAX_FILE_BYTES:
        raise QuestFileError([Problem(
            f"the text is larger than {MAX_FILE_BYTES / 1e6:.1f} MB", file=filename, line=1,
            code="too_large")])
    if not text.strip() or all(
        not ln.strip() or ln.lstrip().startswith("#") for ln in text.splitlines()
    ):
        raise QuestFileError([Problem(
            "the file is empty; a quest needs at least id, title and nodes",
            file=filename, line=1, code="empty")])
    try:
        _check_structure(text, filename)
        doc = _yaml().load(text)
    except MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        line = mark.line + 1 if mark else None
        what = err.problem or err.context or "syntax error"
        if "'\\t'" in what or "\t" in what:
            what = "a tab character; indent with spaces, not tabs"
        if err.context and err.context_mark and mark is not err.context_mark:
            what += f" ({err.context} on line {err.context_mark.line + 1})"
        raise QuestFileError([Problem(
            f"not valid YAML or JSON: {what}", file=filename, line=line, code="syntax")]) from err
    except YAMLError as err:
        raise QuestFileError([Problem(
            f"not valid YAML or JSON: {err}", file=filename, code="syntax")]) from err
    tags = list(_tagged(doc))
    if tags:
        raise QuestFileError([Problem(
            f"YAML tags such as {tag} are not allowed in quest files; write plain values "
            "(quote text if needed)", path=_format_path(path), file=filename, line=line,
            code="tag") for tag, path, line in tags])
    return doc


def _check_structure(text: str, filename: str) -> None:
    """Refuse deep nesting and alias bombs from the event stream, before building anything.

    The parser's events come one at a time (no recursion, nothing expanded): a stack of
    open collections gives the depth, and each anchor's expanded size is known when its
    value ends, so an alias adds that size without being expanded.
    """
    from ruamel.yaml.events import (AliasEvent, CollectionEndEvent, CollectionStartEvent,
                                    ScalarEvent)

    sizes: dict[str, int] = {}
    stack: list[list] = []  # [anchor, values inside] per open collection
    total = 0

    def add(n: int, mark) -> None:
        nonlocal total
        total += n
        if stack:
            stack[-1][1] += n
        if total > MAX_EXPANDED_VALUES:
            raise QuestFileError([Problem(
                f"the file stands for more than {MAX_EXPANDED_VALUES:,} values once its aliases "
                "(*name) are expanded; write the values out, or use fewer nested aliases",
                file=filename, line=mark.line + 1, code="too_large")])

    for event in _yaml().parse(text):
        if isinstance(event, CollectionStartEvent):
            if len(stack) >= MAX_DEPTH:
                raise QuestFileError([Problem(
                    f"lists and mappings are nested more than {MAX_DEPTH} deep; a quest needs "
                    "only a few levels", file=filename, line=event.start_mark.line + 1,
                    code="too_deep")])
            stack.append([event.anchor, 1])
        elif isinstance(event, CollectionEndEvent):
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            if stack:
                stack[-1][1] += size
        elif isinstance(event, ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            add(1, event.start_mark)
        elif isinstance(event, AliasEvent):
            add(sizes.get(event.anchor, 1), event.start_mark)


def _tagged(node: Any, path: tuple = (), parent: Any = None, key: Any = None):
    """Every explicitly tagged value: (tag, key path, line)."""
    tag = getattr(getattr(node, "tag", None), "value", None) if not isinstance(node, str) else None
    if isinstance(node, TaggedScalar) or tag:
        name = tag or getattr(getattr(node, "tag", None), "value", None) or "!tag"
        yield name, list(path), (_line(parent, key) if parent is not None else 1)
        return
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _tagged(v, path + (k,), node, k)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _tagged(v, path + (i,), node, i)


def _quest_model(registry=None) -> type[Quest]:
    """The model quests are read with: the registry's (its plugin kinds too), else Quest."""
    return registry.quest_model() if registry is not None else Quest


def parse_quest(doc: Any, filename: str = "<quest>", registry=None) -> Quest:
    """Turn parsed data (as from ruamel or json) into a Quest, mapping errors to lines."""
    if not isinstance(doc, dict):
        got = "a list" if isinstance(doc, list) else f"the value {str(doc)[:40]!r}"
        raise QuestFileError([Problem(
            f"a quest file must be a mapping with keys id, title, nodes and edges; got {got}",
            file=filename, line=1, code="not_mapping")])
    model = _quest_model(registry)
    try:
        quest = model.model_validate(doc)
    except ValidationError as err:
        problems = [_problem_from_error(e, doc, filename, model) for e in err.errors()]
        raise QuestFileError(_dedupe(problems)) from err
    quest._source = SourceInfo(filename, doc)
    return quest


class SourceInfo:
    """Where a quest came from: the file name and the parsed document with its lines."""

    def __init__(self, filename: str, doc: Any):
        self.filename = filename
        self.doc = doc

    def line_of(self, *path: str | int) -> int | None:
        """1-based line of the value at a key path such as ('nodes', 3, 'threshold')."""
        return _locate(self.doc, path)[1]


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message)
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out


def _line(container: Any, key: Any) -> int | None:
    lc = getattr(container, "lc", None)
    if lc is None:
        return None
    try:
        if isinstance(container, CommentedMap):
            return lc.key(key)[0] + 1 if key in container else lc.line + 1
        if isinstance(container, CommentedSeq):
            return lc.item(key)[0] + 1
    except (KeyError, IndexError, TypeError, AttributeError):
        pass
    return lc.line + 1


def _locate(doc: Any, loc: tuple, names: set[str] | None = None) -> tuple[list, int | None]:
    """Follow ``loc`` in the document: the key path actually found and its line.

    Pydantic locations hold extra entries (a union's tag such as ``gate``, a
    validator's name); entries that are not keys of the document are skipped.
    """
    current, path = doc, []
    line = getattr(getattr(doc, "lc", None), "line", 0) + 1 if hasattr(doc, "lc") else None
    for i, key in enumerate(loc):
        if (isinstance(current, dict) and i + 1 < len(loc)
                and key in (current.get("kind"), current.get("type"))):
            continue  # a discriminated union's tag, not a key of the file
        if isinstance(current, dict) and key in current:
            line = _line(current, key) or line
            current = current[key]
            path.append(key)
        elif isinstance(current, list) and isinstance(key, int) and 0 <= key < len(current):
            line = _line(current, key) or line
            current = current[key]
            path.append(key)
        elif isinstance(current, dict) and isinstance(key, str) and key in (
                _MODEL_FIELD_NAMES if names is None else names):
            # a missing key: point at the mapping that should hold it
            path.append(key)
            break
    return path, line


def _format_path(path: list) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def _model_at(loc: tuple, root: type[BaseModel] = Quest) -> type[BaseModel] | None:
    """The pydantic model that validates the value at ``loc`` (for listing valid keys)."""
    model: Any = root
    for key in loc:
        if isinstance(key, int):
            continue
        if isinstance(model, type) and issubclass(model, BaseModel) and key in model.model_fields:
            model = _unwrap(model.model_fields[key].annotation)
        elif isinstance(model, list):  # a discriminated union: key is the tag
            model = next((m for m in model if _tag_of(m) == key), None)
        else:
            continue
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _unwrap(annotation: Any) -> Any:
    """list[X] -> X; Optional[X] -> X; a union of models -> list of its members."""
    while True:
        origin = typing.get_origin(annotation)
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if origin is typing.Annotated:
            annotation = args[0]
        elif origin in (list, tuple) and args:
            annotation = args[0]
        elif origin is typing.Union or str(origin) == "types.UnionType":
            members = [_unwrap(a) for a in args]
            models = [m for m in members if isinstance(m, type) and issubclass(m, BaseModel)]
            if len(models) == 1:
                return models[0]
            return models or annotation
        else:
            return annotation


def _tag_of(model: type[BaseModel]) -> str | None:
    for name in ("kind", "type"):
        field = model.model_fields.get(name)
        if field is not None and typing.get_origin(field.annotation) is typing.Literal:
            return typing.get_args(field.annotation)[0]
    return None


@functools.lru_cache(maxsize=32)
def _all_field_names(root: type[BaseModel] = Quest) -> set[str]:
    names: set[str] = set()
    stack: list[Any] = [root]
    seen: set[Any] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, field in model.model_fields.items():
            names.add(field.alias or name)
            inner = _unwrap(field.annotation)
            for m in inner if isinstance(inner, list) else [inner]:
                if isinstance(m, type) and issubclass(m, BaseModel):
                    stack.append(m)
    return names


_MODEL_FIELD_NAMES = _all_field_names()


def _problem_from_error(err: dict, doc: Any, filename: str,
                        model: type[BaseModel] = Quest) -> Problem:
    loc = tuple(err["loc"])
    path, line = _locate(doc, loc, _all_field_names(model))
    kind = err["type"]
    ctx = err.get("ctx") or {}
    value = err.get("input")
    message = err["msg"]
    if kind == "extra_forbidden":
        inner = _model_at(loc[:-1], model)
        valid = ", ".join(f.alias or n for n, f in inner.model_fields.items()) if inner else ""
        message = f"unknown key {loc[-1]!r}" + (f"; valid keys: {valid}" if valid else "")
        path = path[:-1] + [loc[-1]] if path and path[-1] == loc[-1] else path + [loc[-1]]
    elif kind == "missing":
        message = "required key is missing"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        field = str(ctx.get("discriminator", "kind")).strip("'")
        tags = ctx.get("expected_tags", "")
        target = _value_at(doc, path)
        if isinstance(target, dict) and field in target:
            line = _line(target, field) or line
        path = path + [field]
        message = (f"unknown {field} {ctx.get('tag')!r}; valid choices: {tags}"
                   if kind == "union_tag_invalid" else f"missing '{field}'; valid choices: "
                   + ", ".join(_tags_of(loc, model)))
        registry = getattr(model, "plugin_registry", None)
        if field == "kind" and getattr(registry, "problems", None):
            message += f" (plugins that failed to load: {registry.problems_text()})"
        elif field == "kind" and registry is None and kind == "union_tag_invalid":
            message += (" (a plugin's kind? read the quest with the plugin registry that "
                        "has it: registry=questengine.plugins.installed_registry())")
    elif kind in ("less_than_equal", "greater_than_equal", "less_than", "greater_than"):
        low_high = {
            "less_than_equal": f"at most {ctx.get('le')}",
            "greater_than_equal": f"at least {ctx.get('ge')}",
            "less_than": f"less than {ctx.get('lt')}",
            "greater_than": f"more than {ctx.get('gt')}",
        }[kind]
        message = f"must be {low_high}, got {_shown(value)}"
        if path and path[-1] in ("threshold", "pass_score", "prior", "learn", "guess", "slip"):
            message = f"must be between 0 and 1, got {_shown(value)}"
    elif kind == "literal_error":
        message = f"must be one of {ctx.get('expected')}, got {_shown(value)}"
    elif kind == "too_short":
        message = f"needs at least {ctx.get('min_length')} item(s), got {ctx.get('actual_length')}"
    elif kind == "string_pattern_mismatch":
        message = (f"{value!r} is not a valid id: use letters, digits, '-', '_' or '.', "
                   "starting with a letter or digit")
    elif kind == "value_error":
        message = str(ctx.get("error", message))
    elif kind in ("string_type", "int_type", "float_type", "list_type", "dict_type",
                  "model_type", "bool_type", "int_parsing", "float_parsing", "model_attributes_type"):
        expected = {
            "string_type": "text", "int_type": "a whole number", "int_parsing": "a whole number",
            "float_type": "a number", "float_parsing": "a number", "list_type": "a list",
            "dict_type": "a mapping", "model_type": "a mapping", "model_attributes_type": "a mapping",
            "bool_type": "true or false",
        }[kind]
        message = f"expected {expected}, got {_describe(value)}"
    return Problem(message, path=_format_path(path), file=filename, line=line, code=kind)


def _value_at(doc: Any, path: list) -> Any:
    for key in path:
        doc = doc[key]
    return doc


def _tags_of(loc: tuple, model: type[BaseModel] = Quest) -> list[str]:
    if "questions" in loc:
        return ["choice", "multi", "number", "text"]
    members = _unwrap(model.model_fields["nodes"].annotation)
    return [t for t in map(_tag_of, members if isinstance(members, list) else [members]) if t]


def _shown(value: Any) -> str:
    """A value as the teacher wrote it: numbers bare, text quoted."""
    if isinstance(value, str) and re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", value):
        return value
    return repr(value)


def _describe(value: Any) -> str:
    if isinstance(value, str) and _shown(value) == value:
        return f"the number {value}"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) < 40 else text[:37] + "..."


# --- writing -----------------------------------------------------------------


def dumps_quest(quest: Quest, fmt: str = "yaml") -> str:
    """The quest as file text; keeps the comments and key order of its source, if any."""
    data = quest.to_data()
    source = getattr(quest, "_source", None)
    doc = source.doc if source is not None and isinstance(source.doc, CommentedMap) else None
    if doc is not None:
        keep_spelling(doc, data)
    merged = _merge(doc, data) if doc is not None else _fresh(data)
    if fmt == "json":
        return json.dumps(_plain_json(merged), indent=2, ensure_ascii=False) + "\n"
    buf = io.StringIO()
    _yaml().dump(merged, buf)
    return buf.getvalue()


ALIASES = {"explanation": "explain"}  # a key as the model writes it -> its other spelling


def keep_spelling(doc: Any, data: Any) -> None:
    """Where the file wrote ``explain:``, write ``explain:`` back (the model says
    ``explanation``): ``data`` (plain, the file's shape) is changed in place."""
    if isinstance(doc, dict) and isinstance(data, dict):
        for model_key, other in ALIASES.items():
            if other in doc and model_key in data and other not in data:
                data[other] = data.pop(model_key)
        for key, value in data.items():
            if key in doc:
                keep_spelling(doc[key], value)
    elif isinstance(doc, list) and isinstance(data, list):
        for a, b in zip(doc, data):
            keep_spelling(a, b)


def _plain_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_json(v) for v in value]
    return value


def save_quest(quest: Quest, path: str | Path) -> Path:
    """Write the quest to ``path`` (YAML, or JSON for ``.json``) atomically."""
    path = Path(path)
    text = dumps_quest(quest, "json" if path.suffix.lower() == ".json" else "yaml")
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    quest._source = SourceInfo(str(path), _yaml().load(text))
    return path


def _same(old: Any, new: Any) -> bool:
    return _plain(old) == _plain(new)


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        value = {k: _plain(v) for k, v in value.items()}
        if set(value) <= {"from", "to", "when"} and value.get("when", "done") == "done":
            return [value.get("from"), value.get("to")]
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)) or (isinstance(value, str) and _shown(value) == value):
        return float(value)
    return str(value)


def _merge(old: Any, new: Any) -> Any:
    """Update ``old`` (ruamel data with comments) in place to equal ``new``."""
    if _same(old, new):
        return old
    if isinstance(old, CommentedMap) and isinstance(new, dict):
        for key in [k for k in old if k not in new]:
            del old[key]
        for i, (key, value) in enumerate(new.items()):
            if key in old:
                old[key] = _merge(old[key], value)
            else:
                old.insert(min(i, len(old)), key, _fresh(value))
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list):
        by_id = {item.get("id"): item for item in old if isinstance(item, dict) and "id" in item}
        items = []
        for i, value in enumerate(new):
            if isinstance(value, dict) and value.get("id") in by_id:
                items.append(_merge(by_id[value["id"]], value))
            elif i < len(old) and not by_id and _same(old[i], value):
                items.append(old[i])
            else:
                match = next((o for o in old if _same(o, value)), None)
                items.append(match if match is not None else _fresh(value))
        # comments belong to items, not to positions: move them with their item
        comments = {id(old[i]): c for i, c in old.ca.items.items() if i < len(old)}
        old.clear()
        old.extend(items)
        old.ca.items.clear()
        for i, item in enumerate(items):
            if id(item) in comments:
                old.ca.items[i] = comments[id(item)]
        return old
    return _fresh(new)


def _fresh(value: Any) -> Any:
    """New ruamel data: mappings in block style, short lists and edges in flow style."""
    if isinstance(value, dict):
        out = CommentedMap()
        for k, v in value.items():
            out[k] = _fresh(v)
        return out
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # written bare; read back as text and converted by the model
    if isinstance(value, str) and "\n" in value.rstrip("\n") and "\t" not in value \
            and not any(ln != ln.rstrip() for ln in value.split("\n")):
        return LiteralScalarString(value)  # code and long text as a block, as written
    if isinstance(value, list):
        out = CommentedSeq(_fresh(v) for v in value)
        if all(not isinstance(v, (dict, list)) for v in value) and len(str(value)) < 80:
            out.fa.set_flow_style()
        return out
    return value
