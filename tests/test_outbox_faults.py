"""Fault injection: two real scheduler processes on PostgreSQL and an SMTP sink of our
own that is slow, refuses, drops connections after the dot, or dies; senders paused or
killed (SIGKILL) at chosen points of the send path and at random.

Every scenario checks, per outbox row: received once and `sent`, or `unconfirmed`
(visible to staff, with why) and received at most once — never a duplicate, never a
silent loss — and no attempt spent on anything but a refusal of that message. Batches
are small and timeouts compressed (a claim not refreshed for 1 s is taken over), so the
whole suite takes a few seconds per scenario.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from mentorship.extensions import db
from mentorship.models import MailServerState, OutboxMessage, OutboxStatus
from tests.conftest import free_port
from tests.databases import on_postgres
from tests.faulty_smtp import FaultySink
from tests.helpers import make_library, make_user

pytestmark = pytest.mark.skipif(
    not on_postgres(), reason="two sender processes at once: PostgreSQL (SKIP LOCKED)"
)

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # a Tuesday: nothing else is decided
PEOPLE = 12
SETTINGS = {
    "OUTBOX_CLAIM_TIMEOUT": "1",  # compressed: 300 s in production
    "OUTBOX_CLAIM_BATCH": "12",
    "OUTBOX_CONNECTIONS": "3",
    "OUTBOX_RETRY_SECONDS": "0",
    "OUTBOX_MAX_ATTEMPTS": "2",
    "MAIL_TIMEOUT": "3",
}


@pytest.fixture
def sink():
    sink = FaultySink(free_port())
    yield sink
    sink.close()


@dataclass
class Outcome:
    rows: dict[int, tuple[OutboxStatus, int, str]]  # id -> (status, attempts, last_error)
    received: Counter

    def count(self, status: OutboxStatus) -> int:
        return sum(1 for s, _, _ in self.rows.values() if s == status)

    def check(self, refused: set[str] = frozenset()) -> None:
        """Received once, or visibly unconfirmed; never twice; attempts only for refusals."""
        assert set(self.received) <= {str(i) for i in self.rows}, "a message of no row"
        for row_id, (status, attempts, error) in self.rows.items():
            received = self.received[str(row_id)]
            assert received <= 1, f"row {row_id} received {received} times ({status})"
            if status == OutboxStatus.SENT:
                assert received == 1, f"row {row_id} is sent but never arrived"
            elif status == OutboxStatus.UNCONFIRMED:
                assert error.startswith("unconfirmed:"), error
            elif status == OutboxStatus.FAILED:
                assert received == 0 and error.startswith("refused:"), error
            else:
                pytest.fail(f"row {row_id} left {status}")
            if status != OutboxStatus.FAILED:
                assert attempts == 0, f"row {row_id}: {attempts} attempts ({error})"
            assert "250" not in error  # never a stale reply read as an error

    def summary(self) -> str:
        return (
            f"{len(self.rows)} rows: {self.count(OutboxStatus.SENT)} sent once, "
            f"{self.count(OutboxStatus.UNCONFIRMED)} unconfirmed "
            f"({sum(self.received[str(i)] for i, r in self.rows.items() if r[0] == 'unconfirmed')}"
            f" of them received), {self.count(OutboxStatus.FAILED)} failed; "
            f"{sum(self.received.values())} received, "
            f"{sum(n - 1 for n in self.received.values() if n > 1)} duplicates"
        )


def _due(rows: int) -> list[str]:
    """`rows` reminders due now, for PEOPLE people; returns their addresses."""
    library = make_library("Hayward Public Library")
    people = [make_user("pilot", library, email=f"p{n}@hayward.example") for n in range(PEOPLE)]
    db.session.execute(
        sa.insert(OutboxMessage),
        [
            {"kind": "milestone_due", "object_type": "Milestone", "object_id": n,
             "period": "2026-12-01", "recipient_id": people[n % PEOPLE].id,
             "subject": f"Hayward Public Library: “Step {n}” due Dec 1, 2026",
             "body_text": f"Step {n} is due.", "body_html": f"<p>Step {n} is due.</p>",
             "next_attempt_at": NOW, "created_at": NOW, "relevant_until": date(2026, 12, 1)}
            for n in range(rows)
        ],
    )  # fmt: skip
    db.session.commit()
    return [person.email for person in people]


def _scheduler(app, sink, kill_at: tuple[str, int] | None = None, **settings):
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "a-test-secret-key-long-enough-for-production",
        "RATELIMIT_ENABLED": "false",  # a scheduler serves no sign-ins
        "BASE_URL": "https://ssi.example",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(sink.port),
        **SETTINGS,
        **{name: str(value) for name, value in settings.items()},
    }
    command = ["--app", "mentorship", "scheduler", "--once", "--wait", "40",
               "--now", NOW.isoformat(timespec="minutes")]  # fmt: skip
    runner = ["-m", "tests.fault_runner", *kill_at] if kill_at else ["-m", "flask"]
    return subprocess.Popen(
        [sys.executable, *[str(a) for a in runner], *command],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def _finish(*processes, timeout: float = 60) -> str:
    output = ""
    for process in processes:
        out = process.communicate(timeout=timeout)[0].decode()
        output += out
        assert process.returncode in (0, -signal.SIGKILL), out[-3000:]
    return output


def _outcome(sink) -> Outcome:
    db.session.expire_all()
    rows = {
        row.id: (row.status, row.attempts, row.last_error)
        for row in db.session.scalars(sa.select(OutboxMessage))
    }
    db.session.rollback()
    return Outcome(rows, Counter(sink.received))


def _wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _report(name: str, outcome: Outcome) -> None:
    print(f"\n[fault] {name}: {outcome.summary()}")


def test_a_slow_relay_outliving_the_claim_timeout_sends_each_once(app, ctx, sink):
    """Issue 24, 1: each group takes 0.4 s, so a claim of 4 groups outlives the 1 s
    timeout unless it is refreshed. Before: the other sender took the rows and both
    sent them."""
    _due(36)
    sink.dot_delay = 0.4
    _finish(_scheduler(app, sink), _scheduler(app, sink))
    outcome = _outcome(sink)
    _report("slow relay (0.4 s per dot, 1 s claim timeout)", outcome)
    outcome.check()
    assert outcome.count(OutboxStatus.SENT) == 36


def test_a_sender_paused_past_the_timeout_repeats_nothing(app, ctx, sink):
    _due(48)
    sink.dot_delay = 0.05
    first, second = _scheduler(app, sink), _scheduler(app, sink)
    _wait_for(lambda: sum(sink.received.values()) >= 6)
    first.send_signal(signal.SIGSTOP)  # a paused process (GC, swap, a debugger)
    time.sleep(2.5)  # the other sender takes its claim over meanwhile
    first.send_signal(signal.SIGCONT)
    _finish(first, second)
    outcome = _outcome(sink)
    _report("one sender paused 2.5 s", outcome)
    outcome.check()
    assert outcome.count(OutboxStatus.SENT) + outcome.count(OutboxStatus.UNCONFIRMED) == 48


def test_refusals_and_resets_after_the_dot_cost_only_what_they_should(app, ctx, sink):
    """Issue 24, 2 and 3: the server takes a message and resets before its 250 (the
    message is unconfirmed; the untried rows go back untouched); two addresses are
    refused (only their rows spend attempts)."""
    people = _due(48)
    sink.refuse_rcpt[people[0]] = "550 5.1.1 no such mailbox"
    sink.refuse_data[people[1]] = "451 4.3.0 try again later"
    sink.drop_after_dot = lambda key: key.isdigit() and int(key) % 8 == 3
    _finish(_scheduler(app, sink), _scheduler(app, sink))
    outcome = _outcome(sink)
    _report("resets after 1 dot in 8; one address refused at RCPT, one at DATA", outcome)
    outcome.check()
    failed = {i for i, r in outcome.rows.items() if r[0] == OutboxStatus.FAILED}
    assert len(failed) == 8  # 4 rows each, refused twice (OUTBOX_MAX_ATTEMPTS)
    assert all(outcome.rows[i][1] == 2 for i in failed)
    assert outcome.count(OutboxStatus.UNCONFIRMED) == sink.dropped > 0
    assert outcome.count(OutboxStatus.SENT) == 40 - sink.dropped


def test_a_server_killed_mid_run_and_back_later_loses_and_charges_nothing(app, ctx, sink):
    """Issue 19, 7: the server dies while messages are in flight; the senders keep
    trying without spending attempts; staff see the outage; then it is back."""
    _due(48)
    sink.dot_delay = 0.05
    senders = _scheduler(app, sink), _scheduler(app, sink)
    _wait_for(lambda: sum(sink.received.values()) >= 12)
    sink.kill()

    def outage_noted():
        db.session.expire_all()
        state = db.session.get(MailServerState, "smtp")
        db.session.rollback()
        return state is not None and state.unreachable_since is not None

    _wait_for(outage_noted)
    time.sleep(1.0)  # several rounds with the server away
    sink.restart()
    _finish(*senders)
    outcome = _outcome(sink)
    _report("server killed mid-run, back 1 s later", outcome)
    outcome.check()
    assert outcome.count(OutboxStatus.SENT) + outcome.count(OutboxStatus.UNCONFIRMED) == 48
    assert db.session.get(MailServerState, "smtp").unreachable_since is None


def test_senders_killed_at_each_point_of_the_send_path(app, ctx, sink):
    """Three senders, each killed at its second group at one point, and a fourth."""
    _due(72)
    sink.dot_delay = 0.02
    points = ("before-mark", "after-mark", "after-dots")
    killed = [_scheduler(app, sink, kill_at=(point, 2)) for point in points]
    _finish(*killed, _scheduler(app, sink))
    assert [process.returncode for process in killed] == [-signal.SIGKILL] * 3
    outcome = _outcome(sink)
    _report("senders killed before the mark, after it, after the dots", outcome)
    outcome.check()
    # Before the mark nothing of the group reached anyone: taken over, sent once. After
    # it, each killed group (one message per connection) is shown, not lost in silence:
    # never dotted (after-mark), or dotted with the reply unread (after-dots).
    unconfirmed = [i for i, r in outcome.rows.items() if r[0] == OutboxStatus.UNCONFIRMED]
    assert len(unconfirmed) == 6
    assert sum(outcome.received[str(i)] for i in unconfirmed) == 3


def test_unconfirmed_rows_are_sent_again_when_the_setting_allows(app, ctx, sink):
    _due(24)
    settings = {"OUTBOX_RESEND_UNCONFIRMED": 1}
    killed = _scheduler(app, sink, kill_at=("after-mark", 1), **settings)
    _finish(killed, _scheduler(app, sink, **settings))
    outcome = _outcome(sink)
    _report("killed after the mark, OUTBOX_RESEND_UNCONFIRMED=1", outcome)
    outcome.check()
    assert outcome.count(OutboxStatus.SENT) == 24  # the 3 never dotted went again, once


def test_random_kills(app, ctx, sink):
    _due(72)
    sink.dot_delay = 0.01
    chance = random.Random(24)
    victims = [_scheduler(app, sink) for _ in range(2)]
    survivor = _scheduler(app, sink)
    for victim in victims:
        _wait_for(lambda: sum(sink.received.values()) >= 6)  # sending has begun
        time.sleep(chance.uniform(0.0, 0.4))
        victim.send_signal(signal.SIGKILL)
        victim.wait()
    _finish(survivor)
    if _outcome(sink).count(OutboxStatus.PENDING) or any(
        r[0] in ("claimed", "sending") for r in _outcome(sink).rows.values()
    ):
        _finish(_scheduler(app, sink))  # the survivor was done before a victim died
    outcome = _outcome(sink)
    _report("two senders SIGKILLed at random moments", outcome)
    outcome.check()
