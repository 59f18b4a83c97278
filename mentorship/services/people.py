"""People: staff create them; each gets a link to set a password."""

from __future__ import annotations

from typing import Any

from ..extensions import db
from ..models import LIBRARY_ROLES, Library, Role, User
from . import records
from .auth import normalise_email
from .errors import Conflict, ValidationError


def _check(values: dict[str, Any], user_id: int | None = None) -> dict[str, Any]:
    values = dict(values)
    values["email"] = normalise_email(values["email"])
    role = Role(values["role"])
    if role in LIBRARY_ROLES:
        if not values.get("library_id"):
            raise ValidationError(
                f"A {role} librarian belongs to a library: choose one.", "library_id"
            )
        library = db.session.get(Library, values["library_id"])
        if library is None:
            raise ValidationError("Choose a library from the list.", "library_id")
    else:
        values["library_id"] = None  # staff and state officials belong to no library
    clash = db.session.scalar(
        db.select(User.id).where(User.email == values["email"], User.id != (user_id or 0))
    )
    if clash:
        raise Conflict("Someone already uses this email address.", "email")
    return values


def create_person(values: dict[str, Any], actor: User | None) -> User:
    return records.create(User, _check(values), actor)


def update_person(user: User, values: dict[str, Any], actor: User | None) -> dict:
    return records.update(user, _check(values, user.id), actor)


def invitation_text(user: User, link: str, hours: int) -> tuple[str, str]:
    subject = "Your account for the Student Success Initiative"
    body = (
        f"Hello {user.name},\n\n"
        "Program staff have created an account for you in the Student Success Initiative "
        "mentor–pilot program.\n\n"
        f"Choose your password here (the link works once, for {hours} hours):\n{link}\n\n"
        f"You will sign in with this email address: {user.email}\n"
    )
    return subject, body


def reset_text(user: User, link: str, hours: int) -> tuple[str, str]:
    subject = "Set a new password"
    body = (
        f"Hello {user.name},\n\n"
        "Someone asked to set a new password for your account. If it was you, use this link "
        f"(it works once, for {hours} hours):\n{link}\n\n"
        "If it was not you, ignore this message; your password stays as it is.\n"
    )
    return subject, body
