"""Filters and globals the templates share: dates in the program's time zone, nav."""

from __future__ import annotations

import enum
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request, url_for
from flask_login import current_user

from . import charts
from .access import LIST, Rollup, may
from .models import (
    Agreement,
    ApiToken,
    AuditEvent,
    CaseStudy,
    Cohort,
    Library,
    Milestone,
    OutboxMessage,
    SchoolDistrict,
    User,
)
from .services.figures import DEFINITIONS, percent


def local_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    return value.astimezone(zone).strftime("%b %-d, %Y %-I:%M %p")


def local_today() -> date:
    """Today in the program's time zone (California), not the server's."""
    return datetime.now(ZoneInfo(current_app.config["TIME_ZONE"])).date()


def long_date(value: date | None) -> str:
    return value.strftime("%b %-d, %Y") if value else ""


def plain(value) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, date) and not isinstance(value, datetime):
        return long_date(value)
    return str(value)


NAV = [
    ("home.index", "Home", None),
    ("rollup.index", "Statewide rollup", Rollup),
    ("cohorts.index", "Cohorts", Cohort),
    ("libraries.index", "Libraries", Library),
    ("districts.index", "School districts", SchoolDistrict),
    ("people.index", "People", User),
    ("timeline.at_risk", "At risk", Milestone),
    ("toolkit.index", "Toolkit", None),
    ("case_studies.index", "Case studies", CaseStudy),  # everyone may list them
    ("partnerships.expiring", "Agreements", Agreement),
    ("reminders.outbox_page", "Reminder emails", OutboxMessage),
    ("audit.index", "Audit log", AuditEvent),
    ("api_tokens.index", "API tokens", ApiToken),
]


def navigation() -> list[dict]:
    if not current_user.is_authenticated:
        return []
    items = []
    for endpoint, label, kind in NAV:
        if kind is None or may(current_user, LIST, kind):
            url = url_for(endpoint)
            current = request.endpoint is not None and (
                request.endpoint == endpoint
                or (kind is not None and request.endpoint.split(".")[0] == endpoint.split(".")[0])
            )
            items.append({"url": url, "label": label, "current": current})
    if current_user.library_id:
        url = url_for("libraries.show", object_id=current_user.library_id)
        items.append({"url": url, "label": "My library", "current": request.path == url})
        url = url_for("partnerships.library_partners", library_id=current_user.library_id)
        items.append({"url": url, "label": "School partners", "current": request.path == url})
    return items


def toolkit_url(page: str) -> str | None:
    """Where a toolkit page lives, once the toolkit is served (None until then)."""
    if not page or "toolkit.page" not in current_app.view_functions:
        return None
    return url_for("toolkit.page", slug=page)


def query_args() -> dict[str, str]:
    """This request's query arguments that can go back into url_for: none that would
    clash with the route's own arguments or url_for's options (`_method`, `_external`)."""
    route = request.view_args or {}
    return {
        key: value
        for key, value in request.args.items()
        if not key.startswith("_") and key not in route
    }


def url_with(**changes) -> str:
    """This page's URL with some query arguments changed (pagination, CSV)."""
    args = query_args()
    args.update({key: value for key, value in changes.items() if value is not None})
    for key in [key for key, value in changes.items() if value is None]:
        args.pop(key, None)
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(
        local_datetime=local_datetime,
        long_date=long_date,
        plain=plain,
        percent=percent,
    )
    app.jinja_env.globals.update(
        charts=charts,
        navigation=navigation,
        may=may,
        url_with=url_with,
        toolkit_url=toolkit_url,
        figure_definitions=DEFINITIONS,
    )
