"""The scheduler's day board: a Gantt chart by chair, occupancy, the table, FCFS vs plan metrics,
the add-on booking form and the plan-the-day button."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.models import Site, User
from openinfusion.accounts.permissions import Action, is_allowed
from openinfusion.chairs import services
from openinfusion.chairs.board import gantt_svg, occupancy_svg
from openinfusion.chairs.models import Appointment, DayPlan
from openinfusion.errors import DomainError, InvalidInput, NotFound

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


def _site(user: User, code: str | None) -> Site:
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


def _date(text: str | None, site: Site) -> dt.date:
    if not text:
        return dt.datetime.now(services.zone(site)).date()
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("The date must look like 2026-03-14.", code="INVALID_INPUT") from None


def _back(site: Site, date: dt.date) -> HttpResponse:
    response: HttpResponse = redirect(f"{reverse('chairs:board')}?site={site.code}&date={date.isoformat()}")
    return response


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


@requires(Action.VIEW_SCHEDULE)
def day_board(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    site = _site(me, request.GET.get("site"))
    date = _date(request.GET.get("date"), site)
    chairs, shifts, appointments = services.day_rows(site, date)
    cancelled = Appointment.objects.filter(site=site, date=date, status="cancelled").select_related("patient")
    opening = min([services.DEFAULT_OPENING, *(services.minute_of(s.start) for s in shifts)])
    closing = max([services.DEFAULT_CLOSING, *(services.minute_of(s.end) for s in shifts)])
    plan = DayPlan.objects.filter(site=site, date=date).first()
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
        "gantt": gantt_svg(chairs, appointments, date, opening, closing),
        "occupancy": occupancy_svg(appointments, len(chairs), date, opening, closing),
        "can_manage": is_allowed(me.role_codes(), Action.MANAGE_SCHEDULE),
        "unplanned": sum(1 for a in appointments if a.planned_start is None),
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
            earliest=services.parse_time(data.get("earliest", ""), "Earliest start"),
            latest=services.parse_time(data.get("latest", ""), "Latest start"),
            duration_minutes=duration,
            needs_labs=bool(data.get("needs_labs")),
        )
    except ValueError:
        messages.error(request, "INVALID_INPUT: the duration must be a whole number of minutes.")
    except DomainError as error:
        messages.error(request, f"{error.code}: {error.message}")
    else:
        start = appointment.planned_start.astimezone(services.zone(site)) if appointment.planned_start else None
        chair = appointment.chair.code if appointment.chair else "?"
        messages.success(
            request,
            f"Booked {appointment.patient.mrn}: chair {chair} at {start:%H:%M}; the day was re-planned."
            if start
            else f"Booked {appointment.patient.mrn}.",
        )
    return _back(site, date)


@requires(Action.MANAGE_SCHEDULE, methods=("POST",))
def cancel(request: HttpRequest, appointment_id: int) -> HttpResponse:
    me = signed_in(request)
    appointment = services.cancel_appointment(appointment_id, actor=me, reason=request.POST.get("reason", ""))
    messages.success(request, f"Cancelled the visit of {appointment.patient.mrn}.")
    return _back(appointment.site, appointment.date)
