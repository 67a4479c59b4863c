"""The state colours of every page: the one place they are defined.

The quest map (``widgets/questmap.css`` reads them as CSS custom properties that
:func:`map_css_variables` writes) and the progress center's students × steps grid
draw a step's state with these colours, always beside a symbol or a word (WCAG
1.4.1). Each colour is dark enough to be seen as a graphical object (WCAG 1.4.11,
3:1) against what it sits on: the white of a page, a node's box or a grid's
border, and the map's background; and to carry white text or be used as text on
white (WCAG 1.4.3, 4.5:1). ``tests/test_palette.py`` checks every pair.

>>> round(contrast("#ffffff", "#000000"), 1)
21.0
>>> contrast(STATE_COLOURS["success"], WHITE) >= 4.5
True
"""
from __future__ import annotations

__all__ = ["STATE_COLOURS", "STATE_MARKS", "INK", "WHITE", "MAP_BACKGROUND", "contrast",
           "map_css_variables"]

WHITE = "#ffffff"
#: the text colour on a state's fill (grid cells, count pills, the legend's chips)
INK = "#ffffff"
#: the stops of the map frame's background gradient (widgets/questmap.css)
MAP_BACKGROUND = ("#f4f8ff", "#eef3ea", "#e8efe2")

#: state -> fill colour (DESIGN section 3: locked grey, available blue, waiting orange,
#: success green, fail red)
STATE_COLOURS = {
    "locked": "#5f6368", "available": "#1a73e8", "in_progress": "#7b3fe4",
    "pending_review": "#b05a00", "returned": "#a0158a", "success": "#188038",
    "fail": "#d93025", "closed": "#757575", "draft": "#5f6368", "problem": "#d93025",
}
#: state -> the symbol drawn with the colour, so the colour is never the only sign
STATE_MARKS = {
    "locked": "🔒", "available": "○", "in_progress": "◐", "pending_review": "⏳",
    "returned": "↩", "success": "✓", "fail": "✗", "closed": "–", "draft": "", "problem": "⚠",
}


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of a ``#rrggbb`` colour."""
    h = colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    """The WCAG 2 contrast ratio of two colours, from 1 to 21.

    >>> round(contrast("#1a73e8", "#ffffff"), 2)
    4.51
    """
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def map_css_variables() -> str:
    """The map's CSS custom properties: ``--qe-<state>`` colours and each state's ``--qe-mark``."""
    props = " ".join(f"--qe-{state}: {colour};" for state, colour in STATE_COLOURS.items())
    marks = "".join(f'.qe-state-{state} {{ --qe-mark: "{mark}"; }}\n'
                    for state, mark in STATE_MARKS.items() if mark)
    return f".qe-map {{ {props} --qe-ink: {INK}; }}\n{marks}"
