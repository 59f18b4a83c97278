"""Filters and globals the templates share: dates in the program's time zone, nav."""

from __future__ import annotations

import enum
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Flask, current_app, g, request, url_for
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
from .services.help import figure_anchor
from .services.words import plural


def local_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    return value.astimezone(zone).strftime("%b %-d, %Y %-I:%M %p")


def figures_as_of() -> str:
    """Now, in the program's time zone, for "Figures as of …" on printed pages."""
    zone = ZoneInfo(current_app.config["TIME_ZONE"])
    return datetime.now(zone).strftime("%b %-d, %Y %-I:%M %p %Z")


def local_today() -> date:
    """Today in the program's time zone (California), not the server's."""
    return datetime.now(ZoneInfo(current_app.config["TIME_ZONE"])).date()


def long_date(value: date | None) -> str:
    return value.strftime("%b %-d, %Y") if value else ""


def start_words(start: date | None, capital: bool = True) -> str:
    """ "Started Sep 1, 2026", or "Starts Sep 1, 2027" for a start still to come."""
    if start is None:
        return ""
    verb = "Starts" if start > local_today() else "Started"
    return f"{verb if capital else verb.lower()} {long_date(start)}"


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
    ("legislative.report", "Legislative report", Rollup),
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


def role_badge() -> str:
    """The signed-in person's role in words: a librarian's says what their library does in
    its cohorts ("mentor" for a library that mentors, whatever the account says)."""
    if "role_badge" not in g:
        from .services.libraries import roles_in_program

        roles = roles_in_program(current_user.library_id) if current_user.library_id else []
        g.role_badge = " and ".join(roles) or current_user.role.value
    return g.role_badge


def help_url(guide: str, anchor: str = "") -> str:
    """Where a section of the Help guide lives (`guide` a file of help_content/)."""
    return url_for("help.guide", guide=guide, _anchor=anchor or None)


def toolkit_title(page: str) -> str:
    """A toolkit page's title, for where a plan names it (its short name if it is gone)."""
    from .services import toolkit

    kit = toolkit.toolkit_from(Path(current_app.config["TOOLKIT_DIR"]))
    found = kit.pages.get(page) if page else None
    return found.title if found else page or ""


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
        plural=plural,
        start_words=start_words,
    )
    app.jinja_env.globals.update(
        charts=charts,
        navigation=navigation,
        may=may,
        url_with=url_with,
        toolkit_url=toolkit_url,
        toolkit_title=toolkit_title,
        figure_definitions=DEFINITIONS,
        help_url=help_url,
        role_badge=role_badge,
        figure_anchor=figure_anchor,
    )
