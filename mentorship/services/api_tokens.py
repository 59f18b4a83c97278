"""Bearer tokens for the read-only JSON API: issue, recognise, revoke.

A token acts for one state official or staff member and sees what a state official
sees. The token itself is shown once when it is issued; only its SHA-256 is stored, so
neither the database nor the audit log holds a working token. A token stops working
when it is revoked, when its person is deactivated, or when their role changes to one
the API does not serve.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import ApiToken, Role, User
from ..models.base import utcnow
from . import audit
from .errors import Conflict, ValidationError

# Whom a token may act for: the API shows what a state official may see.
API_ROLES = (Role.STATE, Role.STAFF)
TOKEN_START = "ssi_"  # recognisable in logs and secret scanners
PREFIX_LENGTH = 12  # "ssi_" and 8 characters: shown in lists to tell tokens apart
# last_used_at is written at most this often per token, so reading does not write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def holder_choices() -> list[tuple[int, str]]:
    """(id, label) of the active people a token may act for."""
    rows = db.session.execute(
        sa.select(User.id, User.name, User.email, User.role)
        .where(User.active.is_(True), User.role.in_(API_ROLES))
        .order_by(User.name, User.email)
    )
    return [(row.id, f"{row.name} ({row.email}, {row.role.value})") for row in rows]


def issue_token(user_id: int | None, name: str, actor: User | None) -> tuple[ApiToken, str]:
    """A new token for `user_id`; returns it with the secret, which is never stored."""
    user = db.session.get(User, user_id or 0)
    if user is None or not user.active or user.role not in API_ROLES:
        raise ValidationError(
            "Choose an active state official or staff member from the list.", "user_id"
        )
    name = name.strip()
    if not name:
        raise ValidationError("Say what the token is for, e.g. “CDE dashboard”.", "name")
    secret = TOKEN_START + secrets.token_urlsafe(32)
    token = ApiToken(
        name=name,
        user_id=user.id,
        token_hash=hash_token(secret),
        prefix=secret[:PREFIX_LENGTH],
        created_by_id=actor.id if actor else None,
    )
    db.session.add(token)
    # The audit row names the token and its person, never the secret.
    audit.record(
        actor,
        "create",
        token,
        {"name": [None, name], "for": [None, user.email], "prefix": [None, token.prefix]},
    )
    return token, secret


def revoke_token(token: ApiToken, actor: User | None) -> None:
    if token.is_revoked:
        raise Conflict("This token was already revoked.")
    token.revoked_at = utcnow()
    token.revoked_by_id = actor.id if actor else None
    audit.record(actor, "revoke", token, {"revoked_at": [None, token.revoked_at]})


def all_tokens() -> list[ApiToken]:
    """Every token, newest first, with the people it names (one query)."""
    return db.session.scalars(
        sa.select(ApiToken)
        .options(
            joinedload(ApiToken.user),
            joinedload(ApiToken.created_by),
            joinedload(ApiToken.revoked_by),
        )
        .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    ).all()


def token_status(token: ApiToken) -> str:
    """In words, whether the token works now (for the staff list)."""
    if token.is_revoked:
        return "revoked"
    if not token.user.active:
        return "not working: the person is deactivated"
    if token.user.role not in API_ROLES:
        return "not working: the person is no longer a state official or staff member"
    return "works"


@dataclass(frozen=True)
class Refusal:
    """Why a request's token was refused: 401 (no valid token) or 403 (wrong person)."""

    status: int
    message: str


def authenticate(authorization: str | None) -> ApiToken | Refusal:
    """The token named by an `Authorization: Bearer …` header value, or why not.

    One query finds the token and its person.
    """
    scheme, _, secret = (authorization or "").strip().partition(" ")
    secret = secret.strip()
    if not authorization:
        return Refusal(401, "Send your API token as “Authorization: Bearer <token>”.")
    if scheme.lower() != "bearer" or not secret or " " in secret:
        return Refusal(401, "The Authorization header must read “Bearer <token>”.")
    token = db.session.scalar(
        sa.select(ApiToken)
        .where(ApiToken.token_hash == hash_token(secret))
        .options(joinedload(ApiToken.user))
    )
    if token is None or token.is_revoked:
        return Refusal(401, "This API token is not valid: it is unknown or was revoked.")
    if not token.user.active or token.user.role not in API_ROLES:
        return Refusal(
            403,
            "The person this token acts for is deactivated or no longer a state official "
            "or staff member; ask program staff for a new token.",
        )
    return token


def note_use(token: ApiToken, now: datetime) -> bool:
    """Record when the token was last used, at most once a minute (True if written)."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return True
