"""Interop benchmark: Twine import of real stories, and xAPI statements sent to an LRS.

* Twine: for each story in tests/fixtures/twine/, the time to read and parse it
  (passages and links) and the time of the whole import (folding, loops, the quest
  built and validated), median of N runs, with their ratio.
* xAPI: statements per second built for a class (ids from a digest of each
  statement's content), next to the same statements serialised only.
* LRS: the class's statements sent to Ralph's LRS (file-system backend, started
  here on 127.0.0.1) in batches of 100 and of 1, and a second send of the same
  statements (nothing new stored), side by side.

Nothing is asserted; the lines printed are the result.

Run: ``.venv/bin/python benchmarks/interop.py [--runs 5]``
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def median_time(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def twine(runs: int) -> None:
    from questengine.interop.twee import load_twee, read_story

    print("Twine import (median of %d): parse | whole import | ratio | passages -> nodes" % runs)
    for path in sorted((ROOT / "tests" / "fixtures" / "twine").iterdir()):
        if path.name == "README.md":
            continue
        parse = median_time(lambda: read_story(path), runs)
        whole = median_time(lambda: load_twee(path), runs)
        result = load_twee(path)
        print(f"  {path.name:38} {parse * 1000:7.1f} ms {whole * 1000:7.1f} ms {whole / parse:5.1f}x"
              f"   {result.story_passages:4} -> {len(result.quest.nodes)}")


def start_lrs(home: Path) -> tuple[subprocess.Popen, str]:
    import bcrypt

    from questengine.server import free_port

    (home / "data").mkdir()
    (home / "auth.json").write_text(json.dumps([{
        "agent": {"mbox": "mailto:bench@school.example", "objectType": "Agent"},
        "scopes": ["all"], "username": "bench",
        "hash": bcrypt.hashpw(b"bench-password", bcrypt.gensalt(rounds=4)).decode()}]))
    port = free_port()
    env = {**os.environ, "RALPH_APP_DIR": str(home / "app"), "RALPH_AUTH_FILE": str(home / "auth.json"),
           "RALPH_RUNSERVER_BACKEND": "fs",
           "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(home / "data")}
    start = ("from ralph.backends.data.base import BaseOperationType\n"
             "from ralph.backends.lrs.fs import FSLRSBackend\n"
             "FSLRSBackend.default_operation_type = BaseOperationType.APPEND\n"
             "import uvicorn\n"
             f"uvicorn.run('ralph.api:app', host='127.0.0.1', port={port}, log_level='warning')\n")
    proc = subprocess.Popen([sys.executable, "-c", start], cwd=home, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/__lbheartbeat__", timeout=5)
            return proc, f"http://127.0.0.1:{port}/xAPI/"
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("Ralph's LRS did not start")
            time.sleep(0.3)


def xapi_and_lrs(runs: int) -> None:
    from questengine.interop.lrs import send_statements
    from questengine.interop.xapi import statements

    from test_xapi import build_class

    classroom, code = build_class()
    built = median_time(lambda: list(statements(classroom, code)), runs)
    sts = list(statements(classroom, code))
    dumped = median_time(lambda: [json.dumps(s) for s in sts], runs)
    print(f"xAPI: {len(sts)} statements built in {built * 1000:.1f} ms "
          f"({len(sts) / built:,.0f}/s); serialising them alone {dumped * 1000:.2f} ms "
          f"({built / dumped:.0f}x)")
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = start_lrs(Path(tmp))
        try:
            auth = "bench:bench-password"
            t = time.perf_counter()
            first = send_statements(sts, url, auth=auth, batch_size=100)
            batch = time.perf_counter() - t
            t = time.perf_counter()
            again = send_statements(sts, url, auth=auth, batch_size=100)
            resend = time.perf_counter() - t
            fresh = [dict(s, id=None) for s in sts]
            import uuid
            for s in fresh:
                s["id"] = str(uuid.uuid4())
            t = time.perf_counter()
            one = send_statements(fresh, url, auth=auth, batch_size=1)
            single = time.perf_counter() - t
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
    print(f"LRS (Ralph, fs backend): {first.sent} statements in batches of 100: "
          f"{batch * 1000:.0f} ms; one per request: {single * 1000:.0f} ms ({single / batch:.1f}x); "
          f"sent again: {resend * 1000:.0f} ms, {again.stored} stored, {again.already} already there")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    twine(args.runs)
    xapi_and_lrs(args.runs)


if __name__ == "__main__":
    main()
