"""A partnership's figures, defined once (services.figures): the programme's apart from what
existed, worked out by hand; fine-free as a grouping; one figure per library everywhere."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from mentorship import demo
from mentorship.demo import scale as demo_scale
from mentorship.extensions import db
from mentorship.models import (
    CaseStudy,
    CaseStudyStatus,
    Cohort,
    Library,
    OutcomeReport,
    Partnership,
    SchoolDistrict,
)
from mentorship.services import figures, rollup
from mentorship.services.risk import RiskSettings
from mentorship.services.rollup import RollupFilter
from tests.conftest import Browserless
from tests.helpers import (
    PASSWORD,
    count_statements,
    make_cohort,
    make_district,
    make_library,
    make_participation,
    make_partnership,
    make_report,
    make_user,
)

TODAY = date(2026, 11, 25)
SETTINGS = RiskSettings()


def _report(partnership, start, end, enrolled, cards):
    make_report(partnership, start, end, enrolled, physical=cards)


@pytest.fixture
def year2(ctx):
    """Year 2 starts Sep 1, 2026 (three months before TODAY).

    Pilot P joined Sep 1, 2026. Its district PD (1,000 on record) reported:
      Jul 1, 2025 – Jun 30, 2026: 300 cards, 1,000 enrolled  → before joining (baseline)
      Jul 1 – Sep 1, 2026: 50 cards                          → ends on the day it joined:
                                                               the programme's
      Oct 1 – Oct 31, 2026: 20 cards, 1,200 enrolled         → the programme's
    Mentor M (Year 2) has district MD (5,000 students): 4,000 cards before Year 2, 500 since.
    """
    cohort = make_cohort("Year 2", start_date=date(2026, 9, 1), end_date=date(2028, 8, 31))
    pilot = make_library("Pilot P", county="Alameda")
    mentor = make_library("Mentor M", county="Los Angeles", cooperative_system="Santiago")
    make_participation(pilot, cohort, "pilot")
    make_participation(mentor, cohort, "mentor")
    pd = make_partnership(pilot, make_district("PD", students_enrolled=1000))
    md = make_partnership(mentor, make_district("MD", county="Los Angeles", students_enrolled=5000))
    pd.fine_free = True
    db.session.commit()
    _report(pd, date(2025, 7, 1), date(2026, 6, 30), 1000, 300)
    _report(pd, date(2026, 7, 1), date(2026, 9, 1), 1000, 50)
    _report(pd, date(2026, 10, 1), date(2026, 10, 31), 1200, 20)
    _report(md, date(2025, 7, 1), date(2026, 6, 30), 5000, 4000)
    _report(md, date(2026, 7, 1), date(2026, 10, 31), 5000, 500)
    return {"cohort": cohort.id, "pilot": pilot.id, "mentor": mentor.id}


def test_a_pilots_cards_split_at_the_day_it_joined_and_mentors_stay_apart(year2):
    pilot = figures.figures_of_library(year2["pilot"])
    # 300 + 50 + 20 cards to date; 50 + 20 since joining; the latest enrolment is 1,200.
    assert (pilot.cards, pilot.programme_cards, pilot.baseline_cards) == (370, 70, 300)
    assert pilot.enrolled == 1200
    assert pilot.coverage == pytest.approx(370 / 1200)
    assert pilot.programme_coverage == pytest.approx(70 / 1200)
    mentor = figures.figures_of_library(year2["mentor"])
    # A library that is not a pilot: every card is its existing programme's.
    assert (mentor.cards, mentor.programme_cards, mentor.baseline_cards) == (4500, 0, 4500)

    for view in (RollupFilter(), RollupFilter(cohort_id=year2["cohort"])):
        year = rollup.compute(view, TODAY, SETTINGS)
        total, existing = year.total, year.existing
        # Year 2 leads with its pilots: 70 cards since joining of 1,200 students.
        assert (total.partnerships, total.enrolled, total.programme_cards) == (1, 1200, 70)
        assert total.baseline_cards == 300
        assert total.programme_coverage == pytest.approx(70 / 1200)
        # The mentor's 4,500 cards are shown apart, and in no cohort's coverage.
        assert (existing.partnerships, existing.enrolled, existing.cards) == (1, 5000, 4500)
        cohort = {row.key: row for row in year.coverage["cohort"]}["Year 2"]
        assert (cohort.enrolled, cohort.programme_cards) == (1200, 70)
        assert {row.key for row in year.coverage["county"]} == {"Alameda"}
        assert [(q.label, q.cards) for q in year.quarters] == [("2026 Q3", 50), ("2026 Q4", 20)]
        counties = {c.county: c for c in year.counties}
        assert counties["Los Angeles"].coverage is None  # the mentor's county: no pilot figures
        assert counties["Alameda"].coverage == pytest.approx(70 / 1200)


def test_the_school_year_narrows_both_sides_of_the_split(year2):
    year = rollup.compute(RollupFilter(year=rollup.SchoolYear(2026)), TODAY, SETTINGS)
    # 2026-27: the pilot's two reports since joining; the mentor's 500.
    assert (year.total.cards, year.total.programme_cards) == (70, 70)
    assert year.existing.cards == 500
    before = rollup.compute(RollupFilter(year=rollup.SchoolYear(2025)), TODAY, SETTINGS)
    assert (before.total.cards, before.total.programme_cards) == (300, 0)


def _csv(response) -> list[dict[str, str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv", response.status
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    return [{k: v for k, v in row.items() if k != "Figures as of"} for row in rows]


def test_the_page_the_csv_and_the_api_carry_the_split(app, client, year2):
    from tests.test_api import Api, issue

    with app.app_context():
        make_user("state", email="state@example.org")
        api = Api(app, issue(make_user("state", email="data.team@example.org")))
    client.login("state@example.org", PASSWORD)
    page = client.get(f"/rollup/?cohort={year2['cohort']}").get_data(as_text=True)
    programme = page.index("What the programme did")
    existing = page.index("Mentor libraries, existing programmes")
    assert programme < existing  # the programme's figures lead
    lead = page[programme:existing]
    assert "70</span> student cards issued by pilots since joining" in lead
    assert "5.8%</span> pilots' coverage" in lead and "4,500" not in lead
    assert "4,500</span> student cards to date" in page[existing:]
    assert "How this is counted" in lead

    (cohort,) = _csv(client.get("/rollup/coverage-cohort.csv"))
    assert (cohort["Cards since joining"], cohort["Cards before joining (not counted)"]) == (
        "70",
        "300",
    )
    assert cohort["Coverage %"] == "5.8"
    (mentors,) = _csv(client.get("/rollup/coverage-existing.csv"))
    assert (mentors["Cards to date"], mentors["Coverage %"]) == ("4500", "90.0")

    data = api.get("/api/v1/rollup").get_json()["data"]  # checked against the document
    total = data["coverage"]["total"][0]
    assert (total["cards_since_joining"], total["cards_before_joining"]) == (70, 300)
    assert data["coverage"]["existing"][0]["cards_to_date"] == 4500
    library = api.get(f"/api/v1/libraries/{year2['pilot']}/figures").get_json()["data"]
    assert library["figures"]["cards_since_joining"] == 70
    assert [p["district"] for p in library["partnerships"]] == ["PD"]
    assert api.get("/api/v1/libraries/999999/figures").status_code == 404


def test_fine_free_is_a_grouping_with_its_csv(app, client, year2):
    with app.app_context():
        other = make_library("Pilot Q", county="Fresno", cooperative_system="San Joaquin Valley")
        make_participation(other, db.session.get(Cohort, year2["cohort"]), "pilot")
        charging = make_partnership(other, make_district("QD", students_enrolled=400))
        charging.fine_free = False
        make_partnership(other, make_district("QE", students_enrolled=100))  # not decided
        db.session.commit()
        _report(charging, date(2026, 9, 1), date(2026, 10, 31), 400, 40)
        by_key = {
            row.key: (row.partnerships, row.enrolled, row.programme_cards)
            for row in rollup.compute(RollupFilter(), TODAY, SETTINGS).coverage["fine_free"]
        }
    assert by_key == {
        "Fine-free": (1, 1200, 70),
        "Charges fines": (1, 400, 40),
        "not recorded": (1, 100, 0),
    }
    with app.app_context():
        make_user("state", email="state@example.org")
    client.login("state@example.org", PASSWORD)
    rows = _csv(client.get("/rollup/coverage-fine_free.csv"))
    assert [(r["Fine-free"], r["Cards since joining"]) for r in rows] == [
        ("Charges fines", "40"),
        ("Fine-free", "70"),
        ("not recorded", "0"),
    ]
    page = client.get("/rollup/").get_data(as_text=True)
    assert "fine-free or not" in page and 'href="/rollup/coverage-fine_free.csv' in page


def test_the_readme_defines_each_figure_as_the_pages_do(app, client, year2):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    with app.app_context():
        make_user("state", email="state@example.org")
    client.login("state@example.org", PASSWORD)
    page = client.get("/rollup/").get_data(as_text=True)
    for term, text in figures.DEFINITIONS.items():
        assert f"- **{term}**: {text}" in readme, term
    shown = {"In the program", "Cards since joining", "Cards before joining", "Pilots' coverage"}
    for term in shown | {"Mentor libraries, existing programmes"}:
        assert figures.DEFINITIONS[term].replace("'", "&#39;") in page, term


def test_percentages_are_written_one_way():
    assert [figures.percent(r) for r in (None, 0, 0.5, 0.50149, 1 / 3, 1.3)] == [
        "—",
        "0.0%",
        "50.0%",
        "50.1%",
        "33.3%",
        "130.0%",
    ]


# One figure per library, everywhere ---------------------------------------------------------


def _by_hand() -> dict[int, tuple[int, int]]:
    """{library id: (cards to date, students enrolled)} from the raw reports, in Python.
    A period's rows by school and grade add up to one report, and count only in a school
    year in which the partnership has no whole-LEA report."""
    latest: dict[int, tuple[date, date, int]] = {}
    cards: dict[int, int] = {}
    rows = db.session.execute(
        sa.select(
            OutcomeReport.partnership_id,
            OutcomeReport.period_start,
            OutcomeReport.period_end,
            OutcomeReport.students_enrolled,
            OutcomeReport.physical_cards + OutcomeReport.digital_cards,
            OutcomeReport.school_id,
        )
    ).all()

    def year_of(day: date) -> int:
        return day.year + (1 if day.month >= 7 else 0)

    whole_years = {(pid, year_of(end)) for pid, _, end, _, _, school in rows if school is None}
    periods: dict[tuple[int, date, date], list[int]] = {}
    for pid, start, end, enrolled, n, school in rows:
        if school is not None and (pid, year_of(end)) in whole_years:
            continue
        period = periods.setdefault((pid, start, end), [0, 0])
        period[0] += enrolled
        period[1] += n
    for (pid, start, end), (enrolled, n) in periods.items():
        cards[pid] = cards.get(pid, 0) + n
        if pid not in latest or (end, start) > latest[pid][:2]:
            latest[pid] = (end, start, enrolled)
    result: dict[int, tuple[int, int]] = {}
    for pid, library_id, on_record in db.session.execute(
        sa.select(Partnership.id, Partnership.library_id, SchoolDistrict.students_enrolled)
        .join(SchoolDistrict, SchoolDistrict.id == Partnership.district_id)
        .where(Partnership.active.is_(True))
    ):
        enrolled = latest[pid][2] if pid in latest else (on_record or 0)
        c, e = result.get(library_id, (0, 0))
        result[library_id] = (c + cards.get(pid, 0), e + enrolled)
    return result


def _numbers(figures_: figures.Figures) -> dict[str, str]:
    return {
        "Partnerships": str(figures_.partnerships),
        "Students enrolled": str(figures_.enrolled),
        "Cards to date": str(figures_.cards),
        "Cards since joining": str(figures_.programme_cards),
        "Cards before joining": str(figures_.baseline_cards),
        "Students using cards": "" if figures_.using is None else str(figures_.using),
        "Coverage %": ""
        if figures_.coverage is None
        else str(figures.percent_value(figures_.coverage)),
    }


def test_every_library_shows_the_same_figures_on_every_page_and_endpoint(app):
    """California scale: the rollup's library list and drill-down, the case-study page and
    its CSV, and the API agree with each other and with the reports added up by hand."""
    from tests.test_api import Api, issue

    with app.app_context():
        demo_scale.seed(demo_scale.CALIFORNIA, TODAY)
        db.session.commit()
        ids = list(db.session.scalars(sa.select(Library.id).order_by(Library.id)))
        defined = figures.figures_by_library(ids)
        by_hand = _by_hand()
        stories = {
            library_id: case_study_id
            for case_study_id, library_id in db.session.execute(
                sa.select(CaseStudy.id, CaseStudy.library_id).where(
                    CaseStudy.status == CaseStudyStatus.PUBLISHED
                )
            )
        }
        api = Api(app, issue(make_user("state", email="data.team@example.org")))
    assert len(defined) > 150 and stories
    for library_id, (cards, enrolled) in by_hand.items():
        assert (defined[library_id].cards, defined[library_id].enrolled) == (cards, enrolled)

    staff = Browserless(app.test_client())
    staff.login("staff@demo.test", demo.DEMO_PASSWORD)
    listed = {row["Library"]: row for row in _csv(staff.get("/rollup/libraries?format=csv"))}
    with app.app_context():
        names = dict(db.session.execute(sa.select(Library.id, Library.name)).all())
    in_program = 0
    for library_id in ids:
        expected = _numbers(defined.get(library_id, figures.Figures()))
        if names[library_id] in listed:  # in the program: on the rollup's list
            in_program += 1
            row = listed[names[library_id]]
            assert {key: row[key] for key in expected} == expected, library_id
        (totals,) = _csv(staff.get(f"/rollup/libraries/{library_id}/totals.csv"))
        assert totals == expected, library_id
        api_figures = api.get(f"/api/v1/libraries/{library_id}/figures").get_json()["data"]
        assert (
            _numbers(
                figures.Figures(
                    api_figures["figures"]["partnerships"],
                    api_figures["figures"]["reporting"],
                    api_figures["figures"]["students_enrolled"],
                    api_figures["figures"]["cards_to_date"],
                    api_figures["figures"]["cards_since_joining"],
                    api_figures["figures"]["students_using_cards"],
                )
            )
            == expected
        ), library_id
        if library_id in stories:
            page = staff.get(f"/case-studies/{stories[library_id]}").get_data(as_text=True)
            mine = defined[library_id]
            if mine.reporting:
                sentence = (
                    f"{mine.cards:,} student cards for {mine.enrolled:,} students enrolled "
                    f"({figures.percent(mine.coverage)} coverage)"
                )
                assert sentence in page, library_id
            rows = _csv(staff.get(f"/case-studies/{stories[library_id]}/figures.csv"))
            assert sum(int(r["Cards to date"]) for r in rows) == (
                mine.cards if mine.reporting else 0
            )
    assert in_program > 100


def test_the_pages_showing_a_librarys_figures_cost_the_same_statements_however_many_partners(
    app, client, year2
):
    from tests.test_api import Api, issue

    with app.app_context():
        make_user("state", email="state@example.org")
        api = Api(app, issue(make_user("state", email="data.team@example.org")))
        pilot = year2["pilot"]
    client.login("state@example.org", PASSWORD)
    paths = [f"/rollup/libraries/{pilot}", f"/rollup/libraries/{pilot}/totals.csv"]

    def statements() -> dict[str, int]:
        counts = {}
        for path in paths:
            client.get(path)  # the signed-in user is loaded once per session, not counted
            with count_statements(app) as seen:
                assert client.get(path).status_code == 200
            counts[path] = len(seen)
        with count_statements(app) as seen:
            api.get(f"/api/v1/libraries/{pilot}/figures")
        counts["api"] = len(seen)
        return counts

    statements()  # the token's first use, outside the counts
    before = statements()
    with app.app_context():
        library = db.session.get(Library, pilot)
        for n in range(6):
            partnership = make_partnership(library, make_district(students_enrolled=100 + n))
            _report(partnership, date(2026, 9, 1), date(2026, 10, 31), 100 + n, n)
    assert statements() == before
    assert max(before.values()) <= 12
