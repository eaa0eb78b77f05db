"""Two schedulers booking add-ons into the same day at the same moment while the front desk checks a
patient in (three re-plans at once, no deadlock): each plan is computed from
the other's committed result (plans are serialised per site, and every audited transition also
waits for the audit chain's head), so both visits end up planned and the
stored day passes the independent checker — no two visits share a chair at once. On SQLite every
write transaction runs alone (IMMEDIATE mode), so only the PostgreSQL run (required in CI) exercises
the locks themselves."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from django.db import close_old_connections, connection
from tests.integration.chairs.conftest import at, stored_violations, visit


@pytest.mark.django_db(transaction=True)
def test_two_add_ons_booked_at_once_are_both_planned_without_overlap(
    committed_db, centre, day, patients, scheduler, make_user
):
    from openinfusion.chairs.models import Appointment
    from openinfusion.chairs.services import book_appointment, plan_day, record_arrival

    for p in patients[2:]:
        visit(centre, p, day, earliest=dt.time(8), latest=dt.time(9), minutes=240)
    plan_day(centre.pk, day, actor=scheduler, time_limit=1)
    schedulers = [scheduler, make_user("scheduler-2", "scheduler"), make_user("front-desk", "scheduler")]
    here = Appointment.objects.filter(site=centre, date=day).order_by("planned_arrival").first()
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def book(n: int) -> None:
        try:
            barrier.wait()
            if n == 2:  # meanwhile the front desk checks a patient in, which re-plans too
                record_arrival(here.pk, actor=schedulers[n], now=at(centre, day, "08:00"))
                return
            book_appointment(
                centre.pk,
                actor=schedulers[n],
                mrn=patients[n].mrn,
                date=day,
                earliest=dt.time(9),
                latest=dt.time(9),
                duration_minutes=120,
                time_limit=1,
            )
        except BaseException as error:  # re-raised in the test thread
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=book, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert Appointment.objects.filter(site=centre, date=day, add_on=True, planned_start__isnull=False).count() == 2
    assert Appointment.objects.get(pk=here.pk).status == "arrived"
    assert stored_violations(centre, day) == []


@pytest.mark.django_db(transaction=True)
def test_an_unrelated_write_goes_through_while_a_booking_is_solving(
    committed_db, centre, day, patients, scheduler, nurse, monkeypatch
):
    """Issue 21: a booking's solve takes seconds; meanwhile a nurse's weight for another patient
    (a measurement and its audit event, both tied to the same site) must not wait for it. The solve
    is held until that write has finished: if the booking's locks blocked the write, the solve
    would wait its full timeout and the write would come after it."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite lets one transaction write at a time: a booking holds the database while it solves")
    from openinfusion.chairs import services
    from openinfusion.patients.services import record_measurement

    solving, written = threading.Event(), threading.Event()
    real_solve = services.solve_day
    held: list[bool] = []

    def slow_solve(*args, **kwargs):
        solving.set()
        held.append(written.wait(timeout=10))
        return real_solve(*args, **kwargs)

    monkeypatch.setattr(services, "solve_day", slow_solve)
    errors: list[BaseException] = []

    def book() -> None:
        try:
            services.book_appointment(
                centre.pk,
                actor=scheduler,
                mrn=patients[1].mrn,
                date=day,
                earliest=dt.time(9),
                latest=dt.time(11),
                duration_minutes=60,
                time_limit=1,
            )
        except BaseException as error:  # re-raised in the test thread
            errors.append(error)
        finally:
            connection.close()

    booking = threading.Thread(target=book)
    booking.start()
    assert solving.wait(timeout=10)
    started = time.monotonic()
    record_measurement(patients[2].pk, actor=nurse, kind="weight", text="70 kg")
    waited = time.monotonic() - started
    written.set()
    booking.join()
    assert not errors, errors
    assert held == [True] and waited < 2, waited  # without the fix: the full 10 s timeout
