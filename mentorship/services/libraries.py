"""Read-only questions about one library: its cohorts and its people."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Library, Participation, User


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


def active_library_choices() -> list[tuple[int, str]]:
    """(id, name) of every active library, for the forms' library pickers."""
    rows = db.session.execute(
        sa.select(Library.id, Library.name).where(Library.active.is_(True)).order_by(Library.name)
    )
    return [(library_id, name) for library_id, name in rows]
