"""The public directories in their own formats: the CDE public school directory export
(LEAs of every kind and their schools) and the PLS administrative-entity file."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import Identifier, IdentifierSystem, LeaKind, Library, School, SchoolDistrict
from mentorship.services import importing
from mentorship.services.identifiers import problem

SAMPLES = Path(__file__).resolve().parent.parent / "mentorship" / "data" / "samples"


def _import(kind: str, name: str):
    plan = importing.plan_import(kind, (SAMPLES / name).read_text(encoding="utf-8"))
    assert not plan.has_errors, plan.errors
    importing.apply_import(plan, actor=None)
    db.session.commit()
    return plan


def test_the_cde_directory_brings_every_kind_of_lea_and_their_schools(ctx):
    plan = _import("cde-schools", "cde-public-schools.txt")
    assert plan.counts["create"] == 9
    assert plan.skipped == ["line 11: Closed, not imported"]
    leas = {lea.name: lea.kind for lea in db.session.scalars(sa.select(SchoolDistrict))}
    assert leas == {
        "Monterey County Office of Education": LeaKind.COUNTY_OFFICE,
        "Salinas City Elementary": LeaKind.DISTRICT,
        "Aromas-San Juan Unified": LeaKind.DISTRICT,
        "Aspire Salinas Charter": LeaKind.CHARTER,  # directly funded: its own LEA
    }
    schools = {s.name: s for s in db.session.scalars(sa.select(School))}
    assert schools["Monterey Bay Charter"].lea.name == "Salinas City Elementary"  # locally funded
    assert schools["Monterey Bay Charter"].charter
    assert schools["Aspire Salinas Charter"].lea.kind == LeaKind.CHARTER
    assert schools["Rancho Cielo"].grade_span == "3–12"
    assert schools["Roosevelt Elementary"].grade_span == "K–6"  # GSserved, not GSoffered
    codes = {(i.system, i.value) for i in db.session.scalars(sa.select(Identifier))}
    assert (IdentifierSystem.CDS, "2766142") in codes
    assert (IdentifierSystem.CDS, "27661426026181") in codes
    assert (IdentifierSystem.NCES_SCHOOL, "063462005671") in codes
    # The same file again changes nothing.
    again = importing.plan_import("cde-schools", (SAMPLES / "cde-public-schools.txt").read_text())
    assert again.counts["unchanged"] == 9 and again.counts["create"] == 0


def test_a_bad_directory_row_names_its_line_and_column(ctx):
    text = (SAMPLES / "cde-public-schools.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    lines[4] = lines[4].replace("27661426026181", "2766142602618")  # 13 digits
    lines[5] = lines[5].replace("Monterey", "Montery", 1)
    plan = importing.plan_import("cde-schools", "\n".join(lines))
    assert plan.has_errors
    assert any(
        e.startswith("line 5, cdscode: '2766142602618' is not a CDS code") for e in plan.errors
    )
    assert "line 6, county: 'Montery' is not a California county" in plan.errors


def test_the_pls_file_brings_california_libraries_with_their_survey_ids(ctx):
    plan = _import("pls-libraries", "pls-administrative-entities.csv")
    assert plan.skipped == ["line 6: NV, not California"]
    libraries = {lib.name: lib for lib in db.session.scalars(sa.select(Library))}
    assert set(libraries) == {
        "Salinas Public Library",
        "San Benito County Free Library",
        "Monterey County Free Libraries",
        "Marin County Free Library",
    }
    salinas = libraries["Salinas Public Library"]
    assert (salinas.county, salinas.governance.value, salinas.service_population) == (
        "Monterey",
        "city",
        163542,
    )
    codes = {(i.system, i.value) for i in db.session.scalars(sa.select(Identifier))}
    assert {(IdentifierSystem.FSCSKEY, "CA0096"), (IdentifierSystem.LIBID, "M0094")} <= codes


def test_identifier_formats():
    assert problem(IdentifierSystem.CDS, "school", "27661426026181") is None
    assert problem(IdentifierSystem.CDS, "lea", "2766142") is None
    assert "7 digits" in problem(IdentifierSystem.CDS, "lea", "27661426026181")
    assert "no California county" in problem(IdentifierSystem.CDS, "lea", "9966142")
    assert problem(IdentifierSystem.NCES_LEA, "lea", "0634620") is None
    assert "12 digits" in problem(IdentifierSystem.NCES_SCHOOL, "school", "06346205671")
    assert problem(IdentifierSystem.FSCSKEY, "library", "CA0096") is None
    assert "two letters" in problem(IdentifierSystem.FSCSKEY, "library", "C0096")
    assert "does not identify" in problem(IdentifierSystem.FSCSKEY, "school", "CA0096")
