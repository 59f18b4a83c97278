"""The legislative report (Ed Code §19343) and the coverage gap, for state officials and
staff: page, CSV and print. What they show of a count of pupils is suppressed
(services.suppression) for everyone: these are what the State Librarian publishes."""

from __future__ import annotations

from flask import render_template, request

from ...access import LIST, Rollup, require
from ...models.library import CALIFORNIA_COUNTIES, california_county
from ...services import legislative as service
from ...services.county_map import build_county_map
from ...services.rollup.years import SchoolYear, school_years
from ...services.suppression import RULE, county_tree
from ...tables import Column, csv_response, paginate_rows
from ...templating import local_today
from . import bp

PER_PAGE = 50


def _year() -> SchoolYear:
    return SchoolYear.parse(request.args.get("year", "")) or SchoolYear.last_ended(local_today())


def _county() -> str | None:
    return california_county(request.args.get("county", "")) if request.args.get("county") else None


def _figure_columns(shown) -> list[Column]:
    """The four figures' columns; `shown` turns a Cell into what is written."""
    columns = [
        Column(label, lambda r, key=key: shown(r.cells[key]), numeric=True)
        for key, label in service.STUDENT_FIGURES.items()
    ]
    for kind in service.RESOURCE_KINDS:
        columns += [
            Column(f"{kind.value.capitalize()}, year before", lambda r, k=kind: r.resources[k].year_before, numeric=True),
            Column(f"{kind.value.capitalize()}, this year", lambda r, k=kind: r.resources[k].this_year, numeric=True),
            Column(f"Increase in {kind.value}", lambda r, k=kind: r.resources[k].increase, numeric=True),
        ]  # fmt: skip
    return [
        *columns,
        Column("Reports used", lambda r: r.reports, numeric=True),
        Column("Schools reporting", lambda r: r.schools_reporting, numeric=True),
        Column("Schools without a report", lambda r: r.schools_without_report, numeric=True),
    ]


def _page_columns(first: str) -> list[Column]:
    """The page's narrower table: the figures and each increase (the CSV has every count)."""
    every = _figure_columns(lambda cell: cell)
    keep = [c for c in every if not c.label.endswith(("year before", "this year"))]
    return [Column(first, lambda r: r.label), *keep]


PAGE_COLUMNS = _page_columns("Library")
COUNTY_COLUMNS = _page_columns("County")
CSV_COLUMNS = [
    Column("School year", lambda r: r[0]),
    Column("Row", lambda r: r[1]),
    Column("County", lambda r: r[2].county),
    Column("Name", lambda r: r[2].label),
    *(
        Column(c.label, lambda r, c=c: c.value(r[2]))
        for c in _figure_columns(lambda cell: cell.shown)
    ),
]


@bp.get("/legislative-report")
@require(LIST, Rollup)
def report():
    year, county = _year(), _county()
    published = service.cached_report(year, county)
    page = max(request.args.get("page", 1, type=int), 1)
    printing = request.args.get("print") == "1"
    libraries = published.libraries
    shown = libraries if printing else libraries[(page - 1) * PER_PAGE : page * PER_PAGE]
    return render_template(
        "legislative/report.html",
        report=published,
        years=school_years(local_today(), back=8),
        counties=CALIFORNIA_COUNTIES,
        libraries=shown,
        library_count=len(libraries),
        page_number=page,
        per_page=PER_PAGE,
        columns=PAGE_COLUMNS,
        county_columns=COUNTY_COLUMNS,
        printing=printing,
    )


@bp.get("/legislative-report.csv")
@require(LIST, Rollup)
def report_csv():
    year, county = _year(), _county()
    published = service.cached_report(year, county)
    rows = [(year.key, "county" if county else "state", published.total)]
    rows += [(year.key, "county", row) for row in published.counties]
    rows += [(year.key, "library", row) for row in published.libraries]
    name = f"legislative-report-{year.key}" + (
        f"-{county.lower().replace(' ', '-')}" if county else ""
    )
    return csv_response(name, CSV_COLUMNS, rows)


GAP_COLUMNS = [
    Column("County", lambda r: r[0]),
    Column("Schools with a third grade", lambda r: r[1], numeric=True),
    Column("Schools in the gap", lambda r: r[2], numeric=True),
    Column("Their third-graders", lambda r: r[3], numeric=True),
]


def _gap_rows():
    counties = service.cached_gap_by_county()
    cells = county_tree({county: (county, third) for county, _, _, third in counties})
    return [(county, schools, gap, cells[county]) for county, schools, gap, _ in counties], cells


@bp.get("/coverage-gap")
@require(LIST, Rollup)
def coverage_gap():
    rows, cells = _gap_rows()
    if request.args.get("format") == "csv":
        csv_rows = [(c, s, g, t.shown) for c, s, g, t in rows]
        return csv_response("coverage-gap", GAP_COLUMNS, csv_rows)
    county = _county()
    ids = service.cached_gap_school_ids(county)
    schools = paginate_rows(
        lambda offset, limit: service.schools_by_id(ids[offset : offset + limit]),
        len(ids),
        PER_PAGE,
    )
    covered_share = {c: (s - g) / s if s else None for c, s, g, _ in rows}
    return render_template(
        "legislative/coverage_gap.html",
        rows=rows,
        columns=GAP_COLUMNS,
        state_total=cells.get(("state",)),
        schools=schools,
        county=county,
        counties=CALIFORNIA_COUNTIES,
        county_map=build_county_map(
            covered_share, [], words="of its schools with a third grade are covered"
        ),
        rule=RULE,
    )
