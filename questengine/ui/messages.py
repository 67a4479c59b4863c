"""Messages between a teacher and a student (issue 16), as the two pages show them.

:class:`StudentNotice` is the play page's notice: the teacher's unread messages above the
quests, announced once to screen readers, with "Got it" (marks them read: the teacher sees
"read") and a short reply. :func:`thread_html` is a thread as the teacher reads it beside a
struggle card. Every text is the sender's markdown, rendered sanitized.
"""
from __future__ import annotations

from collections.abc import Callable

import ipywidgets as w

from ..i18n import _
from .login import friendly_call
from .text import markdown_html, plain_html, speakable

__all__ = ["StudentNotice", "thread_html"]


def _html(text: str, cls: str) -> w.HTML:
    widget = w.HTML(text)
    widget.add_class(cls)
    return widget


class StudentNotice:
    """The teacher's unread messages on the play page (``widget``; empty when none)."""

    def __init__(self, session, announce: Callable[[str], None],
                 when: Callable[[str], str] = lambda iso: iso[:16].replace("T", " "),
                 announced: set[int] | None = None):
        self.session = session
        self.announce = announce
        self.when = when
        # ids already read out: a page drawn again (a new language) does not repeat them
        self.announced: set[int] = set() if announced is None else announced
        self.widget = w.VBox()
        self.widget.add_class("qe-messages")
        self._shown: tuple[int, ...] = ()

    def refresh(self) -> bool:
        """Show the unread messages (quietly none if the service cannot say now); announce
        the ones not shown before. True if the notice changed."""
        unread = friendly_call(self.session.unread_messages, lambda _t: None)
        if unread is None:
            return False
        ids = tuple(m["id"] for m in unread)
        if ids == self._shown:
            return False
        new = [m for m in unread if m["id"] not in self._shown
               and m["id"] not in self.announced]
        self._shown = ids
        self.announced.update(ids)
        self._draw(unread)
        if new:
            last = new[-1]
            self.announce(_("A message from your teacher, {name}: {text}").format(
                name=last["author"], text=speakable(last["text"])))
        return True

    def _draw(self, unread: list[dict], note: str = "") -> None:
        if not unread:
            self.widget.children = ([_html(note, "qe-message-note")] if note else [])
            return
        items = "".join(
            "<li class='qe-message'><p class='qe-message-from'><strong>"
            + plain_html(_("📬 A message from your teacher, {name}").format(name=m["author"]))
            + f"</strong> <span class='qe-when'>{plain_html(self.when(m['at']))}</span></p>"
            f"<div class='qe-message-text'>{markdown_html(m['text'])}</div></li>"
            for m in unread)
        got_it = w.Button(description=_("Got it"), button_style="primary",
                          layout=w.Layout(width="auto"))
        got_it.add_class("qe-message-read")
        got_it.on_click(lambda _b: self.mark_read())
        reply = w.Text(placeholder=_("Write back to your teacher (optional)"),
                       layout=w.Layout(width="320px"))
        reply.add_class("qe-message-reply")
        send = w.Button(description=_("Send"), layout=w.Layout(width="auto"))
        send.add_class("qe-message-send")
        send.on_click(lambda _b: self.send(reply.value))
        row = w.HBox([got_it, reply, send], layout=w.Layout(flex_flow="row wrap",
                                                           align_items="center"))
        label = plain_html(_("Messages from your teacher"))  # (an f-string hides it from Babel)
        self.widget.children = [_html(f"<ul class='qe-message-list' aria-label='{label}'>"
                                      f"{items}</ul>", "qe-message-box"), row,
                                *([_html(note, "qe-message-note")] if note else [])]

    def mark_read(self) -> None:
        upto = max(self._shown, default=None)
        if upto is None or friendly_call(self.session.mark_messages_read, self._error,
                                         upto) is None:
            return
        self._shown = ()
        self.widget.children = []

    def send(self, text: str) -> None:
        if friendly_call(self.session.reply, self._error, text) is None:
            return
        friendly_call(self.session.mark_messages_read, self._error, max(self._shown, default=0))
        self._shown = ()
        said = _("Sent to your teacher.")
        self._draw([], f"<p role='status'>{plain_html(said)}</p>")
        self.announce(said)

    def _error(self, text: str) -> None:
        notes = [c for c in self.widget.children if "qe-message-note" in c._dom_classes]
        html = f"<p class='qe-flash-error' role='alert'>{plain_html(text)}</p>"
        if notes:
            notes[0].value = html
        else:
            self.widget.children = [*self.widget.children, _html(html, "qe-message-note")]


def thread_html(thread: list[dict], when: Callable[[str], str]) -> str:
    """A teacher-student thread, oldest first, each with who wrote it, when, and "read"."""
    if not thread:
        return ""
    rows = []
    for m in thread[-6:]:
        seen = (" · " + plain_html(_("read {when}").format(when=when(m["read_at"])))
                if m["read_at"] else " · " + plain_html(_("not read yet")))
        rows.append(f"<li class='qe-thread-{plain_html(m['sender'])}'><strong>"
                    f"{plain_html(m['author'] or '')}</strong> "
                    f"<span class='qe-when'>{plain_html(when(m['at']))}{seen}</span>"
                    f"<div>{markdown_html(m['text'])}</div></li>")
    return ("<ul class='qe-thread' aria-label='" + plain_html(_("Messages")) + "'>"
            + "".join(rows) + "</ul>")
