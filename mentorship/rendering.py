"""Markdown to safe HTML: the one Markdown renderer, for user text and the toolkit alike.

markdown-it-py is a CommonMark parser whose time grows linearly with its input (the
review found Python-Markdown taking seconds on runs of `[`), raw HTML is off, and nh3
then keeps only harmless tags, attributes and link schemes. User text is rendered once,
when it is saved (the models keep the HTML beside the Markdown), never on each view.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

ALLOWED_TAGS = {
    "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"scope"}, "td": set()}
URL_SCHEMES = {"http", "https", "mailto"}

# Raw HTML off; nesting capped so a run of `>` or `-` cannot build a deep tree.
_parser = MarkdownIt("commonmark", {"html": False, "maxNesting": 20}).enable("table")


# For plain text only: raw HTML is read as HTML here so that its tags (and a script's
# or style's content) are dropped below, never shown as words.
_reading_parser = MarkdownIt("commonmark", {"html": True, "maxNesting": 20}).enable("table")


def plain_text(text: str) -> str:
    """What a reader sees of the Markdown, for indexing and snippets: rendered, then every
    tag dropped (links keep their words, never their address; raw HTML never shows)."""
    html = _reading_parser.render(text or "")
    words = htmllib.unescape(nh3.clean(html, tags=set(), clean_content_tags={"script", "style"}))
    return re.sub(r"\s+", " ", words).strip()


def render_markdown(text: str) -> Markup:
    """Markdown → HTML, then nh3 keeps only harmless tags, attributes and link schemes."""
    return Markup(
        nh3.clean(
            _parser.render(text or ""),
            tags=ALLOWED_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes=URL_SCHEMES,
            link_rel="noopener noreferrer nofollow",
        )
    )


@dataclass(frozen=True)
class Heading:
    level: int
    anchor: str
    text: str


def _slug(text: str, taken: set[str]) -> str:
    """A heading's anchor: lower-case words joined by hyphens, numbered when repeated."""
    base = re.sub(r"[\s-]+", "-", re.sub(r"[^\w\s-]", "", text).strip().lower()) or "section"
    anchor, n = base, 0
    while anchor in taken:
        n += 1
        anchor = f"{base}_{n}"
    taken.add(anchor)
    return anchor


def heading_anchor(text: str) -> str:
    """The anchor a heading of these words gets (the first of its name on the page)."""
    return _slug(text, set())


def render_document(
    text: str, tags: set[str], attributes: dict[str, set[str]]
) -> tuple[Markup, tuple[Heading, ...]]:
    """A trusted document (a toolkit page): every heading gets an anchor; level 2 and 3
    headings are returned for a table of contents. Sanitised all the same."""
    tokens = _parser.parse(text or "")
    headings: list[Heading] = []
    taken: set[str] = set()
    for at, token in enumerate(tokens):
        if token.type == "heading_open":
            words = "".join(
                child.content
                for child in tokens[at + 1].children or []
                if child.type in ("text", "code_inline")
            )
            anchor = _slug(words, taken)
            token.attrSet("id", anchor)
            level = int(token.tag[1])
            if level in (2, 3):
                headings.append(Heading(level, anchor, words))
    html = _parser.renderer.render(tokens, _parser.options, {})
    clean = nh3.clean(
        html,
        tags=tags,
        attributes=attributes,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer",
    )
    return Markup(clean), tuple(headings)
