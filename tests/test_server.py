"""questengine.server: Voilà started over a classroom database, waited for, and stopped."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from questengine.classroom import Classroom
from questengine.server import PAGES, VoilaServer, free_port, notebooks_dir

from helpers import cheap_hasher


def test_every_page_has_its_notebook():
    folder = notebooks_dir()
    assert set(PAGES) == {"play", "progress", "author", "family"}
    for page, notebook in PAGES.items():
        assert (folder / notebook).is_file(), f"{page}: no {notebook} in {folder}"


def test_urls_name_the_notebook_on_127_0_0_1():
    srv = VoilaServer(db=Path("x.db"), port=8123)
    assert srv.url() == "http://127.0.0.1:8123/voila/render/play.ipynb"
    assert srv.url("progress") == "http://127.0.0.1:8123/voila/render/progress.ipynb"
    assert srv.url("author") == "http://127.0.0.1:8123/voila/render/author.ipynb"
    assert srv.url("label.ipynb") == "http://127.0.0.1:8123/voila/render/label.ipynb"


def test_free_port_can_be_bound_on_127_0_0_1():
    port = free_port()
    assert 1024 <= port <= 65535
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", port))


def test_the_command_keeps_every_file_under_the_run_dir(tmp_path):
    quests = tmp_path / "my-quests"
    srv = VoilaServer(db=tmp_path / "c.db", port=8124, run_dir=tmp_path / "run", quests=quests,
                      extra_args=("--debug",))
    argv, env = srv.command()
    run = (tmp_path / "run").resolve()
    assert argv[:3] == [sys.executable, "-m", "voila"]
    assert argv[3] == str(run / "pages")  # a copy of the pages only (start() makes it)
    assert "--port=8124" in argv and "--no-browser" in argv and "--Voila.ip=127.0.0.1" in argv
    assert f"--Voila.connection_dir_root={run / 'voila'}" in argv
    assert argv[-1] == "--debug"
    assert env["QUESTENGINE_DB"] == str((tmp_path / "c.db").resolve())
    assert env["QUESTENGINE_QUESTS"] == str(quests.resolve())
    assert env["JUPYTER_DATA_DIR"] == str(run / "jupyter" / "data")
    assert env["JUPYTER_RUNTIME_DIR"] == str(run / "jupyter" / "runtime")
    assert Path(env["JUPYTER_CONFIG_DIR"], "voila.json").is_file()  # the checked-in configuration


def test_stop_before_start_and_after_an_exit_does_nothing(tmp_path):
    srv = VoilaServer(db=tmp_path / "c.db")
    srv.stop()
    srv.process = subprocess.Popen([sys.executable, "-c", "pass"])
    srv.process.wait()
    srv.stop()
    assert srv.process.returncode == 0


def test_wait_ready_says_when_the_server_exited(tmp_path):
    srv = VoilaServer(db=tmp_path / "c.db", port=free_port())
    srv.process = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RuntimeError, match="Voilà exited with code 3 before serving"):
        srv.wait_ready(timeout=60)


def test_wait_ready_gives_up_on_a_port_nobody_answers(tmp_path):
    srv = VoilaServer(db=tmp_path / "c.db", port=free_port())
    srv.process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(RuntimeError, match=rf"127\.0\.0\.1:{srv.port}/ did not answer 200 "
                                               r"within 0.5 s \(last: .*refused"):
            srv.wait_ready(timeout=0.5)
    finally:
        srv.process.kill()
        srv.process.wait()


def test_voila_serves_the_pages_and_stops_with_its_kernels(tmp_path):
    db = tmp_path / "classroom.db"
    Classroom(db, hasher=cheap_hasher()).store.close()
    srv = VoilaServer(db=db, port=free_port(), run_dir=tmp_path / "run")
    with open(tmp_path / "voila.log", "wb") as log:
        srv.start(log=log)
        try:
            assert os.getpgid(srv.process.pid) == srv.process.pid  # its own process group
            srv.wait_ready(timeout=120)
            srv.wait_ready(srv.url("play"), timeout=120)  # a page runs its notebook in a kernel
            children = psutil.Process(srv.process.pid).children(recursive=True)
            assert children, "the play page started no kernel"
        finally:
            srv.stop(timeout=60)
    assert srv.process.returncode is not None
    gone, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, [p.cmdline() for p in alive]
    with pytest.raises(ProcessLookupError):
        os.killpg(srv.process.pid, 0)
    run = tmp_path / "run"
    assert (run / "voila").is_dir() and (run / "jupyter" / "runtime").is_dir()
    assert sorted(p.name for p in (run / "pages").iterdir()) == sorted(PAGES.values())
    log = (tmp_path / "voila.log").read_text(encoding="utf-8", errors="replace")
    assert f"127.0.0.1:{srv.port}" in log
