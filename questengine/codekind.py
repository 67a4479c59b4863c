"""The ``code`` node kind: a coding challenge, shipped with questengine as a plugin.

It is defined with the same plugin API a coding-class student uses, and every
:class:`~questengine.plugins.Registry` installs it unless told not to
(``Registry(code=False)``). The student writes a Python function in the page;
the checker runs it against the node's tests in a :class:`~questengine.sandbox.Sandbox`
(a bubblewrap sandbox: a separate, limited process behind an operating-system
boundary, never the page's kernel) and the step succeeds when enough tests pass
(all, by default). A wrong run lets the student try again, unless ``max_tries``
is set: then the last try that fails fails the step.

Where the sandbox cannot be had (no bubblewrap, user namespaces refused), the
kind refuses to run student code, and says why in one sentence: checking the
quest reports it at each coding node (so the quest is not published), and a
press on Run is refused without using up a try (the sentence goes to the
plugin problems the teacher and the log see).

.. code-block:: yaml

    - id: add
      kind: code
      title: Add two numbers
      prompt: Write `add(a, b)` that returns the sum of a and b.
      function: add
      starter: |
        def add(a, b):
            return 0
      tests:
        - {call: "add(2, 3)", expect: "5"}
        - {call: "add(-1, 1)", expect: "0"}
        - {call: "add('a', 1)", raises: TypeError, hidden: true}

``expect`` is the expected value written as Python (``"5"``, ``"'five'"``,
``"[1, 2]"``, ``"True"``); ``raises`` names the exception the call must raise.
"""
from __future__ import annotations

import ast
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from .model import Strict
from .plugins import Plugin, PluginNode, Verdict
from .sandbox import Limits, Sandbox, SandboxUnavailable, TestCase, default_sandbox, literal

__all__ = ["CodeTest", "CodeNode", "plugin", "make_plugin", "ICON"]

ICON = "M5.5 4.5L2 8l3.5 3.5M10.5 4.5L14 8l-3.5 3.5"
_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"


class CodeTest(Strict):
    """One test: ``call`` (a Python expression such as ``add(2, 3)``) and what it must give."""

    call: str = Field(min_length=1, max_length=2000)
    expect: str | None = None
    raises: str | None = Field(default=None, pattern=_IDENTIFIER)
    name: str | None = Field(default=None, max_length=100)
    hidden: bool = False

    @field_validator("call")
    @classmethod
    def _call_is_an_expression(cls, call: str) -> str:
        try:
            ast.parse(call, mode="eval")
        except SyntaxError as err:
            raise ValueError(f"{call!r} is not a Python expression (like add(2, 3)): "
                             f"{err.msg}") from err
        return call

    @field_validator("expect", mode="before")
    @classmethod
    def _expect_as_text(cls, value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return repr(value)
        if isinstance(value, (int, float)):
            return repr(value)
        if isinstance(value, (list, dict)):
            raise ValueError("write the expected value as Python text in quotes, "
                             "for example expect: \"[1, 2]\"")
        return value

    @field_validator("expect")
    @classmethod
    def _expect_is_a_value(cls, value: str | None) -> str | None:
        if value is not None:
            literal(value)  # raises ValueError with a plain sentence
        return value

    @model_validator(mode="after")
    def _expect_or_raises(self):
        if self.raises is not None and "expect" in self.model_fields_set:
            raise ValueError("a test has either 'expect' or 'raises', not both")
        if self.raises is None and "expect" not in self.model_fields_set:
            raise ValueError("a test needs 'expect' (the value the call gives) or 'raises' "
                             "(the exception it raises)")
        return self


class CodeNode(PluginNode):
    """A coding challenge: write a Python function that passes the tests."""

    kind: Literal["code"]
    prompt: str
    function: str = Field(pattern=_IDENTIFIER, max_length=100)
    starter: str | None = Field(default=None, max_length=20_000)
    tests: list[CodeTest] = Field(min_length=1, max_length=50)
    pass_score: float = Field(default=1.0, ge=0, le=1)
    max_tries: int | None = Field(default=None, ge=1, le=100)
    time_limit: float = Field(default=2.0, gt=0, le=10)
    memory_mb: int = Field(default=128, ge=32, le=1024)
    solution: str | None = Field(default=None, max_length=20_000)

    @property
    def can_fail(self) -> bool:
        """Only a challenge with ``max_tries`` can end failed (so fail edges make sense)."""
        return self.max_tries is not None

    @property
    def starter_code(self) -> str:
        """What the student's editor starts with."""
        if self.starter is not None:
            return self.starter
        return f"def {self.function}():\n    # your code here\n    return None\n"

    def cases(self) -> tuple[TestCase, ...]:
        return tuple(TestCase(t.call, t.expect, t.raises, t.name or f"test {i}", t.hidden)
                     for i, t in enumerate(self.tests, start=1))

    def limits(self) -> Limits:
        return Limits(seconds=self.time_limit, memory_mb=self.memory_mb)


def _summary(result, passed: bool) -> str:
    if result.status != "ok":
        return result.message
    total = len(result.tests)
    if passed and result.failed == 0:
        return f"All {total} tests passed. Well done!"
    if passed:
        return f"{result.passed} of {total} tests passed: enough to go on."
    return f"{result.passed} of {total} tests passed. Fix the failing ones and run it again." + (
        f" {result.message}" if result.message else "")


def _details(result) -> dict:
    tests = []
    for t in result.tests:
        if t.hidden:
            tests.append({"name": t.name, "passed": t.passed, "hidden": True, "call": "",
                          "expected": "", "got": "", "message": ""})
        else:
            tests.append({"name": t.name, "passed": t.passed, "hidden": False, "call": t.call,
                          "expected": t.expected, "got": t.got, "message": t.message})
    return {"status": result.status, "message": result.message, "output": result.output,
            "seconds": result.seconds, "passed": result.passed, "failed": result.failed,
            "tests": tests}


#: what a new coding challenge starts with in the editor
DEFAULTS = {"prompt": "Write a function `double(n)` that returns twice `n`.", "function": "double",
            "starter": "def double(n):\n    return 0\n",
            "tests": [{"call": "double(2)", "expect": "4"}, {"call": "double(-3)", "expect": "-6"}]}


def make_plugin(sandbox: Sandbox | None = None) -> Plugin:
    """The ``code`` kind as a plugin, running code in ``sandbox`` (the default one if None)."""
    made = Plugin("questengine.code", "Coding challenges run in a sandbox.")

    def box() -> Sandbox:
        return sandbox if sandbox is not None else default_sandbox()

    def run(node: CodeNode, answer: Any):
        if not isinstance(answer, str):
            raise TypeError(f"code is text, got {type(answer).__name__}")
        return box().run(answer, node.function, node.cases(), node.limits())  # may refuse

    def problems(node: CodeNode) -> list[str]:
        said = box().unavailable()
        return [said] if said else []

    def grade(node: CodeNode, answer: Any, tries: int) -> Verdict:
        result = run(node, answer)
        passed = result.status == "ok" and result.score >= node.pass_score
        final = passed or (node.max_tries is not None and tries + 1 >= node.max_tries)
        return Verdict(correct=passed, score=result.score, feedback=_summary(result, passed),
                       results={t.name: t.passed for t in result.tests}, final=final,
                       details=_details(result))

    def example(node: CodeNode, right: bool) -> str | None:
        if right:
            return node.solution
        return f"def {node.function}(*args, **kwargs):\n    return None\n"

    made.kind("code", completes="answer", label="Coding challenge", icon=ICON,
              description="Write a Python function; it is run against the tests in a sandbox.",
              prepare=run, example=example, defaults=DEFAULTS, problems=problems)(CodeNode)
    made.grader("code")(grade)
    return made


plugin = make_plugin()


def check_solution(node: CodeNode, sandbox: Sandbox | None = None) -> list[str]:
    """Problems with a challenge's own ``solution`` (tests it fails), for authors."""
    if node.solution is None:
        return []
    try:
        result = (sandbox or default_sandbox()).run(node.solution, node.function, node.cases(),
                                                    node.limits())
    except SandboxUnavailable as err:
        return [str(err)]
    out = [] if result.status == "ok" else [result.message]
    out += [f"{t.name} ({t.call}): expected {t.expected}, got {t.got or t.message}"
            for t in result.tests if not t.passed]
    return out
