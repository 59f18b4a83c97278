"""Deciding which reminders are due: rows in the outbox, never an email sent here.

Each reminder has a unique key (kind, object, period, recipient): deciding twice — two
schedulers, or a catch-up after downtime — inserts nothing the second time. What
became due while the scheduler was down is decided once, from the database; anything
that should have gone out more than `REMINDER_MAX_AGE_DAYS` ago is left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from markupsafe import escape

from ..extensions import db
from ..models import (
    CLOSED_STATUSES,
    Agreement,
    Cohort,
    EmailOptOut,
    Library,
    Milestone,
    OutboxMessage,
    Pairing,
    PairingStatus,
    Participation,
    Partnership,
    Role,
    SchedulerRun,
    SchoolDistrict,
    User,
)
from .partnerships import expiring_agreements
from .risk import RiskLevel, RiskSettings, assess_pilots, level_counts
from .words import plural


@dataclass(frozen=True)
class Kind:
    key: str
    label: str  # on the preferences page
    staff_only: bool = False


KINDS = (
    Kind("checkin_due", "A check-in with your mentor or mentee is coming up"),
    Kind("checkin_overdue", "A check-in is overdue"),
    Kind("milestone_due", "A milestone is due soon"),
    Kind("milestone_late", "A milestone is late (weekly, at most four times)"),
    Kind("agreement_expiring", "An agreement with a school district is about to expire"),
    Kind("staff_digest", "The weekly digest for program staff", staff_only=True),
)
KIND_KEYS = {kind.key for kind in KINDS}

# Subjects and first sentences; the deployment may override any of them in REMINDER_TEXTS.
DEFAULT_TEXTS = {
    "checkin_due": (
        "{library}: check-in due {date}",
        "Your next check-in ({pair}) is due on {date}.",
    ),
    "checkin_overdue": (
        "{library}: check-in overdue since {date}",
        "The check-in ({pair}) was due on {date} and has not been logged yet.",
    ),
    "milestone_due": (
        "{library}: “{item}” due {date}",
        "The milestone “{item}” is due on {date}.",
    ),
    "milestone_late": (
        "{library}: “{item}” is late (due {date})",
        "The milestone “{item}” was due on {date} and is not done yet.",
    ),
    "agreement_expiring": (
        "{library}: {item} expires {date}",
        "The {item} expires on {date}. Renew it in time, or the students' cards stop.",
    ),
    "staff_digest": (
        "Weekly digest: {item}",
        "This week in the program: {item}.",
    ),
}


@dataclass(frozen=True)
class Due:
    """One reminder that should exist: for whom, about what, and when it fell due."""

    kind: str
    object_type: str
    object_id: int
    period: str
    # Not sent after this day: a "due soon" reminder until the due day itself; a "late"
    # one for REMINDER_MAX_AGE_DAYS after it fell due (no flood of stale reminders).
    relevant_until: date
    library_ids: tuple[int, ...]  # its people receive it (empty: staff)
    fields: dict
    details: tuple[str, ...] = ()  # extra lines (the digest)


def _settings() -> dict:
    return current_app.config


def _text(kind: str) -> tuple[str, str]:
    return {**DEFAULT_TEXTS, **_settings().get("REMINDER_TEXTS", {})}[kind]


def _max_age() -> timedelta:
    return timedelta(days=_settings()["REMINDER_MAX_AGE_DAYS"])


def local_now(now: datetime) -> datetime:
    return now.astimezone(ZoneInfo(_settings()["TIME_ZONE"]))


# What is due -------------------------------------------------------------------------


def _pairs(today: date) -> Iterator[Due]:
    config = _settings()
    pilot = sa.orm.aliased(Participation)
    mentor = sa.orm.aliased(Participation)
    pilot_library = sa.orm.aliased(Library)
    mentor_library = sa.orm.aliased(Library)
    rows = db.session.execute(
        sa.select(
            Pairing.id,
            Pairing.next_checkin_on,
            pilot.library_id,
            mentor.library_id,
            pilot_library.name,
            mentor_library.name,
        )
        .join(pilot, Pairing.pilot_participation_id == pilot.id)
        .join(mentor, Pairing.mentor_participation_id == mentor.id)
        .join(pilot_library, pilot.library_id == pilot_library.id)
        .join(mentor_library, mentor.library_id == mentor_library.id)
        .where(Pairing.status == PairingStatus.ACTIVE, Pairing.next_checkin_on.is_not(None))
    )
    soon, overdue = config["REMINDER_CHECKIN_DUE_DAYS"], config["REMINDER_CHECKIN_OVERDUE_DAYS"]
    for pairing_id, next_on, pilot_id, mentor_id, pilot_name, mentor_name in rows:
        fields = {"date": f"{next_on:%b %-d, %Y}", "pair": f"{pilot_name} with {mentor_name}"}
        for library_id, library in ((pilot_id, pilot_name), (mentor_id, mentor_name)):
            base = {
                "object_type": "Pairing",
                "object_id": pairing_id,
                "period": next_on.isoformat(),
            }
            if next_on - timedelta(days=soon) <= today <= next_on:
                yield Due("checkin_due", **base, relevant_until=next_on,
                          library_ids=(library_id,), fields={**fields, "library": library})  # fmt: skip
            elif today >= next_on + timedelta(days=overdue):
                yield Due("checkin_overdue", **base,
                          relevant_until=next_on + timedelta(days=overdue) + _max_age(),
                          library_ids=(library_id,), fields={**fields, "library": library})  # fmt: skip


def _milestones(today: date) -> Iterator[Due]:
    config = _settings()
    soon, times = config["REMINDER_MILESTONE_DUE_DAYS"], config["REMINDER_MILESTONE_LATE_TIMES"]
    rows = db.session.execute(
        sa.select(
            Milestone.id,
            Milestone.title,
            Milestone.due_on,
            Participation.library_id,
            Library.name,
            SchoolDistrict.name,
        )
        .join(Participation, Milestone.participation_id == Participation.id)
        .join(Participation.cohort)
        .join(Library, Participation.library_id == Library.id)
        .outerjoin(Partnership, Milestone.partnership_id == Partnership.id)
        .outerjoin(SchoolDistrict, Partnership.district_id == SchoolDistrict.id)
        .where(
            Participation.active.is_(True),
            Cohort.active.is_(True),
            Milestone.status.not_in(CLOSED_STATUSES),
            Milestone.due_on <= today + timedelta(days=soon),
            # The last weekly "late" reminder falls due 1 + 7 × (times - 1) days after the
            # due day, and is still sent for REMINDER_MAX_AGE_DAYS after that.
            Milestone.due_on >= today - timedelta(days=1 + 7 * (times - 1)) - _max_age(),
        )
    )
    for milestone_id, title, due_on, library_id, library, district in rows:
        item = f"{title} ({district})" if district else title
        fields = {"library": library, "item": item, "date": f"{due_on:%b %-d, %Y}"}
        if today <= due_on:
            yield Due("milestone_due", "Milestone", milestone_id, due_on.isoformat(), due_on,
                      (library_id,), fields)  # fmt: skip
        else:
            # Late: on its first day late, then every 7 days, at most `times` times; the
            # latest one fallen due (decide() drops it once older than its age rule).
            time = min(((today - due_on).days - 1) // 7 + 1, times)
            fell = due_on + timedelta(days=1 + 7 * (time - 1))
            yield Due("milestone_late", "Milestone", milestone_id, f"{due_on}/{time}",
                      fell + _max_age(), (library_id,), fields)  # fmt: skip


def _agreements(today: date) -> Iterator[Due]:
    windows = sorted(_settings()["REMINDER_AGREEMENT_DAYS"], reverse=True)  # 90, 30
    for row in expiring_agreements(today, days=windows[0]):
        if row.expired:
            continue
        window = min(w for w in windows if row.days_left <= w)
        agreement: Agreement = row.agreement
        partnership = agreement.partnership
        fields = {
            "library": partnership.library.name,
            "item": f"{agreement.kind} with {partnership.district.name}",
            "date": f"{agreement.expires_on:%b %-d, %Y}",
        }
        yield Due("agreement_expiring", "Agreement", agreement.id,
                  f"{agreement.expires_on}/{window}", agreement.expires_on,
                  (partnership.library_id,), fields)  # fmt: skip


def _digest(now: datetime) -> Iterator[Due]:
    """Staff's weekly digest, once the week's digest time (Monday 08:00 Pacific) has come."""
    config = _settings()
    local = local_now(now)
    week_start = local.date() - timedelta(days=local.weekday())
    send_day = week_start + timedelta(days=config["REMINDER_DIGEST_WEEKDAY"])
    if (local.date(), local.hour) < (send_day, config["REMINDER_DIGEST_HOUR"]):
        return
    today = local.date()
    assessed = assess_pilots(today, RiskSettings.from_config(config))
    counts = level_counts(assessed)
    risks = [r for r in assessed if r.level]
    expiring = [row for row in expiring_agreements(today, days=30) if not row.expired]
    overdue = db.session.scalar(
        sa.select(sa.func.count(Pairing.id)).where(
            Pairing.status == PairingStatus.ACTIVE, Pairing.next_checkin_on < today
        )
    )
    summary = (
        f"{plural(counts[RiskLevel.AT_RISK], 'pilot')} at risk, "
        f"{counts[RiskLevel.NEEDS_ATTENTION]} "
        f"{'needs' if counts[RiskLevel.NEEDS_ATTENTION] == 1 else 'need'} attention, "
        f"{plural(overdue, 'check-in')} overdue, {plural(len(expiring), 'agreement')} "
        f"{'expires' if len(expiring) == 1 else 'expire'} within 30 days"
    )
    details = tuple(
        f"{r.participation.library.name} ({r.level.label}): {'; '.join(r.reasons)}"
        for r in risks[:30]
    ) + tuple(
        f"{row.agreement.partnership.library.name}: {row.agreement.kind} with "
        f"{row.agreement.partnership.district.name} expires {row.agreement.expires_on:%b %-d}"
        for row in expiring
    )
    year, week, _ = send_day.isocalendar()
    yield Due("staff_digest", "Program", 0, f"{year}-W{week:02d}", send_day + _max_age(), (),
              {"item": summary, "library": "", "date": ""}, details)  # fmt: skip


# Deciding ---------------------------------------------------------------------------


def _recipients(library_ids: set[int]) -> tuple[dict[int, list[tuple[int, str]]], list[int]]:
    """{library id: [(user id, name)]} of active librarians, and the active staff."""
    by_library: dict[int, list[tuple[int, str]]] = defaultdict(list)
    staff = []
    for user_id, name, library_id, role in db.session.execute(
        sa.select(User.id, User.name, User.library_id, User.role).where(
            User.active.is_(True),
            sa.or_(User.library_id.in_(library_ids), User.role == Role.STAFF),
        )
    ):
        if role == Role.STAFF:
            staff.append(user_id)
        else:
            by_library[library_id].append((user_id, name))
    return by_library, staff


def _render(due: Due) -> tuple[str, str, str]:
    subject_format, intro_format = _text(due.kind)
    subject = subject_format.format(**due.fields)
    intro = intro_format.format(**due.fields)
    base = _settings()["BASE_URL"].rstrip("/")
    text = "\n".join(
        [intro, *(f"- {line}" for line in due.details), "", f"Open the program: {base}/"]
    )
    html = (
        f"<p>{escape(intro)}</p>"
        + (
            "<ul>" + "".join(f"<li>{escape(line)}</li>" for line in due.details) + "</ul>"
            if due.details
            else ""
        )
        + f'<p><a href="{escape(base)}/">Open the program</a></p>'
    )
    return subject[:300], text, html


def decide(now: datetime | None = None) -> int:
    """Write every reminder due now to the outbox; returns how many rows were new. The
    caller (the scheduler's job) commits."""
    now = now or datetime.now(UTC)
    today = local_now(now).date()
    candidates = [
        due
        for source in (_pairs(today), _milestones(today), _agreements(today), _digest(now))
        for due in source
        if today <= due.relevant_until
    ]
    by_library, staff = _recipients({i for due in candidates for i in due.library_ids})
    opted_out = set(db.session.execute(sa.select(EmailOptOut.user_id, EmailOptOut.kind)))
    rows = []
    for due in candidates:
        subject, text, html = _render(due)
        people = (
            [user for library_id in due.library_ids for user, _ in by_library.get(library_id, [])]
            if due.library_ids
            else staff
        )
        for user_id in people:
            if (user_id, due.kind) in opted_out:
                continue
            rows.append(
                {
                    "kind": due.kind,
                    "object_type": due.object_type,
                    "object_id": due.object_id,
                    "period": due.period,
                    "recipient_id": user_id,
                    "subject": subject,
                    "body_text": text,
                    "body_html": html,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "created_at": now,
                    "last_error": "",
                    "resends": 0,
                    # The sender applies the same age rule: not sent after this day.
                    "relevant_until": due.relevant_until,
                }
            )
    inserted = _insert_new(rows)
    _ran("decide", now)
    return inserted


OUTBOX_COLUMNS = (
    "kind", "object_type", "object_id", "period", "recipient_id", "subject", "body_text",
    "body_html", "status", "attempts", "next_attempt_at", "created_at", "last_error",
    "resends", "relevant_until",
)  # fmt: skip
OUTBOX_KEY = "kind, object_type, object_id, period, recipient_id"


def _insert_new(rows: list[dict]) -> int:
    """Insert the rows whose unique key is new (INSERT … ON CONFLICT DO NOTHING); returns
    how many this call inserted (not rows another scheduler inserted meanwhile)."""
    if not rows:
        return 0
    if db.session.get_bind().dialect.name == "postgresql":
        return _copy_in(rows)  # COPY is PostgreSQL's fast way in: 100,000 rows in seconds
    from sqlalchemy.dialects.sqlite import insert

    statement = (
        insert(OutboxMessage.__table__)
        .on_conflict_do_nothing(index_elements=[name.strip() for name in OUTBOX_KEY.split(",")])
        .returning(OutboxMessage.__table__.c.id)
    )
    return sum(
        len(db.session.execute(statement, rows[start : start + 500]).all())
        for start in range(0, len(rows), 500)
    )


def _copy_in(rows: list[dict]) -> int:
    columns = ", ".join(OUTBOX_COLUMNS)
    cursor = db.session.connection().connection.cursor()
    cursor.execute(
        "CREATE TEMP TABLE IF NOT EXISTS outbox_incoming "
        "(LIKE outbox_messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    with cursor.copy(f"COPY outbox_incoming ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in OUTBOX_COLUMNS])
    cursor.execute(
        f"INSERT INTO outbox_messages ({columns}) SELECT {columns} FROM outbox_incoming "
        f"ON CONFLICT ({OUTBOX_KEY}) DO NOTHING"
    )
    inserted = cursor.rowcount
    cursor.execute("TRUNCATE outbox_incoming")
    return inserted


def _ran(job: str, now: datetime) -> None:
    run = db.session.get(SchedulerRun, job)
    if run is None:
        db.session.add(SchedulerRun(job=job, last_run_at=now))
    else:
        run.last_run_at = now


def last_run(job: str) -> datetime | None:
    run = db.session.get(SchedulerRun, job)
    return run.last_run_at if run else None


def kinds_for(user: User) -> list[Kind]:
    return [kind for kind in KINDS if not kind.staff_only or user.role == Role.STAFF]


def opted_out_kinds(user: User) -> set[str]:
    return set(
        db.session.scalars(sa.select(EmailOptOut.kind).where(EmailOptOut.user_id == user.id))
    )


def set_preferences(user: User, wanted: set[str]) -> None:
    """Keep exactly the kinds the person wants; the others become opt-outs."""
    unwanted = {kind.key for kind in kinds_for(user)} - wanted
    current = opted_out_kinds(user)
    for kind in unwanted - current:
        db.session.add(EmailOptOut(user_id=user.id, kind=kind))
    if current - unwanted:
        db.session.execute(
            sa.delete(EmailOptOut).where(
                EmailOptOut.user_id == user.id, EmailOptOut.kind.in_(current - unwanted)
            )
        )


def opt_out(user_id: int, kind: str) -> None:
    """The one-click unsubscribe (safe to repeat)."""
    if kind in KIND_KEYS and not db.session.scalar(
        sa.select(EmailOptOut.id).where(EmailOptOut.user_id == user_id, EmailOptOut.kind == kind)
    ):
        db.session.add(EmailOptOut(user_id=user_id, kind=kind))
