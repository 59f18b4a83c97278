"""The statewide rollup for state officials and staff: figures, drill-downs, CSV, annual report.

State officials see aggregates and library-level figures only: no notes, comments,
check-ins or people's contact details (the library's public contact is shown).
"""

from __future__ import annotations

from flask import abort, current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ...access import FIGURES, LIST, Rollup, get_or_404, require
from ...caching import annual_report_key, cohorts_key, remembered, rollup_html_key
from ...extensions import db
from ...models import Library
from ...services import rollup as service
from ...services.county_map import build_county_map
from ...services.figures import Figures, figures_by_library, percent_value
from ...services.risk import RiskSettings
from ...tables import (
    OUTCOME_REPORT_COLUMNS,
    Column,
    ListPage,
    csv_response,
    figure_columns,
    requested_page,
)
from ...templating import figures_as_of, local_today
from . import bp


def _rollup_url(**args) -> str:
    return url_for("rollup.index", **{key: value for key, value in args.items() if value})


def _coverage_columns(label: str, link=None) -> list[Column]:
    """Pilot libraries' figures in a group: the programme's cards and coverage."""
    return [
        Column(label, lambda c: c.key, link=link),
        Column("Partnerships", lambda c: c.partnerships, numeric=True),
        Column("Reporting figures", lambda c: c.reporting, numeric=True),
        Column("Students enrolled", lambda c: c.enrolled, numeric=True),
        Column("Cards since joining", lambda c: c.programme_cards, numeric=True),
        Column("Coverage %", lambda c: percent_value(c.programme_coverage), numeric=True),
        Column("Cards before joining (not counted)", lambda c: c.baseline_cards, numeric=True),
    ]


EXISTING_COLUMNS = [
    Column("Libraries", lambda c: c.key),
    Column("Partnerships", lambda c: c.partnerships, numeric=True),
    Column("Reporting figures", lambda c: c.reporting, numeric=True),
    Column("Students enrolled", lambda c: c.enrolled, numeric=True),
    Column("Cards to date", lambda c: c.cards, numeric=True),
    Column("Coverage %", lambda c: percent_value(c.coverage), numeric=True),
]


def _tables(figures: service.RollupFigures, cohort_ids: dict[str, int]) -> dict[str, tuple]:
    """Every table of the rollup page: name → (caption, columns, rows). Page and CSV share it."""
    args = figures.filter.args()

    def drill(**change):
        return lambda row: _rollup_url(**{**args, **{k: v(row) for k, v in change.items()}})

    coverage = figures.coverage
    return {
        "cohorts": (
            "Libraries per cohort and role",
            [
                Column("Cohort", lambda c: c.cohort, link=drill(cohort=lambda c: c.cohort_id)),
                Column("Pilots", lambda c: c.pilots, numeric=True),
                Column("Mentors", lambda c: c.mentors, numeric=True),
                Column("Sustaining", lambda c: c.sustaining, numeric=True),
                Column("Libraries", lambda c: c.libraries, numeric=True),
            ],
            figures.cohorts,
        ),
        "timeline": (
            "Pilots by time on the timeline",
            [
                Column("Time since the start", lambda r: r[0]),
                Column("Pilots", lambda r: r[1], numeric=True),
            ],
            figures.timeline,
        ),
        "risk": (
            "Pilots by status",
            [
                Column("Status", lambda r: r[0].label),
                Column("Pilots", lambda r: r[1], numeric=True),
            ],
            figures.risk,
        ),
        "stages": (
            "School-district partnerships by stage",
            [
                Column("Stage", lambda s: f"{s.position}. {s.stage}"),
                Column("Partnerships", lambda s: s.partnerships, numeric=True),
            ],
            figures.stages,
        ),
        "counties": (
            "Figures by county",
            [
                Column("County", lambda c: c.county, link=drill(county=lambda c: c.county)),
                Column("Pilot libraries", lambda c: c.pilots, numeric=True),
                Column("Mentor libraries", lambda c: c.mentors, numeric=True),
                Column("Partnerships", lambda c: c.partnerships, numeric=True),
                Column("Pilots' students enrolled", lambda c: c.enrolled, numeric=True),
                Column("Pilots' cards since joining", lambda c: c.programme_cards, numeric=True),
                Column("Pilots' coverage %", lambda c: percent_value(c.coverage), numeric=True),
            ],
            figures.counties,
        ),
        "coverage-existing": (
            "Mentor libraries, existing programmes",
            EXISTING_COLUMNS,
            [figures.existing] if figures.existing else [],
        ),
        "coverage-cohort": (
            "Pilots' students and cards by cohort",
            _coverage_columns("Cohort", drill(cohort=lambda c: cohort_ids.get(c.key))),
            coverage["cohort"],
        ),
        "coverage-system": (
            "Pilots' students and cards by cooperative system",
            _coverage_columns("Cooperative system", drill(system=lambda c: c.key)),
            coverage["system"],
        ),
        "coverage-card_model": (
            "Pilots' students and cards by card model",
            _coverage_columns("Card model"),
            coverage["card_model"],
        ),
        "coverage-enrolment": (
            "Pilots' students and cards by enrolment",
            _coverage_columns("Enrolment"),
            coverage["enrolment"],
        ),
        "coverage-fine_free": (
            "Pilots' students and cards by fine-free or not",
            _coverage_columns("Fine-free"),
            coverage["fine_free"],
        ),
        "quarters": (
            "Pilots' cards since joining, per quarter",
            [
                Column("Quarter", lambda q: q.label),
                Column("Cards issued", lambda q: q.cards, numeric=True),
                Column("Cards to date", lambda q: q.cards_to_date, numeric=True),
            ],
            figures.quarters,
        ),
    }


def _filter_args() -> dict[str, str]:
    """The rollup filter's own arguments from this request (links keep the view)."""
    return {
        key: request.args[key]
        for key in ("cohort", "county", "system", "year")
        if key in request.args
    }


def _filter_and_cohorts():
    """The filter from the URL (unknown values dropped, with a message) and the cohorts."""
    today = local_today()
    cohorts = remembered(cohorts_key(today), list[service.CohortChoice], service.active_cohorts)
    chosen, problems = service.parse_filter(request.args, {c.id for c in cohorts}, today)
    return chosen, cohorts, problems, today


def _figures(chosen: service.RollupFilter, today) -> service.RollupFigures:
    return service.rollup(chosen, today, RiskSettings.from_config(current_app.config))


def _render_figures(chosen: service.RollupFilter, cohorts, today) -> str:
    figures = _figures(chosen, today)
    county_map = build_county_map(
        {c.county: c.coverage for c in figures.counties},
        [
            (c.county, role, f"{n} {role} librar{'y' if n == 1 else 'ies'}")
            for c in figures.counties
            for role, n in (("pilot", c.pilots), ("mentor", c.mentors))
            if n
        ],
        marker_title="{county} County: {name}",
    )
    charts = {
        "cohorts": [(c.cohort, c.libraries) for c in figures.cohorts],
        "risk": [(level.label, n) for level, n in figures.risk],
        "stages": [(s.stage, s.partnerships) for s in figures.stages],
        "quarters": [(q.label, q.cards) for q in figures.quarters[-12:]],
        "fine_free": [(c.key, c.programme_cards) for c in figures.coverage["fine_free"]],
    }
    return render_template(
        "rollup/_figures.html",
        figures=figures,
        tables=_tables(figures, {c.name: c.id for c in cohorts}),
        charts=charts,
        county_map=county_map,
        county_urls={
            name: _rollup_url(**{**chosen.args(), "county": name})
            for name in service.CALIFORNIA_COUNTIES
        },
        as_of=figures_as_of(),  # drawn with the figures, so cached with them
    )


@bp.get("/")
@require(LIST, Rollup)
def index():
    chosen, cohorts, problems, today = _filter_and_cohorts()
    # Drawing the figures' tables, charts and map is most of a request's time (measured:
    # about 3/4 of a warm request on the California data), and the same for everyone
    # with this role and filter: the HTML is kept beside the figures, signed like them.
    figures_html = remembered(
        rollup_html_key(chosen, today, current_user.role),
        str,
        lambda: _render_figures(chosen, cohorts, today),
    )
    return render_template(
        "rollup/index.html",
        filter=chosen,
        figures_html=Markup(figures_html),
        cohorts=cohorts,
        problems=problems,
        years=service.school_years(today),
        counties=service.CALIFORNIA_COUNTIES,
        systems=service.COOPERATIVE_SYSTEMS,
    )


@bp.get("/<name>.csv")
@require(LIST, Rollup)
def table_csv(name: str):
    chosen, cohorts, _, today = _filter_and_cohorts()
    tables = _tables(_figures(chosen, today), {c.name: c.id for c in cohorts})
    if name not in tables:
        abort(404)
    _, columns, rows = tables[name]
    return csv_response(f"rollup-{name}", columns, rows)


# Drill-down: libraries in view, and one library ------------------------------------------

LIBRARY_COLUMNS = [
    Column(
        "Library",
        lambda r: r.name,
        link=lambda r: url_for("rollup.library", library_id=r.library_id, **_filter_args()),
    ),
    Column("County", lambda r: r.county),
    Column("Cooperative system", lambda r: r.system),
    Column("Places in cohorts", lambda r: r.roles),
    Column("Month (pilot)", lambda r: r.pilot.months if r.pilot else None, numeric=True),
    Column(
        "Steps done (pilot)",
        lambda r: f"{r.pilot.steps_done} of {r.pilot.steps_applicable}" if r.pilot else None,
    ),
    Column("Status (pilot)", lambda r: r.pilot.level.label if r.pilot else None),
    *figure_columns(lambda r: r.figures),
]


@bp.get("/libraries")
@require(LIST, Rollup)
def libraries():
    chosen, cohorts, problems, today = _filter_and_cohorts()
    cohorts = {c.id: c.name for c in cohorts}
    settings = RiskSettings.from_config(current_app.config)
    query = service.libraries_in_view(chosen)
    if request.args.get("format") == "csv":
        rows = service.library_figures(db.session.scalars(query).all(), chosen, today, settings)
        return csv_response("rollup-libraries", LIBRARY_COLUMNS, rows)
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"], error_out=False)
    return render_template(
        "rollup/libraries.html",
        filter=chosen,
        cohort_name=cohorts.get(chosen.cohort_id),
        problems=problems,
        page=page,
        rows=service.library_figures(page.items, chosen, today, settings),
        columns=LIBRARY_COLUMNS,
    )


PARTNER_COLUMNS = [
    Column("School district", lambda p: p.district),
    Column("CDS code", lambda p: p.cds_code),
    Column("Stage", lambda p: f"{p.stage_position}. {p.stage}"),
    Column("Card model", lambda p: p.card_model),
    Column("Enrolment", lambda p: p.enrolment),
    Column("Fine-free", lambda p: "not decided" if p.fine_free is None else p.fine_free),
    *figure_columns(lambda p: p.figures, partnerships=False),
]
FIGURE_COLUMNS = [Column("School district", lambda r: r.district), *OUTCOME_REPORT_COLUMNS]
PILOT_COLUMNS = [
    Column("Cohort", lambda p: p.cohort),
    Column("Month", lambda p: p.status.months, numeric=True),
    Column("Target (months)", lambda p: p.status.target_months, numeric=True),
    Column("Steps done", lambda p: f"{p.status.steps_done} of {p.status.steps_applicable}"),
    Column("Steps late", lambda p: p.status.late_steps, numeric=True),
    Column("Status", lambda p: p.status.level.label),
]


def _library_tables(library: Library) -> dict[str, tuple]:
    chosen, cohorts, _, today = _filter_and_cohorts()
    cohorts = {c.id: c.name for c in cohorts}
    pilots = [
        service.PilotPlace(cohorts.get(status.cohort_id, ""), status)
        for status in service.pilot_statuses(
            service.RollupFilter(year=chosen.year),
            today,
            RiskSettings.from_config(current_app.config),
            [library.id],
        )
    ]
    totals = figures_by_library([library.id], chosen.year).get(library.id, Figures())
    return {
        "timeline": ("Timeline progress as a pilot", PILOT_COLUMNS, pilots),
        "totals": ("The library's figures", figure_columns(lambda f: f), [totals]),
        "partners": (
            "School partners",
            PARTNER_COLUMNS,
            service.partnerships_of_library(library.id, chosen),
        ),
        "figures": (
            "Outcome figures reported",
            FIGURE_COLUMNS,
            service.reports_of_library(library.id, chosen),
        ),
    }


@bp.get("/libraries/<int:library_id>")
@require(LIST, Rollup)
def library(library_id: int):
    library = get_or_404(Library, library_id, FIGURES)
    return render_template(
        "rollup/library.html",
        filter_args=_filter_args(),
        library=library,
        tables=_library_tables(library),
        years=service.school_years(local_today()),
    )


@bp.get("/libraries/<int:library_id>/<name>.csv")
@require(LIST, Rollup)
def library_csv(library_id: int, name: str):
    library = get_or_404(Library, library_id, FIGURES)
    tables = _library_tables(library)
    if name not in tables:
        abort(404)
    _, columns, rows = tables[name]
    return csv_response(f"library-{library.id}-{name}", columns, rows)


# The annual report -------------------------------------------------------------------

ANNUAL_COLUMNS = [
    Column("School year", lambda r: r.year.key),
    Column("Library", lambda r: r.library),
    Column("School district", lambda r: r.district),
    Column("CDS code", lambda r: r.cds_code),
    Column("Students enrolled", lambda r: r.students_enrolled, numeric=True),
    Column("Cards issued in the year", lambda r: r.cards_issued_in_year, numeric=True),
    Column("Students with cards (end of year)", lambda r: r.students_with_cards, numeric=True),
    Column("Students who used their card", lambda r: r.students_using_cards, numeric=True),
    Column("Reports in the year", lambda r: r.reports_in_year, numeric=True),
    Column("Reports that began the year before", lambda r: r.reports_spanning_years, numeric=True),
]


def _report_year(today) -> service.SchoolYear:
    """The year asked for, else the last school year that has ended."""
    asked = service.SchoolYear.parse(request.args.get("year", ""))
    return asked or service.SchoolYear.last_ended(today)


@bp.get("/annual-report")
@require(LIST, Rollup)
def annual_report():
    chosen, _, problems, today = _filter_and_cohorts()
    year = _report_year(today)
    if request.args.get("format") == "csv":
        rows = service.annual_report(year, f=chosen)
        return csv_response(f"annual-report-{year.key}", ANNUAL_COLUMNS, rows)
    number, per_page = requested_page(), current_app.config["PER_PAGE"]
    # The figures are summed for the rows shown only (a statewide year is thousands).
    rows, total = remembered(
        annual_report_key(chosen, year, number, per_page, today),
        tuple[list[service.AnnualReportRow], int],
        lambda: (
            service.annual_report(year, f=chosen, limit=per_page, offset=per_page * (number - 1)),
            service.annual_report_count(year, f=chosen),
        ),
    )
    return render_template(
        "rollup/annual_report.html",
        year=year,
        years=service.school_years(today, back=8),
        library=None,
        rows=rows,
        page=ListPage(rows, number, per_page, total),
        columns=ANNUAL_COLUMNS[1:],  # the year is in the heading; the CSV keeps it
        problems=problems,
        filter=chosen,
    )


@bp.get("/libraries/<int:library_id>/annual-report")
@require(FIGURES, Library)
def library_annual_report(library_id: int):
    library = get_or_404(Library, library_id, FIGURES)
    year = _report_year(local_today())
    rows = service.annual_report(year, library_id=library.id)
    if request.args.get("format") == "csv":
        return csv_response(f"annual-report-{year.key}-library-{library.id}", ANNUAL_COLUMNS, rows)
    return render_template(
        "rollup/annual_report.html",
        year=year,
        years=service.school_years(local_today(), back=8),
        library=library,
        rows=rows,
        totals=service.annual_totals(rows),
        columns=ANNUAL_COLUMNS[1:],  # the year is in the heading; the CSV keeps it
    )
