"""Table columns shared by the HTML tables and their CSV downloads."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Response

from .templating import plain


@dataclass(frozen=True)
class Column:
    label: str
    value: Callable[[Any], Any]
    link: Callable[[Any], str | None] | None = None
    numeric: bool = False


def _csv_cell(value: Any) -> str:
    if isinstance(value, date):
        return value.isoformat()  # what spreadsheets read as a date
    text = "" if value is None else (str(value) if isinstance(value, int | float) else plain(value))
    # Keep spreadsheet programs from running a cell as a formula.
    return (
        "'" + text
        if text[:1] in ("=", "+", "-", "@") and not isinstance(value, int | float)
        else text
    )


def csv_response(filename: str, columns: Sequence[Column], rows: Iterable[Any]) -> Response:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([column.label for column in columns])
    for row in rows:
        writer.writerow([_csv_cell(column.value(row)) for column in columns])
    return Response(
        buffer.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )
