"""Schools of every kind of LEA, their local public library, identifiers, and the yearly
library figures Ed Code §19343 asks for (summer readers, use of other resources).

Only counts about students are stored, never a student.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, enum_type, utcnow
from .library import Library, SchoolDistrict

# Grades as stored: transitional kindergarten -1, kindergarten 0, then 1–12.
TK, KINDERGARTEN, THIRD_GRADE = -1, 0, 3
GRADES = tuple(range(TK, 13))
# An index expression's stand-in for "no school" / "every grade" (uniqueness over NULLs).
ALL_GRADES = 99


def grade_label(grade: int | None) -> str:
    if grade is None:
        return "all grades"
    return {TK: "TK", KINDERGARTEN: "K"}.get(grade, str(grade))


class IdentifierSystem(enum.StrEnum):
    CDS = "CDS"  # California: 14 digits for a school, 7 (county-district) for an LEA
    NCES_LEA = "NCES LEA"  # 7 digits
    NCES_SCHOOL = "NCES school"  # 12 digits
    FSCSKEY = "FSCSKEY"  # Public Libraries Survey: state + 4 digits, e.g. CA0048
    LIBID = "LIBID"  # Public Libraries Survey: the state's own library id


class Identifier(db.Model):
    """A (system, value) pair naming one LEA, school or library; a record may have several."""

    __tablename__ = "identifiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    system: Mapped[IdentifierSystem] = mapped_column(enum_type(IdentifierSystem, "id_system"))
    value: Mapped[str] = mapped_column(sa.String(20))
    lea_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("school_districts.id", ondelete="CASCADE"), index=True
    )
    school_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("schools.id", ondelete="CASCADE"), index=True
    )
    library_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("libraries.id", ondelete="CASCADE"), index=True
    )

    __table_args__ = (
        sa.UniqueConstraint("system", "value", name="uq_identifiers_system_value"),
        sa.CheckConstraint(
            "(CASE WHEN lea_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN school_id IS NULL "
            "THEN 0 ELSE 1 END) + (CASE WHEN library_id IS NULL THEN 0 ELSE 1 END) = 1",
            name="one_owner",
        ),
    )


class LibrarySource(enum.StrEnum):
    STAFF = "staff"
    IMPORT = "import"
    SUGGESTION = "confirmed suggestion"


class School(db.Model):
    """A school of an LEA (a district, a county office of education or a charter school)."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    lea_id: Mapped[int] = mapped_column(sa.ForeignKey("school_districts.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    county: Mapped[str] = mapped_column(sa.String(60), index=True)
    city: Mapped[str] = mapped_column(sa.String(100), default="")
    low_grade: Mapped[int] = mapped_column(sa.SmallInteger)
    high_grade: Mapped[int] = mapped_column(sa.SmallInteger)
    charter: Mapped[bool] = mapped_column(default=False)
    # Set by its elementary attendance area; staff set it, an import brings it, or staff
    # confirm the suggestion (the library serving the school's city or county).
    local_library_id: Mapped[int | None] = mapped_column(sa.ForeignKey("libraries.id"), index=True)
    local_library_source: Mapped[LibrarySource | None] = mapped_column(
        enum_type(LibrarySource, "library_source")
    )
    # Census-day enrolment in grade 3 (CDE), for schools no partnership reports on yet.
    third_graders: Mapped[int | None] = mapped_column(sa.Integer)
    third_graders_school_year: Mapped[str] = mapped_column(sa.String(7), default="")
    synthetic: Mapped[bool] = mapped_column(default=False)  # made up by seed-demo --scale
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lea: Mapped[SchoolDistrict] = relationship()
    local_library: Mapped[Library | None] = relationship()
    identifiers: Mapped[list[Identifier]] = relationship(
        primaryjoin="School.id == Identifier.school_id", viewonly=True
    )

    __table_args__ = (
        sa.UniqueConstraint("lea_id", "name", name="uq_schools_lea_name"),
        sa.CheckConstraint(
            "low_grade BETWEEN -1 AND 12 AND high_grade BETWEEN low_grade AND 12",
            name="grade_span",
        ),
        sa.CheckConstraint("third_graders IS NULL OR third_graders >= 0", name="third_graders"),
        sa.CheckConstraint(
            "(local_library_id IS NULL) = (local_library_source IS NULL)",
            name="library_with_source",
        ),
    )

    @property
    def grade_span(self) -> str:
        return f"{grade_label(self.low_grade)}–{grade_label(self.high_grade)}"

    @property
    def has_third_grade(self) -> bool:
        return self.low_grade <= THIRD_GRADE <= self.high_grade

    def __repr__(self) -> str:
        return f"<School {self.id} {self.name!r}>"


class PartnershipSchool(db.Model):
    """A school a partnership covers; a partnership with none covers all its LEA's schools."""

    __tablename__ = "partnership_schools"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("partnerships.id", ondelete="CASCADE")
    )
    school_id: Mapped[int] = mapped_column(sa.ForeignKey("schools.id"), index=True)

    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "school_id", name="uq_partnership_schools"),
    )


class SummerReaders(db.Model):
    """New summer readers a library counted in the summer that ends a school year
    (summer 2029 belongs to 2028–29), for all grades or one grade."""

    __tablename__ = "summer_readers"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(sa.ForeignKey("libraries.id"))
    school_year: Mapped[int] = mapped_column(sa.SmallInteger)  # its first calendar year
    grade: Mapped[int | None] = mapped_column(sa.SmallInteger)
    new_readers: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.Index(
            "uq_summer_readers_year_grade",
            "library_id",
            "school_year",
            sa.text(f"coalesce(grade, {ALL_GRADES})"),
            unique=True,
        ),
        sa.CheckConstraint("new_readers >= 0", name="count"),
        sa.CheckConstraint("grade IS NULL OR grade BETWEEN -1 AND 12", name="grade"),
    )

    @property
    def name(self) -> str:
        return f"Summer readers {self.school_year + 1}"


class ResourceKind(enum.StrEnum):
    E_RESOURCES = "e-resource sessions"
    CHECKOUTS = "checkouts"
    HOMEWORK_HELP = "tutoring or homework-help sessions"


class ResourceUse(db.Model):
    """Uses of other library resources by student cards in a school year (uses, not
    students), so a year-over-year increase can be computed."""

    __tablename__ = "resource_use"

    id: Mapped[int] = mapped_column(primary_key=True)
    library_id: Mapped[int] = mapped_column(sa.ForeignKey("libraries.id"))
    school_year: Mapped[int] = mapped_column(sa.SmallInteger)
    kind: Mapped[ResourceKind] = mapped_column(enum_type(ResourceKind, "resource_kind"))
    uses: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("library_id", "school_year", "kind", name="uq_resource_use_year"),
        sa.CheckConstraint("uses >= 0", name="uses"),
    )

    @property
    def name(self) -> str:
        return f"{self.kind.value} {self.school_year}"
