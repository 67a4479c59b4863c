"""Read Moodle GIFT quiz files into quest questions.

GIFT (https://docs.moodle.org/en/GIFT_format) writes one question per
paragraph: an optional ``::name::``, the question text, and the answers in
braces. What each kind becomes:

=====================================  ===========================================
GIFT                                   quest question
=====================================  ===========================================
``{=right ~wrong ~wrong}``              ``choice`` (a missing word: the prompt has ____)
``{~%50%a ~%50%b ~c}``                  ``multi`` (the answers with credit)
``{T}`` ``{FALSE}``                     ``choice`` between True and False
``{=four =4}``                          ``text`` accepting every full-credit answer
``{#1822:2}`` ``{#3.141..3.142}``       ``number`` with a tolerance
``{=a -> b ...}`` (matching), ``{}``     left out with a warning (no kind here)
(essay), a text with no braces
=====================================  ===========================================

Partial credit (``%50%``) and negative weights cannot be kept: the import says
where. Feedback becomes the question's ``explanation`` (the general feedback,
else the right answer's), ``[html]`` text is reduced to plain text, and the
escapes ``\\~ \\= \\# \\{ \\} \\: \\\\`` are undone.

>>> result = loads_gift("::Tomb:: Who's buried in Grant's tomb?{~Grant ~Jefferson =no one}")
>>> result.questions[0] == {"id": "tomb", "type": "choice", "prompt": "Who's buried in Grant's tomb?",
...                         "options": ["Grant", "Jefferson", "no one"], "answer": "no one", "_line": 1}
True
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

from ..errors import Problem
from .quizfiles import QuizImport, QuizImportError, question_id

__all__ = ["loads_gift"]

_ESCAPED = {"~": "\x01", "=": "\x02", "#": "\x03", "{": "\x04", "}": "\x05", ":": "\x06",
            "\\": "\x07", "n": "\n"}
_RESTORE = {v: k for k, v in _ESCAPED.items() if k != "n"}


def _protect(text: str) -> str:
    return re.sub(r"\\([~=#{}:\\n])", lambda m: _ESCAPED[m.group(1)], text)


def _restore(text: str) -> str:
    return "".join(_RESTORE.get(c, c) for c in text)


class _Text(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("br", "p", "div", "li"):
            self.out.append("\n")
        if tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.out.append(f"[image: {alt}]")

    def handle_data(self, data):
        self.out.append(data)


def _plain(text: str) -> str:
    """Question text without its ``[format]`` marker; HTML reduced to its text."""
    text = text.strip()
    m = re.match(r"^\[(html|moodle|plain|markdown)\]", text)
    fmt = m.group(1) if m else "moodle"
    text = text[m.end():] if m else text
    if fmt in ("html", "moodle") and re.search(r"<[A-Za-z/]", text):
        parser = _Text()
        parser.feed(text)
        parser.close()
        text = "".join(parser.out)
    return re.sub(r"[ \t]*\n[ \t]*", "\n", re.sub(r"[ \t]+", " ", _restore(text))).strip()


@dataclass
class _Answer:
    mark: str  # "=" or "~"
    weight: float | None  # the %n% credit, if written
    text: str
    feedback: str


def _answers(body: str) -> list[_Answer]:
    out = []
    for m in re.finditer(r"([=~])((?:[^=~])*)", body):
        mark, rest = m.group(1), m.group(2)
        weight = None
        w = re.match(r"\s*%(-?\d+(?:\.\d+)?)%", rest)
        if w:
            weight = float(w.group(1))
            rest = rest[w.end():]
        text, _, feedback = rest.partition("#")
        out.append(_Answer(mark, weight, text.strip(), feedback.strip()))
    return out


def _blocks(text: str):
    """(first line, block text) of each question: paragraphs, comments left out."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    block, start, depth = [], None, 0
    for number, line in enumerate(lines, start=1):
        protected = _protect(line)
        if depth == 0 and protected.lstrip().startswith("//"):
            continue
        if depth == 0 and not line.strip():
            if block:
                yield start, "\n".join(block)
            block, start = [], None
            continue
        if start is None:
            start = number
        block.append(protected)
        depth = max(0, depth + protected.count("{") - protected.count("}"))
    if block:
        yield start, "\n".join(block)


def loads_gift(text: str, filename: str = "<gift>") -> QuizImport:
    """The questions of a GIFT file (see the module's table for what each kind becomes)."""
    result = QuizImport(filename, "GIFT")
    used: set[str] = set()
    for line, block in _blocks(text.lstrip("\ufeff")):
        _question(block, line, result, used)
    if not result.questions and all(w.code == "gift_description" for w in result.warnings):
        raise QuizImportError([Problem("no GIFT questions found: a question is a paragraph with "
                                       "its answers in braces, such as 'Who wrote Hamlet? "
                                       "{=Shakespeare ~Marlowe}'", file=filename, line=1,
                                       code="no_questions")])
    return result


def _question(block: str, line: int, result: QuizImport, used: set[str]) -> None:
    def skip(why: str, code: str) -> None:
        result.skipped.append(name or first_words)
        result.warnings.append(Problem(f"question {name or first_words!r} was left out: {why}",
                                       file=result.filename, line=line, code=code))

    while block.lstrip().startswith("$CATEGORY:"):  # a category line, maybe above a question
        block = block.lstrip().partition("\n")[2]
    if not block.strip():
        return
    name = ""
    m = re.match(r"\s*::(.*?)::", block, re.DOTALL)
    if m:
        name = _restore(m.group(1)).strip()
        block = block[m.end():]
    first_words = " ".join(_plain(re.sub(r"\{.*", "", block, flags=re.DOTALL)).split()[:8])
    open_ = block.find("{")
    close = block.rfind("}")
    if open_ < 0 or close < open_:
        skip("it has no answers in braces (a description, not a question)", "gift_description")
        return
    before, body, after = block[:open_], block[open_ + 1:close], block[close + 1:]
    after_text = _plain(after)
    prompt = _plain(before)
    if re.search(r"[A-Za-z0-9]", after_text):  # a missing word: text on both sides
        prompt = f"{prompt} _____ {after_text}".strip()
    general = ""
    if "####" in body:
        body, _, general = body.partition("####")
        general = _plain(general)
    q: dict = {"id": question_id(name, used), "type": "", "prompt": prompt or name or "Question",
               "_line": line}
    stripped = body.strip()

    if not stripped:
        skip("it is an essay question (no answers), which cannot be marked automatically; "
             "add it as a task the teacher reviews", "gift_essay")
        used.discard(q["id"])
        return
    tf = re.match(r"^(T|F|TRUE|FALSE)\s*(?:#(.*?))?(?:#(.*))?$", stripped, re.DOTALL)
    if tf:
        right = tf.group(1).startswith("T")
        q.update(type="choice", options=["True", "False"], answer="True" if right else "False")
        feedback = general or _plain(tf.group(3 if right else 2) or tf.group(2) or "")
    elif stripped.startswith("#"):
        number = _number(stripped[1:])
        if number is None:
            skip(f"its numerical answer {_restore(stripped[1:]).strip()!r} cannot be read",
                 "gift_bad_number")
            used.discard(q["id"])
            return
        q.update(type="number", answer=number[0], tolerance=number[1])
        if number[2]:
            result.warnings.append(Problem(f"question {q['id']!r}: only the full-credit answer "
                                           "was kept; partial credit for close answers was "
                                           "dropped", file=result.filename, line=line,
                                           code="gift_partial_credit"))
        feedback = general or number[3]
    else:
        answers = _answers(body)
        if any("->" in a.text for a in answers if a.mark == "="):
            skip("it is a matching question, which has no question kind here", "gift_matching")
            used.discard(q["id"])
            return
        texts = [_plain(a.text) for a in answers]
        full = [i for i, a in enumerate(answers)
                if (a.mark == "=" and (a.weight is None or a.weight >= 100))
                or (a.mark == "~" and a.weight is not None and a.weight >= 100)]
        partial = [i for i, a in enumerate(answers) if a.weight is not None and 0 < a.weight < 100]
        if all(a.mark == "=" for a in answers):  # short answer
            accept = [texts[i] for i in full if texts[i] and texts[i] != "*"]
            if not accept:
                skip("it has no full-credit answer to accept", "gift_no_answer")
                used.discard(q["id"])
                return
            q.update(type="text", accept=accept)
            if partial:
                result.warnings.append(Problem(
                    f"question {q['id']!r}: the answers with partial credit "
                    f"({', '.join(repr(texts[i]) for i in partial)}) count as wrong here",
                    file=result.filename, line=line, code="gift_partial_credit"))
        elif not full and partial:  # several right answers sharing the credit
            q.update(type="multi", options=texts,
                     answer=[texts[i] for i in partial])
        elif len(full) == 1:
            q.update(type="choice", options=texts, answer=texts[full[0]])
            if partial:
                result.warnings.append(Problem(
                    f"question {q['id']!r}: the answers with partial credit "
                    f"({', '.join(repr(texts[i]) for i in partial)}) count as wrong here",
                    file=result.filename, line=line, code="gift_partial_credit"))
        else:
            skip("it has no single right answer to mark", "gift_no_answer")
            used.discard(q["id"])
            return
        if len(set(texts)) != len(texts) and q["type"] != "text":
            skip("two of its answers have the same text", "gift_duplicate_answer")
            used.discard(q["id"])
            return
        right = [answers[i] for i in (full or partial)]
        feedback = general or next((_plain(a.feedback) for a in right if a.feedback), "")
    if feedback:
        q["explanation"] = feedback
    result.questions.append(q)


def _number(body: str):
    """(answer, tolerance, had partial credit, feedback) of a GIFT numerical answer, or None."""
    body = body.strip()
    entries = _answers(body) if body.startswith("=") or "\n" in body and "=" in body else None
    partial = False
    feedback = ""
    if entries:
        best = next((a for a in entries if a.mark == "=" and (a.weight is None or a.weight >= 100)),
                    None)
        partial = any(a.weight is not None and a.weight < 100 for a in entries)
        if best is None:
            return None
        body, feedback = best.text, _plain(best.feedback)
    else:
        right = re.split(r"[~=]", body)[0]  # what follows ~ is a wrong answer's feedback
        body, _, rest = right.partition("#")
        feedback = _plain(rest)
    body = _restore(body).strip()
    try:
        if ".." in body:
            low, high = (float(x) for x in body.split(".."))
            return round((low + high) / 2, 12), round(abs(high - low) / 2, 12), partial, feedback
        value, _, tolerance = body.partition(":")
        return float(value), abs(float(tolerance or 0)), partial, feedback
    except ValueError:
        return None
