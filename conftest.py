"""Test-session settings shared by every test folder."""
import socket
import sys
import threading
from pathlib import Path

import pytest

# tests/helpers.py (the tiny quest, fake clock, cheap hasher) for every test folder; the
# folders themselves hold no conftest.py but tests/browser's (two would clash: each is
# imported as the module `conftest`, which the browser tests import from)
sys.path.insert(0, str(Path(__file__).resolve().parent / "tests"))


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last.

    Playwright's sync API keeps an asyncio loop running in the main thread while
    its (session-wide) browser lives; tests that need no running loop, such as
    the code kind's page tests, must run before it starts.
    """
    items.sort(key=lambda item: "/browser/" in str(item.fspath).replace("\\", "/"))


# the throw-away PostgreSQL server and the fixtures that run a test on both stores
from pgserver import db_address, db_factory, pg_address, pg_server  # noqa: E402,F401


@pytest.fixture
def listener():
    """A TCP server on the loopback address that records every connection it accepts."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            accepted.append(conn.recv(100))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(2)
    server.close()
