"""A real JupyterHub on 127.0.0.1 for the tests, configured by ``questengine hub``'s writer.

:class:`HubServer` writes a ``jupyterhub_config.py`` with
:func:`questengine.hub.write_config` into a temporary folder and starts ``jupyterhub`` there
in its own process group: configurable-http-proxy from the project's ``node_modules``
(``make setup`` installs it with npm), the simple local process spawner (every user's
server is standalone Voilà on the pages, as the hub's own system user), the given
authenticator (``dummy`` for tests: any username with the shared password) and the
classroom database given (PostgreSQL from the store's fixture). It waits until the hub
answers, and stops the hub, the proxy and every user's server by their process groups.

If a part is missing (JupyterHub, the proxy) the fixture FAILS with what to install.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from questengine.server import free_port

ROOT = Path(__file__).resolve().parents[1]
HUB_PASSWORD = "hub-test-password"


def _free_block() -> int:
    """A port P with P, P+1 and P+2 free (the hub's public, internal and proxy API ports)."""
    import socket

    for _ in range(50):
        base = free_port()
        socks = []
        try:
            for p in (base, base + 1, base + 2):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no three consecutive free ports on 127.0.0.1")


class HubServer:
    """One JupyterHub (hub, proxy, users' servers) in a folder of its own."""

    def __init__(self, folder: Path, db: str, *, authenticator: str = "dummy",
                 lti: dict | None = None):
        from questengine.hub import write_config
        from questengine.hub.config import proxy_command

        try:
            import jupyterhub  # noqa: F401
        except ImportError:
            pytest.fail("JupyterHub is not installed: pip install -e '.[hub]' (make setup does)",
                        pytrace=False)
        try:
            proxy_command()
        except Exception as err:
            pytest.fail(str(err), pytrace=False)
        self.folder = Path(folder)
        self.port = _free_block()
        self.db = db
        self.config = write_config(self.folder / "jupyterhub_config.py", db=db,
                                   quests=str(ROOT / "quests"), run=str(self.folder / "run"),
                                   port=self.port, authenticator=authenticator,
                                   dummy_password=HUB_PASSWORD if authenticator == "dummy"
                                   else None, lti=lti)
        self.log_path = self.folder / "jupyterhub.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "HubServer":
        log = open(self.log_path, "wb")
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(self.config)], cwd=self.folder,
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        last = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"JupyterHub exited with code {self.process.returncode}:\n"
                            f"{self.log_tail()}", pytrace=False)
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=10) as r:
                    if r.status == 200 and "version" in json.loads(r.read()):
                        return self
            except (urllib.error.URLError, OSError, ValueError) as err:
                last = err
            time.sleep(0.3)
        self.stop()
        pytest.fail(f"JupyterHub did not answer within 120 s ({last}):\n{self.log_tail()}",
                    pytrace=False)

    def log_tail(self, n: int = 4000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-n:]
        except OSError:
            return "(no log)"

    def _user_server_groups(self) -> list[int]:
        """Process groups of the users' servers (each spawned in a session of its own)."""
        groups = []
        for pid_dir in Path("/proc").iterdir():
            if not pid_dir.name.isdigit():
                continue
            try:
                env = (pid_dir / "environ").read_bytes()
                if f"QUESTENGINE_RUN={self.folder / 'run'}".encode() in env.split(b"\0") \
                        and b"JUPYTERHUB_USER=" in env:
                    groups.append(os.getpgid(int(pid_dir.name)))
            except (OSError, ProcessLookupError):
                continue
        return sorted(set(groups))

    def stop(self) -> None:
        """Stop the hub (it stops the proxy and the users' servers), then anything left."""
        groups = self._user_server_groups()
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for group in groups:  # the hub stops them itself; these are what a crash left
            try:
                os.killpg(group, signal.SIGTERM)
            except (ProcessLookupError, PermissionError, ValueError):
                pass
