"""The statewide rollup: every figure against a small data set worked out by hand."""

from __future__ import annotations

import csv
import io
import pickle
import uuid
from datetime import date

import pytest
import redis

from mentorship import caching, create_app
from mentorship.extensions import cache, db
from mentorship.models import CardModel, Enrolment
from mentorship.services import rollup
from mentorship.services.risk import RiskSettings, assess_pilots
from mentorship.services.rollup import RollupFilter, SchoolYear
from tests.conftest import Browserless
from tests.helpers import (
    PASSWORD,
    count_statements,
    load_demo,
    make_cohort,
    make_district,
    make_library,
    make_participation,
    make_partnership,
    make_report,
    make_user,
)

TODAY = date(2026, 11, 25)
REDIS_URL = "redis://127.0.0.1:6379/0"
SETTINGS = RiskSettings()


def _report(partnership, start, end, enrolled, physical, digital, using=None):
    make_report(partnership, start, end, enrolled, physical, digital, using)


@pytest.fixture
def program(ctx):
    """Two cohorts, three libraries in them, one outside; four partnerships.

    L1 pilot (cohort A, Alameda): D1 1,000 students, reports 400 cards (2025-26) and
      100 cards (to Oct 2026, 1,100 enrolled); D2 500 students, no report yet.
    L2 mentor (cohort A, Fresno): D3 2,000 students, 1,500 cards to June 2025.
    L3 pilot (cohort B, Fresno): no partnerships.
    L4 (no cohort, Alameda): D4 with 999 cards, which must count nowhere.
    """
    a = make_cohort("Cohort A", start_date=date(2025, 9, 1), end_date=date(2027, 8, 31))
    b = make_cohort("Cohort B", start_date=date(2026, 9, 1), end_date=date(2028, 8, 31))
    l1 = make_library(
        "Library One", county="Alameda", cooperative_system="Pacific Library Partnership"
    )
    l2 = make_library("Library Two", county="Fresno", cooperative_system="San Joaquin Valley")
    l3 = make_library("Library Three", county="Fresno", cooperative_system="San Joaquin Valley")
    l4 = make_library(
        "Library Four", county="Alameda", cooperative_system="Pacific Library Partnership"
    )
    make_participation(l1, a, "pilot")
    make_participation(l2, a, "mentor")
    make_participation(l3, b, "pilot")
    d1 = make_partnership(l1, make_district("D1", students_enrolled=1000))
    make_partnership(l1, make_district("D2", students_enrolled=500))
    d3 = make_partnership(l2, make_district("D3", county="Fresno", students_enrolled=2000))
    d4 = make_partnership(l4, make_district("D4", students_enrolled=5000))
    d1.card_model, d1.enrolment = CardModel.FULL, Enrolment.OPT_OUT
    d3.card_model, d3.enrolment = CardModel.DIGITAL_ONLY, Enrolment.OPT_IN
    d1.notes, d1.contact_email = "SECRET-NOTE about the superintendent", "secret.contact@d1.example"
    db.session.commit()
    _report(d1, date(2025, 8, 1), date(2026, 6, 30), 1000, 100, 300, using=150)
    _report(d1, date(2026, 7, 1), date(2026, 10, 31), 1100, 0, 100, using=200)
    _report(d3, date(2025, 1, 1), date(2025, 6, 30), 2000, 1500, 0)
    _report(d4, date(2025, 8, 1), date(2026, 6, 30), 5000, 999, 0)
    return {"l1": l1, "l2": l2, "l3": l3, "l4": l4, "a": a, "b": b, "d1": d1}


def _by_key(rows):
    return {row.key: (row.partnerships, row.reporting, row.enrolled, row.cards) for row in rows}


def test_every_figure_of_the_whole_program(program):
    figures = rollup.compute(RollupFilter(), TODAY, SETTINGS)
    assert [(c.cohort, c.pilots, c.mentors, c.libraries) for c in figures.cohorts] == [
        ("Cohort B", 1, 0, 1),
        ("Cohort A", 1, 1, 2),
    ]
    assert figures.libraries == 3  # Library Four has no place in a cohort
    assert dict(figures.timeline) == {
        "Months 0–6": 1,  # L3, month 2
        "Months 7–12": 0,
        "Months 13–18": 1,  # L1, month 14: named by time, it has not necessarily issued cards
        "Months 19–24": 0,
        "Past 24 months": 0,
    }
    assert sum(n for _, n in figures.risk) == 2
    assert [(s.stage, s.partnerships) for s in figures.stages][0] == ("Contacted", 3)
    assert sum(s.partnerships for s in figures.stages) == 3
    # Pilots (the programme): D1 latest enrolment 1,100, 500 cards since L1 joined on
    # Sep 1, 2025 (the first report straddles that day, so it counts); D2 500 on record.
    total = figures.total
    assert (total.partnerships, total.reporting, total.enrolled, total.cards) == (2, 1, 1600, 500)
    assert (total.programme_cards, total.baseline_cards) == (500, 0)
    assert total.programme_coverage == pytest.approx(500 / 1600)
    # The mentor's existing programme (D3: 2,000 students, 1,500 cards) is apart.
    existing = figures.existing
    assert (existing.partnerships, existing.enrolled, existing.cards) == (1, 2000, 1500)
    assert existing.programme_cards == 0
    assert _by_key(figures.coverage["county"]) == {"Alameda": (2, 1, 1600, 500)}
    assert _by_key(figures.coverage["system"]) == {"Pacific Library Partnership": (2, 1, 1600, 500)}
    assert _by_key(figures.coverage["cohort"]) == {"Cohort A": (2, 1, 1600, 500)}
    assert _by_key(figures.coverage["card_model"]) == {
        "full": (1, 1, 1100, 500),
        "not recorded": (1, 0, 500, 0),
    }
    assert _by_key(figures.coverage["enrolment"]) == {
        "not recorded": (1, 0, 500, 0),
        "opt-out": (1, 1, 1100, 500),
    }
    assert [(q.label, q.cards, q.cards_to_date) for q in figures.quarters] == [
        ("2026 Q2", 400, 400),
        ("2026 Q4", 100, 500),
    ]
    counties = {c.county: c for c in figures.counties}
    assert len(counties) == 58
    assert (counties["Fresno"].pilots, counties["Fresno"].mentors) == (1, 1)
    assert counties["Alameda"].coverage == pytest.approx(500 / 1600)
    assert counties["Napa"].coverage is None


def test_a_school_year_counts_the_reports_that_end_in_it(program):
    figures = rollup.compute(RollupFilter(year=SchoolYear(2025)), TODAY, SETTINGS)
    # D1: the 2025-26 report (1,000 enrolled, 400 cards); D2 and D3: nothing in the year.
    total = figures.total
    assert (total.partnerships, total.reporting, total.enrolled, total.cards) == (2, 1, 1500, 400)
    assert (figures.existing.enrolled, figures.existing.cards) == (2000, 0)
    assert [(q.label, q.cards) for q in figures.quarters] == [("2026 Q2", 400)]


def test_filters_narrow_every_figure(program):
    fresno = rollup.compute(RollupFilter(county="Fresno"), TODAY, SETTINGS)
    assert [(c.cohort, c.pilots, c.mentors) for c in fresno.cohorts] == [
        ("Cohort B", 1, 0),
        ("Cohort A", 0, 1),
    ]
    # Fresno's pilot (L3) has no partners yet; its mentor's cards are its existing programme.
    assert fresno.total is None
    assert (fresno.existing.enrolled, fresno.existing.cards) == (2000, 1500)
    cohort_b = rollup.compute(RollupFilter(cohort_id=program["b"].id), TODAY, SETTINGS)
    assert cohort_b.libraries == 1 and cohort_b.total is None
    system = rollup.compute(RollupFilter(system="Pacific Library Partnership"), TODAY, SETTINGS)
    assert (system.total.partnerships, system.total.cards) == (2, 500)


def test_the_annual_report_follows_its_period_rules(program):
    l1 = program["l1"]
    d1 = program["d1"]
    # A report from May to August 2026 ends in 2026-27 and began in 2025-26.
    _report(d1, date(2026, 5, 1), date(2026, 8, 31), 1050, 0, 30, using=180)
    rows = {r.district: r for r in rollup.annual_report(SchoolYear(2025), library_id=l1.id)}
    assert set(rows) == {"D1", "D2"}
    d1_row = rows["D1"]
    assert (
        d1_row.students_enrolled,
        d1_row.cards_issued_in_year,
        d1_row.students_with_cards,
        d1_row.students_using_cards,
        d1_row.reports_in_year,
        d1_row.reports_spanning_years,
    ) == (1000, 400, 400, 150, 1, 0)
    # No report in the year: the district's enrolment on record (services.figures).
    assert (rows["D2"].students_enrolled, rows["D2"].cards_issued_in_year) == (500, 0)

    later = {r.district: r for r in rollup.annual_report(SchoolYear(2026), library_id=l1.id)}
    d1_later = later["D1"]
    # Reports ending Aug 31 and Oct 31 2026 are in 2026-27: 30 + 100 cards; 530 to date;
    # the latest (Oct 31) gives the enrolment; usage is the largest single count, not a sum.
    assert (
        d1_later.students_enrolled,
        d1_later.cards_issued_in_year,
        d1_later.students_with_cards,
        d1_later.students_using_cards,
        d1_later.reports_in_year,
        d1_later.reports_spanning_years,
    ) == (1100, 130, 530, 200, 2, 1)
    totals = rollup.annual_totals(list(later.values()))
    assert (totals.cards_issued_in_year, totals.students_with_cards) == (130, 530)


def test_school_years_read_and_write_their_key():
    assert SchoolYear.parse("2025-26") == SchoolYear(2025)
    assert SchoolYear.parse("2025-27") is None and SchoolYear.parse("junk") is None
    assert SchoolYear.of(date(2026, 6, 30)) == SchoolYear(2025)
    assert SchoolYear.of(date(2026, 7, 1)) == SchoolYear(2026)
    assert (SchoolYear(2025).first_day, SchoolYear(2025).last_day) == (
        date(2025, 7, 1),
        date(2026, 6, 30),
    )


def test_risk_levels_are_the_at_risk_lists(ctx):
    """The rollup counts levels with the same rules as the at-risk list, from grouped facts."""

    load_demo(TODAY)
    db.session.commit()
    expected = {r.participation.id: r.level for r in assess_pilots(TODAY, SETTINGS)}
    statuses = rollup.pilot_statuses(RollupFilter(), TODAY, SETTINGS)
    assert {s.participation_id: s.level for s in statuses} == expected
    assert len(set(expected.values())) >= 2  # the demo has pilots at more than one level


def _grow(n: int) -> None:
    cohort = make_cohort()
    for _ in range(n):
        library = make_library(county="Kern", cooperative_system="San Joaquin Valley")
        make_participation(library, cohort, "pilot")
        partnership = make_partnership(library, make_district(students_enrolled=100))
        _report(partnership, date(2025, 8, 1), date(2026, 6, 30), 100, 10, 10)


def test_the_rollup_runs_the_same_statements_however_large_the_program(app, program):
    def statements() -> int:
        with count_statements(app) as seen:
            rollup.compute(RollupFilter(), TODAY, SETTINGS)
        return len(seen)

    small = statements()
    _grow(6)
    assert statements() == small
    assert small <= 8


def _state_client(client):
    make_user("state", email="state@example.org")
    client.login("state@example.org", PASSWORD)
    return client


def test_state_officials_read_the_rollup_and_its_drill_downs(app, client, program):
    with app.app_context():
        l1_id = program["l1"].id
    _state_client(client)
    pages = [
        "/rollup/",
        "/rollup/?county=Fresno",
        "/rollup/?system=San+Joaquin+Valley&year=2025-26",
        f"/rollup/?cohort={program['a'].id}",
        "/rollup/libraries",
        f"/rollup/libraries/{l1_id}",
        "/rollup/annual-report?year=2025-26",
        f"/rollup/libraries/{l1_id}/annual-report?year=2025-26",
    ]
    for page in pages:
        response = client.client.get(page)
        assert response.status_code == 200, page
        text = response.get_data(as_text=True)
        assert "SECRET-NOTE" not in text and "secret.contact@d1.example" not in text, page
    page = client.client.get("/rollup/").get_data(as_text=True)
    assert "Statewide rollup" in page and "1,600" in page and "31.2%" in page
    assert "Mentor libraries, existing programmes" in page and "75.0%" in page
    assert 'role="img"' in page and "<title" in page  # charts and map are accessible SVG
    library = client.client.get(f"/rollup/libraries/{l1_id}").get_data(as_text=True)
    assert "D1" in library and "Contacted" in library


def test_unknown_filter_values_are_named_and_left_out(client, program):
    _state_client(client)
    response = client.client.get("/rollup/?county=Atlantis&cohort=abc&year=1999-01")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "“Atlantis” is not a county" in text and "“abc” is not a cohort" in text
    assert "The whole program" in text


def _csv(response):
    assert response.status_code == 200 and response.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def test_every_rollup_table_downloads_as_csv_with_the_filter(app, client, program):
    _state_client(client)
    counties = _csv(client.client.get("/rollup/counties.csv"))
    assert counties[0][0] == "County" and len(counties) == 59
    alameda = next(row for row in counties if row[0] == "Alameda")
    assert alameda[1:-1] == ["1", "0", "2", "1600", "500", "31.2"]
    # Fresno's only pilot has no partners; its mentor's cards are an existing programme.
    assert _csv(client.client.get("/rollup/coverage-system.csv?county=Fresno"))[1:] == []
    existing = _csv(client.client.get("/rollup/coverage-existing.csv?county=Fresno"))
    assert [row[:-1] for row in existing[1:]] == [
        ["Mentor and sustaining libraries", "1", "1", "2000", "1500", "75.0"]
    ]
    for name in (
        "cohorts",
        "timeline",
        "risk",
        "stages",
        "quarters",
        "coverage-cohort",
        "coverage-card_model",
        "coverage-enrolment",
        "coverage-fine_free",
    ):
        assert len(_csv(client.client.get(f"/rollup/{name}.csv"))) >= 2, name
    assert client.client.get("/rollup/nothing.csv").status_code == 404
    libraries = _csv(client.client.get("/rollup/libraries?format=csv"))
    assert [row[0] for row in libraries[1:]] == ["Library One", "Library Three", "Library Two"]
    with app.app_context():
        l1_id = program["l1"].id
    report = _csv(
        client.client.get(f"/rollup/libraries/{l1_id}/annual-report?year=2025-26&format=csv")
    )
    assert report[0][:3] == ["School year", "Library", "School district"]
    assert report[1][:7] == ["2025-26", "Library One", "D1", "", "1000", "400", "400"]
    statewide = _csv(client.client.get("/rollup/annual-report?year=2025-26&format=csv"))
    assert {row[2] for row in statewide[1:]} == {"D1", "D2", "D3"}  # D4's library is not in


def test_librarians_get_no_rollup_but_their_own_annual_report(app, client, program):
    with app.app_context():
        l1_id, l2_id = program["l1"].id, program["l2"].id
        make_user("pilot", library=program["l1"], email="pilot@example.org")
    client.login("pilot@example.org", PASSWORD)
    for page in (
        "/rollup/",
        "/rollup/libraries",
        f"/rollup/libraries/{l1_id}",
        "/rollup/counties.csv",
        "/rollup/annual-report",
    ):
        assert client.client.get(page).status_code == 403, page
    assert client.client.get(f"/rollup/libraries/{l1_id}/annual-report").status_code == 200
    own_page = client.client.get(f"/libraries/{l1_id}").get_data(as_text=True)
    assert f"/rollup/libraries/{l1_id}/annual-report" in own_page
    assert client.client.get(f"/rollup/libraries/{l2_id}/annual-report").status_code == 404


def test_signed_out_people_are_sent_to_sign_in(client):
    response = client.client.get("/rollup/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_rollup_page_runs_the_same_statements_however_large_the_program(app, client, program):
    _state_client(client)

    def statements(path: str) -> int:
        with count_statements(app) as seen:
            assert client.client.get(path).status_code == 200
        return len(seen)

    pages = ["/rollup/", "/rollup/libraries", "/rollup/annual-report"]
    before = {page: statements(page) for page in pages}
    with app.app_context():
        _grow(7)
    assert {page: statements(page) for page in pages} == before
    assert max(before.values()) <= 12


def test_the_api_gives_the_same_rollup_and_matches_its_document(app, program):
    from tests.test_api import Api, issue

    with app.app_context():
        api = Api(app, issue(make_user("state", email="data.team@example.org")))
    figures = api.get("/api/v1/rollup").get_json()["data"]  # checked against the document
    total = figures["coverage"]["total"][0]
    assert (total["partnerships"], total["students_enrolled"], total["cards_since_joining"]) == (
        2,
        1600,
        500,
    )
    existing = figures["coverage"]["existing"][0]
    assert (existing["cards_to_date"], existing["cards_since_joining"]) == (1500, 0)
    assert figures["libraries"] == 3 and figures["pilots"] == 2
    assert [q["cards_since_joining_to_date"] for q in figures["quarters"]] == [400, 500]
    fresno = api.get("/api/v1/rollup?county=fresno&year=2024-25").get_json()["data"]
    assert fresno["filter"] == {
        "cohort_id": None,
        "county": "Fresno",
        "system": None,
        "year": "2024-25",
    }
    assert fresno["coverage"]["total"] == []  # Fresno's pilot has no partners
    assert fresno["coverage"]["existing"][0]["cards_to_date"] == 1500
    for bad in ("county=Atlantis", "year=2024-26", "system=Nowhere", "cohort_id=0"):
        response = api.get(f"/api/v1/rollup?{bad}")
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["message"]
    nobody = api.get("/api/v1/rollup?cohort_id=999999").get_json()["data"]
    assert nobody["libraries"] == 0 and nobody["coverage"]["total"] == []
    assert api.get("/api/v1/rollup", token=None).status_code == 401
    odd = api.get("/api/v1/libraries?per_page=1&_method=POST&library_id=2")
    assert odd.status_code == 200 and "_method" not in (odd.get_json()["next"] or "")
    assert not any("SECRET-NOTE" in body for body in api.bodies)


def _caching_app(app, **settings):
    """Another web process on the same database, with the figures cache on."""
    return create_app(
        {
            **app.config,
            "ROLLUP_CACHE_SECONDS": 60,
            "ROLLUP_CACHE_URL": "",
            "RATELIMIT_KEY_PREFIX": f"mentorship-test-{uuid.uuid4().hex[:8]}",
            **settings,
        }
    )


def test_with_a_cache_url_every_web_process_shares_the_figures(app, program):
    """Two apps on the same Redis stand for two gunicorn workers: one computes."""
    first = _caching_app(app, ROLLUP_CACHE_URL=REDIS_URL)
    second = _caching_app(
        app, ROLLUP_CACHE_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=first.config["RATELIMIT_KEY_PREFIX"]
    )
    prefix = first.config["RATELIMIT_KEY_PREFIX"] + ":figures:"
    made = []

    def make(county):
        def compute():
            made.append(county)
            return rollup.compute(RollupFilter(county=county), TODAY, SETTINGS)

        return compute

    def figures(worker, county):
        with worker.app_context():
            key = caching.rollup_key(RollupFilter(county=county), TODAY, SETTINGS)
            return caching.remembered(key, rollup.RollupFigures, make(county))

    server = redis.Redis.from_url(REDIS_URL)
    try:
        fresno = figures(first, "Fresno")
        assert figures(second, "Fresno") == fresno == figures(first, "Fresno")
        assert made == ["Fresno"]  # computed once, read by the other "worker"
        counties = {c.county: c for c in fresno.counties}
        assert fresno.filter.county == "Fresno" and counties["Fresno"].mentors == 1
        assert figures(second, "Alameda").total.programme_cards == 500
        assert made == ["Fresno", "Alameda"]  # another filter is another entry
        # What Redis holds is JSON with a MAC in front, never a pickle.
        names = list(server.scan_iter(f"{prefix}*"))
        assert len(names) == 2
        stored = server.get(names[0])
        assert stored[32:].startswith(b"{") and b"pickle" not in stored
        # A value written by anyone without the SECRET_KEY is a miss: computed afresh.
        for name in names:
            server.set(name, pickle.dumps({"forged": True}), ex=60)
        assert figures(second, "Fresno") == fresno
        assert made == ["Fresno", "Alameda", "Fresno"]
        # A Redis server that cannot be reached costs the cache, not the page.
        gone = _caching_app(app, ROLLUP_CACHE_URL="redis://127.0.0.1:9/0")
        assert figures(gone, "Fresno") == fresno
    finally:
        for name in server.scan_iter(f"{prefix}*"):
            server.delete(name)


def test_the_rollup_page_is_drawn_once_per_filter_while_it_is_kept(app, program):
    worker = _caching_app(app)
    with worker.app_context():
        make_user("state", email="state@example.org")
    client = Browserless(worker.test_client())
    client.login("state@example.org", PASSWORD)
    first = client.get("/rollup/?county=Alameda").get_data(as_text=True)
    with count_statements(worker) as statements:
        again = client.get("/rollup/?county=Alameda").get_data(as_text=True)
    assert again == first
    assert len(statements) <= 2  # the signed-in person only: figures and page are kept
    with worker.app_context():
        db.engine.dispose()


def test_without_a_cache_url_each_process_keeps_its_figures_as_json(app, program):
    worker = _caching_app(app)
    made = []

    def ranked():
        made.append(1)
        return rollup.active_cohorts()

    with worker.app_context():
        key = caching.cohorts_key(TODAY)
        kept = caching.remembered(key, list[rollup.CohortChoice], ranked)
        assert caching.remembered(key, list[rollup.CohortChoice], ranked) == kept
        assert [c.name for c in kept] == ["Cohort B", "Cohort A"] and made == [1]
        backend = worker.extensions["cache"][cache]
        assert all(isinstance(v, bytes) for _, v in backend._cache.values())
    with app.app_context():  # the tests' own app keeps nothing (ROLLUP_CACHE_SECONDS = 0)
        caching.remembered(key, list[rollup.CohortChoice], ranked)
        caching.remembered(key, list[rollup.CohortChoice], ranked)
        assert made == [1, 1, 1]


def test_a_library_counts_once_whatever_its_places(program):
    l2 = program["l2"]  # a mentor in cohort A
    make_participation(l2, program["b"], "pilot")  # …and a pilot in cohort B
    make_participation(make_library(county="Kern"), program["b"], "sustaining")
    figures = rollup.compute(RollupFilter(), TODAY, SETTINGS)
    assert figures.libraries == 4  # L1, L2, L3 and the sustaining one


def test_odd_query_arguments_never_break_a_page(app, client, program):
    _state_client(client)
    with app.app_context():
        l1_id = program["l1"].id
    for path in (
        "/rollup/libraries?library_id=3&name=x",
        "/rollup/libraries?_method=POST&_external=1",
        f"/rollup/libraries/{l1_id}?library_id=2&name=x",
        f"/rollup/libraries/{l1_id}/annual-report?library_id=2&_method=POST",
        "/rollup/annual-report?_method=POST&page=1",
        "/libraries/?_method=POST",
    ):
        assert client.client.get(path).status_code in (200, 403), path
