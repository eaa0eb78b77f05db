"""What the prescription and its signatures say about a dose at the bedside: the rate it is
prescribed to run at (``rules.prescribed_rate`` over the order, its plan and the formulary), the
signature link (21 CFR 11.70: the verified order and the checked preparation unchanged since they
were signed), and the warnings the nurse sees before starting."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from openinfusion.administration import rules
from openinfusion.administration.models import Administration
from openinfusion.chairs.services import visit_start
from openinfusion.compounding.integrity import require_signatures_match
from openinfusion.compounding.models import Preparation
from openinfusion.errors import DomainError
from openinfusion.orders.models import Order
from openinfusion.orders.rules import INFUSED_ROUTES


def bag_volume_ml(preparation: Preparation) -> Decimal:
    return Decimal(preparation.plan.get("final_volume_ml") or 0)


def prescribed_rate(preparation: Preparation) -> rules.PrescribedRate | None:
    """The rate the bag is prescribed to run at: its plan's (from the order's duration), else the
    order's duration, else the formulary's standard infusion time for the drug."""
    order = preparation.order
    planned = preparation.plan.get("rate_ml_h")
    return rules.prescribed_rate(
        volume_ml=bag_volume_ml(preparation),
        planned_rate_ml_h=Decimal(planned) if planned else None,
        ordered_minutes=preparation.plan.get("duration_minutes") or order.duration_minutes,
        standard_minutes=(order.drug.infusion_minutes_min, order.drug.infusion_minutes_max),
    )


def required_rate(preparation: Preparation) -> rules.PrescribedRate:
    """The prescribed rate, or the refusal that there is none to check a pump against."""
    prescribed = prescribed_rate(preparation)
    if prescribed is None:
        raise rules.no_prescribed_rate(preparation.order.drug.display_name)
    return prescribed


def is_infused(order: Order) -> bool:
    """Given through a pump (an IV infusion), not pushed or injected."""
    return order.route in INFUSED_ROUTES


def check_signatures(preparation: Preparation) -> None:
    """Refuse a dose whose verified order or checked preparation changed after it was signed (the
    same check as at label release, ``compounding.integrity``), kept as a bedside near miss."""
    try:
        require_signatures_match(preparation)
    except DomainError as error:
        raise rules.BedsideRefusal(error.message, code=error.code, details=error.details) from error


def planned_minutes(administration: Administration) -> int | None:
    """How long the bag runs: at the programmed rate once programmed, else as ordered, else at the
    slowest standard rate."""
    preparation = administration.dispense.preparation
    volume = bag_volume_ml(preparation)
    if administration.rate_ml_h and volume:
        return int(volume / administration.rate_ml_h * 60 + Decimal("0.5"))
    ordered = preparation.plan.get("duration_minutes") or administration.order.duration_minutes
    if ordered:
        return int(ordered)
    prescribed = prescribed_rate(preparation)
    return rules.expected_minutes(prescribed, volume) if prescribed is not None and volume else None


def warnings_for(administration: Administration, *, now: dt.datetime) -> tuple[rules.BedsideWarning, ...]:
    """What the nurse must see before (and while) giving the dose: a BUD before the planned end."""
    preparation, order = administration.dispense.preparation, administration.order
    if preparation.bud is None or administration.status not in ("verified", "infusing", "paused"):
        return ()
    start = administration.started_at or max(now, visit_start(order) or order.planned_start)
    warning = rules.bud_warning(
        preparation.bud, start=start, minutes=planned_minutes(administration), clock=order.site.clock
    )
    return () if warning is None else (warning,)
