"""The read-only JSON API: who gets in, what it shows (and never shows), paging, the
OpenAPI document every response is checked against, and the staff pages for tokens."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from datetime import date, timedelta

import jsonschema
import pytest
import schemathesis
import sqlalchemy as sa
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest, WerkzeugOpenAPIResponse
from openapi_core.templating.paths.exceptions import PathError
from openapi_spec_validator import validate as validate_spec
from schemathesis.engine import Status, events
from werkzeug.serving import make_server

from mentorship.extensions import db
from mentorship.models import (
    ApiToken,
    AuditEvent,
    CardModel,
    Enrolment,
    PartnershipStage,
    Role,
    User,
)
from mentorship.models.base import utcnow
from mentorship.services import api_tokens
from mentorship.services.months import months_between
from mentorship.services.partnerships import move_to_stage
from mentorship.templating import local_today
from tests.helpers import (
    PASSWORD,
    count_statements,
    make_cohort,
    make_district,
    make_library,
    make_participation,
    make_partnership,
    make_report,
    make_user,
)

BASE = "https://ssi.example"  # BASE_URL in the tests' settings
LIST_PATHS = (
    "/api/v1/libraries",
    "/api/v1/cohorts",
    "/api/v1/partnerships",
    "/api/v1/outcome-figures",
)
# What a partnership holds that the API must never show, anywhere.
SECRETS = {
    "contact_name": "Dana Secretperson",
    "contact_title": "Director of Hidden Things",
    "contact_email": "dana.secret@district.example",
    "contact_phone": "555-0199-777",
    "notes": "Private: the superintendent is wary of data sharing",
}
EXPLANATION = "Confidential explanation of the figures"


class Api:
    """A client for /api/v1 that checks every answer against the OpenAPI document."""

    def __init__(self, app, token: str | None):
        self.client = app.test_client()
        self.token = token
        self.bodies: list[str] = []
        with app.test_client() as client:
            self.document = client.get("/api/v1/openapi.json").get_json()
        self.openapi = OpenAPI.from_dict(self.document)

    def get(self, path: str, token: str | None = "default", **headers):
        token = self.token if token == "default" else token
        if token is not None:
            headers.setdefault("Authorization", f"Bearer {token}")
        response = self.client.get(path.removeprefix(BASE), headers=headers)
        self.check(response)
        return response

    def check(self, response) -> None:
        assert response.mimetype == "application/json"
        assert "Set-Cookie" not in response.headers  # the API never starts a session
        self.bodies.append(response.get_data(as_text=True))
        try:
            self.openapi.validate_response(
                WerkzeugOpenAPIRequest(response.request), WerkzeugOpenAPIResponse(response)
            )
        except PathError:  # not a documented path or method: still a JSON error
            error_schema = self.document["components"]["schemas"]["Error"]
            jsonschema.Draft202012Validator(error_schema).validate(response.get_json())
            assert response.status_code in (404, 405)


def issue(user: User, name: str = "Data team") -> str:
    _, secret = api_tokens.issue_token(user.id, name, actor=None)
    db.session.commit()
    return secret


@pytest.fixture
def state(app):
    with app.app_context():
        return make_user("state", email="state@api.example")


@pytest.fixture
def api(app, state):
    with app.app_context():
        return Api(app, issue(state))


def error_of(response) -> tuple[int, str]:
    body = response.get_json()["error"]
    return body["status"], body["message"]


# Who gets in ----------------------------------------------------------------------


def test_a_state_or_staff_token_reads_the_api(app, api):
    assert api.get("/api/v1/libraries").status_code == 200
    with app.app_context():
        staff_token = issue(make_user("staff"))
    assert api.get("/api/v1/libraries", token=staff_token).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Basic c3RhdGU6cGFzc3dvcmQ=", "Bearer", "Bearer ", "Bearer a b", "Token ssi_x"],
    ids=["no header", "empty", "basic", "no token", "blank token", "two words", "other scheme"],
)
def test_no_or_malformed_authorization_is_401_with_a_bearer_challenge(api, authorization):
    headers = {} if authorization is None else {"Authorization": authorization}
    response = api.get("/api/v1/libraries", token=None, **headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert error_of(response)[0] == 401


def test_an_unknown_token_is_401(api):
    response = api.get("/api/v1/cohorts", token="ssi_" + "x" * 43)
    assert response.status_code == 401
    assert "not valid" in error_of(response)[1]


def test_a_revoked_token_is_401(app, api):
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken))
        api_tokens.revoke_token(token, actor=None)
        db.session.commit()
    response = api.get("/api/v1/libraries")
    assert response.status_code == 401 and "revoked" in error_of(response)[1]


def test_the_token_of_a_deactivated_person_is_403(app, api, state):
    with app.app_context():
        db.session.get(User, state.id).active = False
        db.session.commit()
    response = api.get("/api/v1/libraries")
    assert response.status_code == 403
    assert "deactivated" in error_of(response)[1]


def test_the_token_of_a_person_who_became_a_pilot_librarian_is_403(app, api, state):
    with app.app_context():
        person = db.session.get(User, state.id)
        person.role, person.library_id = Role.PILOT, make_library().id
        db.session.commit()
    assert api.get("/api/v1/partnerships").status_code == 403


def test_a_signed_in_browser_session_does_not_open_the_api(app, client, api):
    with app.app_context():
        make_user("staff", email="staff@api.example")
    assert client.login("staff@api.example", PASSWORD).status_code == 302
    response = client.get("/api/v1/libraries")
    assert response.status_code == 401
    api.check(response)


def test_a_token_in_the_address_is_not_accepted(api):
    response = api.get(f"/api/v1/libraries?access_token={api.token}", token=None)
    assert response.status_code == 401


def test_last_used_is_written_at_most_once_a_minute(app, api):
    def last_used():
        with app.app_context():
            return db.session.scalar(sa.select(ApiToken.last_used_at))

    assert last_used() is None
    api.get("/api/v1/libraries")
    first = last_used()
    assert first is not None
    with count_statements(app) as statements:
        api.get("/api/v1/libraries")
    assert not any(s.lstrip().upper().startswith("UPDATE") for s in statements)
    assert last_used() == first
    with app.app_context():
        db.session.execute(sa.update(ApiToken).values(last_used_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()
    api.get("/api/v1/libraries")
    assert last_used() > first


# What it shows ---------------------------------------------------------------------


@pytest.fixture
def world(app):
    """Two libraries in a cohort, a partnership with private details, two reports."""
    with app.app_context():
        hayward = make_library(
            "Hayward Public Library",
            county="Alameda",
            city="Hayward",
            website="https://library.hayward-ca.gov",
            contact_name="Main Desk",
            contact_email="library@hayward.example",
            contact_phone="510-555-0100",
            service_population=162_000,
        )
        yolo = make_library("Yolo County Library", county="Yolo")
        cohort = make_cohort("Year 1", start_date=date(2025, 9, 1))
        make_participation(hayward, cohort, "pilot")
        make_participation(yolo, cohort, "mentor", start_date=date(2025, 10, 15))
        other_cohort = make_cohort(
            "Year 2", start_date=date(2026, 9, 1), end_date=date(2028, 8, 31)
        )
        district = make_district(
            "Hayward Unified", county="Alameda", state_code="0161192", students_enrolled=20_000
        )
        partnership = make_partnership(hayward, district, contacted_on=date(2026, 1, 10))
        for field, value in SECRETS.items():
            setattr(partnership, field, value)
        partnership.card_model, partnership.enrolment = CardModel.DIGITAL_ONLY, Enrolment.OPT_OUT
        partnership.fine_free = True
        second = db.session.scalar(
            sa.select(PartnershipStage)
            .where(PartnershipStage.position > 1)
            .order_by(PartnershipStage.position)
        )
        move_to_stage(partnership, second, date(2026, 2, 3), date(2026, 3, 1), actor=None)
        yolo_partnership = make_partnership(
            yolo, make_district("Davis Joint Unified", county="Yolo")
        )
        reports = [
            make_report(
                partnership,
                date(2026, 1, 1),
                date(2026, 3, 31),
                20_000,
                1_000,
                15_000,
                explanation=EXPLANATION,
            ),
            make_report(
                yolo_partnership, date(2026, 4, 1), date(2026, 6, 30), 8_000, 0, 7_500, 3_100
            ),
        ]
        return {
            "hayward": hayward.id,
            "yolo": yolo.id,
            "cohort": cohort.id,
            "other_cohort": other_cohort.id,
            "district": district.id,
            "partnership": partnership.id,
            "yolo_partnership": yolo_partnership.id,
            "stage": (second.key, second.name, second.position),
            "reports": [r.id for r in reports],
            "today": local_today(),
        }


def test_libraries_show_their_public_facts_and_contact(api, world):
    body = api.get("/api/v1/libraries").get_json()
    assert body["total"] == 2 and [row["id"] for row in body["data"]] == [
        world["hayward"],
        world["yolo"],
    ]
    assert body["data"][0] == {
        "id": world["hayward"],
        "name": "Hayward Public Library",
        "short_name": "",
        "city": "Hayward",
        "county": "Alameda",
        "cooperative_system": "Pacific Library Partnership",
        "governance": "city",
        "service_population": 162_000,
        "ils_name": "",
        "website": "https://library.hayward-ca.gov",
        "public_contact": {
            "name": "Main Desk",
            "email": "library@hayward.example",
            "phone": "510-555-0100",
        },
        "active": True,
    }
    one = api.get(f"/api/v1/libraries/{world['yolo']}").get_json()
    assert one["data"]["name"] == "Yolo County Library"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/libraries/999999",
        "/api/v1/cohorts/999999",
        "/api/v1/libraries/99999999999",
        "/api/v1/libraries/abc",
        "/api/v1/nothing",
        "/api/v1/libraries/",
        "/api/v1/",
    ],
)
def test_unknown_ids_and_addresses_are_404_in_json(api, world, path):
    response = api.get(path)
    assert response.status_code == 404 and error_of(response)[0] == 404


def test_writes_are_refused_in_json(api):
    response = api.client.post(
        "/api/v1/libraries", headers={"Authorization": f"Bearer {api.token}"}
    )
    api.check(response)
    assert response.status_code == 405 and "read-only" in error_of(response)[1]


def test_cohorts_list_the_libraries_taking_part_and_their_month(api, world):
    body = api.get("/api/v1/cohorts").get_json()
    assert [row["name"] for row in body["data"]] == ["Year 1", "Year 2"]
    year1 = body["data"][0]
    assert year1["start_date"] == "2025-09-01" and year1["active"] is True
    assert year1["participations"] == [
        {
            "library_id": world["hayward"],
            "role": "pilot",
            "start_date": "2025-09-01",
            "target_months": 18,
            "months_in": months_between(date(2025, 9, 1), world["today"]),
            "active": True,
        },
        {
            "library_id": world["yolo"],
            "role": "mentor",
            "start_date": "2025-10-15",
            "target_months": 18,
            "months_in": months_between(date(2025, 10, 15), world["today"]),
            "active": True,
        },
    ]
    assert body["data"][1]["participations"] == []
    assert api.get(f"/api/v1/cohorts/{world['cohort']}").get_json()["data"] == year1


def test_partnerships_show_stage_and_card_model_never_contacts_or_notes(api, world):
    body = api.get("/api/v1/partnerships").get_json()
    row = next(p for p in body["data"] if p["id"] == world["partnership"])
    key, name, position = world["stage"]
    first = body["data"][0]["stage_dates"][0]
    assert row == {
        "id": world["partnership"],
        "library_id": world["hayward"],
        "district": {
            "id": world["district"],
            "name": "Hayward Unified",
            "county": "Alameda",
            "state_code": "0161192",
            "students_enrolled": 20_000,
        },
        "stage": {"key": key, "name": name, "position": position},
        "stage_dates": [
            {**first, "reached_on": "2026-01-10"},
            {"key": key, "name": name, "position": position, "reached_on": "2026-02-03"},
        ],
        "card_model": "digital only",
        "enrolment": "opt-out",
        "fine_free": True,
        "rollout_order": 1,
        "active": True,
    }
    assert first["position"] < position
    other = next(p for p in body["data"] if p["id"] == world["yolo_partnership"])
    assert other["card_model"] is None and other["fine_free"] is None


def test_outcome_figures_and_their_filters(api, world):
    hayward_report, yolo_report = world["reports"]
    body = api.get("/api/v1/outcome-figures").get_json()
    assert body["data"][0] == {
        "id": hayward_report,
        "partnership_id": world["partnership"],
        "library_id": world["hayward"],
        "district_id": world["district"],
        "period_start": "2026-01-01",
        "period_end": "2026-03-31",
        "students_enrolled": 20_000,
        "physical_cards": 1_000,
        "digital_cards": 15_000,
        "students_using_cards": None,
    }
    assert body["data"][1]["students_using_cards"] == 3_100

    def ids(query: str) -> list[int]:
        return [row["id"] for row in api.get(f"/api/v1/outcome-figures?{query}").get_json()["data"]]

    assert ids(f"library_id={world['yolo']}") == [yolo_report]
    assert ids("county=alameda county") == [hayward_report]  # spelt any way
    assert ids("county=Yolo&since=2026-06-30") == [yolo_report]
    assert ids("since=2026-07-01") == []
    assert ids(f"cohort_id={world['cohort']}") == [hayward_report, yolo_report]
    assert ids(f"cohort_id={world['other_cohort']}") == []
    assert ids(f"cohort_id={world['cohort']}&library_id={world['hayward']}") == [hayward_report]


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("library_id=abc", "library_id"),
        ("cohort_id=0", "cohort_id"),
        ("library_id=99999999999", "library_id"),
        ("since=2026-13-01", "YYYY-MM-DD"),
        ("county=Atlantis", "not a California county"),
    ],
)
def test_bad_filters_are_400_with_a_message(api, query, words):
    response = api.get(f"/api/v1/outcome-figures?{query}")
    assert response.status_code == 400
    status, message = error_of(response)
    assert status == 400 and words in message


def test_no_response_holds_private_details(api, world):
    for path in [
        *LIST_PATHS,
        f"/api/v1/libraries/{world['hayward']}",
        f"/api/v1/cohorts/{world['cohort']}",
    ]:
        assert api.get(path + "?per_page=200").status_code == 200
    everything = "\n".join(api.bodies)
    for secret in [*SECRETS.values(), EXPLANATION, "state@api.example"]:
        assert secret not in everything


# Paging ---------------------------------------------------------------------------


def test_pages_total_next_prev_and_past_the_end(app, api):
    with app.app_context():
        for _ in range(7):
            make_library()
    first = api.get("/api/v1/libraries?per_page=3").get_json()
    assert (first["page"], first["per_page"], first["total"], len(first["data"])) == (1, 3, 7, 3)
    assert first["prev"] is None and first["next"] == f"{BASE}/api/v1/libraries?per_page=3&page=2"
    second = api.get(first["next"]).get_json()
    assert second["prev"].endswith("page=1") and second["next"].endswith("page=3")
    last = api.get(second["next"]).get_json()
    assert len(last["data"]) == 1 and last["next"] is None and last["prev"].endswith("page=2")
    seen = [row["id"] for page in (first, second, last) for row in page["data"]]
    assert len(set(seen)) == 7
    beyond = api.get("/api/v1/libraries?per_page=3&page=9").get_json()
    assert beyond["data"] == [] and beyond["total"] == 7
    assert beyond["next"] is None and beyond["prev"].endswith("page=3")  # back to the last page
    everything = api.get("/api/v1/libraries?per_page=200").get_json()
    assert len(everything["data"]) == 7 and everything["next"] is None
    assert api.get("/api/v1/libraries").get_json()["per_page"] == 50


@pytest.mark.parametrize(
    "query",
    ["per_page=201", "per_page=0", "page=0", "page=-1", "page=two", "per_page=1.5", "page=²"],
)
def test_bad_paging_values_are_400_with_a_message(api, query):
    response = api.get(f"/api/v1/libraries?{query}")
    assert response.status_code == 400
    name = query.split("=")[0]
    assert f"“{name}”" in error_of(response)[1]


# Queries: the same number whatever the size ---------------------------------------


def grow(app, n: int) -> None:
    """n more libraries, each in a cohort, with a partnership and a report."""
    with app.app_context():
        for i in range(n):
            library = make_library()
            make_participation(library, make_cohort(), "pilot")
            partnership = make_partnership(library)
            make_report(partnership, date(2026, 1, 1), date(2026, 1, 31), 100 + i, 1, 2)


def test_statements_per_request_do_not_grow_with_the_data(app, api):
    def statements_for(path: str) -> int:
        with count_statements(app) as statements:
            assert len(api.get(path + "?per_page=200").get_json()["data"]) == rows
        return len(statements)

    grow(app, 3)
    rows = 3
    api.get("/api/v1/libraries")  # notes the token's first use, outside the counts
    small = {path: statements_for(path) for path in LIST_PATHS}
    grow(app, 27)
    rows = 30
    large = {path: statements_for(path) for path in LIST_PATHS}
    assert small == large
    # token, count, page (+ one eager load for nested lists)
    assert max(large.values()) <= 4


# The OpenAPI document ----------------------------------------------------------------


def test_the_openapi_document_is_valid_and_served_without_a_token(app, api):
    response = api.get("/api/v1/openapi.json", token=None)
    assert response.status_code == 200
    document = response.get_json()
    validate_spec(document)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    # Every route of the API is documented, and nothing else.
    routes = {
        re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix("/api/v1"))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.not_here"
    }
    assert routes == set(document["paths"])


def test_a_response_that_drifts_from_the_document_fails_validation(app, api, world):
    response = api.get(f"/api/v1/libraries/{world['hayward']}")
    body = response.get_json()
    body["data"]["contact_notes"] = "drift"
    response.set_data(json.dumps(body))
    with pytest.raises(Exception, match="(?i)additional"):
        api.openapi.validate_response(
            WerkzeugOpenAPIRequest(response.request), WerkzeugOpenAPIResponse(response)
        )


# The staff pages -------------------------------------------------------------------


def _sign_in_staff(app, client) -> User:
    with app.app_context():
        staff = make_user("staff", email="staff@api.example", name="Sam Staff")
    assert client.login("staff@api.example", PASSWORD).status_code == 302
    return staff


def test_staff_issue_a_token_shown_once_that_works(app, client, state):
    _sign_in_staff(app, client)
    assert "API tokens" in client.get("/").get_data(as_text=True)  # in the menu
    form = client.get("/api-tokens/new").get_data(as_text=True)
    assert "state@api.example" in form
    page = client.submit("/api-tokens/new", {"name": "CDE dashboard", "user_id": state.id})
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    text = page.get_data(as_text=True)
    secret = re.search(r'id="api-token" value="(ssi_[^"]+)" readonly', text).group(1)
    with app.app_context():
        token = db.session.scalar(sa.select(ApiToken))
        assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
        assert secret.startswith(token.prefix) and token.prefix != secret
        assert token.user_id == state.id and token.created_by.email == "staff@api.example"
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.object_type == "ApiToken"))
        assert event.action == "create" and secret not in json.dumps(event.changes)
        token_id = token.id
    api = Api(app, secret)
    assert api.get("/api/v1/libraries").status_code == 200
    # Never shown again: not in the list, its CSV, or its own page.
    listing = client.get("/api-tokens/").get_data(as_text=True)
    assert "CDE dashboard" in listing and token.prefix in listing and secret not in listing
    assert secret not in client.get(f"/api-tokens/{token_id}").get_data(as_text=True)
    csv = client.get("/api-tokens/?format=csv")
    assert csv.mimetype == "text/csv"
    lines = csv.get_data(as_text=True).splitlines()
    assert (
        lines[0]
        == "\ufeffName,For,Prefix,Status,Created,Created by,Last used,Revoked,Figures as of"
    )
    assert lines[1].startswith("CDE dashboard,") and "works" in lines[1] and secret not in lines[1]


def test_a_token_is_only_for_a_state_official_or_staff(app, client):
    _sign_in_staff(app, client)
    with app.app_context():
        pilot = make_user("pilot", email="pilot@api.example")
    page = client.submit("/api-tokens/new", {"name": "Nope", "user_id": pilot.id})
    assert "pilot@api.example" not in client.get("/api-tokens/new").get_data(as_text=True)
    assert 'id="user_id-error"' in page.get_data(as_text=True)
    blank = client.submit("/api-tokens/new", {"name": "", "user_id": ""}).get_data(as_text=True)
    assert "Say what the token is for." in blank and "Choose whom the token acts for." in blank
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


def test_staff_revoke_a_token_audited_and_it_stops_working(app, client, api, state):
    _sign_in_staff(app, client)
    with app.app_context():
        token_id = db.session.scalar(sa.select(ApiToken.id))
    assert client.post(f"/api-tokens/{token_id}/revoke").status_code == 400  # no CSRF token
    assert api.get("/api/v1/libraries").status_code == 200
    response = client.submit(f"/api-tokens/{token_id}/revoke", follow_redirects=True)
    assert "was revoked" in response.get_data(as_text=True)
    assert api.get("/api/v1/libraries").status_code == 401
    with app.app_context():
        token = db.session.get(ApiToken, token_id)
        assert token.revoked_at is not None and token.revoked_by.email == "staff@api.example"
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.object_type == "ApiToken")
        ).all()
        assert "revoke" in actions
    again = client.submit(f"/api-tokens/{token_id}/revoke", follow_redirects=True)
    assert "already revoked" in again.get_data(as_text=True)
    page = client.get(f"/api-tokens/{token_id}").get_data(as_text=True)
    assert "Revoke this token" not in page and "revoked" in page


@pytest.mark.parametrize("role", ["pilot", "mentor", "state"])
def test_other_roles_may_not_use_the_token_pages(app, client, api, role):
    with app.app_context():
        make_user(role, email=f"{role}@pages.example")
        token_id = db.session.scalar(sa.select(ApiToken.id))
    client.login(f"{role}@pages.example", PASSWORD)
    for path in (
        "/api-tokens/",
        "/api-tokens/?format=csv",
        "/api-tokens/new",
        f"/api-tokens/{token_id}",
    ):
        assert client.get(path).status_code == 403, path
    assert client.submit(f"/api-tokens/{token_id}/revoke").status_code == 403
    assert client.submit("/api-tokens/new", {"name": "x"}).status_code == 403
    assert "API tokens" not in client.get("/").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ApiToken, token_id).revoked_at is None


FAILED = (Status.FAILURE, Status.ERROR)


def _failures(recorder) -> list[str]:
    return sorted(
        {
            f"{check.name}: {check.failure_info.failure.title if check.failure_info else ''}"
            for checks in recorder.checks.values()
            for check in checks
            if check.failure_info
        }
    )


def test_schemathesis_finds_no_request_the_document_allows_that_the_api_mishandles(app, api, world):
    """Schemathesis's own engine, every phase: the document's examples, coverage (each
    parameter's boundaries and what it must refuse), fuzzing, and stateful sequences
    (following the links between operations). Seeded and short, so the same each run:
    no server error, and status, headers and bodies as the document says."""
    config = schemathesis.config.SchemathesisConfig.from_str(
        f"""
seed = 19
headers = {{ Authorization = "Bearer {api.token}" }}
[generation]
max-examples = 10
[phases.stateful]
max-steps = 10
"""
    )
    # Over real HTTP on the loopback (the engine's WSGI transport does not work with this
    # Werkzeug), as a client would call it.
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        schema = schemathesis.openapi.from_url(
            f"http://127.0.0.1:{server.port}/api/v1/openapi.json", config=config
        )
        run = list(schemathesis.engine.from_schema(schema).execute())
    finally:
        server.shutdown()
    phases, problems = set(), []
    for event in run:
        if isinstance(event, events.PhaseFinished) and event.status != Status.SKIP:
            phases.add(event.phase.name.value)
        elif isinstance(event, events.ScenarioFinished) and event.status in FAILED:
            problems.append((event.phase.value, event.label, _failures(event.recorder)))
        elif isinstance(event, events.NonFatalError | events.FatalError):
            problems.append(("error", getattr(event, "label", ""), repr(event.value)))
    assert problems == []
    assert {"examples", "coverage", "fuzzing", "stateful"} <= phases
