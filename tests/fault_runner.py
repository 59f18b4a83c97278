"""Runs the real `flask --app mentorship scheduler …` and kills itself (SIGKILL) at a
chosen point of the send path: the fault-injection suite's hook, never used in production.

    python tests/fault_runner.py POINT N --app mentorship scheduler --once …

POINT is where the N-th time the sender gets there it dies:
- `before-mark`: messages begun on every connection, before they are recorded;
- `after-mark`: recorded as `sending`, before any final dot is written;
- `after-dots`: the final dots written, before the server's replies are read.
"""

from __future__ import annotations

import os
import signal
import sys


def _die_at(point: str, nth: int) -> None:
    from mentorship import mail
    from mentorship.services import outbox

    count = {"n": 0}

    def arrived() -> None:
        count["n"] += 1
        if count["n"] == nth:
            os.kill(os.getpid(), signal.SIGKILL)

    hold, write_dots = outbox._hold, mail.Outgoing.write_dots

    def hold_then(connection, token, begun):
        if begun and point == "before-mark":
            arrived()
        held = hold(connection, token, begun)
        if begun and point == "after-mark":
            arrived()
        return held

    def write_dots_then(self, slots):
        lost = write_dots(self, slots)
        if slots and point == "after-dots":
            arrived()
        return lost

    outbox._hold = hold_then
    mail.Outgoing.write_dots = write_dots_then


if __name__ == "__main__":
    point, nth = sys.argv[1], int(sys.argv[2])
    _die_at(point, nth)
    from flask.cli import main

    sys.argv = ["flask", *sys.argv[3:]]
    main()
