import json

from flask import current_app, render_template, request

from ...access import LIST, require, valid_id
from ...extensions import db
from ...models import AuditEvent, Library
from ...services import audit, audit_words
from ...tables import Column, csv_response
from . import bp

# The page reads as sentences; the CSV keeps the machine-readable columns beside them.
COLUMNS = [
    Column("When", lambda s: s.when),
    Column("What happened", lambda s: s.text),
]
CSV_COLUMNS = [
    *COLUMNS,
    Column("At (UTC)", lambda s: s.event.at.strftime("%Y-%m-%dT%H:%M:%SZ")),
    Column("Who", lambda s: s.event.actor.name if s.event.actor else ""),
    Column("Person id", lambda s: s.event.actor_id),
    Column("Action", lambda s: s.event.action),
    Column("Record kind", lambda s: s.event.object_type),
    Column("Record id", lambda s: s.event.object_id),
    Column("Library id", lambda s: s.event.library_id),
    Column("Changes (JSON)", lambda s: json.dumps(s.event.changes or {}, ensure_ascii=False)),
]


@bp.get("/")
@require(LIST, AuditEvent)
def index():
    kind = request.args.get("type", "")
    library_id = valid_id(request.args.get("library", type=int))
    library = db.session.get(Library, library_id) if library_id else None
    query = audit.log_query(kind, library.id if library else None)
    zone = current_app.config["TIME_ZONE"]
    if request.args.get("format") == "csv":  # streamed, every row
        return csv_response(
            "audit-log", CSV_COLUMNS, audit_words.streamed(query, zone), streamed=True
        )
    page = audit.log_page(
        query,
        current_app.config["PER_PAGE"] * 2,
        older_than=valid_id(request.args.get("older_than", type=int)),
        newer_than=valid_id(request.args.get("newer_than", type=int)),
    )
    return render_template(
        "audit/index.html",
        page=page,
        rows=audit_words.sentences(page.events, zone),
        columns=COLUMNS,
        kinds=audit.kinds(),
        kind_words=audit_words.NOUNS,
        kind=kind,
        library=library,
    )
