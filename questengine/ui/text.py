"""Text from teachers and students, rendered as sanitized markdown.

markdown-it-py renders (raw HTML in the text is escaped, not passed
through), then nh3 (the Rust ammonia sanitizer) keeps only safe tags and
attributes: no script, no event handlers, no javascript: links.
"""
from __future__ import annotations

import html

import nh3
from markdown_it import MarkdownIt

__all__ = ["markdown_html", "markdown_inline", "plain_html"]

_MD = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).enable("table")
_TAGS = {"p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a", "h1",
         "h2", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td", "img", "del"}
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title"}, "td": {"align"},
               "th": {"align"}}


def markdown_html(text: str | None) -> str:
    """Safe HTML for markdown text (empty string for None)."""
    if not text:
        return ""
    rendered = _MD.render(str(text))
    return nh3.clean(rendered, tags=_TAGS, attributes=_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def markdown_inline(text: str | None) -> str:
    """Safe HTML for one line of markdown (no paragraph around it)."""
    if not text:
        return ""
    return nh3.clean(_MD.renderInline(str(text)), tags=_TAGS, attributes=_ATTRIBUTES,
                     url_schemes={"http", "https", "mailto"}, link_rel="noopener noreferrer")


def plain_html(text: str | None) -> str:
    """Text shown exactly as typed (escaped, line breaks kept)."""
    return html.escape(str(text or "")).replace("\n", "<br>")
