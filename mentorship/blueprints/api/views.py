"""The read-only JSON API: a bearer token in, what a state official may see out.

Only `Authorization: Bearer …` authenticates here; the session cookie is never read,
so a signed-in browser cannot call the API by visiting a link. Every answer, errors
included, is JSON; every list is paged the same way (`page`, `per_page`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from ...access import MAX_ID, valid_id
from ...extensions import db
from ...models import (
    Cohort,
    Library,
)
from ...models.base import utcnow
from ...models.library import COOPERATIVE_SYSTEMS, california_county
from ...services import api as service
from ...services import api_tokens, rollup
from ...services.figures import figures_by_district, figures_of_library
from ...services.risk import RiskSettings
from ...templating import local_today, query_args
from . import bp, schemas
from .openapi import document
from .schemas import DEFAULT_PER_PAGE, MAX_PER_PAGE

PUBLIC_ENDPOINTS = {"api.openapi"}


def error_response(status: int, message: str):
    response = jsonify(error={"status": status, "message": message})
    response.status_code = status
    if status == 401:
        # RFC 6750: a request without a token gets the bare challenge; one whose token
        # was refused is told so, and a client knows to ask for a new token.
        sent = bool(request.headers.get("Authorization"))
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"' + (
            ', error="invalid_token"' if sent else ""
        )
    return response


def http_error(error: HTTPException):
    if error.code and error.code >= 500:
        db.session.rollback()
    return error_response(error.code or 500, error.description or error.name)


# Flask prefers the app's handler for a status code over a blueprint's handler for a
# class, so the codes the app answers with HTML pages are registered here one by one.
for _code in (400, 403, 404, 405, 429, 500):
    bp.register_error_handler(_code, http_error)
bp.register_error_handler(HTTPException, http_error)


ALLOWED_METHODS = "GET, HEAD, OPTIONS"  # the API only reads


@bp.before_request
def answer_options():
    """OPTIONS says what the address answers to (no token needed, no body)."""
    if request.method == "OPTIONS":
        response = current_app.response_class(status=204)
        response.headers.remove("Content-Type")  # no body, so no HTML either
        response.headers["Allow"] = ALLOWED_METHODS
        return response
    return None


@bp.before_request
def require_token():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    token = api_tokens.authenticate(request.headers.get("Authorization"))
    if isinstance(token, api_tokens.Refusal):
        return error_response(token.status, token.message)
    if api_tokens.note_use(token, utcnow()):
        db.session.commit()
    return None


@bp.before_request
def refuse_empty_values():
    """`since=` or `per_page=` with nothing after it is a mistake in the client's
    address, not a request for the default: the document says 400, and so do we."""
    for name, value in request.args.items(multi=True):
        if not value.strip():
            abort(400, f"“{_shown(name)}” is empty: give it a value or leave it out.")


@bp.after_request
def revalidate(response):
    """Answers depend on the token: shared caches must not keep them, and a client keeps
    one only to ask again with If-None-Match, which answers 304 when nothing changed."""
    response.headers.setdefault("Cache-Control", "private, no-cache")
    response.vary.add("Authorization")
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.add_etag()
        response.make_conditional(request)
    return response


# Query parameters ----------------------------------------------------------------


def _shown(raw: str) -> str:
    """The value as echoed in an error message (cut short: it could be anything)."""
    return raw if len(raw) <= 40 else raw[:40] + "…"


def _int_arg(name: str, default: int | None = None, maximum: int | None = None) -> int | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return default
    maximum = maximum or MAX_ID
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= maximum:
        abort(400, f"“{name}” must be a whole number from 1 to {maximum}; it was “{_shown(raw)}”.")
    return int(raw)


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, f"“{name}” must be a date written YYYY-MM-DD; it was “{_shown(raw)}”.")


def _county_arg(name: str) -> str | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    county = california_county(raw)
    if county is None:
        abort(400, f"“{_shown(raw)}” is not a California county.")
    return county


def _page_url(page: int) -> str:
    args = {**query_args(), "page": page}
    path = url_for(request.endpoint, **(request.view_args or {}), **args)
    # The public address (as in emails): the one clients reach, behind any proxy.
    return current_app.config["BASE_URL"].rstrip("/") + path


def paged(query: sa.Select, serialise: Callable[[Any], dict]):
    """The list answer every endpoint shares: one page of rows and where the others are."""
    page = _int_arg("page", default=1)
    per_page = _int_arg("per_page", default=DEFAULT_PER_PAGE, maximum=MAX_PER_PAGE)
    result = db.paginate(query, page=page, per_page=per_page, error_out=False)
    last = max(result.pages, 1)
    answer = {
        "data": [serialise(row) for row in result.items],
        "page": page,
        "per_page": per_page,
        "total": result.total,
        "next": _page_url(page + 1) if page < last else None,
        "prev": _page_url(min(page - 1, last)) if page > 1 else None,
    }
    return jsonify(schemas.dump(schemas.Paged, answer))


def one(kind: type, object_id: int, query: sa.Select, serialise: Callable[[Any], dict]):
    # An id past the column's range is simply not there (PostgreSQL would refuse it).
    found = valid_id(object_id) and db.session.scalar(query.where(kind.id == object_id))
    if not found:
        abort(404, f"There is no {kind.__name__.lower()} with id {object_id}.")
    return jsonify(data=serialise(found))


# What each record shows: what a state official may see, nothing private ---------------


def _as(schema: type[schemas.Schema], **context: Any) -> Callable[[Any], dict]:
    return lambda source: schemas.dump(schema, source, **context)


# Endpoints ------------------------------------------------------------------------


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())


@bp.get("/libraries")
def libraries():
    return paged(service.libraries_query(), _as(schemas.Library))


@bp.get("/libraries/<int:library_id>")
def library(library_id: int):
    return one(Library, library_id, service.libraries_query(), _as(schemas.Library))


@bp.get("/libraries/<int:library_id>/figures")
def library_figures(library_id: int):
    """The library's figures to date (services.figures), as its pages show them."""
    return one(Library, library_id, service.libraries_query(), library_figures_json)


def library_figures_json(library: Library) -> dict:
    source = {
        "library_id": library.id,
        "figures": figures_of_library(library.id),
        "partnerships": [
            {"district": district, "figures": figures}
            for district, figures in figures_by_district(library.id)
        ],
    }
    return schemas.dump(schemas.LibraryFigures, source)


@bp.get("/cohorts")
def cohorts():
    return paged(service.cohorts_query(), _as(schemas.Cohort, today=local_today()))


@bp.get("/cohorts/<int:cohort_id>")
def cohort(cohort_id: int):
    return one(Cohort, cohort_id, service.cohorts_query(), _as(schemas.Cohort, today=local_today()))


@bp.get("/partnerships")
def partnerships():
    return paged(service.partnerships_query(), _as(schemas.Partnership))


@bp.get("/outcome-figures")
def outcome_figures():
    filters = service.OutcomeFilters(
        library_id=_int_arg("library_id"),
        cohort_id=_int_arg("cohort_id"),
        county=_county_arg("county"),
        since=_date_arg("since"),
    )
    return paged(service.outcome_reports_query(filters), _as(schemas.OutcomeFigure))


def _choice_arg(name: str, allowed, parse=str, what: str = "value"):
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    value = parse(raw)
    if value is None or value not in allowed:
        abort(400, f"“{_shown(raw)}” is not a {what} the rollup knows.")
    return value


@bp.get("/rollup")
def rollup_figures():
    """The rollup page's figures; bad filter values are a 400 here, not left out."""
    today = local_today()
    chosen = rollup.RollupFilter(
        cohort_id=_int_arg("cohort_id"),  # an unknown cohort has no libraries: zeros
        county=_county_arg("county"),
        system=_choice_arg("system", COOPERATIVE_SYSTEMS, what="cooperative system"),
        year=_choice_arg("year", rollup.SCHOOL_YEARS, rollup.SchoolYear.parse, "school year"),
    )
    figures = rollup.rollup(chosen, today, RiskSettings.from_config(current_app.config))
    source = {
        "filter": {
            "cohort_id": chosen.cohort_id,
            "county": chosen.county,
            "system": chosen.system,
            "year": chosen.year.key if chosen.year else None,
        },
        "computed_on": today,
        "libraries": figures.libraries,
        "pilots": figures.pilot_count,
        "cohorts": figures.cohorts,
        "timeline": [{"stage": stage, "pilots": n} for stage, n in figures.timeline],
        "risk": [{"status": level.label, "pilots": n} for level, n in figures.risk],
        "partnership_stages": figures.stages,
        "coverage": figures.coverage,
        "quarters": figures.quarters,
        "counties": figures.counties,
    }
    return jsonify(data=schemas.dump(schemas.Rollup, source))


@bp.route("/", defaults={"anything": ""}, methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
@bp.route("/<path:anything>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def not_here(anything: str):
    """Unknown addresses and writes answer in JSON too, not with an HTML page."""
    if request.method != "GET":
        response = error_response(405, "The API is read-only: only GET requests are answered.")
        response.headers["Allow"] = "GET, HEAD, OPTIONS"
        return response
    abort(404, f"There is nothing at /api/v1/{_shown(anything)}; see /api/v1/openapi.json.")
