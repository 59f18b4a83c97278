"""Issue 19's security faults, each shown by a test that failed before its fix."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import CaseStudy, CaseStudyComment, CaseStudyStatus
from mentorship.rendering import render_markdown
from tests.helpers import PASSWORD, make_library, make_user

# 1. User Markdown ------------------------------------------------------------------------

COMMENT_MAX = 5_000  # the comment forms' bound
# Inputs that made a backtracking parser take seconds (runs of `[` took 8.5 s for 4,000).
WORST = {
    "open brackets": "[",
    "open images": "![",
    "unclosed links": "[a](",
    "nested brackets": "[]",
    "emphasis": "*a",
    "underscores": "_a",
    "strong": "**",
    "block quotes": ">",
    "list markers": "- ",
    "table cells": "|a",
    "autolinks": "<a:",
    "entities": "&",
    "backticks": "`a``",
    "link titles": '[a](b "',
}


@pytest.mark.parametrize("unit", WORST.values(), ids=WORST.keys())
def test_the_worst_inputs_render_in_well_under_a_second(unit):
    text = (unit * (COMMENT_MAX // len(unit) + 1))[:COMMENT_MAX]
    started = time.process_time()  # CPU time: other processes on the machine don't count
    render_markdown(text)
    assert time.process_time() - started < 0.5


def _comment_world(app):
    with app.app_context():
        library = make_library("Hayward Public Library")
        author = make_user("pilot", library, email="author@hayward.example")
        make_user("staff", email="staff@t.example")
        case_study = CaseStudy(
            library_id=library.id,
            title="Two districts",
            body="We *learned*.",
            status=CaseStudyStatus.PUBLISHED,
            created_by_id=author.id,
        )
        db.session.add(case_study)
        db.session.flush()
        db.session.add(
            CaseStudyComment(case_study_id=case_study.id, author_id=author.id, body="**Bold** idea")
        )
        db.session.add(
            CaseStudyComment(
                case_study_id=case_study.id, author_id=author.id, body="hidden *one*", hidden=True
            )
        )
        db.session.commit()
        return case_study.id


def test_markdown_is_rendered_when_saved_and_never_when_a_page_is_viewed(client, app, monkeypatch):
    case_study_id = _comment_world(app)
    with app.app_context():
        stored = db.session.scalars(sa.select(CaseStudyComment.body_html)).all()
        assert "<strong>Bold</strong> idea" in stored[0] and "<em>one</em>" in stored[1]
        assert "<em>learned</em>" in db.session.get(CaseStudy, case_study_id).body_html

    def no_rendering(*args, **kwargs):
        raise AssertionError("Markdown rendered while viewing a page")

    monkeypatch.setattr("mentorship.rendering._parser.render", no_rendering)
    monkeypatch.setattr("mentorship.rendering._parser.parse", no_rendering)
    client.login("staff@t.example", PASSWORD)  # staff see the hidden comment too
    page = client.get(f"/case-studies/{case_study_id}").get_data(as_text=True)
    assert "<strong>Bold</strong> idea" in page and "<em>one</em>" in page


def test_every_text_field_of_every_form_has_a_length_bound(app):
    import importlib
    import inspect
    import pkgutil

    from flask_wtf import FlaskForm
    from wtforms import HiddenField, PasswordField, StringField
    from wtforms.validators import Length

    import mentorship.blueprints as blueprints

    unbounded = []
    with app.test_request_context():
        for module in pkgutil.walk_packages(blueprints.__path__, blueprints.__name__ + "."):
            if not module.name.endswith(".forms"):
                continue
            forms = importlib.import_module(module.name)
            for name, cls in vars(forms).items():
                if not (inspect.isclass(cls) and issubclass(cls, FlaskForm)):
                    continue
                if cls.__module__ != forms.__name__:
                    continue
                for field in cls(meta={"csrf": False}):
                    if isinstance(field, StringField | PasswordField | HiddenField) and not any(
                        isinstance(v, Length) and v.max > 0 for v in field.validators
                    ):
                        unbounded.append(f"{name}.{field.name}")
    assert unbounded == []


def test_the_migration_renders_existing_text_and_hashes_calendar_tokens(tmp_path, smtp_server):
    import hashlib

    from flask_migrate import upgrade

    from mentorship import create_app
    from mentorship.services.calendar import user_by_calendar_token
    from tests.conftest import app_settings
    from tests.databases import fresh_database

    now = "2026-11-01 12:00:00+00:00"
    with fresh_database(tmp_path) as url:
        app = create_app(app_settings(url, smtp_server.port))
        with app.app_context():
            upgrade(revision="0012")  # the revision before this one
            with db.engine.begin() as connection:
                connection.execute(
                    sa.text(
                        "INSERT INTO libraries (id, name, short_name, city, county, "
                        "cooperative_system, governance, ils_name, website, contact_name, "
                        "contact_email, contact_phone, active, created_at) VALUES (1, 'Hayward',"
                        " '', '', 'Alameda', 'PLP', 'city', '', '', '', '', '', true, :now)"
                    ),
                    {"now": now},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO users (id, name, email, role, active, session_token, "
                        "calendar_token, created_at) VALUES (1, 'Sam', 'sam@t.example', 'staff',"
                        " true, 'x', 'old-calendar-token', :now)"
                    ),
                    {"now": now},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO case_studies (id, library_id, title, summary, body, status, "
                        "region, sent_back_reason, created_at) VALUES (1, 1, 'T', '', "
                        "'We *learned*.', 'published', '', '', :now)"
                    ),
                    {"now": now},
                )
                connection.execute(
                    sa.text(
                        "INSERT INTO case_study_comments (id, case_study_id, body, created_at, "
                        "hidden, hidden_reason) VALUES (1, 1, '<script>x</script> **yes**', "
                        ":now, false, '')"
                    ),
                    {"now": now},
                )
            upgrade()
            with db.engine.connect() as connection:
                body = connection.execute(sa.text("SELECT body_html FROM case_studies")).scalar()
                comment = connection.execute(
                    sa.text("SELECT body_html FROM case_study_comments")
                ).scalar()
                token = connection.execute(sa.text("SELECT calendar_token FROM users")).scalar()
            # Hashed, not invalidated: the address people subscribed to keeps working.
            assert token == hashlib.sha256(b"old-calendar-token").hexdigest()
            assert user_by_calendar_token("old-calendar-token").id == 1
            db.session.remove()
            db.engine.dispose()
    assert body == "<p>We <em>learned</em>.</p>\n"
    assert "<strong>yes</strong>" in comment and "<script" not in comment


# 3. Signing out ends the session on the server -------------------------------------------


def test_a_copied_session_or_remember_me_cookie_stops_working_at_sign_out(app):
    from tests.conftest import Browserless

    with app.app_context():
        make_user("staff", email="staff@t.example")
    person = Browserless(app.test_client())
    assert person.login("staff@t.example", PASSWORD, remember="y").status_code == 302
    session = person.get_cookie("session").value
    remember = person.get_cookie("remember_token").value
    thief = app.test_client()
    thief.set_cookie("session", session)
    thief.set_cookie("remember_token", remember)
    assert thief.get("/").status_code == 200  # the copies work while the person is in
    assert person.submit("/logout").status_code == 302
    for cookies in ({"session": session}, {"remember_token": remember}):
        later = app.test_client()
        for name, value in cookies.items():
            later.set_cookie(name, value)
        response = later.get("/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_signing_in_starts_a_fresh_session_with_a_new_csrf_token(app):
    from tests.conftest import Browserless

    with app.app_context():
        make_user("staff", email="staff@t.example")
    person = Browserless(app.test_client())
    before = person.token()
    person.login("staff@t.example", PASSWORD)
    assert person.token() != before


# 4. The smaller faults ----------------------------------------------------------------------


def _case_study_world(app):
    """Berkeley mentors Hayward; each writes a draft; Hayward published one with a comment."""
    from tests.helpers import make_cohort, make_participation

    with app.app_context():
        from mentorship.models import Pairing, PairingStatus

        pilot_library = make_library("Hayward Public Library")
        mentor_library = make_library("Berkeley Public Library")
        cohort = make_cohort()
        db.session.add(
            Pairing(
                pilot_participation_id=make_participation(pilot_library, cohort).id,
                mentor_participation_id=make_participation(mentor_library, cohort, "mentor").id,
                status=PairingStatus.ACTIVE,
                start_date=cohort.start_date,
            )
        )
        make_user("pilot", pilot_library, email="pilot@hayward.example", name="Priya Pilot")
        mentor = make_user("mentor", mentor_library, email="m@berkeley.example", name="Mo Mentor")
        make_user("state", email="state@t.example")
        ids = {}
        for key, library, status in (
            ("published", pilot_library, CaseStudyStatus.PUBLISHED),
            ("pilot draft", pilot_library, CaseStudyStatus.DRAFT),
            ("mentor draft", mentor_library, CaseStudyStatus.DRAFT),
        ):
            case_study = CaseStudy(library_id=library.id, title=key, body="Text.", status=status)
            db.session.add(case_study)
            db.session.flush()
            ids[key] = case_study.id
        db.session.add(
            CaseStudyComment(
                case_study_id=ids["published"], author_id=mentor.id, body="A private remark"
            )
        )
        db.session.commit()
        return ids


def test_state_officials_never_see_comments_or_their_authors(client, app):
    ids = _case_study_world(app)
    client.login("state@t.example", PASSWORD)
    page = client.get(f"/case-studies/{ids['published']}").get_data(as_text=True)
    assert "published" in page
    assert "A private remark" not in page and "Mo Mentor" not in page
    assert "Berkeley" not in page


def test_a_mentor_librarys_drafts_stay_from_its_pilots(client, app):
    ids = _case_study_world(app)
    client.login("pilot@hayward.example", PASSWORD)
    assert client.get(f"/case-studies/{ids['mentor draft']}").status_code == 404
    assert "mentor draft" not in client.get("/case-studies/").get_data(as_text=True)
    client.submit("/logout")
    client.login("m@berkeley.example", PASSWORD)  # the mentor still reads its pilot's draft
    assert client.get(f"/case-studies/{ids['pilot draft']}").status_code == 200


def test_a_set_password_link_ends_when_the_email_changes(app):
    from mentorship.services import auth

    with app.app_context():
        user = make_user("pilot", email="old@library.example")
        link = auth.make_password_token(user, app.config["SECRET_KEY"])
        assert auth.user_from_password_token(link, app.config["SECRET_KEY"], 3600).id == user.id
        user.email = "new@library.example"
        db.session.commit()
        with pytest.raises(auth.InvalidLink):
            auth.user_from_password_token(link, app.config["SECRET_KEY"], 3600)
        # Signing out (a new session token) does not spend a link sent to the right address.
        fresh = auth.make_password_token(user, app.config["SECRET_KEY"])
        auth.end_sessions(user)
        assert auth.user_from_password_token(fresh, app.config["SECRET_KEY"], 3600) == user


def test_reactivating_a_person_revives_neither_api_tokens_nor_calendar_address(app):
    from mentorship.services import api_tokens, calendar, records
    from mentorship.services.auth import set_password

    with app.app_context():
        staff = make_user("staff")
        official = make_user("state")
        _, secret = api_tokens.issue_token(official.id, "Dashboard", staff)
        feed = calendar.new_calendar_token(official)
        db.session.commit()
        records.set_active(official, False, staff)
        records.set_active(official, True, staff)
        db.session.commit()
        assert isinstance(api_tokens.authenticate(f"Bearer {secret}"), api_tokens.Refusal)
        assert calendar.user_by_calendar_token(feed) is None
        # A password change resets the calendar address too.
        feed = calendar.new_calendar_token(official)
        set_password(official, "a new sentence of my own", official)
        db.session.commit()
        assert calendar.user_by_calendar_token(feed) is None


@pytest.mark.parametrize("key", ["a" * 32, "ab" * 32, "0123456789"[:9] * 4])
def test_production_refuses_a_long_key_of_few_characters(monkeypatch, key):
    from mentorship import create_app
    from mentorship.config import UnsafeConfiguration

    monkeypatch.setenv("MENTORSHIP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", key)
    monkeypatch.setenv("RATELIMIT_ENABLED", "0")
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_a_line_break_in_next_goes_home_instead_of_a_500(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example")
    response = client.submit(
        "/login?next=/libraries/%0d%0aSet-Cookie:%20x=1",
        {"email": "staff@t.example", "password": PASSWORD},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_a_line_break_in_a_stored_name_keeps_the_calendar_feed_working(app):
    from icalendar import Calendar

    from mentorship.services import calendar

    with app.app_context():
        user = make_user("staff", name="Sam\r\nSmith\x07")
        body = calendar.calendar_for(
            user,
            date(2026, 12, 1),
            base_url="https://ssi.example",
            milestone_path=lambda milestone_id: f"/m/{milestone_id}",
            time_zone="America/Los_Angeles",
        )
    assert "Sam Smith" in str(Calendar.from_ical(body).get("x-wr-calname"))


def test_names_refuse_control_characters_beside_the_field(client, app):
    from mentorship.models import User

    with app.app_context():
        make_user("staff", email="staff@t.example")
        library = make_library()
    client.login("staff@t.example", PASSWORD)
    response = client.submit(
        "/people/new",
        {"name": "Sam\nSmith", "email": "sam@t.example", "role": "pilot", "library_id": library.id},
    )
    assert response.status_code in (200, 400)
    assert "invisible characters" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "sam@t.example")) is None


def test_a_percent_sign_in_a_search_matches_only_itself(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example")
        make_user("staff", name="Ana 100% Ortiz")
        make_user("staff", name="Zed Other")
    client.login("staff@t.example", PASSWORD)
    page = client.get("/people/?q=%25").get_data(as_text=True)
    assert "Ana 100% Ortiz" in page and "Zed Other" not in page


def test_private_pages_are_never_stored_by_caches(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example")
    client.login("staff@t.example", PASSWORD)
    for path in ("/", "/people/", "/people/?format=csv", "/login"):
        assert client.get(path).headers["Cache-Control"] == "private, no-store"
    assert "no-store" not in client.get("/static/app.css").headers.get("Cache-Control", "")


def test_forgot_password_works_for_the_demo_accounts_test_addresses(client, app, mailbox):
    with app.app_context():
        make_user("pilot", email="pilot@demo.test")
    response = client.submit("/forgot-password", {"email": "pilot@demo.test"})
    assert response.status_code == 302
    response.close()  # the link is emailed once the response is closed
    assert [m["To"] for m in mailbox.messages] == ["pilot@demo.test"]


@pytest.mark.parametrize(
    "text", ["=1+1", "+1", "-1+1", "@SUM(A1)", "a;=cmd|' /c calc'!A0", "x; +1"]
)
def test_csv_cells_that_could_run_as_formulas_are_neutralised(text):
    from mentorship.tables import _csv_cell

    assert _csv_cell(text) == "'" + text


def test_a_huge_page_number_anywhere_answers_400(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example")
    client.login("staff@t.example", PASSWORD)
    assert client.get(f"/people/?mentors_page={2**63}").status_code == 400


# 5. Huge ids go through the access module's loader ----------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/plan/steps/{huge}/edit"),
        ("POST", "/plan/steps/{huge}/remove"),
        ("POST", "/case-studies/{case_study}/comments/{huge}/replies"),
    ],
)
def test_ids_past_any_row_answer_404_not_500(client, app, method, path):
    ids = _case_study_world(app)
    with app.app_context():
        make_user("staff", email="staff@t.example")
    client.login("staff@t.example", PASSWORD)
    url = path.format(huge=2**63, case_study=ids["published"])
    response = client.get(url) if method == "GET" else client.submit(url, {"body": "Hi"})
    assert response.status_code == 404


# 9. The API: OPTIONS, empty values, ETag, the 401 challenge --------------------------------


@pytest.fixture
def api_token(app):
    from mentorship.services import api_tokens

    with app.app_context():
        official = make_user("state", email="state@api.example")
        _, secret = api_tokens.issue_token(official.id, "Dashboard", None)
        db.session.commit()
        return secret


def _api(app, path: str, token: str | None, method: str = "GET", **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return app.test_client().open(path, method=method, headers=headers)


@pytest.mark.parametrize("path", ["/api/v1/libraries", "/api/v1/rollup", "/api/v1/cohorts/1"])
def test_options_lists_only_what_answers_and_sends_no_html(app, path):
    response = _api(app, path, None, method="OPTIONS")
    assert response.status_code == 204 and response.data == b""
    assert set(response.headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD", "OPTIONS"}
    assert "text/html" not in response.headers.get("Content-Type", "")


@pytest.mark.parametrize(
    "query", ["since=", "per_page=", "page=", "county=", "library_id=", "cohort_id=%20"]
)
def test_an_empty_query_value_is_400_as_the_document_says(app, api_token, query):
    response = _api(app, f"/api/v1/outcome-figures?{query}", api_token)
    assert response.status_code == 400
    assert "is empty" in response.get_json()["error"]["message"]


def test_api_answers_carry_an_etag_and_answer_304_when_unchanged(app, api_token):
    first = _api(app, "/api/v1/libraries", api_token)
    assert first.status_code == 200 and first.headers["ETag"]
    assert "no-store" not in first.headers["Cache-Control"]
    assert "Authorization" in first.headers["Vary"]
    again = _api(app, "/api/v1/libraries", api_token, **{"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    with app.app_context():
        make_library("A new library")
    changed = _api(app, "/api/v1/libraries", api_token, **{"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200 and "A new library" in changed.get_data(as_text=True)


def test_the_calendar_feed_answers_304_when_unchanged(app):
    from mentorship.services import calendar

    with app.app_context():
        token = calendar.new_calendar_token(make_user("staff"))
        db.session.commit()
    feed = app.test_client()
    first = feed.get(f"/calendar/{token}.ics")
    assert first.status_code == 200 and first.headers["ETag"]
    again = feed.get(f"/calendar/{token}.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_a_refused_token_is_told_invalid_token_and_no_token_gets_the_bare_challenge(app):
    refused = _api(app, "/api/v1/libraries", "ssi_" + "x" * 43)
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Bearer realm="api", error="invalid_token"'
    missing = _api(app, "/api/v1/libraries", None)
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="api"'


# 11. CSV downloads ---------------------------------------------------------------------------


def test_csv_downloads_start_with_a_bom_and_are_named_after_filters_and_day(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example")
        make_library("Biblioteca Pública de Señora Niño", county="Alameda")
    client.login("staff@t.example", PASSWORD)
    response = client.get("/libraries/?format=csv&q=Se%C3%B1ora")
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert "Señora Niño" in response.data.decode("utf-8-sig")
    disposition = response.headers["Content-Disposition"]
    assert re.fullmatch(
        r'attachment; filename="libraries-senora-\d{4}-\d{2}-\d{2}\.csv"', disposition
    )
    with app.test_request_context("/rollup/counties.csv?county=Alameda&format=csv"):
        from mentorship.tables import download_name
        from mentorship.templating import local_today

        assert download_name("rollup-counties") == f"rollup-counties-alameda-{local_today()}"
