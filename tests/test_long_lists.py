"""Long staff lists come a page at a time, with figures for the whole list above them
and every row in their CSV; each page costs the same few statements whatever the size
of the program (tests/conftest.py sets PER_PAGE to 5)."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import date, timedelta

import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import (
    Agreement,
    AgreementKind,
    AuditEvent,
    Cohort,
    Library,
    Milestone,
    MilestoneComment,
    PairingStatus,
    Participation,
)
from mentorship.services import audit
from mentorship.templating import local_today
from tests.helpers import (
    PASSWORD,
    count_statements,
    make_cohort,
    make_library,
    make_pairing,
    make_participation,
    make_partnership,
    make_pilot,
    make_user,
)


def _staff(client, app):
    with app.app_context():
        make_user("staff", email="staff@lists.example")
    client.login("staff@lists.example", PASSWORD)


def _text(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    return response.get_data(as_text=True)


def _csv_rows(client, path: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(_text(client, path).removeprefix("\ufeff"))))


def _statements(app, client, path: str) -> int:
    with count_statements(app) as seen:
        _text(client, path)
    return len(seen)


def _cells(page: str, text: str) -> int:
    return len(re.findall(rf"<td>\s*{text}\s*</td>", page))


def _links(page: str, argument: str) -> list[str]:
    return [html.unescape(url) for url in re.findall(rf'href="([^"]*{argument}=[^"]*)"', page)]


# A cohort ------------------------------------------------------------------------


def _join(cohort, pilots: int, mentors: int) -> None:
    for _ in range(pilots):
        make_participation(make_library(), cohort, "pilot")
    for _ in range(mentors):
        make_participation(make_library(), cohort, "mentor")


def test_a_cohort_page_shows_one_page_of_libraries_and_counts_them_all(app, client):
    _staff(client, app)
    with app.app_context():
        cohort = make_cohort("Big round")
        _join(cohort, pilots=9, mentors=3)
        cohort_id = cohort.id
    first = _text(client, f"/cohorts/{cohort_id}")
    assert "Page 1 of 3 (12 in all)" in first
    assert re.search(r"<dt>Pilots</dt><dd>9</dd>", first)
    assert re.search(r"<dt>Mentors</dt><dd>3</dd>", first)
    assert first.count("Test Library") == 5
    last = _text(client, f"/cohorts/{cohort_id}?page=3")
    assert last.count("Test Library") == 2
    rows = _csv_rows(client, f"/cohorts/{cohort_id}/libraries.csv")
    assert len(rows) == 1 + 12 and rows[0][0] == "Library"


def test_a_cohort_page_costs_the_same_statements_for_3_or_30_libraries(app, client):
    _staff(client, app)
    with app.app_context():
        cohort = make_cohort()
        _join(cohort, pilots=2, mentors=1)
        cohort_id = cohort.id
    small = _statements(app, client, f"/cohorts/{cohort_id}")
    with app.app_context():
        _join(db.session.get(type(cohort), cohort_id), pilots=20, mentors=7)
    assert _statements(app, client, f"/cohorts/{cohort_id}") == small <= 12


# The pairing board ---------------------------------------------------------------


def _pair(pilot_id: int, mentor_id: int, status=PairingStatus.ACTIVE) -> None:
    make_pairing(
        db.session.get(Participation, pilot_id),
        status,
        start=date(2026, 1, 5) if status == PairingStatus.ACTIVE else None,
        mentor=db.session.get(Participation, mentor_id),
    )


def _board_cohort(pilots: int, mentors: int) -> tuple[int, list[int], list[int]]:
    cohort = make_cohort()
    pilot_ids = [make_participation(make_library(), cohort, "pilot").id for _ in range(pilots)]
    mentor_ids = [make_participation(make_library(), cohort, "mentor").id for _ in range(mentors)]
    return cohort.id, pilot_ids, mentor_ids


def test_the_pairing_board_pages_pilots_and_mentors_and_counts_the_whole_cohort(app, client):
    _staff(client, app)
    with app.app_context():
        cohort_id, pilots, mentors = _board_cohort(pilots=8, mentors=7)
        _pair(pilots[0], mentors[0])
        _pair(pilots[6], mentors[6], PairingStatus.PROPOSED)  # on the second page
        _pair(pilots[7], mentors[6], PairingStatus.PROPOSED)
    board = _text(client, f"/pairings/cohorts/{cohort_id}")
    for label, figure in [
        ("Pilots", 8),
        ("Paired", 1),
        ("Proposed", 2),
        ("Unpaired", 5),
        ("Mentors", 7),
        ("Mentor places used", "3 of 21"),
    ]:
        assert re.search(rf"<dt>{label}</dt><dd>{figure}</dd>", board), label
    assert "Publish 2 proposals" in board  # the proposals of every page
    assert 'aria-label="Pages of pilots"' in board and 'aria-label="Pages of mentors"' in board
    assert board.count("<tr>") == 1 + 5  # the header and one page of pilots
    assert board.count('class="card"') == 5
    second = _text(client, f"/pairings/cohorts/{cohort_id}?page=2&mentors_page=2")
    assert second.count("<tr>") == 1 + 3 and second.count("proposed</span>") == 2
    assert second.count('class="card"') == 2 and "2 of 3 places used" in second
    assert any("mentors_page=1" in url and "page=2" in url for url in _links(second, "page"))


def test_the_pairing_board_costs_the_same_statements_for_3_or_30_libraries(app, client):
    _staff(client, app)
    with app.app_context():
        cohort_id, pilots, mentors = _board_cohort(pilots=2, mentors=1)
        _pair(pilots[0], mentors[0])
    path = f"/pairings/cohorts/{cohort_id}"
    small = _statements(app, client, path)
    with app.app_context():
        cohort = db.session.get(Cohort, cohort_id)
        pilots = [make_participation(make_library(), cohort, "pilot").id for _ in range(18)]
        mentors = [make_participation(make_library(), cohort, "mentor").id for _ in range(9)]
        for pilot_id, mentor_id in zip(pilots[:9], mentors, strict=True):
            _pair(pilot_id, mentor_id, PairingStatus.PROPOSED)
    assert _statements(app, client, path) == small <= 12


# Pilots at risk ------------------------------------------------------------------


def _pilots_at_risk(late: int, calm: int) -> None:
    """`late` pilots a year in (steps late: at risk), `calm` who started last week."""
    today = local_today()
    for _ in range(late):
        make_pilot(start=today - timedelta(days=400))
    for _ in range(calm):
        make_pilot(start=today - timedelta(days=7))


def test_the_at_risk_list_counts_every_pilot_and_explains_one_page(app, client):
    _staff(client, app)
    with app.app_context():
        _pilots_at_risk(late=7, calm=4)
    page = _text(client, "/at-risk")
    figures = dict(
        (label, int(n))
        for n, label in re.findall(
            r'<span class="figure">(\d+)</span>\s*(?:<a [^>]*>|<strong>)([a-z ]+)', page
        )
    )
    assert figures == {"at risk": 7, "needs attention": 0, "on track": 4}
    assert "Page 1 of 3 (11 in all)" in page
    assert _cells(page, "at risk") == 5 and "days late" in page
    last = _text(client, "/at-risk?page=3")
    assert _cells(last, "on track") == 1 and _cells(last, "at risk") == 0
    only = _text(client, "/at-risk?level=on_track")
    assert "(4 in all)" not in only and _cells(only, "on track") == 4  # one page of 4
    rows = _csv_rows(client, "/at-risk?format=csv")
    assert len(rows) == 1 + 11
    assert [row[1] for row in rows[1:]] == ["at risk"] * 7 + ["on track"] * 4
    assert all(row[6] != "—" for row in rows[1:8])  # every at-risk row says why
    assert len(_csv_rows(client, "/at-risk?format=csv&level=on_track")) == 1 + 4


def test_the_at_risk_page_costs_the_same_statements_for_3_or_30_pilots(app, client):
    _staff(client, app)
    with app.app_context():
        _pilots_at_risk(late=2, calm=1)
    small = _statements(app, client, "/at-risk")
    with app.app_context():
        _pilots_at_risk(late=18, calm=9)
    assert _statements(app, client, "/at-risk") == small <= 12


# Agreements expiring -------------------------------------------------------------


def _agreements(n: int, expired: int) -> None:
    today = local_today()
    for i in range(n):
        partnership = make_partnership(make_library())
        expires = today + timedelta(days=(-5 - i) if i < expired else 10 + i)
        db.session.add(
            Agreement(
                partnership_id=partnership.id,
                kind=AgreementKind.MOU,
                effective_on=expires - timedelta(days=365),
                expires_on=expires,
            )
        )
    db.session.commit()


def test_expiring_agreements_come_a_page_at_a_time_with_the_whole_count(app, client):
    _staff(client, app)
    with app.app_context():
        _agreements(7, expired=2)
    page = _text(client, "/agreements/expiring")
    assert "<strong>7 agreements</strong> to renew, <strong>2</strong> already expired" in page
    assert "Page 1 of 2 (7 in all)" in page
    assert page.count("Test Library") == 5
    assert len(_csv_rows(client, "/agreements/expiring?format=csv")) == 1 + 7
    small = _statements(app, client, "/agreements/expiring")
    with app.app_context():
        _agreements(12, expired=4)
    assert _statements(app, client, "/agreements/expiring") == small <= 12


# The audit log -------------------------------------------------------------------


def _events(n: int, kind: str = "Library") -> None:
    for i in range(n):
        db.session.add(
            AuditEvent(
                action="update", object_type=kind, object_id=i, object_label=f"{kind} number {i}"
            )
        )
    db.session.commit()


def _event_ids(page: str) -> list[str]:
    return re.findall(r"‘(?:Library|Cohort) number (\d+)’", page)


def test_the_audit_log_pages_older_and_newer_through_every_change_once(app, client):
    _staff(client, app)
    with app.app_context():
        _events(23)
        newest_first = [
            str(event.object_id)
            for event in db.session.scalars(audit.log_query(kind="Library")).all()
        ]
    path, seen, pages = "/audit/?type=Library", [], []
    while path:
        page = _text(client, path)
        pages.append(path)
        seen += _event_ids(page)
        older = _links(page, "older_than")
        path = older[0] if older else None
    assert seen == newest_first and len(pages) == 3  # 10 a page, none twice, none lost
    assert "in all" not in page  # no count of the whole log
    newer = _links(page, "newer_than")
    assert _event_ids(_text(client, newer[0])) == newest_first[10:20]
    assert "type=Library" in newer[0]  # the filter is kept
    rows = _csv_rows(client, "/audit/?format=csv&type=Library")
    assert len(rows) == 1 + 23


def test_the_audit_log_lists_kinds_and_costs_the_same_statements_however_long(app, client):
    _staff(client, app)
    with app.app_context():
        _events(3)
        _events(2, kind="Cohort")
    page = _text(client, "/audit/")
    assert '<option value="Cohort">' in page and '<option value="Library">' in page
    small = _statements(app, client, "/audit/")
    with app.app_context():
        _events(40)
    assert _statements(app, client, "/audit/") == small <= 12
    older = _links(_text(client, "/audit/"), "older_than")[0]
    assert _statements(app, client, older) == small


# Home pages and timelines of librarians ----------------------------------------------


def _mentee(mentor_library_id: int, comments: int = 1) -> int:
    """A pilot (own cohort, milestones, `comments` of them commented) mentored by the
    library `mentor_library_id`."""
    pilot = make_pilot()
    mentor = make_participation(db.session.get(Library, mentor_library_id), pilot.cohort, "mentor")
    _pair(pilot.id, mentor.id)
    _comment(pilot.id, comments)
    return pilot.id


def _comment(participation_id: int, milestones: int) -> None:
    author = make_user("staff")
    for milestone in db.session.scalars(
        sa.select(Milestone).where(Milestone.participation_id == participation_id)
    ).all()[:milestones]:
        db.session.add(MilestoneComment(milestone_id=milestone.id, author_id=author.id, body="ok"))
    db.session.commit()


def test_librarians_pages_cost_the_same_statements_however_many_mentees_and_steps(app, client):
    with app.app_context():
        berkeley = make_library("Berkeley Public Library").id
        first = _mentee(berkeley)
        pilot_library = db.session.get(Participation, first).library_id
        make_user("pilot", db.session.get(Library, pilot_library), email="p@lists.example")
        make_user("mentor", db.session.get(Library, berkeley), email="m@lists.example")
    pages = ["/", f"/participations/{first}/timeline"]

    def statements(email: str) -> list[int]:
        client.login(email, PASSWORD)
        counts = [_statements(app, client, path) for path in pages]
        client.submit("/logout")
        return counts

    before = {email: statements(email) for email in ("p@lists.example", "m@lists.example")}
    with app.app_context():
        _mentee(berkeley, comments=4)
        _mentee(berkeley, comments=6)
        make_partnership(db.session.get(Library, pilot_library))  # more steps
        _comment(first, milestones=8)
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Milestone.participation_id == first))
            > 10
        )
    after = {email: statements(email) for email in before}
    assert after == before
    assert max(max(counts) for counts in before.values()) <= 12
