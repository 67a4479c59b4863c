"""What every ``questengine`` command shares: the ``--db`` option, the error wrapper, the classroom.

Both :mod:`questengine.cli` and :mod:`questengine.interop.cli` import these
(module-level commands sharing option decorators, as sqlite-utils' CLI does),
so neither imports the other's module at load time.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from .errors import QuestEngineError, QuestFileError, QuestValidationError
from .store import is_postgres

__all__ = ["db_option", "friendly", "open_classroom", "DEFAULT_DB"]

DEFAULT_DB = "run/classroom.db"


def db_option(fn):
    """``--db ADDRESS`` (or ``QUESTENGINE_DB``): a SQLite file or ``postgresql://user@host/db``."""
    return click.option(
        "--db", "db_path", envvar="QUESTENGINE_DB", default=DEFAULT_DB, show_default=True,
        metavar="ADDRESS",
        help="Classroom database: a SQLite file, or postgresql://user@host/dbname "
             "(or set QUESTENGINE_DB).")(fn)


def friendly(fn):
    """Turn the library's errors into one-line messages with exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (QuestFileError, QuestValidationError) as err:
            for problem in err.problems:
                click.echo(str(problem), err=True)
            sys.exit(1)
        except QuestEngineError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)
        except OSError as err:
            click.echo(f"error: {err.filename or ''}: {err.strerror or err}", err=True)
            sys.exit(1)
    return wrapper


def open_classroom(db_path: str, *, must_exist: bool = False):
    """The classroom at a database address; a new SQLite file's folder is made on the way.

    ``must_exist``: a SQLite file that is not there is a usage error (exit 2)
    instead of a new empty classroom.
    """
    from .classroom import Classroom
    from .store import StoreError

    if not is_postgres(db_path):
        if must_exist and not Path(db_path).is_file():
            raise click.UsageError(f"{db_path} does not exist; pass --db with your classroom "
                                   "database (or set QUESTENGINE_DB)")
        Path(db_path).parent.mkdir(parents=True, exist_ok=True)
    try:
        return Classroom(db_path)
    except StoreError as err:
        raise click.ClickException(str(err)) from err
