"""Passwords, sign-in and set-password links."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from zxcvbn import zxcvbn

from ..extensions import db
from ..models import User
from ..models.base import utcnow
from ..models.user import new_session_token
from . import audit
from .errors import ValidationError

_hasher = PasswordHasher()
# Verified against when the email is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def use_fast_hashing_for_tests() -> None:
    """Cheap Argon2 parameters; only create_app(TESTING) calls this."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    _DUMMY_HASH = _hasher.hash("not-a-real-password")


MIN_PASSWORD_LENGTH = 12
_LINK_SALT = "set-password"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


@dataclass
class SignInResult:
    user: User | None
    message: str | None  # why sign-in was refused


WRONG_CREDENTIALS = "That email and password do not match an account. Check both and try again."
DEACTIVATED = "This account has been deactivated. Ask program staff to reactivate it."


def authenticate(email: str, password: str) -> SignInResult:
    """Never says whether the email exists: unknown email and wrong password read alike."""
    user = find_user_by_email(email)
    if not verify_password(user.password_hash if user else None, password):
        return SignInResult(None, WRONG_CREDENTIALS)
    if not user.active:
        return SignInResult(None, DEACTIVATED)
    user.last_login_at = utcnow()
    return SignInResult(user, None)


# zxcvbn estimates how many guesses a password takes against what it ships: lists of
# breached and common passwords (30,000 from public breaches), words, names, keyboard
# patterns, dates, repeats and sequences, with capitals, digits and l33t swaps, all
# offline. Under 10^8 guesses ("Welcome2026!", "PASSWORD1234!", "123412341234") is refused.
MIN_GUESSES_LOG10 = 8
# Only the first characters are scored: zxcvbn's time grows with the length, and a
# password this long is past any list.
SCORED_CHARACTERS = 64


def too_easy_to_guess(password: str, *context: str) -> bool:
    words = [part for text in context for part in re.split(r"[\W_]+", text.lower()) if part]
    estimate = zxcvbn(password[:SCORED_CHARACTERS], user_inputs=words)
    return estimate["guesses_log10"] < MIN_GUESSES_LOG10


def check_password_rules(password: str, email: str = "", name: str = "") -> None:
    """Long enough, not common or built from common parts, not the email over again."""
    problem = None
    lowered = password.lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = f"Use at least {MIN_PASSWORD_LENGTH} characters; a short sentence works well."
    elif email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 4:
        problem = "Don't build your password from your email address."
    elif too_easy_to_guess(password, email, name, "student success initiative library"):
        problem = "This password is too easy to guess; a short sentence of your own works well."
    if problem:
        raise ValidationError(problem, field="password")


def set_password(user: User, password: str, actor: User | None) -> None:
    """Set a new password; every session and set-password link issued before ends."""
    check_password_rules(password, user.email, user.name)
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    # Whoever learned the old password may have copied the calendar address too.
    user.calendar_token = None
    audit.record(actor, "set password", user, {"password": ["(hidden)", "(changed)"]})


def end_sessions(user: User) -> None:
    """Every session and remember-me cookie of `user` stops working (sign-out)."""
    user.session_token = new_session_token()


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_LINK_SALT)


def _link_fingerprint(user: User) -> str:
    """What a set-password link is bound to: the email it was sent to and the password
    it replaces. A new password spends the link; a changed email ends it (the link went
    to the old address); signing out does not."""
    subject = f"{user.email}\n{user.password_hash or ''}".encode()
    return hashlib.sha256(subject).hexdigest()[:32]


def make_password_token(user: User, secret_key: str) -> str:
    return _serializer(secret_key).dumps([user.id, _link_fingerprint(user)])


class InvalidLink(Exception):
    pass


def user_from_password_token(token: str, secret_key: str, max_age: int) -> User:
    try:
        user_id, fingerprint = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise InvalidLink("This link has expired. Ask for a new one below.") from error
    except (BadSignature, ValueError, TypeError) as error:
        raise InvalidLink("This link is not valid. Ask for a new one below.") from error
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise InvalidLink("This link is not valid. Ask for a new one below.")
    if not hmac.compare_digest(_link_fingerprint(user), str(fingerprint)):
        raise InvalidLink("This link has already been used. Ask for a new one below.")
    return user


def load_user_from_cookie(cookie_id: str) -> User | None:
    """Flask-Login's loader: "<id>:<session token>"; a changed password ends the session."""
    user_id, _, session_token = cookie_id.partition(":")
    if not user_id.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or user.session_token != session_token or not user.active:
        return None
    return user
