from flask import url_for

from ...models import SchoolDistrict
from ...tables import Column
from ..records import RecordPages
from . import bp
from .forms import SchoolDistrictForm

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
)
pages.register(bp)
