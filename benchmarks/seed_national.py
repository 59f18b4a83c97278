"""Generating the national-size demo program into an empty database: time and row counts.

    .venv/bin/python benchmarks/seed_national.py [--fraction 1.0] [--scale national]
    .venv/bin/python benchmarks/seed_national.py --smoke   # `make test`: one hundredth
    TEST_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test .venv/bin/python benchmarks/seed_national.py

With TEST_DATABASE_URL the run uses a fresh PostgreSQL schema (dropped afterwards);
otherwise a SQLite file. The target is under 10 minutes on 2 cores for the full size
(10,000 libraries, 13,000 districts, 100,000 milestones, 500,000 check-ins, 50,000
comments). Afterwards a few pages are timed as staff and as a generated pilot, so a
query plan that the size makes slow shows up here rather than in production.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mentorship import create_app, demo  # noqa: E402
from mentorship.demo import scale as demo_scale  # noqa: E402
from mentorship.extensions import db  # noqa: E402
from mentorship.models import Participation, ParticipationRole, User  # noqa: E402
from tests.conftest import Browserless, app_settings  # noqa: E402
from tests.databases import fresh_database  # noqa: E402

PAGES = ("/", "/at-risk", "/libraries/", "/districts/", "/cohorts/", "/case-studies/")


def timed_pages(app, email: str, paths) -> list[tuple[str, int, float]]:
    client = Browserless(app.test_client())
    client.login(email, demo.DEMO_PASSWORD)
    results = []
    for path in paths:
        started = time.perf_counter()
        status = client.get(path).status_code
        results.append((path, status, time.perf_counter() - started))
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", choices=["national", "california"], default="national")
    parser.add_argument("--fraction", type=float, default=1.0, help="national only")
    parser.add_argument("--smoke", action="store_true", help="national at one hundredth")
    args = parser.parse_args()
    if args.smoke:
        args.scale, args.fraction = "national", 0.01
    statuses = []
    with tempfile.TemporaryDirectory() as directory, fresh_database(Path(directory)) as url:
        app = create_app(app_settings(url, 25))
        with app.app_context():
            upgrade()
            today = date.today()
            sizes = None
            if args.scale == "national":
                sizes = demo_scale.national_sizes(today, args.fraction)
            started = time.perf_counter()
            result = demo_scale.seed(args.scale, today, sizes)
            db.session.commit()
            seconds = time.perf_counter() - started
            print(f"{args.scale} (fraction {args.fraction}) on {db.engine.dialect.name}: "
                  f"{seconds:.1f} s including the demo and the commit")  # fmt: skip
            for table, n in result.counts.items():
                print(f"  {table:<28} {n:>9,}")
            pilot = db.session.scalar(
                sa.select(User.email)
                .join(Participation, Participation.library_id == User.library_id)
                .where(
                    User.email.like("librarian-%"),
                    Participation.role == ParticipationRole.PILOT,
                    Participation.start_date <= today,
                )
                .order_by(Participation.start_date.desc())
                .limit(1)
            )
            timeline = db.session.scalar(
                sa.select(Participation.id).join(User, User.library_id == Participation.library_id)
                .where(User.email == pilot)
            )  # fmt: skip
        print("Pages (first request, status, seconds):")
        for who, paths in (
            ("staff@demo.test", PAGES),
            ("state@demo.test", ("/",)),
            (pilot, ("/", f"/participations/{timeline}/timeline")),
        ):
            for path, status, took in timed_pages(app, who, paths):
                print(f"  {who:<32} {path:<40} {status} {took:6.2f}")
                statuses.append(status)
        with app.app_context():
            db.engine.dispose()
    # Every table got at least the rows asked for, and every page answered.
    asked = {"libraries": 0, "school_districts": 0, "milestones": 0, "check_ins": 0}
    if sizes is not None:
        asked = {
            "libraries": sizes.libraries,
            "school_districts": sizes.districts,
            "milestones": sizes.milestones,
            "check_ins": sizes.check_ins,
        }
    short = {t: (result.counts[t], n) for t, n in asked.items() if result.counts[t] < n}
    ok = not result.skipped and not short and set(statuses) == {200}
    print("count check:", "OK" if ok else f"MISMATCH: {short or result.skipped or statuses}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
