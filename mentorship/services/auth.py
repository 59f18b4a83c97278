"""Passwords, sign-in and set-password links."""

from __future__ import annotations

from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

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


# Long passwords people still pick (from public breach lists), and the program's own
# words. Shorter common ones are already refused by the length rule.
COMMON_PASSWORDS = frozenset(
    [
        "password1234",
        "password12345",
        "password123456",
        "passwordpassword",
        "123456789012",
        "1234567890123",
        "12345678901234",
        "qwertyuiopasdf",
        "qwertyuiop123",
        "qwerty123456",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "iloveyou1234",
        "abcdefghijkl",
        "abcdef123456",
        "welcome12345",
        "letmein12345",
        "administrator",
        "changeme1234",
        "library12345",
        "librarylibrary",
        "studentsuccess",
        "studentsuccess1",
        "mentorship123",
        "californiaca1",
        "sunshine1234",
        "football1234",
        "baseball1234",
        "monkey123456",
        "dragon123456",
        "princess1234",
        "trustno1trustno1",
        "aaaaaaaaaaaa",
    ]
)


def check_password_rules(password: str, email: str = "") -> None:
    """Long enough, not a known common password, not one character or the email over again."""
    problem = None
    lowered = password.lower()
    if len(password) < MIN_PASSWORD_LENGTH:
        problem = f"Use at least {MIN_PASSWORD_LENGTH} characters; a short sentence works well."
    elif lowered in COMMON_PASSWORDS or len(set(lowered)) <= 2:
        problem = "This password is too easy to guess; a short sentence of your own works well."
    elif email and email.split("@")[0].lower() in lowered and len(email.split("@")[0]) >= 4:
        problem = "Don't build your password from your email address."
    if problem:
        raise ValidationError(problem, field="password")


def set_password(user: User, password: str, actor: User | None) -> None:
    """Set a new password; every session and set-password link issued before ends."""
    check_password_rules(password, user.email)
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    audit.record(actor, "set password", user, {"password": ["(hidden)", "(changed)"]})


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=_LINK_SALT)


def make_password_token(user: User, secret_key: str) -> str:
    # Tied to the current session token: once a password is set, the link is spent.
    return _serializer(secret_key).dumps([user.id, user.session_token])


class InvalidLink(Exception):
    pass


def user_from_password_token(token: str, secret_key: str, max_age: int) -> User:
    try:
        user_id, session_token = _serializer(secret_key).loads(token, max_age=max_age)
    except SignatureExpired as error:
        raise InvalidLink("This link has expired. Ask for a new one below.") from error
    except (BadSignature, ValueError, TypeError) as error:
        raise InvalidLink("This link is not valid. Ask for a new one below.") from error
    user = db.session.get(User, user_id)
    if user is None or not user.active:
        raise InvalidLink("This link is not valid. Ask for a new one below.")
    if user.session_token != session_token:
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
