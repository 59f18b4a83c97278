from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ...access import CREATE, DEACTIVATE, EDIT, LIST, VIEW, get_or_404, may, require
from ...extensions import db
from ...models import (
    Agreement,
    CommitmentLetter,
    LetterSigner,
    Library,
    OutcomeReport,
    Participation,
    ParticipationRole,
    Partnership,
    PartnershipStage,
)
from ...services import ils_intake, outcomes, schools
from ...services import partnerships as service
from ...services.errors import DomainError
from ...services.figures import Figures, figures_by_partnership
from ...services.importing import MAX_BYTES
from ...services.libraries import participations_of
from ...services.rollup.years import SchoolYear, school_years
from ...tables import OUTCOME_REPORT_COLUMNS, Column, csv_response
from ...templating import local_today
from ..records import form_page, recent_changes, save_from_form, set_active_from_form
from . import bp
from .forms import (
    AgreementForm,
    IlsConfirmForm,
    IlsUploadForm,
    LetterDocumentForm,
    NewPartnershipForm,
    OutcomeReportForm,
    PartnershipForm,
    PartnershipSchoolsForm,
    SignerForm,
    StageForm,
    YearFiguresForm,
)

PARTNERSHIP_COLUMNS = [
    Column(
        "School district",
        lambda p: p.district.name,
        link=lambda p: url_for("partnerships.show", partnership_id=p.id),
    ),
    Column("Roll-out", lambda p: p.rollout_order, numeric=True),
    Column("Stage", lambda p: p.stage.name),
    Column("Since", lambda p: p.reached_on(p.stage)),
    Column("Card model", lambda p: p.card_model or "not decided"),
    Column("Enrolment", lambda p: p.enrolment or "not decided"),
    Column("Fine-free", lambda p: "not decided" if p.fine_free is None else p.fine_free),
    Column("Students enrolled", lambda p: p.district.students_enrolled, numeric=True),
]
AGREEMENT_COLUMNS = [
    Column("Kind", lambda a: a.kind),
    Column("Effective", lambda a: a.effective_on),
    Column("Expires", lambda a: a.expires_on or "does not expire"),
    Column(
        "Change",
        lambda a: f"Edit {a.kind.value} of {a.effective_on:%b %-d, %Y}",
        link=lambda a: (
            url_for("partnerships.edit_agreement", agreement_id=a.id)
            if may(current_user, EDIT, a)
            else None
        ),
    ),
]
REPORT_COLUMNS = [
    *OUTCOME_REPORT_COLUMNS,
    Column(
        "Change",
        lambda r: f"Edit figures to {r.period_end:%b %-d, %Y}",
        link=lambda r: (
            url_for("partnerships.edit_report", report_id=r.id)
            if may(current_user, EDIT, r)
            else None
        ),
    ),
]
EXPIRING_COLUMNS = [
    Column(
        "Library",
        lambda e: e.agreement.partnership.library.name,
        link=lambda e: url_for("partnerships.show", partnership_id=e.agreement.partnership_id),
    ),
    Column("School district", lambda e: e.agreement.partnership.district.name),
    Column("Agreement", lambda e: e.agreement.kind),
    Column("Expires", lambda e: e.agreement.expires_on),
    Column("Days left", lambda e: e.days_left, numeric=True),
]


def _library_partners_url(library_id: int) -> str:
    return url_for("partnerships.library_partners", library_id=library_id)


def _partnership_url(partnership: Partnership) -> str:
    return url_for("partnerships.show", partnership_id=partnership.id)


# A library's school partners ----------------------------------------------------


@bp.get("/libraries/<int:library_id>/partners")
@require(VIEW, Partnership)
def library_partners(library_id: int):
    library = get_or_404(Library, library_id, VIEW)
    partnerships = service.partnerships_of(library.id)
    if request.args.get("format") == "csv":
        return csv_response(f"school-partners-{library.id}", PARTNERSHIP_COLUMNS, partnerships)
    return _partners_page(library, partnerships, _year_form())


def _partners_page(library: Library, partnerships, year_form: YearFiguresForm):
    letters = [
        (participation, service.letter_of(participation))
        for participation in participations_of(library.id)
        if participation.active and participation.role != ParticipationRole.MENTOR
    ]
    return render_template(
        "partnerships/library.html",
        library=library,
        partnerships=partnerships,
        columns=PARTNERSHIP_COLUMNS,
        stages=service.stages(),
        letters=letters,
        expiring=service.expiring_agreements(local_today(), [library.id]),
        expiring_columns=EXPIRING_COLUMNS[1:],
        may_add=may(current_user, CREATE, Partnership(library_id=library.id)),
        year_figures=schools.year_figures(library.id),
        year_form=year_form,
    )


def _year_form(formdata=None) -> YearFiguresForm:
    form = YearFiguresForm(formdata=formdata)
    form.school_year.choices = [(y.start, y.label) for y in school_years(local_today(), back=4)]
    return form


@bp.post("/libraries/<int:library_id>/year-figures")
@require(CREATE, OutcomeReport)
def year_figures(library_id: int):
    library = get_or_404(Library, library_id, VIEW)
    if not may(current_user, CREATE, Partnership(library_id=library.id)):
        abort(404)  # as for every change to another library's records
    form = _year_form(request.form)
    return save_from_form(
        form,
        lambda: schools.record_year_figures(
            library, form.school_year.data, form.values(), current_user
        ),
        lambda _: f"Figures for {SchoolYear(form.school_year.data).label} were saved.",
        url_for("partnerships.library_partners", library_id=library.id) + "#year-figures",
        lambda: _partners_page(library, service.partnerships_of(library.id), form),
    )


@bp.route("/libraries/<int:library_id>/partners/new", methods=["GET", "POST"])
@require(CREATE, Partnership)
def new(library_id: int):
    library = get_or_404(Library, library_id, VIEW)
    if not may(current_user, CREATE, Partnership(library_id=library.id)):
        abort(404)
    form = NewPartnershipForm(data={"contacted_on": local_today()})
    form.district_id.choices = service.district_choices(library)
    return save_from_form(
        form,
        lambda: service.create_partnership(
            library,
            form.values(),
            form.contacted_on.data,
            current_user,
            today=local_today(),
            grace_days=current_app.config["STEP_GRACE_DAYS"],
        ),
        lambda partnership: (
            f"{partnership.district.name} was added as a school partner. "
            + service.capped_note(partnership)
        ).strip(),
        _partnership_url,
        lambda: render_template(
            "partnerships/form.html", form=form, library=library, partnership=None
        ),
    )


# One partnership ------------------------------------------------------------------


@bp.get("/partnerships/<int:partnership_id>")
@require(VIEW, Partnership)
def show(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, VIEW)
    stage_form = StageForm(data={"stage_id": partnership.stage_id, "reached_on": local_today()})
    stage_form.stage_id.choices = [(s.id, s.name) for s in service.stages()]
    return _show(partnership, stage_form)


def _show(partnership: Partnership, stage_form: StageForm):
    every = outcomes.all_reports_of(partnership)
    reports = sorted(
        (r for r in every if r.school_id is None), key=lambda r: (r.period_end, r.period_start)
    )
    may_edit = may(current_user, EDIT, partnership)
    lea_schools = schools.schools_with_choice(partnership)
    return render_template(
        "partnerships/show.html",
        partnership=partnership,
        reports=reports,
        report_columns=REPORT_COLUMNS,
        cards_over_time=outcomes.cards_over_time(every),
        # Exact counts by school: the library's own people and staff, not its mentor.
        third_grade=ils_intake.third_grade_rows(every) if may_edit else None,
        chosen_schools=[school for school, chosen in lea_schools if chosen],
        schools_form=_schools_form(lea_schools),
        figures=figures_by_partnership([partnership.id]).get(partnership.id, Figures()),
        stages=service.stages(),
        stage_form=stage_form,
        agreements=partnership.agreements,
        agreement_columns=AGREEMENT_COLUMNS,
        may_edit=may_edit,
        changes=recent_changes(partnership) if current_user.is_staff else [],
    )


@bp.post("/partnerships/<int:partnership_id>/stage")
@require(EDIT, Partnership)
def move_stage(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, EDIT)
    form = StageForm()
    form.stage_id.choices = [(s.id, s.name) for s in service.stages()]

    def move() -> PartnershipStage:
        stage = db.session.get(PartnershipStage, form.stage_id.data)  # one of the choices
        service.move_to_stage(partnership, stage, form.reached_on.data, local_today(), current_user)
        return stage

    return save_from_form(
        form,
        move,
        lambda stage: f"Stage saved: {stage.name}.",
        _partnership_url(partnership),
        lambda: _show(partnership, form),
    )


@bp.route("/partnerships/<int:partnership_id>/edit", methods=["GET", "POST"])
@require(EDIT, Partnership)
def edit(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, EDIT)
    form = PartnershipForm(obj=partnership)
    form.district_id.choices = service.district_choices(
        partnership.library, keep_id=partnership.district_id
    )
    return save_from_form(
        form,
        lambda: service.update_partnership(partnership, form.values(), current_user),
        "The partnership was saved.",
        _partnership_url(partnership),
        lambda: render_template(
            "partnerships/form.html",
            form=form,
            library=partnership.library,
            partnership=partnership,
        ),
    )


@bp.post("/partnerships/<int:partnership_id>/active")
@require(DEACTIVATE, Partnership)
def set_active(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, DEACTIVATE)
    return set_active_from_form(
        partnership,
        f"The partnership with {partnership.district.name}",
        _partnership_url(partnership),
        lambda active: service.set_partnership_active(
            partnership, active, local_today(), current_user
        ),
    )


# Agreements ---------------------------------------------------------------------


@bp.route("/partnerships/<int:partnership_id>/agreements/new", methods=["GET", "POST"])
@require(CREATE, Agreement)
def new_agreement(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, EDIT)
    form = AgreementForm()
    return save_from_form(
        form,
        lambda: service.add_agreement(partnership, form.values(), current_user, local_today()),
        lambda added: f"The {added.kind.value} was added.",
        _partnership_url(partnership),
        lambda: render_template(
            "partnerships/agreement_form.html", form=form, partnership=partnership, agreement=None
        ),
    )


@bp.route("/agreements/<int:agreement_id>/edit", methods=["GET", "POST"])
@require(EDIT, Agreement)
def edit_agreement(agreement_id: int):
    agreement = get_or_404(Agreement, agreement_id, EDIT)
    form = AgreementForm(obj=agreement)
    return save_from_form(
        form,
        lambda: service.update_agreement(agreement, form.values(), current_user, local_today()),
        f"The {agreement.kind.value} was saved.",
        _partnership_url(agreement.partnership),
        lambda: render_template(
            "partnerships/agreement_form.html",
            form=form,
            partnership=agreement.partnership,
            agreement=agreement,
        ),
    )


@bp.get("/agreements/expiring")
@require(LIST, Agreement)
def expiring():
    today = local_today()
    if request.args.get("format") == "csv":
        rows = service.expiring_agreements(today)
        return csv_response("agreements-expiring", EXPIRING_COLUMNS, rows)
    page = db.paginate(
        service.expiring_query(today), per_page=current_app.config["PER_PAGE"], error_out=False
    )
    return render_template(
        "partnerships/expiring.html",
        page=page,
        rows=service.expiring(page.items, today),
        expired=service.expired_count(today),
        columns=EXPIRING_COLUMNS,
        days=service.EXPIRY_WINDOW_DAYS,
    )


# The commitment letter ----------------------------------------------------------


def _letter_participation(participation_id: int) -> Participation:
    participation = get_or_404(Participation, participation_id, VIEW)
    if participation.role == ParticipationRole.MENTOR:
        abort(404)  # mentors do not write a letter: they already run a partnership
    return participation


def _letter_url(participation_id: int) -> str:
    return url_for("partnerships.letter", participation_id=participation_id)


@bp.get("/participations/<int:participation_id>/letter")
@require(VIEW, CommitmentLetter)
def letter(participation_id: int):
    participation = _letter_participation(participation_id)
    letter = service.letter_of(participation)
    document_form = LetterDocumentForm(obj=letter)
    return _letter_page(participation, letter, _signer_form(participation), document_form)


def _signer_form(participation: Participation, signer: LetterSigner | None = None) -> SignerForm:
    form = SignerForm(obj=signer)
    form.partnership_id.choices = [("", "Not a superintendent")] + service.signer_districts(
        participation
    )
    return form


def _letter_page(participation, letter, signer_form, document_form):
    may_edit = may(current_user, EDIT, letter or CommitmentLetter(participation=participation))
    return render_template(
        "partnerships/letter.html",
        participation=participation,
        letter=letter,
        signer_form=signer_form,
        document_form=document_form,
        may_edit=may_edit,
        changes=recent_changes(letter) if letter and current_user.is_staff else [],
    )


def _editable_letter(participation_id: int) -> tuple[Participation, CommitmentLetter]:
    participation = _letter_participation(participation_id)
    letter = service.letter_of(participation) or CommitmentLetter(participation=participation)
    if not may(current_user, EDIT, letter):
        abort(404)
    return participation, letter


@bp.post("/participations/<int:participation_id>/letter/signers")
@require(EDIT, CommitmentLetter)
def add_signer(participation_id: int):
    participation, _ = _editable_letter(participation_id)
    form = _signer_form(participation)
    return save_from_form(
        form,
        lambda: service.add_signer(
            service.letter_for(participation), form.values(), local_today(), current_user
        ),
        lambda added: f"{added.name} was added as a signer.",
        _letter_url(participation.id),
        lambda: _letter_page(
            participation,
            service.letter_of(participation),
            form,
            LetterDocumentForm(obj=service.letter_of(participation)),
        ),
    )


@bp.post("/participations/<int:participation_id>/letter/document")
@require(EDIT, CommitmentLetter)
def letter_document(participation_id: int):
    participation, _ = _editable_letter(participation_id)
    form = LetterDocumentForm()
    return save_from_form(
        form,
        lambda: service.set_letter_document(
            service.letter_for(participation), form.document_url.data, current_user
        ),
        "The link to the letter was saved.",
        _letter_url(participation.id),
        lambda: _letter_page(
            participation, service.letter_of(participation), _signer_form(participation), form
        ),
    )


@bp.route("/letter-signers/<int:signer_id>/edit", methods=["GET", "POST"])
@require(EDIT, LetterSigner)
def edit_signer(signer_id: int):
    signer = get_or_404(LetterSigner, signer_id, EDIT)
    form = _signer_form(signer.letter.participation, signer)
    return save_from_form(
        form,
        lambda: service.update_signer(signer, form.values(), local_today(), current_user),
        lambda _: f"{signer.name} was saved.",  # the name as saved
        _letter_url(signer.letter.participation_id),
        lambda: render_template("partnerships/signer_form.html", form=form, signer=signer),
    )


@bp.post("/letter-signers/<int:signer_id>/delete")
@require(EDIT, LetterSigner)
def remove_signer(signer_id: int):
    signer = get_or_404(LetterSigner, signer_id, EDIT)
    participation_id = signer.letter.participation_id
    service.remove_signer(signer, current_user, local_today())
    db.session.commit()
    flash(f"{signer.name} was removed from the letter.", "success")
    return redirect(_letter_url(participation_id))


# Outcome figures -------------------------------------------------------------------


@bp.get("/partnerships/<int:partnership_id>/figures.csv")
@require(VIEW, Partnership)
def reports_csv(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, VIEW)
    return csv_response(
        f"figures-{partnership.id}", REPORT_COLUMNS[:-1], outcomes.reports_of(partnership)
    )


@bp.route("/partnerships/<int:partnership_id>/figures/new", methods=["GET", "POST"])
@require(CREATE, OutcomeReport)
def new_report(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, EDIT)
    latest = (outcomes.reports_of(partnership) or [None])[-1]
    enrolled = latest.students_enrolled if latest else partnership.district.students_enrolled
    form = OutcomeReportForm(data={"students_enrolled": enrolled})
    return save_from_form(
        form,
        lambda: outcomes.add_report(partnership, form.values(), local_today(), current_user),
        "The figures were saved.",
        _partnership_url(partnership),
        lambda: render_template(
            "partnerships/report_form.html", form=form, partnership=partnership, report=None
        ),
    )


@bp.route("/figures/<int:report_id>/edit", methods=["GET", "POST"])
@require(EDIT, OutcomeReport)
def edit_report(report_id: int):
    report = get_or_404(OutcomeReport, report_id, EDIT)
    form = OutcomeReportForm(obj=report)
    return save_from_form(
        form,
        lambda: outcomes.update_report(report, form.values(), local_today(), current_user),
        "The figures were saved.",
        _partnership_url(report.partnership),
        lambda: render_template(
            "partnerships/report_form.html",
            form=form,
            partnership=report.partnership,
            report=report,
        ),
    )


# The ILS report (aggregate counts by school and grade) -----------------------------

ILS_ENDPOINTS = ("partnerships.ils_report", "partnerships.confirm_ils_report")


@bp.url_value_preprocessor
def allow_a_whole_ils_report(endpoint, values):
    # As for the CSV import: runs before the CSRF check reads the form, so a report (or
    # its text in the confirm form) of up to 2 MB gets in.
    if endpoint in ILS_ENDPOINTS:
        request.max_content_length = request.max_form_memory_size = 4 * MAX_BYTES


@bp.route("/partnerships/<int:partnership_id>/ils-report", methods=["GET", "POST"])
@require(CREATE, OutcomeReport)
def ils_report(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, EDIT)
    form = IlsUploadForm()
    if form.validate_on_submit():
        plan = ils_intake.plan_ils(partnership, form.text, local_today())
        return _ils_preview(partnership, plan, form.text)
    return form_page(  # the import's shape: upload → preview → confirm; refused: 400
        render_template(
            "partnerships/ils_upload.html", form=form, partnership=partnership, kind=ils_intake.KIND
        )
    )


@bp.post("/partnerships/<int:partnership_id>/ils-report/confirm")
@require(CREATE, OutcomeReport)
def confirm_ils_report(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, EDIT)
    form = IlsConfirmForm()
    if not form.validate():
        abort(400)
    plan = ils_intake.plan_ils(partnership, form.text.data, local_today())
    if plan.has_errors:
        return _ils_preview(partnership, plan, form.text.data)
    result = ils_intake.apply_ils(partnership, plan, local_today(), current_user)
    db.session.commit()
    flash(
        f"ILS report imported: {result.created} added, {result.updated} updated, "
        f"{result.unchanged} unchanged.",
        "success",
    )
    return redirect(_partnership_url(partnership) + "#third-grade")


def _ils_preview(partnership: Partnership, plan, text: str):
    confirm = None if plan.has_errors else IlsConfirmForm(formdata=None, text=text)
    return render_template(
        "partnerships/ils_preview.html", plan=plan, partnership=partnership, confirm=confirm
    )


def _schools_form(lea_schools, formdata=None) -> PartnershipSchoolsForm:
    """`lea_schools`: (school, chosen) pairs (services.schools.schools_with_choice)."""
    form = PartnershipSchoolsForm(
        formdata=formdata, data={"school_ids": [s.id for s, chosen in lea_schools if chosen]}
    )
    form.school_ids.choices = [(s.id, f"{s.name} ({s.grade_span})") for s, _ in lea_schools]
    return form


@bp.post("/partnerships/<int:partnership_id>/schools")
@require(EDIT, Partnership)
def set_schools(partnership_id: int):
    partnership = get_or_404(Partnership, partnership_id, EDIT)
    form = _schools_form(schools.schools_with_choice(partnership), request.form)
    if form.validate():
        try:
            schools.set_partnership_schools(partnership, form.school_ids.data, current_user)
            db.session.commit()
            flash("The schools this partnership covers were saved.", "success")
            return redirect(_partnership_url(partnership) + "#schools")
        except DomainError as error:
            db.session.rollback()
            flash(error.message, "error")
    else:
        flash("Choose schools from the list.", "error")
    return form_page(show(partnership.id))  # refused: 400, the message above the page
