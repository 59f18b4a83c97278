"""Reminders exactly once: deciding, sending over real SMTP, preferences, retries, catch-up,
two senders at once, and a sender killed mid-run."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, date, datetime, timedelta
from email.header import decode_header, make_header

import pytest
import sqlalchemy as sa

from mentorship import scheduler
from mentorship.extensions import db
from mentorship.models import (
    Agreement,
    AgreementKind,
    EmailOptOut,
    Milestone,
    OutboxMessage,
    OutboxStatus,
    Pairing,
    PairingStatus,
)
from mentorship.services import outbox, partnerships, reminders
from mentorship.services.cohorts import add_participation
from tests.conftest import free_port, row_count
from tests.databases import on_postgres
from tests.helpers import PASSWORD, make_cohort, make_district, make_library, make_user

# Monday Nov 23, 2026, 09:00 in California: the weekly digest is due too.
NOW = datetime(2026, 11, 23, 17, 0, tzinfo=UTC)
TODAY = date(2026, 11, 23)


def _world():
    """A pilot (two librarians) paired with a mentor, with one of everything due today."""
    pilot_library = make_library("Hayward Public Library")
    mentor_library = make_library("Berkeley Public Library")
    cohort = make_cohort(start_date=date(2026, 1, 5), end_date=date(2027, 12, 31))
    district = make_district("Hayward Unified")
    partnership = partnerships.create_partnership(
        pilot_library, {"district_id": district.id}, date(2026, 1, 10), actor=None
    )
    pilot = add_participation(
        cohort,
        {"library_id": pilot_library.id, "role": "pilot", "start_date": cohort.start_date},
        None,
    )
    mentor = add_participation(
        cohort,
        {"library_id": mentor_library.id, "role": "mentor", "start_date": cohort.start_date},
        None,
    )
    db.session.add(
        Pairing(pilot_participation_id=pilot.id, mentor_participation_id=mentor.id,
                status=PairingStatus.ACTIVE, next_checkin_on=TODAY + timedelta(days=2))
    )  # fmt: skip
    db.session.add(
        Agreement(partnership_id=partnership.id, kind=AgreementKind.DATA_SHARING,
                  effective_on=date(2024, 7, 1), expires_on=TODAY + timedelta(days=25))
    )  # fmt: skip
    # Everything done except one step due in 10 days and one a day late.
    for milestone in db.session.scalars(sa.select(Milestone)):
        milestone.status, milestone.done_on = "done", date(2026, 2, 1)
    soon, late = db.session.scalars(sa.select(Milestone).order_by(Milestone.id).limit(2)).all()
    soon.status, soon.done_on, soon.due_on = "not started", None, TODAY + timedelta(days=10)
    late.status, late.done_on, late.due_on = "in progress", None, TODAY - timedelta(days=1)
    db.session.commit()
    people = {
        "priya": make_user("pilot", pilot_library, email="priya@hayward.example"),
        "sam": make_user("pilot", pilot_library, email="sam@hayward.example"),
        "grace": make_user("mentor", mentor_library, email="grace@berkeley.example"),
        "dana": make_user("staff", email="dana@plp.example"),
    }
    return people, soon, late


def _sent(mailbox) -> list[tuple[str, str]]:
    """(to, subject) of every message received, the subject unfolded."""
    return sorted(
        (m["To"], str(make_header(decode_header(m["Subject"].replace("\r\n", "")))))
        for m in mailbox.messages
    )


def test_each_kind_goes_once_to_the_right_people(ctx, mailbox):
    _, soon, late = _world()
    assert reminders.decide(NOW) == 10
    assert outbox.send_due(now=NOW).sent == 10
    hayward = ["priya@hayward.example", "sam@hayward.example"]
    expected = sorted(
        [(who, "Hayward Public Library: check-in due Nov 25, 2026") for who in hayward]
        + [("grace@berkeley.example", "Berkeley Public Library: check-in due Nov 25, 2026")]
        + [(who, f"Hayward Public Library: “{soon.name}” due Dec 3, 2026") for who in hayward]
        + [(who, f"Hayward Public Library: “{late.name}” is late (due Nov 22, 2026)") for who in hayward]
        + [(who, "Hayward Public Library: data-sharing agreement with Hayward Unified expires "
                 "Dec 18, 2026") for who in hayward]
        + [("dana@plp.example", "Weekly digest: 0 pilots at risk, 1 needs attention, "
                                "0 check-ins overdue, 1 agreement expires within 30 days")]
    )  # fmt: skip
    assert _sent(mailbox) == expected
    message = next(m for m in mailbox.messages if "check-in due" in m["Subject"])
    assert message["List-Unsubscribe"].startswith("<https://ssi.example/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = (part.get_payload(decode=True).decode() for part in message.get_payload())
    assert "Your next check-in (Hayward Public Library with Berkeley Public Library)" in text
    assert "<p>Your next check-in" in html and "unsubscribe</a>" in html

    # The decision and the sending run again: nothing new, nothing twice.
    assert reminders.decide(NOW) == 0
    assert reminders.decide(NOW + timedelta(hours=3)) == 0
    assert outbox.send_due(now=NOW).sent == 0
    assert len(mailbox.messages) == 10


def test_late_milestones_are_reminded_weekly_at_most_four_times(ctx, mailbox):
    people, _, late = _world()
    for day in range(40):  # the scheduler decides every day for 40 days
        reminders.decide(NOW + timedelta(days=day))
    periods = db.session.scalars(
        sa.select(OutboxMessage.period)
        .where(
            OutboxMessage.kind == "milestone_late",
            OutboxMessage.object_id == late.id,
            OutboxMessage.recipient_id == people["priya"].id,
        )
        .order_by(OutboxMessage.id)
    ).all()
    assert periods == [f"{late.due_on}/{time}" for time in (1, 2, 3, 4)]
    sent_on = db.session.scalars(
        sa.select(OutboxMessage.created_at)
        .where(
            OutboxMessage.kind == "milestone_late",
            OutboxMessage.object_id == late.id,
            OutboxMessage.recipient_id == people["priya"].id,
        )
        .order_by(OutboxMessage.id)
    ).all()
    assert [(when - NOW).days for when in sent_on] == [0, 7, 14, 21]  # weekly


def test_choices_and_unsubscribing_are_respected(ctx, mailbox):
    people, _, _ = _world()
    reminders.set_preferences(people["sam"], wanted={"checkin_due"})
    db.session.commit()
    reminders.decide(NOW)
    # Priya unsubscribes from milestone reminders after the decision, before the sending.
    reminders.opt_out(people["priya"].id, "milestone_due")
    db.session.commit()
    outbox.send_due(now=NOW)
    to_sam = [s for to, s in _sent(mailbox) if to == "sam@hayward.example"]
    assert to_sam == ["Hayward Public Library: check-in due Nov 25, 2026"]
    to_priya = [s for to, s in _sent(mailbox) if to == "priya@hayward.example"]
    assert not any("due Dec 3" in subject for subject in to_priya)
    assert any("is late" in subject for subject in to_priya)


def test_the_unsubscribe_link_works_without_signing_in(client, app):
    with app.app_context():
        user = make_user("pilot", email="priya@hayward.example")
        token = outbox.unsubscribe_token(user.id, "milestone_late")
    page = client.get(f"/unsubscribe/{token}")
    assert page.status_code == 200 and "a milestone is late" in page.get_data(as_text=True)
    # A mail client's one-click POST: no session, no CSRF token.
    done = client.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert client.post(f"/unsubscribe/{token}").status_code == 200  # twice is fine
    with app.app_context():
        assert db.session.scalars(sa.select(EmailOptOut.kind)).all() == ["milestone_late"]
    assert client.get(f"/unsubscribe/{token[:-3]}xyz").status_code == 404


def test_the_preferences_page_saves_what_the_person_ticks(client, app):
    with app.app_context():
        make_user("pilot", email="priya@hayward.example")
    client.login("priya@hayward.example", PASSWORD)
    page = client.get("/preferences").get_data(as_text=True)
    assert "A milestone is due soon" in page and "weekly digest" not in page  # staff only
    client.submit("/preferences", {"checkin_due": "on", "milestone_late": "on"})
    with app.app_context():
        assert set(db.session.scalars(sa.select(EmailOptOut.kind))) == {
            "checkin_overdue",
            "milestone_due",
            "agreement_expiring",
        }
    assert client.post("/preferences", data={"checkin_due": "on"}).status_code == 400  # CSRF


def test_a_refused_message_is_retried_with_backoff_then_marked_failed(app, ctx, mailbox):
    _world()
    reminders.decide(NOW)
    mailbox.refuse["priya@hayward.example"] = "550 5.1.1 No such mailbox"
    result = outbox.send_due(now=NOW)
    assert (result.sent, result.retried) == (6, 4)  # only Priya's four are refused
    refused = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.attempts > 0)).all()
    assert {row.recipient.email for row in refused} == {"priya@hayward.example"}
    row = refused[0]
    assert row.status == OutboxStatus.PENDING and row.attempts == 1
    assert "550" in row.last_error and "No such mailbox" in row.last_error
    assert row.next_attempt_at > datetime.now(UTC) + timedelta(seconds=30)
    assert outbox.send_due(now=NOW).retried == 0  # not yet: it waits for the backoff
    for _ in range(app.config["OUTBOX_MAX_ATTEMPTS"] - 1):
        db.session.execute(sa.update(OutboxMessage).values(next_attempt_at=datetime.now(UTC)))
        db.session.commit()
        outbox.send_due(now=NOW)
    db.session.expire_all()
    assert {row.status for row in refused} == {OutboxStatus.FAILED}
    assert len(mailbox.messages) == 6
    mailbox.refuse.clear()
    outbox.retry(refused[0])
    db.session.commit()
    assert outbox.send_due(now=NOW).sent == 1 and len(mailbox.messages) == 7


def test_an_outage_longer_than_the_retries_spends_no_attempts(app, ctx, mailbox, client):
    """Issue 19, item 7: the server is unreachable through more runs than there are
    retries; then it is back and every reminder goes out once."""
    _world()
    reminders.decide(NOW)
    port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = free_port()  # nobody listens: connection refused
    try:
        for _ in range(app.config["OUTBOX_MAX_ATTEMPTS"] + 2):
            result = outbox.send_due(now=NOW)
            assert result.released == 10 and result.done == 0
            assert "unreachable" in result.trouble
        rows = db.session.scalars(sa.select(OutboxMessage)).all()
        assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.PENDING, 0)}
        state = outbox.mail_server_state()
        assert state is not None and "Connection refused" in state.last_error
        since = state.unreachable_since
        db.session.commit()
        client.login("dana@plp.example", PASSWORD)
        page = client.get("/outbox").get_data(as_text=True)
        assert "The mail server has been unreachable since" in page
        assert outbox.mail_server_state().unreachable_since == since  # kept from the start
    finally:
        app.config["MAIL_PORT"] = port
    assert outbox.send_due(now=NOW).sent == 10
    assert len(mailbox.messages) == 10 and len(set(_sent(mailbox))) == 10
    assert outbox.mail_server_state() is None
    assert "unreachable since" not in client.get("/outbox").get_data(as_text=True)


def test_a_sender_stopped_for_days_skips_what_went_stale_and_says_why(client, app, mailbox):
    """Issue 19, item 6: decided on the first day, sent on the tenth."""
    with app.app_context():
        _world()
        reminders.decide(NOW)
        result = outbox.send_due(now=NOW + timedelta(days=10))
        # Still useful: the milestone due in 10 days (due Dec 3) and the agreement (Dec 18).
        assert (result.sent, result.skipped) == (4, 6)
        skipped = db.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.status == OutboxStatus.SKIPPED)
        ).all()
        assert {row.kind for row in skipped} == {"checkin_due", "milestone_late", "staff_digest"}
        checkin = next(row for row in skipped if row.kind == "checkin_due")
        assert "out of date (useful until Nov 25, 2026" in checkin.last_error
    subjects = [subject for _, subject in _sent(mailbox)]
    assert not any("check-in due" in s or "is late" in s or "digest" in s for s in subjects)
    client.login("dana@plp.example", PASSWORD)
    page = client.get("/outbox?status=skipped").get_data(as_text=True)
    assert "out of date (useful until Nov 25, 2026" in page


def test_the_fourth_late_reminder_is_decided_on_a_catch_up_on_day_29(ctx, mailbox):
    people, _, late = _world()
    late.due_on = TODAY - timedelta(days=29)  # the 4th fell due on day 22: 7 days ago
    db.session.commit()
    reminders.decide(NOW)
    periods = db.session.scalars(
        sa.select(OutboxMessage.period).where(
            OutboxMessage.kind == "milestone_late",
            OutboxMessage.recipient_id == people["priya"].id,
        )
    ).all()
    assert periods == [f"{late.due_on}/4"]
    late.due_on = TODAY - timedelta(days=30)  # a day later: too old
    db.session.commit()
    db.session.execute(sa.delete(OutboxMessage))
    reminders.decide(NOW)
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(OutboxMessage.kind == "milestone_late")
    )


def test_every_message_carries_its_row_and_a_stable_id(app, ctx, mailbox):
    _world()
    reminders.decide(NOW)
    outbox.send_due(now=NOW)
    rows = {row.id: row for row in db.session.scalars(sa.select(OutboxMessage))}
    for message in mailbox.messages:
        row = rows[int(message["X-Outbox-Key"])]
        assert message["To"] == row.recipient.email
        assert message["Message-ID"] == outbox.message_id(row.id, row.created_at, "ssi.example")
        assert message["Date"].endswith("+0000")
        assert message["From"] == "Student Success Initiative <no-reply@ssi.example>"
        raw = message.as_bytes()
        head = raw.split(b"\n\n", 1)[0]
        assert all(len(line.rstrip(b"\r")) <= 78 for line in head.split(b"\n")), head
        html = message.get_payload()[1].get_payload(decode=True).decode()
        assert html.startswith("<!DOCTYPE html>") and '<html lang="en">' in html
        assert "<title>" in html
        links = re.findall(r'href="([^"]+)"', html)
        assert links and all(link.startswith("https://ssi.example/") for link in links)


def test_staff_see_failed_emails_and_send_one_again(client, app):
    with app.app_context():
        people, _, _ = _world()
        reminders.decide(NOW)
        db.session.execute(sa.update(OutboxMessage).values(status="failed", attempts=5))
        db.session.commit()
        message_id = db.session.scalar(sa.select(OutboxMessage.id).limit(1))
    client.login("dana@plp.example", PASSWORD)
    page = client.get("/outbox").get_data(as_text=True)
    assert "Send again" in page and "10" in page
    client.submit(f"/outbox/{message_id}/retry")
    with app.app_context():
        assert db.session.get(OutboxMessage, message_id).status == OutboxStatus.PENDING
    client.submit("/logout")
    client.login("priya@hayward.example", PASSWORD)
    assert client.get("/outbox").status_code == 403


def test_after_ten_days_down_each_item_is_reminded_once_and_nothing_stale(ctx, mailbox):
    _, soon, late = _world()
    # While the scheduler was down: the late step went late 10 days ago (its 2nd weekly
    # reminder fell due 2 days ago); the check-in fell overdue 9 days ago (too old).
    late.due_on = TODAY - timedelta(days=10)
    db.session.execute(sa.update(Pairing).values(next_checkin_on=TODAY - timedelta(days=16)))
    db.session.execute(sa.update(Agreement).values(expires_on=TODAY + timedelta(days=200)))
    soon.due_on = TODAY + timedelta(days=5)  # its "due in 14 days" moment passed: still useful
    db.session.commit()
    reminders.decide(NOW)
    kinds = sorted(set(db.session.scalars(sa.select(OutboxMessage.period).where(
        OutboxMessage.kind == "milestone_late"))))  # fmt: skip
    assert kinds == [f"{TODAY - timedelta(days=10)}/2"]  # once, not once per missed run
    assert not db.session.scalar(
        sa.select(sa.func.count()).where(OutboxMessage.kind == "checkin_overdue")
    )
    reminders.decide(NOW + timedelta(minutes=15))
    outbox.send_due(now=NOW)
    subjects = [s for _, s in _sent(mailbox)]
    assert sum("is late" in s for s in subjects) == 2  # Priya and Sam, once each
    assert sum("due Nov 28" in s for s in subjects) == 2
    assert not any("overdue since" in s for s in subjects)


def _decide_and_commit(now) -> int:
    """As the scheduler's job does: other threads and processes see the rows."""
    added = reminders.decide(now)
    db.session.commit()
    return added


def test_two_deciders_and_two_senders_at_once_send_everything_once(app, ctx, mailbox):
    _world()
    errors = []

    def run(job):
        with app.app_context():
            try:
                job()
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)

    decided = []
    deciders = [
        threading.Thread(target=run, args=(lambda: decided.append(_decide_and_commit(NOW)),))
        for _ in range(2)
    ]
    for thread in deciders:
        thread.start()
    for thread in deciders:
        thread.join()
    assert errors == [] and row_count(OutboxMessage) == 10
    assert sorted(decided) == [0, 10]  # each counts only what it inserted
    senders = [
        threading.Thread(target=run, args=(lambda: outbox.send_due(batch_size=2, now=NOW),))
        for _ in range(2)
    ]
    for thread in senders:
        thread.start()
    for thread in senders:
        thread.join()
    outbox.send_due(now=NOW)  # whatever a busy SQLite writer left for the next round
    assert errors == []
    assert len(mailbox.messages) == 10 and len(set(_sent(mailbox))) == 10


def test_the_scheduler_keeps_fixed_jobs_in_memory(app):
    from apscheduler.jobstores.memory import MemoryJobStore
    from apscheduler.schedulers.background import BackgroundScheduler

    running = scheduler.build(app, BackgroundScheduler)
    running.start(paused=True)  # nothing runs: we only look at the jobs
    try:
        jobs = {job.id: job for job in running.get_jobs()}
        assert set(jobs) == {scheduler.DECIDE_JOB, scheduler.SEND_JOB}
        for job in jobs.values():
            assert job.coalesce is True and job.misfire_grace_time == 600
            assert type(job.trigger).__name__ == "CronTrigger"
        assert isinstance(running._lookup_jobstore("default"), MemoryJobStore)
    finally:
        running.shutdown(wait=False)


@pytest.mark.skipif(not on_postgres(), reason="SKIP LOCKED between processes: PostgreSQL")
def test_a_sender_killed_mid_run_loses_and_repeats_nothing(app, ctx, mailbox, smtp_server):
    """Two scheduler processes; one is killed with SIGKILL while sending."""
    people, _, _ = _world()
    extra = [make_user("pilot", people["priya"].library) for _ in range(60)]
    _decide_and_commit(NOW)
    due = row_count(OutboxMessage)
    assert due == 10 + 4 * len(extra)
    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SECRET_KEY": "a-test-secret-key-long-enough-for-production",
        "RATELIMIT_ENABLED": "false",  # a scheduler serves no sign-ins
        "BASE_URL": "https://ssi.example",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
        "OUTBOX_CLAIM_TIMEOUT": "2",
        "OUTBOX_CLAIM_BATCH": "20",  # small claims, so both senders share the work
        "OUTBOX_CONNECTIONS": "4",
    }
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "mentorship",
        "scheduler",
        "--once",
        "--wait",
        "30",
        "--now",  # decide as the test did, whatever today's date
        NOW.isoformat(timespec="minutes"),
    ]
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    second = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while len(mailbox.messages) < due // 5 and time.monotonic() < deadline:
        time.sleep(0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    output = second.communicate(timeout=60)[0].decode()
    assert second.returncode == 0, output[-2000:]
    received = [int(m["X-Outbox-Key"]) for m in mailbox.messages]
    assert len(received) == len(set(received)), output[-2000:]  # never twice
    db.session.expire_all()
    for row in db.session.scalars(sa.select(OutboxMessage)):
        # Sent and received; or killed between its record and the server's reply: shown
        # as unconfirmed (tests/test_outbox_faults.py kills at each point on purpose).
        assert (row.status == OutboxStatus.SENT and row.id in received) or (
            row.status == OutboxStatus.UNCONFIRMED
        ), (row.id, row.status, row.last_error)


def test_the_scheduler_command_decides_as_of_the_moment_it_is_given(app, ctx, mailbox):
    _world()
    db.session.commit()  # the command works in its own session
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["scheduler", "--now", "2026-11-23T17:00+00:00"])
    assert refused.exit_code == 2 and "--now only goes with --once" in refused.output
    garbled = runner.invoke(args=["scheduler", "--once", "--now", "next tuesday"])
    assert garbled.exit_code == 2 and "next tuesday" in garbled.output
    assert mailbox.messages == []

    result = runner.invoke(args=["scheduler", "--once", "--now", NOW.isoformat()])
    assert result.exit_code == 0, result.output
    subjects = {subject for _, subject in _sent(mailbox)}
    assert "Hayward Public Library: check-in due Nov 25, 2026" in subjects  # NOW's, not today's
    assert len(mailbox.messages) == 10
