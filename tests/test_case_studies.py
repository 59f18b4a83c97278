"""Case studies: the workflow per role, who sees drafts, comments and their moderation,
the 15-minute edit window, sanitising (a list of XSS payloads), emails and search."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from mentorship.blueprints.case_studies import operations as case_studies
from mentorship.extensions import db
from mentorship.models import (
    AuditEvent,
    CaseStudy,
    CaseStudyComment,
    CaseStudyStatus,
    Library,
    Pairing,
    PairingStatus,
    User,
)
from mentorship.rendering import render_markdown
from mentorship.services import case_studies as case_study_service
from mentorship.services import outcomes, partnerships
from mentorship.services.errors import NotAllowed, ValidationError
from tests import helpers
from tests.conftest import row_count
from tests.helpers import (
    PASSWORD,
    make_cohort,
    make_district,
    make_library,
    make_participation,
    make_user,
    unsafe_markup,
)

Status = CaseStudyStatus
ROLES = ("staff", "author", "mentor", "other_pilot", "unpaired_mentor", "state")


@pytest.fixture
def cast(app):
    """Hayward (a pilot) paired with Berkeley (its mentor); Yolo, another pilot; a mentor
    library paired with nobody; staff and a state official. Returns user ids by role."""
    with app.app_context():
        own = make_library(
            "Hayward Public Library", cooperative_system="Pacific Library Partnership"
        )
        mentor_library = make_library("Berkeley Public Library")
        cohort = make_cohort()
        db.session.add(
            Pairing(
                pilot_participation_id=make_participation(own, cohort).id,
                mentor_participation_id=make_participation(mentor_library, cohort, "mentor").id,
                status=PairingStatus.ACTIVE,
                start_date=cohort.start_date,
            )
        )
        db.session.commit()
        users = {
            "staff": make_user("staff", email="staff@cs.example"),
            "author": make_user("pilot", own, email="author@hayward.example"),
            "colleague": make_user("pilot", own, email="colleague@hayward.example"),
            "mentor": make_user("mentor", mentor_library, email="mentor@berkeley.example"),
            "other_pilot": make_user(
                "pilot", make_library("Yolo County Library"), email="p@yolo.example"
            ),
            "unpaired_mentor": make_user("mentor", email="m@elsewhere.example"),
            "state": make_user("state", email="state@cs.example"),
        }
        return {"library": own.id, **{role: user.id for role, user in users.items()}}


def person(cast, role) -> User:
    return db.session.get(User, cast[role])


def make_case_study(cast, status=Status.DRAFT, **values) -> CaseStudy:
    """The author's case study of their library (tests.helpers.make_case_study)."""
    return helpers.make_case_study(
        cast["library"],
        body=values.pop("body", "What we learned."),
        status=status,
        created_by_id=cast["author"],
        **values,
    )


def sign_in(client, cast, role) -> None:
    email = {
        "staff": "staff@cs.example",
        "author": "author@hayward.example",
        "colleague": "colleague@hayward.example",
        "mentor": "mentor@berkeley.example",
        "other_pilot": "p@yolo.example",
        "unpaired_mentor": "m@elsewhere.example",
        "state": "state@cs.example",
    }[role]
    assert client.login(email, PASSWORD).status_code == 302


# The workflow, per role ----------------------------------------------------------------

REASON = "Add the dates each agreement was signed."
RUN = {
    "submit": lambda cs, actor: case_studies.submit(cs, actor),
    "publish": lambda cs, actor: case_studies.publish(cs, actor),
    "send back": lambda cs, actor: case_studies.send_back(cs, REASON, actor),
    "withdraw": lambda cs, actor: case_studies.withdraw(cs, REASON, actor),
}
# (transition, from, role, resulting status or None when refused)
WORKFLOW = [
    ("submit", Status.DRAFT, "author", Status.IN_REVIEW),
    ("submit", Status.DRAFT, "staff", Status.IN_REVIEW),
    ("submit", Status.SENT_BACK, "author", Status.IN_REVIEW),  # resubmit after revising
    ("submit", Status.DRAFT, "mentor", None),
    ("submit", Status.DRAFT, "other_pilot", None),
    ("submit", Status.DRAFT, "state", None),
    ("submit", Status.IN_REVIEW, "author", None),
    ("submit", Status.PUBLISHED, "author", None),
    ("publish", Status.IN_REVIEW, "staff", Status.PUBLISHED),
    ("publish", Status.IN_REVIEW, "author", None),
    ("publish", Status.IN_REVIEW, "mentor", None),
    ("publish", Status.IN_REVIEW, "state", None),
    ("publish", Status.DRAFT, "staff", None),
    ("publish", Status.SENT_BACK, "staff", None),
    ("send back", Status.IN_REVIEW, "staff", Status.SENT_BACK),
    ("send back", Status.IN_REVIEW, "author", None),
    ("send back", Status.IN_REVIEW, "mentor", None),
    ("send back", Status.DRAFT, "staff", None),
    ("withdraw", Status.PUBLISHED, "staff", Status.SENT_BACK),
    ("withdraw", Status.PUBLISHED, "author", None),
    ("withdraw", Status.IN_REVIEW, "staff", None),
]


@pytest.mark.parametrize(
    ("transition", "start", "role", "result"),
    WORKFLOW,
    ids=[f"{t} from {s} by {r}" for t, s, r, _ in WORKFLOW],
)
def test_the_workflow_allows_and_refuses_per_role(ctx, cast, transition, start, role, result):
    case_study = make_case_study(cast, start)
    if result is None:
        with pytest.raises(NotAllowed):
            RUN[transition](case_study, person(cast, role))
        db.session.rollback()
        assert db.session.get(CaseStudy, case_study.id).status == start
        assert row_count(AuditEvent) == 0
        return
    RUN[transition](case_study, person(cast, role))
    db.session.commit()
    assert case_study.status == result
    event = db.session.scalar(sa.select(AuditEvent))
    assert (event.action, event.actor_id) == (transition, cast[role])
    assert event.changes["status"] == [start.value, result.value]


def test_each_step_sets_its_dates_and_the_reason(ctx, cast):
    author, staff = person(cast, "author"), person(cast, "staff")
    case_study = make_case_study(cast)
    when = datetime(2026, 5, 1, 17, tzinfo=UTC)
    case_studies.submit(case_study, author, now=when)
    assert case_study.submitted_at == when and case_study.published_at is None
    case_studies.send_back(case_study, REASON, staff)
    assert case_study.sent_back_reason == REASON
    case_studies.submit(case_study, author, now=when + timedelta(days=2))
    assert case_study.sent_back_reason == "" and case_study.submitted_at == when + timedelta(days=2)
    case_studies.publish(case_study, staff, now=when + timedelta(days=3))
    assert case_study.published_at == when + timedelta(days=3)
    case_studies.withdraw(case_study, "A figure was wrong.", staff)
    assert case_study.published_at is None and case_study.status == Status.SENT_BACK
    db.session.commit()
    actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions == ["submit", "send back", "submit", "publish", "withdraw"]


@pytest.mark.parametrize("transition", ["send back", "withdraw"])
def test_sending_back_or_withdrawing_needs_a_reason(ctx, cast, transition):
    start = Status.PUBLISHED if transition == "withdraw" else Status.IN_REVIEW
    case_study = make_case_study(cast, start)
    run = case_studies.send_back if transition == "send back" else case_studies.withdraw
    with pytest.raises(ValidationError) as refused:
        run(case_study, "   ", person(cast, "staff"))
    assert refused.value.field == "reason"


@pytest.mark.parametrize(
    ("role", "status", "allowed"),
    [
        ("author", Status.DRAFT, True),
        ("colleague", Status.IN_REVIEW, True),  # authors may revise while it is reviewed
        ("author", Status.SENT_BACK, True),
        ("staff", Status.IN_REVIEW, True),
        ("author", Status.PUBLISHED, False),
        ("staff", Status.PUBLISHED, False),  # withdraw first
        ("mentor", Status.DRAFT, False),  # the mentor comments, the library writes
        ("other_pilot", Status.DRAFT, False),
    ],
)
def test_who_may_revise_and_when(ctx, cast, role, status, allowed):
    case_study = make_case_study(cast, status)
    values = {"title": "A better title", "summary": "", "body": "More.", "card_model": None,
              "district_size": None, "region": ""}  # fmt: skip
    if allowed:
        case_studies.update(case_study, values, person(cast, role))
        assert case_study.title == "A better title"
        assert case_study.region == "Pacific Library Partnership"  # the library's, by default
    else:
        with pytest.raises(NotAllowed):
            case_studies.update(case_study, values, person(cast, role))


def test_a_librarian_creates_only_for_their_own_library(ctx, cast):
    values = {"title": "Ours"}
    library = db.session.get(Library, cast["library"])
    made = case_studies.create(library, values, person(cast, "author"))
    assert made.status == Status.DRAFT and made.region == "Pacific Library Partnership"
    assert case_studies.create(library, values, person(cast, "staff")).library_id == library.id
    for role in ("mentor", "other_pilot", "state"):
        with pytest.raises(NotAllowed):
            case_studies.create(library, values, person(cast, role))


# Who sees drafts ---------------------------------------------------------------------

SEES_DRAFTS = {"staff": 200, "author": 200, "mentor": 200, "other_pilot": 404,
               "unpaired_mentor": 404, "state": 404}  # fmt: skip


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("status", list(Status))
def test_drafts_are_seen_by_the_library_its_mentor_and_staff(client, app, cast, role, status):
    with app.app_context():
        case_study_id = make_case_study(cast, status, title="Our secret draft").id
    sign_in(client, cast, role)
    response = client.get(f"/case-studies/{case_study_id}")
    expected = 200 if status == Status.PUBLISHED else SEES_DRAFTS[role]
    assert response.status_code == expected
    page = response.get_data(as_text=True)
    assert ("Our secret draft" in page) == (expected == 200)
    listed = client.get("/case-studies/").get_data(as_text=True)
    assert ("Our secret draft" in listed) == (expected == 200)
    csv = client.get("/case-studies/?format=csv&part=drafts").get_data(as_text=True)
    csv += client.get("/case-studies/?format=csv").get_data(as_text=True)
    assert ("Our secret draft" in csv) == (expected == 200)


def test_the_list_filters_by_tag(client, app, cast):
    with app.app_context():
        make_case_study(cast, Status.PUBLISHED, title="Digital story", card_model="digital only")
        make_case_study(cast, Status.PUBLISHED, title="Full story", card_model="full")
    sign_in(client, cast, "state")
    page = client.get("/case-studies/?card_model=full").get_data(as_text=True)
    assert "Full story" in page and "Digital story" not in page


@pytest.mark.parametrize(
    ("role", "path", "expected"),
    [
        ("state", "/case-studies/new", 403),
        ("mentor", "/case-studies/{id}/edit", 404),
        ("other_pilot", "/case-studies/{id}/edit", 404),
        ("author", "/case-studies/{id}/edit", 200),
        ("author", "/case-studies/new", 200),
    ],
)
def test_the_forms_are_for_the_authors_and_staff(client, app, cast, role, path, expected):
    with app.app_context():
        case_study_id = make_case_study(cast).id
    sign_in(client, cast, role)
    assert client.get(path.format(id=case_study_id)).status_code == expected


@pytest.mark.parametrize("action", ["submit", "publish", "send-back", "withdraw"])
def test_workflow_buttons_answer_404_to_those_who_cannot_see_the_draft(client, app, cast, action):
    with app.app_context():
        case_study_id = make_case_study(cast, Status.IN_REVIEW).id
    sign_in(client, cast, "other_pilot")
    response = client.submit(f"/case-studies/{case_study_id}/{action}", {"send-back-reason": "x"})
    assert response.status_code in (403, 404)
    with app.app_context():
        assert db.session.get(CaseStudy, case_study_id).status == Status.IN_REVIEW


def test_a_new_case_study_with_no_title_comes_back_with_the_error(client, app, cast):
    sign_in(client, cast, "author")
    response = client.submit("/case-studies/new", {"title": "", "body": "Text"})
    assert response.status_code == 400
    assert "Give the case study a title." in response.get_data(as_text=True)
    with app.app_context():
        assert row_count(CaseStudy) == 0


# The whole round, with emails --------------------------------------------------------


def test_write_submit_comment_publish_with_emails_to_the_people_concerned(
    client, app, cast, mailbox
):
    sign_in(client, cast, "author")
    response = client.submit(
        "/case-studies/new", {"title": "Two districts", "summary": "S", "body": "### Hi"}
    )
    assert response.status_code == 302
    url = response.headers["Location"]
    assert client.submit(url + "/submit").status_code == 302
    assert len(mailbox.messages) == 1
    submitted = mailbox.messages[0]
    recipients = set(submitted["To"].split(", "))
    assert recipients == {"staff@cs.example", "mentor@berkeley.example"}
    assert "Two districts" in submitted["Subject"]

    client.submit("/logout")
    sign_in(client, cast, "mentor")
    response = client.submit(url + "/comments", {"body": "Add **dates**, please."})
    assert response.status_code == 302
    assert "<strong>dates</strong>" in client.get(url).get_data(as_text=True)

    client.submit("/logout")
    sign_in(client, cast, "staff")
    mailbox.messages.clear()
    assert client.submit(url + "/publish").status_code == 302
    published = mailbox.messages[0]
    assert set(published["To"].split(", ")) == {
        "author@hayward.example",
        "colleague@hayward.example",
    }
    assert "published" in published["Subject"]
    client.submit("/logout")
    sign_in(client, cast, "other_pilot")
    assert "Two districts" in client.get("/case-studies/").get_data(as_text=True)


def test_send_back_without_a_reason_shows_the_error_and_sends_nothing(client, app, cast, mailbox):
    with app.app_context():
        case_study_id = make_case_study(cast, Status.IN_REVIEW).id
    sign_in(client, cast, "staff")
    response = client.submit(f"/case-studies/{case_study_id}/send-back", {"send-back-reason": ""})
    assert response.status_code == 400
    assert "Say what the authors should change." in response.get_data(as_text=True)
    assert mailbox.messages == []
    response = client.submit(
        f"/case-studies/{case_study_id}/send-back", {"send-back-reason": REASON}
    )
    assert response.status_code == 302
    assert REASON in mailbox.messages[0].get_payload(decode=True).decode()
    with app.app_context():
        case_study = db.session.get(CaseStudy, case_study_id)
        assert (case_study.status, case_study.sent_back_reason) == (Status.SENT_BACK, REASON)


def test_posts_without_the_csrf_token_are_refused(client, app, cast):
    with app.app_context():
        case_study_id = make_case_study(cast, Status.IN_REVIEW).id
    sign_in(client, cast, "staff")
    assert client.client.post(f"/case-studies/{case_study_id}/publish").status_code == 400
    comment = client.client.post(f"/case-studies/{case_study_id}/comments", data={"body": "x"})
    assert comment.status_code == 400
    with app.app_context():
        assert db.session.get(CaseStudy, case_study_id).status == Status.IN_REVIEW
        assert row_count(CaseStudyComment) == 0


# Comments ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status", "allowed"),
    [
        ("mentor", Status.IN_REVIEW, True),
        ("staff", Status.DRAFT, True),
        ("author", Status.IN_REVIEW, True),
        ("state", Status.PUBLISHED, False),  # state officials read, they change nothing
        ("other_pilot", Status.PUBLISHED, True),
        ("other_pilot", Status.IN_REVIEW, False),
        ("state", Status.IN_REVIEW, False),
    ],
)
def test_who_may_comment(ctx, cast, role, status, allowed):
    case_study = make_case_study(cast, status)
    if allowed:
        comment = case_studies.add_comment(case_study, "Nice.", person(cast, role))
        assert comment.author_id == cast[role]
    else:
        with pytest.raises(NotAllowed):
            case_studies.add_comment(case_study, "Nice.", person(cast, role))


def test_replies_are_one_level_deep_and_stay_on_their_case_study(ctx, cast):
    mentor, author = person(cast, "mentor"), person(cast, "author")
    case_study, other = make_case_study(cast), make_case_study(cast, title="Another")
    top = case_studies.add_comment(case_study, "Question?", mentor)
    reply = case_studies.add_comment(case_study, "Answer.", author, parent=top)
    db.session.commit()
    with pytest.raises(ValidationError):
        case_studies.add_comment(case_study, "Deeper", mentor, parent=reply)
    with pytest.raises(ValidationError):
        case_studies.add_comment(other, "Elsewhere", mentor, parent=top)
    threads = case_study_service.threads(case_study)
    assert [(t.comment.id, [r.id for r in t.replies]) for t in threads] == [(top.id, [reply.id])]


def test_the_author_edits_a_comment_for_15_minutes_only(ctx, cast):
    mentor = person(cast, "mentor")
    comment = case_studies.add_comment(make_case_study(cast), "Frist!", mentor)
    db.session.commit()
    posted = comment.created_at
    case_studies.edit_comment(comment, "First!", mentor, now=posted + timedelta(minutes=14))
    assert comment.body == "First!" and comment.edited_at == posted + timedelta(minutes=14)
    with pytest.raises(NotAllowed, match="15 minutes"):
        case_studies.edit_comment(comment, "Later", mentor, now=posted + timedelta(minutes=16))
    with pytest.raises(NotAllowed):
        case_studies.edit_comment(comment, "Not mine", person(cast, "staff"))


def test_an_old_comment_cannot_be_edited_through_the_page(client, app, cast):
    with app.app_context():
        case_study = make_case_study(cast)
        comment = CaseStudyComment(
            case_study_id=case_study.id,
            author_id=cast["mentor"],
            body="Old words",
            created_at=datetime.now(UTC) - timedelta(minutes=20),
        )
        db.session.add(comment)
        db.session.commit()
        comment_id, case_study_id = comment.id, case_study.id
    sign_in(client, cast, "mentor")
    assert "Change your comment" not in client.get(f"/case-studies/{case_study_id}").text
    response = client.submit(f"/case-studies/comments/{comment_id}/edit", {"body": "New words"})
    assert response.status_code == 400
    assert "15 minutes after it is posted" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(CaseStudyComment, comment_id).body == "Old words"
    client.submit("/logout")
    sign_in(client, cast, "author")  # someone else's comment: not found
    assert client.get(f"/case-studies/comments/{comment_id}/edit").status_code == 404


def test_a_fresh_comment_is_edited_through_the_page(client, app, cast):
    with app.app_context():
        case_study_id = make_case_study(cast).id
    sign_in(client, cast, "mentor")
    client.submit(f"/case-studies/{case_study_id}/comments", {"body": "Typo hree"})
    with app.app_context():
        comment_id = db.session.scalar(sa.select(CaseStudyComment.id))
    assert "Change your comment" in client.get(f"/case-studies/{case_study_id}").text
    response = client.submit(f"/case-studies/comments/{comment_id}/edit", {"body": "Typo here"})
    assert response.status_code == 302
    page = client.get(f"/case-studies/{case_study_id}").get_data(as_text=True)
    assert "Typo here" in page and "edited" in page


def test_staff_hide_a_comment_with_a_reason_and_never_delete_it(client, app, cast):
    with app.app_context():
        case_study = make_case_study(cast, Status.PUBLISHED)
        comment = case_studies.add_comment(case_study, "Rude words", person(cast, "other_pilot"))
        db.session.commit()
        case_study_id, comment_id = case_study.id, comment.id
    hide = f"/case-studies/comments/{comment_id}/hide"
    sign_in(client, cast, "author")
    assert client.submit(hide, {f"hide{comment_id}-reason": "No."}).status_code == 403
    client.submit("/logout")
    sign_in(client, cast, "staff")
    response = client.submit(hide, {f"hide{comment_id}-reason": ""})
    assert response.status_code == 400
    assert "Say why the comment is hidden" in response.get_data(as_text=True)
    reason = "Personal remarks about a colleague."
    assert client.submit(hide, {f"hide{comment_id}-reason": reason}).status_code == 302
    staff_page = client.get(f"/case-studies/{case_study_id}").get_data(as_text=True)
    assert f"Hidden by program staff: {reason}" in staff_page and "Rude words" in staff_page
    assert client.submit(f"/case-studies/comments/{comment_id}/delete").status_code in (404, 405)
    client.submit("/logout")
    sign_in(client, cast, "mentor")
    page = client.get(f"/case-studies/{case_study_id}").get_data(as_text=True)
    assert f"Hidden by program staff: {reason}" in page and "Rude words" not in page
    client.submit("/logout")
    sign_in(client, cast, "staff")
    client.submit(f"/case-studies/comments/{comment_id}/unhide")
    with app.app_context():
        comment = db.session.get(CaseStudyComment, comment_id)
        assert not comment.hidden and comment.body == "Rude words"
        actions = db.session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)).all()
        assert actions[-2:] == ["hide comment", "show comment"]


def test_only_staff_moderate(ctx, cast):
    comment = case_studies.add_comment(make_case_study(cast), "Hm", person(cast, "mentor"))
    for role in ("author", "mentor", "state"):
        with pytest.raises(NotAllowed):
            case_studies.hide_comment(comment, "Because", person(cast, role))
    with pytest.raises(ValidationError):
        case_studies.hide_comment(comment, "", person(cast, "staff"))


# Sanitising --------------------------------------------------------------------------

XSS = [
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "[click me](javascript:alert(1))",
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="jav&#x09;ascript:alert(1)">click</a>',
    '<iframe src="https://evil.example"></iframe>',
    '<p onclick="alert(1)">click</p>',
    '<svg onload="alert(1)"><circle r="1"/></svg>',
    '<p style="background:url(javascript:alert(1))">styled</p>',
    '<div style="position:fixed;top:0">overlay</div>',
    '<body onload="alert(1)">',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></math>",
    '<form action="javascript:alert(1)"><button>go</button></form>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data</a>',
    "<scr<script>ipt>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    '<details open ontoggle="alert(1)">',
]


@pytest.mark.parametrize("payload", XSS)
def test_markdown_never_keeps_script_handlers_or_frames(payload):
    assert unsafe_markup(str(render_markdown(payload))) == []


def _user_parts(page: str) -> str:
    """The parts of the page that hold what people wrote."""
    parts = re.findall(
        r'<div class="(?:case-study-body|comment-body)">(.*?)</div>', page, re.DOTALL
    )
    assert parts, "no user text on the page"
    return "\n".join(parts)


def test_payloads_in_a_body_and_in_comments_are_sanitised_on_the_page(client, app, cast):
    everything = "\n\n".join(XSS)
    with app.app_context():
        case_study = make_case_study(cast, Status.PUBLISHED, body=everything)
        for payload in XSS:
            case_studies.add_comment(case_study, payload, person(cast, "mentor"))
        db.session.commit()
        case_study_id = case_study.id
    sign_in(client, cast, "mentor")
    page = client.get(f"/case-studies/{case_study_id}").get_data(as_text=True)
    assert page.count('class="comment-body"') == len(XSS)
    assert unsafe_markup(_user_parts(page)) == []
    assert "styled" in page and "overlay" in page  # the text stays, the attributes go


# Search and figures ------------------------------------------------------------------


def test_toolkit_search_finds_published_case_studies_and_never_drafts(client, app, cast):
    with app.app_context():
        published = make_case_study(cast, Status.PUBLISHED, title="Zanzibar published story")
        make_case_study(cast, Status.IN_REVIEW, title="Zanzibar draft story")
        url = f"/case-studies/{published.id}"
    sign_in(client, cast, "author")  # the authors see their draft, but search never does
    page = client.get("/toolkit/search?q=zanzibar").get_data(as_text=True)
    assert "Zanzibar published story" in page and f'href="{url}"' in page
    assert "Zanzibar draft story" not in page
    assert "case study" in page


def test_the_page_quotes_the_library_figures_to_date(client, app, cast):
    with app.app_context():
        library = db.session.get(Library, cast["library"])
        partnership = partnerships.create_partnership(
            library,
            {"district_id": make_district(name="Hayward Unified").id},
            date(2025, 1, 1),
            None,
        )
        for start, end, digital in ((date(2025, 8, 1), date(2026, 6, 30), 500),
                                    (date(2026, 8, 1), date(2026, 10, 31), 100)):  # fmt: skip
            outcomes.add_report(
                partnership,
                {
                    "period_start": start,
                    "period_end": end,
                    "students_enrolled": 1000,
                    "physical_cards": 0,
                    "digital_cards": digital,
                    "students_using_cards": None,
                    "explanation": "",
                },  # fmt: skip
                date(2026, 11, 25),
                None,
            )
        # A second district with nothing reported yet: neither the page nor its CSV lists it.
        partnerships.create_partnership(
            library, {"district_id": make_district(name="San Lorenzo Unified").id},
            date(2026, 10, 1), None,
        )  # fmt: skip
        db.session.commit()
        case_study_id = make_case_study(cast, Status.PUBLISHED).id
    sign_in(client, cast, "other_pilot")
    page = client.get(f"/case-studies/{case_study_id}").get_data(as_text=True)
    assert "600 student cards for 1,000 students enrolled (60.0% coverage)" in page
    assert "Hayward Unified" in page
    csv = client.get(f"/case-studies/{case_study_id}/figures.csv").get_data(as_text=True)
    assert "Hayward Unified,1000,600,600,0,,60.0" in csv
    assert "San Lorenzo Unified" not in page and "San Lorenzo Unified" not in csv
