"""The suite's own clock: `make test` runs SQLite with the clock a year ahead."""

from __future__ import annotations

import subprocess
import sys
from datetime import date

import pytest

from tests.conftest import CLOCK_SHIFT_DAYS


@pytest.mark.skipif(not CLOCK_SHIFT_DAYS, reason="only when TEST_CLOCK_SHIFT_DAYS moves the clock")
def test_the_clock_is_really_moved_ahead(app):
    real = subprocess.run(
        [sys.executable, "-c", "import datetime; print(datetime.date.today())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    shift = (date.today() - date.fromisoformat(real)).days
    assert CLOCK_SHIFT_DAYS <= shift <= CLOCK_SHIFT_DAYS + 1  # +1: run across midnight
    with app.app_context():
        from mentorship.templating import local_today

        assert (local_today() - date.fromisoformat(real)).days >= CLOCK_SHIFT_DAYS - 1
