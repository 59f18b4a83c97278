"""The OpenAPI 3.1 document of /api/v1, built as a plain dict.

The answers' schemas come from `schemas.py`, the pydantic models that also serialise
them, so a field is written once. Every object schema lists all its properties as
`required` and allows nothing else (`additionalProperties: false`), so a field added to
or dropped from a response without changing its schema fails the tests, which validate
every response.

Adding an endpoint is two edits: its model in `schemas.py` (named in DOCUMENTED), and
its path in PATHS (with `list_operation`, `item_operation` or `object_operation`).
"""

from __future__ import annotations

from typing import Any

from ...access import MAX_ID
from ...models.library import CALIFORNIA_COUNTIES, COOPERATIVE_SYSTEMS
from ...services.api_tokens import TOKEN_START
from .schemas import DEFAULT_PER_PAGE, MAX_PER_PAGE, component_schemas, page_schema


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


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
DATE = {"type": "string", "format": "date"}

SCHEMAS: dict[str, dict[str, Any]] = component_schemas()


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
