"""A fresh, empty database for a test run: a SQLite file, or a PostgreSQL schema.

`TEST_DATABASE_URL` chooses PostgreSQL; each call makes its own schema and drops it
afterwards, so runs never see each other's rows.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

POSTGRES_URL = os.environ.get("TEST_DATABASE_URL", "").strip()


def on_postgres() -> bool:
    return bool(POSTGRES_URL)


@contextmanager
def fresh_database(directory: Path) -> Iterator[str]:
    if not on_postgres():
        yield f"sqlite:///{directory / f'test-{uuid.uuid4().hex[:8]}.sqlite'}"
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
