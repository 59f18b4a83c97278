"""The private calendar (ICS) feed: what each person's feed holds, subscribing, resetting."""

from __future__ import annotations

import hashlib
import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from mentorship.extensions import db
from mentorship.models import (
    AuditEvent,
    Milestone,
    MilestoneStatus,
    Pairing,
    PairingStatus,
    Participation,
    User,
)
from mentorship.services import calendar as service
from mentorship.services import milestones, partnerships
from tests.helpers import (
    PASSWORD,
    count_statements,
    make_check_in,
    make_district,
    make_library,
    make_pairing,
    make_participation,
    make_pilot,
    make_user,
)

START = date(2025, 9, 1)
TODAY = date(2026, 11, 25)
NEXT_CHECK_IN = date(2026, 12, 3)
BASE_URL = "https://ssi.example"  # tests/conftest.py
CALENDAR_CLIENT = {"User-Agent": "Google-Calendar-Importer"}


def _pilot(library, districts: int = 1) -> Participation:
    return make_pilot(library, districts, START)


def _world(app) -> dict:
    """Hayward (pilot, 10 milestones: 1 done, 1 not applicable) mentored by Berkeley;
    Yolo, another pilot; a person of each role."""
    with app.app_context():
        hayward = make_library("Hayward Public Library", short_name="Hayward")
        yolo = make_library("Yolo County Library")
        berkeley = make_library("Berkeley Public Library")
        pilot = _pilot(hayward)
        other = _pilot(yolo)
        mentor = make_participation(berkeley, pilot.cohort, "mentor")
        pairing = make_pairing(pilot, mentor=mentor, next_checkin_on=NEXT_CHECK_IN)
        make_check_in(pairing, date(2026, 11, 3), "video")
        own = milestones.milestones_of(pilot.id)
        done, not_applicable = own[0], own[1]
        done.status, done.done_on = MilestoneStatus.DONE, date(2025, 9, 20)
        not_applicable.status = MilestoneStatus.NOT_APPLICABLE
        not_applicable.not_applicable_reason = "Done before the program"
        db.session.commit()
        users = {
            "pilot": make_user("pilot", hayward, email="priya@hayward.example", name="Priya Raman"),
            "mentor": make_user("mentor", berkeley, email="grace@berkeley.example"),
            "other_pilot": make_user("pilot", yolo, email="luis@yolo.example"),
            "staff": make_user("staff", email="staff@t.example"),
            "state": make_user("state", email="state@t.example"),
        }
        return {
            "pilot": pilot.id,
            "other": other.id,
            "pairing": pairing.id,
            "done": done.id,
            "not_applicable": not_applicable.id,
            "users": {role: user.id for role, user in users.items()},
        }


def _feed(app, user_id: int, today: date = TODAY) -> Calendar:
    """The service's feed for a person, parsed back (as a calendar client would)."""
    with app.test_request_context():
        body = service.calendar_for(
            db.session.get(User, user_id),
            today,
            base_url=BASE_URL,
            milestone_path=lambda milestone_id: f"/milestones/{milestone_id}",
        )
    return Calendar.from_ical(body)


def _events(calendar: Calendar) -> dict[str, object]:
    return {str(event["uid"]): event for event in calendar.walk("VEVENT")}


def _open_milestones(app, participation_id: int) -> list[Milestone]:
    with app.app_context():
        return [m for m in milestones.milestones_of(participation_id) if m.is_open]


def _give_token(app, user_id: int) -> str:
    with app.app_context():
        token = service.new_calendar_token(db.session.get(User, user_id))
        db.session.commit()
        return token


def _subscribe(app, url: str):
    """A calendar app's fetch: no cookies, no sign-in, its own User-Agent."""
    return app.test_client().get(url, headers=CALENDAR_CLIENT)


def _feed_url_on_page(page: str) -> str:
    return re.search(r'id="feed-url" value="([^"]+)"', page).group(1)


# What each feed holds ------------------------------------------------------------------


def test_a_pilots_feed_holds_its_open_milestones_and_the_next_check_in(app):
    ids = _world(app)
    calendar = _feed(app, ids["users"]["pilot"])
    assert str(calendar["version"]) == "2.0" and "Student Success Initiative" in calendar["prodid"]
    assert str(calendar["x-wr-calname"]) == "Student Success Initiative — Priya Raman"
    assert str(calendar["x-wr-timezone"]) == "America/Los_Angeles"
    assert calendar["refresh-interval"].dt == timedelta(hours=6)
    assert str(calendar["x-published-ttl"]) == "PT6H"

    events = _events(calendar)
    open_ = _open_milestones(app, ids["pilot"])
    assert len(open_) == 8  # 10 steps, one done, one not applicable
    expected = {f"milestone-{m.id}@ssi.example" for m in open_}
    expected.add(f"checkin-{ids['pairing']}-2026-12-03@ssi.example")
    assert set(events) == expected
    assert f"milestone-{ids['done']}@ssi.example" not in events
    assert f"milestone-{ids['not_applicable']}@ssi.example" not in events

    for milestone in open_:
        event = events[f"milestone-{milestone.id}@ssi.example"]
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        # All-day: a date, not a time, so no time zone can move it to the day before.
        assert not isinstance(start, datetime) and start == milestone.due_on
        assert end == milestone.due_on + timedelta(days=1)
        assert f"Status: {milestone.status.value}" in event["description"]
        assert f"{BASE_URL}/milestones/{milestone.id}" in event["description"]
        assert str(event["url"]) == f"{BASE_URL}/milestones/{milestone.id}"
        district = f" ({milestone.partnership.district.name})" if milestone.partnership_id else ""
        assert str(event["summary"]) == f"Hayward: {milestone.title}{district}"

    team = next(m for m in open_ if m.step_key == "team_goals")  # due Feb 1, 2026
    assert "297 days late" in events[f"milestone-{team.id}@ssi.example"]["description"]
    check_in = events[f"checkin-{ids['pairing']}-2026-12-03@ssi.example"]
    assert str(check_in["summary"]) == "Check-in: Hayward with Berkeley Public Library"
    assert check_in.decoded("dtstart") == NEXT_CHECK_IN
    assert "Last check-in: Nov 3, 2026" in check_in["description"]


def test_a_mentors_feed_holds_its_mentees_milestones_and_no_other_pilots(app):
    ids = _world(app)
    events = _events(_feed(app, ids["users"]["mentor"]))
    hayward = {f"milestone-{m.id}@ssi.example" for m in _open_milestones(app, ids["pilot"])}
    assert set(events) == hayward | {f"checkin-{ids['pairing']}-2026-12-03@ssi.example"}

    yolo = _events(_feed(app, ids["users"]["other_pilot"]))
    assert {str(e["summary"]).split(":")[0] for e in yolo.values()} == {"Yolo County Library"}
    assert not hayward & set(yolo) and not any(uid.startswith("checkin") for uid in yolo)


def test_an_ended_pairing_takes_the_mentees_milestones_and_check_in_away(app):
    ids = _world(app)
    with app.app_context():
        db.session.get(Pairing, ids["pairing"]).status = PairingStatus.ENDED
        db.session.commit()
    assert _events(_feed(app, ids["users"]["mentor"])) == {}
    assert not any(uid.startswith("checkin") for uid in _events(_feed(app, ids["users"]["pilot"])))


@pytest.mark.parametrize("role", ["staff", "state"])
def test_staff_and_state_feeds_are_valid_and_hold_no_events(app, role):
    ids = _world(app)
    calendar = _feed(app, ids["users"][role])
    assert calendar.walk("VEVENT") == []
    assert [str(tz["tzid"]) for tz in calendar.walk("VTIMEZONE")] == ["America/Los_Angeles"]


def test_the_feed_runs_the_same_queries_with_10_or_30_milestones(client, app):
    ids = _world(app)
    url = f"/calendar/{_give_token(app, ids['users']['mentor'])}.ics"
    with count_statements(app) as few:
        assert _subscribe(app, url).status_code == 200
    with app.app_context():  # four more districts: 20 more milestones for the mentee
        pilot = db.session.get(Participation, ids["pilot"])
        for _ in range(4):
            partnerships.create_partnership(
                pilot.library, {"district_id": make_district().id}, START, actor=None
            )
        db.session.commit()
    assert len(_open_milestones(app, ids["pilot"])) == 8 + 20
    with count_statements(app) as many:
        response = _subscribe(app, url)
    assert len(Calendar.from_ical(response.data).walk("VEVENT")) == 28 + 1
    assert len(many) == len(few) <= 4


# Subscribing, over HTTP -------------------------------------------------------------------


def test_a_pilot_creates_a_link_and_a_calendar_app_subscribes_to_it(client, app):
    ids = _world(app)
    client.login("priya@hayward.example", PASSWORD)
    page = client.get("/calendar").get_data(as_text=True)
    assert "Your calendar feed" in page and "Create my calendar link" in page
    assert 'id="feed-url"' not in page
    assert client.submit("/calendar/create").status_code == 302
    page = client.get("/calendar").get_data(as_text=True)
    assert "From URL" in page and "Subscribe from web" in page and "Reset the link" in page
    assert '<label for="feed-url">' in page
    url = _feed_url_on_page(page)
    token = url.removeprefix(f"{BASE_URL}/calendar/").removesuffix(".ics")
    assert len(token) >= 40
    with app.app_context():  # only its digest is stored, and the address is shown once
        stored = db.session.get(User, ids["users"]["pilot"]).calendar_token
    assert stored == hashlib.sha256(token.encode()).hexdigest() and token not in stored
    again = client.get("/calendar").get_data(as_text=True)
    assert token not in again and "Reset the link" in again

    first, second = (_subscribe(app, url.removeprefix(BASE_URL)) for _ in range(2))
    for response in (first, second):
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
        assert response.headers["Cache-Control"].startswith("private, max-age=")
        assert "Set-Cookie" not in response.headers
    assert b"DTSTART;VALUE=DATE:" in first.data
    uids = [set(_events(Calendar.from_ical(r.data))) for r in (first, second)]
    assert uids[0] == uids[1] and len(uids[0]) == 8 + 1


def test_creating_again_keeps_the_link(client, app):
    ids = _world(app)
    token = _give_token(app, ids["users"]["pilot"])
    client.login("priya@hayward.example", PASSWORD)
    client.submit("/calendar/create")
    assert _subscribe(app, f"/calendar/{token}.ics").status_code == 200


def test_resetting_the_link_ends_the_old_address(client, app):
    ids = _world(app)
    old = _give_token(app, ids["users"]["pilot"])
    client.login("priya@hayward.example", PASSWORD)
    assert _subscribe(app, f"/calendar/{old}.ics").status_code == 200
    response = client.submit("/calendar/reset", follow_redirects=True)
    assert "the old address no longer works" in response.get_data(as_text=True)
    new = _feed_url_on_page(response.get_data(as_text=True)).removeprefix(BASE_URL)
    assert new != f"/calendar/{old}.ics"
    assert _subscribe(app, f"/calendar/{old}.ics").status_code == 404
    assert _subscribe(app, new).status_code == 200
    with app.app_context():
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.object_type == "User").order_by(AuditEvent.id)
        ).all()
        assert [e.action for e in events] == ["create calendar link", "reset calendar link"]
        # The secret stays out of the audit trail, and out of the library's activity.
        assert all(e.library_id is None and e.changes == {} for e in events)
        assert not any(old in repr((e.object_label, e.changes)) for e in events)


def test_unknown_tokens_and_deactivated_people_get_404(client, app):
    ids = _world(app)
    token = _give_token(app, ids["users"]["pilot"])
    assert _subscribe(app, "/calendar/not-a-token.ics").status_code == 404
    assert _subscribe(app, f"/calendar/{'x' * 80}.ics").status_code == 404
    with app.app_context():
        db.session.get(User, ids["users"]["pilot"]).active = False
        db.session.commit()
    assert _subscribe(app, f"/calendar/{token}.ics").status_code == 404


def test_the_page_needs_sign_in_and_every_role_has_one(client, app):
    ids = _world(app)
    response = client.get("/calendar")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    client.login("state@t.example", PASSWORD)
    page = client.get("/calendar").get_data(as_text=True)
    assert "Create my calendar link" in page and "without events" in page
    assert 'href="/calendar"' in client.get("/").get_data(as_text=True)  # the account area
    with app.app_context():
        assert db.session.get(User, ids["users"]["state"]).calendar_token is None


@pytest.mark.parametrize("action", ["create", "reset"])
def test_the_buttons_need_the_csrf_token(client, app, action):
    ids = _world(app)
    client.login("priya@hayward.example", PASSWORD)
    assert client.post(f"/calendar/{action}").status_code == 400
    with app.app_context():
        assert db.session.get(User, ids["users"]["pilot"]).calendar_token is None


def test_check_ins_logged_are_read_for_the_last_one(app):
    ids = _world(app)
    with app.app_context():
        make_check_in(ids["pairing"], date(2026, 11, 20), "call")
    event = _events(_feed(app, ids["users"]["mentor"]))[
        f"checkin-{ids['pairing']}-2026-12-03@ssi.example"
    ]
    assert "Last check-in: Nov 20, 2026" in event["description"]
