"""The demo pilot sees its overdue check-in at home, logs one (after a mistake), and the
mentor sees the new date and the action item, and ticks it done.

Logging moves the demo pairing's next date, so the journey runs on a server of its own:
the shared `live_server` keeps the demo's overdue check-in for the other tests.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from mentorship.models import Cadence
from mentorship.services.checkins import next_date
from mentorship.templating import local_today
from tests.browser.conftest import assert_accessible, serve_demo, sign_in

pytestmark = pytest.mark.browser

TITLE = "Check-ins of Hayward Public Library with Berkeley Public Library"
ACTION = "Send the draft MOU to San Lorenzo Unified"


@pytest.fixture(scope="module")
def checkins_server(tmp_path_factory, smtp_server):
    with serve_demo(tmp_path_factory.mktemp("checkins-db"), smtp_server.port) as served:
        yield served


def test_the_pilot_logs_a_check_in_and_the_mentor_sees_it(page, checkins_server, axe):
    base_url, app = checkins_server
    with app.app_context():
        today = local_today()
    next_on = next_date(today, Cadence.MONTHLY)

    sign_in(page, base_url, "pilot@demo.test")
    mentor_section = page.get_by_role("region", name="Your mentor library: Berkeley Public Library")
    expect(mentor_section).to_contain_text(re.compile(r"Check-in overdue by \d+ days"))
    mentor_section.get_by_role("link", name="Log a check-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.get_by_text(re.compile(r"Check-in overdue by \d+ days"))).to_be_visible()
    assert_accessible(axe, page, "pilot-check-ins")

    # A meeting in the future is refused beside its field; what was typed stays.
    page.get_by_label("Day you met").fill((today + timedelta(days=3)).isoformat())
    page.get_by_label("Visit", exact=True).check()
    page.get_by_label("Who attended").fill("Priya Raman (Hayward), Grace Lin (Berkeley)")
    page.get_by_label("Notes").fill("Walked through the MOU with the district's counsel.")
    page.get_by_label("Action 1", exact=True).fill(ACTION)
    page.get_by_label("Action 1: who does it").select_option(label="Hayward Public Library")
    page.get_by_label("Action 1: due by").fill((today + timedelta(days=14)).isoformat())
    page.get_by_role("button", name="Log check-in").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct this")
    expect(page.locator("#held_on-error")).to_contain_text("cannot be in the future")
    expect(page.get_by_label("Day you met")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Who attended")).to_have_value(
        "Priya Raman (Hayward), Grace Lin (Berkeley)"
    )
    expect(page.get_by_label("Visit", exact=True)).to_be_checked()
    expect(page.get_by_label("Action 1", exact=True)).to_have_value(ACTION)
    assert_accessible(axe, page, "pilot-check-in-errors")

    page.get_by_label("Day you met").fill(today.isoformat())
    page.get_by_role("button", name="Log check-in").click()
    expect(page.get_by_role("status").first).to_contain_text(f"Next check-in: {next_on:%b %-d, %Y}")
    expect(page.get_by_text(f"Next check-in: {next_on:%b %-d, %Y}").last).to_be_visible()
    history = page.get_by_role("table", name="Check-ins, latest first")
    expect(history.locator("tbody tr").first).to_contain_text(ACTION)
    assert_accessible(axe, page, "pilot-check-in-logged")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base_url, "mentor@demo.test")
    mentee = page.get_by_role("region", name="A library you mentor: Hayward Public Library")
    expect(mentee).to_contain_text(f"Next check-in: {next_on:%b %-d, %Y}")
    mentee.get_by_role("link", name="Log a check-in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    row = page.get_by_role("table", name="Check-ins, latest first").locator("tbody tr").first
    expect(row).to_contain_text("Walked through the MOU")
    row.get_by_role("button", name=re.compile(rf"^Mark done\W+{ACTION}")).click()
    expect(page.get_by_role("status").first).to_contain_text("is done")
    expect(row.locator(".badge-ok")).to_have_text("done")
    assert_accessible(axe, page, "mentor-check-ins")
