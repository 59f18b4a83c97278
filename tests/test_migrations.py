"""Upgrading an empty database with the migrations gives exactly the models' schema."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from mentorship import create_app
from mentorship.extensions import db
from mentorship.models import (
    Identifier,
    IdentifierSystem,
    LeaKind,
    OutcomeReport,
    SchoolDistrict,
)
from mentorship.services.figures import figures_by_partnership
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


def _insert(connection, table_name: str, **values) -> int:
    """A row of the table as it stands, every required column not given filled plainly."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=connection)
    for column in table.columns:
        if column.name in values or column.nullable or column.primary_key:
            continue
        python_type = column.type.python_type
        values[column.name] = {
            str: "",
            bool: True,
            int: 1,
            datetime: datetime(2026, 1, 1, tzinfo=UTC),
            date: date(2026, 1, 1),
        }[python_type]
    return connection.execute(table.insert().values(**values)).inserted_primary_key[0]


def test_upgrading_keeps_every_district_and_report_as_whole_lea_figures(tmp_path, smtp_server):
    with fresh_database(tmp_path) as url:
        app = create_app(app_settings(url, smtp_server.port))
        with app.app_context():
            upgrade(revision="0012")
            with db.engine.begin() as connection:
                library = _insert(
                    connection, "libraries", name="Salinas PL", county="Monterey", governance="city"
                )
                coded = _insert(
                    connection,
                    "school_districts",
                    name="Salinas City Elementary",
                    county="Monterey",
                    state_code="27-66142",  # Monterey is CDS county 27
                    students_enrolled=7800,
                )
                plain = _insert(
                    connection, "school_districts", name="Alisal Union", county="Monterey"
                )
                stage = connection.scalar(sa.text("SELECT min(id) FROM partnership_stages"))
                partnership = _insert(
                    connection,
                    "partnerships",
                    library_id=library,
                    district_id=coded,
                    stage_id=stage,
                    active=True,
                )
                _insert(
                    connection,
                    "partnerships",
                    library_id=library,
                    district_id=plain,
                    stage_id=stage,
                    active=True,
                )
                for start, end, cards in ((date(2025, 7, 1), date(2025, 12, 31), 900),
                                          (date(2026, 1, 1), date(2026, 6, 30), 300)):  # fmt: skip
                    _insert(
                        connection,
                        "outcome_reports",
                        partnership_id=partnership,
                        period_start=start,
                        period_end=end,
                        students_enrolled=7800,
                        physical_cards=cards,
                        digital_cards=0,
                        students_using_cards=None,
                    )
            upgrade()
            districts = db.session.scalars(sa.select(SchoolDistrict).order_by("id")).all()
            assert [(d.name, d.kind, d.state_code) for d in districts] == [
                ("Salinas City Elementary", LeaKind.DISTRICT, "27-66142"),
                ("Alisal Union", LeaKind.DISTRICT, None),
            ]
            identifiers = db.session.scalars(sa.select(Identifier)).all()
            assert [(i.system, i.value, i.lea_id) for i in identifiers] == [
                (IdentifierSystem.CDS, "2766142", coded)
            ]
            reports = db.session.scalars(sa.select(OutcomeReport).order_by("id")).all()
            assert [(r.school_id, r.grade, r.cards) for r in reports] == [
                (None, None, 900),
                (None, None, 300),
            ]
            figures = figures_by_partnership([partnership])[partnership]
            assert (figures.enrolled, figures.cards) == (7800, 1200)
            # The whole-LEA report of a period is still unique.
            db.session.add(
                OutcomeReport(
                    partnership_id=partnership,
                    period_start=date(2025, 7, 1),
                    period_end=date(2025, 12, 31),
                    students_enrolled=1,
                )
            )
            with pytest.raises(sa.exc.IntegrityError):
                db.session.flush()
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
