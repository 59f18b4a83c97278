"""What each API answer holds, written once: these pydantic models serialise the
responses (`dump`) and generate the OpenAPI document's schemas (`component_schemas`).

Pydantic rather than marshmallow + apispec: the document is OpenAPI 3.1, whose schemas
are JSON Schema 2020-12, which pydantic writes natively (nullable as `null`, `$ref`s
without the 3.0 workarounds), and it was already installed with the test tools.

A field reads the attribute of the same name (a model, a figure set); one named
differently in the answer says where it reads from (`validation_alias`). Every property
is required (some may be null) and nothing else is allowed, so a field added to or
dropped from an answer without changing its schema fails the tests, which validate
every response against the document.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import (
    AliasPath,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.json_schema import models_json_schema

from ...access import MAX_ID
from ...models import CardModel, Enrolment, Governance, ParticipationRole
from ...models.library import CALIFORNIA_COUNTIES
from ...services.months import months_between

Id = Annotated[int, Field(ge=1, le=MAX_ID)]
Count = Annotated[int, Field(ge=0)]
Ratio = Annotated[float, Field(ge=0)]
County = Literal[tuple(CALIFORNIA_COUNTIES)]  # type: ignore[valid-type]


class Schema(BaseModel):
    model_config = ConfigDict(
        extra="forbid", from_attributes=True, populate_by_name=True, use_enum_values=True
    )


class WithDerived(Schema):
    """A schema with fields that are no attribute of the source, worked out from it."""

    @classmethod
    def derived(cls, source: Any, context: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @model_validator(mode="wrap")
    @classmethod
    def _read(cls, source: Any, handler: Any, info: ValidationInfo) -> Any:
        if not isinstance(source, dict | BaseModel):
            source = _With(source, cls.derived(source, info.context or {}))
        return handler(source)


class _With:
    """A source object with some attributes added (or replaced)."""

    def __init__(self, source: Any, added: dict[str, Any]):
        self._source, self._added = source, added

    def __getattr__(self, name: str) -> Any:
        return self._added[name] if name in self._added else getattr(self._source, name)


def dump(schema: type[Schema], source: Any, **context: Any) -> dict[str, Any]:
    """`source` (a model row, a figure set, or a dict) as the JSON `schema` describes."""
    return schema.model_validate(source, context=context).model_dump(mode="json")


class PublicContact(Schema):
    """The library's published main contact (empty strings when none)."""

    name: str = Field(validation_alias="contact_name")
    email: str = Field(validation_alias="contact_email")
    phone: str = Field(validation_alias="contact_phone")


class Library(WithDerived):
    id: Id
    name: str
    short_name: str
    city: str
    county: str
    cooperative_system: str
    governance: Governance
    service_population: Count | None
    ils_name: str
    website: str
    public_contact: PublicContact
    active: bool

    @classmethod
    def derived(cls, source: Any, context: dict[str, Any]) -> dict[str, Any]:
        return {"public_contact": source}  # its contact_* columns


class Participation(WithDerived):
    """A library taking part in a cohort."""

    library_id: Id
    role: ParticipationRole
    start_date: date
    target_months: int = Field(ge=1, le=24)
    months_in: Count = Field(description="Whole months from the start date to today (0 before it).")
    active: bool

    @classmethod
    def derived(cls, source: Any, context: dict[str, Any]) -> dict[str, Any]:
        return {"months_in": months_between(source.start_date, context["today"])}


class Cohort(Schema):
    id: Id
    name: str
    start_date: date
    end_date: date
    active: bool
    participations: list[Participation]


class District(Schema):
    id: Id
    name: str
    county: str
    state_code: str | None = Field(description="CDS county-district code")
    students_enrolled: Count | None


class Stage(Schema):
    key: str
    name: str
    position: int


class StageDate(Schema):
    key: str = Field(validation_alias=AliasPath("stage", "key"))
    name: str = Field(validation_alias=AliasPath("stage", "name"))
    position: int = Field(validation_alias=AliasPath("stage", "position"))
    reached_on: date


class Partnership(Schema):
    """A library's partnership with a school district (never its contact or notes)."""

    id: Id
    library_id: Id
    district: District
    stage: Stage
    stage_dates: list[StageDate] = Field(
        description="The day each stage was reached, in stage order."
    )
    card_model: CardModel | None
    enrolment: Enrolment | None
    fine_free: bool | None
    rollout_order: int = Field(ge=1)
    active: bool

    @field_validator("stage_dates")
    @classmethod
    def _in_stage_order(cls, dates: list[StageDate]) -> list[StageDate]:
        return sorted(dates, key=lambda d: d.position)


class OutcomeFigure(Schema):
    """One outcome report: counts for one partnership and one period."""

    id: Id
    partnership_id: Id
    library_id: Id = Field(validation_alias=AliasPath("partnership", "library_id"))
    district_id: Id = Field(validation_alias=AliasPath("partnership", "district_id"))
    period_start: date
    period_end: date
    students_enrolled: Count
    physical_cards: Count = Field(description="New physical cards issued in the period")
    digital_cards: Count = Field(description="New digital / student-ID cards in the period")
    students_using_cards: Count | None


class Figures(Schema):
    """A partnership's figures, or their sum (see the README)."""

    partnerships: Count
    reporting: Count
    students_enrolled: Count = Field(validation_alias="enrolled")
    cards_to_date: Count = Field(validation_alias="cards")
    cards_since_joining: Count = Field(
        validation_alias="programme_cards",
        description="Cards of reports ending on or after the day the library started as a "
        "pilot (the programme's)",
    )
    cards_before_joining: Count = Field(
        validation_alias="baseline_cards",
        description="Cards reported before it joined (its baseline; every card of a library "
        "that is not a pilot)",
    )
    students_using_cards: Count | None = Field(validation_alias="using")
    coverage: Ratio | None = Field(description="cards_to_date ÷ students_enrolled")
    coverage_since_joining: Ratio | None = Field(
        validation_alias="programme_coverage",
        description="cards_since_joining ÷ students_enrolled",
    )


class DistrictFigures(Schema):
    district: str
    figures: Figures


class LibraryFigures(Schema):
    """A library's figures to date, in all and per active partnership."""

    library_id: Id
    figures: Figures
    partnerships: list[DistrictFigures]


class CoverageRow(Figures):
    """Partnerships in one group. Every group but `existing` counts pilot libraries only,
    whose programme figures are `cards_since_joining` and `coverage_since_joining`."""

    key: str


class RollupFilter(Schema):
    cohort_id: Id | None
    county: str | None
    system: str | None
    year: str | None


class CohortCount(Schema):
    cohort_id: Id
    cohort: str
    pilots: Count
    mentors: Count
    sustaining: Count


class TimelineCount(Schema):
    stage: str
    pilots: Count


class RiskCount(Schema):
    status: Literal["at risk", "needs attention", "on track"]
    pilots: Count


class StageCount(Schema):
    position: Count
    stage: str
    partnerships: Count


class Coverage(Schema):
    total: list[CoverageRow]
    existing: list[CoverageRow]
    cohort: list[CoverageRow]
    county: list[CoverageRow]
    system: list[CoverageRow]
    card_model: list[CoverageRow]
    enrolment: list[CoverageRow]
    fine_free: list[CoverageRow]


class Quarter(Schema):
    year: Count
    quarter: int = Field(ge=1, le=4)
    cards_since_joining: Count = Field(validation_alias="cards")
    cards_since_joining_to_date: Count = Field(validation_alias="cards_to_date")


class CountyFigures(Schema):
    county: County
    pilot_libraries: Count = Field(validation_alias="pilots")
    mentor_libraries: Count = Field(validation_alias="mentors")
    partnerships: Count
    students_enrolled: Count = Field(validation_alias="enrolled")
    cards_since_joining: Count = Field(validation_alias="programme_cards")
    coverage_since_joining: Ratio | None = Field(validation_alias="coverage")


class Rollup(Schema):
    """The statewide rollup, as on the rollup page (see the README for how it counts)."""

    filter: RollupFilter
    computed_on: date
    libraries: Count
    pilots: Count
    cohorts: list[CohortCount]
    timeline: list[TimelineCount]
    risk: list[RiskCount]
    partnership_stages: list[StageCount]
    coverage: Coverage
    quarters: list[Quarter]
    counties: list[CountyFigures]


DEFAULT_PER_PAGE, MAX_PER_PAGE = 50, 200
Link = Annotated[str, Field(json_schema_extra={"format": "uri"})]


class Paged(Schema):
    """One page of a list and where the others are (full addresses, or null)."""

    data: list[dict[str, Any]]  # the rows, each already written by its own schema
    page: int = Field(ge=1)
    per_page: int = Field(ge=1, le=MAX_PER_PAGE)
    total: Count
    next: Link | None
    prev: Link | None


def page_schema(item: str) -> dict[str, Any]:
    """The schema of a page of `item`s (a component schema's name)."""
    schema = _tidy(Paged.model_json_schema(mode="serialization"))
    schema.pop("description", None)
    schema["properties"]["data"]["items"] = {"$ref": f"#/components/schemas/{item}"}
    return schema


class ErrorBody(Schema):
    status: int = Field(ge=400, le=599)
    message: str


class Error(Schema):
    error: ErrorBody


# The answers the document names, by their name in it.
DOCUMENTED = (Error, Library, Cohort, Partnership, OutcomeFigure, Figures, LibraryFigures, Rollup)


def _tidy(schema: Any) -> Any:
    """Pydantic's JSON Schema as the document writes it: no generated titles; every
    property of an object required (nullable ones are `null`, never left out)."""
    if isinstance(schema, list):
        return [_tidy(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    tidy = {key: _tidy(value) for key, value in schema.items() if key != "title"}
    if tidy.get("type") == "object" and "properties" in tidy:
        tidy["properties"] = {
            name: _tidy(value) for name, value in schema["properties"].items()
        }  # property names are kept even when one is called "title"
        tidy["required"] = list(tidy["properties"])
    return tidy


def _inline(schema: Any, schemas: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return [_inline(item, schemas) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return _inline(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    return {key: _inline(value, schemas) for key, value in schema.items()}


def component_schemas() -> dict[str, dict[str, Any]]:
    """Every schema the document's `components.schemas` holds, `$ref`s pointing there.
    The error schema is written out whole: clients check any error against it alone."""
    _, top = models_json_schema(
        [(model, "serialization") for model in DOCUMENTED],
        ref_template="#/components/schemas/{model}",
    )
    schemas = _tidy(top["$defs"])
    schemas["Error"] = _inline(schemas["Error"], schemas)
    return schemas
