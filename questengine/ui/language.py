"""The browser's language preference and the language picker, shared by the pages.

:class:`LanguageProbe` is an invisible widget whose front end sends
``navigator.languages`` once; the page turns it into a supported language
(:func:`questengine.i18n.negotiate`) unless the user chose one. The picker is
an ordinary dropdown; a choice goes through the user's session (saved) or,
before login, only to this tab.
"""
from __future__ import annotations

from collections.abc import Callable

import anywidget
import ipywidgets as w
import traitlets

from ..i18n import LANGUAGES, _, negotiate

__all__ = ["LanguageProbe", "language_picker"]


def _front_end():
    from .questmap import FRONT_END

    return FRONT_END


class LanguageProbe(anywidget.AnyWidget):
    """Reports the browser's preferred languages to ``on_languages(code)`` (a supported one)."""

    _esm = _front_end() / "language.js"
    language = traitlets.Unicode("en").tag(sync=True)  # the page's <html lang>

    def __init__(self, on_language: Callable[[str], None], **kwargs):
        super().__init__(**kwargs)
        self._on_language = on_language
        self.on_msg(self._msg)

    def _msg(self, _widget, content, _buffers) -> None:
        if isinstance(content, dict) and content.get("type") == "languages":
            self._on_language(negotiate(content.get("languages")))


def language_picker(current: str, on_change: Callable[[str], None]) -> w.Dropdown:
    """A dropdown of the interface languages, each named in its own language."""
    picker = w.Dropdown(options=[(name, code) for code, name in LANGUAGES.items()],
                        value=current, description="🌐", layout=w.Layout(width="180px"),
                        style={"description_width": "24px"})
    picker.add_class("qe-language")
    picker.description_allow_html = False
    picker.tooltip = _("Language")

    def changed(change):
        if change["new"] in LANGUAGES:
            on_change(change["new"])

    picker.observe(changed, "value")
    return picker
