"""Bad input, generated: every form in the app, posted with values no form expects.

The demo data is loaded once into a database of this module's own. Signed in as each
persona, the test walks the site and reads every form it is shown (action, fields,
choices), so a new form is covered without touching this file; a POST route that no
page offers fails `test_every_post_route_has_a_form_someone_is_shown`. For each form,
hypothesis posts empty, huge, unicode (RTL, emoji, NUL), negative and huge numbers,
far-away and impossible dates, letters in number fields, unknown choices and missing
fields, and checks:
- never a 500, and never the 500 page;
- an answer that is not a redirect shows a visible message (an error beside a field,
  an error summary or flash, or an error page in the layout);
- when the form is refused, no table gained or lost a row.
"""

from __future__ import annotations

import io
import re
import urllib.parse
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mentorship import create_app, demo
from mentorship.extensions import db
from tests.conftest import Browserless, app_settings
from tests.databases import fresh_database
from tests.helpers import load_demo

PERSONAS = ("staff@demo.test", "pilot@demo.test", "mentor@demo.test", "state@demo.test")
ANONYMOUS = "signed out"
# Reached from an email link or a button with nothing to type: covered elsewhere.
NOT_FORMS = {"auth.logout"}
# Answer 200 with a page that is not an error when the input is fine.
OK_PAGES = {
    "imports.upload",
    "imports.confirm",
    "reminders.unsubscribe",
    "api_tokens.new",
    "partnerships.ils_report",
    "partnerships.confirm_ils_report",
}
# A page that says plainly why nothing happened (a second "publish": nothing left to publish).
NOTICES = {"timeline.publish": "there is nothing to publish"}
# Run last: they end or remove the things other forms work on.
DESTRUCTIVE = re.compile(r"remove|delete|end|active|withdraw|publish|send_back|hide|reset|retry")


# --- Reading forms from pages ----------------------------------------------------------


@dataclass
class Field:
    name: str
    kind: str  # text, email, number, date, url, checkbox, radio, hidden, select, textarea, file
    value: str = ""
    choices: list[str] = field(default_factory=list)


@dataclass
class Form:
    action: str
    endpoint: str
    persona: str
    fields: dict[str, Field] = field(default_factory=dict)
    multipart: bool = False
    method: str = "post"


class Forms(HTMLParser):
    """Every POST form of a page, and every same-site link."""

    def __init__(self, page_url: str, page: str):
        super().__init__()
        self.page_url, self.forms, self.links = page_url, [], []
        self._form: Form | None = None
        self._select: Field | None = None
        self._textarea: Field | None = None
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = {key: value or "" for key, value in attrs}
        if tag == "a" and a.get("href", "").startswith("/"):
            self.links.append(a["href"].split("#")[0])
        elif tag == "form":
            method = a.get("method", "get").lower()
            action = a.get("action") or self.page_url.split("?")[0]
            multipart = "multipart" in a.get("enctype", "")
            self._form = Form(action, "", "", multipart=multipart, method=method)
            self.forms.append(self._form)
        elif self._form is None or "name" not in a:
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            known = self._form.fields.get(a["name"])
            if known is not None and kind in ("radio", "checkbox"):
                known.choices.append(a.get("value", "on"))
                return
            choices = [a.get("value", "on")] if kind in ("radio", "checkbox") else []
            self._form.fields[a["name"]] = Field(a["name"], kind, a.get("value", ""), choices)
        elif tag == "select":
            self._select = self._form.fields[a["name"]] = Field(a["name"], "select")
        elif tag == "textarea":
            self._textarea = self._form.fields[a["name"]] = Field(a["name"], "textarea")
        elif tag == "button" and a.get("value"):
            self._form.fields[a["name"]] = Field(a["name"], "radio", a["value"], [a["value"]])

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_starttag_option(self, a):
        pass

    def parse_starttag(self, i):  # options: read their values while inside a select
        end = super().parse_starttag(i)
        text = self.get_starttag_text() or ""
        if self._select is not None and text.lower().startswith("<option"):
            match = re.search(r'value="([^"]*)"', text)
            self._select.choices.append(match.group(1) if match else "")
        return end


# --- The world: demo data, personas, and the forms each is shown -----------------------


@dataclass
class World:
    app: object
    clients: dict[str, Browserless]
    forms: dict[str, Form]  # endpoint -> the form to fuzz
    user_ids: dict[str, int]
    tokens: dict[str, str]  # persona -> CSRF token (one per session)
    searches: dict[str, Form]  # endpoint -> a GET form (search, filters)


def _endpoint(app, path: str, method: str = "GET") -> str | None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(urlsplit(path).path, method=method)
    except Exception:
        return None
    return endpoint


def _crawl(app, client: Browserless, persona: str, forms: dict, searches: dict, own_ids: set):
    """Visit up to three pages per endpoint, breadth first from the home page."""
    seen_paths, per_endpoint, queue = set(), {}, ["/"]
    queue += [r.rule for r in app.url_map.iter_rules() if "GET" in r.methods and not r.arguments]
    while queue:
        path = queue.pop(0)
        endpoint = _endpoint(app, path)
        if (
            path in seen_paths
            or endpoint in (None, "static", "calendar.feed", "toolkit.download")
            or path.endswith((".csv", ".ics"))
            or "format=" in path
            or per_endpoint.get(endpoint, 0) >= 3
        ):
            continue
        seen_paths.add(path)
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        response = client.get(path)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        page = Forms(path, response.get_data(as_text=True))
        for form in page.forms:
            form.endpoint = _endpoint(app, form.action, form.method.upper()) or ""
            form.persona = persona
            if form.method == "get":  # a search or filter: its own list
                searches.setdefault(form.endpoint, form)
                continue
            # Never the persona's own account: deactivating it would end the test.
            ids = {int(n) for n in re.findall(r"/people/(\d+)", form.action)}
            if form.endpoint and form.endpoint not in forms and not ids & own_ids:
                forms[form.endpoint] = form
        queue += page.links


def _things_only_some_states_show() -> None:
    """What the demo data lacks for a few forms to appear: a draft case study, a hidden
    comment, proposed pairings, a draft plan, a failed email, feeds and an API token."""
    from mentorship.models import (
        CaseStudy,
        CaseStudyStatus,
        Cohort,
        OutboxMessage,
        OutboxStatus,
        User,
    )
    from mentorship.services import api_tokens, calendar, case_studies, milestones, pairing

    people = {u.email: u for u in db.session.scalars(sa.select(User))}
    staff, pilot = people["staff@demo.test"], people["pilot@demo.test"]
    for persona in PERSONAS[:2]:  # the others still see "create"
        calendar.new_calendar_token(people[persona])
    case_studies.create(pilot.library, {"title": "A draft", "summary": "", "body": ""}, pilot)
    published = db.session.scalar(
        sa.select(CaseStudy).where(CaseStudy.status == CaseStudyStatus.PUBLISHED)
    )
    comment = case_studies.add_comment(published, "Hidden soon.", people["mentor@demo.test"])
    db.session.flush()
    case_studies.hide_comment(comment, "Off topic.", staff)
    for cohort in db.session.scalars(sa.select(Cohort)):
        pairing.propose_whole_cohort(cohort.id, staff)
    milestones.draft_template(staff).steps[0].title += " (revised)"  # something to publish
    db.session.add(
        OutboxMessage(
            kind="checkin_due", object_type="pairing", object_id=1, period="2026-01-01",
            recipient_id=pilot.id, subject="A reminder", body_text="", body_html="",
            status=OutboxStatus.FAILED, attempts=5,
        )
    )  # fmt: skip
    api_tokens.issue_token(people["state@demo.test"].id, "Dashboard", staff)  # to revoke
    db.session.commit()


def _import_confirm_form(app, client: Browserless) -> Form:
    """The confirm form appears on the preview of a good file."""
    text = "name,county,governance\nFuzz Library,Alameda,city\n"
    page = client.submit(
        "/import/", {"kind": "libraries", "file": (io.BytesIO(text.encode()), "a.csv")}
    )
    form = next(
        f
        for f in Forms("/import/", page.get_data(as_text=True)).forms
        if f.action == "/import/confirm"
    )
    form.endpoint, form.persona = "imports.confirm", "staff@demo.test"
    return form


def _ils_confirm_form(app, client: Browserless) -> Form:
    """The ILS report's confirm form appears on the preview of a good file."""
    from mentorship.models import Identifier, OutcomeReport, Partnership, School, User

    with app.app_context():
        pilot = db.session.scalar(sa.select(User).where(User.email == "pilot@demo.test"))
        partnership_id, code = db.session.execute(
            sa.select(Partnership.id, Identifier.value)
            .join(School, School.lea_id == Partnership.district_id)
            .join(Identifier, Identifier.school_id == School.id)
            .where(Partnership.library_id == pilot.library_id)
            .where(~sa.exists().where(OutcomeReport.partnership_id == Partnership.id))
        ).first()
    text = f"school_code,grade,period_start,period_end,students_enrolled\n{code},3,2025-07-01,2025-07-31,9\n"
    url = f"/partnerships/{partnership_id}/ils-report"
    page = client.submit(url, {"file": (io.BytesIO(text.encode()), "a.csv")})
    form = next(
        f for f in Forms(url, page.get_data(as_text=True)).forms if f.action.endswith("/confirm")
    )
    form.endpoint, form.persona = "partnerships.confirm_ils_report", "pilot@demo.test"
    return form


@pytest.fixture(scope="module")
def world(tmp_path_factory, smtp_server):
    with fresh_database(tmp_path_factory.mktemp("bad-input")) as url:
        app = create_app(app_settings(url, smtp_server.port))
        with app.app_context():
            upgrade()
            load_demo()
            db.session.commit()
            _things_only_some_states_show()
            from mentorship.models import User

            user_ids = dict(db.session.execute(sa.select(User.email, User.id)).all())
        clients, forms, searches = {}, {}, {}
        for persona in PERSONAS:
            client = Browserless(app.test_client())
            assert client.login(persona, demo.DEMO_PASSWORD).status_code == 302
            clients[persona] = client
            _crawl(app, client, persona, forms, searches, {user_ids[persona]})
        clients[ANONYMOUS] = Browserless(app.test_client())
        _crawl(app, clients[ANONYMOUS], ANONYMOUS, forms, searches, set())
        forms["imports.confirm"] = _import_confirm_form(app, clients["staff@demo.test"])
        forms["partnerships.confirm_ils_report"] = _ils_confirm_form(
            app, clients["pilot@demo.test"]
        )
        tokens = {persona: client.token() for persona, client in clients.items()}
        yield World(app, clients, forms, user_ids, tokens, searches)
        with app.app_context():
            db.engine.dispose()


# --- What goes in a field ---------------------------------------------------------------

NASTY = st.sampled_from(
    [
        "",
        " ",
        "x" * 10_000,
        "\x00",
        "name\x00with a NUL",
        "\u202eevil\u202c",  # right-to-left override
        "مكتبة عامة",
        "🙂📚" * 50,
        "<script>alert(1)</script>",
        "' OR 1=1 --",
        "-1",
        "0",
        "-99999999999999999999",
        "99999999999999999999",
        "1e308",
        "NaN",
        "3.5",
        "twelve",
        "0001-01-01",
        "9999-12-31",
        "2026-02-30",
        "31/12/2026",
        "None",
        "true",
        "javascript:alert(1)",
        "a@b",
        "@",
        "\r\n\r\n",
    ]
)
TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


def _value(form_field: Field):
    plausible = [form_field.value] + form_field.choices
    return st.one_of(NASTY, TEXT, st.sampled_from(plausible), st.integers().map(str))


def _file():
    data = st.one_of(
        st.binary(max_size=2000),
        st.just(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"),
        st.just("name,county,governance\nΩ Library,Alameda,city\n".encode()),
        st.just(b"name,county\n" + b"a,b\n" * 20),
    )
    name = st.sampled_from(["file.csv", "photo.png", "data.txt", "noextension", "x.csv.exe", ""])
    return st.tuples(data, name).map(lambda pair: (io.BytesIO(pair[0]), pair[1]))


def _post_data(form: Form):
    """Each field: a generated value, kept as the page had it, or left out."""
    parts = {}
    for name, form_field in form.fields.items():
        if name.endswith("csrf_token"):  # some pages prefix their forms: "hide3-csrf_token"
            continue
        value = _file() if form_field.kind == "file" else _value(form_field)
        kept = st.just(form_field.value)
        parts[name] = st.one_of(value, value, kept, st.none())
    return st.fixed_dictionaries(parts).map(
        lambda data: {k: v for k, v in data.items() if v is not None}
    )


# --- The checks -------------------------------------------------------------------------


def _row_counts() -> dict[str, int]:
    tables = db.metadata.sorted_tables
    counts = sa.select(
        *(sa.select(sa.func.count()).select_from(t).scalar_subquery().label(t.name) for t in tables)
    )
    return dict(db.session.execute(counts).one()._mapping)


VISIBLE_MESSAGE = re.compile(
    r'class="error"|class="error-summary"|class="flash flash-(error|warning)"|<p class="hint">Error \d{3}</p>'
)


def _check(world: World, form: Form, data: dict):
    client, token = world.clients[form.persona], world.tokens[form.persona]
    with world.app.app_context():
        before = _row_counts()
        db.session.rollback()
    tokens = {name: token for name in form.fields if name.endswith("csrf_token")}
    response = client.post(
        form.action,
        data={"csrf_token": token, **tokens, **data},
        content_type="multipart/form-data" if form.multipart else None,
    )
    page = response.get_data(as_text=True)
    assert response.status_code < 500, (response.status_code, data)
    assert "Something went wrong on our side" not in page, data
    if response.status_code in (301, 302, 303):
        return  # accepted (or refused with a message on the next page)
    if (
        form.endpoint in OK_PAGES
        and response.status_code == 200
        and not VISIBLE_MESSAGE.search(page)
    ):
        return  # done, answered with a page, not a redirect (or an import's preview)
    if NOTICES.get(form.endpoint, "\0") in page:
        return
    assert VISIBLE_MESSAGE.search(page), (response.status_code, data, page[:2000])
    with world.app.app_context():
        after = _row_counts()
        db.session.rollback()
    changed = {t: (before[t], after[t]) for t in before if before[t] != after[t]}
    assert not changed, (data, changed)


def _ordered_endpoints() -> list[str]:
    """Every POST endpoint of the app, the ones that remove things last."""
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    endpoints = sorted(
        {
            r.endpoint
            for r in app.url_map.iter_rules()
            if "POST" in r.methods and not r.endpoint.startswith("api.")  # JSON: see below
        }
        - NOT_FORMS
    )
    return sorted(endpoints, key=lambda e: bool(DESTRUCTIVE.search(e.split(".")[-1])))


POST_ENDPOINTS = _ordered_endpoints()
# Offered only through an emailed link: the test builds that link itself.
FROM_EMAIL = {"auth.set_password", "reminders.unsubscribe"}


def test_every_post_route_has_a_form_someone_is_shown(world):
    missing = set(POST_ENDPOINTS) - set(world.forms) - FROM_EMAIL
    assert not missing, f"no page showed a form for: {sorted(missing)}"


def _email_link_form(world: World, endpoint: str) -> Form:
    from mentorship.models import User
    from mentorship.services.auth import make_password_token
    from mentorship.services.outbox import unsubscribe_token

    with world.app.app_context():
        user = db.session.get(User, world.user_ids["pilot2@demo.test"])
        if endpoint == "auth.set_password":
            path = f"/set-password/{make_password_token(user, world.app.config['SECRET_KEY'])}"
        else:
            path = f"/unsubscribe/{unsubscribe_token(user.id, 'checkin_due')}"
    client = world.clients["state@demo.test"]
    page = Forms(path, client.get(path).get_data(as_text=True))
    assert page.forms, f"{path} shows no form"
    form = page.forms[0]
    form.endpoint, form.persona = endpoint, "state@demo.test"
    return form


# What nobody could mean, per kind of field; a field a person types in is left empty.
IMPOSSIBLE = {
    "date": "2026-02-30",
    "number": "twelve",
    "email": "@",
    "url": "javascript:alert(1)",
    "select": "no such choice",
    "radio": "no such choice",
}
PERSON_FILLS = {"text", "textarea", "password", "search", "tel", "file", *IMPOSSIBLE}


def _form_for(world: World, endpoint: str) -> Form:
    form = world.forms.get(endpoint)
    if form is None and endpoint in FROM_EMAIL:
        form = _email_link_form(world, endpoint)
    assert form is not None, f"no page showed a form for {endpoint}"
    return form


def test_every_refused_form_answers_400_and_keeps_what_was_typed(world):
    """The one status for an invalid form: every POST route whose form has something to
    fill in is posted with it empty (or impossible: a 30th of February, letters in a
    number, a choice not offered) and answers 400, with the message on the page, what was
    typed kept and nothing stored. Button-only forms (hidden fields, checkboxes) have
    nothing to get wrong and are left to the test below."""
    checked = []
    for endpoint in POST_ENDPOINTS:
        form = _form_for(world, endpoint)
        filled = {n: f for n, f in form.fields.items() if f.kind in PERSON_FILLS}
        if not filled:
            continue
        data = {n: f.value for n, f in form.fields.items() if n not in filled}
        data.update({n: IMPOSSIBLE.get(f.kind, "") for n, f in filled.items()})
        data = {n: v for n, v in data.items() if not n.endswith("csrf_token")}
        client, token = world.clients[form.persona], world.tokens[form.persona]
        with world.app.app_context():
            before = _row_counts()
            db.session.rollback()
        tokens = {name: token for name in form.fields if name.endswith("csrf_token")}
        response = client.post(
            form.action,
            data={"csrf_token": token, **tokens, **data},
            content_type="multipart/form-data" if form.multipart else None,
        )
        page = response.get_data(as_text=True)
        assert response.status_code == 400, (endpoint, response.status_code, data)
        assert VISIBLE_MESSAGE.search(page), (endpoint, page[:2000])
        for name, form_field in filled.items():
            if form_field.kind in ("date", "number"):
                assert f'value="{data[name]}"' in page, (endpoint, name)  # kept as typed
        with world.app.app_context():
            assert _row_counts() == before, endpoint
            db.session.rollback()
        checked.append(endpoint)
    assert len(checked) >= 30, checked  # the walk found the app's forms


@pytest.mark.parametrize("endpoint", POST_ENDPOINTS)
def test_generated_input_never_breaks_a_form(world, endpoint):
    form = world.forms.get(endpoint)
    if form is None and endpoint in FROM_EMAIL:
        form = _email_link_form(world, endpoint)
    if form is None:
        pytest.fail(f"no page showed a form for {endpoint}")

    @settings(
        max_examples=15,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_post_data(form))
    def posts(data):
        _check(world, form, data)

    posts()


# --- Searches and filters (GET forms), and the JSON API's query parameters ---------------


def _get_check(client, path: str, query: dict, **kwargs):
    response = client.get(path, query_string=query, **kwargs)
    page = response.get_data(as_text=True)
    assert response.status_code < 500, (path, query, response.status_code)
    assert "Something went wrong on our side" not in page, (path, query)
    return response


def _search_examples(client, form: Form):
    @settings(max_examples=8, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(_post_data(form), st.sampled_from(["", "1", "0", "-1", "99999999999", "x"]))
    def searches(query, page):
        response = _get_check(client, form.action, {**query, "page": page})
        if response.status_code >= 400:
            assert VISIBLE_MESSAGE.search(response.get_data(as_text=True)), (form.action, query)

    return searches


def test_generated_searches_and_filters_never_break_a_page(world):
    assert len(world.searches) >= 5, sorted(world.searches)  # the walk found the list pages
    for _, form in sorted(world.searches.items()):
        _search_examples(world.clients[form.persona], form)()


def _api_paths(world) -> list[tuple[str, list[str]]]:
    """Every GET address in the API's own description, with its query parameters."""
    spec = world.clients[ANONYMOUS].get("/api/v1/openapi.json").get_json()
    shared = spec.get("components", {}).get("parameters", {})
    paths = []
    for path, operations in spec["paths"].items():
        get = operations.get("get")
        if get is not None:
            parameters = [
                shared[p["$ref"].rsplit("/", 1)[-1]] if "$ref" in p else p
                for p in get.get("parameters", [])
            ]
            paths.append((path, [p["name"] for p in parameters if p.get("in") == "query"]))
    return paths


IDS = st.one_of(st.integers().map(str), NASTY, st.just("1"))


def _api_examples(client, template: str, names: list[str], headers: dict):
    values = st.fixed_dictionaries(
        {}, optional={name: st.one_of(NASTY, TEXT, IDS) for name in names}
    )

    @settings(
        max_examples=10, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(values, IDS)
    def queries(query, object_id):
        path = "/api/v1" + re.sub(
            r"\{[^}]+\}", lambda _: urllib.parse.quote(object_id, safe=""), template
        )
        response = _get_check(client, path, query, headers=headers)
        if response.status_code == 404 and not response.is_json:
            return  # an id with a "/" or "%" in it: no API address at all, the site's 404
        assert response.mimetype == "application/json", (path, query, response.status_code)
        if response.status_code >= 400:
            assert response.get_json()["error"]["message"], (path, query)

    return queries


def test_generated_api_queries_answer_in_json_never_a_500(world):
    paths = _api_paths(world)
    assert any("per_page" in names for _, names in paths), paths
    # A token of its own: the forms above may have revoked the world's, or deactivated
    # its holder (both are forms too).
    from mentorship.services import api_tokens
    from tests.helpers import make_user

    with world.app.app_context():
        holder = make_user("state", email="api.reader@state.example")
        _, secret = api_tokens.issue_token(holder.id, "Fuzzing", None)
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    signed = world.clients[ANONYMOUS].get("/api/v1/libraries", headers=headers)
    assert signed.status_code == 200 and signed.get_json()  # the token works: past the gate
    for template, names in paths:
        _api_examples(world.clients[ANONYMOUS], template, names, headers)()
