"""Factories so each test reads as a scenario: `make_library()`, `make_user('pilot')`."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import date, timedelta
from html.parser import HTMLParser

import sqlalchemy as sa
from flask_sqlalchemy.session import Session as FlaskSession

from mentorship.extensions import db
from mentorship.models import (
    ActionItem,
    CaseStudy,
    CaseStudyStatus,
    CheckIn,
    CheckInMode,
    Cohort,
    Governance,
    Library,
    LibrarySource,
    Milestone,
    OutcomeReport,
    Pairing,
    PairingStatus,
    Participation,
    ParticipationRole,
    Role,
    School,
    SchoolDistrict,
    User,
)
from mentorship.services.auth import hash_password

PASSWORD = "correct horse battery"
_numbers = itertools.count(1)


def make_library(name: str | None = None, **values) -> Library:
    n = next(_numbers)
    library = Library(
        name=name or f"Test Library {n}",
        county=values.pop("county", "Alameda"),
        governance=values.pop("governance", Governance.CITY),
        cooperative_system=values.pop("cooperative_system", "Pacific Library Partnership"),
        **values,
    )
    db.session.add(library)
    db.session.commit()
    db.session.refresh(library)  # still readable after the app context ends
    return library


def make_user(role: str = "staff", library: Library | None = None, **values) -> User:
    n = next(_numbers)
    role = Role(role)
    if role in (Role.PILOT, Role.MENTOR) and library is None:
        library = make_library()
    user = User(
        name=values.pop("name", f"Person {n}"),
        email=values.pop("email", f"person{n}@example.org"),
        role=role,
        library_id=library.id if library else None,
        password_hash=hash_password(values.pop("password", PASSWORD)),
        **values,
    )
    db.session.add(user)
    db.session.commit()
    db.session.refresh(user)  # still readable after the app context ends
    return user


def make_cohort(name: str | None = None, **values) -> Cohort:
    cohort = Cohort(
        name=name or f"Cohort {next(_numbers)}",
        start_date=values.pop("start_date", date(2025, 9, 1)),
        end_date=values.pop("end_date", date(2027, 8, 31)),
        **values,
    )
    db.session.add(cohort)
    db.session.commit()
    db.session.refresh(cohort)  # still readable after the app context ends
    return cohort


def make_participation(
    library: Library, cohort: Cohort, role: str = "pilot", **values
) -> Participation:
    participation = Participation(
        library_id=library.id,
        cohort_id=cohort.id,
        role=ParticipationRole(role),
        start_date=values.pop("start_date", cohort.start_date),
        **values,
    )
    db.session.add(participation)
    db.session.commit()
    db.session.refresh(participation)  # still readable after the app context ends
    return participation


def make_district(name: str | None = None, **values) -> SchoolDistrict:
    district = SchoolDistrict(
        name=name or f"District {next(_numbers)}", county=values.pop("county", "Alameda"), **values
    )
    db.session.add(district)
    db.session.commit()
    db.session.refresh(district)  # still readable after the app context ends
    return district


@contextmanager
def commits_only_flush():
    """Inside the block `commit` only flushes, so a request's changes are rolled back when
    it ends: many requests can run against one world without changing what the next sees
    (the access matrix and the access table do so)."""
    commit = FlaskSession.commit
    FlaskSession.commit = FlaskSession.flush
    try:
        yield
    finally:
        FlaskSession.commit = commit


@contextmanager
def count_statements(app):
    """Collect the SQL statements run inside the block (to pin query counts)."""
    statements = []

    def listen(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", listen)
    try:
        yield statements
    finally:
        with app.app_context():
            sa.event.remove(db.engine, "before_cursor_execute", listen)


def make_partnership(
    library=None, district=None, contacted_on=date(2026, 1, 10), **district_values
):
    """A school-district partnership, made through the service (stage dates, milestones)."""
    from mentorship.services.partnerships import create_partnership

    partnership = create_partnership(
        library or make_library(),
        {"district_id": (district or make_district(**district_values)).id},
        contacted_on,
        actor=None,
    )
    db.session.commit()
    return partnership


def make_pilot(library=None, districts: int = 1, start: date = date(2025, 9, 1)) -> Participation:
    """A pilot joining its own cohort on `start`, with its partnerships and milestones."""
    from mentorship.services.cohorts import add_participation

    library = library or make_library()
    for _ in range(districts):
        make_partnership(library, contacted_on=start)
    cohort = make_cohort(start_date=start, end_date=start + timedelta(days=730))
    pilot = add_participation(
        cohort, {"library_id": library.id, "role": "pilot", "start_date": start}, actor=None
    )
    db.session.commit()
    return pilot


def make_pairing(
    pilot: Participation,
    status: str = "active",
    start: date | None = None,
    mentor: Participation | None = None,
    **values,
) -> Pairing:
    """A pairing of `pilot` with `mentor` (by default a new mentor library in its cohort)."""
    if mentor is None:
        cohort = db.session.get(Cohort, pilot.cohort_id)
        mentor = make_participation(make_library(), cohort, "mentor")
    pairing = Pairing(
        pilot_participation_id=pilot.id,
        mentor_participation_id=mentor.id,
        status=PairingStatus(status),
        start_date=start,
        **values,
    )
    db.session.add(pairing)
    db.session.commit()
    return pairing


def make_check_in(
    pairing: Pairing | int,
    held_on: date,
    mode: str = "call",
    action_items: tuple[ActionItem, ...] = (),
    **values,
) -> CheckIn:
    """A check-in logged on `held_on`, as stored (no cadence moved: see services.checkins)."""
    check_in = CheckIn(
        pairing_id=pairing if isinstance(pairing, int) else pairing.id,
        held_on=held_on,
        mode=CheckInMode(mode),
        action_items=list(action_items),
        **values,
    )
    db.session.add(check_in)
    db.session.commit()
    return check_in


def make_report(
    partnership,
    start: date,
    end: date,
    enrolled: int,
    physical: int = 0,
    digital: int = 0,
    using: int | None = None,
    **values,
) -> OutcomeReport:
    """An outcome report as stored (the form's checks are services.outcomes.add_report's)."""
    report = OutcomeReport(
        partnership_id=partnership if isinstance(partnership, int) else partnership.id,
        period_start=start,
        period_end=end,
        students_enrolled=enrolled,
        physical_cards=physical,
        digital_cards=digital,
        students_using_cards=using,
        **values,
    )
    db.session.add(report)
    db.session.commit()
    return report


def make_case_study(library, title: str = "Working with two districts", **values) -> CaseStudy:
    """A case study of `library` (a draft unless `status` says otherwise)."""
    case_study = CaseStudy(
        library_id=library if isinstance(library, int) else library.id,
        title=title,
        status=CaseStudyStatus(values.pop("status", "draft")),
        **values,
    )
    db.session.add(case_study)
    db.session.commit()
    return case_study


def milestone_of(pilot, step_key: str, partnership=None) -> Milestone:
    """The pilot's milestone for a step of the plan (per district: that partnership's)."""
    return db.session.scalar(
        sa.select(Milestone).where(
            Milestone.participation_id == pilot.id,
            Milestone.step_key == step_key,
            Milestone.partnership_id == partnership.id
            if partnership
            else Milestone.partnership_id.is_(None),
        )
    )


def make_grade_report(partnership, school, start, end, grade=3, **counts) -> OutcomeReport:
    """An outcome report row for one school and grade."""
    return make_report(
        partnership,
        start,
        end,
        counts.pop("enrolled", 0),
        counts.pop("physical", 0),
        counts.pop("digital", 0),
        counts.pop("using", None),
        school_id=school.id,
        grade=grade,
        students_with_cards=counts.pop("with_cards", None),
        **counts,
    )


def make_school(lea: SchoolDistrict, name: str | None = None, **values):
    """A school of `lea` (K–6 in the LEA's county unless told), its local library if given."""
    library = values.pop("local_library", None)
    school = School(
        lea_id=lea.id,
        name=name or f"School {next(_numbers)}",
        county=values.pop("county", lea.county),
        low_grade=values.pop("low_grade", 0),
        high_grade=values.pop("high_grade", 6),
        local_library_id=library.id if library else None,
        local_library_source=LibrarySource.STAFF if library else None,
        **values,
    )
    db.session.add(school)
    db.session.commit()
    db.session.refresh(school)
    return school


# The demo program, seeded once per day it is dated from, then copied ---------------------

_demo_rows: dict[date, dict[str, list[dict]]] = {}
_KEPT_BY_MIGRATIONS = {"partnership_stages"}  # reference rows: already in every database


def load_demo(today: date | None = None) -> None:
    """The demo program, as `seed_demo(today)` makes it, into an empty migrated database.

    The first call per `today` seeds it for real and keeps a copy of every row; later
    calls (in any test database of the run) insert that copy, which takes a fraction of
    the seed's time. Tests of the seed itself call `seed_demo`."""
    from mentorship.demo import seed_demo

    today = today or date.today()
    tables = [t for t in db.metadata.sorted_tables if t.name not in _KEPT_BY_MIGRATIONS]
    if today not in _demo_rows:
        seed_demo(today)
        db.session.commit()
        _demo_rows[today] = {
            t.name: [
                dict(row._mapping)
                for row in db.session.execute(sa.select(t).order_by(*t.primary_key))
            ]
            for t in tables
        }
        return
    for table in tables:  # parents before children; within a table, by id
        if _demo_rows[today][table.name]:
            db.session.execute(table.insert(), _demo_rows[today][table.name])
    if db.session.get_bind().dialect.name == "postgresql":
        for table in tables:  # rows came with their ids: sequences move past them
            if "id" in table.c and table.c.id.autoincrement is not False:
                db.session.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT coalesce(max(id), 0) + 1 FROM {table.name}), false)"
                    )
                )
    db.session.commit()


def unsafe_markup(html: str) -> list[str]:
    """What in rendered HTML could run or style: tags outside the allowed few, event or
    style attributes, links to anything but http(s), mailto or an anchor. Escaped text
    (`&lt;img onerror=…&gt;` shown as words) is harmless and not reported."""
    safe_tags = {
        "p", "br", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li", "a",
        "h2", "h3", "h4", "hr", "table", "thead", "tbody", "tr", "th", "td",
    }  # fmt: skip
    found: list[str] = []

    class Walker(HTMLParser):
        def handle_starttag(self, tag, attrs):
            if tag not in safe_tags:
                found.append(f"<{tag}>")
            for name, value in attrs:
                if name.startswith("on") or name == "style":
                    found.append(f"{tag} {name}")
                if name in ("href", "src") and not (value or "").lower().startswith(
                    ("http://", "https://", "mailto:", "#")
                ):
                    found.append(f"{tag} {name}={value}")

    Walker().feed(html)
    return found
