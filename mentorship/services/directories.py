"""Imports of the public directories in their own formats, with the CSV import's rules
(services.importing: preview, confirm, all or nothing, errors by line and column).

- The CDE public school directory export (tab-separated, its column names): a row whose
  CDS code ends in 0000000 is an LEA (a county office of education when its DOC is 00,
  else a school district); any other row is a school of the LEA with its first 7 digits,
  except a directly funded charter school, which is its own LEA (kind charter school).
  Only Active rows are imported; the others are listed as skipped. Administrators' names
  and contacts in the file are not read.
- The Public Libraries Survey administrative-entity file: California's rows (STABR CA)
  become libraries, matched by FSCSKEY, else by name; a library on record keeps its name
  and details, and gets its identifiers and service population.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    Governance,
    Identifier,
    IdentifierSystem,
    LeaKind,
    Library,
    School,
    SchoolDistrict,
    User,
)
from ..models.library import california_county
from . import records
from .identifiers import normalise, problem, set_identifier
from .importing import (
    CREATE,
    UNCHANGED,
    UPDATE,
    ImportKind,
    ImportPlan,
    ImportResult,
    _Row,
    _shown,
    read_table,
)

GRADE_WORDS = {"P": -1, "TK": -1, "K": 0}
LEGAL_BASIS = {
    "CI": Governance.CITY,
    "CO": Governance.COUNTY,
    "CC": Governance.COUNTY,
    "LD": Governance.SPECIAL_DISTRICT,
    "MJ": Governance.JOINT_POWERS,
}


def _grade_span(text: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"\s*(P|TK|K|\d{1,2})\s*-\s*(P|TK|K|\d{1,2})\s*", text.upper())
    if not match:
        return None
    low, high = (GRADE_WORDS.get(g) if not g.isdigit() else int(g) for g in match.groups())
    return (low, high) if -1 <= low <= high <= 12 else None


def _ids_of(kind: str) -> dict[tuple, int]:
    column = {"lea": Identifier.lea_id, "school": Identifier.school_id, "library": Identifier.library_id}[kind]  # fmt: skip
    rows = db.session.execute(
        sa.select(Identifier.system, Identifier.value, column).where(column.is_not(None))
    )
    return {(system, value): owner for system, value, owner in rows}


def _text(text: str) -> str:
    return "" if text.strip() in ("", "No Data") else text.strip()


def plan_directory(spec: ImportKind, text: str) -> ImportPlan:
    plan = ImportPlan(kind=spec.name)
    table = read_table(spec, text, plan)
    if table is None:
        return plan
    header, data = table
    rows = [_Row(line, header, cells) for line, cells in data]
    (_plan_cde if spec.name == "cde-schools" else _plan_pls)(plan, rows)
    return plan


def _changes(record, values: dict[str, Any]) -> dict[str, list]:
    return {k: [getattr(record, k), v] for k, v in values.items() if getattr(record, k) != v}


def _settle(plan: ImportPlan, row: _Row, record, values, identifiers, kind: str) -> None:
    planned = row.planned
    planned.values = {"kind": kind, "fields": values, "identifiers": identifiers}
    if planned.errors:
        plan.rows.append(planned)
        return
    planned.record = record
    planned.changes = _changes(record, values) if record is not None else {}
    planned.outcome = CREATE if record is None else UPDATE if planned.changes else UNCHANGED
    plan.rows.append(planned)


def _code(row: _Row, column: str, system: IdentifierSystem, owner: str) -> str | None:
    raw = _text(row.cells.get(column, ""))
    if not raw:
        return None
    value = normalise(system, raw)
    if reason := problem(system, owner, value):
        row.error(column, reason)
        return None
    return value


def _plan_cde(plan: ImportPlan, rows: list[_Row]) -> None:
    lea_ids, school_ids = _ids_of("lea"), _ids_of("school")
    leas = {lea.id: lea for lea in db.session.scalars(sa.select(SchoolDistrict))}
    by_place = {(lea.name.lower(), lea.county): lea for lea in leas.values()}
    schools = {s.id: s for s in db.session.scalars(sa.select(School))}
    in_file: dict[str, int] = {}  # 7-digit LEA code -> line of its row
    seen: dict[str, int] = {}
    for row in rows:
        status = row.cells.get("statustype", "")
        if status.lower() != "active":
            plan.skipped.append(f"line {row.planned.line}: {status or 'no status'}, not imported")
            continue
        cds = _code(row, "cdscode", IdentifierSystem.CDS, "school")
        county_name = row.cells.get("county", "")
        county = california_county(county_name)
        if county is None:
            row.error("county", f"'{_shown(county_name)}' is not a California county")
        if cds in seen:
            row.error("cdscode", f"'{cds}' is already on line {seen[cds]}")
        if cds:
            seen.setdefault(cds, row.planned.line)
        nces_lea = _code(row, "ncesdist", IdentifierSystem.NCES_LEA, "lea")
        if cds and cds.endswith("0000000"):
            name = row.text("district", 200, required=True)
            kind = LeaKind.COUNTY_OFFICE if row.cells.get("doc") == "00" else LeaKind.DISTRICT
            values = {"name": name, "county": county or "", "kind": kind}
            ids = {IdentifierSystem.CDS: cds[:7]}
            if nces_lea:
                ids[IdentifierSystem.NCES_LEA] = nces_lea
            record = leas.get(lea_ids.get((IdentifierSystem.CDS, cds[:7]))) or by_place.get(
                (name.lower(), county)
            )
            row.planned.label = f"{name} ({kind.value})"
            in_file.setdefault(cds[:7], row.planned.line)
            _settle(plan, row, record, values, ids, "lea")
            continue
        name = row.text("school", 200, required=True)
        span = _grade_span(row.cells.get("gsserved", "")) or _grade_span(row.cells.get("gsoffered", ""))  # fmt: skip
        if span is None:
            row.error("gsserved", f"'{_shown(row.cells.get('gsserved', ''))}' is not a grade span like K-6")  # fmt: skip
        charter = row.cells.get("charter", "").upper() == "Y"
        direct = charter and row.cells.get("fundingtype", "").lower() == "directly funded"
        lea_key: Any = None
        if direct:
            lea_key = ("charter", name, county, nces_lea)
        elif cds:
            lea = leas.get(lea_ids.get((IdentifierSystem.CDS, cds[:7])))
            if lea is None and cds[:7] not in in_file:
                row.error("cdscode", f"no LEA with the county-district code {cds[:7]} is on record or earlier in the file")  # fmt: skip
            lea_key = lea.id if lea is not None else cds[:7]
        low, high = span or (0, 0)
        values = {"name": name, "county": county or "", "city": _text(row.cells.get("city", "")).title(),
                  "low_grade": low, "high_grade": high, "charter": charter}  # fmt: skip
        ids = {IdentifierSystem.CDS: cds}
        school_part = _text(row.cells.get("ncesschool", ""))
        if nces_lea and re.fullmatch(r"\d{5}", school_part):
            ids[IdentifierSystem.NCES_SCHOOL] = nces_lea + school_part
        record = schools.get(school_ids.get((IdentifierSystem.CDS, cds)))
        row.planned.label = f"{name} ({'charter school, its own LEA' if direct else 'school'})"
        _settle(plan, row, record, values, ids, "school")
        row.planned.values["lea"] = lea_key


def _plan_pls(plan: ImportPlan, rows: list[_Row]) -> None:
    ids_on_record = _ids_of("library")
    libraries = {lib.id: lib for lib in db.session.scalars(sa.select(Library))}
    by_name = {lib.name.lower(): lib for lib in libraries.values()}
    seen: dict[str, int] = {}
    for row in rows:
        state = row.cells.get("stabr", "").upper()
        if state != "CA":
            plan.skipped.append(f"line {row.planned.line}: {state or 'no state'}, not California")
            continue
        key = _code(row, "fscskey", IdentifierSystem.FSCSKEY, "library")
        if not key:
            row.error("fscskey", "is required")
        elif key in seen:
            row.error("fscskey", f"'{key}' is already on line {seen[key]}")
        else:
            seen[key] = row.planned.line
        libid = _code(row, "libid", IdentifierSystem.LIBID, "library")
        name = " ".join(w.capitalize() for w in row.text("libname", 200, required=True).split())
        county_name = row.cells.get("cnty", "")
        county = california_county(county_name)
        if county is None:
            row.error("cnty", f"'{_shown(county_name)}' is not a California county")
        basis = row.cells.get("c_legbas", "").upper()
        population = (
            row.whole_number("popu_lsa", 50_000_000, "people") if row.has("popu_lsa") else None
        )
        record = libraries.get(ids_on_record.get((IdentifierSystem.FSCSKEY, key))) or by_name.get(
            name.lower()
        )
        values: dict[str, Any] = {"service_population": population}
        if record is None:
            values.update(name=name, county=county or "", governance=LEGAL_BASIS.get(basis, Governance.OTHER),
                          city=_text(row.cells.get("city", "")).title())  # fmt: skip
        ids = {IdentifierSystem.FSCSKEY: key}
        if libid:
            ids[IdentifierSystem.LIBID] = libid
        row.planned.label = name
        _settle(plan, row, record, values, ids, "library")


def apply_directory(plan: ImportPlan, actor: User | None) -> ImportResult:
    """Store a plan without errors in the caller's transaction (the caller commits)."""
    result = ImportResult()
    made: dict[Any, SchoolDistrict] = {}  # LEA code (or charter key) -> LEA of this file
    for row in plan.rows:
        kind, values, ids = row.values["kind"], row.values["fields"], row.values["identifiers"]
        model = {"lea": SchoolDistrict, "school": School, "library": Library}[kind]
        if kind == "school":
            values = {**values, "lea_id": _lea_of(row.values["lea"], values, made, actor).id}
        record = row.record
        if row.outcome == CREATE:
            record = records.create(model, values, actor)
            result.created += 1
        elif row.outcome == UPDATE:
            records.update(record, values, actor)
            result.updated += 1
        else:
            result.unchanged += 1
        if kind == "lea":
            made[ids[IdentifierSystem.CDS]] = record
        for system, value in ids.items():
            set_identifier(record, system, value)
    return result


def _lea_of(key, school: dict, made: dict, actor: User | None) -> SchoolDistrict:
    if isinstance(key, int):
        return db.session.get(SchoolDistrict, key)
    if not isinstance(key, tuple):
        return made[key]
    _, name, county, nces_lea = key  # a directly funded charter: its own LEA
    lea = db.session.scalar(
        sa.select(SchoolDistrict).where(
            SchoolDistrict.name == name, SchoolDistrict.county == county
        )
    )
    if lea is None:
        lea = records.create(
            SchoolDistrict, {"name": name, "county": county, "kind": LeaKind.CHARTER}, actor
        )
        if nces_lea:
            set_identifier(lea, IdentifierSystem.NCES_LEA, nces_lea)
    return lea
