"""Check-ins: the cadence and next date, logging meetings and action items, who may see
and log them, overdue check-ins on the home pages and on the at-risk list."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import (
    ActionItem,
    AuditEvent,
    Cadence,
    CheckIn,
    Pairing,
    PairingStatus,
)
from mentorship.services import checkins as service
from mentorship.services import pairing as pairing_service
from mentorship.services.checkins import ActionItemDraft
from mentorship.services.errors import DomainError
from mentorship.services.risk import RiskLevel, RiskSettings, assess_pilots
from mentorship.templating import local_today
from tests.conftest import row_count
from tests.helpers import (
    PASSWORD,
    make_cohort,
    make_library,
    make_participation,
    make_user,
)

START = date(2026, 1, 5)
TODAY = date(2026, 11, 25)


def _pair(start: date = START, pilot_name: str | None = None, mentor_name: str | None = None):
    """A pilot and a mentor library, paired and published on `start`."""
    pilot_library, mentor_library = make_library(pilot_name), make_library(mentor_name)
    cohort = make_cohort(start_date=start, end_date=start + timedelta(days=730))
    pilot = make_participation(pilot_library, cohort)
    mentor = make_participation(mentor_library, cohort, "mentor")
    pairing_service.propose(pilot, mentor, actor=None)
    [pairing] = pairing_service.publish(cohort.id, start, actor=None)
    db.session.commit()
    return pairing


def _log(pairing: Pairing, held_on: date, *items: ActionItemDraft, today: date = TODAY):
    check_in = service.log_check_in(
        pairing, {"held_on": held_on, "mode": "video", "notes": "Talked."}, items, None, today
    )
    db.session.commit()
    return check_in


# The cadence and the next date ---------------------------------------------------------


@pytest.mark.parametrize(
    ("cadence", "expected"),
    [
        (Cadence.WEEKLY, date(2026, 2, 7)),
        (Cadence.EVERY_TWO_WEEKS, date(2026, 2, 14)),
        (Cadence.MONTHLY, date(2026, 2, 28)),  # January 31 + a month: February's last day
        (Cadence.EVERY_TWO_MONTHS, date(2026, 3, 31)),
        (Cadence.QUARTERLY, date(2026, 4, 30)),
    ],
)
def test_the_next_date_is_one_cadence_later(cadence, expected):
    assert service.next_date(date(2026, 1, 31), cadence) == expected


def test_publishing_a_pairing_plans_its_first_check_in(ctx):
    pairing = _pair()
    assert pairing.cadence == Cadence.MONTHLY
    assert pairing.next_checkin_on == date(2026, 2, 5)


def test_logging_a_check_in_moves_the_next_date_and_stores_its_action_items(ctx):
    pairing = _pair()
    owner = pairing.pilot.library_id
    check_in = _log(
        pairing,
        date(2026, 11, 20),
        ActionItemDraft("  Send the MOU draft  ", owner, date(2026, 12, 1), row=1),
        ActionItemDraft(row=2),  # an empty row is ignored
    )
    assert pairing.next_checkin_on == date(2026, 12, 20)
    [item] = check_in.action_items
    assert (item.text, item.owner_library_id, item.due_on, item.done) == (
        "Send the MOU draft",
        owner,
        date(2026, 12, 1),
        False,
    )
    logged = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "log check-in"))
    [event] = logged.all()
    assert event.library_id == pairing.pilot.library_id  # the pilot's activity
    assert event.changes["action_items"] == [None, ["Send the MOU draft"]]


def test_an_older_meeting_logged_later_does_not_move_the_date_back(ctx):
    pairing = _pair()
    _log(pairing, date(2026, 11, 20))
    _log(pairing, date(2026, 10, 1))
    assert pairing.next_checkin_on == date(2026, 12, 20)
    assert [c.held_on for c in service.check_ins_of(pairing)] == [
        date(2026, 11, 20),
        date(2026, 10, 1),
    ]


def test_a_new_cadence_counts_from_the_last_meeting_or_from_the_start(ctx):
    pairing = _pair()
    service.set_cadence(pairing, Cadence.WEEKLY, actor=None)
    assert pairing.next_checkin_on == START + timedelta(days=7)
    _log(pairing, date(2026, 11, 2))
    assert pairing.next_checkin_on == date(2026, 11, 9)
    service.set_cadence(pairing, Cadence.QUARTERLY, actor=None)
    db.session.commit()
    assert (pairing.cadence, pairing.next_checkin_on) == (Cadence.QUARTERLY, date(2027, 2, 2))
    changes = db.session.scalars(
        sa.select(AuditEvent.changes).where(AuditEvent.object_type == "Pairing")
    ).all()
    assert {
        "cadence": ["weekly", "quarterly"],
        "next_checkin_on": ["2026-11-09", "2027-02-02"],
    } in (changes)


def test_an_action_item_is_ticked_done_and_undone(ctx):
    pairing = _pair()
    check_in = _log(pairing, TODAY, ActionItemDraft("Call the district", pairing.pilot.library_id))
    [item] = check_in.action_items
    service.set_action_item_done(item, True, actor=None)
    service.set_action_item_done(item, True, actor=None)  # no change, no audit row
    assert item.done
    service.set_action_item_done(item, False, actor=None)
    db.session.commit()
    assert not item.done
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.object_type == "ActionItem").order_by(AuditEvent.id)
    )
    assert [e.changes for e in events] == [{"done": [False, True]}, {"done": [True, False]}]


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("future date", "held_on"),
        ("before the pairing", "held_on"),
        ("no mode", "mode"),
        ("owner but no text", "item2_text"),
        ("text too long", "item1_text"),
        ("text but no owner", "item3_owner"),
        ("owner from a third library", "item1_owner"),
        ("ended pairing", None),
    ],
)
def test_bad_input_stores_nothing_and_names_the_field(ctx, case, field):
    pairing = _pair()
    pilot = pairing.pilot.library_id
    values = {"held_on": TODAY, "mode": "call"}
    items = [ActionItemDraft("Fine", pilot, row=1)]
    if case == "future date":
        values["held_on"] = TODAY + timedelta(days=1)
    elif case == "before the pairing":
        values["held_on"] = START - timedelta(days=1)
    elif case == "no mode":
        values["mode"] = "carrier pigeon"
    elif case == "owner but no text":
        items.append(ActionItemDraft("  ", pilot, row=2))
    elif case == "text too long":
        items = [ActionItemDraft("x" * 501, pilot, row=1)]
    elif case == "text but no owner":
        items.append(ActionItemDraft("Who does this?", None, row=3))
    elif case == "owner from a third library":
        items = [ActionItemDraft("Not theirs", make_library().id, row=1)]
    elif case == "ended pairing":
        pairing_service.end(pairing, TODAY, actor=None)
        db.session.commit()
    before = pairing.next_checkin_on
    events = row_count(AuditEvent)
    with pytest.raises(DomainError) as refused:
        service.log_check_in(pairing, values, items, None, TODAY)
    db.session.rollback()
    assert refused.value.field == field
    assert row_count(CheckIn) == row_count(ActionItem) == 0
    assert row_count(AuditEvent) == events
    assert db.session.get(Pairing, pairing.id).next_checkin_on == before


@pytest.mark.parametrize(
    ("next_on", "overdue", "days"),
    [
        (TODAY + timedelta(days=3), False, 0),
        (TODAY, False, 0),
        (TODAY - timedelta(days=1), True, 1),
    ],
)
def test_a_check_in_is_overdue_the_day_after_it_was_due(ctx, next_on, overdue, days):
    pairing = _pair()
    pairing.next_checkin_on = next_on
    shown = service.next_check_in(pairing, TODAY)
    assert (shown.on, shown.overdue, shown.days_overdue) == (next_on, overdue, days)
    assert [p.id for p in service.overdue_pairings(TODAY)] == ([pairing.id] if overdue else [])


def test_last_check_in_dates_of_many_pairings_in_one_query(ctx):
    first, second, never = _pair(), _pair(), _pair()
    _log(first, date(2026, 3, 1))
    _log(first, date(2026, 5, 1))
    _log(second, date(2026, 4, 1))
    assert service.last_check_in_dates([first.id, second.id, never.id]) == {
        first.id: date(2026, 5, 1),
        second.id: date(2026, 4, 1),
    }
    assert service.last_check_in_dates([]) == {}


# At risk --------------------------------------------------------------------------------

# Only the check-in rules: no steps, no "quiet" reason.
CHECKIN_ONLY = RiskSettings(quiet_attention_days=10_000, quiet_risk_days=10_000)


@pytest.mark.parametrize(
    ("days", "level"),
    [(0, RiskLevel.ON_TRACK), (1, RiskLevel.NEEDS_ATTENTION), (29, RiskLevel.NEEDS_ATTENTION),
     (30, RiskLevel.AT_RISK)],
)  # fmt: skip
def test_an_overdue_check_in_needs_attention_then_puts_the_pilot_at_risk(ctx, days, level):
    pairing = _pair(start=TODAY - timedelta(days=40))
    _log(pairing, TODAY - timedelta(days=10))
    pairing.next_checkin_on = TODAY - timedelta(days=days)
    db.session.commit()
    [risk] = assess_pilots(TODAY, CHECKIN_ONLY)
    assert risk.level == level
    assert risk.reasons == (
        [f"check-in overdue by {days} day{'s' if days != 1 else ''}"] if days else []
    )


@pytest.mark.parametrize(
    ("days", "level"),
    [(44, RiskLevel.ON_TRACK), (45, RiskLevel.NEEDS_ATTENTION), (59, RiskLevel.NEEDS_ATTENTION),
     (60, RiskLevel.AT_RISK)],
)  # fmt: skip
def test_no_check_in_for_too_long(ctx, days, level):
    pairing = _pair(start=TODAY - timedelta(days=200))
    _log(pairing, TODAY - timedelta(days=days))
    pairing.next_checkin_on = TODAY + timedelta(days=5)  # only the gap counts here
    db.session.commit()
    [risk] = assess_pilots(TODAY, CHECKIN_ONLY)
    assert risk.level == level
    assert risk.reasons == ([f"no check-in for {days} days"] if level else [])


def test_a_pairing_that_never_met_counts_from_its_start(ctx):
    pairing = _pair(start=TODAY - timedelta(days=60))
    pairing.next_checkin_on = TODAY + timedelta(days=1)
    db.session.commit()
    [risk] = assess_pilots(TODAY, CHECKIN_ONLY)
    assert (risk.level, risk.reasons) == (RiskLevel.AT_RISK, ["no check-in for 60 days"])


def test_the_thresholds_are_settings_and_pilots_without_a_mentor_get_no_check_in_reason(ctx):
    settings = RiskSettings.from_config(
        {
            "RISK_CHECKIN_OVERDUE_RISK_DAYS": "5",
            "RISK_NO_CHECKIN_ATTENTION_DAYS": "100",
            "RISK_NO_CHECKIN_RISK_DAYS": "200",
            "RISK_QUIET_ATTENTION_DAYS": "10000",
            "RISK_QUIET_RISK_DAYS": "10000",
        }
    )
    paired = _pair(start=TODAY - timedelta(days=150))
    paired.next_checkin_on = TODAY - timedelta(days=5)
    ended = _pair(start=TODAY - timedelta(days=150))
    pairing_service.end(ended, TODAY, actor=None)
    never = make_participation(make_library(), make_cohort(start_date=TODAY - timedelta(days=150)))
    db.session.commit()
    reasons = {r.participation.id: (r.level, r.reasons) for r in assess_pilots(TODAY, settings)}
    assert reasons.pop(paired.pilot_participation_id) == (
        RiskLevel.AT_RISK,
        ["check-in overdue by 5 days", "no check-in for 150 days"],
    )
    # No check-in reason without a mentor; having no mentor is its own reason (issue 15).
    start = never.start_date
    assert reasons.pop(never.id) == (
        RiskLevel.AT_RISK,
        [f"no mentor since {start:%b} {start.day}, {start.year}"],
    )
    assert list(reasons.values()) == [(RiskLevel.ON_TRACK, [])]  # its pairing ended today


# Pages ----------------------------------------------------------------------------------


@pytest.fixture
def people(app):
    """Hayward (pilot) mentored by Berkeley, plus people who must not see their check-ins."""
    with app.app_context():
        pairing = _pair(
            start=local_today() - timedelta(days=20),
            pilot_name="Hayward Public Library",
            mentor_name="Berkeley Public Library",
        )
        hayward, berkeley = pairing.pilot.library, pairing.mentor.library
        other = _pair()
        make_user("pilot", hayward, email="priya@hayward.example", name="Priya Raman")
        make_user("mentor", berkeley, email="grace@berkeley.example", name="Grace Lin")
        make_user("pilot", other.pilot.library, email="luis@yolo.example")
        make_user("mentor", other.mentor.library, email="other-mentor@t.example")
        make_user("staff", email="staff@t.example")
        make_user("state", email="state@t.example")
        return {
            "pairing": pairing.id,
            "hayward": hayward.id,
            "berkeley": berkeley.id,
            "third": make_library().id,
            "today": local_today(),
        }


def _form(people, **changes) -> dict:
    return {
        "held_on": people["today"].isoformat(),
        "mode": "visit",
        "attendees": "Priya Raman, Grace Lin",
        "notes": "Planned the first school visit.",
        "item1_text": "Send the MOU draft",
        "item1_owner": str(people["hayward"]),
        "item1_due": (people["today"] + timedelta(days=14)).isoformat(),
        **changes,
    }


@pytest.mark.parametrize(
    ("email", "view", "log"),
    [
        ("priya@hayward.example", 200, 302),
        ("grace@berkeley.example", 200, 302),  # the paired mentor logs too
        ("luis@yolo.example", 404, 404),  # another pilot
        ("other-mentor@t.example", 404, 404),  # a mentor of someone else
        ("state@t.example", 403, 403),
        ("staff@t.example", 200, 302),
    ],
)
def test_who_sees_and_logs_a_pairings_check_ins(client, app, people, email, view, log):
    client.login(email, PASSWORD)
    url = f"/pairings/{people['pairing']}/check-ins"
    assert client.get(url).status_code == view
    assert client.get(url + "?format=csv").status_code == view
    assert client.submit(url, _form(people)).status_code == log
    cadence = client.submit(f"/pairings/{people['pairing']}/cadence", {"cadence": "weekly"})
    assert cadence.status_code == log
    with app.app_context():
        assert row_count(CheckIn) == (1 if log == 302 else 0)
        pairing = db.session.get(Pairing, people["pairing"])
        assert (pairing.cadence == Cadence.WEEKLY) == (log == 302)


def test_the_pilot_logs_a_check_in_and_the_mentor_sees_it_and_ticks_the_action(client, app, people):
    client.login("priya@hayward.example", PASSWORD)
    url = f"/pairings/{people['pairing']}/check-ins"
    page = client.get(url).get_data(as_text=True)
    assert "Next check-in" in page
    assert re.search(r'<input checked[^>]*value="video"', page)  # the usual way to meet
    response = client.submit(url, _form(people), follow_redirects=True)
    page = response.get_data(as_text=True)
    next_on = service.next_date(people["today"], Cadence.MONTHLY)
    assert f"Next check-in: {next_on:%b %-d, %Y}" in page
    assert "Send the MOU draft" in page and "Planned the first school visit." in page
    client.submit("/logout")

    client.login("grace@berkeley.example", PASSWORD)
    assert f"Next check-in: {next_on:%b %-d, %Y}" in client.get("/").get_data(as_text=True)
    with app.app_context():
        item = db.session.scalar(sa.select(ActionItem))
        logged_by = db.session.scalar(sa.select(CheckIn)).logged_by.name
    assert logged_by == "Priya Raman"
    assert client.submit(f"/action-items/{item.id}/done", {"done": "1"}).status_code == 302
    with app.app_context():
        assert db.session.get(ActionItem, item.id).done
    csv = client.get(url + "?format=csv").get_data(as_text=True)
    assert (
        csv.splitlines()[0]
        == "\ufeffDay,How,Who attended,Notes,Logged by,Action items,Figures as of"
    )
    assert "Send the MOU draft (Hayward Public Library, due" in csv and "done)" in csv


def test_someone_elses_action_item_cannot_be_ticked(client, app, people):
    with app.app_context():
        pairing = db.session.get(Pairing, people["pairing"])
        [item] = _log(
            pairing,
            people["today"],
            ActionItemDraft("Ours", people["hayward"]),
            today=people["today"],
        ).action_items
    client.login("luis@yolo.example", PASSWORD)
    assert client.submit(f"/action-items/{item.id}/done", {"done": "1"}).status_code == 404
    client.submit("/logout")
    client.login("state@t.example", PASSWORD)
    assert client.submit(f"/action-items/{item.id}/done", {"done": "1"}).status_code == 403
    with app.app_context():
        assert not db.session.get(ActionItem, item.id).done


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"held_on": "2999-01-01"}, "held_on", "cannot be in the future"),
        ({"item2_owner": "{hayward}"}, "item2_text", "Describe the action"),
        ({"item1_owner": "{third}"}, "item1_owner", "Choose the pilot or the mentor library"),
        ({"item3_text": "No owner"}, "item3_owner", "Choose the pilot or the mentor library"),
        ({"item1_due": "not a date"}, "item1_due", "Not a valid date"),
        ({"mode": ""}, "mode", "Choose call, video or visit"),
    ],
)
def test_bad_input_is_shown_beside_its_field_keeps_what_was_typed_and_stores_nothing(
    client, app, people, changes, field, message
):
    client.login("priya@hayward.example", PASSWORD)
    data = _form(people, **{k: v.format(**people) for k, v in changes.items()})
    response = client.submit(f"/pairings/{people['pairing']}/check-ins", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    error = page[page.index(f'id="{field}-error"') :]
    assert message in error[: error.index("</p>")]
    assert 'value="Priya Raman, Grace Lin"' in page and "Planned the first school visit." in page
    with app.app_context():
        assert row_count(CheckIn) == row_count(ActionItem) == 0


def test_posts_without_the_csrf_token_are_refused(client, app, people):
    client.login("priya@hayward.example", PASSWORD)
    url = f"/pairings/{people['pairing']}/check-ins"
    assert client.client.post(url, data=_form(people)).status_code == 400
    cadence = client.client.post(
        f"/pairings/{people['pairing']}/cadence", data={"cadence": "weekly"}
    )
    assert cadence.status_code == 400
    with app.app_context():
        assert row_count(CheckIn) == 0
        assert db.session.get(Pairing, people["pairing"]).cadence == Cadence.MONTHLY


def test_an_overdue_check_in_shows_on_both_home_pages(client, app, people):
    with app.app_context():
        pairing = db.session.get(Pairing, people["pairing"])
        pairing.next_checkin_on = local_today() - timedelta(days=10)
        db.session.commit()
    for email in ("priya@hayward.example", "grace@berkeley.example"):
        client.login(email, PASSWORD)
        page = client.get("/").get_data(as_text=True)
        assert "Check-in overdue by 10 days" in page
        assert f'href="/pairings/{people["pairing"]}/check-ins">Log a check-in' in page
        client.submit("/logout")


def test_an_ended_pairing_keeps_its_history_but_takes_no_new_check_ins(client, app, people):
    with app.app_context():
        pairing = db.session.get(Pairing, people["pairing"])
        _log(pairing, people["today"], today=people["today"])
        pairing_service.end(pairing, local_today(), actor=None)
        db.session.commit()
        assert pairing.status == PairingStatus.ENDED
    client.login("priya@hayward.example", PASSWORD)
    url = f"/pairings/{people['pairing']}/check-ins"
    page = client.get(url).get_data(as_text=True)
    assert "This pairing ended" in page and "Log check-in" not in page
    response = client.submit(url, _form(people), follow_redirects=True)
    assert "active pairings only" in response.get_data(as_text=True)
    with app.app_context():
        assert row_count(CheckIn) == 1
