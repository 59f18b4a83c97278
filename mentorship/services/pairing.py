"""Pairing mentor libraries with pilot libraries: suggest, propose, publish, end.

Staff propose (one pilot at a time from the ranked suggestions, or the whole cohort at
once); proposals stay `proposed` until staff publish them, which makes them `active`.
Ending a pairing keeps it as history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..mail import Mail
from ..models import (
    OPEN_STATUSES,
    Cadence,
    Library,
    Pairing,
    PairingStatus,
    Participation,
    ParticipationRole,
    User,
)
from . import audit
from .checkins import next_date
from .errors import Conflict, ValidationError
from .figures import figures_by_library
from .libraries import people_of_libraries
from .matching import LibraryProfile, optimal_assignment, ranking_score, score_matrix, score_pair


def profile(library: Library) -> LibraryProfile:
    return LibraryProfile(
        id=library.id,
        name=library.name,
        county=library.county,
        cooperative_system=library.cooperative_system,
        governance=str(library.governance),
        service_population=library.service_population,
        ils_name=library.ils_name,
    )


def _participants_query(cohort_id: int, role: ParticipationRole) -> sa.Select:
    return (
        sa.select(Participation)
        .where(
            Participation.cohort_id == cohort_id,
            Participation.role == role,
            Participation.active.is_(True),
        )
        .options(joinedload(Participation.library))
        .order_by(Participation.id)
    )


def _participants(cohort_id: int, role: ParticipationRole) -> list[Participation]:
    return db.session.scalars(_participants_query(cohort_id, role)).all()


def open_pairings(cohort_id: int) -> list[Pairing]:
    """Proposed and active pairings of a cohort, with both libraries loaded."""
    pilot = sa.orm.aliased(Participation)
    return db.session.scalars(
        sa.select(Pairing)
        .join(pilot, Pairing.pilot_participation_id == pilot.id)
        .where(pilot.cohort_id == cohort_id, Pairing.status.in_(OPEN_STATUSES))
        .options(
            joinedload(Pairing.pilot).joinedload(Participation.library),
            joinedload(Pairing.mentor).joinedload(Participation.library),
        )
        .order_by(Pairing.id)
    ).all()


def places_taken(cohort_id: int, mentor_ids: list[int] | None = None) -> dict[int, int]:
    """{mentor participation id: open pairings} (of some mentors only, if given)."""
    query = (
        sa.select(Pairing.mentor_participation_id, sa.func.count())
        .join(Participation, Participation.id == Pairing.mentor_participation_id)
        .where(Participation.cohort_id == cohort_id, Pairing.status.in_(OPEN_STATUSES))
        .group_by(Pairing.mentor_participation_id)
    )
    if mentor_ids is not None:
        query = query.where(Pairing.mentor_participation_id.in_(mentor_ids))
    return dict(db.session.execute(query).all())


@dataclass
class Suggestion:
    mentor: Participation
    score: int
    reasons: tuple[str, ...]
    places_left: int


def suggestions_for(pilot: Participation) -> list[Suggestion]:
    """Every mentor of the pilot's cohort, best first, with the reasons in words."""
    taken = places_taken(pilot.cohort_id)
    mentors = _participants(pilot.cohort_id, ParticipationRole.MENTOR)
    figures = figures_by_library([mentor.library_id for mentor in mentors])
    ranked = []
    for mentor in mentors:
        left = max(mentor.mentor_capacity - taken.get(mentor.id, 0), 0)
        issued = figures[mentor.library_id].cards if mentor.library_id in figures else 0
        fit = score_pair(profile(pilot.library), profile(mentor.library))
        reasons = (
            *fit.reasons,
            f"{left} of {mentor.mentor_capacity} places left" if left else "no places left",
            *([f"mentor has issued {issued:,} student cards"] if issued else []),
        )
        score = ranking_score(fit, left, mentor.mentor_capacity, issued)
        ranked.append(Suggestion(mentor, score, reasons, left))
    ranked.sort(key=lambda s: (s.places_left == 0, -s.score, s.mentor.library.name))
    return ranked


def _check_pair(pilot: Participation, mentor: Participation) -> None:
    if pilot.role != ParticipationRole.PILOT or mentor.role != ParticipationRole.MENTOR:
        raise ValidationError("A pairing joins a pilot library with a mentor library.")
    if pilot.cohort_id != mentor.cohort_id:
        raise ValidationError("Both libraries must be in the same cohort.")
    if db.session.scalar(
        sa.select(Pairing.id).where(
            Pairing.pilot_participation_id == pilot.id, Pairing.status.in_(OPEN_STATUSES)
        )
    ):
        raise Conflict(f"{pilot.library.name} already has a mentor (proposed or active).")
    if places_taken(pilot.cohort_id).get(mentor.id, 0) >= mentor.mentor_capacity:
        raise Conflict(f"{mentor.library.name} has no places left in this cohort.")


def propose(pilot: Participation, mentor: Participation, actor: User | None) -> Pairing:
    _check_pair(pilot, mentor)
    pairing = Pairing(
        pilot_participation_id=pilot.id,
        mentor_participation_id=mentor.id,
        status=PairingStatus.PROPOSED,
        score=score_pair(profile(pilot.library), profile(mentor.library)).score,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(pairing)
    db.session.flush()
    audit.record(actor, "propose", pairing, {"mentor": [None, mentor.library.name]})
    return pairing


@dataclass
class CohortProposal:
    proposed: list[Pairing]
    unmatched: list[tuple[Participation, str]]


def propose_whole_cohort(cohort_id: int, actor: User | None) -> CohortProposal:
    """Propose a mentor for every unpaired pilot, maximising the cohort's total score."""
    paired = {p.pilot_participation_id for p in open_pairings(cohort_id)}
    pilots = [p for p in _participants(cohort_id, ParticipationRole.PILOT) if p.id not in paired]
    mentors = _participants(cohort_id, ParticipationRole.MENTOR)
    taken = places_taken(cohort_id)
    places = [max(m.mentor_capacity - taken.get(m.id, 0), 0) for m in mentors]
    scores = score_matrix(
        [profile(p.library) for p in pilots], [profile(m.library) for m in mentors]
    )
    assignment = optimal_assignment(scores, places)
    proposed = [propose(pilots[p], mentors[m], actor) for p, m in sorted(assignment.pairs.items())]
    free, wanting = sum(places), len(pilots)
    reason = (
        f"no mentor has a place left ({free} free places for {wanting} unpaired pilots)"
        if mentors
        else "this cohort has no mentor libraries yet"
    )
    return CohortProposal(proposed, [(pilots[i], reason) for i in assignment.unmatched])


def remove_proposal(pairing: Pairing, actor: User | None) -> None:
    if pairing.status != PairingStatus.PROPOSED:
        raise Conflict("Only a proposal can be removed; end an active pairing instead.")
    audit.record(actor, "remove proposal", pairing, {"status": ["proposed", None]})
    db.session.delete(pairing)


def publish(cohort_id: int, today: date, actor: User | None) -> list[Pairing]:
    """Make every proposal of the cohort active. Returns the pairings published."""
    published = [p for p in open_pairings(cohort_id) if p.status == PairingStatus.PROPOSED]
    for pairing in published:
        pairing.status = PairingStatus.ACTIVE
        pairing.start_date = today
        pairing.next_checkin_on = next_date(today, pairing.cadence or Cadence.MONTHLY)
        audit.record(actor, "publish", pairing, {"status": ["proposed", "active"]})
    return published


def end(pairing: Pairing, today: date, actor: User | None) -> None:
    if pairing.status != PairingStatus.ACTIVE:
        raise Conflict("Only an active pairing can be ended.")
    pairing.status = PairingStatus.ENDED
    pairing.end_date = today
    audit.record(actor, "end", pairing, {"status": ["active", "ended"]})


def active_pairings_of_library(library_id: int) -> list[Pairing]:
    """Active pairings where the library is pilot or mentor (for home pages)."""
    pilot = sa.orm.aliased(Participation)
    mentor = sa.orm.aliased(Participation)
    return db.session.scalars(
        sa.select(Pairing)
        .join(pilot, Pairing.pilot_participation_id == pilot.id)
        .join(mentor, Pairing.mentor_participation_id == mentor.id)
        .where(
            Pairing.status == PairingStatus.ACTIVE,
            sa.or_(pilot.library_id == library_id, mentor.library_id == library_id),
        )
        .options(
            joinedload(Pairing.pilot).joinedload(Participation.library),
            joinedload(Pairing.mentor).joinedload(Participation.library),
        )
    ).all()


def people_to_tell(pairings: list[Pairing], also: int | None = None) -> dict[int, list[User]]:
    """{library id: its active people} for both sides of the pairings (and the library
    `also`, e.g. one's own), in one query."""
    library_ids = {p.pilot.library_id for p in pairings} | {p.mentor.library_id for p in pairings}
    if also is not None:
        library_ids.add(also)
    people: dict[int, list[User]] = {library_id: [] for library_id in library_ids}
    for user in people_of_libraries(library_ids):
        people[user.library_id].append(user)
    return people


def open_pairing_of(pilot_participation_id: int) -> Pairing | None:
    return db.session.scalar(
        sa.select(Pairing).where(
            Pairing.pilot_participation_id == pilot_participation_id,
            Pairing.status.in_(OPEN_STATUSES),
        )
    )


def propose_instead(pilot: Participation, mentor: Participation, actor: User | None) -> Pairing:
    """Staff change a proposal: the old proposal goes, the new one is made."""
    current = open_pairing_of(pilot.id)
    if current is not None and current.status == PairingStatus.PROPOSED:
        remove_proposal(current, actor)
        db.session.flush()
    return propose(pilot, mentor, actor)


@dataclass(frozen=True)
class BoardCounts:
    """The whole cohort at a glance, above the paged lists."""

    pilots: int
    active: int
    proposed: int
    mentors: int
    places: int
    places_used: int

    @property
    def unpaired(self) -> int:
        return self.pilots - self.active - self.proposed


def board_counts(cohort_id: int) -> BoardCounts:
    """Pilots by pairing status and mentors' places, two grouped statements."""
    pilots = db.session.execute(
        sa.select(
            sa.func.count(Participation.id),
            sa.func.count(Pairing.id).filter(Pairing.status == PairingStatus.ACTIVE),
            sa.func.count(Pairing.id).filter(Pairing.status == PairingStatus.PROPOSED),
        )
        .outerjoin(
            Pairing,  # at most one open pairing per pilot (uq_pairings_open_pilot)
            sa.and_(
                Pairing.pilot_participation_id == Participation.id,
                Pairing.status.in_(OPEN_STATUSES),
            ),
        )
        .where(
            Participation.cohort_id == cohort_id,
            Participation.role == ParticipationRole.PILOT,
            Participation.active.is_(True),
        )
    ).one()
    mentor = sa.orm.aliased(Participation)
    used = (
        sa.select(sa.func.count(Pairing.id))
        .join(mentor, mentor.id == Pairing.mentor_participation_id)
        .where(mentor.cohort_id == cohort_id, Pairing.status.in_(OPEN_STATUSES))
        .scalar_subquery()
    )
    mentors = db.session.execute(
        sa.select(
            sa.func.count(Participation.id),
            sa.func.coalesce(sa.func.sum(Participation.mentor_capacity), 0),
            used,
        ).where(
            Participation.cohort_id == cohort_id,
            Participation.role == ParticipationRole.MENTOR,
            Participation.active.is_(True),
        )
    ).one()
    return BoardCounts(*pilots, *mentors)


def board(cohort_id: int, page: int, mentors_page: int, per_page: int) -> dict:
    """The staff pairing page: counts for the whole cohort, then one page of pilots with
    their pairing and one page of mentors with places used (a fixed number of queries)."""
    pilots = db.paginate(
        _participants_query(cohort_id, ParticipationRole.PILOT),
        page=page,
        per_page=per_page,
        error_out=False,
    )
    pairings = (
        db.session.scalars(
            sa.select(Pairing)
            .where(
                Pairing.pilot_participation_id.in_([p.id for p in pilots.items]),
                Pairing.status.in_(OPEN_STATUSES),
            )
            .options(joinedload(Pairing.mentor).joinedload(Participation.library))
        ).all()
        if pilots.items
        else []
    )
    by_pilot = {p.pilot_participation_id: p for p in pairings}
    mentors = db.paginate(
        _participants_query(cohort_id, ParticipationRole.MENTOR),
        page=mentors_page,
        per_page=per_page,
        error_out=False,
    )
    taken = places_taken(cohort_id, [m.id for m in mentors.items]) if mentors.items else {}
    return {
        "counts": board_counts(cohort_id),
        "pilot_page": pilots,
        "pilots": [(pilot, by_pilot.get(pilot.id)) for pilot in pilots.items],
        "mentor_page": mentors,
        "mentors": [(m, taken.get(m.id, 0)) for m in mentors.items],
    }


def announcements(pairings: list[Pairing]) -> list:
    """One email per library side of each newly active pairing."""
    people = people_to_tell(pairings)
    messages = []
    for pairing in pairings:
        pilot_lib, mentor_lib = pairing.pilot.library, pairing.mentor.library
        for library, other, role in (
            (pilot_lib, mentor_lib, "mentor"),
            (mentor_lib, pilot_lib, "mentee"),
        ):
            recipients = tuple(u.email for u in people[library.id])
            if not recipients:
                continue
            contacts = "\n".join(f"  {u.name} <{u.email}>" for u in people[other.id]) or (
                f"  {other.contact_name} {other.contact_email}".rstrip()
            )
            messages.append(
                Mail(
                    to=recipients,
                    subject=f"Your {role} library: {other.name}",
                    body=(
                        f"Program staff have paired {library.name} with {other.name} "
                        f"(your {role}) in {pairing.pilot.cohort.name}.\n\n"
                        f"How to reach them:\n{contacts}\n"
                    ),
                )
            )
    return messages
