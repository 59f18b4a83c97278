"""Import libraries, school districts and people from a CSV file, all or nothing.

Staff upload a file, see what every row would do, then confirm. `plan_import` reads and
checks the whole file and writes nothing; `apply_import` stores a plan only when no row
has an error, through the services the forms use, so every change is audited.

The rules:
- The header names the columns (any case; spaces, hyphens and underscores alike).
  An unknown column, a missing required one or a column named twice refuses the file.
- Rows are matched to stored records: libraries by name, districts by state code when
  the row has one (else by name and county; a stored district without a code gets the
  row's code), people by email. Matching ignores case.
- An empty cell means "no value": on a stored record it clears that field, so a file
  describes its records completely and importing the same file twice changes nothing.
  An optional column left out of the file altogether leaves that field as stored.
- One bad line refuses the whole file. Two rows describing the same record are an error
  on the second, naming the first.
- An import never deactivates or reactivates a record and never touches passwords;
  people it creates get the invitation email (sent by the caller after the commit).
- Errors name the file's physical line (the header is line 1) and the column:
  "line 14, county: 'Alameeda' is not a California county".
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email

from ..extensions import db
from ..models import LIBRARY_ROLES, Library, Role, SchoolDistrict, User
from ..models.library import COOPERATIVE_SYSTEMS, Governance, california_county
from . import records
from .auth import normalise_email
from .errors import DomainError, ValidationError
from .people import create_person, update_person

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5_000
CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"
OUTCOMES = (CREATE, UPDATE, UNCHANGED, ERROR)

TOO_LARGE = "The file is larger than 2 MB. Split it into smaller files and import them one by one."
TOO_MANY_ROWS = (
    f"The file has more than {MAX_ROWS:,} rows. Split it into files of {MAX_ROWS:,} rows or fewer."
)
NOT_UTF8 = (
    "This file is not UTF-8 text. In your spreadsheet program choose “Save as” → "
    "“CSV UTF-8 (comma delimited)” and upload that file."
)
SCHOOL_YEAR = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True)
class ImportKind:
    """What one kind of file holds: its columns, which are required, and an example."""

    name: str  # "libraries", also the URL part
    label: str  # "Libraries"
    columns: tuple[str, ...]
    required: tuple[str, ...]
    example: tuple[str, ...]  # one row for the template file, in column order
    notes: dict[str, str] = field(default_factory=dict)  # column -> what it accepts
    # A public directory's own export: its other columns are read past, not refused.
    others_ignored: bool = False

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(column for column in self.columns if column not in self.required)


KINDS: dict[str, ImportKind] = {
    kind.name: kind
    for kind in (
        ImportKind(
            name="libraries",
            label="Libraries",
            columns=(
                "name", "short_name", "city", "county", "cooperative_system", "governance",
                "service_population", "ils_name", "website", "contact_name", "contact_email",
                "contact_phone",
            ),
            required=("name", "county", "governance"),
            example=(
                "Salinas Public Library", "Salinas PL", "Salinas", "Monterey", "Black Gold",
                "city", "163000", "Polaris", "https://salinaspubliclibrary.org", "Ana Ruiz",
                "ana.ruiz@library.org", "831-555-0100",
            ),
            notes={
                "name": "matches a stored library, whatever the case",
                "county": "one of California's 58 counties",
                "cooperative_system": "one of the nine systems, or empty",
                "governance": ", ".join(g.value for g in Governance),
                "service_population": "a whole number",
                "website": "a full address starting with https://",
            },
        ),
        ImportKind(
            name="districts",
            label="School districts",
            columns=("name", "county", "state_code", "students_enrolled", "enrolment_school_year"),
            required=("name", "county"),
            example=("Salinas City Elementary", "Monterey", "27-66142", "7800", "2024-25"),
            notes={
                "state_code": "CDS county-district code or NCES id; matches a stored district",
                "name": "with county, matches a stored district when there is no state code",
                "county": "one of California's 58 counties",
                "students_enrolled": "a count only, never a student's name or ID",
                "enrolment_school_year": "like 2024-25; needed when students_enrolled is given",
            },
        ),
        ImportKind(
            name="cde-schools",
            label="Schools and LEAs (CDE public school directory)",
            columns=(
                "cdscode", "ncesdist", "ncesschool", "statustype", "county", "district",
                "school", "city", "charter", "fundingtype", "doc", "gsserved", "gsoffered",
            ),
            required=("cdscode", "statustype", "county", "district", "school"),
            example=(
                "27661420000000", "0634620", "", "Active", "Monterey",
                "Salinas City Elementary", "", "Salinas", "", "", "52", "", "",
            ),
            notes={
                "cdscode": "14 digits; ending 0000000 for the LEA's own row",
                "statustype": "only Active rows are imported",
                "doc": "00 marks a county office of education",
                "fundingtype": "a directly funded charter school is its own LEA",
                "gsserved": "the grade span, like K-6 or TK-5 (else GSoffered)",
            },
            others_ignored=True,
        ),
        ImportKind(
            name="pls-libraries",
            label="Libraries (Public Libraries Survey, administrative entities)",
            columns=("stabr", "fscskey", "libid", "libname", "city", "cnty", "c_legbas", "popu_lsa"),
            required=("stabr", "fscskey", "libname", "cnty", "c_legbas"),
            example=(
                "CA", "CA0096", "M0094", "SALINAS PUBLIC LIBRARY", "SALINAS", "MONTEREY", "CI",
                "163542",
            ),
            notes={
                "stabr": "only California (CA) rows are imported",
                "fscskey": "matches a stored library by its FSCSKEY, else by name",
                "c_legbas": "CI city, CO/CC county, LD library district, MJ joint powers",
            },
            others_ignored=True,
        ),
        ImportKind(
            name="people",
            label="People",
            columns=("email", "name", "role", "library"),
            required=("email", "name", "role", "library"),
            example=("ana.ruiz@library.org", "Ana Ruiz", "pilot", "Salinas Public Library"),
            notes={
                "email": "matches a stored person",
                "role": "staff, pilot, mentor or state",
                "library": "the library's exact name for pilot and mentor librarians; "
                "empty for staff and state officials",
            },
        ),
    )
}  # fmt: skip


@dataclass
class PlannedRow:
    line: int  # physical line in the file; the header is line 1
    outcome: str = ERROR
    label: str = ""  # the name or email shown in the preview
    values: dict[str, Any] = field(default_factory=dict)  # what would be stored
    changes: dict[str, list[Any]] = field(default_factory=dict)  # {field: [old, new]}
    errors: list[str] = field(default_factory=list)
    record: Any = None  # the stored record an update changes


@dataclass
class ImportPlan:
    kind: str
    rows: list[PlannedRow] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)  # the file as a whole
    skipped: list[str] = field(default_factory=list)  # rows read past, and why

    @property
    def errors(self) -> list[str]:
        return [*self.file_errors, *(error for row in self.rows for error in row.errors)]

    @property
    def has_errors(self) -> bool:
        return bool(self.file_errors) or any(row.errors for row in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(OUTCOMES, 0)
        for row in self.rows:
            counts[row.outcome] += 1
        return counts


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_people: list[User] = field(default_factory=list)  # to invite after the commit


def read_csv_text(data: bytes) -> str:
    """An uploaded file's text, or a ValidationError saying why it cannot be read."""
    if len(data) > MAX_BYTES:
        raise ValidationError(TOO_LARGE, "file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValidationError(NOT_UTF8, "file") from error
    if "\x00" in text:
        raise ValidationError(NOT_UTF8, "file")
    if not text.strip():
        raise ValidationError("The file is empty.", "file")
    return text


def template_csv(kind: str) -> str:
    """The header and one example row: a file to fill in."""
    spec = KINDS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spec.columns)
    writer.writerow(spec.example)
    return buffer.getvalue()


# --- Reading the file ---------------------------------------------------------------


class _Unreadable(Exception):
    """The file as a whole cannot be planned (the message says why)."""


def _column_key(header_cell: str) -> str:
    return re.sub(r"[\s_-]+", "_", header_cell.strip().lower()).strip("_")


def _shown(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _names(columns: list[str]) -> str:
    return ", ".join(f"'{_shown(column)}'" for column in columns)


def read_table(
    kind: ImportKind,
    text: str,
    plan: ImportPlan,
    refuse_header: Callable[[int, list[str]], list[str]] | None = None,
) -> tuple[list[str], list[tuple[int, list[str]]]] | None:
    """The file's header (column keys) and its data rows, read the one way every import
    reads a file; None, with the reasons in `plan.file_errors`, when the file as a whole
    cannot be planned. `refuse_header(line, cells)` may give more reasons to refuse it."""
    # One kind of line break: a browser sends the confirm form's copy back with \r\n,
    # and a cell spanning lines must read the same both times.
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    try:
        if len(text.encode("utf-8")) > MAX_BYTES:
            raise _Unreadable(TOO_LARGE)
        (header_line, header_cells), *data = _read_rows(text)
        if refuse_header and (problems := refuse_header(header_line, header_cells)):
            raise _Unreadable(*problems)
        header = _read_header(kind, header_line, header_cells)
    except _Unreadable as problem:
        plan.file_errors.extend(problem.args)
        return None
    return header, data


def _read_rows(text: str) -> list[tuple[int, list[str]]]:
    """(first physical line, cells) of every non-blank record, the header first. A header
    with tabs and no commas is tab-separated (the CDE directory's own export)."""
    first = text.split("\n", 1)[0]
    delimiter = "\t" if "\t" in first and "," not in first else ","
    reader = csv.reader(io.StringIO(text, newline=""), strict=True, delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    line = 1
    try:
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append((line, cells))
                if len(rows) > MAX_ROWS + 1:
                    raise _Unreadable(TOO_MANY_ROWS)
            line = reader.line_num + 1  # a quoted cell may span lines
    except csv.Error as error:
        raise _Unreadable(f"line {line}: this is not valid CSV ({error}).") from error
    if not rows:
        raise _Unreadable("The file is empty.")
    if len(rows) == 1:
        raise _Unreadable(f"line {rows[0][0]}: the file has a header but no rows below it.")
    return rows


def _read_header(kind: ImportKind, line: int, cells: list[str]) -> list[str]:
    """The column name of each position ("" for an unnamed, ignored column)."""
    header = [_column_key(cell) for cell in cells]
    named = [column for column in header if column]
    twice = sorted({column for column in named if named.count(column) > 1})
    unknown = [
        cell.strip()
        for cell, key in zip(cells, header, strict=True)
        if key and key not in kind.columns and not kind.others_ignored
    ]
    missing = [column for column in kind.required if column not in header]
    problems = []
    if unknown:
        problems.append(
            f"line {line}: unknown column{'s' if len(unknown) > 1 else ''} {_names(unknown)}; "
            f"the columns for {kind.label.lower()} are {', '.join(kind.columns)}"
        )
    if missing:
        problems.append(
            f"line {line}: missing required column{'s' if len(missing) > 1 else ''} {_names(missing)}"
        )
    if twice:
        problems.append(f"line {line}: column {_names(twice)} appears more than once")
    if problems:
        raise _Unreadable(*problems)
    return header


class _Row:
    """One data row's cells by column, and the errors found in them."""

    def __init__(self, line: int, header: list[str], cells: list[str]):
        self.planned = PlannedRow(line=line)
        # A short row (some programs drop trailing empty cells) reads as empty cells.
        self.cells: dict[str, str] = dict.fromkeys(filter(None, header), "")
        for position, cell in enumerate(cells):
            column = header[position] if position < len(header) else ""
            if column:
                self.cells[column] = cell.strip()
            elif cell.strip():
                where = f"column {position + 1}"
                self.error(where, f"'{_shown(cell.strip())}' is under no column name")

    def error(self, column: str, message: str) -> None:
        self.planned.errors.append(f"line {self.planned.line}, {column}: {message}")

    def has(self, column: str) -> bool:
        return column in self.cells

    def text(self, column: str, max_length: int, required: bool = False) -> str:
        value = self.cells.get(column, "")
        if required and not value:
            self.error(column, "is required")
        elif len(value) > max_length:
            self.error(column, f"is {len(value)} characters long; at most {max_length}")
        elif any(unicodedata.category(c) == "Cc" for c in value):
            self.error(column, "holds a line break or another invisible character")
        return value

    def county(self, column: str = "county") -> str:
        value = self.text(column, 60, required=True)
        county = california_county(value) if value else None
        if value and county is None:
            self.error(column, f"'{_shown(value)}' is not a California county")
        return county or value

    def whole_number(self, column: str, maximum: int, what: str) -> int | None:
        shown = _shown(self.cells.get(column, ""))
        value = self.cells.get(column, "").replace(",", "")  # "163,000" as spreadsheets show it
        if not value:
            return None
        if not (value.isascii() and value.isdigit()):
            self.error(column, f"'{shown}' is not a number of {what}, 0 or more")
            return None
        if int(value) > maximum:
            self.error(column, f"'{shown}' is more than {maximum:,} {what}")
            return None
        return int(value)

    def email(self, column: str, required: bool = False) -> str:
        value = self.text(column, 254, required)
        if value:
            try:
                validate_email(value, check_deliverability=False)
            except EmailNotValidError:
                self.error(column, f"'{_shown(value)}' is not an email address")
        return normalise_email(value)

    def choice(self, column: str, choices: tuple[str, ...], what: str, required: bool) -> str:
        """The choice in its stored spelling, whatever the case in the file."""
        value = self.cells.get(column, "")
        for choice in choices:
            if choice.lower() == value.lower():
                return choice
        if value or required:
            listed = ", ".join(choices[:-1]) + " or " + choices[-1]
            problem = f"'{_shown(value)}' is not {what}" if value else "is required"
            self.error(column, f"{problem}: use {listed}")
        return value


# --- One importer per kind: read a row's values, find its record, store it ------------


class _Importer:
    model: type

    def load(self) -> None:
        """Read what rows are matched against, in one query per table."""

    def values(self, row: _Row) -> dict[str, Any]:
        raise NotImplementedError

    def label(self, values: dict[str, Any]) -> str:
        return values.get("name", "")

    def keys(self, values: dict[str, Any]) -> list[tuple[str, Any, str]]:
        """(column, key, how to name it) that no two rows may share."""
        raise NotImplementedError

    def match(self, row: _Row, values: dict[str, Any]) -> Any:
        raise NotImplementedError

    def changes(self, record: Any, values: dict[str, Any]) -> dict[str, list[Any]]:
        return {
            name: [getattr(record, name), new]
            for name, new in values.items()
            if getattr(record, name) != new
        }

    def create(self, values: dict[str, Any], actor: User | None) -> Any:
        return records.create(self.model, values, actor)

    def update(self, record: Any, values: dict[str, Any], actor: User | None) -> None:
        records.update(record, values, actor)


GOVERNANCE = tuple(g.value for g in Governance)
ROLES = tuple(r.value for r in Role)


class _Libraries(_Importer):
    model = Library
    LENGTHS = {
        "short_name": 60,
        "city": 100,
        "ils_name": 80,
        "contact_name": 120,
        "contact_phone": 40,
    }

    def load(self) -> None:
        self.by_name = {lib.name.lower(): lib for lib in db.session.scalars(sa.select(Library))}

    def values(self, row: _Row) -> dict[str, Any]:
        governance = row.choice("governance", GOVERNANCE, "a kind of governance", required=True)
        values: dict[str, Any] = {
            "name": row.text("name", 200, required=True),
            "county": row.county(),
            "governance": Governance(governance) if governance in GOVERNANCE else governance,
        }
        for column, length in self.LENGTHS.items():
            if row.has(column):
                values[column] = row.text(column, length)
        if row.has("cooperative_system"):
            values["cooperative_system"] = row.choice(
                "cooperative_system",
                COOPERATIVE_SYSTEMS,
                "a California cooperative library system",
                required=False,
            )
        if row.has("service_population"):
            values["service_population"] = row.whole_number(
                "service_population", 50_000_000, "people"
            )
        if row.has("website"):
            values["website"] = self._website(row)
        if row.has("contact_email"):
            values["contact_email"] = row.email("contact_email")
        return values

    @staticmethod
    def _website(row: _Row) -> str:
        value = row.text("website", 300)
        parts = urlsplit(value)
        if value and (
            parts.scheme not in ("http", "https") or "." not in parts.netloc or " " in value
        ):
            row.error("website", f"'{_shown(value)}' is not a full address starting with https://")
        return value

    def keys(self, values):
        return [("name", values["name"].lower(), f"'{_shown(values['name'])}'")]

    def match(self, row, values):
        return self.by_name.get(values["name"].lower())


class _Districts(_Importer):
    model = SchoolDistrict

    def load(self) -> None:
        districts = db.session.scalars(sa.select(SchoolDistrict)).all()
        self.by_code = {d.state_code.lower(): d for d in districts if d.state_code}
        self.by_place = {(d.name.lower(), d.county.lower()): d for d in districts}

    def values(self, row: _Row) -> dict[str, Any]:
        values: dict[str, Any] = {
            "name": row.text("name", 200, required=True),
            "county": row.county(),
        }
        if row.has("state_code"):
            values["state_code"] = row.text("state_code", 20) or None
        if row.has("students_enrolled"):
            values["students_enrolled"] = row.whole_number(
                "students_enrolled", 5_000_000, "students"
            )
        if row.has("enrolment_school_year"):
            values["enrolment_school_year"] = self._school_year(row)
        return values

    @staticmethod
    def _school_year(row: _Row) -> str:
        value = row.cells["enrolment_school_year"]
        match = SCHOOL_YEAR.match(value)
        if not value:
            if row.cells.get("students_enrolled"):
                row.error(
                    "enrolment_school_year",
                    "say which school year the enrolment figure is for, like 2024-25",
                )
        elif not match or (int(match[1]) + 1) % 100 != int(match[2]):
            row.error(
                "enrolment_school_year", f"'{_shown(value)}' is not a school year like 2024-25"
            )
        return value

    def label(self, values):
        return f"{values['name']} ({values['county']})"

    def keys(self, values):
        place = f"'{_shown(values['name'])}' in {values['county']} County"
        keys = [("name", (values["name"].lower(), values["county"].lower()), place)]
        if values.get("state_code"):
            keys.append(("state_code", values["state_code"].lower(), f"'{values['state_code']}'"))
        return keys

    def match(self, row, values):
        place = self.by_place.get((values["name"].lower(), values["county"].lower()))
        code = values.get("state_code")
        if not code:
            return place
        coded = self.by_code.get(code.lower())
        if coded is not None:
            if place is not None and place is not coded:
                row.error(
                    "name",
                    f"another stored district is named '{_shown(values['name'])}' in "
                    f"{values['county']} County (state code '{place.state_code or ''}')",
                )
            return coded
        if place is not None and place.state_code:
            row.error(
                "state_code",
                f"'{code}' differs from the state code stored for this district, "
                f"'{place.state_code}'",
            )
        return place  # a stored district without a code takes this one


class _People(_Importer):
    model = User

    def load(self) -> None:
        self.by_email = {user.email: user for user in db.session.scalars(sa.select(User))}
        libraries = db.session.scalars(sa.select(Library)).all()
        self.libraries = {lib.name.lower(): lib for lib in libraries}
        self.library_names = {lib.id: lib.name for lib in libraries}

    def values(self, row: _Row) -> dict[str, Any]:
        role = row.choice("role", ROLES, "a role", required=True)
        values: dict[str, Any] = {
            "email": row.email("email", required=True),
            "name": row.text("name", 120, required=True),
            "role": Role(role) if role in ROLES else role,
            "library_id": None,
        }
        if role in ROLES:
            values["library_id"] = self._library_id(row, Role(role))
        return values

    def _library_id(self, row: _Row, role: Role) -> int | None:
        name = row.cells["library"]
        if role not in LIBRARY_ROLES:
            if name:
                row.error(
                    "library",
                    f"leave empty for {role} people, who belong to no library "
                    f"(found '{_shown(name)}')",
                )
            return None
        library = self.libraries.get(name.lower())
        if not name:
            row.error("library", f"a {role} librarian belongs to a library: give its name")
        elif library is None:
            row.error("library", f"no library is named '{_shown(name)}'")
        elif not library.active:
            row.error("library", f"'{library.name}' is deactivated; reactivate it first")
        else:
            return library.id
        return None

    def label(self, values):
        return values["email"]

    def keys(self, values):
        return [("email", values["email"], f"'{_shown(values['email'])}'")]

    def match(self, row, values):
        return self.by_email.get(values["email"])

    def changes(self, record, values):
        compared = {key: value for key, value in values.items() if key != "library_id"}
        changes = super().changes(record, compared)
        if record.library_id != values["library_id"]:
            names = self.library_names
            changes["library"] = [names.get(record.library_id), names.get(values["library_id"])]
        return changes

    def create(self, values, actor):
        return create_person(values, actor)

    def update(self, record, values, actor):
        update_person(record, values, actor)


IMPORTERS: dict[str, Callable[[], _Importer]] = {
    "libraries": _Libraries,
    "districts": _Districts,
    "people": _People,
}


DIRECTORY_KINDS = ("cde-schools", "pls-libraries")


# --- Plan and apply -----------------------------------------------------------------


def _kind(kind: str) -> ImportKind:
    if kind not in KINDS:
        raise ValidationError(f"There is no import of '{kind}'.", "kind")
    return KINDS[kind]


def plan_import(kind: str, text: str) -> ImportPlan:
    """What importing `text` would do to each row; nothing is written."""
    spec = _kind(kind)
    if spec.name in DIRECTORY_KINDS:
        from . import directories  # it builds on this module

        return directories.plan_directory(spec, text)
    plan = ImportPlan(kind=kind)
    table = read_table(spec, text, plan)
    if table is None:
        return plan
    header, data = table

    importer = IMPORTERS[kind]()
    importer.load()
    first_line: dict[tuple[str, Any], int] = {}  # (column, key) -> line that has it
    matched: dict[int, int] = {}  # stored record id -> line matched to it
    for line, cells in data:
        row = _Row(line, header, cells)
        planned = row.planned
        planned.values = values = importer.values(row)
        planned.label = importer.label(values)
        if planned.errors:
            plan.rows.append(planned)
            continue
        for column, key, shown in importer.keys(values):
            if (column, key) in first_line:
                row.error(column, f"{shown} is already on line {first_line[column, key]}")
            else:
                first_line[column, key] = line
        record = importer.match(row, values) if not planned.errors else None
        if record is not None:
            if record.id in matched:
                row.error(
                    spec.columns[0],
                    f"this row and line {matched[record.id]} describe the same stored record",
                )
            matched.setdefault(record.id, line)
        if not planned.errors:
            planned.record = record
            planned.changes = importer.changes(record, values) if record is not None else {}
            planned.outcome = CREATE if record is None else UPDATE if planned.changes else UNCHANGED
        plan.rows.append(planned)
    return plan


def apply_import(plan: ImportPlan, actor: User | None) -> ImportResult:
    """Store a plan without errors in the caller's transaction (the caller commits)."""
    if plan.has_errors:
        raise ValidationError(
            "This file has errors, so nothing was stored. Fix them and upload it again."
        )
    if plan.kind in DIRECTORY_KINDS:
        from . import directories

        return directories.apply_directory(plan, actor)
    importer = IMPORTERS[plan.kind]()
    result = ImportResult()
    for row in plan.rows:
        try:
            if row.outcome == CREATE:
                created = importer.create(row.values, actor)
                result.created += 1
                if isinstance(created, User):
                    result.new_people.append(created)
            elif row.outcome == UPDATE:
                importer.update(row.record, row.values, actor)
                result.updated += 1
            else:
                result.unchanged += 1
        except DomainError as error:
            raise type(error)(f"line {row.line}: {error.message}", error.field) from error
    return result
