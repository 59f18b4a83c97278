from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...access import CHECK_IN, EDIT, VIEW, get_or_404, may_log_check_in, require
from ...extensions import db
from ...models import ActionItem, CheckIn, CheckInMode, Pairing
from ...services import checkins as service
from ...tables import Column, csv_response
from ...templating import local_today
from ..records import recent_changes, save_from_form
from . import bp
from .forms import CadenceForm, CheckInForm


def _action_items(check_in: CheckIn) -> str:
    return "; ".join(
        f"{item.text} ({item.owner_library.name}"
        + (f", due {item.due_on:%b %-d, %Y}" if item.due_on else "")
        + (", done)" if item.done else ")")
        for item in check_in.action_items
    )


CHECK_IN_COLUMNS = [
    Column("Day", lambda c: c.held_on),
    Column("How", lambda c: c.mode),
    Column("Who attended", lambda c: c.attendees),
    Column("Notes", lambda c: c.notes),
    Column("Logged by", lambda c: c.logged_by.name if c.logged_by else ""),
]
CSV_COLUMNS = [*CHECK_IN_COLUMNS, Column("Action items", _action_items)]


def _page_url(pairing_id: int) -> str:
    return url_for("checkins.show", pairing_id=pairing_id)


def _check_in_form(pairing: Pairing, **kwargs) -> CheckInForm:
    form = CheckInForm(**kwargs)
    form.set_owners([pairing.pilot.library, pairing.mentor.library])
    return form


def _blank_check_in_form(pairing: Pairing) -> CheckInForm:
    """Today's meeting by video, unless the person says otherwise."""
    return _check_in_form(
        pairing, formdata=None, data={"held_on": local_today(), "mode": CheckInMode.VIDEO.value}
    )


def _page(pairing: Pairing, form: CheckInForm, cadence_form: CadenceForm):
    today = local_today()
    return render_template(
        "checkins/show.html",
        pairing=pairing,
        next_check_in=service.next_check_in(pairing, today),
        check_ins=service.check_ins_of(pairing),
        columns=CHECK_IN_COLUMNS,
        form=form,
        cadence_form=cadence_form,
        may_log=may_log_check_in(current_user, pairing),
        changes=recent_changes(pairing) if current_user.is_staff else [],
    )


@bp.get("/pairings/<int:pairing_id>/check-ins")
@require(VIEW, Pairing)
def show(pairing_id: int):
    pairing = get_or_404(Pairing, pairing_id, VIEW)
    if request.args.get("format") == "csv":
        return csv_response(f"check-ins-{pairing.id}", CSV_COLUMNS, service.check_ins_of(pairing))
    return _page(pairing, _blank_check_in_form(pairing), CadenceForm(obj=pairing))


@bp.post("/pairings/<int:pairing_id>/check-ins")
@require(CHECK_IN, Pairing)
def log(pairing_id: int):
    pairing = get_or_404(Pairing, pairing_id, CHECK_IN)
    form = _check_in_form(pairing)

    def logged(check_in: CheckIn) -> str:
        next_on = pairing.next_checkin_on
        return f"The check-in of {check_in.held_on:%b %-d, %Y} was logged." + (
            f" Next check-in: {next_on:%b %-d, %Y}." if next_on else ""
        )

    return save_from_form(
        form,
        lambda: service.log_check_in(
            pairing, form.values(), form.action_items(), current_user, local_today()
        ),
        logged,
        _page_url(pairing.id),
        lambda: _page(pairing, form, CadenceForm(formdata=None, obj=pairing)),
    )


@bp.post("/pairings/<int:pairing_id>/cadence")
@require(CHECK_IN, Pairing)
def cadence(pairing_id: int):
    pairing = get_or_404(Pairing, pairing_id, CHECK_IN)
    form = CadenceForm()
    return save_from_form(
        form,
        lambda: service.set_cadence(pairing, form.cadence.data, current_user),
        lambda _: f"You now meet {pairing.cadence.value}.",
        _page_url(pairing.id),
        lambda: _page(pairing, _blank_check_in_form(pairing), form),
    )


@bp.post("/action-items/<int:item_id>/done")
@require(EDIT, ActionItem)
def set_done(item_id: int):
    item = get_or_404(ActionItem, item_id, EDIT)
    done = request.form.get("done") == "1"
    service.set_action_item_done(item, done, current_user)
    db.session.commit()
    flash(f"“{item.name}” is {'done' if done else 'open again'}.", "success")
    return redirect(_page_url(item.check_in.pairing_id) + f"#check-in-{item.check_in_id}")
