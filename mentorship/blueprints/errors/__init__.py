"""Error pages inside the layout; a 500 rolls the session back first."""

from flask import Flask, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest

from ...extensions import db

MESSAGES = {
    400: ("Something in that request was not right", "Please go back and try again."),
    403: (
        "You do not have access to this page",
        "Your role does not include this page. If you think it should, ask program staff.",
    ),
    404: (
        "Page not found",
        "There is nothing here, or it is not yours to see. Check the address, or start from the home page.",
    ),
    413: (
        "That was more than this site accepts",
        "What you sent is too large. Shorten the text, or split the file, and try again.",
    ),
    429: ("Too many attempts", "Please wait a minute and try again."),
    500: (
        "Something went wrong on our side",
        "The problem was logged. Please try again in a moment.",
    ),
}


def _render(code: int, detail: str | None = None):
    title, text = MESSAGES[code]
    return render_template("errors/error.html", code=code, title=title, text=detail or text), code


def register(app: Flask) -> None:
    for code in (403, 404, 429):
        app.register_error_handler(code, lambda error, code=code: _render(code))

    @app.errorhandler(400)
    def bad_request(error):
        # abort(400, "why") says why; a bare 400 gets the general text.
        said = error.description if error.description != BadRequest.description else None
        return _render(400, said)

    @app.errorhandler(413)
    def too_large(error):
        # MAX_CONTENT_LENGTH for a whole form; Flask's MAX_FORM_MEMORY_SIZE for one field.
        limits = [
            f"{what} {size // 1024:,} kB"
            for what, size in (
                ("one text may hold up to", request.max_form_memory_size),
                ("a whole form up to", request.max_content_length),
            )
            if size
        ]
        return _render(
            413,
            f"What you sent is larger than this site accepts: {', '.join(limits)}. "
            "Shorten the text, or split the file, and try again.",
        )

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _render(
            400,
            "The form had expired or did not come from this site. Go back, reload the page and submit it again.",
        )

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _render(500)
