"""Staff issue, list and revoke the bearer tokens of the read-only JSON API."""

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_login import current_user

from ...access import CREATE, DEACTIVATE, LIST, VIEW, get_or_404, may, require
from ...extensions import db
from ...models import ApiToken
from ...services import api_tokens as service
from ...services.errors import Conflict
from ...tables import Column, csv_response
from ...templating import local_datetime
from ..records import commit_or_show, form_page, recent_changes
from . import bp
from .forms import ApiTokenForm

COLUMNS = [
    Column(
        "Name",
        lambda t: t.name,
        link=lambda t: url_for("api_tokens.show", token_id=t.id),
    ),
    Column("For", lambda t: f"{t.user.name} ({t.user.email})"),
    Column("Prefix", lambda t: f"{t.prefix}…"),
    Column("Status", service.token_status),
    Column("Created", lambda t: local_datetime(t.created_at)),
    Column("Created by", lambda t: t.created_by.name if t.created_by else ""),
    Column("Last used", lambda t: local_datetime(t.last_used_at) or "never"),
    Column("Revoked", lambda t: local_datetime(t.revoked_at)),
]


@bp.get("/")
@require(LIST, ApiToken)
def index():
    tokens = service.all_tokens()  # a handful per program: one page, no paging
    if request.args.get("format") == "csv":
        return csv_response("api-tokens", COLUMNS, tokens)
    return render_template(
        "api_tokens/index.html",
        tokens=tokens,
        columns=COLUMNS,
        may_create=may(current_user, CREATE, ApiToken),
    )


@bp.route("/new", methods=["GET", "POST"])
@require(CREATE, ApiToken)
def new():
    form = ApiTokenForm()
    if form.validate_on_submit():
        issued = commit_or_show(
            form,
            lambda: service.issue_token(form.user_id.data, form.name.data, current_user),
        )
        if issued is not None:
            token, secret = issued
            # The only time the token is ever shown: never cache this page.
            response = make_response(
                render_template("api_tokens/issued.html", token=token, secret=secret)
            )
            response.headers["Cache-Control"] = "no-store"
            return response
    return form_page(render_template("api_tokens/new.html", form=form))


@bp.get("/<int:token_id>")
@require(VIEW, ApiToken)
def show(token_id: int):
    token = get_or_404(ApiToken, token_id, VIEW)
    return render_template(
        "api_tokens/show.html",
        token=token,
        status=service.token_status(token),
        changes=recent_changes(token),
    )


@bp.post("/<int:token_id>/revoke")
@require(DEACTIVATE, ApiToken)
def revoke(token_id: int):
    token = get_or_404(ApiToken, token_id, DEACTIVATE)
    try:
        service.revoke_token(token, current_user)
        db.session.commit()
        flash(f"The token “{token.name}” was revoked: it no longer works.", "success")
    except Conflict as error:  # a second click, or another staff member was first
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url_for("api_tokens.index"))
