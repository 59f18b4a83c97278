"""Each school's local public library (set, imported, or a suggestion staff confirm), the
schools a partnership covers, and a library's yearly figures for the law."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import LibrarySource, ResourceKind, ResourceUse, School, SummerReaders
from mentorship.services import schools
from mentorship.services.errors import ValidationError
from mentorship.services.figures import coverage_gap_by_county
from tests.helpers import make_district, make_library, make_partnership, make_school, make_user


@pytest.fixture
def lea(ctx):
    return make_district("Salinas City Elementary", county="Monterey")


def test_the_library_of_the_schools_city_is_suggested_then_its_countys_largest(lea):
    salinas = make_library(
        "Salinas PL", county="Monterey", city="Salinas", service_population=160_000
    )
    county = make_library(
        "Monterey County Free Libraries", county="Monterey", service_population=900_000
    )
    in_town = make_school(lea, "Sherwood", city="Salinas")
    rural = make_school(lea, "Chualar", city="Chualar")
    suggested = schools.suggested_libraries([in_town, rural])
    assert (suggested[in_town.id].id, suggested[rural.id].id) == (salinas.id, county.id)
    assert in_town.local_library_id is None  # a suggestion stores nothing
    schools.set_local_library(in_town, salinas, LibrarySource.SUGGESTION, actor=None)
    db.session.commit()
    assert db.session.get(School, in_town.id).local_library_source == LibrarySource.SUGGESTION


def test_choosing_a_partnerships_schools_leaves_the_others_in_the_gap(lea):
    library = make_library("Salinas PL", county="Monterey")
    chosen = make_school(lea, "Sherwood", local_library=library, third_graders=50)
    other = make_school(lea, "Roosevelt", local_library=library, third_graders=40)
    partnership = make_partnership(library, lea)
    assert coverage_gap_by_county() == [("Monterey", 2, 0, 0)]  # none chosen: all covered
    schools.set_partnership_schools(partnership, [chosen.id], actor=None)
    db.session.commit()
    assert coverage_gap_by_county() == [("Monterey", 2, 1, 40)]
    with pytest.raises(ValidationError):
        schools.set_partnership_schools(partnership, [other.id + 999], actor=None)


def test_a_librarys_year_figures_are_stored_once_per_year(lea):
    library = make_library("Salinas PL", county="Monterey")
    values = {"summer_readers": 120, "e_resources": 900, "checkouts": None, "homework_help": 30}
    schools.record_year_figures(library, 2025, values, actor=None)
    schools.record_year_figures(library, 2025, {**values, "summer_readers": 125}, actor=None)
    db.session.commit()
    assert db.session.scalars(sa.select(SummerReaders.new_readers)).all() == [125]
    uses = dict(db.session.execute(sa.select(ResourceUse.kind, ResourceUse.uses)).all())
    assert uses == {ResourceKind.E_RESOURCES: 900, ResourceKind.HOMEWORK_HELP: 30}
    assert schools.year_figures(library.id) == [
        {"school_year": 2025, "summer_readers": 125, "e_resources": 900, "homework_help": 30}
    ]


def test_staff_confirm_a_suggested_library_on_the_lea_page(app, client):
    with app.app_context():
        lea = make_district("Salinas City Elementary", county="Monterey")
        library = make_library("Salinas PL", county="Monterey", city="Salinas")
        school = make_school(lea, "Sherwood", city="Salinas")
        make_user("staff", email="staff@example.org")
        lea_id, library_id, school_id = lea.id, library.id, school.id
    client.login("staff@example.org", "correct horse battery")
    page = client.get(f"/districts/{lea_id}").get_data(as_text=True)
    assert "Confirm Salinas PL" in page and "none named yet" in page
    client.submit(
        f"/districts/{lea_id}/school-library", {"school_id": school_id, "library_id": library_id}
    )
    with app.app_context():
        stored = db.session.get(School, school_id)
        assert (stored.local_library_id, stored.local_library_source) == (
            library_id,
            LibrarySource.SUGGESTION,
        )
