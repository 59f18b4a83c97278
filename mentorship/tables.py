"""Table columns shared by the HTML tables and their CSV downloads."""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import Response, current_app, request, stream_with_context
from flask_sqlalchemy.pagination import Pagination

from .extensions import db
from .services.figures import Figures, percent_value
from .templating import local_today, plain


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Any], Any]
    link: Callable[[Any], str | None] | None = None
    numeric: bool = False


def _csv_cell(value: Any) -> str:
    if type(value) is str:  # most cells: skip the general conversion
        text = value
    elif isinstance(value, date):
        return value.isoformat()  # what spreadsheets read as a date
    elif isinstance(value, int | float):
        return str(value)  # numbers as numbers (no thousands separator, never a formula)
    else:
        text = plain(value)
    # Keep spreadsheet programs from running a cell as a formula: one that starts like a
    # formula, or holds one after a `;` (a separator where the decimal comma is used).
    return "'" + text if FORMULA.search(text) else text


FORMULA = re.compile(r"(?:^|;)\s*[=+\-@\t\r]")
# The address's own parameters, not filters: they say nothing about what the rows are.
NOT_FILTERS = {"format", "page", "per_page", "mentors_page", "sort", "order"}


CSV_CHUNK_ROWS = 500


def _as_of_column() -> Column:
    """Every CSV says when its figures were taken: the same moment on every row, in the
    program's time zone with its offset (ISO 8601, what spreadsheets and scripts read)."""
    now = datetime.now(ZoneInfo(current_app.config["TIME_ZONE"]))
    stamp = now.replace(second=0, microsecond=0).isoformat()
    return Column("Figures as of", lambda row: stamp)


def _csv_chunks(columns: Sequence[Column], rows: Iterable[Any]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.label for column in columns])
    values = [column.value for column in columns]
    rows = iter(rows)
    while chunk := list(islice(rows, CSV_CHUNK_ROWS)):
        writer.writerows([_csv_cell(value(row)) for value in values] for row in chunk)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()  # the header alone when there are no rows


def _streamed(query: sa.Select) -> Iterator[Any]:
    # Runs while the response is sent, in the request's context pushed again (the view's
    # session is gone by then), fetching CSV_CHUNK_ROWS rows at a time.
    yield from db.session.scalars(query.execution_options(yield_per=CSV_CHUNK_ROWS))


def csv_response(
    filename: str,
    columns: Sequence[Column],
    rows: Iterable[Any] | sa.Select,
    streamed: bool = False,
) -> Response:
    """Every row as CSV. Given a select (of one entity), the rows are fetched and sent
    as they are written: a long export starts at once and never sits whole in memory."""
    columns = [*columns, _as_of_column()]
    if isinstance(rows, sa.Select):
        body = stream_with_context(_with_bom(_csv_chunks(columns, _streamed(rows))))
    elif streamed:  # a generator that reads the database as it goes
        body = stream_with_context(_with_bom(_csv_chunks(columns, rows)))
    else:
        body = "".join(_with_bom(_csv_chunks(columns, rows)))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{download_name(filename)}.csv"'},
    )


def _with_bom(chunks: Iterator[str]) -> Iterator[str]:
    """A UTF-8 byte-order mark first, so Excel reads accented names as UTF-8."""
    yield "\ufeff"
    yield from chunks


def download_name(base: str) -> str:
    """The file name says what is in it: the page, the filters chosen and the day
    (`rollup-counties-alameda-2026-12-01`), in lower-case words joined by hyphens."""
    words = [base]
    for name, value in request.args.items(multi=True):
        if name in NOT_FILTERS or not value.strip():
            continue
        words.append(f"{name.removesuffix('_id')}-{value}" if name.endswith("_id") else value)
    words.append(local_today().isoformat())
    ascii_words = unicodedata.normalize("NFKD", "-".join(words)).encode("ascii", "ignore")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_words.decode().lower()).strip("-")
    return slug[:150].rstrip("-") or "export"


def requested_page(param: str = "page") -> int:
    """The page number asked for, as `db.paginate` reads it (bad or below 1: page 1)."""
    return max(request.args.get(param, 1, type=int), 1)


@dataclass(frozen=True)
class ListPage:
    """A page of rows that are not one SELECT (a ranking kept in memory, a report summed
    for the rows shown), read by the pagination macro as `db.paginate`'s pages are."""

    items: list[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return -(-self.total // self.per_page) if self.total else 0

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None

    # The same numbers and gaps as every other list's (it reads only page and pages).
    iter_pages = Pagination.iter_pages

    def __iter__(self) -> Iterator[Any]:
        yield from self.items


def paginate_list(items: Sequence[Any], per_page: int) -> ListPage:
    """Like `db.paginate` (reads ?page=, a page past the end is empty), for a list."""
    page = requested_page()
    start = (page - 1) * per_page
    return ListPage(list(items[start : start + per_page]), page, per_page, len(items))


def paginate_rows(fetch: Callable[[int, int], list[Any]], total: int, per_page: int) -> ListPage:
    """A page of rows that `fetch(offset, limit)` computes for the page alone."""
    page = requested_page()
    return ListPage(fetch((page - 1) * per_page, per_page), page, per_page, total)


def figure_columns(figures_of: Callable[[Any], Figures], partnerships: bool = True) -> list[Column]:
    """A row's figures (services.figures) as columns, the same on every table and CSV."""
    count = [Column("Partnerships", lambda r: figures_of(r).partnerships, numeric=True)]
    return [
        *(count if partnerships else []),
        Column("Students enrolled", lambda r: figures_of(r).enrolled, numeric=True),
        Column("Cards to date", lambda r: figures_of(r).cards, numeric=True),
        Column("Cards since joining", lambda r: figures_of(r).programme_cards, numeric=True),
        Column("Cards before joining", lambda r: figures_of(r).baseline_cards, numeric=True),
        Column("Students using cards", lambda r: figures_of(r).using, numeric=True),
        Column("Coverage %", lambda r: percent_value(figures_of(r).coverage), numeric=True),
    ]


# An outcome report's own figures (one row per report), the same on every table and CSV.
OUTCOME_REPORT_COLUMNS = (
    Column("Period from", lambda r: r.period_start),
    Column("Period to", lambda r: r.period_end),
    Column("Students enrolled", lambda r: r.students_enrolled, numeric=True),
    Column("Physical cards", lambda r: r.physical_cards, numeric=True),
    Column("Digital cards", lambda r: r.digital_cards, numeric=True),
    Column("Students using cards", lambda r: r.students_using_cards, numeric=True),
)
