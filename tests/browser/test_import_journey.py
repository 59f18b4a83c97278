"""Staff build the Year 2 cohort from the demo data in the browser: import people from a
CSV file, look at suggestions, propose for the whole cohort, change one proposal, publish;
then the imported pilot and mentor librarians sign in and see each other.

The journey publishes every Year 2 proposal, so it runs on a live server of its own:
on the shared one it would leave `test_staff_pair_the_year_2_cohort_in_the_browser`
nothing to propose or change (or find that test's pairings already active).
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from mentorship import demo
from mentorship.extensions import db
from mentorship.models import Cohort, Participation, ParticipationRole, User
from mentorship.services.auth import hash_password
from tests.browser.conftest import assert_accessible, serve_demo, sign_in

pytestmark = pytest.mark.browser

# Two Year 2 libraries of the demo data. After the whole-cohort proposal the optimiser
# gives Paso Robles to Santa Maria, and LA County Library still has places left: staff
# change that one proposal to LA County, the imported mentor's library.
PILOT_LIBRARY = "Paso Robles City Library"
MENTOR_LIBRARY = "LA County Library"
PILOT = ("ana.pilot@year2.example", "Ana Ortiz")
MENTOR = ("marco.mentor@year2.example", "Marco Bell")
GOOD_CSV = (
    "email,name,role,library\n"
    f"{PILOT[0]},{PILOT[1]},pilot,{PILOT_LIBRARY}\n"
    f"{MENTOR[0]},{MENTOR[1]},mentor,{MENTOR_LIBRARY}\n"
)
# The same people, but the first line names a library that does not exist.
BAD_CSV = (
    "email,name,role,library\n"
    f"{PILOT[0]},{PILOT[1]},pilot,Paso Robles Library\n"
    f"{MENTOR[0]},{MENTOR[1]},mentor,{MENTOR_LIBRARY}\n"
)
NEW_PASSWORD = "a long sentence to sign in with"
YEAR2 = demo.YEAR2_NAME
INVITATION = "Your account for the Student Success Initiative"


@pytest.fixture(scope="module")
def journey_server(tmp_path_factory, smtp_server):
    """Like conftest's `live_server`, with a database of its own."""
    with serve_demo(tmp_path_factory.mktemp("journey-db"), smtp_server.port) as served:
        yield served


def imported(app) -> dict[str, tuple]:
    """{email: (name, role, has a password)} of the people the file names."""
    with app.app_context():
        users = db.session.scalars(sa.select(User).where(User.email.in_([PILOT[0], MENTOR[0]])))
        return {u.email: (u.name, u.role.value, u.password_hash is not None) for u in users}


def people_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def year2_pilot_count(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Participation)
            .join(Cohort)
            .where(Cohort.name == YEAR2, Participation.role == ParticipationRole.PILOT)
        )


def upload(page, path) -> None:
    page.get_by_label("What the file holds").select_option("people")
    page.get_by_label("CSV file").set_input_files(str(path))
    page.get_by_role("button", name="Preview the import").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check the import of people")


def outcome(table, email: str):
    """The Outcome cell of the preview row for this email (Line, Outcome, What changes)."""
    row = table.get_by_role("row").filter(has=table.page.get_by_role("rowheader", name=email))
    return row.get_by_role("cell").nth(1)


def pilot_row(page):
    return page.get_by_role("row").filter(
        has=page.get_by_role("rowheader", name=PILOT_LIBRARY, exact=True)
    )


def test_staff_build_the_year_2_cohort_from_an_import(page, journey_server, axe, mailbox, tmp_path):
    base_url, app = journey_server
    bad_file, good_file = tmp_path / "bad-people.csv", tmp_path / "year2-people.csv"
    bad_file.write_text(BAD_CSV, encoding="utf-8")
    good_file.write_text(GOOD_CSV, encoding="utf-8")
    before, pilots = people_count(app), year2_pilot_count(app)

    # 1. A file with one bad line: the error names the line and the column; nothing stored.
    sign_in(page, base_url, "staff@demo.test")
    page.get_by_role("navigation").get_by_role("link", name="People", exact=True).click()
    page.get_by_role("link", name="Import from a spreadsheet (CSV)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import from a spreadsheet (CSV)")
    expect(page.get_by_label("What the file holds")).to_have_value("people")
    assert_accessible(axe, page, "import-upload")
    upload(page, bad_file)
    expect(page.get_by_role("alert")).to_contain_text("Nothing was stored")
    expect(page.get_by_role("alert")).to_contain_text(
        "line 2, library: no library is named 'Paso Robles Library'"
    )
    expect(page.get_by_role("button", name=re.compile("Confirm"))).to_have_count(0)
    assert_accessible(axe, page, "import-preview-errors")
    assert people_count(app) == before
    assert imported(app) == {}

    # The good file: both rows would be added; confirming stores them and invites them.
    page.get_by_role("link", name="← Choose another file").click()
    upload(page, good_file)
    rows = page.get_by_role("table", name=re.compile("Every row of the file"))
    for email, _ in (PILOT, MENTOR):
        expect(outcome(rows, email)).to_have_text("add")
    assert_accessible(axe, page, "import-preview")
    page.get_by_role("button", name="Confirm: add 2, update 0").click()
    expect(page.get_by_role("status").first).to_have_text(
        "Imported: 2 added, 0 updated, 0 unchanged. 2 invitations sent."
    )
    assert people_count(app) == before + 2
    assert imported(app) == {  # invited: no password yet
        PILOT[0]: (PILOT[1], "pilot", False),
        MENTOR[0]: (MENTOR[1], "mentor", False),
    }
    invitations = {m["To"]: m for m in mailbox.messages if m["Subject"] == INVITATION}
    assert set(invitations) == {PILOT[0], MENTOR[0]}

    # 2. The same file again changes nothing, and there is nothing to confirm.
    page.goto(f"{base_url}/import/?kind=people")
    upload(page, good_file)
    expect(
        page.get_by_text("Every row matches what is stored: there is nothing to import.")
    ).to_be_visible()
    for email, _ in (PILOT, MENTOR):
        expect(outcome(rows, email)).to_have_text("unchanged")
    expect(page.get_by_role("button", name=re.compile("Confirm"))).to_have_count(0)
    assert_accessible(axe, page, "import-preview-unchanged")
    assert people_count(app) == before + 2

    # 3. The Year 2 cohort: suggestions, the whole-cohort proposal, one change, publish.
    page.get_by_role("navigation").get_by_role("link", name="Cohorts", exact=True).click()
    page.get_by_role("link", name=YEAR2).click()
    page.get_by_role("link", name="Pair mentors and pilots").click()
    expect(pilot_row(page)).to_contain_text("unpaired")
    assert_accessible(axe, page, "journey-pairing-board")
    page.get_by_role("link", name=f"Choose mentor for {PILOT_LIBRARY}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"A mentor for {PILOT_LIBRARY}")
    best = page.locator("ol.suggestions > li").first
    expect(best).to_contain_text("same cooperative system (Black Gold)")
    expect(best).to_contain_text("3 of 3 places left")
    assert_accessible(axe, page, "journey-pairing-suggestions")
    page.go_back()

    page.get_by_role("button", name="Propose mentors for all unpaired pilots").click()
    expect(page.get_by_role("status").first).to_contain_text(f"{pilots} pairings proposed")
    expect(pilot_row(page)).to_contain_text("proposed")
    first_choice = pilot_row(page).get_by_role("cell").first.inner_text()
    assert first_choice not in ("—", MENTOR_LIBRARY)
    assert_accessible(axe, page, "journey-pairing-proposed")
    page.get_by_role("link", name=f"Change mentor for {PILOT_LIBRARY}").click()
    expect(page.get_by_text(f"Now: {first_choice} (proposed).")).to_be_visible()
    assert_accessible(axe, page, "journey-pairing-change")
    page.get_by_role("button", name=f"Propose {MENTOR_LIBRARY}").click()
    expect(page.get_by_role("status").first).to_have_text(
        f"{MENTOR_LIBRARY} is proposed as mentor of {PILOT_LIBRARY}."
    )
    expect(pilot_row(page)).to_contain_text(MENTOR_LIBRARY)

    mailbox.messages.clear()
    page.get_by_role("button", name=f"Publish {pilots} proposals").click()
    expect(page.get_by_role("status").first).to_contain_text(f"{pilots} pairings published")
    expect(pilot_row(page).get_by_role("cell").nth(0)).to_have_text(MENTOR_LIBRARY)
    expect(pilot_row(page).get_by_role("cell").nth(1)).to_have_text("active")
    expect(page.get_by_role("button", name=re.compile(r"Publish \d+ proposals"))).to_have_count(0)
    assert_accessible(axe, page, "journey-pairing-published")
    subjects = {(m["To"], m["Subject"]) for m in mailbox.messages}
    assert (PILOT[0], f"Your mentor library: {MENTOR_LIBRARY}") in subjects
    assert (MENTOR[0], f"Your mentee library: {PILOT_LIBRARY}") in subjects
    page.get_by_role("button", name="Sign out").click()

    # 4. The pilot librarian sets a password from the invitation and sees the mentor.
    link = re.search(
        r"https://ssi\.example(/set-password/\S+)",
        invitations[PILOT[0]].get_payload(decode=True).decode(),
    )
    page.goto(base_url + link[1])
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_label("Type it again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set password").click()
    # Signed in at once: no second sign-in with the password just chosen.
    expect(page.get_by_role("status").first).to_contain_text("you are signed in")
    expect(page.get_by_role("heading", level=1)).to_have_text(PILOT_LIBRARY)
    mentor_section = page.get_by_role("region", name=f"Your mentor library: {MENTOR_LIBRARY}")
    expect(mentor_section).to_contain_text(f"{MENTOR[1]} (mentor librarian)")
    assert_accessible(axe, page, "journey-pilot-home")
    page.get_by_role("button", name="Sign out").click()

    # The mentor librarian (password set here directly) sees the library they mentor.
    with app.app_context():
        mentor = db.session.scalar(sa.select(User).where(User.email == MENTOR[0]))
        mentor.password_hash = hash_password(NEW_PASSWORD)
        db.session.commit()
    sign_in(page, base_url, MENTOR[0], NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(MENTOR_LIBRARY)
    mentee_section = page.get_by_role("region", name=f"A library you mentor: {PILOT_LIBRARY}")
    expect(mentee_section).to_contain_text(f"{PILOT[1]} (pilot librarian)")
    assert_accessible(axe, page, "journey-mentor-home")
