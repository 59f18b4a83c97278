"""Who may do what, in one place.

`may(user, action, target)` answers every access question; `target` is a model class
(for lists and "create") or an object. Views never decide access themselves: they use
`require(action, Model)` on the route and `get_or_404(Model, id, action)` for objects.
Someone who may not see an object gets 404, so ids reveal nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort
from flask_login import current_user, login_required
from sqlalchemy.orm import aliased

from .extensions import db
from .models import (
    ActionItem,
    Agreement,
    ApiToken,
    AuditEvent,
    CaseStudy,
    CaseStudyComment,
    CaseStudyStatus,
    CheckIn,
    Cohort,
    CommitmentLetter,
    LetterSigner,
    Library,
    Milestone,
    MilestoneTemplate,
    OutboxMessage,
    OutcomeReport,
    Pairing,
    PairingStatus,
    Participation,
    Partnership,
    Role,
    SchoolDistrict,
    TemplateStep,
    User,
)

T = TypeVar("T")


# Markers: things access rules name that are not rows. The rollup page's figures and
# the toolkit's pages are computed or read from files, so they have no model class;
# views name these in `require(...)`.
class Rollup:
    """The statewide figures."""


class ToolkitPage:
    """A page of the Implementation Toolkit."""


class HelpGuide:
    """A page of the Help guide (help_content/)."""


def paired_library_ids(library_id: int) -> set[int]:
    """Libraries actively paired with this one, either way round (they see each
    other's work: mentor and pilot work together)."""
    pilot, mentor = aliased(Participation), aliased(Participation)
    rows = db.session.execute(
        sa.select(pilot.library_id, mentor.library_id)
        .select_from(Pairing)
        .join(pilot, Pairing.pilot_participation_id == pilot.id)
        .join(mentor, Pairing.mentor_participation_id == mentor.id)
        .where(
            Pairing.status == PairingStatus.ACTIVE,
            sa.or_(pilot.library_id == library_id, mentor.library_id == library_id),
        )
    )
    return {other for row in rows for other in row} - {library_id}


def mentored_library_ids(library_id: int) -> set[int]:
    """The pilot libraries this library actively mentors (one way only)."""
    pilot, mentor = aliased(Participation), aliased(Participation)
    return set(
        db.session.scalars(
            sa.select(pilot.library_id)
            .select_from(Pairing)
            .join(pilot, Pairing.pilot_participation_id == pilot.id)
            .join(mentor, Pairing.mentor_participation_id == mentor.id)
            .where(Pairing.status == PairingStatus.ACTIVE, mentor.library_id == library_id)
        )
    )


VIEW, LIST, CREATE, EDIT, DEACTIVATE = "view", "list", "create", "edit", "deactivate"
COMMENT = "comment"
CALENDAR = "calendar"  # manage one's own calendar (ICS) feed
CHECK_IN = "check in"  # log a check-in, change the cadence
REVIEW = "review"  # publish a case study, send it back, withdraw it
MODERATE = "moderate"  # hide a comment, or show it again
FIGURES = "figures"  # a library's program figures: the rollup drill-down, the annual report


# A rule gets the object, or None when the question is about the kind ("may this
# person open library pages at all?"): the route answers 403, the object 404.
def _staff(user: User, obj: Any) -> bool:
    return user.role == Role.STAFF


def _library_id_of(obj: Any) -> int:
    return obj.id if isinstance(obj, Library) else obj.library_id


def _own_or_paired_library(user: User, obj: Any) -> bool:
    """Staff; or a librarian of the library the object belongs to, or of a paired one."""
    if user.role == Role.STAFF:
        return True
    if user.role not in (Role.PILOT, Role.MENTOR):
        return False
    if obj is None or user.library_id == _library_id_of(obj):
        return True
    return _library_id_of(obj) in paired_library_ids(user.library_id)


def _side_of_pairing(user: User, obj: Any) -> bool:
    """Staff; or a librarian of the pilot or the mentor library of a published pairing.

    `obj` is the pairing, one of its check-ins or one of their action items.
    """
    if user.role == Role.STAFF:
        return True
    if user.role not in (Role.PILOT, Role.MENTOR):
        return False
    if obj is None:
        return True
    if isinstance(obj, ActionItem):
        obj = obj.check_in
    pairing = obj.pairing if isinstance(obj, CheckIn) else obj
    if pairing.status == PairingStatus.PROPOSED:  # staff have not published it yet
        return False
    return user.library_id in (pairing.pilot.library_id, pairing.mentor.library_id)


def _own_library(user: User, obj: Any) -> bool:
    """Staff; or a librarian of the library the object belongs to (changes stay in-house)."""
    if user.role == Role.STAFF:
        return True
    if user.role not in (Role.PILOT, Role.MENTOR):
        return False
    return obj is None or user.library_id == _library_id_of(obj)


def _staff_or_state(user: User, obj: Any) -> bool:
    """Program staff and state officials: the statewide figures."""
    return user.role in (Role.STAFF, Role.STATE)


def _state_or_own_library(user: User, obj: Any) -> bool:
    """State officials, staff, or the library's own librarians (its own figures)."""
    return user.role == Role.STATE or _own_library(user, obj)


def _anyone(user: User, obj: Any) -> bool:
    """Every signed-in person (the toolkit is for the whole program)."""
    return True


def _published_or_own_or_mentor(user: User, obj: Any) -> bool:
    """A published case study: everyone signed in; an unpublished one: its library's
    people, its mentor library and staff (a mentor library's drafts are not its pilots')."""
    if obj is None or obj.status == CaseStudyStatus.PUBLISHED or _own_library(user, obj):
        return True
    if user.role not in (Role.PILOT, Role.MENTOR):
        return False
    return _library_id_of(obj) in mentored_library_ids(user.library_id)


def _comment_on_story(user: User, obj: Any) -> bool:
    """Who may read it, except state officials: they read the program, they change nothing,
    and they never see comments (nor their authors); so this also says who reads them."""
    return user.role != Role.STATE and _published_or_own_or_mentor(user, obj)


def _comment_author(user: User, obj: Any) -> bool:
    """The person who wrote the comment (on a case study they can still see)."""
    return obj is None or (
        obj.author_id == user.id and _published_or_own_or_mentor(user, obj.case_study)
    )


def _reply_to(user: User, obj: Any) -> bool:
    """Who may comment on the comment's case study may reply to the comment."""
    return _comment_on_story(user, obj.case_study if obj is not None else None)


def _oneself(user: User, obj: Any) -> bool:
    """Any signed-in person, about their own account."""
    return obj is None or obj.id == user.id


# (kind of target, action) -> rule. What is not listed is refused.
RULES: dict[tuple[type, str], Callable[[User, Any], bool]] = {
    (Library, LIST): _staff,
    (Library, CREATE): _staff,
    (Library, VIEW): _own_or_paired_library,
    (Library, EDIT): _staff,
    (Library, DEACTIVATE): _staff,
    (SchoolDistrict, LIST): _staff,
    (SchoolDistrict, CREATE): _staff,
    (SchoolDistrict, VIEW): _staff,
    (SchoolDistrict, EDIT): _staff,
    (SchoolDistrict, DEACTIVATE): _staff,
    (Cohort, LIST): _staff,
    (Cohort, CREATE): _staff,
    (Cohort, VIEW): _staff,
    (Cohort, EDIT): _staff,
    (Cohort, DEACTIVATE): _staff,
    (Participation, VIEW): _own_or_paired_library,
    (Participation, CREATE): _staff,
    (Participation, EDIT): _staff,
    (Participation, DEACTIVATE): _staff,
    (User, LIST): _staff,
    (User, CREATE): _staff,
    (User, VIEW): _staff,
    (User, EDIT): _staff,
    (User, DEACTIVATE): _staff,
    (User, CALENDAR): _oneself,  # every role has a feed of its own
    (AuditEvent, LIST): _staff,
    (ToolkitPage, VIEW): _anyone,
    (HelpGuide, VIEW): _anyone,  # every guide, so a pilot can read how staff pair them
    (Rollup, LIST): _staff_or_state,
    (Library, FIGURES): _state_or_own_library,
    (Pairing, EDIT): _staff,
    # Check-ins: both sides of a pairing (and staff) see them, log them, set the cadence
    # and tick action items done; other libraries get 404, state officials 403.
    (Pairing, VIEW): _side_of_pairing,
    (Pairing, CHECK_IN): _side_of_pairing,
    (ActionItem, EDIT): _side_of_pairing,
    # A library's school partners, agreements and letter: its own people and staff
    # change them; its paired mentor or pilot reads them; state officials see the
    # figures in the rollup, never these pages (they hold contact details).
    (Partnership, VIEW): _own_or_paired_library,
    (Partnership, CREATE): _own_library,
    (Partnership, EDIT): _own_library,
    (Partnership, DEACTIVATE): _own_library,
    (Agreement, VIEW): _own_or_paired_library,
    (Agreement, CREATE): _own_library,
    (Agreement, EDIT): _own_library,
    (Agreement, LIST): _staff,  # the statewide "expiring soon" list
    (OutcomeReport, CREATE): _own_library,
    (OutcomeReport, EDIT): _own_library,
    # The timeline: the pilot's people change it; the paired mentor reads and comments.
    (Milestone, VIEW): _own_or_paired_library,
    (Milestone, EDIT): _own_library,
    (Milestone, COMMENT): _own_or_paired_library,
    (Milestone, LIST): _staff,  # the at-risk list across all pilots
    (MilestoneTemplate, EDIT): _staff,
    (TemplateStep, EDIT): _staff,
    (OutboxMessage, LIST): _staff,  # reminder emails: pending, sent, failed
    (OutboxMessage, EDIT): _staff,  # send a failed one again
    (CommitmentLetter, VIEW): _own_or_paired_library,
    (CommitmentLetter, EDIT): _own_library,
    (LetterSigner, EDIT): _own_library,
    # Case studies: the library's people (and staff) write and submit them; staff review
    # them; everyone signed in reads and comments on published ones, and drafts stay
    # with the library, its mentor and staff.
    (CaseStudy, LIST): _anyone,
    (CaseStudy, VIEW): _published_or_own_or_mentor,
    (CaseStudy, COMMENT): _comment_on_story,
    (CaseStudy, CREATE): _own_library,
    (CaseStudy, EDIT): _own_library,  # revise and submit
    (CaseStudy, REVIEW): _staff,
    (CaseStudyComment, EDIT): _comment_author,
    (CaseStudyComment, COMMENT): _reply_to,  # reply to it
    (CaseStudyComment, MODERATE): _staff,
    # Tokens for the read-only JSON API: staff issue them, see them and revoke them.
    (ApiToken, LIST): _staff,
    (ApiToken, VIEW): _staff,
    (ApiToken, CREATE): _staff,
    (ApiToken, DEACTIVATE): _staff,
}


def may(user: Any, action: str, target: Any) -> bool:
    if user is None or not getattr(user, "is_authenticated", False) or not user.active:
        return False
    kind, obj = (target, None) if isinstance(target, type) else (type(target), target)
    rule = RULES.get((kind, action))
    return bool(rule and rule(user, obj))


def require(action: str, kind: type) -> Callable:
    """Route decorator: signed in, and allowed `action` on `kind` (else 403)."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not may(current_user, action, kind):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


# What a person may do with an object in its present state: the role rule above and
# the state the object is in, decided here so pages offer only what will be accepted.
def may_log_check_in(user: Any, pairing: Pairing) -> bool:
    """Check-ins are logged while the pairing is active (not proposed, not ended)."""
    return pairing.status == PairingStatus.ACTIVE and may(user, CHECK_IN, pairing)


def may_propose_mentor(current: Pairing | None, mentor_id: int, places_left: int) -> bool:
    """Staff may propose a mentor with a place left instead of the pilot's open proposal;
    an active pairing is ended first, and the mentor already proposed is not offered."""
    if places_left <= 0:
        return False
    return current is None or (
        current.status == PairingStatus.PROPOSED and current.mentor_participation_id != mentor_id
    )


def case_study_choices(user: Any, case_study: CaseStudy) -> dict[str, bool]:
    """The workflow steps the person may take on the case study as it stands."""
    author, reviewer = may(user, EDIT, case_study), may(user, REVIEW, case_study)
    return {
        "edit": author and case_study.editable,
        "submit": author and case_study.submittable,
        "publish": reviewer and case_study.status == CaseStudyStatus.IN_REVIEW,
        "send_back": reviewer and case_study.status == CaseStudyStatus.IN_REVIEW,
        "withdraw": reviewer and case_study.status == CaseStudyStatus.PUBLISHED,
        "comment": may(user, COMMENT, case_study),
        "moderate": may(user, MODERATE, CaseStudyComment),
    }


def visible_case_study_drafts(user: User) -> Any:
    """The condition for the unpublished case studies `user` may see (None: none):
    their library's and those of the pilots it mentors; all for staff. A mentor
    library's drafts are not its pilots' to read."""
    if user.role == Role.STAFF:
        return sa.true()
    if user.role in (Role.PILOT, Role.MENTOR) and user.library_id:
        ids = {user.library_id} | mentored_library_ids(user.library_id)
        return CaseStudy.library_id.in_(ids)
    return None


MAX_ID = 2**31 - 1  # ids are INTEGER columns (the API's page numbers keep to it too)


def valid_id(value: int | None) -> int | None:
    """An id read from a request, or None when no row could have it (a larger number
    cannot even be compared with an id column: SQLite and PostgreSQL both fail)."""
    return value if value is not None and 0 < value <= MAX_ID else None


def get_or_404(kind: type[T], object_id: int, action: str = VIEW) -> T:
    """Load an object the current user may `action`, or answer 404."""
    if valid_id(object_id) is None:
        abort(404)
    obj = db.session.get(kind, object_id)
    if obj is None or not may(current_user, action, obj):
        abort(404)
    return obj
