"""What every page shares: a message banner, calls that show errors as sentences,
display in a notebook, the classroom named by the environment, and (when served by
Voilà) a kernel that sends no traceback and forgets a user's widgets at logout."""
from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import traitlets
from ipywidgets.widgets import widget as _widget_module

from .login import _front_end, call_showing, friendly_call
from .text import plain_html

__all__ = ["Page", "LiveRegion", "classroom_from_env", "guard_kernel", "hub_user"]

log = logging.getLogger("questengine.ui")
_guarded = False


def guard_kernel() -> None:
    """Make sure nothing this kernel sends to the browser carries a traceback or a path.

    Voilà hides tracebacks of the notebook's cells, but later errors travel in widget
    messages: an exception in a widget callback goes through IPython's ``showtraceback``
    (an ``error`` message on iopub), and an exception while handling a comm message
    (a forged trait value) is logged by a logger without handlers, whose last-resort
    handler writes to ``sys.stderr``: the page's output stream. Here tracebacks and
    every log record go to the server's own stderr (Voilà's log) instead.
    """
    global _guarded
    if _guarded:
        return
    _guarded = True
    server_log = sys.__stderr__
    handler = logging.StreamHandler(server_log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s"))
    logging.getLogger().addHandler(handler)  # logging.lastResort never runs now
    logging.captureWarnings(True)  # warnings name files: into the log, not the page
    sys.stderr = server_log
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return
    shell = get_ipython()
    if shell is not None:
        def keep_out_of_the_page(etype, evalue, stb):
            log.error("an error in a page (the user saw a plain sentence):\n%s",
                      "\n".join(stb) if isinstance(stb, list) else stb)

        shell._showtraceback = keep_out_of_the_page


def _import_sqlite_utils_lean() -> None:
    """Import sqlite-utils without pandas and numpy.

    sqlite-utils imports both at once whenever they are installed (the test extra has
    pandas), for DataFrame conveniences the store never uses: about 40 MB more in every
    page's kernel, one kernel per student. A page's kernel imports it with them hidden;
    a later ``import pandas`` in the same process still works.
    """
    if "sqlite_utils" in sys.modules:
        return
    hidden = [m for m in ("pandas", "numpy") if m not in sys.modules]
    for m in hidden:
        sys.modules[m] = None  # type: ignore[assignment]  # "import pandas" -> ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for m in hidden:
            if sys.modules.get(m, 0) is None:
                del sys.modules[m]


def classroom_from_env():
    """The classroom over the database named by QUESTENGINE_DB (default run/classroom.db)."""
    _import_sqlite_utils_lean()
    from ..classroom import Classroom

    return Classroom(os.environ.get("QUESTENGINE_DB", str(Path("run") / "classroom.db")))


def hub_user() -> dict | None:
    """Who this page's server belongs to when it runs behind JupyterHub, else None.

    The values come from the server's environment, set by the hub's spawner for the
    user it authenticated (``questengine.hub``): never from the browser, the query string
    or a widget, which the person at the page controls.
    """
    if not os.environ.get("QUESTENGINE_HUB"):
        return None
    return {"name": os.environ.get("JUPYTERHUB_USER", ""),
            "role": os.environ.get("QUESTENGINE_HUB_ROLE") or None,
            "class_code": os.environ.get("QUESTENGINE_HUB_CLASS") or None}


class _HubSignedOut:
    """What stands where the login form was, behind JupyterHub: one sentence, no fields."""

    def __init__(self) -> None:
        self.widget = w.HTML()
        self.relabel()

    def clear(self) -> None:
        pass

    def relabel(self) -> None:  # the sentence in the page's (new) language
        from ..i18n import _

        self.widget.value = ("<div class='qe-flash qe-flash-info qe-hub-signed-out' "
                             "role='status'>" + plain_html(_(
                                 "You are logged out of this page. Reload it to come back, or "
                                 "log out of the hub to leave.")) + "</div>")

    def show_info(self, text: str) -> None:
        pass

    def show_error(self, text: str) -> None:
        pass


class LiveRegion(anywidget.AnyWidget):
    """An HTML message line that screen readers announce when ``value`` changes.

    Used like ``ipywidgets.HTML`` (``value`` is HTML the kernel made safe), but its element
    stays in the page with ``aria-live``, so every new message is read out.
    """

    _esm = _front_end() / "live.js"
    value = traitlets.Unicode("").tag(sync=True)
    politeness = traitlets.Unicode("polite").tag(sync=True)


class Page:
    """Base of the pages: ``widget`` is the page, ``banner`` its message line."""

    widget: w.Widget

    def __init__(self) -> None:
        if os.environ.get("QUESTENGINE_SERVED"):
            guard_kernel()
        self.banner = LiveRegion()
        self.banner.add_class("qe-banner")
        self._before_session: set[str] | None = None

    def _session_began(self) -> None:
        """Remember which widgets exist before a user's own (closed again at logout)."""
        self._before_session = set(_widget_module._instances)

    def _close_session_widgets(self, keep: tuple[w.Widget, ...] = ()) -> int:
        """Close every widget made since login, so the next person at this browser tab
        cannot read the last one's quests, answers or feedback from the widget manager.

        Returns how many were closed.
        """
        if self._before_session is None:
            return 0
        kept = {id(k) for k in keep}
        closed = 0
        for model_id, widget in list(_widget_module._instances.items()):
            if model_id not in self._before_session and id(widget) not in kept:
                widget.close()
                closed += 1
        self.banner.value = ""
        self._before_session = None
        return closed

    def sign_in_hub_user(self, classroom, kind: str, open_session) -> bool:
        """Behind JupyterHub: open the page for the hub user's roster entry, or say why not.

        The hub's login is the only login, so the page's own form is replaced by the
        person's page (``open_session(session)``) or by one sentence. Returns False when
        the page is not behind a hub (the form stays).
        """
        user = hub_user()
        if user is None:
            return False
        from ..classroom import StudentSession, TeacherSession

        # the page's own form is no way in behind the hub: closed, and a login sent to it
        # anyway (a forged widget message) is ended at once; a logout shows a sentence
        form = getattr(self, "login", None)
        if form is not None:
            form.on_login = lambda session: session.logout()
            form.widget.close()
            self.login = _HubSignedOut()

        def refuse(text: str) -> None:
            self.widget.children = [self.widget.children[0], w.HTML(
                f"<div class='qe-flash qe-flash-error qe-hub-refusal' role='alert'>"
                f"{plain_html(text)}</div>")]

        session = friendly_call(classroom.login_hub, refuse, user["name"], user["role"],
                                user["class_code"])
        if session is None:
            return True
        wanted = TeacherSession if kind == "teacher" else StudentSession
        if not isinstance(session, wanted):
            session.logout()
            refuse("This page is for teachers; your quests are on the play page."
                   if kind == "teacher" else
                   "This page is for students; your progress center is the progress page.")
            return True
        open_session(session)
        return True

    def _ipython_display_(self):  # pragma: no cover - notebook display
        from IPython.display import display

        display(self.widget)

    def flash(self, text: str, kind: str = "error") -> None:
        """Show a message: ``error`` (an alert) or ``info``."""
        role = "alert" if kind == "error" else "status"
        self.banner.value = (f"<div class='qe-flash qe-flash-{kind}' role='{role}'>"
                             f"{plain_html(text)}</div>")

    def shown_graph(self):
        """The quest graph this page shows (its titles name the steps in a refusal), if any."""
        return None

    def _call(self, fn, *args, **kwargs) -> Any:
        """Call the service; on failure show a sentence in the user's language (never a
        traceback) and return None."""
        return call_showing(fn, self.flash, self.shown_graph(), *args, **kwargs)
