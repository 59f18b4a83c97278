"""Identifiers of LEAs, schools and libraries: (system, value) pairs, each format checked.

- CDS (California): 14 digits for a school; the 7-digit county-district code for an LEA.
  The first two digits are the county's number (01 Alameda … 58 Yuba).
- NCES LEA id: 7 digits; NCES school id: 12 digits (the LEA's 7, then 5).
- FSCSKEY (Public Libraries Survey): a state's two letters and 4 digits, e.g. CA0048.
- LIBID (Public Libraries Survey): the state's own id, 1–20 letters, digits or hyphens.

A charter school that is its own LEA carries its CDS code on its school (14 digits); its
LEA record keeps its NCES LEA id when it has one.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from ..extensions import db
from ..models import Identifier, IdentifierSystem, Library, School, SchoolDistrict
from ..models.library import CALIFORNIA_COUNTIES
from .errors import Conflict, ValidationError

FORMATS = {
    (IdentifierSystem.CDS, "lea"): (r"\d{7}", "7 digits (county and district)"),
    (IdentifierSystem.CDS, "school"): (r"\d{14}", "14 digits (county, district, school)"),
    (IdentifierSystem.NCES_LEA, "lea"): (r"\d{7}", "7 digits"),
    (IdentifierSystem.NCES_SCHOOL, "school"): (r"\d{12}", "12 digits"),
    (IdentifierSystem.FSCSKEY, "library"): (r"[A-Z]{2}\d{4}", "two letters and 4 digits, like CA0048"),
    (IdentifierSystem.LIBID, "library"): (r"[A-Z0-9][A-Z0-9-]{0,19}", "1–20 letters, digits or hyphens"),
}  # fmt: skip
OWNERS = {SchoolDistrict: "lea", School: "school", Library: "library"}
OWNER_WORDS = {"lea": "an LEA", "school": "a school", "library": "a library"}


def normalise(system: IdentifierSystem, value: str) -> str:
    """The stored spelling: CDS and NCES codes without spaces or hyphens; PLS ids upper case."""
    value = value.strip().upper()
    if system in (IdentifierSystem.CDS, IdentifierSystem.NCES_LEA, IdentifierSystem.NCES_SCHOOL):
        value = re.sub(r"[\s-]", "", value)
    return value


def problem(system: IdentifierSystem, owner: str, value: str) -> str | None:
    """Why `value` is not a `system` id of an `owner` ("lea", "school", "library"), or None."""
    spec = FORMATS.get((system, owner))
    if spec is None:
        return f"{system.value} does not identify {OWNER_WORDS[owner]}"
    pattern, words = spec
    if not re.fullmatch(pattern, value):
        return f"'{value[:40]}' is not a {system.value} code of {OWNER_WORDS[owner]}: {words}"
    if system == IdentifierSystem.CDS and not 1 <= int(value[:2]) <= len(CALIFORNIA_COUNTIES):
        return f"'{value}' is not a CDS code: its first two digits name no California county"
    return None


def cds_county(code: str) -> str | None:
    """The county a CDS code belongs to."""
    number = int(code[:2]) if code[:2].isdigit() else 0
    return CALIFORNIA_COUNTIES[number - 1] if 1 <= number <= len(CALIFORNIA_COUNTIES) else None


def set_identifier(record, system: IdentifierSystem, raw: str) -> Identifier:
    """Record (system, value) for an LEA, school or library (flushed, not committed);
    a record has at most one value per system, and a value names one record."""
    owner = OWNERS[type(record)]
    value = normalise(system, raw)
    if reason := problem(system, owner, value):
        raise ValidationError(reason, "value")
    column = getattr(Identifier, f"{owner}_id")
    taken = db.session.scalar(
        sa.select(Identifier).where(Identifier.system == system, Identifier.value == value)
    )
    if taken is not None and getattr(taken, column.key) != record.id:
        raise Conflict(f"{system.value} {value} already names another record.", "value")
    mine = db.session.scalar(
        sa.select(Identifier).where(Identifier.system == system, column == record.id)
    )
    if mine is None:
        mine = Identifier(system=system, value=value, **{column.key: record.id})
        db.session.add(mine)
    mine.value = value
    db.session.flush()
    return mine


def find(system: IdentifierSystem, value: str) -> Identifier | None:
    return db.session.scalar(
        sa.select(Identifier).where(
            Identifier.system == system, Identifier.value == normalise(system, value)
        )
    )
