"""JupyterHub's configuration for questengine: the pages per hub user, the hub user as identity.

:func:`configure` fills a JupyterHub ``c`` (``get_config()``) from a few values; the
packaged ``jupyterhub_config.py`` calls it with values from the environment, and
``questengine hub`` writes a ``jupyterhub_config.py`` that calls it with the values given
on its command line. What it sets:

- the user's server is standalone Voilà on the pages (:mod:`questengine.hub.singleuser`),
  one server per hub user, one kernel per open page, idle kernels culled by Voilà;
- a user's server idle for ``cull_after`` seconds is stopped (jupyterhub-idle-culler);
- the hub's OAuth guards that server (:mod:`questengine.hub.identity`): the hub's login is
  the only login, and only the owner reaches a server;
- the hub user lands on the progress center when the roster has them as a teacher (or an
  LMS launch says Instructor), else on the play page; the page maps the hub username to
  one roster entry (:meth:`questengine.classroom.Classroom.login_hub`);
- LTI 1.3 (``authenticator="lti13"``): ``jupyterhub-ltiauthenticator``; the launch's roles
  (Instructor -> teacher, Learner -> student) and course (its section's sourcedId or its
  label as a class code) reach the page through the server's environment.
"""
from __future__ import annotations

import secrets
import shutil
import sys
from pathlib import Path
from typing import Any

from ..errors import QuestEngineError

__all__ = ["configure", "make_pre_spawn_hook", "proxy_command", "lti_role", "lti_class",
           "ROLE_CLAIM", "CONTEXT_CLAIM", "LIS_CLAIM", "AUTHENTICATORS"]

ROOT = Path(__file__).resolve().parents[2]
ROLE_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/roles"
CONTEXT_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/context"
LIS_CLAIM = "https://purl.imsglobal.org/spec/lti/claim/lis"
AUTHENTICATORS = {
    "dummy": "jupyterhub.auth.DummyAuthenticator",  # tests and trials: any name, one password
    "lti13": "ltiauthenticator.lti13.auth.LTI13Authenticator",
    "pam": "jupyterhub.auth.PAMAuthenticator",
}
PAGES = {"teacher": "/voila/render/progress.ipynb", "student": "/voila/render/play.ipynb"}


def proxy_command() -> list[str]:
    """configurable-http-proxy: the project's own ``node_modules`` (``make setup``), else PATH."""
    local = ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    if local.exists():
        return [str(local)]
    found = shutil.which("configurable-http-proxy")
    if found:
        return [found]
    raise QuestEngineError("configurable-http-proxy is not installed: run `make setup` (it "
                           "installs it into ./node_modules with npm), or `npm install "
                           "configurable-http-proxy` into the project folder")


def lti_role(claims: dict) -> str | None:
    """teacher for an LTI Instructor (or administrator), student for a Learner, else None.

    >>> lti_role({ROLE_CLAIM: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"]})
    'student'
    >>> lti_role({ROLE_CLAIM: ["http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"]})
    'teacher'
    """
    roles = [str(r) for r in claims.get(ROLE_CLAIM) or []]
    tails = {r.rsplit("#", 1)[-1].rsplit("/", 1)[-1] for r in roles}
    if tails & {"Instructor", "Administrator", "ContentDeveloper", "TeachingAssistant"}:
        return "teacher"
    if tails & {"Learner", "Student"}:
        return "student"
    return None


def lti_class(claims: dict, store) -> str | None:
    """The class an LTI launch's course is: its section's sourcedId, else its label as a code."""
    section = (claims.get(LIS_CLAIM) or {}).get("course_section_sourcedid")
    if section:
        row = store.class_by_source(str(section))
        if row is not None:
            return row["code"]
    context = claims.get(CONTEXT_CLAIM) or {}
    for value in (context.get("label"), context.get("id")):
        if value:
            row = store.get_class(str(value).strip().upper()) or store.class_by_source(str(value))
            if row is not None:
                return row["code"]
    return None


def make_pre_spawn_hook(db: str):
    """The spawner's pre-spawn hook: the user's landing page and LMS role/course."""

    async def pre_spawn_hook(spawner) -> None:
        from ..store import open_store

        name = spawner.user.name
        auth_state = await spawner.user.get_auth_state() or {}
        store = open_store(db)
        try:
            role = lti_role(auth_state) if auth_state else None
            if role is None:
                role = "teacher" if store.teacher_by_hub(name) is not None else "student"
            spawner.environment["QUESTENGINE_HUB_ROLE"] = role
            if auth_state:
                code = lti_class(auth_state, store)
                if code:
                    spawner.environment["QUESTENGINE_HUB_CLASS"] = code
        finally:
            store.close()
        spawner.default_url = PAGES[role]

    return pre_spawn_hook


def configure(c: Any, *, db: str, quests: str | Path, run: str | Path = "run",
              ip: str = "127.0.0.1", port: int = 8000, authenticator: str = "dummy",
              spawner: str = "simple", lti: dict | None = None,
              dummy_password: str | None = None, python: str | None = None,
              cull_after: int = 3600) -> Any:
    """Fill JupyterHub's config ``c`` for questengine (see the module's docstring).

    ``db`` is the classroom database address (``postgresql://...`` for a school or a
    district; one SQLite file is enough on one machine). ``authenticator`` is ``dummy``,
    ``lti13``, ``pam`` or a class path; ``lti`` holds the LTI 1.3 platform's values
    (``issuer``, ``client_id``, ``authorize_url``, ``jwks_endpoint``, ``username_key``).
    ``cull_after`` (seconds; 0: never) stops a user's server after that long without
    activity (``jupyterhub-idle-culler`` as a hub service); Voilà already stops an idle
    page's kernel after ``cull_idle_timeout`` (600 s).
    ``spawner`` is ``simple`` (every user's server runs as the hub's own system user:
    one server, trials and tests), ``local`` (one system user per hub user) or a class
    path (``kubespawner.KubeSpawner`` on Zero to JupyterHub).
    """
    run = Path(run).resolve()
    hub_dir = run / "hub"
    hub_dir.mkdir(parents=True, exist_ok=True)
    c.JupyterHub.bind_url = f"http://{ip}:{port}"
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.hub_port = port + 1  # the hub itself, behind the proxy
    c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(hub_dir / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.command = proxy_command()
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{port + 2}"
    c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "proxy.pid")
    # the roster decides who is somebody in a class: everyone the hub authenticates gets a
    # server, and a hub user with no roster entry is told so in one sentence by the page
    c.Authenticator.allow_all = True
    c.JupyterHub.authenticator_class = AUTHENTICATORS.get(authenticator, authenticator)
    if authenticator == "dummy":
        c.DummyAuthenticator.password = dummy_password or secrets.token_urlsafe(12)
    if authenticator == "lti13":
        lti = dict(lti or {})
        for key, value in lti.items():
            if key == "client_id":
                value = [value] if isinstance(value, str) else list(value)
            setattr(c.LTI13Authenticator, key, value)
        c.Authenticator.enable_auth_state = True  # the launch's roles and course
        key_file = hub_dir / "crypt_key"
        if not key_file.exists():
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        c.CryptKeeper.keys = [key_file.read_text().strip()]
    spawners = {"simple": "jupyterhub.spawner.SimpleLocalProcessSpawner",
                "local": "jupyterhub.spawner.LocalProcessSpawner"}
    c.JupyterHub.spawner_class = spawners.get(spawner, spawner)
    if spawner == "simple":
        c.SimpleLocalProcessSpawner.home_dir_template = str(run / "users" / "{username}")
    c.Spawner.cmd = [python or sys.executable, "-m", "questengine.hub.singleuser"]
    c.Spawner.args = []
    c.Spawner.environment = {"QUESTENGINE_DB": str(db),
                             "QUESTENGINE_QUESTS": str(Path(quests).resolve()),
                             "QUESTENGINE_RUN": str(run)}
    c.Spawner.default_url = PAGES["student"]
    c.Spawner.pre_spawn_hook = make_pre_spawn_hook(str(db))
    c.Spawner.start_timeout = 180  # a loaded machine: Voilà takes a while to start
    c.Spawner.http_timeout = 180
    c.JupyterHub.redirect_to_server = True
    if cull_after:
        c.JupyterHub.services = [{"name": "idle-culler", "command": [
            python or sys.executable, "-m", "jupyterhub_idle_culler",
            f"--timeout={int(cull_after)}"]}]
        c.JupyterHub.load_roles = [{"name": "idle-culler", "services": ["idle-culler"],
                                    "scopes": ["list:users", "read:users:activity",
                                               "read:servers", "delete:servers"]}]
    return c
