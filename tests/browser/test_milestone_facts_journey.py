"""The demo pilot records facts where they belong and the milestones follow by themselves:
a second district makes the commitment letter wait for its superintendent; moving that
district to "Meeting held" completes its first-meeting milestone, never touched by hand.

The journey adds a district, so it runs on a server of its own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from mentorship.extensions import db
from mentorship.models import Library
from mentorship.templating import local_today
from tests.browser.conftest import assert_accessible, serve_demo, sign_in

pytestmark = pytest.mark.browser

DISTRICT = "San Lorenzo Unified"
MEETING_STEP = f"School district partner identified, first meeting held ({DISTRICT})"


@pytest.fixture(scope="module")
def facts_server(tmp_path_factory, smtp_server):
    with serve_demo(tmp_path_factory.mktemp("facts-db"), smtp_server.port) as served:
        yield served


def test_facts_complete_milestones_and_the_letter_knows_its_districts(page, facts_server, axe):
    base_url, app = facts_server
    with app.app_context():
        today = local_today()
        hayward = db.session.scalar(
            sa.select(Library.id).where(Library.name == "Hayward Public Library")
        )
    contacted, met = today - timedelta(days=20), today - timedelta(days=6)

    sign_in(page, base_url, "pilot@demo.test")
    page.goto(f"{base_url}/libraries/{hayward}/partners")
    letter_line = page.get_by_role("listitem").filter(has_text="Commitment letter for")
    expect(letter_line).to_contain_text("signed")
    assert_accessible(axe, page, "facts-partners")

    # A second district: the letter now waits for its superintendent.
    page.get_by_role("link", name="Add a school district").click()
    page.get_by_label("School district").select_option(label=f"{DISTRICT} (Alameda)")
    page.get_by_label("First contact on").fill(contacted.isoformat())
    page.get_by_label("Roll-out order").fill("2")
    page.get_by_role("button", name="Add school partner").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(DISTRICT)
    assert_accessible(axe, page, "facts-new-partnership")
    page.get_by_role("link", name="School partners of Hayward Public Library").click()
    expect(letter_line).to_contain_text(f"waiting for: the superintendent of {DISTRICT}")
    page.get_by_role("link", name="Commitment letter for").click()
    expect(page.get_by_text(f"waiting for: the superintendent of {DISTRICT}")).to_be_visible()
    expect(page.get_by_label("Superintendent of (partner district)")).to_contain_text(DISTRICT)
    assert_accessible(axe, page, "facts-letter")

    # The district's stage moves to "Meeting held": its milestone is done by itself.
    page.goto(f"{base_url}/libraries/{hayward}/partners")
    page.get_by_role("link", name=DISTRICT, exact=True).click()
    page.get_by_label("Stage reached").select_option(label="Meeting held")
    page.get_by_label("On", exact=True).fill(met.isoformat())
    page.get_by_role("button", name="Save stage").click()
    expect(page.get_by_role("status").first).to_contain_text("Stage saved: Meeting held")
    assert_accessible(axe, page, "facts-partnership")

    page.goto(f"{base_url}/")
    page.get_by_role("link", name="The whole timeline of Hayward Public Library").first.click()
    step = page.locator("li.milestone").filter(has_text=MEETING_STEP)
    expect(step).to_contain_text(f"done {met:%b %-d, %Y}")
    letter_step = page.locator("li.milestone").filter(has_text="Commitment letter signed")
    expect(letter_step).not_to_contain_text("done")
    assert_accessible(axe, page, "facts-timeline")

    step.get_by_role("link", name=MEETING_STEP).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(MEETING_STEP)
    expect(page.locator("#fact")).to_contain_text(
        "Done by itself when the partnership reaches the stage “Meeting held”"
    )
    expect(page.locator("#fact").get_by_role("link")).to_have_text(f"the stage of {DISTRICT}")
    expect(
        page.get_by_text(f"done: stage ‘Meeting held’ reached on {met:%b %-d, %Y}")
    ).to_be_visible()
    expect(page.get_by_label("Status").locator("option")).to_have_text(["Done", "Not applicable"])
    assert_accessible(axe, page, "facts-milestone")
