"""What every page shares: a message banner, calls that show errors as sentences,
display in a notebook, and the classroom named by the environment."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import ipywidgets as w

from .login import friendly_call
from .text import plain_html

__all__ = ["Page", "classroom_from_env"]


def classroom_from_env():
    """The classroom over the database named by QUESTENGINE_DB (default run/classroom.db)."""
    from ..classroom import Classroom

    return Classroom(os.environ.get("QUESTENGINE_DB", str(Path("run") / "classroom.db")))


class Page:
    """Base of the pages: ``widget`` is the page, ``banner`` its message line."""

    widget: w.Widget

    def __init__(self) -> None:
        self.banner = w.HTML()
        self.banner.add_class("qe-banner")

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget)

    def flash(self, text: str, kind: str = "error") -> None:
        """Show a message: ``error`` (an alert) or ``info``."""
        role = "alert" if kind == "error" else "status"
        self.banner.value = (f"<div class='qe-flash qe-flash-{kind}' role='{role}'>"
                             f"{plain_html(text)}</div>")

    def _call(self, fn, *args, **kwargs) -> Any:
        """Call the service; on failure show a sentence (never a traceback) and return None."""
        return friendly_call(fn, self.flash, *args, **kwargs)
