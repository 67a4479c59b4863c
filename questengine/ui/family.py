"""The family page: sign up with a code, log in, and read a child's quests (read-only).

Every read goes through :class:`questengine.family.FamilySession`, which checks
the approved link again; the page only lays out what the session returns.
Texts are in the family's language (their saved choice, else the browser's).
"""
from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from .. import i18n
from ..i18n import _
from .login import FormWidget, page_style
from .page import Page, classroom_from_env
from .text import markdown_html, plain_html
from .language import LanguageProbe, language_picker

__all__ = ["FamilyPage"]

STATE_ICONS = {"success": "✅", "fail": "🔁", "available": "🔵", "in_progress": "✏️",
               "pending_review": "⏳", "returned": "📝", "locked": "🔒", "closed": "➖"}


def state_words() -> dict[str, str]:
    return {"success": _("done"), "fail": _("done, with more practice to come"),
            "available": _("ready to start"), "in_progress": _("in progress"),
            "pending_review": _("waiting for the teacher's review"),
            "returned": _("returned by the teacher for another try"), "locked": _("locked"),
            "closed": _("not needed")}


def about_html() -> str:
    title = _("What is personalized learning?")
    what = _("Each child moves through a quest at their own pace. The quest has several "
             "paths: a child who has mastered a skill moves on, and a child who needs more "
             "time gets extra practice before trying again. Children can often choose how to "
             "learn: watch a video, do a worksheet, write a story or a song.")
    help_ = _("You can help at home: ask your child to tell you about the quest, what they "
              "chose and why, and what they found hard. Praise the effort more than the score.")
    return f"<h3>{plain_html(title)}</h3><p>{plain_html(what)}</p><p>{plain_html(help_)}</p>"


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _t(message: str, **values: Any) -> str:
    """``message`` (already translated by the caller) with its values, escaped for HTML."""
    return _e(message.format(**values) if values else message)


def child_html(view) -> str:
    """One child's page as HTML: every text escaped or sanitized."""
    words = state_words()
    parts = ["<h2 class='qe-child-name'>" + _e(view.name) + "</h2>",
             "<p>" + _t(_("Class")) + ": " + _e(view.class_name) + " · "
             + _t(_("Level {level}"), level=view.level) + " · "
             + _t(_("{xp} XP"), xp=view.xp) + "</p>"]
    badges = ", ".join(_e(b) for b in view.badges) or _t(_("none yet"))
    parts.append("<p>🏅 " + _t(_("Badges")) + ": " + badges + "</p>")
    for q in view.quests:
        parts.append("<section class='qe-family-quest'><h3>" + _e(q.title) + "</h3>")
        parts.append("<p>" + _t(_("{done} of {total} steps done"), done=q.done, total=q.total)
                     + (" · 🏁 " + _t(_("Quest complete!")) if q.complete else "") + "</p>")
        if q.next_steps:
            parts.append("<p><strong>" + _t(_("Next")) + ":</strong> "
                         + _e(", ".join(q.next_steps)) + "</p>")
        parts.append("<ul class='qe-steps'>")
        for s in q.steps:
            why = f"<span class='qe-step-why'>{_e(s.why)}</span>" if s.why else ""
            parts.append(f"<li class='qe-step qe-step-{_e(s.state)}'>"
                         f"<span aria-hidden='true'>{STATE_ICONS.get(s.state, '')}</span> "
                         f"{_e(s.title)}: {_e(words.get(s.state, s.state))}{why}</li>")
        parts.append("</ul>")
        if q.competencies:
            parts.append("<h4>" + _t(_("What your child is learning")) + "</h4><ul>")
            for comp in q.competencies:
                desc = f": {_e(comp['description'])}" if comp["description"] else ""
                parts.append(f"<li><strong>{_e(comp['name'])}</strong>{desc}</li>")
            parts.append("</ul>")
        parts.append("</section>")
    parts.append("<h3>" + _t(_("Goals your child set")) + "</h3>")
    if view.goals:
        parts.append("<ul>" + "".join(
            f"<li>{'✅ ' if g.get('done') else ''}{_e(g['text'])}</li>" for g in view.goals)
            + "</ul>")
    else:
        parts.append("<p>" + _t(_("No goals yet.")) + "</p>")
    parts.append("<h3>" + _t(_("Reflections your child shared with you")) + "</h3>")
    if view.reflections:
        parts.append("<ul class='qe-shared-reflections'>" + "".join(
            f"<li class='qe-reflection'>{markdown_html(r['text'])}</li>"
            for r in view.reflections) + "</ul>")
    else:
        parts.append("<p>" + _t(_("Nothing shared yet.")) + "</p>")
    return "".join(parts)


def notes_html(messages: list[dict]) -> str:
    head = "<h3>" + _t(_("Notes with the teacher")) + "</h3>"
    if not messages:
        return head + "<p>" + _t(_("No notes yet.")) + "</p>"
    items = []
    for m in messages:
        who = _("You") if m["sender"] == "family" else _("Teacher") + f" ({m['author']})"
        cls = "qe-from-family" if m["sender"] == "family" else "qe-from-teacher"
        items.append(f"<li class='qe-message {cls}'><strong>{_e(who)}</strong> "
                     f"<small>{_e(m['at'][:16].replace('T', ' '))}</small>"
                     f"{markdown_html(m['text'])}</li>")
    return head + "<ul class='qe-messages'>" + "".join(items) + "</ul>"


class FamilyPage(Page):
    """Log in or sign up; then one approved child's page at a time, and notes with the teacher."""

    def __init__(self, classroom):
        super().__init__()
        self.classroom = classroom
        self.session = None
        self.child_id: int | None = None
        self._chosen: str | None = None  # a language picked in this tab before login
        self.probe = LanguageProbe(self._browser_language)
        self.body = w.VBox()
        self.body.add_class("qe-family")
        self.widget = w.VBox([page_style(), self.probe, self.banner, self.body])
        self.widget.add_class("qe-family-page")
        self._build()

    @classmethod
    def from_env(cls) -> "FamilyPage":
        return cls(classroom_from_env())

    # language ------------------------------------------------------------------------------

    def _browser_language(self, code: str) -> None:
        if self._chosen is None and (self.session is None or not self.session.language):
            self.set_language(code, save=False)

    def set_language(self, code: str, save: bool = True) -> None:
        """Rebuild the page in ``code`` (saved for the family when logged in and ``save``)."""
        if save:
            self._chosen = code
            if self.session is not None:
                self._call(self.session.set_language, code)
        if code == i18n.active() and self.body.children:
            return
        i18n.activate(code)
        self.probe.language = code
        self._build()

    # building ------------------------------------------------------------------------------

    def _top(self) -> w.Widget:
        picker = language_picker(i18n.active(), self.set_language)
        items: list[w.Widget] = [w.HTML("<h1 class='qe-family-title'>" + _t(_("Family page")) + "</h1>"),
                                 picker]
        if self.session is not None:
            out = w.Button(description=_("Log out"), layout=w.Layout(width="auto"))
            out.add_class("qe-logout")
            out.on_click(lambda _b: self.logout())
            items.append(out)
        box = w.HBox(items)
        box.add_class("qe-family-top")
        return box

    def _build(self) -> None:
        self.banner.value = ""
        if self.session is None:
            self.body.children = [self._top(), *self._login_forms()]
        else:
            self.body.children = [self._top(), *self._signed_in()]

    def _login_forms(self) -> list[w.Widget]:
        self.login_form = FormWidget(title=_("Log in"), button=_("Log in"), clear=["password"],
                                     fields=[
            {"name": "email", "label": _("Email"), "placeholder": "you@example.org",
             "type": "email", "autocomplete": "email"},
            {"name": "password", "label": _("Password"), "type": "password",
             "autocomplete": "current-password"}])
        self.login_form.add_class("qe-card")
        self.login_form.add_class("qe-family-login")
        self.login_form.on_submit(self._login)
        self.signup_form = FormWidget(title=_("New here? Sign up with your family code"),
                                      button=_("Sign up"), clear=["password"], fields=[
            {"name": "code", "label": _("Family code"), "placeholder": "ABCD-EFGH-JKMN"},
            {"name": "name", "label": _("Your name"), "autocomplete": "name"},
            {"name": "email", "label": _("Email"), "placeholder": "you@example.org",
             "type": "email", "autocomplete": "email"},
            {"name": "password", "label": _("A password of your own (8 characters or more)"),
             "type": "password", "autocomplete": "new-password"}])
        self.signup_form.add_class("qe-card")
        self.signup_form.add_class("qe-family-signup")
        self.signup_form.on_submit(self._sign_up)
        forms = w.HBox([self.login_form, self.signup_form])
        forms.add_class("qe-family-forms")
        about = w.HTML(about_html())
        about.add_class("qe-family-about")
        return [forms, about]

    def _login(self, values: dict) -> None:
        session = self._form_call(self.login_form, self.classroom.login_family,
                                  values.get("email", ""), values.get("password", ""))
        if session is not None:
            self.start(session)

    def _sign_up(self, values: dict) -> None:
        session = self._form_call(self.signup_form, self.classroom.sign_up_family,
                                  values.get("code", ""), values.get("email", ""),
                                  values.get("name", ""), values.get("password", ""),
                                  i18n.active())
        if session is not None:
            self.start(session)

    def _form_call(self, form: FormWidget, fn, *args):
        from .login import friendly_call

        return friendly_call(fn, lambda text: form.say(text, "error"), *args)

    def start(self, session) -> None:
        """Show the page of a logged-in family (in their saved language, if any)."""
        self.session = session
        self._session_began()
        if session.language:
            i18n.activate(session.language)
            self.probe.language = session.language
        elif self._chosen:
            self._call(session.set_language, self._chosen)
        children = [c for c in session.children() if c["status"] == "approved"]
        self.child_id = children[0]["student_id"] if children else None
        self._build()

    def logout(self) -> None:
        if self.session is not None:
            self._call(self.session.logout)
        self.session, self.child_id = None, None
        self._close_session_widgets(keep=(self.widget, self.body, self.banner, self.probe))
        self._build()

    def _signed_in(self) -> list[w.Widget]:
        s = self.session
        children = self._call(s.children) or []
        approved = [c for c in children if c["status"] == "approved"]
        hello = w.HTML("<p class='qe-family-hello'>"
                       + _t(_("Hello, {name}!"), name=s.name) + " "
                       + _e(self._call(s.summary) or "") + "</p>")
        items: list[w.Widget] = [hello]
        if not approved:
            waiting = _("The teacher has not approved your request yet. Come back later: "
                        "this page will show your child once they have.")
            items.append(w.HTML(f"<div class='qe-card qe-family-child qe-waiting' role='status'>"
                                f"<p>{_e(waiting)}</p></div>"))
        else:
            if len(approved) > 1:
                self.picker = w.Dropdown(options=[(c["name"], c["student_id"]) for c in approved],
                                         value=self.child_id, description=_("Child"))
                self.picker.add_class("qe-child-picker")
                self.picker.observe(self._pick_child, "value")
                items.append(self.picker)
            items.extend(self._child_widgets())
        self.code_form = FormWidget(title=_("Follow another child"), button=_("Add"),
                                    fields=[{"name": "code", "label": _("Family code"),
                                             "placeholder": "ABCD-EFGH-JKMN"}], clear=["code"])
        self.code_form.add_class("qe-card")
        self.code_form.add_class("qe-family-add")
        self.code_form.on_submit(self._add_code)
        items.append(self.code_form)
        about = w.HTML(about_html())
        about.add_class("qe-family-about")
        items.append(about)
        return items

    def _pick_child(self, change) -> None:
        value = change["new"]
        view = self._call(self.session.child, value)  # the session decides, not the picker
        if view is not None:
            self.child_id = value
            self._build()

    def _child_widgets(self) -> list[w.Widget]:
        view = self._call(self.session.child, self.child_id)
        if view is None:
            return []
        child = w.HTML(child_html(view))
        child.add_class("qe-card")
        child.add_class("qe-family-child")
        self.notes = w.HTML(notes_html(view.messages))
        self.notes.add_class("qe-family-notes")
        self.reply_form = FormWidget(title=_("Write to the teacher"), button=_("Send"),
                                     fields=[{"name": "message", "label": _("Your message")}],
                                     clear=["message"])
        self.reply_form.add_class("qe-family-reply")
        self.reply_form.on_submit(self._reply)
        box = w.VBox([self.notes, self.reply_form])
        box.add_class("qe-card")
        box.add_class("qe-family-child")
        return [child, box]

    def _reply(self, values: dict) -> None:
        text = values.get("message", "")
        sent = self._form_call(self.reply_form, self.session.reply, self.child_id, text)
        if sent is not None:
            self.reply_form.say(_("Sent."), "info")
            messages = self._call(self.session.messages, self.child_id) or []
            self.notes.value = notes_html(messages)

    def _add_code(self, values: dict) -> None:
        status = self._form_call(self.code_form, self.session.add_code, values.get("code", ""))
        if status is not None:
            self._build()
            self.flash(_("Thank you! The teacher will approve your request.")
                       if status == "pending" else _("You already follow this child."), "info")
