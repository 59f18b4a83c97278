"""Deciding and sending 100,000 due reminders to a local SMTP sink: time and count.

    .venv/bin/python benchmarks/reminders.py [--items 100000] [--senders 2] [--smoke]
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/reminders.py

With TEST_DATABASE_URL the run uses a fresh PostgreSQL schema (dropped afterwards);
otherwise a SQLite file. 1,000 pilot libraries each have one librarian and 100 open
milestones due within the week, so 100,000 reminders are due. The baseline printed
beside ours is the plain SMTP send of the same number of messages in one connection
(what the sink itself can take), measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import re
import secrets
import smtplib
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mentorship import create_app  # noqa: E402
from mentorship.extensions import db  # noqa: E402
from mentorship.models import Milestone, OutboxMessage, OutboxStatus  # noqa: E402
from mentorship.services import outbox, reminders  # noqa: E402
from tests.conftest import app_settings, free_port  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # a Tuesday: no staff digest


KEY = re.compile(rb"\r\nX-Outbox-Key: *(\d+)")


class SMTPSink(asyncio.Protocol):
    seen: set[bytes] = set()  # every X-Outbox-Key received, in the sink's process

    def __init__(self, counter, repeats):
        self.counter, self.repeats = counter, repeats
        self.buffer = b""
        self.in_data = False

    def connection_made(self, transport):
        self.transport = transport
        transport.write(b"220 sink ESMTP\r\n")

    def data_received(self, data):
        self.buffer += data
        replies = []
        while True:
            if self.in_data:
                end = self.buffer.find(b"\r\n.\r\n")
                if end < 0:
                    if self.buffer.startswith(b".\r\n"):
                        end = -2
                    else:
                        break
                key = KEY.search(self.buffer, 0, max(end, 0))
                self.buffer = self.buffer[end + 5 :] if end >= 0 else self.buffer[3:]
                self.in_data = False
                with self.counter.get_lock():
                    self.counter.value += 1
                if key is None or key.group(1) in self.seen:
                    with self.repeats.get_lock():
                        self.repeats.value += 1  # no key, or a message received twice
                else:
                    self.seen.add(key.group(1))
                replies.append(b"250 OK\r\n")
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                break
            line, self.buffer = self.buffer[:line_end], self.buffer[line_end + 2 :]
            verb = line[:4].upper()
            if verb == b"EHLO":
                replies.append(b"250-sink\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
            elif verb == b"DATA":
                self.in_data = True
                replies.append(b"354 go\r\n")
                self.buffer = b"\r\n" + self.buffer  # so a body starting with "." still ends
            elif verb == b"QUIT":
                replies.append(b"221 bye\r\n")
                self.transport.write(b"".join(replies))
                self.transport.close()
                return
            else:
                replies.append(b"250 OK\r\n")
        if replies:
            self.transport.write(b"".join(replies))


def serve_sink(port: int, counter, repeats, ready) -> None:
    """A minimal SMTP sink in a process of its own: it only counts messages, so the
    benchmark measures our side, not a mail server's."""

    async def main():
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTPSink(counter, repeats), "127.0.0.1", port)
        ready.set()
        async with server:
            await server.serve_forever()

    asyncio.run(main())


def seed(libraries: int, per_library: int) -> None:
    """Bulk rows, straight into the tables: the benchmark is about reminders."""
    engine = db.engine
    with engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO cohorts (name, start_date, end_date, notes, active, created_at) "
                    "VALUES ('Bench', '2026-01-05', '2027-12-31', '', true, :now)"),
            {"now": NOW},
        )  # fmt: skip
        cohort_id = connection.execute(sa.text("SELECT id FROM cohorts")).scalar()
        connection.execute(
            sa.text("INSERT INTO libraries (name, short_name, city, county, cooperative_system, "
                    "governance, ils_name, website, contact_name, contact_email, contact_phone, "
                    "active, created_at) VALUES (:name, '', '', 'Alameda', '', 'city', '', '', "
                    "'', '', '', true, :now)"),
            [{"name": f"Library {n}", "now": NOW} for n in range(libraries)],
        )  # fmt: skip
        library_ids = (
            connection.execute(sa.text("SELECT id FROM libraries ORDER BY id")).scalars().all()
        )
        connection.execute(
            sa.text("INSERT INTO users (name, email, role, library_id, active, session_token, "
                    "created_at) VALUES (:name, :email, 'pilot', :library, true, 'x', :now)"),
            [{"name": f"Librarian {i}", "email": f"l{i}@bench.example", "library": i, "now": NOW}
             for i in library_ids],
        )  # fmt: skip
        connection.execute(
            sa.text("INSERT INTO participations (library_id, cohort_id, role, start_date, "
                    "target_months, mentor_capacity, active, created_at) VALUES (:library, "
                    ":cohort, 'pilot', '2026-01-05', 18, 3, true, :now)"),
            [{"library": i, "cohort": cohort_id, "now": NOW} for i in library_ids],
        )  # fmt: skip
        participation_ids = (
            connection.execute(sa.text("SELECT id FROM participations ORDER BY id")).scalars().all()
        )
        due = date(2026, 11, 30)
        rows = [
            {"participation_id": p, "step_key": f"step{k}", "position": k, "title": f"Step {k}",
             "description": "", "toolkit_page": "", "due_on": due, "status": "not started",
             "not_applicable_reason": "", "note": "", "evidence_url": "", "version": 1,
             "updated_at": NOW}
            for p in participation_ids for k in range(per_library)
        ]  # fmt: skip
        for start in range(0, len(rows), 10_000):
            connection.execute(sa.insert(Milestone.__table__), rows[start : start + 10_000])


def _sender(settings: dict, results) -> None:
    app = create_app(settings)
    with app.app_context():
        results.put(outbox.send_due(now=NOW).sent)  # the production settings


def baseline(port: int, count: int) -> float:
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(count):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = (
                "a@x.example",
                "b@x.example",
                str(n),
            )
            message.set_content("hello")
            smtp.send_message(message)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--senders", type=int, default=2)
    parser.add_argument("--smoke", action="store_true", help="200 reminders: `make test`")
    args = parser.parse_args()
    if args.smoke:
        args.items = 200
    libraries, per_library = max(args.items // 100, 1), min(args.items, 100)

    context = multiprocessing.get_context("spawn")
    counter, repeats = context.Value("q", 0), context.Value("q", 0)
    ready, port = context.Event(), free_port()
    sink = context.Process(target=serve_sink, args=(port, counter, repeats, ready), daemon=True)
    sink.start()
    ready.wait(10)
    with tempfile.TemporaryDirectory() as directory, fresh_database(Path(directory)) as url:
        # The production settings and checks (TESTING off), with a key they accept.
        settings = {
            **app_settings(url, port),
            "TESTING": False,
            "SECRET_KEY": secrets.token_hex(32),
            "RATELIMIT_ENABLED": False,
        }
        app = create_app(settings)
        with app.app_context():
            upgrade()
            seed(libraries, per_library)
            started = time.perf_counter()
            decided = reminders.decide(NOW)
            db.session.commit()
            decide_seconds = time.perf_counter() - started
        started = time.perf_counter()
        results = multiprocessing.get_context("fork").Queue()
        workers = [
            multiprocessing.get_context("fork").Process(target=_sender, args=(settings, results))
            for _ in range(args.senders)
        ]
        with app.app_context():
            db.engine.dispose()  # no connection crosses the fork
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        send_seconds = time.perf_counter() - started
        times = os.times()  # the senders', now that they were joined (the sink runs on)
        sender_cpu = times.children_user + times.children_system
        with app.app_context():
            sent_rows = db.session.scalar(
                sa.select(sa.func.count()).where(OutboxMessage.status == OutboxStatus.SENT)
            )
            db.engine.dispose()
    delivered, repeated = counter.value, repeats.value
    base_seconds = baseline(port, min(args.items, 5_000))
    sink.terminate()
    total = decide_seconds + send_seconds
    print(f"database: {url.split('?')[0].split('://')[0]}  senders: {args.senders}")
    print(f"due items decided:    {decided:>9,}  in {decide_seconds:6.2f} s")
    print(f"messages sent:        {delivered:>9,}  in {send_seconds:6.2f} s "
          f"({delivered / send_seconds:,.0f}/s); rows marked sent: {sent_rows:,}")  # fmt: skip
    print(f"senders' CPU:         {sender_cpu:6.2f} s ({sender_cpu / max(delivered, 1) * 1e6:.0f} µs "
          "per message: what the machine's load does not change)")  # fmt: skip
    print(f"total:                {total:6.2f} s (target ≤ 30 s for 100,000)")
    rate = min(args.items, 5_000) / base_seconds
    print(f"baseline: plain smtplib to the same sink, one connection: {rate:,.0f} messages/s "
          f"(ours/baseline: {delivered / send_seconds / rate:.2f})")  # fmt: skip
    ok = delivered == decided == args.items == sent_rows and not repeated
    print("count check:", "OK (every one once)" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
