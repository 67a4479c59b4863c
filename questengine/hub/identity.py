"""Voilà behind JupyterHub: the hub's OAuth is the page server's only door.

Standalone Voilà (not the Jupyter Server extension) is the user's server app: it refuses
execute requests from the browser, so a student cannot run code in the kernel that holds
the database address. JupyterHub's own identity provider (the one its single-user
extension uses) checks every request against the hub: only the hub user who owns this
server, or whom the hub grants ``access:servers`` on it, gets past; anybody else is sent
to the hub's login. Its two handlers (OAuth callback, logout) are mounted under the
server's prefix, where the hub expects them, with a redirect from the server's root to the user's page.
"""
from __future__ import annotations

import os

from jupyter_server.utils import url_path_join
from tornado.web import RedirectHandler
from jupyterhub.singleuser.extension import JupyterHubAuthorizer, JupyterHubIdentityProvider

__all__ = ["HubIdentityProvider", "HubAuthorizer"]


class HubIdentityProvider(JupyterHubIdentityProvider):
    """JupyterHub's OAuth identity provider with its handlers under the server's prefix."""

    def get_handlers(self):
        prefix = self.hub_auth.base_url  # JUPYTERHUB_SERVICE_PREFIX, e.g. /user/ada/
        handlers = [(url_path_join(prefix, path), *rest) for path, *rest in super().get_handlers()]
        # the hub sends a user to their server's root: on to their page (the spawner's
        # default_url: the play page, or the progress center for a teacher), not the file list
        landing = os.environ.get("JUPYTERHUB_DEFAULT_URL")
        if landing:
            target = url_path_join(prefix, landing)
            handlers += [(prefix.rstrip("/") + "/?", RedirectHandler, {"url": target})]
        return handlers


class HubAuthorizer(JupyterHubAuthorizer):
    """Every action needs the hub's ``access:servers`` scope on this server."""
