"""Case studies: what a library learned, written by its people, published by staff.

The workflow is draft → in review → published, with "sent back" (staff ask for changes,
with a reason) between review and a new submission. Who may act is decided above this
layer (`blueprints/case_studies/operations.py` asks `access.may`, the one place for
access rules); this module decides what the state allows, audits every change and says
whom to email. Comments are threaded one level, editable
by their author for 15 minutes, and hidden by staff with a reason, never deleted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..extensions import db
from ..mail import Mail
from ..models import (
    CardModel,
    CaseStudy,
    CaseStudyComment,
    CaseStudyStatus,
    DistrictSize,
    Library,
    User,
)
from ..models.base import utcnow
from ..models.case_study import SUBMITTABLE
from . import audit, figures
from .errors import NotAllowed, ValidationError
from .figures import Figures
from .libraries import active_staff, people_of_libraries
from .pairing import active_pairings_of_library, people_to_tell

Status = CaseStudyStatus
COMMENT_EDIT_WINDOW = timedelta(minutes=15)
FIELDS = ("title", "summary", "body", "card_model", "district_size", "region")


@dataclass(frozen=True)
class Transition:
    name: str  # the audit action
    done: str  # in a sentence: "was published"
    from_states: frozenset[Status]
    to: Status
    by_staff: bool  # a review decision (staff), or the authors' step
    needs_reason: bool = False


SUBMIT = Transition("submit", "submitted", SUBMITTABLE, Status.IN_REVIEW, by_staff=False)
PUBLISH = Transition(
    "publish", "published", frozenset({Status.IN_REVIEW}), Status.PUBLISHED, by_staff=True
)
SEND_BACK = Transition(
    "send back",
    "sent back",
    frozenset({Status.IN_REVIEW}),
    Status.SENT_BACK,
    by_staff=True,
    needs_reason=True,
)
# Staff take a published case study down again (an error found later): back to its
# authors with the reason, as if sent back.
WITHDRAW = Transition(
    "withdraw",
    "withdrawn",
    frozenset({Status.PUBLISHED}),
    Status.SENT_BACK,
    by_staff=True,
    needs_reason=True,
)


# Writing -----------------------------------------------------------------------------


def create(library: Library, values: dict[str, Any], actor: User) -> CaseStudy:
    """A new draft for `library` (a librarian's own library; staff: any)."""
    _check_values(values)
    case_study = CaseStudy(
        library_id=library.id,
        created_by_id=actor.id,
        status=Status.DRAFT,
        **{**values, "region": values.get("region") or library.cooperative_system or ""},
    )
    db.session.add(case_study)
    audit.record(actor, "create", case_study, {key: [None, values.get(key)] for key in FIELDS})
    return case_study


def update(case_study: CaseStudy, values: dict[str, Any], actor: User) -> CaseStudy:
    """Authors revise while it is a draft, in review or sent back; never once published."""
    if not case_study.editable:
        raise NotAllowed("A published case study cannot be changed; staff can withdraw it first.")
    _check_values(values)
    values = {**values, "region": values.get("region") or case_study.library.cooperative_system}
    changes = audit.apply_changes(case_study, values)
    if changes:
        audit.record(actor, "edit", case_study, changes)
    return case_study


def _check_values(values: dict[str, Any]) -> None:
    if not (values.get("title") or "").strip():
        raise ValidationError("Give the case study a title.", "title")


# The workflow ------------------------------------------------------------------------


def _move(
    case_study: CaseStudy,
    transition: Transition,
    actor: User,
    reason: str = "",
    now: datetime | None = None,
) -> CaseStudy:
    if case_study.status not in transition.from_states:
        raise NotAllowed(f"A case study that is {case_study.status} cannot be {transition.done}.")
    reason = (reason or "").strip()
    if transition.needs_reason and not reason:
        raise ValidationError("Say what the authors should change.", "reason")
    now = now or utcnow()
    before = {
        "status": case_study.status,
        "sent_back_reason": case_study.sent_back_reason,
        "submitted_at": case_study.submitted_at,
        "published_at": case_study.published_at,
    }
    case_study.status = transition.to
    case_study.sent_back_reason = reason
    if transition is SUBMIT:
        case_study.submitted_at = now
    case_study.published_at = now if transition is PUBLISH else None
    changes = {
        key: [old, getattr(case_study, key)]
        for key, old in before.items()
        if getattr(case_study, key) != old
    }
    audit.record(actor, transition.name, case_study, changes)
    return case_study


def submit(case_study: CaseStudy, actor: User, now: datetime | None = None) -> CaseStudy:
    """Authors send a draft (or a sent-back one, revised) to staff for review."""
    return _move(case_study, SUBMIT, actor, now=now)


def publish(case_study: CaseStudy, actor: User, now: datetime | None = None) -> CaseStudy:
    """Staff publish a case study in review: everyone signed in can read it."""
    return _move(case_study, PUBLISH, actor, now=now)


def send_back(case_study: CaseStudy, reason: str, actor: User) -> CaseStudy:
    """Staff return a case study in review to its authors, saying what to change."""
    return _move(case_study, SEND_BACK, actor, reason)


def withdraw(case_study: CaseStudy, reason: str, actor: User) -> CaseStudy:
    """Staff take a published case study down and back to its authors, with the reason."""
    return _move(case_study, WITHDRAW, actor, reason)


def notices(case_study: CaseStudy, transition: Transition, actor: User, url: str) -> list[Mail]:
    """The email a transition sends (after the commit): a submission goes to staff and the
    library's mentor librarians; a decision goes to the library's people. Never to the
    person who acted."""
    library = case_study.library
    if transition is SUBMIT:
        # Its mentors only: a mentor library's pilots do not read its drafts.
        mentored_by = [
            pairing
            for pairing in active_pairings_of_library(library.id)
            if pairing.pilot.library_id == library.id
        ]
        mentors = people_to_tell(mentored_by)
        people = active_staff() + [
            user for other, users in mentors.items() if other != library.id for user in users
        ]
        subject = f"Case study to review: {case_study.title}"
        text = f"{library.name} submitted the case study “{case_study.title}” for review."
    else:
        people = people_of_libraries({library.id})
        verb = transition.done
        subject = f"Your case study was {verb}: {case_study.title}"
        text = f"Program staff {verb} the case study “{case_study.title}” of {library.name}."
        if case_study.sent_back_reason:
            text += f"\n\nWhat to change:\n{case_study.sent_back_reason}"
    recipients = tuple(dict.fromkeys(u.email for u in people if u.id != actor.id))
    if not recipients:
        return []
    return [Mail(to=recipients, subject=subject, body=f"{text}\n\nRead it here: {url}\n")]


# Reading -----------------------------------------------------------------------------


def published_query(filters: dict[str, str]) -> sa.Select:
    """Published case studies, newest first, filtered by the tags given."""
    query = (
        sa.select(CaseStudy)
        .where(CaseStudy.status == Status.PUBLISHED)
        .options(joinedload(CaseStudy.library))
        .order_by(CaseStudy.published_at.desc(), CaseStudy.id.desc())
    )
    for tag, kind in (("card_model", CardModel), ("district_size", DistrictSize), ("region", str)):
        value = filters.get(tag)
        if not value:
            continue
        if kind is not str and value not in {member.value for member in kind}:
            # An address edited by hand: no case study has that tag (the enum column
            # cannot even be compared with it).
            return query.where(sa.false())
        query = query.where(getattr(CaseStudy, tag) == value)
    return query


def drafts_where(condition: Any) -> list[CaseStudy]:
    """Unpublished case studies that meet `condition` (access.visible_case_study_drafts:
    what the person may see; None: nothing)."""
    if condition is None:
        return []
    return db.session.scalars(
        sa.select(CaseStudy)
        .where(CaseStudy.status != Status.PUBLISHED, condition)
        .options(joinedload(CaseStudy.library))
        .order_by(CaseStudy.status, CaseStudy.title)
    ).all()


def published() -> list[CaseStudy]:
    return db.session.scalars(published_query({})).all()


def search_documents(url_of: Callable[[CaseStudy], str]) -> list[tuple[str, str, str, str]]:
    """Published case studies as the toolkit search's extra documents."""
    return [
        ("case study", url_of(cs), cs.title, f"{cs.summary}\n\n{cs.body}") for cs in published()
    ]


@dataclass(frozen=True)
class DistrictFigures:
    district: str
    figures: Figures


@dataclass(frozen=True)
class CaseStudyFigures:
    total: Figures
    rows: list[DistrictFigures]


def figures_of(library_id: int) -> CaseStudyFigures:
    """The library's figures to date (services.figures), computed now so a case study
    always quotes the latest: in all and per school district that has reported."""
    return CaseStudyFigures(
        figures.figures_of_library(library_id),
        [
            DistrictFigures(district, district_figures)
            for district, district_figures in figures.figures_by_district(library_id)
            if district_figures.reporting
        ],
    )


# Comments ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Thread:
    comment: CaseStudyComment
    replies: list[CaseStudyComment]


def threads(case_study: CaseStudy) -> list[Thread]:
    """Top-level comments in order, each with its replies, in one query."""
    comments = db.session.scalars(
        sa.select(CaseStudyComment)
        .where(CaseStudyComment.case_study_id == case_study.id)
        .options(joinedload(CaseStudyComment.author).joinedload(User.library))
        .order_by(CaseStudyComment.id)
    ).all()
    replies: dict[int, list[CaseStudyComment]] = {}
    for comment in comments:
        if comment.parent_id:
            replies.setdefault(comment.parent_id, []).append(comment)
    return [Thread(c, replies.get(c.id, [])) for c in comments if c.parent_id is None]


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ValidationError("Write a comment first.", "body")
    return body


def add_comment(
    case_study: CaseStudy, body: str, actor: User, parent: CaseStudyComment | None = None
) -> CaseStudyComment:
    """A comment, or a reply to a top-level comment of the same case study."""
    if parent is not None and (parent.case_study_id != case_study.id or parent.parent_id):
        raise ValidationError("Reply to a comment on this case study, not to a reply.")
    comment = CaseStudyComment(
        case_study=case_study,
        parent_id=parent.id if parent else None,
        author_id=actor.id,
        body=_clean_body(body),
    )
    db.session.add(comment)
    audit.record(actor, "comment", case_study, {"comment": [None, comment.body[:200]]})
    return comment


def may_still_edit(comment: CaseStudyComment, user: User, now: datetime | None = None) -> bool:
    return (
        comment.author_id == user.id
        and not comment.hidden
        and (now or utcnow()) - comment.created_at <= COMMENT_EDIT_WINDOW
    )


def edit_comment(
    comment: CaseStudyComment, body: str, actor: User, now: datetime | None = None
) -> CaseStudyComment:
    """The author corrects a comment within 15 minutes of posting it."""
    if comment.hidden:
        raise NotAllowed("Staff hid this comment; it cannot be changed.")
    now = now or utcnow()
    if now - comment.created_at > COMMENT_EDIT_WINDOW:
        raise NotAllowed(
            "A comment can be changed for 15 minutes after it is posted; this time has "
            "passed. Add a new comment instead."
        )
    body = _clean_body(body)
    if body != comment.body:
        audit.record(actor, "edit comment", comment.case_study, {"comment": [comment.body, body]})
        comment.body, comment.edited_at = body, now
    return comment


def hide_comment(comment: CaseStudyComment, reason: str, actor: User) -> CaseStudyComment:
    """Staff hide a comment (moderation) with a reason everyone sees; the text stays."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Say why the comment is hidden.", "reason")
    comment.hidden, comment.hidden_reason, comment.hidden_by_id = True, reason, actor.id
    audit.record(actor, "hide comment", comment.case_study, {"hidden": [False, reason]})
    return comment


def unhide_comment(comment: CaseStudyComment, actor: User) -> CaseStudyComment:
    if comment.hidden:
        audit.record(
            actor, "show comment", comment.case_study, {"hidden": [comment.hidden_reason, False]}
        )
        comment.hidden, comment.hidden_reason, comment.hidden_by_id = False, "", None
    return comment
