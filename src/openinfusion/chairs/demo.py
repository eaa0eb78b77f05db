"""Demo days at the infusion center: 40 places (36 chairs, 4 beds), 5 nurse shifts today and
tomorrow, one visit per patient with orders today, and tomorrow's first bookings (visits without a
dose yet: hydration, iron, follow-up), both days planned by the optimiser."""

from __future__ import annotations

import contextlib
import datetime as dt

from openinfusion.accounts.models import Site, User
from openinfusion.chairs.models import Appointment, Chair, NurseShift
from openinfusion.chairs.services import plan_day_as_system
from openinfusion.errors import Conflict
from openinfusion.orders.models import Order, OrderStatus
from openinfusion.patients.models import Patient

TOMORROW_VISITS = 10
SHIFTS = (
    ("nurse", "Nadia Haddad", "07:00", "15:30", "11:30"),
    (None, "Nurse B", "07:00", "15:30", "12:00"),
    (None, "Nurse C", "08:00", "16:30", "12:30"),
    (None, "Nurse D", "10:30", "19:00", "14:00"),
    (None, "Nurse E", "10:30", "19:00", "14:30"),
)
"""Label, shift and the start of a 30-minute meal break (staggered so that someone can always start
a patient)."""


def load_chairs_demo(time_limit: float = 3.0) -> None:
    center = Site.objects.filter(code="infusion-center").first()
    if center is None or Chair.objects.filter(site=center).exists():
        return
    today = dt.datetime.now(center.zone).date()
    for n in range(1, 37):
        Chair.objects.create(site=center, code=f"C{n:02d}", long_ok=n <= 28, isolation=n == 36)
    for n in range(1, 5):
        Chair.objects.create(site=center, code=f"B{n}", kind="bed")
    tomorrow = today + dt.timedelta(days=1)
    for date in (today, tomorrow):
        for username, label, start, end, pause in SHIFTS:
            break_start = dt.time.fromisoformat(pause)
            NurseShift.objects.create(
                break_start=break_start,
                break_end=(dt.datetime.combine(date, break_start) + dt.timedelta(minutes=30)).time(),
                site=center,
                nurse=User.objects.filter(username=username).first() if username else None,
                label=label,
                date=date,
                start=dt.time.fromisoformat(start),
                end=dt.time.fromisoformat(end),
            )
    orders = (
        Order.objects.filter(site=center)
        .exclude(status__in=(OrderStatus.CANCELLED, OrderStatus.DRAFT))
        .select_related("patient")
        .order_by("patient_id", "planned_start", "id")
    )
    visits: dict[int, tuple[Order, int]] = {}
    for order in orders:
        if order.planned_start.astimezone(center.zone).date() != today:
            continue
        first, minutes = visits.get(order.patient_id, (order, 0))
        visits[order.patient_id] = (first, minutes + (order.duration_minutes or 30))
    for i, (order, minutes) in enumerate(visits.values()):
        duration = max(30, min(minutes, 6 * 60))
        earliest = 8 * 60 + (i % 8) * 30
        latest = max(earliest, min(earliest + 180, 19 * 60 - duration))
        earliest = min(earliest, latest)
        Appointment.objects.create(
            site=center,
            patient=order.patient,
            order=order,
            date=today,
            earliest=dt.time(earliest // 60, earliest % 60),
            latest=dt.time(latest // 60, latest % 60),
            duration_minutes=duration,
            premix_ok=i % 3 == 0,  # confirmed the day before, no same-day labs: the pharmacy may premix
        )
    patients = list(Patient.objects.filter(site=center).order_by("mrn")[:TOMORROW_VISITS])
    for i, patient in enumerate(patients):
        earliest = 8 * 60 + (i % 6) * 45
        Appointment.objects.create(
            site=center,
            patient=patient,
            date=tomorrow,
            earliest=dt.time(earliest // 60, earliest % 60),
            latest=dt.time((earliest + 120) // 60, (earliest + 120) % 60),
            duration_minutes=(60, 120, 180, 90)[i % 4],
        )
    # if no plan fits, the board shows the visits as not planned yet and a scheduler plans by hand
    for date in (today, tomorrow):
        with contextlib.suppress(Conflict):
            plan_day_as_system(center, date, time_limit=time_limit)
