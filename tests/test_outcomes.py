"""Outcome figures: validation, what they add up to, the pages, and the mentor ranking."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import OutcomeReport
from mentorship.services import figures, outcomes, pairing
from mentorship.services.errors import Conflict, ValidationError
from tests.conftest import row_count
from tests.helpers import (
    PASSWORD,
    make_cohort,
    make_library,
    make_participation,
    make_partnership,
    make_user,
)

TODAY = date(2026, 11, 25)


def _partnership(library=None, enrolled=1000):
    return make_partnership(library, contacted_on=date(2025, 1, 1), students_enrolled=enrolled)


def _figures(**changes):
    return {
        "period_start": date(2025, 8, 1),
        "period_end": date(2026, 6, 30),
        "students_enrolled": 1000,
        "physical_cards": 100,
        "digital_cards": 500,
        "students_using_cards": 250,
        "explanation": "",
        **changes,
    }


def test_cards_add_up_over_the_reports_and_give_the_coverage(ctx):
    partnership = _partnership()
    outcomes.add_report(partnership, _figures(), TODAY, None)
    outcomes.add_report(
        partnership,
        _figures(period_start=date(2026, 8, 1), period_end=date(2026, 10, 31), digital_cards=200),
        TODAY,
        None,
    )
    db.session.commit()
    points = outcomes.cards_over_time(outcomes.reports_of(partnership))
    assert [(p.period_end, p.cards) for p in points] == [
        (date(2026, 6, 30), 600),
        (date(2026, 10, 31), 900),
    ]
    # The figures themselves are services.figures' (the chart's last point agrees).
    library = figures.figures_by_library([partnership.library_id])[partnership.library_id]
    assert (library.cards, library.enrolled) == (900, 1000)
    assert library.coverage == pytest.approx(0.9)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"period_end": date(2025, 7, 31)}, "period_end", "on or after the day it starts"),
        ({"period_end": date(2026, 11, 26)}, "period_end", "cannot be in the future"),
        ({"digital_cards": 950}, "explanation", "1,050 cards have been issued to date"),
        ({"students_using_cards": 601}, "students_using_cards", "More students used a card"),
    ],
)
def test_figures_that_cannot_be_right_are_refused_on_their_field(ctx, changes, field, message):
    partnership = _partnership()
    with pytest.raises(ValidationError, match=message) as refused:
        outcomes.add_report(partnership, _figures(**changes), TODAY, None)
    assert refused.value.field == field


def test_more_cards_than_students_is_accepted_with_an_explanation(ctx):
    partnership = _partnership()
    outcomes.add_report(
        partnership,
        _figures(digital_cards=950, explanation="Students who moved away keep their cards."),
        TODAY,
        None,
    )
    db.session.commit()
    assert row_count(OutcomeReport) == 1


def test_a_period_is_reported_once_then_edited(ctx):
    partnership = _partnership()
    report = outcomes.add_report(partnership, _figures(), TODAY, None)
    with pytest.raises(Conflict, match="edit that report instead"):
        outcomes.add_report(partnership, _figures(), TODAY, None)
    outcomes.update_report(report, _figures(physical_cards=150), TODAY, None)  # not a clash
    db.session.commit()
    assert db.session.scalar(sa.select(OutcomeReport.physical_cards)) == 150


def test_suggestions_say_how_many_cards_a_mentor_has_issued_and_favour_it(ctx):
    cohort = make_cohort()
    pilot = make_participation(make_library(county="Yolo"), cohort, "pilot")
    seasoned = make_library("Seasoned Library", county="Marin")
    new = make_library("New Library", county="Marin")
    make_participation(seasoned, cohort, "mentor")
    make_participation(new, cohort, "mentor")
    outcomes.add_report(
        _partnership(seasoned, 20000),
        _figures(students_enrolled=20000, physical_cards=2400, digital_cards=10000),
        TODAY,
        None,
    )
    db.session.commit()
    ranked = pairing.suggestions_for(pilot)
    assert [s.mentor.library.name for s in ranked] == ["Seasoned Library", "New Library"]
    assert "mentor has issued 12,400 student cards" in ranked[0].reasons
    assert not any("student cards" in reason for reason in ranked[1].reasons)


def test_a_pilot_reports_figures_and_sees_them_charted(client, app):
    with app.app_context():
        hayward = make_library("Hayward Public Library")
        partnership = _partnership(hayward, enrolled=17000)
        make_user("pilot", hayward, email="priya@hayward.example")
        make_user("pilot", make_library(), email="luis@yolo.example")
        partnership_id = partnership.id
    client.login("priya@hayward.example", PASSWORD)
    form = client.get(f"/partnerships/{partnership_id}/figures/new").get_data(as_text=True)
    assert 'value="17000"' in form  # the district's enrolment, ready to confirm

    bad = client.submit(
        f"/partnerships/{partnership_id}/figures/new",
        {
            "period_start": "2025-08-01",
            "period_end": "2026-06-30",
            "students_enrolled": "17000",
            "physical_cards": "-4",
            "digital_cards": "lots",
        },
    )
    text = bad.get_data(as_text=True)
    assert "Enter a whole number, 0 or more." in text and "Not a valid integer value" in text
    with app.app_context():
        assert row_count(OutcomeReport) == 0

    saved = client.submit(
        f"/partnerships/{partnership_id}/figures/new",
        {
            "period_start": "2025-08-01",
            "period_end": "2026-06-30",
            "students_enrolled": "17000",
            "physical_cards": "2000",
            "digital_cards": "9000",
            "students_using_cards": "",
        },
    )
    assert saved.status_code == 302
    page = client.get(f"/partnerships/{partnership_id}").get_data(as_text=True)
    assert "11,000" in page and "64.7%" in page and "<svg" in page
    assert "Jun 30, 2026: 11,000 cards of 17,000 students" in page  # the chart's text
    csv = client.get(f"/partnerships/{partnership_id}/figures.csv").get_data(as_text=True)
    assert csv.splitlines()[1].startswith("2025-08-01,2026-06-30,17000,2000,9000,,")
    client.submit("/logout")

    client.login("luis@yolo.example", PASSWORD)
    assert client.get(f"/partnerships/{partnership_id}/figures.csv").status_code == 404
    assert client.get(f"/partnerships/{partnership_id}/figures/new").status_code == 404
    with app.app_context():
        report_id = db.session.scalar(sa.select(OutcomeReport.id))
    refused = client.submit(f"/figures/{report_id}/edit", {"physical_cards": "1"})
    assert refused.status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(OutcomeReport.physical_cards)) == 2000
