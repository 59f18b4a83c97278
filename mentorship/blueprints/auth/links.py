"""Emails a signed, expiring link to set a password (new accounts and "forgot")."""

from flask import current_app, url_for

from ... import mail
from ...models import User
from ...services.auth import make_password_token
from ...services.people import invitation_text, reset_text


def send_password_link(user: User, invitation: bool) -> None:
    token = make_password_token(user, current_app.config["SECRET_KEY"])
    link = url_for("auth.set_password", token=token, _external=True)
    hours = current_app.config["PASSWORD_LINK_MAX_AGE"] // 3600
    subject, body = (invitation_text if invitation else reset_text)(user, link, hours)
    mail.send(mail.Mail(to=(user.email,), subject=subject, body=body))
