"""Open formats in and out: Twine stories, xAPI statements, quest bundles, CSV rosters.

The exports read through the classroom service: every function takes a
:class:`~questengine.classroom.TeacherSession` (acting for a teacher, limited
to their classes) or a :class:`~questengine.classroom.Classroom` (whoever
holds the database: the command line), never a store or a database path.
"""
from __future__ import annotations

from typing import Any

from ..errors import ClassroomError

__all__ = ["InteropError", "teacher_of"]


class InteropError(ClassroomError):
    """An export or import that cannot go ahead (an unknown class, a bad option...)."""


def teacher_of(source: Any, class_code: str):
    """(a teacher session that may read the class, the class code, whether we opened it).

    A TeacherSession is used as it is (its own classes only); a Classroom
    gives a session of the class's teacher. An unknown class is an
    InteropError naming it.
    """
    from ..classroom import Classroom, TeacherSession

    code = str(class_code or "").strip().upper()
    if isinstance(source, TeacherSession):
        return source, code, False
    if isinstance(source, Classroom):
        if source.store.get_class(code) is None:
            raise InteropError(f"no class has the code {class_code!r}; check the code "
                               "(`questengine class create` makes one)")
        return source.teacher_session(code), code, True
    raise InteropError(f"exports read through a Classroom or a TeacherSession, got "
                       f"{type(source).__name__}")
