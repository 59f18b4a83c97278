"""Staff see why pilots are at risk, and what a plan change would do before they publish it
(issue 15, part 5).

The journey starts a draft of the plan, so it runs on a live server of its own: on the
shared one every later visit to /plan would find that draft.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from mentorship import demo
from mentorship.templating import local_today
from tests.browser.conftest import assert_accessible, serve_demo, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def statuses_server(tmp_path_factory, smtp_server):
    with serve_demo(tmp_path_factory.mktemp("statuses-db"), smtp_server.port) as served:
        yield served


def test_staff_see_unpaired_pilots_and_preview_a_plan_change(page, statuses_server, axe):
    base_url, app = statuses_server
    with app.app_context():
        year2_began = demo.round_started(local_today())  # the demo is dated from today
    sign_in(page, base_url, "staff@demo.test")

    # Year 2 has not been paired in the demo: its pilots say so, with the day it began.
    page.goto(f"{base_url}/at-risk")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("table").first).to_contain_text(f"no mentor since {year2_began:%b %-d, %Y}")
    assert_accessible(axe, page, "statuses-at-risk")

    # A step added for running pilots: due after the grace period, so nobody turns late.
    page.goto(f"{base_url}/plan/draft/steps/new")
    page.get_by_label("Step").fill("Parent notice sent")
    page.get_by_label("Due in month").fill("3")
    page.get_by_role("button", name="Save in the draft").click()
    page.get_by_role("link", name=re.compile("Review and publish")).click()
    expect(
        page.get_by_role("heading", name="What it does to running pilots' statuses")
    ).to_be_visible()
    expect(page.get_by_text("No running pilot would change status")).to_be_visible()

    # Removing the step Hayward is late on leaves it only its overdue check-in.
    page.goto(f"{base_url}/plan")
    draft_table = page.get_by_role("table", name=re.compile(r"\(draft\)"))
    row = draft_table.get_by_role("row").filter(has_text="Launch at the first school(s)")
    row.get_by_role("button", name="Remove").click()
    page.get_by_role("link", name=re.compile("Review and publish")).click()
    shifts = page.locator(".status-shifts")
    expect(shifts).to_contain_text(
        re.compile(
            r"pilots? would go from at risk to needs attention:\s+.*Hayward Public Library"
            r" \(no longer: Launch at the first school\(s\)"
        )
    )
    assert_accessible(axe, page, "statuses-publish-preview")
