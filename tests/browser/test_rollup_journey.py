"""A state official reads the statewide rollup in the browser: filters by cooperative
system, drills into a county and a library, downloads CSV, and reaches no edit page or
private note. Every rollup page, map and charts included, has no axe violations."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

from mentorship import demo
from mentorship.extensions import db
from mentorship.models import Cohort, Library, Partnership
from mentorship.services import rollup
from mentorship.services.figures import figures_of_library
from mentorship.services.risk import RiskSettings
from mentorship.services.rollup import RollupFilter
from mentorship.templating import local_today
from tests.browser.conftest import ARTIFACTS, assert_accessible, sign_in

pytestmark = pytest.mark.browser

SYSTEM = "Pacific Library Partnership"


def test_a_state_official_filters_drills_down_and_downloads(page, live_server, axe):
    base_url, app = live_server
    sign_in(page, base_url, "state@demo.test")
    page.get_by_role("link", name="Statewide rollup", exact=True).click()
    expect(page.get_by_role("heading", name="Statewide rollup", level=1)).to_be_visible()
    expect(page.locator("svg.county-map, figure svg[role=img]").first).to_be_visible()
    assert_accessible(axe, page, "rollup")

    # Filter by cooperative system: the filter is in the URL, so the view can be shared.
    page.get_by_label("Cooperative system", exact=True).select_option(SYSTEM)
    page.get_by_role("button", name="Show").click()
    assert "system=Pacific+Library+Partnership" in page.url
    expect(page.locator(".lead")).to_contain_text(f"{SYSTEM} system")
    assert_accessible(axe, page, "rollup-filtered")

    # Drill into a county from the county table; the system filter stays.
    page.get_by_role("link", name="San Mateo", exact=True).click()
    assert "county=San+Mateo" in page.url and "system=" in page.url
    expect(page.locator(".lead")).to_contain_text("San Mateo County")

    # A CSV of a table, with the same filter.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV of Figures by county").click()
    # Named after the table, the filters and the day; a byte-order mark for Excel.
    assert re.fullmatch(
        r"rollup-counties-.*san-mateo.*-\d{4}-\d{2}-\d{2}\.csv", download.value.suggested_filename
    )
    assert download.value.path().read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(download.value.path().read_text(encoding="utf-8-sig"))))
    assert rows[0][:3] == ["County", "Pilot libraries", "Mentor libraries"]
    assert len(rows) == 59

    # The libraries in view, then one library.
    page.get_by_role("link", name="Every library in this view, with its figures").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("San Mateo County")
    assert_accessible(axe, page, "rollup-libraries")
    page.locator("table a").first.click()
    expect(page.get_by_role("heading", name="School partners")).to_be_visible()
    assert_accessible(axe, page, "rollup-library")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV of School partners").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.startswith("School district,")

    page.get_by_role("link", name="Annual report (SB 321 figures) by school year").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Annual report")
    assert_accessible(axe, page, "rollup-annual-report")

    # Nothing to edit and no private notes: records and edit pages are closed to the state.
    with app.app_context():
        library_id = db.session.scalar(db.select(Library.id).where(Library.county == "San Mateo"))
        partnership = db.session.scalar(db.select(Partnership).limit(1))
        partnership_id, notes = partnership.id, partnership.notes
    for path in (
        f"/libraries/{library_id}",
        f"/libraries/{library_id}/edit",
        f"/partnerships/{partnership_id}",
        f"/libraries/{library_id}/partners",
        "/at-risk",
    ):
        response = page.request.get(base_url + path, max_redirects=0)
        assert response.status in (403, 404), (path, response.status)
    if notes:
        assert notes not in page.content()


def test_year_2_shows_its_pilots_work_and_the_mentors_existing_programmes_apart(
    page, live_server, axe
):
    """Three months in, Year 2's pilots have issued no card yet: the rollup says so, and
    the mentors' cards (Los Angeles PL's among them) are shown apart."""
    base_url, app = live_server
    with app.app_context():
        los_angeles = db.session.scalar(
            db.select(Library.id).where(Library.name == "Los Angeles Public Library")
        )
        year2 = db.session.scalar(db.select(Cohort.id).where(Cohort.name == demo.YEAR2_NAME))
        # The demo is dated from today: its mentors' cards to date, as the service counts them.
        existing = rollup.compute(RollupFilter(cohort_id=year2), local_today(), RiskSettings())
        mentors_cards = f"{existing.existing.cards:,} student cards to date"
        los_angeles_cards = f"{figures_of_library(los_angeles).cards:,}"
    sign_in(page, base_url, "state@demo.test")
    page.goto(f"{base_url}/rollup/")
    page.get_by_label("Cohort", exact=True).select_option(label="Year 2 — California")
    page.get_by_role("button", name="Show").click()
    expect(page.locator(".lead")).to_contain_text("Year 2")

    programme = page.get_by_role("heading", name="What the programme did: pilot libraries")
    expect(programme).to_be_visible()
    lead = page.locator("ul.cards").first
    expect(lead).to_contain_text("0 student cards issued by pilots since joining")
    expect(lead).to_contain_text("0.0% pilots' coverage")
    expect(lead).not_to_contain_text(mentors_cards.split()[0])
    expect(
        page.get_by_role("heading", name="Mentor libraries, existing programmes")
    ).to_be_visible()
    expect(page.locator("ul.cards").nth(1)).to_contain_text(mentors_cards)

    # Every figure says how it is counted, beside it.
    counted = page.locator("details.how-counted").first
    counted.locator("summary").click()
    expect(counted).to_contain_text("Cards since joining")
    expect(counted).to_contain_text("A report whose period includes that day")
    assert_accessible(axe, page, "rollup-year-2")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rollup-year-2.png"), full_page=True)
    page.screenshot(path=str(ARTIFACTS / "rollup-year-2-top.png"))  # what one sees first

    # The cohort's row counts its pilots only, and the drill-down shows the split per library.
    page.get_by_role("link", name="Every library in this view, with its figures").click()
    expect(page.get_by_role("columnheader", name="Cards since joining")).to_be_visible()
    assert_accessible(axe, page, "rollup-libraries-year-2")
    page.goto(f"{base_url}/rollup/libraries/{los_angeles}")
    expect(page.get_by_role("table", name="The library's figures")).to_contain_text(
        los_angeles_cards
    )
    assert_accessible(axe, page, "rollup-library-los-angeles")


def test_the_rollup_fits_a_phone(browser, live_server, axe):
    base_url, _ = live_server
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    sign_in(page, base_url, "state@demo.test")
    page.goto(f"{base_url}/rollup/")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the rollup scrolls sideways on a phone ({width}px)"
    assert_accessible(axe, page, "rollup-phone")
    context.close()
