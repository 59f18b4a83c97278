"""Response headers every page carries: what the browser may load, frame or send on."""

from __future__ import annotations

from flask import Flask, Response, abort, request

# No inline scripts or styles anywhere: everything comes from /static.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def add_security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if request.endpoint != "static":
        # Pages hold people's private work: no shared cache, no copy left on disk after
        # sign-out. Responses that may be cached (the calendar feed) say so themselves.
        headers.setdefault("Cache-Control", "private, no-store")
    return response


NUL_REFUSED = (
    "What you sent contains a NUL character (\\0), which no text here can hold. It usually "
    "comes from pasting out of another program: type the text again and send it."
)


def refuse_nul_characters() -> None:
    """No keyboard types a NUL, and PostgreSQL cannot store one in text (the insert would
    fail with a 500): refuse it once, here, before any form or query reads it."""
    texts = [request.path, *(f.filename or "" for f in request.files.values())]
    for source in (request.args, request.form):
        for name, values in source.lists():
            texts += [name, *values]
    if any("\x00" in text for text in texts):
        abort(400, NUL_REFUSED)


PAGE_TOO_LARGE = "There is no such page: the page number in the address is far too large."


def refuse_impossible_pages() -> None:
    """Every list reads `page` from the address (db.paginate); a page past any id turns
    into an offset the database cannot hold (a 500), so it is refused here, once."""
    for name, value in request.args.items(multi=True):
        if not name.endswith("page"):  # page, per_page, mentors_page…
            continue
        value = value.strip()
        if value.isascii() and value.isdigit() and int(value) > 2**31 - 1:
            abort(400, PAGE_TOO_LARGE)


def register(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.before_request(refuse_impossible_pages)
    app.after_request(add_security_headers)
