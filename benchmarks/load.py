"""The product under load: 50 people across the four roles for 60 s, on 127.0.0.1 only.

    .venv/bin/python benchmarks/load.py [--users 50] [--seconds 60] [--workers 4] [--reseed]
    .venv/bin/python benchmarks/load.py --smoke   # `make test`: 4 people, 5 s, the small demo

It makes (once) a PostgreSQL database `mentorship_bench_california` with the
California-size demo data (`seed-demo --scale california`), adds load-test sign-ins
(pilots and their mentors, staff, state officials; all `@load.test`), then starts
gunicorn with several workers plus the reminder scheduler, as in production, and runs
the simulated people as threads, each with its own session: they open pages, and pilots
mark milestones done and log check-ins, mentors log check-ins.

It prints requests/s, p50 / p95 latency (all and per role), errors (5xx, connection
failures, or a page that answered other than expected), and the writes: how many the
people made and saw confirmed, against how many the database holds afterwards
(targets: 0 errors, 0 lost writes).
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pages as shared
import sqlalchemy as sa
from pages import BIN, ROOT, Client, environment, free_port, summary

DATABASE = "mentorship_bench_california"
PASSWORD = "load-test-password-1"
VERSION = re.compile(r'name="version"[^>]*value="(\d+)"')
ROLE_MIX = {"pilot": 0.4, "mentor": 0.2, "staff": 0.2, "state": 0.2}


@dataclass
class Person:
    role: str
    email: str
    library_id: int | None = None
    participation_id: int | None = None
    pairing_id: int | None = None
    open_milestones: list[int] = field(default_factory=list)


def load_people(counts: dict[str, int]) -> list[Person]:
    """Sign-ins for the load test, made through the app's own code (idempotent)."""
    import os

    os.environ.update(environment())
    from mentorship import create_app
    from mentorship.extensions import db
    from mentorship.models import (
        CLOSED_STATUSES,
        Milestone,
        Pairing,
        PairingStatus,
        Participation,
        Role,
        User,
    )
    from mentorship.services.auth import hash_password

    app = create_app()
    people = []
    with app.app_context():
        pairings = db.session.execute(
            sa.select(Pairing.id, Pairing.pilot_participation_id, Participation.library_id)
            .join(Participation, Participation.id == Pairing.pilot_participation_id)
            .where(Pairing.status == PairingStatus.ACTIVE)
            .order_by(Pairing.id)
        ).all()
        mentor_of = dict(
            db.session.execute(
                sa.select(Pairing.id, Participation.library_id)
                .join(Participation, Participation.id == Pairing.mentor_participation_id)
                .where(Pairing.status == PairingStatus.ACTIVE)
            ).all()
        )
        password = hash_password(PASSWORD)
        chosen = pairings[: counts["pilot"]]
        for n, (pairing_id, participation_id, library_id) in enumerate(chosen):
            open_ids = db.session.scalars(
                sa.select(Milestone.id)
                .where(
                    Milestone.participation_id == participation_id,
                    Milestone.status.not_in(CLOSED_STATUSES),
                    Milestone.completed_by.is_(None),  # a fact's step is done by its fact
                )
                .order_by(Milestone.due_on)
            ).all()
            people.append(
                Person(
                    "pilot",
                    f"load-pilot-{n}@load.test",
                    library_id,
                    participation_id,
                    pairing_id,
                    list(open_ids),
                )
            )
        for n in range(counts["mentor"]):
            pairing_id, _, _ = chosen[n % len(chosen)]
            people.append(
                Person(
                    "mentor",
                    f"load-mentor-{n}@load.test",
                    mentor_of[pairing_id],
                    pairing_id=pairing_id,
                )
            )
        for role in ("staff", "state"):
            people += [Person(role, f"load-{role}-{n}@load.test") for n in range(counts[role])]
        existing = set(
            db.session.scalars(sa.select(User.email).where(User.email.like("%@load.test")))
        )
        for person in people:
            if person.email in existing:
                db.session.execute(
                    sa.update(User)
                    .where(User.email == person.email)
                    .values(library_id=person.library_id, password_hash=password, active=True)
                )
            else:
                db.session.add(
                    User(
                        name=person.email.split("@")[0],
                        email=person.email,
                        role=Role(person.role),
                        library_id=person.library_id,
                        password_hash=password,
                    )
                )
        db.session.commit()
        db.engine.dispose()
    return people


BROWSING = {
    "pilot": lambda p: [
        "/",
        f"/libraries/{p.library_id}",
        f"/libraries/{p.library_id}/partners",
        f"/participations/{p.participation_id}/timeline",
        f"/pairings/{p.pairing_id}/check-ins",
        "/toolkit/",
        "/toolkit/search?q=data+sharing",
        "/case-studies/",
    ],
    "mentor": lambda p: [
        "/",
        f"/libraries/{p.library_id}",
        f"/pairings/{p.pairing_id}/check-ins",
        "/case-studies/",
        "/toolkit/",
    ],
    "staff": lambda p: [
        "/",
        "/libraries/",
        "/districts/",
        "/cohorts/",
        "/people/",
        "/at-risk",
        "/agreements/expiring",
        "/audit/",
        "/outbox",
        "/rollup/",
    ],
    "state": lambda p: [
        "/",
        "/rollup/",
        "/rollup/?system=NorthNet",
        "/rollup/?county=Los+Angeles",
        "/rollup/libraries",
        "/rollup/annual-report",
        "/rollup/counties.csv",
    ],
}


class Run:
    def __init__(self, run_id: str):
        self.run_id = run_id
        self.lock = threading.Lock()
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.milestones_done: set[int] = set()
        self.check_ins = 0

    def error(self, text: str) -> None:
        with self.lock:
            self.errors.append(text)


def timed(run: Run, role: str, client: Client, method: str, path: str, body=None):
    started = time.perf_counter()
    try:
        response, data = client.request(method, path, body)
    except Exception as exc:  # a connection failure is an error, not a crash of the run
        run.error(f"{method} {path}: {exc!r}")
        return None, b""
    with run.lock:
        run.times[role].append(1000 * (time.perf_counter() - started))
    if response.status >= 500:
        run.error(f"{method} {path}: {response.status}")
    return response, data


def csrf(data: bytes) -> str | None:
    match = shared.TOKEN.search(data.decode("utf-8", "replace"))
    return match.group(1) if match else None


def program_today() -> str:
    """Today where the program is (the server's TIME_ZONE default): the day people give."""
    return datetime.now(ZoneInfo("America/Los_Angeles")).date().isoformat()


def mark_done(run: Run, person: Person, client: Client) -> None:
    if not person.open_milestones:
        return
    milestone_id = person.open_milestones[0]
    _, page = timed(run, person.role, client, "GET", f"/milestones/{milestone_id}")
    version, token = VERSION.search(page.decode()), csrf(page)
    if not (version and token):
        run.error(f"milestone {milestone_id}: no form to mark it done")
        return
    body = urlencode({"csrf_token": token, "version": version.group(1), "done_on": program_today()})
    response, _ = timed(run, person.role, client, "POST", f"/milestones/{milestone_id}/done", body)
    if response is None or response.status != 302:
        run.error(f"milestone {milestone_id}: answered {response and response.status}")
        return
    _, page = timed(run, person.role, client, "GET", response.getheader("Location"))
    if b"Done: " in page:  # the confirmation the person sees
        person.open_milestones.pop(0)
        with run.lock:
            run.milestones_done.add(milestone_id)
    else:
        run.error(f"milestone {milestone_id}: no confirmation")


def log_check_in(run: Run, person: Person, client: Client) -> None:
    path = f"/pairings/{person.pairing_id}/check-ins"
    _, page = timed(run, person.role, client, "GET", path)
    token = csrf(page)
    body = urlencode(
        {
            "csrf_token": token,
            "held_on": program_today(),
            "mode": "call",
            "attendees": "load test",
            "notes": f"load {run.run_id}",
        }
    )
    response, _ = timed(run, person.role, client, "POST", path, body)
    if response is not None and response.status == 302:
        with run.lock:
            run.check_ins += 1
    else:
        run.error(f"check-in on pairing {person.pairing_id}: {response and response.status}")


def simulate(run: Run, person: Person, port: int, stop: float, seed: int) -> None:
    rng = random.Random(seed)
    client = Client(port)
    try:
        _, page = client.request("GET", "/login")
        body = urlencode({"csrf_token": csrf(page), "email": person.email, "password": PASSWORD})
        response, _ = client.request("POST", "/login", body)
        if response.status != 302:
            run.error(f"sign-in {person.email}: {response.status}")
            return
    except Exception as exc:
        run.error(f"sign-in {person.email}: {exc!r}")
        return
    pages = BROWSING[person.role](person)
    while time.perf_counter() < stop:
        roll = rng.random()
        if person.role == "pilot" and roll < 0.1:
            mark_done(run, person, client)
        elif person.role in ("pilot", "mentor") and roll < 0.15:
            log_check_in(run, person, client)
        else:
            path = rng.choice(pages)
            response, _ = timed(run, person.role, client, "GET", path)
            if response is not None and response.status != 200:
                run.error(f"GET {path} as {person.role}: {response.status}")
        time.sleep(rng.uniform(0, 0.2))  # a person reads before the next click


def count_writes(run: Run) -> tuple[int, int]:
    engine = sa.create_engine(shared.database_url())
    with engine.connect() as connection:
        done = 0
        if run.milestones_done:
            done = connection.scalar(
                sa.text("SELECT count(*) FROM milestones WHERE status = 'done' AND id = ANY(:ids)"),
                {"ids": list(run.milestones_done)},
            )
        check_ins = connection.scalar(
            sa.text("SELECT count(*) FROM check_ins WHERE notes = :notes"),
            {"notes": f"load {run.run_id}"},
        )
    engine.dispose()
    return done, check_ins


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--reseed", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="4 people, 5 s, the small demo")
    args = parser.parse_args()
    if args.smoke:
        args.users, args.seconds, args.workers = 4, 5.0, 1
        with shared.smoke_database(True):
            return simulate_all(args)
    shared.DATABASE = DATABASE
    shared.ensure_database(args.reseed, scale="california", enough=183)
    return simulate_all(args)


def simulate_all(args) -> int:
    counts = {role: max(1, round(args.users * share)) for role, share in ROLE_MIX.items()}
    counts["pilot"] = args.users - counts["mentor"] - counts["staff"] - counts["state"]
    people = load_people(counts)
    extra = {"LOGIN_RATE_LIMIT": "10000 per minute"}  # 50 people sign in from one address
    port = free_port()
    web = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "mentorship:create_app()",
        ],
        env=environment(**extra),
        cwd=ROOT,
    )
    scheduler = subprocess.Popen(
        [str(BIN / "flask"), "--app", "mentorship", "scheduler"],
        env=environment(**extra),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                Client(port).request("GET", "/login")
                break
            except OSError:
                time.sleep(0.2)
        run = Run(uuid.uuid4().hex[:8])
        stop = time.perf_counter() + args.seconds
        started = time.perf_counter()
        threads = [
            threading.Thread(target=simulate, args=(run, person, port, stop, n))
            for n, person in enumerate(people)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        web.terminate()
        scheduler.terminate()
        web.wait(timeout=30)
        scheduler.wait(timeout=30)

    done_found, check_ins_found = count_writes(run)
    every = [t for times in run.times.values() for t in times]
    overall = summary(every)
    print(
        f"\n{len(people)} people ({', '.join(f'{n} {r}' for r, n in counts.items())}) for "
        f"{args.seconds:.0f} s; gunicorn {args.workers} workers + the scheduler; PostgreSQL, "
        f"{'the small demo' if args.smoke else 'California-size data'}\n"
    )
    print(f"requests      {len(every):>8}   {len(every) / elapsed:8.1f} per second")
    print(f"latency       p50 {overall['p50']:6.1f} ms   p95 {overall['p95']:6.1f} ms")
    for role, times in sorted(run.times.items()):
        s = summary(times)
        print(
            f"  {role:<8} {len(times):>6} requests   p50 {s['p50']:6.1f} ms   p95 {s['p95']:6.1f} ms"
        )
    print(f"errors        {len(run.errors):>8}")
    for text in run.errors[:10]:
        print(f"  {text}")
    print(
        f"writes        milestones marked done: made {len(run.milestones_done)}, in the "
        f"database {done_found}; check-ins logged: made {run.check_ins}, in the database "
        f"{check_ins_found}"
    )
    lost = (len(run.milestones_done) - done_found) + (run.check_ins - check_ins_found)
    print(f"lost writes   {lost:>8}")
    ok = not run.errors and not lost and every
    print("count check:", "OK" if ok else "MISMATCH: errors, lost writes or no request")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
