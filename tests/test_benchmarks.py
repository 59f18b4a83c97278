"""Every benchmark runs at its `--smoke` size, so one that stops working fails `make test`.

A smoke run checks its counts (every page answered, every reminder sent once, every row
restored), never its timings: those are for a person to read on a quiet machine. Those that
need PostgreSQL and gunicorn, and the two whose PostgreSQL path differs (COPY, SKIP
LOCKED), run in the PostgreSQL run; the others in the SQLite run: `make test` runs each
once.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.databases import POSTGRES_URL, on_postgres

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(path.name for path in (ROOT / "benchmarks").glob("*.py"))  # every one
NEEDS_POSTGRES = {"pages.py", "load.py"}  # gunicorn on a PostgreSQL database of their own
ON_POSTGRES = NEEDS_POSTGRES | {"reminders.py", "seed_national.py"}


@pytest.mark.parametrize("script", SCRIPTS)
def test_benchmark_runs_at_its_smoke_size(script):
    if (script in ON_POSTGRES) != on_postgres():
        pytest.skip("runs in the " + ("PostgreSQL" if script in ON_POSTGRES else "SQLite") + " run")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    if on_postgres():
        environment["ADMIN_URL"] = POSTGRES_URL  # pages.py / load.py make their own database
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), "--smoke"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr[-3000:]
    assert result.returncode == 0, output
    assert "count check: OK" in result.stdout, output
