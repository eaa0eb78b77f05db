"""Booking and planning the infusion centre's day.

``plan_day`` turns the day's rows into an ``openinfusion.scheduling.model.Day``, solves it with
CP-SAT (never worse than the first-come-first-served baseline), checks the result with the
independent checker (an infeasible schedule is refused, nothing is stored), stores each
appointment's start, chair and nurse, and moves the ``needed_by`` of each linked order's active
preparation to the appointment's planned start. Booking an add-on re-plans the day, keeping the
others where they were when it can (moves and chair changes are penalised).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import F
from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import Site, User
from openinfusion.accounts.permissions import Action
from openinfusion.audit.services import audited, record
from openinfusion.chairs.models import Appointment, AppointmentStatus, Chair, DayPlan, NurseShift
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.errors import Conflict, InvalidInput, NotFound
from openinfusion.inventory.models import Location
from openinfusion.patients.models import Patient
from openinfusion.scheduling import model as sm
from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.fcfs import fcfs_schedule
from openinfusion.scheduling.metrics import day_metrics
from openinfusion.scheduling.solver import SolverOptions, solve_day

DEFAULT_HOODS = 2
DEFAULT_PREP_MINUTES = 20
DEFAULT_OPENING = 7 * 60
DEFAULT_CLOSING = 19 * 60
ACTIVE_PREPARATION = (PreparationStatus.PLANNED, PreparationStatus.IN_PROGRESS)


def zone(site: Site) -> ZoneInfo:
    return ZoneInfo(site.time_zone or "UTC")


def minute_of(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def local_minute(moment: dt.datetime, date: dt.date, site: Site) -> int:
    """Minutes since the site-local midnight of ``date`` (negative: the day before)."""
    midnight = dt.datetime.combine(date, dt.time(0), tzinfo=zone(site))
    return int((moment - midnight).total_seconds() // 60)


def moment_of(minute: int, date: dt.date, site: Site) -> dt.datetime:
    midnight = dt.datetime.combine(date, dt.time(0), tzinfo=zone(site))
    return midnight + dt.timedelta(minutes=minute)


def parse_time(text: str, what: str) -> dt.time:
    try:
        return dt.time.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a time like 09:30.", code="INVALID_INPUT") from None


def _site(actor: User, site_id: int) -> Site:
    site = Site.objects.filter(pk=site_id, pk__in=actor.site_ids()).first()
    if site is None:
        raise NotFound("No such site among yours.", code="UNKNOWN_SITE")
    return site


def day_rows(site: Site, date: dt.date) -> tuple[list[Chair], list[NurseShift], list[Appointment]]:
    chairs = list(Chair.objects.filter(site=site, active=True).order_by("code"))
    shifts = list(NurseShift.objects.filter(site=site, date=date).order_by("start", "id"))
    appointments = list(
        Appointment.objects.filter(site=site, date=date)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("patient", "order__drug", "chair", "nurse")
        .order_by("earliest", "id")
    )
    return chairs, shifts, appointments


def build_day(
    site: Site, date: dt.date, chairs: list[Chair], shifts: list[NurseShift], appointments: list[Appointment]
) -> sm.Day:
    """The pure scheduling model of one site's day (ids are the rows' primary keys as text)."""
    rooms = tuple(
        sm.Room(id=loc.code, hazardous=loc.kind == "hazardous_buffer", hoods=DEFAULT_HOODS)
        for loc in Location.objects.filter(site=site, kind__in=("hazardous_buffer", "clean_room")).order_by("code")
    )
    has_hazardous_room = any(r.hazardous for r in rooms)
    items = []
    for a in appointments:
        order = a.order
        hazardous = bool(order is not None and order.drug.hazardous and has_hazardous_room)
        verified = 0
        if order is not None and order.verified_at is not None:
            verified = local_minute(order.verified_at, date, site)
        items.append(
            sm.Appointment(
                id=str(a.pk),
                patient=a.patient.mrn,
                regimen=order.drug.display_name if order is not None else "",
                chair_minutes=a.duration_minutes,
                prep_minutes=DEFAULT_PREP_MINUTES if rooms and order is not None else 0,
                hazardous=hazardous,
                earliest=minute_of(a.earliest),
                latest=minute_of(a.latest),
                needs_labs=a.needs_labs,
                verified_at=min(verified, minute_of(a.earliest)),
                priority=a.priority,
                long=a.duration_minutes > 240,
            )
        )
    opening = min([DEFAULT_OPENING, *(minute_of(s.start) for s in shifts)])
    closing = max([DEFAULT_CLOSING, *(minute_of(s.end) for s in shifts)])
    return sm.Day(
        opening=opening,
        closing=closing,
        chairs=tuple(
            sm.Chair(id=str(c.pk), kind="bed" if c.kind == "bed" else "chair", long_ok=c.long_ok, isolation=c.isolation)
            for c in chairs
        ),
        nurses=tuple(
            sm.Nurse(
                id=str(s.pk), shift_start=minute_of(s.start), shift_end=minute_of(s.end), max_patients=s.max_patients
            )
            for s in shifts
        ),
        rooms=rooms,
        appointments=tuple(items),
    )


def _previous(appointments: list[Appointment], date: dt.date, site: Site) -> dict[str, sm.Assignment]:
    kept = {}
    for a in appointments:
        if a.planned_start is not None and a.chair_id is not None and a.nurse_id is not None:
            kept[str(a.pk)] = sm.Assignment(
                appointment_id=str(a.pk),
                start=local_minute(a.planned_start, date, site),
                chair=str(a.chair_id),
                nurse=str(a.nurse_id),
                prep_start=None,
                prep_room=None,
                ready_at=None,
            )
    return kept


def _metrics(day: sm.Day, schedule: sm.Schedule) -> dict[str, object]:
    if schedule.unscheduled or not schedule.assignments:
        return {"status": schedule.status, "unscheduled": len(schedule.unscheduled)}
    return {**dataclasses.asdict(day_metrics(day, schedule)), "unscheduled": len(schedule.unscheduled)}


def _plan(site: Site, date: dt.date, actor: User | None, time_limit: float, replan: bool) -> DayPlan:
    chairs, shifts, appointments = day_rows(site, date)
    day = build_day(site, date, chairs, shifts, appointments)
    previous = _previous(appointments, date, site) if replan else {}
    if previous:
        day = dataclasses.replace(day, weights=dataclasses.replace(day.weights, move=1, chair_change=10))
    options = SolverOptions(time_limit_seconds=time_limit, num_workers=2)
    schedule = solve_day(day, options, previous=previous) if appointments else sm.Schedule((), "cp-sat", "OPTIMAL")
    violations = check_schedule(day, schedule) if appointments else []
    if schedule.unscheduled or violations:
        details = "; ".join(v.message for v in violations[:3]) or f"{len(schedule.unscheduled)} not placed"
        raise Conflict(
            f"No feasible plan for {date:%Y-%m-%d} at {site.code}: {details}. Nothing was changed.",
            code="NO_FEASIBLE_PLAN",
        )
    baseline = fcfs_schedule(day) if appointments else schedule
    by_id = schedule.by_id()
    moved = 0
    for a in appointments:
        assignment = by_id[str(a.pk)]
        start = moment_of(assignment.start, date, site)
        prep = moment_of(assignment.prep_start, date, site) if assignment.prep_start is not None else None
        if a.planned_start != start or a.chair_id != int(assignment.chair):
            moved += 1
        Appointment.objects.filter(pk=a.pk).update(
            planned_start=start, chair_id=int(assignment.chair), nurse_id=int(assignment.nurse), planned_prep_start=prep
        )
        if a.order_id is not None:
            Preparation.objects.filter(order_id=a.order_id, status__in=ACTIVE_PREPARATION).exclude(
                needed_by=start
            ).update(needed_by=start, version=F("version") + 1)
    plan, _ = DayPlan.objects.update_or_create(
        site=site,
        date=date,
        defaults={
            "planned_at": timezone.now(),
            "planned_by": actor,
            "status": schedule.status,
            "metrics": _metrics(day, schedule),
            "baseline": _metrics(day, baseline),
        },
    )
    record(
        "chairs:day:planned",
        actor=actor,
        entity=plan,
        site=site,
        after={
            "date": date.isoformat(),
            "appointments": len(appointments),
            "status": schedule.status,
            "objective": schedule.objective,
            "moved": moved,
        },
    )
    return plan


@audited("chairs:day:plan")
def plan_day(site_id: int, date: dt.date, *, actor: User, time_limit: float = 5.0, replan: bool = False) -> DayPlan:
    """Plan (or re-plan) a site's day and store it; refuse, changing nothing, if it is infeasible."""
    check(actor, Action.MANAGE_SCHEDULE)
    return _plan(_site(actor, site_id), date, actor, time_limit, replan)


def plan_day_as_system(site: Site, date: dt.date, time_limit: float = 5.0) -> DayPlan:
    """Planning without a person (the demo loader)."""
    return _plan(site, date, None, time_limit, False)


@audited("chairs:appointment:book")
def book_appointment(
    site_id: int,
    *,
    actor: User,
    mrn: str,
    date: dt.date,
    earliest: dt.time,
    latest: dt.time,
    duration_minutes: int,
    needs_labs: bool = False,
    order_id: int | None = None,
    time_limit: float = 5.0,
) -> Appointment:
    """Book an add-on visit and re-plan the day around it; refused (nothing booked) if it cannot fit."""
    check(actor, Action.MANAGE_SCHEDULE)
    site = _site(actor, site_id)
    patient = Patient.objects.filter(site=site, mrn=mrn.strip()).first()
    if patient is None:
        raise NotFound(f"No patient with MRN {mrn.strip()!r} at {site.name}.", code="UNKNOWN_PATIENT")
    if duration_minutes <= 0 or duration_minutes > 12 * 60:
        raise InvalidInput("The duration must be between 1 minute and 12 hours.", code="INVALID_INPUT")
    if latest < earliest:
        raise InvalidInput("The window ends before it starts.", code="INVALID_INPUT")
    order = None
    if order_id is not None:
        order = patient.orders.filter(pk=order_id).first()
        if order is None:
            raise NotFound("No such order for this patient.", code="UNKNOWN_ORDER")
    appointment = Appointment.objects.create(
        site=site,
        patient=patient,
        order=order,
        date=date,
        earliest=earliest,
        latest=latest,
        duration_minutes=duration_minutes,
        needs_labs=needs_labs,
        add_on=True,
    )
    record(
        "chairs:appointment:booked",
        actor=actor,
        entity=appointment,
        site=site,
        patient_id=patient.pk,
        after={
            "date": date.isoformat(),
            "earliest": f"{earliest:%H:%M}",
            "latest": f"{latest:%H:%M}",
            "duration_minutes": duration_minutes,
            "add_on": True,
        },
    )
    _plan(site, date, actor, time_limit, True)
    appointment.refresh_from_db()
    return appointment


@audited("chairs:appointment:cancel")
def cancel_appointment(appointment_id: int, *, actor: User, reason: str = "") -> Appointment:
    check(actor, Action.MANAGE_SCHEDULE)
    appointment = Appointment.objects.filter(pk=appointment_id, site__in=actor.site_ids()).first()
    if appointment is None:
        raise NotFound("No such appointment at your sites.", code="UNKNOWN_APPOINTMENT")
    if appointment.status == AppointmentStatus.CANCELLED:
        raise Conflict("The appointment is already cancelled.", code="ALREADY_CANCELLED")
    appointment.status = AppointmentStatus.CANCELLED
    appointment.planned_start = None
    appointment.planned_prep_start = None
    appointment.chair = None
    appointment.nurse = None
    appointment.save(update_fields=["status", "planned_start", "planned_prep_start", "chair", "nurse"])
    record(
        "chairs:appointment:cancelled",
        actor=actor,
        entity=appointment,
        site=appointment.site,
        patient_id=appointment.patient_id,
        reason=reason,
    )
    return appointment
