"""The Help guide: Markdown files with front matter in `help_content/`, one guide per role
plus the glossary, the rules and how each figure is counted.

Rendered the way the toolkit renders (`toolkit.render`: sanitised HTML, anchored headings,
a table of contents). The figures guide appends `figures.DEFINITIONS` word for word, so
the pages' "How this is counted" and the guide say the same. Pages link into the guide
with `help_url(guide, anchor)`; a test checks every such link resolves.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from markupsafe import Markup

from ..rendering import heading_anchor
from .figures import DEFINITIONS
from .toolkit import Heading, display_order, read_markdown_file, render

log = logging.getLogger(__name__)

ROLES = ("staff", "pilot", "mentor", "state")


@dataclass(frozen=True)
class Guide:
    slug: str
    title: str
    summary: str
    order: int
    role: str  # the role it is written for, or "" for everyone
    html: Markup
    headings: tuple[Heading, ...]

    @property
    def anchors(self) -> set[str]:
        return {h.anchor for h in self.headings}


@dataclass
class Help:
    guides: dict[str, Guide] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def ordered(self) -> list[Guide]:
        return sorted(self.guides.values(), key=lambda g: (g.order, g.title))

    def for_role(self, role: str) -> Guide | None:
        return next((g for g in self.ordered() if g.role == role), None)

    def resolves(self, guide: str, anchor: str | None = None) -> bool:
        found = self.guides.get(guide)
        return found is not None and (not anchor or anchor in found.anchors)


class BadGuide(ValueError):
    pass


def figure_anchor(term: str) -> str:
    """The anchor of a figure's definition in the figures guide (as its heading gets it)."""
    return heading_anchor(term)


def _definitions_markdown() -> str:
    return "\n".join(f"### {term}\n\n{text}\n" for term, text in DEFINITIONS.items())


def parse(path: Path) -> Guide:
    slug = path.stem
    post = read_markdown_file(path, ("title", "summary"), BadGuide)
    meta = post.metadata
    role = str(meta.get("role") or "")
    if role and role not in ROLES:
        raise BadGuide(f"unknown role '{role}' (one of: {', '.join(ROLES)})")
    order = display_order(meta, BadGuide)
    text = post.content
    if meta.get("figures"):  # the definitions the pages show, word for word
        text = f"{text}\n\n## The definitions\n\n{_definitions_markdown()}"
    html, headings = render(text)
    return Guide(slug, meta["title"].strip(), meta["summary"].strip(), order, role, html, headings)


def load(directory: Path) -> Help:
    found = Help()
    for path in sorted(directory.glob("*.md")):
        try:
            guide = parse(path)
        except BadGuide as error:
            message = f"{directory.name}/{path.name}: {error}"
            log.error("help page left out: %s", message)
            found.errors.append(message)
            continue
        found.guides[guide.slug] = guide
    return found


_cache: dict[Path, tuple[float, Help]] = {}
_lock = threading.Lock()


def help_from(directory: Path, watch: bool = False) -> Help:
    """The guide, read once (again when a file changes, in debug)."""
    with _lock:
        stamp = max((f.stat().st_mtime for f in directory.glob("*.md")), default=0.0)
        cached = _cache.get(directory)
        if cached and (not watch or cached[0] == stamp):
            return cached[1]
        loaded = load(directory)
        _cache[directory] = (stamp, loaded)
        return loaded
