"""Staff pair a cohort in the browserless client; both libraries see the result."""

from __future__ import annotations

import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import Pairing, PairingStatus
from tests.helpers import PASSWORD, make_cohort, make_library, make_participation, make_user


def _cohort(app):
    with app.app_context():
        cohort = make_cohort("Year 2")
        hayward = make_library(
            "Hayward Public Library", county="Alameda", service_population=162000
        )
        berkeley = make_library(
            "Berkeley Public Library", county="Alameda", service_population=120000
        )
        yolo = make_library("Yolo County Library", county="Yolo", cooperative_system="NorthNet")
        pilot = make_participation(hayward, cohort, "pilot")
        make_participation(berkeley, cohort, "mentor")
        make_participation(yolo, cohort, "pilot")
        make_user("staff", email="staff@t.example")
        make_user("pilot", hayward, email="priya@hayward.example", name="Priya Raman")
        make_user("mentor", berkeley, email="grace@berkeley.example", name="Grace Lin")
        make_user("pilot", yolo, email="luis@yolo.example")
        return {
            "cohort": cohort.id,
            "pilot": pilot.id,
            "hayward": hayward.id,
            "berkeley": berkeley.id,
            "yolo": yolo.id,
        }


def test_staff_propose_review_and_publish_then_both_sides_see_each_other(client, app, mailbox):
    ids = _cohort(app)
    client.login("staff@t.example", PASSWORD)
    board = client.get(f"/pairings/cohorts/{ids['cohort']}").get_data(as_text=True)
    assert "unpaired" in board and "0 of 3 places used" in board
    suggestions = client.get(f"/pairings/pilots/{ids['pilot']}").get_data(as_text=True)
    assert "same county (Alameda)" in suggestions and "3 of 3 places left" in suggestions
    client.submit(f"/pairings/cohorts/{ids['cohort']}/propose-all")
    board = client.get(f"/pairings/cohorts/{ids['cohort']}").get_data(as_text=True)
    assert "proposed" in board and "2 of 3 places used" in board and "Publish 2 proposals" in board
    assert mailbox.messages == []  # nothing is announced before publishing
    client.submit(f"/pairings/cohorts/{ids['cohort']}/publish")
    with app.app_context():
        assert set(db.session.scalars(sa.select(Pairing.status))) == {PairingStatus.ACTIVE}
    subjects = sorted((m["To"], m["Subject"]) for m in mailbox.messages)
    assert ("priya@hayward.example", "Your mentor library: Berkeley Public Library") in subjects
    assert ("grace@berkeley.example", "Your mentee library: Hayward Public Library") in subjects
    client.submit("/logout")

    client.login("priya@hayward.example", PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert (
        "Your mentor library: Berkeley Public Library" in home and "grace@berkeley.example" in home
    )
    assert client.get(f"/libraries/{ids['berkeley']}").status_code == 200
    assert client.get(f"/libraries/{ids['yolo']}").status_code == 404
    assert client.get(f"/pairings/cohorts/{ids['cohort']}").status_code == 403
    client.submit("/logout")

    client.login("grace@berkeley.example", PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert (
        "A library you mentor: Hayward Public Library" in home and "priya@hayward.example" in home
    )
    assert client.get(f"/libraries/{ids['hayward']}").status_code == 200


def test_a_refused_proposal_says_why_and_stores_nothing(client, app):
    ids = _cohort(app)
    client.login("staff@t.example", PASSWORD)
    with app.app_context():
        mentor_id = db.session.scalar(
            sa.text("SELECT id FROM participations WHERE role = 'mentor'")
        )
    # A pilot is not a mentor: proposing it as one is refused.
    page = client.submit(
        f"/pairings/pilots/{ids['pilot']}/propose",
        {"mentor_id": ids["pilot"]},
        follow_redirects=True,
    )
    assert "joins a pilot library with a mentor library" in page.get_data(as_text=True)
    ok = client.submit(
        f"/pairings/pilots/{ids['pilot']}/propose", {"mentor_id": mentor_id}, follow_redirects=True
    )
    assert "is proposed as mentor of Hayward Public Library" in ok.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Pairing)) == 1
