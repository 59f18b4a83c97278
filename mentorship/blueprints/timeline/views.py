from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...access import COMMENT, EDIT, LIST, VIEW, get_or_404, may, require, valid_id
from ...extensions import db
from ...models import (
    Cohort,
    Milestone,
    MilestoneTemplate,
    Participation,
    ParticipationRole,
    StepFact,
    TemplateStep,
)
from ...models.library import COOPERATIVE_SYSTEMS
from ...services import at_risk as at_risk_service
from ...services import milestone_facts, toolkit
from ...services import milestones as service
from ...services.risk import RiskLevel, RiskSettings
from ...tables import Column, csv_response, paginate_list
from ...templating import local_today
from ..records import commit_or_show, recent_changes, save_from_form
from . import bp
from .forms import CommentForm, DoneForm, FactMilestoneForm, MilestoneForm, PublishForm, StepForm

RISK_COLUMNS = [
    Column(
        "Library",
        lambda r: r.participation.library.name,
        link=lambda r: url_for("timeline.timeline", participation_id=r.participation.id),
    ),
    Column("Status", lambda r: r.level.label),
    Column("Cohort", lambda r: r.participation.cohort.name),
    Column("Cooperative system", lambda r: r.participation.library.cooperative_system),
    Column("Month", lambda r: r.months_elapsed, numeric=True),
    Column("Steps open", lambda r: r.open_steps, numeric=True),
    Column("Reasons", lambda r: " · ".join(r.reasons) or "—"),
]


def _timeline_url(participation_id: int) -> str:
    return url_for("timeline.timeline", participation_id=participation_id)


# A pilot's timeline ---------------------------------------------------------------


@bp.get("/participations/<int:participation_id>/timeline")
@require(VIEW, Milestone)
def timeline(participation_id: int):
    participation = get_or_404(Participation, participation_id, VIEW)
    if participation.role != ParticipationRole.PILOT:
        abort(404)
    return _timeline_page(participation)


def _timeline_page(participation: Participation, done: tuple[int, DoneForm] | None = None):
    """`done`: a refused "Mark done" form, drawn again beside its milestone."""
    today = local_today()
    names = milestone_facts.stage_names()
    return render_template(
        "timeline/timeline.html",
        timeline=service.timeline_of(participation, today, comments=True),
        today=today,
        fact_of=lambda milestone: milestone_facts.describe(milestone, names),
        where_recorded=_where_recorded,
        may_edit=may(current_user, EDIT, Milestone(participation=participation)),
        done=done,
    )


@bp.route("/milestones/<int:milestone_id>", methods=["GET", "POST"])
@require(VIEW, Milestone)
def milestone(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id, VIEW)
    form = _milestone_form(milestone)
    status = 200
    if request.method == "POST":
        if not may(current_user, EDIT, milestone):
            abort(404)
        if form.validate_on_submit():
            saved = commit_or_show(
                form,
                lambda: (
                    service.update_milestone(
                        milestone, form.values(), form.version.data, current_user, local_today()
                    )
                    or True
                ),
            )
            if saved:
                flash(f"“{milestone.title}” was saved.", "success")
                return redirect(url_for("timeline.milestone", milestone_id=milestone.id))
            db.session.refresh(milestone)  # show what the other person saved
            # Saving again, having seen the other change, is a knowing choice.
            form.version.data, form.version.raw_data = milestone.version, [str(milestone.version)]
        status = 409 if form.errors == {} else 400
    return _milestone_page(milestone, form, CommentForm(), status)


def _milestone_form(milestone: Milestone) -> MilestoneForm:
    if milestone.completed_by:
        return FactMilestoneForm(obj=milestone, milestone=milestone)
    return MilestoneForm(obj=milestone)


def _where_recorded(milestone: Milestone) -> tuple[str, str]:
    """Where the fact that completes a milestone is recorded: (link text, address)."""
    if milestone.completed_by == StepFact.LETTER_SIGNED:
        return "the commitment letter", url_for(
            "partnerships.letter", participation_id=milestone.participation_id
        )
    places = {
        StepFact.STAGE_REACHED: ("the stage of {}", "stages"),
        StepFact.AGREEMENT_IN_EFFECT: ("the agreements with {}", "agreements"),
        StepFact.FIRST_OUTCOME_REPORT: ("the outcome figures of {}", "figures"),
    }
    what, anchor = places[milestone.completed_by]
    if milestone.partnership_id:
        return what.format(milestone.partnership.district.name), url_for(
            "partnerships.show", partnership_id=milestone.partnership_id
        ) + f"#{anchor}"
    return what.format("each partner district"), url_for(
        "partnerships.library_partners", library_id=milestone.library_id
    )


def _milestone_page(milestone, form, comment_form, status=200):
    fact = None
    if milestone.completed_by:
        fact = (
            milestone_facts.describe(milestone, milestone_facts.stage_names()),
            *_where_recorded(milestone),
        )
    return (
        render_template(
            "timeline/milestone.html",
            fact=fact,
            milestone=milestone,
            form=form,
            comment_form=comment_form,
            may_edit=may(current_user, EDIT, milestone),
            may_comment=may(current_user, COMMENT, milestone),
            changes=recent_changes(milestone, limit=20),
        ),
        status,
    )


@bp.post("/milestones/<int:milestone_id>/done")
@require(EDIT, Milestone)
def mark_done(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id, EDIT)
    form = DoneForm()
    back = _timeline_url(milestone.participation_id) + f"#m{milestone.id}"

    def refused():
        if form.errors and milestone.is_open and not milestone.completed_by:
            return _timeline_page(milestone.participation, (milestone.id, form))
        # A stale button (someone saved the milestone meanwhile, or it is closed and its
        # form gone) has nothing to correct: back to the timeline as it now is.
        for errors in form.errors.values():
            flash(" ".join(errors), "error")
        return redirect(back)

    return save_from_form(
        form,
        lambda: service.update_milestone(
            milestone,
            {"status": "done", "done_on": form.done_on.data},
            form.version.data,
            current_user,
            local_today(),
        ),
        f"Done: {milestone.title}.",
        back,
        refused,
    )


@bp.post("/milestones/<int:milestone_id>/comments")
@require(VIEW, Milestone)
def comment(milestone_id: int):
    milestone = get_or_404(Milestone, milestone_id, VIEW)
    if not may(current_user, COMMENT, milestone):
        abort(404)
    form = CommentForm()
    return save_from_form(
        form,
        lambda: service.add_comment(milestone, form.body.data, current_user),
        "Your comment was added.",
        url_for("timeline.milestone", milestone_id=milestone.id) + "#comments",
        lambda: _milestone_page(milestone, _milestone_form(milestone), form),
    )


# Staff: pilots at risk ------------------------------------------------------------


@bp.get("/at-risk")
@require(LIST, Milestone)
def at_risk():
    levels = {level.name.lower(): level for level in RiskLevel}
    chosen = at_risk_service.AtRiskFilter(
        cohort_id=valid_id(request.args.get("cohort", type=int)),
        system=request.args.get("system", "") or None,
        level=levels.get(request.args.get("level", "")),
    )
    today, settings = local_today(), RiskSettings.from_config(current_app.config)
    if request.args.get("format") == "csv":
        rows = at_risk_service.every_row(chosen, today, settings)
        return csv_response("pilots-at-risk", RISK_COLUMNS, rows)
    ranked = at_risk_service.ranked_pilots(chosen, today, settings)
    page = paginate_list(
        at_risk_service.of_level(ranked, chosen.level), current_app.config["PER_PAGE"]
    )
    cohorts = db.session.scalars(db.select(Cohort).order_by(Cohort.start_date.desc())).all()
    return render_template(
        "timeline/at_risk.html",
        page=page,
        rows=at_risk_service.explain(page.items, today, settings),
        counts=at_risk_service.level_counts(ranked),
        columns=RISK_COLUMNS,
        cohorts=cohorts,
        systems=COOPERATIVE_SYSTEMS,
        chosen=chosen,
        levels=levels,
    )


# Staff: the plan ------------------------------------------------------------------


@bp.get("/plan")
@require(EDIT, MilestoneTemplate)
def plan():
    current, draft = service.plan_to_show(), service.existing_draft()
    names = milestone_facts.stage_names()
    return render_template(
        "timeline/plan.html",
        current=current,
        draft=draft,
        change=service.plan_change(draft) if draft else None,
        fact_of=lambda step: milestone_facts.describe(step, names),
    )


def _step_form(step: TemplateStep | None = None) -> StepForm:
    form = StepForm(obj=step)
    form.completed_by_stage.choices = [("", "—")] + [
        (position, name) for position, name in sorted(milestone_facts.stage_names().items())
    ]
    kit = toolkit.toolkit_from(Path(current_app.config["TOOLKIT_DIR"]), watch=current_app.debug)
    pages = [("", "No toolkit page")] + [
        (page.slug, f"{section}: {page.title}")
        for section, pages in kit.sections()
        for page in pages
    ]
    if step and step.toolkit_page and step.toolkit_page not in kit.pages:  # a page since gone
        pages.append((step.toolkit_page, f"{step.toolkit_page} (no longer in the toolkit)"))
    form.toolkit_page.choices = pages
    return form


@bp.route("/plan/draft/steps/new", methods=["GET", "POST"])
@require(EDIT, MilestoneTemplate)
def new_step():
    form = _step_form()
    return save_from_form(
        form,
        lambda: service.add_step(service.draft_template(current_user), form.values(), current_user),
        lambda added: f"“{added.title}” was added to the draft.",
        url_for("timeline.plan"),
        lambda: render_template("timeline/step_form.html", form=form, step=None),
    )


@bp.route("/plan/steps/<int:step_id>/edit", methods=["GET", "POST"])
@require(EDIT, MilestoneTemplate)
def edit_step(step_id: int):
    step = get_or_404(TemplateStep, step_id, EDIT)
    draft = service.existing_draft()
    if not step.template.is_draft:
        if draft is not None:  # the draft's copy of the step, if it still has one
            copy = next((s for s in draft.steps if s.key == step.key), None)
            return redirect(url_for("timeline.edit_step", step_id=copy.id if copy else step.id))
        if request.method == "GET" and "draft" not in request.args:
            # The form changes the step in the next draft; saving it starts the draft.
            return redirect(url_for("timeline.edit_step", step_id=step.id, draft=1))
    form = _step_form(step)

    def save():
        target = step
        if not target.template.is_draft:
            started = service.draft_template(current_user)
            target = next(s for s in started.steps if s.key == step.key)
        return service.update_step(target, form.values(), current_user)

    return save_from_form(
        form,
        save,
        f"“{step.title}” was changed in the draft.",
        url_for("timeline.plan"),
        lambda: render_template("timeline/step_form.html", form=form, step=step),
    )


@bp.post("/plan/steps/<int:step_id>/remove")
@require(EDIT, MilestoneTemplate)
def remove_step(step_id: int):
    step = get_or_404(TemplateStep, step_id, EDIT)
    if step.template.is_draft:
        service.remove_step(step, current_user)
        db.session.commit()
        flash(f"“{step.title}” was removed from the draft.", "success")
    return redirect(url_for("timeline.plan"))


@bp.route("/plan/draft/publish", methods=["GET", "POST"])
@require(EDIT, MilestoneTemplate)
def publish():
    if request.method == "GET" and service.existing_draft() is None:
        # Nothing changed since the last version (no draft was started).
        return render_template("timeline/publish.html", draft=None, change=None, form=None)
    draft = service.draft_template(current_user)  # a POST: a second publish finds none
    change = service.plan_change(draft)
    today, grace_days = local_today(), current_app.config["STEP_GRACE_DAYS"]
    form = PublishForm()
    apply = lambda: form.apply_to_running.data == "yes"  # noqa: E731

    def page():
        db.session.commit()  # a POST that started a draft to show what it would publish
        shifts = service.status_shifts(
            draft, change, today, RiskSettings.from_config(current_app.config), grace_days
        )
        return render_template(
            "timeline/publish.html",
            draft=draft,
            change=change,
            shifts=shifts,
            grace_days=grace_days,
            form=form,
        )

    return save_from_form(
        form,
        lambda: service.publish(draft, apply(), current_user, today, grace_days),
        lambda _: (
            f"Version {draft.version} of the plan is published"
            + (f"; {change.pilots_touched} running pilots follow it." if apply() else ".")
        ),
        url_for("timeline.plan"),
        page,
    )
