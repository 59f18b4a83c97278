"""Every page of every role under gunicorn on the national data set: latency and SQL.

    .venv/bin/python benchmarks/pages.py [--requests 30] [--workers 4] [--reseed]
    .venv/bin/python benchmarks/pages.py --smoke   # `make test`: the small demo, every page 200

It makes (once) a PostgreSQL database `mentorship_bench_national` on the server of
ADMIN_URL, migrates it and loads `seed-demo --scale national` (10,000 libraries …),
starts gunicorn against it with BENCHMARK_PROBES=1 (each response reports its SQL
statement count; `/_floor` renders the base layout around the same number of bytes
without the database), signs in as each demo role and requests each page one at a time.
It prints one table: p50 / p95 latency, statements and size per page, the floor beside
them, and the rollup's throughput against the floor's with several clients at once.

Targets (issue 8): p95 <= 100 ms single user, <= 12 SQL statements per page, rollup
throughput >= half the floor's. "cold" rows ask for a filter no worker has cached yet.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import os
import re
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent  # the virtualenv running this script
ADMIN_URL = os.environ.get("ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DATABASE = os.environ.get("BENCH_DATABASE", "mentorship_bench_national")
PASSWORD = "demo-password"
TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def database_url() -> str:
    return ADMIN_URL.rsplit("/", 1)[0] + "/" + DATABASE


def environment(**extra) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MENTORSHIP_ENV": "production",
        "SECRET_KEY": SECRET,
        "RATELIMIT_ENABLED": "false",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
        "ROLLUP_CACHE_URL": "redis://127.0.0.1:6379/0",  # as in production, see README
        "BASE_URL": "http://127.0.0.1",
        **extra,
    }


SECRET = secrets.token_hex(32)


def ensure_database(reseed: bool, scale: str = "national", enough: int = 10_000) -> None:
    """Make DATABASE once: migrated, with `seed-demo --scale SCALE` loaded.

    `--smoke` (pages.py and load.py) takes a database of its own, with the small demo.
    """
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": DATABASE}
        )
        if exists and reseed:
            connection.execute(sa.text(f'DROP DATABASE "{DATABASE}" WITH (FORCE)'))
            exists = False
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    flask = [str(BIN / "flask"), "--app", "mentorship"]
    subprocess.run([*flask, "db", "upgrade"], env=environment(), check=True, cwd=ROOT)
    engine = sa.create_engine(database_url())
    with engine.connect() as connection:
        libraries = connection.scalar(sa.text("SELECT count(*) FROM libraries"))
    engine.dispose()
    if libraries < enough:
        print(f"Loading the {scale} data set (once)…", flush=True)
        started = time.perf_counter()
        subprocess.run(
            [*flask, "seed-demo", "--scale", scale], env=environment(), check=True, cwd=ROOT
        )
        print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)


def ids() -> dict[str, object]:
    """Real ids for the URLs: the demo pilot's library, its pilot place, partnership…"""
    engine = sa.create_engine(database_url())
    one = {
        "library": "SELECT library_id FROM users WHERE email = 'pilot@demo.test'",
        "mentor_library": "SELECT library_id FROM users WHERE email = 'mentor@demo.test'",
        "participation": "SELECT p.id FROM participations p JOIN users u ON u.library_id = "
        "p.library_id WHERE u.email = 'pilot@demo.test' AND p.role = 'pilot' ORDER BY p.id DESC",
        "pairing": "SELECT pr.id FROM pairings pr JOIN participations p ON p.id = "
        "pr.pilot_participation_id JOIN users u ON u.library_id = p.library_id "
        "WHERE u.email = 'pilot@demo.test' ORDER BY pr.id DESC",
        "partnership": "SELECT pt.id FROM partnerships pt JOIN users u ON u.library_id = "
        "pt.library_id WHERE u.email = 'pilot@demo.test' ORDER BY pt.id",
        "case_study": "SELECT id FROM case_studies WHERE status = 'published' ORDER BY id",
        "cohort": "SELECT cohort_id FROM participations GROUP BY cohort_id ORDER BY count(*) DESC",
        "district": "SELECT id FROM school_districts ORDER BY id",
        "big_library": "SELECT library_id FROM partnerships GROUP BY library_id "
        "ORDER BY count(*) DESC, library_id",
        "person": "SELECT id FROM users WHERE email = 'pilot@demo.test'",
    }
    with engine.connect() as connection:
        found = {name: connection.scalar(sa.text(sql + " LIMIT 1")) for name, sql in one.items()}
        found["county"] = connection.scalar(
            sa.text("SELECT county FROM libraries GROUP BY county ORDER BY count(*) DESC LIMIT 1")
        )
        last = connection.scalar(
            sa.text("SELECT max(period_end) FROM outcome_reports WHERE grade = 3")
        )
        start = (last.year if last.month >= 7 else last.year - 1) if last else 2024
        found["last_year"] = f"{start}-{(start + 1) % 100:02d}"
        found["counties"] = connection.scalars(
            sa.text("SELECT DISTINCT county FROM libraries ORDER BY county")
        ).all()
    engine.dispose()
    return found


def drop_database() -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    admin.dispose()


@contextlib.contextmanager
def smoke_database(run: bool):
    """With `--smoke`: a fresh database with the small demo, dropped afterwards."""
    global DATABASE
    if not run:
        yield
        return
    DATABASE = f"mentorship_bench_smoke_{secrets.token_hex(4)}"
    try:
        ensure_database(False, scale="demo", enough=1)
        yield
    finally:
        drop_database()


def pages(found: dict) -> dict[str, list[tuple[str, str]]]:
    lib, part = found["library"], found["participation"]
    county = urlencode({"county": found["county"]})
    return {
        "state": [
            ("home", "/"),
            ("rollup", "/rollup/"),
            ("rollup: a county", f"/rollup/?{county}"),
            ("rollup: a system and year", "/rollup/?system=NorthNet&year=2025-26"),
            ("rollup: libraries in view", "/rollup/libraries"),
            ("rollup: one library", f"/rollup/libraries/{found['big_library']}"),
            ("rollup: annual report", "/rollup/annual-report?year=2025-26"),
            ("CSV: rollup counties", "/rollup/counties.csv"),
            ("CSV: libraries in a county", f"/rollup/libraries?format=csv&{county}"),
            ("CSV: annual report, a county", f"/rollup/annual-report?format=csv&{county}"),
            ("CSV: libraries, all", "/rollup/libraries?format=csv"),
            ("CSV: annual report, all", "/rollup/annual-report?format=csv&year=2025-26"),
            ("legislative report", f"/legislative-report?year={found['last_year']}"),
            (
                "legislative report: a county",
                f"/legislative-report?year={found['last_year']}&{county}",
            ),
            ("legislative report: print", f"/legislative-report?year={found['last_year']}&print=1"),
            ("CSV: legislative report", f"/legislative-report.csv?year={found['last_year']}"),
            ("coverage gap", "/coverage-gap"),
            ("coverage gap: a county", f"/coverage-gap?{county}"),
            ("toolkit", "/toolkit/"),
            ("case studies", "/case-studies/"),
        ],
        "staff": [
            ("home", "/"),
            ("libraries", "/libraries/"),
            ("libraries, search", "/libraries/?q=public"),
            ("a library", f"/libraries/{found['big_library']}"),
            ("districts", "/districts/"),
            ("a district", f"/districts/{found['district']}"),
            ("cohorts", "/cohorts/"),
            ("a cohort", f"/cohorts/{found['cohort']}"),
            ("people", "/people/"),
            ("a person", f"/people/{found['person']}"),
            ("at risk", "/at-risk"),
            ("agreements expiring", "/agreements/expiring"),
            ("audit log", "/audit/"),
            ("reminder emails", "/outbox"),
            ("milestone plan", "/plan"),
            ("pairing board", f"/pairings/cohorts/{found['cohort']}"),
            ("rollup", "/rollup/"),
            ("CSV: libraries", "/libraries/?format=csv"),
            ("CSV: at risk", "/at-risk?format=csv"),
        ],
        "pilot": [
            ("home", "/"),
            ("my library", f"/libraries/{lib}"),
            ("school partners", f"/libraries/{lib}/partners"),
            ("a partnership", f"/partnerships/{found['partnership']}"),
            ("timeline", f"/participations/{part}/timeline"),
            ("commitment letter", f"/participations/{part}/letter"),
            ("check-ins", f"/pairings/{found['pairing']}/check-ins"),
            ("case studies", "/case-studies/"),
            ("a case study", f"/case-studies/{found['case_study']}"),
            ("toolkit", "/toolkit/"),
            ("toolkit search", "/toolkit/search?q=data+sharing"),
            ("annual report", f"/rollup/libraries/{lib}/annual-report"),
            ("calendar", "/calendar"),
        ],
        "mentor": [
            ("home", "/"),
            ("my library", f"/libraries/{found['mentor_library']}"),
            ("mentee's library", f"/libraries/{lib}"),
            ("mentee's timeline", f"/participations/{part}/timeline"),
            ("check-ins", f"/pairings/{found['pairing']}/check-ins"),
            ("case studies", "/case-studies/"),
        ],
    }


class Client:
    """One keep-alive HTTP connection with a cookie jar (a signed-in person)."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def request(self, method: str, path: str, body: str | None = None):
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        except (http.client.HTTPException, OSError):
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
        data = response.read()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response, data

    def sign_in(self, email: str) -> None:
        _, page = self.request("GET", "/login")
        token = TOKEN.search(page.decode()).group(1)
        body = urlencode({"csrf_token": token, "email": email, "password": PASSWORD})
        response, _ = self.request("POST", "/login", body)
        assert response.status == 302, f"sign-in as {email} failed ({response.status})"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(workers: int) -> tuple[subprocess.Popen, int]:
    port = free_port()
    process = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "mentorship:create_app()",
        ],
        env=environment(BENCHMARK_PROBES="1"),
        cwd=ROOT,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process, port
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("gunicorn did not start")


def measure(client: Client, path: str, n: int, warm: int = 2) -> dict:
    for _ in range(warm):
        client.request("GET", path)
    times, statements, size, status = [], 0, 0, 0
    for _ in range(n):
        started = time.perf_counter()
        response, data = client.request("GET", path)
        times.append(1000 * (time.perf_counter() - started))
        statements = int(response.getheader("X-SQL-Statements") or 0)
        size, status = len(data), response.status
    return summary(times) | {"statements": statements, "bytes": size, "status": status}


def summary(times: list[float]) -> dict:
    times = sorted(times)
    return {
        "p50": statistics.median(times),
        "p95": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
    }


def cold_rollup(client: Client, counties: list[str]) -> dict:
    """The rollup for filters nobody has asked for yet: every request computes."""
    times, statements = [], 0
    for county in counties:
        started = time.perf_counter()
        response, _ = client.request(
            "GET", "/rollup/?" + urlencode({"county": county, "year": "2024-25"})
        )
        times.append(1000 * (time.perf_counter() - started))
        statements = int(response.getheader("X-SQL-Statements") or 0)
    return summary(times) | {"statements": statements, "bytes": 0, "status": response.status}


def throughput(port: int, path: str, email: str | None, clients: int, seconds: float) -> float:
    done = [0] * clients
    signed_in = []
    for _ in range(clients):  # before the clock starts: sign-in is not what is measured
        client = Client(port)
        if email:
            client.sign_in(email)
        client.request("GET", path)
        signed_in.append(client)
    stop = time.perf_counter() + seconds

    def run(i: int) -> None:
        client = signed_in[i]
        while True:  # at least one request each, however short the run
            client.request("GET", path)
            done[i] += 1
            if time.perf_counter() >= stop:
                break

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(done) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--clients", type=int, default=8, help="for the throughput runs")
    parser.add_argument("--seconds", type=float, default=8.0, help="per throughput run")
    parser.add_argument("--reseed", action="store_true", help="drop and load the data again")
    parser.add_argument(
        "--smoke", action="store_true", help="the small demo, once per page: do they all work?"
    )
    args = parser.parse_args()
    if args.smoke:
        args.requests, args.workers, args.clients, args.seconds = 1, 1, 2, 1.0
    with smoke_database(args.smoke):
        if not args.smoke:
            ensure_database(args.reseed)
        return measure_all(args)


def measure_all(args) -> int:
    found = ids()
    process, port = start_gunicorn(args.workers)
    rows = []
    try:
        anonymous = Client(port)
        for role, role_pages in pages(found).items():
            client = Client(port)
            client.sign_in(f"{role}@demo.test")
            for name, path in role_pages:
                rows.append((role, name, measure(client, path, args.requests)))
                if role == "state" and name == "rollup":
                    rollup_bytes = rows[-1][2]["bytes"]
                    floor = measure(anonymous, f"/_floor?bytes={rollup_bytes}", args.requests)
                    rows.append(("—", "floor: layout + same bytes, no SQL", floor))
                    cold = cold_rollup(client, found["counties"][: args.requests])
                    rows.append(("state", "rollup, cold (a new filter each time)", cold))
        rollup_rate = throughput(port, "/rollup/", "state@demo.test", args.clients, args.seconds)
        floor_rate = throughput(
            port, f"/_floor?bytes={rollup_bytes}", None, args.clients, args.seconds
        )
    finally:
        process.terminate()
        process.wait(timeout=30)

    print(
        f"\n{args.workers} gunicorn workers, PostgreSQL, "
        f"{'the small demo (--smoke)' if args.smoke else 'national data set'}; "
        f"{args.requests} requests per page, one at a time\n"
    )
    header = f"{'role':<7} {'page':<40} {'status':>6} {'p50 ms':>8} {'p95 ms':>8} {'SQL':>5} {'KB':>8}  targets"
    print(header)
    print("-" * len(header))
    misses = 0
    for role, name, m in rows:
        ok_time = m["p95"] <= 100
        ok_sql = m["statements"] <= 12
        misses += not (ok_time and ok_sql)
        flags = ("ok" if ok_time else "p95>100") + " " + ("ok" if ok_sql else "SQL>12")
        print(
            f"{role:<7} {name:<40} {m['status']:>6} {m['p50']:>8.1f} {m['p95']:>8.1f} "
            f"{m['statements']:>5} {m['bytes'] / 1024:>8.1f}  {flags}"
        )
    ratio = rollup_rate / floor_rate if floor_rate else 0
    print(
        f"\nthroughput, {args.clients} clients for {args.seconds:.0f} s: rollup "
        f"{rollup_rate:.0f} req/s, floor {floor_rate:.0f} req/s, ratio {ratio:.2f} "
        f"(target >= 0.50: {'met' if ratio >= 0.5 else 'missed'})"
    )
    print(f"pages missing a target: {misses} of {len(rows)}")
    # Timings are the figures to read; pages that do not answer are a broken benchmark.
    expected = sum(len(role_pages) for role_pages in pages(found).values()) + 2
    failed = [(role, name, m["status"]) for role, name, m in rows if m["status"] != 200]
    ok = not failed and len(rows) == expected and rollup_rate > 0 and floor_rate > 0
    print(
        "count check:",
        "OK" if ok else f"MISMATCH: {len(rows)} rows of {expected}, not 200: {failed}",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
