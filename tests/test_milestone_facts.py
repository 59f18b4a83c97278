"""Facts complete milestones: a stage reached, the letter signed, an agreement in effect,
a first outcome report. Done with the fact's own date, open again when it is undone."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mentorship import demo
from mentorship.demo import scale as demo_scale
from mentorship.extensions import db
from mentorship.models import (
    AgreementKind,
    AuditEvent,
    Library,
    Milestone,
    MilestoneStatus,
    Participation,
    PartnershipStage,
    StepFact,
)
from mentorship.services import milestone_facts, outcomes, partnerships
from mentorship.services import milestones as service
from mentorship.services.errors import ValidationError
from tests.helpers import (
    PASSWORD,
    count_statements,
    make_district,
    make_pilot,
    make_user,
    milestone_of,
)

START = date(2025, 9, 1)
TODAY = date(2026, 11, 25)


def _stage(key: str) -> PartnershipStage:
    return db.session.scalar(sa.select(PartnershipStage).where(PartnershipStage.key == key))


def _history(milestone: Milestone) -> list[str]:
    return db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.object_type == "Milestone", AuditEvent.object_id == milestone.id)
        .order_by(AuditEvent.id)
    ).all()


def _state(milestone: Milestone) -> tuple[MilestoneStatus, date | None]:
    db.session.refresh(milestone)
    return milestone.status, milestone.done_on


def _sign(letter, role, name, day, partnership=None):
    return partnerships.add_signer(
        letter,
        {
            "role": role,
            "name": name,
            "title": "",
            "signed_on": day,
            "partnership_id": partnership and partnership.id,
        },
        TODAY,
        None,
    )


def test_the_default_plan_names_its_facts(ctx):
    steps = {step.key: step for step in service.current_template().steps}
    assert (steps["first_meeting"].completed_by, steps["first_meeting"].completed_by_stage) == (
        StepFact.STAGE_REACHED,
        _stage("meeting_held").position,
    )
    assert steps["commitment_letter"].completed_by == StepFact.LETTER_SIGNED
    assert steps["data_agreement"].completed_by == StepFact.AGREEMENT_IN_EFFECT
    assert steps["first_launch"].completed_by_stage == _stage("cards_issued").position
    assert steps["outcomes"].completed_by == StepFact.FIRST_OUTCOME_REPORT
    assert steps["team_goals"].completed_by is None  # marked by hand


def test_reaching_a_stage_completes_the_step_with_its_date_and_going_back_reopens_it(ctx):
    pilot = make_pilot(start=START)
    partnership = partnerships.partnerships_of(pilot.library_id)[0]
    meeting = milestone_of(pilot, "first_meeting", partnership)
    assert _state(meeting) == (MilestoneStatus.NOT_STARTED, None)

    partnerships.move_to_stage(partnership, _stage("meeting_held"), date(2025, 11, 10), TODAY, None)
    db.session.commit()
    assert _state(meeting) == (MilestoneStatus.DONE, date(2025, 11, 10))
    assert _history(meeting)[-1] == "done: stage ‘Meeting held’ reached on Nov 10, 2025"

    # A later stage keeps it done, dated by the meeting.
    partnerships.move_to_stage(partnership, _stage("letter_signed"), date(2026, 1, 5), TODAY, None)
    db.session.commit()
    assert _state(meeting) == (MilestoneStatus.DONE, date(2025, 11, 10))

    # Back to "Contacted" (a correction): the meeting has not happened after all.
    partnerships.move_to_stage(partnership, _stage("contacted"), date(2025, 9, 20), TODAY, None)
    db.session.commit()
    assert _state(meeting) == (MilestoneStatus.NOT_STARTED, None)
    assert _history(meeting)[-1] == "reopened: stage ‘Meeting held’ not reached"

    # Skipping straight to a later stage completes it on the day that stage was reached.
    partnerships.move_to_stage(
        partnership, _stage("agreement_signed"), date(2026, 2, 1), TODAY, None
    )
    db.session.commit()
    assert _state(meeting) == (MilestoneStatus.DONE, date(2026, 2, 1))


def test_the_letter_completes_its_step_and_a_new_district_reopens_it(ctx):
    pilot = make_pilot(start=START)
    hayward = partnerships.partnerships_of(pilot.library_id)[0]
    step = milestone_of(pilot, "commitment_letter")
    letter = partnerships.letter_for(pilot)
    _sign(letter, "chief elected official", "Mark Salinas", date(2025, 12, 2))
    _sign(letter, "library director", "Sean Reinhart", date(2025, 12, 5))
    db.session.commit()
    assert _state(step) == (MilestoneStatus.NOT_STARTED, None)  # no superintendent yet

    superintendent = _sign(letter, "superintendent", "Jason Reimann", date(2026, 1, 9), hayward)
    db.session.commit()
    assert _state(step) == (MilestoneStatus.DONE, date(2026, 1, 9))  # the last signature
    assert _history(step)[-1] == "done: commitment letter signed on Jan 9, 2026"

    # A second district: the letter waits for its superintendent, the step is open again.
    san_lorenzo = partnerships.create_partnership(
        pilot.library,
        {"district_id": make_district("San Lorenzo Unified").id},
        date(2026, 10, 1),
        None,
        TODAY,
    )
    db.session.commit()
    assert _state(step) == (MilestoneStatus.NOT_STARTED, None)
    assert _history(step)[-1] == "reopened: commitment letter not signed"
    assert letter_waiting(pilot) == ["the superintendent of San Lorenzo Unified"]
    # Reopened by a change made today, it is not late today: due after the grace period.
    assert step.due_on == TODAY + timedelta(days=30) and step.days_late(TODAY) == 0
    _sign(letter, "superintendent", "Daryl Camp", date(2026, 10, 20), san_lorenzo)
    db.session.commit()
    assert _state(step) == (MilestoneStatus.DONE, date(2026, 10, 20))

    # A signer removed: open again.
    partnerships.remove_signer(superintendent, None, TODAY)
    db.session.commit()
    assert _state(step) == (MilestoneStatus.NOT_STARTED, None)


def letter_waiting(pilot) -> list[str]:
    return partnerships.letter_of(pilot).waiting_for


def test_an_agreement_in_effect_completes_its_step_on_its_effective_date(ctx):
    pilot = make_pilot(start=START)
    partnership = partnerships.partnerships_of(pilot.library_id)[0]
    step = milestone_of(pilot, "data_agreement", partnership)
    # Recorded ahead of its effective date: not done until that day comes.
    agreement = partnerships.add_agreement(
        partnership,
        {"kind": AgreementKind.MOU, "effective_on": date(2026, 12, 15), "expires_on": None},
        None,
        TODAY,
    )
    db.session.commit()
    assert _state(step) == (MilestoneStatus.NOT_STARTED, None)
    milestone_facts.agreements_taking_effect(date(2026, 12, 15))
    db.session.commit()
    assert _state(step) == (MilestoneStatus.DONE, date(2026, 12, 15))
    assert _history(step)[-1] == "done: MOU in effect from Dec 15, 2026"

    # The date corrected: the step follows; moved into the future, it opens again.
    partnerships.update_agreement(
        agreement,
        {"kind": AgreementKind.MOU, "effective_on": date(2026, 6, 1), "expires_on": None},
        None,
        TODAY,
    )
    db.session.commit()
    assert _state(step) == (MilestoneStatus.DONE, date(2026, 6, 1))
    partnerships.update_agreement(
        agreement,
        {"kind": AgreementKind.MOU, "effective_on": date(2027, 1, 1), "expires_on": None},
        None,
        TODAY,
    )
    db.session.commit()
    assert _state(step) == (MilestoneStatus.NOT_STARTED, None)


def _report(partnership, start, end):
    return outcomes.add_report(
        partnership,
        {
            "period_start": start,
            "period_end": end,
            "students_enrolled": 1000,
            "physical_cards": 10,
            "digital_cards": 20,
            "students_using_cards": None,
            "explanation": "",
        },
        TODAY,
        None,
    )


def test_the_first_report_of_every_district_completes_outcomes_measured(ctx):
    pilot = make_pilot(districts=2, start=START)
    first, second = partnerships.partnerships_of(pilot.library_id)
    step = milestone_of(pilot, "outcomes")
    report = _report(first, date(2026, 1, 1), date(2026, 3, 31))
    db.session.commit()
    assert _state(step) == (MilestoneStatus.NOT_STARTED, None)  # one district still to report
    _report(second, date(2026, 4, 1), date(2026, 6, 30))
    db.session.commit()
    # Dated by the later of the two first reports.
    assert _state(step) == (MilestoneStatus.DONE, date(2026, 6, 30))
    assert _history(step)[-1] == (
        "done: every partner district: first outcome figures reported, to Jun 30, 2026"
    )
    # The first district's first report moved later (a correction): the step follows.
    outcomes.update_report(
        report,
        {
            "period_start": date(2026, 7, 1),
            "period_end": date(2026, 9, 30),
            "students_enrolled": 1000,
            "physical_cards": 10,
            "digital_cards": 20,
            "students_using_cards": None,
            "explanation": "",
        },
        TODAY,
        None,
    )
    db.session.commit()
    assert _state(step) == (MilestoneStatus.DONE, date(2026, 9, 30))
    # A district stopped: the step counts the active districts only, and a new one reopens it.
    partnerships.set_partnership_active(first, False, TODAY, None)
    db.session.commit()
    assert _state(step) == (MilestoneStatus.DONE, date(2026, 6, 30))
    partnerships.create_partnership(
        pilot.library, {"district_id": make_district().id}, date(2026, 11, 1), None, TODAY
    )
    db.session.commit()
    assert _state(step) == (MilestoneStatus.NOT_STARTED, None)


def test_a_step_done_by_its_fact_is_never_marked_by_hand_but_can_be_put_aside(ctx):
    pilot = make_pilot(start=START)
    partnership = partnerships.partnerships_of(pilot.library_id)[0]
    meeting = milestone_of(pilot, "first_meeting", partnership)
    with pytest.raises(ValidationError, match="done by itself when the partnership reaches"):
        service.update_milestone(meeting, {"status": "done"}, meeting.version, None, TODAY)
    partnerships.move_to_stage(partnership, _stage("meeting_held"), date(2025, 11, 10), TODAY, None)
    db.session.commit()
    with pytest.raises(ValidationError, match="opens again by itself"):
        service.update_milestone(meeting, {"status": "in progress"}, meeting.version, None, TODAY)
    # A note and evidence are kept, the fact's date too whatever the form sends.
    service.update_milestone(
        meeting,
        {"status": "done", "done_on": date(2026, 1, 1), "note": "Met the superintendent"},
        meeting.version,
        None,
        TODAY,
    )
    assert (meeting.done_on, meeting.note) == (date(2025, 11, 10), "Met the superintendent")
    # Not applicable stays possible, and the sync leaves it so; back in play, it follows
    # its fact at once.
    service.update_milestone(
        meeting,
        {"status": "not applicable", "not_applicable_reason": "Met at county level"},
        meeting.version,
        None,
        TODAY,
    )
    db.session.commit()
    partnerships.move_to_stage(partnership, _stage("letter_signed"), date(2026, 1, 5), TODAY, None)
    assert _state(meeting)[0] == MilestoneStatus.NOT_APPLICABLE
    service.update_milestone(meeting, {"status": "not started"}, meeting.version, None, TODAY)
    db.session.commit()
    assert _state(meeting) == (MilestoneStatus.DONE, date(2025, 11, 10))


def test_new_milestones_start_done_when_their_fact_is_already_recorded(ctx):
    pilot = make_pilot(start=START)
    partnership = partnerships.partnerships_of(pilot.library_id)[0]
    partnerships.move_to_stage(partnership, _stage("meeting_held"), date(2025, 10, 3), TODAY, None)
    db.session.commit()
    # The plan gains a step completed by the same fact; published to running pilots.
    draft = service.draft_template(None)
    service.add_step(
        draft,
        {
            "title": "Meeting notes shared",
            "description": "",
            "month_offset": 3,
            "scope": "partnership",
            "toolkit_page": "",
            "completed_by": StepFact.STAGE_REACHED,
            "completed_by_stage": 2,
            "completed_by_agreement": AgreementKind.MOU,  # not kept: not an agreement's step
        },
        None,
    )
    service.publish(draft, apply_to_running=True, actor=None, today=TODAY)
    db.session.commit()
    added = milestone_of(pilot, "meeting_notes_shared", partnership)
    assert added.completed_by_agreement is None
    assert _state(added) == (MilestoneStatus.DONE, date(2025, 10, 3))


def test_a_stage_step_needs_its_stage(ctx):
    draft = service.draft_template(None)
    with pytest.raises(ValidationError, match="Choose the stage") as refused:
        service.add_step(
            draft,
            {
                "title": "Half-way",
                "month_offset": 3,
                "scope": "library",
                "completed_by": StepFact.STAGE_REACHED,
                "completed_by_stage": None,
            },
            None,
        )
    assert refused.value.field == "completed_by_stage"


# The demo data ---------------------------------------------------------------------------


def _all_library_ids() -> list[int]:
    return db.session.scalars(sa.select(Library.id)).all()


def test_the_demo_data_agrees_with_its_facts(ctx):
    demo.seed_demo(TODAY)
    db.session.commit()
    assert milestone_facts.disagreements(_all_library_ids(), TODAY) == []
    done_by_fact = db.session.scalar(
        sa.select(sa.func.count()).where(
            Milestone.completed_by.is_not(None), Milestone.status == MilestoneStatus.DONE
        )
    )
    assert done_by_fact > 10  # Year 1 pilots are well along


def test_the_california_scale_data_agrees_with_its_facts(ctx):
    demo_scale.seed(demo_scale.CALIFORNIA, TODAY)
    db.session.commit()
    assert milestone_facts.disagreements(_all_library_ids(), TODAY) == []
    assert db.session.scalar(
        sa.select(sa.func.count()).where(
            Milestone.step_key == "commitment_letter", Milestone.status == MilestoneStatus.DONE
        )
    )


# Pages ------------------------------------------------------------------------------------


def _pilot_with_login(app) -> dict:
    with app.app_context():
        pilot = make_pilot(start=START)
        make_user("pilot", pilot.library, email="priya@hayward.example")
        partnership = partnerships.partnerships_of(pilot.library_id)[0]
        return {
            "pilot": pilot.id,
            "partnership": partnership.id,
            "meeting": milestone_of(pilot, "first_meeting", partnership).id,
            "team": milestone_of(pilot, "team_goals").id,
            "technical": milestone_of(pilot, "technical_plan", partnership).id,
            "letter": milestone_of(pilot, "commitment_letter").id,
        }


def test_the_milestone_page_says_which_fact_completes_it_and_where_to_record_it(client, app):
    ids = _pilot_with_login(app)
    client.login("priya@hayward.example", PASSWORD)
    page = client.get(f"/milestones/{ids['meeting']}").get_data(as_text=True)
    assert "Done by itself when the partnership reaches the stage “Meeting held”" in page
    assert f'href="/partnerships/{ids["partnership"]}#stages"' in page
    # The form offers no "done" for it; a hand-made "done" is refused beside the field.
    assert '<option value="done"' not in page
    refused = client.submit(f"/milestones/{ids['meeting']}", {"version": "1", "status": "done"})
    assert refused.status_code == 400
    assert "done by itself when" in refused.get_data(as_text=True)
    letter_page = client.get(f"/milestones/{ids['letter']}").get_data(as_text=True)
    assert f'href="/participations/{ids["pilot"]}/letter"' in letter_page
    # A step with no fact is marked by hand as before.
    team = client.get(f"/milestones/{ids['team']}").get_data(as_text=True)
    assert "Done by itself" not in team and '<option value="done"' in team
    timeline = client.get(f"/participations/{ids['pilot']}/timeline").get_data(as_text=True)
    assert len(re.findall(r"Mark done<span", timeline)) == 5  # the steps with no fact
    assert (
        "Done by itself when the commitment letter is signed: record it in "
        f'<a href="/participations/{ids["pilot"]}/letter">the commitment letter</a>'
    ) in timeline


def test_moving_a_stage_on_the_page_completes_themilestone_of(client, app):
    ids = _pilot_with_login(app)
    client.login("priya@hayward.example", PASSWORD)
    with app.app_context():
        stage_id = _stage("meeting_held").id
    moved = client.submit(
        f"/partnerships/{ids['partnership']}/stage",
        {"stage_id": stage_id, "reached_on": "2025-11-10"},
    )
    assert moved.status_code == 302
    page = client.get(f"/milestones/{ids['meeting']}").get_data(as_text=True)
    assert "done: stage ‘Meeting held’ reached on Nov 10, 2025" in page
    assert "Nov 10, 2025" in page


def test_the_milestone_page_runs_a_fixed_number_of_statements(client, app):
    ids = _pilot_with_login(app)
    client.login("priya@hayward.example", PASSWORD)
    with count_statements(app) as by_hand:  # a district's step with no fact
        client.get(f"/milestones/{ids['technical']}")
    with count_statements(app) as by_fact:
        client.get(f"/milestones/{ids['meeting']}")
    assert len(by_fact) == len(by_hand) + 1  # the stage names, once


def test_staff_name_a_steps_fact_in_the_plan_editor(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example")
        service.current_template()
        db.session.commit()
    client.login("staff@t.example", PASSWORD)
    plan = client.get("/plan").get_data(as_text=True)
    assert "Done by itself when" in plan
    assert "the partnership reaches the stage “Meeting held”" in plan
    assert "the partnership&#39;s first outcome figures are reported, for every active" in plan
    with app.app_context():
        team = next(s for s in service.current_template().steps if s.key == "team_goals")
        step_id = team.id
    draft_form = client.get(f"/plan/steps/{step_id}/edit", follow_redirects=True)
    assert "Stage reached (if done when a partnership reaches a stage)" in draft_form.get_data(
        as_text=True
    )
    edit_url = draft_form.request.path
    values = {
        "title": "Team formed",
        "description": "",
        "month_offset": "5",
        "scope": "library",
        "toolkit_page": "getting-started",
        "completed_by": "stage reached",
        "completed_by_stage": "",
        "completed_by_agreement": "",
    }
    refused = client.submit(edit_url, values)
    assert refused.status_code == 400 and "Choose the stage that completes this step" in (
        refused.get_data(as_text=True)
    )
    saved = client.submit(edit_url, {**values, "completed_by_stage": "3"})
    assert saved.status_code == 302
    with app.app_context():
        draft = service.draft_template(None)
        change = service.plan_change(draft)
        assert [(s.key, fields) for s, fields in change.changed] == [
            ("team_goals", ["title", "description", "completed_by", "completed_by_stage"])
        ]


# The migration -----------------------------------------------------------------------------


def test_the_migration_brings_existing_rows_in_line_with_their_facts(tmp_path, smtp_server):
    from flask_migrate import upgrade

    from mentorship import create_app
    from tests.conftest import app_settings
    from tests.databases import fresh_database

    with fresh_database(tmp_path) as url:
        app = create_app(app_settings(url, smtp_server.port))
        with app.app_context():
            upgrade(revision="0010")
            with db.engine.begin() as connection:
                _rows_as_they_stood_before(connection)
            upgrade()
            with db.engine.connect() as connection:
                milestones = {
                    (row.step_key, row.partnership_id): (row.status, str(row.done_on or ""))
                    for row in connection.execute(
                        sa.text("SELECT step_key, partnership_id, status, done_on FROM milestones")
                    )
                }
                signers = dict(
                    connection.execute(
                        sa.text("SELECT name, partnership_id FROM letter_signers")
                    ).all()
                )
                steps = dict(
                    connection.execute(
                        sa.text("SELECT key, completed_by FROM template_steps")
                    ).all()
                )
                actions = connection.execute(
                    sa.text("SELECT action FROM audit_events ORDER BY id")
                ).scalars()
                actions = list(actions)
            db.engine.dispose()
    # Superintendents: the district named in their title first, then in roll-out order;
    # one whose library has no partner district leaves the letter.
    assert signers == {"Mayor": None, "Director": None, "Daryl Camp": 2, "Jane Doe": 1}
    assert steps == {
        "first_meeting": "stage reached",
        "commitment_letter": "letter signed",
        "team_goals": None,
    }
    assert milestones == {
        ("first_meeting", 1): ("done", "2025-10-31"),  # the day the meeting was recorded
        ("first_meeting", 2): ("not started", ""),  # marked done, but only "Contacted"
        ("commitment_letter", None): ("done", "2026-01-09"),  # the last signature
        ("team_goals", None): ("done", "2026-01-28"),  # no fact: as it was
    }
    assert "done: stage ‘Meeting held’ reached on Oct 31, 2025" in actions
    assert "reopened: its fact is not recorded" in actions
    assert "remove signer: no partner district" in actions


def _rows_as_they_stood_before(connection) -> None:
    now = "2026-11-01 12:00:00+00:00"

    def insert(table: str, **values) -> None:
        names = ", ".join(values)
        marks = ", ".join(f":{name}" for name in values)
        connection.execute(sa.text(f"INSERT INTO {table} ({names}) VALUES ({marks})"), values)

    library = {
        "short_name": "", "city": "", "county": "Alameda", "cooperative_system": "PLP",
        "governance": "city", "ils_name": "", "website": "", "contact_name": "",
        "contact_email": "", "contact_phone": "", "active": True, "created_at": now,
    }  # fmt: skip
    insert("libraries", id=1, name="Hayward Public Library", **library)
    insert("libraries", id=2, name="Elsewhere Library", **library)
    for district_id, name in ((1, "Hayward Unified"), (2, "San Lorenzo Unified")):
        insert(
            "school_districts", id=district_id, name=name, county="Alameda",
            enrolment_school_year="", active=True, created_at=now,
        )  # fmt: skip
    insert(
        "cohorts", id=1, name="Year 1", start_date="2025-09-01", end_date="2027-08-31",
        notes="", active=True, created_at=now,
    )  # fmt: skip
    for participation_id, library_id in ((1, 1), (2, 2)):
        insert(
            "participations", id=participation_id, library_id=library_id, cohort_id=1,
            role="pilot", start_date="2025-09-01", target_months=18, active=True,
            created_at=now, mentor_capacity=0,
        )  # fmt: skip
    stage = dict(connection.execute(sa.text("SELECT position, id FROM partnership_stages")).all())
    dates = {1: ["2025-09-21", "2025-10-31", "2026-01-09", "2026-05-09"], 2: ["2026-10-01"]}
    for partnership_id, reached in dates.items():
        insert(
            "partnerships", id=partnership_id, library_id=1, district_id=partnership_id,
            stage_id=stage[len(reached)], rollout_order=partnership_id, contact_name="",
            contact_title="", contact_email="", contact_phone="", notes="", active=True,
            created_at=now,
        )  # fmt: skip
        for position, day in enumerate(reached, start=1):
            insert(
                "partnership_stage_dates", partnership_id=partnership_id,
                stage_id=stage[position], reached_on=day,
            )  # fmt: skip
    insert("milestone_templates", id=1, version=1, note="", created_at=now, published_at=now)
    for position, (key, scope) in enumerate(
        (("first_meeting", "partnership"), ("commitment_letter", "library"),
         ("team_goals", "library")), start=1,
    ):  # fmt: skip
        insert(
            "template_steps", template_id=1, key=key, position=position, title=key,
            description="", month_offset=position, scope=scope, toolkit_page="",
        )  # fmt: skip
    for key, partnership_id, done_on in (
        ("first_meeting", 1, "2025-10-28"),
        ("first_meeting", 2, "2026-10-05"),
        ("commitment_letter", None, "2025-12-28"),
        ("team_goals", None, "2026-01-28"),
    ):
        insert(
            "milestones", participation_id=1, partnership_id=partnership_id, step_key=key,
            position=1, title=key, description="", toolkit_page="", due_on="2026-01-01",
            status="done", done_on=done_on, not_applicable_reason="", note="",
            evidence_url="", version=1, updated_at=now,
        )  # fmt: skip
    for letter_id in (1, 2):
        insert(
            "commitment_letters", id=letter_id, participation_id=letter_id, document_url="",
            created_at=now,
        )  # fmt: skip
    for letter_id, role, name, title, day in (
        (1, "chief elected official", "Mayor", "Mayor of Hayward", "2025-12-01"),
        (1, "library director", "Director", "", "2025-12-05"),
        (1, "superintendent", "Jane Doe", "Superintendent", "2025-12-20"),
        (1, "superintendent", "Daryl Camp", "Superintendent, San Lorenzo Unified", "2026-01-09"),
        (2, "superintendent", "Nobody's", "Superintendent", "2026-01-09"),
    ):
        insert(
            "letter_signers", letter_id=letter_id, role=role, name=name, title=title,
            signed_on=day,
        )  # fmt: skip


def test_the_letter_page_runs_the_same_statements_whatever_its_districts_and_signers(client, app):
    ids = _pilot_with_login(app)
    client.login("priya@hayward.example", PASSWORD)
    url = f"/participations/{ids['pilot']}/letter"
    with app.app_context():
        pilot = db.session.get(Participation, ids["pilot"])
        letter = partnerships.letter_for(pilot)
        _sign(letter, "library director", "A", date(2025, 12, 1))
        db.session.commit()
    with count_statements(app) as few:
        assert client.get(url).status_code == 200
    with app.app_context():
        pilot = db.session.get(Participation, ids["pilot"])
        letter = partnerships.letter_of(pilot)
        for _ in range(3):
            partnership = partnerships.create_partnership(
                pilot.library, {"district_id": make_district().id}, START, None, TODAY
            )
            _sign(letter, "superintendent", "S", date(2025, 12, 1), partnership)
        db.session.commit()
    with count_statements(app) as many:
        page = client.get(url).get_data(as_text=True)
    assert page.count("<td>superintendent of District") == 3  # one per district signed
    assert len(many) == len(few)
