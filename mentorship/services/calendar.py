"""Each person's private calendar (ICS) feed: their check-ins and open milestones.

Google Calendar and Outlook subscribe to an address holding a secret token; whoever
has the address sees the feed, so the person can reset the token at any time.

What a feed holds:
- pilot and mentor librarians: the open milestones (not done, not "not applicable")
  of their library's own pilot timelines and of the pilots it is actively paired
  with, on their due dates; and the next check-in of each active pairing;
- program staff and state officials: no events. Their work is not tied to one
  library's dates (staff have the at-risk list); the feed is still a valid calendar.

Every event is all-day (the program works in dates), with a UID that stays the same
from one fetch to the next, so a client updates an event instead of duplicating it.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from icalendar import Calendar, Event, Timezone, vDuration
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import (
    CLOSED_STATUSES,
    Cohort,
    Milestone,
    Pairing,
    Participation,
    ParticipationRole,
    Partnership,
    User,
)
from . import audit
from .checkins import last_check_in_dates
from .pairing import active_pairings_of_library
from .words import plural

PRODID = "-//Student Success Initiative//Mentor-pilot program calendar//EN"
# How often subscribed calendars should fetch again (clients may wait longer).
REFRESH = timedelta(hours=6)
TOKEN_BYTES = 32  # token_urlsafe(32): 43 characters, within the column's 64


# The token ------------------------------------------------------------------------


def new_calendar_token(user: User) -> str:
    """Give `user` a new feed token; the previous address (if any) stops working."""
    action = "reset calendar link" if user.calendar_token else "create calendar link"
    token = secrets.token_urlsafe(TOKEN_BYTES)
    # Only the digest is stored (as for API tokens): a copy of the database opens no feed.
    user.calendar_token = calendar_token_digest(token)
    # The token is a secret: the audit row says what happened, never the value.
    event = audit.record(user, action, user)
    # Not the library's work: it must not count as activity in the at-risk rules.
    event.library_id = None
    return token


def calendar_token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_by_calendar_token(token: str) -> User | None:
    """The active person whose feed this token opens, or None."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(
        sa.select(User).where(
            User.calendar_token == calendar_token_digest(token), User.active.is_(True)
        )
    )


def _one_line(text: str) -> str:
    """A name stored before line breaks were refused must not break the whole feed
    (an iCalendar property is one line)."""
    return " ".join("".join(" " if unicodedata.category(c) == "Cc" else c for c in text).split())


# The feed -------------------------------------------------------------------------


def _open_milestones(library_id: int, pairings: list[Pairing]) -> list[Milestone]:
    """Open milestones of the library's own pilot timelines and of its paired pilots."""
    paired_pilots = {pairing.pilot_participation_id for pairing in pairings}
    return db.session.scalars(
        sa.select(Milestone)
        .join(Participation, Milestone.participation_id == Participation.id)
        .join(Cohort, Participation.cohort_id == Cohort.id)
        .where(
            Milestone.status.not_in(CLOSED_STATUSES),
            Participation.role == ParticipationRole.PILOT,
            Participation.active.is_(True),
            Cohort.active.is_(True),
            sa.or_(
                Participation.library_id == library_id,
                Participation.id.in_(paired_pilots),
            ),
        )
        .options(
            joinedload(Milestone.participation).joinedload(Participation.library),
            joinedload(Milestone.partnership).joinedload(Partnership.district),
        )
        .order_by(Milestone.due_on, Milestone.position, Milestone.id)
    ).all()


def _all_day(uid: str, day: date, summary: str, now: datetime, category: str) -> Event:
    event = Event()
    event.add("uid", uid)
    # With METHOD:PUBLISH, DTSTAMP is when this feed was made; LAST-MODIFIED is the change.
    event.add("dtstamp", now)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", _one_line(summary))
    event.add("categories", [category])
    event.add("transp", "TRANSPARENT")  # a due date, not a busy slot
    return event


def _milestone_event(
    milestone: Milestone, today: date, now: datetime, host: str, link: str
) -> Event:
    library = milestone.participation.library
    event = _all_day(
        f"milestone-{milestone.id}@{host}",
        milestone.due_on,
        f"{library.display_name}: {milestone.name}",
        now,
        "Milestone",
    )
    late = milestone.days_late(today)
    lines = [
        f"Status: {milestone.status.value}",
        f"{plural(late, 'day')} late" if late else "",
        milestone.description,
        link,
    ]
    event.add("description", "\n\n".join(line for line in lines if line))
    event.add("url", link)
    event.add("last-modified", milestone.updated_at.astimezone(UTC))
    event.add("sequence", max(milestone.version - 1, 0))
    return event


def _check_in_event(pairing: Pairing, last: date | None, now: datetime, host: str) -> Event:
    day = pairing.next_checkin_on
    pilot, mentor = pairing.pilot.library.display_name, pairing.mentor.library.display_name
    event = _all_day(
        f"checkin-{pairing.id}-{day.isoformat()}@{host}",
        day,
        f"Check-in: {pilot} with {mentor}",
        now,
        "Check-in",
    )
    lines = [f"Mentor check-in ({pairing.cadence.value})."]
    if last:
        lines.append(f"Last check-in: {last:%b %-d, %Y}.")
    event.add("description", "\n".join(lines))
    return event


def calendar_for(
    user: User,
    today: date,
    *,
    base_url: str,
    milestone_path: Callable[[int], str],
    time_zone: str = "America/Los_Angeles",
) -> bytes:
    """The person's feed as iCalendar bytes, in a fixed number of queries.

    `base_url` is the public address (links and the UIDs' host); `milestone_path` gives a
    milestone page's path from its id (the caller knows the routes; a service does not).
    """
    host = urlsplit(base_url).hostname or "localhost"
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _one_line(f"Student Success Initiative — {user.name}"))
    calendar.add("x-wr-caldesc", "Check-ins and milestones of the mentor–pilot library program")
    calendar.add("x-wr-timezone", time_zone)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    # Events are all-day and need no zone; the zone is there so that even a feed
    # without events (staff, state) holds a component, as RFC 5545 asks.
    calendar.add_component(
        Timezone.from_tzid(
            time_zone, first_date=date(today.year - 1, 1, 1), last_date=date(today.year + 3, 1, 1)
        )
    )
    if user.library_id is None:
        return calendar.to_ical()

    now = datetime.now(UTC)
    pairings = active_pairings_of_library(user.library_id)
    base = base_url.rstrip("/")
    for milestone in _open_milestones(user.library_id, pairings):
        link = base + milestone_path(milestone.id)
        calendar.add_component(_milestone_event(milestone, today, now, host, link))
    last_met = last_check_in_dates(pairing.id for pairing in pairings)
    for pairing in sorted(pairings, key=lambda p: p.id):
        if pairing.next_checkin_on is not None:
            event = _check_in_event(pairing, last_met.get(pairing.id), now, host)
            calendar.add_component(event)
    return calendar.to_ical()
