"""Factories so each test reads as a scenario: `make_library()`, `make_user('pilot')`."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import date, timedelta

import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import (
    Cohort,
    Governance,
    Library,
    Pairing,
    PairingStatus,
    Participation,
    ParticipationRole,
    Role,
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
    pilot: Participation, status: str = "active", start: date | None = None, **values
) -> Pairing:
    """A pairing of `pilot` with a new mentor library in its cohort."""
    mentor = make_participation(make_library(), db.session.get(Cohort, pilot.cohort_id), "mentor")
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


def unsafe_markup(html: str) -> list[str]:
    """What in rendered HTML could run or style: tags outside the allowed few, event or
    style attributes, links to anything but http(s), mailto or an anchor. Escaped text
    (`&lt;img onerror=…&gt;` shown as words) is harmless and not reported."""
    from html.parser import HTMLParser

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
