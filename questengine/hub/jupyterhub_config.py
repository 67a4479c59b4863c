"""A JupyterHub configuration for questengine, read from the environment.

Run ``jupyterhub -f $(python -c "import questengine.hub as h; print(h.CONFIG)")`` with
``QUESTENGINE_DB`` (the classroom database address, ``postgresql://...`` for a school),
``QUESTENGINE_QUESTS`` (the quests folder), and optionally ``QUESTENGINE_RUN``,
``QUESTENGINE_HUB_PORT``, ``QUESTENGINE_HUB_AUTHENTICATOR`` (dummy, lti13, pam or a class
path) and ``QUESTENGINE_HUB_SPAWNER`` (simple, local or a class path). ``questengine hub``
writes a file with the values spelled out instead.
"""
import os

from questengine.hub.config import configure

try:
    c = get_config()  # noqa: F821 - JupyterHub provides it when it reads this file
except NameError:  # imported (by pytest's doctest collection), not read by JupyterHub
    c = None
if c is not None:
    configure(c, db=os.environ["QUESTENGINE_DB"],
              quests=os.environ.get("QUESTENGINE_QUESTS", "quests"),
              run=os.environ.get("QUESTENGINE_RUN", "run"),
              port=int(os.environ.get("QUESTENGINE_HUB_PORT", "8000")),
              authenticator=os.environ.get("QUESTENGINE_HUB_AUTHENTICATOR", "dummy"),
              spawner=os.environ.get("QUESTENGINE_HUB_SPAWNER", "simple"),
              dummy_password=os.environ.get("QUESTENGINE_HUB_PASSWORD"))
