"""Security headers on every kind of response."""

from __future__ import annotations

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
