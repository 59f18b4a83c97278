"""A case study through review in the browser: the mentor comments on the demo pilot's
draft in review, staff publish it, and the pilot sees it published; a form with an
error, the list and the case study page have no axe violations.

The journey publishes the demo draft, so it runs on a live server of its own.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from mentorship import demo
from tests.browser.conftest import assert_accessible, serve_demo, sign_in

pytestmark = pytest.mark.browser

DRAFT = demo.DRAFT_CASE_STUDY["title"]
PUBLISHED = demo.PUBLISHED_CASE_STUDY["title"]
COMMENT = "The part about the superintendents is **very** useful to other pilots."


@pytest.fixture(scope="module")
def journey_server(tmp_path_factory, smtp_server):
    with serve_demo(tmp_path_factory.mktemp("case-study-db"), smtp_server.port) as served:
        yield served


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state()


def test_a_mentor_comments_staff_publish_and_the_pilot_sees_it(page, journey_server, axe, mailbox):
    base_url, _ = journey_server

    # The pilot starts a case study but forgets the title: the error is beside the field.
    sign_in(page, base_url, "pilot@demo.test")
    page.get_by_role("link", name="Case studies").first.click()
    page.get_by_role("link", name="Write a case study").click()
    page.get_by_label("The story").fill("### Notes\n\nTo be written.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator("#title-error")).to_contain_text("Give the case study a title.")
    assert_accessible(axe, page, "case-study-form-with-error")
    sign_out(page)

    # The mentor reads the pilot's draft in review and comments.
    sign_in(page, base_url, "mentor@demo.test")
    page.get_by_role("link", name="Case studies").first.click()
    expect(page.get_by_role("heading", name="Drafts you can see")).to_be_visible()
    assert_accessible(axe, page, "case-studies-list")
    page.get_by_role("link", name=DRAFT).click()
    expect(page.locator(".badge").first).to_have_text("in review")
    page.locator("#body").fill(COMMENT)
    page.get_by_role("button", name="Add comment").click()
    expect(page.get_by_text("Your comment was added.")).to_be_visible()
    expect(page.locator(".comment-body strong", has_text="very")).to_be_visible()
    assert_accessible(axe, page, "case-study-page")
    sign_out(page)

    # Staff publish it; the pilot's people are emailed.
    mailbox.messages.clear()
    sign_in(page, base_url, "staff@demo.test")
    page.get_by_role("link", name="Case studies").first.click()
    page.get_by_role("link", name=DRAFT).click()
    page.get_by_role("button", name="Publish").click()
    expect(page.get_by_text("The case study was published.")).to_be_visible()
    expect(page.locator(".badge").first).to_have_text("published")
    assert_accessible(axe, page, "case-study-page-staff")
    assert any("pilot@demo.test" in m["To"] for m in mailbox.messages)
    sign_out(page)

    # The pilot sees it among the published case studies, with the mentor's comment.
    sign_in(page, base_url, "pilot@demo.test")
    page.get_by_role("link", name="Case studies").first.click()
    published = page.get_by_role("table", name="Published case studies")
    expect(published.get_by_role("link", name=DRAFT)).to_be_visible()
    expect(published.get_by_role("link", name=PUBLISHED)).to_be_visible()
    published.get_by_role("link", name=DRAFT).click()
    expect(page.locator(".badge").first).to_have_text("published")
    expect(page.locator(".comment-body", has_text="superintendents")).to_be_visible()
