"""Sending xAPI statements to a real learning record store: Ralph's LRS server (the
``ralph-malph[lrs]`` package) with its file-system backend, started on 127.0.0.1 by a
fixture. Round trip: send, read back with GET, send again without duplicates; batches;
credentials; retries after server errors; the command line."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import bcrypt
import pytest
from click.testing import CliRunner

from questengine.cli import main
from questengine.interop.lrs import LRSError, query_statements, send_statements, statements_url
from questengine.interop.xapi import statements
from questengine.server import free_port

from test_xapi import build_class

USER, PASSWORD = "questengine", "a long test password"
AUTH = f"{USER}:{PASSWORD}"


@pytest.fixture(scope="module")
def lrs(tmp_path_factory):
    """Ralph's LRS (the app `ralph runserver` starts) on a free port, file-system backend."""
    home = tmp_path_factory.mktemp("ralph")
    (home / "data").mkdir()
    (home / "auth.json").write_text(json.dumps([{
        "agent": {"mbox": "mailto:questengine@school.example", "objectType": "Agent"},
        "scopes": ["all"], "username": USER,
        "hash": bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode(),
    }]), encoding="utf-8")
    port = free_port()
    env = {**os.environ, "RALPH_APP_DIR": str(home / "app"), "RALPH_AUTH_FILE": str(home / "auth.json"),
           "RALPH_RUNSERVER_BACKEND": "fs",
           "RALPH_BACKENDS__LRS__FS__DEFAULT_DIRECTORY_PATH": str(home / "data"),
           "RALPH_BACKENDS__DATA__FS__DEFAULT_DIRECTORY_PATH": str(home / "data")}
    log = open(home / "server.log", "wb")
    # Ralph 5.1's file-system LRS backend writes with the INDEX operation, which refuses to
    # write a file that exists: every POST after the first fails with 500 "Statements bulk
    # indexation failed". The server is started as `ralph runserver -b fs` starts it (uvicorn
    # on ralph.api:app, without the reloader), its backend told to append instead.
    start = ("from ralph.backends.data.base import BaseOperationType\n"
             "from ralph.backends.lrs.fs import FSLRSBackend\n"
             "FSLRSBackend.default_operation_type = BaseOperationType.APPEND\n"
             "import uvicorn\n"
             f"uvicorn.run('ralph.api:app', host='127.0.0.1', port={port}, log_level='warning')\n")
    proc = subprocess.Popen([sys.executable, "-c", start],
                            cwd=home, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    url = f"http://127.0.0.1:{port}/xAPI/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/__lbheartbeat__", timeout=5):
                break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.flush()
                pytest.fail("Ralph's LRS did not start: "
                            + (home / "server.log").read_text(errors="replace")[-2000:])
            time.sleep(0.3)
    yield {"url": url, "data": home / "data"}
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    log.close()


def stored(lrs) -> list[dict]:
    return [json.loads(line) for f in lrs["data"].glob("*.jsonl")
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def world():
    return build_class()


def test_send_read_back_and_send_again_without_duplicates(lrs, world):
    classroom, code = world
    ours = list(statements(classroom, code))
    first = send_statements(ours, lrs["url"], auth=AUTH, batch_size=10)
    assert (first.sent, first.stored, first.already, first.conflicts) == (len(ours), len(ours), 0, [])
    assert first.batches == -(-len(ours) // 10)
    back = list(query_statements(lrs["url"], auth=AUTH, limit=7))  # pages of 7: 'more' links
    assert sorted(s["id"] for s in back) == sorted(s["id"] for s in ours)
    theirs = {s["id"]: s for s in back}
    for st in ours:  # the store keeps what we sent (and adds stored, authority)
        assert theirs[st["id"]]["verb"] == st["verb"] and theirs[st["id"]]["object"] == st["object"]
    items = [s for s in back if s["object"].get("definition", {}).get("type", "").endswith(
        "cmi.interaction")]
    assert items and all("correctResponsesPattern" in s["object"]["definition"] for s in items)

    again = send_statements(statements(classroom, code), lrs["url"], auth=AUTH, batch_size=25)
    assert (again.stored, again.already, again.conflicts) == (0, len(ours), [])
    assert len(stored(lrs)) == len(ours)  # nothing stored twice

    # with personal text, the statements that change are new ones with new ids
    told = list(statements(classroom, code, include_text=True))
    changed = {s["id"] for s in told} - {s["id"] for s in ours}
    third = send_statements(told, lrs["url"], auth=AUTH)
    assert third.stored == len(changed) > 0 and third.already == len(told) - len(changed)
    assert third.conflicts == []
    assert len(stored(lrs)) == len(ours) + len(changed)


def test_a_conflicting_statement_is_named_and_the_rest_still_stored(lrs, world):
    classroom, code = world
    ours = list(statements(classroom, code))[:3]
    send_statements(ours, lrs["url"], auth=AUTH)
    forged = dict(ours[0], verb={"id": "http://adlnet.gov/expapi/verbs/voided",
                                 "display": {"en-US": "voided"}})
    fresh = dict(ours[1], id="5f0e4a2c-9a5e-4c3b-8f21-3b1d2c4e5f60")
    report = send_statements([forged, fresh], lrs["url"], auth=AUTH)
    assert report.conflicts == [ours[0]["id"]]
    assert report.stored == 1
    assert any(s["id"] == fresh["id"] for s in query_statements(lrs["url"], auth=AUTH))


def test_wrong_credentials_are_refused_in_a_sentence(lrs, world):
    classroom, code = world
    with pytest.raises(LRSError, match="refused the credentials.*QUESTENGINE_LRS_AUTH"):
        send_statements(statements(classroom, code), lrs["url"], auth=f"{USER}:wrong")
    with pytest.raises(LRSError, match="user:password"):
        send_statements([], lrs["url"], auth="no-colon")


def test_cli_export_xapi_to_the_lrs(lrs, tmp_path):
    db = tmp_path / "class.db"
    classroom, code = build_class(db)
    count = len(list(statements(classroom, code)))
    classroom.store.close()
    runner = CliRunner()
    args = ["export-xapi", "--class", code, "--db", str(db), "--lrs", lrs["url"]]
    result = runner.invoke(main, args, env={"QUESTENGINE_LRS_AUTH": AUTH})
    assert result.exit_code == 0, result.output
    assert f"sent {count} statement(s)" in result.stderr and f"{count} stored" in result.stderr
    assert result.stdout == ""
    again = runner.invoke(main, args + ["--batch-size", "5"], env={"QUESTENGINE_LRS_AUTH": AUTH})
    assert again.exit_code == 0 and f"0 stored, {count} already" in again.stderr
    refused = runner.invoke(main, args, env={"QUESTENGINE_LRS_AUTH": "x:y"})
    assert refused.exit_code == 1 and "refused the credentials" in refused.stderr
    assert "Traceback" not in refused.output


class _Flaky(BaseHTTPRequestHandler):
    """An LRS that fails the first requests with 503, then takes everything."""

    failures = 2
    seen: list = []

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append((self.headers["X-Experience-API-Version"],
                                self.headers["Authorization"], len(body)))
        if type(self).failures:
            type(self).failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        out = json.dumps([s["id"] for s in body]).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


def test_server_errors_and_broken_connections_are_retried_with_backoff(world):
    classroom, code = world
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pauses = []
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/xAPI"
        report = send_statements(statements(classroom, code), url, auth=AUTH, batch_size=1000,
                                 sleep=pauses.append)
    finally:
        server.shutdown()
        server.server_close()
    assert report.retries == 2 and pauses == [0.5, 1.0]  # growing pauses
    assert report.stored == report.sent
    version, authorization, size = _Flaky.seen[-1]
    assert version == "1.0.3" and authorization.startswith("Basic ") and size == report.sent
    # nobody listening: every try fails, then one sentence
    dead = f"http://127.0.0.1:{free_port()}/xAPI/"
    pauses.clear()
    with pytest.raises(LRSError, match="did not take the statements after 3 tries"):
        send_statements(statements(classroom, code), dead, retries=2, sleep=pauses.append)
    assert pauses == [0.5, 1.0]


def test_addresses_are_checked():
    assert statements_url("http://h:1/xAPI") == "http://h:1/xAPI/statements"
    with pytest.raises(LRSError, match="web address"):
        statements_url("ftp://lrs.example/")
