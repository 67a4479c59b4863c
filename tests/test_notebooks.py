"""Notebooks execute headless (nbclient), top to bottom, in a fresh kernel."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def execute(name: str, cwd: Path) -> nbformat.NotebookNode:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    NotebookClient(nb, timeout=180, kernel_name="python3",
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return nb


def outputs(nb) -> str:
    text = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            text.append(out.get("text", "") or out.get("data", {}).get("text/plain", ""))
    return "\n".join(text)


def test_the_extend_tutorial_runs_from_top_to_bottom(tmp_path):
    nb = execute("extend.ipynb", tmp_path)
    text = outputs(nb)
    assert "All 2 tests passed" in text  # the coding challenge, run in the sandbox
    assert "Hint: You can play music on it." in text  # the riddle's hint after two tries
    assert "'sharp-mind'" in text  # the badge rule
    assert "3 passed" in text  # pytest on the student's plugin
    assert "plugin 'typo': could not be imported" in text  # a broken plugin, explained
    assert "kind: riddle" in text
    assert not any(out.get("output_type") == "error" for c in nb.cells
                   for out in c.get("outputs", []))
    assert list(tmp_path.iterdir()) == []  # the tutorial writes nothing where it runs


@pytest.mark.parametrize("name", ["extend.ipynb"])
def test_notebook_cells_are_thin(name):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs for c in code)  # saved without outputs
    assert max(len(c.source.splitlines()) for c in code
               if not c.source.startswith("%%writefile")) <= 15


@pytest.mark.parametrize("name,page", [("play.ipynb", "PlayPage"), ("progress.ipynb", "CenterPage"),
                                       ("author.ipynb", "EditorPage")])
def test_page_notebooks_run_headless_and_show_their_page(name, page, tmp_path, monkeypatch):
    """The pages' notebooks are thin (import, build, display) and run in a plain kernel."""
    monkeypatch.setenv("QUESTENGINE_DB", str(tmp_path / "classroom.db"))
    monkeypatch.setenv("QUESTENGINE_QUESTS", str(NOTEBOOKS.parent / "quests"))
    nb = execute(name, tmp_path)
    assert not any(out.get("output_type") == "error" for c in nb.cells
                   for out in c.get("outputs", []))
    views = [out for c in nb.cells for out in c.get("outputs", [])
             if "application/vnd.jupyter.widget-view+json" in out.get("data", {})]
    assert views, f"{name} displayed no widget"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert len(code) == 1 and page in code[0] and len(code[0].splitlines()) <= 3
