"""The infusion center chair board: today's doses by chair (or ward bed, or home), each with its
live status along the path, delays highlighted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Q
from django.utils import timezone

from openinfusion.accounts.models import Site, User
from openinfusion.administration.models import Administration, Dispense, DispenseStatus
from openinfusion.chairs.models import Appointment, AppointmentStatus
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.orders.models import Order, OrderStatus

STAGES = ("verified", "compounding", "ready", "dispensed", "infusing", "done")
STAGE_OF = {
    OrderStatus.VERIFIED: "verified",
    OrderStatus.PREPARING: "compounding",
    OrderStatus.PREPARED: "compounding",
    OrderStatus.CHECKED: "ready",
    OrderStatus.DISPENSED: "dispensed",
    OrderStatus.ADMINISTERING: "infusing",
    OrderStatus.ADMINISTERED: "done",
}


@dataclass(frozen=True)
class BoardRow:
    order: Order
    place: str
    stage: str
    delayed: bool
    preparation: Preparation | None
    dispense: Dispense | None
    due: dt.datetime  # the booked visit's start, else the order's planned start

    @property
    def administration(self) -> Administration | None:
        """The infusion record once the bedside check is done (None before)."""
        return getattr(self.dispense, "administration", None) if self.dispense is not None else None

    @property
    def receivable(self) -> bool:
        """Sent to this place and not yet signed for there."""
        on_its_way = (DispenseStatus.DISPENSED, DispenseStatus.IN_TRANSIT)
        return self.dispense is not None and self.dispense.status in on_its_way

    @property
    def received(self) -> bool:
        return self.dispense is not None and self.dispense.status == DispenseStatus.RECEIVED

    @property
    def waits_for_release(self) -> bool:
        p = self.preparation
        return p is not None and p.status == PreparationStatus.PLANNED and not p.released


def chair_board(actor: User, day: dt.date | None = None) -> list[BoardRow]:
    """Every dose planned for ``day`` (default today) at the actor's sites, by place — and any dose
    still on its way or running from another day, so nothing in progress drops off at midnight."""
    sites = list(Site.objects.filter(pk__in=actor.site_ids()).order_by("name"))
    day = day or (dt.datetime.now(sites[0].zone).date() if sites else timezone.localdate())
    planned_that_day = Q(pk__in=[])
    for site in sites:  # each site's day runs from its own midnight to the next (23 or 25 h on DST days)
        start = dt.datetime.combine(day, dt.time.min, tzinfo=site.zone)
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time.min, tzinfo=site.zone)
        planned_that_day |= Q(site=site, planned_start__gte=start, planned_start__lt=end)
    under_way = Q(status__in=(OrderStatus.DISPENSED, OrderStatus.ADMINISTERING))
    orders = (
        Order.objects.filter(site__in=actor.site_ids(), status__in=STAGE_OF)
        .filter(planned_that_day | under_way)
        .select_related("patient", "drug")
        .order_by("planned_start")
    )
    preparations = {
        p.order_id: p
        for p in Preparation.objects.filter(order__in=orders).exclude(
            status__in=(PreparationStatus.REJECTED, PreparationStatus.CANCELLED)
        )
    }
    dispenses = {
        d.preparation.order_id: d
        for d in Dispense.objects.filter(preparation__order__in=orders)
        .select_related("preparation", "administration")
        .order_by("dispensed_at")
    }
    visits = dict(
        Appointment.objects.filter(order__in=orders, planned_start__isnull=False)
        .exclude(status=AppointmentStatus.CANCELLED)
        .order_by("id")
        .values_list("order_id", "planned_start")
    )
    now = timezone.now()
    rows = []
    for order in orders:
        stage = STAGE_OF[OrderStatus(order.status)]
        dispense = dispenses.get(order.pk)
        place = dispense.place if dispense else (order.patient.bed and f"{order.patient.ward} bed {order.patient.bed}")
        due = visits.get(order.pk) or order.planned_start
        late = due < now and stage not in ("infusing", "done")
        rows.append(BoardRow(order, place or "not yet placed", stage, late, preparations.get(order.pk), dispense, due))
    return sorted(rows, key=lambda r: (r.place, r.due))
