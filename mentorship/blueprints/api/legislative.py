"""GET /api/v1/legislative-report: Ed Code §19343's figures, suppressed as on the page.

Self-contained (its view, its schema and its path in the OpenAPI document), so the API's
layout can take it as it is.
"""

from __future__ import annotations

from flask import jsonify

from ...models import ResourceKind
from ...models.library import CALIFORNIA_COUNTIES
from ...services import legislative
from ...services.rollup.years import SCHOOL_YEARS, SchoolYear
from ...services.suppression import HIDDEN, SMALL
from ...templating import local_today
from . import bp
from .openapi import PATHS, SCHEMAS, _query, enum_of, obj, object_operation
from .views import _choice_arg, _county_arg

COUNT = {"type": "integer", "minimum": 0}
TEXT = {"type": "string"}


def nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


CELL = {
    "anyOf": [COUNT, {"type": "string", "enum": [SMALL, HIDDEN]}],
    "description": f"A count of pupils, or “{SMALL}” / “{HIDDEN}” (small-count suppression).",
}
CHANGE = obj(
    {
        "year_before": nullable(COUNT),
        "this_year": nullable(COUNT),
        "increase": nullable({"type": "integer"}),
    }
)
ROW = obj(
    {
        "name": TEXT,
        "county": TEXT,
        "library_id": nullable({"type": "integer"}),
        **{key: CELL for key in legislative.STUDENT_FIGURES},
        "resource_use": obj({kind.name.lower(): CHANGE for kind in ResourceKind}),
        "reports": COUNT,
        "schools_reporting": COUNT,
        "schools_without_report": COUNT,
    }
)
SCHEMAS["LegislativeReport"] = obj(
    {
        "year": TEXT,
        "county": nullable(TEXT),
        "rule": TEXT,
        "method": {"type": "object", "additionalProperties": TEXT},
        "total": ROW,
        "counties": {"type": "array", "items": ROW},
        "libraries": {"type": "array", "items": ROW},
    },
    "The four figures of Ed Code §19343 for a school year, statewide (or one county) and per "
    "local public library, with their method; counts of 1–10 pupils and the cells that would "
    "give them away are not shown.",
)
PATHS["/legislative-report"] = object_operation(
    "The legislative report (Ed Code §19343)",
    "LegislativeReport",
    [
        _query(
            "year",
            enum_of([f"{start}-{(start + 1) % 100:02d}" for start in range(2000, 2100)]),
            "A school year such as 2028-29; the last one that has ended when left out.",
        ),
        _query(
            "county",
            enum_of(list(CALIFORNIA_COUNTIES)),
            "Only the libraries of this California county, with its total.",
        ),
    ],
)


def _row(row: legislative.LawRow) -> dict:
    return {
        "name": row.label,
        "county": row.county,
        "library_id": row.library_id,
        **{key: row.cells[key].shown for key in legislative.STUDENT_FIGURES},
        "resource_use": {
            kind.name.lower(): {
                "year_before": row.resources[kind].year_before,
                "this_year": row.resources[kind].this_year,
                "increase": row.resources[kind].increase,
            }
            for kind in ResourceKind
        },
        "reports": row.reports,
        "schools_reporting": row.schools_reporting,
        "schools_without_report": row.schools_without_report,
    }


@bp.get("/legislative-report")
def legislative_report():
    year = _choice_arg("year", SCHOOL_YEARS, SchoolYear.parse, "school year")
    report = legislative.cached_report(
        year or SchoolYear.last_ended(local_today()),
        _county_arg("county"),
    )
    return jsonify(
        data={
            "year": report.year.key,
            "county": report.county,
            "rule": report.rule,
            "method": report.definitions,
            "total": _row(report.total),
            "counties": [_row(row) for row in report.counties],
            "libraries": [_row(row) for row in report.libraries],
        }
    )
