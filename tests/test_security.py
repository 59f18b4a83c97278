"""Security headers on every kind of response."""

from __future__ import annotations

import re

import pytest

from mentorship.security import CONTENT_SECURITY_POLICY
from tests.helpers import PASSWORD, make_user


def _check(response, https: bool = False) -> None:
    csp = response.headers["Content-Security-Policy"]
    assert csp == CONTENT_SECURITY_POLICY
    assert "'unsafe-inline'" not in csp and "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert ("Strict-Transport-Security" in response.headers) == https


@pytest.mark.parametrize(
    "path", ["/login", "/forgot-password", "/static/app.css", "/no-such-page", "/unsubscribe/x"]
)
def test_pages_for_anyone_carry_the_headers(client, path):
    _check(client.get(path))


def test_signed_in_pages_carry_the_headers_and_hsts_over_https(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example")
    client.login("staff@t.example", PASSWORD)
    for path in ("/", "/libraries/", "/at-risk", "/toolkit/", "/outbox", "/libraries/?format=csv"):
        _check(client.get(path))
    _check(client.get("/", base_url="https://ssi.example"), https=True)


def test_no_template_has_inline_script_or_style():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "mentorship"
    for template in root.rglob("*.html"):
        text = template.read_text(encoding="utf-8").lower()
        assert "<script" not in text and "<style" not in text, template
        assert ' style="' not in text and " onclick=" not in text, template


# Production settings (issue 9): a guessable SECRET_KEY, and the cookies' flags. --------

FLASK_DOCS_EXAMPLE_KEY = "192b9bdd22ab9ed4d12e236c78afcb9a393ec15f71bbf5dc987d54727823bcbf"


def _production(monkeypatch, secret_key: str) -> None:
    monkeypatch.setenv("MENTORSHIP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", secret_key)
    monkeypatch.setenv("RATELIMIT_ENABLED", "0")  # the shared-store check is tested apart
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)


@pytest.mark.parametrize(
    "key", ["dev", "change-me", "test-secret-key", "...", "a" * 31, FLASK_DOCS_EXAMPLE_KEY]
)
def test_production_refuses_an_example_or_short_secret_key(monkeypatch, key):
    from mentorship import create_app
    from mentorship.config import UnsafeConfiguration

    _production(monkeypatch, key)
    with pytest.raises(UnsafeConfiguration, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_development_takes_any_key(monkeypatch):
    from mentorship import create_app

    monkeypatch.setenv("MENTORSHIP_ENV", "development")
    monkeypatch.setenv("SECRET_KEY", "dev")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SECRET_KEY"] == "dev"


def test_production_cookies_are_secure_httponly_and_samesite_lax(monkeypatch, app):
    """What the browser really receives when someone signs in over HTTPS."""
    import secrets

    from mentorship import create_app
    from mentorship.extensions import db

    with app.app_context():
        make_user("pilot", email="pilot@t.example")
    _production(monkeypatch, secrets.token_hex(32))
    production = create_app({"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"]})
    client = production.test_client()
    page = client.get("/login", base_url="https://ssi.example").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    answer = client.post(
        "/login",
        data={
            "csrf_token": token,
            "email": "pilot@t.example",
            "password": PASSWORD,
            "remember": "y",
        },
        base_url="https://ssi.example",
        headers={"Referer": "https://ssi.example/login"},
    )
    assert answer.status_code == 302
    cookies = {c.split("=", 1)[0]: c for c in answer.headers.getlist("Set-Cookie")}
    assert {"session", "remember_token"} <= set(cookies)
    for cookie in (cookies["session"], cookies["remember_token"]):
        flags = {part.strip().lower() for part in cookie.split(";")}
        assert {"secure", "httponly", "samesite=lax"} <= flags, cookie
    with production.app_context():
        db.engine.dispose()
