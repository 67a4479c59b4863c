"""The interop commands (import-twee, export-xapi, bundle, import-bundle, roster export)."""
from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Add the interop commands to the ``questengine`` command group."""
