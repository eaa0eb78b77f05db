"""Run an ``openinfusion`` command on the suite's clock: ``python serve_at.py INSTANT COMMAND...``.

The browser journeys start the server (and build its demo) with this, so the app and the test
reading its pages agree on the time, whatever the machine's clock says (tests/clock.py).
gunicorn's workers are forked from this process and keep its clock.
"""

from __future__ import annotations

import datetime as dt
import sys

import time_machine

from openinfusion.cli import main

if __name__ == "__main__":
    instant = dt.datetime.fromisoformat(sys.argv[1])
    with time_machine.travel(instant, tick=True):
        sys.exit(main(sys.argv[2:]))
