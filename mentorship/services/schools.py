"""Schools' local public libraries, the schools a partnership covers, and a library's
yearly figures for the law (new summer readers, uses of other resources)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from ..extensions import db
from ..models import (
    Library,
    LibrarySource,
    Partnership,
    PartnershipSchool,
    ResourceKind,
    ResourceUse,
    School,
    SummerReaders,
    User,
)
from . import audit, records
from .errors import ValidationError


def suggested_libraries(schools: list[School]) -> dict[int, Library | None]:
    """{school id: the library to suggest}: the active library serving the school's city
    (same city and county), else its county's library with the largest service population.
    Staff confirm a suggestion; nothing is stored until they do. One query."""
    counties = {school.county for school in schools}
    libraries = db.session.scalars(
        sa.select(Library)
        .where(Library.county.in_(counties), Library.active.is_(True))
        .order_by(Library.service_population.desc().nulls_last(), Library.name)
    ).all()
    suggestions = {}
    for school in schools:
        here = [lib for lib in libraries if lib.county == school.county]
        in_city = [lib for lib in here if school.city and lib.city.lower() == school.city.lower()]
        suggestions[school.id] = (in_city or here or [None])[0]
    return suggestions


def set_local_library(
    school: School, library: Library | None, source: LibrarySource, actor: User | None
) -> None:
    """Name (or clear) the school's local public library, audited."""
    if library is not None and not library.active:
        raise ValidationError(f"{library.name} is deactivated.", "library_id")
    records.update(
        school,
        {
            "local_library_id": library.id if library else None,
            "local_library_source": source if library else None,
        },
        actor,
    )


def set_partnership_schools(
    partnership: Partnership, school_ids: list[int], actor: User | None
) -> None:
    """The schools the partnership covers (none chosen: every school of its LEA)."""
    schools = db.session.scalars(
        sa.select(School.id).where(School.lea_id == partnership.district_id)
    ).all()
    unknown = set(school_ids) - set(schools)
    if unknown:
        raise ValidationError("Choose schools of this partnership's LEA only.", "school_ids")
    before = set(
        db.session.scalars(
            sa.select(PartnershipSchool.school_id).where(
                PartnershipSchool.partnership_id == partnership.id
            )
        )
    )
    wanted = set(school_ids)
    if before == wanted:
        return
    db.session.execute(
        sa.delete(PartnershipSchool).where(
            PartnershipSchool.partnership_id == partnership.id,
            PartnershipSchool.school_id.in_(before - wanted),
        )
    )
    db.session.add_all(
        PartnershipSchool(partnership_id=partnership.id, school_id=school_id)
        for school_id in sorted(wanted - before)
    )
    db.session.flush()
    audit.record(
        actor, "schools covered", partnership, {"schools": [sorted(before), sorted(wanted)]}
    )


def year_figures(library_id: int) -> list[dict[str, Any]]:
    """The library's summer readers and resource use, per school year (newest first): one
    statement."""
    readers = (
        sa.select(
            SummerReaders.school_year,
            sa.literal("summer_readers").label("what"),
            sa.func.sum(SummerReaders.new_readers).label("count"),
        )
        .where(SummerReaders.library_id == library_id)
        .group_by(SummerReaders.school_year)
    )
    uses = sa.select(
        ResourceUse.school_year, sa.cast(ResourceUse.kind, sa.String), ResourceUse.uses
    ).where(ResourceUse.library_id == library_id)
    names = {kind.value: kind.name.lower() for kind in ResourceKind}
    years: dict[int, dict[str, Any]] = {}
    for year, what, count in db.session.execute(sa.union_all(readers, uses)):
        years.setdefault(year, {"school_year": year})[names.get(what, what)] = int(count)
    return [years[year] for year in sorted(years, reverse=True)]


def record_year_figures(
    library: Library, school_year: int, values: dict[str, int | None], actor: User | None
) -> None:
    """Store the all-grades summer readers and each kind of resource use given for a school
    year (replacing what was stored for it; an empty value leaves it as it was)."""
    readers = values.get("summer_readers")
    if readers is not None:
        rows = db.session.scalars(
            sa.select(SummerReaders).where(
                SummerReaders.library_id == library.id, SummerReaders.school_year == school_year
            )
        ).all()
        if any(row.grade is not None for row in rows):
            raise ValidationError(
                "This year's summer readers were reported by grade; correct them there.",
                "summer_readers",
            )
        if rows:
            records.update(rows[0], {"new_readers": readers}, actor)
        else:
            records.create(
                SummerReaders,
                {"library_id": library.id, "school_year": school_year, "new_readers": readers},
                actor,
            )
    for kind in ResourceKind:
        uses = values.get(kind.name.lower())
        if uses is None:
            continue
        row = db.session.scalar(
            sa.select(ResourceUse).where(
                ResourceUse.library_id == library.id,
                ResourceUse.school_year == school_year,
                ResourceUse.kind == kind,
            )
        )
        if row:
            records.update(row, {"uses": uses}, actor)
        else:
            records.create(
                ResourceUse,
                {"library_id": library.id, "school_year": school_year, "kind": kind, "uses": uses},
                actor,
            )


def schools_of_lea(lea_id: int) -> list[School]:
    """An LEA's active schools, by name, with their local library (one query)."""
    return db.session.scalars(
        sa.select(School)
        .options(sa.orm.joinedload(School.local_library))
        .where(School.lea_id == lea_id, School.active.is_(True))
        .order_by(School.name)
    ).all()


def libraries_near(schools: list[School]) -> list[Library]:
    """Active libraries a school may name (any county: a school's library may be in
    another), those of the schools' counties first, each by name."""
    counties = {school.county for school in schools}
    libraries = db.session.scalars(
        sa.select(Library).where(Library.active.is_(True)).order_by(Library.name)
    ).all()
    return sorted(libraries, key=lambda lib: lib.county not in counties)


def schools_with_choice(partnership: Partnership) -> list[tuple[School, bool]]:
    """The LEA's active schools, each with whether the partnership chose it (one query)."""
    chosen = sa.orm.aliased(PartnershipSchool)
    rows = db.session.execute(
        sa.select(School, chosen.id.is_not(None))
        .outerjoin(
            chosen,
            sa.and_(chosen.partnership_id == partnership.id, chosen.school_id == School.id),
        )
        .where(School.lea_id == partnership.district_id, School.active.is_(True))
        .order_by(School.name)
    ).all()
    return [(school, bool(picked)) for school, picked in rows]
