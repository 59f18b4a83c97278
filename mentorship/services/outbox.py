"""Delivering the outbox: each row to its person once, however many senders run.

The states of a row: `pending` (waiting for its time) → `claimed` (one sender holds it)
→ `sending` (recorded just before its final dot) → `sent` (the server answered 250 to
that dot). Besides: `skipped` (not sent on purpose, the reason in `last_error`: out of
date, opted out, account closed), `failed` (the server refused it on every try) and
`unconfirmed` (the dot may have reached the server but no reply came back).

- A sender claims a batch (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer, one
  conditional UPDATE) and sends it a group at a time, one message per SMTP connection.
  Each group's record (`UPDATE … RETURNING`) also refreshes the claim on the rest, so a
  live sender's claim never expires; the rows it returns are the ones this sender still
  holds, and only those get their dot: a message whose row was taken over has its
  connection closed, and the server drops it.
- A claim not refreshed for `OUTBOX_CLAIM_TIMEOUT` (its sender died before recording)
  is taken over; nothing of it reached anyone. A `sending` row left that long (its
  sender died between the record and the reply) becomes `unconfirmed`, as does a row
  whose connection failed after its dot: shown to staff, and sent again only when
  `OUTBOX_RESEND_UNCONFIRMED` allows (with the same Message-ID and X-Outbox-Key).
- A refusal of the message (4xx/5xx to its RCPT, DATA or dot) costs it an attempt, with
  backoff, until `OUTBOX_MAX_ATTEMPTS`. A server that cannot be reached, or goes away
  before a dot, costs nothing: the untried rows go back as they were, the senders try
  again at their next run, and staff see since when the server is unreachable.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import OperationalError

from .. import mail
from ..extensions import db
from ..models import EmailOptOut, MailServerState, OutboxMessage, OutboxStatus, User

log = logging.getLogger(__name__)
UNSUBSCRIBE_SALT = "unsubscribe"
MAIL_SERVER = "smtp"  # the MailServerState row the senders keep
STOPPED = (
    "unconfirmed: the sender stopped after recording this message and before the mail "
    "server confirmed it; it may or may not have been delivered"
)


def _now() -> datetime:
    return datetime.now(UTC)


def _today(now: datetime) -> date:
    from zoneinfo import ZoneInfo

    return now.astimezone(ZoneInfo(current_app.config["TIME_ZONE"])).date()


@dataclass(frozen=True)
class _Claimed:
    """What sending needs, read once: no lazy loads while talking to the SMTP server."""

    id: int
    token: str
    kind: str
    attempts: int
    subject: str
    body_text: str
    body_html: str
    recipient_id: int
    relevant_until: date | None
    created_at: datetime
    email: str
    active: bool


def _sweep(now: datetime) -> None:
    """Rows a dead sender left between its record and the server's reply become
    unconfirmed; unconfirmed rows go back to pending while resends are allowed."""
    stale = now - timedelta(seconds=current_app.config["OUTBOX_CLAIM_TIMEOUT"])
    resends = current_app.config["OUTBOX_RESEND_UNCONFIRMED"]
    try:
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < stale)
            .values(status=OutboxStatus.UNCONFIRMED, last_error=STOPPED)
            .execution_options(synchronize_session=False)
        )
        if resends:
            db.session.execute(
                sa.update(OutboxMessage)
                .where(
                    OutboxMessage.status == OutboxStatus.UNCONFIRMED,
                    OutboxMessage.resends < resends,
                )
                .values(
                    status=OutboxStatus.PENDING,
                    resends=OutboxMessage.resends + 1,
                    claim_token=None,
                    next_attempt_at=now,
                )
                .execution_options(synchronize_session=False)
            )
        db.session.commit()
    except OperationalError:  # another sender sweeps at the same moment: next round
        db.session.rollback()


def claim(batch_size: int, now: datetime | None = None) -> list[_Claimed]:
    """Take up to `batch_size` due rows for this sender; committed before returning."""
    now = now or _now()
    _sweep(now)
    stale = now - timedelta(seconds=current_app.config["OUTBOX_CLAIM_TIMEOUT"])
    claimable = sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == OutboxStatus.CLAIMED, OutboxMessage.claimed_at < stale),
    )
    token = secrets.token_hex(16)
    try:
        # Due rows first (the (status, next_attempt_at) index finds them), then any a dead
        # sender left behind; ordered by time due, so nobody waits behind a newer row.
        ids = []
        for condition, order in (
            (claimable.clauses[0], OutboxMessage.next_attempt_at),
            (claimable.clauses[1], OutboxMessage.claimed_at),
        ):
            if len(ids) < batch_size:
                ids += db.session.scalars(
                    sa.select(OutboxMessage.id)
                    .where(condition)
                    .order_by(order)
                    .limit(batch_size - len(ids))
                    .with_for_update(skip_locked=True)
                ).all()
        if not ids:
            db.session.rollback()
            return []
        db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), claimable)  # still claimable: nobody beat us
            .values(status=OutboxStatus.CLAIMED, claim_token=token, claimed_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    except OperationalError:  # SQLite: another writer holds the lock; next round
        db.session.rollback()
        return []
    # Plain tuples, not ORM objects: nothing lazy-loads while we talk to the SMTP server.
    rows = db.session.execute(
        sa.select(
            OutboxMessage.id,
            OutboxMessage.claim_token,
            OutboxMessage.kind,
            OutboxMessage.attempts,
            OutboxMessage.subject,
            OutboxMessage.body_text,
            OutboxMessage.body_html,
            OutboxMessage.recipient_id,
            OutboxMessage.relevant_until,
            OutboxMessage.created_at,
            User.email,
            User.active,
        )  # fmt: skip
        .join(User, User.id == OutboxMessage.recipient_id)
        .where(
            OutboxMessage.id.in_(ids),  # by primary key: claim_token needs no index of its own
            OutboxMessage.claim_token == token,
            OutboxMessage.status == OutboxStatus.CLAIMED,
        )
        .order_by(OutboxMessage.id)
    ).all()
    claimed = [_Claimed(*row) for row in rows]
    db.session.commit()
    return claimed


@dataclass
class Delivery:
    sent: int = 0
    skipped: int = 0  # out of date, or the person opted out or left since the decision
    retried: int = 0  # refused, tried again later
    failed: int = 0  # refused for the last time
    unconfirmed: int = 0  # no reply to the final dot
    released: int = 0  # given back untouched: the server could not take them
    lost: int = 0  # another sender took the claim over (this one was too slow)
    trouble: str = ""  # the mail server's fault, if any: the sender stops until its next run

    def __iadd__(self, other: Delivery) -> Delivery:
        for field in fields(self):
            if field.name != "trouble":
                setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))
        self.trouble = other.trouble or self.trouble
        return self

    @property
    def done(self) -> int:
        return self.sent + self.skipped + self.retried + self.failed + self.unconfirmed


def send_due(
    batch_size: int | None = None, max_batches: int | None = None, now: datetime | None = None
) -> Delivery:
    """Claim and deliver batches until nothing is due, `max_batches` were done, or the
    mail server is in trouble (the next run tries again). `now` only dates the age
    rule (an operator's replay); claims and retries keep the clock. The SMTP
    connections stay open from one batch to the next."""
    batch_size = batch_size or current_app.config["OUTBOX_CLAIM_BATCH"]
    total, batches = Delivery(), 0
    with mail.outgoing(current_app.config["OUTBOX_CONNECTIONS"]) as outgoing:
        while max_batches is None or batches < max_batches:
            rows = claim(batch_size)
            if not rows:
                break
            total += deliver(rows, today=_today(now or _now()), outgoing=outgoing)
            batches += 1
            if total.trouble:
                break
    return total


@contextmanager
def _marker():
    """A connection of its own that commits every change at once (autocommit)."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        if connection.dialect.name == "postgresql":
            # Don't wait for the disk: a killed *sender* loses nothing once committed;
            # only a crash of the database server itself could forget the last marks.
            connection.exec_driver_sql("SET synchronous_commit TO OFF")
        yield connection
        if connection.dialect.name == "postgresql":
            connection.exec_driver_sql("RESET synchronous_commit")


def _change(
    connection, rows: list[_Claimed], held_as: OutboxStatus | tuple[OutboxStatus, ...], **values
) -> int:
    """Change rows this sender still holds in state `held_as`, in one statement;
    committed when it returns. Returns how many it changed."""
    if not rows:
        return 0
    held = held_as if isinstance(held_as, tuple) else (held_as,)
    return connection.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id.in_([row.id for row in rows]),
            OutboxMessage.claim_token == rows[0].token,
            OutboxMessage.status.in_(held),
        )
        .values(**values)
    ).rowcount


def _hold(connection, token: str, begun: list[int]) -> set[int]:
    """Record begun messages as `sending`, refreshing their claim; returns the ids this
    sender still holds (the others were taken over)."""
    if not begun:
        return set()
    return set(
        connection.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(begun),
                OutboxMessage.claim_token == token,
                OutboxMessage.status == OutboxStatus.CLAIMED,
            )
            .values(status=OutboxStatus.SENDING, claimed_at=_now())
            .returning(OutboxMessage.id)
        ).scalars()
    )


def _confirm(connection, token: str, confirmed: list[int]) -> int:
    """Record as `sent` the messages the server answered 250 to."""
    if not confirmed:
        return 0
    return connection.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(confirmed),
            OutboxMessage.claim_token == token,
            # A sender paused past the timeout finds its rows unconfirmed: the 250
            # settles them (unless they went back to be sent again: then they repeat).
            OutboxMessage.status.in_([OutboxStatus.SENDING, OutboxStatus.UNCONFIRMED]),
        )
        .values(status=OutboxStatus.SENT, sent_at=_now(), last_error="")
    ).rowcount


def _refresh(connection, token: str, rest: list[int]) -> set[int]:
    """Keep the claim on rows not yet sent; returns those this sender still holds."""
    if not rest:
        return set()
    return set(
        connection.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.id.in_(rest),
                OutboxMessage.claim_token == token,
                OutboxMessage.status == OutboxStatus.CLAIMED,
            )
            .values(claimed_at=_now())
            .returning(OutboxMessage.id)
        ).scalars()
    )


def deliver(
    rows: list[_Claimed], today: date | None = None, outgoing: mail.Outgoing | None = None
) -> Delivery:
    opted_out = set(
        db.session.execute(
            sa.select(EmailOptOut.user_id, EmailOptOut.kind).where(
                EmailOptOut.user_id.in_({row.recipient_id for row in rows})
            )
        )
    )
    db.session.commit()  # no transaction stays open while we talk to the SMTP server
    with _marker() as marks:
        if outgoing is not None:
            return _deliver(rows, opted_out, marks, today or _today(_now()), outgoing)
        with mail.outgoing(current_app.config["OUTBOX_CONNECTIONS"]) as own:
            return _deliver(rows, opted_out, marks, today or _today(_now()), own)


def _skip_reason(row: _Claimed, opted_out: set, today: date) -> str:
    if not row.active:
        return "skipped: the person's account was closed after the reminder was decided"
    if (row.recipient_id, row.kind) in opted_out:
        return "skipped: the person chose not to receive this kind of reminder"
    if row.relevant_until is not None and today > row.relevant_until:
        return (
            f"skipped: out of date (useful until {row.relevant_until:%b %-d, %Y}; "
            f"the sender ran on {today:%b %-d, %Y}, after a stop)"
        )
    return ""


def _deliver(
    rows: list[_Claimed], opted_out: set, marks, today: date, outgoing: mail.Outgoing
) -> Delivery:
    result = Delivery()
    skipped: dict[str, list[_Claimed]] = defaultdict(list)
    sendable = []
    for row in rows:
        reason = _skip_reason(row, opted_out, today)
        (skipped[reason] if reason else sendable).append(row)
    for reason, group in skipped.items():
        result.skipped += _change(
            marks, group, OutboxStatus.CLAIMED, status=OutboxStatus.SKIPPED, last_error=reason
        )
    if not sendable:
        return result
    token = sendable[0].token
    # The claim is refreshed with each group's record; rows not yet begun are refreshed
    # on their own every quarter of the timeout, so a live sender's claim never expires.
    every = current_app.config["OUTBOX_CLAIM_TIMEOUT"] / 4
    refreshed = time.monotonic()
    while sendable:
        try:
            slots = outgoing.connect()
        except mail.ServerTrouble as trouble:
            result.released += _release(marks, sendable)
            result.trouble = f"the mail server is unreachable: {trouble}"
            _server_unreachable(marks, str(trouble))
            break
        if not outgoing.reachable_noted:
            outgoing.reachable_noted = True
            _server_reachable(marks)
        if time.monotonic() - refreshed > every:
            held = _refresh(marks, token, [row.id for row in sendable])
            result.lost += sum(1 for row in sendable if row.id not in held)
            sendable = [row for row in sendable if row.id in held]
            refreshed = time.monotonic()
        group, sendable = sendable[: len(slots)], sendable[len(slots) :]
        _send_group(outgoing, marks, token, dict(zip(slots, group, strict=False)), result)
    return result


def _send_group(
    outgoing: mail.Outgoing, marks, token: str, group: dict[int, _Claimed], result: Delivery
) -> None:
    """One message on each slot: begin; record them as sending (refreshing the claim);
    dot; reply; record the confirmed ones as sent."""
    begun: dict[int, _Claimed] = {}
    for slot, row in group.items():
        try:
            outgoing.begin(slot, _mail_for(row))
            begun[slot] = row
        except mail.Refused as refused:
            result += _refused(marks, row, OutboxStatus.CLAIMED, str(refused))
        except mail.ServerTrouble as trouble:  # before its dot: nothing arrived
            result.released += _release(marks, [row])
            result.trouble = f"the mail server went away: {trouble}"
    held = _hold(marks, token, [r.id for r in begun.values()])
    for slot, row in list(begun.items()):
        if row.id not in held:  # taken over: close it, and the server drops it
            outgoing.drop(slot)
            del begun[slot]
            result.lost += 1
    outcome: dict[int, Exception | None] = outgoing.write_dots(list(begun))
    outcome.update(outgoing.read_replies([s for s in begun if s not in outcome]))
    for slot, reply in outcome.items():
        if isinstance(reply, mail.Refused):
            result += _refused(marks, begun[slot], OutboxStatus.SENDING, str(reply))
        elif reply is not None:
            result.unconfirmed += _change(
                marks,
                [begun[slot]],
                OutboxStatus.SENDING,
                status=OutboxStatus.UNCONFIRMED,
                last_error=(
                    "unconfirmed: the connection failed after the final dot, before the "
                    f"server's reply ({reply}); it may or may not have been delivered"
                )[:2000],
            )
    confirmed = [begun[slot].id for slot, reply in outcome.items() if reply is None]
    result.sent += _confirm(marks, token, confirmed)


def _release(marks, rows: list[_Claimed]) -> int:
    """Give rows back as they were: not the message's fault, so no attempt is spent."""
    return _change(marks, rows, OutboxStatus.CLAIMED, status=OutboxStatus.PENDING, claim_token=None)


def _refused(marks, row: _Claimed, held_as: OutboxStatus, error: str) -> Delivery:
    """The server refused this message: one attempt spent, then backoff or failed."""
    attempts = row.attempts + 1
    if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        _change(
            marks,
            [row],
            held_as,
            status=OutboxStatus.FAILED,
            attempts=attempts,
            last_error=f"refused: {error}"[:2000],
        )
        return Delivery(failed=1)
    backoff = current_app.config["OUTBOX_RETRY_SECONDS"] * 2 ** (attempts - 1)
    _change(
        marks,
        [row],
        held_as,
        status=OutboxStatus.PENDING,
        attempts=attempts,
        last_error=f"refused: {error}"[:2000],
        next_attempt_at=_now() + timedelta(seconds=backoff),
        claim_token=None,
    )
    return Delivery(retried=1)


def _server_unreachable(marks, error: str) -> None:
    """Note the outage; its start stays the first failure's time."""
    now = _now()
    table = MailServerState.__table__
    if marks.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(table).values(
        name=MAIL_SERVER, unreachable_since=now, last_error=error[:2000], checked_at=now
    )
    marks.execute(
        statement.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "unreachable_since": sa.func.coalesce(table.c.unreachable_since, now),
                "last_error": statement.excluded.last_error,
                "checked_at": now,
            },
        )
    )


def _server_reachable(marks) -> None:
    marks.execute(
        sa.update(MailServerState)
        .where(MailServerState.name == MAIL_SERVER, MailServerState.unreachable_since.is_not(None))
        .values(unreachable_since=None, checked_at=_now())
    )


def mail_server_state() -> MailServerState | None:
    """The outage staff should know about, if any."""
    state = db.session.get(MailServerState, MAIL_SERVER)
    return state if state is not None and state.unreachable_since is not None else None


RETRYABLE = (OutboxStatus.FAILED, OutboxStatus.UNCONFIRMED)


def retry(message: OutboxMessage) -> None:
    """Staff send a failed or unconfirmed row again (an unconfirmed one keeps its
    Message-ID, so a receiver that got it the first time can tell)."""
    message.status = OutboxStatus.PENDING
    message.attempts = 0
    message.next_attempt_at = _now()
    message.claim_token = None


# Unsubscribing --------------------------------------------------------------------


def _serializer() -> URLSafeSerializer:
    # One per app: deriving the signing key for every email costs as much as the email.
    serializer = current_app.extensions.get("unsubscribe_serializer")
    if serializer is None:
        serializer = URLSafeSerializer(current_app.config["SECRET_KEY"], salt=UNSUBSCRIBE_SALT)
        current_app.extensions["unsubscribe_serializer"] = serializer
    return serializer


def _kinds() -> tuple[str, ...]:
    from .reminders import KINDS  # their order is fixed: new kinds are added at the end

    return tuple(kind.key for kind in KINDS)


def _signature(user_id: int, kind: str) -> str:
    digest = _serializer().make_signer().get_signature(f"{user_id}:{kind}".encode())
    return digest.decode()[:16]  # 96 bits: plenty for an unsubscribe link


def unsubscribe_token(user_id: int, kind: str) -> str:
    """Short (user.kind.signature): the link fits a 78-character header line."""
    return f"{user_id}.{_kinds().index(kind)}.{_signature(user_id, kind)}"


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    import hmac

    parts = token.split(".")
    if len(parts) == 3 and parts[0].isdigit() and parts[1].isdigit():
        user_id, index = int(parts[0]), int(parts[1])
        kinds = _kinds()
        if index < len(kinds) and hmac.compare_digest(parts[2], _signature(user_id, kinds[index])):
            return user_id, kinds[index]
        return None
    try:  # the longer tokens of emails sent before
        user_id, kind = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    return int(user_id), str(kind)


# The one-click unsubscribe page's address: the reminders blueprint serves this path,
# and the scheduler (which has no request) writes it into every email.
UNSUBSCRIBE_PATH = "/unsubscribe/"


def unsubscribe_url(user_id: int, kind: str) -> str:
    """BASE_URL + the unsubscribe page for this token."""
    base = current_app.config["BASE_URL"].rstrip("/")
    return base + UNSUBSCRIBE_PATH + unsubscribe_token(user_id, kind)


def message_id(row_id: int, created_at: datetime, domain: str) -> str:
    """The same for every try of one row: a receiver, or staff, can spot a repeat."""
    return f"<outbox.{row_id}.{created_at:%Y%m%d%H%M%S}@{domain}>"


def _mail_for(row: _Claimed) -> mail.Mail:
    link = unsubscribe_url(row.recipient_id, row.kind)
    footer_text = f"\n\n—\nStop these emails: {link}\n"
    footer_html = (
        f'<hr><p style="font-size:small">Stop these emails: <a href="{link}">unsubscribe</a></p>'
    )
    return mail.Mail(
        to=(row.email,),
        subject=row.subject,
        body=row.body_text + footer_text,
        html=row.body_html + footer_html,
        headers=(
            ("X-Outbox-Key", str(row.id)),
            ("List-Unsubscribe", f"<{link}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ),
        message_id=message_id(row.id, row.created_at, _sender_domain()),
    )


def _sender_domain() -> str:
    domain = current_app.extensions.get("outbox_sender_domain")
    if domain is None:
        domain = mail.sender_domain(mail.default_sender(current_app.config))
        current_app.extensions["outbox_sender_domain"] = domain
    return domain


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({str(getattr(status, "value", status)): n for status, n in rows})
    return counts
