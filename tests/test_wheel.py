"""A wheel built from the checkout, installed in a fresh venv, runs the demo from any folder.

One slow test (it builds the wheel and installs its dependencies from the package
index, which the warm pip cache serves): a teacher who runs ``pip install
questengine`` then ``questengine demo`` must get the sample quests from the package
itself, not from a ``quests/`` folder beside them.
"""
from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STEP_TIMEOUT = 1800  # seconds per step: the machines are loaded


def run(argv, cwd, env=None):
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=STEP_TIMEOUT)
    assert done.returncode == 0, f"{' '.join(map(str, argv))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_a_wheel_installed_in_a_fresh_venv_runs_the_demo_from_an_empty_folder(tmp_path):
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(dist),
         str(ROOT)], cwd=tmp_path)
    (wheel,) = dist.glob("questengine-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for quest in sorted((ROOT / "quests").glob("*.yaml")):
        assert f"questengine/_quests/{quest.name}" in names, f"{quest.name} is not in the wheel"

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(env_dir)
    py = env_dir / "bin" / "python"
    run([str(py), "-m", "pip", "install", "--quiet", str(wheel)], cwd=tmp_path)

    empty = tmp_path / "somewhere-else"
    empty.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PATH"] = f"{env_dir / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    out = run([str(env_dir / "bin" / "questengine"), "demo", "--no-serve"], cwd=empty, env=env)
    for quest in ("fraction-forest", "water-cycle", "persuasive-writing"):
        assert quest in out
    assert "teacher login:" in out and "student logins" in out
    assert (empty / "run" / "demo.db").is_file()
    # the installed package, not this checkout, was the one that ran
    where = run([str(py), "-c", "import questengine; print(questengine.__file__)"], cwd=empty)
    assert str(env_dir) in where and str(ROOT) not in where
