"""The timeline: a versioned plan of steps, and each pilot's milestones made from it."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..extensions import db
from ..rendering import render_markdown
from .base import UTCDateTime, enum_type, utcnow
from .cohort import Participation
from .partnership import AgreementKind, Partnership
from .user import User


class StepScope(enum.StrEnum):
    LIBRARY = "library"  # once per pilot
    PARTNERSHIP = "partnership"  # once per school-district partnership


class StepFact(enum.StrEnum):
    """A recorded fact that completes a step by itself (a later issue adds the community
    profile and the readiness self-assessment)."""

    STAGE_REACHED = "stage reached"  # a partnership reached a stage (by position) or later
    LETTER_SIGNED = "letter signed"  # the commitment letter is signed by everyone needed
    AGREEMENT_IN_EFFECT = "agreement in effect"  # an agreement (of a kind, or any) took effect
    FIRST_OUTCOME_REPORT = "first outcome report"  # a partnership's first figures


class FactOfStep:
    """The fact that completes a step, as data on the step (copied to each milestone)."""

    completed_by: Mapped[StepFact | None] = mapped_column(enum_type(StepFact, "step_fact"))
    # The stage's position, for "stage reached".
    completed_by_stage: Mapped[int | None]
    # The kind of agreement, for "agreement in effect"; empty means any kind.
    completed_by_agreement: Mapped[AgreementKind | None] = mapped_column(
        enum_type(AgreementKind, "fact_agreement_kind")
    )

    @classmethod
    def fact_constraint(cls) -> sa.CheckConstraint:
        return sa.CheckConstraint(
            "(COALESCE(completed_by, '') = 'stage reached') = (completed_by_stage IS NOT NULL) "
            "AND (completed_by_agreement IS NULL "
            "OR COALESCE(completed_by, '') = 'agreement in effect')",
            name="fact_parameter",
        )


class MilestoneTemplate(db.Model):
    """One version of the plan. Staff edit a draft; publishing makes it the current one."""

    __tablename__ = "milestone_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(unique=True)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    steps: Mapped[list[TemplateStep]] = relationship(
        back_populates="template", order_by="TemplateStep.position", cascade="all, delete-orphan"
    )

    @property
    def name(self) -> str:
        return f"Milestone plan version {self.version}"

    @property
    def is_draft(self) -> bool:
        return self.published_at is None


class TemplateStep(FactOfStep, db.Model):
    __tablename__ = "template_steps"

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(
        sa.ForeignKey("milestone_templates.id", ondelete="CASCADE"), index=True
    )
    # Stays the same across versions, so a change can reach running pilots' milestones.
    key: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    month_offset: Mapped[int]
    scope: Mapped[StepScope] = mapped_column(enum_type(StepScope, "step_scope"))
    toolkit_page: Mapped[str] = mapped_column(sa.String(120), default="")

    template: Mapped[MilestoneTemplate] = relationship(back_populates="steps")

    __table_args__ = (
        sa.UniqueConstraint("template_id", "key", name="uq_template_steps_key"),
        sa.CheckConstraint("month_offset BETWEEN 0 AND 24", name="month_offset"),
        FactOfStep.fact_constraint(),
    )

    @property
    def name(self) -> str:
        return self.title


class MilestoneStatus(enum.StrEnum):
    NOT_STARTED = "not started"
    IN_PROGRESS = "in progress"
    DONE = "done"
    NOT_APPLICABLE = "not applicable"


CLOSED_STATUSES = (MilestoneStatus.DONE, MilestoneStatus.NOT_APPLICABLE)


class Milestone(FactOfStep, db.Model):
    """A pilot's step, copied from the plan version it started with."""

    __tablename__ = "milestones"

    id: Mapped[int] = mapped_column(primary_key=True)
    participation_id: Mapped[int] = mapped_column(sa.ForeignKey("participations.id"), index=True)
    partnership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    step_key: Mapped[str] = mapped_column(sa.String(40))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    toolkit_page: Mapped[str] = mapped_column(sa.String(120), default="")
    due_on: Mapped[date] = mapped_column(index=True)
    status: Mapped[MilestoneStatus] = mapped_column(
        enum_type(MilestoneStatus, "milestone_status"), default=MilestoneStatus.NOT_STARTED
    )
    done_on: Mapped[date | None]
    not_applicable_reason: Mapped[str] = mapped_column(sa.String(500), default="")
    note: Mapped[str] = mapped_column(sa.Text, default="")
    evidence_url: Mapped[str] = mapped_column(sa.String(500), default="")
    # Optimistic locking: a save based on an older version is refused, never merged.
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL")
    )

    participation: Mapped[Participation] = relationship()
    partnership: Mapped[Partnership | None] = relationship()
    updated_by: Mapped[User | None] = relationship()
    comments: Mapped[list[MilestoneComment]] = relationship(
        back_populates="milestone", order_by="MilestoneComment.id"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        sa.Index(
            "uq_milestones_library_step",
            "participation_id",
            "step_key",
            unique=True,
            sqlite_where=sa.text("partnership_id IS NULL"),
            postgresql_where=sa.text("partnership_id IS NULL"),
        ),
        sa.UniqueConstraint(
            "participation_id", "step_key", "partnership_id", name="uq_milestones_partnership_step"
        ),
        sa.CheckConstraint("(status = 'done') = (done_on IS NOT NULL)", name="done_on_when_done"),
        FactOfStep.fact_constraint(),
    )

    @property
    def name(self) -> str:
        if self.partnership_id:
            return f"{self.title} ({self.partnership.district.name})"
        return self.title

    @property
    def library_id(self) -> int:
        return self.participation.library_id

    @property
    def is_open(self) -> bool:
        return self.status not in CLOSED_STATUSES

    def days_late(self, today: date) -> int:
        return (today - self.due_on).days if self.is_open and self.due_on < today else 0


class MilestoneComment(db.Model):
    """A mentor's (or anyone's) comment on a milestone; Markdown kept, sanitised HTML shown."""

    __tablename__ = "milestone_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    milestone_id: Mapped[int] = mapped_column(
        sa.ForeignKey("milestones.id", ondelete="CASCADE"), index=True
    )
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    body_html: Mapped[str] = mapped_column(sa.Text, default="")  # rendered when saved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    milestone: Mapped[Milestone] = relationship(back_populates="comments")
    author: Mapped[User | None] = relationship()

    @property
    def library_id(self) -> int:
        return self.milestone.library_id

    @validates("body")
    def _render_body(self, _key: str, body: str) -> str:
        self.body_html = str(render_markdown(body))
        return body
