"""The progress center's families panel: codes to print, links to approve, notes.

A separate piece the center page shows in a tab (``FamilyPanel(session, flash)``,
then ``show(class_code)`` on every refresh). Every action goes through the
teacher's session, which checks the class and the student are the teacher's.
"""
from __future__ import annotations

import base64
import html
from collections.abc import Callable

import ipywidgets as w

from ..i18n import _
from .login import friendly_call
from .text import markdown_html

__all__ = ["FamilyPanel"]


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _button(label: str, on_click: Callable[[], None], cls: str, style: str = "") -> w.Button:
    b = w.Button(description=label, button_style=style, layout=w.Layout(width="auto"))
    b.on_click(lambda _b: on_click())
    b.add_class(cls)
    return b


class FamilyPanel:
    """Families of one class: print codes, approve or unlink, write to one or all families."""

    def __init__(self, session, flash: Callable[[str, str], None]):
        self.session = session
        self.flash = flash
        self.code: str | None = None
        self.widget = w.VBox()
        self.widget.add_class("qe-family-panel")

    def _call(self, fn, *args):
        return friendly_call(fn, lambda text: self.flash(text, "error"), *args)

    def show(self, class_code: str) -> None:
        self.code = class_code
        links = self._call(self.session.family_links, class_code) or []
        students = self._call(self.session.students, class_code) or []
        self.handout = w.HTML()
        self.handout.add_class("qe-family-handout")
        rows: list[w.Widget] = [
            w.HTML("<h3>" + _e(_("Families")) + "</h3>"),
            w.HBox([_button(_("Print family codes"), self._codes, "qe-family-codes"),
                    self.handout])]
        if not links:
            rows.append(w.HTML("<p>" + _e(_("No family has signed up yet.")) + "</p>"))
        for link in links:
            status = _("approved") if link["status"] == "approved" else _("waiting for you")
            text = w.HTML(f"<span class='qe-family-link'>{_e(link['family_name'])} "
                          f"&lt;{_e(link['family_email'])}&gt; → "
                          f"<strong>{_e(link['student_name'])}</strong> ({_e(status)})</span>")
            buttons = []
            if link["status"] != "approved":
                buttons.append(_button(_("Approve"), lambda l=link: self._approve(l),
                                       "qe-family-approve", "success"))
            buttons.append(_button(_("Unlink"), lambda l=link: self._unlink(l),
                                   "qe-family-unlink", "danger"))
            rows.append(w.HBox([text, *buttons], layout=w.Layout(align_items="center")))
        self.to = w.Dropdown(options=[(_("All families of the class"), 0)]
                             + [(s["name"], s["id"]) for s in students],
                             value=0, description=_("To"))
        self.to.add_class("qe-family-to")
        self.note = w.Textarea(placeholder=_("A note to the family"),
                               layout=w.Layout(width="100%"))
        self.note.add_class("qe-family-note")
        self.thread = w.HTML()
        self.thread.add_class("qe-family-thread")
        self.to.observe(lambda _c: self._show_thread(), "value")
        rows += [w.HTML("<h4>" + _e(_("Notes to families")) + "</h4>"), self.to, self.note,
                 _button(_("Send the note"), self._send, "qe-family-send", "primary"),
                 self.thread]
        self.widget.children = rows
        self._show_thread()

    def _codes(self) -> None:
        from ..family import handout_html

        codes = self._call(self.session.family_codes, self.code)
        if codes is None:
            return
        klass = next((c for c in self.session.classes() if c["code"] == self.code), {})
        page = handout_html(codes, klass.get("name", self.code), self.session.name)
        b64 = base64.b64encode(page.encode("utf-8")).decode("ascii")
        self.handout.value = (f"<a class='qe-download' download='family-codes-{_e(self.code)}"
                              f".html' href='data:text/html;charset=utf-8;base64,{b64}'>⬇ "
                              + _e(_("Family codes (HTML, printable): older codes stop "
                                     "working")) + "</a>")

    def _approve(self, link: dict) -> None:
        if self._call(self.session.approve_family, link["family_id"], link["student_id"]) \
                is None:
            self.flash(_("{family} now sees {student}'s page.").format(
                family=link["family_name"], student=link["student_name"]), "info")
            self.show(self.code)

    def _unlink(self, link: dict) -> None:
        if self._call(self.session.unlink_family, link["family_id"], link["student_id"]) \
                is None:
            self.flash(_("{family} no longer sees {student}'s page.").format(
                family=link["family_name"], student=link["student_name"]), "info")
            self.show(self.code)

    def _send(self) -> None:
        text = self.note.value
        if self.to.value:
            sent = self._call(self.session.message_family, self.to.value, text)
        else:
            sent = self._call(self.session.message_class_families, self.code, text)
        if sent is None:
            return
        self.note.value = ""
        self.flash(_("The note went to {n} families.").format(n=sent) if sent
                   else _("No approved family got the note: approve a family first."), "info")
        self._show_thread()

    def _show_thread(self) -> None:
        if not self.to.value:
            self.thread.value = ""
            return
        notes = self._call(self.session.family_messages, self.to.value) or []
        items = []
        for m in notes:
            who = m["author"] if m["sender"] == "teacher" else (m.get("family_name") or "")
            cls = "qe-from-family" if m["sender"] == "family" else "qe-from-teacher"
            items.append(f"<li class='qe-message {cls}'><strong>{_e(who)}</strong> "
                         f"<small>{_e(m['at'][:16].replace('T', ' '))}</small>"
                         f"{markdown_html(m['text'])}</li>")
        self.thread.value = ("<ul class='qe-messages'>" + "".join(items) + "</ul>") if items \
            else "<p>" + _e(_("No notes yet.")) + "</p>"
