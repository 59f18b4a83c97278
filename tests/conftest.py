"""Fixtures: one migrated database per run, emptied after every test; a real SMTP sink."""

from __future__ import annotations

import os
import re
import socket
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask_migrate import upgrade

from mentorship import create_app
from mentorship.extensions import db, limiter
from tests.databases import fresh_database, on_postgres

# TEST_CLOCK_SHIFT_DAYS=365 runs the suite with the clock a year ahead (`make test` does so
# for SQLite), so a test whose expectation hangs on today's date fails now, not next year.
CLOCK_SHIFT_DAYS = int(os.environ.get("TEST_CLOCK_SHIFT_DAYS") or 0)


def pytest_configure(config):
    if CLOCK_SHIFT_DAYS:
        import time_machine

        shifted = datetime.now(UTC) + timedelta(days=CLOCK_SHIFT_DAYS)
        config._clock_shift = time_machine.travel(shifted, tick=True)
        config._clock_shift.start()


def pytest_collection_modifyitems(config, items):
    """Tests whose outcome cannot depend on the database (`any_database`) run in the
    SQLite run only: `make test` runs the suite on both, side by side. So do the browser
    journeys: they check what a person sees and does; every rule they pass through is
    tested on both databases without a browser (TEST_BROWSER_ON_POSTGRES=1 runs them)."""
    if not on_postgres():
        return
    browser_too = not os.environ.get("TEST_BROWSER_ON_POSTGRES")
    once = pytest.mark.skip(reason="needs no particular database: runs in the SQLite run")
    for item in items:
        if item.get_closest_marker("any_database") or (
            browser_too and item.get_closest_marker("browser")
        ):
            item.add_marker(once)


def pytest_unconfigure(config):
    if getattr(config, "_clock_shift", None):
        config._clock_shift.stop()


def pytest_report_header(config):
    if CLOCK_SHIFT_DAYS:
        return f"clock moved {CLOCK_SHIFT_DAYS} days ahead: today is {datetime.now(UTC):%Y-%m-%d}"


@sa.event.listens_for(sa.engine.Engine, "connect")
def _skip_disk_syncs(dbapi_connection, _record) -> None:
    """A test database is thrown away: SQLite need not wait for the disk after each
    commit, nor write a journal file beside it (every engine made in the tests)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = OFF")
        dbapi_connection.execute("PRAGMA journal_mode = MEMORY")


class MailSink:
    """aiosmtpd handler: keeps every message the app really sent over SMTP."""

    def __init__(self):
        self.messages = []
        self.refuse = {}  # address -> the reply its RCPT gets (a test's refusals)
        self._lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        import email

        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def smtp_server():
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture(scope="session")
def mailbox(smtp_server):
    return smtp_server.handler


def app_settings(database_url: str, smtp_port: int) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": database_url,
        "BASE_URL": "https://ssi.example",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp_port,
        "RATELIMIT_ENABLED": False,
        "SESSION_COOKIE_SECURE": False,
        "REMEMBER_COOKIE_SECURE": False,
        "PER_PAGE": 5,
        "ROLLUP_CACHE_SECONDS": 0,  # tests change the data between requests
    }


@pytest.fixture(scope="session")
def app(tmp_path_factory, smtp_server):
    with fresh_database(tmp_path_factory.mktemp("db")) as url:
        app = create_app(app_settings(url, smtp_server.port))
        with app.app_context():
            upgrade()  # the schema comes from the migrations, as in production
        yield app
        with app.app_context():
            db.engine.dispose()


# Reference rows the migrations write (they are data, not fixtures): kept between tests.
REFERENCE_TABLES = {"partnership_stages"}


def empty_all_tables() -> None:
    for table in reversed(db.metadata.sorted_tables):
        if table.name in REFERENCE_TABLES:
            continue
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _clean(request, mailbox):
    yield
    mailbox.messages.clear()
    mailbox.refuse.clear()
    # The Limiter is one object for every app in this process; a test that built an
    # app with limits on must not leave them on for the next test.
    limiter.enabled = False
    if limiter.initialized:
        limiter.reset()
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        with app.app_context():
            db.session.rollback()
            empty_all_tables()


@pytest.fixture
def ctx(app):
    """An app context for service tests (plain functions over the session)."""
    with app.app_context():
        yield
        db.session.rollback()


class Browserless:
    """A test client that behaves like a person with a browser: keeps the CSRF token."""

    TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

    def __init__(self, client):
        self.client = client

    def __getattr__(self, name):
        return getattr(self.client, name)

    def token(self) -> str:
        for path in ("/login", "/"):
            page = self.client.get(path, follow_redirects=True).get_data(as_text=True)
            match = self.TOKEN.search(page)
            if match:
                return match.group(1)
        raise AssertionError("no page offered a CSRF token")

    def submit(self, path: str, data: dict | None = None, **kwargs):
        """POST like a form would: with this session's CSRF token."""
        return self.client.post(path, data={"csrf_token": self.token(), **(data or {})}, **kwargs)

    def login(self, email: str, password: str, **extra):
        return self.submit("/login", {"email": email, "password": password, **extra})


@pytest.fixture
def client(app):
    return Browserless(app.test_client())


def row_count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))
