"""Demo preparations in every state, made through the real services: planned (one waiting for
release), in progress, awaiting the final check, approved with a label, rejected and re-queued."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from openinfusion.accounts.models import User
from openinfusion.compounding import services, walkthrough
from openinfusion.compounding.models import Preparation, Qualification, QualificationKind
from openinfusion.demo import DEMO_PASSWORD
from openinfusion.errors import DomainError
from openinfusion.orders.models import Order, OrderStatus


def load_compounding_demo() -> None:
    if Preparation.objects.exists() or not Order.objects.filter(status=OrderStatus.VERIFIED).exists():
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
    planned = []
    for order in Order.objects.filter(status=OrderStatus.VERIFIED).order_by("planned_start")[:8]:
        try:
            preparation = services.plan_preparation(order.pk, actor=technician)
        except DomainError:
            continue  # e.g. a drug with no product in its unit: left verified, to plan by hand
        planned.append(preparation)
    for preparation in planned:
        if preparation.needs_release:
            continue  # waits for release in the queue
        if len(planned) - len([p for p in planned if p.status != "planned"]) <= 2:
            break  # keep a couple planned for the journey
        try:
            walkthrough.stock_room(preparation, technician)
            walkthrough.prepare(preparation, technician, steps=None if preparation.pk % 3 else 1)
        except DomainError:
            continue
    for preparation in Preparation.objects.filter(status__in=("planned", "in_progress")):
        try:
            walkthrough.stock_room(preparation, technician)  # ready for the technician at the bench
        except DomainError:
            continue
    done = Preparation.objects.filter(status="awaiting_check").order_by("pk")
    for n, preparation in enumerate(done):
        if n == 0:
            services.final_check(preparation.pk, actor=checker, approve=True, password=DEMO_PASSWORD)
        elif n == 1:
            services.final_check(
                preparation.pk, actor=checker, approve=False, reason="Particulate seen in the bag (demo)."
            )
