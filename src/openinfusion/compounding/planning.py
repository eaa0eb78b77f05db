"""How to make one dose: which vials (least waste, open vials first), how much to draw from each,
the bag, the final volume and concentration, the rate, the BUD limits, the hazardous-drug
handling and the steps. Pure: frozen inputs in, a frozen plan out; the services store it as JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Final

from openinfusion.clinical.units import format_decimal
from openinfusion.errors import InvalidInput

GRAVIMETRIC_TOLERANCE_PCT: Final = Decimal(5)
MAX_VIALS: Final = 40

HAZARDOUS_HANDLING: Final = (
    "Prepare in a Class II BSC or a CACI inside a negative-pressure buffer room (USP <800>); use a "
    "closed-system transfer device; wear two pairs of chemotherapy gloves (ASTM D6978) and an "
    "impermeable gown; dispose of waste as hazardous."
)
STERILE_HANDLING: Final = (
    "Prepare in ISO Class 5 (laminar airflow workbench or BSC) with aseptic technique (USP <797>)."
)


@dataclass(frozen=True)
class VialOption:
    product_id: int
    label: str
    amount: Decimal
    """Drug per vial, in the dose unit."""
    volume_ml: Decimal
    """Volume holding ``amount`` once ready to draw (after reconstitution for a powder)."""
    single_dose: bool = True
    reconstitution_diluent: str = ""
    reconstitution_ml: Decimal | None = None
    specific_gravity: Decimal | None = None

    @property
    def per_ml(self) -> Decimal:
        return self.amount / self.volume_ml


@dataclass(frozen=True)
class OpenVialOption:
    open_vial_id: int
    product_id: int
    label: str
    remaining_ml: Decimal
    per_ml: Decimal
    specific_gravity: Decimal | None = None


@dataclass(frozen=True)
class BagOption:
    product_id: int
    label: str
    volume_ml: Decimal
    specific_gravity: Decimal | None = None


@dataclass(frozen=True)
class Draw:
    product_id: int
    label: str
    draw_ml: Decimal
    amount: Decimal
    open_vial_id: int | None = None
    reconstitution_diluent: str = ""
    reconstitution_ml: Decimal | None = None
    leftover_ml: Decimal = Decimal(0)
    single_dose: bool = True


@dataclass(frozen=True)
class PreparationPlan:
    dose: Decimal
    unit: str
    draws: tuple[Draw, ...]
    draw_ml: Decimal
    specific_gravity: Decimal
    bag: BagOption | None
    final_volume_ml: Decimal
    concentration: str
    concentration_in_range: bool
    rate_ml_h: Decimal | None
    duration_minutes: int | None
    waste: Decimal
    """Drug left in opened vials after this dose (in the dose unit)."""
    hazardous: bool
    handling: str
    storage: str
    protect_from_light: bool
    stability_hours: Decimal | None
    steps: tuple[dict[str, Any], ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _jsonable(asdict(self))
        return data


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format_decimal(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _ml(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def choose_vials(dose: Decimal, options: Sequence[VialOption]) -> tuple[VialOption, ...]:
    """Whole new vials covering ``dose`` with the least drug left over, then the fewest vials.

    A coin-change table over vial amounts in their common step (e.g. 50 mg for 50/100/500 mg vials):
    for each total, the fewest vials that make it; the answer is the smallest total ≥ the dose.
    """
    if not options or dose <= 0:
        return ()
    scale = 10 ** max(-int(o.amount.normalize().as_tuple().exponent) for o in options)
    scale = max(scale, 1)
    sizes = {int(o.amount * scale): o for o in sorted(options, key=lambda o: o.amount)}
    step = math.gcd(*sizes)
    target = math.ceil(dose * scale / step)
    limit = target + max(sizes) // step
    count: list[int | None] = [None] * (limit + 1)  # fewest vials making each total
    last: list[int] = [0] * (limit + 1)  # the vial size added last on that best way
    count[0] = 0
    for total in range(1, limit + 1):
        for size in sizes:
            units = size // step
            before = count[total - units] if total >= units else None
            best = count[total]
            if before is not None and (best is None or before + 1 < best):
                count[total], last[total] = before + 1, size
    reachable = [t for t in range(target, limit + 1) if (n := count[t]) is not None and n <= MAX_VIALS]
    if not reachable:
        raise InvalidInput(f"No combination of up to {MAX_VIALS} vials gives this dose.", code="NO_VIAL_PLAN")
    total = reachable[0]
    chosen: list[VialOption] = []
    while total:
        chosen.append(sizes[last[total]])
        total -= last[total] // step
    return tuple(sorted(chosen, key=lambda o: o.amount, reverse=True))


def plan_preparation(
    *,
    dose: Decimal,
    unit: str,
    vials: Sequence[VialOption],
    open_vials: Sequence[OpenVialOption] = (),
    bag: BagOption | None,
    duration_minutes: int | None,
    concentration_range: tuple[Decimal | None, Decimal | None, str] = (None, None, ""),
    hazardous: bool,
    storage: str,
    protect_from_light: bool,
    stability_hours: Decimal | None,
) -> PreparationPlan:
    """The least-waste way to make ``dose``: open vials of the drug first, then new vials."""
    if not vials and not open_vials:
        raise InvalidInput(
            "No product of this drug can be drawn in the dose's unit; add a product to the formulary.",
            code="NO_VIAL_PLAN",
        )
    draws: list[Draw] = []
    left = dose
    for open_vial in sorted(open_vials, key=lambda o: o.remaining_ml):
        if left <= 0:
            break
        amount = min(left, open_vial.remaining_ml * open_vial.per_ml)
        draw_ml = _ml(amount / open_vial.per_ml)
        draws.append(
            Draw(
                open_vial.product_id,
                f"open vial: {open_vial.label}",
                draw_ml,
                amount,
                open_vial_id=open_vial.open_vial_id,
                leftover_ml=_ml(open_vial.remaining_ml - draw_ml),
            )
        )
        left -= amount
    waste = Decimal(0)
    for vial in choose_vials(left, vials) if left > 0 else ():
        amount = min(left, vial.amount)
        draw_ml = _ml(amount / vial.per_ml)
        draws.append(
            Draw(
                vial.product_id,
                vial.label,
                draw_ml,
                amount,
                reconstitution_diluent=vial.reconstitution_diluent,
                reconstitution_ml=vial.reconstitution_ml,
                leftover_ml=_ml(vial.volume_ml - draw_ml),
                single_dose=vial.single_dose,
            )
        )
        waste += vial.amount - amount
        left -= amount
    draw_ml = sum((d.draw_ml for d in draws), Decimal(0))
    gravities = [v.specific_gravity for v in vials if v.specific_gravity] + [
        o.specific_gravity for o in open_vials if o.specific_gravity
    ]
    gravity = gravities[0] if gravities else Decimal(1)
    final = _ml(draw_ml + (bag.volume_ml if bag else Decimal(0)))
    low, high, concentration_unit = concentration_range
    per_ml = dose / final if final else Decimal(0)
    in_range = (low is None or per_ml >= low) and (high is None or per_ml <= high)
    rate = _ml(final / Decimal(duration_minutes) * 60) if duration_minutes else None
    plan = PreparationPlan(
        dose=dose,
        unit=unit,
        draws=tuple(draws),
        draw_ml=draw_ml,
        specific_gravity=gravity,
        bag=bag,
        final_volume_ml=final,
        concentration=f"{format_decimal(per_ml, 3)} {concentration_unit or unit + '/mL'}",
        concentration_in_range=in_range,
        rate_ml_h=rate,
        duration_minutes=duration_minutes,
        waste=waste,
        hazardous=hazardous,
        handling=HAZARDOUS_HANDLING if hazardous else STERILE_HANDLING,
        storage=storage,
        protect_from_light=protect_from_light,
        stability_hours=stability_hours,
    )
    return PreparationPlan(**{**plan.__dict__, "steps": steps_for(plan)})


def steps_for(plan: PreparationPlan) -> tuple[dict[str, Any], ...]:
    """The steps in the only order they may be done: scan each vial (and reconstitute a powder),
    weigh what was drawn, scan the bag, weigh what went into it."""
    steps: list[dict[str, Any]] = []
    for n, draw in enumerate(plan.draws, start=1):
        steps.append(
            {
                "kind": "scan_vial",
                "product_id": draw.product_id,
                "open_vial_id": draw.open_vial_id,
                "title": f"Scan vial {n} of {len(plan.draws)}: {draw.label}",
                "draw_ml": format_decimal(draw.draw_ml),
            }
        )
        if draw.reconstitution_ml and draw.open_vial_id is None:
            steps.append(
                {
                    "kind": "reconstitute",
                    "diluent": draw.reconstitution_diluent,
                    "volume_ml": format_decimal(draw.reconstitution_ml),
                    "title": f"Reconstitute vial {n} with {format_decimal(draw.reconstitution_ml)} mL "
                    f"{draw.reconstitution_diluent}: scan the diluent",
                }
            )
    steps.append(
        {
            "kind": "weigh_draw",
            "expected_ml": format_decimal(plan.draw_ml),
            "specific_gravity": format_decimal(plan.specific_gravity),
            "tolerance_pct": format_decimal(GRAVIMETRIC_TOLERANCE_PCT),
            "title": f"Weigh the syringe(s): empty, then filled with {format_decimal(plan.draw_ml)} mL",
        }
    )
    if plan.bag is not None:
        steps.append(
            {"kind": "scan_bag", "product_id": plan.bag.product_id, "title": f"Scan the bag: {plan.bag.label}"}
        )
        steps.append(
            {
                "kind": "weigh_bag",
                "expected_ml": format_decimal(plan.draw_ml),
                "specific_gravity": format_decimal(plan.specific_gravity),
                "tolerance_pct": format_decimal(GRAVIMETRIC_TOLERANCE_PCT),
                "title": "Weigh the bag before and after adding the drug",
            }
        )
    return tuple(steps)
