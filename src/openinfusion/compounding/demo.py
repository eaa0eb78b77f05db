"""Demo preparations in every state, made through the real services: planned (one waiting for
release, and the oxaliplatin dose the browser journey prepares), in progress, awaiting the final
check, approved with a label, rejected and re-queued, cancelled with its order."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from openinfusion.accounts.models import User
from openinfusion.compounding import services, walkthrough
from openinfusion.compounding.models import Preparation, PreparationStatus, Qualification, QualificationKind
from openinfusion.demo import DEMO_PASSWORD
from openinfusion.errors import DomainError
from openinfusion.orders import services as orders
from openinfusion.orders.models import Order, OrderStatus

JOURNEY_DRUG = "oxaliplatin"


def load_compounding_demo() -> None:
    if Preparation.objects.exists() or not Order.objects.exists():
        return
    pharmacist = User.objects.get(username="pharmacist")
    checker = User.objects.get(username="pharmacist2")
    technician = User.objects.get(username="technician")
    until = timezone.localdate() + dt.timedelta(days=365)
    for person in (technician, pharmacist, checker):
        for kind in QualificationKind:
            Qualification.objects.create(
                user=person, kind=kind, valid_until=until, recorded_by=pharmacist, recorded_at=timezone.now()
            )
    journey = _verified_journey_order(pharmacist)
    planned = [p for order in _orders_to_plan(journey) if (p := _plan(order, technician))]
    for n, preparation in enumerate(planned):
        if preparation.order_id == getattr(journey, "pk", None) or preparation.needs_release:
            continue  # the browser journey prepares it; release-bound doses wait in the queue
        try:
            walkthrough.stock_room(preparation, technician)
            walkthrough.prepare(preparation, technician, steps=1 if n % 3 == 2 else None)
        except DomainError:
            continue
    for preparation in Preparation.objects.filter(
        status__in=(PreparationStatus.PLANNED, PreparationStatus.IN_PROGRESS)
    ):
        try:
            walkthrough.stock_room(preparation, technician)  # ready for the technician at the bench
        except DomainError:
            continue
    _finish(checker)


def _verified_journey_order(pharmacist: User) -> Order | None:
    order = Order.objects.filter(drug__key=JOURNEY_DRUG, status=OrderStatus.SUBMITTED).order_by("planned_start").first()
    if order is None:
        return Order.objects.filter(drug__key=JOURNEY_DRUG, status=OrderStatus.VERIFIED).first()
    review = orders.review(order)
    if review.hard_stops:
        return None
    orders.verify_order(
        order.pk,
        actor=pharmacist,
        expected_version=order.version,
        password=DEMO_PASSWORD,
        overrides={f.code.value: "Reviewed with the prescriber (demo)." for f in review.warnings},
    )
    return order


def _orders_to_plan(journey: Order | None) -> list[Order]:
    others = Order.objects.filter(status=OrderStatus.VERIFIED).order_by("planned_start")
    if journey is not None:
        others = others.exclude(pk=journey.pk)
    return ([journey] if journey else []) + list(others[:8])


def _plan(order: Order, technician: User) -> Preparation | None:
    try:
        return services.plan_preparation(order.pk, actor=technician)
    except DomainError:
        return None  # e.g. a drug with no product in its unit: left verified, to plan by hand


def _finish(checker: User) -> None:
    spare = Preparation.objects.filter(status=PreparationStatus.PLANNED).exclude(order__drug__key=JOURNEY_DRUG).last()
    if spare is not None:  # the patient went home mid-preparation: the order and its preparation stop
        orders.cancel_order(
            spare.order_id,
            actor=User.objects.get(username="prescriber"),
            expected_version=spare.order.version,
            reason="Patient admitted elsewhere (demo).",
        )
    for n, preparation in enumerate(Preparation.objects.filter(status=PreparationStatus.AWAITING_CHECK).order_by("pk")):
        if n == 0:
            services.final_check(preparation.pk, actor=checker, approve=True, password=DEMO_PASSWORD)
        elif n == 1:
            services.final_check(
                preparation.pk, actor=checker, approve=False, reason="Particulate seen in the bag (demo)."
            )
