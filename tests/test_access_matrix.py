"""The access matrix: every route × method × persona, with real ids from the demo data.

The routes come from `app.url_map`, so a new route without an entry in EXPECTED fails
`test_every_route_has_an_expected_outcome`. Each URL argument names an object; the
request is made with an object of the demo pilot's library ("own"), of another pilot's
library ("other"), and so on (see `_world`). EXPECTED says which personas are allowed;
everyone else must be refused (401/403/404, or sent to sign in).

The whole matrix runs once, in the module fixture `matrix`, against one copy of the demo
data; the tests below only read what it recorded. conftest's `_clean` empties the tables
after the first test, which is fine: no test here touches the database afterwards.

Allowed requests must not change what later requests see (a staff POST with an empty
form deactivates a record, ending a pairing takes the mentor's access away), so while an
*allowed* request runs, `Session.commit` only flushes and Flask-SQLAlchemy rolls the work
back when the request ends. Requests expected to be *refused* run unchanged, with every
INSERT, UPDATE or DELETE they send recorded and, for POSTs, every table counted before
and after: a refusal writes nothing.

"Allowed" is any answer but a refusal: a page, a download, a redirect elsewhere than the
sign-in page, or 400/409 for the empty form every POST sends (with a valid CSRF token).
Any 5xx is a surprise whoever asks.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import current_app

from mentorship.demo import DEMO_PASSWORD, YEAR2_NAME
from mentorship.extensions import db
from mentorship.models import (
    ActionItem,
    Agreement,
    CaseStudy,
    CheckIn,
    Cohort,
    CommitmentLetter,
    LetterSigner,
    Library,
    Milestone,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    Participation,
    ParticipationRole,
    Partnership,
    Role,
    TemplateStep,
    User,
)
from mentorship.security import CONTENT_SECURITY_POLICY
from mentorship.services import case_studies, outcomes, pairing
from mentorship.services.api_tokens import issue_token
from mentorship.services.auth import hash_password, make_password_token
from mentorship.services.calendar import new_calendar_token
from mentorship.services.cohorts import add_participation
from mentorship.services.outbox import unsubscribe_token
from tests.helpers import commits_only_flush, load_demo

HTTPS = "https://ssi.example"  # production is served over HTTPS: HSTS on every answer
# Over HTTPS Flask-WTF also checks that a POST comes from this site (as browsers say).
SAME_SITE = {"Referer": f"{HTTPS}/"}
PERSONAS = ("anonymous", "staff", "state", "pilot", "pilot2", "mentor", "unpaired")
EMAILS = {
    "staff": "staff@demo.test",
    "state": "state@demo.test",
    "pilot": "pilot@demo.test",  # Hayward, a Year 1 pilot
    "pilot2": "pilot2@demo.test",  # Yolo County, another Year 1 pilot
    "mentor": "mentor@demo.test",  # Berkeley, Hayward's mentor
    "unpaired": "unpaired@demo.test",  # Sacramento, a mentor of neither (made below)
}
UNPAIRED_MENTOR_LIBRARY = "Sacramento Public Library"
MISSING_ID = 999_999

# --- who may ------------------------------------------------------------------------
# A spec is the personas allowed (a space-separated string; the others must be refused),
# an int (that exact status for every persona), or a dict {variant: spec} when the
# object decides. The variant "missing" (an id nobody has) is refused to everyone unless
# a dict says otherwise.
EVERYONE = " ".join(PERSONAS)
SIGNED_IN = "staff state pilot pilot2 mentor unpaired"
STAFF = "staff"
STAFF_STATE = "staff state"
LIBRARIANS = "staff pilot pilot2 mentor unpaired"  # the kind allows, the object decides
NOBODY = ""
# Objects of a library: its own people and staff change them; its paired library reads.
READ = {"own": "staff pilot mentor", "other": "staff pilot2"}
CHANGE = {"own": "staff pilot", "other": "staff pilot2"}
# A library page itself: the mentor's library is readable by the pilot it mentors; a
# library only *proposed* as a mentor's mentee is not paired yet.
READ_LIBRARY = {**READ, "mentors": "staff pilot mentor", "proposed": STAFF}
CHANGE_LIBRARY = {**CHANGE, "mentors": "staff mentor", "proposed": STAFF}
# A pairing: both sides, once staff have published it.
PAIRING_SIDES = {**READ, "proposed": STAFF}
# Case studies: a draft stays with its library, its mentor and staff; published ones
# are for everyone signed in.
READ_STORY = {**READ, "published": SIGNED_IN}
# Librarians and staff comment on a published one; state officials read it and change
# nothing (DOMAIN.md).
COMMENT_STORY = {**READ, "published": LIBRARIANS}

# Exact statuses that do not fit "allowed / refused".
LINK_INVALID = 400  # a set-password link that is not valid: the same page for everyone
NO_BEARER = 401  # the API without a bearer token, whatever cookies come along

EXPECTED: dict[str, object] = {
    # Signing in and out, and the pages reached from an email (no sign-in needed).
    "GET home.index": SIGNED_IN,
    "GET auth.login": EVERYONE,  # the signed-in are sent home
    "POST auth.login": EVERYONE,
    "POST auth.logout": 302,  # to the sign-in page, signed in or not
    "GET auth.forgot_password": EVERYONE,
    "POST auth.forgot_password": EVERYONE,
    "GET auth.set_password": {"valid": EVERYONE, "invalid": LINK_INVALID},
    "POST auth.set_password": {"valid": EVERYONE, "invalid": LINK_INVALID},
    "GET reminders.unsubscribe": {"valid": EVERYONE, "invalid": NOBODY},
    "POST reminders.unsubscribe": {"valid": EVERYONE, "invalid": NOBODY},
    "GET calendar.feed": {"valid": EVERYONE, "invalid": NOBODY},
    # One's own account: every role.
    "GET calendar.index": SIGNED_IN,
    "POST calendar.create": SIGNED_IN,
    "POST calendar.reset": SIGNED_IN,
    "GET reminders.preferences": SIGNED_IN,
    "POST reminders.preferences": SIGNED_IN,
    # The toolkit is for the whole program.
    "GET toolkit.index": SIGNED_IN,
    "GET toolkit.search": SIGNED_IN,
    "GET toolkit.page": SIGNED_IN,
    "GET toolkit.download": SIGNED_IN,
    # The Help guide: every guide for everyone signed in.
    "GET help.index": SIGNED_IN,
    "GET help.guide": SIGNED_IN,
    # Program records: staff only, except a library's own page.
    "GET libraries.index": STAFF,
    "GET libraries.new": STAFF,
    "POST libraries.new": STAFF,
    "GET libraries.show": READ_LIBRARY,
    "GET libraries.edit": STAFF,
    "POST libraries.edit": STAFF,
    "POST libraries.set_active": STAFF,
    "GET districts.index": STAFF,
    "GET districts.new": STAFF,
    "POST districts.new": STAFF,
    "GET districts.show": STAFF,
    "GET districts.edit": STAFF,
    "POST districts.edit": STAFF,
    "POST districts.set_active": STAFF,
    "POST districts.set_school_library": STAFF,
    "GET cohorts.index": STAFF,
    "GET cohorts.new": STAFF,
    "POST cohorts.new": STAFF,
    "GET cohorts.show": STAFF,
    "GET cohorts.edit": STAFF,
    "POST cohorts.edit": STAFF,
    "POST cohorts.set_active": STAFF,
    "GET cohorts.participations_csv": STAFF,
    "GET cohorts.add_participation": STAFF,
    "POST cohorts.add_participation": STAFF,
    "GET cohorts.edit_participation": STAFF,
    "POST cohorts.edit_participation": STAFF,
    "POST cohorts.set_participation_active": STAFF,
    "GET people.index": STAFF,
    "GET people.new": STAFF,
    "POST people.new": STAFF,
    "GET people.show": STAFF,
    "GET people.edit": STAFF,
    "POST people.edit": STAFF,
    "POST people.set_active": STAFF,
    "POST people.send_link": STAFF,
    "GET audit.index": STAFF,
    "GET imports.upload": STAFF,
    "POST imports.upload": STAFF,
    "POST imports.confirm": STAFF,
    "GET imports.template": STAFF,
    "GET reminders.outbox_page": STAFF,
    "POST reminders.retry": STAFF,
    # Pairing is staff work; check-ins belong to both sides of a published pairing.
    "GET pairing.board": STAFF,
    "POST pairing.propose_all": STAFF,
    "POST pairing.publish": STAFF,
    "GET pairing.suggestions": STAFF,
    "POST pairing.propose": STAFF,
    "POST pairing.remove": STAFF,
    "POST pairing.end": STAFF,
    "GET checkins.show": PAIRING_SIDES,
    "POST checkins.log": PAIRING_SIDES,
    "POST checkins.cadence": PAIRING_SIDES,
    "POST checkins.set_done": READ,
    # The timeline: the pilot's people change it, its mentor reads and comments.
    "GET timeline.timeline": READ,
    "GET timeline.milestone": READ,
    "POST timeline.milestone": CHANGE,
    "POST timeline.mark_done": CHANGE,
    "POST timeline.comment": READ,
    "GET timeline.at_risk": STAFF,
    "GET timeline.plan": STAFF,
    "GET timeline.new_step": STAFF,
    "POST timeline.new_step": STAFF,
    "GET timeline.edit_step": STAFF,
    "POST timeline.edit_step": STAFF,
    "POST timeline.remove_step": STAFF,
    "GET timeline.publish": STAFF,
    "POST timeline.publish": STAFF,
    # School partners, agreements, figures and the letter: read by the paired library,
    # changed in-house; never shown to state officials (contact details).
    "GET partnerships.library_partners": READ_LIBRARY,
    "GET partnerships.new": CHANGE_LIBRARY,
    "POST partnerships.new": CHANGE_LIBRARY,
    "GET partnerships.show": READ,
    "GET partnerships.reports_csv": READ,
    "GET partnerships.edit": CHANGE,
    "POST partnerships.edit": CHANGE,
    "POST partnerships.move_stage": CHANGE,
    "POST partnerships.set_active": CHANGE,
    "GET partnerships.new_agreement": CHANGE,
    "POST partnerships.new_agreement": CHANGE,
    "GET partnerships.edit_agreement": CHANGE,
    "POST partnerships.edit_agreement": CHANGE,
    "GET partnerships.expiring": STAFF,
    "GET partnerships.ils_report": CHANGE,
    "POST partnerships.ils_report": CHANGE,
    "POST partnerships.confirm_ils_report": CHANGE,
    "POST partnerships.set_schools": CHANGE,
    "POST partnerships.year_figures": CHANGE_LIBRARY,
    "GET partnerships.new_report": CHANGE,
    "POST partnerships.new_report": CHANGE,
    "GET partnerships.edit_report": CHANGE,
    "POST partnerships.edit_report": CHANGE,
    "GET partnerships.letter": READ,
    "POST partnerships.letter_document": CHANGE,
    "POST partnerships.add_signer": CHANGE,
    "GET partnerships.edit_signer": CHANGE,
    "POST partnerships.edit_signer": CHANGE,
    "POST partnerships.remove_signer": CHANGE,
    # Case studies.
    "GET case_studies.index": SIGNED_IN,
    "GET case_studies.new": LIBRARIANS,
    "POST case_studies.new": LIBRARIANS,
    "GET case_studies.show": READ_STORY,
    "GET case_studies.figures_csv": READ_STORY,
    "GET case_studies.edit": {**CHANGE, "published": STAFF},
    "POST case_studies.edit": {**CHANGE, "published": STAFF},
    "POST case_studies.submit": {**CHANGE, "published": STAFF},
    "POST case_studies.publish": STAFF,
    "POST case_studies.send_back": STAFF,
    "POST case_studies.withdraw": STAFF,
    "POST case_studies.comment": COMMENT_STORY,
    "POST case_studies.reply": COMMENT_STORY,
    # A comment: only its author changes it (on a case study they can still see).
    "GET case_studies.edit_comment": {"own": "mentor", "other": "pilot2", "published": "pilot"},
    "POST case_studies.edit_comment": {"own": "mentor", "other": "pilot2", "published": "pilot"},
    "POST case_studies.hide_comment": STAFF,
    "POST case_studies.unhide_comment": STAFF,
    # The statewide rollup: staff and state officials; a library's own annual report
    # also for its own librarians.
    "GET rollup.index": STAFF_STATE,
    "GET rollup.table_csv": STAFF_STATE,
    "GET rollup.libraries": STAFF_STATE,
    "GET rollup.library": STAFF_STATE,
    "GET rollup.library_csv": STAFF_STATE,
    "GET rollup.annual_report": STAFF_STATE,
    "GET legislative.report": STAFF_STATE,
    "GET legislative.report_csv": STAFF_STATE,
    "GET legislative.coverage_gap": STAFF_STATE,
    "GET rollup.library_annual_report": {
        "own": "staff state pilot",
        "other": "staff state pilot2",
        "mentors": "staff state mentor",
        "proposed": STAFF_STATE,
    },
    # API tokens: staff issue, see and revoke them.
    "GET api_tokens.index": STAFF,
    "GET api_tokens.new": STAFF,
    "POST api_tokens.new": STAFF,
    "GET api_tokens.show": STAFF,
    "POST api_tokens.revoke": STAFF,
    # The JSON API: a bearer token only; the session cookie never signs anyone in.
    "GET api.openapi": EVERYONE,
    "GET api.libraries": NO_BEARER,
    "GET api.library": NO_BEARER,
    "GET api.library_figures": NO_BEARER,
    "GET api.cohorts": NO_BEARER,
    "GET api.cohort": NO_BEARER,
    "GET api.partnerships": NO_BEARER,
    "GET api.outcome_figures": NO_BEARER,
    "GET api.rollup_figures": NO_BEARER,
    "GET api.legislative_report": NO_BEARER,
    "GET api.not_here": NO_BEARER,
    "POST api.not_here": NO_BEARER,
    "PUT api.not_here": NO_BEARER,
    "PATCH api.not_here": NO_BEARER,
    "DELETE api.not_here": NO_BEARER,
}


# --- the world: which object each URL argument names ----------------------------------

# URL argument -> the kind of object it names (a key of the world).
ARGUMENTS = {
    "library_id": "library",
    "cohort_id": "cohort",
    "participation_id": "participation",
    "partnership_id": "partnership",
    "agreement_id": "agreement",
    "report_id": "report",
    "signer_id": "signer",
    "milestone_id": "milestone",
    "pairing_id": "pairing",
    "item_id": "action_item",
    "case_study_id": "case_study",
    "comment_id": "comment",
    "message_id": "message",
    "step_id": "step",
    "token_id": "api_token",
    "slug": "toolkit_page",
    "kind": "import_kind",
    "anything": "api_path",
}
# Arguments whose meaning depends on the route.
BY_ENDPOINT = {
    ("libraries", "object_id"): "library",
    ("cohorts", "object_id"): "cohort",
    ("districts", "object_id"): "district",
    ("people", "object_id"): "user",
    ("calendar.feed", "token"): "calendar_token",
    ("auth.set_password", "token"): "password_token",
    ("reminders.unsubscribe", "token"): "unsubscribe_token",
    ("toolkit.download", "name"): "download",
    ("help.guide", "guide"): "help_guide",
    ("rollup.table_csv", "name"): "rollup_table",
    ("rollup.library_csv", "name"): "rollup_library_table",
}
# Pages that are also a CSV download (same route, same rule): asked for both ways.
CSV_TOO = dict.fromkeys(
    [
        "libraries.index",
        "districts.index",
        "cohorts.index",
        "people.index",
        "audit.index",
        "api_tokens.index",
        "reminders.outbox_page",
        "checkins.show",
        "partnerships.library_partners",
        "partnerships.expiring",
        "timeline.at_risk",
        "rollup.libraries",
        "rollup.annual_report",
        "rollup.library_annual_report",
    ],
    ("format=csv",),
) | {"case_studies.index": ("format=csv", "format=csv&part=drafts")}
# Names that are not objects of a library: the same value in every variant.
CONSTANTS = {
    "toolkit_page": "getting-started",
    "help_guide": "pilot",
    "download": "commitment-letter-template.md",
    "import_kind": "libraries",
    "rollup_table": "cohorts",
    "rollup_library_table": "partners",
    "api_path": "no-such-thing",
}


def _kind_of(endpoint: str, argument: str) -> str | None:
    for key in ((endpoint, argument), (endpoint.partition(".")[0], argument)):
        if key in BY_ENDPOINT:
            return BY_ENDPOINT[key]
    return ARGUMENTS.get(argument)


def _first(query):
    found = db.session.scalar(query.limit(1))
    assert found is not None, f"the demo data has none: {query}"
    return found


def _world() -> tuple[dict[str, dict[str, object]], dict[str, dict], dict[str, str]]:
    """Load the demo data and add what it lacks. Returns the object of each kind per
    variant, the few form fields a POST needs to reach its access check at all, and the
    names of the libraries whose objects are asked for."""
    load_demo(date.today())
    people = {u.email: u for u in db.session.scalars(sa.select(User))}
    staff, pilot, pilot2 = (people[EMAILS[p]] for p in ("staff", "pilot", "pilot2"))
    mentor = people[EMAILS["mentor"]]
    unpaired_library = _first(sa.select(Library).filter_by(name=UNPAIRED_MENTOR_LIBRARY))
    db.session.add(
        User(
            name="Noor Haddad",
            email=EMAILS["unpaired"],
            role=Role.MENTOR,
            library_id=unpaired_library.id,
            password_hash=hash_password(DEMO_PASSWORD),
        )
    )
    own_lib, other_lib = pilot.library_id, pilot2.library_id
    # Staff have only *proposed* the unpaired mentor's library for a Year 2 pilot: a
    # proposal opens nothing to either side until it is published.
    year2 = _first(sa.select(Cohort).filter_by(name=YEAR2_NAME))
    proposed_pilot = _first(
        sa.select(Participation).filter_by(cohort_id=year2.id, role=ParticipationRole.PILOT)
    )
    proposal = pairing.propose(
        proposed_pilot,
        add_participation(
            year2,
            {"library_id": unpaired_library.id, "role": "mentor", "start_date": year2.start_date},
            staff,
        ),
        staff,
    )

    def pilot_place(library_id):
        return _first(
            sa.select(Participation).filter_by(library_id=library_id, role=ParticipationRole.PILOT)
        )

    def pairing_of(library_id):
        return _first(
            sa.select(Pairing).where(
                Pairing.pilot_participation_id.in_(
                    sa.select(Participation.id).filter_by(library_id=library_id)
                )
            )
        )

    def of_library(model, library_id):
        return _first(
            sa.select(model)
            .join(Partnership, model.partnership_id == Partnership.id)
            .where(Partnership.library_id == library_id)
            .order_by(model.id)
        )

    partnership = {
        v: _first(sa.select(Partnership).filter_by(library_id=lib).order_by(Partnership.id))
        for v, lib in (("own", own_lib), ("other", other_lib))
    }
    # Neither pilot has reported figures yet in the demo: one report each.
    for found in partnership.values():
        outcomes.add_report(
            found,
            {
                "period_start": date.today() - timedelta(days=90),
                "period_end": date.today() - timedelta(days=1),
                "students_enrolled": 1000,
                "physical_cards": 10,
                "digital_cards": 20,
                "students_using_cards": 5,
            },
            date.today(),
            staff,
        )
    # The other pilot's own draft, and comments to edit (by their authors only).
    own_story = _first(sa.select(CaseStudy).filter_by(library_id=own_lib))
    published = _first(sa.select(CaseStudy).filter_by(status="published"))
    other_story = case_studies.create(
        pilot2.library, {"title": "Yolo's draft", "summary": "", "body": ""}, pilot2
    )
    db.session.flush()
    comments = {
        "own": own_story.comments[0],  # the mentor's, in the demo
        "other": case_studies.add_comment(other_story, "Our own note.", pilot2),
        "published": case_studies.add_comment(published, "We tried this too.", pilot),
    }
    message = OutboxMessage(
        kind="milestone_due",
        object_type="Milestone",
        object_id=1,
        period="2026-01-01",
        recipient_id=pilot.id,
        subject="A milestone is due",
        body_text="Due soon.",
        body_html="",
        status=OutboxStatus.FAILED,
    )
    db.session.add(message)
    calendar = new_calendar_token(pilot)
    api_token, _ = issue_token(people[EMAILS["state"]].id, "CDE dashboard", staff)
    db.session.commit()

    def item_of(pairing):
        return _first(sa.select(ActionItem).join(CheckIn).where(CheckIn.pairing_id == pairing.id))

    pairings = {"own": pairing_of(own_lib), "other": pairing_of(other_lib)}
    secret = current_app.config["SECRET_KEY"]
    world = {
        "library": {
            "own": own_lib,
            "other": other_lib,
            "mentors": mentor.library_id,
            "proposed": proposed_pilot.library_id,
        },
        "cohort": {"own": pilot_place(own_lib).cohort_id, "other": year2.id},
        "district": {v: p.district_id for v, p in partnership.items()},
        "user": {"own": pilot.id, "other": pilot2.id},
        "participation": {"own": pilot_place(own_lib).id, "other": pilot_place(other_lib).id},
        "partnership": {v: p.id for v, p in partnership.items()},
        "agreement": {
            "own": of_library(Agreement, own_lib).id,
            "other": of_library(Agreement, other_lib).id,
        },
        "report": {v: outcomes.reports_of(p)[0].id for v, p in partnership.items()},
        "signer": {
            v: _first(
                sa.select(LetterSigner.id)
                .join(CommitmentLetter)
                .where(CommitmentLetter.participation_id == pilot_place(lib).id)
            )
            for v, lib in (("own", own_lib), ("other", other_lib))
        },
        "milestone": {
            v: _first(sa.select(Milestone.id).filter_by(participation_id=pilot_place(lib).id))
            for v, lib in (("own", own_lib), ("other", other_lib))
        },
        "pairing": {**{v: p.id for v, p in pairings.items()}, "proposed": proposal.id},
        "action_item": {v: item_of(p).id for v, p in pairings.items()},
        "case_study": {"own": own_story.id, "other": other_story.id, "published": published.id},
        "comment": {v: c.id for v, c in comments.items()},
        "message": {"own": message.id},
        "api_token": {"own": api_token.id},
        "step": {"own": _first(sa.select(TemplateStep.id).order_by(TemplateStep.id))},
        "calendar_token": {"valid": calendar, "invalid": "no-such-token"},
        "password_token": {"valid": make_password_token(pilot2, secret), "invalid": "not-a-link"},
        "unsubscribe_token": {
            "valid": unsubscribe_token(pilot.id, "milestone_due"),
            "invalid": "not-a-token",
        },
    }
    for ids in world.values():
        if "valid" not in ids:
            ids["missing"] = MISSING_ID
    # Without a mentor to propose, staff would get 404 for the missing mentor.
    mentor_place = _first(
        sa.select(Participation.id)
        .filter_by(library_id=unpaired_library.id)
        .order_by(Participation.id)
    )
    names = {
        variant: db.session.get(Library, library_id).name
        for variant, library_id in world["library"].items()
        if library_id != MISSING_ID
    }
    return world, {"pairing.propose": {"mentor_id": mentor_place}}, names


# --- running the matrix ---------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    method: str
    endpoint: str
    variant: str
    url: str

    @property
    def key(self) -> str:
        return f"{self.method} {self.endpoint}"


@dataclass
class Outcome:
    status: int
    location: str
    headers: dict
    writes: list[str]  # INSERT/UPDATE/DELETE sent while a refused request ran
    counts_changed: dict[str, tuple[int, int]]
    page: str  # the text of a 403 or 404 answer


def cases(app, world) -> Iterator[Case]:
    """Each route × method × variant; a route with an argument nobody taught this file
    about gives one case without a URL (the first test names it)."""
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        if rule.endpoint == "static":
            continue
        # An argument with a default belongs to a second rule of the endpoint ("/api/v1/").
        arguments = rule.arguments - set(rule.defaults or ())
        kinds = {arg: _kind_of(rule.endpoint, arg) for arg in arguments}
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        unknown = sorted(arg for arg, kind in kinds.items() if kind is None)
        if unknown:
            for method in methods:
                yield Case(method, rule.endpoint, f"argument {', '.join(unknown)}?", "")
            continue
        ids = [set(world[kind]) for kind in kinds.values() if kind not in CONSTANTS]
        variants = sorted(set.intersection(*ids)) if ids else ["—"]
        for method in methods:
            for variant in variants:
                values = {
                    arg: CONSTANTS[kind] if kind in CONSTANTS else world[kind][variant]
                    for arg, kind in kinds.items()
                }
                url = rule.build(values)[1]  # this rule's URL, not the endpoint's first
                yield Case(method, rule.endpoint, variant, url)
                for query in CSV_TOO.get(rule.endpoint, ()) if method == "GET" else ():
                    yield Case(method, rule.endpoint, variant, f"{url}?{query}")


def expected_allowed(case: Case) -> str | int | None:
    """The spec for one case, or None when EXPECTED has no entry for it."""
    spec = EXPECTED.get(case.key)
    if isinstance(spec, dict):
        spec = spec.get(case.variant, NOBODY if case.variant == "missing" else None)
    elif case.variant == "missing":
        spec = NOBODY
    return spec


def is_allowed(case: Case, persona: str) -> bool | int | None:
    spec = expected_allowed(case)
    if spec is None or isinstance(spec, int):
        return spec
    return persona in spec.split()


def asked(case: Case) -> tuple[str, ...]:
    """Who makes the request. An id nobody has is asked only by those the route lets in
    for some object (the rest are refused before any object is looked up, as the real
    ids show): the others would add time, not knowledge."""
    spec = EXPECTED.get(case.key)
    if case.variant != "missing" or spec is None or isinstance(spec, int):
        return PERSONAS
    specs = spec.values() if isinstance(spec, dict) else [spec]
    users = " ".join(v for v in specs if isinstance(v, str)).split()
    return tuple(p for p in PERSONAS if p in users)


def refused(outcome: Outcome) -> bool:
    if outcome.status in (401, 403, 404):
        return True
    return outcome.status in (301, 302, 303) and outcome.location.startswith("/login")


def unexpected(case: Case, persona: str, outcome: Outcome) -> str:
    """ "" when the outcome is the expected one; else "allowed", "refused" or "error"."""
    allowed = is_allowed(case, persona)
    if outcome.status >= 500:
        return "error"
    if isinstance(allowed, int) and not isinstance(allowed, bool):
        return "" if outcome.status == allowed else ("refused" if refused(outcome) else "allowed")
    if allowed and refused(outcome):
        return "refused"
    if not allowed and not refused(outcome):
        return "allowed"
    return ""


def _csrf_token(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def _log_in(client, persona: str) -> str:
    """Sign in (unless anonymous); the session's CSRF token for the POSTs."""
    token = _csrf_token(client.get("/login", base_url=HTTPS).get_data(as_text=True))
    if persona != "anonymous":
        answer = client.post(
            "/login",
            data={"csrf_token": token, "email": EMAILS[persona], "password": DEMO_PASSWORD},
            base_url=HTTPS,
            headers=SAME_SITE,
        )
        assert answer.status_code == 302, f"{persona} could not sign in"
        token = _csrf_token(client.get("/", base_url=HTTPS).get_data(as_text=True))
    return token


@functools.cache
def _count_rows() -> sa.CompoundSelect:
    """One statement counting every table (built once: building it costs more than running it)."""
    return sa.union_all(
        *(
            sa.select(
                sa.literal(table.name).label("name"), sa.func.count().label("rows")
            ).select_from(table)
            for table in db.metadata.sorted_tables
        )
    )


def _counts() -> dict[str, int]:
    return dict(db.session.execute(_count_rows()).all())


def _write(statement: str) -> bool:
    return statement.lstrip().split(None, 1)[0].upper() in {"INSERT", "UPDATE", "DELETE"}


@pytest.fixture(scope="module")
def matrix(app):
    """Every case for every persona, once: {"cases": [...], "outcomes": {(case, persona)}}."""
    with app.app_context():
        world, forms, names = _world()
        engine = db.engine
    every_case = list(cases(app, world))
    all_cases = [case for case in every_case if case.url]
    clients = {persona: app.test_client() for persona in PERSONAS}
    tokens = {persona: _log_in(clients[persona], persona) for persona in PERSONAS}
    writes: list[str] = []

    def record(conn, cursor, statement, *args):
        if _write(statement):
            writes.append(" ".join(statement.split())[:100])

    with app.app_context():
        at_start = _counts()
    outcomes_ = {}
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        counted = None  # the row counts, when nothing can have changed them since
        for case in all_cases:
            for persona in asked(case):
                client, allowed = clients[persona], is_allowed(case, persona) is True
                # Refused POSTs are counted too; any refused request has its writes logged.
                count = not allowed and case.method != "GET"
                if count and counted is None:
                    with app.app_context():
                        counted = _counts()
                writes.clear()
                with commits_only_flush() if allowed else nullcontext():
                    answer = client.open(
                        case.url,
                        method=case.method,
                        data=None
                        if case.method == "GET"
                        else {"csrf_token": tokens[persona], **forms.get(case.endpoint, {})},
                        base_url=HTTPS,
                        headers=SAME_SITE,
                        # Read a streamed answer (CSV) to its end and close it, as a server
                        # does: else its request context stays pushed, and the next
                        # request would run in it, as the previous person.
                        buffered=True,
                    )
                changed = {}
                if count:
                    before = counted
                    with app.app_context():
                        counted = _counts()
                    changed = {t: (before[t], n) for t, n in counted.items() if n != before[t]}
                elif allowed:
                    counted = None  # counted again before the next refused POST
                outcomes_[case, persona] = Outcome(
                    answer.status_code,
                    answer.headers.get("Location", ""),
                    dict(answer.headers),
                    [] if allowed else list(writes),
                    changed,
                    answer.get_data(as_text=True) if answer.status_code in (403, 404) else "",
                )
                if case.endpoint == "auth.logout" and persona != "anonymous":
                    counted = None
                    tokens[persona] = _log_in(client, persona)  # signing in writes
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
    with app.app_context():
        at_end = _counts()
    return {
        "rows at start": at_start,
        "rows at end": at_end,
        "cases": all_cases,
        "every case": every_case,
        "library names": names,
        "outcomes": outcomes_,
    }


def _cell(outcome: Outcome, surprise: str) -> str:
    text = "login" if refused(outcome) and outcome.status == 302 else str(outcome.status)
    return text + {"allowed": "!", "refused": "?", "error": "!!", "": ""}[surprise]


def _report(matrix, rows) -> str:
    """A readable table of the cases with a surprise: ! allowed, ? refused."""
    width = max(len(f"{case.key} [{case.variant}]") for case in rows)
    lines = [" " * width + "".join(f"{p:>11}" for p in PERSONAS)]
    for case in rows:
        cells = []
        for persona in PERSONAS:
            outcome = matrix["outcomes"].get((case, persona))
            cell = _cell(outcome, unexpected(case, persona, outcome)) if outcome else "·"
            cells.append(f"{cell:>11}")
        lines.append(f"{f'{case.key} [{case.variant}]':{width}}" + "".join(cells))
        lines.append(f"{'':{width}}   {case.url}")
    return "\n".join(lines)


# --- the tests --------------------------------------------------------------------------


def test_every_route_has_an_expected_outcome(matrix):
    unknown = sorted({f"{c.key}: {c.variant}" for c in matrix["every case"] if not c.url})
    assert not unknown, "say which object the argument names (ARGUMENTS):\n" + "\n".join(unknown)
    missing = sorted(
        {f"{c.key} [{c.variant}]" for c in matrix["cases"] if expected_allowed(c) is None}
    )
    assert not missing, "add it to EXPECTED in tests/test_access_matrix.py:\n" + "\n".join(missing)
    stale = set(EXPECTED) - {case.key for case in matrix["every case"]}
    assert not stale, f"EXPECTED names routes that no longer exist: {sorted(stale)}"


def test_no_unexpected_allows_or_refusals(matrix):
    surprises = {"allowed": 0, "refused": 0, "error": 0}
    rows = []
    for case in matrix["cases"]:
        if expected_allowed(case) is None:
            continue  # the route is missing from EXPECTED: the first test says so
        found = [unexpected(case, p, matrix["outcomes"][case, p]) for p in asked(case)]
        for kind in filter(None, found):
            surprises[kind] += 1
        if any(found):
            rows.append(case)
    print(_report(matrix, rows) if rows else "No surprises.")
    assert not rows, (
        f"{surprises['allowed']} unexpected allows, {surprises['refused']} unexpected "
        f"refusals, {surprises['error']} server errors (! allowed, ? refused, !! error; "
        "'login' = sent to sign in):\n" + _report(matrix, rows)
    )


def test_another_librarys_object_is_not_found(matrix):
    """Someone who may use a route for some objects is told 404, not 403, for the
    others: an id reveals nothing, not even that the object exists."""
    wrong = []
    for case in matrix["cases"]:
        spec = EXPECTED.get(case.key)
        if not isinstance(spec, dict) or not all(isinstance(v, str) for v in spec.values()):
            continue
        users = set(" ".join(spec.values()).split()) - {"anonymous"}
        for persona in sorted(users):
            outcome = matrix["outcomes"][case, persona]
            if not is_allowed(case, persona) and outcome.status != 404:
                wrong.append(f"{persona} {case.method} {case.url}: {outcome.status}")
    assert not wrong, "\n".join(wrong)


def test_a_refused_request_writes_nothing(matrix):
    """No INSERT, UPDATE or DELETE is sent while a refused request runs, and a refused
    POST leaves every table with the rows it had."""
    wrote = [
        f"{persona} {case.method} {case.url}: {outcome.writes or outcome.counts_changed}"
        for (case, persona), outcome in matrix["outcomes"].items()
        # Signing out is not a refusal: it replaces the person's session token, which
        # ends that session on the server (issue 19).
        if (outcome.writes or outcome.counts_changed) and case.endpoint != "auth.logout"
    ]
    assert not wrote, "\n".join(wrote)
    # Allowed requests keep nothing either (their commits only flush), so every table
    # has the rows it had when the matrix began.
    assert matrix["rows at end"] == matrix["rows at start"]


def test_a_refusal_names_no_library(matrix):
    """403 and 404 pages name no library the person may not see (ids reveal nothing).
    (A library they may see can appear: a message flashed by their previous action.)"""
    named = []
    for (case, persona), outcome in matrix["outcomes"].items():
        for variant, name in matrix["library names"].items():
            if persona not in READ_LIBRARY[variant].split() and name in outcome.page:
                named.append(f"{persona} {case.method} {case.url}: {name}")
    assert not named, "\n".join(named)


def test_every_answer_carries_the_security_headers(matrix):
    """Every page of the matrix, for every persona, allowed or refused, GET and POST."""
    wanted = {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "X-Frame-Options": "DENY",
    }
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
    missing = []
    for (case, persona), outcome in matrix["outcomes"].items():
        wrong = [name for name, value in wanted.items() if outcome.headers.get(name) != value]
        if not outcome.headers.get("Strict-Transport-Security", "").startswith("max-age="):
            wrong.append("Strict-Transport-Security")
        if wrong:
            missing.append(f"{persona} {case.method} {case.url}: {', '.join(wrong)}")
    assert not missing, "\n".join(missing)
