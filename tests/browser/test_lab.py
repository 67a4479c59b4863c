"""``questengine.edit`` in JupyterLab, in Chromium: the editor a teacher authors with.

A fixture starts JupyterLab (from the ``authoring`` extra) on 127.0.0.1 like the Voilà
fixtures start Voilà: its own process group, a token, a free port, Jupyter's files in a
tmp folder, ready once its API answers 200, stopped by process group. The test opens a
notebook whose one cell is ``questengine.edit("quests/water-cycle.yaml")``, runs it as a
teacher would (click the cell, Shift+Enter) and checks the editor renders: the map with
the quest's steps, the palette and the inspector, the file named in the dropdown.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from questengine.loader import load_quest
from questengine.server import free_port

ROOT = Path(__file__).resolve().parents[2]
LAB_WAIT_MS = 180_000  # JupyterLab's first load and a kernel start, on a loaded machine
CELL = 'import questengine\nquestengine.edit("quests/water-cycle.yaml")'


def notebook(source: str) -> dict:
    return {"cells": [{"cell_type": "code", "execution_count": None, "id": "edit", "metadata": {},
                       "outputs": [], "source": source}],
            "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                        "name": "python3"}, "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    base = tmp_path_factory.mktemp("lab")
    work = base / "work"
    (work / "quests").mkdir(parents=True)
    shutil.copy(ROOT / "quests" / "water-cycle.yaml", work / "quests" / "water-cycle.yaml")
    (work / "edit.ipynb").write_text(json.dumps(notebook(CELL)))
    token, port = secrets.token_hex(16), free_port()
    env = dict(os.environ, JUPYTER_CONFIG_DIR=str(base / "config"),
               JUPYTER_DATA_DIR=str(base / "data"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               PYTHONUNBUFFERED="1")
    env.pop("QUESTENGINE_SERVED", None)
    # the venv's own kernel spec and lab extensions (anywidget, ipywidgets) come from its prefix
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", f"--ServerApp.port={port}",
            "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={work}", "--ServerApp.port_retries=0",
            "--LabApp.news_url=", "--LabApp.collaborative=False",
            "--ServerApp.disable_check_xsrf=False",
            *(["--allow-root"] if os.geteuid() == 0 else [])]  # CI runs as root
    log_path = base / "lab.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen(argv, env=env, cwd=work, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline, last = time.monotonic() + 180, None
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"JupyterLab exited ({proc.returncode}); see {log_path}:\n" \
                + log_path.read_text(errors="replace")[-3000:]
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=30) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, OSError) as err:
                last = err
            time.sleep(0.3)
        else:
            raise AssertionError(f"JupyterLab did not answer within 180 s ({last})")
        yield {"url": url, "token": token, "work": work, "log": log_path}
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        except ProcessLookupError:
            pass
        log.close()


def test_questengine_edit_renders_the_editor_in_jupyterlab(lab, browser, shots_dir):
    quest = load_quest(lab["work"] / "quests" / "water-cycle.yaml")
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.set_default_timeout(LAB_WAIT_MS)
    page = context.new_page()
    try:
        page.goto(f"{lab['url']}/lab/tree/edit.ipynb?token={lab['token']}")
        page.wait_for_selector(".jp-Notebook .jp-CodeCell .cm-content")
        # the kernel is up before the cell runs (the status bar reads "Idle")
        page.wait_for_function("() => /\\|\\s*Idle/.test(document.body.innerText)")
        page.locator(".jp-Notebook .jp-CodeCell .cm-content").first.click()
        page.keyboard.press("Shift+Enter")
        page.wait_for_selector(".jp-OutputArea .qe-editor", state="attached")
        page.wait_for_selector(".jp-OutputArea .qe-editor .qe-map[data-rendered]", state="attached")
        page.wait_for_function(
            "n => document.querySelectorAll('.jp-OutputArea .qe-editor .qe-node').length === n",
            arg=len(quest.nodes))
        ids = page.eval_on_selector_all(".jp-OutputArea .qe-editor .qe-node",
                                        "els => els.map(e => e.dataset.id)")
        assert sorted(ids) == sorted(n.id for n in quest.nodes)
        assert page.locator(".jp-OutputArea .qe-editor .qe-kind-palette button").count() >= 6
        selected = page.eval_on_selector(".jp-OutputArea .qe-editor select",
                                         "s => s.options[s.selectedIndex].textContent")
        assert selected == "water-cycle.yaml"
        text = page.inner_text(".jp-OutputArea")
        assert "Traceback" not in text and "Error" not in text
        # a click on a step opens it in the inspector, titled as students see it
        first = quest.nodes[0]
        page.locator(f".jp-OutputArea .qe-node[data-id='{first.id}'] .qe-title").click()
        page.wait_for_function(
            "t => { const h = document.querySelector('.jp-OutputArea .qe-inspector h2, .jp-OutputArea .qe-inspector h3');"
            " return h && h.textContent === t; }", arg=first.title)
        page.screenshot(path=str(shots_dir / "lab-edit.png"))
    finally:
        context.close()
