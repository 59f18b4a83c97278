"""The app as a whole: commands, error pages, rate limits, settings."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from mentorship import create_app
from mentorship.config import UnsafeConfiguration
from mentorship.extensions import db
from mentorship.models import Role, User
from mentorship.services.auth import authenticate
from tests.conftest import Browserless, app_settings
from tests.test_rate_limits import REDIS_SETTINGS


def test_create_user_command_makes_a_staff_account(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "create-user",
            "--email",
            "Lead@PLP.example",
            "--name",
            "Program Lead",
            "--password",
            "a long enough secret",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "lead@plp.example"))
        assert (
            user.role == Role.STAFF
            and authenticate("lead@plp.example", "a long enough secret").user
        )
    again = runner.invoke(
        args=[
            "create-user",
            "--email",
            "lead@plp.example",
            "--name",
            "X",
            "--password",
            "a long enough secret",
        ]
    )
    assert again.exit_code != 0 and "already uses this email" in again.output


def test_seed_demo_command_prints_the_demo_sign_ins(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "58 libraries" in result.output and "pilot@demo.test" in result.output


def test_production_refuses_to_start_without_a_secret_key(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("MENTORSHIP_ENV", "production")
    with pytest.raises(UnsafeConfiguration):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_cookies_are_secure(monkeypatch):
    monkeypatch.setenv("MENTORSHIP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    # Production needs a shared rate-limit store (this run's own keys in the test Redis).
    config = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", **REDIS_SETTINGS}).config
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    assert config["SESSION_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_an_unexpected_error_shows_the_500_page_in_the_layout(app, smtp_server):
    broken = create_app(
        {
            **app_settings(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server.port),
            "PROPAGATE_EXCEPTIONS": False,
        }
    )

    @broken.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = broken.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong on our side" in page and "Skip to main content" in page
    with broken.app_context():
        db.engine.dispose()


def test_sign_in_attempts_are_rate_limited(app, smtp_server):
    limited = create_app(
        {
            **app_settings(app.config["SQLALCHEMY_DATABASE_URI"], smtp_server.port),
            "RATELIMIT_ENABLED": True,
            "LOGIN_RATE_LIMIT": "3 per minute",
        }
    )
    client = Browserless(limited.test_client())
    statuses = [client.login("someone@t.example", "wrong password").status_code for _ in range(4)]
    assert statuses == [400, 400, 400, 429]
    assert "Too many attempts" in client.login("someone@t.example", "x").get_data(as_text=True)
    with limited.app_context():
        db.engine.dispose()


@pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")), reason="no database involved: runs once, on SQLite"
)
def test_every_module_imports_on_its_own():
    """No circular import hides behind the order in which the app happens to load modules:
    each module is imported first, into a fresh copy of the package."""
    import subprocess
    import sys

    code = """
import pkgutil, sys, importlib
import flask, flask_sqlalchemy, sqlalchemy, wtforms, numpy, scipy.optimize  # the slow part, once
import mentorship
names = [m.name for m in pkgutil.walk_packages(mentorship.__path__, "mentorship.")]
for name in names:
    for loaded in [m for m in sys.modules if m == "mentorship" or m.startswith("mentorship.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as error:
        sys.exit(f"{name}: {error!r}")
print(len(names))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-800:]
    assert int(result.stdout) > 40  # it really went through the package
