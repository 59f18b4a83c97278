"""Demo data: two real-looking cohorts of California public libraries.

Safe to run again: rows are found by their natural keys and never duplicated.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    AgreementKind,
    CardModel,
    CaseStudy,
    CheckIn,
    CheckInMode,
    Cohort,
    Enrolment,
    IdentifierSystem,
    Library,
    LibrarySource,
    Milestone,
    MilestoneStatus,
    Pairing,
    PairingStatus,
    Participation,
    ParticipationRole,
    Partnership,
    PartnershipStage,
    Role,
    School,
    SchoolDistrict,
    SignerRole,
    User,
)
from ..services import (
    case_studies,
    checkins,
    milestones,
    outcomes,
    pairing,
    partnerships,
    records,
)
from ..services.auth import hash_password
from ..services.identifiers import set_identifier
from ..services.months import planned_due_on
from . import data

DEMO_PASSWORD = "demo-password"
YEAR1_NAME = "Year 1 — Northern California"
YEAR2_NAME = "Year 2 — California"
LIBRARY_FIELDS = (
    "name",
    "short_name",
    "city",
    "county",
    "cooperative_system",
    "governance",
    "service_population",
    "website",
)


@dataclass(frozen=True)
class Round:
    name: str
    start: date
    end: date


def round_started(today: date, years_ago: int = 0) -> date:
    """The Sep 1 that began the school year `years_ago` before today's."""
    year = today.year if today >= date(today.year, 9, 1) else today.year - 1
    return date(year - years_ago, 9, 1)


def demo_rounds(today: date) -> tuple[Round, Round]:
    """The demo is dated from the day it is loaded, so it always shows a program under
    way: Year 2 began this school year, Year 1 the year before; each lasts two years."""
    year1, year2 = round_started(today, 1), round_started(today)
    return (
        Round(YEAR1_NAME, year1, date(year1.year + 2, 8, 31)),
        Round(YEAR2_NAME, year2, date(year2.year + 2, 8, 31)),
    )


def _get_or_create(model, key: dict, values: dict):
    obj = db.session.scalar(sa.select(model).filter_by(**key))
    if obj is None:
        obj = records.create(model, {**key, **values}, actor=None)
    return obj


def _library(entry: dict) -> Library:
    values = {field: entry[field] for field in LIBRARY_FIELDS if field != "name"}
    values["ils_name"] = entry.get("ils", "")
    return _get_or_create(Library, {"name": entry["name"]}, values)


def _cohort(round_: Round, entries: list[dict]) -> Cohort:
    start = round_.start
    cohort = _get_or_create(
        Cohort, {"name": round_.name}, {"start_date": start, "end_date": round_.end}
    )
    for entry in entries:
        library = _library(entry)
        _get_or_create(
            Participation,
            {"library_id": library.id, "cohort_id": cohort.id},
            {"role": ParticipationRole(entry["role"]), "start_date": start},
        )
    return cohort


def _person(email: str, name: str, role: Role, library: Library | None) -> User:
    return _get_or_create(
        User,
        {"email": email},
        {
            "name": name,
            "role": role,
            "library_id": library.id if library else None,
            "password_hash": hash_password(DEMO_PASSWORD),
        },
    )


def _pair_year1(cohort: Cohort, pilot_name: str, mentor_name: str) -> None:
    """Year 1 has been running for months: its pairings are active. The demo pilot gets
    the demo mentor; the rest come from the whole-cohort assignment."""
    if pairing.open_pairings(cohort.id):
        return
    by_name = {p.library.name: p for p in cohort.participations}
    pairing.propose(by_name[pilot_name], by_name[mentor_name], actor=None)
    pairing.propose_whole_cohort(cohort.id, actor=None)
    pairing.publish(cohort.id, cohort.start_date, actor=None)


# The step of the plan each partnership stage stands for (meeting held … cards issued).
STAGE_OF_STEP = {
    "first_meeting": 2,
    "commitment_letter": 3,
    "data_agreement": 4,
    "technical_plan": 5,
    "first_launch": 6,
}
# A pilot's districts reach each stage a few days before the plan's date for the step
# that stage stands for (in months, as the default plan has them), `lag` days behind for
# a pilot that lags; a pilot's next district is first contacted a while after the last.
STAGE_MONTHS = {
    STAGE_OF_STEP[key]: month
    for key, _, _, month, _, _ in milestones.DEFAULT_PLAN
    if key in STAGE_OF_STEP
}
FIRST_CONTACT_DAYS, NEXT_DISTRICT_DAYS, AHEAD_DAYS = 20, 75, 4
# Mentors' own partnerships: days after their start each stage was reached.
MENTOR_STAGE_DAYS = (20, 60, 130, 250, 320, 400)
LETTER_STAGE = 3
DEMO_SIGNER_NAMES = tuple(data.SIGNER_NAMES)
CARDS_ISSUED = 6  # the stage position from which a partnership reports figures
MENTOR_HEAD_START_YEARS = 5  # mentors' own programmes began this long before Year 2
CARD_MODELS = (CardModel.DIGITAL_ONLY, CardModel.FULL, CardModel.STARTER)
# How far behind each pilot is, in days, in id order (the first Year 1 pilot is the demo
# pilot: one step late). Year 2 pilots are a few months in; one in three is behind.
YEAR1_LAG_DAYS = (100, 200, 0, 0, 30, 150, 0, 60, 0, 300, 0)
YEAR2_LAG_DAYS = (0, 0, 45)


def _lags() -> dict[int, int]:
    """{pilot participation id: how many days it is behind the plan}."""
    lags = {}
    for name, cycle in ((YEAR1_NAME, YEAR1_LAG_DAYS), (YEAR2_NAME, YEAR2_LAG_DAYS)):
        pilots = db.session.scalars(
            sa.select(Participation.id)
            .join(Participation.cohort)
            .where(Cohort.name == name, Participation.role == ParticipationRole.PILOT)
            .order_by(Participation.id)
        )
        lags.update({pilot: cycle[i % len(cycle)] for i, pilot in enumerate(pilots)})
    return lags


def _pilot_stage_dates(start: date, district: int, lag: int, today: date) -> dict[int, date]:
    """{stage position: day reached} for a pilot's `district`-th district (0 first), as
    far as today: each stage a few days before the plan's date (spaced from the district's
    first contact, as the plan spaces a district added later), `lag` days behind."""
    contact = start + timedelta(days=FIRST_CONTACT_DAYS + NEXT_DISTRICT_DAYS * district)
    reached = {1: contact}
    for position, month in STAGE_MONTHS.items():
        planned = planned_due_on(start, month, contact)
        day = max(planned - timedelta(days=AHEAD_DAYS - lag), reached[position - 1])
        if day > today:
            break
        reached[position] = day
    return reached


def _mentor_stage_dates(start: date) -> dict[int, date]:
    return {k + 1: start + timedelta(days=days) for k, days in enumerate(MENTOR_STAGE_DAYS)}


def _partnerships(today: date) -> None:
    """School-district partnerships with stages, agreements, figures and letters (once)."""
    if db.session.scalar(sa.select(Partnership.id).limit(1)):
        return
    stages = {
        stage.position: stage
        for stage in db.session.scalars(sa.select(PartnershipStage).order_by("position"))
    }
    # A library's pilot place if it has one (the earliest), else its mentor place.
    place_of: dict[str, Participation] = {}
    for participation in db.session.scalars(
        sa.select(Participation)
        .join(Participation.cohort)
        .where(Participation.active)
        .order_by(Participation.role != ParticipationRole.PILOT, Cohort.start_date)
    ):
        place_of.setdefault(participation.library.name, participation)
    districts = {(d.name, d.county): d for d in db.session.scalars(sa.select(SchoolDistrict))}
    lags = _lags()
    rollout: dict[str, int] = {}
    for index, entry in enumerate(data.SCHOOL_DISTRICTS):
        participation = place_of.get(entry.get("library"))
        if participation is None:
            continue
        library = participation.library
        rollout[library.name] = rollout.get(library.name, 0) + 1
        if participation.role == ParticipationRole.MENTOR:
            reached = _mentor_stage_dates(round_started(today, MENTOR_HEAD_START_YEARS))
        elif participation.cohort.name == YEAR2_NAME and rollout[library.name] > 1:
            continue  # Year 2 pilots start with one district
        else:
            reached = _pilot_stage_dates(
                participation.start_date, rollout[library.name] - 1, lags[participation.id], today
            )
            if reached[1] > today:
                continue  # not contacted yet
        position = max(reached)
        partnership = partnerships.create_partnership(
            library,
            {
                "district_id": districts[(entry["name"], entry["county"])].id,
                "rollout_order": rollout[library.name],
                "card_model": CARD_MODELS[index % 3] if position >= 3 else None,
                "enrolment": Enrolment.OPT_OUT if position >= 3 else None,
                "fine_free": True if position >= 3 else None,
            },
            reached[1],
            actor=None,
        )
        for stage_position in range(2, position + 1):
            partnerships.move_to_stage(
                partnership, stages[stage_position], reached[stage_position], today, actor=None
            )
        if position >= 4:
            # One agreement in three falls due within the next 90 days.
            expires = (
                today + timedelta(days=60)
                if index % 3 == 1
                else date(round_started(today).year + 3, 6, 30)
            )
            partnerships.add_agreement(
                partnership,
                {
                    "kind": AgreementKind.DATA_SHARING,
                    "effective_on": reached[4],
                    "expires_on": expires,
                },
                actor=None,
                today=today,
            )
        if position >= CARDS_ISSUED:
            _figures(partnership, reached[CARDS_ISSUED], today)
    _letters(today)


# Two elementary schools and a middle school per district (made up, with CDS codes in the
# district's own county-district code): the ILS report and the coverage gap have schools.
DEMO_SCHOOLS = (("Elementary", 0, 5), ("Primary", -1, 3), ("Middle", 6, 8))


def _schools() -> None:
    """Schools for every district with a state code (once); the elementary schools name
    their partner library, if any, as their local public library."""
    if db.session.scalar(sa.select(School.id).limit(1)):
        return
    library_of = dict(
        db.session.execute(
            sa.select(Partnership.district_id, Partnership.library_id).order_by(Partnership.id)
        ).all()
    )
    for district in db.session.scalars(sa.select(SchoolDistrict).order_by(SchoolDistrict.id)):
        code = "".join(ch for ch in district.state_code or "" if ch.isdigit())
        if len(code) != 7:
            continue
        set_identifier(district, IdentifierSystem.CDS, code)
        town = district.name.split()[0]
        for number, (kind, low, high) in enumerate(DEMO_SCHOOLS, start=1):
            library_id = library_of.get(district.id) if high <= 5 else None
            school = School(
                lea_id=district.id,
                name=f"{town} {kind}",
                county=district.county,
                city=town,
                low_grade=low,
                high_grade=high,
                local_library_id=library_id,
                local_library_source=LibrarySource.STAFF if library_id else None,
                third_graders=60 + 7 * number if low <= 3 <= high else None,
                third_graders_school_year="2025-26" if low <= 3 <= high else "",
            )
            db.session.add(school)
            db.session.flush()
            set_identifier(school, IdentifierSystem.CDS, f"{code}{6000000 + number:07d}")


def _figures(partnership: Partnership, first_cards: date, today: date) -> None:
    """A report per school year since the first cards: most students in year one."""
    enrolled = partnership.district.students_enrolled or 0
    year = first_cards.year if first_cards.month >= 8 else first_cards.year - 1
    shares = iter((0.55, 0.2, 0.1, 0.05, 0.05))
    while (start := max(date(year, 8, 1), first_cards)) < (
        end := min(date(year + 1, 6, 30), today)
    ):
        share = next(shares, 0.03)
        outcomes.add_report(
            partnership,
            {
                "period_start": start,
                "period_end": end,
                "students_enrolled": enrolled,
                "physical_cards": round(enrolled * share * 0.3),
                "digital_cards": round(enrolled * share * 0.7),
                "students_using_cards": round(enrolled * share * 0.45),
            },
            today,
            actor=None,
        )
        year += 1


def _timelines(today: date) -> None:
    """Every pilot gets its milestones: the steps its facts complete are done as those
    were recorded; the others are done a few days before they were due, as far as the
    pilot's lag allows, so the demo shows on-track and late pilots."""
    pilots = db.session.scalars(
        sa.select(Participation)
        .where(Participation.role == ParticipationRole.PILOT)
        .order_by(Participation.id)
    ).all()
    if db.session.scalar(sa.select(Milestone.id).limit(1)):
        return
    lags = _lags()
    for participation in pilots:
        made = milestones.start_timeline(participation, today)
        lag = lags.get(participation.id, 0)
        for milestone in made:
            if milestone.completed_by:
                continue  # done by its fact (a stage, the letter…) when that was recorded
            if milestone.due_on <= today - timedelta(days=lag):
                done_on = milestone.due_on - timedelta(days=AHEAD_DAYS)
                milestone.status = MilestoneStatus.DONE
                milestone.done_on = done_on
                milestone.updated_at = datetime.combine(done_on, time(17), UTC)
            elif milestone.due_on <= today:
                milestone.status = MilestoneStatus.IN_PROGRESS


def _letters(today: date) -> None:
    """Year 1 pilots: each district's superintendent signed when that district reached the
    letter stage; the mayor and the library director with the first of them (the director
    already a month after the first contact)."""
    letter_stage = db.session.scalar(
        sa.select(PartnershipStage).where(PartnershipStage.position == LETTER_STAGE)
    )
    for participation in db.session.scalars(
        sa.select(Participation).where(Participation.role == ParticipationRole.PILOT)
    ):
        if participation.cohort.name != YEAR1_NAME:
            continue
        districts = partnerships.partnerships_of(participation.library_id)
        if not districts:
            continue
        letter = partnerships.letter_for(participation)
        signed = {d.id: d.reached_on(letter_stage) for d in districts}
        first_signature = min((day for day in signed.values() if day), default=None)
        first_contact = min(p.first_contact for p in districts)
        director_on = first_signature or first_contact + timedelta(days=30)
        city = participation.library.city or participation.library.county
        first, second = (DEMO_SIGNER_NAMES[(participation.id + k) % 9] for k in (0, 3))
        signers = [
            (SignerRole.LIBRARY_DIRECTOR, first, "Library Director", None, director_on),
            (SignerRole.CHIEF_ELECTED_OFFICIAL, second, f"Mayor of {city}", None, first_signature),
        ]
        for k, district in enumerate(districts):
            signers.append(
                (
                    SignerRole.SUPERINTENDENT,
                    DEMO_SIGNER_NAMES[(participation.id + 6 + k) % 9],
                    f"Superintendent, {district.district.name}",
                    district.id,
                    signed[district.id],
                )
            )
        for role, name, title, partnership_id, day in signers:
            partnerships.add_signer(
                letter,
                {
                    "role": role,
                    "name": name,
                    "title": title,
                    "signed_on": day if day and day <= today else None,
                    "partnership_id": partnership_id,
                },
                today,
                actor=None,
            )


# Days since each Year 1 pairing last met (in pairing order; the first is the demo pilot
# with the demo mentor: 40 days, so its monthly check-in is about 10 days overdue).
YEAR1_CHECKIN_GAPS = (40, 12, 25, 50, 5, 70, 20, 33, 8, 15, 28)
CHECKINS_PER_PAIRING = 4
ACTION_TEXTS = data.ACTION_TEXTS  # (text, whose: pilot or mentor)
CHECKIN_NOTES = data.CHECK_IN_NOTES


def _check_ins(today: date) -> None:
    """Year 1 pairings have met about monthly; some have let their check-in slip (once)."""
    if db.session.scalar(sa.select(CheckIn.id).limit(1)):
        return
    year1 = db.session.scalar(sa.select(Cohort).where(Cohort.name == YEAR1_NAME))
    if year1 is None:
        return
    active = [p for p in pairing.open_pairings(year1.id) if p.status == PairingStatus.ACTIVE]
    modes = (CheckInMode.VIDEO, CheckInMode.CALL, CheckInMode.VISIT)
    for index, pair in enumerate(active):
        last = today - timedelta(days=YEAR1_CHECKIN_GAPS[index % len(YEAR1_CHECKIN_GAPS)])
        days = [last - timedelta(days=30 * k) for k in reversed(range(CHECKINS_PER_PAIRING))]
        owners = {"pilot": pair.pilot.library_id, "mentor": pair.mentor.library_id}
        for k, held_on in enumerate(d for d in days if d >= (pair.start_date or d)):
            text, side = ACTION_TEXTS[(index + k) % len(ACTION_TEXTS)]
            due = held_on + timedelta(days=21)
            made = checkins.log_check_in(
                pair,
                {
                    "held_on": held_on,
                    "mode": modes[(index + k) % 3],
                    "attendees": f"{pair.pilot.library.name}, {pair.mentor.library.name}",
                    "notes": CHECKIN_NOTES[k % len(CHECKIN_NOTES)],
                },
                [checkins.ActionItemDraft(text, owners[side], due)],
                actor=None,
                today=today,
            )
            made.action_items[0].done = due < today - timedelta(days=14)


# A Year 1 pilot that reports figures publishes one; the demo pilot's draft is in review.
PUBLISHED_CASE_STUDY = data.PUBLISHED_CASE_STUDY
DRAFT_CASE_STUDY = data.DRAFT_CASE_STUDY
MENTOR_COMMENT = data.MENTOR_COMMENT


def _case_studies() -> None:
    """A Year 1 pilot's published case study (with figures) and the demo pilot's draft in
    review, commented on by its mentor (once)."""
    if db.session.scalar(sa.select(CaseStudy.id).limit(1)):
        return
    people = {u.email: u for u in db.session.scalars(sa.select(User))}
    staff, pilot = people["staff@demo.test"], people["pilot@demo.test"]
    values = dict(PUBLISHED_CASE_STUDY)
    library = db.session.scalar(sa.select(Library).filter_by(name=values.pop("library")))
    if library is not None:
        story = case_studies.create(library, values, staff)
        case_studies.submit(story, staff)
        case_studies.publish(story, staff)
    draft = case_studies.create(pilot.library, dict(DRAFT_CASE_STUDY), pilot)
    case_studies.submit(draft, pilot)
    case_studies.add_comment(draft, MENTOR_COMMENT, people["mentor@demo.test"])


def seed_demo(today: date | None = None) -> dict[str, int]:
    """Load the demo cohorts, libraries, districts and accounts; returns row counts."""
    today = today or date.today()
    rounds = demo_rounds(today)
    year1 = _cohort(rounds[0], data.YEAR1_LIBRARIES)
    _cohort(rounds[1], data.YEAR2_LIBRARIES)
    for entry in data.SCHOOL_DISTRICTS:
        _get_or_create(
            SchoolDistrict,
            {"name": entry["name"], "county": entry["county"]},
            {
                "state_code": entry.get("state_code"),
                "students_enrolled": entry.get("students_enrolled"),
                "enrolment_school_year": entry.get("school_year", ""),
            },
        )
    pilots = [e for e in data.YEAR1_LIBRARIES if e["role"] == "pilot"]
    mentor = next(e for e in data.YEAR1_LIBRARIES if e["role"] == "mentor")
    by_name = {lib.name: lib for lib in db.session.scalars(sa.select(Library))}
    _person("staff@demo.test", "Dana Whitfield", Role.STAFF, None)
    _person("state@demo.test", "Marcus Ortega", Role.STATE, None)
    _person("pilot@demo.test", "Priya Raman", Role.PILOT, by_name[pilots[0]["name"]])
    _person("pilot2@demo.test", "Luis Carrillo", Role.PILOT, by_name[pilots[1]["name"]])
    _person("mentor@demo.test", "Grace Lin", Role.MENTOR, by_name[mentor["name"]])
    db.session.flush()
    db.session.expire(year1, ["participations"])
    _pair_year1(year1, pilots[0]["name"], mentor["name"])
    _partnerships(today)
    _schools()
    _timelines(today)
    _check_ins(today)
    _case_studies()
    return {
        model.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (
            Library,
            SchoolDistrict,
            Cohort,
            Participation,
            User,
            Pairing,
            Partnership,
            Milestone,
        )
    }


DEMO_LOGINS = [
    ("staff@demo.test", "program staff"),
    ("state@demo.test", "state education official"),
    ("pilot@demo.test", "pilot librarian"),
    ("pilot2@demo.test", "pilot librarian at another library"),
    ("mentor@demo.test", "mentor librarian"),
]
