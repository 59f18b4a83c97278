"""The milestone plan (versioned) and each pilot's milestones made from it.

A pilot keeps the plan version it started with. Staff change the plan in a draft and
publish it; they choose whether running pilots get the change, and it reaches only
steps those pilots have not closed yet. Steps are matched across versions by `key`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
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
    PartnershipStageDate,
    StepFact,
    StepScope,
    TemplateStep,
    User,
)
from . import audit, milestone_facts, rollup
from .errors import Conflict, ValidationError
from .months import due_when_given, months_between, outer_bound, planned_due_on
from .risk import RiskLevel, RiskSettings, assess_pilots

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

# Days a step given to a running pilot (a plan change, a district added late) has before
# it is due: a month, the plan's unit, so the "due soon" reminder goes out first.
GRACE_DAYS = 30

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


def _published_template() -> MilestoneTemplate | None:
    return db.session.scalar(
        sa.select(MilestoneTemplate)
        .where(MilestoneTemplate.published_at.is_not(None))
        .order_by(MilestoneTemplate.version.desc())
        .limit(1)
    )


def _default_template() -> MilestoneTemplate:
    """Version 1: the default plan (DOMAIN.md's timeline), not yet stored."""
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
    return template


def current_template() -> MilestoneTemplate:
    """The newest published plan; the default plan is stored as version 1 the first time
    something needs it (a pilot's timeline, a draft)."""
    template = _published_template()
    if template is None:
        template = _default_template()
        db.session.add(template)
        db.session.flush()
    return template


def plan_to_show() -> MilestoneTemplate:
    """The current plan for reading: the default one is shown, not stored, until used."""
    return _published_template() or _default_template()


def existing_draft() -> MilestoneTemplate | None:
    return db.session.scalar(
        sa.select(MilestoneTemplate).where(MilestoneTemplate.published_at.is_(None))
    )


def draft_template(actor: User | None) -> MilestoneTemplate:
    """The draft staff are editing: a copy of the current plan, started on first use."""
    draft = existing_draft()
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
    draft: MilestoneTemplate,
    apply_to_running: bool,
    actor: User | None,
    today: date,
    grace_days: int = GRACE_DAYS,
) -> PlanChange:
    if not draft.is_draft:
        raise ValidationError("This version is already published.")
    change = plan_change(draft)
    draft.published_at = datetime.now(UTC)
    audit.record(actor, "publish", draft, {"apply_to_running": [None, apply_to_running]})
    if apply_to_running:
        pilots = running_pilots()
        for participation in pilots:
            participation.template_id = draft.id
        updates = _running_pilots_updates(pilots, draft, change, today, grace_days)
        for milestone, values in updates.changed:
            audit.record(actor, "plan change", milestone, audit.apply_changes(milestone, values))
        db.session.add_all(Milestone(**values) for values in updates.added)
        milestone_facts.sync_facts({p.library_id for p in pilots}, today, actor)
    db.session.flush()
    return change


@dataclass
class MilestoneUpdates:
    """What a publish does to running pilots' milestones, worked out before doing it."""

    changed: list[tuple[Milestone, dict[str, Any]]] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)  # a new milestone's columns


def _running_pilots_updates(
    pilots: list[Participation],
    draft: MilestoneTemplate,
    change: PlanChange,
    today: date,
    grace_days: int,
) -> MilestoneUpdates:
    """Open milestones follow the new version; closed ones stay as they were; added steps
    become milestones. Reads in a fixed few statements and changes nothing."""
    updates = MilestoneUpdates()
    if not change.any or not pilots:
        return updates
    by_id = {p.id: p for p in pilots}
    changed = {step.key: step for step, _ in change.changed}
    removed = {step.key for step in change.removed}
    touched = db.session.scalars(
        sa.select(Milestone)
        .where(
            Milestone.participation_id.in_(list(by_id)),
            Milestone.step_key.in_([*changed, *removed]),
            Milestone.status.not_in(CLOSED_STATUSES),
        )
        .options(selectinload(Milestone.partnership).selectinload(Partnership.stage_dates))
    ).all()
    for milestone in touched:
        participation = by_id[milestone.participation_id]
        if milestone.step_key in changed:
            step = changed[milestone.step_key]
            values = {
                "title": step.title,
                "description": step.description,
                "toolkit_page": step.toolkit_page,
                "position": step.position,
                "due_on": _moved_due_on(
                    step,
                    participation,
                    milestone.partnership and milestone.partnership.first_contact,
                    milestone.due_on,
                    today,
                    grace_days,
                ),
                **_fact_of(step),
            }
        elif milestone.step_key in removed:
            values = {
                "status": MilestoneStatus.NOT_APPLICABLE,
                "not_applicable_reason": f"Removed from the plan in version {draft.version}.",
            }
        else:
            continue
        updates.changed.append((milestone, values))
    if change.added:
        districts = _districts_of([p.library_id for p in pilots])
        existing = defaultdict(set)
        for participation_id, key, partnership_id in db.session.execute(
            sa.select(
                Milestone.participation_id, Milestone.step_key, Milestone.partnership_id
            ).where(
                Milestone.participation_id.in_(list(by_id)),
                Milestone.step_key.in_([step.key for step in change.added]),
            )
        ):
            existing[participation_id].add((key, partnership_id))
        for participation in pilots:
            updates.added += _new_milestones(
                participation,
                change.added,
                districts.get(participation.library_id, []),
                existing[participation.id],
                given_on=today,
                grace_days=grace_days,
            )
    return updates


# The columns the publish preview writes (in a savepoint it rolls back), in one statement.
PREVIEWED_COLUMNS = (
    "title", "description", "toolkit_page", "position", "due_on", "status",
    "not_applicable_reason",
)  # fmt: skip


def _write_for_preview(updates: MilestoneUpdates) -> None:
    """The updates as two set-based statements (one UPDATE for every changed milestone,
    one INSERT for every new one), for the preview to assess and roll back. Not for a
    real publish: these skip the milestones' version check and the audit trail."""
    table = Milestone.__table__
    if updates.changed:
        db.session.execute(
            table.update()
            .where(table.c.id == sa.bindparam("milestone_id"))
            .values({name: sa.bindparam(name) for name in PREVIEWED_COLUMNS}),
            [
                {
                    "milestone_id": milestone.id,
                    **{
                        name: values.get(name, getattr(milestone, name))
                        for name in PREVIEWED_COLUMNS
                    },
                }
                for milestone, values in updates.changed
            ],
        )
    if updates.added:
        db.session.execute(table.insert(), updates.added)


@dataclass(frozen=True)
class PilotShift:
    library: str
    added: list[str]  # reasons the change brings
    gone: list[str]  # reasons it takes away


@dataclass(frozen=True)
class StatusShift:
    """Pilots whose status a publish would change from `before` to `after`, and why."""

    before: RiskLevel
    after: RiskLevel
    pilots: list[PilotShift]


def status_shifts(
    draft: MilestoneTemplate,
    change: PlanChange,
    today: date,
    settings: RiskSettings,
    grace_days: int = GRACE_DAYS,
) -> list[StatusShift]:
    """What publishing the draft to running pilots would do to their statuses, worked out
    by the at-risk list's own rules: the change is made in a savepoint, the pilots are
    assessed, and the savepoint is rolled back. Worse changes first.

    Every pilot's level comes from the rollup's grouped statement (as the at-risk list
    ranks them); the reasons in words only for the pilots whose level changes."""
    pilots = running_pilots() if change.any else []
    if not pilots:
        return []
    running = {p.id for p in pilots}

    def levels() -> dict[int, RiskLevel]:
        return {
            status.participation_id: status.level
            for status in rollup.pilot_statuses(rollup.RollupFilter(), today, settings)
            if status.participation_id in running
        }

    def reasons(ids: list[int]) -> dict[int, tuple[str, list[str]]]:
        return {
            risk.participation.id: (risk.participation.library.name, risk.reasons)
            for risk in assess_pilots(today, settings, participation_ids=ids)
        }

    before = levels()
    updates = _running_pilots_updates(pilots, draft, change, today, grace_days)
    savepoint = db.session.begin_nested()
    try:
        _write_for_preview(updates)
        after = levels()
        moved = sorted(i for i, level in after.items() if level != before.get(i, level))
        reasons_after = reasons(moved) if moved else {}
    finally:
        savepoint.rollback()
    reasons_before = reasons(moved) if moved else {}
    groups: dict[tuple[RiskLevel, RiskLevel], list[PilotShift]] = defaultdict(list)
    for pilot_id, (name, now) in sorted(reasons_after.items(), key=lambda item: item[1][0]):
        was = reasons_before.get(pilot_id, (name, []))[1]
        groups[(before[pilot_id], after[pilot_id])].append(
            PilotShift(name, [r for r in now if r not in was], [r for r in was if r not in now])
        )
    return sorted(
        (StatusShift(was, now, named) for (was, now), named in groups.items()),
        key=lambda shift: (shift.before - shift.after, -shift.after, shift.before),
    )


# A pilot's milestones ----------------------------------------------------------------


def _planned_due_on(
    step: TemplateStep, participation: Participation, first_contact: date | None
) -> date:
    return planned_due_on(participation.start_date, step.month_offset, first_contact)


def _due_on(
    step: TemplateStep,
    participation: Participation,
    first_contact: date | None,
    given_on: date | None = None,
    grace_days: int = GRACE_DAYS,
) -> date:
    return step_due_on(
        participation.start_date, step.month_offset, first_contact, given_on, grace_days
    )


def step_due_on(
    start: date,
    month_offset: int,
    first_contact: date | None,
    given_on: date | None = None,
    grace_days: int = GRACE_DAYS,
) -> date:
    """When a step of the plan is due for a pilot that started on `start`: the plan's
    date, capped at the pilot's outer bound; a step given to a running pilot on
    `given_on` gets the grace period (`months.due_when_given`). The demo generator
    dates its milestones with this too."""
    planned = planned_due_on(start, month_offset, first_contact)
    return due_when_given(planned, start, given_on, grace_days)


def _moved_due_on(
    step: TemplateStep,
    participation: Participation,
    first_contact: date | None,
    old_due: date,
    today: date,
    grace_days: int,
) -> date:
    """A changed step follows the new plan, but a change never brings its due date nearer
    than the grace period: it is then due on its old date or after the grace period,
    whichever comes first. So a change never makes a step late, and a step that was
    already late stays as late as it was (a change does not excuse it either)."""
    due = _due_on(step, participation, first_contact)
    return max(due, min(old_due, today + timedelta(days=grace_days)))


def capped_steps(partnership: Partnership) -> list[Milestone]:
    """The partnership's steps that the plan would have put after their pilot's outer
    bound (spaced from a late first contact), and that are due on the bound instead."""
    rows = db.session.execute(
        sa.select(Milestone, TemplateStep)
        .join(Participation, Participation.id == Milestone.participation_id)
        .join(
            TemplateStep,
            sa.and_(
                TemplateStep.template_id == Participation.template_id,
                TemplateStep.key == Milestone.step_key,
            ),
        )
        .where(Milestone.partnership_id == partnership.id)
        .options(selectinload(Milestone.participation))
        .order_by(Milestone.position)
    ).all()
    return [
        milestone
        for milestone, step in rows
        if milestone.due_on == outer_bound(milestone.participation.start_date)
        and _planned_due_on(step, milestone.participation, partnership.first_contact)
        > outer_bound(milestone.participation.start_date)
    ]


# A library's active partnerships, in roll-out order: (partnership id, first contact).
District = tuple[int, date | None]


def _districts_of(library_ids: list[int]) -> dict[int, list[District]]:
    """{library id: its active partnerships with their first contact}, one statement."""
    rows = db.session.execute(
        sa.select(
            Partnership.library_id, Partnership.id, sa.func.min(PartnershipStageDate.reached_on)
        )
        .outerjoin(PartnershipStageDate, PartnershipStageDate.partnership_id == Partnership.id)
        .where(Partnership.library_id.in_(library_ids), Partnership.active.is_(True))
        .group_by(Partnership.library_id, Partnership.id, Partnership.rollout_order)
        .order_by(Partnership.rollout_order, Partnership.id)
    )
    districts: dict[int, list[District]] = defaultdict(list)
    for library_id, partnership_id, first_contact in rows:
        districts[library_id].append((partnership_id, first_contact))
    return districts


def _new_milestones(
    participation: Participation,
    steps: list[TemplateStep],
    districts: list[District],
    existing: set[tuple[str, int | None]],
    given_on: date | None = None,
    grace_days: int = GRACE_DAYS,
) -> list[dict[str, Any]]:
    """The columns of the pilot's milestones for `steps` it does not have yet (`existing`:
    the (step key, partnership id) pairs it has)."""
    made = []
    for step in steps:
        targets = districts if step.scope == StepScope.PARTNERSHIP else [(None, None)]
        for partnership_id, first_contact in targets:
            if (step.key, partnership_id) in existing:
                continue
            made.append(
                {
                    "participation_id": participation.id,
                    "partnership_id": partnership_id,
                    "step_key": step.key,
                    "position": step.position,
                    "title": step.title,
                    "description": step.description,
                    "toolkit_page": step.toolkit_page,
                    "due_on": _due_on(step, participation, first_contact, given_on, grace_days),
                    **_fact_of(step),
                }
            )
    return made


def _create(
    participation: Participation,
    steps: list[TemplateStep],
    districts: list[District],
    given_on: date | None = None,
    grace_days: int = GRACE_DAYS,
) -> list[Milestone]:
    existing = {
        (key, partnership_id)
        for key, partnership_id in db.session.execute(
            sa.select(Milestone.step_key, Milestone.partnership_id).where(
                Milestone.participation_id == participation.id
            )
        )
    }
    made = [
        Milestone(**values)
        for values in _new_milestones(
            participation, steps, districts, existing, given_on, grace_days
        )
    ]
    db.session.add_all(made)
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
    districts = _districts_of([participation.library_id])
    made = _create(participation, template.steps, districts.get(participation.library_id, []))
    milestone_facts.sync_facts([participation.library_id], today or date.today(), None)
    return made


def add_partnership_milestones(
    partnership: Partnership,
    today: date | None,
    grace_days: int = GRACE_DAYS,
    actor: User | None = None,
) -> list[Milestone]:
    """A new district partnership gets the per-partnership steps of each running pilot:
    spaced from its first contact, none after the pilot's outer bound, and (added on
    `today`) none due before `grace_days` from today, so a first contact in the past
    makes no step late on the day the district is added. The library's steps that wait
    on every district (the letter, say) follow it."""
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
        district = (partnership.id, partnership.first_contact)
        made += _create(participation, steps, [district], given_on=today, grace_days=grace_days)
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
