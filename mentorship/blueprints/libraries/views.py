from flask import url_for
from flask_login import current_user

from ...access import VIEW, may
from ...models import Library
from ...services.libraries import participations_of, people_of
from ...tables import Column
from ..records import RecordPages
from . import bp
from .forms import LibraryForm


def _link_if_allowed(obj, endpoint):
    return url_for(endpoint, object_id=obj.id) if may(current_user, VIEW, obj) else None


PARTICIPATION_COLUMNS = [
    Column(
        "Cohort", lambda p: p.cohort.name, link=lambda p: _link_if_allowed(p.cohort, "cohorts.show")
    ),
    Column("Role", lambda p: p.role),
    Column("Start", lambda p: p.start_date),
    Column("Target (months)", lambda p: p.target_months, numeric=True),
    Column("Active", lambda p: p.active),
]
PEOPLE_COLUMNS = [
    Column("Name", lambda u: u.name, link=lambda u: _link_if_allowed(u, "people.show")),
    Column("Role", lambda u: u.role),
    Column("Email", lambda u: u.email),
]


def library_detail(library: Library) -> dict:
    return {
        "participations": participations_of(library.id),
        "participation_columns": PARTICIPATION_COLUMNS,
        "people": people_of(library.id),
        "people_columns": PEOPLE_COLUMNS,
    }


pages = RecordPages(
    importable=True,
    model=Library,
    form_class=LibraryForm,
    noun="library",
    plural="libraries",
    columns=[
        Column(
            "Library",
            lambda lib: lib.name,
            link=lambda lib: url_for("libraries.show", object_id=lib.id),
        ),
        Column("County", lambda lib: lib.county),
        Column("Cooperative system", lambda lib: lib.cooperative_system),
        Column("Governance", lambda lib: lib.governance),
        Column("Service population", lambda lib: lib.service_population, numeric=True),
        Column("ILS", lambda lib: lib.ils_name),
        Column("Active", lambda lib: lib.active),
    ],
    search=[
        Library.name,
        Library.short_name,
        Library.city,
        Library.county,
        Library.cooperative_system,
    ],
    order_by=Library.name,
    show_template="libraries/show.html",
    detail_context=library_detail,
)
pages.register(bp)
