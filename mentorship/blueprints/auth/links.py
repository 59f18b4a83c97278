"""Emails a signed, expiring link to set a password (new accounts and "forgot")."""

from flask import current_app, url_for

from ... import mail
from ...models import User
from ...services.auth import make_password_token
from ...services.people import invitation_text, reset_text


def send_password_link(user: User, invitation: bool) -> None:
    token = make_password_token(user, current_app.config["SECRET_KEY"])
    # BASE_URL, not the request host: the address people can reach, behind any proxy.
    link = current_app.config["BASE_URL"].rstrip("/") + url_for("auth.set_password", token=token)
    hours = current_app.config["PASSWORD_LINK_MAX_AGE"] // 3600
    subject, body = (invitation_text if invitation else reset_text)(user, link, hours)
    mail.send(mail.Mail(to=(user.email,), subject=subject, body=body))
