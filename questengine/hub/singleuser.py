"""The user's server under JupyterHub: Voilà on the pages, behind the hub's OAuth.

The hub's spawner runs ``python -m questengine.hub.singleuser`` with the hub user's
environment (``JUPYTERHUB_USER``, ``JUPYTERHUB_SERVICE_URL``, ``JUPYTERHUB_SERVICE_PREFIX``,
the OAuth client's token) and the project's (``QUESTENGINE_DB``, ``QUESTENGINE_QUESTS``,
``QUESTENGINE_RUN``). It serves the same pages with the same checked-in Voilà configuration
as ``questengine serve`` (stripped sources, no tracebacks, culling of idle kernels), on the
address the hub gave, under the user's prefix; the pages read the hub user from this
environment (:func:`questengine.ui.page.hub_user`), never from the browser.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import QuestEngineError
from ..server import VoilaServer

__all__ = ["voila_command", "main"]


def voila_command(env: dict[str, str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The Voilà command line and environment for this hub user's server."""
    env = dict(os.environ if env is None else env)
    missing = [k for k in ("JUPYTERHUB_USER", "JUPYTERHUB_SERVICE_URL", "QUESTENGINE_DB")
               if not env.get(k)]
    if missing:
        raise QuestEngineError(f"the hub user's server needs {', '.join(missing)} in its "
                               "environment (JupyterHub's spawner and questengine.hub's "
                               "configuration set them)")
    url = urlsplit(env["JUPYTERHUB_SERVICE_URL"])
    prefix = env.get("JUPYTERHUB_SERVICE_PREFIX") or url.path or "/"
    user = env["JUPYTERHUB_USER"]
    run = Path(env.get("QUESTENGINE_RUN") or Path.cwd() / "run") / "users" / _safe(user)
    server = VoilaServer(db=env["QUESTENGINE_DB"], port=url.port or 8888, run_dir=run,
                         quests=Path(env["QUESTENGINE_QUESTS"]) if env.get("QUESTENGINE_QUESTS")
                         else None,
                         extra_args=(
                             f"--Voila.base_url={prefix}", f"--Voila.server_url={prefix}",
                             "--Voila.identity_provider_class="
                             "questengine.hub.identity.HubIdentityProvider",
                             "--Voila.authorizer_class=questengine.hub.identity.HubAuthorizer",
                             # one server per user: a pool of preheated kernels per user would
                             # triple every student's memory
                             "--VoilaConfiguration.preheat_kernel=False",
                         ))
    server._prepare()  # the run folders and the pages (as `serve` does)
    argv, voila_env = server.command()
    voila_env.update({k: v for k, v in env.items() if k.startswith(("JUPYTERHUB_", "QUESTENGINE_HUB"))})
    voila_env["QUESTENGINE_HUB"] = "1"
    ip = url.hostname or "127.0.0.1"
    argv = [a if not a.startswith("--Voila.ip=") else f"--Voila.ip={ip}" for a in argv]
    return argv, voila_env


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "_"


def main() -> None:  # pragma: no cover - run by the hub's spawner
    try:
        argv, env = voila_command()
    except QuestEngineError as err:
        print(f"questengine hub server: {err}", file=sys.stderr)
        raise SystemExit(2) from err
    os.execvpe(argv[0], argv, env)  # Voilà itself is the process the spawner watches


if __name__ == "__main__":  # pragma: no cover
    main()
