"""Staff keep libraries, districts, cohorts, participations and people.

Bad input: the message is next to the field, what was typed stays, nothing is stored.
Every change leaves an audit row.
"""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import AuditEvent, Cohort, Library, Participation, SchoolDistrict, User
from tests.conftest import row_count
from tests.helpers import (
    PASSWORD,
    make_cohort,
    make_district,
    make_library,
    make_participation,
    make_user,
)


@pytest.fixture
def staff(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example", name="Dana Whitfield")
    client.login("staff@t.example", PASSWORD)
    return client


GOOD_LIBRARY = {
    "name": "Salinas Public Library",
    "short_name": "Salinas PL",
    "city": "Salinas",
    "county": "Monterey",
    "cooperative_system": "Black Gold",
    "governance": "city",
    "service_population": "163000",
    "ils_name": "Polaris",
    "website": "https://salinaspubliclibrary.org",
    "contact_name": "",
    "contact_email": "",
    "contact_phone": "",
}


def error_of(page: str, field_id: str) -> str:
    """The text of the error shown next to a field (empty if none)."""
    marker = f'id="{field_id}-error">'
    if marker not in page:
        return ""
    return page.split(marker, 1)[1].split("</p>", 1)[0]


def test_staff_add_a_library_and_the_change_is_audited(staff, app):
    response = staff.submit("/libraries/new", GOOD_LIBRARY)
    assert response.status_code == 302
    page = staff.get(response.headers["Location"]).get_data(as_text=True)
    assert "Salinas Public Library" in page and "163,000" in page and "Polaris" in page
    with app.app_context():
        library = db.session.scalar(sa.select(Library))
        assert library.county == "Monterey" and library.service_population == 163000
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "Library"))
        assert event.action == "create" and event.actor.name == "Dana Whitfield"
        assert event.changes["name"] == [None, "Salinas Public Library"]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "This field is required"),
        ({"county": ""}, "county", "Choose the county"),
        ({"county": "Alameeda"}, "county", "Not a valid choice"),
        ({"service_population": "lots"}, "service_population", "Not a valid integer"),
        ({"service_population": "-5"}, "service_population", "0 or more"),
        ({"website": "salinas library"}, "website", "starting with https://"),
        ({"contact_email": "not-an-email"}, "contact_email", "email address"),
        ({"governance": "monarchy"}, "governance", "Not a valid choice"),
    ],
)
def test_bad_library_input_is_shown_next_to_the_field_and_nothing_is_stored(
    staff, app, changes, field, message
):
    response = staff.submit("/libraries/new", {**GOOD_LIBRARY, **changes})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in error_of(page, field)
    assert 'value="Salinas PL"' in page  # what was typed stays
    with app.app_context():
        assert row_count(Library) == 0 and row_count(AuditEvent) == 0


def test_library_names_are_unique_whatever_the_case(staff, app):
    with app.app_context():
        make_library("Salinas Public Library")
    response = staff.submit("/libraries/new", {**GOOD_LIBRARY, "name": "salinas public library"})
    assert "already exists" in error_of(response.get_data(as_text=True), "name")
    with app.app_context():
        assert row_count(Library) == 1


def test_editing_a_library_records_old_and_new_values(staff, app):
    with app.app_context():
        library_id = make_library(
            "Salinas Public Library", county="Monterey", service_population=150000
        ).id
    response = staff.submit(
        f"/libraries/{library_id}/edit", {**GOOD_LIBRARY, "service_population": "163000"}
    )
    assert response.status_code == 302
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "update"))
        assert event.changes["service_population"] == [150000, 163000]
    assert "150000 → 163000" in staff.get(f"/libraries/{library_id}").get_data(as_text=True)


def test_deactivating_hides_a_library_from_the_list_until_asked(staff, app):
    with app.app_context():
        library_id = make_library("Salinas Public Library").id
        make_library("Watsonville Public Library")
    staff.submit(f"/libraries/{library_id}/active", {"active": "0"})
    listing = staff.get("/libraries/").get_data(as_text=True)
    assert "Watsonville" in listing and "Salinas" not in listing
    assert "Salinas" in staff.get("/libraries/?inactive=1").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Library, library_id).active is False
        assert (
            db.session.scalar(
                sa.select(AuditEvent.action).where(AuditEvent.object_id == library_id)
            )
            == "deactivate"
        )


def test_library_list_searches_pages_and_downloads_csv(staff, app):
    with app.app_context():
        for n in range(7):
            make_library(f"Alpha Library {n}", county="Marin")
        make_library("Beta Library", county="Yolo", service_population=1200)
    first = staff.get("/libraries/?q=alpha").get_data(as_text=True)
    assert "Page 1 of 2" in first and "Beta Library" not in first
    assert "Alpha Library 6" in staff.get("/libraries/?q=alpha&page=2").get_data(as_text=True)
    assert "Beta Library" in staff.get("/libraries/?q=yolo").get_data(as_text=True)
    response = staff.get("/libraries/?q=beta&format=csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["Library", "County"]
    assert rows[1][:2] == ["Beta Library", "Yolo"] and rows[1][4] == "1200"
    assert len(rows) == 2


def test_library_list_uses_the_same_few_queries_for_more_rows(staff, app):
    from sqlalchemy import event

    def count_queries(url):
        statements = []
        with app.app_context():
            engine = db.engine
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            assert staff.get(url).status_code == 200
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        return len(statements)

    with app.app_context():
        make_user("pilot", email="p1@t.example")
    few = count_queries("/people/")
    with app.app_context():
        for n in range(4):
            make_user("pilot", email=f"more{n}@t.example")
    assert count_queries("/people/") == few  # libraries are joined, not fetched per row


def test_districts_check_school_year_and_unique_state_code(staff, app):
    with app.app_context():
        make_district("San José Unified", county="Santa Clara", state_code="43-69666")
    response = staff.submit(
        "/districts/new",
        {
            "name": "Oak Grove Elementary",
            "county": "Santa Clara",
            "state_code": "43-69666",
            "students_enrolled": "9000",
            "enrolment_school_year": "2024-2025",
        },
    )
    page = response.get_data(as_text=True)
    assert "already has this state code" in error_of(page, "state_code")
    assert "like 2024-25" in error_of(page, "enrolment_school_year")
    assert 'value="Oak Grove Elementary"' in page
    ok = staff.submit(
        "/districts/new",
        {
            "name": "Oak Grove Elementary",
            "county": "Santa Clara",
            "state_code": "43-69591",
            "students_enrolled": "9000",
            "enrolment_school_year": "2024-25",
        },
    )
    assert ok.status_code == 302
    with app.app_context():
        assert row_count(SchoolDistrict) == 2


def test_cohort_end_must_follow_its_start(staff, app):
    response = staff.submit(
        "/cohorts/new",
        {"name": "Year 3", "start_date": "2027-09-01", "end_date": "2027-01-01", "notes": "x"},
    )
    assert "on or after the start date" in error_of(response.get_data(as_text=True), "end_date")
    with app.app_context():
        assert row_count(Cohort) == 0
    assert (
        staff.submit(
            "/cohorts/new", {"name": "Year 3", "start_date": "2027-09-01", "end_date": "2029-08-31"}
        ).status_code
        == 302
    )


def test_a_library_joins_a_cohort_once_with_a_target_within_24_months(staff, app):
    with app.app_context():
        library_id = make_library("Hayward Public Library").id
        cohort_id = make_cohort("Year 1").id
    url = f"/cohorts/{cohort_id}/libraries/new"
    too_long = staff.submit(
        url,
        {
            "library_id": library_id,
            "role": "pilot",
            "start_date": "2025-09-01",
            "target_months": "30",
        },
    )
    assert "Between 1 and 24 months" in error_of(too_long.get_data(as_text=True), "target_months")
    assert (
        staff.submit(
            url,
            {
                "library_id": library_id,
                "role": "pilot",
                "start_date": "2025-09-01",
                "target_months": "18",
            },
        ).status_code
        == 302
    )
    again = staff.submit(
        url,
        {
            "library_id": library_id,
            "role": "mentor",
            "start_date": "2025-09-01",
            "target_months": "18",
        },
    )
    assert "already takes part" in error_of(again.get_data(as_text=True), "library_id")
    with app.app_context():
        assert row_count(Participation) == 1
    cohort_page = staff.get(f"/cohorts/{cohort_id}").get_data(as_text=True)
    assert "Hayward Public Library" in cohort_page and "pilot" in cohort_page


def test_a_library_can_pilot_one_cohort_and_mentor_a_later_one(app, ctx):
    library = make_library("Salinas Public Library")
    make_participation(library, make_cohort("Year 1"), "pilot")
    make_participation(library, make_cohort("Year 2"), "mentor")
    roles = db.session.scalars(
        sa.select(Participation.role).where(Participation.library_id == library.id)
    ).all()
    assert sorted(r.value for r in roles) == ["mentor", "pilot"]


def test_people_pilot_needs_a_library_and_emails_are_unique(staff, app, mailbox):
    with app.app_context():
        make_user("staff", email="grace@library.example")
        library_id = make_library("Berkeley Public Library").id
    no_library = staff.submit(
        "/people/new",
        {"name": "Luis", "email": "luis@library.example", "role": "pilot", "library_id": "None"},
    )
    assert "belongs to a library" in error_of(no_library.get_data(as_text=True), "library_id")
    taken = staff.submit(
        "/people/new",
        {
            "name": "Grace",
            "email": "GRACE@library.example",
            "role": "mentor",
            "library_id": library_id,
        },
    )
    assert "already uses this email" in error_of(taken.get_data(as_text=True), "email")
    bad = staff.submit(
        "/people/new", {"name": "X", "email": "not an email", "role": "state", "library_id": "None"}
    )
    assert "email address" in error_of(bad.get_data(as_text=True), "email")
    assert mailbox.messages == []
    with app.app_context():
        assert row_count(User) == 2
    ok = staff.submit(
        "/people/new",
        {
            "name": "Luis Carrillo",
            "email": "luis@library.example",
            "role": "pilot",
            "library_id": library_id,
        },
    )
    assert ok.status_code == 302
    assert [m["To"] for m in mailbox.messages] == ["luis@library.example"]
    with app.app_context():
        luis = db.session.scalar(sa.select(User).where(User.email == "luis@library.example"))
        assert luis.library.name == "Berkeley Public Library" and luis.password_hash is None


def test_staff_and_state_people_never_keep_a_library(staff, app):
    with app.app_context():
        library_id = make_library().id
    staff.submit(
        "/people/new",
        {
            "name": "Marcus",
            "email": "marcus@cde.example",
            "role": "state",
            "library_id": library_id,
        },
    )
    with app.app_context():
        assert (
            db.session.scalar(sa.select(User.library_id).where(User.email == "marcus@cde.example"))
            is None
        )


def test_audit_log_lists_changes_and_downloads_them(staff, app):
    staff.submit("/libraries/new", GOOD_LIBRARY)
    page = staff.get("/audit/").get_data(as_text=True)
    assert "Salinas Public Library" in page and "Dana Whitfield" in page
    rows = list(csv.reader(io.StringIO(staff.get("/audit/?format=csv").data.decode("utf-8-sig"))))
    assert rows[0][:2] == ["When", "What happened"] and rows[0][-1] == "Figures as of"
    # The words, and the machine-readable columns beside them.
    assert any(
        "Dana Whitfield (program staff) added the library ‘Salinas Public Library’" in row[1]
        and row[rows[0].index("Action")] == "create"
        and row[rows[0].index("Record kind")] == "Library"
        for row in rows[1:]
    )


def test_csv_cells_cannot_start_a_spreadsheet_formula(staff, app):
    with app.app_context():
        make_library("=HYPERLINK(1) Library")
    text = staff.get("/libraries/?format=csv").get_data(as_text=True)
    assert "'=HYPERLINK(1) Library" in text
