"""Prescriber and pharmacist screens: start a plan, submit a cycle, answer a return; the
verification queue and the verification screen (calculation, findings, history, sign)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.permissions import Action
from openinfusion.errors import DomainError, NotFound, StaleEdit
from openinfusion.formulary.models import Category, Drug
from openinfusion.orders import facts, rules, services
from openinfusion.orders.facts import GIVEN_STATUSES
from openinfusion.orders.models import ExceptionKind, Order, OrderStatus, TreatmentPlan
from openinfusion.paging import capped_count
from openinfusion.patients.services import latest_labs, patient_for
from openinfusion.patients.views import chart_page
from openinfusion.web import fields
from openinfusion.web.live import page_or_part
from openinfusion.web.pager import position


@requires(Action.WRITE_ORDERS, methods=("POST",))
def start_plan(request: HttpRequest, patient_id: int) -> HttpResponse:
    me, data = signed_in(request), request.POST
    try:
        patient = patient_for(me, patient_id)
        plan = services.create_treatment_plan(
            patient.pk,
            actor=me,
            regimen_key=data.get("regimen", ""),
            start_date=fields.date(data.get("start_date"), "Start"),
            first_dose_at=fields.time_of_day(data.get("first_dose_at"), "First dose at"),
            cycles=fields.required_whole(data.get("cycles"), "Cycles"),
            indication_code=data.get("indication", ""),
        )
    except DomainError as error:
        return chart_page(request, patient_id, status=error.status, plan_form=data, plan_error=error)
    messages.success(request, f"{plan} started: review the doses of cycle 1 and submit them.")
    return redirect("orders:plan", plan_id=plan.pk)


@requires(Action.WRITE_ORDERS, methods=("POST",))
def new_order(request: HttpRequest, patient_id: int) -> HttpResponse:
    """A single-drug order from the chart, planned at a date and time on the site's clock; sent to
    the pharmacist at once unless the prescriber keeps it as a draft."""
    me, data = signed_in(request), request.POST
    try:
        patient = patient_for(me, patient_id)
        order = services.create_order(
            patient.pk,
            actor=me,
            drug_key=data.get("drug", ""),
            dose=data.get("dose", ""),
            route=data.get("route", ""),
            planned_start=fields.site_moment(patient.site, data.get("date"), data.get("time"), "Planned"),
            diluent_key=data.get("diluent") or None,
            volume_ml=fields.number(data.get("volume_ml"), "Volume"),
            duration_minutes=fields.whole(data.get("duration_minutes"), "Duration"),
            indication_code=data.get("indication", ""),
            note=data.get("note", "").strip(),
            send=data.get("send") == "on",
        )
    except DomainError as error:
        return chart_page(request, patient_id, status=error.status, order_form=data, order_error=error)
    sent = "sent to the pharmacist" if order.status == OrderStatus.SUBMITTED else "kept as a draft"
    messages.success(request, f"Order #{order.pk} {order.drug.display_name} {order.dose_text} {sent}.")
    return redirect("orders:order", order_id=order.pk)


def _plan(request: HttpRequest, plan_id: int) -> TreatmentPlan:
    plan = (
        TreatmentPlan.objects.filter(pk=plan_id, patient__site__in=signed_in(request).site_ids())
        .select_related("patient", "regimen")
        .first()
    )
    if plan is None:
        raise NotFound("No such treatment plan at your sites.", code="UNKNOWN_PLAN")
    return plan


@requires(Action.WRITE_ORDERS, methods=("POST",))
def submit_cycle(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
    cycle = fields.required_whole(request.POST.get("cycle"), "Cycle")
    try:
        submitted = services.submit_cycle(plan.pk, actor=signed_in(request), cycle=cycle)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        count = len(submitted)
        messages.success(request, f"Cycle {cycle}: {count} order{'s' if count != 1 else ''} sent to the pharmacist.")
    return redirect("orders:plan", plan_id=plan.pk)


@requires(Action.VIEW_ORDERS)
def plan_detail(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = _plan(request, plan_id)
    orders = plan.orders.select_related("drug", "diluent").order_by("cycle", "day", "sequence")
    cycles: dict[int, list[Order]] = {}
    for order in orders:
        cycles.setdefault(order.cycle or 0, []).append(order)
    return render(
        request,
        "orders/plan.html",
        {"plan": plan, "cycles": cycles, "modifications": plan.modifications.select_related("drug")},
    )


@requires(Action.VERIFY_ORDERS)
def queue(request: HttpRequest) -> HttpResponse:
    """Earliest first, a page at a time: the orders to verify now come first, "Later" pages on."""
    me = signed_in(request)
    at = position(request, "after")
    page = services.verification_queue(me, after=at.cursor)
    waiting, more = capped_count(services.awaiting_verification(me))
    context = {"page": page, "orders": page.rows, "at": at, "waiting": waiting, "more_waiting": more}
    return page_or_part(request, "orders/queue.html", "orders/_queue.html", context)


@requires(Action.VIEW_ORDERS)
def returned(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    orders = Order.objects.filter(site__in=me.site_ids(), status=OrderStatus.RETURNED).select_related(
        "patient", "drug", "diluent"
    )
    return render(request, "orders/returned.html", {"orders": orders})


def order_context(order: Order) -> dict[str, Any]:
    order_facts = facts.order_facts(order)
    review = rules.check(order_facts)
    try:
        cumulative = rules.cumulative_total(order_facts, review.calculation)
    except DomainError:
        cumulative = None
    history = (
        Order.objects.filter(patient=order.patient, drug=order.drug, status__in=GIVEN_STATUSES)
        .exclude(pk=order.pk)
        .order_by("-planned_start")
    )
    return {
        "order": order,
        "review": review,
        "cumulative": cumulative,
        "history": history,
        "labs": latest_labs(order.patient).values(),
        "overrides": order.overrides.select_related("by"),
        "diluents": Drug.objects.filter(category=Category.BASE_SOLUTION),
        "exception_needed": [f for f in review.hard_stops if f.numbers.get("exception_required")],
        "exception_kinds": ExceptionKind.choices,
    }


@requires(Action.VIEW_ORDERS)
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = services.order_for(signed_in(request), order_id)
    return render(request, "orders/order.html", order_context(order))


def order_action(request: HttpRequest, order_id: int, verb: str) -> HttpResponse:
    """Verify, return, hold, cancel, submit or amend; a refusal re-shows the order with the reason."""
    me, data = signed_in(request), request.POST
    version = fields.required_whole(data.get("version"), "Version")
    reason = data.get("reason", "")
    try:
        if verb == "verify":
            overrides = {
                key.removeprefix("override-"): data.get(key, "") for key in data if key.startswith("override-")
            }
            services.verify_order(
                order_id, actor=me, expected_version=version, password=data.get("password", ""), overrides=overrides
            )
        elif verb == "return":
            services.return_order(order_id, actor=me, expected_version=version, reason=reason)
        elif verb == "hold":
            services.hold_order(order_id, actor=me, expected_version=version, reason=reason)
        elif verb == "cancel":
            services.cancel_order(order_id, actor=me, expected_version=version, reason=reason)
        elif verb == "submit":
            services.submit_order(order_id, actor=me, expected_version=version)
        elif verb == "exception":
            services.document_allergy_exception(
                order_id,
                actor=me,
                expected_version=version,
                allergy_id=fields.required_whole(data.get("allergy"), "Allergy"),
                kind=data.get("kind", ""),
                note=data.get("note", ""),
            )
        else:
            services.amend_order(
                order_id,
                actor=me,
                expected_version=version,
                reason=reason,
                dose=data.get("dose") or None,
                volume_ml=fields.number(data.get("volume_ml"), "Volume"),
                diluent_key=data.get("diluent") or None,
                route=data.get("route") or None,
                duration_minutes=fields.whole(data.get("duration_minutes"), "Infusion time"),
            )
    except StaleEdit as error:
        context = order_context(services.order_for(me, order_id)) | {"stale": error}
        return render(request, "orders/order.html", context, status=409)
    except DomainError as error:
        context = order_context(services.order_for(me, order_id)) | {"error": error}
        return render(request, "orders/order.html", context, status=error.status)
    messages.success(request, f"Order #{order_id} {DONE[verb]}.")
    if verb in ("verify", "return", "hold"):
        return redirect("orders:queue")
    return redirect("orders:order", order_id=order_id)


DONE = {
    "verify": "verified and signed",
    "return": "returned to the prescriber",
    "hold": "put on hold",
    "cancel": "cancelled",
    "submit": "sent to the pharmacist",
    "amend": "corrected",
    "exception": "has the allergy exception documented; the pharmacist still reviews it",
}
VERB_ACTIONS = {
    "verify": Action.VERIFY_ORDERS,
    "return": Action.VERIFY_ORDERS,
    "hold": Action.VERIFY_ORDERS,
    "cancel": Action.CANCEL_ORDERS,
    "submit": Action.WRITE_ORDERS,
    "amend": Action.WRITE_ORDERS,
    "exception": Action.WRITE_ORDERS,
}
ACTION_VIEWS = {verb: requires(action, methods=("POST",))(order_action) for verb, action in VERB_ACTIONS.items()}
