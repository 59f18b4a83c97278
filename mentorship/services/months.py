"""Counting in months, the unit of the program's 18–24-month timeline."""

from __future__ import annotations

import calendar
from datetime import date


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
