"""The scheduler process: `flask --app mentorship scheduler` (exactly one in production).

APScheduler keeps its jobs in memory, defined here at start: its job store is never
shared. Every durable fact — what was decided, what was sent, when the decision last
ran — lives in the project's tables, so a restart (or a second copy by mistake) repeats
nothing: deciding is idempotent and sending claims rows. Web workers never run jobs.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from .extensions import db
from .models import OutboxMessage, OutboxStatus
from .services import milestone_facts, outbox, reminders

log = logging.getLogger(__name__)
DECIDE_JOB, SEND_JOB = "decide-reminders", "send-outbox"


def decide(app: Flask, now: datetime | None = None) -> None:
    with app.app_context():
        try:
            today = reminders.local_now(now or datetime.now(UTC)).date()
            completed = milestone_facts.agreements_taking_effect(today)
            db.session.commit()  # before the reminders, which must not nag about them
            if completed:
                log.info("milestones completed by agreements taking effect: %d", len(completed))
            added = reminders.decide(now)
            db.session.commit()
            log.info("reminders decided: %d new", added)
        except Exception:
            db.session.rollback()
            log.exception("deciding reminders failed; the next run tries again")


def send(app: Flask, now: datetime | None = None) -> outbox.Delivery:
    with app.app_context():
        try:
            result = outbox.send_due(now=now)
            if result.done or result.released or result.lost:
                log.info("outbox: %s", result)
            if result.trouble:
                log.warning("outbox: %s; trying again at the next run", result.trouble)
            return result
        except Exception:
            db.session.rollback()
            log.exception("sending the outbox failed; the next run tries again")
            return outbox.Delivery(trouble="error")


def build(app: Flask, scheduler_class: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    scheduler = scheduler_class(
        timezone=ZoneInfo(app.config["TIME_ZONE"]),
        job_defaults={"coalesce": True, "misfire_grace_time": 600, "max_instances": 1},
    )
    scheduler.add_job(
        decide, CronTrigger(minute="*/15"), id=DECIDE_JOB, args=[app], replace_existing=True
    )
    scheduler.add_job(
        send, CronTrigger(second="*/20"), id=SEND_JOB, args=[app], replace_existing=True
    )
    return scheduler


def run(app: Flask) -> None:
    """Catch up once (whatever fell due while we were down), then keep to the schedule."""
    decide(app)
    send(app)
    build(app).start()


def run_once(app: Flask, wait_seconds: float, now: datetime | None = None) -> None:
    """Decide (as of `now`, default the clock), then send until nothing is left to send
    (waiting up to `wait_seconds` for rows another sender holds, for retries, and for a
    mail server that cannot be reached). `now` also dates the sender's age rule."""
    decide(app, now)
    deadline = time.monotonic() + wait_seconds
    while True:
        result = send(app, now)
        with app.app_context():
            left = db.session.scalar(
                sa.select(sa.func.count(OutboxMessage.id)).where(
                    OutboxMessage.status.in_(
                        [OutboxStatus.PENDING, OutboxStatus.CLAIMED, OutboxStatus.SENDING]
                    ),
                )
            )
            db.session.rollback()
        if not left or time.monotonic() > deadline:
            return
        if result.trouble or not result.done:
            time.sleep(0.2)
