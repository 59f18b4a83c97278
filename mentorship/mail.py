"""The one way email leaves the app: real SMTP, or the log when no server is set."""

from __future__ import annotations

import base64
import logging
import secrets
import smtplib
import socket
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from email.utils import formatdate, parseaddr

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str
    html: str = ""  # an HTML alternative of the same text
    headers: tuple[tuple[str, str], ...] = ()  # e.g. List-Unsubscribe


def _logged(mail: Mail) -> None:
    """Without MAIL_SERVER (development), the message goes to the log, readable."""
    log.warning(
        "MAIL_SERVER is not set; not sent:\nTo: %s\nSubject: %s\n\n%s",
        ", ".join(mail.to),
        mail.subject,
        mail.body,
    )


def raw(mail: Mail, sender: str) -> bytes:
    """The message as SMTP carries it: plain text, with an HTML alternative when there is
    one. Written out directly: the reminder sender makes tens of thousands, and the email
    package's header folding costs ~1 ms each. Headers stay single lines (RFC 5322
    allows 998), bodies are base64 (RFC 2045)."""
    boundary = f"=_{secrets.token_hex(12)}"
    one_line = " ".join(mail.subject.split())  # a line break must never start a new header
    subject = one_line if one_line.isascii() else _encoded_words(one_line)
    domain = sender.rpartition("@")[2].strip("> ") or "localhost"
    lines = [
        f"From: {sender}",
        f"To: {', '.join(mail.to)}",
        f"Subject: {subject}",
        f"Date: {formatdate(localtime=False)}",
        f"Message-ID: <{secrets.token_hex(16)}@{domain}>",
        "MIME-Version: 1.0",
        *(f"{name}: {' '.join(value.split())}" for name, value in mail.headers),
    ]
    parts = [("plain", mail.body)] + ([("html", mail.html)] if mail.html else [])
    if len(parts) > 1:
        lines += [f'Content-Type: multipart/alternative; boundary="{boundary}"', ""]
    for subtype, text in parts:
        if len(parts) > 1:
            lines.append(f"--{boundary}")
        lines += [
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: base64",
            "",
            base64.encodebytes(text.encode()).decode().replace("\n", "\r\n").rstrip(),
        ]
    if len(parts) > 1:
        lines.append(f"--{boundary}--")
    return ("\r\n".join(lines) + "\r\n").encode()


def _encoded_words(text: str) -> str:
    """RFC 2047 base64 words of at most 45 bytes each, never splitting a character."""
    words, chunk = [], b""
    for character in text:
        encoded = character.encode()
        if len(chunk) + len(encoded) > 45:
            words.append(chunk)
            chunk = b""
        chunk += encoded
    words.append(chunk)
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w).decode()}?=" for w in words)


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
    sender = config["MAIL_DEFAULT_SENDER"]
    with _smtp() as smtp:
        smtp.sendmail(parseaddr(sender)[1], list(mail.to), raw(mail, sender))


class Outgoing:
    """Many messages over a few SMTP connections, each message sent in two steps so the
    caller can record "sent" between them. A server accepts a message only at its final
    dot: a sender killed before the record sends nothing, one killed after it has already
    recorded the message. With several connections, one record (one commit) covers a
    message in flight on each of them."""

    def __init__(self, connections: list[smtplib.SMTP], sender: str):
        self.connections, self.sender = connections, sender
        self.envelope_sender = parseaddr(sender)[1]

    @property
    def width(self) -> int:
        """How many messages `send_many` takes at once."""
        return max(len(self.connections), 1)

    def send_many(
        self, mails: list[Mail], record_sent: Callable[[list[int]], None]
    ) -> list[Exception | None]:
        """Send `mails` (at most `width`); `record_sent(indexes)` runs before the final dots.
        Returns, per mail, None when the server accepted it, or the refusal."""
        outcome: list[Exception | None] = [None] * len(mails)
        if not self.connections:
            for mail in mails:
                _logged(mail)
            record_sent(list(range(len(mails))))
            return outcome
        ready = []
        for index, (mail, smtp) in enumerate(zip(mails, self.connections, strict=False)):
            try:
                self._start(smtp, mail)
                ready.append(index)
            except smtplib.SMTPResponseException as refused:
                outcome[index] = refused
        if ready:
            try:
                record_sent(ready)  # committed before the dots: never sent twice
            except BaseException:
                for smtp in self.connections:
                    smtp.close()  # the server drops messages that never got their dot
                raise
            for index in ready:
                self.connections[index].send(b".\r\n")
            for index in ready:
                code, text = self.connections[index].getreply()
                if code != 250:
                    outcome[index] = smtplib.SMTPResponseException(code, text)
        return outcome

    def _start(self, smtp: smtplib.SMTP, mail: Mail) -> None:
        """Everything of one message except its final dot."""
        smtp.ehlo_or_helo_if_needed()
        commands = [f"MAIL FROM:<{self.envelope_sender}>"]
        commands += [f"RCPT TO:<{address}>" for address in mail.to] + ["DATA"]
        expected = [(250,)] + [(250, 251)] * len(mail.to) + [(354,)]
        try:
            if smtp.has_extn("pipelining"):  # RFC 2920: one write, then the replies
                smtp.send("".join(f"{command}\r\n" for command in commands))
                replies = [smtp.getreply() for _ in commands]
            else:
                replies = [smtp.docmd(command) for command in commands]
            for (code, text), codes in zip(replies, expected, strict=True):
                if code not in codes:
                    raise smtplib.SMTPResponseException(code, text)
        except smtplib.SMTPResponseException:
            smtp.rset()  # ready for the next message
            raise
        # No dot-stuffing needed: no line of `raw` can start with "." (headers, base64
        # lines and "--boundary" lines).
        smtp.send(raw(mail, self.sender))


@contextmanager
def outgoing(connections: int = 1) -> Iterator[Outgoing]:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        yield Outgoing([], config["MAIL_DEFAULT_SENDER"])
        return
    with ExitStack() as stack:
        opened = []
        for _ in range(connections):
            smtp = stack.enter_context(_smtp())
            # The final dot is a tiny write after a database commit: without this, Nagle's
            # algorithm holds it back until the server's delayed ACK (tens of milliseconds).
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            opened.append(smtp)
        yield Outgoing(opened, config["MAIL_DEFAULT_SENDER"])
