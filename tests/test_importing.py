"""CSV import of libraries, districts and people: upload, preview every row, confirm.

Errors name the line and the column; one bad line stores nothing; importing the same
file twice changes nothing; people added are emailed an invitation.
"""

from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import AuditEvent, Governance, Library, Role, SchoolDistrict, User
from mentorship.services import importing
from mentorship.services.errors import ValidationError
from mentorship.services.importing import apply_import, plan_import, read_csv_text
from tests.conftest import row_count
from tests.helpers import PASSWORD, make_district, make_library, make_user

LIBRARIES = """\
name,county,governance,cooperative_system,service_population,website
Salinas Public Library,Monterey,city,Black Gold,163000,https://salinaspubliclibrary.org
Watsonville Public Library,santa cruz county,City,,"52,000",
"""

PEOPLE = """\
email,name,role,library
Ana.Ruiz@Library.example,Ana Ruiz,pilot,hayward public library
luis@library.example,Luis Carrillo,mentor,Hayward Public Library
marcus@cde.example,Marcus Lee,state,
"""


def csv_text(*rows: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue()


# --- plan_import and apply_import, without HTTP ---------------------------------------


def test_a_plan_gives_every_row_its_line_outcome_and_changes(ctx):
    make_library(
        "Salinas Public Library",
        county="Monterey",
        cooperative_system="Black Gold",
        service_population=150000,
        website="https://salinaspubliclibrary.org",
    )
    plan = plan_import("libraries", LIBRARIES)
    assert not plan.has_errors and plan.counts == {
        "create": 1,
        "update": 1,
        "unchanged": 0,
        "error": 0,
    }
    salinas, watsonville = plan.rows
    assert (salinas.line, salinas.outcome) == (2, "update")
    assert salinas.changes == {"service_population": [150000, 163000]}
    assert (watsonville.line, watsonville.outcome, watsonville.label) == (
        3,
        "create",
        "Watsonville Public Library",
    )
    # Spellings are put right: county, governance, thousands separators.
    assert watsonville.values["county"] == "Santa Cruz"
    assert watsonville.values["governance"] == Governance.CITY
    assert watsonville.values["service_population"] == 52000
    assert row_count(Library) == 1 and row_count(AuditEvent) == 0  # a plan writes nothing


def test_applying_a_plan_stores_and_audits_and_the_same_file_then_changes_nothing(ctx):
    staff = make_user("staff")
    result = apply_import(plan_import("libraries", LIBRARIES), staff)
    db.session.commit()
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert result.new_people == []
    events = db.session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.object_label, e.actor_id) for e in events] == [
        ("create", "Salinas Public Library", staff.id),
        ("create", "Watsonville Public Library", staff.id),
    ]
    again = plan_import("libraries", LIBRARIES)
    assert [row.outcome for row in again.rows] == ["unchanged", "unchanged"]
    apply_import(again, staff)
    db.session.commit()
    assert row_count(Library) == 2 and row_count(AuditEvent) == 2


def test_header_names_ignore_case_spaces_and_order_and_a_bom(ctx):
    text = "\ufeff Governance ,NAME,County,Service Population\ncity,Salinas Public Library,Monterey,1\n"
    plan = plan_import("libraries", text)
    assert not plan.has_errors
    assert plan.rows[0].values["service_population"] == 1
    assert read_csv_text(b"\xef\xbb\xbfname\n") == "name\n"


def test_an_optional_column_left_out_keeps_the_stored_value_but_an_empty_cell_clears_it(ctx):
    make_library("Salinas Public Library", county="Monterey", ils_name="Polaris")
    left_out = plan_import(
        "libraries", "name,county,governance\nSalinas Public Library,Monterey,city\n"
    )
    assert left_out.rows[0].outcome == "unchanged"
    emptied = plan_import(
        "libraries", "name,county,governance,ils_name\nSalinas Public Library,Monterey,city,\n"
    )
    assert emptied.rows[0].changes == {"ils_name": ["Polaris", ""]}


def test_line_numbers_are_physical_lines_even_across_a_quoted_cell_and_blank_lines(ctx):
    text = (
        "name,county,governance,contact_name\n"
        '"Salinas Public Library",Monterey,city,"Ana\nRuiz"\n'
        "\n"
        "Watsonville Public Library,Alameeda,city,\n"
    )
    plan = plan_import("libraries", text)
    assert [row.line for row in plan.rows] == [2, 5]
    # A name is one line: the quoted line break is refused, and named by its line.
    assert plan.errors == [
        "line 2, contact_name: holds a line break or another invisible character",
        "line 5, county: 'Alameeda' is not a California county",
    ]
    # The browser sends the confirm form's copy with \r\n: the lines count the same.
    crlf = plan_import("libraries", text.replace("\n", "\r\n"))
    assert crlf.errors == plan.errors
    assert [row.line for row in crlf.rows] == [2, 5]


LIBRARY_HEADER = "name,county,governance,service_population,website,contact_email"


@pytest.mark.parametrize(
    ("kind", "text", "error"),
    [
        (
            "libraries",
            f"{LIBRARY_HEADER}\nA Library,Alameda,city,,,\nB Library,Alameeda,city,,,\n",
            "line 3, county: 'Alameeda' is not a California county",
        ),
        (
            "libraries",
            f"{LIBRARY_HEADER}\nA Library,Alameda,monarchy,,,\n",
            "line 2, governance: 'monarchy' is not a kind of governance: "
            "use city, county, special district, joint powers or other",
        ),
        (
            "libraries",
            f"{LIBRARY_HEADER}\nA Library,Alameda,city,-5,,\n",
            "line 2, service_population: '-5' is not a number of people, 0 or more",
        ),
        (
            "libraries",
            f"{LIBRARY_HEADER}\nA Library,Alameda,city,lots,,\n",
            "line 2, service_population: 'lots' is not a number of people, 0 or more",
        ),
        (
            "libraries",
            f"{LIBRARY_HEADER}\nA Library,Alameda,city,,salinas library,\n",
            "line 2, website: 'salinas library' is not a full address starting with https://",
        ),
        (
            "libraries",
            f"{LIBRARY_HEADER}\nA Library,Alameda,city,,,not-an-email\n",
            "line 2, contact_email: 'not-an-email' is not an email address",
        ),
        (
            "libraries",
            f"{LIBRARY_HEADER}\n,Alameda,city,,,\n",
            "line 2, name: is required",
        ),
        (
            "libraries",
            f"{LIBRARY_HEADER}\nA Library,Alameda,city,,,\nB Library,Yolo,county,,,\n"
            "a library,Marin,city,,,\n",
            "line 4, name: 'a library' is already on line 2",
        ),
        (
            "libraries",
            "name,county\nA Library,Alameda\n",
            "line 1: missing required column 'governance'",
        ),
        (
            "libraries",
            "name,county,governance,colour\nA Library,Alameda,city,blue\n",
            "line 1: unknown column 'colour'; the columns for libraries are name, short_name, "
            "city, county, cooperative_system, governance, service_population, ils_name, "
            "website, contact_name, contact_email, contact_phone",
        ),
        (
            "libraries",
            "name,county,governance,Name\nA Library,Alameda,city,B\n",
            "line 1: column 'name' appears more than once",
        ),
        (
            "libraries",
            "name,county,governance\nA Library,Alameda,city,extra\n",
            "line 2, column 4: 'extra' is under no column name",
        ),
        (
            "districts",
            "name,county,students_enrolled,enrolment_school_year\nOak Grove,Santa Clara,900,2024-2025\n",
            "line 2, enrolment_school_year: '2024-2025' is not a school year like 2024-25",
        ),
        (
            "districts",
            "name,county,students_enrolled,enrolment_school_year\nOak Grove,Santa Clara,900,\n",
            "line 2, enrolment_school_year: say which school year the enrolment figure is for, "
            "like 2024-25",
        ),
        (
            "districts",
            "name,county,state_code\nOak Grove,Santa Clara,43-1\nSaratoga,Santa Clara,43-1\n",
            "line 3, state_code: '43-1' is already on line 2",
        ),
        (
            "people",
            "email,name,role,library\nnot an email,Ana,staff,\n",
            "line 2, email: 'not an email' is not an email address",
        ),
        (
            "people",
            "email,name,role,library\nana@library.example,Ana,pilot,Nowhere Library\n",
            "line 2, library: no library is named 'Nowhere Library'",
        ),
        (
            "people",
            "email,name,role,library\nana@library.example,Ana,mentor,\n",
            "line 2, library: a mentor librarian belongs to a library: give its name",
        ),
        (
            "people",
            "email,name,role,library\nana@library.example,Ana,state,Hayward Public Library\n",
            "line 2, library: leave empty for state people, who belong to no library "
            "(found 'Hayward Public Library')",
        ),
        (
            "people",
            "email,name,role,library\nana@library.example,Ana,librarian,\n",
            "line 2, role: 'librarian' is not a role: use staff, pilot, mentor or state",
        ),
        (
            "people",
            "email,name,role,library\nana@library.example,Ana,staff,\nANA@library.example,A,staff,\n",
            "line 3, email: 'ana@library.example' is already on line 2",
        ),
    ],
)
def test_errors_name_the_line_and_the_column(ctx, kind, text, error):
    make_library("Hayward Public Library")
    plan = plan_import(kind, text)
    assert plan.errors == [error]
    assert plan.has_errors
    with pytest.raises(ValidationError):
        apply_import(plan, None)


def test_one_bad_line_makes_the_whole_plan_refused(ctx):
    plan = plan_import("libraries", LIBRARIES + "Gilroy Library,Santa Clara,monarchy,,,\n")
    assert [row.outcome for row in plan.rows] == ["create", "create", "error"]
    with pytest.raises(ValidationError, match="nothing was stored"):
        apply_import(plan, None)
    assert row_count(Library) == 0


def test_districts_match_by_state_code_else_by_name_and_county(ctx):
    make_district("San José Unified", county="Santa Clara", state_code="43-69666")
    make_district("Oak Grove Elementary", county="Santa Clara")
    make_district("Alum Rock Union", county="Santa Clara", state_code="43-69377")
    plan = plan_import(
        "districts",
        csv_text(
            ["name", "county", "state_code"],
            ["San Jose Unified", "Santa Clara", "43-69666"],  # renamed, found by its code
            ["oak grove elementary", "santa clara", "43-69591"],  # stored without a code: gets it
            ["Alum Rock Union", "Santa Clara", "43-00000"],  # stored with another code
            ["Berryessa Union", "Santa Clara", ""],
        ),
    )
    renamed, oak_grove, alum_rock, berryessa = plan.rows
    assert renamed.changes == {"name": ["San José Unified", "San Jose Unified"]}
    assert oak_grove.outcome == "update"
    assert oak_grove.changes == {
        "name": ["Oak Grove Elementary", "oak grove elementary"],
        "state_code": [None, "43-69591"],
    }
    assert oak_grove.values["county"] == "Santa Clara"
    assert alum_rock.errors == [
        "line 4, state_code: '43-00000' differs from the state code stored for this "
        "district, '43-69377'"
    ]
    assert berryessa.outcome == "create" and berryessa.values["state_code"] is None


def test_two_rows_may_not_describe_the_same_stored_district(ctx):
    make_district("Oak Grove Elementary", county="Santa Clara", state_code="43-69591")
    make_district("Saratoga Union", county="Santa Clara", state_code="43-69708")
    plan = plan_import(
        "districts",
        csv_text(
            ["name", "county", "state_code"],
            ["Oak Grove School District", "Santa Clara", "43-69591"],
            ["Oak Grove Elementary", "Santa Clara", ""],
            ["Saratoga Union", "Santa Clara", "43-69591"],
        ),
    )
    assert plan.errors == [
        "line 3, name: this row and line 2 describe the same stored record",
        "line 4, state_code: '43-69591' is already on line 2",
    ]
    renamed_onto_another = plan_import(
        "districts", "name,county,state_code\nSaratoga Union,Santa Clara,43-69591\n"
    )
    assert renamed_onto_another.errors == [
        "line 2, name: another stored district is named 'Saratoga Union' in Santa Clara "
        "County (state code '43-69708')"
    ]


def test_people_are_matched_by_email_and_only_new_people_are_returned_to_invite(ctx):
    hayward = make_library("Hayward Public Library")
    staff = make_user("staff")
    make_user("pilot", hayward, email="luis@library.example", name="Luis Carrillo")
    plan = plan_import("people", PEOPLE)
    assert [row.outcome for row in plan.rows] == ["create", "update", "create"]
    assert plan.rows[1].changes == {"role": [Role.PILOT, Role.MENTOR]}
    result = apply_import(plan, staff)
    db.session.commit()
    assert [person.email for person in result.new_people] == [
        "ana.ruiz@library.example",
        "marcus@cde.example",
    ]
    ana = db.session.scalar(sa.select(User).where(User.email == "ana.ruiz@library.example"))
    assert ana.library_id == hayward.id and ana.password_hash is None
    assert [row.outcome for row in plan_import("people", PEOPLE).rows] == ["unchanged"] * 3


def test_a_deactivated_library_takes_no_new_people(ctx):
    make_library("Hayward Public Library", active=False)
    plan = plan_import(
        "people", "email,name,role,library\na@library.example,A,pilot,Hayward Public Library\n"
    )
    assert plan.errors == [
        "line 2, library: 'Hayward Public Library' is deactivated; reactivate it first"
    ]


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "The file is empty."),
        ("name,county,governance\n", "line 1: the file has a header but no rows below it."),
        (
            'name,county,governance\n"A Library,Alameda,city\n',
            "line 2: this is not valid CSV (unexpected end of data)",
        ),
    ],
)
def test_files_that_cannot_be_planned_say_why(ctx, text, error):
    plan = plan_import("libraries", text)
    assert plan.rows == [] and plan.errors[0].startswith(error)


def test_limits_on_rows_and_size(ctx):
    rows = "".join(f"Library {n},Alameda,city\n" for n in range(importing.MAX_ROWS + 1))
    assert plan_import("libraries", "name,county,governance\n" + rows).errors == [
        importing.TOO_MANY_ROWS
    ]
    big = "name,county,governance,ils_name\n" + "A,Alameda,city," + "x" * importing.MAX_BYTES
    assert plan_import("libraries", big).errors == [importing.TOO_LARGE]
    with pytest.raises(ValidationError, match="larger than 2 MB"):
        read_csv_text(big.encode())


def test_bytes_that_are_not_utf8_text_are_refused(ctx):
    with pytest.raises(ValidationError, match="not UTF-8 text"):
        read_csv_text("name\nBiblioteca de San José\n".encode("latin-1"))
    with pytest.raises(ValidationError, match="not UTF-8 text"):
        read_csv_text(b"\x89PNG\r\n\x1a\n\x00\x00")


@pytest.mark.parametrize("kind", list(importing.KINDS))
def test_each_template_imports_cleanly(ctx, kind):
    make_library("Salinas Public Library", county="Monterey")  # the people example's library
    plan = plan_import(kind, importing.template_csv(kind))
    assert not plan.has_errors and len(plan.rows) == 1


# --- The pages --------------------------------------------------------------------------


@pytest.fixture
def staff(client, app):
    with app.app_context():
        make_user("staff", email="staff@t.example", name="Dana Whitfield")
    client.login("staff@t.example", PASSWORD)
    return client


class HiddenFields(HTMLParser):
    """The hidden inputs of the confirm form, as a browser would send them."""

    def __init__(self, page: str):
        super().__init__()
        self.fields: dict[str, str] = {}
        self.in_confirm = False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_confirm = attrs.get("action") == "/import/confirm"
        elif tag == "input" and self.in_confirm and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value") or ""


def upload(client, kind: str, text: str | bytes, filename: str = "file.csv"):
    data = text.encode() if isinstance(text, str) else text
    return client.submit("/import/", {"kind": kind, "file": (io.BytesIO(data), filename)})


def confirm_fields(page: str) -> dict[str, str]:
    return HiddenFields(page).fields


def test_upload_previews_every_row_and_stores_nothing_until_confirmed(staff, app, mailbox):
    with app.app_context():
        hayward = make_library("Hayward Public Library")
        make_user("pilot", hayward, email="luis@library.example", name="Luis Carrillo")
    preview = upload(staff, "people", PEOPLE)
    assert preview.status_code == 200
    page = preview.get_data(as_text=True)
    assert "Check the import of people" in page and 'role="alert"' not in page
    assert "ana.ruiz@library.example" in page and "role: pilot → mentor" in page
    fields = confirm_fields(page)
    assert fields["kind"] == "people" and fields["text"] == PEOPLE and fields["csrf_token"]
    with app.app_context():
        assert row_count(User) == 2 and row_count(AuditEvent) == 0
    assert mailbox.messages == []

    done = staff.post("/import/confirm", data=fields)
    assert done.status_code == 302 and done.headers["Location"] == "/people/"
    listing = staff.get("/people/").get_data(as_text=True)
    assert "Imported: 2 added, 1 updated, 0 unchanged. 2 invitations sent." in listing
    assert sorted(m["To"] for m in mailbox.messages) == [
        "ana.ruiz@library.example",
        "marcus@cde.example",
    ]
    with app.app_context():
        assert row_count(User) == 4
        actions = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.object_label).order_by(AuditEvent.id)
        ).all()
        assert actions == [
            ("create", "Ana Ruiz"),
            ("update", "Luis Carrillo"),
            ("create", "Marcus Lee"),
        ]


def test_importing_the_same_file_again_changes_nothing_and_emails_no_one(staff, app, mailbox):
    first = upload(staff, "libraries", LIBRARIES)
    staff.post("/import/confirm", data=confirm_fields(first.get_data(as_text=True)))
    with app.app_context():
        stored = row_count(AuditEvent)
    assert stored == 2
    again = upload(staff, "libraries", LIBRARIES).get_data(as_text=True)
    assert "there is nothing to import" in again and "/import/confirm" not in again
    # Even a confirm posted anyway stores nothing.
    fields = {"kind": "libraries", "text": LIBRARIES}
    staff.submit("/import/confirm", fields)
    assert "Imported: 0 added, 0 updated, 2 unchanged." in staff.get("/libraries/").get_data(
        as_text=True
    )
    with app.app_context():
        assert row_count(Library) == 2 and row_count(AuditEvent) == stored
    assert mailbox.messages == []


def test_a_changed_cell_is_an_update_with_old_and_new_values_audited(staff, app):
    with app.app_context():
        make_district("Oak Grove Elementary", county="Santa Clara", state_code="43-69591")
    text = csv_text(
        ["Name", "County", "State code", "Students enrolled", "Enrolment school year"],
        ["Oak Grove Elementary", "Santa Clara", "43-69591", "9000", "2024-25"],
    )
    page = upload(staff, "districts", text).get_data(as_text=True)
    assert "students enrolled: — → 9,000" in page
    response = staff.post("/import/confirm", data=confirm_fields(page))
    assert response.headers["Location"] == "/districts/"
    with app.app_context():
        district = db.session.scalar(sa.select(SchoolDistrict))
        assert district.students_enrolled == 9000 and district.enrolment_school_year == "2024-25"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "update"))
        assert event.changes["students_enrolled"] == [None, 9000]


def test_one_bad_line_shows_every_error_and_stores_nothing(staff, app):
    bad = LIBRARIES + "Gilroy Library,Santa Clara,monarchy,,-5,\n"
    response = upload(staff, "libraries", bad)
    page = response.get_data(as_text=True)
    assert 'role="alert"' in page
    assert "Nothing was stored. Fix these lines and upload the file again." in page
    assert "line 4, governance: &#39;monarchy&#39; is not a kind of governance" in page
    assert "line 4, service_population: &#39;-5&#39; is not a number of people" in page
    assert "/import/confirm" not in page  # no confirm button
    with app.app_context():
        assert row_count(Library) == 0


def test_a_confirm_with_a_tampered_file_is_planned_again_and_stores_nothing(staff, app):
    fields = confirm_fields(upload(staff, "libraries", LIBRARIES).get_data(as_text=True))
    fields["text"] += "Gilroy Library,Alameeda,city,,,\n"
    response = staff.post("/import/confirm", data=fields)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "line 4, county: &#39;Alameeda&#39; is not a California county" in page
    with app.app_context():
        assert row_count(Library) == 0 and row_count(AuditEvent) == 0
    assert staff.submit("/import/confirm", {"kind": "cats", "text": LIBRARIES}).status_code == 400


def test_a_file_that_is_not_utf8_is_refused_beside_the_field(staff, app):
    latin1 = "name,county,governance\nBiblioteca de San José,Santa Clara,city\n".encode("latin-1")
    page = upload(staff, "libraries", latin1).get_data(as_text=True)
    assert 'id="file-error"' in page and "not UTF-8 text" in page
    page = upload(staff, "libraries", b"name", filename="photo.png").get_data(as_text=True)
    assert "Choose a .csv file" in page


def test_a_file_with_a_bom_from_excel_imports(staff, app):
    page = upload(staff, "libraries", "\ufeff" + LIBRARIES).get_data(as_text=True)
    assert "Confirm: add 2, update 0" in page
    staff.post("/import/confirm", data=confirm_fields(page))
    with app.app_context():
        assert row_count(Library) == 2


def test_too_large_files_get_a_message_not_a_bare_413(staff, app):
    over_limit = b"name,county,governance\n" + b"x" * importing.MAX_BYTES
    page = upload(staff, "libraries", over_limit).get_data(as_text=True)
    assert "larger than 2 MB" in page and 'id="file-error"' in page
    huge = upload(staff, "libraries", b"x" * (5 * importing.MAX_BYTES))
    assert huge.status_code == 302 and huge.headers["Location"] == "/import/"
    assert "larger than 2 MB" in staff.get("/import/").get_data(as_text=True)


@pytest.mark.parametrize("content_type", ["multipart/form-data", None])
def test_a_confirm_may_carry_more_than_flasks_default_form_field_limit(staff, content_type):
    # Flask refuses form fields over 500 kB unless told otherwise; a file may be 2 MB.
    rows = "".join(f"Library {n},Alameda,city,{'x' * 100_000}\n" for n in range(6))
    text = "name,county,governance,ils_name\n" + rows
    data = {"csrf_token": staff.token(), "kind": "libraries", "text": text}
    response = staff.client.post("/import/confirm", data=data, content_type=content_type)
    assert response.status_code == 200
    assert "line 7, ils_name: is 100000 characters long; at most 80" in response.get_data(
        as_text=True
    )


def test_the_upload_page_lists_columns_and_offers_templates(staff, app):
    page = staff.get("/import/?kind=districts").get_data(as_text=True)
    assert '<option selected value="districts">' in page
    assert "<h1>" in page and page.count("<h1") == 1
    for kind in importing.KINDS:
        assert f'href="/import/template/{kind}.csv"' in page
    response = staff.get("/import/template/people.csv")
    assert response.mimetype == "text/csv"
    assert response.get_data(as_text=True).splitlines()[0] == "email,name,role,library"
    assert staff.get("/import/template/cats.csv").status_code == 404


@pytest.mark.parametrize("kind", ["libraries", "districts", "people"])
def test_list_pages_link_to_the_import(staff, kind):
    page = staff.get(f"/{kind}/").get_data(as_text=True)
    assert f'href="/import/?kind={kind}"' in page
    assert "Import from a spreadsheet (CSV)" in page


def test_the_cohort_list_has_no_import_link(staff):
    assert "Import from a spreadsheet" not in staff.get("/cohorts/").get_data(as_text=True)


@pytest.mark.parametrize("role", ["pilot", "mentor", "state"])
def test_only_staff_may_import(client, app, role):
    with app.app_context():
        make_user(role, email=f"{role}@t.example")
    client.login(f"{role}@t.example", PASSWORD)
    assert client.get("/import/").status_code == 403
    assert client.get("/import/template/libraries.csv").status_code == 403
    assert upload(client, "libraries", LIBRARIES).status_code == 403
    confirm = client.submit("/import/confirm", {"kind": "libraries", "text": LIBRARIES})
    assert confirm.status_code == 403
    with app.app_context():
        assert row_count(AuditEvent) == 0


def test_posts_without_the_csrf_token_are_refused(staff, app):
    no_token = staff.client.post(
        "/import/",
        data={"kind": "libraries", "file": (io.BytesIO(LIBRARIES.encode()), "l.csv")},
    )
    assert no_token.status_code == 400
    confirm = staff.client.post("/import/confirm", data={"kind": "libraries", "text": LIBRARIES})
    assert confirm.status_code == 400
    with app.app_context():
        assert row_count(Library) == 0
