"""Backups: the whole program as one JSON document, restored into an empty database.

The file (format "mentorship-backup", version 1) is one JSON object:

    {"format": "mentorship-backup", "format_version": 1,
     "exported_at": "2026-11-25T18:00:00+00:00", "alembic_revision": "0009",
     "row_counts": {"libraries": 60, ...},
     "tables": [{"name": "libraries", "columns": ["id", "name", ...],
                 "rows": [[1, "Alameda County Library", ...], ...]}, ...]}

Tables come in `db.metadata.sorted_tables` order (parents before children), so a table
added by a later model is in the next backup without a change here; rows are ordered
by primary key, one per line. Values are plain JSON: dates and times in ISO 8601
(times in UTC, with their offset), enums by their value, JSON columns as JSON.

It is a *complete* backup: password hashes, calendar-feed and session tokens and the
email outbox are in it, so the file must be kept as safely as the database itself.

Both directions stream: the export writes rows as the database hands them over, the
import parses the file incrementally (ijson) and inserts in chunks, so neither holds
the whole program in memory.
"""

from __future__ import annotations

import enum
import gzip
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import ijson
import sqlalchemy as sa
from sqlalchemy.sql.ddl import sort_tables_and_constraints

from ..extensions import db
from .errors import DomainError

FORMAT = "mentorship-backup"
FORMAT_VERSION = 1
# Tables whose rows the migrations write (reference data, not the program's records):
# an empty, freshly migrated database already has them, and an import replaces them.
REFERENCE_TABLES = frozenset({"partnership_stages"})
CHUNK = 2000  # rows fetched and inserted at a time


class BackupError(DomainError):
    """The backup cannot be written or restored; the message says why and where."""


def tables() -> list[sa.Table]:
    return list(db.metadata.sorted_tables)


def database_revision(connection: sa.Connection) -> str | None:
    """The Alembic revision the database is at (None before `flask db upgrade`)."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    revisions = connection.scalars(
        sa.text("SELECT version_num FROM alembic_version ORDER BY version_num")
    ).all()
    return ",".join(revisions) or None


def default_file_name(now: datetime | None = None) -> str:
    return f"mentorship-backup-{(now or datetime.now(UTC)):%Y%m%d-%H%M%S}.json"


# Values ---------------------------------------------------------------------------


def _python_type(column: sa.Column) -> type:
    type_ = column.type
    if isinstance(type_, sa.types.TypeDecorator):  # e.g. UTCDateTime: its stored type
        type_ = type_.impl_instance
    try:
        return type_.python_type
    except NotImplementedError:
        return object


def _utc_iso(value: datetime) -> str:
    # Aware times are written in UTC (the same text from SQLite and PostgreSQL, whatever
    # the server's time zone); a naive column stays naive.
    return (value.astimezone(UTC) if value.tzinfo else value).isoformat()


def _encoder(column: sa.Column) -> Callable[[Any], Any] | None:
    """How a column's value becomes JSON (None: as it is)."""
    kind = _python_type(column)
    if issubclass(kind, datetime):
        return _utc_iso
    if issubclass(kind, date):
        return date.isoformat
    if issubclass(kind, enum.Enum):
        return lambda member: member.value
    if issubclass(kind, Decimal):
        # JSON has no decimal type: a float keeps 15 significant digits exactly.
        return lambda number: int(number) if number == number.to_integral_value() else float(number)
    return None


def _expect(fits: Callable[[Any], bool], label: str) -> Callable[[Any], Any]:
    def check(value: Any) -> Any:
        if not fits(value):
            raise ValueError(f"expected {label}, found {json.dumps(value)[:80]}")
        return value

    return check


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _parse(kind: Callable[[str], Any], label: str) -> Callable[[Any], Any]:
    def parse(value: Any) -> Any:
        if not isinstance(value, str):
            raise ValueError(f"expected {label}, found {json.dumps(value)[:80]}")
        try:
            return kind(value)
        except ValueError:
            raise ValueError(f"expected {label}, found {json.dumps(value)[:80]}") from None

    return parse


def _decoder(column: sa.Column) -> Callable[[Any], Any] | None:
    """How a JSON value becomes the column's value, refusing what does not fit (SQLite
    would store text in an integer column without a word)."""
    kind = _python_type(column)
    if isinstance(column.type, sa.JSON) or kind is object:
        return None
    if issubclass(kind, datetime):
        return _parse(datetime.fromisoformat, "a date and time (ISO 8601)")
    if issubclass(kind, date):
        return _parse(date.fromisoformat, "a date (YYYY-MM-DD)")
    if issubclass(kind, enum.Enum):
        choices = ", ".join(repr(member.value) for member in kind)
        return _parse(kind, f"one of {choices}")
    if issubclass(kind, bool):
        return _expect(lambda value: isinstance(value, bool), "true or false")
    if issubclass(kind, int):
        return _expect(lambda value: _number(value) and isinstance(value, int), "a whole number")
    if issubclass(kind, Decimal):
        number = _expect(_number, "a number")
        return lambda value: Decimal(repr(number(value)))
    if issubclass(kind, float):
        return _expect(_number, "a number")
    if issubclass(kind, str):
        return _expect(lambda value: isinstance(value, str), "text")
    return None


# Export ---------------------------------------------------------------------------


def _snapshot(connection: sa.Connection) -> sa.Connection:
    """Read every table as of one moment, while the app goes on working."""
    if connection.dialect.name == "postgresql":
        return connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
    _begin_sqlite(connection, "BEGIN")
    return connection


def _begin_sqlite(connection: sa.Connection, statement: str) -> None:
    """pysqlite opens a transaction only before the first INSERT/UPDATE/DELETE: reads
    before it would each see their own moment, and a SAVEPOINT before it would commit
    on release. Opening it ourselves makes the transaction what SQLAlchemy thinks it is."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(statement)


def export_all(out: IO[str], now: datetime | None = None) -> dict[str, int]:
    """Write every table to `out` as one JSON document; returns the rows per table."""
    with db.engine.connect() as connection:
        connection = _snapshot(connection)
        revision = database_revision(connection)
        if revision is None:
            raise BackupError(
                "The database has no Alembic revision: run `flask --app mentorship db upgrade`."
            )
        counts = {
            table.name: connection.scalar(sa.select(sa.func.count()).select_from(table))
            for table in tables()
        }
        header = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "exported_at": _utc_iso(now or datetime.now(UTC)),
            "alembic_revision": revision,
            "row_counts": counts,
        }
        out.write("{\n")
        for key, value in header.items():
            out.write(f"{json.dumps(key)}: {json.dumps(value)},\n")
        out.write('"tables": [')
        for number, table in enumerate(tables()):
            out.write(",\n" if number else "\n")
            _export_table(connection, table, out)
        out.write("\n]}\n")
        connection.rollback()
    return counts


def _export_table(connection: sa.Connection, table: sa.Table, out: IO[str]) -> None:
    columns = list(table.columns)
    encoders = [(i, encode) for i, c in enumerate(columns) if (encode := _encoder(c))]
    out.write(
        f'{{"name": {json.dumps(table.name)}, '
        f'"columns": {json.dumps([c.name for c in columns])}, "rows": ['
    )
    query = sa.select(*columns).order_by(*table.primary_key.columns)
    result = connection.execution_options(yield_per=CHUNK).execute(query)
    separator = "\n"
    for partition in result.partitions():
        lines = []
        for row in partition:
            values = list(row)
            for i, encode in encoders:
                if values[i] is not None:
                    values[i] = encode(values[i])
            lines.append(json.dumps(values, ensure_ascii=False))
        out.write(separator + ",\n".join(lines))
        separator = ",\n"
    out.write("\n]}")


def write_backup(path: str) -> dict[str, int]:
    """Export to a file (`-`: standard output; `.gz`: compressed). The file appears
    only once complete, readable by its owner alone: it holds password hashes."""
    if path == "-":
        text = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="\n")
        try:
            return export_all(text)
        finally:
            text.flush()
            text.detach()  # leave sys.stdout open
    target = Path(path)
    partial = target.with_name(target.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(descriptor, "wb") as raw:
            binary = gzip.GzipFile(fileobj=raw, mode="wb") if path.endswith(".gz") else raw
            with io.TextIOWrapper(binary, encoding="utf-8", newline="\n") as text:
                counts = export_all(text)
        os.replace(partial, target)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return counts


# Reading a file -------------------------------------------------------------------

ROW = "tables.item.rows.item"
VALUE = ROW + ".item"
SCALARS = {"null", "boolean", "integer", "double", "number", "string"}


class _NotJSON(BackupError):
    """A syntax error: `_read` says in which table and row it is."""


def _events(stream: IO[bytes]) -> Iterator[tuple[str, str, Any]]:
    try:
        yield from ijson.parse(stream, use_float=True)
    except ijson.JSONError as error:
        raise _NotJSON(f"the file is not valid JSON: {error}") from None
    except (OSError, EOFError) as error:  # a damaged .gz
        raise BackupError(f"The file cannot be read: {error}") from None


def _read(stream: IO[bytes]) -> Iterator[tuple]:
    """("header", {...}), then per table ("table", name, columns), ("row", values)…,
    ("end", name), streamed from the file without holding it in memory."""
    header: dict[str, Any] = {}
    builder = None  # builds a nested value: a header entry, or a JSON column's value
    until = ""  # the prefix whose end_map/end_array closes it
    key = ""
    table: dict[str, Any] = {}
    row: list[Any] | None = None
    rows_read = 0  # of the current table, to name the row a syntax error is in
    events = _events(stream)
    while True:
        try:
            prefix, event, value = next(events)
        except StopIteration:
            break
        except _NotJSON as error:
            if table.get("name") is None:
                raise BackupError(f"The header: {error}.") from None
            raise BackupError(f"Table {table['name']}, row {rows_read + 1}: {error}.") from None
        if builder is not None:
            builder.event(event, value)
            if prefix == until and event in ("end_map", "end_array"):
                if row is not None:
                    row.append(builder.value)
                else:
                    header[key] = builder.value
                builder = None
            continue
        if prefix == "":
            if event == "map_key":
                key = value
                if key == "tables":
                    yield ("header", header)
            elif event not in ("start_map", "end_map"):
                raise BackupError("The file is not a mentorship backup (not a JSON object).")
        elif prefix == VALUE:
            if row is None:
                raise BackupError("The file is damaged: a value outside a row.")
            if event in SCALARS:
                row.append(value)
            else:
                builder, until = ijson.ObjectBuilder(), prefix
                builder.event(event, value)
        elif prefix == ROW:
            if event == "start_array":
                row = []
            elif event == "end_array":
                yield ("row", row)
                row = None
                rows_read += 1
            else:
                raise BackupError(f"Table {table.get('name')}: each row must be a list of values.")
        elif prefix == "tables.item.rows":
            if event == "start_array":
                if "name" not in table or "columns" not in table:
                    raise BackupError("The file is damaged: a table's rows come before its name.")
                yield ("table", table["name"], table["columns"])
            elif event == "end_array":
                yield ("end", table["name"])
        elif prefix == "tables.item" and event == "start_map":
            table, rows_read = {}, 0
        elif prefix == "tables.item.name":
            table["name"] = value
        elif prefix == "tables.item.columns" and event == "start_array":
            table["columns"] = []
        elif prefix == "tables.item.columns.item":
            table["columns"].append(value)
        elif prefix == key and key != "tables":  # a header entry
            if event in SCALARS:
                header[key] = value
            else:
                builder, until = ijson.ObjectBuilder(), prefix
                builder.event(event, value)
    if key != "tables":
        raise BackupError("The file is not a mentorship backup: it has no tables.")


def _open(path: str) -> IO[bytes]:
    if path == "-":
        stream = sys.stdin.buffer
        magic = stream.peek(2)[:2]
    else:
        stream = open(path, "rb")  # noqa: SIM115 (closed by the caller)
        magic = stream.read(2)
        stream.seek(0)
    return gzip.GzipFile(fileobj=stream, mode="rb") if magic == b"\x1f\x8b" else stream


def read_backup(path: str) -> dict[str, int]:
    """Restore a file written by `write_backup` (`-`: standard input; gzip is detected)."""
    stream = _open(path)
    try:
        return import_all(stream)
    finally:
        stream.close()


# Import ---------------------------------------------------------------------------


def import_all(stream: IO[bytes]) -> dict[str, int]:
    """Restore a backup into an empty, migrated database, all or nothing."""
    items = _read(stream)
    first = next(items, None)
    if first is None or first[0] != "header":
        raise BackupError("The file is not a mentorship backup: it has no header.")
    header = first[1]
    known = {table.name: table for table in tables()}
    deferred = _deferred_foreign_keys()
    with db.engine.connect() as connection, connection.begin():
        _begin_sqlite(connection, "BEGIN IMMEDIATE")  # the write lock, before the checks
        _check_header(header, connection)
        _check_empty(connection)
        for table in reversed(tables()):
            if table.name in REFERENCE_TABLES:
                connection.execute(table.delete())
        counts: dict[str, int] = {}
        patches: list[tuple[sa.Table, list[dict]]] = []
        for item in items:
            if item[0] != "table":
                raise BackupError("The file is damaged: rows outside a table.")
            name, columns = item[1], item[2]
            table = known.get(name)
            if table is None:
                raise BackupError(f"Table {name}: this database has no such table.")
            if name in counts:
                raise BackupError(f"Table {name} appears twice in the file.")
            counts[name], patch = _import_table(connection, table, columns, items, deferred)
            expected = header["row_counts"].get(name)
            if counts[name] != expected:
                raise BackupError(
                    f"Table {name}: the file holds {counts[name]} rows, its header says {expected}."
                )
            patches.append((table, patch))
        missing = [name for name in known if name not in counts]
        if missing:
            raise BackupError(f"The file has no table {', '.join(missing)}: it is incomplete.")
        # The header counts rows of a table the file does not hold: cut off, or edited.
        unheld = [name for name in header["row_counts"] if name not in counts]
        if unheld:
            raise BackupError(
                f"The header counts rows of table {', '.join(unheld)}, which the file does "
                "not hold: it is incomplete."
            )
        for table, patch in patches:
            _apply_patch(connection, table, patch)
        _check_foreign_keys(connection)
        _finish_postgres(connection)
    return counts


def _check_header(header: dict, connection: sa.Connection) -> None:
    if header.get("format") != FORMAT:
        raise BackupError("The file is not a mentorship backup (its format is not named).")
    if header.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"The file is backup format version {header.get('format_version')}; "
            f"this version of the app reads version {FORMAT_VERSION}."
        )
    if not isinstance(header.get("row_counts"), dict):
        raise BackupError("The file's header has no row counts.")
    revision = database_revision(connection)
    if revision is None:
        raise BackupError(
            "The database is not migrated: run `flask --app mentorship db upgrade "
            f"{header.get('alembic_revision')}` first."
        )
    if header.get("alembic_revision") != revision:
        raise BackupError(
            f"The backup was made at database revision {header.get('alembic_revision')}, "
            f"this database is at {revision}. Restore into an empty database migrated to "
            f"the backup's revision (`flask --app mentorship db upgrade "
            f"{header.get('alembic_revision')}` with the app version that made it), "
            "then upgrade it."
        )


def _check_empty(connection: sa.Connection) -> None:
    filled = []
    for table in tables():
        if table.name in REFERENCE_TABLES:
            continue
        count = connection.scalar(sa.select(sa.func.count()).select_from(table))
        if count:
            filled.append(f"{table.name} has {count} rows")
    if filled:
        raise BackupError(
            f"The database is not empty: {', '.join(filled[:4])}{', …' if len(filled) > 4 else ''}. "
            "import-all restores only into an empty database (`flask db upgrade` on a new one)."
        )


def _deferred_foreign_keys() -> dict[str, set[str]]:
    """Columns that may point at a row not inserted yet: self-references (a reply to a
    comment) and any foreign key that closes a cycle between tables. They are inserted
    empty and filled in once every row is in."""
    deferred: dict[str, set[str]] = {}
    for table in tables():
        for constraint in table.foreign_key_constraints:
            if constraint.referred_table is table:
                deferred.setdefault(table.name, set()).update(constraint.column_keys)
    for table, constraints in sort_tables_and_constraints(tables()):
        if table is None:  # the constraints SQLAlchemy had to leave out to break cycles
            for constraint in constraints:
                deferred.setdefault(constraint.table.name, set()).update(constraint.column_keys)
    return deferred


def _import_table(
    connection: sa.Connection,
    table: sa.Table,
    names: list[str],
    items: Iterator[tuple],
    deferred: dict[str, set[str]],
) -> tuple[int, list[dict]]:
    by_name = {column.name: column for column in table.columns}
    if sorted(names) != sorted(by_name):
        raise BackupError(
            f"Table {table.name}: the file's columns ({', '.join(names)}) are not this "
            f"database's ({', '.join(by_name)})."
        )
    columns = [by_name[name] for name in names]
    decoders = [_decoder(column) for column in columns]
    keys = [column.key for column in columns]
    later = {column.key for column in columns if column.name in deferred.get(table.name, ())}
    pk = [column.key for column in table.primary_key.columns]
    patch: list[dict] = []
    chunk: list[dict] = []
    first = 1  # the row number (from 1, in the file's order) of chunk[0]
    count = 0
    for item in items:
        if item[0] == "end":
            break
        count += 1
        values = item[1]
        if len(values) != len(keys):
            raise BackupError(
                f"Table {table.name}, row {count}: {len(values)} values for {len(keys)} columns."
            )
        row = {}
        for key, decode, value in zip(keys, decoders, values, strict=True):
            if value is not None and decode is not None:
                try:
                    value = decode(value)
                except ValueError as error:
                    raise BackupError(
                        f"Table {table.name}, row {count}{_which(row, pk)}, column {key}: {error}."
                    ) from None
            row[key] = value
        if later and any(row[key] is not None for key in later):
            patch.append({**{key: row[key] for key in pk}, **{key: row[key] for key in later}})
            row.update(dict.fromkeys(later))
        chunk.append(row)
        if len(chunk) == CHUNK:
            _insert(connection, table, chunk, first)
            first += len(chunk)
            chunk = []
    if chunk:
        _insert(connection, table, chunk, first)
    return count, patch


def _which(row: dict, pk: list[str]) -> str:
    known = [f"{key} {row[key]}" for key in pk if row.get(key) is not None]
    return f" ({', '.join(known)})" if known else ""


def _insert(connection: sa.Connection, table: sa.Table, rows: list[dict], first: int) -> None:
    """One executemany; when it fails, row by row to name the row that broke a rule."""
    dbapi_error = connection.dialect.loaded_dbapi.Error  # COPY goes around SQLAlchemy
    try:
        with connection.begin_nested():
            if connection.dialect.name == "postgresql":
                _copy(connection, table, rows)
            else:
                connection.execute(table.insert(), rows)
        return
    except (sa.exc.DBAPIError, dbapi_error):
        pass
    pk = [column.key for column in table.primary_key.columns]
    for number, row in enumerate(rows, start=first):
        try:
            with connection.begin_nested():
                connection.execute(table.insert(), row)
        except sa.exc.DBAPIError as error:
            raise BackupError(
                f"Table {table.name}, row {number}{_which(row, pk)}: {_reason(error)}"
            ) from None
    raise BackupError(f"Table {table.name}: rows {first}–{first + len(rows) - 1} were refused.")


def _copy(connection: sa.Connection, table: sa.Table, rows: list[dict]) -> None:
    """PostgreSQL's COPY: several times faster than INSERT for a whole program."""
    preparer = connection.dialect.identifier_preparer
    columns = list(table.columns)
    names = ", ".join(preparer.quote(column.name) for column in columns)
    plain = [_plain_for_copy(column) for column in columns]
    cursor = connection.connection.driver_connection.cursor()
    with cursor.copy(f"COPY {preparer.format_table(table)} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [
                    convert(row[c.key]) if convert else row[c.key]
                    for c, convert in zip(columns, plain, strict=True)
                ]
            )


def _plain_for_copy(column: sa.Column) -> Callable[[Any], Any] | None:
    """What SQLAlchemy would send: an enum's value, a JSON column's text (None is JSON null)."""
    if isinstance(column.type, sa.JSON):
        return json.dumps
    if issubclass(_python_type(column), enum.Enum):
        return lambda member: None if member is None else member.value
    return None


def _reason(error: Exception) -> str:
    return str(getattr(error, "orig", error)).strip().splitlines()[0]


def _apply_patch(connection: sa.Connection, table: sa.Table, patch: list[dict]) -> None:
    if not patch:
        return
    pk = [column for column in table.primary_key.columns]
    later = [key for key in patch[0] if key not in {column.key for column in pk}]
    statement = (
        table.update()
        .where(*(column == sa.bindparam(f"pk_{column.key}") for column in pk))
        .values({key: sa.bindparam(f"new_{key}") for key in later})
    )
    for row in patch:
        params = {f"pk_{c.key}": row[c.key] for c in pk} | {f"new_{k}": row[k] for k in later}
        try:
            with connection.begin_nested():
                connection.execute(statement, params)
        except sa.exc.DBAPIError as error:
            raise BackupError(
                f"Table {table.name}{_which(row, [c.key for c in pk])}: {_reason(error)}"
            ) from None


def _check_foreign_keys(connection: sa.Connection) -> None:
    """SQLite does not enforce foreign keys here; a restore must not bring in a row
    that points nowhere (PostgreSQL would have refused it on insert)."""
    if connection.dialect.name != "sqlite":
        return
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        table, rowid, parent, _ = broken[0]
        raise BackupError(
            f"Table {table} (id {rowid}): refers to a row of {parent} that the file does not "
            f"hold ({len(broken)} such rows in all)."
        )


def _finish_postgres(connection: sa.Connection) -> None:
    """PostgreSQL's id sequences still start at 1 after rows came in with their ids:
    move each past the largest id, so the next new row gets a fresh one. And the
    planner learns the new table sizes now (autovacuum would, later)."""
    if connection.dialect.name != "postgresql":
        return
    preparer = connection.dialect.identifier_preparer
    for table in tables():
        connection.exec_driver_sql(f"ANALYZE {preparer.format_table(table)}")
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or not issubclass(_python_type(pk[0]), int):
            continue
        sequence = connection.scalar(
            sa.text("SELECT pg_get_serial_sequence(:table, :column)"),
            {"table": preparer.format_table(table), "column": pk[0].name},
        )
        if sequence:
            connection.execute(
                sa.text("SELECT setval(:sequence, :next, false)"),
                {
                    "sequence": sequence,
                    "next": (connection.scalar(sa.select(sa.func.max(pk[0]))) or 0) + 1,
                },
            )
