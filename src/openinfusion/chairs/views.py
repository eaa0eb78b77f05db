"""The scheduler's day board: a Gantt chart by chair, occupancy, the table, FCFS vs plan metrics,
the add-on booking form and the plan-the-day button."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.models import Site, User
from openinfusion.accounts.permissions import Action, is_allowed
from openinfusion.chairs import services, tasks
from openinfusion.chairs.board import gantt_svg, nurse_load_svg, occupancy_svg, pharmacy_svg
from openinfusion.chairs.models import Appointment, Chair, ChairOutage, DayPlan
from openinfusion.errors import DomainError, InvalidInput, NotFound
from openinfusion.jobs.models import Job
from openinfusion.jobs.services import job_for, start_job
from openinfusion.web import fields

METRICS = (
    ("mean_wait", "Mean wait (min)"),
    ("p90_wait", "90th percentile wait (min)"),
    ("day_length", "Day length (min)"),
    ("chair_utilisation", "Chair utilisation"),
    ("peak_occupancy", "Peak chairs in use"),
    ("ratio_violations", "Nurse ratio violations"),
    ("overtime_minutes", "Nurse overtime (min)"),
    ("ready_before_chair", "Doses ready before chair"),
    ("objective", "Objective (lower is better)"),
)


_site = services.site_for


def _date(text: str | None, site: Site) -> dt.date:
    if not text:
        return dt.datetime.now(site.zone).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("The date must look like 2026-03-14.", code="INVALID_INPUT") from None


def _back(site: Site, date: dt.date, job: Job | None = None) -> HttpResponse:
    watch = f"&job={job.pk}" if job else ""
    response: HttpResponse = redirect(f"{reverse('chairs:board')}?site={site.code}&date={date.isoformat()}{watch}")
    return response


def _job(me: User, text: str | None) -> Job | None:
    """The job the board was asked to show (``?job=``), if it is one of the viewer's."""
    try:
        return job_for(int(text or ""), viewer=me)
    except (ValueError, NotFound):
        return None


def _row(name: str, label: str, plan: DayPlan | None) -> dict[str, object]:
    def value(data: dict[str, object]) -> str:
        v = data.get(name)
        if v is None:
            return "–"
        if name in ("chair_utilisation", "ready_before_chair") and isinstance(v, float):
            return f"{v:.0%}"
        return f"{v:.1f}" if isinstance(v, float) else str(v)

    return {
        "label": label,
        "fcfs": value(plan.baseline) if plan else "–",
        "plan": value(plan.metrics) if plan else "–",
    }


def _offers(request: HttpRequest, me: User, site: Site, date: dt.date) -> dict[str, object]:
    """The best slots for a visit asked about in the query (``?find=1&duration=…``), if any."""
    query = request.GET
    if not query.get("find"):
        return {}
    asked = {k: query.get(k, "") for k in ("mrn", "duration", "earliest", "latest", "needs_labs")}
    try:
        offers = services.offer_slots(
            site.pk,
            actor=me,
            date=date,
            earliest=fields.time_of_day(asked["earliest"], "Can come from"),
            latest=fields.time_of_day(asked["latest"], "Can come until"),
            duration_minutes=int(asked["duration"] or 0),
            needs_labs=bool(asked["needs_labs"]),
        )
    except ValueError:
        return {"asked": asked, "offer_error": "INVALID_INPUT: the minutes in chair must be a whole number."}
    except DomainError as error:
        return {"asked": asked, "offer_error": f"{error.code}: {error.message}"}
    return {"asked": asked, "offers": offers}


@requires(Action.VIEW_SCHEDULE)
def day_board(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    site = _site(me, request.GET.get("site"))
    date = _date(request.GET.get("date"), site)
    chairs, shifts, appointments = services.day_rows(site, date)
    cancelled = Appointment.objects.filter(site=site, date=date, status="cancelled").select_related("patient")
    opening, closing = services.day_hours(shifts)
    plan = DayPlan.objects.filter(site=site, date=date).first()
    outages = list(
        ChairOutage.objects.filter(
            chair__site=site,
            start__lt=services.moment_of(24 * 60, date, site),
            end__gt=services.moment_of(0, date, site),
        ).select_related("chair")
    )
    context = {
        "site": site,
        "sites": Site.objects.filter(pk__in=me.site_ids()).order_by("name"),
        "date": date,
        "chairs": chairs,
        "shifts": shifts,
        "appointments": appointments,
        "cancelled": cancelled,
        "plan": plan,
        "metrics": [_row(name, label, plan) for name, label in METRICS],
        "gantt": gantt_svg(chairs, appointments, date, opening, closing, outages),
        "outages": outages,
        "nurse_load": nurse_load_svg(shifts, appointments, date, opening, closing),
        "pharmacy": pharmacy_svg(
            appointments,
            services.compounding_minutes([a.order_id for a in appointments if a.order_id is not None]),
            date,
            opening,
            closing,
        ),
        **_offers(request, me, site, date),
        "occupancy": occupancy_svg(appointments, len(chairs), date, opening, closing),
        "can_manage": is_allowed(me.role_codes(), Action.MANAGE_SCHEDULE),
        "unplanned": sum(1 for a in appointments if a.planned_start is None),
        "job": _job(me, request.GET.get("job")),
    }
    return render(request, "chairs/board.html", context)


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def plan(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    site = _site(me, request.POST.get("site"))
    date = _date(request.POST.get("date"), site)
    try:
        result = services.plan_day(site.pk, date, actor=me)
    except DomainError as error:
        messages.error(request, f"{error.code}: {error.message}")
    else:
        messages.success(request, f"Day planned ({result.status}).")
    return _back(site, date)


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def plan_week(request: HttpRequest) -> HttpResponse:
    """Up to seven solves of seconds each: the worker plans the week while the board shows its
    progress, then each day's outcome in place."""
    me = signed_in(request)
    site = _site(me, request.POST.get("site"))
    date = _date(request.POST.get("date"), site)
    job = start_job(
        tasks.plan_week,
        actor=me,
        kind="plan_week",
        title=f"Planning the 7 days from {date:%a %d %b}",
        result_template="chairs/_week_planned.html",
        site_id=site.pk,
        first_day=date.isoformat(),
        actor_id=me.pk,
    )
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "jobs/_progress.html", {"job": job})
    return _back(site, date, job)


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def book(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    data = request.POST
    site = _site(me, data.get("site"))
    date = _date(data.get("date"), site)
    try:
        duration = int(data.get("duration", "") or 0)
        appointment = services.book_appointment(
            site.pk,
            actor=me,
            mrn=data.get("mrn", ""),
            date=date,
            earliest=fields.time_of_day(data.get("earliest", ""), "Earliest start"),
            latest=fields.time_of_day(data.get("latest", ""), "Latest start"),
            duration_minutes=duration,
            needs_labs=bool(data.get("needs_labs")),
            premix_ok=bool(data.get("premix_ok")),
        )
    except ValueError:
        messages.error(request, "INVALID_INPUT: the duration must be a whole number of minutes.")
    except DomainError as error:
        messages.error(request, f"{error.code}: {error.message}")
    else:
        start = appointment.planned_start.astimezone(site.zone) if appointment.planned_start else None
        chair = appointment.chair.code if appointment.chair else "?"
        messages.success(
            request,
            f"Booked {appointment.patient.mrn}: chair {chair} at {start:%H:%M}; the day was re-planned."
            if start
            else f"Booked {appointment.patient.mrn}.",
        )
    return _back(site, date)


def _recorded(request: HttpRequest, done: str, warning: str) -> None:
    messages.success(request, done)
    if warning:
        messages.error(request, f"NO_FEASIBLE_PLAN: {warning}")


def _visit_event(
    request: HttpRequest, appointment_id: int, event: Callable[[User], services.Recorded], done: str
) -> HttpResponse:
    """Record one event on a visit from the board, then show the re-planned board."""
    me = signed_in(request)
    appointment = Appointment.objects.filter(pk=appointment_id, site__in=me.site_ids()).select_related("site").first()
    if appointment is None:
        raise NotFound("No such appointment at your sites.", code="UNKNOWN_APPOINTMENT")
    try:
        outcome = event(me)
    except DomainError as error:
        messages.error(request, f"{error.code}: {error.message}")
    else:
        _recorded(request, done.format(mrn=appointment.patient.mrn), outcome.warning)
    return _back(appointment.site, appointment.date)


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    reason = request.POST.get("reason", "")
    return _visit_event(
        request,
        appointment_id,
        lambda me: services.cancel_appointment(appointment_id, actor=me, reason=reason),
        "Cancelled the visit of {mrn}; the day was re-planned.",
    )


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def finish(request: HttpRequest, appointment_id: int) -> HttpResponse:
    return _visit_event(
        request,
        appointment_id,
        lambda me: services.finish_visit(appointment_id, actor=me),
        "{mrn} has left the chair; the day was re-planned.",
    )


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def arrive(request: HttpRequest, appointment_id: int) -> HttpResponse:
    return _visit_event(
        request,
        appointment_id,
        lambda me: services.record_arrival(appointment_id, actor=me),
        "{mrn} checked in; the day was re-planned.",
    )


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def seat(request: HttpRequest, appointment_id: int) -> HttpResponse:
    return _visit_event(
        request,
        appointment_id,
        lambda me: services.seat_patient(appointment_id, actor=me),
        "{mrn} is in the chair; the plan keeps that chair and start.",
    )


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def delay(request: HttpRequest, appointment_id: int) -> HttpResponse:
    data = request.POST
    return _visit_event(
        request,
        appointment_id,
        lambda me: services.delay_dose(
            appointment_id,
            actor=me,
            ready_at=fields.time_of_day(data.get("ready_at", ""), "Ready at"),
            reason=data.get("reason", ""),
        ),
        "The dose of {mrn} is delayed; the day was re-planned.",
    )


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def move(request: HttpRequest, appointment_id: int) -> HttpResponse:
    data = request.POST

    def event(me: User) -> services.Recorded:
        moved = services.move_appointment(
            appointment_id,
            actor=me,
            earliest=fields.time_of_day(data.get("earliest", ""), "Can come from"),
            latest=fields.time_of_day(data.get("latest", ""), "Can come until"),
        )
        return services.Recorded(moved)

    return _visit_event(request, appointment_id, event, "Moved the visit of {mrn}; the day was re-planned.")


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def chair_out(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    data = request.POST
    site = _site(me, data.get("site"))
    date = _date(data.get("date"), site)
    chair = Chair.objects.filter(site=site, code=data.get("chair", "")).first()
    try:
        if chair is None:
            raise NotFound("No chair with that code here.", code="UNKNOWN_CHAIR")
        outcome = services.chair_out_of_service(
            chair.pk,
            actor=me,
            date=date,
            start=fields.time_of_day(data.get("start", ""), "Out from"),
            end=fields.time_of_day(data.get("end", ""), "Back at"),
            reason=data.get("reason", ""),
        )
    except DomainError as error:
        messages.error(request, f"{error.code}: {error.message}")
    else:
        _recorded(request, f"Chair {chair.code} is out of service; the day was re-planned.", outcome.warning)
    return _back(site, date)
