"""The one way email leaves the app: real SMTP, or the log when no server is set."""

from __future__ import annotations

import logging
import re
import smtplib
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formatdate, make_msgid, parseaddr

from flask import current_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    to: tuple[str, ...]
    subject: str
    body: str
    html: str = ""  # an HTML alternative of the same text
    headers: tuple[tuple[str, str], ...] = ()  # e.g. List-Unsubscribe


# CRLF line ends, as SMTP wants them; header lines up to RFC 5322's 998 characters, so a
# List-Unsubscribe address stays on one line.
POLICY = compat32.clone(linesep="\r\n", max_line_length=998)
UTF8 = Charset("utf-8")
UTF8.body_encoding = QP  # readable in any mail source view, safe over any relay


def build(mail: Mail, sender: str) -> Message:
    """The MIME message: plain text, with an HTML alternative when there is one."""
    text = MIMEText(mail.body, "plain", UTF8)
    if mail.html:
        message = MIMEMultipart("alternative")
        message.attach(text)
        message.attach(MIMEText(mail.html, "html", UTF8))
    else:
        message = text
    message["From"] = sender
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject if mail.subject.isascii() else Header(mail.subject, "utf-8")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    for name, value in mail.headers:
        message[name] = value
    return message


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
    message = build(mail, config["MAIL_DEFAULT_SENDER"])
    if not config["MAIL_SERVER"]:
        log.warning("MAIL_SERVER is not set; this message was not sent:\n%s", message)
        return
    with _smtp() as smtp:
        smtp.send_message(message)


class Outgoing:
    """One SMTP connection for many messages, each sent in two steps so the caller can
    record "sent" between them: the server only accepts a message at its final dot, so
    a sender killed before that dot sends nothing, and one killed after it has already
    recorded the message as sent."""

    def __init__(self, smtp: smtplib.SMTP | None, sender: str):
        self.smtp, self.sender = smtp, sender

    def send(self, mail: Mail, record_sent: Callable[[], None]) -> None:
        message = build(mail, self.sender)
        if self.smtp is None:
            log.warning("MAIL_SERVER is not set; this message was not sent:\n%s", message)
            record_sent()
            return
        smtp = self.smtp
        smtp.ehlo_or_helo_if_needed()
        try:
            self._ok(smtp.mail(parseaddr(self.sender)[1]), 250)
            for address in mail.to:
                self._ok(smtp.rcpt(address), 250, 251)
            self._ok(smtp.docmd("DATA"), 354)
        except smtplib.SMTPResponseException:
            smtp.rset()  # ready for the next message
            raise
        data = re.sub(rb"(?m)^\.", b"..", message.as_bytes(policy=POLICY))
        smtp.send(data if data.endswith(b"\r\n") else data + b"\r\n")
        try:
            record_sent()  # committed before the dot: never sent twice
        except BaseException:
            smtp.close()  # the server drops a message that never got its dot
            raise
        smtp.send(b".\r\n")
        self._ok(smtp.getreply(), 250)

    @staticmethod
    def _ok(reply: tuple[int, bytes], *codes: int) -> None:
        code, text = reply
        if code not in codes:
            raise smtplib.SMTPResponseException(code, text)


@contextmanager
def outgoing() -> Iterator[Outgoing]:
    config = current_app.config
    if not config["MAIL_SERVER"]:
        yield Outgoing(None, config["MAIL_DEFAULT_SENDER"])
        return
    with _smtp() as smtp:
        # The final dot is a tiny write after a database commit: without this, Nagle's
        # algorithm holds it back until the server's delayed ACK (tens of milliseconds).
        smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield Outgoing(smtp, config["MAIL_DEFAULT_SENDER"])
