"""Delivering the outbox: each row to its person exactly once, however many senders run.

A sender claims a batch of due rows (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so two
senders never pick the same row; SQLite: one writer at a time, and the claim is one
conditional UPDATE), then sends them one by one. A row is marked sent in the database
before the message's final dot goes to the SMTP server (see `mail.Outgoing`). A claim
left behind by a sender that died is taken over after `OUTBOX_CLAIM_TIMEOUT` seconds.
Failed deliveries are retried with backoff; after `OUTBOX_MAX_ATTEMPTS` the row is
marked failed and staff can retry it.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.exc import OperationalError

from .. import mail
from ..extensions import db
from ..models import EmailOptOut, OutboxMessage, OutboxStatus, User

log = logging.getLogger(__name__)
UNSUBSCRIBE_SALT = "unsubscribe"


def _now() -> datetime:
    return datetime.now(UTC)


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
    email: str
    active: bool


def claim(batch_size: int, now: datetime | None = None) -> list[_Claimed]:
    """Take up to `batch_size` due rows for this sender; committed before returning."""
    now = now or _now()
    stale = now - timedelta(seconds=current_app.config["OUTBOX_CLAIM_TIMEOUT"])
    claimable = sa.or_(
        sa.and_(OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
        sa.and_(OutboxMessage.status == OutboxStatus.SENDING, OutboxMessage.claimed_at < stale),
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
            .values(status=OutboxStatus.SENDING, claim_token=token, claimed_at=now)
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
            User.email,
            User.active,
        )  # fmt: skip
        .join(User, User.id == OutboxMessage.recipient_id)
        .where(
            OutboxMessage.id.in_(ids),  # by primary key: claim_token needs no index of its own
            OutboxMessage.claim_token == token,
            OutboxMessage.status == OutboxStatus.SENDING,
        )
        .order_by(OutboxMessage.id)
    ).all()
    claimed = [_Claimed(*row) for row in rows]
    db.session.commit()
    return claimed


@dataclass
class Delivery:
    sent: int = 0
    skipped: int = 0  # the person opted out or left since the decision
    retried: int = 0
    failed: int = 0

    def __iadd__(self, other: Delivery) -> Delivery:
        for name in ("sent", "skipped", "retried", "failed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def send_due(batch_size: int | None = None, max_batches: int | None = None) -> Delivery:
    """Claim and deliver batches until nothing is due (or `max_batches` were done)."""
    batch_size = batch_size or current_app.config["OUTBOX_CLAIM_BATCH"]
    total, batches = Delivery(), 0
    while max_batches is None or batches < max_batches:
        rows = claim(batch_size)
        if not rows:
            break
        total += deliver(rows)
        batches += 1
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


def _mark_many(connection, rows: list[_Claimed], **values) -> None:
    """Change rows this sender still holds, in one statement; committed when it returns."""
    if not rows:
        return
    connection.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id.in_([row.id for row in rows]),
            OutboxMessage.claim_token == rows[0].token,
        )
        .values(**values)
    )


def _mark(connection, row_id: int, token: str, **values) -> None:
    """Change a row this sender still holds; committed when this returns."""
    connection.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == row_id, OutboxMessage.claim_token == token)
        .values(**values)
    )


def deliver(rows: list[_Claimed]) -> Delivery:
    opted_out = set(
        db.session.execute(
            sa.select(EmailOptOut.user_id, EmailOptOut.kind).where(
                EmailOptOut.user_id.in_({row.recipient_id for row in rows})
            )
        )
    )
    db.session.commit()  # no transaction stays open while we talk to the SMTP server
    with _marker() as marks:
        return _deliver(rows, opted_out, marks, Delivery())


def _deliver(pending: list[_Claimed], opted_out: set, marks, result: Delivery) -> Delivery:
    width = current_app.config["OUTBOX_CONNECTIONS"]
    try:
        with mail.outgoing(connections=width) as outgoing:
            while pending:
                batch, pending = pending[: outgoing.width], pending[outgoing.width :]
                skipped = [
                    r for r in batch if not r.active or (r.recipient_id, r.kind) in opted_out
                ]
                if skipped:
                    _mark_many(marks, skipped, status=OutboxStatus.SENT, last_error="opted out")
                    result.skipped += len(skipped)
                batch = [r for r in batch if r not in skipped]
                outcome = outgoing.send_many(
                    [_mail_for(row) for row in batch],
                    lambda ready, batch=batch: _mark_many(
                        marks,
                        [batch[i] for i in ready],
                        status=OutboxStatus.SENT,
                        sent_at=_now(),
                        attempts=OutboxMessage.attempts + 1,
                    ),
                )
                for row, refused in zip(batch, outcome, strict=True):
                    if refused is None:
                        result.sent += 1
                    else:
                        result += _retry_later(marks, row, str(refused))
    except (OSError, smtplib.SMTPException) as error:  # the server went away: the rest wait
        for row in pending:
            result += _retry_later(marks, row, str(error))
    return result


def _retry_later(marks, row: _Claimed, error: str) -> Delivery:
    attempts = row.attempts + 1
    if attempts >= current_app.config["OUTBOX_MAX_ATTEMPTS"]:
        _mark(
            marks,
            row.id,
            row.token,
            status=OutboxStatus.FAILED,
            attempts=attempts,
            last_error=error[:2000],
        )
        return Delivery(failed=1)
    backoff = current_app.config["OUTBOX_RETRY_SECONDS"] * 2 ** (attempts - 1)
    _mark(
        marks,
        row.id,
        row.token,
        status=OutboxStatus.PENDING,
        attempts=attempts,
        last_error=error[:2000],
        next_attempt_at=_now() + timedelta(seconds=backoff),
        claim_token=None,
    )
    return Delivery(retried=1)


def retry(message: OutboxMessage) -> None:
    """Staff send a failed row again."""
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


def unsubscribe_token(user_id: int, kind: str) -> str:
    return _serializer().dumps([user_id, kind])


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    try:
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
            ("List-Unsubscribe", f"<{link}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        ),
    )


def status_counts() -> dict[str, int]:
    rows = db.session.execute(
        sa.select(OutboxMessage.status, sa.func.count()).group_by(OutboxMessage.status)
    ).all()
    counts = {status.value: 0 for status in OutboxStatus}
    counts.update({str(getattr(status, "value", status)): n for status, n in rows})
    return counts
