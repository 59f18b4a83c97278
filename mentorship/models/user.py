"""People who sign in. Pilot and mentor librarians belong to one library."""

from __future__ import annotations

import enum
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, enum_type, utcnow
from .library import Library


class Role(enum.StrEnum):
    STAFF = "staff"
    PILOT = "pilot"
    MENTOR = "mentor"
    STATE = "state"


LIBRARY_ROLES = (Role.PILOT, Role.MENTOR)


def new_session_token() -> str:
    return secrets.token_hex(16)


class User(UserMixin, db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    # Stored lower-case (the check below), so uniqueness is case-insensitive.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "user_role"))
    library_id: Mapped[int | None] = mapped_column(sa.ForeignKey("libraries.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    # Part of the login cookie; replaced when the password changes, which ends
    # every other session and every set-password link issued before.
    session_token: Mapped[str] = mapped_column(sa.String(32), default=new_session_token)
    # The SHA-256 of the secret in the person's calendar (ICS) feed address (the secret
    # itself is shown once); resetting it ends the old address.
    calendar_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    library: Mapped[Library | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint("email = lower(email)", name="email_lower"),
        sa.CheckConstraint(
            "(role IN ('pilot', 'mentor')) = (library_id IS NOT NULL)", name="library_by_role"
        ),
    )

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    @property
    def is_staff(self) -> bool:
        return self.role == Role.STAFF

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"
