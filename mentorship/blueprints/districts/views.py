from flask import abort, flash, redirect, request, url_for
from flask_login import current_user

from ...access import EDIT, require
from ...extensions import db
from ...models import Library, LibrarySource, School, SchoolDistrict
from ...services import schools as school_service
from ...services.errors import DomainError
from ...tables import Column
from ..records import RecordPages, form_page
from . import bp
from .forms import SchoolDistrictForm, SchoolLibraryForm


def _library_form(district_id: int, formdata=None) -> SchoolLibraryForm:
    form = SchoolLibraryForm(formdata=formdata)
    form.school_id.choices = [(s.id, s.name) for s in school_service.schools_of_lea(district_id)]
    form.library_id.choices = [(0, "None named yet")] + [
        (lib.id, f"{lib.name} ({lib.county})") for lib in school_service.libraries_near([])
    ]
    return form


def _schools(district: SchoolDistrict) -> dict:
    """The LEA's schools, each with its local library or the one to suggest."""
    its = school_service.schools_of_lea(district.id)
    suggestions = school_service.suggested_libraries(its)
    return {
        "schools": [(school, suggestions[school.id]) for school in its],
        "library_form": _library_form(district.id) if its else None,
    }


pages = RecordPages(
    importable=True,
    model=SchoolDistrict,
    form_class=SchoolDistrictForm,
    noun="school district",
    plural="school districts",
    columns=[
        Column(
            "District", lambda d: d.name, link=lambda d: url_for("districts.show", object_id=d.id)
        ),
        Column("County", lambda d: d.county),
        Column("State code", lambda d: d.state_code),
        Column("Students enrolled", lambda d: d.students_enrolled, numeric=True),
        Column("School year", lambda d: d.enrolment_school_year),
        Column("Active", lambda d: d.active),
    ],
    search=[SchoolDistrict.name, SchoolDistrict.county, SchoolDistrict.state_code],
    order_by=SchoolDistrict.name,
    show_template="districts/show.html",
    detail_context=_schools,
)
pages.register(bp)


@bp.post("/<int:object_id>/school-library")
@require(EDIT, SchoolDistrict)
def set_school_library(object_id: int):
    """Name a school's local public library; naming the suggested one confirms it."""
    district = db.session.get(SchoolDistrict, object_id) or abort(404)
    form = _library_form(district.id, request.form)
    url = url_for("districts.show", object_id=district.id) + "#schools"
    if not form.validate():
        flash("Choose a school and a library from the lists.", "error")
        return form_page(pages.show(district.id))  # refused: 400, the message above the list
    school = db.session.get(School, form.school_id.data)
    library = db.session.get(Library, form.library_id.data) if form.library_id.data else None
    suggested = school_service.suggested_libraries([school])[school.id]
    source = (
        LibrarySource.SUGGESTION
        if library is not None and suggested is not None and library.id == suggested.id
        else LibrarySource.STAFF
    )
    try:
        school_service.set_local_library(school, library, source, current_user)
        db.session.commit()
        flash(f"{school.name}: local public library saved.", "success")
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
    return redirect(url)
