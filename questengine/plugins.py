"""Plugins: new node kinds, their checkers (graders) and badge rules.

A :class:`Plugin` collects definitions made with decorators; a
:class:`Registry` installs plugins (from a notebook, or from the entry-point
group ``questengine.plugins`` of installed packages) and produces what the
rest of questengine needs: the quest model that accepts the plugin kinds (for
the loader), and the kinds' behaviour and the badge rules (for the graph,
in ``G.graph["kinds"]`` and ``G.graph["badges"]``). The engine only reads the
graph; it never looks at a registry.

A node kind is a pydantic model built on :class:`PluginNode` (which brings the
fields every node has: id, title, story, text, xp, hints...), how the student
completes it (``completes``: ``"answer"``, ``"self"`` or ``"review"``) and,
for answered kinds, a checker that turns an answer into a :class:`Verdict`.

>>> from questengine.loader import loads_quest
>>> from questengine.graph import quest_graph
>>> from questengine.engine import Action, act, replay
>>> riddles = Plugin("riddles")
>>> @riddles.kind("riddle", label="Riddle", icon="M3 3h10v10H3z")
... class Riddle(PluginNode):
...     question: str
...     answer: str
>>> @riddles.grader("riddle")
... def check(node, answer, tries):
...     if answer.strip().lower() == node.answer:
...         return True
...     return Verdict(correct=False, feedback="Hint: it has keys" if tries >= 1 else "Not yet.")
>>> registry = Registry(code=False)
>>> registry.install(riddles)
True
>>> quest = loads_quest('''
... id: riddles
... title: Riddles
... nodes:
...   - {id: r, kind: riddle, title: A riddle, question: What has keys but no locks?, answer: piano}
...   - {id: end, kind: end, title: The end}
... edges: [[r, end]]
... ''', registry=registry)
>>> G = quest_graph(quest)
>>> p = replay(G, [])
>>> events = act(G, p, Action("answer", "r", answers={"answer": "a door"}))
>>> p = replay(G, events)
>>> p.state("r"), p.nodes["r"].report["feedback"]
('in_progress', 'Not yet.')
>>> events += act(G, p, Action("answer", "r", answers={"answer": "a map"}))
>>> replay(G, events).nodes["r"].report["feedback"]
'Hint: it has keys'
>>> events += act(G, replay(G, events), Action("answer", "r", answers={"answer": "Piano"}))
>>> replay(G, events).states()
{'r': 'success', 'end': 'available'}

A broken plugin is reported with its name and the cause, and the others go on:

>>> bad = Plugin("broken")
>>> @bad.kind("story")
... class Story2(PluginNode):
...     pass
>>> registry.install(bad, strict=False)
False
>>> print(registry.problems[-1])
plugin 'broken': kind 'story' is already a kind of questengine; choose another name
"""
from __future__ import annotations

import functools
import importlib.metadata
import inspect
import json
import logging
import re
import threading
import types
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, Field, TypeAdapter, create_model

from .errors import QuestEngineError
from .model import NODE_KINDS, Node, Quest, _NodeBase
from .rewards import BUILTIN_BADGES, BadgeRule

__all__ = ["ENTRY_POINT_GROUP", "PluginNode", "Verdict", "Plugin", "NodeKind", "PluginProblem",
           "PluginError", "Registry", "installed_registry", "registry_of", "graph_registry",
           "BUILTIN_LABELS"]

log = logging.getLogger("questengine.plugins")

ENTRY_POINT_GROUP = "questengine.plugins"
COMPLETES = ("answer", "self", "review")
ON_WRONG = ("retry", "fail")
GRADER_FAILED = "The checker for this step failed; your teacher has been told. Try again later."
BUILTIN_LABELS = {"story": "Story", "task": "Task", "choice": "Choose your way", "quiz": "Quiz",
                  "gate": "Checkpoint", "end": "Quest end"}
_NAME = re.compile(r"^[a-z][a-z0-9_\-]{0,39}$")
_ICON = re.compile(r"^[MmLlHhVvCcSsQqTtAaZz0-9.,\s+\-eE]{1,2000}$")
_MAX_DETAILS = 200_000


class PluginError(QuestEngineError):
    """A plugin could not be installed, or its code failed; the message names the plugin."""

    def __init__(self, message: str, plugin: str = ""):
        self.plugin = plugin
        super().__init__(message)


class PluginNode(_NodeBase):
    """Base of a plugin node kind's model: the fields every node has, and unknown keys refused.

    Add your own fields as class attributes with types, like a dataclass.
    """


@dataclass(frozen=True)
class Verdict:
    """What a checker says about one answer.

    ``correct``: whether the answer is right. ``feedback``: a sentence shown to
    the student. ``score`` (0..1, default 1 or 0) and ``results`` (per part,
    e.g. per test) feed mastery and badges. ``final``: whether this answer
    ends the step: by default a right answer does, and a wrong one does when
    the kind was registered with ``on_wrong="fail"`` (else the student tries
    again). ``details``: JSON data for the kind's panel.
    """

    correct: bool
    feedback: str = ""
    score: float | None = None
    results: dict[str, bool] | None = None
    final: bool | None = None
    details: dict | None = None


@dataclass(frozen=True)
class PluginProblem:
    """Something wrong with a plugin: its name and the cause, in a sentence."""

    plugin: str
    cause: str

    def __str__(self) -> str:
        return f"plugin '{self.plugin}': {self.cause}"


@dataclass(frozen=True, eq=False)
class NodeKind:
    """An installed node kind: its model and behaviour, as the graph and pages use it."""

    name: str
    model: type[PluginNode]
    plugin: str
    completes: str = "answer"
    label: str = ""
    icon: str | None = None
    description: str = ""
    on_wrong: str = "retry"
    grader: Callable | None = None
    prepare: Callable | None = None
    example: Callable | None = None
    panel: Callable | None = None
    defaults: dict = field(default_factory=dict)
    report: Callable[[str, str], None] | None = field(default=None, repr=False, compare=False)
    problems: Callable | None = None

    def grade(self, node: Any, answer: Any, tries: int = 0) -> Verdict:
        """Check an answer with the kind's checker; raise PluginError if the checker fails.

        The outcome is settled here: ``verdict.final`` is always True or False
        in the returned verdict, and ``score`` a number in [0, 1].
        """
        if self.grader is None:
            raise self._failed(f"kind '{self.name}' has no checker (register one with "
                               f"@plugin.grader('{self.name}'))")
        try:
            raw = _call(self.grader, node, answer, tries)
        except Exception as err:
            raise self._failed(f"the checker of kind '{self.name}' raised "
                               f"{type(err).__name__}: {err}") from err
        try:
            return self._settle(raw)
        except (TypeError, ValueError) as err:
            raise self._failed(f"the checker of kind '{self.name}' returned something that is "
                               f"not a verdict: {err}") from err

    def warm(self, node: Any, answer: Any) -> None:
        """Do the slow part of checking ahead (in a background thread); errors are ignored."""
        if self.prepare is not None:
            try:
                self.prepare(node, answer)
            except Exception:
                log.exception("preparing an answer for kind %r failed", self.name)

    def _failed(self, cause: str) -> PluginError:
        if self.report is not None:
            self.report(self.plugin, cause)
        return PluginError(GRADER_FAILED, self.plugin)

    def _settle(self, raw: Any) -> Verdict:
        if isinstance(raw, bool):
            raw = Verdict(correct=raw)
        elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
            raw = Verdict(correct=raw >= 1, score=float(raw))
        if not isinstance(raw, Verdict):
            raise TypeError(f"expected True, False, a score or a Verdict, got {type(raw).__name__}")
        score = float(raw.score) if raw.score is not None else (1.0 if raw.correct else 0.0)
        if not 0.0 <= score <= 1.0:
            raise ValueError(f"score must be between 0 and 1, got {score}")
        results = dict(raw.results or {})
        if not all(isinstance(k, str) and isinstance(v, bool) for k, v in results.items()):
            raise ValueError("results must map names to True or False")
        details = dict(raw.details or {})
        if len(json.dumps(details, default=str)) > _MAX_DETAILS:
            raise ValueError("details are too large")
        details = json.loads(json.dumps(details, default=str))
        final = raw.final
        if final is None:
            final = bool(raw.correct) or self.on_wrong == "fail"
        return Verdict(correct=bool(raw.correct), feedback=str(raw.feedback or "")[:2000],
                       score=score, results=results, final=bool(final), details=details)


def _call(fn: Callable, node: Any, answer: Any, tries: int) -> Any:
    """Call a checker written as ``f(node, answer)`` or ``f(node, answer, tries)``."""
    if _takes_tries(fn):
        return fn(node, answer, tries)
    return fn(node, answer)


def _takes_tries(fn: Callable) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 3 or any(p.kind == p.VAR_POSITIONAL for p in params)


# --- plugins: definitions collected by decorators --------------------------------------------


@dataclass
class _KindDef:
    name: str
    model: Any
    completes: str
    label: str
    icon: str | None
    description: str
    on_wrong: str
    grader: Callable | None
    prepare: Callable | None
    example: Callable | None
    panel: Callable | None
    defaults: dict
    problems: Callable | None = None


@dataclass
class _BadgeDef:
    id: str
    name: str
    description: str
    rule: Callable


class Plugin:
    """A named set of node kinds, checkers and badge rules, defined with decorators.

    Give it to :meth:`Registry.install`, or name it in your package's entry
    points (group ``questengine.plugins``) so questengine finds it when the
    package is installed.
    """

    def __init__(self, name: str, description: str = ""):
        self.name = str(name)
        self.description = description
        self.kinds: list[_KindDef] = []
        self.graders: dict[str, Callable] = {}
        self.badges: list[_BadgeDef] = []

    def __repr__(self) -> str:
        return f"Plugin({self.name!r}: kinds {[k.name for k in self.kinds]}, " \
               f"badges {[b.id for b in self.badges]})"

    def kind(self, name: str, *, completes: str = "answer", label: str | None = None,
             icon: str | None = None, description: str = "", on_wrong: str = "retry",
             grader: Callable | None = None, prepare: Callable | None = None,
             example: Callable | None = None, panel: Callable | None = None,
             defaults: dict | None = None, problems: Callable | None = None):
        """Decorator: the class below is the model of a new node kind called ``name``.

        The returned class has the ``kind`` field added (``kind: Literal[name]``).
        ``completes``: ``"answer"`` (a checker decides), ``"self"`` (the student
        marks it done) or ``"review"`` (the teacher reviews submitted work).
        ``icon``: an SVG path in a 16x16 box, drawn as a line. ``on_wrong``:
        after a wrong answer the student may ``"retry"``, or the step ``"fail"``\\ s.
        ``example(node, right)`` gives a right or wrong answer (for simulations);
        ``prepare(node, answer)`` does slow work ahead of the checker;
        ``panel(node, state, send)`` builds the play page's widgets;
        ``defaults``: the fields a new node of this kind starts with in the editor;
        ``problems(node)`` gives sentences about a node this kind cannot serve on this
        machine (checking a quest reports them, so it is not published).
        """
        def decorate(cls):
            model = _with_kind(cls, name) if isinstance(cls, type) else cls
            if isinstance(model, type) and on_wrong == "fail" and "can_fail" not in dir(model):
                model.can_fail = True  # graph checks allow 'when: fail' edges out of it
            self.kinds = [k for k in self.kinds if k.name != name]
            self.kinds.append(_KindDef(name, model, completes,
                                       label or str(name).replace("_", " ").replace("-", " ").title(),
                                       icon, description or (inspect.getdoc(cls) or "").strip(),
                                       on_wrong, grader, prepare, example, panel,
                                       dict(defaults or {}), problems))
            return model
        return decorate

    def grader(self, kind: str):
        """Decorator: ``f(node, answer, tries)`` checks answers to ``kind``.

        Return True or False, a score in [0, 1], or a :class:`Verdict`.
        ``tries`` counts the answers already checked for this step.
        """
        def decorate(fn):
            self.graders[kind] = fn
            return fn
        return decorate

    def badge(self, id: str, name: str, description: str = ""):
        """Decorator: ``f(progress) -> bool`` awards the badge ``id`` when it returns True."""
        def decorate(fn):
            self.badges = [b for b in self.badges if b.id != id]
            self.badges.append(_BadgeDef(id, name, description, fn))
            return fn
        return decorate


def _with_kind(cls: type, name: str) -> type:
    """``cls`` with a ``kind: Literal[name]`` field (kept if it already has the right one)."""
    if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
        return cls  # reported when installed
    field_info = cls.model_fields.get("kind")
    if field_info is not None:
        return cls  # checked when installed
    try:
        return create_model(cls.__name__, __base__=cls, __module__=cls.__module__,
                            __doc__=cls.__doc__, kind=(Literal[name], name))  # type: ignore[valid-type]
    except Exception:
        return cls  # reported when installed


# --- the registry --------------------------------------------------------------------------------


class Registry:
    """Installed plugins, and what they give questengine.

    ``problems`` lists every plugin that could not be installed or whose code
    failed, with the cause. ``code=True`` installs the ``code`` kind shipped
    with questengine (coding challenges; see :mod:`questengine.codekind`).
    Decorators used on the registry itself (``@registry.kind(...)``) define a
    plugin called ``notebook`` and install it at once.
    """

    def __init__(self, *, code: bool = True):
        self.problems: list[PluginProblem] = []
        self.plugins: dict[str, Plugin] = {}
        self._kinds: dict[str, NodeKind] = {}
        self._badges: dict[str, BadgeRule] = {}
        self._origin: dict[str, str] = {}  # kind or badge -> plugin
        self._models: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._notebook = Plugin("notebook")
        if code:
            from .codekind import plugin as code_plugin

            self.install(code_plugin)

    def __repr__(self) -> str:
        return (f"Registry(plugins {list(self.plugins)}, kinds {list(self._kinds)}, "
                f"{len(self.problems)} problem(s))")

    # installing -------------------------------------------------------------------------------

    def install(self, plugin: Plugin, *, strict: bool = True) -> bool:
        """Install (or replace) a plugin. A broken one is recorded in ``problems``;
        with ``strict`` it also raises PluginError naming the plugin and the cause."""
        name = getattr(plugin, "name", None) or repr(plugin)
        try:
            if not isinstance(plugin, Plugin):
                raise PluginError(f"expected a questengine.plugins.Plugin, got "
                                  f"{type(plugin).__name__}")
            with self._lock:
                kinds, badges = self._prepare(plugin)
                self._remove(plugin.name)
                self.plugins[plugin.name] = plugin
                for k in kinds.values():
                    self._kinds[k.name] = k
                    self._origin[f"kind:{k.name}"] = plugin.name
                for b in badges:
                    self._badges[b.id] = b
                    self._origin[f"badge:{b.id}"] = plugin.name
                for kind, fn in plugin.graders.items():
                    if kind not in kinds:  # a checker for another plugin's kind
                        self._kinds[kind] = replace(self._kinds[kind], grader=fn)
                self._models.clear()
        except PluginError as err:
            self._record(name, str(err))
            if strict:
                raise PluginError(f"plugin '{name}': {err}", name) from err
            return False
        return True

    def _remove(self, plugin: str) -> None:
        for key, owner in list(self._origin.items()):
            if owner == plugin:
                what, _, ident = key.partition(":")
                (self._kinds if what == "kind" else self._badges).pop(ident, None)
                del self._origin[key]
        self.plugins.pop(plugin, None)

    def _prepare(self, plugin: Plugin) -> tuple[dict[str, NodeKind], list[BadgeRule]]:
        """The plugin's kinds and badges, checked; PluginError with the first cause."""
        kinds: dict[str, NodeKind] = {}
        for d in plugin.kinds:
            kinds[d.name] = self._check_kind(plugin.name, d)
        for kind, fn in plugin.graders.items():
            if not callable(fn):
                raise PluginError(f"the checker for kind '{kind}' is not a function")
            if kind in kinds:
                kinds[kind] = replace(kinds[kind], grader=fn)
            elif kind in NODE_KINDS:
                raise PluginError(f"kind '{kind}' is graded by questengine itself; a plugin "
                                  "cannot replace its checker")
            elif kind not in self._kinds:
                raise PluginError(f"a checker is given for kind '{kind}', which no plugin defines")
        try:  # the quest model must build with these kinds in it
            self._build_quest_model({**{k: v for k, v in self._kinds.items()
                                        if self._origin.get(f"kind:{k}") != plugin.name}, **kinds})
        except Exception as err:
            raise PluginError(f"its node models do not fit in a quest: {type(err).__name__}: "
                              f"{_first_line(err)}") from err
        badges = []
        for b in plugin.badges:
            if not isinstance(b.id, str) or not _NAME.match(b.id):
                raise PluginError(f"badge id {b.id!r} must be lower-case letters, digits, '-' "
                                  "or '_', starting with a letter")
            if any(r.id == b.id for r in BUILTIN_BADGES):
                raise PluginError(f"badge '{b.id}' is already a badge of questengine; choose "
                                  "another id")
            owner = self._origin.get(f"badge:{b.id}")
            if owner is not None and owner != plugin.name:
                raise PluginError(f"badge '{b.id}' is already defined by plugin '{owner}'")
            if not callable(b.rule):
                raise PluginError(f"the rule of badge '{b.id}' is not a function")
            badges.append(BadgeRule(b.id, str(b.name), str(b.description),
                                    self._safe_rule(plugin.name, b.id, b.rule)))
        return kinds, badges

    def _union_models(self, kinds: dict[str, NodeKind]) -> list:
        return [*typing.get_args(typing.get_args(Node)[0]), *(k.model for k in kinds.values())]

    def _check_kind(self, plugin: str, d: _KindDef) -> NodeKind:
        name = d.name
        if not isinstance(name, str) or not _NAME.match(name):
            raise PluginError(f"kind name {name!r} must be lower-case letters, digits, '-' or "
                              "'_', starting with a letter (at most 40)")
        if name in NODE_KINDS:
            raise PluginError(f"kind '{name}' is already a kind of questengine; choose another name")
        owner = self._origin.get(f"kind:{name}")
        if owner is not None and owner != plugin:
            raise PluginError(f"kind '{name}' is already defined by plugin '{owner}'")
        model = d.model
        if not (isinstance(model, type) and issubclass(model, PluginNode)):
            got = model.__name__ if isinstance(model, type) else type(model).__name__
            raise PluginError(f"kind '{name}': the model must be a class built on "
                              f"questengine.plugins.PluginNode, got {got}")
        kind_field = model.model_fields.get("kind")
        if kind_field is None or typing.get_origin(kind_field.annotation) is not Literal \
                or typing.get_args(kind_field.annotation) != (name,):
            raise PluginError(f"kind '{name}': the model's 'kind' field must be "
                              f"Literal['{name}'] (leave it out and it is added for you)")
        if d.completes not in COMPLETES:
            raise PluginError(f"kind '{name}': completes must be one of {', '.join(COMPLETES)}, "
                              f"got {d.completes!r}")
        if d.on_wrong not in ON_WRONG:
            raise PluginError(f"kind '{name}': on_wrong must be 'retry' or 'fail', got {d.on_wrong!r}")
        if d.icon is not None and not (isinstance(d.icon, str) and _ICON.match(d.icon)):
            raise PluginError(f"kind '{name}': the icon must be SVG path data (like 'M2 2h12v12H2z')")
        for what in ("grader", "prepare", "example", "panel", "problems"):
            value = getattr(d, what)
            if value is not None and not callable(value):
                raise PluginError(f"kind '{name}': {what} must be a function")
        try:
            model.model_json_schema()
        except Exception as err:
            raise PluginError(f"kind '{name}': the model is not a valid pydantic model: "
                              f"{type(err).__name__}: {_first_line(err)}") from err
        if not isinstance(d.defaults, dict):
            raise PluginError(f"kind '{name}': defaults must be a mapping of field names to values")
        return NodeKind(name, model, plugin, d.completes, d.label, d.icon, d.description,
                        d.on_wrong, d.grader, d.prepare, d.example, d.panel, dict(d.defaults),
                        self._record, d.problems)

    def _safe_rule(self, plugin: str, badge: str, rule: Callable) -> Callable:
        def earned(progress) -> bool:
            try:
                return bool(rule(progress))
            except Exception as err:
                self._record(plugin, f"the rule of badge '{badge}' raised "
                                     f"{type(err).__name__}: {err}")
                return False
        earned.__name__ = getattr(rule, "__name__", "earned")
        return earned

    def _record(self, plugin: str, cause: str) -> None:
        """Keep a problem (once) and write it to the log, where a teacher or admin sees it."""
        problem = PluginProblem(str(plugin), str(cause))
        with self._lock:
            if problem not in self.problems:
                self.problems.append(problem)
                log.warning("%s", problem)

    def load_entry_points(self, entry_points: Iterable | None = None) -> list[str]:
        """Install the plugins of installed packages (group ``questengine.plugins``).

        An entry point may name a :class:`Plugin`, a module holding one as
        ``plugin``, or a function that fills the Plugin it is given. One that
        cannot be imported or installed is recorded in ``problems``; the rest
        are installed. Returns the names installed.
        """
        if entry_points is None:
            entry_points = importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)
        done = []
        for ep in entry_points:
            name = getattr(ep, "name", str(ep))
            try:
                target = ep.load()
            except (Exception, SystemExit) as err:
                self._record(name, f"could not be imported ({getattr(ep, 'value', '?')}): "
                                   f"{type(err).__name__}: {_first_line(err)}")
                continue
            try:
                plugin = _as_plugin(name, target)
            except (Exception, SystemExit) as err:
                self._record(name, f"could not be set up: {type(err).__name__}: {_first_line(err)}")
                continue
            if self.install(plugin, strict=False):
                done.append(plugin.name)
        return done

    # decorators on the registry: the "notebook" plugin ---------------------------------------

    def kind(self, name: str, **options):
        """Like :meth:`Plugin.kind`, installed at once (raises PluginError if broken)."""
        inner = self._notebook.kind(name, **options)

        def decorate(cls):
            model = inner(cls)
            self.install(self._notebook)
            return model
        return decorate

    def grader(self, kind: str):
        inner = self._notebook.grader(kind)

        def decorate(fn):
            inner(fn)
            self.install(self._notebook)
            return fn
        return decorate

    def badge(self, id: str, name: str, description: str = ""):
        inner = self._notebook.badge(id, name, description)

        def decorate(fn):
            inner(fn)
            self.install(self._notebook)
            return fn
        return decorate

    # what the rest of questengine reads ------------------------------------------------------

    @property
    def kinds(self) -> dict[str, NodeKind]:
        """The plugin kinds installed, by name."""
        return dict(self._kinds)

    def kind_names(self) -> list[str]:
        """Every kind a quest may use here: questengine's, then the plugins'."""
        return [*NODE_KINDS, *self._kinds]

    def badge_rules(self) -> tuple[BadgeRule, ...]:
        return BUILTIN_BADGES + tuple(self._badges.values())

    def quest_model(self) -> type[Quest]:
        """The Quest model whose nodes may be of every installed kind (cached)."""
        with self._lock:
            model = self._models.get("quest")
            if model is None:
                model = self._models["quest"] = self._build_quest_model(self._kinds)
            return model

    def node_adapter(self) -> TypeAdapter:
        """Validates one node of any installed kind (for the builder and the editor)."""
        with self._lock:
            adapter = self._models.get("node")
            if adapter is None:
                adapter = self._models["node"] = TypeAdapter(self._node_union(self._kinds))
            return adapter

    def _node_union(self, kinds: dict[str, NodeKind]) -> Any:
        if not kinds:
            return Node
        return Annotated[Union[tuple(self._union_models(kinds))], Field(discriminator="kind")]

    def _build_quest_model(self, kinds: dict[str, NodeKind]) -> type[Quest]:
        if not kinds:
            model = create_model("Quest", __base__=Quest, __module__=Quest.__module__)
        else:
            model = create_model("Quest", __base__=Quest, __module__=Quest.__module__,
                                 nodes=(list[self._node_union(kinds)], Field(min_length=1)))
        model.plugin_registry = self
        return model

    def node_models(self) -> dict[str, type[BaseModel]]:
        """Every kind's model, questengine's first, then the plugins' (for the editor)."""
        out = {}
        for m in self._union_models(self._kinds):
            out[typing.get_args(m.model_fields["kind"].annotation)[0]] = m
        return out

    def model_for(self, kind: str) -> type[BaseModel]:
        """The model of a kind (built-in or plugin); KeyError listing the kinds if unknown."""
        found = self.node_models().get(kind)
        if found is not None:
            return found
        raise KeyError(f"unknown kind {kind!r}; kinds: {', '.join(self.kind_names())}")

    def kind_info(self, kind: str) -> dict:
        """What an editor's inspector needs to show a kind's form, built-in or plugin.

        ``fields`` lists the kind's own fields (beyond those every node has)
        with their JSON schema; ``schema`` is the model's whole JSON schema.
        """
        model = self.model_for(kind)
        spec = self._kinds.get(kind)
        schema = model.model_json_schema()
        common = set(_NodeBase.model_fields) | {"kind"}
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        fields = [{"name": n, "required": n in required, "schema": props.get(n, {}),
                   "default": f.default if not f.is_required() and f.default_factory is None
                   else None}
                  for n, f in model.model_fields.items() if n not in common]
        return {"kind": kind, "label": spec.label if spec else BUILTIN_LABELS.get(kind, kind),
                "icon": spec.icon if spec else None, "plugin": spec.plugin if spec else None,
                "completes": spec.completes if spec else None,
                "description": spec.description if spec else "", "fields": fields,
                "schema": schema}

    def graph_parts(self, quest: Quest) -> dict:
        """What the graph carries for the engine: the quest's plugin kinds and the badge rules."""
        used = {n.kind for n in quest.nodes}
        return {"kinds": {k: spec for k, spec in self._kinds.items() if k in used},
                "badges": self.badge_rules()}

    def unknown_kinds(self, quest: Quest) -> list[tuple[int, str]]:
        """(index, kind) of nodes whose kind is neither questengine's nor installed here."""
        return [(i, n.kind) for i, n in enumerate(quest.nodes)
                if n.kind not in NODE_KINDS and n.kind not in self._kinds]

    def problems_text(self) -> str:
        return "; ".join(str(p) for p in self.problems)


def _as_plugin(name: str, target: Any) -> Plugin:
    if isinstance(target, Plugin):
        return target
    if isinstance(target, types.ModuleType):
        found = getattr(target, "plugin", None)
        if isinstance(found, Plugin):
            return found
        raise PluginError(f"module {target.__name__} has no 'plugin' (a questengine Plugin)")
    if callable(target):
        plugin = Plugin(name)
        result = target(plugin)
        return result if isinstance(result, Plugin) else plugin
    raise PluginError(f"the entry point names a {type(target).__name__}, not a Plugin, a "
                      "module or a function")


def _first_line(err: BaseException) -> str:
    text = str(err).strip().splitlines()
    return text[0][:300] if text else ""


def installed_registry(*, code: bool = True) -> Registry:
    """A new registry with questengine's ``code`` kind and every installed package's plugins
    (the ``questengine.plugins`` entry points).

    Nothing in questengine keeps a registry for the whole process: build one where a
    program starts (a :class:`~questengine.classroom.Classroom` builds one when given none),
    pass it to the loader and the graph, and every graph carries it (``G.graph["registry"]``).
    """
    registry = Registry(code=code)
    registry.load_entry_points(_installed_entry_points())
    return registry


@functools.lru_cache(maxsize=1)
def _installed_entry_points() -> tuple:
    """The group's entry points, read from the installed packages' metadata once a process
    (a scan of every package: the slow part of a new registry). Registries stay separate."""
    return tuple(importlib.metadata.entry_points(group=ENTRY_POINT_GROUP))


def registry_of(quest: Quest) -> Registry | None:
    """The registry a quest was read with; None for one read without a registry (whose nodes
    are all of questengine's own kinds)."""
    found = getattr(type(quest), "plugin_registry", None)
    return found if isinstance(found, Registry) else None


def graph_registry(G) -> Registry:
    """The registry a quest graph was built with; an error naming the fix if it has none."""
    found = G.graph.get("registry") if hasattr(G, "graph") else None
    if not isinstance(found, Registry):
        raise PluginError("this quest graph carries no plugin registry; build it with "
                          "questengine.graph.quest_graph(quest, registry) (or build_graph), "
                          "not by hand")
    return found
