"""The timeline: the versioned plan, milestones, lost updates, risk, access, query counts."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import (
    AuditEvent,
    Milestone,
    MilestoneStatus,
    Participation,
    StepScope,
)
from mentorship.services import milestones as service
from mentorship.services import partnerships
from mentorship.services.cohorts import add_participation
from mentorship.services.errors import Conflict, ValidationError
from mentorship.services.risk import RiskLevel, RiskSettings, assess_pilots
from tests.helpers import (
    PASSWORD,
    count_statements,
    make_cohort,
    make_district,
    make_library,
    make_pairing,
    make_participation,
    make_pilot,
    make_user,
    unsafe_markup,
)

START = date(2025, 9, 1)
TODAY = date(2026, 11, 25)


def _pilot(districts: int = 1, start: date = START, library=None) -> Participation:
    return make_pilot(library, districts, start)


def _by_key(participation: Participation) -> dict[str, list[Milestone]]:
    found: dict[str, list[Milestone]] = {}
    for milestone in service.milestones_of(participation.id):
        found.setdefault(milestone.step_key, []).append(milestone)
    return found


def _sign_letter(pilot: Participation, signed_on: date) -> None:
    """Everyone the letter needs signs it on `signed_on`."""
    letter = partnerships.letter_for(pilot)
    signers = [("chief elected official", None), ("library director", None)] + [
        ("superintendent", p.id) for p in partnerships.partnerships_of(pilot.library_id)
    ]
    for role, partnership_id in signers:
        partnerships.add_signer(
            letter,
            {"role": role, "name": role, "signed_on": signed_on, "partnership_id": partnership_id},
            TODAY,
            None,
        )


# Making milestones from the plan -----------------------------------------------------


def test_a_new_pilot_gets_the_plan_with_due_dates_from_its_start(ctx):
    pilot = _pilot(districts=2)
    plan = service.current_template()
    assert plan.version == 1 and len(plan.steps) == 10
    by_key = _by_key(pilot)
    assert by_key["kickoff"][0].due_on == date(2025, 10, 1)  # month 1
    assert by_key["commitment_letter"][0].due_on == date(2026, 1, 1)  # month 4
    assert by_key["sustainability"][0].due_on == date(2027, 6, 1)  # month 21
    # Per-partnership steps come once per district; per-library steps once.
    assert len(by_key["data_agreement"]) == 2 and len(by_key["team_goals"]) == 1
    assert len(service.milestones_of(pilot.id)) == 5 + 5 * 2  # 5 per pilot, 5 per district
    assert pilot.template_id == plan.id
    assert service.start_timeline(pilot) == []  # calling again duplicates nothing


def test_a_district_added_later_gets_its_own_steps_spaced_from_first_contact(ctx):
    pilot = _pilot(districts=1)
    later = partnerships.create_partnership(
        pilot.library, {"district_id": make_district().id}, date(2026, 9, 10), actor=None
    )
    db.session.commit()
    steps = [m for m in service.milestones_of(pilot.id) if m.partnership_id == later.id]
    assert {m.step_key: m.due_on for m in steps} == {
        "first_meeting": date(2026, 9, 10),  # month 2 of the plan is its first month
        "data_agreement": date(2027, 3, 10),
        "technical_plan": date(2027, 5, 10),
        "first_launch": date(2027, 7, 10),
        "rollout": date(2027, 9, 1),  # capped at the pilot's 24-month limit
    }


def test_mentors_get_no_milestones(ctx):
    mentor = add_participation(
        make_cohort(),
        {"library_id": make_library().id, "role": "mentor", "start_date": START},
        None,
    )
    db.session.commit()
    assert service.milestones_of(mentor.id) == []


# The plan's versions ---------------------------------------------------------------------


def _edit_plan(actor=None):
    """Draft: the letter moves to month 5, the launch step goes, a new step comes."""
    draft = service.draft_template(actor)
    letter = next(s for s in draft.steps if s.key == "commitment_letter")
    service.update_step(
        letter, {"title": "Commitment letter signed by all three", "month_offset": 5}, actor
    )
    service.remove_step(next(s for s in draft.steps if s.key == "first_launch"), actor)
    service.add_step(
        draft,
        {
            "title": "Parent notice sent",
            "description": "",
            "month_offset": 11,
            "scope": StepScope.LIBRARY,
            "toolkit_page": "launching",
        },
        actor,
    )
    return draft


def test_publishing_for_new_pilots_only_leaves_running_pilots_alone(ctx):
    running = _pilot()
    before = {m.id: (m.title, m.due_on) for m in service.milestones_of(running.id)}
    draft = _edit_plan()
    change = service.plan_change(draft)
    assert [s.key for s in change.added] == ["parent_notice_sent"]
    assert [(s.key, fields) for s, fields in change.changed] == [
        ("commitment_letter", ["title", "month_offset"])
    ]
    assert [s.key for s in change.removed] == ["first_launch"]
    assert change.pilots_touched == 1 and change.milestones_touched == 2
    service.publish(draft, apply_to_running=False, actor=None, today=TODAY)
    db.session.commit()

    assert {m.id: (m.title, m.due_on) for m in service.milestones_of(running.id)} == before
    assert db.session.get(Participation, running.id).template_id != draft.id
    newcomer = _pilot(start=date(2026, 9, 1))
    keys = set(_by_key(newcomer))
    assert "parent_notice_sent" in keys and "first_launch" not in keys
    assert _by_key(newcomer)["commitment_letter"][0].due_on == date(2027, 2, 1)


def test_publishing_to_running_pilots_changes_only_steps_not_done(ctx):
    done_pilot, open_pilot = _pilot(), _pilot()
    _sign_letter(done_pilot, date(2025, 12, 20))  # its milestone follows the letter
    db.session.commit()
    service.publish(_edit_plan(), apply_to_running=True, actor=None, today=TODAY)
    db.session.commit()

    kept = _by_key(done_pilot)["commitment_letter"][0]
    assert (kept.title, kept.due_on, kept.status) == (
        "Commitment letter signed",
        date(2026, 1, 1),
        MilestoneStatus.DONE,
    )
    moved = _by_key(open_pilot)["commitment_letter"][0]
    assert (moved.title, moved.due_on) == (
        "Commitment letter signed by all three",
        date(2026, 2, 1),
    )
    dropped = _by_key(open_pilot)["first_launch"][0]
    assert dropped.status == MilestoneStatus.NOT_APPLICABLE
    assert "Removed from the plan in version 2" in dropped.not_applicable_reason
    assert len(_by_key(open_pilot)["parent_notice_sent"]) == 1


# Changing a milestone --------------------------------------------------------------------


def test_done_takes_today_when_no_date_is_given_and_never_a_future_day(ctx):
    milestone = service.milestones_of(_pilot().id)[0]
    with pytest.raises(ValidationError, match="future") as refused:
        service.update_milestone(
            milestone, {"status": "done", "done_on": TODAY + timedelta(days=1)}, 1, None, TODAY
        )
    assert refused.value.field == "done_on"
    service.update_milestone(milestone, {"status": "done", "done_on": None}, 1, None, TODAY)
    assert milestone.done_on == TODAY
    service.update_milestone(milestone, {"status": "in progress"}, milestone.version, None, TODAY)
    assert milestone.done_on is None  # reopened


def test_not_applicable_needs_a_reason(ctx):
    milestone = service.milestones_of(_pilot().id)[0]
    with pytest.raises(ValidationError, match="Say why") as refused:
        service.update_milestone(milestone, {"status": "not applicable"}, 1, None, TODAY)
    assert refused.value.field == "not_applicable_reason"


def test_a_save_based_on_an_old_version_is_refused_and_names_the_other_change(ctx):
    first = make_user("pilot", name="Priya Raman")
    milestone = service.milestones_of(_pilot(library=first.library).id)[0]
    seen = milestone.version
    service.update_milestone(milestone, {"note": "Met the mentor."}, seen, first, TODAY)
    db.session.commit()
    with pytest.raises(Conflict, match="Priya Raman changed it meanwhile") as refused:
        service.update_milestone(milestone, {"note": "My older note"}, seen, None, TODAY)
    assert "Met the mentor." in refused.value.message
    db.session.rollback()
    assert db.session.get(Milestone, milestone.id).note == "Met the mentor."


def test_two_saves_at_the_same_moment_cannot_both_win(ctx):
    milestone = service.milestones_of(_pilot().id)[0]
    seen = milestone.version
    # Another request saves between our read and our write (it bumps the version).
    with db.engine.begin() as other:
        other.execute(
            sa.update(Milestone)
            .where(Milestone.id == milestone.id)
            .values(note="theirs", version=Milestone.version + 1)
        )
    with pytest.raises(Conflict, match="same moment"):
        service.update_milestone(milestone, {"note": "ours"}, seen, None, TODAY)
    assert db.session.get(Milestone, milestone.id).note == "theirs"


# At risk ------------------------------------------------------------------------------


def _mentored(start: date) -> Participation:
    """A pilot with a mentor (and no check-in dates yet), so only the rule under test speaks."""
    pilot = _pilot(start=start)
    make_pairing(pilot)
    return pilot


def _late_by(pilot: Participation, key: str, days: int) -> None:
    """Close every step except `key`, which becomes `days` late; activity is today."""
    for milestone in service.milestones_of(pilot.id):
        if milestone.step_key == key:
            milestone.due_on = TODAY - timedelta(days=days)
        else:
            milestone.status, milestone.done_on = MilestoneStatus.DONE, START
    db.session.add(
        AuditEvent(action="update", object_type="Milestone", library_id=pilot.library_id,
                   at=datetime(2026, 11, 24, tzinfo=UTC), changes={})
    )  # fmt: skip
    db.session.commit()


@pytest.mark.parametrize(
    ("days", "level"),
    [(0, RiskLevel.ON_TRACK), (1, RiskLevel.NEEDS_ATTENTION), (29, RiskLevel.NEEDS_ATTENTION),
     (30, RiskLevel.AT_RISK)],
)  # fmt: skip
def test_a_late_step_needs_attention_then_puts_the_pilot_at_risk(ctx, days, level):
    pilot = _mentored(start=date(2026, 1, 1))
    _late_by(pilot, "data_agreement", days)
    [risk] = assess_pilots(TODAY, RiskSettings(late_risk_days=30))
    assert risk.level == level
    if days:
        assert risk.reasons == [
            f"Data-sharing agreement / MOU approved ({pilot.library_id and _district(pilot)}): "
            f"{days} day{'s' if days != 1 else ''} late"
        ]


def _district(pilot: Participation) -> str:
    return partnerships.partnerships_of(pilot.library_id)[0].district.name


@pytest.mark.parametrize(
    ("quiet_days", "level"),
    [(59, RiskLevel.ON_TRACK), (60, RiskLevel.NEEDS_ATTENTION), (89, RiskLevel.NEEDS_ATTENTION),
     (90, RiskLevel.AT_RISK)],
)  # fmt: skip
def test_no_activity_for_too_long(ctx, quiet_days, level):
    pilot = _mentored(start=date(2026, 1, 1))
    for milestone in service.milestones_of(pilot.id):
        milestone.due_on = TODAY + timedelta(days=30)  # nothing late
    db.session.execute(sa.delete(AuditEvent))
    db.session.add(
        AuditEvent(action="update", object_type="Milestone", library_id=pilot.library_id,
                   at=datetime.combine(TODAY - timedelta(days=quiet_days), datetime.min.time(), UTC),
                   changes={})
    )  # fmt: skip
    db.session.commit()
    [risk] = assess_pilots(TODAY)
    assert risk.level == level
    if level:
        assert risk.reasons == [f"no activity for {quiet_days} days"]


def test_near_the_outer_bound_with_steps_open_is_at_risk(ctx):
    pilot = _mentored(start=date(2024, 12, 20))  # month 23 on TODAY
    _late_by(pilot, "sustainability", 0)
    milestone = _by_key(pilot)["sustainability"][0]
    milestone.due_on = TODAY + timedelta(days=10)
    db.session.commit()
    [risk] = assess_pilots(TODAY)
    assert risk.level == RiskLevel.AT_RISK
    assert risk.reasons == ["month 23 of 24 with 1 step open"]


def test_the_list_is_sorted_by_severity_and_filtered(ctx):
    calm, worried = _mentored(start=date(2026, 1, 1)), _mentored(start=date(2026, 1, 1))
    _late_by(calm, "data_agreement", 0)
    _late_by(worried, "data_agreement", 47)
    assert [r.participation.id for r in assess_pilots(TODAY)] == [worried.id, calm.id]
    assert [r.participation.id for r in assess_pilots(TODAY, cohort_id=calm.cohort_id)] == [calm.id]
    assert assess_pilots(TODAY, cooperative_system="Serra") == []


# Pages, access and query counts --------------------------------------------------------


def _people(app):
    with app.app_context():
        hayward = make_library("Hayward Public Library")
        yolo = make_library("Yolo County Library")
        berkeley = make_library("Berkeley Public Library")
        pilot = _pilot(library=hayward)
        other_pilot = _pilot(library=yolo)
        mentor = make_participation(berkeley, pilot.cohort, "mentor")
        make_pairing(pilot, mentor=mentor)
        make_user("pilot", hayward, email="priya@hayward.example", name="Priya Raman")
        make_user("pilot", hayward, email="sam@hayward.example", name="Sam Ortiz")
        make_user("pilot", yolo, email="luis@yolo.example")
        make_user("mentor", berkeley, email="grace@berkeley.example", name="Grace Lin")
        make_user("mentor", make_library(), email="other-mentor@t.example")
        make_user("staff", email="staff@t.example")
        make_user("state", email="state@t.example")
        first = service.milestones_of(pilot.id)[0]
        return {"pilot": pilot.id, "other": other_pilot.id, "milestone": first.id}


def _version(client, milestone_id) -> str:
    page = client.get(f"/milestones/{milestone_id}").get_data(as_text=True)
    return re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)


def test_two_librarians_edit_the_same_milestone_and_the_second_is_told(client, app):
    ids = _people(app)
    url = f"/milestones/{ids['milestone']}"
    client.login("priya@hayward.example", PASSWORD)
    seen = _version(client, ids["milestone"])
    other = type(client)(app.test_client())
    other.login("sam@hayward.example", PASSWORD)
    assert (
        other.submit(url, {"version": seen, "status": "in progress", "note": "Sam's"}).status_code
        == 302
    )

    late = client.submit(url, {"version": seen, "status": "done", "note": "Priya's note"})
    page = late.get_data(as_text=True)
    assert late.status_code == 409
    assert "Sam Ortiz changed it meanwhile" in page and "Priya&#39;s note" in page
    with app.app_context():
        assert db.session.get(Milestone, ids["milestone"]).note == "Sam's"
    # Having seen the other change, saving again is a knowing choice and works.
    fresh = re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)
    assert (
        client.submit(url, {"version": fresh, "status": "done", "note": "Both"}).status_code == 302
    )


def test_a_pilot_marks_a_step_done_in_one_form_and_the_mentor_comments(client, app):
    ids = _people(app)
    client.login("priya@hayward.example", PASSWORD)
    timeline = client.get(f"/participations/{ids['pilot']}/timeline").get_data(as_text=True)
    assert "Kick-off with the mentor" in timeline and "Mark done" in timeline
    done = client.submit(
        f"/milestones/{ids['milestone']}/done", {"version": "1", "done_on": "2025-09-20"}
    )
    assert done.status_code == 302
    with app.app_context():
        milestone = db.session.get(Milestone, ids["milestone"])
        assert (milestone.status, milestone.done_on) == (MilestoneStatus.DONE, date(2025, 9, 20))
    client.submit("/logout")

    client.login("grace@berkeley.example", PASSWORD)
    assert "Progress of Hayward Public Library" in client.get("/").get_data(as_text=True)
    url = f"/milestones/{ids['milestone']}"
    assert 'name="status"' not in client.get(url).get_data(as_text=True)  # reads, no form
    assert client.submit(url, {"version": "2", "status": "not started"}).status_code == 404
    client.submit(f"{url}/comments", {"body": "Great start — **well done**!"})
    client.submit("/logout")

    client.login("priya@hayward.example", PASSWORD)
    page = client.get(url).get_data(as_text=True)
    assert "<strong>well done</strong>" in page and "Grace Lin" in page


XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click](javascript:alert(1))",
    '<iframe src="https://evil.example"></iframe>',
    '<a href="javascript:alert(1)" onclick="alert(1)">x</a>',
    '<svg onload="alert(1)"></svg>',
]


def test_comments_never_carry_scripts(client, app):
    ids = _people(app)
    client.login("grace@berkeley.example", PASSWORD)
    for payload in XSS:
        client.submit(f"/milestones/{ids['milestone']}/comments", {"body": payload})
    page = client.get(f"/milestones/{ids['milestone']}").get_data(as_text=True)
    comments = page[page.index('id="comments"') : page.index("Recent changes")]
    assert comments.count('class="comment"') == len(XSS)
    # Nothing that runs: shown as text at most (`&lt;img onerror=…&gt;`), never as markup.
    for part in comments.split('class="comment-body">')[1:]:
        assert unsafe_markup(part.split("</div>", 1)[0]) == []


@pytest.mark.parametrize(
    ("email", "timeline", "edit", "at_risk"),
    [
        ("luis@yolo.example", 404, 404, 403),  # another pilot: not by URL, not by form
        ("other-mentor@t.example", 404, 404, 403),
        ("grace@berkeley.example", 200, 404, 403),  # the paired mentor reads
        ("state@t.example", 403, 403, 403),
        ("staff@t.example", 200, 302, 200),
    ],
)
def test_who_reads_and_changes_a_pilots_milestones(client, app, email, timeline, edit, at_risk):
    ids = _people(app)
    client.login(email, PASSWORD)
    assert client.get(f"/participations/{ids['pilot']}/timeline").status_code == timeline
    assert client.get(f"/milestones/{ids['milestone']}").status_code == timeline
    response = client.submit(
        f"/milestones/{ids['milestone']}", {"version": "1", "status": "in progress"}
    )
    assert response.status_code == edit
    # A stale version with a date (the date is asked): refused and sent back, or not found.
    done = {"version": "1", "done_on": "2025-09-20"}
    assert client.submit(f"/milestones/{ids['milestone']}/done", done).status_code in (
        edit,
        302,
    )
    with app.app_context():
        status = db.session.get(Milestone, ids["milestone"]).status
    assert (status != MilestoneStatus.NOT_STARTED) == (edit == 302)
    assert client.get("/at-risk").status_code == at_risk


def test_home_and_at_risk_run_the_same_queries_whatever_the_number_of_milestones(client, app):
    ids = _people(app)
    client.login("priya@hayward.example", PASSWORD)
    staff = type(client)(app.test_client())
    staff.login("staff@t.example", PASSWORD)
    with count_statements(app) as few:
        assert client.get("/").status_code == 200
    with count_statements(app) as few_risk:
        assert staff.get("/at-risk").status_code == 200
    with app.app_context():  # five more districts (20 more milestones) and three more pilots
        pilot = db.session.get(Participation, ids["pilot"])
        for _ in range(5):
            partnerships.create_partnership(
                pilot.library, {"district_id": make_district().id}, START, actor=None
            )
        for _ in range(3):
            _pilot(districts=3)
        db.session.commit()
        assert len(service.milestones_of(pilot.id)) == 5 + 5 * 6
    with count_statements(app) as many:
        client.get("/")
    with count_statements(app) as many_risk:
        staff.get("/at-risk")
    assert len(many) == len(few)
    assert len(many_risk) == len(few_risk)


def test_staff_see_one_librarys_activity(client, app):
    ids = _people(app)
    client.login("priya@hayward.example", PASSWORD)
    client.submit(f"/milestones/{ids['milestone']}", {"version": "1", "note": "Kick-off held"})
    client.submit("/logout")
    client.login("staff@t.example", PASSWORD)
    with app.app_context():
        hayward, yolo = (
            db.session.get(Participation, ids[k]).library_id for k in ("pilot", "other")
        )
    page = client.get(f"/audit/?library={hayward}").get_data(as_text=True)
    assert "Activity of Hayward Public Library" in page and "Kick-off held" in page
    assert "Kick-off held" not in client.get(f"/audit/?library={yolo}").get_data(as_text=True)


def test_staff_change_the_plan_see_who_it_reaches_and_publish(client, app):
    ids = _people(app)
    client.login("staff@t.example", PASSWORD)
    plan = client.get("/plan").get_data(as_text=True)
    assert "Current plan: version 1" in plan and "Kick-off with the mentor" in plan
    with app.app_context():
        step_id = db.session.scalar(
            sa.text("SELECT id FROM template_steps WHERE key = 'commitment_letter'")
        )
    editing = client.get(f"/plan/steps/{step_id}/edit")  # a published step starts the draft
    assert editing.status_code == 302
    draft_step = editing.headers["Location"]
    bad = client.submit(draft_step, {"title": "", "month_offset": "30", "scope": "library"})
    assert "Name the step." in bad.get_data(as_text=True)
    assert "Enter a month from 0 to 24." in bad.get_data(as_text=True)
    client.submit(
        draft_step,
        {"title": "Commitment letter signed", "month_offset": "5", "scope": "library"},
    )
    preview = client.get("/plan/draft/publish").get_data(as_text=True)
    assert "Changed: Commitment letter signed (month offset)" in preview
    assert "2 running pilots" in preview and "2 of their open milestones change" in preview
    assert "Choose who gets" in client.submit("/plan/draft/publish", {}).get_data(as_text=True)
    client.submit("/plan/draft/publish", {"apply_to_running": "yes"})
    with app.app_context():
        letter = db.session.scalar(
            sa.select(Milestone).where(
                Milestone.participation_id == ids["pilot"],
                Milestone.step_key == "commitment_letter",
            )
        )
        assert letter.due_on == date(2026, 2, 1)
    assert "Current plan: version 2" in client.get("/plan").get_data(as_text=True)
