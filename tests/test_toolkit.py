"""The toolkit: files with front matter, rendering, sanitising, search, pages, and the real
content in toolkit_content/."""

from __future__ import annotations

from pathlib import Path

import pytest

from mentorship.services import milestones, toolkit
from tests.helpers import PASSWORD, make_user, unsafe_markup

REPO_TOOLKIT = Path(__file__).resolve().parents[1] / "toolkit_content"


def _page(directory: Path, slug: str, front: str, body: str = "## First\n\nText.\n") -> None:
    (directory / f"{slug}.md").write_text(f"---\n{front}\n---\n{body}", encoding="utf-8")


@pytest.fixture
def kit_dir(tmp_path):
    (tmp_path / "downloads").mkdir()
    (tmp_path / "downloads" / "letter.txt").write_text("Dear [Name],")
    _page(
        tmp_path,
        "mou-and-data-sharing",
        "title: MOU and data sharing\nsection: Partnering with schools\norder: 3\n"
        "summary: What the data-sharing agreement covers.\nmilestone: data_agreement\n"
        "downloads: [letter.txt]",
        "## What it covers\n\nThe data-sharing agreement names the data elements.\n\n"
        "### Privacy\n\nFERPA and directory information. Data sharing is limited.\n",
    )
    _page(
        tmp_path,
        "launching",
        "title: Launching\nsection: Launch and rollout\norder: 1\nsummary: First schools.",
        "## Launch week\n\nTeachers, data, sharing the news with parents.\n",
    )
    _page(
        tmp_path,
        "commitment-letter",
        "title: The commitment letter\nsection: Partnering with schools\norder: 2\n"
        "summary: Three signers.",
        "## Signers\n\nThe mayor, the superintendent and the library director.\n",
    )
    return tmp_path


def test_pages_are_read_with_their_front_matter_sections_and_neighbours(kit_dir):
    kit = toolkit.load(kit_dir)
    assert kit.errors == []
    page = kit.pages["mou-and-data-sharing"]
    assert (page.title, page.section, page.order, page.milestone, page.downloads) == (
        "MOU and data sharing",
        "Partnering with schools",
        3,
        "data_agreement",
        ("letter.txt",),
    )
    assert [(h.level, h.anchor, h.text) for h in page.headings] == [
        (2, "what-it-covers", "What it covers"),
        (3, "privacy", "Privacy"),
    ]
    assert '<h2 id="what-it-covers">' in page.html
    assert [s for s, _ in kit.sections()] == ["Partnering with schools", "Launch and rollout"]
    previous, following = kit.neighbours(page)
    assert previous.slug == "commitment-letter" and following is None
    assert kit.for_milestone("data_agreement") is page


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("broken", "---\ntitle: [unclosed\n---\nx", "the front matter cannot be read"),
        ("no-title", "---\nsection: Sustaining\nsummary: s\n---\nx", "needs a 'title'"),
        ("odd-section", "---\ntitle: T\nsection: Elsewhere\nsummary: s\n---\nx", "unknown section"),
        ("Bad_Name", "---\ntitle: T\nsection: Sustaining\nsummary: s\n---\nx", "lower-case"),
        ("lost-file", "---\ntitle: T\nsection: Sustaining\nsummary: s\ndownloads: [x.docx]\n---\n",
         "downloads not found in downloads/: x.docx"),
    ],
)  # fmt: skip
def test_a_bad_file_is_named_and_left_out_and_the_rest_still_loads(kit_dir, name, content, message):
    (kit_dir / f"{name}.md").write_text(content, encoding="utf-8")
    kit = toolkit.load(kit_dir)
    assert len(kit.errors) == 1
    assert kit.errors[0].startswith(f"{kit_dir.name}/{name}.md: ") and message in kit.errors[0]
    assert len(kit.pages) == 3


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    '<a href="javascript:alert(1)" onclick="alert(1)">x</a>',
    '<svg onload="alert(1)"></svg>',
    '<p style="background:url(javascript:alert(1))">x</p>',
]


@pytest.mark.parametrize("payload", XSS)
def test_page_html_never_carries_scripts(payload):
    html, _ = toolkit.render(f"## Title\n\n{payload}\n")
    assert unsafe_markup(str(html)) == []


def test_search_ranks_a_title_match_first_and_marks_the_words(kit_dir):
    hits = toolkit.search(kit_dir, "data sharing")
    assert [hit.key for hit in hits][:2] == ["mou-and-data-sharing", "launching"]
    assert "<mark>data</mark>" in hits[0].snippet.lower()
    assert "commitment-letter" not in [hit.key for hit in hits]  # all words are needed
    assert toolkit.search(kit_dir, "   ") == []
    assert toolkit.search(kit_dir, 'data" sharing*') != []  # quotes cannot break the query


def test_search_covers_other_documents_too(kit_dir):
    extra = [("case study", "/case-studies/4", "Hayward's first year", "Data sharing with HUSD")]
    hits = toolkit.search(kit_dir, "HUSD", extra=extra)
    assert [(hit.kind, hit.key) for hit in hits] == [("case study", "/case-studies/4")]


def test_the_pages_for_people(client, app, kit_dir, monkeypatch):
    monkeypatch.setitem(app.config, "TOOLKIT_DIR", str(kit_dir))
    with app.app_context():
        make_user("state", email="state@t.example")
    assert client.get("/toolkit/").status_code == 302  # sign in first
    client.login("state@t.example", PASSWORD)
    index = client.get("/toolkit/").get_data(as_text=True)
    assert "MOU and data sharing" in index and "Launch and rollout" in index
    page = client.get("/toolkit/mou-and-data-sharing").get_data(as_text=True)
    assert 'href="#privacy"' in page and 'rel="prev"' in page
    assert "letter.txt" in page
    download = client.get("/toolkit/downloads/letter.txt")
    assert download.status_code == 200 and download.data == b"Dear [Name],"
    assert client.get("/toolkit/downloads/..%2Fmou-and-data-sharing.md").status_code == 404
    assert client.get("/toolkit/no-such-page").status_code == 404
    results = client.get("/toolkit/search?q=data+sharing").get_data(as_text=True)
    assert results.index("MOU and data sharing") < results.index("Launching")
    assert "<mark>" in results


def test_staff_see_which_files_were_left_out(client, app, kit_dir, monkeypatch):
    (kit_dir / "broken.md").write_text("---\ntitle: [\n---\n", encoding="utf-8")
    monkeypatch.setitem(app.config, "TOOLKIT_DIR", str(kit_dir))
    with app.app_context():
        make_user("staff", email="staff@t.example")
    client.login("staff@t.example", PASSWORD)
    assert "broken.md: the front matter cannot be read" in client.get("/toolkit/").get_data(
        as_text=True
    )


# The real content ----------------------------------------------------------------------


def test_the_repository_toolkit_loads_without_errors_and_covers_every_milestone():
    kit = toolkit.load(REPO_TOOLKIT)
    assert kit.errors == []
    assert len(kit.pages) >= 9
    linked = {page for *_, page in milestones.DEFAULT_PLAN}
    assert linked <= set(kit.pages), f"milestones link to missing pages: {linked - set(kit.pages)}"
    for page in kit.pages.values():
        assert len(page.text.split()) >= 300, f"{page.slug} is too thin to be a guide"
        assert page.headings, f"{page.slug} has no headings"
    assert toolkit.search(REPO_TOOLKIT, "data sharing")[0].key == "mou-and-data-sharing"
