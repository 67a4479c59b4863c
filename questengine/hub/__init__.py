"""questengine on JupyterHub: a school's or a district's deployment.

- :mod:`questengine.hub.config`: :func:`configure` fills JupyterHub's configuration;
- ``jupyterhub_config.py`` (:data:`CONFIG`): the same, from environment variables;
- :func:`write_config`: what ``questengine hub`` writes (the values spelled out);
- :mod:`questengine.hub.singleuser`: the user's server (Voilà behind the hub's OAuth);
- :mod:`questengine.hub.identity`: the hub's identity provider for standalone Voilà.
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

__all__ = ["CONFIG", "write_config"]

CONFIG = Path(__file__).resolve().parent / "jupyterhub_config.py"


def write_config(path: str | Path, **settings) -> Path:
    """Write a ``jupyterhub_config.py`` that configures the hub with ``settings``.

    ``settings`` are :func:`questengine.hub.config.configure`'s keyword arguments
    (``db``, ``quests``, ``run``, ``ip``, ``port``, ``authenticator``, ``spawner``,
    ``lti``, ``dummy_password``). The file may hold the database's password: only its
    owner can read it.
    """
    from .config import configure  # noqa: F401 - fail here, not in the hub, if it cannot load

    path = Path(path)
    lines = [f"# Written by `questengine hub` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
             "# Start the hub with: jupyterhub -f " + path.name,
             "from questengine.hub.config import configure", "",
             "c = get_config()  # noqa: F821", "configure(", "    c,"]
    lines += [f"    {key}={value!r}," for key, value in settings.items() if value is not None]
    lines.append(")")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
