"""CSV that spreadsheets show rather than run: every text cell defused against formulas.

A name such as ``=HYPERLINK("http://evil","Click")`` or ``+cmd|' /C calc'!A0`` typed
by a student would otherwise run as a formula when a teacher opens the export in a
spreadsheet (CSV injection). Every CSV questengine writes goes through :func:`csv_text`.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

__all__ = ["csv_cell", "csv_text"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "|", "%")


def csv_cell(value: Any) -> str:
    """A value as CSV text; text that a spreadsheet would read as a formula gets a leading '.

    >>> csv_cell("=HYPERLINK(1)"), csv_cell(3), csv_cell(-2.5), csv_cell(None), csv_cell("Ana")
    ("'=HYPERLINK(1)", '3', '-2.5', '', 'Ana')
    """
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # a real number is never a formula
    text = str(value)
    return "'" + text if text.lstrip(" ").startswith(_FORMULA_START) else text


def csv_text(header: Iterable[Any], rows: Iterable[Iterable[Any]]) -> str:
    """A whole CSV document (CRLF line ends, as RFC 4180 and spreadsheets expect)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([csv_cell(h) for h in header])
    for row in rows:
        writer.writerow([csv_cell(v) for v in row])
    return buf.getvalue()
