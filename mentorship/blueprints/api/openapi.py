"""The OpenAPI 3.1 document of /api/v1, built as a plain dict.

Every object schema lists all its properties as `required` and allows nothing else
(`additionalProperties: false`), so a field added to or dropped from a response
without changing this document fails the tests, which validate every response.

Adding an endpoint is two edits: its schema in SCHEMAS (with `obj(...)`), and its path
in PATHS (with `list_operation`, `item_operation` or `object_operation`).
"""

from __future__ import annotations

from typing import Any

from ...models import CardModel, Enrolment, Governance, ParticipationRole
from ...models.library import CALIFORNIA_COUNTIES, COOPERATIVE_SYSTEMS
from ...services.api_tokens import TOKEN_START

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_ID = 2_147_483_647  # ids and page numbers fit a 32-bit integer column


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "type": [schema["type"], "null"]}


def obj(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    """An object with exactly these properties, all present (some may be null)."""
    schema = {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    return {**schema, "description": description} if description else schema


def enum_of(values: list[str], null: bool = False) -> dict[str, Any]:
    return {
        "type": ["string", "null"] if null else "string",
        "enum": values + ([None] if null else []),
    }


ID = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
COUNT = {"type": "integer", "minimum": 0}
DATE = {"type": "string", "format": "date"}
TEXT = {"type": "string"}
BOOL = {"type": "boolean"}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": obj(
        {
            "error": obj(
                {"status": {"type": "integer", "minimum": 400, "maximum": 599}, "message": TEXT}
            )
        }
    ),
    "Library": obj(
        {
            "id": ID,
            "name": TEXT,
            "short_name": TEXT,
            "city": TEXT,
            "county": TEXT,
            "cooperative_system": TEXT,
            "governance": enum_of([g.value for g in Governance]),
            "service_population": nullable(COUNT),
            "ils_name": TEXT,
            "website": TEXT,
            "public_contact": obj(
                {"name": TEXT, "email": TEXT, "phone": TEXT},
                "The library's published main contact (empty strings when none).",
            ),
            "active": BOOL,
        }
    ),
    "Participation": obj(
        {
            "library_id": ID,
            "role": enum_of([r.value for r in ParticipationRole]),
            "start_date": DATE,
            "target_months": {"type": "integer", "minimum": 1, "maximum": 24},
            "months_in": {
                "type": "integer",
                "minimum": 0,
                "description": "Whole months from the start date to today (0 before it).",
            },
            "active": BOOL,
        },
        "A library taking part in a cohort.",
    ),
    "Cohort": obj(
        {
            "id": ID,
            "name": TEXT,
            "start_date": DATE,
            "end_date": DATE,
            "active": BOOL,
            "participations": {"type": "array", "items": ref("Participation")},
        }
    ),
    "District": obj(
        {
            "id": ID,
            "name": TEXT,
            "county": TEXT,
            "state_code": nullable({**TEXT, "description": "CDS county-district code"}),
            "students_enrolled": nullable(COUNT),
        }
    ),
    "Stage": obj({"key": TEXT, "name": TEXT, "position": {"type": "integer"}}),
    "StageDate": obj(
        {"key": TEXT, "name": TEXT, "position": {"type": "integer"}, "reached_on": DATE}
    ),
    "Partnership": obj(
        {
            "id": ID,
            "library_id": ID,
            "district": ref("District"),
            "stage": ref("Stage"),
            "stage_dates": {
                "type": "array",
                "items": ref("StageDate"),
                "description": "The day each stage was reached, in stage order.",
            },
            "card_model": enum_of([c.value for c in CardModel], null=True),
            "enrolment": enum_of([e.value for e in Enrolment], null=True),
            "fine_free": nullable(BOOL),
            "rollout_order": {"type": "integer", "minimum": 1},
            "active": BOOL,
        },
        "A library's partnership with a school district (never its contact or notes).",
    ),
    "OutcomeFigure": obj(
        {
            "id": ID,
            "partnership_id": ID,
            "library_id": ID,
            "district_id": ID,
            "period_start": DATE,
            "period_end": DATE,
            "students_enrolled": COUNT,
            "physical_cards": {**COUNT, "description": "New physical cards issued in the period"},
            "digital_cards": {
                **COUNT,
                "description": "New digital / student-ID cards in the period",
            },
            "students_using_cards": nullable(COUNT),
        },
        "One outcome report: counts for one partnership and one period.",
    ),
}


def page_schema(item: str) -> dict[str, Any]:
    link = {"type": ["string", "null"], "format": "uri"}
    return obj(
        {
            "data": {"type": "array", "items": ref(item)},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE},
            "total": COUNT,
            "next": link,
            "prev": link,
        }
    )


def _error_response(description: str, bearer_challenge: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ref("Error")}},
    }
    if bearer_challenge:
        response["headers"] = {"WWW-Authenticate": {"schema": {"type": "string"}}}
    return response


RESPONSES = {
    "BadRequest": _error_response("A query parameter is not valid (the message says which)."),
    "Unauthorized": _error_response(
        "No token, a malformed Authorization header, or an unknown or revoked token.", True
    ),
    "Forbidden": _error_response(
        "The token's person is deactivated or no longer a state official or staff member."
    ),
    "NotFound": _error_response("No such record."),
}

PARAMETERS = {
    "page": {
        "name": "page",
        "in": "query",
        "description": "Page number, from 1. A page past the last has no data.",
        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_ID, "default": 1},
        "example": 1,
    },
    "per_page": {
        "name": "per_page",
        "in": "query",
        "description": f"Rows per page, 1 to {MAX_PER_PAGE}.",
        "schema": {
            "type": "integer",
            "minimum": 1,
            "maximum": MAX_PER_PAGE,
            "default": DEFAULT_PER_PAGE,
        },
        "example": 20,
    },
}


def _ok(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*names: str) -> dict[str, Any]:
    codes = {"BadRequest": "400", "Unauthorized": "401", "Forbidden": "403", "NotFound": "404"}
    return {codes[name]: {"$ref": f"#/components/responses/{name}"} for name in names}


def list_operation(
    summary: str, item: str, extra_parameters: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """GET of a paged list of `item`."""
    return {
        "get": {
            "summary": summary,
            "parameters": [
                {"$ref": "#/components/parameters/page"},
                {"$ref": "#/components/parameters/per_page"},
                *(extra_parameters or []),
            ],
            "responses": {
                "200": _ok(page_schema(item)),
                **_errors("BadRequest", "Unauthorized", "Forbidden"),
            },
        }
    }


def item_operation(summary: str, item: str, id_name: str) -> dict[str, Any]:
    """GET of one `item` by its id: {"data": item}."""
    return {
        "get": {
            "summary": summary,
            "parameters": [
                {"name": id_name, "in": "path", "required": True, "schema": ID, "example": 1}
            ],
            "responses": {
                "200": _ok(obj({"data": ref(item)})),
                **_errors("Unauthorized", "Forbidden", "NotFound"),
            },
        }
    }


def object_operation(
    summary: str, schema: str, parameters: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """GET of one unpaged object (a figure set such as a rollup): {"data": schema}."""
    return {
        "get": {
            "summary": summary,
            "parameters": parameters or [],
            "responses": {
                "200": _ok(obj({"data": ref(schema)})),
                **_errors("BadRequest", "Unauthorized", "Forbidden"),
            },
        }
    }


# A value each filter is shown with (and that the examples phase of the API's tests sends).
EXAMPLES = {
    "library_id": 1,
    "cohort_id": 1,
    "county": "Alameda",
    "since": "2026-01-01",
    "system": "Pacific Library Partnership",
    "year": "2025-26",
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    parameter = {"name": name, "in": "query", "description": description, "schema": schema}
    return {**parameter, "example": EXAMPLES[name]} if name in EXAMPLES else parameter


OUTCOME_FILTERS = [
    _query("library_id", ID, "Only this library's reports."),
    _query(
        "cohort_id",
        ID,
        "Only reports of libraries taking part in this cohort (active places in it).",
    ),
    _query(
        "county",
        enum_of(list(CALIFORNIA_COUNTIES)),
        "Only reports of libraries in this California county (any case; a “County” "
        "suffix is allowed).",
    ),
    _query("since", DATE, "Only reports whose period ends on or after this day (YYYY-MM-DD)."),
]

RATIO = nullable({"type": "number", "minimum": 0})
FIGURES = {
    "partnerships": COUNT,
    "reporting": COUNT,
    "students_enrolled": COUNT,
    "cards_to_date": COUNT,
    "cards_since_joining": {
        **COUNT,
        "description": "Cards of reports ending on or after the "
        "day the library started as a pilot (the programme's)",
    },
    "cards_before_joining": {
        **COUNT,
        "description": "Cards reported before it joined "
        "(its baseline; every card of a library that is not a pilot)",
    },
    "students_using_cards": nullable(COUNT),
    "coverage": {**RATIO, "description": "cards_to_date ÷ students_enrolled"},
    "coverage_since_joining": {**RATIO, "description": "cards_since_joining ÷ students_enrolled"},
}
SCHEMAS["Figures"] = obj(FIGURES, "A partnership's figures, or their sum (see the README).")
COVERAGE_ROW = obj(
    {"key": TEXT, **FIGURES},
    "Partnerships in one group. Every group but `existing` counts pilot libraries only, "
    "whose programme figures are `cards_since_joining` and `coverage_since_joining`.",
)
SCHEMAS["LibraryFigures"] = obj(
    {
        "library_id": ID,
        "figures": ref("Figures"),
        "partnerships": {
            "type": "array",
            "items": obj({"district": TEXT, "figures": ref("Figures")}),
        },
    },
    "A library's figures to date, in all and per active partnership.",
)
SCHEMAS["Rollup"] = obj(
    {
        "filter": obj(
            {
                "cohort_id": nullable(ID),
                "county": nullable(TEXT),
                "system": nullable(TEXT),
                "year": nullable(TEXT),
            }
        ),
        "computed_on": DATE,
        "libraries": COUNT,
        "pilots": COUNT,
        "cohorts": {
            "type": "array",
            "items": obj(
                {
                    "cohort_id": ID,
                    "cohort": TEXT,
                    "pilots": COUNT,
                    "mentors": COUNT,
                    "sustaining": COUNT,
                }
            ),
        },
        "timeline": {"type": "array", "items": obj({"stage": TEXT, "pilots": COUNT})},
        "risk": {
            "type": "array",
            "items": obj(
                {"status": enum_of(["at risk", "needs attention", "on track"]), "pilots": COUNT}
            ),
        },
        "partnership_stages": {
            "type": "array",
            "items": obj({"position": COUNT, "stage": TEXT, "partnerships": COUNT}),
        },
        "coverage": obj(
            {
                dimension: {"type": "array", "items": COVERAGE_ROW}
                for dimension in (
                    "total",
                    "existing",
                    "cohort",
                    "county",
                    "system",
                    "card_model",
                    "enrolment",
                    "fine_free",
                )
            }
        ),
        "quarters": {
            "type": "array",
            "items": obj(
                {
                    "year": COUNT,
                    "quarter": {"type": "integer", "minimum": 1, "maximum": 4},
                    "cards_since_joining": COUNT,
                    "cards_since_joining_to_date": COUNT,
                }
            ),
        },
        "counties": {
            "type": "array",
            "items": obj(
                {
                    "county": enum_of(list(CALIFORNIA_COUNTIES)),
                    "pilot_libraries": COUNT,
                    "mentor_libraries": COUNT,
                    "partnerships": COUNT,
                    "students_enrolled": COUNT,
                    "cards_since_joining": COUNT,
                    "coverage_since_joining": RATIO,
                }
            ),
        },
    },
    "The statewide rollup, as on the rollup page (see the README for how it counts).",
)
ROLLUP_FILTERS = [
    _query("cohort_id", ID, "Only libraries with an active place in this cohort."),
    _query(
        "county",
        enum_of(list(CALIFORNIA_COUNTIES)),
        "Only libraries in this California county (any case; a “County” suffix is allowed).",
    ),
    _query("system", enum_of(list(COOPERATIVE_SYSTEMS)), "Only this cooperative system."),
    _query(
        "year",
        enum_of([f"{start}-{(start + 1) % 100:02d}" for start in range(2000, 2100)]),
        "A school year such as 2025-26 (July 1 to June 30): the outcome figures of that year only.",
    ),
]

PATHS: dict[str, dict[str, Any]] = {
    "/rollup": object_operation("The statewide rollup", "Rollup", ROLLUP_FILTERS),
    "/libraries": list_operation("Libraries", "Library"),
    "/libraries/{library_id}": item_operation("One library", "Library", "library_id"),
    "/libraries/{library_id}/figures": item_operation(
        "One library's figures, as on its pages", "LibraryFigures", "library_id"
    ),
    "/cohorts": list_operation("Cohorts, with the libraries taking part", "Cohort"),
    "/cohorts/{cohort_id}": item_operation("One cohort", "Cohort", "cohort_id"),
    "/partnerships": list_operation(
        "School-district partnerships: stage, card model, enrolment", "Partnership"
    ),
    "/outcome-figures": list_operation(
        "Outcome reports (dated counts per partnership)", "OutcomeFigure", OUTCOME_FILTERS
    ),
    "/openapi.json": {
        "get": {
            "summary": "This document (no token needed)",
            "security": [],
            "responses": {"200": _ok({"type": "object"})},
        }
    },
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Student Success Initiative: read-only API",
            "version": "1.0.0",
            "description": (
                "Statewide figures of the mentor–pilot library program for state data "
                "teams: what a state official may see, never private notes, contacts of "
                "school districts, or any student. Program staff issue tokens under "
                f"“API tokens”; send one as `Authorization: Bearer {TOKEN_START}…`. "
                f"Lists are paged (`page`, `per_page` up to {MAX_PER_PAGE})."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "paths": PATHS,
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "parameters": PARAMETERS,
        },
    }
