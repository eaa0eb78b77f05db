"""Booking and planning the infusion centre's day.

``plan_day`` turns the day's rows into an ``openinfusion.scheduling.model.Day``, solves it with
CP-SAT (never worse than the first-come-first-served baseline), checks the result with the
independent checker (an infeasible schedule is refused, nothing is stored), stores each
appointment's start, chair and nurse, and moves the ``needed_by`` of each linked order's active
preparation to the appointment's planned start. Booking an add-on re-plans the day, keeping the
others where they were when it can (moves and chair changes are penalised).

During the day the board records what happens (a patient arrives, is seated, a chair goes out of
service, the pharmacy delays a dose, a visit moves or is cancelled) and re-plans from the records:
infusions that have started keep their chair, nurse and start; nothing else is planned before now.
A booking or a move that cannot fit is refused and nothing changes; a fact (an arrival, a broken
chair) is always recorded, and if no feasible plan follows from it the previous plan is kept and the
scheduler is told what to change.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from functools import partial

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import Site, User
from openinfusion.accounts.permissions import Action
from openinfusion.audit.services import audited, record, site_from
from openinfusion.chairs.models import Appointment, AppointmentStatus, Chair, ChairOutage, DayPlan, NurseShift
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.errors import Conflict, DomainError, InvalidInput, NotFound
from openinfusion.inventory.models import Location
from openinfusion.orders.models import Order, OrderStatus
from openinfusion.patients.models import Patient
from openinfusion.scheduling import model as sm
from openinfusion.scheduling import slots
from openinfusion.scheduling.checker import check_schedule
from openinfusion.scheduling.fcfs import fcfs_schedule, greedy_schedule
from openinfusion.scheduling.metrics import day_metrics
from openinfusion.scheduling.solver import SolverOptions, solve_day

DEFAULT_HOODS = 2
DEFAULT_PREP_MINUTES = 20
"""Compounding minutes of a dose whose preparation is not planned yet."""
PREP_SETUP_MINUTES, PREP_MINUTES_PER_STEP, PREP_HAZARDOUS_MINUTES = 10, 3, 10
"""[assumption] Minutes of a planned preparation: set-up, each step of its plan (scan, draw, weigh,
inject), and the extra for a hazardous drug (gowning, closed-system transfer device)."""
DEFAULT_OPENING = 7 * 60
DEFAULT_CLOSING = 19 * 60
ACTIVE_PREPARATION = (PreparationStatus.PLANNED, PreparationStatus.IN_PROGRESS)
LAST_START = 18 * 60 + 45
"""A patient already told when to come may start as late as this (site-local minutes)."""
REPLAN_SECONDS = 1.0
"""Time limit of a re-plan from the board (the front desk waits for it)."""


def minute_of(value: dt.time) -> int:
    return value.hour * 60 + value.minute


def local_minute(moment: dt.datetime, date: dt.date, site: Site) -> int:
    """The site's wall-clock minute of ``moment`` counted from the midnight of ``date`` (negative:
    the day before). Wall clock, not elapsed time: on a daylight-saving day 11:00 is minute 660, as
    the patient's window and the nurses' shifts are."""
    local = moment.astimezone(site.zone)
    return (local.date() - date).days * 24 * 60 + local.hour * 60 + local.minute


def moment_of(minute: int, date: dt.date, site: Site) -> dt.datetime:
    """The moment at the site's wall-clock ``minute`` of ``date`` (the inverse of ``local_minute``)."""
    days, rest = divmod(minute, 24 * 60)
    wall = dt.datetime.combine(date + dt.timedelta(days=days), dt.time(rest // 60, rest % 60))
    return wall.replace(tzinfo=site.zone)


def _site(actor: User, site_id: int) -> Site:
    site = Site.objects.filter(pk=site_id, pk__in=actor.site_ids()).first()
    if site is None:
        raise NotFound("No such site among yours.", code="UNKNOWN_SITE")
    return site


def _lock(site: Site) -> None:
    """Every change to a site's schedule takes this lock first (then the appointment's, then the
    audit chain's), so plans never interleave and planners and events never deadlock.

    ``FOR NO KEY UPDATE``, not ``FOR UPDATE``: on PostgreSQL a row inserted anywhere with a foreign
    key to the site (an audit event, an order, a measurement) takes ``FOR KEY SHARE`` on it, which
    ``FOR UPDATE`` would block for the whole solve; planners still exclude each other."""
    Site.objects.select_for_update(no_key=True).filter(pk=site.pk).first()


def site_for(user: User, code: str | None) -> Site:
    """One of the user's sites by code; without a code, their first infusion centre."""
    sites = Site.objects.filter(pk__in=user.site_ids())
    if code:
        site = sites.filter(code=code).first()
        if site is None:
            raise NotFound("No such site among yours.", code="UNKNOWN_SITE")
        return site
    site = sites.filter(kind="infusion_center").order_by("code").first() or sites.order_by("code").first()
    if site is None:
        raise NotFound("You work at no site.", code="UNKNOWN_SITE")
    return site


def day_rows(site: Site, date: dt.date) -> tuple[list[Chair], list[NurseShift], list[Appointment]]:
    chairs = list(Chair.objects.filter(site=site, active=True).select_related("site").order_by("code"))
    shifts = list(NurseShift.objects.filter(site=site, date=date).select_related("site").order_by("start", "id"))
    appointments = list(
        Appointment.objects.filter(site=site, date=date)
        .exclude(status=AppointmentStatus.CANCELLED)
        .select_related("site", "patient", "order__drug", "chair", "nurse")
        .order_by("earliest", "id")
    )
    return chairs, shifts, appointments


def day_hours(shifts: list[NurseShift]) -> tuple[int, int]:
    """Opening and closing (site-local minutes): the usual hours, widened to the nurses' shifts."""
    return (
        min([DEFAULT_OPENING, *(minute_of(s.start) for s in shifts)]),
        max([DEFAULT_CLOSING, *(minute_of(s.end) for s in shifts)]),
    )


def build_day(
    site: Site,
    date: dt.date,
    chairs: list[Chair],
    shifts: list[NurseShift],
    appointments: list[Appointment],
    now: int | None = None,
) -> sm.Day:
    """The pure scheduling model of one site's day (ids are the rows' primary keys as text).

    With ``now`` (minutes since the site-local midnight) the day is re-planned from the records:
    a seated patient's infusion is fixed where it is; nobody else starts before now."""
    rooms = _clean_rooms(site, [a.order_id for a in appointments if a.order_id is not None])
    has_hazardous_room = any(r.hazardous for r in rooms)
    appointments = [a for a in appointments if a.status != AppointmentStatus.DONE]  # their chairs are free
    minutes = compounding_minutes([a.order_id for a in appointments if a.order_id is not None])
    items = [_appointment(a, date, site, rooms, has_hazardous_room, minutes, now) for a in appointments]
    opening, closing = day_hours(shifts)
    return sm.Day(
        opening=opening,
        closing=closing,
        chairs=tuple(
            sm.Chair(
                id=str(c.pk),
                kind="bed" if c.kind == "bed" else "chair",
                long_ok=c.long_ok,
                isolation=c.isolation,
                unavailable=_outages(c, date, site),
            )
            for c in chairs
        ),
        nurses=tuple(
            sm.Nurse(
                id=str(s.pk),
                shift_start=minute_of(s.start),
                shift_end=minute_of(s.end),
                max_patients=s.max_patients,
                breaks=(
                    ((minute_of(s.break_start), minute_of(s.break_end)),)
                    if s.break_start is not None and s.break_end is not None
                    else ()
                ),
            )
            for s in shifts
        ),
        rooms=rooms,
        appointments=tuple(items),
    )


def _clean_rooms(site: Site, order_ids: list[int]) -> tuple[sm.Room, ...]:
    """The clean rooms that make the day's doses: the site's own, and those of the pharmacy (often at
    another site) where the day's doses are planned to be made (named ``site/room`` then)."""
    planned_in = Preparation.objects.filter(order_id__in=order_ids, status=PreparationStatus.PLANNED).values("room_id")
    locations = (
        Location.objects.filter(kind__in=("hazardous_buffer", "clean_room"))
        .filter(Q(site=site) | Q(pk__in=planned_in))
        .select_related("site")
        .order_by("site__code", "code")
    )
    return tuple(
        sm.Room(
            id=loc.code if loc.site_id == site.pk else f"{loc.site.code}/{loc.code}",
            hazardous=loc.kind == "hazardous_buffer",
            hoods=DEFAULT_HOODS,
        )
        for loc in locations
    )


def compounding_minutes(order_ids: list[int]) -> dict[int, int]:
    """Clean-room minutes still to book per order: 0 once the dose is being made or is made; for a
    planned preparation, from its plan (set-up, steps, hazardous handling); else the default."""
    minutes = dict.fromkeys(order_ids, DEFAULT_PREP_MINUTES)
    preparations = (
        Preparation.objects.filter(order_id__in=order_ids)
        .exclude(status__in=(PreparationStatus.REJECTED, PreparationStatus.CANCELLED))
        .select_related("order__drug")
        .order_by("id")
    )
    for p in preparations:
        if p.status != PreparationStatus.PLANNED:
            minutes[p.order_id] = 0
        elif minutes[p.order_id]:
            hazardous = PREP_HAZARDOUS_MINUTES if p.order.drug.hazardous else 0
            minutes[p.order_id] = PREP_SETUP_MINUTES + PREP_MINUTES_PER_STEP * len(p.plan.get("steps", [])) + hazardous
    return minutes


def _appointment(
    a: Appointment,
    date: dt.date,
    site: Site,
    rooms: tuple[sm.Room, ...],
    has_hazardous_room: bool,
    compounding: dict[int, int],
    now: int | None,
) -> sm.Appointment:
    order = a.order
    verified = 0
    if order is not None and order.verified_at is not None:
        verified = local_minute(order.verified_at, date, site)
    earliest, latest = minute_of(a.earliest), minute_of(a.latest)
    item = sm.Appointment(
        id=str(a.pk),
        patient=a.patient.mrn,
        regimen=order.drug.display_name if order is not None else "",
        chair_minutes=a.duration_minutes,
        prep_minutes=compounding.get(order.pk, 0) if rooms and order is not None else 0,
        hazardous=bool(order is not None and order.drug.hazardous and has_hazardous_room),
        earliest=earliest,
        latest=latest,
        book_arrival=True,
        needs_labs=a.needs_labs,
        premix_eligible=a.premix_ok and not a.needs_labs,
        verified_at=min(verified, earliest),
        priority=a.priority,
        long=a.duration_minutes > 240,
        ready_not_before=(
            local_minute(a.dose_ready_not_before, date, site) if a.dose_ready_not_before is not None else None
        ),
    )
    if a.started_at is not None and a.chair_id is not None and a.nurse_id is not None:
        return dataclasses.replace(
            item,
            book_arrival=False,
            arrival=local_minute(a.arrived_at, date, site) if a.arrived_at is not None else None,
            prep_minutes=0,
            fixed_start=local_minute(a.started_at, date, site),
            fixed_chair=str(a.chair_id),
            fixed_nurse=str(a.nurse_id),
        )
    if now is None:
        return item  # planning the day: every appointment time is open inside its window
    # re-planning: a patient who came, or was told when to come, keeps that time; nobody starts before now
    told = a.arrived_at or a.planned_arrival
    if told is not None:
        arrival = local_minute(told, date, site)
        return dataclasses.replace(
            item, book_arrival=False, arrival=arrival, earliest=max(arrival, now), latest=max(LAST_START, now)
        )
    return dataclasses.replace(item, earliest=max(earliest, now), latest=max(latest, now))


def _outages(chair: Chair, date: dt.date, site: Site) -> tuple[tuple[int, int], ...]:
    start_of_day, end_of_day = moment_of(0, date, site), moment_of(24 * 60, date, site)
    return tuple(
        (max(0, local_minute(o.start, date, site)), min(24 * 60, local_minute(o.end, date, site)))
        for o in chair.outages.filter(start__lt=end_of_day, end__gt=start_of_day)
    )


def _previous(appointments: list[Appointment], date: dt.date, site: Site) -> dict[str, sm.Assignment]:
    kept = {}
    for a in appointments:
        if (
            a.status != AppointmentStatus.DONE
            and a.planned_start is not None
            and a.chair_id is not None
            and a.nurse_id is not None
        ):
            prep = local_minute(a.planned_prep_start, date, site) if a.planned_prep_start is not None else None
            kept[str(a.pk)] = sm.Assignment(
                appointment_id=str(a.pk),
                start=local_minute(a.planned_start, date, site),
                chair=str(a.chair_id),
                nurse=str(a.nurse_id),
                prep_start=prep,
                prep_room=a.planned_prep_room or None if prep is not None else None,
                ready_at=None,  # re-derived from the dose's compounding minutes when the plan is kept
                arrival=local_minute(a.planned_arrival, date, site) if a.planned_arrival is not None else None,
            )
    return kept


def _metrics(day: sm.Day, schedule: sm.Schedule) -> dict[str, object]:
    if schedule.unscheduled or not schedule.assignments:
        return {"status": schedule.status, "unscheduled": len(schedule.unscheduled)}
    return {**dataclasses.asdict(day_metrics(day, schedule)), "unscheduled": len(schedule.unscheduled)}


def now_minute(site: Site, date: dt.date, now: dt.datetime | None = None) -> int:
    return local_minute(now or timezone.now(), date, site)


def _plan(
    site: Site,
    date: dt.date,
    actor: User | None,
    time_limit: float,
    replan: bool,
    now: int | None = None,
    fact: Callable[[], object] | None = None,
) -> DayPlan:
    """Solve the day, then record ``fact`` (what changed, if anything) and store the plan.

    A plan is computed from every row of the day and rewrites them all: one at a time per site.
    Nothing is written to the audit chain before the solve: the chain's head stays locked from a
    transaction's first event to its commit, and a solve takes seconds."""
    _lock(site)
    chairs, shifts, appointments = day_rows(site, date)
    day = build_day(site, date, chairs, shifts, appointments, now)
    previous = _previous(appointments, date, site) if replan else {}
    if previous:
        day = dataclasses.replace(day, weights=dataclasses.replace(day.weights, move=1, chair_change=10))
    options = SolverOptions(time_limit_seconds=time_limit, num_workers=2)
    schedule = solve_day(day, options, previous=previous) if appointments else sm.Schedule((), "cp-sat", "OPTIMAL")
    violations = check_schedule(day, schedule) if appointments else []
    if schedule.unscheduled or violations:
        details = "; ".join(v.message for v in violations[:3]) or _unplaced(schedule, appointments)
        raise Conflict(
            f"No feasible plan for {date:%Y-%m-%d} at {site.code}: {details}. Nothing was changed.",
            code="NO_FEASIBLE_PLAN",
        )
    if fact is not None:
        fact()
    baseline = fcfs_schedule(day) if appointments else schedule
    by_id = schedule.by_id()
    moved = 0
    for a in appointments:
        if a.status == AppointmentStatus.DONE:
            continue
        assignment = by_id[str(a.pk)]
        start = moment_of(assignment.start, date, site)
        arrival = moment_of(sm.arrival_of(day.appointment(str(a.pk)), assignment), date, site)
        prep = moment_of(assignment.prep_start, date, site) if assignment.prep_start is not None else None
        if a.planned_start != start or a.chair_id != int(assignment.chair):
            moved += 1
        Appointment.objects.filter(pk=a.pk).update(
            planned_arrival=arrival if a.arrived_at is None else a.arrived_at,
            planned_start=start,
            chair_id=int(assignment.chair),
            nurse_id=int(assignment.nurse),
            planned_prep_start=prep,
            planned_prep_room=assignment.prep_room or "",
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


def _unplaced(schedule: sm.Schedule, appointments: list[Appointment]) -> str:
    mrns = {str(a.pk): a.patient.mrn for a in appointments}
    return "no chair, nurse and dose fit for " + ", ".join(mrns.get(i, i) for i in schedule.unscheduled)


def _replan_after_fact(
    site: Site, date: dt.date, actor: User, now: dt.datetime | None, fact: Callable[[], object]
) -> str:
    """Re-plan after something happened, then record it (``fact``). The fact stays recorded
    whatever the plan: if no feasible plan follows, the previous plan is kept and the returned
    warning says why."""
    try:
        with transaction.atomic():
            _plan(site, date, actor, REPLAN_SECONDS, True, now_minute(site, date, now), fact)
    except Conflict as error:
        fact()
        record(
            "chairs:day:replan_failed",
            actor=actor,
            entity_type="dayplan",
            entity_id=date.isoformat(),
            site=site,
            reason=error.message,
        )
        return f"{error.message} The previous plan is kept: move or cancel a visit, then plan again."
    return ""


@audited("chairs:day:plan", site_of=site_from(Site, "pk", key="site_id"))
def plan_day(
    site_id: int, date: dt.date, *, actor: User, time_limit: float = 5.0, now: dt.datetime | None = None
) -> DayPlan:
    """Plan a site's day and store it; refuse, changing nothing, if it is infeasible. Before the day
    every appointment time is open; once the day has begun it is re-planned from the records
    (arrivals, seated patients and times already told are kept; nothing is planned before now)."""
    check(actor, Action.MANAGE_SCHEDULE)
    site = _site(actor, site_id)
    _lock(site)
    moment = now_minute(site, date, now)
    if moment >= 24 * 60:
        raise Conflict(f"{date:%Y-%m-%d} is over: its plan is kept as it was.", code="DAY_OVER")
    if moment >= 0:
        return _plan(site, date, actor, time_limit, True, moment)
    return _plan(site, date, actor, time_limit, False)


@dataclasses.dataclass(frozen=True)
class DayOutcome:
    date: dt.date
    status: str = ""
    """The plan's status when the day was planned."""
    refusal: str = ""
    """Why it was not, when it was not."""


def plan_week(
    site_id: int,
    first_day: dt.date,
    *,
    actor: User,
    days: int = 7,
    time_limit: float = 5.0,
    progress: Callable[[int, int], None] | None = None,
) -> list[DayOutcome]:
    """Plan each day from ``first_day`` that has visits, one day at a time (each in its own
    transaction, so a day that cannot be planned holds up none of the others); each day's outcome:
    the plan's status, or the refusal. ``progress(done, total)`` hears of each day planned."""
    check(actor, Action.MANAGE_SCHEDULE)
    site = _site(actor, site_id)
    last_day = first_day + dt.timedelta(days=days - 1)
    dates = sorted(
        set(
            Appointment.objects.filter(site=site, date__gte=first_day, date__lte=last_day)
            .exclude(status=AppointmentStatus.CANCELLED)
            .values_list("date", flat=True)
        )
    )
    outcomes: list[DayOutcome] = []
    for done, date in enumerate(dates, start=1):
        try:
            outcomes.append(DayOutcome(date, status=plan_day(site.pk, date, actor=actor, time_limit=time_limit).status))
        except DomainError as error:
            outcomes.append(DayOutcome(date, refusal=f"{error.code}: {error.message}"))
        if progress:
            progress(done, len(dates))
    return outcomes


def plan_day_as_system(site: Site, date: dt.date, time_limit: float = 5.0) -> DayPlan:
    """Planning without a person (the demo loader), as one transaction."""
    with transaction.atomic():
        return _plan(site, date, None, time_limit, False)


# An order a visit can carry: verified and not yet given (its dose may be in the making).
VISIT_ORDER_STATUSES = (
    OrderStatus.SUBMITTED,
    OrderStatus.VERIFIED,
    OrderStatus.PREPARING,
    OrderStatus.PREPARED,
    OrderStatus.CHECKED,
    OrderStatus.DISPENSED,
)


def order_for_visit(patient: Patient, site: Site, date: dt.date) -> Order | None:
    """The patient's first order planned on ``date`` (the site's calendar) that no other visit
    carries: booking the visit links it, and the plan then sets its dose's needed-by."""
    start = dt.datetime.combine(date, dt.time.min).replace(tzinfo=site.zone)
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time.min).replace(tzinfo=site.zone)
    taken = Appointment.objects.filter(order__isnull=False).exclude(status=AppointmentStatus.CANCELLED)
    return (
        patient.orders.filter(
            site=site, status__in=VISIT_ORDER_STATUSES, planned_start__gte=start, planned_start__lt=end
        )
        .exclude(pk__in=taken.values("order_id"))
        .order_by("planned_start", "sequence", "id")
        .first()
    )


def visit_start(order: Order) -> dt.datetime | None:
    """When the visit carrying ``order`` is planned to start its infusion (None: no planned visit)."""
    visit = (
        Appointment.objects.filter(order=order, planned_start__isnull=False)
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("-id")
        .first()
    )
    return visit.planned_start if visit else None


@audited("chairs:appointment:book", site_of=site_from(Site, "pk", key="site_id"))
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
    premix_ok: bool = False,
    order_id: int | None = None,
    time_limit: float = 5.0,
    now: dt.datetime | None = None,
) -> Appointment:
    """Book an add-on visit and re-plan the day around it; refused (nothing booked) if it cannot fit."""
    check(actor, Action.MANAGE_SCHEDULE)
    site = _site(actor, site_id)
    _lock(site)
    patient = Patient.objects.filter(site=site, mrn=mrn.strip()).first()
    if patient is None:
        raise NotFound(f"No patient with MRN {mrn.strip()!r} at {site.name}.", code="UNKNOWN_PATIENT")
    if duration_minutes <= 0 or duration_minutes > 12 * 60:
        raise InvalidInput("The duration must be between 1 minute and 12 hours.", code="INVALID_INPUT")
    _window_ahead(site, date, earliest, latest, now)
    existing = (
        Appointment.objects.filter(site=site, patient=patient, date=date)
        .exclude(status__in=(AppointmentStatus.CANCELLED, AppointmentStatus.DONE))
        .first()
    )
    if existing is not None:
        told = f" (told {existing.planned_arrival.astimezone(site.zone):%H:%M})" if existing.planned_arrival else ""
        raise Conflict(
            f"{patient.mrn} already has a visit on {date:%Y-%m-%d}{told}: move that visit instead of booking another.",
            code="ALREADY_BOOKED",
        )
    order = None
    if order_id is not None:
        order = patient.orders.filter(pk=order_id).first()
        if order is None:
            raise NotFound("No such order for this patient.", code="UNKNOWN_ORDER")
    else:
        order = order_for_visit(patient, site, date)
    appointment = Appointment.objects.create(
        site=site,
        patient=patient,
        order=order,
        date=date,
        earliest=earliest,
        latest=latest,
        duration_minutes=duration_minutes,
        needs_labs=needs_labs,
        premix_ok=premix_ok,
        add_on=True,
    )
    fact = partial(
        record,
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
    _plan(site, date, actor, time_limit, True, now_minute(site, date, now), fact)
    appointment.refresh_from_db()
    return appointment


@dataclasses.dataclass(frozen=True)
class Recorded:
    """An event recorded on the board, and the warning when no feasible plan followed from it."""

    appointment: Appointment | None
    warning: str = ""


def _window_ahead(site: Site, date: dt.date, earliest: dt.time, latest: dt.time, now: dt.datetime | None) -> None:
    if latest < earliest:
        raise InvalidInput("The window ends before it starts.", code="INVALID_INPUT")
    if minute_of(latest) < now_minute(site, date, now):
        raise InvalidInput(
            f"The window ends at {latest:%H:%M} on {date:%Y-%m-%d}, which has passed: offer a later time.",
            code="WINDOW_PASSED",
        )


def _visit(actor: User, appointment_id: int) -> Appointment:
    """The visit, locked after its site's schedule; cancelled and finished visits take no events."""
    check(actor, Action.MANAGE_SCHEDULE)
    found = Appointment.objects.filter(pk=appointment_id, site__in=actor.site_ids()).select_related("site").first()
    if found is None:
        raise NotFound("No such appointment at your sites.", code="UNKNOWN_APPOINTMENT")
    _lock(found.site)
    appointment = (
        Appointment.objects.select_for_update(of=("self",)).select_related("site", "patient", "chair").get(pk=found.pk)
    )
    if appointment.status in (AppointmentStatus.CANCELLED, AppointmentStatus.DONE):
        raise Conflict(
            f"The visit of {appointment.patient.mrn} is {appointment.get_status_display().lower()}.",
            code="VISIT_CLOSED",
        )
    return appointment


def _on_its_day(appointment: Appointment, moment: dt.datetime) -> None:
    """Arrivals and seating happen on the visit's own day (site time)."""
    today = moment.astimezone(appointment.site.zone).date()
    if today != appointment.date:
        raise Conflict(
            f"The visit of {appointment.patient.mrn} is on {appointment.date:%Y-%m-%d}, not today ({today:%Y-%m-%d}).",
            code="NOT_TODAY",
        )


def _not_started(appointment: Appointment) -> None:
    if appointment.status == AppointmentStatus.IN_CHAIR:
        raise Conflict(
            f"{appointment.patient.mrn} is already in the chair: stop the infusion at the bedside instead.",
            code="ALREADY_STARTED",
        )


@audited("chairs:appointment:cancel", site_of=site_from(Appointment))
def cancel_appointment(
    appointment_id: int, *, actor: User, reason: str = "", now: dt.datetime | None = None
) -> Recorded:
    """Cancel a visit that has not started (say why) and re-plan the rest of the day."""
    appointment = _visit(actor, appointment_id)
    _not_started(appointment)
    if not reason.strip():
        raise InvalidInput("Say why the visit is cancelled (e.g. the patient is unwell).", code="REASON_REQUIRED")
    before = {
        "status": appointment.status,
        "planned_start": appointment.planned_start.isoformat() if appointment.planned_start else None,
        "chair": appointment.chair.code if appointment.chair else None,
    }
    appointment.status = AppointmentStatus.CANCELLED
    appointment.planned_start = None
    appointment.planned_prep_start = None
    appointment.chair = None
    appointment.nurse = None
    appointment.save(update_fields=["status", "planned_start", "planned_prep_start", "chair", "nurse"])
    fact = partial(
        record,
        "chairs:appointment:cancelled",
        actor=actor,
        entity=appointment,
        site=appointment.site,
        patient_id=appointment.patient_id,
        before=before,
        after={"status": AppointmentStatus.CANCELLED},
        reason=reason,
    )
    return Recorded(appointment, _replan_after_fact(appointment.site, appointment.date, actor, now, fact))


@audited("chairs:appointment:arrive", site_of=site_from(Appointment))
def record_arrival(appointment_id: int, *, actor: User, now: dt.datetime | None = None) -> Recorded:
    """The patient has checked in (early, on time or late); the day is re-planned from the arrival."""
    appointment = _visit(actor, appointment_id)
    if appointment.status != AppointmentStatus.BOOKED:
        raise Conflict(
            f"{appointment.patient.mrn} already checked in at "
            f"{appointment.arrived_at.astimezone(appointment.site.zone):%H:%M}."
            if appointment.arrived_at
            else f"{appointment.patient.mrn} cannot check in now ({appointment.get_status_display()}).",
            code="ALREADY_ARRIVED",
        )
    _on_its_day(appointment, now or timezone.now())
    appointment.status = AppointmentStatus.ARRIVED
    appointment.arrived_at = now or timezone.now()
    appointment.save(update_fields=["status", "arrived_at"])
    fact = partial(
        record,
        "chairs:appointment:arrived",
        actor=actor,
        entity=appointment,
        site=appointment.site,
        patient_id=appointment.patient_id,
        after={"arrived_at": appointment.arrived_at.isoformat()},
    )
    return Recorded(appointment, _replan_after_fact(appointment.site, appointment.date, actor, now, fact))


@audited("chairs:appointment:seat", site_of=site_from(Appointment))
def seat_patient(appointment_id: int, *, actor: User, now: dt.datetime | None = None) -> Recorded:
    """The patient is in the planned chair and the infusion has started: from now on the plan keeps
    this chair, nurse and start."""
    appointment = _visit(actor, appointment_id)
    _not_started(appointment)
    if appointment.chair_id is None or appointment.nurse_id is None:
        raise Conflict(f"{appointment.patient.mrn} has no planned chair yet: plan the day first.", code="NOT_PLANNED")
    moment = now or timezone.now()
    _on_its_day(appointment, moment)
    site = appointment.site
    chair = appointment.chair.code if appointment.chair else ""
    seated = list(
        Appointment.objects.filter(site=site, date=appointment.date, status=AppointmentStatus.IN_CHAIR)
        .exclude(pk=appointment.pk)
        .select_related("patient")
    )
    for other in seated:
        free_at = other.started_at + dt.timedelta(minutes=other.duration_minutes) if other.started_at else moment
        if other.chair_id == appointment.chair_id and free_at > moment:
            raise Conflict(
                f"Chair {chair} still holds {other.patient.mrn} until {free_at.astimezone(site.zone):%H:%M}:"
                " re-plan, or seat the patient when it is free.",
                code="CHAIR_OCCUPIED",
            )
    if ChairOutage.objects.filter(chair_id=appointment.chair_id, start__lte=moment, end__gt=moment).exists():
        raise Conflict(
            f"Chair {chair} is out of service now: re-plan to give the patient another chair.", code="CHAIR_OUT"
        )
    nurse = _nurse_free_to_start(appointment, seated, moment)
    if nurse is None:
        raise Conflict(
            f"No nurse on shift can start {appointment.patient.mrn} now (setting up someone else, on a break, or"
            " watching as many patients as allowed): wait a few minutes or re-plan.",
            code="NO_NURSE_FREE",
        )
    appointment.nurse = nurse
    appointment.status = AppointmentStatus.IN_CHAIR
    appointment.arrived_at = appointment.arrived_at or moment
    appointment.started_at = moment
    appointment.save(update_fields=["status", "arrived_at", "started_at", "nurse"])
    fact = partial(
        record,
        "chairs:appointment:seated",
        actor=actor,
        entity=appointment,
        site=appointment.site,
        patient_id=appointment.patient_id,
        after={"started_at": moment.isoformat(), "chair": chair, "nurse": appointment.nurse.label},
    )
    return Recorded(appointment, _replan_after_fact(appointment.site, appointment.date, actor, now, fact))


def _on_break(shift: NurseShift, start: int, end: int) -> bool:
    if shift.break_start is None or shift.break_end is None:
        return False
    return start < minute_of(shift.break_end) and minute_of(shift.break_start) < end


def _nurse_free_to_start(appointment: Appointment, seated: list[Appointment], moment: dt.datetime) -> NurseShift | None:
    """The planned nurse if free to start the patient at ``moment``, else the first free one on
    shift: inside the shift and not on a break for the whole setup, no other setup under way, fewer
    patients than allowed."""
    site, date = appointment.site, appointment.date
    minute = local_minute(moment, date, site)
    shifts = sorted(
        NurseShift.objects.filter(site=site, date=date), key=lambda s: (s.pk != appointment.nurse_id, s.start, s.pk)
    )
    for shift in shifts:
        setup = 15
        if minute < minute_of(shift.start) or minute + setup > minute_of(shift.end):
            continue
        if _on_break(shift, minute, minute + setup):
            continue
        mine = [o for o in seated if o.nurse_id == shift.pk and o.started_at is not None]
        starts = [local_minute(o.started_at, date, site) for o in mine if o.started_at is not None]
        if any(s < minute + setup and minute < s + setup for s in starts):
            continue
        running = sum(1 for o, s in zip(mine, starts, strict=True) if s <= minute < s + o.duration_minutes)
        if running < shift.max_patients:
            return shift
    return None


@audited("chairs:appointment:finish", site_of=site_from(Appointment))
def finish_visit(appointment_id: int, *, actor: User, now: dt.datetime | None = None) -> Recorded:
    """The infusion is over and the patient has left the chair (early or late): the chair and the
    nurse are free from now, and the rest of the day is re-planned."""
    appointment = _visit(actor, appointment_id)
    if appointment.status != AppointmentStatus.IN_CHAIR:
        raise Conflict(f"{appointment.patient.mrn} is not in a chair.", code="NOT_IN_CHAIR")
    moment = now or timezone.now()
    appointment.status = AppointmentStatus.DONE
    appointment.finished_at = moment
    appointment.save(update_fields=["status", "finished_at"])
    fact = partial(
        record,
        "chairs:appointment:finished",
        actor=actor,
        entity=appointment,
        site=appointment.site,
        patient_id=appointment.patient_id,
        after={"finished_at": moment.isoformat()},
    )
    return Recorded(appointment, _replan_after_fact(appointment.site, appointment.date, actor, now, fact))


@audited("chairs:appointment:delay_dose", site_of=site_from(Appointment))
def delay_dose(
    appointment_id: int, *, actor: User, ready_at: dt.time, reason: str, now: dt.datetime | None = None
) -> Recorded:
    """The pharmacy says the dose will not be ready before ``ready_at`` (site-local)."""
    appointment = _visit(actor, appointment_id)
    _not_started(appointment)
    if not reason.strip():
        raise InvalidInput("Say why the dose is delayed (e.g. the drug is out of stock).", code="REASON_REQUIRED")
    appointment.dose_ready_not_before = moment_of(minute_of(ready_at), appointment.date, appointment.site)
    appointment.save(update_fields=["dose_ready_not_before"])
    fact = partial(
        record,
        "chairs:appointment:dose_delayed",
        actor=actor,
        entity=appointment,
        site=appointment.site,
        patient_id=appointment.patient_id,
        after={"ready_not_before": f"{ready_at:%H:%M}"},
        reason=reason,
    )
    return Recorded(appointment, _replan_after_fact(appointment.site, appointment.date, actor, now, fact))


@audited("chairs:appointment:move", site_of=site_from(Appointment))
def move_appointment(
    appointment_id: int,
    *,
    actor: User,
    earliest: dt.time,
    latest: dt.time,
    now: dt.datetime | None = None,
    time_limit: float = REPLAN_SECONDS,
) -> Appointment:
    """Give a visit a new window and re-plan; refused (nothing moved) if the day cannot take it."""
    appointment = _visit(actor, appointment_id)
    _not_started(appointment)
    if appointment.arrived_at is not None:
        raise Conflict(
            f"{appointment.patient.mrn} is already here: seat the patient or cancel the visit instead of moving it.",
            code="ALREADY_ARRIVED",
        )
    _window_ahead(appointment.site, appointment.date, earliest, latest, now)
    before = {"earliest": f"{appointment.earliest:%H:%M}", "latest": f"{appointment.latest:%H:%M}"}
    appointment.earliest, appointment.latest = earliest, latest
    appointment.planned_arrival = None  # the patient is told the new time the re-plan books
    appointment.save(update_fields=["earliest", "latest", "planned_arrival"])
    fact = partial(
        record,
        "chairs:appointment:moved",
        actor=actor,
        entity=appointment,
        site=appointment.site,
        patient_id=appointment.patient_id,
        before=before,
        after={"earliest": f"{earliest:%H:%M}", "latest": f"{latest:%H:%M}"},
    )
    site, date = appointment.site, appointment.date
    _plan(site, date, actor, time_limit, True, now_minute(site, date, now), fact)
    appointment.refresh_from_db()
    return appointment


@audited("chairs:chair:out_of_service", site_of=site_from(Chair))
def chair_out_of_service(
    chair_id: int,
    *,
    actor: User,
    date: dt.date,
    start: dt.time,
    end: dt.time,
    reason: str,
    now: dt.datetime | None = None,
) -> Recorded:
    """Take a chair out of service for a while and re-plan. A patient already in it finishes there:
    the outage begins when that infusion ends."""
    check(actor, Action.MANAGE_SCHEDULE)
    chair = Chair.objects.filter(pk=chair_id, site__in=actor.site_ids()).select_related("site").first()
    if chair is None:
        raise NotFound("No such chair at your sites.", code="UNKNOWN_CHAIR")
    if end <= start:
        raise InvalidInput("The chair must come back after it goes out of service.", code="INVALID_INPUT")
    if not reason.strip():
        raise InvalidInput("Say why the chair is out of service.", code="REASON_REQUIRED")
    site = chair.site
    _lock(site)
    begins, ends = moment_of(minute_of(start), date, site), moment_of(minute_of(end), date, site)
    for seated in Appointment.objects.filter(chair=chair, date=date, status=AppointmentStatus.IN_CHAIR):
        if seated.started_at is not None:
            begins = max(begins, seated.started_at + dt.timedelta(minutes=seated.duration_minutes))
    if begins >= ends:
        raise Conflict(
            f"Chair {chair.code} is in use until after {end:%H:%M}: nothing to take out of service.",
            code="CHAIR_IN_USE",
        )
    outage = ChairOutage.objects.create(chair=chair, start=begins, end=ends, reason=reason.strip(), recorded_by=actor)
    fact = partial(
        record,
        "chairs:chair:out_of_service",
        actor=actor,
        entity=outage,
        site=site,
        after={"chair": chair.code, "start": begins.isoformat(), "end": ends.isoformat()},
        reason=reason,
    )
    return Recorded(None, _replan_after_fact(site, date, actor, now, fact))


@dataclasses.dataclass(frozen=True)
class Offer:
    """A slot offered for a new visit, in site-local terms."""

    arrival: dt.time
    start: dt.time
    chair: str
    nurse: str
    wait: int
    cost: int
    day_length_change: int
    overtime_change: int
    peak_change: int


def offer_slots(
    site_id: int,
    *,
    actor: User,
    date: dt.date,
    earliest: dt.time,
    latest: dt.time,
    duration_minutes: int,
    needs_labs: bool = False,
    now: dt.datetime | None = None,
) -> list[Offer]:
    """The best appointment times for a new visit in [earliest, latest], each with its effect on the
    stored plan of the day (nothing is booked)."""
    check(actor, Action.VIEW_SCHEDULE)
    site = _site(actor, site_id)
    if duration_minutes <= 0 or duration_minutes > 12 * 60:
        raise InvalidInput("The duration must be between 1 minute and 12 hours.", code="INVALID_INPUT")
    if latest < earliest:
        raise InvalidInput("The window ends before it starts.", code="INVALID_INPUT")
    chairs, shifts, appointments = day_rows(site, date)
    moment = now_minute(site, date, now)
    day = build_day(site, date, chairs, shifts, appointments, moment)
    previous = _previous(appointments, date, site)
    plan = greedy_schedule(day, previous=previous, method="stored")
    request = sm.Appointment(
        id="new",
        patient="new",
        regimen="",
        chair_minutes=duration_minutes,
        prep_minutes=0,
        hazardous=False,
        earliest=max(minute_of(earliest), moment),
        latest=minute_of(latest),
        needs_labs=needs_labs,
        long=duration_minutes > 240,
    )
    if request.latest < request.earliest:
        return []
    chair_codes = {str(c.pk): c.code for c in chairs}
    nurse_labels = {str(s.pk): s.label for s in shifts}

    def clock(minute: int) -> dt.time:
        return moment_of(minute, date, site).astimezone(site.zone).time()

    return [
        Offer(
            arrival=clock(o.arrival),
            start=clock(o.start),
            chair=chair_codes[o.chair],
            nurse=nurse_labels[o.nurse],
            wait=o.wait,
            cost=o.cost,
            day_length_change=o.day_length_change,
            overtime_change=o.overtime_change,
            peak_change=o.peak_change,
        )
        for o in slots.offer_slots(day, plan, request)
    ]
