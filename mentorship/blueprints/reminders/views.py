import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ...access import EDIT, LIST, get_or_404, require
from ...extensions import csrf, db
from ...models import OutboxMessage, OutboxStatus, User
from ...services import outbox, reminders
from ...tables import Column, csv_response
from . import bp

OUTBOX_COLUMNS = [
    Column("Created", lambda m: m.created_at.strftime("%Y-%m-%d %H:%M")),
    Column("Kind", lambda m: m.kind),
    Column("To", lambda m: m.recipient.email),
    Column("Subject", lambda m: m.subject),
    Column("Status", lambda m: m.status),
    Column("Refusals", lambda m: m.attempts, numeric=True),
    Column("Reason or last error", lambda m: m.last_error),
    Column("X-Outbox-Key", lambda m: m.id, numeric=True),
]


@bp.route("/preferences", methods=["GET", "POST"])
@login_required
def preferences():
    kinds = reminders.kinds_for(current_user)
    if request.method == "POST":  # CSRF is checked for every POST by Flask-WTF
        wanted = {kind.key for kind in kinds if request.form.get(kind.key) == "on"}
        reminders.set_preferences(current_user, wanted)
        db.session.commit()
        flash("Your email choices were saved.", "success")
        return redirect(url_for("reminders.preferences"))
    return render_template(
        "reminders/preferences.html", kinds=kinds, opted_out=reminders.opted_out_kinds(current_user)
    )


# One click, no sign-in: the signed token is the proof (RFC 8058 mail clients POST here).
@bp.route(outbox.UNSUBSCRIBE_PATH + "<token>", methods=["GET", "POST"])
@csrf.exempt
def unsubscribe(token: str):
    found = outbox.read_unsubscribe_token(token)
    user = db.session.get(User, found[0]) if found else None
    kind = next((k for k in reminders.KINDS if found and k.key == found[1]), None)
    if user is None or kind is None:
        abort(404)
    if request.method == "POST":
        reminders.opt_out(user.id, kind.key)
        db.session.commit()
        return render_template("reminders/unsubscribed.html", kind=kind, user=user)
    return render_template("reminders/unsubscribe.html", kind=kind, user=user, token=token)


@bp.get("/outbox")
@require(LIST, OutboxMessage)
def outbox_page():
    status = request.args.get("status", OutboxStatus.FAILED.value)
    if status not in {s.value for s in OutboxStatus}:
        abort(404)
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == status)
        .options(sa.orm.joinedload(OutboxMessage.recipient))
        .order_by(OutboxMessage.id.desc())
    )
    if request.args.get("format") == "csv":
        return csv_response(f"outbox-{status}", OUTBOX_COLUMNS, db.session.scalars(query))
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"] * 2, error_out=False)
    return render_template(
        "reminders/outbox.html",
        page=page,
        columns=OUTBOX_COLUMNS,
        counts=outbox.status_counts(),
        status=status,
        last_decided=reminders.last_run("decide"),
        mail_server=outbox.mail_server_state(),
        retryable={s.value for s in outbox.RETRYABLE},
    )


@bp.post("/outbox/<int:message_id>/retry")
@require(EDIT, OutboxMessage)
def retry(message_id: int):
    message = get_or_404(OutboxMessage, message_id, EDIT)
    if message.status in outbox.RETRYABLE:
        outbox.retry(message)
        db.session.commit()
        flash(f"“{message.subject}” will be sent again.", "success")
    return redirect(url_for("reminders.outbox_page"))
