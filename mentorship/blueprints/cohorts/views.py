from flask import current_app, render_template, url_for
from flask_login import current_user

from ...access import CREATE, DEACTIVATE, EDIT, get_or_404, require
from ...extensions import db
from ...models import Cohort, Participation
from ...services import cohorts as cohort_service
from ...tables import Column, csv_response
from ..records import RecordPages, save_from_form, set_active_from_form
from . import bp
from .forms import CohortForm, ParticipationForm

PARTICIPATION_COLUMNS = [
    Column(
        "Library",
        lambda p: p.library.name,
        link=lambda p: url_for("libraries.show", object_id=p.library_id),
    ),
    Column("Role", lambda p: p.role),
    Column("County", lambda p: p.library.county),
    Column("Cooperative system", lambda p: p.library.cooperative_system),
    Column("Start", lambda p: p.start_date),
    Column("Target (months)", lambda p: p.target_months, numeric=True),
    Column("Active", lambda p: p.active),
    Column(
        "Change",
        lambda p: "Edit",
        link=lambda p: url_for("cohorts.edit_participation", participation_id=p.id),
    ),
]


def cohort_detail(cohort: Cohort) -> dict:
    """The counts cover the whole cohort; the table shows one page of its libraries."""
    page = db.paginate(
        cohort_service.participations_query(cohort.id),
        per_page=current_app.config["PER_PAGE"],
        error_out=False,
    )
    counts = cohort_service.role_counts([cohort.id]).get(cohort.id, {})
    return {"page": page, "columns": PARTICIPATION_COLUMNS, "counts": counts}


pages = RecordPages(
    model=Cohort,
    form_class=CohortForm,
    noun="cohort",
    plural="cohorts",
    columns=[
        Column("Cohort", lambda c: c.name, link=lambda c: url_for("cohorts.show", object_id=c.id)),
        Column("Start", lambda c: c.start_date),
        Column("End", lambda c: c.end_date),
        Column("Active", lambda c: c.active),
    ],
    search=[Cohort.name, Cohort.notes],
    order_by=Cohort.start_date.desc(),
    show_template="cohorts/show.html",
    detail_context=cohort_detail,
)
pages.register(bp)


@bp.get("/<int:object_id>/libraries.csv")
@require(EDIT, Cohort)
def participations_csv(object_id: int):
    cohort = get_or_404(Cohort, object_id, EDIT)
    query = cohort_service.participations_query(cohort.id)
    return csv_response(f"cohort-{cohort.id}-libraries", PARTICIPATION_COLUMNS[:-1], query)


@bp.route("/<int:object_id>/libraries/new", methods=["GET", "POST"])
@require(CREATE, Participation)
def add_participation(object_id: int):
    cohort = get_or_404(Cohort, object_id, EDIT)
    form = ParticipationForm(data={"start_date": cohort.start_date})
    return save_from_form(
        form,
        lambda: cohort_service.add_participation(cohort, form.values(), current_user),
        lambda added: f"{added.library.name} joined {cohort.name} as {added.role.value}.",
        url_for("cohorts.show", object_id=cohort.id),
        lambda: render_template(
            "cohorts/participation_form.html", form=form, cohort=cohort, participation=None
        ),
    )


@bp.route("/libraries/<int:participation_id>/edit", methods=["GET", "POST"])
@require(EDIT, Participation)
def edit_participation(participation_id: int):
    participation = get_or_404(Participation, participation_id, EDIT)
    form = ParticipationForm(obj=participation)
    return save_from_form(
        form,
        lambda: cohort_service.update_participation(participation, form.values(), current_user),
        "The participation was saved.",
        url_for("cohorts.show", object_id=participation.cohort_id),
        lambda: render_template(
            "cohorts/participation_form.html",
            form=form,
            cohort=participation.cohort,
            participation=participation,
        ),
    )


@bp.post("/libraries/<int:participation_id>/active")
@require(DEACTIVATE, Participation)
def set_participation_active(participation_id: int):
    participation = get_or_404(Participation, participation_id, DEACTIVATE)
    return set_active_from_form(
        participation,
        f"{participation.library.name} in this cohort",
        url_for("cohorts.show", object_id=participation.cohort_id),
    )
