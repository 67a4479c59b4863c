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

from ..csvsafe import csv_cell, csv_text
from ..engine import replay
from ..graph import quest_graph
from ..loader import loads_quest
from . import InteropError, class_row, store_of

__all__ = ["ROSTER_COLUMNS", "roster_csv", "grid_csv", "write_csv", "csv_cell"]

ROSTER_COLUMNS = ("name", "opaque_id", "class_code")
def _csv(header: list[str], rows: list[list[Any]]) -> str:
    return csv_text(header, rows)


def roster_csv(source: Any, class_code: str, *, anonymous: bool = False) -> str:
    """The class roster as CSV: name, opaque_id, class_code (no PINs: only hashes are kept)."""
    store = store_of(source)
    code = class_row(store, class_code)["code"]
    students = store.students_in(code)
    header = list(ROSTER_COLUMNS[1:] if anonymous else ROSTER_COLUMNS)
    rows = [([] if anonymous else [s["name"]]) + [s["opaque_id"], code] for s in students]
    return _csv(header, rows)


def grid_csv(source: Any, class_code: str, quest_id: str, *, anonymous: bool = False) -> str:
    """The progress grid of a quest in a class: one row per student, one column per node.

    Columns: name, opaque_id, xp, complete, then every node of the quest's
    latest version (by id, in map order) holding the student's state there
    (``locked``, ``available``, ``in_progress``, ``pending_review``,
    ``returned``, ``success``, ``fail`` or ``closed``). Read from the
    materialized ``progress`` table; a student who has not started shows the
    states of a fresh start.
    """
    store = store_of(source)
    code = class_row(store, class_code)["code"]
    if not any(a["quest_id"] == quest_id for a in store.assignments(code)):
        assigned = ", ".join(a["quest_id"] for a in store.assignments(code)) or "none"
        raise InteropError(f"the quest {quest_id!r} is not assigned to class {code} "
                           f"(assigned: {assigned})")
    row = store.quest_row(quest_id)
    quest = loads_quest(row["source"], f"{quest_id} v{row['version']}")
    G = quest_graph(quest.model_copy(update={"version": row["version"]}))
    nodes = [n.id for n in quest.nodes]
    fresh = replay(G, []).states()
    students = store.students_in(code)
    states: dict[int, dict[str, str]] = {}
    for r in store._rows(
            "select p.student_id, p.node, p.state from progress p join enrolments e on "
            "e.student_id = p.student_id and e.class_code = ? where p.quest_id = ?",
            (code, quest_id)):
        states.setdefault(r["student_id"], {})[r["node"]] = r["state"]
    status = {r["student_id"]: r for r in store._rows(
        "select q.student_id, q.xp, q.complete from quest_status q join enrolments e on "
        "e.student_id = q.student_id and e.class_code = ? where q.quest_id = ?",
        (code, quest_id))}
    header = ([] if anonymous else ["name"]) + ["opaque_id", "xp", "complete"] + nodes
    rows = []
    for s in students:
        mine = states.get(s["id"], {})
        st = status.get(s["id"])
        rows.append(([] if anonymous else [s["name"]])
                    + [s["opaque_id"], st["xp"] if st else 0,
                       "yes" if st and st["complete"] else "no"]
                    + [mine.get(n, fresh[n]) for n in nodes])
    return _csv(header, rows)


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
