"""Case studies: what a library learned, written by its people, published by staff."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..extensions import db
from ..rendering import render_markdown
from .base import UTCDateTime, enum_type, utcnow
from .library import Library
from .partnership import CardModel
from .user import User


class CaseStudyStatus(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in review"
    SENT_BACK = "sent back"  # staff asked for changes, with a reason
    PUBLISHED = "published"


class DistrictSize(enum.StrEnum):
    SMALL = "small"  # under 5,000 students
    MEDIUM = "medium"  # 5,000 to 25,000
    LARGE = "large"  # over 25,000


EDITABLE = frozenset({CaseStudyStatus.DRAFT, CaseStudyStatus.IN_REVIEW, CaseStudyStatus.SENT_BACK})
SUBMITTABLE = frozenset({CaseStudyStatus.DRAFT, CaseStudyStatus.SENT_BACK})


class CaseStudy(db.Model):
    __tablename__ = "case_studies"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(sa.ForeignKey("libraries.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    summary: Mapped[str] = mapped_column(sa.String(500), default="")
    body: Mapped[str] = mapped_column(sa.Text, default="")  # Markdown
    # The body rendered and sanitised once, when it is saved (never on each view).
    body_html: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[CaseStudyStatus] = mapped_column(
        enum_type(CaseStudyStatus, "case_study_status"), default=CaseStudyStatus.DRAFT
    )
    # Tags, for finding similar libraries' stories.
    card_model: Mapped[CardModel | None] = mapped_column(enum_type(CardModel, "case_card_model"))
    district_size: Mapped[DistrictSize | None] = mapped_column(
        enum_type(DistrictSize, "district_size")
    )
    region: Mapped[str] = mapped_column(sa.String(80), default="")
    sent_back_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    library: Mapped[Library] = relationship()
    created_by: Mapped[User | None] = relationship()
    comments: Mapped[list[CaseStudyComment]] = relationship(
        back_populates="case_study", order_by="CaseStudyComment.id"
    )

    @property
    def name(self) -> str:
        return self.title

    @property
    def editable(self) -> bool:
        """Authors revise it until it is published (staff withdraw it first)."""
        return self.status in EDITABLE

    @property
    def submittable(self) -> bool:
        return self.status in SUBMITTABLE

    @validates("body")
    def _render_body(self, _key: str, body: str) -> str:
        self.body_html = str(render_markdown(body))
        return body


class CaseStudyComment(db.Model):
    """Threaded one level (a reply has a parent, a reply to a reply does not exist);
    never deleted: staff hide one with a reason."""

    __tablename__ = "case_study_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_study_id: Mapped[int] = mapped_column(
        sa.ForeignKey("case_studies.id", ondelete="CASCADE"), index=True
    )
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("case_study_comments.id"))
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)  # Markdown
    body_html: Mapped[str] = mapped_column(sa.Text, default="")  # rendered when saved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden: Mapped[bool] = mapped_column(default=False)
    hidden_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    hidden_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    case_study: Mapped[CaseStudy] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship(foreign_keys=[author_id])
    parent: Mapped[CaseStudyComment | None] = relationship(remote_side=[id])

    @property
    def library_id(self) -> int:
        return self.case_study.library_id

    @validates("body")
    def _render_body(self, _key: str, body: str) -> str:
        self.body_html = str(render_markdown(body))
        return body
