"""The quest map editor: the map in editable mode beside an inspector, with live checks.

Edits from the map (add, move, connect, delete) and from the inspector go to
a :class:`~questengine.authoring.QuestDraft`; after each one the map and the
list of problems are drawn again. Publishing goes through the teacher's
session; the preview plays the quest in a private in-memory classroom.
"""
from __future__ import annotations

import base64
import os
import typing
from pathlib import Path

import ipywidgets as w

from .. import i18n
from ..authoring import QuestDraft
from ..errors import QuestEngineError
from ..i18n import _
from ..model import Node, Quest
from .forms import model_form
from .language import LanguageProbe
from .login import TeacherLogin, page_style
from .page import Page, classroom_from_env
from .questmap import QuestMap
from .text import plain_html

__all__ = ["EditorPage", "EditorError", "kind_models", "edit"]

KIND_ICONS = {"story": "❦ story", "task": "✎ task", "choice": "⇉ choice", "quiz": "? quiz",
              "gate": "◆ gate", "end": "⚑ end"}


def kind_models(registry=None) -> dict[str, type]:
    """Node kind -> its pydantic model (built-in kinds, then the plugin ``registry``'s kinds)."""
    models = {}
    for member in typing.get_args(typing.get_args(Node)[0]):
        kind = typing.get_args(member.model_fields["kind"].annotation)[0]
        models[kind] = member
    if registry is not None:
        models.update(registry.node_models())
    return models


def _plugin_icons(registry=None) -> dict[str, str]:
    """Plugin kind -> its map icon (an SVG path)."""
    if registry is None:
        return {}
    return {k: spec.icon for k, spec in registry.kinds.items() if spec.icon}


class EditorError(QuestEngineError, TypeError):
    """The editor was given something it cannot use; the message says what it takes."""


def _check_arguments(classroom, quests_dir, session, quest_file) -> None:
    from ..classroom import Classroom, TeacherSession

    if classroom is not None and not isinstance(classroom, Classroom):
        hint = (f" To edit the quest file {str(classroom)!r}, use "
                f"questengine.edit({str(classroom)!r})." if isinstance(classroom, (str, Path))
                else "")
        raise EditorError(f"EditorPage's first argument is the classroom (a "
                          f"questengine.classroom.Classroom, or None), not "
                          f"{type(classroom).__name__} {classroom!r}.{hint}")
    if session is not None and not isinstance(session, TeacherSession):
        raise EditorError(f"the editor's session must be a teacher's (TeacherSession, from "
                          f"Classroom.login_teacher), not {type(session).__name__}")
    folder = Path(quests_dir)
    if folder.exists() and not folder.is_dir():
        raise EditorError(f"quests_dir must be a folder of quest files; {str(folder)!r} is a "
                          f"file: to edit it, use questengine.edit({str(folder)!r})")
    if quest_file is not None:
        path = Path(quest_file)
        if not path.is_file():
            raise EditorError(f"there is no quest file {str(path)!r}"
                              + (f"; the quest files in {str(path.parent)!r}: " + ", ".join(
                                  sorted(p.name for p in path.parent.glob("*.yaml")))
                                  if path.parent.is_dir() else ""))


class EditorPage(Page):
    """The editor as one widget tree (``page.widget``), behind a teacher login.

    ``EditorPage(classroom, quests_dir)``: the served page (a login first, then publish
    to the teacher's classes). ``EditorPage(quest_file=path)`` opens that file, without
    publishing (no classroom); with ``session=`` (a teacher's) it publishes too.
    Wrong arguments are refused with a sentence (:class:`EditorError`).
    """

    def __init__(self, classroom=None, quests_dir: str | Path | None = None, session=None, *,
                 quest_file: str | Path | None = None):
        if quests_dir is None:
            quests_dir = Path(quest_file).parent if quest_file is not None else "quests"
        _check_arguments(classroom, quests_dir, session, quest_file)
        self.classroom = classroom
        # the plugin kinds the editor offers: the classroom's (questengine's own without one)
        self.registry = getattr(classroom, "registry", None)
        self.quests_dir = Path(quests_dir)
        self.session = session
        self.quest_file = Path(quest_file) if quest_file is not None else None
        self.draft: QuestDraft | None = None
        super().__init__()
        # the teacher's saved language (picked in the progress center), else the browser's
        self.probe = LanguageProbe(self._browser_language)
        self.probe.language = i18n.active()
        self.widget = w.VBox([page_style(), self.probe])
        self.widget.add_class("qe-page")
        self.widget.add_class("qe-editor")
        if session is not None or classroom is None:
            self._build()
        else:
            self.login = TeacherLogin(classroom, self._logged_in)
            self.widget.children = [self.widget.children[0], self.login.widget, self.probe]

    def _browser_language(self, code: str) -> None:
        """The browser's preference, unless the teacher saved a language: the login form, or
        the editor with the draft as it is, is drawn again in it."""
        if code == i18n.active():
            return
        if self.session is not None and getattr(self.session, "language", None):
            return
        i18n.activate(code)
        self.probe.language = code
        if getattr(self, "tabs", None) is not None and self.draft is not None:
            draft, name = self.draft, self.save_as.value
            self._build(open_file=False)
            self.draft, self.save_as.value = draft, name
            self._redraw()
            self._show_inspector()
        elif getattr(self, "login", None) is not None and self.session is None:
            self.login = TeacherLogin(self.classroom, self._logged_in)
            self.widget.children = [self.widget.children[0], self.login.widget, self.probe]

    @classmethod
    def from_env(cls) -> "EditorPage":
        return cls(classroom_from_env(), os.environ.get("QUESTENGINE_QUESTS", "quests"))

    def _logged_in(self, session) -> None:
        from ..classroom import TeacherSession

        if not isinstance(session, TeacherSession):
            self.login.show_error(_("This page is for teachers. Students play on the play page."))
            return
        self.session = session
        self._session_began()
        saved = getattr(session, "language", None)
        if saved:
            i18n.activate(saved)
            self.probe.language = saved
        self._build()

    def _logout(self) -> None:
        """Back to the login form; the draft and the teacher's widgets are forgotten."""
        if self.session is not None:
            from .login import friendly_call

            friendly_call(self.session.logout, self.flash)
        self.session, self.draft = None, None
        self._close_session_widgets(keep=(self.widget, self.widget.children[0], self.banner,
                                          self.probe,
                                          *self._login_widgets()))
        self.tabs = None
        self.widget.children = [self.widget.children[0], self.login.widget, self.probe]
        self.login.clear()

    def _login_widgets(self) -> tuple:
        login = getattr(self, "login", None)
        if login is None:
            return ()
        out, stack = [], [login.widget]
        while stack:
            x = stack.pop()
            out.append(x)
            stack.extend(getattr(x, "children", ()))
            out.extend(v for v in (getattr(x, "layout", None), getattr(x, "style", None)) if v)
        return tuple(out)

    # layout ------------------------------------------------------------------------------------------

    def _build(self, open_file: bool = True) -> None:
        files = sorted(p.name for p in self.quests_dir.glob("*.yaml")) if self.quests_dir.is_dir() else []
        self.file_pick = w.Dropdown(options=files, description=_("Quest file"),
                                    layout=w.Layout(width="330px"))
        open_b = self._button(_("Open"), self._open_selected, "qe-open")
        self.new_id = w.Text(placeholder=_("new-quest-id"), layout=w.Layout(width="160px"))
        new_b = self._button(_("New"), self._new, "qe-new")
        self.save_as = w.Text(placeholder=_("my-quest.yaml"), layout=w.Layout(width="230px"))
        self.save_as.add_class("qe-save-as")
        save_b = self._button("💾 " + _("Save"), self._save, "qe-save", "success")
        self.undo_b = self._button("↶ " + _("Undo"), self._undo, "qe-undo")
        self.redo_b = self._button("↷ " + _("Redo"), self._redo, "qe-redo")
        layout_b = self._button(_("Auto-layout"), self._auto_layout, "qe-layout")
        fit_b = self._button(_("Fit"), lambda: self.map.fit(), "qe-fit")
        self.kind = w.ToggleButtons(options=[(KIND_ICONS.get(k, k), k) for k in kind_models(self.registry)],
                                    value="story", description=_("Click the map to add:"),
                                    style={"description_width": "initial", "button_width": "78px"},
                                    layout=w.Layout(width="100%"))
        self.kind.add_class("qe-kind-palette")
        self.map = QuestMap(editable=True, height=520, layout=w.Layout(width="100%"))
        self.map.on_edit(self._on_edit)
        self.map.observe(lambda _c: self._show_inspector(), names=["selected", "selected_edge"])
        self.inspector = w.VBox(layout=w.Layout(width="38%", min_width="340px"))
        self.inspector.add_class("qe-panel")
        self.inspector.add_class("qe-inspector")
        self.problems_box = w.VBox()
        self.problems_box.add_class("qe-problems")
        self.quest_box = w.VBox()
        publish = self._publish_row()
        files_row = w.HBox([self.file_pick, open_b, self.new_id, new_b],
                           layout=w.Layout(flex_flow="row wrap", align_items="center"))
        edit_row = w.HBox([self.save_as, save_b, self.undo_b, self.redo_b, layout_b, fit_b],
                          layout=w.Layout(flex_flow="row wrap", align_items="center"))
        if self.session is not None and self.classroom is not None:
            edit_row.children = [*edit_row.children, self._button(_("Log out"), self._logout,
                                                                   "qe-logout")]
        # the palette sits on the map's own box: clicking a kind never scrolls the map away
        board = w.VBox([self.kind, self.map], layout=w.Layout(width="60%", flex="1 1 60%"))
        board.add_class("qe-board")
        self.inspector.layout.overflow_x = "hidden"
        editor = w.VBox([files_row, edit_row, self.banner,
                         w.HBox([board, self.inspector]), self.problems_box])
        settings = w.Accordion([self.quest_box])
        settings.set_title(0, _("Quest settings (title, story, competencies, theme)"))
        settings.selected_index = None
        self.preview_box = w.VBox([w.HTML("<p>" + _(
            "Press <em>Preview</em> to play the quest as a student. Nothing is written to any "
            "class.") + "</p>")])
        self.tabs = w.Tab([w.VBox([editor, settings, publish]), self.preview_box])
        self.tabs.set_title(0, _("Edit"))
        self.tabs.set_title(1, _("Preview"))
        self.widget.children = [self.widget.children[0], self.tabs, self.probe]
        if not open_file:
            return
        if self.quest_file is not None:
            self._open(self.quest_file)
        elif files:
            self._open(self.quests_dir / files[0])
        else:
            self.draft = QuestDraft.new("my-quest", "My quest", self.registry)
            self._redraw()

    def _button(self, label, fn, cls="", style=""):
        b = w.Button(description=label, button_style=style, layout=w.Layout(width="auto"))
        b.add_class(cls)
        b.on_click(lambda _b: fn())
        return b

    def _publish_row(self) -> w.Widget:
        preview = self._button("▶ " + _("Preview"), self._preview, "qe-preview")
        if self.session is None:
            return w.HBox([preview])
        classes = self._call(self.session.classes) or []
        self.class_pick = w.Dropdown(options=[(f"{c['name']} ({c['code']})", c["code"])
                                              for c in classes], description=_("Class"))
        publish = self._button(_("Publish to class"), self._publish, "qe-publish", "warning")
        self.confirm_box = w.VBox()
        self.confirm_box.add_class("qe-publish-confirm-box")
        return w.VBox([w.HBox([self.class_pick, publish, preview]), self.confirm_box])

    # opening and saving -------------------------------------------------------------------------------

    def _open_selected(self) -> None:
        if self.file_pick.value:
            self._open(self.quests_dir / self.file_pick.value)

    def open(self, path: str | Path) -> None:
        self._open(Path(path))

    def _open(self, path: Path) -> None:
        draft = self._call(QuestDraft.open, path, self.registry)
        if draft is not None:
            self.draft = draft
            self.save_as.value = path.name
            if path.resolve().parent == self.quests_dir.resolve():
                self._refresh_files(path.name)  # the dropdown names the file that is open
            self.map.selected, self.map.selected_edge = "", -1
            self._redraw(fit=True)
            self._show_inspector()
            self.flash(_("Opened {file}.").format(file=path.name), "info")

    def _new(self) -> None:
        quest_id = (self.new_id.value or "").strip() or "my-quest"
        self.draft = QuestDraft.new(quest_id, quest_id.replace("-", " ").title(), self.registry)
        self.save_as.value = f"{quest_id}.yaml"
        self.map.selected, self.map.selected_edge = "", -1
        self._redraw(fit=True)
        self._show_inspector()
        self.flash(_("New quest {quest}: pick a kind above and click the map to add "
                     "steps.").format(quest=quest_id), "info")

    def _save(self) -> None:
        name = (self.save_as.value or "").strip()
        if not name:
            self.flash(_("Type a file name to save to, e.g. my-quest.yaml."))
            return
        target = self._quest_file(name)
        if target is None:
            return
        path = self._call(self.draft.save, target)
        if path is not None:
            left = len(self.draft.problems())
            self.flash(_("Saved to {path}.").format(path=path) + (" " + _(
                "{n} problem(s) are left to fix before students can play it.").format(n=left)
                if left else ""), "info")
            self._refresh_files(target.name)

    def _quest_file(self, name: str) -> Path | None:
        """A file in the quests folder for a name the teacher typed (the box is browser input)."""
        folder = self.quests_dir.resolve()
        target = (folder / name).resolve()
        if target.parent != folder:
            self.flash(_("Quests are saved in the quests folder: type a file name like "
                         "my-quest.yaml, not {name}.").format(name=repr(name)))
            return None
        if target.suffix.lower() not in (".yaml", ".yml", ".json"):
            self.flash(_("A quest file name ends in .yaml (or .json); {name} does "
                         "not.").format(name=repr(name)))
            return None
        return target

    def _refresh_files(self, selected: str | None = None) -> None:
        files = sorted(p.name for p in self.quests_dir.glob("*.yaml")) if self.quests_dir.is_dir() else []
        self.file_pick.options = files
        if selected in files:
            self.file_pick.value = selected

    # edits ---------------------------------------------------------------------------------------------

    def _edit(self, fn, *args, **kwargs):
        result = self._call(fn, *args, **kwargs)
        self._redraw()
        return result

    def _on_edit(self, msg: dict) -> None:
        kind = msg.get("type")
        if kind == "add":
            new = self._edit(self.draft.add_node, self.kind.value, msg.get("x", 0), msg.get("y", 0))
            if new:
                self.map.selected = new
        elif kind == "move":
            self._edit(self.draft.move_node, msg.get("id"), msg.get("x", 0), msg.get("y", 0))
        elif kind == "connect":
            index = self._edit(self.draft.connect, msg.get("source"), msg.get("target"))
            if index is not None:
                self.map.selected, self.map.selected_edge = "", index
        elif kind == "delete":
            self._delete_selection()

    def _delete_selection(self) -> None:
        if self.map.selected_edge >= 0:
            self._edit(self.draft.delete_edge, self.map.selected_edge)
            self.map.selected_edge = -1
        elif self.map.selected:
            self._edit(self.draft.delete_node, self.map.selected)
            self.map.selected = ""
        self._show_inspector()

    def _undo(self) -> None:
        self.draft.undo()
        self._redraw()
        self._show_inspector()

    def _redo(self) -> None:
        self.draft.redo()
        self._redraw()
        self._show_inspector()

    def _auto_layout(self) -> None:
        self._edit(self.draft.auto_layout)
        self.map.fit()

    # drawing ---------------------------------------------------------------------------------------------

    def _redraw(self, fit: bool = False) -> None:
        d = self.draft
        positions = d.positions()
        problems = d.problems()
        bad = {n for p in problems for n in p.nodes}
        icons = _plugin_icons(self.registry)
        nodes = []
        for n in d.data["nodes"]:
            x, y = positions.get(n.get("id"), (0, 0))
            nodes.append({"id": n.get("id"), "title": str(n.get("title") or n.get("id")),
                          "kind": n.get("kind"), "x": float(x), "y": float(y),
                          "state": "problem" if n.get("id") in bad else "draft",
                          "sub": n.get("kind", ""),
                          "info": "; ".join(p.translated(_) for p in problems
                                            if n.get("id") in p.nodes)
                          or _("{kind} · drag to move, drag the dot to connect").format(
                              kind=n.get("kind"))})
            if icons.get(n.get("kind")):
                nodes[-1]["icon"] = icons[n.get("kind")]
        edges = [{"source": e["from"], "target": e["to"], "when": e["when"], "index": i}
                 for i, e in enumerate(d.edges)]
        with self.map.hold_sync():
            self.map.nodes = nodes
            self.map.edges = edges
            self.map.background = _background(d, self.quests_dir)
        if fit:
            self.map.fit()
        self.undo_b.disabled = not d.can_undo
        self.redo_b.disabled = not d.can_redo
        self._show_problems(problems)
        self._show_quest_settings()

    def _show_problems(self, problems) -> None:
        if not problems:
            self.problems_box.children = [w.HTML("<div class='qe-ok'>✓ " + _text(_(
                "No problems: students can play this quest.")) + "</div>")]
            return
        count = _text(_("{n} problem(s)").format(n=len(problems)))
        rows = [w.HTML(f"<strong>{count}</strong> — "
                       + _text(_("click one to select its node")))]
        for p in problems:
            where = self._where(p.path)
            message = p.translated(_)
            if where and where in message:  # the sentence names the step already
                where = ""
            b = w.Button(description=(f"{where}: " if where else "") + message,
                         layout=w.Layout(width="100%", height="auto"))
            b.add_class("qe-problem")
            if p.nodes:
                b.on_click(lambda _b, n=p.nodes[0]: self._select(n))
            rows.append(b)
        self.problems_box.children = rows

    def _where(self, path: str) -> str:
        """A key path (``nodes[3].threshold``, ``edges[2]``) in the teacher's words."""
        import re

        d = self.draft
        m = re.match(r"nodes\[(\d+)\](?:\.(.*))?$", path or "")
        if m and int(m.group(1)) < len(d.data["nodes"]):
            title = d.title_of(d.data["nodes"][int(m.group(1))].get("id"))
            return f"“{title}”" + (f" · {m.group(2)}" if m.group(2) else "")
        m = re.match(r"edges\[(\d+)\]", path or "")
        if m and int(m.group(1)) < len(d.edges):
            e = d.edges[int(m.group(1))]
            return _("path “{source}” → “{target}”").format(source=d.title_of(e["from"]),
                                                            target=d.title_of(e["to"]))
        return path or ""

    def _select(self, node_id: str) -> None:
        if node_id in self.draft.node_ids():
            self.map.selected_edge = -1
            self.map.selected = node_id

    def _show_inspector(self) -> None:
        d = self.draft
        if self.map.selected_edge >= 0 and self.map.selected_edge < len(d.edges):
            self.inspector.children = self._edge_form(self.map.selected_edge)
            return
        n = self.map.selected
        if not n or n not in d.node_ids():
            self.inspector.children = [w.HTML(
                "<p class='qe-hint'><strong>" + _text(_("How to edit:")) + "</strong> "
                + _text(_("pick a kind above and click the map to add a node; drag a node "
                               "to move it; drag from the dot on a node's right to another node "
                               "to connect them; click a path to choose its condition; Delete "
                               "removes what is selected.")) + "</p>")]
            return
        node = d.node(n)
        model = kind_models(self.registry).get(node.get("kind"))
        if model is None:
            self.inspector.children = [w.HTML("<p>" + _text(_("Unknown kind {kind}.").format(
                kind=node.get("kind"))) + "</p>")]
            return
        comps = [c.get("id") for c in d.data.get("competencies", []) if isinstance(c, dict)]

        def changed(field, value):
            self._edit(d.update_node, n, **{field: value})
            if field == "id" and value:
                self.map.selected = value

        form = model_form(model, node, changed, choices={"competencies": comps})
        _fit_width(form)
        delete = self._button(_("Delete node"), self._delete_selection, "qe-delete", "danger")
        self.inspector.children = [w.HTML(f"<div class='qe-kind'>{plain_html(node.get('kind'))}"
                                          f"</div><h2>{plain_html(str(node.get('title')))}</h2>"),
                                   form, delete]

    def _edge_form(self, index: int) -> list[w.Widget]:
        e = self.draft.edges[index]
        when = w.Dropdown(options=[(_("done (either outcome)"), "done"),
                                   (_("on success"), "success"), (_("on fail"), "fail"),
                                   (_("retry (back to its gate)"), "retry")],
                          value=e["when"], description=_("Condition"))
        when.add_class("qe-edge-when")
        when.observe(lambda ch: self._edit(self.draft.set_condition, index, ch["new"]),
                     names="value")
        delete = self._button(_("Delete path"), self._delete_selection, "qe-delete", "danger")
        d = self.draft
        path_word = _text(_("path"))
        return [w.HTML(f"<div class='qe-kind'>{path_word}</div><h2 data-source='{plain_html(e['from'])}' "
                       f"data-target='{plain_html(e['to'])}'>{plain_html(d.title_of(e['from']))} → "
                       f"{plain_html(d.title_of(e['to']))}</h2>"), when, delete]

    def _show_quest_settings(self) -> None:
        d = self.draft

        def changed(field, value):
            self._edit(d.update_quest, **{field: value})

        keep = {"id", "title", "story", "description", "theme", "competencies", "version"}
        skip = {k for k in Quest.model_fields if k not in keep}
        self.quest_box.children = [model_form(Quest, d.data, changed, skip=skip)]

    # publishing and preview ---------------------------------------------------------------------------

    def _publish(self) -> None:
        """First step of publishing: check, then show what students will see and ask."""
        quest = self._call(self.draft.quest)
        if quest is None:
            return
        problems = self.draft.problems()
        if problems:
            self.flash(_("Not published: {n} problem(s) to fix first (listed under the map). "
                         "Students cannot play the quest as it is.").format(n=len(problems)))
            return
        steps = "".join(f"<li>{plain_html(n.title)} <span class='qe-hint'>({plain_html(n.kind)})"
                        f"</span></li>" for n in quest.nodes)
        self.confirm_box.children = [
            w.HTML("<div class='qe-confirm-text'><strong>" + _text(_(
                "Publish “{quest}” to class {code}?").format(
                    quest=quest.title, code=str(self.class_pick.value))) + "</strong> "
                + _text(_("Its students will see these {n} steps on their map:").format(
                    n=len(quest.nodes)))
                + f"<ol>{steps}</ol></div>"),
            w.HBox([self._button(_("Yes, publish"), self._publish_confirmed, "qe-publish-confirm",
                                 "warning"),
                    self._button(_("Cancel"), self._publish_cancel, "qe-publish-cancel")])]

    def _publish_cancel(self) -> None:
        self.confirm_box.children = []

    def _publish_confirmed(self) -> None:
        self.confirm_box.children = []
        quest = self._call(self.draft.quest)
        if quest is None:
            return
        try:
            version = self.session.publish(quest)
            self.session.assign(quest.id, self.class_pick.value)
        except QuestEngineError as err:
            self.flash(err.translated(_))
            return
        self.flash(_("Published “{quest}” as version {version} to class {code}.").format(
            quest=quest.title, version=version, code=self.class_pick.value), "info")

    def _preview(self) -> None:
        quest = self._call(self.draft.quest)
        if quest is None:
            return
        try:
            from argon2 import PasswordHasher

            from ..classroom import Classroom
            from .play import PlayPage

            sandbox = Classroom(":memory:", hasher=PasswordHasher(time_cost=1, memory_cost=8,
                                                                  parallelism=1),
                                registry=self.registry)  # the editor's kinds
            owner = sandbox.add_teacher("preview@questengine.invalid", "Preview", "preview-only")
            code = sandbox.create_class("preview@questengine.invalid", "Preview", "PREVIEW")
            sandbox.publish(quest, by=owner)
            sandbox.assign(quest.id, code)
            sandbox.add_student(code, "Preview student", "0000")
            page = PlayPage(sandbox)
            page.start(sandbox.login_student(code, "Preview student", "0000"))
        except QuestEngineError as err:
            self.flash(_("The quest cannot be previewed yet: {error}").format(
                error=err.translated(_)))
            return
        self.preview_box.children = [w.HTML("<p class='qe-info'>" + _text(_(
            "Preview: a private classroom in memory; nothing is saved.")) + "</p>"), page.widget]
        self.tabs.selected_index = 1


def _text(text: str) -> str:
    """Interface text inside an element (escaped; apostrophes kept as typed)."""
    import html

    return html.escape(str(text), quote=False).replace("\n", "<br>")


def _fit_width(root: w.Widget) -> None:
    """Keep every field of a form inside its panel (no input past the right edge)."""
    stack = [root]
    while stack:
        x = stack.pop()
        if isinstance(x, w.DOMWidget):
            x.layout.max_width = "100%"
            if isinstance(x, (w.Text, w.Textarea, w.Dropdown, w.BoundedFloatText,
                              w.BoundedIntText, w.FloatText, w.IntText, w.SelectMultiple)):
                x.layout.width = "auto"
        stack.extend(getattr(x, "children", ()))


def _background(draft: QuestDraft, quests_dir: Path) -> str:
    """The quest's theme image as a data URL (no server route needed), or ''."""
    theme = draft.data.get("theme")
    if not theme:
        return ""
    base = draft.path.parent if draft.path else quests_dir
    path = (base / str(theme)).resolve()
    if not path.is_file() or path.stat().st_size > 2_000_000:
        return ""
    mime = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
            ".svg": "image/svg+xml", ".webp": "image/webp"}.get(path.suffix.lower())
    if mime is None:
        return ""
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def edit(path: str | Path, *, session=None, classroom=None) -> EditorPage:
    """The editor for one quest file, to show in a notebook (JupyterLab).

    ``questengine.edit("quests/water-cycle.yaml")`` edits and saves the file; with a
    teacher's ``session`` (or a ``classroom`` to log in to) it can publish too.
    """
    if isinstance(path, (str, Path)) and not Path(path).is_file():
        folder = Path(path).parent
        choices = sorted(p.name for p in folder.glob("*.yaml")) if folder.is_dir() else []
        raise EditorError(f"there is no quest file {str(path)!r}" + (
            f"; the quest files in {str(folder)!r}: {', '.join(choices)}" if choices else ""))
    if not isinstance(path, (str, Path)):
        raise EditorError(f"questengine.edit takes the path of a quest file, not "
                          f"{type(path).__name__}")
    return EditorPage(classroom, session=session, quest_file=path)
