"""The one way email leaves the app: real SMTP, or the log when no server is set.

Messages are built with the standard library's `email` package (`message`). The
reminder sender talks SMTP itself through `Outgoing`, one message per connection at a
time and each in two steps, so that it can record a message between them and tell a
refusal of the message from a server that cannot be reached.
"""

from __future__ import annotations

import base64
import io
import logging
import re
import secrets
import smtplib
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email import charset as email_charset
from email.generator import BytesGenerator
from email.header import Header
from email.message import Message
from email.policy import Compat32
from email.utils import format_datetime, parseaddr
from urllib.parse import urlsplit

from flask import current_app
from markupsafe import escape

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str
    html: str = ""  # an HTML alternative of the same text: the inside of <body>
    headers: tuple[tuple[str, str], ...] = ()  # e.g. List-Unsubscribe
    message_id: str = ""  # stable per outbox row; empty: a new one


def default_sender(config) -> str:
    """MAIL_DEFAULT_SENDER, else no-reply at BASE_URL's host (never `@localhost` in
    production: config.check_settings refuses that)."""
    if config.get("MAIL_DEFAULT_SENDER"):
        return config["MAIL_DEFAULT_SENDER"]
    host = urlsplit(config.get("BASE_URL") or "").hostname or "localhost"
    return f"Student Success Initiative <no-reply@{host}>"


def sender_domain(sender: str) -> str:
    return parseaddr(sender)[1].rpartition("@")[2] or "localhost"


def _logged(mail: Mail) -> None:
    """Without MAIL_SERVER (development), the message goes to the log, readable."""
    log.warning(
        "MAIL_SERVER is not set; not sent:\nTo: %s\nSubject: %s\n\n%s",
        ", ".join(mail.to),
        mail.subject,
        mail.body,
    )


# Building messages ----------------------------------------------------------------


class _Policy(Compat32):
    """compat32 folding (RFC 5322: lines of at most 78 characters, folded at spaces; a
    long address moves to a line of its own rather than being encoded), with a shortcut
    for the common case of a short ASCII header, which needs no folding at all."""

    def fold_binary(self, name, value):
        if isinstance(value, str) and value.isascii() and not {"\r", "\n"} & set(value):
            if len(name) + len(value) + 2 <= self.max_line_length:
                return f"{name}: {value}{self.linesep}".encode("ascii")
            if " " not in value and len(value) + 1 <= self.max_line_length:
                # One long word (a link): on a line of its own, folded after the colon.
                return f"{name}:{self.linesep} {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


POLICY = _Policy(max_line_length=78, linesep="\r\n")
_UTF8 = email_charset.Charset("utf-8")
_UTF8.header_encoding = email_charset.BASE64  # linear in the length, unlike Q-encoding
_UTF8.body_encoding = email_charset.BASE64


def html_document(title: str, body: str, lang: str = "en") -> str:
    """An HTML part as a whole document: doctype, language, character set and title."""
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )


def _part(subtype: str, text: str) -> Message:
    part = Message(policy=POLICY)
    part["Content-Type"] = f'text/{subtype}; charset="utf-8"'
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64.encodebytes(text.encode()).decode())
    return part


def _one_line(value: str) -> str:
    """A line break in a value must never start a new header."""
    return " ".join(value.split())


def message(mail: Mail, sender: str, now: datetime | None = None) -> bytes:
    """The message as SMTP carries it (CRLF lines, before dot-stuffing): plain text, with
    a whole HTML document as its alternative when there is one."""
    msg = Message(policy=POLICY)
    subject = _one_line(mail.subject)
    msg["From"] = sender
    msg["To"] = ", ".join(mail.to)
    msg["Subject"] = subject if subject.isascii() else Header(subject, _UTF8)
    msg["Date"] = format_datetime(now or datetime.now(UTC))  # +0000: UTC, known to be
    msg["Message-ID"] = mail.message_id or _new_message_id(sender)
    for name, value in mail.headers:
        msg[name] = _one_line(value)
    msg["MIME-Version"] = "1.0"
    if mail.html:
        language = current_app.config.get("MAIL_LANGUAGE", "en") if current_app else "en"
        # "=_" never occurs in base64 or in the parts' headers, so the generator need not
        # search the text for it (which costs as much as the rest of the message).
        msg["Content-Type"] = f'multipart/alternative; boundary="=_{secrets.token_hex(12)}"'
        msg.set_payload(
            [
                _part("plain", mail.body),
                _part("html", html_document(subject, mail.html, language)),
            ]
        )
    else:
        msg["Content-Type"] = 'text/plain; charset="utf-8"'
        msg["Content-Transfer-Encoding"] = "base64"
        msg.set_payload(base64.encodebytes(mail.body.encode()).decode())
    out = io.BytesIO()
    BytesGenerator(out, policy=POLICY).flatten(msg)
    return out.getvalue()


def _new_message_id(sender: str) -> str:
    return f"<{secrets.token_hex(16)}@{sender_domain(sender)}>"


_LEADING_DOT = re.compile(rb"^\.", re.MULTILINE)


def _data(raw: bytes) -> bytes:
    """DATA's content: dot-stuffed (RFC 5321 4.5.2), ending with CRLF but not the dot."""
    if not raw.endswith(b"\r\n"):
        raw += b"\r\n"
    return _LEADING_DOT.sub(b"..", raw)


# One-off sending (invitations, notices) ---------------------------------------------


@contextmanager
def _smtp() -> Iterator[smtplib.SMTP]:
    config = current_app.config
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    with smtp_class(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    ) as smtp:
        if config["MAIL_USE_TLS"]:
            smtp.starttls()
        if config["MAIL_USERNAME"]:
            smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
        yield smtp


def send(mail: Mail) -> None:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        _logged(mail)
        return
    sender = default_sender(config)
    with _smtp() as smtp:
        smtp.sendmail(parseaddr(sender)[1], list(mail.to), message(mail, sender))


# The reminder sender's SMTP ---------------------------------------------------------


class ServerTrouble(Exception):
    """The mail server could not be reached, went away, or answered for itself (421,
    or a refusal of our envelope sender): not the message's fault, so it costs the
    message none of its attempts."""


class Refused(Exception):
    """The server refused this message (a 4xx/5xx to its RCPT, DATA or final dot)."""

    def __init__(self, code: int, text: bytes | str):
        self.code = code
        self.text = text.decode(errors="replace") if isinstance(text, bytes) else text
        super().__init__(f"{code} {self.text}")


def _reply(smtp: smtplib.SMTP) -> tuple[int, bytes]:
    try:
        code, text = smtp.getreply()
    except (OSError, smtplib.SMTPException) as error:
        raise ServerTrouble(_describe(error)) from error
    if code == 421 or code == -1:  # "service not available, closing": the server's fault
        raise ServerTrouble(f"{code} {text.decode(errors='replace')}")
    return code, text


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:500]


class Outgoing:
    """A few SMTP connections ("slots"), each carrying one message at a time in two
    steps: `begin` (envelope, headers and body: everything but the final dot) and
    `finish` (the dots, then the replies). The server accepts a message only at its
    final dot, so the caller records the messages between the two steps. A slot whose
    connection failed is closed and opened again at the next `connect`."""

    def __init__(self, width: int):
        config = current_app.config
        self.config = config
        self.sender = default_sender(config)
        self.envelope_sender = parseaddr(self.sender)[1]
        self.logging_only = not config["MAIL_SERVER"]
        self.slots: list[smtplib.SMTP | None] = [None] * max(width, 1)
        self.last_error = ""
        self.reachable_noted = False  # the caller noted once that the server answers

    @property
    def width(self) -> int:
        return len(self.slots)

    def connect(self) -> list[int]:
        """Open every closed slot; returns the open ones. Raises ServerTrouble when none
        is open (the server is unreachable)."""
        if self.logging_only:
            return list(range(self.width))
        for index, smtp in enumerate(self.slots):
            if smtp is None:
                try:
                    self.slots[index] = self._open()
                except (OSError, smtplib.SMTPException) as error:
                    self.last_error = _describe(error)
        open_slots = [i for i, smtp in enumerate(self.slots) if smtp is not None]
        if not open_slots:
            raise ServerTrouble(self.last_error)
        return open_slots

    def _open(self) -> smtplib.SMTP:
        config = self.config
        smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
        smtp = smtp_class(
            config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
        )
        try:
            if config["MAIL_USE_TLS"]:
                smtp.starttls()
            if config["MAIL_USERNAME"]:
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"])
            smtp.ehlo_or_helo_if_needed()
            # The final dot is a tiny write after a database commit: without this, Nagle's
            # algorithm holds it back until the server's delayed ACK (tens of milliseconds).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def drop(self, slot: int) -> None:
        """Close a slot's connection at once: a message begun on it and not finished is
        dropped by the server (it never got its dot)."""
        smtp = self.slots[slot]
        self.slots[slot] = None
        if smtp is not None:
            smtp.close()

    def begin(self, slot: int, mail: Mail) -> None:
        """Everything of one message except its final dot. Raises Refused (the message's
        fault: the slot stays usable) or ServerTrouble (the slot is closed)."""
        if self.logging_only:
            _logged(mail)
            return
        smtp = self.slots[slot]
        commands = [f"MAIL FROM:<{self.envelope_sender}>"]
        commands += [f"RCPT TO:<{address}>" for address in mail.to] + ["DATA"]
        try:
            data = _data(message(mail, self.sender))
            if smtp.has_extn("pipelining"):  # RFC 2920: one write, then the replies
                smtp.send("".join(f"{command}\r\n" for command in commands))
                replies = [_reply(smtp) for _ in commands]
            else:
                replies = []
                for command in commands:
                    smtp.send(f"{command}\r\n")
                    replies.append(_reply(smtp))
                    if replies[-1][0] >= 400:
                        break
            mail_from, *rest = replies
            if mail_from[0] != 250:  # our envelope sender: the server's rule, not the message's
                raise ServerTrouble(f"MAIL FROM refused: {mail_from[0]} {mail_from[1]!r}")
            for (code, text), expected in zip(
                rest, [(250, 251)] * len(mail.to) + [(354,)], strict=False
            ):
                if code not in expected:
                    raise Refused(code, text)
            smtp.send(data)
        except Refused:
            try:
                smtp.rset()  # ready for the next message
            except (OSError, smtplib.SMTPException):
                self.drop(slot)
            raise
        except (OSError, smtplib.SMTPException, ServerTrouble) as error:
            self.drop(slot)
            raise (
                error if isinstance(error, ServerTrouble) else ServerTrouble(_describe(error))
            ) from error

    def write_dots(self, slots: list[int]) -> dict[int, ServerTrouble]:
        """The final dots of the messages begun on `slots`; the slots whose connection
        failed while writing are returned (their message may or may not have arrived)."""
        lost = {}
        if self.logging_only:
            return lost
        for slot in slots:
            try:
                self.slots[slot].send(b".\r\n")
            except (OSError, smtplib.SMTPException) as error:
                lost[slot] = ServerTrouble(_describe(error))
                self.drop(slot)
        return lost

    def read_replies(self, slots: list[int]) -> dict[int, Exception | None]:
        """The server's reply to each dot: None (250: accepted), Refused, or ServerTrouble
        (no reply: the connection failed after the dot)."""
        outcome: dict[int, Exception | None] = {}
        for slot in slots:
            if self.logging_only:
                outcome[slot] = None
                continue
            try:
                code, text = _reply(self.slots[slot])
                outcome[slot] = None if code == 250 else Refused(code, text)
            except ServerTrouble as trouble:
                outcome[slot] = trouble
                self.drop(slot)
        return outcome

    def close(self) -> None:
        for index, smtp in enumerate(self.slots):
            if smtp is not None:
                try:
                    smtp.quit()
                except (OSError, smtplib.SMTPException):
                    smtp.close()
                self.slots[index] = None


@contextmanager
def outgoing(connections: int = 1) -> Iterator[Outgoing]:
    sending = Outgoing(connections)
    try:
        yield sending
    finally:
        sending.close()
