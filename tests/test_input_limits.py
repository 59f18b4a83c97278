"""Input the app refuses before it reaches a form: NUL characters, bodies that are too
large, and uploads that are not CSV text. The CSV import is the only upload: case
studies, letters and agreements hold links and text, never attached files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from mentorship.models import AuditEvent, Library
from mentorship.security import NUL_REFUSED
from mentorship.services import importing
from tests.conftest import row_count
from tests.helpers import PASSWORD, make_user

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"


@pytest.fixture
def staff(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example")
    client.login("staff@t.example", PASSWORD)
    return client


def _nothing_stored(app) -> None:
    with app.app_context():
        assert row_count(Library) == 0
        assert row_count(AuditEvent) == 0


def test_a_nul_character_in_a_form_is_refused_with_a_reason(staff, app):
    # PostgreSQL cannot store "\x00" in text: without this check the insert was a 500.
    response = staff.submit(
        "/libraries/new", {"name": "Hay\x00ward", "county": "Alameda", "governance": "city"}
    )
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "NUL character" in page and "Skip to main content" in page
    _nothing_stored(app)


@pytest.mark.parametrize("path", ["/libraries/?q=a%00b", "/case-studies/?region=%00"])
def test_a_nul_character_in_a_search_is_refused(staff, path):
    response = staff.get(path)
    assert response.status_code == 400 and "NUL character" in response.get_data(as_text=True)


def test_the_api_refuses_a_nul_in_json(client):
    response = client.get("/api/v1/libraries?county=%00")
    assert response.status_code == 400
    assert response.get_json()["error"]["message"] == NUL_REFUSED


def test_a_body_over_the_limit_gets_the_413_page_and_nothing_is_stored(staff, app):
    limit = app.config["MAX_CONTENT_LENGTH"]
    data = {"name": "Big Library", "county": "Alameda", "governance": "city"}
    data["ils_name"] = "x" * (limit + 1)
    response = staff.submit("/libraries/new", data)
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "larger than this site accepts" in page and "Skip to main content" in page
    _nothing_stored(app)


def test_one_field_over_the_form_field_limit_gets_the_413_page(staff, app):
    field_limit = app.config["MAX_FORM_MEMORY_SIZE"]
    assert field_limit < app.config["MAX_CONTENT_LENGTH"]
    response = staff.submit(
        "/libraries/new",
        {"name": "x" * (field_limit + 1), "county": "Alameda", "governance": "city"},
        content_type="multipart/form-data",  # Flask limits each field of a multipart form
    )
    assert response.status_code == 413
    assert f"one text may hold up to {field_limit // 1024:,} kB" in response.get_data(as_text=True)
    _nothing_stored(app)


def _upload(client, data: bytes, filename: str):
    return client.submit("/import/", {"kind": "libraries", "file": (io.BytesIO(data), filename)})


@pytest.mark.parametrize(
    "data, filename, message",
    [
        (PNG, "libraries.csv", "not UTF-8 text"),  # a picture renamed .csv
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00", "libraries.csv", "not UTF-8 text"),
        (b"name,county\x00,governance\n", "libraries.csv", "not UTF-8 text"),  # binary NULs
        (b"name,county,governance\nA,Alameda,city\n", "libraries.xlsx", "Choose a .csv file"),
        (b"name,county,governance\nA,Alameda,city\n", "libraries", "Choose a .csv file"),
        (b"", "libraries.csv", "empty"),
    ],
)
def test_an_upload_that_is_not_csv_text_is_refused_beside_the_field(
    staff, app, data, filename, message
):
    response = _upload(staff, data, filename)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="file-error"' in page and message in page
    assert "Confirm:" not in page  # no preview, nothing to store
    _nothing_stored(app)


def test_a_csv_over_the_import_limit_is_refused_beside_the_field(staff, app):
    # Above the app-wide body limit too: the import allows its own, larger, size.
    assert app.config["MAX_CONTENT_LENGTH"] < importing.MAX_BYTES
    data = b"name,county,governance\n" + b"x" * importing.MAX_BYTES
    page = _upload(staff, data, "libraries.csv").get_data(as_text=True)
    assert 'id="file-error"' in page and "larger than 2 MB" in page
    _nothing_stored(app)


def test_the_csv_import_and_the_ils_report_are_the_only_uploads():
    root = Path(__file__).resolve().parents[1] / "mentorship"
    uploads = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*")
        if path.suffix in (".py", ".html")
        and any(word in path.read_text(encoding="utf-8") for word in ("FileField", 'type="file"'))
    )
    assert uploads == ["blueprints/imports/forms.py", "blueprints/partnerships/forms.py"], uploads


HUGE = "9" * 25  # beyond any 64-bit integer: SQLite cannot compare it with a column


@pytest.mark.parametrize(
    "path",
    [
        f"/audit/?library={HUGE}",
        f"/at-risk?cohort={HUGE}",
        f"/libraries/?page={HUGE}",
        f"/libraries/{HUGE}",
        f"/people/{HUGE}/edit",
        f"/rollup/?page={HUGE}",
    ],
)
def test_huge_numbers_in_an_address_never_break_a_page(staff, path):
    response = staff.get(path)
    assert response.status_code in (200, 302, 400, 404), response.status_code
    assert "Something went wrong" not in response.get_data(as_text=True)


def test_a_huge_id_in_a_form_is_not_found(staff, app):
    from tests.helpers import make_pilot

    with app.app_context():
        pilot_id = make_pilot().id
    response = staff.submit(f"/pairings/pilots/{pilot_id}/propose", {"mentor_id": HUGE})
    assert response.status_code == 404


@pytest.mark.parametrize("page", ["²", "٣", "1e3", "-5"])
def test_a_page_that_is_not_a_plain_number_is_not_a_500(staff, page):
    # "²".isdigit() is true but int("²") fails: the check must not trip on its own test.
    response = staff.get("/libraries/", query_string={"page": page})
    assert response.status_code in (200, 400, 404)
