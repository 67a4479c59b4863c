"""The countdown of a timed challenge (issue 15): it shows, the engine decides.

The page sets ``seconds`` from :meth:`StudentSession.time_left` (the service's clock and
the student's own limit, longer with the "more time" support). The browser only counts
down from it and says, through a live region, "one minute left" and "time is up" once
each; an answer's timeliness is judged by the engine from the events' times.
"""
from __future__ import annotations

import anywidget
import traitlets

from ..i18n import _
from .questmap import FRONT_END

__all__ = ["Countdown"]


class Countdown(anywidget.AnyWidget):
    """Seconds left on a timed challenge, counted down in the browser (informative only)."""

    _esm = FRONT_END / "countdown.js"
    _css = """
.qe-countdown { margin: 4px 0 8px; }
.qe-countdown-time { display: inline-block; margin: 0; padding: 4px 12px; border-radius: 16px;
  border: 2px solid #1a73e8; color: #174ea6; background: #fff; font-weight: 700;
  font-variant-numeric: tabular-nums; }
.qe-countdown-low .qe-countdown-time { border-color: #b05a00; color: #8a4600; }
.qe-countdown-up .qe-countdown-time { border-color: #d93025; color: #b3261e; }
"""
    seconds = traitlets.Float(0).tag(sync=True)
    words = traitlets.Dict().tag(sync=True)  # the sentences in the page's language

    def __init__(self, seconds: float, **kwargs):
        kwargs.setdefault("words", {
            "left": _("⏱ {time} left"), "over": _("⏱ Time is up"),
            "minute": _("One minute left."),
            "up": _("Time is up. Hand in what you have."),
        })
        super().__init__(seconds=float(seconds), **kwargs)
