"""The audit log in plain words: "Priya Raman (Hayward Public Library) marked
'Commitment letter signed' done".

The rows keep their machine-readable form (model, id, column, old and new value); this
module turns them into sentences when they are shown: people and libraries by name,
values by their labels, never a model or column name or a raw id. Names are looked up
in one query per kind for a whole page of events.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from ..extensions import db
from ..models import (
    AuditEvent,
    Cohort,
    Library,
    Participation,
    PartnershipStage,
    Role,
    SchoolDistrict,
    User,
)

# What each kind of record is called.
NOUNS = {
    "ActionItem": "action item",
    "Agreement": "agreement",
    "ApiToken": "API token",
    "CaseStudy": "case study",
    "CaseStudyComment": "comment",
    "CheckIn": "check-in",
    "Cohort": "cohort",
    "CommitmentLetter": "commitment letter",
    "LetterSigner": "signer of the commitment letter",
    "Library": "library",
    "Milestone": "step",
    "MilestoneTemplate": "milestone plan",
    "OutboxMessage": "reminder email",
    "OutcomeReport": "outcome figures",
    "Pairing": "pairing",
    "Participation": "place in a cohort",
    "Partnership": "school partnership",
    "SchoolDistrict": "school district",
    "TemplateStep": "step of the plan",
    "User": "person",
}

# Fields whose name alone would read badly.
FIELD_WORDS = {
    "active": "active",
    "apply_to_running": "running pilots follow",
    "cds_code": "CDS code",
    "done_on": "done on",
    "due_on": "due date",
    "ils_name": "library system (ILS)",
    "month_offset": "month",
    "not_applicable_reason": "reason it does not apply",
    "revoked_at": "revoked",
    "url": "link",
}

# Id fields and the kind of record they point to (shown by its name).
ID_FIELDS: dict[str, type] = {
    "library_id": Library,
    "owner_library_id": Library,
    "cohort_id": Cohort,
    "district_id": SchoolDistrict,
    "stage_id": PartnershipStage,
    "user_id": User,
    "author_id": User,
    "logged_by_id": User,
    "created_by_id": User,
    "updated_by_id": User,
    "hidden_by_id": User,
    "revoked_by_id": User,
    "pilot_participation_id": Participation,
    "mentor_participation_id": Participation,
    "participation_id": Participation,
}

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


# Actions whose sentence says all without the changed values (so no names are looked up).
QUIET = {"create", "propose", "publish", "revoke", "end", "comment", "plan change"}


def _shows_changes(event: AuditEvent) -> bool:
    return event.action not in QUIET and not event.action.startswith(("done: ", "reopened: "))


@dataclass(frozen=True)
class Sentence:
    event: AuditEvent
    when: str  # in the program's time zone
    who: str
    text: str  # the whole sentence, who first


def _names(events: Sequence[AuditEvent]) -> dict[type, dict[int, str]]:
    """The names of every record the events' changes point to: one query per kind."""
    wanted: dict[type, set[int]] = defaultdict(set)
    for event in events:
        if not _shows_changes(event):
            continue
        for field, values in (event.changes or {}).items():
            kind = ID_FIELDS.get(field)
            if kind:
                wanted[kind].update(v for v in values if isinstance(v, int))
    names: dict[type, dict[int, str]] = {}
    for kind, ids in wanted.items():
        if kind is Participation:
            rows = db.session.execute(
                sa.select(Participation.id, Library.name, Cohort.name)
                .join(Library, Library.id == Participation.library_id)
                .join(Cohort, Cohort.id == Participation.cohort_id)
                .where(Participation.id.in_(ids))
            ).all()
            names[kind] = {pid: f"{library} in {cohort}" for pid, library, cohort in rows}
        else:
            rows = db.session.execute(sa.select(kind.id, kind.name).where(kind.id.in_(ids))).all()
            names[kind] = dict(rows)
    return names


def long_date(value: date) -> str:
    return value.strftime("%b %-d, %Y")


def local_time(value: datetime, zone: ZoneInfo) -> str:
    return value.astimezone(zone).strftime("%b %-d, %Y %-I:%M %p %Z")


def field_words(field: str) -> str:
    if field in FIELD_WORDS:
        return FIELD_WORDS[field]
    if field.endswith("_id"):
        field = field[:-3]
    return field.replace("_participation", "").replace("_", " ")


def value_words(field: str, value: Any, names: dict[type, dict[int, str]], zone: ZoneInfo) -> str:
    if value is None or value == "":
        return "nothing"
    kind = ID_FIELDS.get(field)
    if kind and isinstance(value, int):
        return names.get(kind, {}).get(
            value, f"a {NOUNS.get(kind.__name__, 'record')} since removed"
        )
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str):
        if _ISO_DATE.match(value):
            return long_date(date.fromisoformat(value))
        if _ISO_DATETIME.match(value):
            try:
                return local_time(datetime.fromisoformat(value), zone)
            except ValueError:
                return value
        return f"‘{value}’" if len(value) < 80 else f"‘{value[:77]}…’"
    return str(value)


def _who(event: AuditEvent) -> str:
    actor = event.actor
    if actor is None:
        return "The program"
    if actor.library is not None:
        return f"{actor.name} ({actor.library.name})"
    where = {Role.STAFF: "program staff", Role.STATE: "state official"}.get(actor.role)
    return f"{actor.name} ({where})" if where else actor.name


def _what(event: AuditEvent) -> str:
    noun = NOUNS.get(event.object_type, "record")
    label = event.object_label or ""
    # "Pairing 7" (what older rows were labelled): nothing to say but the kind.
    if not label or label == f"{event.object_type} {event.object_id or ''}".strip():
        return f"a {noun}"
    if event.object_type in ("Milestone", "TemplateStep"):
        return f"‘{label}’"
    if event.object_type == "MilestoneTemplate":
        return f"the {label[:1].lower()}{label[1:]}"
    return f"the {noun} ‘{label}’"


def _changes(event: AuditEvent, names, zone, skip=()) -> str:
    parts = []
    for field, (old, new) in (event.changes or {}).items():
        if field in skip:
            continue
        if field == "password":
            parts.append("a new password")
            continue
        words = field_words(field)
        new_words = value_words(field, new, names, zone)
        if old is None or old == "":
            parts.append(f"{words} set to {new_words}")
        else:
            parts.append(f"{words} from {value_words(field, old, names, zone)} to {new_words}")
    return "; ".join(parts)


def _done_on(event: AuditEvent, zone) -> str:
    new = (event.changes or {}).get("done_on", [None, None])[1]
    return f" on {value_words('done_on', new, {}, zone)}" if new else ""


def _sentence(event: AuditEvent, names, zone) -> str:
    what = _what(event)
    action = event.action
    changes = event.changes or {}
    status = changes.get("status", [None, None])[1]
    verbs: dict[str, Callable[[], str]] = {
        "create": lambda: f"added {what}",
        "deactivate": lambda: f"deactivated {what}",
        "reactivate": lambda: f"reactivated {what}",
        "comment": lambda: f"commented on {what}",
        "edit comment": lambda: f"changed a comment on {what}",
        "hide comment": lambda: f"hid a comment on {what}",
        "set password": lambda: f"set a new password for {what}",
        "revoke": lambda: f"revoked {what}",
        "propose": lambda: f"proposed {what}",
        "remove proposal": lambda: f"removed the proposal {what}",
        "publish": lambda: f"published {what}",
        "end": lambda: f"ended {what}",
        "add step": lambda: f"added a step to {what}",
        "remove step": lambda: f"removed a step from {what}",
        "letter signed": lambda: f"completed {what}: everyone needed has signed",
        "update signer": lambda: f"changed a signer of {what}",
        "remove signer": lambda: f"removed a signer from {what}",
        "plan change": lambda: f"brought {what} in line with the new plan",
    }
    if action == "update" and event.object_type == "Milestone" and status == "done":
        sentence = f"marked {what} done{_done_on(event, zone)}"
        rest = _changes(event, names, zone, skip=("status", "done_on"))
        return f"{sentence} ({rest})" if rest else sentence
    if action == "update" and event.object_type == "ActionItem" and "done" in changes:
        return f"ticked {what} {'done' if changes['done'][1] else 'not done'}"
    if action == "update":
        rest = _changes(event, names, zone)
        return f"changed {what}: {rest}" if rest else f"changed {what}"
    if action.startswith("done: "):
        return f"{what} was done by itself: {action[6:]}"
    if action.startswith("reopened: "):
        return f"{what} opened again by itself: {action[10:]}"
    if action in verbs:
        sentence = verbs[action]()
        if action in QUIET:
            return sentence
        rest = _changes(event, names, zone, skip=("active", "hidden"))
        return f"{sentence} ({rest})" if rest else sentence
    # A service's own words ("submit", "send back", a calendar action): keep them.
    return f"{action} — {what}"


def sentences(events: Sequence[AuditEvent], time_zone: str) -> list[Sentence]:
    """Each event as a sentence, the time in `time_zone`."""
    zone = ZoneInfo(time_zone)
    names = _names(events)
    out = []
    for event in events:
        who = _who(event)
        text = _sentence(event, names, zone)
        if text.startswith("‘") or text.startswith("a "):  # the record did it by itself
            text = text[:1].upper() + text[1:] if text.startswith("a ") else text
            whole = f"{text} (after a change by {who})" if event.actor else text
        else:
            whole = f"{who} {text}"
        out.append(Sentence(event, local_time(event.at, zone), who, whole))
    return out


def streamed(query: sa.Select, time_zone: str, chunk: int = 500):
    """Every event of `query` as a sentence, a chunk of rows (and one name lookup per
    kind) at a time: for the CSV of a long log."""
    rows = db.session.scalars(query.execution_options(yield_per=chunk))
    for part in rows.partitions(chunk):
        yield from sentences(part, time_zone)
