"""The JupyterHub configuration questengine writes, and the user's server command it runs."""
from __future__ import annotations

import runpy
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from traitlets.config import Config

from questengine.classroom import Classroom
from questengine.cli import main
from questengine.errors import QuestEngineError
from questengine.hub import CONFIG, write_config
from questengine.hub.config import CONTEXT_CLAIM, LIS_CLAIM, ROLE_CLAIM, configure, lti_class, lti_role
from questengine.hub.singleuser import voila_command

from helpers import cheap_hasher

LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"


def read_config(path: Path) -> Config:
    """What JupyterHub gets from a config file (it runs it with get_config in scope)."""
    c = Config()
    runpy.run_path(str(path), init_globals={"get_config": lambda: c})
    return c


def test_the_written_configuration_serves_the_pages_per_hub_user(tmp_path):
    path = write_config(tmp_path / "jupyterhub_config.py", db="postgresql://qe@db/school",
                        quests=str(tmp_path / "quests"), run=str(tmp_path / "run"), port=8100)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it may hold the database's password
    c = read_config(path)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8100"
    assert c.Spawner.cmd[1:] == ["-m", "questengine.hub.singleuser"]
    assert c.Spawner.environment["QUESTENGINE_DB"] == "postgresql://qe@db/school"
    assert c.Spawner.default_url == "/voila/render/play.ipynb"
    assert c.JupyterHub.spawner_class == "jupyterhub.spawner.SimpleLocalProcessSpawner"
    assert c.JupyterHub.authenticator_class == "jupyterhub.auth.DummyAuthenticator"
    assert Path(c.ConfigurableHTTPProxy.command[0]).name == "configurable-http-proxy"
    assert Path(c.JupyterHub.db_url.removeprefix("sqlite:///")).parent == tmp_path / "run" / "hub"
    culler = c.JupyterHub.services[0]  # idle users' servers are stopped
    assert culler["command"][1:] == ["-m", "jupyterhub_idle_culler", "--timeout=3600"]
    assert "delete:servers" in c.JupyterHub.load_roles[0]["scopes"]


def test_the_lti_configuration_keeps_the_launch_and_encrypts_it(tmp_path):
    c = configure(Config(), db="x.db", quests=tmp_path, run=tmp_path / "run",
                  authenticator="lti13",
                  lti={"issuer": "https://canvas.example.edu", "client_id": "10000000001",
                       "authorize_url": "https://canvas.example.edu/api/lti/authorize_redirect",
                       "jwks_endpoint": "https://canvas.example.edu/api/lti/security/jwks",
                       "username_key": "custom_username"})
    assert c.JupyterHub.authenticator_class == "ltiauthenticator.lti13.auth.LTI13Authenticator"
    assert c.LTI13Authenticator.client_id == ["10000000001"]
    assert c.LTI13Authenticator.username_key == "custom_username"
    assert c.Authenticator.enable_auth_state is True
    assert len(c.CryptKeeper["keys"][0]) == 64  # a key kept in the run folder, made once
    again = configure(Config(), db="x.db", quests=tmp_path, run=tmp_path / "run",
                      authenticator="lti13", lti={})
    assert again.CryptKeeper["keys"] == c.CryptKeeper["keys"]


def test_the_packaged_configuration_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("QUESTENGINE_DB", str(tmp_path / "c.db"))
    monkeypatch.setenv("QUESTENGINE_RUN", str(tmp_path / "run"))
    monkeypatch.setenv("QUESTENGINE_HUB_PORT", "9000")
    monkeypatch.setenv("QUESTENGINE_HUB_SPAWNER", "kubespawner.KubeSpawner")
    c = read_config(CONFIG)
    assert c.JupyterHub.bind_url == "http://127.0.0.1:9000"
    assert c.JupyterHub.spawner_class == "kubespawner.KubeSpawner"
    assert c.Spawner.environment["QUESTENGINE_DB"] == str(tmp_path / "c.db")


def test_the_hub_command_writes_the_file_and_asks_for_what_lti_needs(tmp_path):
    runner = CliRunner()
    out = tmp_path / "hub" / "jupyterhub_config.py"
    ok = runner.invoke(main, ["hub", "-o", str(out), "--db", "postgresql://qe@db/school",
                              "--port", "8200", "--run", str(tmp_path / "run")])
    assert ok.exit_code == 0, ok.output
    assert f"jupyterhub -f {out}" in ok.output
    assert read_config(out).JupyterHub.bind_url == "http://127.0.0.1:8200"
    again = runner.invoke(main, ["hub", "-o", str(out)])
    assert again.exit_code == 2 and "--force" in again.output
    lti = runner.invoke(main, ["hub", "-o", str(tmp_path / "lti.py"), "--authenticator", "lti13",
                               "--lti-issuer", "https://lms.example.edu"])
    assert lti.exit_code == 2
    assert "--lti-client-id, --lti-authorize-url, --lti-jwks" in lti.output


def test_the_users_server_is_voila_behind_the_hubs_oauth_under_the_users_prefix(tmp_path):
    env = {"JUPYTERHUB_USER": "ada", "JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:41234/user/ada/",
           "JUPYTERHUB_SERVICE_PREFIX": "/user/ada/", "JUPYTERHUB_API_TOKEN": "t",
           "QUESTENGINE_DB": "postgresql://qe@db/school", "QUESTENGINE_RUN": str(tmp_path),
           "QUESTENGINE_HUB_ROLE": "student", "PATH": "/usr/bin"}
    argv, voila_env = voila_command(env)
    assert argv[1:3] == ["-m", "voila"]
    assert "--port=41234" in argv and "--Voila.ip=127.0.0.1" in argv
    assert "--Voila.base_url=/user/ada/" in argv
    assert "--Voila.identity_provider_class=questengine.hub.identity.HubIdentityProvider" in argv
    assert "--VoilaConfiguration.preheat_kernel=False" in argv
    assert voila_env["QUESTENGINE_HUB"] == "1" and voila_env["JUPYTERHUB_USER"] == "ada"
    assert voila_env["QUESTENGINE_HUB_ROLE"] == "student"
    assert (tmp_path / "users" / "ada" / "pages" / "play.ipynb").is_file()
    assert not (tmp_path / "users" / "ada" / "pages" / "extend.ipynb").exists()
    with pytest.raises(QuestEngineError, match="needs JUPYTERHUB_USER, QUESTENGINE_DB"):
        voila_command({"JUPYTERHUB_SERVICE_URL": "http://127.0.0.1:1/"})


def test_lti_roles_and_courses_map_to_teacher_student_and_class(tmp_path):
    assert lti_role({ROLE_CLAIM: [LEARNER]}) == "student"
    assert lti_role({ROLE_CLAIM: [INSTRUCTOR, LEARNER]}) == "teacher"
    assert lti_role({ROLE_CLAIM: ["http://purl.imsglobal.org/vocab/lis/v2/system/person#User"]}) \
        is None
    c = Classroom(tmp_path / "c.db", hasher=cheap_hasher())
    c.add_teacher("t@hub.school", "T", "teacher-pass")
    c.create_class("t@hub.school", "Grade 4B", "HUB-4B")
    c.store.set_class_identity("HUB-4B", name="Grade 4B", teacher_id=1, source_id="cl0001")
    assert lti_class({CONTEXT_CLAIM: {"id": "c-1", "label": "hub-4b"}}, c.store) == "HUB-4B"
    assert lti_class({LIS_CLAIM: {"course_section_sourcedid": "cl0001"}}, c.store) == "HUB-4B"
    assert lti_class({CONTEXT_CLAIM: {"id": "nope", "label": "Algebra"}}, c.store) is None
