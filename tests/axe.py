"""axe-core in the browser tests: ``assert_no_axe_violations(page, "play: map")``.

axe-core comes from the ``axe-playwright-python`` package, which ships ``axe.min.js``
(no network). Every rule axe runs by default is checked (WCAG 2.0-2.2 A/AA and the
best practices), and a violation of any impact fails the test with one line per failing
element: the rule, its impact, what it asks for and the element's selector and markup.

Set ``QE_AXE_LOG`` to a file path to append one JSON line per checked state (state name,
number of violations per rule), which is how the closing notes count them.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path

__all__ = ["axe_violations", "assert_no_axe_violations", "AXE_TAGS"]

#: The rule sets checked: WCAG 2.0, 2.1 and 2.2 at levels A and AA, and axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


@lru_cache(maxsize=1)
def _axe_source() -> str:
    import axe_playwright_python
    return (Path(axe_playwright_python.__file__).parent / "axe.min.js").read_text()


def axe_violations(page, context: str | None = None) -> list[dict]:
    """Run axe-core on the page as it is now; the list of violations (axe's own dicts)."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    options = {"runOnly": {"type": "tag", "values": AXE_TAGS},
               "resultTypes": ["violations"]}
    results = page.evaluate("([context, options]) => axe.run(context || document, options)",
                            [context, options])
    return results["violations"]


def _describe(violations: list[dict]) -> str:
    lines = []
    for rule in violations:
        for node in rule["nodes"]:
            target = " ".join(str(t) for t in node.get("target", []))
            lines.append(f"- {rule['id']} ({rule.get('impact')}): {rule['help']} -> {target}\n"
                         f"    {node.get('html', '')[:200]}")
    return "\n".join(lines)


def assert_no_axe_violations(page, state: str, context: str | None = None) -> None:
    """Fail, naming every failing element, unless axe finds no violation in this page state."""
    violations = axe_violations(page, context)
    log = os.environ.get("QE_AXE_LOG")
    if log:
        with open(log, "a") as out:
            out.write(json.dumps({"state": state, "violations": {
                v["id"]: len(v["nodes"]) for v in violations}}) + "\n")
    count = sum(len(v["nodes"]) for v in violations)
    assert not violations, (f"axe-core found {count} failing element(s) in page state "
                            f"{state!r}:\n{_describe(violations)}")
