"""``questengine hub``: write a JupyterHub configuration for this classroom database."""
from __future__ import annotations

from pathlib import Path

import click

from ..cliopts import db_option as _db_option
from ..cliopts import friendly as _friendly

__all__ = ["hub_cmd"]


@click.command("hub")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="jupyterhub_config.py",
              show_default=True, help="The configuration file to write.")
@_db_option
@click.option("--quests", default="quests", show_default=True,
              type=click.Path(file_okay=False), help="Folder of quest files.")
@click.option("--run", "run_dir", default="run", show_default=True,
              type=click.Path(file_okay=False),
              help="Folder for the hub's state and the users' servers' files.")
@click.option("--ip", default="127.0.0.1", show_default=True,
              help="Address the hub listens on (0.0.0.0 behind a school's reverse proxy).")
@click.option("--port", type=int, default=8000, show_default=True,
              help="The hub's public port (it also uses the next two, for itself and its proxy).")
@click.option("--authenticator", default="dummy", show_default=True,
              help="dummy (trials only), lti13 (launch from the LMS), pam, or a class path "
                   "(e.g. oauthenticator.GenericOAuthenticator).")
@click.option("--spawner", default="simple", show_default=True,
              help="simple (one server machine), local (one system user per hub user), or a "
                   "class path (kubespawner.KubeSpawner on Zero to JupyterHub).")
@click.option("--lti-issuer", default=None, help="LTI 1.3: the platform's issuer.")
@click.option("--lti-client-id", default=None, help="LTI 1.3: this tool's client id there.")
@click.option("--lti-authorize-url", default=None, help="LTI 1.3: the platform's OIDC auth URL.")
@click.option("--lti-jwks", default=None, help="LTI 1.3: the platform's JWKS URL.")
@click.option("--lti-username-key", default="custom_username", show_default=True,
              help="LTI 1.3: the launch claim that is the hub username; custom_username is "
                   "the tool's custom field username=$User.username (Canvas), which matches "
                   "the usernames a OneRoster export carries.")
@click.option("--force", is_flag=True, help="Replace the file if it exists.")
@_friendly
def hub_cmd(output: str, db_path: str, quests: str, run_dir: str, ip: str, port: int,
            authenticator: str, spawner: str, lti_issuer, lti_client_id, lti_authorize_url,
            lti_jwks, lti_username_key, force: bool) -> None:
    """Write a JupyterHub configuration serving the pages to every hub user.

    Each hub user gets their own Voilà server on the pages, and lands on their own play page
    (or on the progress center, for a teacher) as the roster's "hub username" maps them.
    Start the hub with `jupyterhub -f OUTPUT`.
    """
    from . import write_config

    if Path(output).exists() and not force:
        raise click.UsageError(f"{output} exists; pass --force to replace it")
    lti = None
    if authenticator == "lti13":
        values = {"issuer": lti_issuer, "client_id": lti_client_id,
                  "authorize_url": lti_authorize_url, "jwks_endpoint": lti_jwks}
        missing = [f"--lti-{k.replace('_endpoint', '').replace('_', '-')}"
                   for k, v in values.items() if not v]
        if missing:
            raise click.UsageError(f"--authenticator lti13 needs {', '.join(missing)}")
        lti = {**values, "username_key": lti_username_key}
    path = write_config(output, db=db_path, quests=str(Path(quests).resolve()),
                        run=str(Path(run_dir).resolve()), ip=ip, port=port,
                        authenticator=authenticator, spawner=spawner, lti=lti)
    click.echo(f"wrote {path}; start the hub with: jupyterhub -f {path}")
