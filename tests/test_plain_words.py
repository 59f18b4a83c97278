"""The product in plain words: the audit log's sentences, plural forms, "Starts …", the
role badge, a mentor's home, search snippets, "figures as of", and the small frictions
(signed in after setting a password, "Mark done" asks for the day, counties as links)."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import (
    AuditEvent,
    Cohort,
    Library,
    Milestone,
    MilestoneStatus,
    Participation,
)
from mentorship.services import audit_words, toolkit
from mentorship.services.words import plural
from tests.helpers import (
    PASSWORD,
    make_cohort,
    make_library,
    make_pairing,
    make_participation,
    make_pilot,
    make_user,
)

# What a sentence must never show: model and column names, raw ids, Python's None.
DEVELOPER_WORDS = re.compile(
    r"ApiToken|MilestoneTemplate|TemplateStep|SchoolDistrict|CommitmentLetter|Participation\b"
    r"|\bUser \d|_id\b|\bNone\b|library_id|cohort_id|[a-z]+_[a-z]+"
)
AT = datetime(2026, 12, 2, 0, 30, tzinfo=UTC)  # 4:30 PM on Dec 1 in California


def _event(actor, action, kind, obj_id, label, changes, library_id=None):
    event = AuditEvent(
        at=AT, actor_id=actor.id if actor else None, action=action, object_type=kind,
        object_id=obj_id, object_label=label, library_id=library_id, changes=changes,
    )  # fmt: skip
    db.session.add(event)
    db.session.flush()
    return event


def _sentences(*events):
    said = audit_words.sentences(events, "America/Los_Angeles")
    return {e.id: s for e, s in zip(events, said, strict=True)}


def test_the_audit_log_speaks_in_sentences_for_each_kind_of_change(ctx):
    hayward = make_library("Hayward Public Library")
    priya = make_user("pilot", hayward, name="Priya Raman")
    dana = make_user("staff", name="Dana Whitfield")
    year1 = make_cohort("Year 1")
    place = make_participation(hayward, year1)
    events = [
        _event(priya, "update", "Milestone", 5, "Commitment letter signed",
               {"status": ["in progress", "done"], "done_on": [None, "2026-11-20"]}, hayward.id),
        _event(dana, "update", "User", 7, "User 7",
               {"library_id": [None, hayward.id], "role": ["mentor", "pilot"]}),
        _event(dana, "create", "ApiToken", 3, "CDE dashboard", {"name": [None, "CDE dashboard"]}),
        _event(dana, "publish", "MilestoneTemplate", 2, "Milestone plan version 2",
               {"apply_to_running": [None, True]}),
        _event(dana, "update", "Participation", place.id, f"Participation {place.id}",
               {"cohort_id": [None, year1.id], "start_date": ["2025-09-01", "2025-10-01"]}),
        _event(None, "done: stage ‘Meeting held’ reached on Nov 10, 2026", "Milestone", 6,
               "First meeting held (Hayward Unified)",
               {"status": ["not started", "done"]}, hayward.id),
        _event(dana, "deactivate", "Library", hayward.id, "Hayward Public Library",
               {"active": [True, False]}),
        _event(priya, "update", "ActionItem", 9, "Send the MOU draft", {"done": [False, True]}),
    ]  # fmt: skip
    said = _sentences(*events)
    texts = [said[e.id].text for e in events]
    assert texts[0] == (
        "Priya Raman (Hayward Public Library) marked ‘Commitment letter signed’ done on Nov 20, 2026"
    )
    assert texts[1] == (
        "Dana Whitfield (program staff) changed a person: library set to "
        "Hayward Public Library; role from ‘mentor’ to ‘pilot’"
    )
    assert texts[2] == "Dana Whitfield (program staff) added the API token ‘CDE dashboard’"
    assert texts[3] == "Dana Whitfield (program staff) published the milestone plan version 2"
    assert "cohort set to Year 1" in texts[4] and "from Sep 1, 2025 to Oct 1, 2025" in texts[4]
    assert texts[5].startswith(
        "‘First meeting held (Hayward Unified)’ was done by itself: stage ‘Meeting held’"
    )
    assert (
        texts[6]
        == "Dana Whitfield (program staff) deactivated the library ‘Hayward Public Library’"
    )
    assert (
        texts[7]
        == "Priya Raman (Hayward Public Library) ticked the action item ‘Send the MOU draft’ done"
    )
    for text in texts:
        assert not DEVELOPER_WORDS.search(text), text
    # Times in the program's time zone.
    assert said[events[0].id].when == "Dec 1, 2026 4:30 PM PST"


def test_the_audit_page_and_csv_give_words_and_keep_the_machine_columns(client, app):
    with app.app_context():
        make_user("staff", email="dana@words.example", name="Dana Whitfield")
    client.login("dana@words.example", PASSWORD)
    client.submit("/cohorts/new", {"name": "Year 3", "start_date": "2027-09-01",
                                   "end_date": "2029-08-31", "active": "y"})  # fmt: skip
    page = client.get("/audit/").get_data(as_text=True)
    assert "Dana Whitfield (program staff) added the cohort ‘Year 3’" in page
    assert ">Cohort</option>" in page  # the kinds by their names in words
    with app.app_context():  # a change naming another record: looked up while streaming
        hayward = make_library("Hayward Public Library")
        _event(None, "update", "User", 99, "Ana Souza", {"library_id": [None, hayward.id]})
        db.session.commit()
    rows = list(csv.reader(io.StringIO(client.get("/audit/?format=csv").data.decode("utf-8-sig"))))
    header = rows[0]
    assert any("library set to Hayward Public Library" in row[1] for row in rows[1:])
    assert header[:2] == ["When", "What happened"]
    for machine in (
        "At (UTC)",
        "Person id",
        "Action",
        "Record kind",
        "Record id",
        "Changes (JSON)",
    ):
        assert machine in header
    row = next(r for r in rows[1:] if "Year 3" in r[1])
    assert row[header.index("Record kind")] == "Cohort" and row[header.index("Action")] == "create"
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", row[header.index("At (UTC)")])


def test_plural_forms():
    assert plural(1, "proposal") == "1 proposal"
    assert plural(2, "proposal") == "2 proposals"
    assert plural(0, "day") == "0 days"
    assert plural(1, "library") == "1 library" and plural(3, "library") == "3 libraries"
    assert plural(2, "running pilot") == "2 running pilots"
    assert plural(1, "person") == "1 person" and plural(2, "person") == "2 people"
    assert plural(1200, "card") == "1,200 cards"


def test_publishing_one_proposal_says_one_proposal(client, app):
    with app.app_context():
        pilot = make_pilot()
        make_pairing(pilot, status="proposed")
        cohort_id = pilot.cohort_id
        make_user("staff", email="dana@words.example")
    client.login("dana@words.example", PASSWORD)
    page = client.get(f"/pairings/cohorts/{cohort_id}").get_data(as_text=True)
    assert "Publish 1 proposal<" in page or "Publish 1 proposal" in page
    assert "1 proposals" not in page


def test_a_future_start_reads_starts_and_a_mentor_home_speaks_of_mentees_months(client, app):
    with app.app_context():
        pilot = make_pilot(start=date(2025, 9, 1))
        pairing = make_pairing(pilot, start=date(2025, 10, 1))
        mentor_library = db.session.get(Participation, pairing.mentor_participation_id).library
        # A pilot account at a library that mentors in this cohort.
        make_user("pilot", mentor_library, email="mentor@words.example")
        later = make_cohort("Year 9", start_date=date(2099, 9, 1), end_date=date(2101, 8, 31))
        make_participation(mentor_library, later, "mentor")
    client.login("mentor@words.example", PASSWORD)
    home = client.get("/").get_data(as_text=True)
    assert '<span class="role-badge">mentor</span>' in home  # what the library does
    assert "Starts Sep 1, 2099" in home
    assert "mentees' months" in home and "of the 18-month target" not in home


def test_search_snippets_show_words_never_markdown_or_tags(tmp_path):
    (tmp_path / "downloads").mkdir()
    (tmp_path / "cards.md").write_text(
        "---\ntitle: Cards\nsection: Getting started\nsummary: About cards.\n---\n"
        "## Virtual cards\n\nA **virtual** card uses the [student ID](https://example.org/id) "
        "and <b>no</b> `fines` at all.\n\n| model | cost |\n|---|---|\n| virtual | none |\n"
    )
    [hit] = toolkit.search(tmp_path, "virtual")
    text = str(hit.snippet)
    for raw in ("**", "](", "<b>", "&lt;b&gt;", "`", "|", "##", "https://"):
        assert raw not in text, raw
    assert "<mark>virtual</mark>" in text.lower() or "<mark>Virtual</mark>" in text


def test_setting_a_password_from_an_invitation_signs_the_person_in(client, app, mailbox):
    with app.app_context():
        make_user("staff", email="dana@words.example")
    client.login("dana@words.example", PASSWORD)
    client.submit("/people/new", {"name": "Ana Souza", "email": "ana@library.example",
                                  "role": "state", "library_id": "None"})  # fmt: skip
    client.submit("/logout")
    body = mailbox.messages[-1].get_payload(decode=True).decode()
    path = re.search(r"https://ssi.example(/set-password/\S+)", body).group(1)
    done = client.submit(path, {"password": "reading is for everyone",
                                "confirm": "reading is for everyone"})  # fmt: skip
    assert done.status_code == 302 and done.location.endswith("/")
    home = client.get("/").get_data(as_text=True)
    assert "Ana Souza" in home and "signed in" in home  # no second sign-in


def test_the_printed_rollup_and_every_csv_say_when_the_figures_were_taken(client, app):
    with app.app_context():
        make_user("state", email="state@words.example")
        make_user("staff", email="staff@words.example")
    client.login("state@words.example", PASSWORD)
    page = client.get("/rollup/").get_data(as_text=True)
    assert re.search(r"Figures as of [A-Z][a-z]{2} \d{1,2}, \d{4} \d{1,2}:\d\d [AP]M P[SD]T", page)
    rows = list(
        csv.reader(io.StringIO(client.get("/rollup/counties.csv").data.decode("utf-8-sig")))
    )
    assert rows[0][-1] == "Figures as of"
    stamp = rows[1][-1]
    assert datetime.fromisoformat(stamp).utcoffset() is not None  # a moment, with its zone
    assert {row[-1] for row in rows[1:]} == {stamp}  # one moment for the whole file
    client.submit("/logout")
    client.login("staff@words.example", PASSWORD)
    for path in ("/libraries/?format=csv", "/audit/?format=csv", "/people/?format=csv"):
        header = next(csv.reader(io.StringIO(client.get(path).data.decode("utf-8-sig"))))
        assert header[-1] == "Figures as of", path


def test_counties_on_the_map_are_named_links_to_their_drill_down(client, app):
    with app.app_context():
        make_user("state", email="state@words.example")
    client.login("state@words.example", PASSWORD)
    page = client.get("/rollup/").get_data(as_text=True)
    links = re.findall(r'<a class="county-link" href="([^"]+)" aria-label="([^"]+)"', page)
    assert len(links) == 58
    href, label = next(link for link in links if "county=Alameda" in link[0])
    assert (
        label.startswith("Alameda County")
        and client.get(href.replace("&amp;", "&")).status_code == 200
    )


def test_mark_done_asks_for_the_day(client, app):
    with app.app_context():
        pilot = make_pilot()
        library = db.session.get(Library, pilot.library_id)
        make_user("pilot", library, email="pilot@words.example")
        step = db.session.scalar(
            sa.select(Milestone).where(
                Milestone.participation_id == pilot.id, Milestone.completed_by.is_(None)
            )
        )
        step_id, participation_id = step.id, pilot.id
    client.login("pilot@words.example", PASSWORD)
    timeline = client.get(f"/participations/{participation_id}/timeline").get_data(as_text=True)
    assert re.search(r'name="done_on"[^>]*required', timeline)
    assert not re.search(r'name="done_on" value=', timeline)  # no day assumed
    refused = client.submit(f"/milestones/{step_id}/done", {"version": "1", "done_on": ""},
                            follow_redirects=True)  # fmt: skip
    assert "Say on which day it was done." in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Milestone, step_id).status != MilestoneStatus.DONE
    client.submit(f"/milestones/{step_id}/done", {"version": "1", "done_on": "2025-10-15"})
    with app.app_context():
        assert db.session.get(Milestone, step_id).done_on == date(2025, 10, 15)


def test_the_plan_step_form_chooses_its_toolkit_page_from_a_list(client, app):
    with app.app_context():
        make_user("staff", email="dana@words.example")
        pages = toolkit.toolkit_from(Path(app.config["TOOLKIT_DIR"])).pages
    client.login("dana@words.example", PASSWORD)
    form = client.get("/plan/draft/steps/new").get_data(as_text=True)
    select = re.search(r'<select[^>]*name="toolkit_page".*?</select>', form, re.S).group(0)
    assert 'value="commitment-letter"' in select and pages["commitment-letter"].title in select
    refused = client.submit("/plan/draft/steps/new", {"title": "A step", "month_offset": "3",
                            "scope": "library", "toolkit_page": "no-such-page"})  # fmt: skip
    assert refused.status_code in (200, 400)
    assert "Not a valid choice" in refused.get_data(as_text=True)


@pytest.mark.parametrize("kind", sorted(audit_words.NOUNS))
def test_every_kind_of_record_has_a_name_in_words(kind):
    assert "_" not in audit_words.NOUNS[kind] and not re.search(
        r"[A-Z][a-z]+[A-Z]", audit_words.NOUNS[kind]
    )


def test_no_sentence_shows_an_unknown_id_as_a_number(ctx):
    dana = make_user("staff", name="Dana Whitfield")
    cohort = db.session.scalar(sa.select(Cohort).limit(1)) or make_cohort("Year 1")
    event = _event(dana, "update", "Library", 1, "Hayward Public Library",
                   {"cohort_id": [cohort.id, 987654]})  # fmt: skip
    [said] = audit_words.sentences([event], "America/Los_Angeles")
    assert "987654" not in said.text and "since removed" in said.text
