"""A live server with the demo data, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from flask_migrate import upgrade
from playwright.sync_api import sync_playwright
from werkzeug.serving import make_server

from mentorship import create_app, demo
from mentorship.extensions import db
from tests.browser.standards import COST, SEEN, ace_violations, record_html_pages
from tests.conftest import app_settings, free_port
from tests.databases import fresh_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "runOnly": {
        "type": "tag",
        "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    },
}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def serve_demo(directory: Path, smtp_port: int):
    """A fresh database with the demo data, served on a free port: yields (url, app)."""
    with fresh_database(directory) as url:
        app = create_app(app_settings(url, smtp_port))
        with app.app_context():
            upgrade()
            demo.seed_demo()
            db.session.commit()
        record_html_pages(app)
        server = make_server("127.0.0.1", free_port(), app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{server.server_port}", app
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, smtp_server):
    with serve_demo(tmp_path_factory.mktemp("browser-db"), smtp_server.port) as served:
        yield served


@pytest.fixture(scope="session")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def axe():
    return Axe()


def assert_accessible(axe: Axe, page, name: str) -> None:
    """Both engines, axe and IBM's Equal Access, find nothing on the page."""
    page.wait_for_load_state()  # a page still loading has no document for axe to read
    results = axe.run(page, options=AXE_OPTIONS)
    ibm = ace_violations(page)
    if results.violations_count or ibm:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    assert results.violations_count == 0, f"{name}: {page.url}\n{results.generate_report()}"
    assert not ibm, f"{name}: {page.url}\nIBM Equal Access:\n" + "\n".join(ibm)


@pytest.fixture(scope="session")
def html_seen_by_the_browser():
    """The HTML pages the live servers sent so far (the v.Nu test runs after every other)."""
    return SEEN.pages


def pytest_collection_modifyitems(items):
    """The v.Nu check reads what every browser test saw, so it runs last."""
    last = [item for item in items if item.get_closest_marker("after_browser_tests")]
    items[:] = [item for item in items if item not in last] + last


def pytest_terminal_summary(terminalreporter):
    for name, (pages, seconds) in COST.items():
        if pages:
            terminalreporter.write_line(f"{name}: {pages} pages checked in {seconds:.1f} s")


def sign_in(page, base_url: str, email: str, password: str = demo.DEMO_PASSWORD) -> None:
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
