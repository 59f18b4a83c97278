"""School-district partnerships: stages, agreements, and each pilot's commitment letter.

Stages are rows ordered by `position`; moving a partnership compares positions and
never names a stage. Renewing an agreement adds a new agreement row, so the one it
replaces drops off the "expiring" list without losing its history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import (
    OUTER_BOUND_MONTHS,
    Agreement,
    CommitmentLetter,
    LetterSigner,
    Library,
    Participation,
    Partnership,
    PartnershipStage,
    PartnershipStageDate,
    SchoolDistrict,
    SignerRole,
    User,
)
from . import audit, milestone_facts, milestones, records
from .errors import Conflict, ValidationError
from .months import outer_bound

EXPIRY_WINDOW_DAYS = 90


def stages() -> list[PartnershipStage]:
    return db.session.scalars(sa.select(PartnershipStage).order_by(PartnershipStage.position)).all()


def partnerships_of(library_id: int, active_only: bool = True) -> list[Partnership]:
    query = (
        sa.select(Partnership)
        .where(Partnership.library_id == library_id)
        .options(
            joinedload(Partnership.district),
            joinedload(Partnership.stage),
            selectinload(Partnership.stage_dates),
            selectinload(Partnership.agreements),
        )
        .order_by(Partnership.rollout_order, Partnership.id)
    )
    if active_only:
        query = query.where(Partnership.active.is_(True))
    return db.session.scalars(query).all()


def district_choices(library: Library, keep_id: int | None = None) -> list[tuple[int, str]]:
    """Active districts the library does not partner with yet (its own current one kept)."""
    taken = sa.select(Partnership.district_id).where(Partnership.library_id == library.id)
    rows = db.session.execute(
        sa.select(SchoolDistrict.id, SchoolDistrict.name, SchoolDistrict.county)
        .where(
            SchoolDistrict.active.is_(True),
            sa.or_(SchoolDistrict.id.not_in(taken), SchoolDistrict.id == (keep_id or 0)),
        )
        # The library's own county first: that is where its districts usually are.
        .order_by((SchoolDistrict.county != library.county), SchoolDistrict.name)
    ).all()
    return [(row.id, f"{row.name} ({row.county})") for row in rows]


def create_partnership(
    library: Library,
    values: dict[str, Any],
    contacted_on: date,
    actor: User | None,
    today: date | None = None,
    grace_days: int = milestones.GRACE_DAYS,
) -> Partnership:
    """A new partnership starts at the first stage, reached on `contacted_on`.

    `today`: the day it is recorded; its pilot's new steps are then not due before
    `grace_days` after it. None records history as it happened (the demo data). The
    commitment letter now waits for its superintendent too."""
    district = db.session.get(SchoolDistrict, values.get("district_id") or 0)
    if district is None or not district.active:
        raise ValidationError("Choose a school district from the list.", "district_id")
    first = stages()[0]
    partnership = records.create(
        Partnership, {**values, "library_id": library.id, "stage_id": first.id}, actor
    )
    db.session.add(
        PartnershipStageDate(partnership=partnership, stage_id=first.id, reached_on=contacted_on)
    )
    db.session.flush()
    milestones.add_partnership_milestones(partnership, today, grace_days, actor)
    return partnership


def capped_note(partnership: Partnership) -> str:
    """A sentence naming the partnership's steps that were due on its pilot's 24-month
    limit instead of after it ("" when none were)."""
    capped = milestones.capped_steps(partnership)
    if not capped:
        return ""
    limit = outer_bound(capped[0].participation.start_date)
    titles = ", ".join(f"“{m.title}”" for m in capped)
    return (
        f"{len(capped)} of its steps would fall after the pilot's {OUTER_BOUND_MONTHS}-month "
        f"limit, so they are due on {limit:%b} {limit.day}, {limit.year} instead: {titles}."
    )


def update_partnership(partnership: Partnership, values: dict[str, Any], actor: User | None):
    return records.update(partnership, values, actor)


def set_partnership_active(
    partnership: Partnership, active: bool, today: date, actor: User | None
) -> None:
    """A district no longer active no longer holds up the letter or the library's steps."""
    records.set_active(partnership, active, actor)
    milestone_facts.sync_facts([partnership.library_id], today, actor)


def move_to_stage(
    partnership: Partnership,
    stage: PartnershipStage,
    reached_on: date,
    today: date,
    actor: User | None,
) -> None:
    """Record that the partnership reached `stage` on `reached_on`.

    Going back (a correction) forgets the dates of the stages after it.
    """
    if reached_on > today:
        raise ValidationError("The date a stage was reached cannot be in the future.", "reached_on")
    by_id = {s.id: s for s in stages()}
    earlier = [d for d in partnership.stage_dates if by_id[d.stage_id].position < stage.position]
    latest_earlier = max(earlier, key=lambda d: d.reached_on, default=None)
    if latest_earlier and reached_on < latest_earlier.reached_on:
        raise ValidationError(
            f"“{by_id[latest_earlier.stage_id].name}” was reached on "
            f"{latest_earlier.reached_on:%b %-d, %Y}; this stage cannot come before it.",
            "reached_on",
        )
    old_stage = partnership.stage
    for stage_date in list(partnership.stage_dates):
        if by_id[stage_date.stage_id].position >= stage.position:
            partnership.stage_dates.remove(stage_date)
    db.session.flush()  # the unique (partnership, stage) row is replaced, not duplicated
    partnership.stage_dates.append(PartnershipStageDate(stage_id=stage.id, reached_on=reached_on))
    partnership.stage = stage
    audit.record(
        actor,
        "stage",
        partnership,
        {"stage": [old_stage.name, stage.name], "reached_on": [None, reached_on]},
    )
    milestone_facts.sync_facts([partnership.library_id], today, actor)


def add_agreement(
    partnership: Partnership, values: dict[str, Any], actor: User | None, today: date | None = None
):
    _check_agreement_dates(values)
    agreement = records.create(Agreement, {**values, "partnership_id": partnership.id}, actor)
    milestone_facts.sync_facts([partnership.library_id], today or date.today(), actor)
    return agreement


def update_agreement(
    agreement: Agreement, values: dict[str, Any], actor: User | None, today: date | None = None
):
    _check_agreement_dates(values)
    changes = records.update(agreement, values, actor)
    milestone_facts.sync_facts([agreement.library_id], today or date.today(), actor)
    return changes


def _check_agreement_dates(values: dict[str, Any]) -> None:
    if values.get("expires_on") and values["expires_on"] <= values["effective_on"]:
        raise ValidationError("The expiry date must come after the effective date.", "expires_on")


@dataclass(frozen=True)
class ExpiringAgreement:
    agreement: Agreement
    days_left: int  # negative once it has expired

    @property
    def expired(self) -> bool:
        return self.days_left < 0


def expiring_query(
    today: date, library_ids: list[int] | None = None, days: int = EXPIRY_WINDOW_DAYS
) -> sa.Select:
    """Agreements of active partnerships that expire within `days` (or already have)
    and have not been renewed by a later agreement of the same kind. Soonest first."""
    later = sa.orm.aliased(Agreement)
    renewed = sa.exists().where(
        later.partnership_id == Agreement.partnership_id,
        later.kind == Agreement.kind,
        later.id != Agreement.id,
        sa.or_(later.expires_on.is_(None), later.expires_on > Agreement.expires_on),
    )
    query = (
        sa.select(Agreement)
        .join(Agreement.partnership)
        .where(
            Partnership.active.is_(True),
            Agreement.expires_on.is_not(None),
            Agreement.expires_on <= today + timedelta(days=days),
            ~renewed,
        )
        .options(
            joinedload(Agreement.partnership).joinedload(Partnership.library),
            joinedload(Agreement.partnership).joinedload(Partnership.district),
        )
        .order_by(Agreement.expires_on, Agreement.id)
    )
    if library_ids is not None:
        query = query.where(Partnership.library_id.in_(library_ids))
    return query


def expiring(agreements: list[Agreement], today: date) -> list[ExpiringAgreement]:
    return [ExpiringAgreement(a, (a.expires_on - today).days) for a in agreements]


def expiring_agreements(
    today: date, library_ids: list[int] | None = None, days: int = EXPIRY_WINDOW_DAYS
) -> list[ExpiringAgreement]:
    """Every agreement of `expiring_query`, with its days left."""
    return expiring(db.session.scalars(expiring_query(today, library_ids, days)).all(), today)


def expired_count(today: date, days: int = EXPIRY_WINDOW_DAYS) -> int:
    """How many of the agreements to renew have already expired (the whole list)."""
    to_renew = expiring_query(today, days=days).subquery()
    return db.session.scalar(
        sa.select(sa.func.count()).select_from(to_renew).where(to_renew.c.expires_on < today)
    )


# The commitment letter ----------------------------------------------------------


def letter_of(participation: Participation) -> CommitmentLetter | None:
    return db.session.scalar(
        sa.select(CommitmentLetter)
        .where(CommitmentLetter.participation_id == participation.id)
        .options(
            selectinload(CommitmentLetter.signers)
            .joinedload(LetterSigner.partnership)
            .joinedload(Partnership.district),
            selectinload(CommitmentLetter.partner_districts).joinedload(Partnership.district),
        )
    )


def letter_for(participation: Participation) -> CommitmentLetter:
    """The participation's letter, started (empty) the first time someone records a signer."""
    letter = letter_of(participation)
    if letter is None:
        letter = CommitmentLetter(participation=participation)
        db.session.add(letter)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except sa.exc.IntegrityError as error:  # someone else started it a moment ago
            raise Conflict("This letter was just started by someone else; try again.") from error
    return letter


def set_letter_document(letter: CommitmentLetter, document_url: str, actor: User | None) -> None:
    records.update(letter, {"document_url": document_url}, actor)


def add_signer(letter: CommitmentLetter, values: dict[str, Any], today: date, actor: User | None):
    values = _check_signer(letter, values, today)
    was_signed = letter.is_signed
    signer = LetterSigner(**values)
    letter.signers.append(signer)
    db.session.flush()
    audit.record(
        actor, "add signer", letter, {"signer": [None, f"{signer.signs_as}: {signer.name}"]}
    )
    _note_if_complete(letter, was_signed, actor)
    milestone_facts.sync_facts([letter.library_id], today, actor)
    return signer


def update_signer(signer: LetterSigner, values: dict[str, Any], today: date, actor: User | None):
    letter = signer.letter
    values = _check_signer(letter, values, today, signer)
    was_signed = letter.is_signed
    changes = audit.apply_changes(signer, values)
    if changes:
        audit.record(actor, "update signer", letter, changes)
    _note_if_complete(letter, was_signed, actor)
    milestone_facts.sync_facts([letter.library_id], today, actor)


def remove_signer(signer: LetterSigner, actor: User | None, today: date | None = None) -> None:
    letter = signer.letter
    letter.signers.remove(signer)
    audit.record(actor, "remove signer", letter, {"signer": [signer.name, None]})
    milestone_facts.sync_facts([letter.library_id], today or date.today(), actor)


def signer_districts(participation: Participation) -> list[tuple[int, str]]:
    """The districts a superintendent can sign for: the library's active partnerships."""
    rows = db.session.execute(
        sa.select(Partnership.id, SchoolDistrict.name)
        .join(Partnership.district)
        .where(Partnership.library_id == participation.library_id, Partnership.active.is_(True))
        .order_by(Partnership.rollout_order, Partnership.id)
    )
    return [(partnership_id, name) for partnership_id, name in rows]


def _check_signer(
    letter: CommitmentLetter,
    values: dict[str, Any],
    today: date,
    signer: LetterSigner | None = None,
) -> dict:
    """A superintendent signs for one of the library's active partner districts; the other
    leaders sign for the library as a whole."""
    if values.get("signed_on") and values["signed_on"] > today:
        raise ValidationError("The date signed cannot be in the future.", "signed_on")
    role = values.get("role", signer and signer.role)
    if role != SignerRole.SUPERINTENDENT:
        return {**values, "partnership_id": None}
    partnership_id = values.get("partnership_id", signer and signer.partnership_id)
    if signer is not None and partnership_id and partnership_id == signer.partnership_id:
        return values  # kept as it was, even if that district is no longer active
    districts = dict(signer_districts(letter.participation))
    if partnership_id not in districts:
        raise ValidationError(
            "Choose the partner district this superintendent signs for."
            if districts
            else "Add the school district as a partner first: a superintendent signs for "
            "one of your partner districts.",
            "partnership_id",
        )
    return values


def _note_if_complete(letter: CommitmentLetter, was_signed: bool, actor: User | None) -> None:
    if letter.is_signed and not was_signed:
        audit.record(actor, "letter signed", letter, {"signed_on": [None, letter.signed_on]})
