"""Test-session settings shared by every test folder."""


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last.

    Playwright's sync API keeps an asyncio loop running in the main thread while
    its (session-wide) browser lives; tests that need no running loop, such as
    the code kind's page tests, must run before it starts.
    """
    items.sort(key=lambda item: "/browser/" in str(item.fspath).replace("\\", "/"))
