"""The milestone plan (versioned) and each pilot's milestones made from it.

A pilot keeps the plan version it started with. Staff change the plan in a draft and
publish it; they choose whether running pilots get the change, and it reaches only
steps those pilots have not closed yet. Steps are matched across versions by `key`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.exc import StaleDataError

from ..extensions import db
from ..models import (
    CLOSED_STATUSES,
    AuditEvent,
    Cohort,
    Milestone,
    MilestoneComment,
    MilestoneStatus,
    MilestoneTemplate,
    Participation,
    ParticipationRole,
    Partnership,
    StepFact,
    StepScope,
    TemplateStep,
    User,
)
from . import audit, milestone_facts
from .errors import Conflict, ValidationError
from .months import add_months, months_between

# The default plan (../shared/DOMAIN.md): key, title, description, month, scope, toolkit page.
DEFAULT_PLAN = (
    ("kickoff", "Kick-off with the mentor; readiness self-assessment",
     "Meet your mentor library, agree how you will work together, and complete the "
     "readiness self-assessment.", 1, StepScope.LIBRARY, "getting-started"),
    ("first_meeting", "School district partner identified, first meeting held",
     "Find the right people at the district and hold a first meeting.", 2,
     StepScope.PARTNERSHIP, "working-with-a-school-district"),
    ("commitment_letter", "Commitment letter signed",
     "Signed by the mayor or county executive, the superintendent(s) and the library "
     "director.", 4, StepScope.LIBRARY, "commitment-letter"),
    ("team_goals", "Team formed, goals and card target set, community profile completed",
     "Name the team at library and district, set the card target, fill in the community "
     "profile.", 5, StepScope.LIBRARY, "getting-started"),
    ("data_agreement", "Data-sharing agreement / MOU approved",
     "Approved by district and library (legal, privacy).", 8, StepScope.PARTNERSHIP,
     "mou-and-data-sharing"),
    ("technical_plan", "Technical plan ready",
     "Student IDs as card numbers, patron records loaded, fines and barriers reviewed.", 10,
     StepScope.PARTNERSHIP, "technical-plan"),
    ("first_launch", "Launch at the first school(s)", "", 12, StepScope.PARTNERSHIP,
     "launching"),
    ("rollout", "District-wide rollout; teachers and school staff trained", "", 15,
     StepScope.PARTNERSHIP, "launching"),
    ("outcomes", "Outcomes measured: cards issued, active use",
     "Report the figures for every partner district.", 18, StepScope.LIBRARY,
     "measuring-outcomes"),
    ("sustainability", "Sustainability plan and case study shared with the network", "", 21,
     StepScope.LIBRARY, "sustaining"),
)  # fmt: skip

# The fact that completes a step of the default plan: (fact, stage position, agreement kind).
# Stage 2 is "Meeting held", stage 6 "Cards issued" (migration 0003).
DEFAULT_FACTS = {
    "first_meeting": (StepFact.STAGE_REACHED, 2, None),
    "commitment_letter": (StepFact.LETTER_SIGNED, None, None),
    "data_agreement": (StepFact.AGREEMENT_IN_EFFECT, None, None),
    "first_launch": (StepFact.STAGE_REACHED, 6, None),
    "outcomes": (StepFact.FIRST_OUTCOME_REPORT, None, None),
}
FACT_FIELDS = ("completed_by", "completed_by_stage", "completed_by_agreement")

STEP_FIELDS = ("title", "description", "month_offset", "scope", "toolkit_page", *FACT_FIELDS)


# The plan -------------------------------------------------------------------------


def current_template() -> MilestoneTemplate:
    """The newest published plan; the default plan becomes version 1 the first time."""
    template = db.session.scalar(
        sa.select(MilestoneTemplate)
        .where(MilestoneTemplate.published_at.is_not(None))
        .order_by(MilestoneTemplate.version.desc())
        .limit(1)
    )
    if template is None:
        template = MilestoneTemplate(version=1, published_at=datetime.now(UTC))
        for position, (key, title, description, month, scope, page) in enumerate(DEFAULT_PLAN):
            template.steps.append(
                TemplateStep(
                    key=key,
                    position=position + 1,
                    title=title,
                    description=description,
                    month_offset=month,
                    scope=scope,
                    toolkit_page=page,
                    **dict(zip(FACT_FIELDS, DEFAULT_FACTS.get(key, (None,) * 3), strict=True)),
                )
            )
        db.session.add(template)
        db.session.flush()
    return template


def draft_template(actor: User | None) -> MilestoneTemplate:
    """The draft staff are editing: a copy of the current plan, started on first use."""
    draft = db.session.scalar(
        sa.select(MilestoneTemplate).where(MilestoneTemplate.published_at.is_(None))
    )
    if draft is None:
        current = current_template()
        draft = MilestoneTemplate(version=current.version + 1, created_by_id=actor and actor.id)
        for step in current.steps:
            draft.steps.append(
                TemplateStep(key=step.key, position=step.position, **_step_values(step))
            )
        db.session.add(draft)
        db.session.flush()
    return draft


def _fact_of(step: TemplateStep) -> dict[str, Any]:
    return {name: getattr(step, name) for name in FACT_FIELDS}


def _step_values(step: TemplateStep | Milestone) -> dict[str, Any]:
    return {name: getattr(step, name) for name in STEP_FIELDS if hasattr(step, name)}


def _require_draft(step: TemplateStep) -> None:
    if not step.template.is_draft:
        raise ValidationError("Only the draft of the next version can be changed.")


def _check_fact(values: dict[str, Any]) -> dict[str, Any]:
    """A step's fact with only the parameter it needs (the stage, or a kind of agreement)."""
    if "completed_by" not in values:
        return values
    fact = values["completed_by"]
    values = dict(values)
    if fact != StepFact.STAGE_REACHED:
        values["completed_by_stage"] = None
    elif values.get("completed_by_stage") not in milestone_facts.stage_names():
        raise ValidationError("Choose the stage that completes this step.", "completed_by_stage")
    if fact != StepFact.AGREEMENT_IN_EFFECT:
        values["completed_by_agreement"] = None
    return values


def update_step(step: TemplateStep, values: dict[str, Any], actor: User | None) -> None:
    _require_draft(step)
    values = _check_fact(values)
    changes = audit.apply_changes(step, values)
    if changes:
        audit.record(
            actor, "update step", step.template, {f"{step.key}.{k}": v for k, v in changes.items()}
        )


def add_step(draft: MilestoneTemplate, values: dict[str, Any], actor: User | None) -> TemplateStep:
    if not draft.is_draft:
        raise ValidationError("Only the draft of the next version can be changed.")
    values = _check_fact(values)
    base = re.sub(r"[^a-z0-9]+", "_", values["title"].lower()).strip("_")[:30] or "step"
    taken = {step.key for step in draft.steps}
    key = next(k for k in (base, *(f"{base}_{n}" for n in range(2, 999))) if k not in taken)
    step = TemplateStep(key=key, position=len(draft.steps) + 1, **values)
    draft.steps.append(step)
    audit.record(actor, "add step", draft, {key: [None, values["title"]]})
    _renumber(draft)
    return step


def remove_step(step: TemplateStep, actor: User | None) -> None:
    _require_draft(step)
    draft = step.template
    draft.steps.remove(step)
    audit.record(actor, "remove step", draft, {step.key: [step.title, None]})
    _renumber(draft)


def _renumber(template: MilestoneTemplate) -> None:
    """Steps are in month order; the position is their place in that order."""
    ordered = sorted(template.steps, key=lambda s: (s.month_offset, s.position))
    for position, step in enumerate(ordered, start=1):
        step.position = position


def running_pilots() -> list[Participation]:
    return db.session.scalars(
        sa.select(Participation)
        .join(Participation.cohort)
        .where(
            Participation.role == ParticipationRole.PILOT,
            Participation.active.is_(True),
            Cohort.active.is_(True),
            Participation.template_id.is_not(None),
        )
    ).all()


@dataclass
class PlanChange:
    added: list[TemplateStep] = field(default_factory=list)
    changed: list[tuple[TemplateStep, list[str]]] = field(default_factory=list)
    removed: list[TemplateStep] = field(default_factory=list)
    pilots_touched: int = 0
    milestones_touched: int = 0

    @property
    def any(self) -> bool:
        return bool(self.added or self.changed or self.removed)


def plan_change(draft: MilestoneTemplate) -> PlanChange:
    """What publishing the draft changes, and how many running pilots it would reach."""
    current = {step.key: step for step in current_template().steps}
    proposed = {step.key: step for step in draft.steps}
    change = PlanChange(
        added=[s for k, s in proposed.items() if k not in current],
        removed=[s for k, s in current.items() if k not in proposed],
    )
    for key, step in proposed.items():
        if key in current:
            differs = [
                name for name in STEP_FIELDS if getattr(step, name) != getattr(current[key], name)
            ]
            if differs:
                change.changed.append((step, differs))
    touched_keys = [s.key for s, _ in change.changed] + [s.key for s in change.removed]
    pilots = running_pilots()
    change.pilots_touched = len(pilots) if change.any else 0
    if touched_keys and pilots:
        change.milestones_touched = db.session.scalar(
            sa.select(sa.func.count(Milestone.id)).where(
                Milestone.participation_id.in_([p.id for p in pilots]),
                Milestone.step_key.in_(touched_keys),
                Milestone.status.not_in(CLOSED_STATUSES),
            )
        )
    return change


def publish(
    draft: MilestoneTemplate, apply_to_running: bool, actor: User | None, today: date
) -> PlanChange:
    if not draft.is_draft:
        raise ValidationError("This version is already published.")
    change = plan_change(draft)
    draft.published_at = datetime.now(UTC)
    audit.record(actor, "publish", draft, {"apply_to_running": [None, apply_to_running]})
    if apply_to_running:
        pilots = running_pilots()
        for participation in pilots:
            _bring_up_to_date(participation, draft, change, actor)
        milestone_facts.sync_facts({p.library_id for p in pilots}, today, actor)
    db.session.flush()
    return change


def _bring_up_to_date(
    participation: Participation, draft: MilestoneTemplate, change: PlanChange, actor
) -> None:
    """Open milestones follow the new version; closed ones stay as they were."""
    participation.template_id = draft.id
    milestones = db.session.scalars(
        sa.select(Milestone).where(Milestone.participation_id == participation.id)
    ).all()
    changed = {step.key: step for step, _ in change.changed}
    removed = {step.key for step in change.removed}
    for milestone in milestones:
        if not milestone.is_open:
            continue
        if milestone.step_key in changed:
            step = changed[milestone.step_key]
            values = {
                "title": step.title,
                "description": step.description,
                "toolkit_page": step.toolkit_page,
                "position": step.position,
                "due_on": _due_on(step, participation, milestone.partnership),
                **_fact_of(step),
            }
            audit.record(actor, "plan change", milestone, audit.apply_changes(milestone, values))
        elif milestone.step_key in removed:
            milestone.status = MilestoneStatus.NOT_APPLICABLE
            milestone.not_applicable_reason = f"Removed from the plan in version {draft.version}."
            audit.record(actor, "plan change", milestone, {"status": [None, "not applicable"]})
    if change.added:
        _create(participation, change.added, _partnerships_of(participation.library_id))


# A pilot's milestones ----------------------------------------------------------------


def _due_on(step: TemplateStep, participation: Participation, partnership: Partnership | None):
    """Months after the pilot's start; a district added later gets the same spacing from
    its own first contact (the partnership steps start in month 2 of the plan)."""
    due = add_months(participation.start_date, step.month_offset)
    if partnership is not None and partnership.stage_dates:
        first_contact = min(d.reached_on for d in partnership.stage_dates)
        due = max(due, add_months(first_contact, max(step.month_offset - 2, 0)))
    return due


def _partnerships_of(library_id: int) -> list[Partnership]:
    return db.session.scalars(
        sa.select(Partnership)
        .where(Partnership.library_id == library_id, Partnership.active.is_(True))
        .options(selectinload(Partnership.stage_dates))
        .order_by(Partnership.rollout_order, Partnership.id)
    ).all()


def _create(
    participation: Participation, steps: list[TemplateStep], partnerships: list[Partnership]
) -> list[Milestone]:
    existing = {
        (key, partnership_id)
        for key, partnership_id in db.session.execute(
            sa.select(Milestone.step_key, Milestone.partnership_id).where(
                Milestone.participation_id == participation.id
            )
        )
    }
    made = []
    for step in steps:
        targets = partnerships if step.scope == StepScope.PARTNERSHIP else [None]
        for partnership in targets:
            partnership_id = partnership.id if partnership else None
            if (step.key, partnership_id) in existing:
                continue
            milestone = Milestone(
                participation_id=participation.id,
                partnership_id=partnership_id,
                step_key=step.key,
                position=step.position,
                title=step.title,
                description=step.description,
                toolkit_page=step.toolkit_page,
                due_on=_due_on(step, participation, partnership),
                **_fact_of(step),
            )
            db.session.add(milestone)
            made.append(milestone)
    db.session.flush()
    return made


def start_timeline(participation: Participation, today: date | None = None) -> list[Milestone]:
    """A pilot gets its milestones from the current plan (once; safe to call again);
    those whose fact is already recorded are done from the start."""
    if participation.role != ParticipationRole.PILOT:
        return []
    if participation.template_id is None:
        participation.template_id = current_template().id
    template = db.session.get(MilestoneTemplate, participation.template_id)
    made = _create(participation, template.steps, _partnerships_of(participation.library_id))
    milestone_facts.sync_facts([participation.library_id], today or date.today(), None)
    return made


def add_partnership_milestones(
    partnership: Partnership, today: date | None = None, actor: User | None = None
) -> list[Milestone]:
    """A new district partnership gets the per-partnership steps of each running pilot;
    the library's steps that wait on every district (the letter, say) follow it."""
    made = []
    for participation in db.session.scalars(
        sa.select(Participation).where(
            Participation.library_id == partnership.library_id,
            Participation.role == ParticipationRole.PILOT,
            Participation.active.is_(True),
            Participation.template_id.is_not(None),
        )
    ):
        template = db.session.get(MilestoneTemplate, participation.template_id)
        steps = [s for s in template.steps if s.scope == StepScope.PARTNERSHIP]
        made += _create(participation, steps, [partnership])
    milestone_facts.sync_facts([partnership.library_id], today or date.today(), actor)
    return made


def milestones_of(participation_id: int, comments: bool = False) -> list[Milestone]:
    return milestones_of_pilots([participation_id], comments)


def milestones_of_pilots(participation_ids: list[int], comments: bool = False) -> list[Milestone]:
    """The milestones of some pilots in timeline order, in one query (and one more for
    their comments, if asked)."""
    query = (
        sa.select(Milestone)
        .where(Milestone.participation_id.in_(participation_ids))
        .options(joinedload(Milestone.partnership).joinedload(Partnership.district))
        .order_by(Milestone.due_on, Milestone.position, Milestone.partnership_id)
    )
    if comments:
        query = query.options(selectinload(Milestone.comments))
    return db.session.scalars(query).all()


# Changing a milestone ---------------------------------------------------------------

EDITABLE = ("status", "done_on", "not_applicable_reason", "note", "evidence_url")


def _last_change(milestone: Milestone) -> str:
    event = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.object_type == "Milestone", AuditEvent.object_id == milestone.id)
        .options(joinedload(AuditEvent.actor))
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )
    if event is None:
        return "Someone else changed this milestone."
    who = event.actor.name if event.actor else "The system"
    what = "; ".join(f"{name}: {new!r}" for name, (_, new) in event.changes.items()) or "a change"
    return f"{who} changed it meanwhile ({what})."


def update_milestone(
    milestone: Milestone,
    values: dict[str, Any],
    seen_version: int,
    actor: User | None,
    today: date,
) -> dict[str, list[Any]]:
    """Save a change made on `seen_version`; refuse it if someone saved in between."""
    if seen_version != milestone.version:
        raise Conflict(
            f"Not saved: {_last_change(milestone)} Your changes are still in the form: "
            "check them against the current version below and save again."
        )
    values = {name: values[name] for name in EDITABLE if name in values}
    status = values.get("status", milestone.status)
    if milestone.completed_by:
        _keep_fact_status(milestone, values, status)
    elif status == MilestoneStatus.DONE:
        values["done_on"] = values.get("done_on") or today
        if values["done_on"] > today:
            raise ValidationError("The day it was done cannot be in the future.", "done_on")
    else:
        values["done_on"] = None
    if (
        status == MilestoneStatus.NOT_APPLICABLE
        and not values.get("not_applicable_reason", milestone.not_applicable_reason).strip()
    ):
        raise ValidationError(
            "Say why this step does not apply to your library.", "not_applicable_reason"
        )
    changes = audit.apply_changes(milestone, values)
    if changes:
        milestone.updated_at = datetime.now(UTC)
        milestone.updated_by_id = actor.id if actor else None
        try:
            db.session.flush()  # the version check happens here, in the UPDATE
        except StaleDataError as error:
            db.session.rollback()
            raise Conflict(
                "Not saved: someone else saved this milestone at the same moment. "
                "Reload it and save again."
            ) from error
        audit.record(actor, "update", milestone, changes)
        if milestone.completed_by and "status" in changes:  # applies again: follow the fact
            milestone_facts.sync_facts([milestone.library_id], today, actor)
    return changes


def _keep_fact_status(milestone: Milestone, values: dict[str, Any], status) -> None:
    """A step completed by a fact is done and reopened by the fact alone; by hand it may be
    put aside (not applicable), or marked in progress while its fact is not recorded."""
    if status == MilestoneStatus.DONE and milestone.status != MilestoneStatus.DONE:
        fact = milestone_facts.describe(milestone, milestone_facts.stage_names())
        raise ValidationError(
            f"This step is done by itself when {fact}: record that where it belongs "
            "(linked above) and the step is done with its date.",
            "status",
        )
    if milestone.status == MilestoneStatus.DONE and status not in CLOSED_STATUSES:
        raise ValidationError(
            "This step was done by its fact; it opens again by itself if the fact is undone.",
            "status",
        )
    values["done_on"] = milestone.done_on if status == MilestoneStatus.DONE else None


def add_comment(milestone: Milestone, body: str, actor: User) -> MilestoneComment:
    body = body.strip()
    if not body:
        raise ValidationError("Write a comment first.", "body")
    comment = MilestoneComment(milestone=milestone, author_id=actor.id, body=body)
    db.session.add(comment)
    audit.record(actor, "comment", milestone, {"comment": [None, body[:200]]})
    return comment


# What a pilot sees ------------------------------------------------------------------


@dataclass
class Timeline:
    participation: Participation
    milestones: list[Milestone]
    today: date

    @property
    def months_elapsed(self) -> int:
        return months_between(self.participation.start_date, self.today)

    @property
    def applicable(self) -> list[Milestone]:
        return [m for m in self.milestones if m.status != MilestoneStatus.NOT_APPLICABLE]

    @property
    def done(self) -> int:
        return sum(1 for m in self.applicable if m.status == MilestoneStatus.DONE)

    @property
    def late(self) -> list[Milestone]:
        return sorted(
            (m for m in self.milestones if m.days_late(self.today)),
            key=lambda m: m.due_on,
        )

    @property
    def next_due(self) -> list[Milestone]:
        upcoming = [m for m in self.milestones if m.is_open and m.due_on >= self.today]
        return upcoming[:3]


def timelines_of(participations: list[Participation], today: date) -> dict[int, Timeline]:
    """{participation id: its timeline} for several pilots (a home page), one query."""
    timelines = {p.id: Timeline(p, [], today) for p in participations}
    if timelines:
        for milestone in milestones_of_pilots(list(timelines)):
            timelines[milestone.participation_id].milestones.append(milestone)
    return timelines


def timeline_of(participation: Participation, today: date, comments: bool = False) -> Timeline:
    return Timeline(participation, milestones_of(participation.id, comments), today)
