"""A library's ILS report: the aggregate CSV its library system produces (school code,
grade, counts for a period), imported into one partnership's outcome reports.

The rules of the CSV import (services.importing) hold: preview first, nothing stored
until confirmed, one bad line refuses the whole file, errors name the line and column.
And one more: a file with any column that looks like a student's name, id or birth date
is refused whole, unread — this product keeps counts about students, never a student.

Each row is one school and one grade for one period: its counts replace what was
stored for that school, grade and period (so importing the same file twice changes
nothing). A school is named by its 14-digit CDS code, and must be one the partnership
covers; a period reported for the whole LEA cannot also be reported by school.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, selectinload

from ..extensions import db
from ..models import IdentifierSystem, OutcomeReport, Partnership, School, User
from ..models.school import GRADES, PartnershipSchool, grade_label
from . import milestone_facts, records
from .errors import ValidationError
from .identifiers import find, normalise
from .importing import (
    CREATE,
    UNCHANGED,
    UPDATE,
    ImportKind,
    ImportPlan,
    ImportResult,
    _column_key,
    _Row,
    _shown,
    read_table,
)

KIND = ImportKind(
    name="ils",
    label="ILS report",
    columns=(
        "school_code", "grade", "period_start", "period_end", "students_enrolled",
        "enrolled_on", "physical_cards", "digital_cards", "students_with_cards",
        "students_using_cards",
    ),
    required=("school_code", "grade", "period_start", "period_end", "students_enrolled"),
    example=(
        "27661590000001", "3", "2028-07-01", "2029-06-30", "62", "2028-10-02", "30", "18",
        "52", "40",
    ),
    notes={
        "school_code": "the school's 14-digit CDS code",
        "grade": "TK, K or 1 to 12",
        "period_start": "YYYY-MM-DD",
        "period_end": "YYYY-MM-DD, not after today",
        "students_enrolled": "a count of pupils in that school and grade",
        "enrolled_on": "the census date of the enrolment (YYYY-MM-DD)",
        "physical_cards": "new physical cards issued in the period",
        "digital_cards": "new digital / student-ID cards issued in the period",
        "students_with_cards": "pupils holding a card at the end of the period",
        "students_using_cards": "pupils who used their card in the period",
    },
)  # fmt: skip

# Header words that mean a column about one student: refused, whatever else the file holds.
STUDENT_COLUMN = re.compile(
    r"(^|_)(name|first|last|surname|given|middle|birth|dob|birthday|born|ssid|"
    r"patron|barcode|email|address|phone)(_|$)|"
    r"(student|pupil|patron|child)_?(id|no|num|number|code|key)|^id$|^sis_?id$"
)
COUNTS = ("physical_cards", "digital_cards", "students_with_cards", "students_using_cards")
GRADE_WORDS = {"TK": -1, "K": 0, "KN": 0}


NOT_A_STUDENT = {"school_name", "district_name", "lea_name", "library_name", "school_address"}


def student_columns(header_cells: list[str]) -> list[str]:
    """The header cells that look like a column about one student."""
    return [
        cell.strip()
        for cell in header_cells
        if _column_key(cell) not in NOT_A_STUDENT and STUDENT_COLUMN.search(_column_key(cell))
    ]


def _grade(row: _Row) -> int | None:
    raw = row.cells.get("grade", "").strip().upper().removeprefix("GRADE").strip()
    value = GRADE_WORDS.get(raw)
    if value is None and raw.isdigit():
        value = int(raw)
    if value is None or value not in GRADES:
        row.error("grade", f"'{_shown(raw)}' is not a grade: use TK, K or 1 to 12")
        return None
    return value


def _day(row: _Row, column: str, required: bool) -> date | None:
    raw = row.cells.get(column, "")
    if not raw:
        if required:
            row.error(column, "is required")
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        row.error(column, f"'{_shown(raw)}' is not a date written YYYY-MM-DD")
        return None


def _covered(partnership: Partnership) -> dict[str, School]:
    """{CDS code: school} of the schools the partnership covers."""
    chosen = set(
        db.session.scalars(
            sa.select(PartnershipSchool.school_id).where(
                PartnershipSchool.partnership_id == partnership.id
            )
        )
    )
    schools = db.session.scalars(
        sa.select(School)
        .options(selectinload(School.identifiers))
        .where(School.lea_id == partnership.district_id, School.active.is_(True))
    ).all()
    return {
        identifier.value: school
        for school in schools
        if not chosen or school.id in chosen
        for identifier in school.identifiers
        if identifier.system == IdentifierSystem.CDS
    }


def _about_one_student(line: int, cells: list[str]) -> list[str]:
    """The whole file is refused for any column about one student."""
    return [
        f"line {line}, column '{_shown(cell)}': looks like a student's name, id or birth "
        "date. This report takes counts only: export the aggregate report (no column about "
        "one student) and upload that file."
        for cell in student_columns(cells)
    ]


def plan_ils(partnership: Partnership, text: str, today: date) -> ImportPlan:
    """What importing this ILS report into `partnership` would do; nothing is written."""
    plan = ImportPlan(kind=KIND.name)
    table = read_table(KIND, text, plan, _about_one_student)
    if table is None:
        return plan
    header, data = table

    covered = _covered(partnership)
    stored = {
        (r.school_id, r.grade, r.period_start, r.period_end): r
        for r in db.session.scalars(
            sa.select(OutcomeReport).where(OutcomeReport.partnership_id == partnership.id)
        )
    }
    whole_lea = {(start, end) for (school, _, start, end) in stored if school is None}
    first_line: dict[tuple, int] = {}
    for line, cells in data:
        row = _Row(line, header, cells)
        planned = row.planned
        code = normalise(IdentifierSystem.CDS, row.cells.get("school_code", ""))
        school = covered.get(code)
        if not code:
            row.error("school_code", "is required")
        elif school is None:
            known = find(IdentifierSystem.CDS, code)
            row.error(
                "school_code",
                f"'{_shown(code)}' is not a school this partnership covers"
                + ("" if known else " (no school has this CDS code)"),
            )
        grade = _grade(row)
        start = _day(row, "period_start", True)
        end = _day(row, "period_end", True)
        values: dict[str, Any] = {
            "students_enrolled": row.whole_number("students_enrolled", 100_000, "pupils"),
            "enrolled_on": _day(row, "enrolled_on", False),
        }
        if values["students_enrolled"] is None and row.cells.get("students_enrolled") == "":
            row.error("students_enrolled", "is required")
        for column in COUNTS:
            values[column] = (
                row.whole_number(column, 100_000, "pupils") if row.has(column) else None
            )
        values["physical_cards"] = values["physical_cards"] or 0
        values["digital_cards"] = values["digital_cards"] or 0
        if start and end:
            if end < start:
                row.error("period_end", "the period must end on or after the day it starts")
            elif end > today:
                row.error("period_end", "the period has not ended yet (it ends after today)")
            elif (start, end) in whole_lea:
                row.error(
                    "period_start",
                    "this period is already reported for the whole LEA; a period is reported "
                    "either for the whole LEA or by school and grade",
                )
        enrolled = values["students_enrolled"]
        with_cards, using = values["students_with_cards"], values["students_using_cards"]
        if enrolled is not None and with_cards is not None and with_cards > enrolled:
            row.error(
                "students_with_cards", f"{with_cards:,} is more than the {enrolled:,} enrolled"
            )
        if using is not None and with_cards is not None and using > with_cards:
            row.error(
                "students_using_cards", f"{using:,} is more than the {with_cards:,} with cards"
            )
        if school is not None and grade is not None and start and end:
            planned.label = f"{school.name}, grade {grade_label(grade)}, {start}–{end}"
            key = (school.id, grade, start, end)
            if key in first_line:
                row.error(
                    "school_code",
                    f"this school, grade and period are already on line {first_line[key]}",
                )
            first_line.setdefault(key, line)
            values.update(school_id=school.id, grade=grade, period_start=start, period_end=end)
            record = stored.get(key)
            if not planned.errors:
                planned.values = values
                planned.record = record
                planned.changes = (
                    {
                        k: [getattr(record, k), v]
                        for k, v in values.items()
                        if getattr(record, k) != v
                    }
                    if record is not None
                    else {}
                )
                planned.outcome = (
                    CREATE if record is None else UPDATE if planned.changes else UNCHANGED
                )
        plan.rows.append(planned)
    return plan


def apply_ils(
    partnership: Partnership, plan: ImportPlan, today: date, actor: User | None
) -> ImportResult:
    """Store a plan without errors in the caller's transaction (the caller commits)."""
    if plan.has_errors:
        raise ValidationError(
            "This file has errors, so nothing was stored. Fix them and upload it again."
        )
    result = ImportResult()
    for row in plan.rows:
        if row.outcome == CREATE:
            values = {**row.values, "partnership_id": partnership.id}
            values["created_by_id"] = actor.id if actor else None
            records.create(OutcomeReport, values, actor)
            result.created += 1
        elif row.outcome == UPDATE:
            records.update(row.record, row.values, actor)
            result.updated += 1
        else:
            result.unchanged += 1
    milestone_facts.sync_facts([partnership.library_id], today, actor)
    return result


def third_grade_figures(partnership: Partnership) -> list[OutcomeReport]:
    """The partnership's grade-3 rows, newest period first, by school (exact counts: for
    the library's own people, its mentor and staff)."""
    return db.session.scalars(
        sa.select(OutcomeReport)
        .join(School, School.id == OutcomeReport.school_id)
        .options(contains_eager(OutcomeReport.school))
        .where(OutcomeReport.partnership_id == partnership.id, OutcomeReport.grade == 3)
        .order_by(OutcomeReport.period_end.desc(), School.name)
    ).all()


def third_grade_rows(reports: list[OutcomeReport]) -> list[OutcomeReport]:
    """Of a partnership's rows (with their school loaded), the grade-3 ones, as
    `third_grade_figures` orders them."""
    rows = [r for r in reports if r.grade == 3]
    rows.sort(key=lambda r: r.school.name)
    rows.sort(key=lambda r: r.period_end, reverse=True)
    return rows
