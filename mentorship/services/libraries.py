"""Read-only questions about one library: its cohorts and its people."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..models import Participation, User


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
