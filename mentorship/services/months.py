"""Counting in months, the unit of the program's 18–24-month timeline."""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from ..models.cohort import OUTER_BOUND_MONTHS


def months_between(start: date, today: date) -> int:
    """Whole months from `start` to `today` (0 before the start)."""
    months = (today.year - start.year) * 12 + today.month - start.month
    if today.day < start.day:
        months -= 1
    return max(months, 0)


def add_months(start: date, months: int) -> date:
    """The same day `months` later (the month's last day if it is shorter)."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def outer_bound(start: date) -> date:
    """The pilot's outer bound: no step of its plan is due after it."""
    return add_months(start, OUTER_BOUND_MONTHS)


def planned_due_on(start: date, month_offset: int, first_contact: date | None) -> date:
    """A step's date by the plan: months after the pilot's start; a district added later
    gets the same spacing from its own first contact (district steps start in month 2)."""
    due = add_months(start, month_offset)
    if first_contact is not None:
        due = max(due, add_months(first_contact, max(month_offset - 2, 0)))
    return due


def due_when_given(planned: date, start: date, given_on: date | None, grace_days: int) -> date:
    """When a step is due: `planned`, capped at the outer bound of a pilot that started on
    `start`. A step given to a running pilot on `given_on` (a plan change, a district added
    later, a step a change reopened) is due no sooner than `grace_days` after that day
    (unless that passes the bound) and never before it, so nothing is late on the day."""
    due = planned if given_on is None else max(planned, given_on + timedelta(days=grace_days))
    due = min(due, outer_bound(start))
    return due if given_on is None else max(due, given_on)
