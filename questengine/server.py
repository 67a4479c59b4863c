"""Run Voilà on the pages with the project's checked-in configuration.

Configuration lives in ``questengine/serve/voila.json`` (the template without
CDN links, stripped sources, no tracebacks, culling, preheated pools for the
play page and, two kernels each, the progress center and the editor); Jupyter's data and runtime files and Voilà's connection files go
under the run directory, not the user's home.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from .store import is_postgres

__all__ = ["VoilaServer", "notebooks_dir", "free_port", "PAGES"]

HERE = Path(__file__).resolve().parent
PAGES = {"play": "play.ipynb", "progress": "progress.ipynb", "author": "author.ipynb",
         "family": "family.ipynb"}


def notebooks_dir() -> Path:
    packaged = HERE / "_notebooks"
    return packaged if packaged.is_dir() else HERE.parent / "notebooks"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class VoilaServer:
    """A Voilà process serving the pages over one classroom database."""

    db: Path
    port: int = 8866
    run_dir: Path = Path("run")
    notebooks: Path | None = None
    quests: Path | None = None
    extra_args: tuple[str, ...] = ()

    def url(self, page: str = "play") -> str:
        return f"http://127.0.0.1:{self.port}/voila/render/{PAGES.get(page, page)}"

    def command(self) -> tuple[list[str], dict[str, str]]:
        run = self.run_dir.resolve()
        env = dict(os.environ)
        env.update({
            # a SQLite file by its full path; a postgresql:// address as it is
            "QUESTENGINE_DB": (str(self.db) if is_postgres(str(self.db))
                               else str(Path(self.db).resolve())),
            "QUESTENGINE_QUESTS": str(Path(self.quests or Path.cwd() / "quests").resolve()),
            "JUPYTER_CONFIG_DIR": str(HERE / "serve"),
            "JUPYTER_PATH": os.pathsep.join(
                filter(None, [str(HERE / "share" / "jupyter"), os.environ.get("JUPYTER_PATH")])),
            "JUPYTER_DATA_DIR": str(run / "jupyter" / "data"),
            "JUPYTER_RUNTIME_DIR": str(run / "jupyter" / "runtime"),
            "PYTHONUNBUFFERED": "1",
            "QUESTENGINE_SERVED": "1",  # pages guard their kernel (questengine.ui.page)
            # one browser per page: ipywidgets need not echo every change the browser sends
            # back to it (a message per map click and per keystroke in a text box)
            "JUPYTER_WIDGETS_ECHO": "0",
        })
        argv = [sys.executable, "-m", "voila", str(self.notebooks or run / "pages"),
                f"--port={self.port}", "--no-browser", "--Voila.ip=127.0.0.1",
                f"--Voila.connection_dir_root={run / 'voila'}", *self.extra_args]
        return argv, env

    def start(self, log=None) -> subprocess.Popen:
        """Start Voilà in its own process group (stop it with :meth:`stop`)."""
        self._prepare()
        argv, env = self.command()
        self.process = subprocess.Popen(argv, env=env, stdout=log or subprocess.DEVNULL,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self.process

    def _prepare(self) -> None:
        """Make the run folders and copy the pages there (before :meth:`command` runs)."""
        for sub in ("voila", "jupyter/data", "jupyter/runtime"):
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        if self.notebooks is None:
            self._copy_pages()

    def _copy_pages(self) -> None:
        """Serve the pages only: the tutorials (extend.ipynb runs pytest and writes files)
        are for JupyterLab, never for anyone who can reach the server."""
        pages = self.run_dir / "pages"
        pages.mkdir(parents=True, exist_ok=True)
        for stale in pages.glob("*.ipynb"):
            stale.unlink()
        for name in PAGES.values():
            source = notebooks_dir() / name
            if source.is_file():
                (pages / name).write_bytes(source.read_bytes())

    def wait_ready(self, url: str | None = None, timeout: float = 90.0) -> None:
        """Wait until ``url`` (default: the server's root) answers 200; RuntimeError if not."""
        import time
        import urllib.error
        import urllib.request

        url = url or f"http://127.0.0.1:{self.port}/"
        deadline, last = time.monotonic() + timeout, None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Voilà exited with code {self.process.returncode} before "
                                   f"serving {url}")
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    if response.status == 200:
                        return
                    last = response.status
            except (urllib.error.URLError, ConnectionError, OSError) as err:
                last = err
            time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer 200 within {timeout} s (last: {last})")

    def stop(self, timeout: float = 15.0) -> None:
        proc = getattr(self, "process", None)
        if proc is None or proc.poll() is not None:
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
