"""Import a Twine story written in Twee 3 notation as a quest.

Each passage a reader can reach from the start becomes a node, each link an
edge. A passage with no way onward becomes an ``end`` node; tags may set
other kinds (``task``, ``review``, ``quiz``, ``gate``, ``end``) where the
passage gives what the kind needs. ``StoryTitle`` and ``StoryData`` give the
quest's title, id and description; a passage's ``{"position": "x,y"}``
metadata is kept for the map.

Links are found in every common form: ``[[target]]``, ``[[text->target]]``,
``[[target<-text]]``, ``[[text|target]]`` (with SugarCube setters
``[[text|target][$x to 1]]``), Harlowe's ``(link-goto:)``, ``(go-to:)`` and
``(click-goto:)``, SugarCube's ``<<goto>>``, ``<<link>>``, ``<<button>>`` and
``<<actions>>``, Chapbook's ``{link to: ...}`` and ``data-passage`` attributes
(Snowman). The passage text keeps the prose: link markup becomes its text,
and code (macros, scripts, styles) is left out.

Stories that loop (a passage linking back to an earlier one) cannot be a quest
map, whose forward paths never go round in circles: the import stops with one
sentence per loop and what to do (a ``retry`` edge to a gate, unrolling the
loop, or ``drop_back_links=True`` to leave such links out).

>>> result = loads_twee(':: StoryTitle\\nThe Cave\\n\\n:: Start\\nDark. [[Go in->Inside]]\\n\\n'
...                     ':: Inside\\nYou found the treasure!\\n', "cave.twee")
>>> [(n.id, n.kind) for n in result.quest.nodes]
[('start', 'story'), ('inside', 'end')]
>>> result.quest.nodes[0].text
'Dark. Go in'
"""
from __future__ import annotations

import difflib
import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.scalarstring import LiteralScalarString

from ..errors import Problem, QuestFileError
from ..graph import validate
from ..loader import _fresh, _yaml
from ..model import Question, Quest

__all__ = ["MAX_TWEE_BYTES", "TweeImportError", "Passage", "Link", "TweeStory", "TweeImport",
           "parse_twee", "loads_twee", "load_twee", "story_to_quest", "quest_yaml",
           "SPECIAL_PASSAGES", "SKIPPED_TAGS"]

MAX_TWEE_BYTES = 5_000_000

#: Passages with a meaning to compilers or story formats; never story nodes.
SPECIAL_PASSAGES = frozenset({
    "StoryTitle", "StoryData", "StoryIncludes", "StorySettings", "StoryAuthor", "StorySubtitle",
    "StoryMenu", "StoryCaption", "StoryBanner", "StoryInit", "StoryInterface", "StoryShare",
    "StoryDisplayTitle", "PassageReady", "PassageDone", "PassageHeader", "PassageFooter",
    "MenuOptions", "MenuShare", "MenuStory",
})
#: Tags that mark code, styles, media or page furniture rather than a story passage.
SKIPPED_TAGS = frozenset({
    "script", "stylesheet", "widget", "header", "footer", "startup", "debug-header",
    "debug-footer", "debug-startup", "init", "Twine.image", "Twine.audio", "Twine.video",
    "Twine.vtt", "Twine.private", "annotation",
})
KIND_TAGS = ("end", "task", "review", "quiz", "gate")


class TweeImportError(QuestFileError):
    """A Twee file that cannot become a quest; ``problems`` name file, line and passage."""


@dataclass
class Link:
    text: str
    target: str
    line: int
    form: str  # how it was written, for messages: [[...]], (go-to:) ...


@dataclass
class Passage:
    name: str
    tags: list[str]
    metadata: dict
    body: str
    line: int  # line of the header (1-based)
    links: list[Link] = field(default_factory=list)

    @property
    def is_special(self) -> bool:
        return self.name in SPECIAL_PASSAGES or any(t in SKIPPED_TAGS for t in self.tags)


@dataclass
class TweeStory:
    filename: str
    title: str | None
    data: dict
    passages: list[Passage]
    warnings: list[Problem] = field(default_factory=list)

    @property
    def format(self) -> str:
        return str(self.data.get("format") or "")

    def passage(self, name: str) -> Passage | None:
        return next((p for p in self.passages if p.name == name), None)


@dataclass
class TweeImport:
    """The quest made from a story, and what the import had to say about it."""

    quest: Quest
    story: TweeStory
    warnings: list[Problem]
    node_of: dict[str, str]  # passage name -> node id
    left_out: list[str]  # story passages no link reaches from the start
    dropped_links: list[tuple[str, str]]  # back links left out (with drop_back_links)


# --- parsing ------------------------------------------------------------------------


def load_twee(path: str | Path, **options: Any) -> TweeImport:
    """Read a ``.twee`` file and turn it into a quest (see :func:`story_to_quest`)."""
    path = Path(path)
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise TweeImportError([Problem(f"cannot read the file: {err.strerror}", file=name)]) from err
    if len(raw) > MAX_TWEE_BYTES:
        raise TweeImportError([Problem(
            f"the file is {len(raw) / 1e6:.1f} MB; a Twee story may be at most "
            f"{MAX_TWEE_BYTES / 1e6:.0f} MB", file=name, line=1, code="too_large")])
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise TweeImportError([Problem(
            f"the file is not UTF-8 text (byte {err.start} cannot be decoded); save it as UTF-8",
            file=name, line=line, code="encoding")]) from err
    return loads_twee(text, name, **options)


def loads_twee(text: str, filename: str = "<twee>", **options: Any) -> TweeImport:
    """Parse Twee text and turn it into a quest (see :func:`story_to_quest`)."""
    if not filename.startswith("<"):
        options.setdefault("default_id", Path(filename).name.split(".")[0])
    return story_to_quest(parse_twee(text, filename), **options)


_HEADER = re.compile(r"^::")
_TWEE2_POSITION = re.compile(r"^(.*?)\s*<\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*>\s*$")


def parse_twee(text: str, filename: str = "<twee>") -> TweeStory:
    """The passages of a Twee 3 (or Twee 1/2) story, with their links."""
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    warnings: list[Problem] = []
    passages: list[Passage] = []
    header_line, header, body = None, None, []
    stray = None

    def finish() -> None:
        if header is not None:
            passages.append(_passage(header, "\n".join(body), header_line, filename, warnings))

    for number, line in enumerate(lines, start=1):
        if _HEADER.match(line):
            finish()
            header_line, header, body = number, line, []
        elif header is None:
            if line.strip() and stray is None:
                stray = number
        else:
            body.append(line)
    finish()
    if stray is not None:
        warnings.append(Problem("text before the first passage header ('::') is not part of any "
                                "passage and was left out", file=filename, line=stray,
                                code="stray_text"))
    if not passages:
        raise TweeImportError([Problem(
            "no passages found: a Twee story is made of passages that each start with a line "
            "'::Passage name'", file=filename, line=1, code="no_passages")])
    seen: dict[str, int] = {}
    problems = []
    for p in passages:
        if not p.name:
            problems.append(Problem("a passage header has no name; write it as ':: Name'",
                                    file=filename, line=p.line, code="no_name"))
        elif p.name in seen:
            problems.append(Problem(f"two passages are named {p.name!r} (lines {seen[p.name]} and "
                                    f"{p.line}); rename one", file=filename, line=p.line,
                                    code="duplicate_passage"))
        seen.setdefault(p.name, p.line)
    if problems:
        raise TweeImportError(problems)

    title_passage = next((p for p in passages if p.name == "StoryTitle"), None)
    title = _collapse(title_passage.body) if title_passage else None
    data: dict = {}
    data_passage = next((p for p in passages if p.name == "StoryData"), None)
    if data_passage is not None:
        try:
            data = json.loads(data_passage.body or "{}")
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except ValueError as err:
            warnings.append(Problem(f"StoryData is not a JSON object ({err}); it was ignored",
                                    file=filename, line=data_passage.line, code="bad_storydata"))
            data = {}
    story = TweeStory(filename, title or None, data, passages, warnings)
    for p in passages:
        if not p.is_special:
            p.links = find_links(p.body, p.line + 1, story.format)
    return story


def _passage(header: str, body: str, line: int, filename: str,
             warnings: list[Problem]) -> Passage:
    rest = header[2:]
    name, i = _unescape_until(rest, "[{")
    rest = rest[i:].strip()
    tags: list[str] = []
    metadata: dict = {}
    if rest.startswith("["):
        tag_text, j = _unescape_until(rest[1:], "]")
        if j >= len(rest) - 1 and not rest.endswith("]"):
            warnings.append(Problem(f"the tag block of passage {name.strip()!r} has no closing "
                                    "']'", file=filename, line=line, code="bad_tags"))
        tags = tag_text.split()
        rest = rest[j + 2:].strip()
    if rest.startswith("{"):
        try:
            metadata = json.loads(rest)
            if not isinstance(metadata, dict):
                raise ValueError("not an object")
        except ValueError as err:
            warnings.append(Problem(f"the metadata of passage {name.strip()!r} is not a JSON "
                                    f"object ({err}); it was ignored", file=filename, line=line,
                                    code="bad_metadata"))
            metadata = {}
        rest = ""
    twee2 = _TWEE2_POSITION.match(rest) or (None if rest else _TWEE2_POSITION.match(name))
    if twee2:  # Twee 2 wrote positions as <x,y> after the name or tags
        if not rest:
            name = twee2.group(1)
        metadata.setdefault("position", f"{twee2.group(2)},{twee2.group(3)}")
        rest = ""
    if rest:
        warnings.append(Problem(f"unexpected text {rest[:30]!r} after the header of passage "
                                f"{name.strip()!r} was ignored", file=filename, line=line,
                                code="bad_header"))
    lines = body.split("\n")
    while lines and not lines[-1].strip():  # Twee 3: trailing blank lines are not content
        lines.pop()
    return Passage(name.strip(), tags, metadata, "\n".join(lines), line)


def _unescape_until(text: str, stops: str) -> tuple[str, int]:
    """Decode backslash escapes up to the first unescaped stop character."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if c in stops:
            break
        out.append(c)
        i += 1
    return "".join(out), i


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- links -------------------------------------------------------------------------

_SQUARE = re.compile(r"\[\[(?!\[)([^\n]*?)\]\]")
_IMAGE_LINK = re.compile(r"\[img\[[^\]\n]*\]\[([^\]\n]+)\]\]", re.IGNORECASE)
_STRING = r"\"(?:\\.|[^\"\\])*\"|'(?:\\.|[^'\\])*'|`[^`]*`"
_STRINGS = re.compile(_STRING)
_HARLOWE_LINK_MACROS = {"linkgoto", "linkrevealgoto", "clickgoto", "goto", "mouseovergoto",
                        "mouseoutgoto", "clickreplacegoto"}
_SUGAR = re.compile(r"<<\s*(goto|link|button|actions|choice|click)\b((?:" + _STRING +
                    r"|[^>]|>(?!>))*)>>", re.IGNORECASE | re.DOTALL)
_CHAPBOOK_LINK = re.compile(r"\{\s*link\s+to\s*:\s*(" + _STRING + r")\s*(?:,\s*label\s*:\s*("
                            + _STRING + r"))?\s*\}", re.IGNORECASE)
_DATA_PASSAGE = re.compile(r"data-passage\s*=\s*(\"[^\"]*\"|'[^']*')", re.IGNORECASE)
_URL = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.\-]*://|mailto:|javascript:)")


def split_link(inner: str) -> tuple[str, str]:
    """(text, target) of the inside of ``[[...]]``, in the Twine 2 editor's way.

    >>> split_link("Go north->North")
    ('Go north', 'North')
    >>> split_link("North<-Go north")
    ('Go north', 'North')
    >>> split_link("Go north|North][$steps += 1")
    ('Go north', 'North')
    >>> split_link("North")
    ('North', 'North')
    """
    inner = inner.split("][", 1)[0]  # SugarCube setter: [[text|target][$x to 1]]
    if "->" in inner:
        text, _, target = inner.rpartition("->")
    elif "<-" in inner:
        target, _, text = inner.partition("<-")
    elif "|" in inner:
        text, _, target = inner.rpartition("|")
    else:
        text = target = inner
    return text.strip(), target.strip()


def _unquote(literal: str) -> str:
    body = literal[1:-1]
    return re.sub(r"\\(.)", r"\1", body) if literal[0] != "`" else body


def _harlowe_macros(body: str):
    """(start, end, name, args text) of every Harlowe macro call ``(name: ...)``."""
    for m in re.finditer(r"\(([A-Za-z][\w\-]*)\s*:", body):
        end = _balanced(body, "(", ")", start=m.start())
        if end is None:
            continue
        yield m.start(), end, m.group(1), body[m.end():end - 1]


def _balanced(text: str, open_: str, close: str, start: int) -> int | None:
    """The index just past the bracket that closes the one at ``start`` (quotes respected)."""
    depth, i, quote = 0, start, None
    while i < len(text):
        c = text[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`" and open_ == "(":
            quote = c
        elif c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


def find_links(body: str, first_line: int, story_format: str = "") -> list[Link]:
    """Every link in a passage body, in the order written, with its line.

    Every form is looked for whatever ``story_format`` says: stories are often
    moved between formats, and each form is distinctive enough not to be
    mistaken for prose. A link whose target is computed by code has an empty
    target (the import reports it).
    """
    found: list[tuple[int, Link]] = []

    def add(pos: int, text: str, target: str, form: str) -> None:
        line = first_line + body.count("\n", 0, pos)
        found.append((pos, Link(text, target, line, form)))

    for m in _SQUARE.finditer(body):
        text, target = split_link(m.group(1))
        add(m.start(), text, target, "[[...]]")
    for m in _IMAGE_LINK.finditer(body):
        add(m.start(), "", m.group(1).strip(), "[img[...][...]]")
    for start, _end, name, args in _harlowe_macros(body):
        key = name.lower().replace("-", "").replace("_", "")
        if key not in _HARLOWE_LINK_MACROS:
            continue
        literals = [_unquote(s) for s in _STRINGS.findall(args)]
        code = _STRINGS.sub("", args).replace(",", " ").strip()
        if key == "clickgoto" or key.startswith("mouse") or key == "clickreplacegoto":
            code = re.sub(r"\?[\w]+", "", code).strip()
        if not literals or code:  # e.g. (go-to: $next) or (go-to: "Room " + $n)
            add(start, "", "", f"({name}:) with a target computed by code")
            continue
        target = literals[-1]
        text = literals[0] if len(literals) > 1 else target
        add(start, text, target, f"({name}:)")
    for m in _SUGAR.finditer(body):
        macro, args = m.group(1).lower(), m.group(2)
        if "[[" in args:  # <<link [[text|target]]>>: found above
            continue
        literals = [_unquote(s) for s in _STRINGS.findall(args)]
        if macro == "goto" or macro == "choice":
            if literals:
                add(m.start(), literals[0], literals[0], f"<<{macro}>>")
            elif args.strip():
                add(m.start(), "", "", f"<<{macro}>> with a target computed by code")
        elif macro in ("link", "button", "click"):
            if len(literals) >= 2:
                add(m.start(), literals[0], literals[1], f"<<{macro}>>")
        elif macro == "actions":
            for literal in literals:
                add(m.start(), literal, literal, "<<actions>>")
    for m in _CHAPBOOK_LINK.finditer(body):
        target = _unquote(m.group(1))
        text = _unquote(m.group(2)) if m.group(2) else target
        add(m.start(), text, target, "{link to: ...}")
    for m in _DATA_PASSAGE.finditer(body):
        target = m.group(1)[1:-1]
        add(m.start(), target, target, "data-passage")
    return [link for _, link in sorted(found, key=lambda item: item[0])]


# --- passage text ---------------------------------------------------------------------


def passage_text(body: str, story_format: str = "") -> tuple[str, bool]:
    """The prose of a passage as markdown, and whether code was left out of it."""
    fmt = story_format.lower()
    original = body
    text = re.sub(r"<script\b.*?</script\s*>", "", body, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<style\b.*?</style\s*>", "", text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    text = re.sub(r"/\*.*?\*/|/%.*?%/", "", text, flags=re.DOTALL)
    text = re.sub(r"<%.*?%>", _GAP, text, flags=re.DOTALL)  # Snowman code
    if fmt.startswith("chapbook"):
        text = _chapbook_sections(text)
        text = _CHAPBOOK_LINK.sub(lambda m: _unquote(m.group(2) or m.group(1)), text)
        text = re.sub(r"\{[^{}\n]*\}", _GAP, text)  # inserts
    text = _SQUARE.sub(lambda m: split_link(m.group(1))[0], text)
    text = _IMAGE_LINK.sub("", text)
    if fmt.startswith("harlowe"):
        text = _strip_harlowe(text)
    text = _strip_sugarcube(text)
    text = _html_to_markdown(text)
    if fmt.startswith(("harlowe", "sugarcube")) or not fmt:
        text = re.sub(r"''(.+?)''", r"**\1**", text)
        text = re.sub(r"(?<![:/])//(?!/)(.+?)(?<!:)//", r"*\1*", text)
    if fmt.startswith("sugarcube") or not fmt:
        text = re.sub(r"^(!{1,6})\s*", lambda m: "#" * len(m.group(1)) + " ", text,
                      flags=re.MULTILINE)
    text = re.sub(r"\\\n", "", text)  # SugarCube line continuation
    text = re.sub(r"(?<=[^\s\x00])\x00+(?=[^\s\x00])", " ", text).replace(_GAP, "")
    text = "\n".join(re.sub(r"(?<=\S) {2,}(?=\S)", " ", ln).rstrip() for ln in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text).strip()
    prose = re.sub(r"\s+", "", text)
    had_code = bool(re.search(r"<<|>>|<script|<style|<%|\(\w[\w-]*:", original)) or (
        fmt.startswith("chapbook") and bool(re.search(r"\{[^}\n]*\}|^--$", original, re.M)))
    return text, had_code and len(prose) < len(re.sub(r"\s+", "", original))


_GAP = "\x00"  # where code was cut out: a space between words, nothing elsewhere
_SHOWN_LINK_MACROS = {"linkgoto", "linkrevealgoto", "link", "linkreveal", "linkrepeat",
                      "linkrerun"}


def _strip_harlowe(text: str) -> str:
    out, i = [], 0
    macro = re.compile(r"\(([A-Za-z][\w\-]*)\s*:|\|[\w-]+>(?=\[)")
    while i < len(text):
        m = macro.search(text, i)
        if not m:
            out.append(text[i:])
            break
        out.append(text[i:m.start()])
        if m.group(0).startswith("|"):  # a named hook |name>[...]: keep its prose
            i = m.end()
        else:
            end = _balanced(text, "(", ")", start=m.start())
            if end is None:
                out.append(text[m.start():m.end()])
                i = m.end()
                continue
            key = m.group(1).lower().replace("-", "").replace("_", "")
            literals = [_unquote(s) for s in _STRINGS.findall(text[m.end():end - 1])]
            out.append(literals[0] if key in _SHOWN_LINK_MACROS and literals else _GAP)
            i = end
            while i < len(text) and text[i] in " \t":
                i += 1
        if i < len(text) and text[i] == "[":  # the macro's hook: keep its prose
            close = _balanced(text, "[", "]", start=i)
            if close is not None:
                out.append(_strip_harlowe(text[i + 1:close - 1]) + _GAP)
                i = close
                continue
    text = "".join(out)
    text = re.sub(r"\]<[\w-]+\|", "]", text)  # the closing side of [...]<name|
    text = re.sub(r"\?[A-Za-z][\w-]*", "", text)  # hook references such as ?tip
    return re.sub(r"(?<!\[)\[(?!\[)([^\[\]]*)\](?!\])", r"\1" + _GAP, text)  # bare hooks


def _strip_sugarcube(text: str) -> str:
    def macro(m: re.Match) -> str:
        name = m.group(1).lower()
        if name in ("link", "button"):
            literals = [_unquote(s) for s in _STRINGS.findall(m.group(2))]
            return literals[0] if literals else _GAP
        return _GAP
    return re.sub(r"<<\s*/?\s*([\w-]*)((?:" + _STRING + r"|[^>]|>(?!>))*)>>", macro, text,
                  flags=re.DOTALL)


def _chapbook_sections(text: str) -> str:
    """Drop Chapbook's vars section, note sections and modifier lines; keep the prose."""
    lines = text.split("\n")
    stripped = [ln.strip() for ln in lines]
    if "--" in stripped:  # the vars section ends at a line '--'
        lines = lines[stripped.index("--") + 1:]
    out, hidden = [], False
    for line in lines:
        modifier = re.fullmatch(r"\s*\[([^\]\n]*)\]\s*", line)
        if modifier:
            hidden = modifier.group(1).strip().lower() in ("note", "n.b.", "fixme", "todo")
            continue
        if not hidden:
            out.append(line)
    return "\n".join(out)


def _html_to_markdown(text: str) -> str:
    text = re.sub(r"<br\s*/?>", "\n", text, flags=re.IGNORECASE)
    text = re.sub(r"<h([1-6])[^>]*>(.*?)</h\1\s*>",
                  lambda m: "\n" + "#" * int(m.group(1)) + " " + m.group(2).strip() + "\n",
                  text, flags=re.IGNORECASE | re.DOTALL)
    text = re.sub(r"<li[^>]*>\s*", "\n- ", text, flags=re.IGNORECASE)
    text = re.sub(r"</?(p|div|ul|ol|section|article|blockquote)\b[^>]*>", "\n\n", text,
                  flags=re.IGNORECASE)
    text = re.sub(r"</?(strong|b)>", "**", text, flags=re.IGNORECASE)
    text = re.sub(r"</?(em|i)>", "*", text, flags=re.IGNORECASE)
    return re.sub(r"</?[A-Za-z][\w\-]*(\s[^<>]*)?/?>", "", text)


# --- story -> quest --------------------------------------------------------------------


def slug(text: str, max_length: int = 60) -> str:
    """An id made from a name: ASCII letters and digits joined by '-'.

    >>> slug("The Dragon's Lair!")
    'the-dragons-lair'
    >>> slug("Écoute & réponds")
    'ecoute-reponds'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    ascii_text = re.sub(r"['’`]", "", ascii_text.lower())
    out = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return out[:max_length].strip("-")


def _position(value: Any) -> tuple[float, float] | None:
    if isinstance(value, str):
        parts = value.split(",")
        if len(parts) == 2:
            try:
                return float(parts[0]), float(parts[1])
            except ValueError:
                return None
    return None


def story_to_quest(story: TweeStory, *, quest_id: str | None = None,
                   default_id: str | None = None, drop_back_links: bool = False) -> TweeImport:
    """Turn a parsed story into a valid quest, or raise TweeImportError listing every problem.

    ``quest_id`` overrides the id (by default a slug of the story's title, else of
    ``default_id``). With ``drop_back_links`` the links that make the story loop are
    left out (each with a warning) instead of stopping the import.
    """
    file = story.filename
    warnings = list(story.warnings)
    problems: list[Problem] = []
    story_passages = [p for p in story.passages if not p.is_special]
    if not story_passages:
        raise TweeImportError([Problem("the story has no story passages (only special passages "
                                       "such as StoryData, scripts and stylesheets)",
                                       file=file, line=1, code="no_passages")])
    by_name = {p.name: p for p in story.passages}

    # the start passage
    start_name = story.data.get("start")
    if start_name is not None:
        if not isinstance(start_name, str) or start_name not in by_name:
            close = _close(str(start_name), [p.name for p in story_passages])
            data_line = by_name["StoryData"].line if "StoryData" in by_name else 1
            raise TweeImportError([Problem(f"StoryData names {start_name!r} as the start, but no "
                                           f"passage has that name{close}", file=file,
                                           line=data_line, code="missing_start")])
        start = by_name[start_name]
    elif "Start" in by_name:
        start = by_name["Start"]
    else:
        start = story_passages[0]
        warnings.append(Problem(f"neither StoryData nor a passage named 'Start' says where the "
                                f"story begins; it begins at the first passage, {start.name!r}",
                                file=file, line=start.line, code="first_passage_start"))
    if start.is_special:
        raise TweeImportError([Problem(f"the start passage {start.name!r} is a special passage "
                                       "(code, styles or page furniture), not part of the story",
                                       file=file, line=start.line, code="special_start")])

    # links -> edges between story passages
    targets: dict[str, list[tuple[str, Link]]] = {}
    for p in story_passages:
        out: list[tuple[str, Link]] = []
        for link in p.links:
            target = link.target
            if not target:
                warnings.append(Problem(f"passage {p.name!r}: a {link.form} cannot be followed "
                                        "here; that path was left out", file=file,
                                        line=link.line, code="computed_link"))
                continue
            if _URL.match(target):
                warnings.append(Problem(f"passage {p.name!r} links to the web page {target}; "
                                        "it stays in the text but is not a path on the map",
                                        file=file, line=link.line, code="external_link"))
                continue
            if target not in by_name and target.strip() in by_name:
                target = target.strip()
            if target not in by_name:
                if re.fullmatch(r"[$_][A-Za-z_]\w*(\.\w+)*", target):
                    warnings.append(Problem(f"passage {p.name!r} links to {target}, a target "
                                            "computed by code; that path was left out",
                                            file=file, line=link.line, code="computed_link"))
                    continue
                close = _close(target, [q.name for q in story_passages])
                problems.append(Problem(f"passage {p.name!r} links to {target!r} ({link.form}), "
                                        f"but no passage has that name{close}; add the passage "
                                        "or fix the link", file=file, line=link.line,
                                        code="missing_passage"))
                continue
            if by_name[target].is_special:
                warnings.append(Problem(f"passage {p.name!r} links to the special passage "
                                        f"{target!r}, which is not part of the story map; "
                                        "that link was left out", file=file, line=link.line,
                                        code="special_link"))
                continue
            if all(t != target for t, _ in out):
                out.append((target, link))
        targets[p.name] = out
    if problems:
        raise TweeImportError(problems)

    # the passages a reader can reach, and the links that loop back
    order, back = _walk(start.name, targets)
    dropped: list[tuple[str, str]] = []
    if back:
        loops = []
        for source, target, path in back:
            link = next(lk for t, lk in targets[source] if t == target)
            loop = " -> ".join(repr(n) for n in path + [target])
            if drop_back_links:
                dropped.append((source, target))
                warnings.append(Problem(f"the link from {source!r} back to {target!r} makes the "
                                        f"story loop ({loop}); it was left out",
                                        file=file, line=link.line, code="back_link_dropped"))
            else:
                loops.append(Problem(
                    f"the story loops ({loop}): passage {source!r} links back to {target!r}, "
                    f"and a quest map only moves forward; make the way back a 'retry' edge "
                    f"(turn {target!r} into a gate and the passages in between into its practice "
                    f"path), unroll the loop (copy the passages that repeat so the story moves on), "
                    f"or import with --drop-back-links to leave such links out",
                    file=file, line=link.line, code="cycle"))
        if loops:
            raise TweeImportError(loops)
        for source, target in dropped:
            targets[source] = [(t, lk) for t, lk in targets[source] if t != target]
    reached = set(order)
    left_out = [p.name for p in story_passages if p.name not in reached]
    if left_out:
        first = by_name[left_out[0]]
        warnings.append(Problem(
            f"{len(left_out)} passage(s) cannot be reached from the start {start.name!r} by any "
            f"link and were left out: {', '.join(repr(n) for n in left_out[:8])}"
            f"{' ...' if len(left_out) > 8 else ''}", file=file, line=first.line,
            code="unreached"))

    # node ids
    ids: dict[str, str] = {}
    used: set[str] = set()
    included = [p for p in story_passages if p.name in reached]
    for i, p in enumerate(included, start=1):
        base = slug(p.name) or f"passage-{i}"
        node_id, n = base, 2
        while node_id in used:
            node_id, n = f"{base}-{n}", n + 1
        used.add(node_id)
        ids[p.name] = node_id

    incoming: dict[str, int] = {p.name: 0 for p in included}
    for p in included:
        for t, _ in targets[p.name]:
            incoming[t] += 1

    nodes, coded = [], []
    for p in included:
        node, node_problems = _node(p, ids[p.name], bool(targets[p.name]), incoming[p.name],
                                    story, warnings)
        problems += node_problems
        if node.pop("_coded", False):
            coded.append(p.name)
        nodes.append(node)
    if problems:
        raise TweeImportError(problems)
    if coded:
        warnings.append(Problem(
            f"code (macros, scripts, styles) was left out of the text of {len(coded)} passage(s), "
            f"such as {coded[0]!r}; the quest shows their prose only", file=file,
            line=by_name[coded[0]].line, code="code_removed"))
    edges = [[ids[p.name], ids[t]] for p in included for t, _ in targets[p.name]]

    title = story.title or (re.sub(r"[-_]+", " ", default_id or "").strip().capitalize()
                            or "Imported story")
    qid = quest_id or slug(story.title or "") or slug(default_id or "") or "twine-story"
    fmt = " ".join(str(story.data.get(k)) for k in ("format", "format-version")
                   if story.data.get(k))
    description = f"Imported from the Twine story {title!r}" + (f" ({fmt})" if fmt else "")
    if story.data.get("ifid"):
        description += f", IFID {story.data['ifid']}"
    data = {"id": qid, "title": title, "version": 1, "description": description + ".",
            "nodes": nodes, "edges": edges}
    try:
        quest = Quest.model_validate(data)
    except ValidationError as err:
        raise TweeImportError([_model_problem(e, data, included, file)
                               for e in err.errors()]) from err
    graph_problems = validate(quest)
    if graph_problems:
        index = {ids[p.name]: p for p in included}
        raise TweeImportError([Problem(
            f"the imported quest would not be valid: {gp.message}", file=file,
            line=next((index[n].line for n in gp.nodes if n in index), None), code=gp.code)
            for gp in graph_problems])
    return TweeImport(quest, story, warnings, ids, left_out, dropped)


def _walk(start: str, targets: dict[str, list[tuple[str, Link]]]):
    """Depth-first order from ``start`` and the back links (source, target, path)."""
    order, state, stack_path = [], {}, []
    back = []
    stack = [(start, iter(targets.get(start, [])))]
    state[start] = "open"
    order.append(start)
    stack_path.append(start)
    while stack:
        node, it = stack[-1]
        nxt = next(it, None)
        if nxt is None:
            stack.pop()
            stack_path.pop()
            state[node] = "done"
            continue
        target = nxt[0]
        if state.get(target) == "open":
            back.append((node, target, stack_path[stack_path.index(target):]))
        elif target not in state:
            state[target] = "open"
            order.append(target)
            stack_path.append(target)
            stack.append((target, iter(targets.get(target, []))))
    return order, back


def _close(name: str, names: list[str]) -> str:
    close = difflib.get_close_matches(name, names, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


_QUESTIONS = TypeAdapter(list[Question])


def _node(p: Passage, node_id: str, has_links: bool, incoming: int, story: TweeStory,
          warnings: list[Problem]) -> tuple[dict, list[Problem]]:
    file = story.filename
    problems: list[Problem] = []
    text, coded = passage_text(p.body, story.format)
    node: dict[str, Any] = {"id": node_id, "kind": "story", "title": p.name}
    if text:
        node["text"] = text
    position = _position(p.metadata.get("position"))
    if position is not None:
        node["position"] = list(position)
    elif "position" in p.metadata:
        warnings.append(Problem(f"passage {p.name!r}: position {p.metadata['position']!r} is not "
                                "'x,y'; it was ignored", file=file, line=p.line,
                                code="bad_position"))
    if isinstance(p.metadata.get("xp"), int) and p.metadata["xp"] >= 0:
        node["xp"] = p.metadata["xp"]
    tags = {t.lower() for t in p.tags}
    if "quiz" in tags or "gate" in tags:
        kind = "gate" if "gate" in tags else "quiz"
        raw = p.metadata.get("questions")
        if raw is None:
            warnings.append(Problem(
                f"passage {p.name!r} is tagged {kind!r}, but a {kind} needs questions and the "
                f"passage has none; it was imported as a story node (add questions in the quest "
                f"file, or in the passage metadata as \"questions\": [...])", file=file,
                line=p.line, code="kind_needs_questions"))
        else:
            try:
                questions = _QUESTIONS.validate_python(raw)
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(x) for x in first["loc"])
                problems.append(Problem(f"passage {p.name!r} is tagged {kind!r} but its "
                                        f"metadata questions are not valid: {where}: "
                                        f"{first['msg']}", file=file, line=p.line,
                                        code="bad_questions"))
                return node, problems
            node["kind"] = kind
            node["questions"] = [q.model_dump(mode="json", exclude_unset=True) for q in questions]
            for key in ("pass_score",) if kind == "quiz" else ("threshold", "max_attempts"):
                if key in p.metadata:
                    node[key] = p.metadata[key]
    elif "task" in tags or "review" in tags:
        node["kind"] = "task"
        node["complete"] = "review" if "review" in tags else "self"
    if node["kind"] in ("task", "quiz", "gate") and not has_links:
        warnings.append(Problem(f"passage {p.name!r} ({node['kind']}) leads nowhere, so students "
                                "who take this path cannot finish the quest; link it to an "
                                "ending passage", file=file, line=p.line, code="dead_end"))
    elif not has_links:
        node["kind"] = "end"
        if coded and "end" not in tags:
            warnings.append(Problem(
                f"passage {p.name!r} has no link the import can follow, so it became an end; "
                "if its code leads on (a custom macro or widget), add plain [[links]] or tag it "
                "'end' to confirm", file=file, line=p.line, code="end_by_code"))
    elif "end" in tags:
        warnings.append(Problem(f"passage {p.name!r} is tagged 'end' but links onward; an end "
                                "finishes the quest, so it was imported as a story node",
                                file=file, line=p.line, code="end_with_links"))
    if incoming > 1:
        node["requires"] = "any"  # a reader arrives by any one of the links
    node["_coded"] = coded
    return node, problems


def _model_problem(err: dict, data: dict, included: list[Passage], file: str) -> Problem:
    loc = err["loc"]
    line = None
    if len(loc) > 1 and loc[0] == "nodes" and isinstance(loc[1], int) and loc[1] < len(included):
        line = included[loc[1]].line
        where = f"passage {included[loc[1]].name!r}: "
    else:
        where = ""
    return Problem(f"{where}{'.'.join(str(x) for x in loc)}: {err['msg']}", file=file, line=line,
                   code="invalid")


# --- writing ---------------------------------------------------------------------------


def quest_yaml(result: TweeImport, source_name: str | None = None) -> str:
    """The imported quest as YAML, with multi-line text in block style and a header comment."""
    import io

    doc = _fresh(result.quest.to_data())
    for node in doc.get("nodes", []):
        for key, value in list(node.items()):
            if isinstance(value, str) and "\n" in value:
                node[key] = LiteralScalarString(value)
    story = result.story
    lines = [f"Imported from the Twine story {story.title or '(untitled)'!r}"
             + (f" ({source_name})" if source_name else "") + " by questengine import-twee.",
             "Each passage is a node; passages with no way onward are 'end' nodes."]
    doc.yaml_set_start_comment("\n".join(lines))
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    return buf.getvalue()
