"""Outcome figures: dated counts per partnership, and what they add up to.

A report counts the cards issued *in its period*, so the cards a partnership has
issued to date are the sum of its reports (services.figures defines every figure).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
import sqlalchemy.orm

from ..extensions import db
from ..models import OutcomeReport, Partnership, User
from . import milestone_facts, records
from .errors import Conflict, ValidationError

# What an outcome report counts (no explanation, no author): what may be shown or shared.
FIGURE_COLUMNS = (
    OutcomeReport.period_start,
    OutcomeReport.period_end,
    OutcomeReport.students_enrolled,
    OutcomeReport.physical_cards,
    OutcomeReport.digital_cards,
    OutcomeReport.students_using_cards,
)


def reports_of(partnership: Partnership) -> list[OutcomeReport]:
    """The partnership's whole-LEA reports (rows by school and grade come from its ILS
    report: services.ils_intake)."""
    return db.session.scalars(
        sa.select(OutcomeReport)
        .where(OutcomeReport.partnership_id == partnership.id, OutcomeReport.school_id.is_(None))
        .order_by(OutcomeReport.period_end, OutcomeReport.period_start)
    ).all()


def all_reports_of(partnership: Partnership) -> list[OutcomeReport]:
    """Every row, whole-LEA and by school and grade (the chart sums a period's rows),
    with its school."""
    return db.session.scalars(
        sa.select(OutcomeReport)
        .options(sa.orm.joinedload(OutcomeReport.school))
        .where(OutcomeReport.partnership_id == partnership.id)
    ).all()


def _cards_in_other_reports(partnership_id: int, report_id: int | None) -> int:
    return db.session.scalar(
        sa.select(
            sa.func.coalesce(
                sa.func.sum(OutcomeReport.physical_cards + OutcomeReport.digital_cards), 0
            )
        ).where(
            OutcomeReport.partnership_id == partnership_id,
            OutcomeReport.id != (report_id or 0),
        )
    )


def check_report(
    partnership: Partnership, values: dict[str, Any], today: date, report_id: int | None = None
) -> None:
    """The rules a report keeps; raises ValidationError / Conflict on the field at fault."""
    start, end = values["period_start"], values["period_end"]
    if end < start:
        raise ValidationError("The period must end on or after the day it starts.", "period_end")
    if end > today:
        raise ValidationError(
            "Report figures for a period that has ended (the end cannot be in the future).",
            "period_end",
        )
    earlier = db.session.scalars(
        sa.select(OutcomeReport).where(
            OutcomeReport.partnership_id == partnership.id,
            OutcomeReport.period_start == start,
            OutcomeReport.period_end == end,
            OutcomeReport.id != (report_id or 0),
        )
    ).first()
    if earlier and earlier.school_id is not None:
        raise Conflict(
            "This period is reported by school and grade (from the ILS report): a period is "
            "reported either for the whole LEA or by school and grade.",
            "period_start",
        )
    if earlier:
        raise Conflict(
            "Figures for this period were already reported: edit that report instead.",
            "period_start",
        )
    to_date = _cards_in_other_reports(partnership.id, report_id) + (
        values["physical_cards"] + values["digital_cards"]
    )
    if to_date > values["students_enrolled"] and not values.get("explanation", "").strip():
        raise ValidationError(
            f"With these figures {to_date:,} cards have been issued to date, more than the "
            f"{values['students_enrolled']:,} students enrolled. Explain why (for example, "
            "students who left the district keep their cards) or correct the figures.",
            "explanation",
        )
    using = values.get("students_using_cards")
    if using is not None and using > to_date:
        raise ValidationError(
            f"More students used a card ({using:,}) than cards issued to date ({to_date:,}).",
            "students_using_cards",
        )


def add_report(
    partnership: Partnership, values: dict[str, Any], today: date, actor: User | None
) -> OutcomeReport:
    check_report(partnership, values, today)
    report = records.create(
        OutcomeReport,
        {**values, "partnership_id": partnership.id, "created_by_id": actor.id if actor else None},
        actor,
    )
    milestone_facts.sync_facts([partnership.library_id], today, actor)
    return report


def update_report(report: OutcomeReport, values: dict[str, Any], today: date, actor: User | None):
    check_report(report.partnership, values, today, report.id)
    changes = records.update(report, values, actor)
    milestone_facts.sync_facts([report.library_id], today, actor)  # its period may move
    return changes


@dataclass(frozen=True)
class CardsToDate:
    """One point of the partnership's chart: cards issued up to the end of a period (the
    partnership's figures themselves are services.figures')."""

    period_end: date
    cards: int
    students_enrolled: int


def cards_over_time(reports: list[OutcomeReport]) -> list[CardsToDate]:
    """A point per period; a period reported by school and grade is the sum of its rows."""
    periods: dict[tuple[date, date], list[int]] = {}
    for report in reports:
        sums = periods.setdefault((report.period_end, report.period_start), [0, 0])
        sums[0] += report.cards
        sums[1] += report.students_enrolled
    points, total = [], 0
    for (end, _), (cards, enrolled) in sorted(periods.items()):
        total += cards
        points.append(CardsToDate(end, total, enrolled))
    return points
