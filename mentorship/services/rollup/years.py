"""School years (July 1 to June 30): how the rollup and the annual report name a year."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True, order=True)
class SchoolYear:
    """California's school year: July 1 to June 30. `start` is the first calendar year."""

    start: int

    @property
    def key(self) -> str:  # 2025-26, as the URL and the CSV write it
        return f"{self.start}-{(self.start + 1) % 100:02d}"

    @property
    def label(self) -> str:
        return f"{self.start}–{(self.start + 1) % 100:02d}"

    @property
    def first_day(self) -> date:
        return date(self.start, 7, 1)

    @property
    def last_day(self) -> date:
        return date(self.start + 1, 6, 30)

    @classmethod
    def of(cls, day: date) -> SchoolYear:
        return cls(day.year if day.month >= 7 else day.year - 1)

    @classmethod
    def last_ended(cls, today: date) -> SchoolYear:
        """The latest school year that is over: what an annual report is first asked for."""
        return cls(cls.of(today).start - 1)

    @classmethod
    def parse(cls, text: str) -> SchoolYear | None:
        match = re.fullmatch(r"(\d{4})-(\d{2})", text.strip())
        if not match:
            return None
        start = int(match[1])
        if not 2000 <= start < 2100 or (start + 1) % 100 != int(match[2]):
            return None
        return cls(start)


SCHOOL_YEARS = frozenset(SchoolYear(start) for start in range(2000, 2100))  # what parse accepts


def school_years(today: date, back: int = 5) -> list[SchoolYear]:
    """The current school year and the ones before it, newest first (filter choices)."""
    current = SchoolYear.of(today)
    return [SchoolYear(current.start - n) for n in range(back + 1)]
