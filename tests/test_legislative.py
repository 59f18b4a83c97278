"""The four figures of Ed Code §19343, worked out by hand, and small counts kept private.

The scenario (school year 2028–29):
- Salinas PL (Monterey) partners with Salinas City Elementary (a district; it chose only
  Sherwood Elementary, not Roosevelt), with the Monterey County Office of Education (all
  its schools: Rancho Cielo and Natividad, which sent no report) and with Aspire Charter
  (a charter school that is its own LEA).
- San Benito County Free Library (in San Benito County) partners with Aromas-San Juan
  Unified; its Aromas School is in Monterey County: a school whose local library is in
  another county.
- Marin has two schools with no partnership: the coverage gap.

Grade-3 rows in 2028–29:
  Sherwood (Salinas PL):  Aug–Dec 40 new cards (30 + 10), 45 with cards;
                           Jan–Jun 8 new, 52 with cards   → 48 obtained, 52 with access
  Rancho Cielo (county office): 7 new, 9 with cards
  Aspire (charter):        20 new, 25 with cards
  Aromas (San Benito CFL): 15 new, 30 with cards
Not counted: Sherwood's grade 3 of 2027–28 (100 new) and its grade 4 (50 new).
  Salinas PL: obtained 48 + 7 + 20 = 75, with access 52 + 9 + 25 = 86
  San Benito CFL: obtained 15, with access 30; statewide 90 and 116.
Summer readers (summer 2029): Salinas PL grade 3: 12, grade 4: 9 → 21; San Benito 7 → 28.
E-resource sessions: Salinas PL 1,000 → 1,500 (+500, +50.0%); San Benito 200 → 150 (−50);
statewide, libraries reporting both years: 1,200 → 1,650 (+450). Salinas PL's checkouts
(300, no year before) have no increase.
"""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest

from mentorship import create_app
from mentorship.extensions import db
from mentorship.models import LeaKind, ResourceKind, ResourceUse, SummerReaders
from mentorship.models.school import PartnershipSchool
from mentorship.services import legislative, suppression
from mentorship.services.figures import coverage_gap_by_county, legislative_figures
from mentorship.services.legislative import legislative_report
from mentorship.services.rollup.years import SchoolYear
from mentorship.services.suppression import HIDDEN, SMALL
from tests.conftest import Browserless
from tests.helpers import (
    PASSWORD,
    make_district,
    make_grade_report,
    make_library,
    make_partnership,
    make_school,
    make_user,
)

YEAR = SchoolYear(2028)


@pytest.fixture
def program(ctx):
    salinas = make_library("Salinas Public Library", county="Monterey")
    benito = make_library("San Benito County Free Library", county="San Benito")
    marin = make_library("Marin County Free Library", county="Marin")
    district = make_district("Salinas City Elementary", county="Monterey")
    office = make_district(
        "Monterey County Office of Education", county="Monterey", kind=LeaKind.COUNTY_OFFICE
    )
    charter = make_district("Aspire Charter", county="Monterey", kind=LeaKind.CHARTER)
    aromas_usd = make_district("Aromas-San Juan Unified", county="San Benito")
    marin_usd = make_district("Shoreline Unified", county="Marin")

    sherwood = make_school(district, "Sherwood Elementary", local_library=salinas)
    make_school(district, "Roosevelt Elementary", local_library=salinas, third_graders=55)
    rancho = make_school(office, "Rancho Cielo", low_grade=3, high_grade=8, local_library=salinas)
    make_school(office, "Natividad", low_grade=1, high_grade=8, local_library=salinas)
    aspire = make_school(charter, "Aspire Charter School", low_grade=0, high_grade=5,
                         local_library=salinas, charter=True)  # fmt: skip
    aromas = make_school(aromas_usd, "Aromas School", county="Monterey", local_library=benito)
    make_school(marin_usd, "Tomales Elementary", local_library=marin, third_graders=40)
    make_school(marin_usd, "Bodega Bay School", third_graders=5)  # no library named yet

    with_district = make_partnership(salinas, district)
    db.session.add(PartnershipSchool(partnership_id=with_district.id, school_id=sherwood.id))
    with_office = make_partnership(salinas, office)
    with_charter = make_partnership(salinas, charter)
    with_aromas = make_partnership(benito, aromas_usd)

    make_grade_report(with_district, sherwood, date(2028, 8, 1), date(2028, 12, 31),
                      enrolled=60, physical=30, digital=10, with_cards=45)  # fmt: skip
    make_grade_report(with_district, sherwood, date(2029, 1, 1), date(2029, 6, 30),
                      enrolled=62, physical=8, with_cards=52)  # fmt: skip
    make_grade_report(with_district, sherwood, date(2028, 1, 1), date(2028, 6, 30),
                      enrolled=58, physical=100, with_cards=40)  # 2027–28: not counted  # fmt: skip
    make_grade_report(with_district, sherwood, date(2028, 8, 1), date(2028, 12, 31), grade=4,
                      enrolled=70, physical=50, with_cards=60)  # grade 4: not counted  # fmt: skip
    make_grade_report(with_office, rancho, date(2028, 9, 1), date(2029, 6, 30),
                      enrolled=12, physical=7, with_cards=9)  # fmt: skip
    make_grade_report(with_charter, aspire, date(2028, 7, 1), date(2029, 6, 30),
                      enrolled=30, digital=20, with_cards=25)  # fmt: skip
    make_grade_report(with_aromas, aromas, date(2028, 9, 1), date(2029, 5, 31),
                      enrolled=33, physical=15, with_cards=30)  # fmt: skip

    db.session.add_all(
        [
            SummerReaders(library_id=salinas.id, school_year=2028, grade=3, new_readers=12),
            SummerReaders(library_id=salinas.id, school_year=2028, grade=4, new_readers=9),
            SummerReaders(library_id=benito.id, school_year=2028, grade=None, new_readers=7),
            SummerReaders(library_id=salinas.id, school_year=2027, grade=3, new_readers=99),
            ResourceUse(
                library_id=salinas.id, school_year=2027, kind=ResourceKind.E_RESOURCES, uses=1000
            ),  # fmt: skip
            ResourceUse(
                library_id=salinas.id, school_year=2028, kind=ResourceKind.E_RESOURCES, uses=1500
            ),  # fmt: skip
            ResourceUse(
                library_id=salinas.id, school_year=2028, kind=ResourceKind.CHECKOUTS, uses=300
            ),  # fmt: skip
            ResourceUse(
                library_id=benito.id, school_year=2027, kind=ResourceKind.E_RESOURCES, uses=200
            ),  # fmt: skip
            ResourceUse(
                library_id=benito.id, school_year=2028, kind=ResourceKind.E_RESOURCES, uses=150
            ),  # fmt: skip
        ]
    )
    db.session.commit()
    return {"salinas": salinas, "benito": benito, "marin": marin}


def test_the_four_figures_per_library_worked_out_by_hand(program):
    rows = {row.name: row for row in legislative_figures(YEAR)}
    salinas = rows["Salinas Public Library"]
    benito = rows["San Benito County Free Library"]
    assert (salinas.obtained_card, salinas.with_access, salinas.summer_readers) == (75, 86, 21)
    assert (benito.obtained_card, benito.with_access, benito.summer_readers) == (15, 30, 7)
    # Natividad (county office, grades 1–8) is covered and sent no grade-3 row.
    assert (salinas.reports, salinas.schools_reporting, salinas.schools_without_report) == (4, 3, 1)
    assert salinas.increase(ResourceKind.E_RESOURCES) == 500
    assert salinas.increase(ResourceKind.CHECKOUTS) is None
    assert benito.increase(ResourceKind.E_RESOURCES) == -50
    # The Marin library has no partnership and no figure: it is not in the report.
    assert "Marin County Free Library" not in rows


def test_the_statewide_report_adds_up_and_the_other_county_school_counts_for_its_library(
    program,
):
    report = legislative_report(YEAR, suppressed=False)
    total = report.total
    assert [total.cells[n].value for n in ("obtained_card", "with_access", "summer_readers")] == [
        90,
        116,
        28,
    ]
    e_resources = total.resources[ResourceKind.E_RESOURCES]
    assert (e_resources.year_before, e_resources.this_year, e_resources.increase) == (
        1200,
        1650,
        450,
    )
    assert report.libraries[0].resources[ResourceKind.E_RESOURCES].percent == 50.0
    # Aromas School is in Monterey, its library in San Benito: it counts for San Benito.
    benito = legislative_report(YEAR, county="San Benito", suppressed=False)
    assert [row.label for row in benito.libraries] == ["San Benito County Free Library"]
    assert benito.total.cells["obtained_card"].value == 15


def test_small_counts_are_hidden_with_their_complementary_cells(program):
    report = legislative_report(YEAR)
    summer = {row.label: str(row.cells["summer_readers"]) for row in report.libraries}
    counties = {row.label: str(row.cells["summer_readers"]) for row in report.counties}
    # San Benito's 7 is small, and so is its county's total (7); then one county beside
    # it (Monterey, 21) goes, so the statewide 28 gives nothing away; then Salinas PL,
    # Monterey's only library, which equals its county's total.
    assert summer == {"Salinas Public Library": HIDDEN, "San Benito County Free Library": SMALL}
    assert counties == {"Monterey County": HIDDEN, "San Benito County": SMALL}
    assert str(report.total.cells["summer_readers"]) == "28"
    assert report.libraries[0].cells["obtained_card"].value == 75  # large counts shown


def test_suppression_never_leaves_a_single_hidden_cell_in_a_sum():
    values = {"a": 3, "b": 0, "c": 250, "d": 40, "total": 293}
    cells = suppression.suppress(values, [("total", ["a", "b", "c", "d"])])
    assert [str(cells[k]) for k in ("a", "b", "c", "d", "total")] == [
        SMALL,
        "0",
        "250",
        HIDDEN,
        "293",
    ]
    alone = suppression.suppress({"a": 4, "total": 4}, [("total", ["a"])])
    assert (str(alone["a"]), str(alone["total"])) == (SMALL, SMALL)


def test_the_coverage_gap_by_county(program):
    gap = {county: rest for county, *rest in coverage_gap_by_county()}
    # Monterey: six schools with a third grade; Roosevelt (not chosen by its district's
    # partnership) is the gap, with 55 third-graders. Marin: both schools, 40 + 5.
    assert gap == {"Marin": [2, 2, 45], "Monterey": [6, 1, 55]}


def _login(client, email):
    client.post("/login", data={"email": email, "password": PASSWORD,
                                "csrf_token": client.token()})  # fmt: skip


def _hidden(value: str) -> bool:
    return value in (SMALL, HIDDEN)


def test_no_suppressed_value_can_be_worked_out_from_the_page_or_the_csv(app, program):
    state = make_user("state", email="state@ca.gov")
    client = Browserless(app.test_client())
    _login(client, state.email)
    rows = list(csv.DictReader(io.StringIO(
        client.get(f"/legislative-report.csv?year={YEAR.key}").get_data(as_text=True))))  # fmt: skip
    page = client.get(f"/legislative-report?year={YEAR.key}").get_data(as_text=True)
    assert "10 or fewer" in page and "complementary" in page.lower()
    for figure in ("Third-graders who obtained a card", "New summer readers",
                   "Third-graders with library access through the partnerships"):  # fmt: skip
        libraries = [r for r in rows if r["Row"] == "library"]
        counties = [r for r in rows if r["Row"] == "county"]
        state_row = next(r for r in rows if r["Row"] == "state")
        groups = [[state_row[figure], *(c[figure] for c in counties)]]
        for county in counties:
            groups.append(
                [county[figure], *(r[figure] for r in libraries if r["County"] == county["County"])]
            )
        for group in groups:
            assert sum(_hidden(v) for v in group) != 1, (figure, group)
        for row in libraries:  # what is shown on the page is what the CSV shows
            assert row[figure] in page
    summer = {r["Name"]: r["New summer readers"] for r in rows}
    assert summer["San Benito County Free Library"] == SMALL


def test_the_state_official_filters_a_county_and_opens_the_coverage_gap(app, program):
    state = make_user("state", email="state@ca.gov")
    client = Browserless(app.test_client())
    _login(client, state.email)
    page = client.get(f"/legislative-report?year={YEAR.key}&county=San+Benito")
    text = page.get_data(as_text=True)
    assert "San Benito County Free Library" in text and "Salinas Public Library" not in text
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/legislative-report.csv?year={YEAR.key}&county=San+Benito").get_data(as_text=True))))  # fmt: skip
    assert [(r["Row"], r["Name"], r["Third-graders who obtained a card"]) for r in rows] == [
        ("county", "San Benito County", "15"),
        ("library", "San Benito County Free Library", "15"),
    ]
    printed = client.get(f"/legislative-report?year={YEAR.key}&print=1").get_data(as_text=True)
    assert "Download the report as CSV" not in printed and "Method" in printed
    gap = client.get("/coverage-gap?county=Marin").get_data(as_text=True)
    assert "Tomales Elementary" in gap and "none named yet" in gap
    assert "Roosevelt Elementary" not in gap  # Monterey's
    assert 'class="county-map-svg"' in gap
    gap_csv = client.get("/coverage-gap?format=csv").get_data(as_text=True)
    assert "Marin,2,2,45" in gap_csv


def test_the_report_is_for_state_officials_and_staff_only(app, program):
    pilot = make_user("pilot", library=program["salinas"], email="pilot@salinas.org")
    client = Browserless(app.test_client())
    _login(client, pilot.email)
    assert client.get("/legislative-report").status_code == 403
    assert client.get("/coverage-gap").status_code == 403


def test_the_pages_run_a_fixed_number_of_statements(app, program):
    from tests.helpers import count_statements

    state = make_user("state", email="state@ca.gov")
    client = Browserless(app.test_client())
    _login(client, state.email)
    for url in (f"/legislative-report?year={YEAR.key}", "/coverage-gap"):
        with count_statements(app) as statements:
            assert client.get(url).status_code == 200
        assert len(statements) <= 12, (url, len(statements))


def test_the_api_answers_the_report_as_documented_and_suppressed(app, program):
    from tests.test_api import Api, issue

    api = Api(app, issue(make_user("state", email="data@ca.gov")))
    body = api.get(f"/api/v1/legislative-report?year={YEAR.key}").get_json()["data"]
    libraries = {row["name"]: row for row in body["libraries"]}
    assert libraries["San Benito County Free Library"]["summer_readers"] == SMALL
    assert libraries["Salinas Public Library"]["obtained_card"] == 75
    assert body["total"]["resource_use"]["e_resources"]["increase"] == 450
    assert "Third-graders who obtained a card" in body["method"]
    assert api.get("/api/v1/legislative-report?year=2028").status_code == 400


def test_the_readme_gives_the_method_as_the_page_does():
    from pathlib import Path

    from mentorship.services.figures import LEGISLATIVE_DEFINITIONS

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for term, text in LEGISLATIVE_DEFINITIONS.items():
        assert f"  - **{term}**: {text}" in readme, term


def test_the_cached_report_and_gap_read_back_as_they_were_computed(app, program):
    """With the figures cache on, what a worker reads back equals what it computed."""
    caching = create_app({**app.config, "ROLLUP_CACHE_SECONDS": 60, "ROLLUP_CACHE_URL": ""})
    with caching.app_context():
        fresh = (
            legislative_report(YEAR, None),
            coverage_gap_by_county(),
            list(db.session.scalars(legislative.coverage_gap_schools(None))),
        )
        for _ in range(2):  # the first call stores, the second reads back
            kept = (
                legislative.cached_report(YEAR, None),
                [tuple(row) for row in legislative.cached_gap_by_county()],
                legislative.cached_gap_school_ids(None),
            )
            assert kept == (fresh[0], [tuple(row) for row in fresh[1]], fresh[2])
        assert (
            kept[0].total.cells["obtained_card"].shown
            == fresh[0].total.cells["obtained_card"].shown
        )
