"""The Help guide: a guide per role, the glossary, the rules and the figures, and the links
pages make into it. Every help page renders; every help link, in a template, in a guide or
on a rendered page, reaches a guide and a heading that exist."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markupsafe import Markup, escape

from mentorship.extensions import db
from mentorship.models import Participation
from mentorship.services import help as help_service
from mentorship.services.figures import DEFINITIONS
from tests.helpers import PASSWORD, make_pairing, make_pilot, make_user

ROOT = Path(__file__).resolve().parent.parent
GUIDE = help_service.load(ROOT / "help_content")
CALL = re.compile(r"help_(?:link|url)\(\s*'([a-z-]+)'(?:\s*,\s*'([a-z0-9-]*)')?")
HELP_HREF = re.compile(r'href="(/help/[^"]*)"')
GLOSSARY = (
    "participation", "pilot", "mentor", "sustaining", "cohort", "partnership-stage",
    "cds-code", "coverage", "at-risk", "check-in-cadence",
)  # fmt: skip


def _resolves(href: str) -> bool:
    path, _, anchor = href.partition("#")
    slug = path.removeprefix("/help/").strip("/")
    return not slug or GUIDE.resolves(slug, anchor or None)


def test_the_guide_loads_whole_with_a_guide_for_every_role():
    assert GUIDE.errors == []
    assert {g.role for g in GUIDE.guides.values() if g.role} == set(help_service.ROLES)
    for role in help_service.ROLES:
        assert "your-first-ten-minutes" in GUIDE.for_role(role).anchors
    assert set(GLOSSARY) <= GUIDE.guides["glossary"].anchors


def test_the_figures_guide_gives_every_definition_the_pages_show_word_for_word():
    figures = GUIDE.guides["figures"]
    for term, text in DEFINITIONS.items():
        assert help_service.figure_anchor(term) in figures.anchors
        assert text in Markup(figures.html).striptags()


def test_every_help_link_in_a_template_or_a_guide_resolves():
    calls = []
    for template in (ROOT / "mentorship").rglob("*.html"):
        calls += [(template.name, g, a) for g, a in CALL.findall(template.read_text())]
    assert len(calls) >= 8  # the pages with a rule link to it
    for where, guide, anchor in calls:
        if guide == "figures" and not anchor:
            continue
        assert GUIDE.resolves(guide, anchor or None), (where, guide, anchor)
    for guide in GUIDE.guides.values():
        for href in HELP_HREF.findall(guide.html):
            assert _resolves(href), (guide.slug, href)


def test_a_bad_help_file_is_left_out_and_named(tmp_path):
    (tmp_path / "good.md").write_text("---\ntitle: Good\nsummary: Fine.\n---\n## One\n")
    (tmp_path / "bad.md").write_text("---\ntitle: Bad\nrole: janitor\nsummary: x\n---\n")
    loaded = help_service.load(tmp_path)
    assert list(loaded.guides) == ["good"] and loaded.guides["good"].anchors == {"one"}
    assert "bad.md" in loaded.errors[0] and "janitor" in loaded.errors[0]


@pytest.mark.parametrize("role", ["staff", "state", "pilot", "mentor"])
def test_every_help_page_renders_for_every_role_and_names_theirs(client, app, role):
    with app.app_context():
        make_user(role, email=f"{role}@help.example")
    client.login(f"{role}@help.example", PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert 'href="/help/"' in home  # "Help" in the header of every page
    index = client.get("/help/").get_data(as_text=True)
    assert f'href="/help/{role}">' in index and "(yours)" in index
    for slug, guide in GUIDE.guides.items():
        response = client.get(f"/help/{slug}")
        assert response.status_code == 200
        assert str(escape(guide.title)) in response.get_data(as_text=True)
    assert client.get("/help/no-such-guide").status_code == 404


def test_the_help_links_on_the_pages_with_a_rule_resolve(client, app):
    with app.app_context():
        pilot = make_pilot()
        pairing = make_pairing(pilot)
        make_user("staff", email="dana@help.example")
        participation = db.session.get(Participation, pilot.id)
        pages = [
            "/at-risk",
            f"/participations/{pilot.id}/timeline",
            f"/participations/{pilot.id}/letter",
            f"/libraries/{participation.library_id}/partners",
            f"/pairings/cohorts/{participation.cohort_id}",
            f"/pairings/{pairing.id}/check-ins",
            "/preferences",
            "/plan",
            "/rollup/",
        ]
    client.login("dana@help.example", PASSWORD)
    seen = set()
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        hrefs = set(HELP_HREF.findall(response.get_data(as_text=True))) - {"/help/"}
        assert hrefs, f"{path} links to no help section"
        seen |= hrefs
    for href in seen:
        assert _resolves(href), href
        assert client.get(href.partition("#")[0]).status_code == 200


def test_the_readme_first_screen_gives_the_two_commands_the_sign_ins_and_the_guide():
    first_screen = "\n".join((ROOT / "README.md").read_text().splitlines()[:35])
    for words in ("make run", "make test", "staff@demo.test", "pilot@demo.test",
                  "mentor@demo.test", "state@demo.test", "demo-password", "/help/"):  # fmt: skip
        assert words in first_screen, words
