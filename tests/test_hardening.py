"""Issue 19's security faults, each shown by a test that failed before its fix."""

from __future__ import annotations

import time

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
            upgrade(revision="0011")
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
