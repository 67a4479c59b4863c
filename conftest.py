"""Test-session settings shared by every test folder."""
import sys
from pathlib import Path

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
