"""Read the story out of a published Twine HTML file (Twine 2 and Twine 1).

A published Twine 2 story keeps its passages in ``<tw-storydata>`` /
``<tw-passagedata>`` elements (the story format's engine code around them is
ignored); the story's ``startnode`` attribute is the *pid* of the start passage.
Twine 1 (and Twine 2 stories published with a Twine 1 format such as
Sugarcane) keep them as ``<div tiddler="Name" tags="..." twine-position="x,y">``
inside ``<div id="storeArea">``, with newlines written as ``\\n``.

The markup is read with the standard library's HTML parser, which knows that
``<script>`` and ``<style>`` hold raw text, so engine code that mentions these
elements is never mistaken for them.

>>> story = parse_twine_html('<tw-storydata name="Cave" startnode="2" format="Harlowe">'
...     '<tw-passagedata pid="1" name="Inside" tags="" position="200,100">Gold!</tw-passagedata>'
...     '<tw-passagedata pid="2" name="Way in" tags="a b">Dark. [[Inside]]</tw-passagedata>'
...     '</tw-storydata>', "cave.html")
>>> story.title, story.data["start"], [(p.name, p.tags) for p in story.passages]
('Cave', 'Way in', [('Inside', []), ('Way in', ['a', 'b'])])
"""
from __future__ import annotations

from html.parser import HTMLParser

from ..errors import Problem

__all__ = ["looks_like_html", "parse_twine_html"]


def looks_like_html(text: str) -> bool:
    """Whether a file's text is a published story (HTML) rather than Twee."""
    head = text.lstrip("\ufeff \t\r\n")[:2000].lower()
    if head.startswith("::"):  # Twee, even if a passage talks about <tw-storydata>
        return False
    return head.startswith(("<!doctype", "<html", "<tw-storydata", "<head", "<body", "<meta",
                            "<div")) or "<tw-storydata" in text[:200_000].lower()


class _StoryParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stories: list[dict] = []
        self.passage: dict | None = None
        self.store_depth = 0  # > 0 while inside Twine 1's storeArea
        self.tiddler_depth = 0
        self.tiddlers: list[dict] = []

    # Twine 2 -------------------------------------------------------------------------------

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        line = self.getpos()[0]
        if tag == "tw-storydata":
            self.stories.append({"attrs": a, "line": line, "passages": []})
        elif tag == "tw-passagedata" and self.stories:
            self.passage = {"attrs": a, "line": line, "text": []}
        elif tag == "div":
            if self.store_depth:
                self.store_depth += 1
                if "tiddler" in a and not self.tiddler_depth:
                    self.tiddler_depth = self.store_depth
                    self.passage = {"attrs": a, "line": line, "text": [], "twine1": True}
            elif a.get("id") in ("storeArea", "store-area"):
                self.store_depth = 1

    def handle_startendtag(self, tag, attrs):
        if tag == "tw-passagedata" and self.stories:  # <tw-passagedata ... /> : an empty passage
            self.handle_starttag(tag, attrs)
            self.handle_endtag(tag)
        elif self.passage is not None:
            self.passage["text"].append(self.get_starttag_text() or "")

    def handle_endtag(self, tag):
        if tag == "tw-passagedata" and self.passage is not None and not self.passage.get("twine1"):
            self.stories[-1]["passages"].append(self.passage)
            self.passage = None
        elif tag == "div" and self.store_depth:
            if self.tiddler_depth and self.store_depth == self.tiddler_depth:
                self.tiddlers.append(self.passage)
                self.passage = None
                self.tiddler_depth = 0
            self.store_depth -= 1

    def handle_data(self, data):
        if self.passage is not None:
            self.passage["text"].append(data)


def _twine1_text(text: str) -> str:
    """Undo Twine 1's escapes: ``\\n`` newline, ``\\t`` tab, ``\\s`` backslash."""
    out, i = [], 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text) and text[i + 1] in "nts":
            out.append({"n": "\n", "t": "\t", "s": "\\"}[text[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    return "".join(out)


def parse_twine_html(text: str, filename: str = "<html>"):
    """The story in a published Twine 2 or Twine 1 HTML file, as a :class:`TweeStory`."""
    from .twee import Passage, TweeImportError, TweeStory, _finish

    parser = _StoryParser()
    parser.feed(text)
    parser.close()
    warnings: list[Problem] = []
    passages: list[Passage] = []
    data: dict = {}
    title = None
    if parser.stories:
        story = parser.stories[0]
        if len(parser.stories) > 1:
            names = ", ".join(repr(s["attrs"].get("name", "?")) for s in parser.stories[1:])
            warnings.append(Problem(f"the file holds {len(parser.stories)} stories (a Twine "
                                    f"library archive); only the first, "
                                    f"{story['attrs'].get('name', '?')!r}, was imported; "
                                    f"import the others from their own files ({names})",
                                    file=filename, line=parser.stories[1]["line"],
                                    code="several_stories"))
        attrs = story["attrs"]
        title = attrs.get("name") or None
        for key in ("ifid", "format", "format-version", "zoom", "creator", "creator-version"):
            if attrs.get(key):
                data[key] = attrs[key]
        pids: dict[str, str] = {}
        for raw in story["passages"]:
            a = raw["attrs"]
            metadata: dict = {}
            if a.get("position"):
                metadata["position"] = a["position"]
            if a.get("size"):
                metadata["size"] = a["size"]
            if a.get("pid"):
                metadata["pid"] = a["pid"]
                pids.setdefault(a["pid"], a.get("name", ""))
            passages.append(Passage(a.get("name", "").strip(), a.get("tags", "").split(),
                                    metadata, "".join(raw["text"]).rstrip(), raw["line"],
                                    body_line=raw["line"]))
        start = attrs.get("startnode", "")
        if start:
            if start in pids:
                data["start"] = pids[start]
            else:
                warnings.append(Problem(f"the story's start passage is the passage with pid "
                                        f"{start!r} (startnode), but no passage has that pid; "
                                        "the import looks for a passage named 'Start' instead",
                                        file=filename, line=story["line"], code="missing_start"))
        kind = "Twine 2"
    elif parser.tiddlers:
        for raw in parser.tiddlers:
            a = raw["attrs"]
            metadata = {}
            if a.get("twine-position"):
                metadata["position"] = a["twine-position"]
            body = _twine1_text("".join(raw["text"]))
            passages.append(Passage(a.get("tiddler", "").strip(), a.get("tags", "").split(),
                                    metadata, body.rstrip(), raw["line"], body_line=raw["line"],
                                    one_line=True))
        title_passage = next((p for p in passages if p.name == "StoryTitle"), None)
        title = " ".join(title_passage.body.split()) if title_passage else None
        data["format"] = "Twine 1"
        kind = "Twine 1"
    else:
        raise TweeImportError([Problem(
            "no Twine story found in this HTML file: a published Twine 2 story has a "
            "<tw-storydata> element and a Twine 1 story a <div id=\"storeArea\">; publish the "
            "story from Twine with 'Publish to File' (or export it as Twee)",
            file=filename, line=1, code="no_passages")])
    if not passages:
        raise TweeImportError([Problem(f"the {kind} story in this file has no passages",
                                       file=filename, line=1, code="no_passages")])
    story = TweeStory(filename, title, data, passages, warnings, source=kind + " HTML")
    _finish(story)
    return story
