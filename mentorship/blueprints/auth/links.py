"""Emails a signed, expiring link to set a password (new accounts and "forgot")."""

from __future__ import annotations

import logging

from flask import Flask, Response, current_app

from ... import mail
from ...extensions import db
from ...models import User
from ...services.auth import make_password_token
from ...services.people import invitation_text, reset_text

log = logging.getLogger(__name__)


def password_link(user: User) -> str:
    token = make_password_token(user, current_app.config["SECRET_KEY"])
    # BASE_URL, not the request host: the address people can reach, behind any proxy.
    # Built from the URL map, so it works after a request has ended, too.
    path = current_app.url_map.bind("").build("auth.set_password", {"token": token})
    return current_app.config["BASE_URL"].rstrip("/") + path


def send_password_link(user: User, invitation: bool) -> None:
    hours = current_app.config["PASSWORD_LINK_MAX_AGE"] // 3600
    subject, body = (invitation_text if invitation else reset_text)(
        user, password_link(user), hours
    )
    mail.send(mail.Mail(to=(user.email,), subject=subject, body=body))


def send_reset_link_after(response: Response, user_id: int) -> None:
    """Send a "forgot password" link once the answer has gone out.

    Talking to the mail server takes a known address a few hundred milliseconds that an
    unknown one would not: sent inside the request, the response time would tell whether
    an account exists. The WSGI server calls this when it closes the response, after
    the last byte was written, so both answers take the same time. Only the user's id
    is kept: the link (a secret) is made at sending time and stored nowhere. If sending
    fails the person sees no link and asks again; the failure is logged.
    """
    app = current_app._get_current_object()
    response.call_on_close(lambda: _send_reset(app, user_id))


def _send_reset(app: Flask, user_id: int) -> None:
    with app.app_context():
        try:
            user = db.session.get(User, user_id)
            if user is not None and user.active:
                send_password_link(user, invitation=False)
        except Exception:  # the answer is gone: nobody else would hear of this
            log.exception("The password link for user %s could not be sent", user_id)
