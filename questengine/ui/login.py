"""Login forms: a student's (class code, name, PIN) and a teacher's (email, password).

The forms only collect text and call the classroom service; the service
decides. Errors are shown as plain sentences.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from ..errors import QuestEngineError
from .text import plain_html

__all__ = ["StudentLogin", "TeacherLogin", "page_style", "friendly_call"]

log = logging.getLogger("questengine.ui")
GENERIC_ERROR = "Something went wrong. Everything you did so far is saved; please try again."


def page_style() -> w.HTML:
    """The pages' stylesheet (shipped with the package, no network)."""
    from .questmap import FRONT_END

    return w.HTML(f"<style>{(FRONT_END / 'pages.css').read_text(encoding='utf-8')}</style>")


def friendly_call(fn: Callable[..., Any], show: Callable[[str], None], *args, **kwargs) -> Any:
    """Call ``fn``; show a plain sentence instead of a traceback if it fails."""
    try:
        return fn(*args, **kwargs)
    except QuestEngineError as err:
        show(str(err))
    except Exception:  # never a traceback in a student's page
        log.exception("unexpected error in a page action")
        show(GENERIC_ERROR)
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


class StudentLogin(_Form):
    """Class code, name and PIN; calls ``on_login(session)`` when the service accepts them."""

    def __init__(self, classroom, on_login: Callable[[Any], None]):
        self.classroom = classroom
        self.on_login = on_login
        self.code = w.Text(placeholder="e.g. OWL-1234", description="Class code")
        self.name = w.Text(placeholder="Your name", description="Name")
        self.pin = w.Password(placeholder="4 digits", description="PIN")
        for field in (self.code, self.name, self.pin):
            field.layout = w.Layout(width="100%")
            field.style = {"description_width": "90px"}
        self.code.add_class("qe-code")
        self.name.add_class("qe-name")
        self.pin.add_class("qe-pin")
        super().__init__("Start your quest", [self.code, self.name, self.pin], "Let's go!")
        self.button.on_click(self._submit)

    def _submit(self, _=None) -> None:
        self.message.value = ""
        session = friendly_call(self.classroom.login_student, self.show_error,
                                self.code.value, self.name.value, self.pin.value)
        if session is not None:
            self.pin.value = ""
            self.on_login(session)


class TeacherLogin(_Form):
    """Email and password; calls ``on_login(session)`` when the service accepts them."""

    def __init__(self, classroom, on_login: Callable[[Any], None]):
        self.classroom = classroom
        self.on_login = on_login
        self.email = w.Text(placeholder="you@school.org", description="Email")
        self.password = w.Password(description="Password")
        for field in (self.email, self.password):
            field.layout = w.Layout(width="100%")
            field.style = {"description_width": "90px"}
        self.email.add_class("qe-email")
        self.password.add_class("qe-password")
        super().__init__("Teacher login", [self.email, self.password], "Log in")
        self.button.on_click(self._submit)

    def _submit(self, _=None) -> None:
        self.message.value = ""
        session = friendly_call(self.classroom.login_teacher, self.show_error,
                                self.email.value, self.password.value)
        if session is not None:
            self.password.value = ""
            self.on_login(session)
