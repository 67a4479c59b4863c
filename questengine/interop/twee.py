"""Import a Twine story as a quest: Twee 3 (and Twee 1/2), a folder of Twee files,
or the published HTML file of Twine 2 or Twine 1 (see :mod:`.twine_html`).

Each passage a reader can reach from the start becomes a node, each link an
edge. A passage with no way onward becomes an ``end`` node; tags may set
other kinds (``task``, ``review``, ``quiz``, ``gate``, ``end``) where the
passage gives what the kind needs. ``StoryTitle`` and ``StoryData`` give the
quest's title, id and description; a passage's ``{"position": "x,y"}``
metadata is kept for the map. ``StoryIncludes`` (Twee 2) lists more files to read.

Links are found in every common form: ``[[target]]``, ``[[text->target]]``,
``[[target<-text]]``, ``[[text|target]]`` (with SugarCube setters
``[[text|target][$x to 1]]``), Harlowe's ``(link-goto:)``, ``(go-to:)`` and
``(click-goto:)``, SugarCube's ``<<goto>>``, ``<<link>>``, ``<<button>>`` and
``<<actions>>``, Chapbook's ``{link to: ...}`` and ``go()``, Snowman's
``data-passage`` attributes and ``story.show()``, and SugarCube widgets that take
a passage name. The passage text keeps the prose: link markup becomes its text,
and code (macros, scripts, styles) is left out.

The import takes what real stories hold and says what it did, rather than
refusing them:

- a passage shown inside others (``<<include>>``, ``<<display>>``,
  ``(display:)``, ``{embed passage}``) and reached by no link is folded into
  the passages that show it: its prose joins theirs, its links become theirs;
- a link to a passage that does not exist becomes a missing step (a node
  titled with the missing name, to write in the editor) and a warning;
- a loop (a passage linking back to an earlier one) becomes the quest's way
  back when it has the shape of an answer and a "try again" passage: the
  passage asking the question becomes a gate whose question is made of its
  links (the answers), its wrong answers lead to the fail path and the try-again
  passage gets a ``retry`` edge back to the gate; any other loop's link is left
  out, each one named in a warning (``loops="drop"`` leaves them all out,
  ``loops="refuse"`` stops the import instead);
- "back" links (``previous()``, ``<<return>>``, ``(history:)``, ``story.back()``)
  and links whose target is computed by code are left out with a warning.

:attr:`TweeImport.report` lists what was kept, merged, dropped and why.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml.scalarstring import LiteralScalarString

from ..errors import Problem, QuestFileError
from ..graph import validate
from ..loader import _fresh, _yaml
from ..model import Question, Quest
from .twine_markup import (_SQUARE, _STRING, _STRINGS, _URL, Link, _balanced, _collapse,
                           _harlowe_macros, _unquote, find_links, passage_text, slug, split_link)

__all__ = ["MAX_TWEE_BYTES", "MAX_HTML_BYTES", "TweeImportError", "Passage", "Link", "TweeStory",
           "TweeImport", "parse_twee", "loads_twee", "load_twee", "read_story", "story_to_quest",
           "quest_yaml", "find_links", "split_link", "passage_text", "slug", "SPECIAL_PASSAGES",
           "SKIPPED_TAGS", "LOOP_MODES", "TWEE_SUFFIXES"]

MAX_TWEE_BYTES = 5_000_000
#: Published HTML holds the story format's engine and often pictures: more room.
MAX_HTML_BYTES = 50_000_000
#: What a loop in the story becomes: a gate's retry path where it looks like one (else
#: dropped), always dropped, or a refusal.
LOOP_MODES = ("retry", "drop", "refuse")
#: File names read as Twee in a folder of story files.
TWEE_SUFFIXES = (".twee", ".tw", ".tw2", ".tw3")

#: Passages with a meaning to compilers or story formats; never story nodes.
SPECIAL_PASSAGES = frozenset({
    "StoryTitle", "StoryData", "StoryIncludes", "StorySettings", "StoryAuthor", "StorySubtitle",
    "StoryMenu", "StoryCaption", "StoryBanner", "StoryInit", "StoryInterface", "StoryShare",
    "StoryDisplayTitle", "PassageReady", "PassageDone", "PassageHeader", "PassageFooter",
    "MenuOptions", "MenuShare", "MenuStory", "StoryScript", "StoryStylesheet", "StoryJavaScript",
    "UserScript", "UserStylesheet", "Twee2Settings",
})
#: Tags that mark code, styles, media or page furniture rather than a story passage.
SKIPPED_TAGS = frozenset({
    "script", "stylesheet", "widget", "header", "footer", "startup", "debug-header",
    "debug-footer", "debug-startup", "init", "Twine.image", "Twine.audio", "Twine.video",
    "Twine.vtt", "Twine.private", "annotation", "twee2", "meta",
})
KIND_TAGS = ("end", "task", "review", "quiz", "gate")


class TweeImportError(QuestFileError):
    """A Twine story that cannot become a quest; ``problems`` name file, line and passage."""


@dataclass
class Passage:
    name: str
    tags: list[str]
    metadata: dict
    body: str
    line: int  # line of the header (1-based)
    links: list[Link] = field(default_factory=list)
    body_line: int | None = None  # line the body starts on (default: the line after the header)
    one_line: bool = False  # Twine 1 HTML: the whole body sits on the header's line
    file: str | None = None  # the file it came from, in a multi-file story

    @property
    def is_special(self) -> bool:
        return self.name in SPECIAL_PASSAGES or any(t in SKIPPED_TAGS for t in self.tags)

    @property
    def first_line(self) -> int:
        return self.body_line if self.body_line is not None else self.line + 1


@dataclass
class TweeStory:
    filename: str
    title: str | None
    data: dict
    passages: list[Passage]
    warnings: list[Problem] = field(default_factory=list)
    source: str = "Twee"  # "Twee", "Twee folder", "Twine 2 HTML", "Twine 1 HTML"
    files: list[str] = field(default_factory=list)

    @property
    def format(self) -> str:
        return str(self.data.get("format") or "")

    def passage(self, name: str) -> Passage | None:
        return next((p for p in self.passages if p.name == name), None)

    def file_of(self, p: Passage) -> str:
        return p.file or self.filename


@dataclass
class TweeImport:
    """The quest made from a story, and what the import had to say about it."""

    quest: Quest
    story: TweeStory
    warnings: list[Problem]
    node_of: dict[str, str]  # passage name -> node id
    left_out: list[str]  # story passages no link reaches from the start
    dropped_links: list[tuple[str, str]]  # links left out because they loop back
    merged: dict[str, list[str]] = field(default_factory=dict)  # folded passage -> its hosts
    missing: list[str] = field(default_factory=list)  # passages linked to but not written
    gates: dict[str, dict] = field(default_factory=dict)  # passage made a gate -> its question
    quizzes: dict[str, dict] = field(default_factory=dict)  # answer choices -> their question
    choices_as_quiz: bool = False  # whether ``quizzes`` were made quiz nodes or only offered
    special: list[str] = field(default_factory=list)  # code, styles, furniture (not story)

    @property
    def story_passages(self) -> int:
        return sum(1 for p in self.story.passages if not p.is_special)

    @property
    def kept_ratio(self) -> float:
        """Story passages kept as nodes or folded into one, over all story passages."""
        total = self.story_passages
        kept = sum(1 for p in self.story.passages
                   if not p.is_special and (p.name in self.node_of or p.name in self.merged))
        return kept / total if total else 1.0

    def report(self) -> list[str]:
        """What the import kept, merged, dropped and why, one sentence a line."""
        q = self.quest
        lines = [f"read {self.story_passages} story passage(s) from {self.story.source} "
                 f"({len(self.special)} special passage(s) of code, styles or page furniture "
                 "not part of the map)"]
        lines.append(f"kept {len(self.node_of)} passage(s) as nodes ({len(q.edges)} paths, "
                     f"{sum(n.kind == 'end' for n in q.nodes)} end(s))")
        for name, hosts in self.merged.items():
            lines.append(f"merged {name!r} into {', '.join(repr(h) for h in hosts)}: it is only "
                         "shown inside them (include/display/embed)")
        for name, question in self.gates.items():
            lines.append(f"made {name!r} a gate: its links are the answers to a question "
                         f"(right: {question['answer']!r}), and the way back is its retry path")
        for name, question in self.quizzes.items():
            if self.choices_as_quiz:
                lines.append(f"made {name!r} a quiz: its links are the answers to a question "
                             f"(right: {question['answer']!r}); a wrong answer leads to the "
                             "passages the story sends it to")
            else:
                lines.append(f"{name!r} reads like a question whose links are its answers "
                             f"(right: {question['answer']!r}): import with --choices quiz to "
                             "make it a quiz node, or tag it 'quiz'")
        for source, target in self.dropped_links:
            lines.append(f"dropped the link {source!r} -> {target!r}: it loops back")
        for name in self.missing:
            lines.append(f"added the missing step {name!r}: a link leads to it, but the story "
                         "has no such passage; write it in the editor")
        if self.left_out:
            lines.append(f"dropped {len(self.left_out)} passage(s) no link reaches from the start: "
                         + ", ".join(repr(n) for n in self.left_out))
        return lines


# --- parsing ------------------------------------------------------------------------


def _read_text(path: Path) -> str:
    name = str(path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise TweeImportError([Problem(f"cannot read the file: {err.strerror}", file=name)]) from err
    limit = MAX_HTML_BYTES if path.suffix.lower() in (".html", ".htm") else MAX_TWEE_BYTES
    if len(raw) > limit:
        raise TweeImportError([Problem(
            f"the file is {len(raw) / 1e6:.1f} MB; a Twine story may be at most "
            f"{limit / 1e6:.0f} MB", file=name, line=1, code="too_large")])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise TweeImportError([Problem(
            f"the file is not UTF-8 text (byte {err.start} cannot be decoded); save it as UTF-8",
            file=name, line=line, code="encoding")]) from err


def read_story(path: str | Path) -> TweeStory:
    """Parse a story file: Twee, published HTML (Twine 2 or 1), or a folder of Twee files.

    A Twee file's ``StoryIncludes`` passage lists more files (relative to it) to read.
    """
    from .twine_html import looks_like_html, parse_twine_html

    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    text = _read_text(path)
    if path.suffix.lower() in (".html", ".htm") or looks_like_html(text):
        return parse_twine_html(text, str(path))
    story = parse_twee(text, str(path))
    _read_includes(story, path.parent)
    return story


def _read_folder(folder: Path) -> TweeStory:
    files = sorted(p for p in folder.rglob("*") if p.is_file()
                   and p.suffix.lower() in TWEE_SUFFIXES and not p.name.startswith("."))
    if not files:
        raise TweeImportError([Problem(
            f"the folder has no Twee files (names ending in {', '.join(TWEE_SUFFIXES)})",
            file=str(folder), code="no_passages")])
    stories = []
    for f in files:
        try:
            stories.append(parse_twee(_read_text(f), str(f)))
        except TweeImportError as err:
            if all(p.code == "no_passages" for p in err.problems):
                continue  # an empty file in the project
            raise
    if not stories:
        raise TweeImportError([Problem("no passages found in any Twee file of the folder",
                                       file=str(folder), code="no_passages")])
    story = stories[0]
    for p in story.passages:
        p.file = p.file or story.filename
    story.filename = str(folder)
    story.source = f"a folder of {len(files)} Twee file(s)"
    for other in stories[1:]:
        _merge(story, other)
    _finish(story)
    story.files = [str(f) for f in files]
    return story


def _read_includes(story: TweeStory, base: Path, depth: int = 0) -> None:
    """Read the files a ``StoryIncludes`` passage lists (Twee 2), relative to ``base``."""
    includes = [p for p in story.passages if p.name == "StoryIncludes"]
    if not includes:
        return
    seen = {str(Path(story.filename).resolve())}
    for inc in includes:
        for offset, raw in enumerate(inc.body.split("\n")):
            name = raw.strip()
            if not name or name.startswith(("#", "//")):
                continue
            line = inc.first_line + offset
            target = (base / name)
            key = str(target.resolve())
            if key in seen:
                continue
            seen.add(key)
            if not target.is_file():
                story.warnings.append(Problem(f"StoryIncludes lists {name!r}, but there is no such "
                                              "file; its passages are missing", file=inc.file or
                                              story.filename, line=line, code="missing_include"))
                continue
            if target.suffix.lower() in (".html", ".htm"):
                from .twine_html import parse_twine_html
                other = parse_twine_html(_read_text(target), str(target))
            else:
                try:
                    other = parse_twee(_read_text(target), str(target))
                except TweeImportError as err:
                    if all(p.code == "no_passages" for p in err.problems):
                        continue
                    raise
            _merge(story, other)
            story.files.append(str(target))
    _finish(story)


def _merge(story: TweeStory, other: TweeStory) -> None:
    """Add another file's passages (a later passage with a name already used is left out)."""
    names = {p.name: p for p in story.passages}
    for p in other.passages:
        p.file = p.file or other.filename
        if p.name in names:
            first = names[p.name]
            story.warnings.append(Problem(
                f"passage {p.name!r} is also in {story.file_of(first)} (line {first.line}); "
                "this copy was left out", file=p.file, line=p.line, code="duplicate_passage"))
            continue
        names[p.name] = p
        story.passages.append(p)
    story.warnings.extend(other.warnings)
    if not story.title and other.title:
        story.title = other.title
    if not story.data and other.data:
        story.data = other.data


_FORMAT_SIGNS = (  # (format, sign in passage text), for stories whose StoryData does not say
    ("Chapbook", re.compile(r"\{\s*(?:embed passage|reveal link|link to|back link)|^\[(?:if |"
                            r"JavaScript\]|continued\])|^--$", re.MULTILINE)),
    ("SugarCube", re.compile(r"<<\s*(?:set|if|link|goto|include|widget|button)\b")),
    ("Harlowe", re.compile(r"\((?:set|if|link-goto|go-to|goto|display|link|print|for):")),
    ("Snowman", re.compile(r"<%|\bstory\.show\(")),
)


def guess_format(passages: list[Passage]) -> str | None:
    """The story format whose markup the passages use most, or None.

    >>> guess_format([Passage("A", [], {}, '(set: $x to 1)(go-to: "B")', 1)])
    'Harlowe'
    """
    counts = {name: sum(len(sign.findall(p.body)) for p in passages) for name, sign in _FORMAT_SIGNS}
    best = max(counts, key=lambda k: counts[k])
    return best if counts[best] else None


def _finish(story: TweeStory) -> None:
    """Find the links of passages added from other files (and the format, if unsaid)."""
    if not story.format:
        guessed = guess_format(story.passages)
        if guessed:
            story.data = {**story.data, "format": guessed}
            story.warnings.append(Problem(f"the story does not say its story format (no StoryData "
                                          f"format); its markup is {guessed}'s, so it was read "
                                          "as such", file=story.filename, line=1,
                                          code="format_guessed"))
    for p in story.passages:
        if not p.is_special and not p.links:
            p.links = _passage_links(p, story.format)


def load_twee(path: str | Path, **options: Any) -> TweeImport:
    """Read a Twine story (Twee, published HTML, or a folder) and turn it into a quest.

    See :func:`story_to_quest` for the options.
    """
    path = Path(path)
    options.setdefault("default_id", path.name.split(".")[0])
    return story_to_quest(read_story(path), **options)


def loads_twee(text: str, filename: str = "<twee>", **options: Any) -> TweeImport:
    """Parse Twee (or published HTML) text and turn it into a quest (see :func:`story_to_quest`)."""
    from .twine_html import looks_like_html, parse_twine_html

    if not filename.startswith("<"):
        options.setdefault("default_id", Path(filename).name.split(".")[0])
    story = parse_twine_html(text, filename) if looks_like_html(text) else parse_twee(text,
                                                                                       filename)
    return story_to_quest(story, **options)


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
    kept = []
    for p in passages:
        if not p.name:
            warnings.append(Problem("a passage header has no name, so nothing can link to it; "
                                    "it was left out (write it as ':: Name')", file=filename,
                                    line=p.line, code="no_name"))
        elif p.name in seen:
            warnings.append(Problem(f"two passages are named {p.name!r} (lines {seen[p.name]} and "
                                    f"{p.line}); the second was left out (Twine keeps one): "
                                    "rename one", file=filename, line=p.line,
                                    code="duplicate_passage"))
        else:
            seen[p.name] = p.line
            kept.append(p)
    passages = kept
    if not passages:
        raise TweeImportError([Problem("no passages found: every passage header lacks a name",
                                       file=filename, line=1, code="no_passages")])

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
    _finish(story)
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


def _passage_links(p: Passage, story_format: str) -> list[Link]:
    links = find_links(p.body, p.first_line, story_format)
    if p.one_line:
        for link in links:
            link.line = p.line
    return links


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
                   default_id: str | None = None, loops: str = "retry",
                   drop_back_links: bool = False, choices: str = "suggest") -> TweeImport:
    """Turn a parsed story into a valid quest, with warnings for what it had to change.

    ``quest_id`` overrides the id (by default a slug of the story's title, else of
    ``default_id``). ``loops`` says what a link back to an earlier passage becomes:
    ``"retry"`` (a gate's retry path where the story has the shape of a question and a
    "try again" passage, else the link is left out), ``"drop"`` (always left out) or
    ``"refuse"`` (stop with one problem per loop). ``drop_back_links=True`` is
    ``loops="drop"``. A passage that asks a question and whose links lead to passages
    saying the answer was right or wrong is offered as a quiz (``TweeImport.quizzes``);
    ``choices="quiz"`` makes it one. Raises :class:`TweeImportError` only for a story with no story
    passages, bad quiz metadata or an option that does not exist.
    """
    if drop_back_links:
        loops = "drop"
    if choices not in ("suggest", "quiz"):
        raise TweeImportError([Problem(f"choices must be 'suggest' or 'quiz', got {choices!r}",
                                       file=story.filename, code="bad_option")])
    if loops not in LOOP_MODES:
        raise TweeImportError([Problem(f"loops must be one of {', '.join(LOOP_MODES)}, "
                                       f"got {loops!r}", file=story.filename, code="bad_option")])
    warnings = list(story.warnings)
    problems: list[Problem] = []
    story_passages = [p for p in story.passages if not p.is_special]
    if not story_passages:
        raise TweeImportError([Problem("the story has no story passages (only special passages "
                                       "such as StoryData, scripts and stylesheets)",
                                       file=story.filename, line=1, code="no_passages")])
    by_name = {p.name: p for p in story.passages}
    start = _start_passage(story, by_name, story_passages, warnings)

    def where(p: Passage) -> dict:
        return {"file": story.file_of(p)}

    own, shows, missing, linked = _collect_links(story, story_passages, by_name, warnings)

    # passages only shown inside others are folded into them; hosts take their links
    folded = {q for names in shows.values() for q in names
              if q not in linked and q != start.name and not by_name[q].is_special}
    targets: dict[str, list[tuple[str, Link]]] = {}
    for p in story_passages:
        out = list(own[p.name])
        for q in _shown(p.name, shows):
            for t, lk in own.get(q, []):
                if t != p.name and all(t != x for x, _ in out):
                    out.append((t, lk))
        targets[p.name] = out
    for name in missing:
        targets[name] = []

    # the passages a reader can reach, and the links that loop back
    order, back = _walk(start.name, {k: v for k, v in targets.items() if k not in folded})
    merged: dict[str, list[str]] = {}
    reached = set(order)
    for name, (p, link) in list(missing.items()):
        close = _close(name, [q.name for q in story_passages])
        if name in reached:
            what = "it became a missing step to write in the editor (or fix the link)"
        else:
            what = "fix the link or add the passage"
            del missing[name]
        warnings.append(Problem(f"passage {p.name!r} links to {name!r} ({link.form}), but no "
                                f"passage has that name{close}; {what}", **where(p),
                                line=link.line, code="missing_passage"))
    for host in order:
        for q in _shown(host, shows):
            if q in folded:
                merged.setdefault(q, []).append(host)
    dropped, gates, retries, when = _settle_loops(back, targets, by_name, story, loops,
                                                  warnings)
    loop_links = set(dropped) | {(s, g) for s, g in retries.items()}
    for source, target in loop_links:
        targets[source] = [(t, lk) for t, lk in targets[source] if t != target]
    side_trips = {s for s, _ in loop_links if not targets[s]}
    quizzes: dict[str, dict] = {}
    for name in order:
        if name in gates or name in missing or any(t.lower() in ("quiz", "gate")
                                                   for t in by_name[name].tags):
            continue
        question = _answer_choices(by_name[name], targets, by_name, story.format)
        if question is not None:
            quizzes[name] = question
            if choices == "quiz":
                for t in question["_right"]:
                    when[(name, t)] = "success"
                for t in question["_wrong"]:
                    when[(name, t)] = "fail"

    left_out = [p.name for p in story_passages if p.name not in reached and p.name not in merged]
    if left_out:
        first = by_name[left_out[0]]
        warnings.append(Problem(
            f"{len(left_out)} passage(s) cannot be reached from the start {start.name!r} by any "
            f"link and were left out: {', '.join(repr(n) for n in left_out[:8])}"
            f"{' ...' if len(left_out) > 8 else ''}", **where(first), line=first.line,
            code="unreached"))

    ids = _node_ids(order)

    incoming: dict[str, int] = {name: 0 for name in order}
    for name in order:
        for t, _ in targets[name]:
            incoming[t] += 1

    nodes, coded, passages_of = [], [], []
    for name in order:
        if name in missing:
            src, _link = missing[name]
            nodes.append({"id": ids[name], "kind": "end", "title": name, "text": (
                f"(A missing step: the Twine story links to {name!r} from {src.name!r}, but has "
                "no passage of that name. Write this step here, or change the link.)")})
            passages_of.append(src)
            continue
        p = by_name[name]
        asked = gates.get(name) or (quizzes.get(name) if choices == "quiz" else None)
        hidden = set(asked["_option_targets"]) if asked else set()
        extra = [by_name[q] for q in _shown(name, shows) if q in folded]
        node, node_problems = _node(p, ids[name], bool(targets[name]), incoming[name],
                                    story, warnings, extra=extra, hide_links_to=hidden)
        problems += node_problems
        if node.pop("_coded", False):
            coded.append(name)
        if node["kind"] == "end" and name in side_trips and "end" not in {
                t.lower() for t in p.tags}:
            node["kind"] = "story"  # a side trip whose only way on was back: not an ending
        if name in gates:
            question = {k: v for k, v in gates[name].items() if not k.startswith("_")}
            node["kind"] = "gate"
            node["questions"] = [question]
        elif name in quizzes and choices == "quiz":
            node["kind"] = "quiz"
            node["questions"] = [{k: v for k, v in quizzes[name].items() if not k.startswith("_")}]
            node["pass_score"] = 1
        nodes.append(node)
        passages_of.append(p)
    if problems:
        raise TweeImportError(problems)
    if not any(n["kind"] == "end" for n in nodes):  # every leaf was a side trip: they end it
        for n, name in zip(nodes, order):
            if n["kind"] == "story" and not targets[name]:
                n["kind"] = "end"
    if coded:
        first = by_name[coded[0]]
        warnings.append(Problem(
            f"code (macros, scripts, styles) was left out of the text of {len(coded)} passage(s), "
            f"such as {coded[0]!r}; the quest shows their prose only", **where(first),
            line=first.line, code="code_removed"))
    edges: list = []
    for name in order:
        for t, _ in targets[name]:
            condition = when.get((name, t))
            edges.append({"from": ids[name], "to": ids[t], "when": condition} if condition
                         else [ids[name], ids[t]])
    for source, gate in retries.items():
        edges.append({"from": ids[source], "to": ids[gate], "when": "retry"})

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
        raise TweeImportError([_model_problem(e, data, passages_of, story)
                               for e in err.errors()]) from err
    graph_problems = validate(quest)
    if graph_problems:
        index = {ids[name]: p for name, p in zip(order, passages_of)}
        raise TweeImportError([Problem(
            f"the imported quest would not be valid: {gp.message}", file=story.filename,
            line=next((index[n].line for n in gp.nodes if n in index), None), code=gp.code)
            for gp in graph_problems])
    node_of = {name: ids[name] for name in order if name not in missing}
    special = [p.name for p in story.passages if p.is_special]
    public_gates = {k: {x: y for x, y in v.items() if not x.startswith("_")}
                    for k, v in gates.items()}
    public_quizzes = {k: {x: y for x, y in v.items() if not x.startswith("_")}
                      for k, v in quizzes.items()}
    return TweeImport(quest, story, warnings, node_of, left_out, dropped, merged=merged,
                      missing=list(missing), gates=public_gates, special=special,
                      quizzes=public_quizzes, choices_as_quiz=choices == "quiz")


def _collect_links(story: TweeStory, story_passages: list[Passage], by_name: dict[str, Passage],
                   warnings: list[Problem]):
    """Every story passage's links resolved to passage names (a missing name kept), the
    passages each shows inside itself, the missing names, and the names some link reaches."""
    widgets = _widgets(story, by_name)
    macros = _harlowe_custom_macros(story)

    def where(p: Passage) -> dict:
        return {"file": story.file_of(p)}

    missing: dict[str, tuple[Passage, Link]] = {}
    own: dict[str, list[tuple[str, Link]]] = {}
    shows: dict[str, list[str]] = {}
    backs: dict[str, list[Link]] = {}
    linked: set[str] = set()
    for p in story_passages:
        out: list[tuple[str, Link]] = []
        shown: list[str] = []
        for link in (p.links + _widget_links(p, widgets, by_name) + _macro_links(p, macros, by_name)
                     + _custom_macro_links(p, widgets, by_name)):
            if link.kind == "back":
                backs.setdefault(p.name, []).append(link)
                continue
            target = _resolve(p, link, by_name, story_passages, warnings, where(p))
            if target is None:
                continue
            if link.kind == "include":
                if target not in by_name:
                    warnings.append(Problem(f"passage {p.name!r} shows the passage {target!r} "
                                            f"({link.form}), but no passage has that name"
                                            f"{_close(target, [q.name for q in story_passages])}; "
                                            "that part of the text is missing", **where(p),
                                            line=link.line, code="missing_include"))
                elif target != p.name and target not in shown:
                    shown.append(target)
                continue
            if target not in by_name:
                missing.setdefault(target, (p, link))
            if target != p.name:
                linked.add(target)
            if all(t != target for t, _ in out):
                out.append((target, link))
        own[p.name] = out
        shows[p.name] = shown
    for name, links in backs.items():
        p = by_name[name]
        warnings.append(Problem(f"passage {name!r} has a way back to where the reader came from "
                                f"({links[0].form}); on the quest map students go back by the "
                                "map, so it is not a path", **where(p), line=links[0].line,
                                code="back_link"))

    return own, shows, missing, linked


def _settle_loops(back, targets: dict[str, list[tuple[str, Link]]], by_name: dict[str, Passage],
                  story: TweeStory, loops: str, warnings: list[Problem]):
    """What each link back to an earlier passage becomes: a gate's retry path (where the
    story has that shape and ``loops`` is "retry"), a dropped link, or a refusal."""
    dropped: list[tuple[str, str]] = []
    gates: dict[str, dict] = {}
    retries: dict[str, str] = {}  # source -> gate
    when: dict[tuple[str, str], str] = {}
    loop_problems = []
    for source, target, path in back:
        link = next(lk for t, lk in targets[source] if t == target)
        loop = " -> ".join(repr(n) for n in path + [target])
        p = by_name[source]
        if loops == "refuse":
            loop_problems.append(Problem(
                f"the story loops ({loop}): passage {source!r} links back to {target!r}, "
                f"and a quest map only moves forward; make the way back a 'retry' edge "
                f"(turn {target!r} into a gate and the passages in between into its practice "
                f"path), unroll the loop, or import with --loops retry or drop",
                file=story.file_of(p), line=link.line, code="cycle"))
            continue
        if loops == "retry" and source not in retries:
            question = gates.get(target) or _gate_question(by_name[target], path, targets,
                                                            story.format)
            if question is not None and len(path) > 1 and path[1] in question["_wrong"]:
                gates[target] = question
                retries[source] = target
                for t in question["_right"]:
                    when[(target, t)] = "success"
                for t in question["_wrong"]:
                    when[(target, t)] = "fail"
                continue
        dropped.append((source, target))
        warnings.append(Problem(f"the link from {source!r} back to {target!r} makes the story "
                                f"loop ({loop}); it was left out", file=story.file_of(p),
                                line=link.line, code="back_link_dropped"))
    if loop_problems:
        raise TweeImportError(loop_problems)
    return dropped, gates, retries, when


def _node_ids(names: list[str]) -> dict[str, str]:
    """A unique id for each passage name, made from the name."""
    ids: dict[str, str] = {}
    used: set[str] = set()
    for i, name in enumerate(names, start=1):
        base = slug(name) or f"passage-{i}"
        node_id, n = base, 2
        while node_id in used:
            node_id, n = f"{base}-{n}", n + 1
        used.add(node_id)
        ids[name] = node_id

    return ids


def _start_passage(story: TweeStory, by_name: dict[str, Passage], story_passages: list[Passage],
                   warnings: list[Problem]) -> Passage:
    """The passage the story begins at: StoryData's start (a name, or a passage id), else
    'Start', else the first story passage."""
    start_name = story.data.get("start")
    data_line = by_name["StoryData"].line if "StoryData" in by_name else 1
    start = None
    if start_name is not None:
        key = str(start_name)
        if isinstance(start_name, str) and start_name in by_name:
            start = by_name[start_name]
        else:
            start = next((p for p in story.passages if str(p.metadata.get("pid", "")) == key),
                         None)
            numbered = [p for p in story.passages if p.name not in ("StoryTitle", "StoryData")]
            if start is None and key.isdigit() and 1 <= int(key) <= len(numbered):
                start = numbered[int(key) - 1]  # Twine numbers passages from 1
            if start is not None:
                warnings.append(Problem(f"StoryData gives the start as the passage id {key}, "
                                        f"which is passage {start.name!r}", file=story.filename,
                                        line=data_line, code="start_is_id"))
            else:
                close = _close(key, [p.name for p in story_passages])
                warnings.append(Problem(f"StoryData names {start_name!r} as the start, but no "
                                        f"passage has that name{close}", file=story.filename,
                                        line=data_line, code="missing_start"))
    if start is None and "Start" in by_name:
        start = by_name["Start"]
    if start is None:
        start = story_passages[0]
        warnings.append(Problem(f"neither StoryData nor a passage named 'Start' says where the "
                                f"story begins; it begins at the first passage, {start.name!r}",
                                file=story.file_of(start), line=start.line,
                                code="first_passage_start"))
    if start.is_special:
        first = story_passages[0]
        warnings.append(Problem(f"the start passage {start.name!r} is a special passage "
                                "(code, styles or page furniture), not part of the story; the "
                                f"story begins at the first story passage, {first.name!r}",
                                file=story.file_of(start), line=start.line, code="special_start"))
        start = first
    return start


def _resolve(p: Passage, link: Link, by_name: dict[str, Passage], story_passages: list[Passage],
             warnings: list[Problem], where: dict) -> str | None:
    """The passage a link leads to (a name that may be missing), or None when not followed."""
    target = link.target
    if not target:
        warnings.append(Problem(f"passage {p.name!r}: a {link.form} cannot be followed "
                                "here; that path was left out", **where,
                                line=link.line, code="computed_link"))
        return None
    if _URL.match(target):
        warnings.append(Problem(f"passage {p.name!r} links to the web page {target}; "
                                "it stays in the text but is not a path on the map",
                                **where, line=link.line, code="external_link"))
        return None
    if target not in by_name and target.strip() in by_name:
        target = target.strip()
    if target not in by_name:
        if re.search(r"^[$_][A-Za-z_]|\[|\(|\+", target):
            warnings.append(Problem(f"passage {p.name!r} links to {target}, a target "
                                    "computed by code; that path was left out",
                                    **where, line=link.line, code="computed_link"))
            return None
        if link.kind == "code":
            return None  # a name in JavaScript that is not a passage: not a link
        return target
    if by_name[target].is_special:
        if link.kind != "include":
            warnings.append(Problem(f"passage {p.name!r} links to the special passage "
                                    f"{target!r}, which is not part of the story map; "
                                    "that link was left out", **where, line=link.line,
                                    code="special_link"))
        return None
    return target


def _shown(name: str, shows: dict[str, list[str]]) -> list[str]:
    """Every passage shown inside ``name``, through shown passages too, in order."""
    out, stack, seen = [], list(reversed(shows.get(name, []))), {name}
    while stack:
        q = stack.pop()
        if q in seen:
            continue
        seen.add(q)
        out.append(q)
        stack.extend(reversed(shows.get(q, [])))
    return out


_WIDGET = re.compile(r"<<\s*widget\s+(?:\"([^\"]+)\"|'([^']+)'|([\w-]+))[^>]*>>(.*?)"
                     r"<<\s*(?:/\s*widget|endwidget)\s*>>", re.IGNORECASE | re.DOTALL)


def _widgets(story: TweeStory, by_name: dict[str, Passage]) -> dict[str, dict]:
    """SugarCube widgets that lead somewhere: the passages they link to, and whether they
    take passage names from their arguments (a link whose target comes from ``_args``)."""
    out: dict[str, dict] = {}
    for p in story.passages:
        if "widget" not in p.tags:
            continue
        for m in _WIDGET.finditer(p.body):
            name = m.group(1) or m.group(2) or m.group(3)
            body = m.group(4)
            links = find_links(body, 1, story.format)
            literal = [lk.target for lk in links if lk.target in by_name
                       and lk.kind in ("link", "code")]
            computed = [lk for lk in links if lk.kind == "link" and lk.target not in by_name]
            takes = bool(computed) and "args" in body
            if literal or takes:
                out[name] = {"links": literal, "takes_passages": takes, "passage": p.name}
    return out


def _harlowe_custom_macros(story: TweeStory) -> dict[str, dict]:
    """Harlowe custom macros (``(set: $name to (macro: str-type _p, [...]))``) whose body
    goes to a passage given as a parameter: their calls ``($name: "Room")`` are links."""
    out: dict[str, dict] = {}
    for p in story.passages:
        for start, end, name, args in _harlowe_macros(p.body):
            if name.lower() != "set":
                continue
            m = re.match(r"\s*([$_][A-Za-z_]\w*)\s+to\s+\(\s*macro\s*:(.*)\)\s*$", args, re.DOTALL)
            if not m:
                continue
            var, body = m.group(1), m.group(2)
            params = re.findall(r"\b(?:str|string|any)-type\s+(_[A-Za-z]\w*)", body)
            links = [lk for lk in find_links(body, 1, "Harlowe") if lk.kind == "link"]
            literal = [lk.target for lk in links if lk.target]
            takes = [i for i, param in enumerate(params)
                     if re.search(r"\((?:link-goto|linkgoto|go-to|goto|click-goto)\s*:[^)]*"
                                  + re.escape(param) + r"\b", body, re.IGNORECASE)]
            if literal or takes:
                out[var] = {"links": literal, "params": takes, "passage": p.name}
    return out


def _macro_links(p: Passage, macros: dict[str, dict], by_name: dict[str, Passage]) -> list[Link]:
    if not macros or p.is_special:
        return []
    found: list[Link] = []
    for m in re.finditer(r"\(\s*([$_][A-Za-z_]\w*)\s*:", p.body):
        macro = macros.get(m.group(1))
        if macro is None:
            continue
        end = _balanced(p.body, "(", ")", start=m.start())
        if end is None:
            continue
        args = [_unquote(x) for x in _STRINGS.findall(p.body[m.end():end - 1])]
        line = p.line if p.one_line else p.first_line + p.body.count("\n", 0, m.start())
        form = f"({m.group(1)}:) (a custom macro in {macro['passage']!r})"
        targets = list(macro["links"]) + [args[i] for i in macro["params"] if i < len(args)]
        for target in targets:
            if target in by_name:
                found.append(Link(target, target, line, form))
    return found


#: SugarCube's (and Sugarcane's) own macros: the others are the story's own (widgets, or
#: macros its JavaScript defines), whose arguments may name passages.
SUGARCUBE_MACROS = frozenset("""
set unset run script print = - include display nobr silently if elseif else for break continue
switch case default capture type button checkbox cycle link linkappend linkprepend linkreplace
listbox numberbox radiobutton textarea textbox actions back choice return addclass append copy
prepend remove removeclass replace toggleclass audio cacheaudio createaudiogroup createplaylist
masteraudio playlist removeaudiogroup removeplaylist waitforaudio done goto repeat stop timed next
widget endif endsilently endnobr endfor endwidget endswitch endtimed endrepeat endlink endbutton
click option optionsfrom do redo track trackaudio forget remember endclick endcapture
""".split())


def _custom_macro_links(p: Passage, widgets: dict[str, dict],
                        by_name: dict[str, Passage]) -> list[Link]:
    """Passages named by the story's own macros (not SugarCube's, not a widget already read):
    ``<<AnswerChoices "q1" "q1_answer_yes" "Yes">>`` leads to the passages it names."""
    if p.is_special or "<<" not in p.body:
        return []
    found: list[Link] = []
    for m in re.finditer(r"<<\s*([A-Za-z][\w-]*)((?:" + _STRING + r"|[^>]|>(?!>))*)>>", p.body):
        name = m.group(1)
        if name.lower() in SUGARCUBE_MACROS or name in widgets:
            continue
        line = p.line if p.one_line else p.first_line + p.body.count("\n", 0, m.start())
        for value in (_unquote(x) for x in _STRINGS.findall(m.group(2))):
            if value in by_name and value != p.name and not by_name[value].is_special:
                found.append(Link(value, value, line, f"<<{name}>> (a macro of the story's own)"))
    return found


def _widget_links(p: Passage, widgets: dict[str, dict], by_name: dict[str, Passage]) -> list[Link]:
    if not widgets or p.is_special:
        return []
    found: list[Link] = []
    names = "|".join(re.escape(n) for n in widgets)
    for m in re.finditer(r"<<\s*(" + names + r")\b((?:" + _STRING + r"|[^>]|>(?!>))*)>>", p.body):
        widget = widgets[m.group(1)]
        line = p.line if p.one_line else p.first_line + p.body.count("\n", 0, m.start())
        form = f"<<{m.group(1)}>> (a widget in {widget['passage']!r})"
        for target in widget["links"]:
            found.append(Link(target, target, line, form))
        if not widget["takes_passages"]:
            continue
        args = m.group(2)
        values = [_unquote(x) for x in _STRINGS.findall(args)]
        for var in re.findall(r"(?<![\w$])([$_][A-Za-z_]\w*)", _STRINGS.sub("", args)):
            for s in re.finditer(r"<<\s*set\s+" + re.escape(var) + r"\s*(?:to\b|=)((?:" + _STRING
                                 + r"|[^>]|>(?!>))*)>>", p.body[:m.start()]):
                values += [_unquote(x) for x in _STRINGS.findall(s.group(1))]
        for value in values:
            if value in by_name and not by_name[value].is_special:
                found.append(Link(value, value, line, form))
    return found


_WRONG_CUES = re.compile(r"\b(?:wrong|incorrect|not quite|not right|try again|sorry|oops|nope|"
                         r"falsch|leider|faux|erreur|incorrect[oa]|equivocad[oa])\b", re.IGNORECASE)


def _has_link(line: str) -> bool:
    return bool(find_links(line, 1)) or bool(re.search(r"\(link[\w-]*:|<<\s*(?:link|button)",
                                                       line))


def _answer_choices(p: Passage, targets: dict[str, list[tuple[str, Link]]],
                    by_name: dict[str, Passage], story_format: str) -> dict | None:
    """A question made from a passage that asks one and whose links lead to passages saying
    the answer was wrong (and one that does not); None for any other passage."""
    asking = [ln for ln in p.body.split("\n") if "?" in ln and not _has_link(ln)]
    if not asking:
        return None
    outs = [t for t, _ in targets.get(p.name, [])]
    if len(outs) < 2 or any(t not in by_name for t in outs):
        return None

    def feedback(name: str) -> str:  # the first line, without its links: "Not quite. ..."
        lines = [ln for ln in by_name[name].body.split("\n") if ln.strip()]
        if not lines:
            return ""
        line = _SQUARE.sub("", lines[0])
        line = re.sub(r"\((?:link|go-?to|click)[\w-]*:[^)]*\)|<<\s*(?:link|button)[^>]*>>", "",
                      line, flags=re.IGNORECASE)
        return passage_text(line, story_format)[0]

    wrong = [t for t in outs if _WRONG_CUES.search(feedback(t))]
    right = [t for t in outs if t not in wrong]
    if not wrong or len(right) != 1:
        return None
    options, answers = [], []
    for lk in p.links:
        target = lk.target.strip()
        if lk.kind != "link" or not lk.text or target not in outs:
            continue
        text = _collapse(passage_text(lk.text, story_format)[0]) or lk.text
        if text not in options:
            options.append(text)
            if target in right:
                answers.append(text)
    if len(options) < 2 or len(answers) != 1:
        return None
    prompt = _collapse(passage_text(asking[-1], story_format)[0])
    return {"id": "q1", "type": "choice", "prompt": prompt or p.name, "options": options,
            "answer": answers[0], "_right": right, "_wrong": wrong,
            "_option_targets": sorted(set(outs))}


def _gate_question(p: Passage, path: list[str], targets: dict[str, list[tuple[str, Link]]],
                   story_format: str) -> dict | None:
    """A question made from a passage whose links are answers, when a wrong answer's passage
    only leads back to it (a "try again" loop); None when the story has another shape."""
    if len(path) < 2 or len(path) > 4 or "?" not in p.body:
        return None
    source = path[-1]
    if [t for t, _ in targets[source]] != [p.name]:
        return None  # the loop's last passage goes elsewhere too: not a "try again" passage
    links = [lk for lk in p.links if lk.kind == "link" and lk.text]
    wrong = {path[1]}
    for t, _ in targets[p.name]:
        if [x for x, _ in targets.get(t, [])] == [p.name]:
            wrong.add(t)
    right = [t for t, _ in targets[p.name] if t not in wrong]
    if len(set(right)) != 1:
        return None
    options, answers = [], []
    for lk in links:
        target = lk.target.strip()
        if target not in wrong and target not in right:
            continue
        text = _collapse(passage_text(lk.text, story_format)[0]) or lk.text
        if text in options:
            continue
        options.append(text)
        if target in right:
            answers.append(text)
    if len(options) < 2 or len(answers) != 1:
        return None
    asking = [ln for ln in p.body.split("\n") if "?" in ln and "[[" not in ln]
    prompt = _collapse(passage_text(asking[-1], story_format)[0]) if asking else p.name
    return {"id": "q1", "type": "choice", "prompt": prompt or p.name, "options": options,
            "answer": answers[0], "_right": right, "_wrong": sorted(wrong),
            "_option_targets": sorted(set(right) | wrong)}


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
          warnings: list[Problem], extra: list[Passage] = (),
          hide_links_to: set[str] = frozenset()) -> tuple[dict, list[Problem]]:
    file = story.file_of(p)
    problems: list[Problem] = []
    body = p.body
    if hide_links_to:  # a gate: its answer links are the question's options, not text
        body = "\n".join(line for line in body.split("\n")
                          if not (_SQUARE.search(line) and all(
                              split_link(m.group(1))[1] in hide_links_to
                              for m in _SQUARE.finditer(line))))
    text, coded = passage_text(body, story.format)
    for q in extra:  # passages shown inside this one
        more, more_coded = passage_text(q.body, story.format)
        coded = coded or more_coded
        if more:
            text = f"{text}\n\n{more}" if text else more
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


def _model_problem(err: dict, data: dict, passages: list[Passage], story: TweeStory) -> Problem:
    loc = err["loc"]
    line, file = None, story.filename
    if len(loc) > 1 and loc[0] == "nodes" and isinstance(loc[1], int) and loc[1] < len(passages):
        line = passages[loc[1]].line
        file = story.file_of(passages[loc[1]])
        where = f"passage {passages[loc[1]].name!r}: "
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
