"""A pilot uploads its ILS report and sees third-grade figures on its partnership page;
the state official opens the legislative report, filters a county, downloads its CSV and
opens the coverage-gap view. Every page has 0 axe violations."""

from __future__ import annotations

import csv

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from mentorship.extensions import db
from mentorship.models import Identifier, Library, Partnership, School, User
from mentorship.services.rollup.years import SchoolYear
from mentorship.templating import local_today
from tests.browser.conftest import assert_accessible, serve_demo, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def journey_server(tmp_path_factory, smtp_server):
    """Its own database: the journey stores figures."""
    with serve_demo(tmp_path_factory.mktemp("legislative-db"), smtp_server.port) as served:
        yield served


def _pilot_partnership(app):
    """(partnership id, library name, county, [(school, CDS code)]) of the demo pilot."""
    with app.app_context():
        pilot = db.session.scalar(sa.select(User).where(User.email == "pilot@demo.test"))
        library = db.session.get(Library, pilot.library_id)
        partnership, *_ = db.session.execute(
            sa.select(Partnership.id)
            .join(School, School.lea_id == Partnership.district_id)
            .where(Partnership.library_id == library.id, Partnership.active.is_(True))
            .order_by(Partnership.rollout_order)
        ).first()
        schools = db.session.execute(
            sa.select(School.name, Identifier.value)
            .join(Identifier, Identifier.school_id == School.id)
            .join(Partnership, Partnership.district_id == School.lea_id)
            .where(Partnership.id == partnership, School.low_grade <= 3, School.high_grade >= 3)
            .order_by(School.name)
        ).all()
        return partnership, library.name, library.county, schools


def test_pilot_uploads_its_ils_report_and_the_state_reads_the_legislative_report(
    journey_server, browser, axe, tmp_path
):
    base, app = journey_server
    partnership, library, county, schools = _pilot_partnership(app)
    with app.test_request_context():
        year = SchoolYear.last_ended(local_today())
    report = tmp_path / "ils-report.csv"
    lines = ["School Code,Grade,Period Start,Period End,Students Enrolled,Physical Cards,"
             "Digital Cards,Students With Cards,Students Using Cards"]  # fmt: skip
    for n, (_, code) in enumerate(schools):
        lines.append(
            f"{code},3,{year.first_day},{year.last_day},{60 + n},{20 + n},{15},{41 + n},30"
        )
    report.write_text("\n".join(lines) + "\n", encoding="utf-8")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    sign_in(page, base, "pilot@demo.test")
    page.goto(f"{base}/partnerships/{partnership}")
    page.get_by_role("link", name="Upload the ILS report (by school and grade)").click()
    assert_accessible(axe, page, "ils-upload")
    page.get_by_label("ILS report (CSV)").set_input_files(str(report))
    page.get_by_role("button", name="Preview the report").click()
    assert_accessible(axe, page, "ils-preview")
    page.get_by_role("button", name=f"Confirm: add {len(schools)}, update 0").click()
    expect(page.get_by_text(f"ILS report imported: {len(schools)} added")).to_be_visible()
    third = page.get_by_role("table", name="Third-grade figures by school")
    expect(third).to_contain_text(schools[0][0])
    expect(third).to_contain_text("41")
    assert_accessible(axe, page, "partnership-third-grade")
    context.close()

    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    sign_in(page, base, "state@demo.test")
    page.get_by_role("link", name="Legislative report").click()
    page.get_by_label("School year").select_option(year.key)
    page.get_by_label("County", exact=True).select_option(county)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{county} County")
    expect(
        page.get_by_role("table", name="The figures of each local public library")
    ).to_contain_text(library)
    expect(page.get_by_text("10 or fewer").first).to_be_visible()  # the rule is stated
    assert_accessible(axe, page, "legislative-report")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the report as CSV").click()
    with open(download.value.path(), encoding="utf-8") as downloaded:
        rows = list(csv.DictReader(downloaded))
    mine = next(r for r in rows if r["Name"] == library)
    obtained = sum(35 + n for n in range(len(schools)))
    assert mine["Third-graders who obtained a card"] in (str(obtained), "10 or fewer", "not shown")
    assert rows[0]["Row"] == "county" and rows[0]["County"] == county
    page.get_by_role("link", name="Coverage gap").click()
    expect(
        page.get_by_role("img", name="California counties shaded by the share of schools covered")
    ).to_be_visible()
    expect(page.get_by_role("table", name="Schools in the gap")).to_be_visible()
    assert_accessible(axe, page, "coverage-gap")
    context.close()
