"""Quiz questions from other tools (Moodle GIFT, IMS QTI 2.1) into a quest's quiz or gate node.

:func:`read_quiz` picks the reader from the file (``.gift``/text: GIFT; ``.xml``, a
``.zip`` content package or a folder of items: QTI) and returns a
:class:`QuizImport`: questions in the quest format, plus a warning for each item
that was left out (matching, essay, ordering... have no auto-graded kind here) or
changed (partial credit). :func:`add_questions` writes them into a node of a
quest file, keeping the file's comments and key order (the loader's round trip).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from ..errors import Problem, QuestFileError
from ..model import Question

__all__ = ["QuizImportError", "QuizImport", "read_quiz", "add_questions", "question_id",
           "MAX_QUIZ_BYTES"]

MAX_QUIZ_BYTES = 20_000_000
_QUESTIONS = TypeAdapter(list[Question])


class QuizImportError(QuestFileError):
    """A quiz file, or a quest node, that the questions cannot come from or go into."""


@dataclass
class QuizImport:
    """Questions read from a quiz file, and what the reader had to say about it."""

    filename: str
    format: str  # "GIFT" or "QTI 2.1"
    questions: list[dict] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # names of the items left out

    def validated(self) -> list[dict]:
        """The questions checked by the quest model (raises QuizImportError naming the item)."""
        plain = [{k: v for k, v in q.items() if not k.startswith("_")} for q in self.questions]
        try:
            _QUESTIONS.validate_python(plain)
        except ValidationError as err:
            first = err.errors()[0]
            index = first["loc"][0] if first["loc"] else 0
            q = self.questions[index] if isinstance(index, int) else {}
            raise QuizImportError([Problem(
                f"question {q.get('id', index)!r} is not valid: {first['msg']}",
                file=self.filename, line=q.get("_line"), code="bad_question")]) from err
        return plain


def question_id(name: str, used: set[str], fallback: str = "q") -> str:
    """A question id made from a name, unique among ``used`` (which it joins).

    >>> used = {"q1"}
    >>> question_id("Grant's Tomb", used), question_id("", used), question_id("Grant's Tomb", used)
    ('grants-tomb', 'q3', 'grants-tomb-2')
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", re.sub(r"['’`]", "", ascii_text.lower())).strip("-")[:60]
    if not base:
        n = len(used) + 1
        while f"{fallback}{n}" in used:
            n += 1
        base = f"{fallback}{n}"
    out, n = base, 2
    while out in used:
        out, n = f"{base}-{n}", n + 1
    used.add(out)
    return out


def read_quiz(path: str | Path) -> QuizImport:
    """Read a GIFT file or QTI 2.1 items (an item file, a content package zip, or a folder)."""
    path = Path(path)
    if path.is_dir() or path.suffix.lower() in (".xml", ".zip"):
        from .qti import read_qti
        return read_qti(path)
    raw = _read_bytes(path)
    text = _decode(raw, path)
    if text.lstrip("\ufeff \r\n\t").startswith("<"):
        from .qti import loads_qti
        return loads_qti(text, str(path))
    from .gift import loads_gift
    return loads_gift(text, str(path))


def _read_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise QuizImportError([Problem(f"cannot read the file: {err.strerror}",
                                       file=str(path))]) from err
    if len(raw) > MAX_QUIZ_BYTES:
        raise QuizImportError([Problem(f"the file is {len(raw) / 1e6:.1f} MB; a quiz file may "
                                       f"be at most {MAX_QUIZ_BYTES / 1e6:.0f} MB",
                                       file=str(path), code="too_large")])
    return raw


def _decode(raw: bytes, path: Path) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise QuizImportError([Problem(f"the file is not UTF-8 text (byte {err.start}); save it "
                                       "as UTF-8", file=str(path), line=line,
                                       code="encoding")]) from err


def add_questions(quest_path: str | Path, node_id: str, quiz: QuizImport, *,
                  replace: bool = False) -> tuple[Any, list[str]]:
    """Write the quiz's questions into node ``node_id`` (a quiz or gate) of a quest file.

    The questions are added after the node's own (``replace=True`` puts them in
    their place); ids already used in the node get a suffix. The file keeps its
    comments and key order, and must still validate. Returns the saved quest and
    the ids of the questions added.
    """
    from ..graph import validate
    from ..loader import load_quest, save_quest
    from ..model import Quest

    questions = quiz.validated()
    if not questions:
        raise QuizImportError([Problem("the quiz file has no question that can be imported"
                                       + (f" ({len(quiz.skipped)} left out, see the warnings)"
                                          if quiz.skipped else ""),
                                       file=quiz.filename, code="no_questions")])
    quest = load_quest(quest_path)
    node = next((n for n in quest.nodes if n.id == node_id), None)
    takers = [n.id for n in quest.nodes if n.kind in ("quiz", "gate")]
    if node is None or node.kind not in ("quiz", "gate"):
        what = "has no node" if node is None else f"has node {node_id!r}, a {node.kind} node,"
        raise QuizImportError([Problem(
            f"the quest {what} with that id to take questions; choose a quiz or gate node"
            + (f": {', '.join(takers)}" if takers else " (the quest has none: add one first)"),
            file=str(quest_path), code="bad_node")])
    data = quest.to_data()
    target = next(n for n in data["nodes"] if n["id"] == node_id)
    kept = [] if replace else list(target.get("questions") or [])
    used = {q["id"] for q in kept}
    added = []
    for q in questions:
        q = {k: v for k, v in q.items() if not k.startswith("_")}
        q["id"] = question_id(q["id"], used)
        kept.append(q)
        added.append(q["id"])
    target["questions"] = kept
    new = Quest.model_validate(data)
    problems = validate(new)
    if problems:
        raise QuizImportError([Problem(f"with these questions the quest would not be valid: "
                                       f"{p.message}", file=str(quest_path), code=p.code)
                               for p in problems])
    new._source = quest._source
    save_quest(new, quest_path)
    return new, added
