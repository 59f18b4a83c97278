"""Milestones completed by facts: a step of the plan may name the fact that completes it.

A pilot records a fact once, where it belongs (a partnership's stage, the commitment
letter, an agreement, an outcome report); every milestone whose step names that fact
follows it: done with the fact's own date when it holds, open again when it no longer
does. Such a milestone is never marked done or reopened by hand (`update_milestone`).

A step done once per pilot library that names a fact of a partnership (a stage, an
agreement, a first outcome report) is done when every active partnership of the library
has that fact, on the day the last of them got it; with no active partnership it is not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..models import (
    Agreement,
    AgreementKind,
    CommitmentLetter,
    LetterSigner,
    Milestone,
    MilestoneStatus,
    OutcomeReport,
    Participation,
    Partnership,
    PartnershipStage,
    PartnershipStageDate,
    SchoolDistrict,
    StepFact,
    StepScope,
    User,
)
from ..models.partnership import letter_progress
from . import audit
from .months import due_when_given


@dataclass(frozen=True)
class Fact:
    """A fact that holds: since when, and how to say it."""

    on: date
    words: str  # e.g. "stage ‘Meeting held’ reached on Nov 10, 2026"


def _day(value: date) -> str:
    return f"{value:%b %-d, %Y}"


def describe(step, stage_names: dict[int, str]) -> str:
    """What completes a step (or a milestone), in words for the plan and the milestone page."""
    words = _describe(step, stage_names)
    once_per_library = (
        step.scope == StepScope.LIBRARY if hasattr(step, "scope") else step.partnership_id is None
    )
    if once_per_library and step.completed_by not in (None, StepFact.LETTER_SIGNED):
        return f"{words}, for every active partner district"
    return words


def _describe(step, stage_names: dict[int, str]) -> str:
    match step.completed_by:
        case StepFact.STAGE_REACHED:
            name = stage_names.get(step.completed_by_stage, f"number {step.completed_by_stage}")
            return f"the partnership reaches the stage “{name}”"
        case StepFact.LETTER_SIGNED:
            return "the commitment letter is signed"
        case StepFact.AGREEMENT_IN_EFFECT:
            kind = step.completed_by_agreement.value if step.completed_by_agreement else None
            return f"a{'n' if not kind or kind == 'MOU' else ''} {kind or 'agreement'} takes effect"
        case StepFact.FIRST_OUTCOME_REPORT:
            return "the partnership's first outcome figures are reported"
    return ""


def _reopened_words(milestone, names: dict[int, str]) -> str:
    match milestone.completed_by:
        case StepFact.STAGE_REACHED:
            return f"stage ‘{names.get(milestone.completed_by_stage, '')}’ not reached"
        case StepFact.LETTER_SIGNED:
            return "commitment letter not signed"
        case StepFact.AGREEMENT_IN_EFFECT:
            return "no agreement in effect"
        case StepFact.FIRST_OUTCOME_REPORT:
            return "no outcome figures reported"
    return ""


def stage_names() -> dict[int, str]:
    """{stage position: name}."""
    return dict(
        db.session.execute(sa.select(PartnershipStage.position, PartnershipStage.name)).all()
    )


# What the recorded facts say --------------------------------------------------------------


@dataclass
class FactBook:
    """The facts of some libraries as plain data, and the rule that reads them (the scale
    seed fills one from the rows it writes, so its milestones follow the same rule)."""

    # {library: {active partnership: district name}} in roll-out order
    active_of_library: dict[int, dict[int, str]]
    stage_names: dict[int, str] = field(default_factory=dict)
    # {partnership: [(stage position, reached on)]} up to its current stage
    stage_dates: dict[int, list[tuple[int, date]]] = field(default_factory=dict)
    # {(partnership, kind): the first effective date, up to today}
    agreements: dict[tuple[int, AgreementKind], date] = field(default_factory=dict)
    # {partnership: the end of its first report's period}
    first_reports: dict[int, date] = field(default_factory=dict)
    # {participation: the day its letter became signed}
    letters: dict[int, date | None] = field(default_factory=dict)

    def _of_partnership(self, milestone, partnership_id: int) -> Fact | None:
        match milestone.completed_by:
            case StepFact.STAGE_REACHED:
                wanted = milestone.completed_by_stage
                days = [d for p, d in self.stage_dates.get(partnership_id, []) if p >= wanted]
                name = self.stage_names.get(wanted, "")
                if days:
                    return Fact(min(days), f"stage ‘{name}’ reached on {_day(min(days))}")
            case StepFact.AGREEMENT_IN_EFFECT:
                kinds = (
                    [AgreementKind(milestone.completed_by_agreement)]
                    if milestone.completed_by_agreement
                    else list(AgreementKind)
                )
                found = [
                    (self.agreements[(partnership_id, kind)], kind)
                    for kind in kinds
                    if (partnership_id, kind) in self.agreements
                ]
                if found:
                    day, kind = min(found)
                    return Fact(day, f"{kind.value} in effect from {_day(day)}")
            case StepFact.FIRST_OUTCOME_REPORT:
                day = self.first_reports.get(partnership_id)
                if day:
                    return Fact(day, f"first outcome figures reported, to {_day(day)}")
        return None

    def of(self, milestone, library_id: int) -> Fact | None:
        """The fact that completes this milestone, if it holds."""
        if milestone.completed_by == StepFact.LETTER_SIGNED:
            day = self.letters.get(milestone.participation_id)
            return Fact(day, f"commitment letter signed on {_day(day)}") if day else None
        if milestone.partnership_id is not None:
            return self._of_partnership(milestone, milestone.partnership_id)
        # Once per library: every active partnership must have it; dated by the last one.
        districts = self.active_of_library.get(library_id, {})
        facts = [self._of_partnership(milestone, p) for p in districts]
        if not facts or None in facts:
            return None
        last = max(facts, key=lambda fact: fact.on)
        return Fact(last.on, f"every partner district: {last.words}")

    def change(self, milestone, library_id: int) -> tuple[dict[str, Any], str] | None:
        """What the milestone must become to agree with its fact, and the words for its
        history; None when it already agrees (or was put aside as not applicable)."""
        if milestone.status == MilestoneStatus.NOT_APPLICABLE:
            return None
        fact = self.of(milestone, library_id)
        if fact is not None:
            if milestone.status == MilestoneStatus.DONE and milestone.done_on == fact.on:
                return None
            return {"status": MilestoneStatus.DONE, "done_on": fact.on}, f"done: {fact.words}"
        if milestone.status == MilestoneStatus.DONE:
            return (
                {"status": MilestoneStatus.NOT_STARTED, "done_on": None},
                f"reopened: {_reopened_words(milestone, self.stage_names)}",
            )
        return None


def _load(library_ids: list[int], kinds: set[StepFact], today: date) -> FactBook:
    """The facts of these libraries, one query per kind of fact concerned."""
    rows = db.session.execute(
        sa.select(Partnership.id, Partnership.library_id, Partnership.active, SchoolDistrict.name)
        .join(Partnership.district)
        .where(Partnership.library_id.in_(library_ids))
        .order_by(Partnership.rollout_order, Partnership.id)
    ).all()
    book = FactBook(active_of_library={})
    for partnership_id, library_id, active, district in rows:
        if active:
            book.active_of_library.setdefault(library_id, {})[partnership_id] = district
    partnership_ids = [row[0] for row in rows]
    book.stage_names = stage_names()
    if StepFact.STAGE_REACHED in kinds:
        book.stage_dates = _stage_dates(partnership_ids)
    if StepFact.AGREEMENT_IN_EFFECT in kinds:
        book.agreements = _agreements(partnership_ids, today)
    if StepFact.FIRST_OUTCOME_REPORT in kinds:
        book.first_reports = _first_reports(partnership_ids)
    if StepFact.LETTER_SIGNED in kinds:
        book.letters = _letters(library_ids, book.active_of_library)
    return book


def _stage_dates(partnership_ids: list[int]) -> dict[int, list[tuple[int, date]]]:
    """{partnership: [(position, reached on)]} of the stages reached up to its current one
    (going back forgets the later ones; a stage skipped has no date)."""
    current = sa.orm.aliased(PartnershipStage)
    rows = db.session.execute(
        sa.select(
            PartnershipStageDate.partnership_id,
            PartnershipStage.position,
            PartnershipStageDate.reached_on,
        )
        .join(PartnershipStageDate.stage)
        .join(Partnership, Partnership.id == PartnershipStageDate.partnership_id)
        .join(current, current.id == Partnership.stage_id)
        .where(
            PartnershipStageDate.partnership_id.in_(partnership_ids),
            PartnershipStage.position <= current.position,
        )
    )
    dates: dict[int, list[tuple[int, date]]] = {}
    for partnership_id, position, reached_on in rows:
        dates.setdefault(partnership_id, []).append((position, reached_on))
    return dates


def _agreements(partnership_ids: list[int], today: date) -> dict[tuple[int, AgreementKind], date]:
    rows = db.session.execute(
        sa.select(Agreement.partnership_id, Agreement.kind, sa.func.min(Agreement.effective_on))
        .where(Agreement.partnership_id.in_(partnership_ids), Agreement.effective_on <= today)
        .group_by(Agreement.partnership_id, Agreement.kind)
    )
    return {(partnership_id, kind): day for partnership_id, kind, day in rows}


def _first_reports(partnership_ids: list[int]) -> dict[int, date]:
    # A report's own date is the end of its period: the day its figures are counted to.
    return dict(
        db.session.execute(
            sa.select(OutcomeReport.partnership_id, sa.func.min(OutcomeReport.period_end))
            .where(OutcomeReport.partnership_id.in_(partnership_ids))
            .group_by(OutcomeReport.partnership_id)
        ).all()
    )


def _letters(
    library_ids: list[int], active_of_library: dict[int, dict[int, str]]
) -> dict[int, date | None]:
    """{participation: the day its letter became signed, or None}."""
    rows = db.session.execute(
        sa.select(
            CommitmentLetter.participation_id,
            Participation.library_id,
            LetterSigner.role,
            LetterSigner.signed_on,
            LetterSigner.partnership_id,
        )
        .join(CommitmentLetter.participation)
        .join(LetterSigner, LetterSigner.letter_id == CommitmentLetter.id)
        .where(Participation.library_id.in_(library_ids))
    ).all()
    signers: dict[tuple[int, int], list] = {}
    for row in rows:
        signers.setdefault((row.participation_id, row.library_id), []).append(row)
    return {
        participation_id: letter_progress(theirs, active_of_library.get(library_id, {}))[1]
        for (participation_id, library_id), theirs in signers.items()
    }


def _disagreeing(library_ids: list[int], today: date) -> list[tuple[Milestone, dict, str]]:
    """The fact-completed milestones of these libraries that disagree with their facts:
    (milestone, what it must become, the words for its history)."""
    rows = db.session.execute(
        sa.select(Milestone, Participation.library_id)
        .join(Milestone.participation)
        .options(
            contains_eager(Milestone.participation),
            joinedload(Milestone.partnership).joinedload(Partnership.district),
        )
        .where(
            Participation.library_id.in_(library_ids),
            Milestone.completed_by.is_not(None),
            # Closed by hand as not applicable: the pilot said the step does not apply.
            Milestone.status != MilestoneStatus.NOT_APPLICABLE,
        )
    ).all()
    if not rows:
        return []
    book = _load(library_ids, {m.completed_by for m, _ in rows}, today)
    found = []
    for milestone, library_id in rows:
        change = book.change(milestone, library_id)
        if change is not None:
            found.append((milestone, *change))
    return found


def disagreements(library_ids: Iterable[int], today: date) -> list[tuple[Milestone, str]]:
    """Milestones that do not agree with their facts (none, once synced): for checks."""
    return [(m, words) for m, _, words in _disagreeing(sorted(set(library_ids)), today)]


def sync_facts(library_ids: Iterable[int], today: date, actor: User | None) -> list[Milestone]:
    """Bring the fact-completed milestones of these libraries' pilots in line with the
    facts recorded; returns those changed (each with an audit row in words)."""
    library_ids = sorted(set(library_ids))
    if not library_ids:
        return []
    db.session.flush()  # the facts just changed are what the queries read
    changed = []
    grace_days = current_app.config["STEP_GRACE_DAYS"]
    for milestone, values, action in _disagreeing(library_ids, today):
        if milestone.status == MilestoneStatus.DONE and values["status"] != MilestoneStatus.DONE:
            # Reopened by a change made today: like a step given today, not late today.
            due = due_when_given(
                milestone.due_on, milestone.participation.start_date, today, grace_days
            )
            values = {**values, "due_on": due}
        changes = audit.apply_changes(milestone, values)
        milestone.updated_at = datetime.now(UTC)
        milestone.updated_by_id = actor.id if actor else None
        audit.record(actor, action[:200], milestone, changes)
        changed.append(milestone)
    db.session.flush()
    return changed


def agreements_taking_effect(today: date, days: int = 7) -> list[Milestone]:
    """An agreement recorded ahead of its effective date completes its milestone when that
    day comes: the scheduler asks every run (a week back, so a missed run is caught up)."""
    library_ids = db.session.scalars(
        sa.select(Partnership.library_id)
        .join(Agreement.partnership)
        .where(Agreement.effective_on.between(today - timedelta(days=days), today))
        .distinct()
    ).all()
    return sync_facts(library_ids, today, None)
