import hashlib
import hmac
from urllib.parse import urlsplit

from flask import current_app, flash, g, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_user, logout_user

from ...extensions import db, limiter
from ...services import auth as auth_service
from ..records import form_page, save_from_form
from . import bp
from .forms import ForgotPasswordForm, LoginForm, SetPasswordForm
from .links import send_reset_link_after


def _safe_next(target: str | None) -> str:
    """Only a path on this site; anything else goes home (no open redirect)."""
    if target and target.isprintable():  # no CR/LF: a header cannot carry them (500)
        parts = urlsplit(target)
        if (
            not parts.scheme
            and not parts.netloc
            and target.startswith("/")
            and not target.startswith("//")
        ):
            return target
    return url_for("home.index")


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


def _account_limit() -> str:
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def _account_key() -> str:
    """The account a sign-in or reset is for, *from this address*.

    Counting per account alone let anyone lock a person out from everywhere by typing
    their email a few times; per account and address, only the typist's own address is
    slowed. Keyed by a digest of the normalised email and the address, so the shared store
    (Redis) never holds either, and unknown emails are counted just like known ones."""
    email = auth_service.normalise_email(request.form.get("email", ""))
    secret = current_app.config["SECRET_KEY"].encode()
    subject = f"{email}\n{get_remote_address()}".encode()
    return "account:" + hmac.new(secret, subject, hashlib.sha256).hexdigest()[:32]


# Per address (one host trying many accounts) and per account from that address.
# Each endpoint counts apart: being locked out of sign-in still lets a person ask for a link.
per_address = limiter.limit(_login_limit, methods=["POST"])
per_account = limiter.limit(_account_limit, key_func=_account_key, methods=["POST"])


@bp.route("/login", methods=["GET", "POST"])
@per_address
@per_account
def login():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if form.validate_on_submit():
        result = auth_service.authenticate(form.email.data, form.password.data)
        if result.user:
            db.session.commit()  # last sign-in time
            # A fresh session (and so a fresh CSRF token): nothing from before sign-in is
            # carried into it, so a planted cookie or token cannot ride along.
            _fresh_session()
            login_user(result.user, remember=form.remember.data)
            return redirect(_safe_next(request.args.get("next")))
        form.password.errors.append(result.message)
    return form_page(render_template("auth/login.html", form=form))


def _fresh_session() -> None:
    session.clear()
    # Flask-WTF keeps the token it made in `g`: one made earlier in this app context
    # belongs to the old session and would be refused.
    g.pop("csrf_token", None)


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        # Ends the session on the server: the cookie (and a remember-me cookie) carries
        # the person's session token, which is replaced here, so a copy of either no
        # longer works. This signs the person out on their other devices too.
        auth_service.end_sessions(current_user._get_current_object())
        db.session.commit()
        logout_user()
        _fresh_session()  # nothing of the signed-in session stays (its CSRF token neither)
    flash("You are signed out.", "success")
    return redirect(url_for("auth.login"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@per_address
@per_account
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = auth_service.find_user_by_email(form.email.data)
        # The same answer, in the same time, either way: the page reveals no accounts.
        flash(
            "If an account uses that address, a link to set a new password is on its way.",
            "success",
        )
        response = redirect(url_for("auth.login"))
        if user and user.active:
            send_reset_link_after(response, user.id)
        return response
    return form_page(render_template("auth/forgot_password.html", form=form))


@bp.route("/set-password/<token>", methods=["GET", "POST"])
def set_password(token: str):
    try:
        user = auth_service.user_from_password_token(
            token, current_app.config["SECRET_KEY"], current_app.config["PASSWORD_LINK_MAX_AGE"]
        )
    except auth_service.InvalidLink as error:
        return render_template("auth/link_invalid.html", message=str(error)), 400
    form = SetPasswordForm()
    return save_from_form(
        form,
        lambda: auth_service.set_password(user, form.password.data, actor=user),
        "Your password is set and you are signed in.",
        url_for("home.index"),
        lambda: render_template("auth/set_password.html", form=form, user=user),
        after=lambda _: _sign_in_afresh(user),
    )


def _sign_in_afresh(user) -> None:
    # The link proved who they are: signed in at once, in a fresh session (any other
    # session ended with the password change).
    logout_user()
    _fresh_session()  # a new CSRF token too, as at sign-in
    login_user(user)
