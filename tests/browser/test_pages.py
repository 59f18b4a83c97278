"""Every role signs in and sees its home page; every page so far has 0 axe violations."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from mentorship.extensions import db
from mentorship.models import Cohort, Library, Pairing, Participation, SchoolDistrict, User
from tests.browser.conftest import assert_accessible, sign_in

pytestmark = pytest.mark.browser

HOME_HEADINGS = {
    "staff@demo.test": "Program overview",
    "state@demo.test": "Statewide overview",
    "pilot@demo.test": "Hayward Public Library",
    "pilot2@demo.test": "Yolo County Library",
    "mentor@demo.test": "Berkeley Public Library",
}


def ids(app) -> dict[str, int]:
    with app.app_context():
        first = lambda model: db.session.scalar(sa.select(model.id).order_by(model.id))  # noqa: E731
        return {
            "library": first(Library),
            "district": first(SchoolDistrict),
            "cohort": first(Cohort),
            "participation": first(Participation),
            "pilot": db.session.scalar(
                sa.select(Participation.id)
                .where(Participation.role == "pilot")
                .order_by(Participation.id)
            ),
            "person": db.session.scalar(sa.select(User.id).where(User.email == "pilot@demo.test")),
            "pairing": first(Pairing),
            "own_library": db.session.scalar(
                sa.select(User.library_id).where(User.email == "pilot@demo.test")
            ),
        }


@pytest.mark.parametrize("email", list(HOME_HEADINGS))
def test_each_role_signs_in_and_sees_its_home_page(page, live_server, axe, email):
    base_url, _ = live_server
    sign_in(page, base_url, email)
    expect(page.get_by_role("heading", level=1)).to_have_text(HOME_HEADINGS[email])
    assert_accessible(axe, page, f"home-{email.split('@')[0]}")


STAFF_PAGES = [
    "/",
    "/libraries/",
    "/libraries/new",
    "/libraries/{library}",
    "/libraries/{library}/edit",
    "/districts/",
    "/districts/new",
    "/districts/{district}",
    "/districts/{district}/edit",
    "/cohorts/",
    "/cohorts/new",
    "/cohorts/{cohort}",
    "/cohorts/{cohort}/edit",
    "/cohorts/{cohort}/libraries/new",
    "/cohorts/libraries/{participation}/edit",
    "/people/",
    "/people/new",
    "/people/{person}",
    "/people/{person}/edit",
    "/audit/",
    "/agreements/expiring",
    "/at-risk",
    "/plan",
    "/plan/draft/steps/new",
    "/participations/{pilot}/timeline",
    "/audit/?library={own_library}",
    "/libraries/{own_library}/partners",
    "/pairings/cohorts/{cohort}",
    "/pairings/pilots/{pilot}",
    "/pairings/{pairing}/check-ins",
    "/outbox",
    "/outbox?status=pending",
    "/calendar",
    "/preferences",
    "/libraries/?q=county&page=2",
    "/api-tokens/",
    "/api-tokens/new",
    "/rollup/",
    "/no-such-page",
]


def test_every_staff_page_has_no_axe_violations(page, live_server, axe):
    base_url, app = live_server
    known = ids(app)
    sign_in(page, base_url, "staff@demo.test")
    for path in STAFF_PAGES:
        page.goto(base_url + path.format(**known))
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        assert_accessible(axe, page, "staff" + re.sub(r"\W+", "-", path))


def test_a_form_with_errors_is_accessible_and_keeps_what_was_typed(page, live_server, axe):
    base_url, _ = live_server
    sign_in(page, base_url, "staff@demo.test")
    page.goto(base_url + "/libraries/new")
    page.get_by_label("Short name").fill("Gilroy PL")
    page.get_by_label("Service population").fill("-5")
    page.get_by_role("button", name="Add library").click()
    expect(page.get_by_role("alert")).to_contain_text("Please correct these")
    expect(page.locator("#name-error")).to_contain_text("This field is required")
    expect(page.get_by_label("Short name")).to_have_value("Gilroy PL")
    expect(page.get_by_label("Service population")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#service_population-error")).to_contain_text("0 or more")
    assert_accessible(axe, page, "staff-library-form-errors")


def test_library_pages_for_pilot_and_mentor_and_what_is_hidden(page, live_server, axe):
    base_url, app = live_server
    known = ids(app)
    sign_in(page, base_url, "pilot@demo.test")
    page.goto(f"{base_url}/libraries/{known['own_library']}")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Hayward Public Library")
    assert_accessible(axe, page, "pilot-library")
    response = page.goto(f"{base_url}/people/")
    assert response.status == 403
    assert_accessible(axe, page, "pilot-403")


@pytest.mark.parametrize("path", ["/login", "/forgot-password", "/set-password/not-a-real-token"])
def test_signed_out_pages_are_accessible(page, live_server, axe, path):
    base_url, _ = live_server
    page.goto(base_url + path)
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    assert_accessible(axe, page, "anon" + re.sub(r"\W+", "-", path))


def test_the_skip_link_leads_from_the_banner_into_the_main_landmark(page, live_server):
    base_url, _ = live_server
    sign_in(page, base_url, "mentor@demo.test")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()  # shown once it has focus
    expect(
        page.get_by_role("banner").get_by_role("link", name="Skip to main content")
    ).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.get_by_role("main")).to_be_focused()
    page.keyboard.press("Tab")  # the next stop is inside main, past the header's links
    inside_main = page.evaluate("document.querySelector('main').contains(document.activeElement)")
    assert inside_main and page.evaluate(
        "document.activeElement !== document.querySelector('main')"
    )


def test_phone_width_shows_the_whole_home_page(browser, live_server, axe):
    base_url, _ = live_server
    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    sign_in(page, base_url, "pilot@demo.test")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
    assert_accessible(axe, page, "phone-pilot-home")
    context.close()


def test_staff_pair_the_year_2_cohort_in_the_browser(page, live_server, axe):
    base_url, app = live_server
    with app.app_context():
        year2 = db.session.scalar(sa.select(Cohort.id).where(Cohort.name.like("Year 2%")))
    sign_in(page, base_url, "staff@demo.test")
    page.goto(f"{base_url}/cohorts/{year2}")
    page.get_by_role("link", name="Pair mentors and pilots").click()
    page.get_by_role("button", name="Propose mentors for all unpaired pilots").click()
    expect(page.get_by_role("status").first).to_contain_text("pairings proposed")
    assert_accessible(axe, page, "staff-pairing-proposed")
    page.get_by_role("link", name=re.compile("Change mentor")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("A mentor for")
    assert_accessible(axe, page, "staff-pairing-suggestions")
    page.go_back()
    page.get_by_role("button", name=re.compile(r"Publish \d+ proposals")).click()
    expect(page.get_by_role("status").first).to_contain_text("published")
    expect(page.get_by_text("active").first).to_be_visible()


def test_a_pilot_works_on_school_partners_and_the_letter(page, live_server, axe):
    base_url, app = live_server
    known = ids(app)
    sign_in(page, base_url, "pilot@demo.test")
    page.get_by_role("navigation").get_by_role("link", name="School partners", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "School partners of Hayward Public Library"
    )
    assert_accessible(axe, page, "pilot-partners")

    page.get_by_role("link", name="Add a school district").click()
    page.get_by_label("School district").select_option(label="San Lorenzo Unified (Alameda)")
    page.get_by_label("Roll-out order").fill("0")
    page.get_by_label("District contact: name").fill("Ana Ruiz")
    page.get_by_role("button", name="Add school partner").click()
    expect(page.locator("#rollout_order-error")).to_contain_text("1 to 999")
    expect(page.get_by_label("District contact: name")).to_have_value("Ana Ruiz")
    assert_accessible(axe, page, "pilot-partner-form-errors")
    page.get_by_label("Roll-out order").fill("2")
    page.get_by_label("Card model").select_option("digital only")
    page.get_by_role("button", name="Add school partner").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("San Lorenzo Unified")

    page.get_by_label("Stage reached").select_option(label="Meeting held")
    page.get_by_role("button", name="Save stage").click()
    expect(page.get_by_role("status").first).to_contain_text("Stage saved: Meeting held")
    expect(page.locator('[aria-current="step"]')).to_contain_text("Meeting held")
    assert_accessible(axe, page, "pilot-partnership")

    page.get_by_role("link", name="Add an agreement").click()
    page.get_by_label("Effective from").fill("2026-10-01")
    page.get_by_label("Expires on").fill("2026-12-31")
    page.get_by_role("button", name="Add agreement").click()
    expect(page.get_by_role("table", name=re.compile("Agreements with"))).to_contain_text("MOU")

    page.goto(f"{base_url}/libraries/{known['own_library']}/partners")
    expect(page.get_by_role("heading", name="Agreements to renew")).to_be_visible()
    page.get_by_role("link", name=re.compile("Commitment letter for")).click()
    # The new district's superintendent has not signed: the letter waits for them.
    expect(
        page.get_by_text("waiting for: the superintendent of San Lorenzo Unified")
    ).to_be_visible()
    assert_accessible(axe, page, "pilot-letter")


def test_a_pilot_follows_the_timeline_and_the_mentor_comments(page, live_server, axe):
    base_url, _ = live_server
    sign_in(page, base_url, "pilot@demo.test")
    expect(page.get_by_text("Late:")).to_be_visible()
    page.get_by_role("link", name="The whole timeline of Hayward Public Library").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Timeline of Hayward Public Library")
    expect(page.get_by_text(re.compile(r"\d+ days late")).first).to_be_visible()
    assert_accessible(axe, page, "pilot-timeline")
    # The late step is done by a fact (a stage, the letter…): recorded elsewhere, never here.
    late = page.locator(".milestone-late").first
    expect(late).to_contain_text("Done by itself when")
    expect(late.get_by_role("button", name=re.compile("Mark done"))).to_have_count(0)
    by_hand = page.locator(".milestone").filter(
        has=page.get_by_role("button", name=re.compile("Mark done"))
    )
    title = by_hand.first.locator(".milestone-title").inner_text()
    # "Mark done" asks for the day; it never assumes today.
    done_on = by_hand.first.get_by_label(re.compile("^Done on"))
    done_on.fill(done_on.get_attribute("max"))  # today, as the app counts it
    by_hand.first.get_by_role("button", name=re.compile("Mark done")).click()
    expect(page.get_by_role("status").first).to_contain_text(f"Done: {title.split(' (')[0]}")

    page.get_by_role("link", name=re.compile("District-wide rollout")).first.click()
    # The tab's title says whose milestone it is (staff and mentors see several libraries').
    expect(page).to_have_title(re.compile(r"^District-wide rollout.* · Hayward Public Library · "))
    page.get_by_label("Status").select_option("not applicable")
    page.get_by_label("Note").fill("We roll out school by school instead.")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#not_applicable_reason-error")).to_contain_text("Say why")
    expect(page.get_by_label("Note")).to_have_value("We roll out school by school instead.")
    assert_accessible(axe, page, "pilot-milestone-error")
    page.get_by_label("Why it does not apply").fill("Single-school district.")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").first).to_contain_text("was saved")
    milestone_url = page.url
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base_url, "mentor@demo.test")
    expect(page.get_by_role("heading", name="Progress of Hayward Public Library")).to_be_visible()
    page.goto(milestone_url)
    expect(page.get_by_label("Status")).to_have_count(0)  # mentors read and comment
    page.get_by_label("Your comment").fill("Good call — **one school at a time** works.")
    page.get_by_role("button", name="Add comment").click()
    expect(page.locator(".comment-body strong")).to_have_text("one school at a time")
    assert_accessible(axe, page, "mentor-milestone")
    page.get_by_role("button", name="Sign out").click()

    sign_in(page, base_url, "staff@demo.test")
    page.get_by_role("link", name="At risk").click()
    expect(page.get_by_role("table", name=re.compile("Pilots by risk"))).to_contain_text("at risk")
    expect(page.get_by_role("table")).to_contain_text("days late")


def test_a_mentor_chooses_which_reminders_to_receive(page, live_server, axe):
    base_url, _ = live_server
    sign_in(page, base_url, "mentor@demo.test")
    page.get_by_role("link", name="Email reminders").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Email reminders")
    expect(page.get_by_label("The weekly digest for program staff")).to_have_count(0)
    late = page.get_by_label("A milestone is late (weekly, at most four times)")
    expect(late).to_be_checked()
    late.uncheck()
    page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("status").first).to_contain_text("saved")
    expect(
        page.get_by_label("A milestone is late (weekly, at most four times)")
    ).not_to_be_checked()
    expect(page.get_by_label("A check-in is overdue")).to_be_checked()
    assert_accessible(axe, page, "mentor-preferences")


def test_a_pilot_reads_the_toolkit_from_a_late_milestone_and_searches_it(page, live_server, axe):
    base_url, _ = live_server
    sign_in(page, base_url, "pilot2@demo.test")  # Yolo: several steps late, untouched by others
    page.get_by_role("link", name="The whole timeline of Yolo County Library").click()
    late = page.locator(".milestone-late").first
    late.get_by_role("link", name=re.compile("Toolkit: how to do this")).click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_role("navigation", name="On this page")).to_be_visible()
    assert_accessible(axe, page, "pilot-toolkit-page")
    page.get_by_role("link", name="Toolkit", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Implementation toolkit")
    assert_accessible(axe, page, "pilot-toolkit-index")
    page.get_by_label("Search the toolkit").fill("data sharing")
    page.get_by_role("button", name="Search").click()
    first = page.locator(".search-results li").first
    expect(first.get_by_role("link")).to_have_text(re.compile("MOU|data-sharing", re.I))
    expect(first.locator("mark").first).to_be_visible()
    assert_accessible(axe, page, "pilot-toolkit-search")
