"""Twine markup: the links of a passage in every story format's notation, and its prose.

Used by :mod:`.twee` (which reads the story files and builds the quest); kept apart
because it knows story formats, not files or quests.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Link", "find_links", "split_link", "passage_text", "slug"]


@dataclass
class Link:
    text: str
    target: str
    line: int
    form: str  # how it was written, for messages: [[...]], (go-to:) ...
    kind: str = "link"  # "link", "back" (previous()/return idioms) or "include"


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
        elif c in "\"'`" and open_ == "(" and not (c == "'" and i > start and (
                text[i - 1].isalnum() or text[i - 1] in "_)")):  # Harlowe's possessive 's
            quote = c
        elif c == open_:
            depth += 1
        elif c == close:
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return None


_INCLUDE_SUGAR = re.compile(r"<<\s*(include|display)\s+((?:" + _STRING + r"|[^>]|>(?!>))*)>>",
                            re.IGNORECASE | re.DOTALL)
_CHAPBOOK_EMBED = re.compile(r"\{\s*(?:embed\s+passage(?:\s+named)?|reveal\s+link\s*:\s*(?:"
                             + _STRING + r")\s*,\s*passage)\s*:\s*(" + _STRING + r")[^}]*\}",
                             re.IGNORECASE)
_SNOWMAN_RENDER = re.compile(r"\bstory\.render\(\s*(" + _STRING + r")\s*\)")
_JS_GO = re.compile(r"(?:\bstory\.show|\bEngine\.play|(?<![\w.$])go)\(\s*(" + _STRING
                    + r")\s*[,)]")
_BACK_TARGET = re.compile(r"^(?:previous\(\s*\)|[$_](?:return|back|last|previous)\w*)$",
                          re.IGNORECASE)
_BACK_CODE = re.compile(r"<<\s*(?:back|return)\b[^>]*>>|\b(?:story|history)\.back\(\s*\)|"
                        r"\(\s*(?:link-undo|undo|linkundo)\s*:|\{\s*back\s+link[^}]*\}",
                        re.IGNORECASE)


def find_links(body: str, first_line: int, story_format: str = "") -> list[Link]:
    """Every link in a passage body, in the order written, with its line.

    Every form is looked for whatever ``story_format`` says: stories are often
    moved between formats, and each form is distinctive enough not to be
    mistaken for prose. A link whose target is computed by code has an empty
    target (the import reports it); "back" links have ``kind="back"``; passages
    shown inside this one (include, display, embed) have ``kind="include"``;
    targets named in JavaScript (``story.show("X")``, ``go("X")``) ``kind="code"``.

    >>> [(k.target, k.kind) for k in find_links('<<include "Map">> [[Back|previous()]] '
    ...                                          '<%= story.show("End") %>', 1)]
    [('Map', 'include'), ('', 'back'), ('End', 'code')]
    """
    found: list[tuple[int, Link]] = []
    inside: list[tuple[int, int]] = []  # spans of include macros, whose [[X]] is not a link

    def add(pos: int, text: str, target: str, form: str, kind: str = "link") -> None:
        line = first_line + body.count("\n", 0, pos)
        if kind == "link" and _BACK_TARGET.match(target or ""):
            kind, target = "back", ""
        found.append((pos, Link(text, target, line, form, kind)))

    for m in _INCLUDE_SUGAR.finditer(body):
        inside.append((m.start(), m.end()))
        args = m.group(2).strip()
        literals = [_unquote(x) for x in _STRINGS.findall(args)]
        square = _SQUARE.search(args)
        if literals:
            target = literals[0]
        elif square:
            target = split_link(square.group(1))[1]
        elif re.fullmatch(r"[^$_\s\"'][^\"'<>]*", args):  # Twine 1: <<display Passage Name>>
            target = args
        else:
            add(m.start(), "", "", f"<<{m.group(1).lower()}>> of a passage computed by code")
            continue
        add(m.start(), target, target, f"<<{m.group(1).lower()}>>", "include")
    for m in _CHAPBOOK_EMBED.finditer(body):
        target = _unquote(m.group(1))
        add(m.start(), target, target, "{embed passage}", "include")
    for m in _SNOWMAN_RENDER.finditer(body):
        target = _unquote(m.group(1))
        add(m.start(), target, target, "story.render()", "include")
    for m in _JS_GO.finditer(body):
        target = _unquote(m.group(1))
        add(m.start(), target, target, m.group(0).split("(")[0].strip() + "()", "code")
    for m in _BACK_CODE.finditer(body):
        add(m.start(), "", "", m.group(0).strip()[:30], "back")
    for m in _SQUARE.finditer(body):
        if any(a <= m.start() < b for a, b in inside):
            continue
        text, target = split_link(m.group(1))
        add(m.start(), text, target, "[[...]]")
    for m in _IMAGE_LINK.finditer(body):
        add(m.start(), "", m.group(1).strip(), "[img[...][...]]")
    for start, _end, name, args in _harlowe_macros(body):
        key = name.lower().replace("-", "").replace("_", "")
        if key == "display":
            literals = [_unquote(x) for x in _STRINGS.findall(args)]
            if literals and not _STRINGS.sub("", args).strip():
                add(start, literals[0], literals[0], "(display:)", "include")
            else:
                add(start, "", "", "(display:) of a passage computed by code")
            continue
        if key not in _HARLOWE_LINK_MACROS:
            continue
        if "history" in args.lower():  # (go-to: (history:)'s last): back where the reader was
            add(start, "", "", f"({name}:) to (history:)", "back")
            continue
        literals = [_unquote(x) for x in _STRINGS.findall(args)]
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
        literals = [_unquote(x) for x in _STRINGS.findall(args)]
        if "previous()" in args.replace(" ", ""):
            add(m.start(), literals[0] if literals else "", "", f"<<{macro}>> to previous()",
                "back")
        elif macro == "goto" or macro == "choice":
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
        text = re.sub(r"^[ \t]*[{}][ \t]*$", "", text, flags=re.MULTILINE)  # whitespace collapsing
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
