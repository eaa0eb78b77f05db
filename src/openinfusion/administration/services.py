"""Dispense, hand-offs, the bedside five-rights check, the infusion record and its end.

A bedside mismatch is a hard stop: nothing changes, and the attempt is kept as a ``NearMiss``
(written after the refused transaction rolls back) for quality review. That covers the scan (the
five rights, the dose the nurse chose, the signatures), the pump program and every later rate
against the prescription, and the start (a program recorded, the BUD not passed, the signatures).
The rules are pure (``rules``); each service reads the clock once and passes ``now`` in.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Final

from django.db import IntegrityError, transaction
from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import Site, User
from openinfusion.accounts.permissions import Action
from openinfusion.administration import prescription, rules
from openinfusion.administration.models import (
    OPEN_DISPENSE,
    Administration,
    AdministrationStatus,
    Destination,
    Dispense,
    DispenseStatus,
    Handoff,
    HandoffKind,
    NearMiss,
    Pump,
    RateChange,
    Reaction,
    Vitals,
)
from openinfusion.audit.services import audited, record, site_from
from openinfusion.chairs.services import visit_start
from openinfusion.clinical.units import format_decimal, round_half_up
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.errors import Conflict, DomainError, InvalidInput, NotFound
from openinfusion.orders.models import Order, OrderStatus
from openinfusion.orders.services import advance_order

TIME_WINDOW: Final = dt.timedelta(hours=2)
"""A dose may be started from 2 h before to 2 h after its planned start (site policy default)."""
COLD_CHAIN_C: Final = (Decimal(2), Decimal(8))
COMPLETE_FRACTION: Final = Decimal("0.95")
"""Less than 95 % of the volume infused is recorded as a partial dose, with its reason."""
LABEL = re.compile(r"^OIP-(\d{1,9})$")


def _near_miss_site(actor: User, args: tuple[object, ...], kwargs: dict[str, object]) -> Site | None:
    """Where the dose was being given: the scanned label's, the infusion record's, else the nurse's."""
    match = LABEL.match(str(kwargs.get("label", "")).strip())
    order = None
    if match:
        scanned = Preparation.objects.filter(pk=int(match.group(1))).select_related("order__site").first()
        order = scanned.order if scanned else None
    elif args and isinstance(args[0], int):
        record = Administration.objects.filter(pk=args[0]).select_related("order__site").first()
        order = record.order if record else None
    return order.site if order and order.site_id in actor.site_ids() else actor.sites.first()


def _keep_near_miss(error: DomainError, args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    """A bedside refusal is kept as a near miss (after the rollback) for quality review."""
    actor = kwargs["actor"]
    assert isinstance(actor, User)
    site = _near_miss_site(actor, args, kwargs)
    scanned = {k: str(v) for k, v in kwargs.items() if k != "actor"}
    if args:
        scanned["administration_id"] = str(args[0])
    if site is not None:  # filed where the dose was being given when the label says so
        NearMiss.objects.create(
            site=site, code=error.code, message=error.message, scanned=scanned, by=actor, at=timezone.now()
        )


def dispense_for(actor: User, dispense_id: int, *, lock: bool = False) -> Dispense:
    dispenses = Dispense.objects.select_related(
        "preparation__order__patient", "preparation__order__drug", "preparation__site"
    )
    if lock:
        dispenses = dispenses.select_for_update(of=("self",))
    found = dispenses.filter(pk=dispense_id, preparation__site__in=actor.site_ids()).first()
    if found is None:
        found = dispenses.filter(pk=dispense_id, preparation__order__site__in=actor.site_ids()).first()
    if found is None:
        raise NotFound("No such dispense at your sites.", code="UNKNOWN_DISPENSE")
    return found


def administration_for(actor: User, administration_id: int, *, lock: bool = False) -> Administration:
    rows = Administration.objects.select_related(
        "order__drug",
        "order__diluent",
        "order__site",
        "order__verification",
        "patient",
        "dispense__preparation__final_check",
        "pump",
    )
    if lock:
        rows = rows.select_for_update(of=("self",))
    found = rows.filter(pk=administration_id, order__site__in=actor.site_ids()).first()
    if found is None:
        raise NotFound("No such infusion at your sites.", code="UNKNOWN_ADMINISTRATION")
    return found


# --- dispense and custody ----------------------------------------------------------------------------


@audited("administration:dispense:create", site_of=site_from(Preparation))
def dispense_preparation(preparation_id: int, *, actor: User, destination: str, place: str) -> Dispense:
    """Send a checked preparation to a chair, a ward bed or a home; never twice at once."""
    check(actor, Action.DISPENSE)
    preparation = (
        Preparation.objects.select_for_update(of=("self",))
        .select_related("order")
        .filter(pk=preparation_id, site__in=actor.site_ids())
        .first()
    )
    if preparation is None:
        raise NotFound("No such preparation at your sites.", code="UNKNOWN_PREPARATION")
    if preparation.status != PreparationStatus.APPROVED:
        raise Conflict("Only a preparation approved at the final check is dispensed.", code="NOT_CHECKED")
    if destination not in Destination.values or not place.strip():
        raise InvalidInput(
            "Say where it goes: chair, ward or home, and which chair, bed or address.", code="INVALID_INPUT"
        )
    if Dispense.objects.filter(preparation=preparation, status__in=OPEN_DISPENSE).exists():
        raise Conflict(f"{preparation.barcode} is already dispensed.", code="ALREADY_DISPENSED")
    now = timezone.now()
    try:
        with transaction.atomic():
            dispense = Dispense.objects.create(
                preparation=preparation,
                destination=destination,
                place=place.strip(),
                cold_chain=preparation.plan.get("storage") == "refrigerator",
                dispensed_by=actor,
                dispensed_at=now,
            )
    except IntegrityError:  # the one-open-dispense constraint: another request won the race
        raise Conflict(f"{preparation.barcode} is already dispensed.", code="ALREADY_DISPENSED") from None
    Handoff.objects.create(dispense=dispense, kind=HandoffKind.PHARMACY_OUT, by=actor, at=now)
    advance_order(preparation.order, OrderStatus.DISPENSED, actor=actor)
    record(
        "administration:dispense:created",
        actor=actor,
        entity=dispense,
        site=preparation.site,
        patient_id=preparation.order.patient_id,
        after={
            "preparation": preparation.barcode,
            "destination": destination,
            "place": place,
            "cold_chain": dispense.cold_chain,
        },
    )
    return dispense


def _temperature(value: Decimal | str | None, dispense: Dispense) -> Decimal | None:
    if value in (None, ""):
        if dispense.cold_chain:
            raise InvalidInput(
                "This dose must stay at 2–8 °C: record the temperature on arrival.", code="TEMPERATURE_REQUIRED"
            )
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput("The temperature must be a number in °C.", code="INVALID_INPUT") from None


@audited("administration:dispense:handoff", site_of=site_from(Dispense, "preparation__site"))
def record_handoff(
    dispense_id: int, *, actor: User, temperature_c: Decimal | str | None = None, note: str = ""
) -> Handoff:
    """The courier takes the dose (home delivery or a distant ward)."""
    check(actor, Action.HANDOFF)
    dispense = dispense_for(actor, dispense_id, lock=True)
    if dispense.status != DispenseStatus.DISPENSED:
        raise Conflict(f"This dose is {dispense.get_status_display().lower()}.", code="WRONG_STATE")
    temperature = None if temperature_c in (None, "") else _temperature(temperature_c, dispense)
    handoff = Handoff.objects.create(
        dispense=dispense, kind=HandoffKind.COURIER, by=actor, at=timezone.now(), temperature_c=temperature, note=note
    )
    dispense.status = DispenseStatus.IN_TRANSIT
    dispense.save(update_fields=["status"])
    record(
        "administration:dispense:handed_off",
        actor=actor,
        entity=dispense,
        site=dispense.preparation.site,
        after={"temperature_c": None if temperature is None else str(temperature)},
    )
    return handoff


@audited("administration:dispense:receive", site_of=site_from(Dispense, "preparation__site"))
def receive_dispense(dispense_id: int, *, actor: User, temperature_c: Decimal | str | None = None) -> Dispense:
    """Received at the chair, ward or home; a cold-chain dose needs its temperature, within 2–8 °C."""
    check(actor, Action.HANDOFF)
    dispense = dispense_for(actor, dispense_id, lock=True)
    if dispense.status not in (DispenseStatus.DISPENSED, DispenseStatus.IN_TRANSIT):
        raise Conflict(f"This dose is {dispense.get_status_display().lower()}.", code="WRONG_STATE")
    temperature = _temperature(temperature_c, dispense)
    low, high = COLD_CHAIN_C
    if dispense.cold_chain and temperature is not None and not low <= temperature <= high:
        raise Conflict(
            f"Arrived at {temperature} °C, outside 2–8 °C: do not use it; return it to the pharmacy.",
            code="COLD_CHAIN_BROKEN",
        )
    Handoff.objects.create(
        dispense=dispense, kind=HandoffKind.RECEIVED, by=actor, at=timezone.now(), temperature_c=temperature
    )
    dispense.status = DispenseStatus.RECEIVED
    dispense.save(update_fields=["status"])
    record(
        "administration:dispense:received",
        actor=actor,
        entity=dispense,
        site=dispense.preparation.site,
        after={"temperature_c": None if temperature is None else str(temperature)},
    )
    return dispense


@audited("administration:dispense:return", site_of=site_from(Dispense, "preparation__site"))
def return_preparation(
    dispense_id: int, *, actor: User, reason: str, temperature_c: Decimal | str | None = None, intact: bool = True
) -> Dispense:
    """An unused dose comes back: re-dispensable while its BUD and storage allow, else wasted."""
    check(actor, Action.HANDOFF)
    dispense = dispense_for(actor, dispense_id, lock=True)
    if dispense.status not in (DispenseStatus.DISPENSED, DispenseStatus.IN_TRANSIT, DispenseStatus.RECEIVED):
        raise Conflict(
            f"This dose is {dispense.get_status_display().lower()}; it cannot be returned.", code="WRONG_STATE"
        )
    if not reason.strip():
        raise InvalidInput("Say why the dose comes back.", code="REASON_REQUIRED")
    preparation = dispense.preparation
    temperature = None if temperature_c in (None, "") else _temperature(temperature_c, dispense)
    low, high = COLD_CHAIN_C
    cold_ok = not dispense.cold_chain or (temperature is not None and low <= temperature <= high)
    now = timezone.now()
    in_date = preparation.bud is not None and preparation.bud > now
    reusable = intact and cold_ok and in_date
    Handoff.objects.create(
        dispense=dispense, kind=HandoffKind.RETURNED, by=actor, at=now, temperature_c=temperature, note=reason
    )
    if reusable:
        dispense.status, dispense.closed_reason = DispenseStatus.RETURNED, f"returned: {reason}"
        advance_order(preparation.order, OrderStatus.CHECKED, actor=actor, reason=f"returned unused: {reason}")
    else:
        why = "BUD passed" if not in_date else "storage not kept" if not cold_ok else "not intact"
        disposal = "hazardous waste" if preparation.plan.get("hazardous") else "pharmaceutical waste"
        dispense.status, dispense.closed_reason = DispenseStatus.WASTED, f"wasted ({why}) as {disposal}: {reason}"
        preparation.status = PreparationStatus.REJECTED  # never offered for dispensing again
        preparation.rejection_reason = dispense.closed_reason
        preparation.version += 1
        preparation.save(update_fields=["status", "rejection_reason", "version"])
        record(
            "compounding:preparation:wasted",
            actor=actor,
            entity=preparation,
            site=preparation.site,
            patient_id=preparation.order.patient_id,
            before={"status": PreparationStatus.APPROVED},
            after={"status": PreparationStatus.REJECTED},
            reason=dispense.closed_reason,
        )
        advance_order(
            preparation.order,
            OrderStatus.VERIFIED,
            actor=actor,
            reason=f"returned dose wasted ({why}); a new preparation is needed",
        )
    dispense.save(update_fields=["status", "closed_reason"])
    record(
        "administration:dispense:returned",
        actor=actor,
        entity=dispense,
        site=preparation.site,
        patient_id=preparation.order.patient_id,
        after={"status": dispense.status, "reason": dispense.closed_reason},
    )
    return dispense


# --- bedside -----------------------------------------------------------------------------------------


def _wristband_mrn(scan: str) -> str:
    """A wristband barcode carries the MRN, bare or as ``MRN:…`` / ``MRN40012``-style text."""
    return scan.strip().removeprefix("MRN:").strip()


def _require_choice(order_id: int | None) -> int:
    if order_id is None:
        raise InvalidInput(
            "Choose the dose you are giving on the chair board (or the schedule) first, then scan the "
            "wristband and the bag.",
            code="DOSE_NOT_CHOSEN",
        )
    return order_id


def _chosen_dose(actor: User, order_id: int) -> Order:
    """The dose the nurse said they are giving, picked on the chair board or the schedule."""
    chosen = (
        Order.objects.select_related("drug", "patient", "site").filter(pk=order_id, site__in=actor.site_ids()).first()
    )
    if chosen is None:
        raise NotFound("No such dose at your sites: choose it again on the chair board.", code="UNKNOWN_ORDER")
    return chosen


def _wrong_dose(chosen: Order, bag: Order) -> rules.BedsideRefusal:
    due = chosen.site.clock(visit_start(chosen) or chosen.planned_start)
    return rules.BedsideRefusal(
        f"WRONG DOSE: you chose order #{chosen.pk}, {chosen.drug.display_name} {chosen.dose_text} for "
        f"{chosen.patient} due {due}, but this bag is order #{bag.pk}, {bag.drug.display_name} {bag.dose_text} "
        f"for {bag.patient}. Do not give it: find the bag for #{chosen.pk}, or choose #{bag.pk} on the chair "
        "board if that is the dose you are giving.",
        code="WRONG_DOSE",
    )


@audited("administration:bedside:verify", site_of=_near_miss_site, keep=_keep_near_miss, keep_when=rules.BedsideRefusal)
def bedside_verify(*, actor: User, wristband: str, label: str, order_id: int | None = None) -> Administration:
    """The five rights at the bedside from two scans, for the dose the nurse chose (``order_id``,
    from the chair board or the schedule): right patient, drug, dose, route, time; the bag is that
    dose's; the BUD not passed (a warning when it falls before the planned end), the order still
    active, the dose not already given, and the verified order and the checked preparation as they
    were signed."""
    check(actor, Action.ADMINISTER)
    chosen_id = _require_choice(order_id)
    match = LABEL.match(label.strip())
    if match is None:
        raise rules.BedsideRefusal(
            "That is not a preparation label. Scan the DataMatrix on the bag's label.", code="WRONG_PREPARATION"
        )
    dispense = (
        Dispense.objects.select_for_update(of=("self",))
        .select_related(
            "preparation__order__patient",
            "preparation__order__drug",
            "preparation__order__diluent",
            "preparation__order__site",
            "preparation__order__verification",
            "preparation__final_check",
        )
        .filter(preparation_id=int(match.group(1)), preparation__order__site__in=actor.site_ids())
        .order_by("-dispensed_at")
        .first()
    )
    if dispense is None:
        raise rules.BedsideRefusal(
            "This preparation was not dispensed to you. Do not give it; call the pharmacy.", code="WRONG_PREPARATION"
        )
    preparation, order = dispense.preparation, dispense.preparation.order
    if _wristband_mrn(wristband) != order.patient.mrn:
        raise rules.BedsideRefusal(
            f"WRONG PATIENT: this dose is for {order.patient} — the wristband scanned is not. Stop.",
            code="WRONG_PATIENT",
        )
    if order.pk != chosen_id:
        raise _wrong_dose(_chosen_dose(actor, chosen_id), order)
    now = timezone.now()
    opened = Administration.objects.filter(dispense=dispense).first()
    if dispense.status == DispenseStatus.ADMINISTERED or (opened and opened.status == AdministrationStatus.ENDED):
        raise rules.BedsideRefusal("This dose was already given. Do not give it again.", code="ALREADY_ADMINISTERED")
    if opened is not None and opened.status != AdministrationStatus.VERIFIED:
        return _reopened(opened, actor, now)  # under way: back to its record
    if order.status != OrderStatus.DISPENSED or dispense.status not in (
        DispenseStatus.DISPENSED,
        DispenseStatus.IN_TRANSIT,
        DispenseStatus.RECEIVED,
    ):
        raise rules.BedsideRefusal(
            f"Order #{order.pk} is {order.get_status_display().lower()}: do not give this dose.",
            code="ORDER_NOT_ACTIVE",
        )
    if preparation.bud is None or preparation.bud <= now:
        raise rules.BedsideRefusal(
            "The beyond-use date has passed: do not give it; return it to the pharmacy.", code="BUD_EXPIRED"
        )
    due = visit_start(order) or order.planned_start  # the visit's booked time, else the order's
    if abs(now - due) > TIME_WINDOW:
        raise rules.BedsideRefusal(
            f"Due at {order.site.clock(due)}; now is outside the ±2 h window. Check with the prescriber.",
            code="OUTSIDE_TIME_WINDOW",
        )
    if preparation.plan.get("dose") != format_decimal(order.dose):
        raise rules.BedsideRefusal(
            "The order changed after this dose was made: do not give it; call the pharmacy.", code="WRONG_PREPARATION"
        )
    prescription.check_signatures(preparation)
    if opened is not None:
        return _reopened(opened, actor, now)  # checked again (BUD, time), not yet started: carry on
    administration = Administration.objects.create(
        dispense=dispense, order=order, patient=order.patient, nurse=actor, verified_at=now
    )
    administration.warnings = prescription.warnings_for(administration, now=now)
    record(
        "administration:bedside:verified",
        actor=actor,
        entity=administration,
        site=order.site,
        patient_id=order.patient_id,
        after={
            "preparation": preparation.barcode,
            "order": order.pk,
            "mrn": order.patient.mrn,
            "warnings": [w.code for w in administration.warnings],
        },
    )
    return administration


def _reopened(administration: Administration, actor: User, now: dt.datetime) -> Administration:
    """The same dose scanned again after the nurse left its page: its record, not a second one."""
    administration.reopened = True
    administration.warnings = prescription.warnings_for(administration, now=now)
    record(
        "administration:bedside:reopened",
        actor=actor,
        entity=administration,
        site=administration.order.site_id,
        patient_id=administration.patient_id,
        after={"status": administration.status, "warnings": [w.code for w in administration.warnings]},
    )
    return administration


def _within(value: Decimal, target: Decimal, tolerance: Decimal) -> bool:
    return target == 0 or abs(value - target) / target * 100 <= tolerance


@audited(
    "administration:infusion:program", site_of=_near_miss_site, keep=_keep_near_miss, keep_when=rules.BedsideRefusal
)
def record_pump_program(
    administration_id: int,
    *,
    actor: User,
    pump_serial: str,
    rate_ml_h: Decimal,
    volume_ml: Decimal,
    duration_minutes: int | None = None,
) -> Administration:
    """The pump as programmed, checked against the prescribed rate (±5 %: the order's duration, else
    the formulary's standard infusion time; refused when there is neither) and the bag's volume."""
    check(actor, Action.ADMINISTER)
    administration = administration_for(actor, administration_id, lock=True)
    if administration.status != AdministrationStatus.VERIFIED:
        raise Conflict("The pump is programmed before the infusion starts.", code="WRONG_STATE")
    pump = Pump.objects.filter(serial=pump_serial.strip(), active=True, site__in=actor.site_ids()).first()
    if pump is None:
        raise NotFound(f"No pump with serial {pump_serial!r} is in service at your sites.", code="UNKNOWN_PUMP")
    preparation = administration.dispense.preparation
    rules.check_program(Decimal(rate_ml_h), prescription.required_rate(preparation))
    volume = prescription.bag_volume_ml(preparation)
    if volume and not _within(Decimal(volume_ml), volume, rules.PUMP_TOLERANCE_PCT):
        raise rules.BedsideRefusal(
            f"Volume to be infused {format_decimal(Decimal(volume_ml))} mL does not match the bag's "
            f"{format_decimal(volume)} mL (±{rules.PUMP_TOLERANCE_PCT} %). Reprogram the pump.",
            code="RATE_MISMATCH",
        )
    administration.pump, administration.rate_ml_h, administration.volume_ml = pump, rate_ml_h, volume_ml
    administration.duration_minutes = duration_minutes
    administration.save(update_fields=["pump", "rate_ml_h", "volume_ml", "duration_minutes"])
    record(
        "administration:infusion:programmed",
        actor=actor,
        entity=administration,
        site=administration.order.site,
        patient_id=administration.patient_id,
        after={"pump": pump.serial, "rate_ml_h": str(rate_ml_h), "volume_ml": str(volume_ml)},
    )
    return administration


@audited("administration:infusion:start", site_of=_near_miss_site, keep=_keep_near_miss, keep_when=rules.BedsideRefusal)
def start_administration(administration_id: int, *, actor: User) -> Administration:
    """Start the checked dose: an infusion only with its pump program recorded, never after the
    bag's BUD (even one scanned before it), and only while the verified order and the checked
    preparation are as they were signed."""
    check(actor, Action.ADMINISTER)
    administration = administration_for(actor, administration_id, lock=True)
    if administration.status != AdministrationStatus.VERIFIED:
        raise Conflict("This infusion has already started.", code="WRONG_STATE")
    order, preparation = administration.order, administration.dispense.preparation
    if prescription.is_infused(order) and administration.pump_id is None:
        raise rules.BedsideRefusal(
            "Program the pump (and have it checked against the prescribed rate) before starting.",
            code="PUMP_NOT_PROGRAMMED",
        )
    now = timezone.now()
    rules.check_bud_at_start(preparation.bud, now=now, clock=order.site.clock)
    prescription.check_signatures(preparation)
    administration.status, administration.started_at = AdministrationStatus.INFUSING, now
    administration.save(update_fields=["status", "started_at"])
    advance_order(order, OrderStatus.ADMINISTERING, actor=actor)
    record(
        "administration:infusion:started",
        actor=actor,
        entity=administration,
        site=order.site,
        patient_id=administration.patient_id,
    )
    return administration


def _running(administration: Administration) -> None:
    if administration.status not in (AdministrationStatus.INFUSING, AdministrationStatus.PAUSED):
        raise Conflict("The infusion is not running.", code="WRONG_STATE")


@audited("administration:infusion:rate", site_of=_near_miss_site, keep=_keep_near_miss, keep_when=rules.BedsideRefusal)
def change_rate(administration_id: int, *, actor: User, rate_ml_h: Decimal, reason: str) -> RateChange:
    """A titration step, a slow-down for a reaction, a pause (0 mL/h) or a resume: each checked
    against the prescription like the first program (±5 %; down to half the rate to slow down)."""
    check(actor, Action.ADMINISTER)
    administration = administration_for(actor, administration_id, lock=True)
    _running(administration)
    if not reason.strip():
        raise InvalidInput("Say why the rate changes (titration step, reaction, pause).", code="REASON_REQUIRED")
    rate = Decimal(rate_ml_h)
    if rate < 0:
        raise InvalidInput(f"{rate} mL/h is not a rate a pump runs at.", code="INVALID_INPUT")
    current = None if administration.status == AdministrationStatus.PAUSED else administration.rate_ml_h
    rules.check_rate_change(rate, prescription.required_rate(administration.dispense.preparation), current_ml_h=current)
    change = RateChange.objects.create(
        administration=administration, rate_ml_h=rate, reason=reason, by=actor, at=timezone.now()
    )
    administration.status = AdministrationStatus.PAUSED if rate == 0 else AdministrationStatus.INFUSING
    administration.rate_ml_h = rate if rate else administration.rate_ml_h
    administration.save(update_fields=["status", "rate_ml_h"])
    record(
        "administration:infusion:rate_changed",
        actor=actor,
        entity=administration,
        site=administration.order.site,
        patient_id=administration.patient_id,
        after={"rate_ml_h": str(rate)},
        reason=reason,
    )
    return change


VITAL_LIMITS: Final[dict[str, tuple[Decimal, Decimal]]] = {
    "systolic": (Decimal(40), Decimal(300)),
    "diastolic": (Decimal(20), Decimal(200)),
    "heart_rate": (Decimal(20), Decimal(250)),
    "temperature_c": (Decimal(30), Decimal(43)),
    "spo2": (Decimal(50), Decimal(100)),
    "respiratory_rate": (Decimal(4), Decimal(60)),
}


@audited("administration:infusion:vitals", site_of=_near_miss_site)
def record_vitals(administration_id: int, *, actor: User, **values: Decimal | int | str) -> Vitals:
    """Blood pressure, heart rate, temperature (°C: a °F value is refused), SpO2, respiratory rate."""
    check(actor, Action.ADMINISTER)
    administration = administration_for(actor, administration_id)
    if administration.status == AdministrationStatus.ENDED:
        raise Conflict("The infusion has ended.", code="WRONG_STATE")
    clean: dict[str, Decimal] = {}
    for name, (low, high) in VITAL_LIMITS.items():
        try:
            value = Decimal(str(values[name]))
        except (KeyError, InvalidOperation):
            raise InvalidInput(f"Give {name.replace('_', ' ')} as a number.", code="INVALID_INPUT") from None
        if not low <= value <= high:
            hint = " (temperature is in °C, not °F)" if name == "temperature_c" and value > 90 else ""
            raise InvalidInput(
                f"{name.replace('_', ' ').capitalize()} {value} is not possible{hint}; check it.",
                code="IMPLAUSIBLE_VITALS",
            )
        clean[name] = value
    vitals = Vitals.objects.create(
        administration=administration,
        systolic=int(clean["systolic"]),
        diastolic=int(clean["diastolic"]),
        heart_rate=int(clean["heart_rate"]),
        temperature_c=clean["temperature_c"],
        spo2=int(clean["spo2"]),
        respiratory_rate=int(clean["respiratory_rate"]),
        by=actor,
        at=timezone.now(),
    )
    record(
        "administration:infusion:vitals_recorded",
        actor=actor,
        entity=administration,
        site=administration.order.site,
        patient_id=administration.patient_id,
        after={k: str(v) for k, v in clean.items()},
    )
    return vitals


@audited("administration:infusion:reaction", site_of=_near_miss_site)
def record_reaction(
    administration_id: int,
    *,
    actor: User,
    grade: int,
    symptoms: str,
    actions: str = "",
    medicines_given: str = "",
    outcome: str = "",
    extravasation: bool = False,
) -> Reaction:
    """An infusion reaction (CTCAE v5 grade 1–5) or an extravasation, with what was done."""
    check(actor, Action.ADMINISTER)
    administration = administration_for(actor, administration_id)
    if not 1 <= int(grade) <= 5:
        raise InvalidInput("CTCAE grades run from 1 to 5.", code="INVALID_INPUT")
    if not symptoms.strip():
        raise InvalidInput("Describe the symptoms.", code="MISSING_FIELD")
    reaction = Reaction.objects.create(
        administration=administration,
        grade=int(grade),
        symptoms=symptoms,
        actions=actions,
        medicines_given=medicines_given,
        outcome=outcome,
        extravasation=extravasation,
        by=actor,
        at=timezone.now(),
    )
    record(
        "administration:infusion:reaction_recorded",
        actor=actor,
        entity=administration,
        site=administration.order.site,
        patient_id=administration.patient_id,
        after={"grade": int(grade), "symptoms": symptoms, "extravasation": extravasation},
    )
    return reaction


def _believable_end(administration: Administration, ended: dt.datetime, now: dt.datetime, infused: Decimal) -> None:
    """Refuse an end time before the start, in the future, or sooner than the volume could run in
    at the fastest rate the pump was set to (±5 %): a slip of the clock, not a real infusion."""
    site = administration.order.site
    started = administration.started_at
    assert started is not None  # a running infusion has started
    if timezone.is_naive(ended):
        raise InvalidInput("Give the end time with its zone (e.g. 2026-06-09T11:45-04:00).", code="INVALID_INPUT")
    if ended > now or ended < started:
        raise InvalidInput(
            f"The end time {site.clock(ended)} is not between the start ({site.clock(started)}) and now. "
            "Give the time the infusion really ended.",
            code="END_TIME_IMPLAUSIBLE",
        )
    rates = [administration.rate_ml_h, *administration.rate_changes.values_list("rate_ml_h", flat=True)]
    plan_rate = administration.dispense.preparation.plan.get("rate_ml_h")
    fastest = max([Decimal(r) for r in [*rates, plan_rate] if r], default=None)
    if fastest is None or infused <= 0:
        return  # a push or a drip without a set rate: no rate to judge by
    minutes = Decimal((ended - started).total_seconds()) / 60
    shortest = infused / (fastest * (1 + rules.PUMP_TOLERANCE_PCT / 100)) * 60
    if minutes < shortest:
        raise InvalidInput(
            f"{format_decimal(infused)} mL cannot run in {format_decimal(round_half_up(minutes, 0))} min at "
            f"{format_decimal(fastest)} mL/h: it takes at least {format_decimal(round_half_up(shortest, 0))} min. "
            "Give the time the infusion really ended.",
            code="END_TIME_IMPLAUSIBLE",
            details={"shortest_minutes": str(round_half_up(shortest, 0))},
        )


@audited("administration:infusion:end", site_of=_near_miss_site)
def end_administration(
    administration_id: int,
    *,
    actor: User,
    volume_infused_ml: Decimal,
    reason: str = "",
    waste_disposal: str = "",
    ended_at: dt.datetime | None = None,
) -> Administration:
    """Stop and record what was really given; less than 95 % of the bag is a partial dose (reason
    needed); a hazardous drug's remains need their disposal recorded. ``ended_at`` is the real end
    when it is recorded afterwards (now by default): between the start and now, and no sooner than
    the fastest rate the pump ran at allows for the volume."""
    check(actor, Action.ADMINISTER)
    administration = administration_for(actor, administration_id, lock=True)
    _running(administration)
    now = timezone.now()
    ended = now if ended_at is None else ended_at
    _believable_end(administration, ended, now, Decimal(volume_infused_ml))
    preparation = administration.dispense.preparation
    final = Decimal(preparation.plan.get("final_volume_ml") or 0)
    infused = Decimal(volume_infused_ml)
    if infused < 0 or (final and infused > final * Decimal("1.1")):
        raise InvalidInput(f"{infused} mL cannot have been infused from a {final} mL bag.", code="INVALID_INPUT")
    fraction = min(infused / final, Decimal(1)) if final else Decimal(1)
    partial = fraction < COMPLETE_FRACTION
    if partial and not reason.strip():
        raise InvalidInput(
            "Less than the full dose was given: say why (reaction, line problem, patient choice).",
            code="REASON_REQUIRED",
        )
    if preparation.plan.get("hazardous") and not waste_disposal.strip():
        raise InvalidInput(
            "Record how the hazardous remains were disposed of (e.g. 'yellow hazardous bin').", code="DISPOSAL_REQUIRED"
        )
    order = administration.order
    amount = round_half_up(order.dose * fraction, 2)
    administration.status, administration.ended_at = AdministrationStatus.ENDED, ended
    administration.volume_infused_ml, administration.amount_given = infused, amount
    administration.partial, administration.end_reason, administration.waste_disposal = partial, reason, waste_disposal
    administration.save(
        update_fields=[
            "status",
            "ended_at",
            "volume_infused_ml",
            "amount_given",
            "partial",
            "end_reason",
            "waste_disposal",
        ]
    )
    dispense = administration.dispense
    dispense.status = DispenseStatus.ADMINISTERED
    dispense.save(update_fields=["status"])
    order.given_dose = amount
    order.save(update_fields=["given_dose"])
    advance_order(
        order, OrderStatus.ADMINISTERED, actor=actor, reason=f"partial dose: {reason}" if partial else "given in full"
    )
    record(
        "administration:infusion:ended",
        actor=actor,
        entity=administration,
        site=administration.order.site,
        patient_id=administration.patient_id,
        after={
            "amount_given": f"{format_decimal(amount)} {order.dose_unit}",
            "partial": partial,
            "volume_infused_ml": str(infused),
        },
        reason=reason,
    )
    return administration
