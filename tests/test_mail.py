"""How messages are written: one-line headers, nothing injected, bodies intact."""

from __future__ import annotations

import email
from email.header import decode_header, make_header

from mentorship.mail import Mail, raw


def test_a_line_break_in_a_subject_cannot_add_a_header():
    message = raw(
        Mail(to=("priya@hayward.example",), subject="Launch\r\nBcc: spy@evil.example", body="x"),
        "SSI <no-reply@ssi.example>",
    )
    parsed = email.message_from_bytes(message)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Launch Bcc: spy@evil.example"


def test_unicode_subjects_and_bodies_survive_the_trip():
    subject = (
        "Hayward Public Library: “Kick-off with the mentor; readiness self-assessment” — ñandú"
    )
    body = "Hello,\n.a line that starts with a dot\nSee you soon.\n"
    parsed = email.message_from_bytes(
        raw(
            Mail(to=("a@b.example",), subject=subject, body=body, html="<p>Hi</p>"),
            "S <s@x.example>",
        )
    )
    assert str(make_header(decode_header(parsed["Subject"].replace("\r\n", "")))) == subject
    text, html = (part.get_payload(decode=True).decode() for part in parsed.get_payload())
    assert text == body and html == "<p>Hi</p>"
    assert all(
        not line.startswith(b".") for line in raw(Mail(("a@b",), ".", ".x"), "s@x").split(b"\r\n")
    )
