"""Upgrading an empty database with the migrations gives exactly the models' schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from mentorship import create_app
from mentorship.extensions import db
from tests.conftest import app_settings
from tests.databases import fresh_database


def test_migrations_build_exactly_the_models_schema_and_come_down_again(tmp_path, smtp_server):
    with fresh_database(tmp_path) as url:
        app = create_app(app_settings(url, smtp_server.port))
        with app.app_context():
            upgrade()
            with db.engine.connect() as connection:
                context = MigrationContext.configure(
                    connection, opts={"compare_type": True, "render_as_batch": True}
                )
                differences = compare_metadata(context, db.metadata)
                tables = set(sa.inspect(connection).get_table_names())
            assert differences == []
            assert {
                "libraries",
                "school_districts",
                "cohorts",
                "participations",
                "users",
                "audit_events",
            } <= tables
            downgrade(revision="base")
            with db.engine.connect() as connection:
                assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
            db.engine.dispose()


def test_no_column_could_hold_a_student_name_or_id():
    suspicious = ("student_name", "student_id", "first_name", "last_name", "birth", "ssid")
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            assert not any(word in column.name for word in suspicious), (
                f"{table.name}.{column.name}"
            )
