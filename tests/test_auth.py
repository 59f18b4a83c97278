"""Signing in and out, and the set-password links that new people and "forgot" use."""

from __future__ import annotations

import re
import time

from mentorship.extensions import db
from mentorship.models import AuditEvent, User
from mentorship.services.auth import DEACTIVATED, WRONG_CREDENTIALS
from tests.helpers import PASSWORD, make_user

LINK = re.compile(r"https://ssi.example/set-password/\S+")


def test_sign_in_goes_home_and_records_the_time(client, app):
    with app.app_context():
        user = make_user("staff", name="Dana Whitfield", email="dana@plp.example")
    response = client.login("Dana@PLP.example", PASSWORD)  # email case does not matter
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Dana Whitfield" in home and "Program overview" in home
    with app.app_context():
        assert db.session.get(User, user.id).last_login_at is not None


def test_wrong_password_and_unknown_email_read_the_same(client, app):
    with app.app_context():
        make_user("staff", email="dana@plp.example")
    wrong = client.login("dana@plp.example", "not the password")
    unknown = client.login("nobody@plp.example", "not the password")
    for response in (wrong, unknown):
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert WRONG_CREDENTIALS.replace("'", "&#39;") in page
        assert 'value="' in page and "dana@plp.example" in wrong.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_deactivated_person_cannot_sign_in(client, app):
    with app.app_context():
        make_user("pilot", email="gone@library.example", active=False)
    page = client.login("gone@library.example", PASSWORD).get_data(as_text=True)
    assert DEACTIVATED in page
    assert client.get("/").status_code == 302


def test_sign_out_needs_a_post_and_ends_the_session(client, app):
    with app.app_context():
        make_user("staff", email="dana@plp.example")
    client.login("dana@plp.example", PASSWORD)
    assert client.get("/logout").status_code == 405
    assert client.submit("/logout").status_code == 302
    assert client.get("/").headers["Location"].startswith("/login")


def test_remember_me_sets_a_lasting_cookie(client, app):
    with app.app_context():
        make_user("staff", email="dana@plp.example")
    response = client.login("dana@plp.example", PASSWORD, remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    assert any(c.startswith("remember_token=") and "HttpOnly" in c for c in cookies)


def test_changing_the_password_ends_other_sessions(client, app):
    from mentorship.services.auth import set_password

    with app.app_context():
        user = make_user("pilot", email="priya@library.example")
    client.login("priya@library.example", PASSWORD)
    assert client.get("/").status_code == 200
    with app.app_context():
        set_password(db.session.get(User, user.id), "a brand new passphrase", actor=None)
        db.session.commit()
    assert client.get("/").status_code == 302


def test_after_sign_in_only_same_site_paths_are_followed(client, app):
    with app.app_context():
        make_user("staff", email="dana@plp.example")
    token = client.token()
    response = client.post(
        "/login?next=//evil.example/steal",
        data={"csrf_token": token, "email": "dana@plp.example", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/"
    client.submit("/logout")
    response = client.submit(
        "/login?next=/libraries/", {"email": "dana@plp.example", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/libraries/"


def test_a_form_without_its_csrf_token_is_refused(client, app):
    with app.app_context():
        make_user("staff", email="dana@plp.example")
    response = client.post("/login", data={"email": "dana@plp.example", "password": PASSWORD})
    assert response.status_code == 400
    assert "did not come from this site" in response.get_data(as_text=True)


def _invite(client, app, mailbox) -> str:
    with app.app_context():
        make_user("staff", email="dana@plp.example")
    client.login("dana@plp.example", PASSWORD)
    response = client.submit(
        "/people/new",
        {
            "name": "Ana Souza",
            "email": "Ana@Library.example",
            "role": "state",
            "library_id": "None",
        },
    )
    assert response.status_code == 302
    client.submit("/logout")
    assert len(mailbox.messages) == 1
    message = mailbox.messages[0]
    assert message["To"] == "ana@library.example"
    return (
        LINK.search(message.get_payload(decode=True).decode())
        .group(0)
        .replace("https://ssi.example", "")
    )


def test_new_person_sets_a_password_from_the_emailed_link_once(client, app, mailbox):
    path = _invite(client, app, mailbox)
    assert "Choose your password" in client.get(path).get_data(as_text=True)
    short = client.submit(path, {"password": "short", "confirm": "short"})
    assert "at least 12 characters" in short.get_data(as_text=True)
    common = client.submit(path, {"password": "password1234", "confirm": "password1234"})
    assert common.status_code == 200 and "too easy to guess" in common.get_data(as_text=True)
    done = client.submit(
        path, {"password": "reading is for everyone", "confirm": "reading is for everyone"}
    )
    assert done.status_code == 302
    assert client.login("ana@library.example", "reading is for everyone").status_code == 302
    client.submit("/logout")
    reused = client.get(path)
    assert reused.status_code == 400 and "already been used" in reused.get_data(as_text=True)
    with app.app_context():
        actions = db.session.scalars(db.select(AuditEvent.action)).all()
        assert "create" in actions and "set password" in actions


def test_an_expired_link_is_refused(client, app, mailbox, monkeypatch):
    path = _invite(client, app, mailbox)
    later = time.time() + app.config["PASSWORD_LINK_MAX_AGE"] + 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    response = client.get(path)
    assert response.status_code == 400 and "expired" in response.get_data(as_text=True)


def test_a_tampered_link_is_refused(client, app, mailbox):
    path = _invite(client, app, mailbox)
    response = client.get(path[:-3] + "abc")
    assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)


def test_forgot_password_answers_alike_and_mails_only_real_accounts(client, app, mailbox):
    with app.app_context():
        make_user("mentor", email="grace@library.example")
    known = client.submit(
        "/forgot-password", {"email": "grace@library.example"}, follow_redirects=True
    )
    unknown = client.submit(
        "/forgot-password", {"email": "nobody@library.example"}, follow_redirects=True
    )
    assert "If an account uses that address" in known.get_data(as_text=True)
    assert "If an account uses that address" in unknown.get_data(as_text=True)
    assert [m["To"] for m in mailbox.messages] == ["grace@library.example"]
    assert mailbox.messages[0]["Subject"] == "Set a new password"
