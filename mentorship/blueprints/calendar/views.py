"""A person's calendar feed: the page that gives its address, and the feed itself."""

from flask import (
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from ...access import CALENDAR, require
from ...extensions import db
from ...models import User
from ...services import calendar as service
from ...templating import local_today
from . import bp

# Subscribed clients fetch every few hours; an hour of caching spares the database.
FEED_MAX_AGE = 3600


def feed_url(token: str) -> str:
    # BASE_URL, not the request host: the address calendars can reach, behind any proxy.
    return current_app.config["BASE_URL"].rstrip("/") + url_for("calendar.feed", token=token)


@bp.get("/calendar/<token>.ics")
def feed(token: str):
    """No sign-in: calendar apps cannot sign in, so the token in the address is the key."""
    user = service.user_by_calendar_token(token)
    if user is None:
        abort(404)
    body = service.calendar_for(
        user,
        local_today(),
        base_url=current_app.config["BASE_URL"],
        milestone_path=lambda milestone_id: url_for(
            "timeline.milestone", milestone_id=milestone_id
        ),
        time_zone=current_app.config["TIME_ZONE"],
    )
    response = current_app.response_class(body, content_type="text/calendar; charset=utf-8")
    response.headers["Cache-Control"] = f"private, max-age={FEED_MAX_AGE}"
    response.headers["Content-Disposition"] = 'inline; filename="student-success-initiative.ics"'
    response.headers["X-Robots-Tag"] = "noindex"
    # Calendar apps poll: an unchanged feed answers 304 to If-None-Match, without a body.
    response.add_etag()
    return response.make_conditional(request)


@bp.get("/calendar")
@require(CALENDAR, User)
def index():
    # Only a digest is stored: the address is shown once, on the page after making it.
    token = session.pop(_JUST_MADE, None) if current_user.calendar_token else None
    response = current_app.make_response(
        render_template(
            "calendar/index.html",
            has_link=bool(current_user.calendar_token),
            feed_url=feed_url(token) if token else None,
        )
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


_JUST_MADE = "calendar_token_just_made"


@bp.post("/calendar/create")
@require(CALENDAR, User)
def create():
    if current_user.calendar_token:  # a second click (or tab) must not reset the link
        flash("You already have a calendar link.", "info")
    else:
        session[_JUST_MADE] = service.new_calendar_token(current_user._get_current_object())
        db.session.commit()
        flash("Your calendar link is ready: subscribe to it below.", "success")
    return redirect(url_for("calendar.index"))


@bp.post("/calendar/reset")
@require(CALENDAR, User)
def reset():
    session[_JUST_MADE] = service.new_calendar_token(current_user._get_current_object())
    db.session.commit()
    flash(
        "Your calendar link was reset: the old address no longer works. "
        "Subscribe again with the new one.",
        "success",
    )
    return redirect(url_for("calendar.index"))
