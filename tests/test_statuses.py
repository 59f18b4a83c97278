"""Statuses that tell the truth: unpaired pilots, plan changes with a grace period, the
24-month cap on a district's steps (issue 15, part 5)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import AuditEvent, Milestone, MilestoneStatus, Participation, StepScope
from mentorship.services import milestones as service
from mentorship.services import pairing, partnerships, reminders, rollup
from mentorship.services.milestones import PilotShift
from mentorship.services.risk import RiskLevel, RiskSettings, assess_pilots
from mentorship.services.rollup import RollupFilter
from mentorship.templating import local_today
from tests.helpers import (
    PASSWORD,
    count_statements,
    load_demo,
    make_district,
    make_library,
    make_pairing,
    make_participation,
    make_pilot,
    make_user,
)

TODAY = date(2026, 11, 25)
SETTINGS = RiskSettings()


def _calm(pilot: Participation) -> Participation:
    """Nothing late, nothing quiet: only the rule under test can speak."""
    for milestone in service.milestones_of(pilot.id):
        milestone.due_on = TODAY + timedelta(days=40)
    db.session.add(
        AuditEvent(action="update", object_type="Milestone", library_id=pilot.library_id,
                   at=datetime(2026, 11, 24, tzinfo=UTC), changes={})
    )  # fmt: skip
    db.session.commit()
    return pilot


def _status(pilot: Participation, settings: RiskSettings = SETTINGS):
    [risk] = [r for r in assess_pilots(TODAY, settings) if r.participation.id == pilot.id]
    return risk.level, risk.reasons


def _rollup_level(pilot: Participation, settings: RiskSettings = SETTINGS) -> RiskLevel:
    statuses = rollup.pilot_statuses(RollupFilter(), TODAY, settings)
    return next(s.level for s in statuses if s.participation_id == pilot.id)


# Unpaired pilots ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "level"),
    [(29, RiskLevel.ON_TRACK), (30, RiskLevel.NEEDS_ATTENTION), (59, RiskLevel.NEEDS_ATTENTION),
     (60, RiskLevel.AT_RISK)],
)  # fmt: skip
def test_a_pilot_never_paired_needs_attention_then_is_at_risk(ctx, days, level):
    start = TODAY - timedelta(days=days)
    pilot = _calm(make_pilot(start=start))
    expected = [f"no mentor since {start:%b} {start.day}, {start.year}"] if level else []
    assert _status(pilot) == (level, expected)
    assert _rollup_level(pilot) == level  # the rollup, the API and the at-risk ranking


def test_a_pilot_whose_pairing_ended_counts_from_the_end(ctx):
    pilot = _calm(make_pilot(start=date(2025, 9, 1)))
    make_pairing(pilot, "ended", start=date(2025, 9, 1), end_date=date(2026, 10, 10))
    assert _status(pilot) == (RiskLevel.NEEDS_ATTENTION, ["no mentor since Oct 10, 2026"])
    make_pairing(pilot, "ended", start=date(2025, 9, 1), end_date=date(2026, 9, 1))  # earlier
    assert _status(pilot) == (RiskLevel.NEEDS_ATTENTION, ["no mentor since Oct 10, 2026"])
    assert _rollup_level(pilot) == RiskLevel.NEEDS_ATTENTION


def test_a_removed_or_unpublished_proposal_is_no_mentor(ctx):
    removed, proposed = (_calm(make_pilot(start=date(2026, 9, 1))) for _ in range(2))
    for pilot in (removed, proposed):
        mentor = make_participation(make_library(), pilot.cohort, "mentor")
        pairing.propose(pilot, mentor, actor=None)
    pairing.remove_proposal(pairing.open_pairing_of(removed.id), actor=None)
    db.session.commit()
    for pilot in (removed, proposed):
        assert _status(pilot) == (RiskLevel.AT_RISK, ["no mentor since Sep 1, 2026"])
        assert _rollup_level(pilot) == RiskLevel.AT_RISK
    pairing.publish(proposed.cohort_id, date(2026, 11, 20), actor=None)
    db.session.commit()
    assert _status(proposed) == (RiskLevel.ON_TRACK, [])


def test_the_unpaired_thresholds_are_settings(app):
    settings = RiskSettings.from_config(
        {**app.config, "RISK_UNPAIRED_ATTENTION_DAYS": 5, "RISK_UNPAIRED_RISK_DAYS": 10}
    )
    assert (settings.unpaired_attention_days, settings.unpaired_risk_days) == (5, 10)
    defaults = RiskSettings.from_config(app.config)
    assert (defaults.unpaired_attention_days, defaults.unpaired_risk_days) == (30, 60)
    with app.app_context():
        pilot = _calm(make_pilot(start=TODAY - timedelta(days=7)))
        assert _status(pilot, settings)[0] == RiskLevel.NEEDS_ATTENTION
        assert _rollup_level(pilot, settings) == RiskLevel.NEEDS_ATTENTION
        assert _status(pilot)[0] == RiskLevel.ON_TRACK


def test_the_staff_digest_names_unpaired_pilots(ctx):
    _calm(make_pilot(make_library("Merced County Library"), start=date(2026, 9, 1)))
    make_pairing(_calm(make_pilot(start=date(2026, 9, 1))))  # paired: on track
    [digest] = reminders._digest(datetime(2026, 11, 25, 18, tzinfo=UTC))  # Wednesday
    assert digest.fields["item"].startswith("1 pilot at risk, 0 need attention")
    assert digest.details[0] == "Merced County Library (at risk): no mentor since Sep 1, 2026"


def test_the_demo_shows_unpaired_pilots_with_their_reason(ctx):
    """The issue's cases on the demo data: a proposal removed (Merced), a pairing ended
    (Ontario), a pilot never paired; the rest of Year 2 paired and on track."""

    load_demo(TODAY)
    year2 = db.session.scalar(demo_cohort_id())
    pairing.propose_whole_cohort(year2, actor=None)
    by_name = {p.pilot.library.name: p for p in pairing.open_pairings(year2)}
    pairing.remove_proposal(by_name["Merced County Library"], actor=None)
    never = sorted(
        n for n in by_name if n not in ("Merced County Library", "Ontario City Library")
    )[0]
    pairing.remove_proposal(by_name[never], actor=None)
    db.session.flush()
    pairing.publish(year2, date(2026, 9, 1), actor=None)
    pairing.end(by_name["Ontario City Library"], date(2026, 10, 15), actor=None)
    db.session.commit()

    statuses = {r.participation.library.name: r for r in assess_pilots(TODAY, SETTINGS)}
    merced, ontario, lone = (
        statuses[n] for n in ("Merced County Library", "Ontario City Library", never)
    )
    assert merced.level == lone.level == RiskLevel.AT_RISK
    assert "no mentor since Sep 1, 2026" in merced.reasons
    assert "no mentor since Sep 1, 2026" in lone.reasons
    assert ontario.level >= RiskLevel.NEEDS_ATTENTION
    assert "no mentor since Oct 15, 2026" in ontario.reasons
    levels = {
        s.participation_id: s.level for s in rollup.pilot_statuses(RollupFilter(), TODAY, SETTINGS)
    }
    assert levels == {r.participation.id: r.level for r in statuses.values()}


def demo_cohort_id():
    from mentorship.models import Cohort

    return sa.select(Cohort.id).where(Cohort.name.like("Year 2%"))


# Publishing a plan change ------------------------------------------------------------------


def _step(draft, key):
    return next(s for s in draft.steps if s.key == key)


def _add_step(draft, title: str, month: int) -> None:
    service.add_step(
        draft,
        {"title": title, "description": "", "month_offset": month, "scope": StepScope.LIBRARY,
         "toolkit_page": ""},
        None,
    )  # fmt: skip


def _keyed(pilot) -> dict[str, Milestone]:
    return {m.step_key: m for m in service.milestones_of(pilot.id) if m.partnership_id is None}


def test_added_and_moved_steps_of_running_pilots_are_not_late_on_publish_day(ctx):
    pilot = make_pilot(start=date(2026, 6, 1))  # month 5 on TODAY
    make_pairing(pilot)
    for milestone in service.milestones_of(pilot.id):
        if milestone.due_on < TODAY and milestone.step_key != "kickoff":
            if milestone.completed_by:  # a fact's step: its fact would reopen a hand "done"
                milestone.status = MilestoneStatus.NOT_APPLICABLE
                milestone.not_applicable_reason = "Not part of this test."
            else:
                milestone.status, milestone.done_on = MilestoneStatus.DONE, milestone.due_on
    db.session.commit()
    assert _keyed(pilot)["kickoff"].days_late(TODAY) == 147  # late before the change
    draft = service.draft_template(None)
    _add_step(draft, "Parent notice sent", 2)  # would be due Aug 1, 2026
    service.update_step(_step(draft, "outcomes"), {"month_offset": 3}, None)  # Sep 1, 2026
    service.update_step(_step(draft, "kickoff"), {"month_offset": 2}, None)  # Aug 1, 2026
    service.update_step(_step(draft, "sustainability"), {"month_offset": 16}, None)  # Oct 1, 2027

    service.publish(draft, apply_to_running=True, actor=None, today=TODAY)
    db.session.commit()
    steps = _keyed(pilot)
    after_grace = TODAY + timedelta(days=30)
    assert steps["parent_notice_sent"].due_on == after_grace
    assert steps["outcomes"].due_on == after_grace  # was Dec 1, 2027: moved, but not late
    assert steps["sustainability"].due_on == date(2027, 10, 1)  # far enough: the new plan's
    # Already late before the change, it stays late (by the new plan's date), not excused.
    assert steps["kickoff"].due_on == date(2026, 8, 1)
    level, reasons = _status(pilot)
    assert reasons == ["Kick-off with the mentor; readiness self-assessment: 116 days late"]


def test_a_moved_step_due_soon_keeps_its_old_date_rather_than_come_sooner(ctx):
    pilot = make_pilot(start=date(2026, 6, 1))
    letter = _keyed(pilot)["commitment_letter"]
    letter.due_on = TODAY + timedelta(days=10)
    db.session.commit()
    draft = service.draft_template(None)
    service.update_step(_step(draft, "commitment_letter"), {"month_offset": 2}, None)
    service.publish(draft, apply_to_running=True, actor=None, today=TODAY, grace_days=30)
    assert _keyed(pilot)["commitment_letter"].due_on == TODAY + timedelta(days=10)


def _finished(start: date) -> Participation:
    """A mentored pilot with every step done."""
    pilot = make_pilot(start=start)
    make_pairing(pilot)
    for milestone in service.milestones_of(pilot.id):
        milestone.status, milestone.done_on = MilestoneStatus.DONE, start
    db.session.add(
        AuditEvent(action="update", object_type="Milestone", library_id=pilot.library_id,
                   at=datetime(2026, 11, 24, tzinfo=UTC), changes={})
    )  # fmt: skip
    db.session.commit()
    return pilot


def test_the_preview_counts_the_pilots_whose_status_would_change_and_stores_nothing(ctx):
    near_end = _finished(date(2024, 12, 20))  # month 23: a new open step puts it at risk
    near_end.library.name = "Alpha Library"
    late = _finished(date(2026, 1, 1))  # its MOU step is late, and leaves the plan
    late.library.name = "Bravo Library"
    mou = next(m for m in service.milestones_of(late.id) if m.step_key == "data_agreement")
    mou.status, mou.done_on, mou.due_on = MilestoneStatus.NOT_STARTED, None, date(2026, 9, 1)
    mou_title = f"{mou.title} ({mou.partnership.district.name})"
    calm = _finished(date(2026, 1, 1))
    db.session.commit()
    assert [_status(p)[0] for p in (near_end, late, calm)] == [0, 2, 0]
    draft = service.draft_template(None)
    _add_step(draft, "Parent notice sent", 22)
    service.remove_step(_step(draft, "data_agreement"), None)
    db.session.commit()
    audit_rows = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    due_dates = {m.id: (m.due_on, m.status) for m in db.session.scalars(sa.select(Milestone))}

    shifts = service.status_shifts(draft, service.plan_change(draft), TODAY, SETTINGS)
    assert [(s.before, s.after, s.pilots) for s in shifts] == [
        (RiskLevel.ON_TRACK, RiskLevel.AT_RISK,
         [PilotShift("Alpha Library", ["month 23 of 24 with 1 step open"], [])]),
        (RiskLevel.AT_RISK, RiskLevel.ON_TRACK,
         [PilotShift("Bravo Library", [], [f"{mou_title}: 85 days late"])]),
    ]  # fmt: skip
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == audit_rows
    assert {m.id: (m.due_on, m.status) for m in db.session.scalars(sa.select(Milestone))} == (
        due_dates
    )
    assert db.session.get(Participation, near_end.id).template_id != draft.id

    service.publish(draft, apply_to_running=True, actor=None, today=TODAY)
    db.session.commit()
    assert [_status(p)[0] for p in (near_end, late, calm)] == [2, 0, 0]  # as foretold


def test_staff_see_the_status_changes_before_they_publish(client, app):
    with app.app_context():
        today = local_today()
        pilot = make_pilot(make_library("Alpha Library"), start=today - timedelta(days=700))
        make_pairing(pilot, start=today - timedelta(days=10))
        for milestone in service.milestones_of(pilot.id):
            milestone.status, milestone.done_on = MilestoneStatus.DONE, pilot.start_date
        db.session.commit()
        make_user("staff", email="staff@t.example")
    client.login("staff@t.example", PASSWORD)
    with app.app_context():
        _add_step(service.draft_template(None), "Parent notice sent", 20)
        db.session.commit()
    page = client.get("/plan/draft/publish").get_data(as_text=True)
    assert "1 pilot would go from on track to at risk</strong>" in page
    assert "Alpha Library (month 23 of 24 with 1 step open)" in page
    assert "no sooner than 30 days after publishing" in page


# A district's steps and the pilot's 24-month limit --------------------------------------


def test_a_districts_steps_are_capped_at_the_pilots_24_month_limit(ctx):
    pilot = make_pilot(start=date(2025, 9, 1))  # limit: Sep 1, 2027
    later = partnerships.create_partnership(
        pilot.library,
        {"district_id": make_district("San Lorenzo Unified").id},
        date(2026, 9, 10),
        actor=None,
        today=date(2026, 9, 10),
    )
    db.session.commit()
    steps = {
        m.step_key: m.due_on
        for m in service.milestones_of(pilot.id)
        if m.partnership_id == later.id
    }
    assert steps == {
        "first_meeting": date(2026, 10, 10),  # a month after it is added
        "data_agreement": date(2027, 3, 10),
        "technical_plan": date(2027, 5, 10),
        "first_launch": date(2027, 7, 10),
        "rollout": date(2027, 9, 1),  # Oct 10, 2027 by the plan: after the limit
    }
    assert [m.step_key for m in service.capped_steps(later)] == ["rollout"]
    assert partnerships.capped_note(later) == (
        "1 of its steps would fall after the pilot's 24-month limit, so they are due on "
        "Sep 1, 2027 instead: “District-wide rollout; teachers and school staff trained”."
    )


def test_a_district_first_contacted_in_the_past_gets_no_step_already_late(ctx):
    pilot = make_pilot(start=date(2026, 1, 1))
    make_pairing(pilot)
    for milestone in service.milestones_of(pilot.id):
        milestone.status, milestone.done_on = MilestoneStatus.DONE, date(2026, 1, 1)
    db.session.commit()
    later = partnerships.create_partnership(
        pilot.library, {"district_id": make_district().id}, date(2026, 6, 1), None, today=TODAY
    )
    db.session.commit()
    steps = {
        m.step_key: m.due_on
        for m in service.milestones_of(pilot.id)
        if m.partnership_id == later.id
    }
    assert steps == {
        "first_meeting": date(2026, 12, 25),  # Jun 1 by the plan
        "data_agreement": date(2026, 12, 25),  # Dec 1 by the plan
        "technical_plan": date(2027, 2, 1),
        "first_launch": date(2027, 4, 1),
        "rollout": date(2027, 7, 1),
    }
    assert partnerships.capped_note(later) == ""
    assert all(reason.find("late") < 0 for reason in _status(pilot)[1])


def test_the_partnership_form_says_when_steps_are_capped(client, app):
    with app.app_context():
        today = local_today()
        library = make_library("Hayward Public Library")
        make_pilot(library, start=today - timedelta(days=600))  # month 19 or so
        district = make_district("San Lorenzo Unified")
        make_user("pilot", library, email="priya@hayward.example")
        ids = (library.id, district.id)
    client.login("priya@hayward.example", PASSWORD)
    added = client.submit(
        f"/libraries/{ids[0]}/partners/new",
        {"district_id": ids[1], "rollout_order": "2", "contacted_on": today.isoformat()},
        follow_redirects=True,
    )
    page = added.get_data(as_text=True)
    assert "San Lorenzo Unified was added as a school partner." in page
    assert "would fall after the pilot&#39;s 24-month limit" in page
    assert "District-wide rollout" in page


# The rollup's timeline buckets -------------------------------------------------------------


def test_the_timeline_buckets_are_named_by_time_on_every_page(app, client):
    with app.app_context():
        start = local_today() - timedelta(days=450)  # month 14 or so, no card issued
        make_pilot(make_library("Alpha Library"), start=start)
        make_user("state", email="state@t.example")
        api_tokens_secret = _token(make_user("state", email="state@api.example"))
    assert [label for _, label in rollup.TIMELINE_STAGES] == [
        "Months 0–6", "Months 7–12", "Months 13–18", "Months 19–24", "Past 24 months",
    ]  # fmt: skip
    client.login("state@t.example", PASSWORD)
    page = client.get("/rollup/").get_data(as_text=True)
    assert "Months 13–18" in page and "getting started" not in page
    csv_text = client.get("/rollup/timeline.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "\ufeffTime since the start,Pilots,Figures as of"
    assert "Months 13–18,1" in csv_text
    answer = app.test_client().get(
        "/api/v1/rollup", headers={"Authorization": f"Bearer {api_tokens_secret}"}
    )
    assert {"stage": "Months 13–18", "pilots": 1} in answer.get_json()["data"]["timeline"]


def _token(user) -> str:
    from mentorship.services import api_tokens

    _, secret = api_tokens.issue_token(user.id, "Data team", actor=None)
    db.session.commit()
    return secret


def test_the_publish_preview_runs_the_same_statements_however_many_pilots(client, app):
    with app.app_context():
        for _ in range(2):
            make_pairing(make_pilot(districts=2))
        make_user("staff", email="staff@t.example")
        draft = service.draft_template(None)
        _add_step(draft, "Parent notice sent", 11)
        service.update_step(_step(draft, "commitment_letter"), {"month_offset": 5}, None)
        service.remove_step(_step(draft, "first_launch"), None)
        db.session.commit()
    client.login("staff@t.example", PASSWORD)

    def statements() -> int:
        with count_statements(app) as seen:
            assert client.get("/plan/draft/publish").status_code == 200
        return len(seen)

    few = statements()
    with app.app_context():
        for _ in range(4):
            make_pairing(make_pilot(districts=3))
    assert statements() == few
