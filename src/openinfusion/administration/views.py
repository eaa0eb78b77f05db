"""Nurse and pharmacy screens: the chair board, dispensing, the bedside check (two scans), the
infusion record, education."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.models import Site
from openinfusion.accounts.permissions import Action
from openinfusion.administration import board, education, prescription, services
from openinfusion.administration.models import OPEN_DISPENSE, Dispense, Pump
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.errors import DomainError, InvalidInput
from openinfusion.web import fields
from openinfusion.web.live import page_or_part


def _clock_time(site: Site, text: str | None) -> dt.datetime | None:
    """A time of day typed at the bedside: the latest such moment not after now (today's, or
    yesterday's for an infusion that ran past midnight); None when left empty (now)."""
    if not (text or "").strip():
        return None
    now = timezone.now()
    at = fields.time_of_day(text, "Ended at")
    moment = site.moment(site.today(now), at)
    return moment if moment <= now else site.moment(site.today(now) - dt.timedelta(days=1), at)


def _done(request: HttpRequest, action: Callable[[], object], success: str, target: str, **kwargs: Any) -> HttpResponse:
    try:
        action()
    except DomainError as error:
        messages.error(request, f"{error.code}: {error.message}")
    else:
        messages.success(request, success)
    response: HttpResponse = redirect(target, **kwargs)
    return response


@requires(Action.VIEW_CHAIR_BOARD)
def chair_board(request: HttpRequest) -> HttpResponse:
    rows = board.chair_board(signed_in(request))
    context = {"rows": rows, "stages": board.STAGES}
    return page_or_part(request, "administration/board.html", "administration/_board.html", context)


@requires(Action.DISPENSE, methods=("GET", "POST"))
def dispensing(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    if request.method == "POST":
        data = request.POST
        return _done(
            request,
            lambda: services.dispense_preparation(
                fields.required_whole(data.get("preparation"), "The preparation"),
                actor=me,
                destination=data.get("destination", ""),
                place=data.get("place", ""),
            ),
            "Dispensed.",
            "administration:dispensing",
        )
    ready = (
        Preparation.objects.filter(site__in=me.site_ids(), status=PreparationStatus.APPROVED)
        .exclude(dispenses__status__in=OPEN_DISPENSE)
        .select_related("order__patient", "order__drug")
    )
    sent = (
        Dispense.objects.filter(preparation__site__in=me.site_ids())
        .select_related("preparation__order__patient", "preparation__order__drug")
        .order_by("-dispensed_at")[:40]
    )
    return render(request, "administration/dispensing.html", {"ready": ready, "sent": sent})


@requires(Action.HANDOFF, methods=("POST",))
def custody(request: HttpRequest, dispense_id: int, step: str) -> HttpResponse:
    me, data = signed_in(request), request.POST
    temperature = data.get("temperature_c") or None
    actions: dict[str, Callable[[], object]] = {
        "handoff": lambda: services.record_handoff(dispense_id, actor=me, temperature_c=temperature),
        "receive": lambda: services.receive_dispense(dispense_id, actor=me, temperature_c=temperature),
        "return": lambda: services.return_preparation(
            dispense_id,
            actor=me,
            reason=data.get("reason", ""),
            temperature_c=temperature,
            intact=data.get("damaged") != "on",
        ),
    }
    target = "administration:board" if "board" in data else "administration:dispensing"
    return _done(request, actions[step], f"Recorded: {step}.", target)


def _chosen_order(request: HttpRequest) -> int | None:
    """The dose the nurse picked on the chair board (``?order=``, kept in the form as ``order``)."""
    text = (request.POST.get("order") or request.GET.get("order") or "").strip()
    return int(text) if text.isdigit() else None


def _bedside_context(request: HttpRequest, order_id: int | None) -> dict[str, Any]:
    """The dose chosen (its board row), or the doses waiting at the bedside to choose from."""
    waiting = [r for r in board.chair_board(signed_in(request)) if r.dispense is not None and r.stage == "dispensed"]
    chosen = next((r for r in waiting if r.order.pk == order_id), None)
    return {"chosen": chosen, "order_id": order_id, "waiting": waiting}


@requires(Action.ADMINISTER, methods=("GET", "POST"))
def bedside(request: HttpRequest) -> HttpResponse:
    """The dose to give, chosen on the chair board, then two scans: the wristband and the bag's label."""
    order_id = _chosen_order(request)
    if request.method == "POST":
        try:
            administration = services.bedside_verify(
                actor=signed_in(request),
                wristband=request.POST.get("wristband", ""),
                label=request.POST.get("label", ""),
                order_id=order_id,
            )
        except DomainError as error:
            context = {**_bedside_context(request, order_id), "error": error}
            return render(request, "administration/bedside.html", context, status=error.status)
        if administration.reopened:
            messages.success(
                request, f"Scanned before: back to this dose's record ({administration.get_status_display()})."
            )
        else:
            messages.success(request, "Five rights checked: right patient, drug, dose, route and time.")
        return redirect("administration:infusion", administration_id=administration.pk)
    return render(request, "administration/bedside.html", _bedside_context(request, order_id))


@requires(Action.ADMINISTER, methods=("GET", "POST"))
def infusion(request: HttpRequest, administration_id: int) -> HttpResponse:
    me = signed_in(request)
    if request.method == "POST":
        data, kind = request.POST, request.POST.get("kind", "")
        actions: dict[str, Callable[[], object]] = {
            "pump": lambda: services.record_pump_program(
                administration_id,
                actor=me,
                pump_serial=data.get("pump", ""),
                rate_ml_h=fields.required_number(data.get("rate_ml_h"), "Rate"),
                volume_ml=fields.required_number(data.get("volume_ml"), "Volume"),
            ),
            "start": lambda: services.start_administration(administration_id, actor=me),
            "vitals": lambda: services.record_vitals(
                administration_id, actor=me, **{k: data.get(k, "") for k in services.VITAL_LIMITS}
            ),
            "reaction": lambda: services.record_reaction(
                administration_id,
                actor=me,
                grade=fields.required_whole(data.get("grade"), "The reaction grade"),
                symptoms=data.get("symptoms", ""),
                actions=data.get("actions", ""),
                medicines_given=data.get("medicines_given", ""),
                outcome=data.get("outcome", ""),
                extravasation=data.get("extravasation") == "on",
            ),
            "rate": lambda: services.change_rate(
                administration_id,
                actor=me,
                rate_ml_h=fields.required_number(data.get("rate_ml_h"), "Rate"),
                reason=data.get("reason", ""),
            ),
            "end": lambda: services.end_administration(
                administration_id,
                actor=me,
                volume_infused_ml=fields.required_number(data.get("volume_infused_ml"), "Volume"),
                reason=data.get("reason", ""),
                waste_disposal=data.get("waste_disposal", ""),
                ended_at=_clock_time(
                    services.administration_for(me, administration_id).order.site, data.get("ended_at")
                ),
            ),
            "education": lambda: education.record_education(
                services.administration_for(me, administration_id).patient_id,
                actor=me,
                leaflet=data.get("leaflet", ""),
                recipient=data.get("recipient", ""),
                topics=data.get("topics", "").split(","),
                teach_back=data.get("teach_back") == "on",
                skills=data.getlist("skills"),
            ),
        }
        if kind not in actions:
            raise InvalidInput("Unknown infusion action.", code="INVALID_INPUT")
        return _done(
            request, actions[kind], "Recorded.", "administration:infusion", administration_id=administration_id
        )
    administration = services.administration_for(me, administration_id)
    context = {
        "a": administration,
        "warnings": prescription.warnings_for(administration, now=timezone.now()),
        "prescribed": prescription.prescribed_rate(administration.dispense.preparation),
        "infused": prescription.is_infused(administration.order),
        "plan": administration.dispense.preparation.plan,
        "pumps": Pump.objects.filter(active=True, site__in=me.site_ids()),
        "skills": education.SKILLS,
        "leaflet": administration.order.drug.education_leaflet,
    }
    return render(request, "administration/infusion.html", context)
