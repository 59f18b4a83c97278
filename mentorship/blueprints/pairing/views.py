from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ... import mail
from ...access import EDIT, get_or_404, may_propose_mentor, require
from ...extensions import db
from ...models import Cohort, Pairing, Participation, ParticipationRole
from ...services import pairing as pairing_service
from ...services.errors import DomainError
from ...templating import local_today
from . import bp


def _board_url(cohort_id: int) -> str:
    return url_for("pairing.board", cohort_id=cohort_id)


def _run(action, success: str, next_url: str):
    """One staff action, one transaction; a refusal is shown, nothing is stored."""
    try:
        action()
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        flash(success, "success")
    return redirect(next_url)


@bp.get("/cohorts/<int:cohort_id>")
@require(EDIT, Pairing)
def board(cohort_id: int):
    cohort = get_or_404(Cohort, cohort_id, EDIT)
    board = pairing_service.board(
        cohort.id,
        page=request.args.get("page", 1, type=int),
        mentors_page=request.args.get("mentors_page", 1, type=int),
        per_page=current_app.config["PER_PAGE"],
    )
    return render_template("pairing/board.html", cohort=cohort, **board)


@bp.post("/cohorts/<int:cohort_id>/propose-all")
@require(EDIT, Pairing)
def propose_all(cohort_id: int):
    cohort = get_or_404(Cohort, cohort_id, EDIT)
    result = pairing_service.propose_whole_cohort(cohort.id, current_user)
    db.session.commit()
    flash(f"{len(result.proposed)} pairings proposed. Review them, then publish.", "success")
    for pilot, reason in result.unmatched:
        flash(f"{pilot.library.name} could not be matched: {reason}.", "warning")
    return redirect(_board_url(cohort.id))


@bp.post("/cohorts/<int:cohort_id>/publish")
@require(EDIT, Pairing)
def publish(cohort_id: int):
    cohort = get_or_404(Cohort, cohort_id, EDIT)
    published = pairing_service.publish(cohort.id, local_today(), current_user)
    db.session.commit()
    for message in pairing_service.announcements(published):
        mail.send(message)
    flash(f"{len(published)} pairings published; both libraries' people were emailed.", "success")
    return redirect(_board_url(cohort.id))


@bp.get("/pilots/<int:participation_id>")
@require(EDIT, Pairing)
def suggestions(participation_id: int):
    pilot = get_or_404(Participation, participation_id, EDIT)
    if pilot.role != ParticipationRole.PILOT:
        abort(404)
    suggestions = pairing_service.suggestions_for(pilot)
    current = pairing_service.open_pairing_of(pilot.id)
    return render_template(
        "pairing/suggestions.html",
        pilot=pilot,
        suggestions=suggestions,
        current=current,
        proposable={
            s.mentor.id
            for s in suggestions
            if may_propose_mentor(current, s.mentor.id, s.places_left)
        },
    )


@bp.post("/pilots/<int:participation_id>/propose")
@require(EDIT, Pairing)
def propose(participation_id: int):
    pilot = get_or_404(Participation, participation_id, EDIT)
    mentor = get_or_404(Participation, request.form.get("mentor_id", type=int) or 0, EDIT)
    return _run(
        lambda: pairing_service.propose_instead(pilot, mentor, current_user),
        f"{mentor.library.name} is proposed as mentor of {pilot.library.name}.",
        _board_url(pilot.cohort_id),
    )


@bp.post("/<int:pairing_id>/remove")
@require(EDIT, Pairing)
def remove(pairing_id: int):
    pairing = get_or_404(Pairing, pairing_id, EDIT)
    cohort_id = pairing.pilot.cohort_id
    return _run(
        lambda: pairing_service.remove_proposal(pairing, current_user),
        "The proposal was removed.",
        _board_url(cohort_id),
    )


@bp.post("/<int:pairing_id>/end")
@require(EDIT, Pairing)
def end(pairing_id: int):
    pairing = get_or_404(Pairing, pairing_id, EDIT)
    return _run(
        lambda: pairing_service.end(pairing, local_today(), current_user),
        "The pairing was ended; it stays in the history.",
        _board_url(pairing.pilot.cohort_id),
    )
