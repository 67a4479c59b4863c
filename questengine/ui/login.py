"""Login forms: a student's (class code, name, PIN) and a teacher's (email, password).

The forms only collect text and call the classroom service; the service
decides. Errors are shown as plain sentences.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anywidget
import ipywidgets as w
import traitlets

from ..errors import QuestEngineError
from ..i18n import N_, _
from .text import plain_html

__all__ = ["StudentLogin", "TeacherLogin", "FormWidget", "page_style", "friendly_call"]

log = logging.getLogger("questengine.ui")
GENERIC_ERROR = N_("Something went wrong. Everything you did so far is saved; please try again.")


def page_style() -> w.HTML:
    """The pages' stylesheet (shipped with the package, no network)."""
    from .questmap import FRONT_END

    return w.HTML(f"<style>{(FRONT_END / 'pages.css').read_text(encoding='utf-8')}</style>")


def friendly_call(fn: Callable[..., Any], show: Callable[[str], None], *args, **kwargs) -> Any:
    """Call ``fn``; show a plain sentence (in the page's language) instead of a traceback if
    it fails."""
    return call_showing(fn, show, None, *args, **kwargs)


def call_showing(fn: Callable[..., Any], show: Callable[[str], None], names, *args,
                 **kwargs) -> Any:
    """:func:`friendly_call`, naming the steps in a refusal by their titles in ``names``
    (the quest graph the page shows, in the user's language)."""
    try:
        return fn(*args, **kwargs)
    except QuestEngineError as err:
        show(err.translated(_, names))
    except Exception:  # never a traceback in a student's page
        log.exception("unexpected error in a page action")
        show(_(GENERIC_ERROR))
    return None


class _Form:
    def __init__(self, title: str, fields: list[w.Widget], button: str):
        self.fields = fields
        self.message = w.HTML(layout=w.Layout(min_height="24px"))
        self.button = w.Button(description=button, button_style="primary",
                               layout=w.Layout(width="100%", height="40px"))
        self.button.add_class("qe-login-button")
        heading = w.HTML(f"<h2 class='qe-login-title'>{title}</h2>")
        self.widget = w.VBox([heading, *fields, self.button, self.message],
                             layout=w.Layout(width="340px", margin="40px auto", padding="24px"))
        self.widget.add_class("qe-card")
        self.widget.add_class("qe-login")

    def clear(self) -> None:
        """Empty every field and message (after a logout: the next user starts blank)."""
        for field in self.fields:
            field.value = ""
        self.message.value = ""

    def show_error(self, text: str) -> None:
        self.message.value = f"<div class='qe-error' role='alert'>{plain_html(text)}</div>"


def _front_end():
    from .questmap import FRONT_END

    return FRONT_END


class FormWidget(anywidget.AnyWidget):
    """A form whose submit (Enter in any field, or its button) sends every field's value.

    ``fields`` is a list of ``{name, label, placeholder, type, inputmode}``; the
    handler given to :meth:`on_submit` gets ``{name: text}``. The values are only
    input: whoever handles them checks them.
    """

    _esm = _front_end() / "form.js"
    title = traitlets.Unicode("").tag(sync=True)
    button = traitlets.Unicode("OK").tag(sync=True)
    fields = traitlets.List(traitlets.Dict()).tag(sync=True)
    message = traitlets.Unicode("").tag(sync=True)
    message_kind = traitlets.Unicode("error").tag(sync=True)
    clear = traitlets.List(traitlets.Unicode()).tag(sync=True)  # fields emptied after a submit

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._handlers: list[Callable[[dict], None]] = []
        self.on_msg(self._on_msg)

    def on_submit(self, handler: Callable[[dict], None]) -> None:
        self._handlers.append(handler)

    def submit(self, **values: str) -> None:
        """Submit as the browser does (for tests and scripts)."""
        self._on_msg(self, {"type": "submit", "values": values}, [])

    def _on_msg(self, _widget, content, _buffers) -> None:
        if not isinstance(content, dict) or content.get("type") != "submit":
            return
        raw = content.get("values")
        names = [f["name"] for f in self.fields]
        values = {n: str(raw.get(n, "")) if isinstance(raw, dict) else "" for n in names}
        for handler in self._handlers:
            handler(values)

    def say(self, text: str, kind: str = "error") -> None:
        self.message = ""  # the same sentence twice is shown twice
        self.message_kind = kind
        self.message = text


class _Value:
    """A field's value set from Python (scripts and tests); the browser sends its own."""

    def __init__(self) -> None:
        self.value = ""


class _Message:
    def __init__(self, form) -> None:
        self._form = form

    @property
    def value(self) -> str:
        return self._form.message


class _SubmitButton:
    def __init__(self, press: Callable[[], None]) -> None:
        self.click = press


class StudentLogin:
    """Class code, name and PIN; calls ``on_login(session)`` when the service accepts them.

    The three values come together with the submit (Enter or the button), so a fast
    typist's last keys are never lost. From Python, set ``code.value``, ``name.value``
    and ``pin.value`` and call ``button.click()``, or call :meth:`submit`.
    """

    FIELDS = [  # English here; the form shows them in the active language (fields())
        {"name": "code", "label": N_("Class code"), "placeholder": N_("e.g. OWL-1234"),
         "autocomplete": "off"},
        {"name": "name", "label": N_("Your name"), "placeholder": N_("First and last name"),
         "autocomplete": "off"},
        {"name": "pin", "label": N_("PIN"), "placeholder": N_("4 digits"), "type": "password",
         "inputmode": "numeric", "autocomplete": "off"},
    ]
    MISSING = {"code": N_("your class code"), "name": N_("your name"), "pin": N_("your PIN")}

    @classmethod
    def fields(cls) -> list[dict]:
        """The fields with their labels in the active language."""
        return [{**f, "label": _(f["label"]), "placeholder": _(f["placeholder"])}
                for f in cls.FIELDS]

    def __init__(self, classroom, on_login: Callable[[Any], None]):
        self.classroom = classroom
        self.on_login = on_login
        self.form = FormWidget(title=_("Start your quest"), button=_("Let's go!"),
                               fields=self.fields(), clear=["pin"])
        self.form.add_class("qe-card")
        self.form.add_class("qe-login")
        self.form.on_submit(self._submit)
        self.widget = self.form
        self.code, self.name, self.pin = _Value(), _Value(), _Value()
        self.button = _SubmitButton(lambda: self.submit(self.code.value, self.name.value,
                                                        self.pin.value))

    @property
    def message(self):
        """The message shown under the form (``message.value``, as text)."""
        return _Message(self.form)

    def relabel(self) -> None:
        """Show the form in the active language (what was typed stays)."""
        self.form.title, self.form.button = _("Start your quest"), _("Let's go!")
        self.form.fields = self.fields()

    def clear(self) -> None:
        """Empty every field and the message (after a logout: the next user starts blank)."""
        for value in (self.code, self.name, self.pin):
            value.value = ""
        self.form.message = ""
        self.form.send({"type": "clear_all"})

    def show_error(self, text: str) -> None:
        self.form.say(text, "error")

    def show_info(self, text: str) -> None:
        self.form.say(text, "info")

    def submit(self, code: str, name: str, pin: str) -> None:
        """Log in with these values, as the form does."""
        self._submit({"code": code, "name": name, "pin": pin})

    def _submit(self, values: dict) -> None:
        missing = [_(self.MISSING[k]) for k in ("code", "name", "pin")
                   if not values.get(k, "").strip()]
        if missing:
            if len(missing) == 1:
                self.show_error(_("Please type {what}.").format(what=missing[0]))
            else:
                self.show_error(_("Please type {list} and {last}.").format(
                    list=", ".join(missing[:-1]), last=missing[-1]))
            return
        self.form.message = ""
        session = friendly_call(self.classroom.login_student, self.show_error,
                                values["code"].strip(), values["name"].strip(), values["pin"].strip())
        if session is not None:
            self.form.send({"type": "clear"})
            self.on_login(session)


class TeacherLogin(_Form):
    """Email and password; calls ``on_login(session)`` when the service accepts them."""

    def __init__(self, classroom, on_login: Callable[[Any], None]):
        self.classroom = classroom
        self.on_login = on_login
        self.email = w.Text(placeholder="you@school.org", description=_("Email"))
        self.password = w.Password(description=_("Password"))
        for field in (self.email, self.password):
            field.layout = w.Layout(width="100%")
            field.style = {"description_width": "90px"}
        self.email.add_class("qe-email")
        self.password.add_class("qe-password")
        super().__init__(_("Teacher login"), [self.email, self.password], _("Log in"))
        self.button.on_click(self._submit)

    def _submit(self, _=None) -> None:
        self.message.value = ""
        session = friendly_call(self.classroom.login_teacher, self.show_error,
                                self.email.value, self.password.value)
        if session is not None:
            self.password.value = ""
            self.on_login(session)
