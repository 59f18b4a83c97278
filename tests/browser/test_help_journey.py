"""Each role, from a fresh sign-in, reaches its Help guide and follows one of its links;
the pages that used to scroll sideways fit a 375 px phone; counties on the map are links
a keyboard reaches. Every new page has no axe violations."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from mentorship.extensions import db
from mentorship.models import Cohort, Library, Pairing, PairingStatus, Participation
from tests.browser.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.browser

# (account, its guide's title, a link in the guide, the heading it leads to)
ROLES = [
    ("staff@demo.test", "Help for program staff", "Mentor suggestions", "Mentor suggestions"),
    ("pilot@demo.test", "Help for pilot librarians", "partnership stages", "Partnership stage"),
    ("mentor@demo.test", "Help for mentor librarians", "At risk", "At risk"),
    ("state@demo.test", "Help for state education officials", "coverage", "Coverage"),
]


@pytest.mark.parametrize("email, title, link, heading", ROLES)
def test_each_role_reaches_its_help_and_follows_a_link(
    page, live_server, axe, email, title, link, heading
):
    base_url, _ = live_server
    sign_in(page, base_url, email)
    page.get_by_role("link", name="Help", exact=True).click()
    expect(page.get_by_role("heading", name="Help", level=1)).to_be_visible()
    assert_accessible(axe, page, f"help-index-{email}")
    page.get_by_role("link", name=title, exact=True).first.click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible()
    expect(page.get_by_role("heading", name="Your first ten minutes")).to_be_visible()
    assert_accessible(axe, page, f"help-guide-{email}")
    page.locator(".prose").get_by_role("link", name=link, exact=True).first.click()
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_in_viewport()
    assert "#" in page.url
    assert_accessible(axe, page, f"help-target-{email}")


def test_the_figures_guide_and_the_glossary_pass_axe(page, live_server, axe):
    base_url, _ = live_server
    sign_in(page, base_url, "state@demo.test")
    for slug in ("figures", "glossary", "rules"):
        page.goto(f"{base_url}/help/{slug}")
        assert_accessible(axe, page, f"help-{slug}")


def _wide_pages(app) -> list[str]:
    with app.app_context():
        cohort = db.session.scalar(sa.select(Cohort).order_by(Cohort.start_date))
        pairing = db.session.scalar(
            sa.select(Pairing).where(Pairing.status == PairingStatus.ACTIVE).order_by(Pairing.id)
        )
        hayward = db.session.scalar(
            sa.select(Participation).join(Library).where(Library.name == "Hayward Public Library")
        )
        return [
            f"/pairings/cohorts/{cohort.id}",
            "/plan",
            f"/pairings/{pairing.id}/check-ins",
            f"/participations/{hayward.id}/letter",
            "/audit/",
        ]


def test_no_page_scrolls_sideways_on_a_375px_phone(browser, live_server, axe):
    base_url, app = live_server
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    try:
        sign_in(page, base_url, "staff@demo.test")
        for path in _wide_pages(app):
            page.goto(base_url + path)
            page.wait_for_load_state()
            wide = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, f"{path} scrolls sideways by {wide}px at 375px"
        page.context.clear_cookies()
        sign_in(page, base_url, "pilot@demo.test")
        for path in ("/", "/help/pilot"):
            page.goto(base_url + path)
            wide = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth"
            )
            assert wide <= 0, f"{path} scrolls sideways by {wide}px at 375px (pilot)"
    finally:
        context.close()


def test_a_keyboard_reaches_a_county_on_the_map_and_opens_its_figures(page, live_server):
    base_url, _ = live_server
    sign_in(page, base_url, "state@demo.test")
    page.goto(f"{base_url}/rollup/")
    county = page.locator("a.county-link[aria-label^='Alameda County']")
    expect(county).to_have_count(1)
    assert county.evaluate("link => link.tabIndex") >= 0  # in the Tab order
    county.focus()
    expect(county).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"county=Alameda"))
    expect(page.locator(".lead")).to_contain_text("Alameda")
