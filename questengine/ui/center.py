"""The teacher's progress center: where every student stands, who struggles and why,
and the review queue.

Every figure comes from :class:`~questengine.classroom.TeacherSession`, which
checks that the class is the teacher's and reads SQL aggregates
(``questengine.center``). Student text is shown as sanitized markdown.
"""
from __future__ import annotations

import base64
import io
import logging

import anywidget
import ipywidgets as w
import traitlets

from ..accommodations import Accommodations
from .. import i18n
from ..center import StruggleRules
from ..i18n import N_, _, ngettext
from .login import TeacherLogin, friendly_call, page_style
from .page import Page, classroom_from_env
from .play import STATE_WORDS
from .media import Chart, submission_files_view
from .language import LanguageProbe, language_picker
from .palette import INK, STATE_COLOURS as PALETTE, STATE_MARKS as PALETTE_MARKS
from .questmap import FRONT_END, QuestMap
from .text import markdown_html, plain_html

log = logging.getLogger("questengine.ui")

__all__ = ["CenterPage", "ClickTable", "ZoneProbe", "chart_png", "local_time",
           "suggested_message"]

TEACHER_GRID_STATES = ("locked", "available", "in_progress", "pending_review", "returned",
                       "success", "fail", "closed")

#: the grid's cell colours and symbols: the states' colours (palette.py, WCAG 1.4.11 checked by
#: tests/test_palette.py), a symbol in each cell so the colour is never the only sign (WCAG
#: 1.4.1) in a text colour with at least 4.5:1 contrast on the cell; "" (not started) is blank
STATE_COLOURS = {st: PALETTE[st] for st in TEACHER_GRID_STATES} | {"": "#ffffff"}
STATE_MARKS = {st: (PALETTE_MARKS[st], INK) for st in TEACHER_GRID_STATES} | {"": ("", "#202124")}
# English here (marked for the catalog with N_); shown through _() in the teacher's language
DECISION_WORDS = {"approve": N_("approved"), "fail": N_("marked not yet"),
                  "return": N_("returned")}
TEACHER_STATE_WORDS = {"locked": N_("locked"), "available": N_("open"),
                       "in_progress": N_("in progress"),
                       "pending_review": N_("waiting for your review"),
                       "returned": N_("returned for revision"), "success": N_("done"),
                       "fail": N_("not passed"), "closed": N_("closed (path not needed)"),
                       "": N_("not started")}


def _decision(decision: str) -> str:
    return _(DECISION_WORDS[decision]) if decision in DECISION_WORDS else decision


def _state(state: str) -> str:
    return _(TEACHER_STATE_WORDS[state]) if state in TEACHER_STATE_WORDS else state


def local_time(iso: str, zone=None) -> str:
    """An ISO time as the teacher reads it: in ``zone`` (a ZoneInfo: the teacher's, as their
    browser reports it), else in the machine's own time zone, with the zone named.

    >>> from zoneinfo import ZoneInfo
    >>> local_time("2024-09-10T08:30:00+00:00", ZoneInfo("America/Chicago"))
    '2024-09-10 03:30 CDT'
    >>> local_time("2024-09-10T08:30:00+00:00", ZoneInfo("Asia/Tokyo"))
    '2024-09-10 17:30 JST'
    >>> import os, time
    >>> before = os.environ.get("TZ")
    >>> os.environ["TZ"] = "Europe/Paris"; time.tzset()
    >>> local_time("2024-09-10T08:30:00+00:00")
    '2024-09-10 10:30 CEST'
    >>> _ = os.environ.pop("TZ") if before is None else os.environ.update(TZ=before)
    >>> time.tzset()
    """
    from datetime import datetime, timezone

    try:
        when = datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return str(iso)
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def _text(text: str) -> str:
    """Interface text inside an element (escaped; apostrophes kept as typed)."""
    import html

    return html.escape(str(text), quote=False).replace("\n", "<br>")


def _html(text: str, cls: str = "") -> w.HTML:
    widget = w.HTML(text)
    for c in cls.split():
        widget.add_class(c)
    return widget


def _button(label, on_click, style="", cls="", tooltip=""):
    b = w.Button(description=label, button_style=style, tooltip=tooltip,
                 layout=w.Layout(width="auto", min_width="110px"))
    b.on_click(lambda _b: on_click())
    for c in cls.split():
        b.add_class(c)
    return b


def _download(label: str, filename: str, data: str, mime: str) -> str:
    b64 = base64.b64encode(data.encode("utf-8")).decode("ascii")
    return (f"<a class='qe-download' download='{plain_html(filename)}' "
            f"href='data:{mime};charset=utf-8;base64,{b64}'>⬇ {plain_html(label)}</a>")


def chart_png(kind: str, data) -> bytes:
    """A small chart as PNG bytes, drawn with matplotlib (offline, no browser code)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.2), dpi=96)
    if kind == "states":  # data: list of (title, NodeCounts)
        titles = [t if len(t) < 16 else t[:15] + "…" for t, _ in data]
        bottom = [0] * len(data)
        for label, attr, colour in ((_("done"), "success", PALETTE["success"]),
                                    (_("not passed"), "fail", PALETTE["fail"]),
                                    (_("there now"), "here", PALETTE["available"]),
                                    (_("not reached"), "not_reached", PALETTE["locked"])):
            values = [getattr(c, attr) for _, c in data]
            ax.bar(titles, values, bottom=bottom, color=colour, label=label)
            bottom = [b + v for b, v in zip(bottom, values)]
        ax.set_ylabel(_("students"))
        ax.legend(ncol=4, fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    else:  # mastery: data: list of values in [0, 1]
        ax.hist([round(100 * v) for v in data], bins=[0, 20, 40, 60, 80, 101], color="#1a73e8",
                edgecolor="white")
        ax.set_xlabel(_("mastery (%)"))
        ax.set_ylabel(_("student × skill"))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


class ClickTable(anywidget.AnyWidget):
    """HTML made here (escaped), whose ``<button data-pick=ID>`` report ``picked`` when
    clicked. The browser can set ``picked`` to anything: it only chooses what to show,
    and the service checks that the student is the teacher's."""

    _esm = FRONT_END / "clicktable.js"
    html = traitlets.Unicode("").tag(sync=True)
    picked = traitlets.Int(0).tag(sync=True)
    clicks = traitlets.Int(0).tag(sync=True)


class ZoneProbe(anywidget.AnyWidget):
    """Reports the browser's time zone (``Intl``'s IANA name) to ``on_zone(name)``, once.
    Only how times are shown depends on it: the service checks the name."""

    _esm = FRONT_END / "zone.js"

    def __init__(self, on_zone, **kwargs):
        super().__init__(**kwargs)
        self._on_zone = on_zone
        self.on_msg(self._msg)

    def _msg(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "zone":
            self._on_zone(str(content.get("zone") or "")[:80])


def suggested_message(s, step: str) -> str:
    """What a teacher might write to a struggling student (``s``, a center.Struggle), from
    the card's help line, addressed to the student; the teacher edits it before sending."""
    first = (s.name or "").split(" ")[0]
    if s.kind == "fails" and s.attempts_left == 0:
        text = _("I saw that “{step}” was hard. Let's go over it together, then you can "
                 "try again.")
    elif s.kind == "fails":
        text = _("Keep going with “{step}”: the extra practice may help. Ask me if you "
                 "are stuck.")
    elif s.kind == "stuck" and s.help == _("Read the feedback with them: the work is waiting "
                                             "for their revision."):
        text = _("Your work on “{step}” is waiting for you: read my feedback, then send a "
                 "new version.")
    elif s.kind == "stuck":
        text = _("You have been on “{step}” for a while. What is in the way? Tell me and "
                 "I will help.")
    elif s.kind == "returned":
        text = _("About “{step}”: come and see an example of finished work with me, then "
                 "send yours again.")
    elif s.kind == "mastery":
        text = _("The extra practice on this skill may help. Ask me if you want to work on "
                 "it together.")
    else:
        text = _("I have not seen you on your quests for a while. Where are you? Tell me "
                 "if something is in the way.")
    return _("Hi {name},").format(name=first) + " " + text.format(step=step)


class CenterPage(Page):
    """The progress center as one widget tree (``page.widget``), behind a teacher login."""

    def __init__(self, classroom, lazy: bool = False):
        self.classroom = classroom
        self.session = None
        self.rules = StruggleRules()
        self.lazy = lazy  # tabs drawn when opened (the served page), not all at login
        super().__init__()
        # a teacher's saved language (the picker at the top), else the browser's preference
        self._browser: str | None = None
        self.probe = LanguageProbe(self._browser_language)
        self.probe.language = i18n.active()
        # the browser's time zone: every time the center shows is in it (issue 16)
        self.browser_zone = ""
        self.zone_probe = ZoneProbe(self._browser_zone)
        self.login = TeacherLogin(classroom, self.open)
        self._note = (self._student_note(),)
        self.widget = w.VBox([page_style(), self.login.widget, *self._note, self.probe,
                              self.zone_probe])
        self.widget.add_class("qe-page")
        self.widget.add_class("qe-center")

    @classmethod
    def from_env(cls) -> "CenterPage":
        page = cls(classroom_from_env(), lazy=True)
        page.warm()
        page.sign_in_hub_user(page.classroom, "teacher", page.open)  # behind JupyterHub
        return page

    def warm(self) -> None:
        """Do now what the first login would wait for (a preheated kernel runs this before
        anyone opens the page): read every published quest, import matplotlib and draw one
        chart, import the modules the open center uses."""
        from ..graph import map_layout
        from . import family_panel, media  # noqa: F401

        try:
            for quest_id in self.classroom.store.published_quest_ids():
                map_layout(self.classroom.graph(quest_id))
            chart_png("mastery", [0.5])
        except Exception:  # a quest that cannot be read now says so when it is opened
            log.info("warming the progress center's caches failed", exc_info=True)

    # language --------------------------------------------------------------------------------------

    @staticmethod
    def _student_note() -> w.HTML:
        return _html("<p class='qe-hint' style='text-align:center'>" + plain_html(
            _("Students: your page is the play page, not this one.")) + "</p>")

    def _browser_language(self, code: str) -> None:
        """The browser's preference: the login form is redrawn in it; an open center is
        rebuilt in it unless the teacher saved a language of their own."""
        self._browser = code
        if self.session is not None and self.session.language:
            return
        self._redraw_in(code)

    def _pick_language(self, code: str) -> None:
        """The teacher's choice in the picker: saved for them, the center rebuilt in it."""
        if self.session is None or self._call(self.session.set_language, code) is None:
            return
        self._redraw_in(code)

    def _redraw_in(self, code: str) -> None:
        if code == i18n.active():
            return
        i18n.activate(code)
        self.probe.language = code
        if self.session is None:
            self.login = TeacherLogin(self.classroom, self.open)
            self._note = (self._student_note(),)
            self.widget.children = [self.widget.children[0], self.login.widget, *self._note,
                                    self.probe, self.zone_probe]
        else:  # the same session: what it made is still closed at logout
            before = self._before_session
            self.open(self.session)
            self._before_session = before

    # time zone ------------------------------------------------------------------------------------

    def _browser_zone(self, name: str) -> None:
        """The browser's time zone: kept for the session; an open center is redrawn in it."""
        if not name or name == self.browser_zone:
            return
        self.browser_zone = name
        if self.session is not None and self._use_zone() and hasattr(self, "tabs"):
            self.refresh()

    def _use_zone(self) -> bool:
        if not self.browser_zone or self.session is None:
            return False
        before = self.session.time_zone
        zone = friendly_call(self.session.set_time_zone, lambda _t: None, self.browser_zone)
        return zone is not None and zone != before

    def when(self, iso: str | None) -> str:
        """A stored time (UTC ISO) as this teacher reads it: in their browser's time zone."""
        if not iso:
            return ""
        return local_time(iso, getattr(self.session, "time_zone", None))

    # opening ---------------------------------------------------------------------------------------

    def open(self, session) -> None:
        """Show the center for a teacher session; anything else is refused in a sentence."""
        from ..classroom import TeacherSession

        if not isinstance(session, TeacherSession):
            self.login.show_error(_("This page is for teachers. Students play on the play page."))
            return
        self.session = session
        self._session_began()
        saved = self._call(lambda: session.language)
        if saved and saved != i18n.active():  # the teacher's own choice, kept in the store
            i18n.activate(saved)
            self.probe.language = saved
        self._use_zone()
        classes = self._call(session.classes) or []
        if not classes:
            self.widget.children = [self.widget.children[0], _html(
                "<div class='qe-info'>" + _("You have no class yet. Create one with "
                                            "<code>questengine class create</code>.") + "</div>"),
                self.probe, self.zone_probe]
            return
        self.class_pick = w.Dropdown(options=[(f"{c['name']} ({c['code']})", c["code"])
                                              for c in classes], description=_("Class"))
        self.quest_pick = w.Dropdown(description=_("Quest"))
        self.class_pick.observe(lambda _c: self._class_changed(), names="value")
        self.quest_pick.observe(lambda _c: self.refresh(), names="value")
        refresh = _button("↻ " + _("Refresh"), self.refresh, cls="qe-refresh")
        logout = _button(_("Log out"), self._logout, cls="qe-logout")
        hello = _text(_("{name}'s progress center").format(name=session.name))
        self.language_pick = language_picker(i18n.active(), self._pick_language)
        top = w.HBox([_html(f"<div class='qe-hello'>{hello}</div>"), self.class_pick,
                      self.quest_pick, refresh, self.language_pick, logout],
                     layout=w.Layout(align_items="center", flex_flow="row wrap"))
        top.add_class("qe-top")
        self.map = QuestMap(height=420, layout=w.Layout(width="100%"))
        self.map.observe(lambda _c: self._show_node_detail(), names="selected")
        self.node_detail = _html("", "qe-node-detail")
        self.states_chart = Chart(layout=w.Layout(max_width="800px"))
        self.grid_box, self.queue_box, self.struggle_box = w.VBox(), w.VBox(), w.VBox()
        self.mastery_box, self.modality_box, self.override_box = w.VBox(), w.VBox(), w.VBox()
        self.export_box, self.student_box = w.VBox(), w.VBox()
        from .family_panel import FamilyPanel  # issue 18: codes, approvals, notes

        self.family_panel = FamilyPanel(session, self.flash)
        boxes = [w.VBox([self.map, self.node_detail, self.states_chart]), self.grid_box,
                 self.queue_box, self.struggle_box, self.mastery_box, self.modality_box,
                 self.override_box, self.export_box, self.family_panel.widget]
        # each tab's messages show in that tab, beside the work; a new tab starts clean
        self.notes = {i: _html("", "qe-tab-note") for i in range(len(boxes))}
        self.tabs = w.Tab([w.VBox([self.notes[i], box]) for i, box in enumerate(boxes)])
        for i, name in enumerate([_("Class map"), _("Students"), _("Review queue"),
                                  _("Struggling"), _("Mastery & groups"), _("Modalities"),
                                  _("Overrides"), _("Exports"), _("Families")]):
            self.tabs.set_title(i, name)
        self.tabs.observe(self._tab_opened, names="selected_index")
        self.widget.children = [self.widget.children[0], top, self.banner, self.tabs, self.probe,
                                self.zone_probe]
        self._class_changed()

    def flash(self, text: str, kind: str = "error", near: int | None = None) -> None:
        """A message beside the teacher's work: in the open tab (or tab ``near``), as a
        sentence (capitalised, no stray spaces); the banner only before the tabs exist."""
        text = str(text).strip()
        text = text[:1].upper() + text[1:]
        notes = getattr(self, "notes", None)
        if not notes or self.session is None:
            super().flash(text, kind)
            return
        index = self.tabs.selected_index if near is None else near
        role = "alert" if kind == "error" else "status"
        self.banner.value = ""
        notes[index or 0].value = (f"<div class='qe-flash qe-flash-{kind}' role='{role}'>"
                                   f"{plain_html(text)}</div>")

    def _clear_notes(self) -> None:
        for note in getattr(self, "notes", {}).values():
            note.value = ""
        self.banner.value = ""

    def _logout(self) -> None:
        if self.session is not None:
            friendly_call(self.session.logout, self.flash)
        self.session = None
        self._close_session_widgets()
        back = self._browser or i18n.DEFAULT  # the next person at this tab: the browser's
        if back != i18n.active():
            self._redraw_in(back)
        self.widget.children = [self.widget.children[0], self.login.widget, *self._note,
                                self.probe, self.zone_probe]
        self.login.clear()

    def _class_changed(self) -> None:
        quests = self._call(self.session.assigned, self.class_pick.value) or []
        self.quest_pick.options = [(q["title"], q["quest_id"]) for q in quests]
        if not quests:
            self.flash(_("No quest is assigned to this class yet."), "info")
        elif self.quest_pick.value is None:
            self.quest_pick.value = quests[0]["quest_id"]  # refreshes through its observer
            return
        self.refresh()

    @property
    def code(self) -> str:
        return self.class_pick.value

    @property
    def quest(self) -> str | None:
        return self.quest_pick.value

    def refresh(self) -> None:
        """Redraw the open tab from the service now; the others when they are opened (a
        served page), or all of them now (tests and scripts: ``lazy=False``)."""
        if self.session is None:
            return
        self._stale = set(range(len(self._builders())))
        if self.lazy:
            self._build(self.tabs.selected_index or 0)
        else:
            for i in sorted(self._stale):
                self._build(i)

    def _builders(self) -> list:
        """What draws each tab, in the tabs' order."""
        def when_quest(*draw):
            return lambda: [d() for d in draw] if self.quest else None

        return [when_quest(self._show_map), when_quest(self._show_grid), self._show_queue,
                self._show_struggling, self._show_mastery, when_quest(self._show_modalities),
                self._show_overrides, self._show_exports,
                lambda: self.family_panel.show(self.code)]

    def _build(self, index: int) -> None:
        if index in getattr(self, "_stale", ()):
            self._stale.discard(index)
            self._builders()[index]()

    def _tab_opened(self, change) -> None:
        self._clear_notes()
        self._build(change["new"] or 0)

    # class map ---------------------------------------------------------------------------------------

    def _show_map(self) -> None:
        G = self._call(self.session.graph, self.code, self.quest)
        counts = self._call(self.session.class_overview, self.code, self.quest)
        if G is None or counts is None:
            return
        self.G, self.counts = G, {c.node: c for c in counts}
        self.map.show(G, counts={c.node: c.as_map_counts() for c in counts})
        self.map.nodes = [{**n, "sub": _("{done} done · {here} here").format(
            done=self.counts[n["id"]].success, here=self.counts[n["id"]].here)}
            for n in self.map.nodes]
        self.states_chart.value = chart_png(
            "states", [(G.nodes[c.node]["node"].title, c) for c in counts])
        self.states_chart.alt = _("Bar chart of where the students are, step by step:") + " " + (
            "; ".join(_("{step}: {done} done, {fail} not passed, {here} there now, {missing} not "
                        "reached").format(step=G.nodes[c.node]["node"].title, done=c.success,
                                          fail=c.fail, here=c.here, missing=c.not_reached)
                      for c in counts)) + "."
        self._show_node_detail()

    def _show_node_detail(self) -> None:
        n = self.map.selected
        if not n or not hasattr(self, "counts") or n not in self.counts:
            self.node_detail.value = ("<p class='qe-hint'>" + _text(_(
                "Green: done · red: not passed · blue: there now · grey: not reached. "
                "Click a step for names.")) + "</p>")
            return
        grid = self._call(self.session.grid, self.code, self.quest)
        if grid is None:
            return
        by_state: dict[str, list[str]] = {}
        for s in grid.students:
            by_state.setdefault(grid.state(s["id"], n) or "not started", []).append(s["name"])
        words = {st: _(STATE_WORDS[st]) if st in STATE_WORDS else _(st) for st in by_state}
        rows = "".join(f"<li><strong>{plain_html(words[st])}</strong>: "
                       f"{plain_html(', '.join(names))}</li>" for st, names in sorted(by_state.items()))
        self.node_detail.value = (f"<h3>{plain_html(self.G.nodes[n]['node'].title)}</h3>"
                                  f"<ul>{rows}</ul>")

    # students grid -------------------------------------------------------------------------------

    def _show_grid(self) -> None:
        grid = self._call(self.session.grid, self.code, self.quest)
        if grid is None:
            return
        self.grid = grid
        sort = w.Dropdown(options=[(_("name"), "name"), (_("steps done"), "done"), ("XP", "xp")],
                          description=_("Sort by"), layout=w.Layout(width="220px"))
        filt = w.Text(placeholder=_("filter by name"), layout=w.Layout(width="200px"))
        table = ClickTable()
        table.add_class("qe-grid")
        student = w.Dropdown(options=[("— " + _("pick a student") + " —", None)] +
                             [(s["name"], s["id"]) for s in grid.students],
                             description=_("Student"), layout=w.Layout(width="320px"))
        record = _html("", "qe-record")
        supports = self._call(self.session.class_accommodations, self.code) or {}
        support_box = w.VBox()
        support_box.add_class("qe-support-form")

        def draw(_change=None):
            students = [s for s in grid.students if filt.value.casefold() in s["name"].casefold()]
            key = sort.value
            students.sort(key=lambda s: (s["name"].casefold() if key == "name" else -s[key]))
            titles = [self.G.nodes[n]["node"].title for n in grid.nodes]
            head = "".join(f"<th title='{plain_html(t)}'><div>{plain_html(t[:14])}</div></th>"
                           for t in titles)
            body = []
            open_record = plain_html(_("Open the record"))
            for s in students:
                cells = "".join(_grid_cell(grid.state(s["id"], n)) for n in grid.nodes)
                acc = supports.get(s["id"])
                body.append(f"<tr><th class='qe-student'><button type='button' class="
                            f"'qe-record-link' data-pick='{int(s['id'])}' title='{open_record}'>"
                            f"{plain_html(s['name'])}</button></th>"
                            f"<td class='qe-num'>{s['done']}</td><td class='qe-num'>{s['xp']}</td>"
                            f"<td class='qe-supports-cell'>"
                            f"{plain_html(', '.join(acc.words(_))) if acc else ''}</td>"
                            f"{cells}</tr>")
            legend = "".join(f"<span class='qe-legend-chip' style='background:{c};color:"
                             f"{STATE_MARKS[st][1]}' aria-hidden='true'>{STATE_MARKS[st][0]}</span>"
                             f"{plain_html(_state(st))} "
                             for st, c in STATE_COLOURS.items())
            heads = "".join(f"<th>{plain_html(h)}</th>"
                            for h in (_("Student"), _("Steps"), "XP", _("Supports")))
            table.html = (f"<div class='qe-grid-legend'>{legend}</div><div class='qe-grid-scroll'>"
                           f"<table class='qe-grid-table'><tr>{heads}"
                           f"{head}</tr>{''.join(body)}</table></div>")

        def show_record(_change=None):
            if student.value is None:
                record.value = ""
                support_box.children = []
                return
            data = self._call(self.session.student_record, student.value)
            if data is None:
                return
            record.value = _record_html(data, self.when)
            support_box.children = self._support_form(student.value, data["student"]["name"],
                                                      supports, draw)

        def picked(_change=None):  # a name clicked in the grid
            if table.picked in [v for _l, v in student.options]:
                if student.value == table.picked:
                    show_record()
                student.value = table.picked

        sort.observe(draw, names="value")
        filt.observe(draw, names="value")
        student.observe(show_record, names="value")
        table.observe(picked, names="clicks")
        draw()
        kept = getattr(self, "record_pick", None)
        self.record_pick = student
        if kept is not None and kept.value in [v for _l, v in student.options]:
            student.value = kept.value  # the record stays open across a refresh
        self.grid_box.children = [w.HBox([sort, filt]), table, student, record, support_box]

    def _support_form(self, student_id: int, name: str, supports: dict, redraw) -> list[w.Widget]:
        """The accommodations of one student, which the teacher turns on or off (issue 15)."""
        acc = self._call(self.session.accommodations, student_id)
        if acc is None:
            return []
        style = {"description_width": "initial"}
        boxes = {key: w.Checkbox(value=getattr(acc, key), description=label, indent=False,
                                 layout=w.Layout(width="auto"))
                 for key, label in (("read_aloud", _("Read aloud")),
                                    ("larger_text", _("Larger text and spacing")),
                                    ("fewer_options", _("Fewer options (where the quest marks "
                                                        "distractors)")),
                                    ("simple_text", _("Simpler text (where the quest has it)")))}
        for key, box in boxes.items():
            box.add_class(f"qe-support-{key.replace('_', '-')}")
        tries = w.BoundedIntText(value=acc.extra_attempts, min=0, max=10, style=style,
                                 description=_("More tries at checkpoints"),
                                 layout=w.Layout(width="260px"))
        tries.add_class("qe-support-extra-attempts")
        time = w.Dropdown(options=[(_("as set in the quest"), 1.0), (_("1.5 times"), 1.5),
                                   (_("twice"), 2.0), (_("3 times"), 3.0)],
                          value=acc.extra_time if acc.extra_time in (1.0, 1.5, 2.0, 3.0) else 1.0,
                          description=_("Time on timed challenges"), style=style,
                          layout=w.Layout(width="340px"))
        time.add_class("qe-support-extra-time")
        note = _html("", "qe-support-note")

        def save():
            saved = self._call(self.session.set_accommodations, student_id,
                               extra_attempts=tries.value, extra_time=time.value,
                               **{k: b.value for k, b in boxes.items()})
            if saved is None:
                return
            if saved.any():
                supports[student_id] = saved
            else:
                supports.pop(student_id, None)
            words = ", ".join(saved.words(_)) or _("none")
            note.value = ("<span role='status'>" + _text(_(
                "Saved. {name}'s supports: {supports}.").format(name=name, supports=words))
                + "</span>")
            redraw()

        heading = _text(_("Supports for {name}").format(name=name))
        return [_html(f"<h3>{heading}</h3>"), *boxes.values(), tries,
                time, _button(_("Save supports"), save, cls="qe-save-supports"), note]

    # review queue -------------------------------------------------------------------------------------

    def _upload_limit_row(self) -> w.Widget:
        """The largest file students of this class may hand in, which the teacher sets."""
        limit = self._call(self.session.class_upload_limit, self.code) or 50 * 1024 * 1024
        box = w.BoundedIntText(value=max(1, round(limit / 1024 / 1024)), min=1, max=2048,
                               description=_("Largest file students may hand in (MB)"),
                               style={"description_width": "initial"},
                               layout=w.Layout(width="360px"))
        box.add_class("qe-upload-limit")
        note = _html("", "qe-upload-limit-note")

        def save():
            saved = self._call(self.session.set_upload_limit, self.code, box.value)
            if saved:
                note.value = ("<span role='status'>" + _text(_(
                    "Saved: files up to {size} MB.").format(size=box.value)) + "</span>")

        row = w.HBox([box, _button(_("Save"), save, cls="qe-upload-limit-save"), note],
                     layout=w.Layout(align_items="center", flex_flow="row wrap"))
        return row

    def _show_queue(self) -> None:
        items = self._call(self.session.review_queue, self.code) or []
        if not items:
            self.queue_box.children = [
                _html("<p class='qe-info'>" + _text(_("Nothing waiting for review.")) +
                      " 🎉</p>"),
                self._upload_limit_row()]
            return
        rows, checks, notes = [], [], {}
        self._card_notes = notes
        quest_titles = {q["quest_id"]: q["title"] for q in
                        (self._call(self.session.assigned, self.code) or [])}
        for item in items:
            earlier = "".join(
                "<li>" + _text(_("round {n}").format(n=r["round"])) +
                f": {_decision(r['decision'])}"
                f"{' — ' + markdown_html(r['feedback']) if r['feedback'] else ''}</li>"
                for r in item.earlier)
            round_word = _text(_("round {n}").format(n=item.round))
            earlier_word = _text(_("Earlier rounds:"))
            head = _html(
                f"<div class='qe-review-head'><strong>{plain_html(item.student_name)}</strong> · "
                f"{plain_html(quest_titles.get(item.quest_id, item.quest_id))}: "
                f"{plain_html(item.node_title)} · {round_word} · "
                f"<span class='qe-when'>{plain_html(self.when(item.at))}</span></div>"
                f"<div class='qe-submission-text'>{markdown_html(item.content)}</div>"
                + (f"<div class='qe-earlier'>{earlier_word}<ul>{earlier}</ul></div>"
                   if earlier else ""))
            feedback = w.Textarea(placeholder=_("Feedback for the student (needed to return work)"),
                                  layout=w.Layout(width="100%", height="60px"))
            feedback.add_class("qe-feedback-box")
            check = w.Checkbox(description=_("select"), indent=False, layout=w.Layout(width="90px"))
            checks.append((check, item.submission_id))
            buttons = w.HBox([
                check,
                _button(_("Approve"), lambda i=item, f=feedback: self._review(i, "approve", f.value),
                        "success", "qe-approve"),
                _button(_("Not yet"), lambda i=item, f=feedback: self._review(i, "fail", f.value),
                        "danger", "qe-fail", _("Mark as not passed")),
                _button(_("Return for revision"), lambda i=item, f=feedback: self._review(
                    i, "return", f.value), "warning", "qe-return")])
            card_note = _html("", "qe-card-note")
            notes[item.submission_id] = card_note
            card = w.VBox([head, *submission_files_view(self.session, item, self._call),
                           feedback, buttons, card_note])
            card.add_class("qe-review-card")
            card.add_class(f"qe-review-{item.submission_id}")
            rows.append(card)

        def bulk():
            ids = [sid for check, sid in checks if check.value]
            if not ids:
                self.flash(_("Tick the submissions to approve first."), "info")
                return
            self.banner.value = ""
            result = self._call(self.session.bulk_approve, ids)
            if result is not None:
                done, problems = result
                self.refresh()
                self.flash(_("Approved {n} submission(s).").format(n=done)
                           + (" " + " ".join(problems) if problems else ""), "info")

        def select_all():
            every = not all(check.value for check, _sid in checks)
            for check, _sid in checks:
                check.value = every

        waiting = _text(_("{n} waiting, oldest first").format(n=len(items)))
        header = w.HBox([_html(f"<h2>{waiting}</h2>"),
                         _button(_("Select all"), select_all, cls="qe-select-all",
                                 tooltip=_("Tick (or untick) every submission")),
                         _button(_("Approve selected"), bulk, "success", "qe-bulk-approve")],
                        layout=w.Layout(align_items="center"))
        self.queue_box.children = [header, *rows, self._upload_limit_row()]

    def _review(self, item, decision: str, feedback: str) -> None:
        self._clear_notes()
        note = getattr(self, "_card_notes", {}).get(item.submission_id)

        def beside(text):  # the error shows on the card the teacher is working on
            if note is None:
                self.flash(text)
                return
            text = str(text).strip()
            note.value = (f"<div class='qe-flash qe-flash-error' role='alert'>"
                          f"{plain_html(text[:1].upper() + text[1:])}</div>")

        if friendly_call(self.session.review, beside, item.submission_id, decision,
                         feedback) is not None:
            self.refresh()
            self.flash(_("{name}'s work on {step} was {decision}.").format(
                name=item.student_name, step=item.node_title, decision=_decision(decision)),
                "info")

    # struggling --------------------------------------------------------------------------------------

    def _show_struggling(self) -> None:
        r = self.rules
        fails = w.BoundedIntText(value=r.gate_fails, min=1, max=20, description=_("fails") + " ≥")
        stuck = w.BoundedIntText(value=int(r.stuck_days), min=1, max=60, description=_("stuck days") + " ≥")
        returned = w.BoundedIntText(value=r.returned, min=1, max=20, description=_("returned") + " ≥")
        below = w.BoundedIntText(value=round(100 * r.mastery_below), min=1, max=100,
                                 description=_("mastery") + " % <")
        idle = w.BoundedIntText(value=int(r.inactive_days), min=1, max=120, description=_("idle days") + " ≥")
        for box in (fails, stuck, returned, below, idle):
            box.layout = w.Layout(width="190px")
            box.style = {"description_width": "100px"}

        def apply():
            self.rules = StruggleRules(fails.value, stuck.value, returned.value, below.value / 100,
                                       idle.value)
            self._show_struggling()

        found = self._call(self.session.struggling, self.code, self.rules, translate=_) or []
        if self.quest:  # the quest picker: this quest's struggles, and those of no quest
            found = [s for s in found if s.quest_id in (None, self.quest)]
        people = {s.student_id for s in found}
        cards = [self._struggle_card(s) for s in found] or [
            _html("<p class='qe-info'>" + _text(_("Nobody needs help right now.")) + "</p>")]
        listing = w.VBox(cards)
        listing.add_class("qe-struggling")
        self.struggle_box.children = [
            w.HBox([fails, stuck, returned, below, idle, _button(_("Apply"), apply, cls="qe-apply")],
                   layout=w.Layout(flex_flow="row wrap")),
            self._class_message_form(),
            _html("<h2>" + _text(ngettext("{n} student may need help, most urgent first",
                                          "{n} students may need help, most urgent first",
                                          len(people)).format(n=len(people))) + "</h2>"),
            listing]

    def _class_message_form(self) -> w.VBox:
        """One message to every student of the class, each seeing it on their play page."""
        status = _html("", "qe-message-status")
        # the label above the box (not beside it: on a phone it left the box 130 px wide)
        box = w.Textarea(description=_("Message to the whole class"), rows=3,
                         style={"description_width": "initial"},
                         layout=w.Layout(width="100%", max_width="640px", flex_flow="column",
                                         align_items="stretch"))
        box.add_class("qe-class-message-text")

        def show_error(text):
            status.value = f"<span class='qe-flash-error' role='alert'>{plain_html(text)}</span>"

        def send():
            sent = friendly_call(self.session.message_class, show_error, self.code, box.value)
            if sent is None:
                return
            box.value = ""
            status.value = ("<span class='qe-flash-info' role='status'>" + plain_html(ngettext(
                "Sent to {n} student: they see it on their page.",
                "Sent to {n} students: they see it on their page.", sent).format(n=sent))
                + "</span>")

        # the button its own size, as on a student's card (not stretched across the tab)
        form = w.VBox([box, w.HBox([_button(_("Send to the class"), send, "primary",
                                            "qe-class-message-send")]), status],
                      layout=w.Layout(margin="12px 0 4px 0", padding="8px 12px",
                                      border="1px solid #c8ccd4"))
        form.add_class("qe-class-message")
        return form

    STRUGGLE_ACTIONS = {"unlock": (N_("One more attempt"), "unlock"),
                        "reset": (N_("Reset the step"), "reset"),
                        "approve": (N_("Mark as done"), "approve")}

    def _struggle_card(self, s) -> w.Widget:
        """One struggle: who, where, why, what would help, and the actions beside it."""
        quest = ""
        if s.quest_id:
            titles = {q["quest_id"]: q["title"] for q in self._assigned()}
            quest = f" <span class='qe-hint'>({plain_html(titles.get(s.quest_id, s.quest_id))})</span>"
        since = ""
        if getattr(s, "since", None):  # the time they last moved, in the teacher's zone
            since = (" <span class='qe-when qe-struggle-since'>" + plain_html(
                _("(last moved {when})").format(when=self.when(s.since))) + "</span>")
        text = _html(f"<div><strong class='qe-struggle-name'>{plain_html(s.name)}</strong> "
                     f"{plain_html(s.reason)}{quest}{since}</div>"
                     f"<div class='qe-struggle-help'>{plain_html(s.help)}</div>")
        note = _html("", "qe-struggle-note")
        form = w.VBox()
        form.add_class("qe-message-form")
        buttons = []
        for op in s.actions:
            label, action = self.STRUGGLE_ACTIONS[op]
            label = _(label)

            def act(op=action, s=s, label=label):
                def show(text):
                    note.value = f"<span class='qe-flash-error' role='alert'>{plain_html(text)}</span>"

                done = friendly_call(self.session.override, show, s.student_id, s.quest_id, s.node,
                                     op, f"from the struggling list: {s.reason}")
                if done is not None:
                    self.refresh()
                    self.flash(_("Done: {name}, {action} on {step}.").format(
                        name=s.name, action=label.lower(),
                        step=self._node_title(s.quest_id, s.node)), "info", near=3)

            label_b = _button(label, act, cls=f"qe-struggle-{op}")
            buttons.append(label_b)
        buttons.append(_button(_("Message"), lambda s=s: self._message_form(s, form),
                               cls="qe-struggle-message",
                               tooltip=_("Write to the student: they see it on their page")))
        buttons.append(_button(_("Open record"), lambda s=s: self.open_record(s.student_id),
                               cls="qe-struggle-record"))
        card = w.VBox([text, w.HBox(buttons, layout=w.Layout(flex_flow="row wrap")), note, form])
        card.add_class("qe-struggle-card")
        card.add_class(f"qe-struggle-{s.kind}")
        return card

    def _message_form(self, s, form: w.VBox) -> None:
        """A small form on the card: the thread so far (with "read"), a suggested text from
        the card's help line, Send and Cancel. The student sees it on their play page."""
        from .messages import thread_html

        if form.children:  # a second click closes it
            form.children = []
            return
        thread = _html("", "qe-message-thread")
        status = _html("", "qe-message-status")

        def show_thread():
            found = friendly_call(self.session.student_messages, show_error, s.student_id, True)
            thread.value = thread_html(found or [], self.when)

        def show_error(text):
            status.value = f"<span class='qe-flash-error' role='alert'>{plain_html(text)}</span>"

        step = self._node_title(s.quest_id, s.node) if s.node else ""
        box = w.Textarea(value=suggested_message(s, step),
                         description=_("Message to {name}").format(name=s.name),
                         style={"description_width": "initial"},
                         layout=w.Layout(width="100%", max_width="640px", height="80px"))
        box.add_class("qe-message-text")

        def send():
            sent = friendly_call(self.session.message_student, show_error, s.student_id,
                                 box.value)
            if sent is None:
                return
            show_thread()
            status.value = ("<span class='qe-flash-info' role='status'>" + plain_html(
                _("Sent to {name}: they see it on their page.").format(name=s.name))
                + "</span>")

        show_thread()
        form.children = [thread, box, w.HBox([
            _button(_("Send"), send, "primary", "qe-message-send"),
            _button(_("Cancel"), lambda: setattr(form, "children", []), cls="qe-message-cancel")],
            layout=w.Layout(flex_flow="row wrap")), status]

    def _assigned(self) -> list[dict]:
        return self._call(self.session.assigned, self.code) or []

    def _node_title(self, quest_id, node) -> str:
        G = self._call(self.session.graph, self.code, quest_id) if quest_id else None
        return G.nodes[node]["node"].title if G is not None and node in G else str(node)

    def open_record(self, student_id: int) -> None:
        """Show one student's record in the Students tab."""
        self.tabs.selected_index = 1
        pick = getattr(self, "record_pick", None)
        if pick is not None and student_id in [v for _l, v in pick.options]:
            pick.value = student_id

    # mastery -----------------------------------------------------------------------------------------

    def _show_mastery(self) -> None:
        m = self._call(self.session.mastery, self.code)
        if m is None:
            return
        names = {}
        for q in self._call(self.session.assigned, self.code) or []:
            G = self._call(self.session.graph, self.code, q["quest_id"])
            if G is not None:
                names.update({c.id: c.name for c in G.graph["quest"].competencies})
        if self.quest:  # the quest picker: this quest's skills (the matrix is per class)
            G = self._call(self.session.graph, self.code, self.quest)
            mine = {c.id for c in G.graph["quest"].competencies} if G is not None else set()
            if mine & set(m.competencies):
                keep = [c for c in m.competencies if c in mine]
                m = type(m)(m.students, keep, {sid: {c: v for c, v in row.items() if c in mine}
                                               for sid, row in m.values.items()})
        head = "".join(f"<th title='{plain_html(names.get(c, c))}' class='qe-skill'>"
                       f"{plain_html(names.get(c, c))}</th>" for c in m.competencies)
        body = []
        for s in m.students:
            cells = []
            for c in m.competencies:
                v = m.value(s["id"], c)
                colour = "#f1f3f4" if v is None else ("#137333" if v >= 0.8 else
                                                      "#b06000" if v >= 0.5 else "#b3261e")
                cells.append(f"<td style='background:{colour}' class='qe-num'>"
                             f"{'' if v is None else round(100 * v)}</td>")
            body.append(f"<tr><th class='qe-student'>{plain_html(s['name'])}</th>{''.join(cells)}</tr>")
        groups = self._call(self.session.groups, self.code) or []
        group_items = "".join(
            f"<li><strong>{', '.join(plain_html(names.get(g, g)) for g in grp.gaps)}</strong>: "
            f"{plain_html(', '.join(grp.names))}</li>" for grp in groups) or \
            "<li>" + _text(_("No shared gaps right now.")) + "</li>"
        values = [v for row in m.values.values() for v in row.values()]
        chart = Chart(value=chart_png("mastery", values),
                      alt=_("Histogram of mastery over every student and skill (the table "
                            "above gives each value):") + " " + ", ".join(
                              _("{count} from {low} to {high}%").format(
                                  count=sum(1 for v in values if lo <= round(100 * v) < hi),
                                  low=lo, high=min(hi, 100) - (hi <= 100)) for lo, hi in
                              ((0, 20), (20, 40), (40, 60), (60, 80), (80, 101))) + ".",
                      layout=w.Layout(max_width="640px")) if values else _html("")
        mastery_title = _text(_("Mastery by skill (%)"))
        student_head = _text(_("Student"))
        groups_title = _text(_("Suggested small groups (shared gaps below 80%)"))
        self.mastery_box.children = [
            _html(f"<h2>{mastery_title}</h2><div class='qe-grid-scroll'><table "
                  f"class='qe-grid-table qe-mastery-grid'><tr><th>{student_head}</th>{head}</tr>"
                  f"{''.join(body)}</table></div>"),
            chart,
            _html(f"<h2>{groups_title}</h2><ul class='qe-groups'>"
                  f"{group_items}</ul>")]

    # modalities --------------------------------------------------------------------------------------

    def _show_modalities(self) -> None:
        found = self._call(self.session.modality_insights, self.code, self.quest) or []
        rows = "".join(
            f"<tr><td>{plain_html(m.modality)}</td><td class='qe-num'>{m.students}</td>"
            f"<td class='qe-num'>{m.gate_first_try}</td><td class='qe-num'>{m.gate_later}</td>"
            f"<td class='qe-num'>{m.gate_not_yet}</td><td class='qe-num'>{m.gate_not_reached}</td>"
            f"<td class='qe-num'>{'' if m.mean_attempts is None else f'{m.mean_attempts:.1f}'}</td></tr>"
            for m in found) or ("<tr><td colspan=7>" + _text(_("No choices made yet."))
                                + "</td></tr>")
        heads = "".join(f"<th>{plain_html(h)}</th>" for h in (
            _("Modality"), _("Students"), _("Passed first try"), _("Passed later"), _("Not yet"),
            _("Not reached"), _("Mean attempts")))
        self.modality_box.children = [_html(
            "<h2>" + _text(_("Ways of learning, and how students then did at the next "
                                  "checkpoint")) + "</h2>"
            f"<table class='qe-grid-table'><tr>{heads}</tr>{rows}</table>")]

    # overrides ---------------------------------------------------------------------------------------

    def _show_overrides(self) -> None:
        students = self._call(self.session.students, self.code) or []
        quests = self._call(self.session.assigned, self.code) or []
        student = w.Dropdown(options=[(s["name"], s["id"]) for s in students],
                             description=_("Student"))
        quest = w.Dropdown(options=[(q["title"], q["quest_id"]) for q in quests],
                           description=_("Quest"))
        node = w.Dropdown(description=_("Step"))
        op = w.Dropdown(options=[(_("unlock (or one more attempt at a gate)"), "unlock"),
                                 (_("reset the step"), "reset"), (_("mark as done"), "approve"),
                                 (_("award XP or a badge"), "award")], description=_("Do"))
        reason = w.Text(description=_("Reason"), placeholder=_("recorded with the change"))
        xp = w.BoundedIntText(value=0, min=0, max=10000, description="XP")
        badge = w.Text(description=_("Badge"), placeholder=_("badge id (optional)"))

        def quest_changed(_change=None):
            if quest.value:
                G = self._call(self.session.graph, self.code, quest.value)
                node.options = [(G.nodes[n]["node"].title, n) for n in G.graph["order"]] if G else []
                # the browser shows the first step as picked: make it the value too
                node.value = G.graph["order"][0] if G and G.graph["order"] else None

        quest.observe(quest_changed, names="value")
        kept = getattr(self, "_override_picks", None)  # what the teacher had picked before
        if kept and kept[0] == self.code:
            _code, sid, qid, step, what = kept
            if sid in [v for _l, v in student.options]:
                student.value = sid
            if qid in [v for _l, v in quest.options]:
                quest.value = qid
        quest_changed()
        if kept and kept[0] == self.code:
            if kept[3] in [v for _l, v in node.options]:
                node.value = kept[3]
            op.value = kept[4]
        note = _html("", "qe-override-note")

        def apply():
            def beside(text):
                text = str(text).strip()
                note.value = (f"<span class='qe-flash qe-flash-error' role='alert'>"
                              f"{plain_html(text[:1].upper() + text[1:])}</span>")

            self._clear_notes()
            result = friendly_call(self.session.override, beside, student.value, quest.value,
                                   node.value, op.value, reason.value, xp.value,
                                   badge.value or None)
            if result is not None:
                self._override_picks = (self.code, student.value, quest.value, node.value,
                                        op.value)
                self.refresh()
                self.override_note.value = (
                    "<span class='qe-flash qe-flash-info' role='status'>"
                    + _text(_("Done: the change and its reason are recorded.")) + "</span>")

        go = _button(_("Apply"), apply, "warning", "qe-override")
        self.override_note = note
        self.override_box.children = [student, quest, node, op, reason, xp, badge,
                                      w.HBox([go, note], layout=w.Layout(align_items="center")),
                                      *self._login_troubles()]

    def _login_troubles(self) -> list[w.Widget]:
        """Students with recent wrong PINs, each with a button that lets them in again."""
        troubles = self._call(self.session.login_troubles, self.code) or []
        if not troubles:
            return [_html("<h2>" + _text(_("Wrong PIN tries")) + "</h2><p class='qe-hint'>"
                          + _text(_("No student has typed a wrong PIN lately.")) + "</p>",
                          "qe-login-troubles")]
        rows = [_html("<h2>" + _text(_("Wrong PIN tries")) + "</h2><p class='qe-hint'>"
                      + _text(_("After five wrong PINs a student waits a little before the "
                                     "next try (a minute at most). If it was not them, talk "
                                     "with the class; clearing lets them in at once.")) + "</p>",
                      "qe-login-troubles")]
        for t in troubles:
            wait = _(", waits {seconds} s").format(seconds=t["wait"]) if t["wait"] else ""

            def clear(student_id=t["student_id"], name=t["name"]):
                cleared = self._call(lambda: self.session.clear_login_troubles(student_id)
                                     or True)
                if cleared:
                    self._show_overrides()
                    self.flash(_("{name} can log in again now.").format(name=name), "info")

            label = _html(_text(ngettext("{name}: {n} wrong PIN", "{name}: {n} wrong PINs",
                                              t["failures"]).format(name=t["name"],
                                                                    n=t["failures"]) + wait))
            row = w.HBox([label, _button(_("Let them try again"), clear, cls="qe-clear-pins")],
                         layout=w.Layout(align_items="center"))
            row.add_class("qe-login-trouble")
            rows.append(row)
        return rows

    # exports ----------------------------------------------------------------------------------------

    def _show_exports(self) -> None:
        links = []
        if self.quest:
            grid = self._call(self.session.grid, self.code, self.quest)
            if grid is not None:
                from ..center import grid_csv

                links.append(_download(_("Students × steps (CSV)"), f"{self.code}-{self.quest}-grid.csv",
                                       grid_csv(grid), "text/csv"))
        m = self._call(self.session.mastery, self.code)
        if m is not None:
            from ..center import mastery_csv

            links.append(_download(_("Mastery (CSV)"), f"{self.code}-mastery.csv", mastery_csv(m),
                                   "text/csv"))
        students = self._call(self.session.students, self.code) or []
        supports = self._call(self.session.class_accommodations, self.code)
        if supports is not None:
            from ..accommodations import SUPPORTS
            from ..csvsafe import csv_text

            none = Accommodations()
            rows = [[s["name"], *(getattr(supports.get(s["id"], none), k) for k in SUPPORTS)]
                    for s in students]
            links.append(_download(_("Supports (CSV)"), f"{self.code}-supports.csv",
                                   csv_text(["student", *SUPPORTS], rows), "text/csv"))
        pick = w.Dropdown(options=[(s["name"], s["id"]) for s in students],
                          description=_("Report for"))
        report = _html("")

        def make_report():
            html = self._call(self.session.parent_report, pick.value)
            if html is not None:
                name = next(s["name"] for s in students if s["id"] == pick.value)
                report.value = _download(_("Report for {name}'s family (HTML, printable)").format(
                                             name=name),
                                         f"report-{name.replace(' ', '-')}.html", html, "text/html")

        self.export_box.children = [_html("<h2>" + _text(_("Exports")) + "</h2>"
                                          + "<br>".join(links)), pick,
                                    _button(_("Make report"), make_report, cls="qe-report"), report]


def _grid_cell(state: str) -> str:
    mark, ink = STATE_MARKS.get(state, ("", "#202124"))
    return (f"<td style='background:{STATE_COLOURS.get(state, '#eee')};color:{ink}' "
            f"class='qe-cell' title='{plain_html(_state(state if state in TEACHER_STATE_WORDS else ''))}'>"
            f"{mark}</td>")


def _answer_text(answer) -> str:
    if answer is None:
        return _("no answer")
    if isinstance(answer, (list, tuple)):
        return ", ".join(str(a) for a in answer)
    if isinstance(answer, float) and answer.is_integer():
        return str(int(answer))
    return str(answer)


def _record_html(data: dict, when=local_time) -> str:
    """A student's record in plain words: step titles, each attempt's questions and answers."""
    parts = [f"<h2>{plain_html(data['student']['name'])}</h2>"]
    for qid, q in data["quests"].items():
        titles = q.get("titles", {})

        def t(n):
            return plain_html(titles.get(n, n))

        states = ", ".join(f"{t(n)}: {plain_html(_state(s))}"
                           for n, s in q["states"].items() if s not in ("locked", "closed"))
        feedback = "".join(
            f"<li>{t(n)}, " + _text(_("round {n}").format(n=r["round"])) +
            f": {_decision(r['decision'])}"
            + (f" <span class='qe-when'>({plain_html(when(r['at']))})</span>"
               if r.get("at") else "")
            + f"{' — ' + markdown_html(r['feedback']) if r['feedback'] else ''}</li>"
            for n, rs in q["feedback"].items() for r in rs)
        reflections = "".join(f"<li>{t(n)}: {plain_html(text)}</li>"
                              for n, text in q["reflections"].items())
        attempts = []
        for n, rounds in q.get("attempts", {}).items():
            for i, a in enumerate(rounds, 1):
                score = "" if a["score"] is None else f", {round(100 * a['score'])}%"
                outcome = _("not passed: the time was up") if a.get("time_up") else {
                    "success": _("passed"), "fail": _("not passed")}.get(
                    a["outcome"] or "", _("not finished"))
                right, wrong = "✓ " + _("right"), "✗ " + _("wrong")
                rows = "".join(
                    f"<li class='qe-answer-{'right' if x['right'] else 'wrong' if x['right'] is False else 'given'}'>"
                    f"{plain_html(str(x['question']))} — <strong>{plain_html(_answer_text(x['answer']))}"
                    f"</strong> {right if x['right'] else wrong if x['right'] is False else ''}"
                    f"</li>" for x in a["answers"])
                attempt = _text(_("attempt {n}").format(n=i))
                attempts.append(f"<li class='qe-attempt'>{t(n)}, {attempt} ({outcome}{score})"
                                f"<ul>{rows}</ul></li>")
        mastery = ", ".join(f"{plain_html(c)} {round(100 * v)}%" for c, v in q["mastery"].items())
        struggling = "; ".join(plain_html(ngettext(
            "did not pass {step} in {n} attempt (the most allowed is {allowed})",
            "did not pass {step} in {n} attempts (the most allowed is {allowed})",
            a["attempts"]).format(step=q["titles"].get(n, n), n=a["attempts"],
                                  allowed=a["allowed"]))
            for n, a in q.get("out_of_attempts", {}).items())
        word = {k: plain_html(v) for k, v in (
            ("finished", " · " + _("finished")), ("path", _("Path:")),
            ("not_started", _("not started")), ("mastery", _("Mastery:")),
            ("answers", _("Answers:")), ("every", _("every attempt")),
            ("feedback", _("Feedback:")), ("reflections", _("Reflections:")))}
        parts.append(
            f"<h3>{plain_html(q['title'])} — {q['xp']} XP{word['finished'] if q['complete'] else ''}</h3>"
            f"<p><em>{word['path']}</em> {states or word['not_started']}</p>"
            + (f"<p class='qe-flash-error'>{struggling}</p>" if struggling else "")
            + (f"<p><em>{word['mastery']}</em> {mastery}</p>" if mastery else "")
            + (f"<p><em>{word['answers']}</em> {word['every']}</p>"
               f"<ul class='qe-attempts'>{''.join(attempts)}</ul>" if attempts else "")
            + (f"<p><em>{word['feedback']}</em></p><ul>{feedback}</ul>" if feedback else "")
            + (f"<p><em>{word['reflections']}</em></p><ul>{reflections}</ul>"
               if reflections else ""))
    goals = "".join(f"<li>{plain_html(g['text'])}{' ✓' if g.get('done') else ''}</li>"
                    for g in data["profile"].get("goals", []))
    goals_title, none_yet = _text(_("Goals")), _text(_("none yet"))
    parts.append(f"<h3>{goals_title}</h3><ul>{goals or f'<li>{none_yet}</li>'}</ul>")
    return "".join(parts)
