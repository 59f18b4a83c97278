"""Every page so far, as every role, GET and POST: the exact status each must get.

Anonymous people are sent to sign in; a role without the page gets 403; an object of
another library gets 404 (its existence is not revealed). The access matrix
(test_access_matrix.py) says who is allowed and who refused for every route; this table
pins the exact codes (302, 400, 403, 404) for the pages it lists.

As in the matrix, the whole table runs once, in the module fixture `answers`, against one
world, one signed-in client per role; each request's commits only flush and are rolled
back when it ends, so no request changes what a later one sees. The tests only read what
it recorded.
"""

from __future__ import annotations

import re

import pytest

from mentorship.models import ActionItem
from tests.helpers import (
    PASSWORD,
    commits_only_flush,
    make_case_study,
    make_check_in,
    make_cohort,
    make_district,
    make_library,
    make_pairing,
    make_participation,
    make_user,
)

ROLES = ("anonymous", "staff", "pilot", "mentor", "state")
STAFF_ONLY = {"anonymous": 302, "staff": 200, "pilot": 403, "mentor": 403, "state": 403}
EVERYONE = {"anonymous": 302, "staff": 200, "pilot": 200, "mentor": 200, "state": 200}
# POSTs of an empty form: staff see the form again with errors (400), nothing stored.
STAFF_POST = {**STAFF_ONLY, "staff": 400}
STAFF_TOGGLE = {**STAFF_ONLY, "staff": 302}
CHECK_IN_POST = {"anonymous": 302, "staff": 400, "pilot": 400, "mentor": 400, "state": 403}
SIDES = ("staff", "pilot", "mentor")  # staff and the people of the paired library
SIDES_302 = dict.fromkeys(SIDES, 302)
OTHER_404 = {"pilot": 404, "mentor": 404}  # another library's record
HIDDEN_DRAFT = {**OTHER_404, "state": 404}  # another library's draft case study

# (method, url pattern, expected status by role)
TABLE = [
    ("GET", "/", EVERYONE),
    ("GET", "/libraries/", STAFF_ONLY),
    ("GET", "/libraries/?format=csv", STAFF_ONLY),
    ("GET", "/libraries/new", STAFF_ONLY),
    ("POST", "/libraries/new", STAFF_POST),
    ("GET", "/libraries/{own_library}", {**EVERYONE, "state": 403}),
    ("GET", "/libraries/{other_library}", {**STAFF_ONLY, "pilot": 404, "mentor": 404}),
    ("GET", "/libraries/{own_library}/edit", STAFF_ONLY),
    ("POST", "/libraries/{own_library}/edit?name=", STAFF_POST),
    ("POST", "/libraries/{other_library}/active", STAFF_TOGGLE),
    ("GET", "/libraries/999999", {**STAFF_ONLY, "staff": 404, "pilot": 404, "mentor": 404}),
    ("GET", "/districts/", STAFF_ONLY),
    ("GET", "/districts/new", STAFF_ONLY),
    ("POST", "/districts/new", STAFF_POST),
    ("GET", "/districts/{district}", STAFF_ONLY),
    ("GET", "/districts/{district}/edit", STAFF_ONLY),
    ("POST", "/districts/{district}/active", STAFF_TOGGLE),
    ("GET", "/cohorts/", STAFF_ONLY),
    ("GET", "/cohorts/new", STAFF_ONLY),
    ("POST", "/cohorts/new", STAFF_POST),
    ("GET", "/cohorts/{cohort}", STAFF_ONLY),
    ("GET", "/cohorts/{cohort}/edit", STAFF_ONLY),
    ("GET", "/cohorts/{cohort}/libraries.csv", STAFF_ONLY),
    ("GET", "/cohorts/{cohort}/libraries/new", STAFF_ONLY),
    ("POST", "/cohorts/{cohort}/libraries/new", STAFF_POST),
    ("GET", "/cohorts/libraries/{participation}/edit", STAFF_ONLY),
    ("POST", "/cohorts/libraries/{participation}/active", STAFF_TOGGLE),
    ("POST", "/cohorts/{cohort}/active", STAFF_TOGGLE),
    ("GET", "/people/", STAFF_ONLY),
    ("GET", "/people/new", STAFF_ONLY),
    ("POST", "/people/new", STAFF_POST),
    ("GET", "/people/{pilot_user}", STAFF_ONLY),
    ("GET", "/people/{pilot_user}/edit", STAFF_ONLY),
    ("POST", "/people/{pilot_user}/send-link", STAFF_TOGGLE),
    ("GET", "/pairings/cohorts/{cohort}", STAFF_ONLY),
    ("GET", "/pairings/pilots/{participation}", STAFF_ONLY),
    ("POST", "/pairings/cohorts/{cohort}/propose-all", STAFF_TOGGLE),
    ("POST", "/pairings/cohorts/{cohort}/publish", STAFF_TOGGLE),
    ("GET", "/audit/", STAFF_ONLY),
    ("GET", "/audit/?format=csv", STAFF_ONLY),
    ("GET", "/import/", STAFF_ONLY),
    ("POST", "/import/", STAFF_POST),
    ("GET", "/import/template/libraries.csv", STAFF_ONLY),
    # An empty confirm (no kind, no text) never comes from the preview page.
    ("POST", "/import/confirm", {**STAFF_ONLY, "staff": 400}),
    # Check-ins: both sides of a pairing and staff; an empty log form comes back (400).
    ("GET", "/pairings/{pairing}/check-ins", {**EVERYONE, "state": 403}),
    ("GET", "/pairings/{pairing}/check-ins?format=csv", {**EVERYONE, "state": 403}),
    ("GET", "/pairings/{other_pairing}/check-ins", {**STAFF_ONLY, "pilot": 404, "mentor": 404}),
    ("POST", "/pairings/{pairing}/check-ins", CHECK_IN_POST),
    ("POST", "/pairings/{other_pairing}/check-ins", {**CHECK_IN_POST, "pilot": 404, "mentor": 404}),
    ("POST", "/pairings/{pairing}/cadence", CHECK_IN_POST),
    ("POST", "/pairings/{other_pairing}/cadence", {**CHECK_IN_POST, "pilot": 404, "mentor": 404}),
    ("POST", "/action-items/{action_item}/done", {**CHECK_IN_POST, **dict.fromkeys(SIDES, 302)}),
    (
        "POST",
        "/action-items/{other_action_item}/done",
        {**STAFF_TOGGLE, "pilot": 404, "mentor": 404},
    ),
    # Everyone keeps a calendar feed of their own (the feed itself needs no sign-in).
    ("GET", "/calendar", EVERYONE),
    ("POST", "/calendar/create", dict.fromkeys(ROLES, 302)),
    ("POST", "/calendar/reset", dict.fromkeys(ROLES, 302)),
    # Case studies: everyone reads published ones; drafts stay with their library, its
    # mentor and staff; staff review (a refused step flashes and goes back: 302).
    ("GET", "/case-studies/", EVERYONE),
    ("GET", "/case-studies/?format=csv", EVERYONE),
    ("GET", "/case-studies/new", {**EVERYONE, "state": 403}),
    ("POST", "/case-studies/new", {**CHECK_IN_POST}),
    ("GET", "/case-studies/{own_case_study}", {**EVERYONE, "state": 404}),
    ("GET", "/case-studies/{other_case_study}", {**STAFF_ONLY, **HIDDEN_DRAFT}),
    ("GET", "/case-studies/{published_case_study}", EVERYONE),
    ("GET", "/case-studies/{published_case_study}/figures.csv", EVERYONE),
    ("GET", "/case-studies/{own_case_study}/edit", {**EVERYONE, "state": 403}),
    ("GET", "/case-studies/{other_case_study}/edit", {**STAFF_ONLY, "pilot": 404, "mentor": 404}),
    ("POST", "/case-studies/{own_case_study}/submit", {**CHECK_IN_POST, **SIDES_302}),
    ("POST", "/case-studies/{other_case_study}/submit", {**STAFF_TOGGLE, **OTHER_404}),
    ("POST", "/case-studies/{own_case_study}/publish", STAFF_TOGGLE),
    # A draft cannot be sent back: staff are told so on the case study's page (a redirect).
    ("POST", "/case-studies/{own_case_study}/send-back", {**STAFF_ONLY, "staff": 302}),
    ("POST", "/case-studies/{published_case_study}/withdraw", {**STAFF_ONLY, "staff": 400}),
    ("POST", "/case-studies/{own_case_study}/comments", {**CHECK_IN_POST, "state": 404}),
    ("POST", "/case-studies/{other_case_study}/comments", {**CHECK_IN_POST, **HIDDEN_DRAFT}),
    ("POST", "/case-studies/{published_case_study}/comments", {**CHECK_IN_POST, "state": 404}),
    # API tokens: staff only (an empty issue form comes back with its errors).
    ("GET", "/api-tokens/", STAFF_ONLY),
    ("GET", "/api-tokens/?format=csv", STAFF_ONLY),
    ("GET", "/api-tokens/new", STAFF_ONLY),
    ("POST", "/api-tokens/new", STAFF_POST),
]


def _make_world(app) -> dict:
    with app.app_context():
        own = make_library("Hayward Public Library")
        other = make_library("Berkeley Public Library")
        cohort = make_cohort()
        participation = make_participation(own, cohort)
        users = {
            "staff": make_user("staff", email="staff@t.example"),
            "pilot": make_user("pilot", own, email="pilot@t.example"),
            "mentor": make_user("mentor", own, email="mentor@t.example"),
            "state": make_user("state", email="state@t.example"),
        }
        return {
            "own_library": own.id,
            "other_library": other.id,
            "district": make_district().id,
            "cohort": cohort.id,
            "participation": participation.id,
            "pilot_user": users["pilot"].id,
            "emails": {role: user.email for role, user in users.items()},
            **_pairings_with_check_ins(participation, other, cohort),
            **_case_studies(own, other),
        }


def _case_studies(own_library, other_library) -> dict[str, int]:
    """A draft of ours, a draft of another library, and that library's published one."""
    return {
        "own_case_study": make_case_study(own_library, "Our draft").id,
        "other_case_study": make_case_study(other_library, "Their draft").id,
        "published_case_study": make_case_study(other_library, "Theirs", status="published").id,
    }


def _pairings_with_check_ins(own_pilot, other_library, cohort) -> dict[str, int]:
    """Our pilot and another library's pilot, each paired and with one action item."""
    ids = {}
    for key, pilot in (("", own_pilot), ("other_", make_participation(other_library, cohort))):
        pairing = make_pairing(pilot, start=cohort.start_date)
        item = ActionItem(text="Call the district", owner_library_id=pilot.library_id)
        make_check_in(pairing, cohort.start_date, action_items=(item,))
        ids |= {f"{key}pairing": pairing.id, f"{key}action_item": item.id}
    return ids


TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@pytest.fixture
def world(app):
    return _make_world(app)


@pytest.fixture(scope="module")
def answers(app):
    """{(role, method, pattern): (status, Location, page)} for the whole table, once."""
    world = _make_world(app)
    recorded = {}
    for role in ROLES:
        client = app.test_client()
        if role != "anonymous":
            token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
            answer = client.post(
                "/login",
                data={"csrf_token": token, "email": world["emails"][role], "password": PASSWORD},
            )
            assert answer.status_code == 302, f"{role} could not sign in"
        token = TOKEN.search(client.get("/login", follow_redirects=True).get_data(as_text=True))
        for method, pattern, _ in TABLE:
            url = pattern.format(**world)
            with commits_only_flush():
                if method == "GET":
                    response = client.get(url, buffered=True)
                else:
                    # "?name=" posts an empty name: the form comes back with its error.
                    url, _, blank = url.partition("?")
                    data = {"active": "0"} if url.endswith("/active") else {}
                    if blank:
                        data[blank.rstrip("=")] = ""
                    response = client.post(
                        url, data={"csrf_token": token.group(1), **data}, buffered=True
                    )
            page = response.get_data(as_text=True) if response.status_code in (403, 404) else ""
            recorded[role, method, pattern] = (
                response.status_code,
                response.headers.get("Location", ""),
                page,
                url,
            )
    return recorded


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "pattern", "expected"), TABLE, ids=[f"{m} {u}" for m, u, _ in TABLE]
)
def test_access_table(answers, role, method, pattern, expected):
    status, location, page, url = answers[role, method, pattern]
    assert status == expected[role], f"{role} {method} {url}"
    if status == 302 and role == "anonymous":
        assert location.startswith("/login")
    if status in (403, 404):
        assert "Hayward Public Library" not in page and "Berkeley Public Library" not in page


def test_lists_hide_nothing_from_staff_but_a_pilot_sees_only_their_library(client, world, app):
    client.login(world["emails"]["pilot"], PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert "Hayward Public Library" in home and "Berkeley Public Library" not in home
