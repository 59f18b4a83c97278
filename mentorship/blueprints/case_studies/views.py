from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ... import mail
from ...access import (
    COMMENT,
    CREATE,
    EDIT,
    LIST,
    MODERATE,
    REVIEW,
    VIEW,
    case_study_choices,
    get_or_404,
    may,
    require,
    visible_case_study_drafts,
)
from ...extensions import db
from ...models import CardModel, CaseStudy, CaseStudyComment, DistrictSize, Library
from ...models.library import COOPERATIVE_SYSTEMS
from ...services import case_studies as service
from ...services.errors import ValidationError
from ...tables import Column, csv_response, figure_columns
from ..records import commit_or_show, recent_changes, save_from_form
from . import bp, operations
from .forms import CaseStudyForm, CommentForm, HideForm, SendBackForm, WithdrawForm


def _url(case_study: CaseStudy, **anchor) -> str:
    return url_for("case_studies.show", case_study_id=case_study.id, **anchor)


PUBLISHED_COLUMNS = [
    Column("Title", lambda cs: cs.title, link=_url),
    Column("Library", lambda cs: cs.library.name),
    Column("Summary", lambda cs: cs.summary),
    Column("Region", lambda cs: cs.region),
    Column("Card model", lambda cs: cs.card_model),
    Column("District size", lambda cs: cs.district_size),
    Column("Published", lambda cs: cs.published_at.date() if cs.published_at else None),
]
DRAFT_COLUMNS = [
    Column("Title", lambda cs: cs.title, link=_url),
    Column("Library", lambda cs: cs.library.name),
    Column("Status", lambda cs: cs.status),
    Column("Submitted", lambda cs: cs.submitted_at.date() if cs.submitted_at else None),
]
FIGURE_COLUMNS = [
    Column("School district", lambda row: row.district),
    *figure_columns(lambda row: row.figures, partnerships=False),
]
TAGS = ("card_model", "district_size", "region")


@bp.get("/")
@require(LIST, CaseStudy)
def index():
    filters = {tag: request.args.get(tag, "") for tag in TAGS}
    query = service.published_query(filters)
    if request.args.get("format") == "csv":
        if request.args.get("part") == "drafts":
            return csv_response(
                "case-study-drafts",
                DRAFT_COLUMNS,
                service.drafts_where(visible_case_study_drafts(current_user)),
            )
        return csv_response("case-studies", PUBLISHED_COLUMNS, db.session.scalars(query))
    return render_template(
        "case_studies/index.html",
        page=db.paginate(query, per_page=current_app.config["PER_PAGE"], error_out=False),
        drafts=service.drafts_where(visible_case_study_drafts(current_user)),
        published_columns=PUBLISHED_COLUMNS,
        draft_columns=DRAFT_COLUMNS,
        filters=filters,
        card_models=list(CardModel),
        district_sizes=list(DistrictSize),
        regions=COOPERATIVE_SYSTEMS,
        may_create=may(current_user, CREATE, CaseStudy),
    )


def _libraries_for(form: CaseStudyForm) -> None:
    """Staff pick the library; a librarian's case study is their own library's."""
    if current_user.is_staff:
        libraries = db.session.scalars(
            db.select(Library).where(Library.active.is_(True)).order_by(Library.name)
        )
        form.library_id.choices = [(0, "Choose a library")] + [(x.id, x.name) for x in libraries]
    else:
        del form.library_id


@bp.route("/new", methods=["GET", "POST"])
@require(CREATE, CaseStudy)
def new():
    form = CaseStudyForm()
    _libraries_for(form)

    def create() -> CaseStudy:
        library_id = form.library_id.data if "library_id" in form else current_user.library_id
        library = db.session.get(Library, library_id or 0)
        if library is None:
            raise ValidationError("Choose the library the case study is about.", "library_id")
        return operations.create(library, form.values(), current_user)

    return save_from_form(
        form,
        create,
        lambda made: f"Your draft “{made.title}” was saved.",
        _url,
        lambda: render_template("case_studies/form.html", form=form, case_study=None),
    )


@bp.get("/<int:case_study_id>")
@require(VIEW, CaseStudy)
def show(case_study_id: int):
    return _show_page(get_or_404(CaseStudy, case_study_id, VIEW))


def _show_page(case_study: CaseStudy, status: int = 200, **forms):
    # Who may comment is who may read comments: never state officials.
    threads = service.threads(case_study) if may(current_user, COMMENT, case_study) else []
    comments = [c for t in threads for c in (t.comment, *t.replies)]
    return (
        render_template(
            "case_studies/show.html",
            case_study=case_study,
            figures=service.figures_of(case_study.library_id),
            figure_columns=FIGURE_COLUMNS,
            threads=threads,
            comment_form=forms.get("comment_form") or CommentForm(),
            reply_forms={
                t.comment.id: forms.get(f"reply{t.comment.id}")
                or CommentForm(prefix=f"reply{t.comment.id}")
                for t in threads
            },
            hide_forms={
                c.id: forms.get(f"hide{c.id}") or HideForm(prefix=f"hide{c.id}")
                for c in comments
                if not c.hidden
            },
            send_back_form=forms.get("send_back") or SendBackForm(prefix="send-back"),
            withdraw_form=forms.get("withdraw") or WithdrawForm(prefix="withdraw"),
            editable={c.id for c in comments if service.may_still_edit(c, current_user)},
            allowed=case_study_choices(current_user, case_study),
            changes=recent_changes(case_study) if current_user.is_staff else [],
        ),
        status,
    )


@bp.get("/<int:case_study_id>/figures.csv")
@require(VIEW, CaseStudy)
def figures_csv(case_study_id: int):
    case_study = get_or_404(CaseStudy, case_study_id, VIEW)
    rows = service.figures_of(case_study.library_id).rows
    return csv_response(f"case-study-{case_study.id}-figures", FIGURE_COLUMNS, rows)


@bp.route("/<int:case_study_id>/edit", methods=["GET", "POST"])
@require(EDIT, CaseStudy)
def edit(case_study_id: int):
    case_study = get_or_404(CaseStudy, case_study_id, EDIT)
    form = CaseStudyForm(obj=case_study)
    del form.library_id
    return save_from_form(
        form,
        lambda: operations.update(case_study, form.values(), current_user),
        "Your changes were saved.",
        _url(case_study),
        lambda: render_template("case_studies/form.html", form=form, case_study=case_study),
    )


def _transition(case_study: CaseStudy, transition: service.Transition, run, form=None, key=""):
    """Run one workflow step as one transaction, then email the people concerned."""
    form = form or FlaskForm(meta={"csrf": False})  # a refusal without a field is flashed
    if commit_or_show(form, run):
        for message in service.notices(case_study, transition, current_user, _absolute(case_study)):
            mail.send(message)
        flash(f"The case study was {transition.done}.", "success")
        return redirect(_url(case_study))
    if form.errors:
        db.session.refresh(case_study)
        return _show_page(case_study, 400, **{key: form})
    return redirect(_url(case_study))


def _absolute(case_study: CaseStudy) -> str:
    return current_app.config["BASE_URL"].rstrip("/") + _url(case_study)


@bp.post("/<int:case_study_id>/submit")
@require(EDIT, CaseStudy)
def submit(case_study_id: int):
    case_study = get_or_404(CaseStudy, case_study_id, EDIT)
    return _transition(
        case_study, service.SUBMIT, lambda: operations.submit(case_study, current_user)
    )


@bp.post("/<int:case_study_id>/publish")
@require(REVIEW, CaseStudy)
def publish(case_study_id: int):
    case_study = get_or_404(CaseStudy, case_study_id, REVIEW)
    return _transition(
        case_study, service.PUBLISH, lambda: operations.publish(case_study, current_user)
    )


@bp.post("/<int:case_study_id>/send-back")
@require(REVIEW, CaseStudy)
def send_back(case_study_id: int):
    case_study = get_or_404(CaseStudy, case_study_id, REVIEW)
    form = SendBackForm(prefix="send-back")
    run = lambda: operations.send_back(case_study, form.reason.data, current_user)  # noqa: E731
    return _reasoned(case_study, service.SEND_BACK, form, run, "send_back")


@bp.post("/<int:case_study_id>/withdraw")
@require(REVIEW, CaseStudy)
def withdraw(case_study_id: int):
    case_study = get_or_404(CaseStudy, case_study_id, REVIEW)
    form = WithdrawForm(prefix="withdraw")
    run = lambda: operations.withdraw(case_study, form.reason.data, current_user)  # noqa: E731
    return _reasoned(case_study, service.WITHDRAW, form, run, "withdraw")


def _reasoned(case_study, transition, form, run, key):
    if case_study.status not in transition.from_states:
        # A stale page (another tab, another staff member): the form is no longer shown,
        # so an error beside it would be invisible. The service's refusal is flashed.
        return _transition(case_study, transition, run)
    if not form.validate_on_submit():
        return _show_page(case_study, 400, **{key: form})
    return _transition(case_study, transition, run, form, key)


# Comments ----------------------------------------------------------------------------


@bp.post("/<int:case_study_id>/comments")
@require(VIEW, CaseStudy)
def comment(case_study_id: int):
    case_study = get_or_404(CaseStudy, case_study_id, COMMENT)
    form = CommentForm()
    return save_from_form(
        form,
        lambda: operations.add_comment(case_study, form.body.data, current_user),
        "Your comment was added.",
        _url(case_study, _anchor="comments"),
        lambda: _show_page(case_study, comment_form=form),
    )


@bp.post("/<int:case_study_id>/comments/<int:comment_id>/replies")
@require(VIEW, CaseStudy)
def reply(case_study_id: int, comment_id: int):
    case_study = get_or_404(CaseStudy, case_study_id, COMMENT)
    parent = get_or_404(CaseStudyComment, comment_id, COMMENT)
    if parent.case_study_id != case_study.id:
        abort(404)
    form = CommentForm(prefix=f"reply{parent.id}")
    return save_from_form(
        form,
        lambda: operations.add_comment(case_study, form.body.data, current_user, parent),
        "Your reply was added.",
        _url(case_study, _anchor=f"c{parent.id}"),
        lambda: _show_page(case_study, **{f"reply{parent.id}": form}),
    )


def _comment_or_404(comment_id: int, action: str) -> CaseStudyComment:
    comment = get_or_404(CaseStudyComment, comment_id, action)
    if not may(current_user, VIEW, comment.case_study):
        abort(404)
    return comment


@bp.route("/comments/<int:comment_id>/edit", methods=["GET", "POST"])
@require(EDIT, CaseStudyComment)
def edit_comment(comment_id: int):
    comment = _comment_or_404(comment_id, EDIT)
    form = CommentForm(obj=comment)
    return save_from_form(
        form,
        lambda: operations.edit_comment(comment, form.body.data, current_user),
        "Your comment was changed.",
        _url(comment.case_study, _anchor=f"c{comment.id}"),
        lambda: render_template("case_studies/comment_form.html", form=form, comment=comment),
    )


@bp.post("/comments/<int:comment_id>/hide")
@require(MODERATE, CaseStudyComment)
def hide_comment(comment_id: int):
    comment = _comment_or_404(comment_id, MODERATE)
    if comment.hidden:  # a stale page: its form is gone, so say so rather than show errors
        flash("This comment is already hidden.", "info")
        return redirect(_url(comment.case_study, _anchor=f"c{comment.id}"))
    form = HideForm(prefix=f"hide{comment.id}")
    return save_from_form(
        form,
        lambda: operations.hide_comment(comment, form.reason.data, current_user),
        "The comment is hidden.",
        _url(comment.case_study, _anchor=f"c{comment.id}"),
        lambda: _show_page(comment.case_study, **{f"hide{comment.id}": form}),
    )


@bp.post("/comments/<int:comment_id>/unhide")
@require(MODERATE, CaseStudyComment)
def unhide_comment(comment_id: int):
    comment = _comment_or_404(comment_id, MODERATE)
    operations.unhide_comment(comment, current_user)
    db.session.commit()
    flash("The comment shows again.", "success")
    return redirect(_url(comment.case_study, _anchor=f"c{comment.id}"))
