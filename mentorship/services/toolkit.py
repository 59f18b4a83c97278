"""The implementation toolkit: Markdown files with front matter in `toolkit_content/`.

The files are the single source: the app reads them once (again when they change, in
debug), renders them to sanitised HTML with anchored headings and a table of contents,
and indexes them for full-text search (SQLite FTS5, ranked with bm25, snippets with
the matched words marked). A bad file is reported by name and left out; the app starts.
"""

from __future__ import annotations

import logging
import re
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path

import frontmatter
import yaml
from markupsafe import Markup, escape

from ..rendering import Heading, plain_text, render_document

log = logging.getLogger(__name__)

SECTIONS = (
    "Getting started",
    "Partnering with schools",
    "Designing the card",
    "Launch and rollout",
    "Sustaining",
)
AUDIENCES = {"pilot", "mentor", "staff", "state"}
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
PAGE_TAGS = {
    "h2", "h3", "h4", "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol",
    "li", "a", "hr", "table", "thead", "tbody", "tr", "th", "td",
}  # fmt: skip
PAGE_ATTRIBUTES = {
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "a": {"href", "title"},
    "th": {"scope"},
}


@dataclass(frozen=True)
class Page:
    slug: str
    title: str
    section: str
    order: int
    audience: tuple[str, ...]
    summary: str
    milestone: str
    downloads: tuple[str, ...]
    text: str  # the Markdown body
    html: Markup
    headings: tuple[Heading, ...]


@dataclass
class Toolkit:
    pages: dict[str, Page] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    downloads_dir: Path | None = None

    def sections(self) -> list[tuple[str, list[Page]]]:
        return [
            (section, sorted((p for p in self.pages.values() if p.section == section),
                             key=lambda p: (p.order, p.title)))
            for section in SECTIONS
            if any(p.section == section for p in self.pages.values())
        ]  # fmt: skip

    def neighbours(self, page: Page) -> tuple[Page | None, Page | None]:
        """The previous and next page within the page's section."""
        siblings = dict(self.sections())[page.section]
        at = siblings.index(page)
        return (
            siblings[at - 1] if at else None,
            siblings[at + 1] if at + 1 < len(siblings) else None,
        )

    def for_milestone(self, step_key: str) -> Page | None:
        return next((p for p in self.pages.values() if p.milestone == step_key), None)


class BadPage(ValueError):
    pass


def render(text: str) -> tuple[Markup, tuple[Heading, ...]]:
    """Markdown → sanitised HTML whose headings carry anchors, and the headings."""
    return render_document(text, PAGE_TAGS, PAGE_ATTRIBUTES)


def read_markdown_file(
    path: Path, required: tuple[str, ...], bad: type[ValueError]
) -> frontmatter.Post:
    """A Markdown file with front matter (the toolkit's and Help's): its name a slug, the
    `required` fields given as text; anything else raises `bad` with the reason."""
    if not SLUG.match(path.stem):
        raise bad("the file name must be lower-case words joined by hyphens")
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError, ValueError) as error:
        raise bad(f"the front matter cannot be read ({error})") from error
    for name in required:
        if not isinstance(post.metadata.get(name), str) or not post.metadata[name].strip():
            raise bad(f"the front matter needs a '{name}'")
    return post


def display_order(meta: dict, bad: type[ValueError]) -> int:
    """The `order` field (99 when absent: after the numbered ones)."""
    try:
        return int(meta.get("order", 99))
    except (TypeError, ValueError) as error:
        raise bad("'order' must be a whole number") from error


def parse(path: Path, downloads_dir: Path) -> Page:
    slug = path.stem
    post = read_markdown_file(path, ("title", "section", "summary"), BadPage)
    meta = post.metadata
    if meta["section"] not in SECTIONS:
        raise BadPage(f"unknown section '{meta['section']}' (one of: {', '.join(SECTIONS)})")
    audience = tuple(meta.get("audience") or ("pilot", "mentor"))
    if not set(audience) <= AUDIENCES:
        raise BadPage(f"unknown audience {sorted(set(audience) - AUDIENCES)}")
    downloads = tuple(meta.get("downloads") or ())
    missing = [name for name in downloads if not (downloads_dir / name).is_file()]
    if missing:
        raise BadPage(f"downloads not found in {downloads_dir.name}/: {', '.join(missing)}")
    order = display_order(meta, BadPage)
    html, headings = render(post.content)
    return Page(
        slug=slug,
        title=meta["title"].strip(),
        section=meta["section"],
        order=order,
        audience=audience,
        summary=meta["summary"].strip(),
        milestone=str(meta.get("milestone") or ""),
        downloads=downloads,
        text=post.content,
        html=html,
        headings=headings,
    )


def load(directory: Path) -> Toolkit:
    downloads_dir = directory / "downloads"
    toolkit = Toolkit(downloads_dir=downloads_dir)
    for path in sorted(directory.glob("*.md")):
        try:
            page = parse(path, downloads_dir)
        except BadPage as error:
            message = f"{directory.name}/{path.name}: {error}"
            log.error("toolkit page left out: %s", message)
            toolkit.errors.append(message)
            continue
        toolkit.pages[page.slug] = page
    return toolkit


# Cached per directory; in debug, reloaded when any file changes.
_cache: dict[Path, tuple[float, Toolkit, sqlite3.Connection]] = {}
_lock = threading.Lock()


def _stamp(directory: Path) -> float:
    files = list(directory.glob("*.md")) + list(directory.glob("downloads/*"))
    return max((f.stat().st_mtime for f in files), default=0.0) + len(files)


def _loaded(directory: Path, watch: bool) -> tuple[Toolkit, sqlite3.Connection]:
    with _lock:
        cached = _cache.get(directory)
        if cached and (not watch or cached[0] == _stamp(directory)):
            return cached[1], cached[2]
        toolkit = load(directory)
        _cache[directory] = (_stamp(directory), toolkit, _index(toolkit))
        return toolkit, _cache[directory][2]


def toolkit_from(directory: Path, watch: bool = False) -> Toolkit:
    return _loaded(directory, watch)[0]


# Search ----------------------------------------------------------------------------


def _index(toolkit: Toolkit) -> sqlite3.Connection:
    index = sqlite3.connect(":memory:", check_same_thread=False)
    index.execute(
        "CREATE VIRTUAL TABLE pages USING fts5(slug UNINDEXED, title, summary, body, "
        "tokenize='porter unicode61')"
    )
    index.executemany(
        "INSERT INTO pages VALUES (?, ?, ?, ?)",
        [(p.slug, p.title, p.summary, _plain_text(p.text)) for p in toolkit.pages.values()],
    )
    return index


_plain_text = plain_text  # the one Markdown renderer's reading of it


@dataclass(frozen=True)
class Hit:
    kind: str  # "toolkit" or "case study"
    key: str  # the page slug or the case study id
    title: str
    snippet: Markup


def _fts_query(words: str) -> str | None:
    """The person's words as an FTS5 query: each word a quoted term, all required."""
    terms = re.findall(r"\w+", words.lower())
    return " ".join(f'"{term}"' for term in terms[:12]) or None


def search(
    directory: Path, words: str, extra: list[tuple[str, str, str, str]] = (), watch=False
) -> list[Hit]:
    """Ranked hits for `words` in the toolkit and in `extra` documents
    ((kind, key, title, text), e.g. published case studies), best first."""
    query = _fts_query(words)
    if not query:
        return []
    _, index = _loaded(directory, watch)
    with _lock:
        index.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.others USING fts5(kind UNINDEXED, "
            "key UNINDEXED, title, summary, body, tokenize='porter unicode61')"
        )
        index.execute("DELETE FROM temp.others")
        index.executemany(
            "INSERT INTO temp.others VALUES (?, ?, ?, '', ?)",
            [(kind, key, title, _plain_text(text)) for kind, key, title, text in extra],
        )
        rows = index.execute(
            "SELECT 'toolkit', slug, title, snippet(pages, 3, char(2), char(3), ' … ', 24), "
            "bm25(pages, 0, 10.0, 4.0, 1.0) AS rank FROM pages WHERE pages MATCH ? "
            "UNION ALL "
            "SELECT kind, key, title, snippet(others, 4, char(2), char(3), ' … ', 24), "
            "bm25(others, 0, 0, 10.0, 4.0, 1.0) FROM temp.others WHERE others MATCH ? "
            "ORDER BY rank LIMIT 30",
            (query, query),
        ).fetchall()
    return [Hit(kind, str(key), title, _marked(snippet)) for kind, key, title, snippet, _ in rows]


def _marked(snippet: str) -> Markup:
    """Escape the text, then turn FTS5's markers into <mark>."""
    return Markup(str(escape(snippet)).replace("\x02", "<mark>").replace("\x03", "</mark>"))
