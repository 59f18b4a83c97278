"""Business rules tested without HTTP."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from mentorship import demo
from mentorship.extensions import db
from mentorship.models import AuditEvent, Cohort, Library, Participation, SchoolDistrict, User
from mentorship.services import months, overview, records
from mentorship.services.auth import authenticate, set_password
from mentorship.services.cohorts import role_counts
from mentorship.services.errors import Conflict, ValidationError
from tests.helpers import make_cohort, make_library, make_participation, make_user


@pytest.mark.parametrize(
    ("start", "today", "expected"),
    [
        (date(2025, 9, 1), date(2025, 9, 30), 0),
        (date(2025, 9, 1), date(2025, 10, 1), 1),
        (date(2025, 9, 15), date(2026, 3, 14), 5),
        (date(2025, 9, 15), date(2027, 3, 15), 18),
        (date(2026, 1, 1), date(2025, 6, 1), 0),
    ],
)
def test_months_between(start, today, expected):
    assert months.months_between(start, today) == expected


@pytest.mark.parametrize(
    ("start", "added", "expected"),
    [
        (date(2025, 9, 1), 1, date(2025, 10, 1)),
        (date(2025, 9, 1), 4, date(2026, 1, 1)),
        (date(2025, 8, 31), 6, date(2026, 2, 28)),  # a shorter month: its last day
        (date(2024, 1, 31), 1, date(2024, 2, 29)),
        (date(2025, 9, 15), 24, date(2027, 9, 15)),
    ],
)
def test_add_months(start, added, expected):
    assert months.add_months(start, added) == expected


def test_demo_data_loads_twice_without_duplicates(ctx):
    first = demo.seed_demo()
    db.session.commit()
    second = demo.seed_demo()
    db.session.commit()
    assert first == second
    cohorts = {c.name: c.id for c in db.session.scalars(sa.select(Cohort))}
    year1 = role_counts([cohorts[demo.YEAR1_NAME]])[cohorts[demo.YEAR1_NAME]]
    year2 = role_counts([cohorts[demo.YEAR2_NAME]])[cohorts[demo.YEAR2_NAME]]
    assert (year1["pilot"], year1["mentor"]) == (11, 4)
    assert sum(year2.values()) == 45
    assert first["school_districts"] >= 44 and first["users"] == 5
    for email in (
        "staff@demo.test",
        "state@demo.test",
        "pilot@demo.test",
        "pilot2@demo.test",
        "mentor@demo.test",
    ):
        assert authenticate(email, demo.DEMO_PASSWORD).user is not None, email
    pilot = db.session.scalar(sa.select(User).where(User.email == "pilot@demo.test"))
    pilot2 = db.session.scalar(sa.select(User).where(User.email == "pilot2@demo.test"))
    assert pilot.library_id != pilot2.library_id
    # Year 1 is running: every pilot has an active mentor, the demo pilot the demo mentor.
    from mentorship.services.pairing import active_pairings_of_library

    mentor = db.session.scalar(sa.select(User).where(User.email == "mentor@demo.test"))
    [pairing] = active_pairings_of_library(pilot.library_id)
    assert pairing.mentor.library_id == mentor.library_id
    assert first["pairings"] == 11
    # A Year 1 pilot comes back as a Year 2 mentor.
    roles_by_library = db.session.execute(
        sa.select(Participation.library_id, sa.func.count())
        .group_by(Participation.library_id)
        .having(sa.func.count() > 1)
    ).all()
    assert roles_by_library


def test_update_audits_only_what_changed(ctx):
    library = make_library("Salinas Public Library", county="Monterey")
    changes = records.update(library, {"county": "Monterey", "city": "Salinas"}, actor=None)
    assert changes == {"city": ["", "Salinas"]}
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "update"))
    assert (
        event.changes == {"city": ["", "Salinas"]}
        and event.object_label == "Salinas Public Library"
    )


def test_a_duplicate_that_slips_past_the_form_is_a_conflict_and_stores_nothing(ctx):
    make_library("Salinas Public Library")
    with pytest.raises(Conflict):
        records.create(
            Library,
            {"name": "Salinas Public Library", "county": "Monterey", "governance": "city"},
            None,
        )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Library)) == 1


def test_database_refuses_a_pilot_without_a_library(ctx):
    db.session.add(User(name="X", email="x@t.example", role="pilot", library_id=None))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_database_refuses_a_district_with_negative_students(ctx):
    db.session.add(SchoolDistrict(name="D", county="C", students_enrolled=-1))
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short", "at least 12 characters"),
        ("Password1234", "too easy to guess"),
        ("qwertyuiop123", "too easy to guess"),
        ("aaaaaaaaaaaaaa", "too easy to guess"),
        ("ababababababab", "too easy to guess"),
        ("dana.whitfield-2026!", "from your email address"),
    ],
)
def test_weak_passwords_are_refused_with_a_reason(ctx, password, message):
    user = db.session.merge(make_user("staff", email="dana.whitfield@plp.example"))
    before = user.password_hash
    with pytest.raises(ValidationError, match=message) as refused:
        set_password(user, password, actor=None)
    assert refused.value.field == "password" and user.password_hash == before


def test_a_sentence_of_your_own_is_a_good_password(ctx):
    user = db.session.merge(make_user("staff", email="dana.whitfield@plp.example"))
    set_password(user, "the library opens at nine", actor=None)
    assert authenticate("dana.whitfield@plp.example", "the library opens at nine").user == user


def test_library_timeline_counts_months_since_the_start(ctx):
    library = make_library()
    make_participation(
        library, make_cohort(start_date=date(2025, 9, 1)), "pilot", start_date=date(2025, 9, 1)
    )
    [position] = overview.library_timelines(library.id, today=date(2026, 11, 25))
    assert (
        position.months_elapsed == 14
        and position.target_months == 18
        and position.outer_bound == 24
    )


def test_state_figures_are_totals(ctx):
    from tests.helpers import make_district

    make_district(students_enrolled=1000)
    make_district(students_enrolled=2500)
    make_district(students_enrolled=None)
    assert overview.state_figures()["students_enrolled"] == 3500
