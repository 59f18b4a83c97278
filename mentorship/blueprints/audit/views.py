from flask import current_app, render_template, request

from ...access import LIST, require, valid_id
from ...extensions import db
from ...models import AuditEvent, Library
from ...services import audit
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
    kind = request.args.get("type", "")
    library_id = valid_id(request.args.get("library", type=int))
    library = db.session.get(Library, library_id) if library_id else None
    query = audit.log_query(kind, library.id if library else None)
    if request.args.get("format") == "csv":
        return csv_response("audit-log", COLUMNS, query)  # streamed, every row
    page = audit.log_page(
        query,
        current_app.config["PER_PAGE"] * 2,
        older_than=valid_id(request.args.get("older_than", type=int)),
        newer_than=valid_id(request.args.get("newer_than", type=int)),
    )
    return render_template(
        "audit/index.html",
        page=page,
        columns=COLUMNS,
        kinds=audit.kinds(),
        kind=kind,
        library=library,
    )
