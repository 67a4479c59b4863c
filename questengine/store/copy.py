"""Copy a whole classroom from one store to another (``questengine migrate``).

Every table is copied row for row, ids kept, into an empty target inside one
transaction; then the copy is verified: the same number of rows in every
table, the same rows, and each student's event log replayed in the target
gives the same progress as in the source.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from . import TABLES, StoreError, StoreInterface

__all__ = ["CopyReport", "copy_classroom"]


@dataclass
class CopyReport:
    """What was copied and what the verification checked."""

    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied
    replayed: int = 0  # (student, quest) logs replayed on both sides
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _is_empty(store) -> bool:
    return all(store.count_rows(t) == 0
               for t in ("teachers", "classes", "students", "quests", "events"))


def copy_classroom(source: StoreInterface, target: StoreInterface, *,
                   registry=None) -> CopyReport:
    """Copy every row of ``source`` into the empty ``target``, then verify the copy.

    Raises StoreError when the target already holds a classroom or the
    schemas differ; the report lists any difference the verification found.
    """
    if source.schema_version != target.schema_version:
        raise StoreError(f"the two databases have schema versions {source.schema_version} and "
                         f"{target.schema_version}; open both with this questengine first")
    if not _is_empty(target):
        raise StoreError(f"{getattr(target, 'shown', target.address)} already holds a classroom; "
                         "migrate copies into an empty database only")
    report = CopyReport()
    with target.bulk_load(TABLES):  # indexes built once at the end, statistics gathered
        for table in TABLES:
            columns = source.table_columns(table)
            missing = set(columns) - set(target.table_columns(table))
            if missing:
                raise StoreError(f"the target's table {table} has no column "
                                 f"{', '.join(sorted(missing))}")
            rows = source.dump_table(table)
            target.load_table(table, columns, rows)
            report.rows[table] = len(rows)
    _verify(source, target, report, registry)
    return report


def _verify(source, target, report: CopyReport, registry) -> None:
    from ..classroom import Classroom
    from ..engine import replay

    for table in TABLES:
        n_source, n_target = source.count_rows(table), target.count_rows(table)
        if n_source != n_target:
            report.problems.append(f"{table}: {n_source} rows in the source, {n_target} copied")
            continue
        columns = source.table_columns(table)
        if Counter(map(repr, source.dump_table(table))) != Counter(
                map(repr, _dump(target, table, columns))):
            report.problems.append(f"{table}: the copied rows differ from the source's")
    classroom = Classroom(target, registry=registry)
    pairs = {(sid, quest) for sid, quest in
             ((r[1], r[2]) for r in source.dump_table("events"))}
    for sid, quest in sorted(pairs):
        try:
            G = classroom.graph(quest)
        except Exception as err:  # a quest that cannot be opened here: say so, go on
            report.problems.append(f"quest {quest!r} cannot be replayed here: {err}")
            continue
        before = replay(G, source.events(sid, quest))
        after = replay(G, target.events(sid, quest))
        if (before.states(), before.xp, before.badges) != (after.states(), after.xp, after.badges):
            report.problems.append(f"student {sid} in {quest!r}: the replay differs after copying")
        report.replayed += 1


def _dump(store, table: str, columns: list[str]) -> list[tuple]:
    if store.table_columns(table) == columns:
        return store.dump_table(table)
    return store._all(f"select {', '.join(columns)} from {table}")
