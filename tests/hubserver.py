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


# --- a test LTI 1.3 platform (an LMS as far as the hub can tell) ---------------------------------


class LTIPlatform:
    """A tiny LTI 1.3 platform on 127.0.0.1: its JWKS, its OIDC authorization endpoint, launches.

    ``launch_url(user, role, course)`` starts a launch the way an LMS does when a student
    clicks an assignment link: the browser goes to the tool's OIDC login initiation URL (the
    hub's ``/hub/lti13/oauth_login``) with ``iss``, ``login_hint`` and ``target_link_uri``;
    the hub sends it back to :attr:`authorize_url` with a state and a nonce; the platform
    answers with a form that posts an ``id_token`` signed by its private key (RS256, the key
    published at :attr:`jwks_url`) to the hub's callback. ``forged=True`` signs with another
    key (the hub must refuse it).
    """

    CLIENT_ID = "questengine-test-tool"
    DEPLOYMENT_ID = "deployment-1"

    def __init__(self):
        import threading
        from http.server import ThreadingHTTPServer

        from cryptography.hazmat.primitives.asymmetric import rsa

        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.launches: dict[str, dict] = {}
        platform = self
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler(platform))
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.hub_url = ""

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    @property
    def authorize_url(self) -> str:
        return f"{self.issuer}/authorize"

    def settings(self) -> dict:
        """The hub's LTI 1.3 settings for this platform (``questengine hub --lti-*``)."""
        return {"issuer": self.issuer, "client_id": self.CLIENT_ID,
                "authorize_url": self.authorize_url, "jwks_endpoint": self.jwks_url,
                "username_key": "custom_username"}

    def launch_url(self, username: str, role: str, course: str, *, forged: bool = False) -> str:
        """Where the browser goes when this user clicks the assignment link in the course."""
        from urllib.parse import urlencode

        hint = f"hint-{len(self.launches) + 1}"
        self.launches[hint] = {"username": username, "role": role, "course": course,
                               "forged": forged}
        target = f"{self.hub_url}/hub/"
        return (f"{self.hub_url}/hub/lti13/oauth_login?" +
                urlencode({"iss": self.issuer, "login_hint": hint, "target_link_uri": target,
                           "lti_message_hint": hint, "client_id": self.CLIENT_ID}))

    def id_token(self, launch: dict, nonce: str) -> str:
        import jwt

        now = int(time.time())
        role = {"Learner": "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner",
                "Instructor": "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"}
        claims = {
            "iss": self.issuer, "aud": self.CLIENT_ID, "azp": self.CLIENT_ID,
            "sub": f"lms-user-{launch['username']}", "iat": now, "exp": now + 300,
            "nonce": nonce, "name": launch["username"],
            "https://purl.imsglobal.org/spec/lti/claim/message_type": "LtiResourceLinkRequest",
            "https://purl.imsglobal.org/spec/lti/claim/version": "1.3.0",
            "https://purl.imsglobal.org/spec/lti/claim/deployment_id": self.DEPLOYMENT_ID,
            "https://purl.imsglobal.org/spec/lti/claim/target_link_uri": f"{self.hub_url}/hub/",
            "https://purl.imsglobal.org/spec/lti/claim/resource_link": {
                "id": "assignment-fraction-forest", "title": "The Fraction Forest"},
            "https://purl.imsglobal.org/spec/lti/claim/roles": [role[launch["role"]]],
            "https://purl.imsglobal.org/spec/lti/claim/context": {
                "id": f"course-{launch['course']}", "label": launch["course"],
                "title": "Grade 4B", "type": ["http://purl.imsglobal.org/vocab/lis/v2/course#CourseOffering"]},
            "https://purl.imsglobal.org/spec/lti/claim/custom": {"username": launch["username"]},
        }
        key = self.other_key if launch["forged"] else self.key
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "platform-key-1"})

    def jwks(self) -> dict:
        import jwt

        jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update({"kid": "platform-key-1", "alg": "RS256", "use": "sig"})
        return {"keys": [jwk]}

    @staticmethod
    def _handler(platform: "LTIPlatform"):
        import html
        from http.server import BaseHTTPRequestHandler
        from urllib.parse import parse_qs, urlsplit

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _send(self, status: int, body: str, kind: str = "text/html") -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                url = urlsplit(self.path)
                args = {k: v[0] for k, v in parse_qs(url.query).items()}
                if url.path == "/jwks":
                    return self._send(200, json.dumps(platform.jwks()), "application/json")
                if url.path == "/authorize":
                    launch = platform.launches.get(args.get("login_hint", ""))
                    if launch is None or args.get("client_id") != platform.CLIENT_ID:
                        return self._send(400, "unknown launch")
                    token = platform.id_token(launch, args["nonce"])
                    form = (f"<form method='post' action='{html.escape(args['redirect_uri'])}'>"
                            f"<input type='hidden' name='id_token' value='{token}'>"
                            f"<input type='hidden' name='state' "
                            f"value='{html.escape(args['state'])}'></form>"
                            "<script>document.forms[0].submit()</script>")
                    return self._send(200, f"<!doctype html><title>LMS</title>{form}")
                return self._send(404, "not found")

        return Handler

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
