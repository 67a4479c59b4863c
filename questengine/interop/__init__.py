"""Open formats in and out: Twine stories, xAPI statements, quest bundles, CSV rosters.

Every function here takes a :class:`~questengine.store.Store` or a
:class:`~questengine.classroom.Classroom` and reads what it needs itself.
"""
from __future__ import annotations

from typing import Any

from ..errors import ClassroomError

__all__ = ["InteropError", "store_of", "class_row"]


class InteropError(ClassroomError):
    """An export or import that cannot go ahead (an unknown class, a bad option...)."""


def store_of(source: Any):
    """The store behind a Classroom, a Store, or a database path."""
    from pathlib import Path

    from ..store import Store

    if isinstance(source, (str, Path)):
        return Store(source)
    return getattr(source, "store", source)


def class_row(store: Any, class_code: str) -> dict:
    """The class with this code, or InteropError naming it."""
    code = str(class_code or "").strip().upper()
    row = store.get_class(code)
    if row is None:
        raise InteropError(f"no class has the code {class_code!r}; check the code "
                           "(`questengine class create` makes one)")
    return row
