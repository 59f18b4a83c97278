"""Libraries and the school districts they partner with."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .base import UTCDateTime, enum_type, utcnow

# California's nine regional cooperative library systems.
COOPERATIVE_SYSTEMS = (
    "49-99",
    "Black Gold",
    "Inland",
    "NorthNet",
    "Pacific Library Partnership",
    "San Joaquin Valley",
    "Santiago",
    "Serra",
    "Southern California Library Cooperative",
)

# California's 58 counties, as the U.S. Census names them (without "County").
CALIFORNIA_COUNTIES = (
    "Alameda", "Alpine", "Amador", "Butte", "Calaveras", "Colusa", "Contra Costa",
    "Del Norte", "El Dorado", "Fresno", "Glenn", "Humboldt", "Imperial", "Inyo", "Kern",
    "Kings", "Lake", "Lassen", "Los Angeles", "Madera", "Marin", "Mariposa", "Mendocino",
    "Merced", "Modoc", "Mono", "Monterey", "Napa", "Nevada", "Orange", "Placer", "Plumas",
    "Riverside", "Sacramento", "San Benito", "San Bernardino", "San Diego", "San Francisco",
    "San Joaquin", "San Luis Obispo", "San Mateo", "Santa Barbara", "Santa Clara",
    "Santa Cruz", "Shasta", "Sierra", "Siskiyou", "Solano", "Sonoma", "Stanislaus", "Sutter",
    "Tehama", "Trinity", "Tulare", "Tuolumne", "Ventura", "Yolo", "Yuba",
)  # fmt: skip


def california_county(name: str) -> str | None:
    """The county's proper spelling for `name` (any case, "County" suffix allowed)."""
    key = name.strip().lower().removesuffix(" county").strip()
    for county in CALIFORNIA_COUNTIES:
        if county.lower() == key:
            return county
    return None


class Governance(enum.StrEnum):
    CITY = "city"
    COUNTY = "county"
    SPECIAL_DISTRICT = "special district"
    JOINT_POWERS = "joint powers"
    OTHER = "other"


class Library(db.Model):
    __tablename__ = "libraries"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    short_name: Mapped[str] = mapped_column(sa.String(60), default="")
    city: Mapped[str] = mapped_column(sa.String(100), default="")
    county: Mapped[str] = mapped_column(sa.String(60), index=True)
    cooperative_system: Mapped[str] = mapped_column(sa.String(80), default="", index=True)
    governance: Mapped[Governance] = mapped_column(enum_type(Governance, "governance"))
    service_population: Mapped[int | None] = mapped_column(sa.Integer)
    ils_name: Mapped[str] = mapped_column(sa.String(80), default="")
    website: Mapped[str] = mapped_column(sa.String(300), default="")
    contact_name: Mapped[str] = mapped_column(sa.String(120), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint(
            "service_population IS NULL OR service_population >= 0", name="population"
        ),
    )

    @property
    def display_name(self) -> str:
        return self.short_name or self.name

    def __repr__(self) -> str:
        return f"<Library {self.id} {self.name!r}>"


class LeaKind(enum.StrEnum):
    """The three kinds of local educational agency of Ed Code §19340."""

    DISTRICT = "school district"
    COUNTY_OFFICE = "county office of education"
    CHARTER = "charter school"


class SchoolDistrict(db.Model):
    """A local educational agency (LEA): a school district, a county office of education
    or a charter school. Only counts about students are stored, never a student."""

    __tablename__ = "school_districts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[LeaKind] = mapped_column(enum_type(LeaKind, "lea_kind"), default=LeaKind.DISTRICT)
    county: Mapped[str] = mapped_column(sa.String(60), index=True)
    # California CDS county-district code or NCES LEA id.
    state_code: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    students_enrolled: Mapped[int | None] = mapped_column(sa.Integer)
    enrolment_school_year: Mapped[str] = mapped_column(sa.String(7), default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("name", "county", name="uq_school_districts_name_county"),
        sa.CheckConstraint("students_enrolled IS NULL OR students_enrolled >= 0", name="enrolled"),
    )

    def __repr__(self) -> str:
        return f"<SchoolDistrict {self.id} {self.name!r}>"
