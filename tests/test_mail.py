"""How messages are written: built with the email package, headers folded to 78
characters, nothing injected, a UTC date, HTML as a whole document, a real sender."""

from __future__ import annotations

import email
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.policy import default

import pytest

from mentorship import create_app
from mentorship.config import UnsafeConfiguration
from mentorship.mail import Mail, _data, default_sender, message

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)


def test_a_line_break_in_a_subject_cannot_add_a_header():
    raw = message(
        Mail(to=("priya@hayward.example",), subject="Launch\r\nBcc: spy@evil.example", body="x"),
        "SSI <no-reply@ssi.example>",
    )
    parsed = email.message_from_bytes(raw)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Launch Bcc: spy@evil.example"


def test_unicode_subjects_and_bodies_survive_the_trip():
    subject = (
        "Hayward Public Library: “Kick-off with the mentor; readiness self-assessment” — ñandú"
    )
    body = "Hello,\n.a line that starts with a dot\nSee you soon.\n"
    parsed = email.message_from_bytes(
        message(
            Mail(to=("a@b.example",), subject=subject, body=body, html="<p>Hi</p>"),
            "S <s@x.example>",
        )
    )
    assert str(make_header(decode_header(parsed["Subject"].replace("\r\n", "")))) == subject
    text, html = (part.get_payload(decode=True).decode() for part in parsed.get_payload())
    assert text == body and "<p>Hi</p>" in html
    # On the wire, a line starting with a dot is doubled (RFC 5321 dot-stuffing).
    assert _data(b"a\r\n.b\r\n") == b"a\r\n..b\r\n"


def test_headers_fold_at_78_the_date_is_utc_and_html_is_a_whole_document():
    long_link = "https://ssi.example.org/unsubscribe/" + "W" * 34  # 70: as long as ours
    subject = "Hayward Public Library: " + "a rather long milestone title " * 4
    raw = message(
        Mail(
            to=("priya@hayward.example",),
            subject=subject,
            body="Hello",
            html="<p>Hello</p>",
            headers=(("List-Unsubscribe", f"<{long_link}>"),),
            message_id="<outbox.7.20261123170000@ssi.example.org>",
        ),
        "Student Success Initiative <no-reply@ssi.example.org>",
        now=NOW,
    )
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(len(line) <= 78 for line in head.split(b"\r\n")), head.decode()
    parsed = email.message_from_bytes(raw, policy=default)
    assert parsed["Date"] == "Mon, 23 Nov 2026 17:00:00 +0000"
    assert parsed["Subject"] == " ".join(subject.split())
    assert parsed["List-Unsubscribe"].strip() == f"<{long_link}>"  # folded, not encoded
    assert b"List-Unsubscribe:\r\n <https://" in head
    assert parsed["Message-ID"] == "<outbox.7.20261123170000@ssi.example.org>"
    html = parsed.get_body(("html",)).get_content()
    assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
    assert f"<title>{' '.join(subject.split())}</title>" in html


def test_the_sender_comes_from_the_settings_and_is_never_localhost_in_production(monkeypatch):
    assert default_sender({"BASE_URL": "https://ssi.example.org"}) == (
        "Student Success Initiative <no-reply@ssi.example.org>"
    )
    assert default_sender({"MAIL_DEFAULT_SENDER": "PLP <ssi@plp.example>"}) == (
        "PLP <ssi@plp.example>"
    )
    monkeypatch.setenv("MENTORSHIP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-production-key-0123456789-abcdefghij")
    monkeypatch.setenv("RATELIMIT_ENABLED", "0")
    monkeypatch.setenv("MAIL_SERVER", "smtp.example.org")
    for base_url, sender in [
        ("http://127.0.0.1:5000", ""),
        ("https://ssi.example.org", "SSI <no-reply@localhost>"),
    ]:
        monkeypatch.setenv("BASE_URL", base_url)
        monkeypatch.setenv("MAIL_DEFAULT_SENDER", sender)
        with pytest.raises(UnsafeConfiguration, match="MAIL_DEFAULT_SENDER"):
            create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.setenv("MAIL_DEFAULT_SENDER", "")
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert default_sender(app.config).endswith("<no-reply@ssi.example.org>")
