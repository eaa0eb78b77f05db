"""Measurements that are possible but probably a slip: refused until the person confirms they
re-measured (``confirm_unusual``), and the confirmation is audited with what it answered.

- a height or weight that gives, with the patient's other measure, a BMI no person has (inches
  typed as centimetres, height and weight swapped): ``clinical.body``;
- a weight further from the patient's previous one than the time between them allows (pounds
  typed as kilograms, a digit too many): ``clinical.weight_change``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from openinfusion.clinical import body, weight_change
from openinfusion.clinical.units import Quantity, format_decimal
from openinfusion.errors import InvalidInput
from openinfusion.patients.models import Measurement, MeasurementKind, Patient

CONFIRM_FLAG = "confirm_unusual"


@dataclass(frozen=True)
class Unusual:
    """One probable slip: a stable code, what the nurse reads, the numbers behind it."""

    code: str
    message: str
    details: dict[str, Any] = field(default_factory=dict)


def refuse(slips: list[Unusual]) -> None:
    """Refuse unconfirmed slips, all of them in one message (the person confirms once, knowing all)."""
    if not slips:
        return
    raise InvalidInput(
        " ".join(
            [*(slip.message for slip in slips), "Nothing was saved. Re-measure, or confirm the value if it is right."]
        ),
        code=slips[0].code,
        details={key: value for slip in slips for key, value in slip.details.items()} | {"confirm": CONFIRM_FLAG},
    )


def bmi_slip(kind: str, quantity: Quantity, other: Measurement | None) -> list[Unusual]:
    """A BMI outside what people have, with the patient's current measure of the other kind."""
    if other is None:
        return []
    height, weight = (quantity, other.quantity) if kind == MeasurementKind.HEIGHT else (other.quantity, quantity)
    size = body.body_size(height, weight)
    return [Unusual("IMPLAUSIBLE_MEASUREMENT", size.warnings[0], {"bmi": str(size.bmi)})] if size.warnings else []


def weight_jump(
    patient: Patient, entered: Quantity, weight_kg: Decimal, taken: dt.datetime, *, corrected: Measurement | None
) -> list[Unusual]:
    """A weight further from the patient's previous one than the time between them allows. The
    previous one is the current weight taken before it (else the first after it, for a weight
    entered late), never the row being corrected."""
    weights = Measurement.objects.current().filter(patient=patient, kind=MeasurementKind.WEIGHT)
    if corrected is not None:
        weights = weights.exclude(pk=corrected.pk)
    previous = (
        weights.filter(taken_at__lte=taken).order_by("-taken_at", "-id").first()
        or weights.order_by("taken_at", "id").first()
    )
    if previous is None:
        return []
    apart = taken - previous.taken_at
    jump = weight_change.weight_jump(previous.value, weight_kg, entered, apart)
    if jump is None:
        return []
    message = weight_change.describe(jump, entered, patient.site.clock(previous.taken_at), apart)
    numbers = {
        "previous_kg": format_decimal(previous.value),
        "previous_taken_at": previous.taken_at.isoformat(),
        "change_percent": weight_change.percent(jump.share),
        "allowed_percent": weight_change.percent(jump.allowed),
    }
    return [Unusual("WEIGHT_JUMP", message, numbers)]
