"""The generated programs: `seed-demo --scale california` and (at 1/100) `--scale national`."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

import sqlalchemy as sa

from mentorship import demo
from mentorship.demo import scale as demo_scale
from mentorship.extensions import db
from mentorship.models import (
    CaseStudyComment,
    CheckIn,
    Cohort,
    LeaKind,
    Library,
    Milestone,
    MilestoneComment,
    OutcomeReport,
    Pairing,
    Participation,
    ParticipationRole,
    Partnership,
    PartnershipStage,
    PartnershipStageDate,
    School,
    SchoolDistrict,
    User,
)
from mentorship.models.library import CALIFORNIA_COUNTIES, COOPERATIVE_SYSTEMS
from mentorship.services.legislative import legislative_report
from mentorship.services.risk import RiskLevel, assess_pilots
from mentorship.services.rollup.years import SchoolYear
from tests.conftest import Browserless, row_count

TODAY = date(2026, 11, 25)


def _values(column) -> list:
    return db.session.scalars(sa.select(column)).all()


def _coverage_by_partnership() -> dict[int, tuple[int, int, bool]]:
    """{partnership id: (cards to date, latest students enrolled, any explanation)} of the
    whole-LEA reports (the grade-3 rows by school are counted within them)."""
    result = {}
    rows = db.session.execute(
        sa.select(OutcomeReport)
        .where(OutcomeReport.school_id.is_(None))
        .order_by(OutcomeReport.period_end, OutcomeReport.id)
    ).scalars()
    for report in rows:
        cards, _, explained = result.get(report.partnership_id, (0, 0, False))
        result[report.partnership_id] = (
            cards + report.cards,
            report.students_enrolled,
            explained or bool(report.explanation.strip()),
        )
    return result


def test_california_scale_is_a_statewide_program_and_loads_once(ctx):
    result = demo_scale.seed(demo_scale.CALIFORNIA, TODAY)
    db.session.commit()
    assert not result.skipped and result.sample_pilot.endswith("@synthetic.test")

    assert row_count(Library) == 183
    assert set(_values(Library.county)) == set(CALIFORNIA_COUNTIES)
    assert set(_values(Library.cooperative_system)) == set(COOPERATIVE_SYSTEMS)
    leas = dict(
        db.session.execute(
            sa.select(SchoolDistrict.kind, sa.func.count()).group_by(SchoolDistrict.kind)
        ).all()
    )
    schools = row_count(School)
    assert schools >= 10_000  # about California's number of public schools
    # 1,000 districts, a county office in every county, one charter LEA per 20 schools
    assert leas == {
        LeaKind.DISTRICT: 1_000,
        LeaKind.COUNTY_OFFICE: 58,
        LeaKind.CHARTER: leas[LeaKind.CHARTER],
    }
    assert 450 <= leas[LeaKind.CHARTER] <= 500
    cohorts = {c.name: c for c in db.session.scalars(sa.select(Cohort))}
    assert set(cohorts) == {demo.YEAR1_NAME, demo.YEAR2_NAME, demo_scale.YEAR3_NAME}
    # The demo's 58 real libraries come first (ids go on counting between tests).
    last_real = db.session.scalar(sa.select(sa.func.min(Library.id))) + 57
    made_up = db.session.scalars(sa.select(Library.name).where(Library.id > last_real)).all()
    assert made_up and all(name.endswith("(synthetic)") for name in made_up)

    # Every stage is reached somewhere, and every partnership reached its stages in order.
    stages = {s.id: s.position for s in db.session.scalars(sa.select(PartnershipStage))}
    assert {stages[s] for s in _values(Partnership.stage_id)} == set(stages.values())
    reached = defaultdict(list)
    for row in db.session.scalars(sa.select(PartnershipStageDate)):
        reached[row.partnership_id].append((stages[row.stage_id], row.reached_on))
    for dates in reached.values():
        in_order = [day for _, day in sorted(dates)]
        assert in_order == sorted(in_order)
        assert {position for position, _ in dates} == set(range(1, len(dates) + 1))
    current = dict(db.session.execute(sa.select(Partnership.id, Partnership.stage_id)).all())
    assert all(max(p for p, _ in reached[pid]) == stages[current[pid]] for pid in current)

    # Each cohort has pilots with milestones, and the risk list shows every level.
    pilots = db.session.execute(
        sa.select(Participation.cohort_id, sa.func.count())
        .where(Participation.role == ParticipationRole.PILOT)
        .group_by(Participation.cohort_id)
    ).all()
    assert len(pilots) == 3 and all(n >= 10 for _, n in pilots)
    assert {risk.level for risk in assess_pilots(TODAY)} == set(RiskLevel)
    assert not db.session.scalar(sa.select(sa.func.count()).where(Milestone.done_on > TODAY)), (
        "nothing is done in the future"
    )

    # Figures: cards to date never above the students enrolled unless explained;
    # the generated partnerships' coverage is between 10 and 95 %.
    coverage = _coverage_by_partnership()
    assert len(coverage) > 30
    for cards, enrolled, explained in coverage.values():
        assert cards <= enrolled or explained
    generated = set(
        db.session.scalars(
            sa.select(Partnership.id).join(Partnership.library).where(Library.id > last_real)
        )
    )
    ratios = [
        cards / enrolled for pid, (cards, enrolled, _) in coverage.items() if pid in generated
    ]
    assert ratios and all(0.1 <= ratio <= 0.95 for ratio in ratios)
    assert row_count(CheckIn) > 100 and row_count(MilestoneComment) > 0

    counts = result.counts
    again = demo_scale.seed(demo_scale.CALIFORNIA, TODAY)
    db.session.commit()
    assert "already loaded" in again.skipped
    assert again.counts == counts


def test_california_pages_render_for_staff_and_a_generated_pilot(app):
    with app.app_context():
        result = demo_scale.seed(demo_scale.CALIFORNIA, TODAY)
        db.session.commit()
        pilot = db.session.scalar(sa.select(User).where(User.email == result.sample_pilot))
        library_id, library_name = pilot.library_id, pilot.library.name
        participation_id = db.session.scalar(
            sa.select(Participation.id).where(Participation.library_id == library_id)
        )

    staff = Browserless(app.test_client())
    staff.login("staff@demo.test", demo.DEMO_PASSWORD)
    page = staff.get("/at-risk").get_data(as_text=True)
    assert "(synthetic)" in page and "at risk" in page and "on track" in page
    assert library_name in staff.get(f"/libraries/{library_id}").get_data(as_text=True)

    librarian = Browserless(app.test_client())
    assert librarian.login(result.sample_pilot, demo.DEMO_PASSWORD).status_code == 302
    home = librarian.get("/")
    assert home.status_code == 200 and library_name in home.get_data(as_text=True)
    timeline = librarian.get(f"/participations/{participation_id}/timeline")
    assert timeline.status_code == 200 and "Commitment letter signed" in timeline.get_data(
        as_text=True
    )


def test_national_scale_at_one_hundredth_keeps_its_proportions(ctx):
    demo.seed_demo(TODAY)
    db.session.commit()
    tables = (Library, SchoolDistrict, Milestone, CheckIn, MilestoneComment, CaseStudyComment)
    before = {model: row_count(model) for model in tables}
    before_schools = row_count(School)

    sizes = demo_scale.national_sizes(TODAY, 0.01)
    result = demo_scale.seed(demo_scale.NATIONAL, TODAY, sizes)
    db.session.commit()

    added = {model: row_count(model) - before[model] for model in tables}
    districts = sa.select(sa.func.count()).where(SchoolDistrict.kind == LeaKind.DISTRICT)
    # 130 districts, a county office in each of the 58 counties, 50 charter schools as LEAs
    assert (added[Library], added[SchoolDistrict]) == (100, 130 + 58 + 50)
    assert db.session.scalar(districts) == before[SchoolDistrict] + 130
    # 1,000 schools (a district without students on record has none), grade-3 rows
    assert 1_000 <= row_count(School) - before_schools <= 1_000 + 130
    assert db.session.scalar(sa.select(sa.func.count()).where(OutcomeReport.grade == 3)) > 0
    report = legislative_report(SchoolYear.last_ended(TODAY))
    assert report.libraries and report.total.cells["with_access"].value > 0
    assert (added[Milestone], added[CheckIn]) == (1_000, 5_000)
    assert added[MilestoneComment] + added[CaseStudyComment] == 500
    assert added[MilestoneComment] == 450
    rounds = db.session.scalars(sa.select(Cohort).where(Cohort.name.like("National round %")))
    assert sorted(c.active for c in rounds) == [False] * 4 + [True] * 4  # four have finished
    national_pilots = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Participation)
        .join(Participation.cohort)
        .where(Cohort.name.like("National%"), Participation.role == ParticipationRole.PILOT)
    )
    assert national_pilots == 80  # 1,000 milestones: 5 per pilot + 5 per district, 1.5 each
    assert row_count(Pairing) >= 80 + 11
    assert {risk.level for risk in assess_pilots(TODAY)} == set(RiskLevel)

    again = demo_scale.seed(demo_scale.NATIONAL, TODAY, sizes)
    assert again.skipped and again.counts == result.counts
    other = demo_scale.seed(demo_scale.CALIFORNIA, TODAY)
    assert "another scale" in other.skipped


def test_the_command_loads_the_statewide_program_and_says_so_the_second_time(app):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed-demo", "--scale", "california"])
    assert first.exit_code == 0, first.output
    assert "generated" in first.output and "libraries" in first.output and "183" in first.output
    assert "@synthetic.test" in first.output and "staff@demo.test" in first.output
    second = runner.invoke(args=["seed-demo", "--scale", "california"])
    assert second.exit_code == 0 and "already loaded" in second.output
