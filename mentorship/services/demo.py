"""Demo data: two real-looking cohorts of California public libraries.

Safe to run again: rows are found by their natural keys and never duplicated.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from .. import demo_data
from ..extensions import db
from ..models import (
    Cohort,
    Library,
    Pairing,
    Participation,
    ParticipationRole,
    Role,
    SchoolDistrict,
    User,
)
from . import pairing, records
from .auth import hash_password

DEMO_PASSWORD = "demo-password"
YEAR1 = ("Year 1 — Northern California", date(2025, 9, 1), date(2027, 8, 31))
YEAR2 = ("Year 2 — California", date(2026, 9, 1), date(2028, 8, 31))
LIBRARY_FIELDS = (
    "name",
    "short_name",
    "city",
    "county",
    "cooperative_system",
    "governance",
    "service_population",
    "website",
)


def _get_or_create(model, key: dict, values: dict):
    obj = db.session.scalar(sa.select(model).filter_by(**key))
    if obj is None:
        obj = records.create(model, {**key, **values}, actor=None)
    return obj


def _library(entry: dict) -> Library:
    values = {field: entry[field] for field in LIBRARY_FIELDS if field != "name"}
    values["ils_name"] = entry.get("ils", "")
    return _get_or_create(Library, {"name": entry["name"]}, values)


def _cohort(name: str, start: date, end: date, entries: list[dict]) -> Cohort:
    cohort = _get_or_create(Cohort, {"name": name}, {"start_date": start, "end_date": end})
    for entry in entries:
        library = _library(entry)
        _get_or_create(
            Participation,
            {"library_id": library.id, "cohort_id": cohort.id},
            {"role": ParticipationRole(entry["role"]), "start_date": start},
        )
    return cohort


def _person(email: str, name: str, role: Role, library: Library | None) -> User:
    return _get_or_create(
        User,
        {"email": email},
        {
            "name": name,
            "role": role,
            "library_id": library.id if library else None,
            "password_hash": hash_password(DEMO_PASSWORD),
        },
    )


def _pair_year1(cohort: Cohort, pilot_name: str, mentor_name: str) -> None:
    """Year 1 has been running for months: its pairings are active. The demo pilot gets
    the demo mentor; the rest come from the whole-cohort assignment."""
    if pairing.open_pairings(cohort.id):
        return
    by_name = {p.library.name: p for p in cohort.participations}
    pairing.propose(by_name[pilot_name], by_name[mentor_name], actor=None)
    pairing.propose_whole_cohort(cohort.id, actor=None)
    pairing.publish(cohort.id, cohort.start_date, actor=None)


def seed_demo() -> dict[str, int]:
    """Load the demo cohorts, libraries, districts and accounts; returns row counts."""
    year1 = _cohort(*YEAR1, demo_data.YEAR1_LIBRARIES)
    _cohort(*YEAR2, demo_data.YEAR2_LIBRARIES)
    for entry in demo_data.SCHOOL_DISTRICTS:
        _get_or_create(
            SchoolDistrict,
            {"name": entry["name"], "county": entry["county"]},
            {
                "state_code": entry.get("state_code"),
                "students_enrolled": entry.get("students_enrolled"),
                "enrolment_school_year": entry.get("school_year", ""),
            },
        )
    pilots = [e for e in demo_data.YEAR1_LIBRARIES if e["role"] == "pilot"]
    mentor = next(e for e in demo_data.YEAR1_LIBRARIES if e["role"] == "mentor")
    by_name = {lib.name: lib for lib in db.session.scalars(sa.select(Library))}
    _person("staff@demo.test", "Dana Whitfield", Role.STAFF, None)
    _person("state@demo.test", "Marcus Ortega", Role.STATE, None)
    _person("pilot@demo.test", "Priya Raman", Role.PILOT, by_name[pilots[0]["name"]])
    _person("pilot2@demo.test", "Luis Carrillo", Role.PILOT, by_name[pilots[1]["name"]])
    _person("mentor@demo.test", "Grace Lin", Role.MENTOR, by_name[mentor["name"]])
    db.session.flush()
    db.session.expire(year1, ["participations"])
    _pair_year1(year1, pilots[0]["name"], mentor["name"])
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Library, SchoolDistrict, Cohort, Participation, User, Pairing)
    }


DEMO_LOGINS = [
    ("staff@demo.test", "program staff"),
    ("state@demo.test", "state education official"),
    ("pilot@demo.test", "pilot librarian"),
    ("pilot2@demo.test", "pilot librarian at another library"),
    ("mentor@demo.test", "mentor librarian"),
]
