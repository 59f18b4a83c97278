"""Scoring and whole-cohort assignment, on small hand-built cases."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import AuditEvent, Pairing, PairingStatus
from mentorship.services import pairing as pairing_service
from mentorship.services.errors import Conflict
from mentorship.services.matching import (
    LibraryProfile,
    greedy_assignment,
    optimal_assignment,
    score_matrix,
    score_pair,
)
from tests.helpers import make_cohort, make_library, make_participation, make_user

HAYWARD = LibraryProfile(
    1, "Hayward PL", "Alameda", "Pacific Library Partnership", "city", 162000, "Polaris"
)
BERKELEY = LibraryProfile(
    2, "Berkeley PL", "Alameda", "Pacific Library Partnership", "city", 120000, "Polaris"
)
SAN_MATEO = LibraryProfile(
    3,
    "San Mateo County Libraries",
    "San Mateo",
    "Pacific Library Partnership",
    "county",
    280000,
    "Sierra",
)
SONOMA = LibraryProfile(
    4, "Sonoma County Library", "Sonoma", "NorthNet", "joint powers", 490000, "Sierra"
)


def test_a_close_mentor_scores_higher_and_says_why():
    close = score_pair(HAYWARD, BERKELEY)
    far = score_pair(HAYWARD, SONOMA)
    assert close.score > score_pair(HAYWARD, SAN_MATEO).score > far.score
    assert close.reasons == (
        "same cooperative system (Pacific Library Partnership)",
        "same county (Alameda)",
        "similar size (service population 162,000 vs 120,000)",
        "same governance (city)",
        "same ILS (Polaris)",
    )
    assert far.reasons == ()
    assert close.score == 30 + 25 + round(20 * 120 / 162) + 15 + 10


def test_the_matrix_gives_the_same_scores_as_one_pair_at_a_time():
    pilots = [HAYWARD, SAN_MATEO, LibraryProfile(9, "Unknown", "", "", "", None, "")]
    mentors = [BERKELEY, SONOMA, LibraryProfile(8, "Also unknown", "", "", "", None, "")]
    matrix = score_matrix(pilots, mentors)
    for i, pilot in enumerate(pilots):
        for j, mentor in enumerate(mentors):
            assert matrix[i, j] == score_pair(pilot, mentor).score, (pilot.name, mentor.name)
    assert matrix[2, 2] == 0  # two unknowns do not "match"


def test_optimal_beats_greedy_where_greedy_takes_the_best_pair_first():
    # Pilot 0 fits both mentors; pilot 1 fits only mentor 0. Greedy gives mentor 0 to
    # pilot 0 (10) and leaves pilot 1 with mentor 1 (0): 10. Optimal: 9 + 8 = 17.
    scores = np.array([[10.0, 9.0], [8.0, 0.0]])
    greedy = greedy_assignment(scores, [1, 1])
    optimal = optimal_assignment(scores, [1, 1])
    assert greedy.pairs == {0: 0, 1: 1} and greedy.total_score == 10
    assert optimal.pairs == {0: 1, 1: 0} and optimal.total_score == 17


def test_capacity_is_respected_and_the_rest_are_listed_as_unmatched():
    scores = np.array([[5.0, 1.0], [5.0, 1.0], [5.0, 1.0], [5.0, 1.0]])
    result = optimal_assignment(scores, [2, 1])
    counts = np.bincount(list(result.pairs.values()), minlength=2)
    assert list(counts) == [2, 1] and len(result.unmatched) == 1
    assert optimal_assignment(scores, [0, 0]).unmatched == [0, 1, 2, 3]


@pytest.fixture
def cohort(ctx):
    cohort = make_cohort("Year 2")
    libraries = {
        "hayward": make_library(
            "Hayward Public Library",
            county="Alameda",
            service_population=162000,
            ils_name="Polaris",
        ),
        "yolo": make_library(
            "Yolo County Library",
            county="Yolo",
            cooperative_system="NorthNet",
            governance="county",
            service_population=220000,
        ),
        "salinas": make_library(
            "Salinas Public Library", county="Monterey", service_population=163000
        ),
        "berkeley": make_library(
            "Berkeley Public Library",
            county="Alameda",
            service_population=120000,
            ils_name="Polaris",
        ),
        "sacramento": make_library(
            "Sacramento Public Library",
            county="Sacramento",
            cooperative_system="NorthNet",
            governance="joint powers",
            service_population=1500000,
        ),
    }
    parts = {
        name: make_participation(
            lib, cohort, "mentor" if name in ("berkeley", "sacramento") else "pilot"
        )
        for name, lib in libraries.items()
    }
    parts["berkeley"].mentor_capacity = 1
    db.session.commit()
    staff = make_user("staff")
    return {
        "cohort": cohort,
        "parts": {k: db.session.merge(v) for k, v in parts.items()},
        "staff": db.session.merge(staff),
    }


def test_suggestions_rank_mentors_with_reasons(cohort):
    [first, second] = pairing_service.suggestions_for(cohort["parts"]["hayward"])
    assert first.mentor.library.name == "Berkeley Public Library"
    assert "same county (Alameda)" in first.reasons and "1 of 1 places left" in first.reasons
    assert second.mentor.library.name == "Sacramento Public Library"


def test_whole_cohort_proposal_respects_capacity_then_publish_and_end(cohort, mailbox):
    parts, staff = cohort["parts"], cohort["staff"]
    result = pairing_service.propose_whole_cohort(cohort["cohort"].id, staff)
    db.session.commit()
    by_pilot = {p.pilot.library.name: p.mentor.library.name for p in result.proposed}
    assert by_pilot["Hayward Public Library"] == "Berkeley Public Library"
    assert by_pilot["Yolo County Library"] == "Sacramento Public Library"
    assert by_pilot["Salinas Public Library"] == "Sacramento Public Library"
    assert result.unmatched == []
    assert all(p.status == PairingStatus.PROPOSED for p in result.proposed)
    # Running it again proposes nothing new: everyone has a proposal.
    assert pairing_service.propose_whole_cohort(cohort["cohort"].id, staff).proposed == []
    with pytest.raises(Conflict):
        pairing_service.propose(parts["hayward"], parts["sacramento"], staff)
    published = pairing_service.publish(cohort["cohort"].id, date(2026, 11, 25), staff)
    db.session.commit()
    assert len(published) == 3 and all(p.start_date == date(2026, 11, 25) for p in published)
    hayward_pairing = next(p for p in published if p.pilot_participation_id == parts["hayward"].id)
    pairing_service.end(hayward_pairing, date(2027, 1, 1), staff)
    db.session.commit()
    again = pairing_service.propose(
        parts["hayward"], parts["berkeley"], staff
    )  # history kept, new one allowed
    db.session.commit()
    statuses = db.session.scalars(
        sa.select(Pairing.status).where(Pairing.pilot_participation_id == parts["hayward"].id)
    ).all()
    assert sorted(s.value for s in statuses) == ["ended", "proposed"] and again.id
    actions = set(
        db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.object_type == "Pairing"))
    )
    assert {"propose", "publish", "end"} <= actions


def test_a_full_mentor_is_refused_and_unmatched_pilots_get_a_reason(cohort):
    parts, staff = cohort["parts"], cohort["staff"]
    parts["sacramento"].mentor_capacity = 1
    db.session.commit()
    result = pairing_service.propose_whole_cohort(cohort["cohort"].id, staff)
    assert len(result.proposed) == 2
    [(pilot, reason)] = result.unmatched
    assert "2 free places for 3 unpaired pilots" in reason
    with pytest.raises(Conflict, match="no places left"):
        pairing_service.propose(pilot, parts["berkeley"], staff)


def test_the_database_refuses_two_open_pairings_for_one_pilot(cohort):
    parts = cohort["parts"]
    for mentor in ("berkeley", "sacramento"):
        db.session.add(
            Pairing(
                pilot_participation_id=parts["hayward"].id,
                mentor_participation_id=parts[mentor].id,
                status=PairingStatus.PROPOSED,
            )
        )
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()
