"""Text from teachers and students, rendered as sanitized markdown.

markdown-it-py renders (raw HTML in the text is escaped, not passed
through), then nh3 (the Rust ammonia sanitizer) keeps only safe tags and
attributes: no script, no event handlers, no javascript: links.

No page may make the reader's browser fetch anything from outside the server
(a remote image in a submission would tell a tracker when the teacher read it).
So an image is drawn only when its picture travels inside the page (a ``data:``
URL, or what ``resolve_image`` turns a quest asset into); any other image
becomes a link the reader can choose to open, in a new tab. Links always open
in a new tab, so following one never replaces the page.
"""
from __future__ import annotations

import functools
import html
import re
from collections.abc import Callable

import nh3
from markdown_it import MarkdownIt

__all__ = ["markdown_html", "markdown_inline", "plain_html", "speakable", "ImageResolver"]

#: Turns an image's ``src`` into a URL the page may show inline (``data:``), or None.
ImageResolver = Callable[[str], "str | None"]

_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1",
         "h2", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td", "img", "del"}
_ATTRIBUTES = {"a": {"href", "title", "target"}, "img": {"src", "alt", "title"},
               "td": {"align"}, "th": {"align"}}
_INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/=\s]+\Z")
_LINK_SCHEMES = ("http:", "https:", "mailto:")


def _keep(tag: str, attr: str, value: str) -> str | None:
    """nh3's attribute filter: images only from data: URLs, links only to web or mail."""
    if tag == "img" and attr == "src":
        return value if _INLINE_IMAGE.match(value) else None
    if tag == "a" and attr == "href":
        lowered = value.strip().lower()
        return value if lowered.startswith(_LINK_SCHEMES) or lowered.startswith("#") else None
    if tag == "a" and attr == "target":
        return "_blank"
    return value


def _renderer(resolve_image: ImageResolver | None) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable("table")

    def image(self, tokens, idx, options, env):
        token = tokens[idx]
        src = token.attrGet("src") or ""
        alt = "".join(child.content for child in token.children or []) or "picture"
        inline = resolve_image(src) if resolve_image else None
        if inline is None and _INLINE_IMAGE.match(src):
            inline = src
        if inline is not None:
            return f'<img src="{html.escape(inline)}" alt="{html.escape(alt)}">'
        if src.lower().startswith(("http:", "https:")):
            return (f'<a href="{html.escape(src)}" target="_blank">🖼 {html.escape(alt)} '
                    "(a picture on another website: opens in a new tab)</a>")
        return f"<span>🖼 {html.escape(alt)}</span>"

    md.add_render_rule("image", image)
    return md


_MD = _renderer(None)


def _clean(rendered: str) -> str:
    return nh3.clean(rendered, tags=_TAGS, attributes=_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto", "data"}, attribute_filter=_keep,
                     link_rel="noopener noreferrer",
                     set_tag_attribute_values={"a": {"target": "_blank"}})


def markdown_html(text: str | None, resolve_image: ImageResolver | None = None) -> str:
    """Safe HTML for markdown text (empty string for None).

    >>> markdown_html("![pixel](http://tracker.example/p.png)")
    '<p><a href="http://tracker.example/p.png" target="_blank" rel="noopener noreferrer">🖼 pixel (a picture on another website: opens in a new tab)</a></p>\\n'
    """
    if not text:
        return ""
    if resolve_image is None:
        return _markdown_cached(str(text))
    return _clean(_renderer(resolve_image).render(str(text)))


# A quest's texts are drawn again at every click (the panel of the step a student is on),
# and are the same for every student: rendered once each per kernel.
@functools.lru_cache(maxsize=2048)
def _markdown_cached(text: str) -> str:
    return _clean(_MD.render(text))


@functools.lru_cache(maxsize=2048)
def _inline_cached(text: str) -> str:
    return _clean(_MD.renderInline(text))


def markdown_inline(text: str | None, resolve_image: ImageResolver | None = None) -> str:
    """Safe HTML for one line of markdown (no paragraph around it)."""
    if not text:
        return ""
    if resolve_image is None:
        return _inline_cached(str(text))
    return _clean(_renderer(resolve_image).renderInline(str(text)))


def plain_html(text: str | None) -> str:
    """Text shown exactly as typed (escaped, line breaks kept)."""
    return html.escape(str(text or "")).replace("\n", "<br>")


@functools.lru_cache(maxsize=1024)
def speakable(text: str | None) -> str:
    """The words of a markdown text, without markup: what "read aloud" says.

    >>> speakable("**Fold** the map in *half*, then\\n\\nagain &amp; again")
    'Fold the map in half, then again & again'
    """
    import html
    import re

    rendered = markdown_html(text or "")
    blocks = re.sub(r"</?(p|li|h[1-6]|br|div|tr|blockquote)\b[^>]*>", " ", rendered)
    words = html.unescape(re.sub(r"<[^>]+>", "", blocks))
    return re.sub(r"\s+", " ", words).strip()
