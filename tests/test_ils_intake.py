"""A pilot uploads its ILS report (aggregate counts by school and grade): preview,
confirm, all or nothing, errors by line and column; a file about students is refused."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import pytest

from mentorship.extensions import db
from mentorship.models import IdentifierSystem, OutcomeReport
from mentorship.services import ils_intake
from mentorship.services.figures import figures_by_partnership
from mentorship.services.identifiers import set_identifier
from tests.conftest import Browserless
from tests.helpers import (
    PASSWORD,
    make_district,
    make_library,
    make_partnership,
    make_school,
    make_user,
)

SAMPLES = Path(__file__).resolve().parent.parent / "mentorship" / "data" / "samples"
TODAY = date(2026, 8, 15)


@pytest.fixture
def partnership(ctx):
    library = make_library("Salinas Public Library", county="Monterey")
    district = make_district("Salinas City Elementary", county="Monterey")
    for name, code in (("Sherwood Elementary", "27661426026181"),
                       ("Roosevelt Elementary", "27661426026199")):  # fmt: skip
        school = make_school(district, name, local_library=library)
        set_identifier(school, IdentifierSystem.CDS, code)
    db.session.commit()
    return make_partnership(library, district)


def _sample(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def test_a_good_report_is_previewed_then_stored_and_counts_once(partnership):
    plan = ils_intake.plan_ils(partnership, _sample("ils-report-grade3.csv"), TODAY)
    assert not plan.has_errors
    assert plan.counts["create"] == 4
    assert db.session.query(OutcomeReport).count() == 0  # a preview writes nothing
    ils_intake.apply_ils(partnership, plan, TODAY, actor=None)
    db.session.commit()
    third = ils_intake.third_grade_figures(partnership)
    assert sorted((r.school.name, r.cards, r.students_with_cards) for r in third) == [
        ("Roosevelt Elementary", 45, 45),
        ("Sherwood Elementary", 48, 52),
    ]
    # The period's rows add up to the partnership's figures: 245 enrolled, 178 cards.
    figures = figures_by_partnership([partnership.id])[partnership.id]
    assert (figures.enrolled, figures.cards) == (245, 178)
    again = ils_intake.plan_ils(partnership, _sample("ils-report-grade3.csv"), TODAY)
    assert again.counts["unchanged"] == 4


def test_a_bad_report_names_each_line_and_column_and_stores_nothing(partnership):
    plan = ils_intake.plan_ils(partnership, _sample("ils-report-with-errors.csv"), TODAY)
    assert plan.has_errors
    errors = "\n".join(plan.errors)
    assert "line 3, grade: '13' is not a grade" in errors
    assert "line 4, school_code: '99999999999999' is not a school this partnership covers" in errors
    assert "line 5, period_end: '2026-06-31' is not a date" in errors
    assert "line 6, students_with_cards: 45 is more than the 40 enrolled" in errors
    assert not any(e.startswith("line 2") for e in plan.errors)
    with pytest.raises(Exception, match="nothing was stored"):
        ils_intake.apply_ils(partnership, plan, TODAY, actor=None)


def test_a_file_about_students_is_refused_with_the_reason(partnership):
    plan = ils_intake.plan_ils(partnership, _sample("ils-report-patron-export.csv"), TODAY)
    assert plan.rows == []
    assert plan.file_errors == [
        f"line 1, column '{column}': looks like a student's name, id or birth date. This "
        "report takes counts only: export the aggregate report (no column about one student) "
        "and upload that file."
        for column in ("Patron Barcode", "Student Name", "Birth Date")
    ]
    assert ils_intake.student_columns(["school_code", "students_enrolled", "Student ID",
                                       "DOB", "first name", "school_name"]) == [
        "Student ID", "DOB", "first name"]  # fmt: skip


def test_the_pilot_uploads_and_sees_third_grade_figures_on_its_partnership_page(app, partnership):
    pilot = make_user("pilot", library=partnership.library, email="pilot@salinas.org")
    client = Browserless(app.test_client())
    client.post("/login", data={"email": pilot.email, "password": PASSWORD,
                                "csrf_token": client.token()})  # fmt: skip
    url = f"/partnerships/{partnership.id}/ils-report"
    with open(SAMPLES / "ils-report-grade3.csv", "rb") as upload:
        preview = client.post(url, data={"file": (upload, "report.csv"),
                                         "csrf_token": client.token()},
                              content_type="multipart/form-data")  # fmt: skip
    text = preview.get_data(as_text=True)
    assert "Confirm: add 4, update 0" in text

    kept = re.search(r'name="text" type="hidden" value="([^"]*)"', text)
    done = client.post(f"{url}/confirm", data={"text": html.unescape(kept.group(1)),
                                               "csrf_token": client.token()},
                       follow_redirects=True)  # fmt: skip
    page = done.get_data(as_text=True)
    assert "ILS report imported: 4 added" in page
    assert "Third-grade figures" in page and "Sherwood Elementary" in page
    # Exact counts for the library's own people: Sherwood's 52 with a card.
    assert ">52<" in page


def test_school_rows_in_a_year_with_a_whole_lea_report_are_not_added_twice(partnership):
    from mentorship.services import outcomes

    outcomes.add_report(
        partnership,
        {"period_start": date(2025, 7, 1), "period_end": date(2025, 12, 31),
         "students_enrolled": 1000, "physical_cards": 300, "digital_cards": 0},
        TODAY, actor=None,
    )  # fmt: skip
    plan = ils_intake.plan_ils(partnership, _sample("ils-report-grade3.csv"), TODAY)
    ils_intake.apply_ils(partnership, plan, TODAY, actor=None)
    db.session.commit()
    figures = figures_by_partnership([partnership.id])[partnership.id]
    assert (figures.enrolled, figures.cards) == (1000, 300)  # 2025–26 is reported whole
    assert len(ils_intake.third_grade_figures(partnership)) == 2  # still shown by school


def test_rows_by_school_never_reach_the_rollup_drill_down_or_the_outcome_api(partnership):
    from mentorship.services.api import OutcomeFilters, outcome_reports_query
    from mentorship.services.rollup import RollupFilter, reports_of_library

    plan = ils_intake.plan_ils(partnership, _sample("ils-report-grade3.csv"), TODAY)
    ils_intake.apply_ils(partnership, plan, TODAY, actor=None)
    db.session.commit()
    assert reports_of_library(partnership.library_id, RollupFilter()) == []
    listed = db.session.scalars(outcome_reports_query(OutcomeFilters())).all()
    assert listed == []
