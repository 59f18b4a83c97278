"""The case-study workflow as people use it: who may act (`access.may`, the one place
for access rules), then what the state allows and what is recorded
(`services.case_studies`). The views call these; a refusal is a `NotAllowed` whose
message the page shows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...access import COMMENT, CREATE, EDIT, MODERATE, REVIEW, may
from ...models import CaseStudy, CaseStudyComment, Library, User
from ...services import case_studies as service
from ...services.errors import NotAllowed


def _check(actor: User | None, action: str, target: Any, refusal: str) -> None:
    if not may(actor, action, target):
        raise NotAllowed(refusal)


def create(library: Library, values: dict[str, Any], actor: User) -> CaseStudy:
    _check(actor, CREATE, CaseStudy(library_id=library.id), "You can only write for your library.")
    return service.create(library, values, actor)


def update(case_study: CaseStudy, values: dict[str, Any], actor: User) -> CaseStudy:
    _check(actor, EDIT, case_study, "Only the library's people and staff change a case study.")
    return service.update(case_study, values, actor)


def _check_transition(case_study: CaseStudy, transition: service.Transition, actor: User):
    if transition.by_staff:
        refusal = "Only program staff publish, send back or withdraw case studies."
        _check(actor, REVIEW, case_study, refusal)
    else:
        _check(actor, EDIT, case_study, "Only the library's people and staff submit a case study.")


def submit(case_study: CaseStudy, actor: User, now: datetime | None = None) -> CaseStudy:
    _check_transition(case_study, service.SUBMIT, actor)
    return service.submit(case_study, actor, now)


def publish(case_study: CaseStudy, actor: User, now: datetime | None = None) -> CaseStudy:
    _check_transition(case_study, service.PUBLISH, actor)
    return service.publish(case_study, actor, now)


def send_back(case_study: CaseStudy, reason: str, actor: User) -> CaseStudy:
    _check_transition(case_study, service.SEND_BACK, actor)
    return service.send_back(case_study, reason, actor)


def withdraw(case_study: CaseStudy, reason: str, actor: User) -> CaseStudy:
    _check_transition(case_study, service.WITHDRAW, actor)
    return service.withdraw(case_study, reason, actor)


def add_comment(
    case_study: CaseStudy, body: str, actor: User, parent: CaseStudyComment | None = None
) -> CaseStudyComment:
    _check(actor, COMMENT, case_study, "You cannot comment on this case study.")
    return service.add_comment(case_study, body, actor, parent)


def edit_comment(
    comment: CaseStudyComment, body: str, actor: User, now: datetime | None = None
) -> CaseStudyComment:
    _check(actor, EDIT, comment, "Only the person who wrote a comment can change it.")
    return service.edit_comment(comment, body, actor, now)


def hide_comment(comment: CaseStudyComment, reason: str, actor: User) -> CaseStudyComment:
    _check(actor, MODERATE, comment, "Only program staff hide comments.")
    return service.hide_comment(comment, reason, actor)


def unhide_comment(comment: CaseStudyComment, actor: User) -> CaseStudyComment:
    _check(actor, MODERATE, comment, "Only program staff show hidden comments again.")
    return service.unhide_comment(comment, actor)
