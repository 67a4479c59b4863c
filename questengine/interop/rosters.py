"""CSV out: class rosters and the progress center's students x nodes grid.

Conventions shared by every CSV questengine writes (and by the roster it reads,
:meth:`questengine.classroom.Classroom.import_roster`):

- UTF-8, a header row, one row per student, ``\\r\\n`` line ends (RFC 4180);
  files are written with a byte-order mark so spreadsheet programs read
  accented names right (the roster import accepts it);
- a ``name`` column first and an ``opaque_id`` column (the student's
  identifier in every export, such as xAPI) second; ``anonymous=True`` leaves
  the names out;
- a cell that a spreadsheet would run as a formula (starting with ``=``,
  ``+``, ``-``, ``@``, a tab or a carriage return) is written with a leading
  ``'``.

PINs cannot be exported: only their hashes are stored. A roster exported here
can be imported into another class (new PINs are made there).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .. import center
from ..csvsafe import csv_cell, csv_text
from . import InteropError, teacher_of

__all__ = ["ROSTER_COLUMNS", "roster_csv", "grid_csv", "write_csv", "csv_cell"]

ROSTER_COLUMNS = ("name", "opaque_id", "class_code")


def roster_csv(source: Any, class_code: str, *, anonymous: bool = False) -> str:
    """The class roster as CSV: name, opaque_id, class_code (no PINs: only hashes are kept).

    ``source`` is a TeacherSession (their own classes) or a Classroom.
    """
    teacher, code, opened = teacher_of(source, class_code)
    try:
        students = teacher.roster(code)
    finally:
        if opened:
            teacher.logout()
    header = list(ROSTER_COLUMNS[1:] if anonymous else ROSTER_COLUMNS)
    return csv_text(header, (([] if anonymous else [s["name"]]) + [s["opaque_id"], code]
                                    for s in students))


def grid_csv(source: Any, class_code: str, quest_id: str, *, anonymous: bool = False) -> str:
    """The progress center's grid of a quest in a class as CSV (:func:`questengine.center.grid_csv`).

    One row per student, one column per node in map order with the state the
    progress center shows; read from the materialized ``progress`` table.
    ``source`` is a TeacherSession (their own classes) or a Classroom.
    """
    teacher, code, opened = teacher_of(source, class_code)
    try:
        assigned = [a["quest_id"] for a in teacher.assigned(code)]
        if quest_id not in assigned:
            raise InteropError(f"the quest {quest_id!r} is not assigned to class {code} "
                               f"(assigned: {', '.join(assigned) or 'none'})")
        return center.grid_csv(teacher.grid(code, quest_id), anonymous=anonymous)
    finally:
        if opened:
            teacher.logout()


def write_csv(text: str, output: str | Path, *, bom: bool = True) -> Path:
    """Write CSV text to a file atomically (UTF-8, with a byte-order mark unless ``bom=False``)."""
    path = Path(output)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
