"""Backups: export-all writes the whole program, import-all restores it into an empty
database, all or nothing, and the restored program is the same one."""

from __future__ import annotations

import copy
import io
import json
import stat
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from mentorship import create_app
from mentorship.demo import DEMO_PASSWORD
from mentorship.extensions import db
from mentorship.models import (
    AuditEvent,
    CardModel,
    CaseStudy,
    CaseStudyComment,
    Governance,
    Library,
    User,
)
from mentorship.services import backup
from tests.conftest import Browserless, app_settings
from tests.databases import fresh_database, on_postgres
from tests.helpers import load_demo

EDGE_TEXT = 'Ñandú 📚 "quoted" \\ back\nsecond line\r\n\ttabbed \u2028 and ☕'
LOGIN_AT = datetime(2026, 3, 8, 1, 30, 15, 123456, tzinfo=ZoneInfo("America/Los_Angeles"))


@contextmanager
def migrated_app(directory: Path, smtp_port: int, url: str | None = None):
    """A second app on its own empty database, migrated like production."""
    with fresh_database(directory) if url is None else _given(url) as database:
        other = create_app(app_settings(database, smtp_port))
        with other.app_context():
            upgrade()
        yield other
        with other.app_context():
            db.engine.dispose()


@contextmanager
def _given(url: str):
    yield url


@pytest.fixture
def target(tmp_path, smtp_server):
    with migrated_app(tmp_path, smtp_server.port) as other:
        yield other


def load_program() -> None:
    """The demo program plus rows that test the edges of the format."""
    load_demo(date(2026, 11, 25))
    library = Library(
        name=EDGE_TEXT.splitlines()[0],
        county="Alameda",
        governance=Governance.SPECIAL_DISTRICT,
        service_population=None,  # NULL
        contact_name=EDGE_TEXT,
    )
    db.session.add(library)
    mentor = db.session.scalar(sa.select(User).where(User.email == "mentor@demo.test"))
    mentor.last_login_at = LOGIN_AT  # aware, not UTC: stored and written as UTC
    story = db.session.scalar(sa.select(CaseStudy).order_by(CaseStudy.id))
    story.card_model = CardModel.DIGITAL_ONLY  # an enum whose value has a space
    story.body = EDGE_TEXT
    # A reply whose parent has the larger id: restored although the parent comes later.
    db.session.add(CaseStudyComment(id=900_001, case_study_id=story.id, body="parent 🙂"))
    db.session.flush()
    db.session.add(
        CaseStudyComment(id=900_000, case_study_id=story.id, parent_id=900_001, body=EDGE_TEXT)
    )
    db.session.add(
        AuditEvent(
            action="edit",
            object_type="library",
            changes={"note": ["old 😀", "new\nline"], "share": [0.25, 1.5], "x": {"a": [1, None]}},
        )
    )
    db.session.commit()


def export_document(app) -> dict:
    with app.app_context():
        out = io.StringIO()
        backup.export_all(out)
    document = json.loads(out.getvalue())
    document.pop("exported_at")
    return document


def import_document(app, document: dict) -> dict[str, int]:
    text = json.dumps({"exported_at": "2026-11-25T00:00:00+00:00", **document})
    with app.app_context():
        return backup.import_all(io.BytesIO(text.encode()))


def program_rows(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in backup.tables()
            if table.name not in backup.REFERENCE_TABLES
        }


def table_of(document: dict, name: str) -> dict:
    return next(table for table in document["tables"] if table["name"] == name)


def sign_in(app, email: str) -> Browserless:
    client = Browserless(app.test_client())
    response = client.login(email, DEMO_PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/", email
    return client


def test_a_backup_restores_the_same_program(app, target, tmp_path):
    with app.app_context():
        load_program()
        hayward = db.session.scalar(sa.select(Library).where(Library.name.like("Hayward%")))
    path = tmp_path / "backup.json.gz"

    exported = app.test_cli_runner().invoke(args=["export-all", "--output", str(path)])
    assert exported.exit_code == 0, exported.output
    assert "password hashes" in exported.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # it holds password hashes
    restored = target.test_cli_runner().invoke(args=["import-all", str(path)])
    assert restored.exit_code == 0, restored.output
    assert "Restored" in restored.output

    original, copied = export_document(app), export_document(target)
    assert copied == original
    assert [t["name"] for t in original["tables"]] == [t.name for t in db.metadata.sorted_tables]
    users = table_of(original, "users")
    mentor = users["rows"][[r[2] for r in users["rows"]].index("mentor@demo.test")]
    assert mentor[users["columns"].index("last_login_at")] == "2026-03-08T09:30:15.123456+00:00"
    assert mentor[users["columns"].index("password_hash")].startswith("$argon2")

    with target.app_context():
        story = db.session.scalar(sa.select(CaseStudy).order_by(CaseStudy.id))
        assert (story.body, story.card_model) == (EDGE_TEXT, CardModel.DIGITAL_ONLY)
        assert db.session.get(CaseStudyComment, 900_000).parent.body == "parent 🙂"
        assert db.session.get(User, mentor[0]).last_login_at == LOGIN_AT
        event = db.session.scalar(sa.select(AuditEvent).order_by(AuditEvent.id.desc()))
        assert event.changes["share"] == [0.25, 1.5]
        # New rows get fresh ids (PostgreSQL's sequences moved past the restored ids).
        newest = db.session.scalar(sa.select(sa.func.max(Library.id)))
        library = Library(
            name="Opened after the restore", county="Napa", governance=Governance.CITY
        )
        db.session.add(library)
        db.session.commit()
        assert library.id > newest

    # What people notice: the demo sign-ins work, a library's figures are the same.
    partners = f"/libraries/{hayward.id}/partners"
    for email in ("pilot@demo.test", "staff@demo.test"):
        sign_in(target, email)
    before = sign_in(app, "staff@demo.test").get(partners, query_string={"format": "csv"})
    after = sign_in(target, "staff@demo.test").get(partners, query_string={"format": "csv"})
    assert after.status_code == 200 and after.data == before.data
    assert b"Hayward" in after.data
    page = sign_in(target, "pilot@demo.test").get(partners).get_data(as_text=True)
    assert "Hayward" in page


def test_import_refuses_a_database_that_is_not_empty(app):
    with app.app_context():
        load_program()
    document = export_document(app)
    before = program_rows(app)
    with pytest.raises(backup.BackupError, match="The database is not empty: cohorts has 2 rows"):
        import_document(app, document)
    assert program_rows(app) == before


def test_import_refuses_another_revision_and_names_the_one_to_migrate_to(app, target):
    with app.app_context():
        load_program()
    document = export_document(app)
    document["alembic_revision"] = "0001"
    with pytest.raises(backup.BackupError) as refused:
        import_document(target, document)
    with target.app_context(), db.engine.connect() as connection:
        current = backup.database_revision(connection)
    assert "made at database revision 0001" in refused.value.message
    assert f"this database is at {current}" in refused.value.message
    assert "db upgrade 0001" in refused.value.message
    assert not any(program_rows(target).values())


def broken_copies(document: dict):
    """(what is broken, the document, the error it must give)."""
    reports = table_of(document, "outcome_reports")
    middle = len(reports["rows"]) // 2
    report_id = reports["rows"][middle][0]

    refused_by_database = copy.deepcopy(document)
    row = table_of(refused_by_database, "outcome_reports")["rows"][middle]
    row[reports["columns"].index("students_enrolled")] = -5  # a CHECK constraint
    yield (
        "constraint",
        refused_by_database,
        f"Table outcome_reports, row {middle + 1} (id {report_id}): ",
    )

    bad_value = copy.deepcopy(document)
    milestones = table_of(bad_value, "milestones")
    milestones["rows"][3][milestones["columns"].index("status")] = "finished"
    yield "enum", bad_value, "Table milestones, row 4 (id "

    missing = copy.deepcopy(document)
    missing["tables"] = [t for t in missing["tables"] if t["name"] != "action_items"]
    yield "missing table", missing, "The file has no table action_items"


@pytest.mark.parametrize("case", ["constraint", "enum", "missing table"])
def test_a_broken_file_names_the_table_and_row_and_stores_nothing(app, target, case):
    with app.app_context():
        load_program()
    document = export_document(app)
    broken, message = next((d, m) for name, d, m in broken_copies(document) if name == case)
    with pytest.raises(backup.BackupError) as refused:
        import_document(target, broken)
    assert refused.value.message.startswith(message)
    assert not any(program_rows(target).values())
    assert export_document(target)["row_counts"]["partnership_stages"] == 7  # as migrated


def test_a_file_that_is_not_json_or_cut_short_stores_nothing(app, target):
    with app.app_context():
        load_program()
        out = io.StringIO()
        backup.export_all(out)
    text = out.getvalue()
    # A syntax error inside a row: the message names its table and row.
    lines = text.split("\n")
    at = next(i for i, line in enumerate(lines) if '"name": "milestones"' in line)
    broken_row = lines[:]
    broken_row[at + 3] = broken_row[at + 3].replace(",", ";", 1)  # the third row
    ghost = json.loads(text)
    ghost["row_counts"]["ghost_table"] = 0  # the header names a table the body lacks
    for damaged, message in (
        (b"not json at all", "The header: the file is not valid JSON"),
        (text[: len(text) * 2 // 3].encode(), r"Table \w+, row \d+: the file is not valid JSON"),
        ("\n".join(broken_row).encode(), "Table milestones, row 3: the file is not valid JSON"),
        (json.dumps(ghost).encode(), "counts rows of table ghost_table, which the file does not"),
        (b'{"format": "something else", "tables": []}', "not a mentorship backup"),
    ):
        with target.app_context(), pytest.raises(backup.BackupError, match=message):
            backup.import_all(io.BytesIO(damaged))
        assert not any(program_rows(target).values())


@pytest.mark.skipif(not on_postgres(), reason="needs TEST_DATABASE_URL (PostgreSQL)")
def test_a_backup_moves_from_sqlite_to_postgresql_and_back(tmp_path, smtp_server):
    sqlite = f"sqlite:///{tmp_path / 'source.sqlite'}"
    with migrated_app(tmp_path, smtp_server.port, sqlite) as source:
        with source.app_context():
            load_program()
        original = export_document(source)
        with migrated_app(tmp_path / "pg", smtp_server.port) as postgres:
            assert postgres.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")
            import_document(postgres, original)
            assert export_document(postgres) == original
            sqlite_again = f"sqlite:///{tmp_path / 'again.sqlite'}"
            with migrated_app(tmp_path, smtp_server.port, sqlite_again) as back:
                import_document(back, export_document(postgres))
                assert export_document(back) == original
