import sqlalchemy as sa
from flask import current_app, render_template, request

from ...access import LIST, require
from ...extensions import db
from ...models import AuditEvent, Library
from ...tables import Column, csv_response
from . import bp


def _changes_text(event: AuditEvent) -> str:
    return "; ".join(
        f"{field}: {old} → {new}" for field, (old, new) in (event.changes or {}).items()
    )


COLUMNS = [
    Column("When (UTC)", lambda e: e.at.strftime("%Y-%m-%d %H:%M")),
    Column("Who", lambda e: e.actor.name if e.actor else "system"),
    Column("Action", lambda e: e.action),
    Column("What", lambda e: f"{e.object_type} {e.object_id}: {e.object_label}"),
    Column("Changes", _changes_text),
]


@bp.get("/")
@require(LIST, AuditEvent)
def index():
    query = (
        sa.select(AuditEvent)
        .options(sa.orm.joinedload(AuditEvent.actor))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )
    kind = request.args.get("type", "")
    if kind:
        query = query.where(AuditEvent.object_type == kind)
    library = db.session.get(Library, request.args.get("library", 0, type=int))
    if library:  # one library's activity log
        query = query.where(AuditEvent.library_id == library.id)
    if request.args.get("format") == "csv":
        return csv_response("audit-log", COLUMNS, db.session.scalars(query))
    page = db.paginate(query, per_page=current_app.config["PER_PAGE"] * 2, error_out=False)
    kinds = db.session.scalars(
        sa.select(AuditEvent.object_type).distinct().order_by(AuditEvent.object_type)
    ).all()
    return render_template(
        "audit/index.html", page=page, columns=COLUMNS, kinds=kinds, kind=kind, library=library
    )
