"""Do sign-in and "forgot password" take the same time for known and unknown emails?

    .venv/bin/python benchmarks/login_timing.py [--rounds 40] [--smtp-delay 0.2]
    .venv/bin/python benchmarks/login_timing.py --smoke   # `make test`: 3 rounds

Runs the app behind a real HTTP server (werkzeug, in a thread) with production Argon2
parameters, and an SMTP sink that takes `--smtp-delay` seconds per message, like a mail
server across a network. Each round posts once with a known and once with an unknown
email (wrong password on sign-in), in alternating order, and times the full answer as
the browser gets it. Printed: median milliseconds for each, their ratio (1.00 = alike),
and, as the baseline measured in the same run, what sending the link inside the request
would have added for known addresses (one SMTP send).
"""

from __future__ import annotations

import argparse
import http.cookiejar
import logging
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

from aiosmtpd.controller import Controller
from flask_migrate import upgrade
from werkzeug.serving import make_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mentorship import create_app, mail  # noqa: E402
from mentorship.extensions import db  # noqa: E402
from mentorship.models import Role, User  # noqa: E402
from mentorship.services.auth import hash_password  # noqa: E402
from tests.conftest import app_settings, free_port  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

KNOWN, UNKNOWN = "known@bench.example", "unknown@bench.example"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class SlowSink:
    def __init__(self, delay: float):
        self.delay, self.count = delay, 0

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        await asyncio.sleep(self.delay)
        self.count += 1
        return "250 OK"


class Browser:
    """A cookie jar and urllib: fetch a page for its CSRF token, post a form, time it."""

    def __init__(self, base: str):
        self.base = base
        jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), NoRedirect()
        )

    def post_timed(self, path: str, data: dict) -> float:
        page = self.opener.open(self.base + path).read().decode()
        body = urllib.parse.urlencode({"csrf_token": TOKEN.search(page).group(1), **data})
        started = time.perf_counter()
        try:
            self.opener.open(self.base + path, body.encode()).read()
        except urllib.error.HTTPError as answer:  # the redirect after "forgot password"
            answer.read()
        return time.perf_counter() - started


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--smtp-delay", type=float, default=0.2)
    parser.add_argument("--smoke", action="store_true", help="3 rounds, a 50 ms sink")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.smtp_delay = 3, 0.05
    answered = []

    sink = SlowSink(args.smtp_delay)
    smtp = Controller(sink, hostname="127.0.0.1", port=free_port())
    smtp.start()
    with tempfile.TemporaryDirectory() as directory, fresh_database(Path(directory)) as url:
        # TESTING off: production Argon2 parameters, as a real sign-in pays them.
        # The production check refuses the tests' short SECRET_KEY.
        app = create_app(
            {**app_settings(url, smtp.port), "TESTING": False, "SECRET_KEY": secrets.token_hex(32)}
        )
        with app.app_context():
            upgrade()
            db.session.add(
                User(
                    name="Known",
                    email=KNOWN,
                    role=Role.STAFF,
                    password_hash=hash_password("x" * 20),
                )
            )
            db.session.commit()
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        port = free_port()
        server = make_server("127.0.0.1", port, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base = f"http://127.0.0.1:{port}"

        pages = {
            "sign-in (wrong password)": (
                "/login",
                lambda email: {"email": email, "password": "nope"},
            ),
            "forgot password": ("/forgot-password", lambda email: {"email": email}),
        }
        print(f"{args.rounds} rounds; SMTP sink answers in {args.smtp_delay * 1000:.0f} ms")
        print(f"{'page':<26} {'known ms':>9} {'unknown ms':>11} {'ratio':>6}")
        for name, (path, data) in pages.items():
            times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: []}
            browser = Browser(base)
            for n in range(args.rounds):
                order = (KNOWN, UNKNOWN) if n % 2 else (UNKNOWN, KNOWN)
                for email in order:
                    times[email].append(browser.post_timed(path, data(email)))
            answered.append(len(times[KNOWN]) + len(times[UNKNOWN]))
            known = statistics.median(times[KNOWN]) * 1000
            unknown = statistics.median(times[UNKNOWN]) * 1000
            print(f"{name:<26} {known:9.1f} {unknown:11.1f} {known / unknown:6.2f}")

        # Baseline: what one send costs, i.e. what a known address would have waited if
        # the link were sent inside the request (as it was before).
        sends = []
        with app.app_context():
            for _ in range(5):
                started = time.perf_counter()
                mail.send(mail.Mail(to=(KNOWN,), subject="baseline", body="x"))
                sends.append(time.perf_counter() - started)
        print(
            f"baseline: one SMTP send inside the request would add {statistics.median(sends) * 1000:.1f} ms"
        )
        time.sleep(args.smtp_delay * 2)
        delivered = sink.count - len(sends)
        print(f"links delivered after the answers: {delivered} of {args.rounds}")
        server.shutdown()
        with app.app_context():
            db.engine.dispose()
    smtp.stop()
    ok = answered == [2 * args.rounds] * len(pages)
    print("count check:", "OK" if ok else f"MISMATCH: {answered}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
