"""Read-only questions about one library: its cohorts and its people."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Cohort, Library, Participation, ParticipationRole, Role, User


def participations_of(library_id: int) -> list[Participation]:
    return db.session.scalars(
        sa.select(Participation)
        .where(Participation.library_id == library_id)
        .options(joinedload(Participation.cohort))
        .order_by(Participation.start_date.desc())
    ).all()


def people_of(library_id: int, active_only: bool = True) -> list[User]:
    query = sa.select(User).where(User.library_id == library_id).order_by(User.name)
    if active_only:
        query = query.where(User.active.is_(True))
    return db.session.scalars(query).all()


def people_of_libraries(library_ids: Iterable[int]) -> list[User]:
    """The active librarians of these libraries (for whom an email is meant), one query."""
    library_ids = set(library_ids)
    if not library_ids:
        return []
    return db.session.scalars(
        sa.select(User)
        .where(User.library_id.in_(library_ids), User.active.is_(True))
        .order_by(User.email)
    ).all()


def active_staff() -> list[User]:
    return db.session.scalars(
        sa.select(User).where(User.role == Role.STAFF, User.active.is_(True)).order_by(User.email)
    ).all()


def active_library_choices() -> list[tuple[int, str]]:
    """(id, name) of every active library, for the forms' library pickers."""
    rows = db.session.execute(
        sa.select(Library.id, Library.name).where(Library.active.is_(True)).order_by(Library.name)
    )
    return [(library_id, name) for library_id, name in rows]


def roles_in_program(library_id: int) -> list[str]:
    """The library's roles in its active cohorts ("pilot", "mentor"…), pilot first: a
    librarian's badge says what their library does, whatever their account says."""
    roles = set(
        db.session.scalars(
            sa.select(Participation.role)
            .join(Cohort, Cohort.id == Participation.cohort_id)
            .where(
                Participation.library_id == library_id,
                Participation.active.is_(True),
                Cohort.active.is_(True),
            )
        )
    )
    return [role.value for role in ParticipationRole if role in roles]
