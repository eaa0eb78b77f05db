"""Orders and treatment plans: one function per transition, one transaction, one audit event.

Who may do what is checked twice: the action by role (``check``), and separation of duties here
(a prescriber never verifies their own order). A transition not in ``TRANSITIONS`` is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Final, TypeVar

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import SignatureMeaning, Site, User
from openinfusion.accounts.permissions import Action
from openinfusion.accounts.signatures import sign
from openinfusion.audit.models import AuditEvent
from openinfusion.audit.services import audited, record, site_from
from openinfusion.clinical.plausible_dates import ORDER_PLANNED_START, PLAN_START, refuse_implausible
from openinfusion.clinical.units import parse_dose
from openinfusion.concurrency import save_versioned
from openinfusion.errors import Conflict, InvalidInput, NotAllowed, NotFound, StaleEdit
from openinfusion.formulary.models import Drug
from openinfusion.orders import facts, rules
from openinfusion.orders.models import (
    TRANSITIONS,
    AllergyException,
    DoseModification,
    ExceptionKind,
    Order,
    OrderStatus,
    Override,
    Regimen,
    TreatmentPlan,
)
from openinfusion.paging import QUEUE_PAGE, Page, page_of
from openinfusion.patients.models import MeasurementKind, Patient
from openinfusion.patients.services import current_measurement, patient_for

FIRST_DOSE_AT = dt.time(9, 0)
"""Plan orders start at 09:00 site time on their day; each drug follows the one before it."""


def order_for(actor: User, order_id: int, *, lock: bool = False) -> Order:
    orders = Order.objects.select_related("patient__site", "drug", "diluent", "plan__regimen", "prescriber")
    if lock:
        orders = orders.select_for_update(of=("self",))
    order = orders.filter(pk=order_id, site__in=actor.site_ids()).first()
    if order is None:
        raise NotFound("No such order at your sites.", code="UNKNOWN_ORDER")
    return order


def snapshot(order: Order) -> dict[str, Any]:
    """What a signature binds and what the audit trail compares: the clinical content of the order."""
    return {
        "order": order.pk,
        "version": order.version,
        "patient": order.patient_id,
        "drug": order.drug.key,
        "dose": order.dose_text,
        "basis": order.basis_text,
        "reduction_pct": str(order.reduction_pct),
        "route": order.route,
        "diluent": order.diluent.key if order.diluent else None,
        "volume_ml": None if order.volume_ml is None else str(order.volume_ml),
        "duration_minutes": order.duration_minutes,
        "planned_start": order.planned_start.isoformat(),
        "status": order.status,
    }


def signed_content(order: Order) -> dict[str, Any]:
    """What the pharmacist's signature binds: the clinical content, not the status or the version
    that the signing itself changes, so ``signature_matches`` can later tell whether the order
    was changed after it was verified."""
    content = snapshot(order)
    del content["status"], content["version"]
    return content


def review(order: Order, now: dt.datetime | None = None) -> rules.Review:
    """Decision support for an order as it stands (saved or not) at ``now``; saves nothing."""
    return rules.check(facts.order_facts(order, now))


# --- plans ------------------------------------------------------------------------------------------


def _site_start(day: dt.date, site: Site, first_dose_at: dt.time, minutes_after: int) -> dt.datetime:
    """The day's first dose at ``first_dose_at`` on the site's clock, the next ones after it."""
    return site.moment(day, first_dose_at) + dt.timedelta(minutes=minutes_after)


@audited("orders:plan:create", site_of=site_from(Patient))
def create_treatment_plan(
    patient_id: int,
    *,
    actor: User,
    regimen_key: str,
    start_date: dt.date,
    cycles: int,
    indication_code: str,
    bsa_formula: str = "mosteller",
    weight_basis: str = "actual",
    first_dose_at: dt.time = FIRST_DOSE_AT,
) -> TreatmentPlan:
    """Put a patient on a regimen and write the draft orders of every cycle day, doses calculated
    from the current height, weight and creatinine (checked again at verification). Each treatment
    day's first dose is planned at ``first_dose_at`` on the site's clock, the rest one after another."""
    check(actor, Action.WRITE_ORDERS)
    patient = patient_for(actor, patient_id)
    now = timezone.now()
    refuse_implausible(start_date, PLAN_START, now=now, zone=patient.site.zone)
    regimen = Regimen.objects.filter(key=regimen_key).first()
    if regimen is None:
        raise NotFound(f"No regimen {regimen_key!r} in the library.", code="UNKNOWN_REGIMEN")
    if not 1 <= cycles <= 52:
        raise InvalidInput("Give between 1 and 52 cycles.", code="INVALID_INPUT")
    weight = current_measurement(patient, MeasurementKind.WEIGHT)
    height = current_measurement(patient, MeasurementKind.HEIGHT)
    plan = TreatmentPlan.objects.create(
        patient=patient,
        regimen=regimen,
        start_date=start_date,
        cycles=cycles,
        bsa_formula=bsa_formula,
        weight_basis=weight_basis,
        plan_weight_kg=weight.value if weight else None,
        plan_height_cm=height.value if height else None,
        indication_code=indication_code.strip().upper(),
        prescriber=actor,
        created_at=now,
    )
    drugs = {d.key: d for d in Drug.objects.all()}
    for cycle in range(1, cycles + 1):
        for day in regimen.days:
            date = start_date + dt.timedelta(days=(cycle - 1) * regimen.cycle_days + int(day["day"]) - 1)
            offset = 0
            for line in sorted(day["drugs"], key=lambda x: x["sequence"]):
                start = _site_start(date, patient.site, first_dose_at, offset)
                order = _plan_order(plan, cycle, int(day["day"]), line, drugs, start, now)
                offset += int(line.get("duration_minutes") or 15)
                order.save()
    record(
        "orders:plan:created",
        actor=actor,
        entity=plan,
        site=patient.site,
        patient_id=patient.pk,
        after={
            "regimen": regimen.key,
            "cycles": cycles,
            "start": start_date.isoformat(),
            "orders": plan.orders.count(),
        },
    )
    return plan


def _plan_order(
    plan: TreatmentPlan,
    cycle: int,
    day: int,
    line: dict[str, Any],
    drugs: dict[str, Drug],
    start: dt.datetime,
    now: dt.datetime,
) -> Order:
    cap = line.get("max_dose") or {}
    order = Order(
        site=plan.patient.site,
        patient=plan.patient,
        plan=plan,
        cycle=cycle,
        day=day,
        sequence=line["sequence"],
        role=line.get("role", "treatment"),
        drug=drugs[line["drug"]],
        dose=Decimal(0),
        dose_unit="mg",
        basis_value=Decimal(str(line["dose"]["value"])),
        basis_unit=line["dose"]["basis"],
        max_dose=Decimal(str(cap["value"])) if cap else None,
        max_dose_unit=cap.get("unit", ""),
        route=line["route"],
        diluent=drugs.get(line.get("diluent") or ""),
        volume_ml=Decimal(str(line["volume_ml"])) if line.get("volume_ml") else None,
        duration_minutes=line.get("duration_minutes"),
        planned_start=start,
        prescriber=plan.prescriber,
        indication_code=plan.indication_code,
        status=OrderStatus.DRAFT,
        note=line.get("note", ""),
        created_at=now,
    )
    _apply_calculation(order, now)
    return order


def _apply_calculation(order: Order, now: dt.datetime | None = None) -> None:
    """Set the ordered dose to what the basis gives now, with every input kept beside it."""
    order.reduction_pct = _reduction_for(order)
    result = rules.check(facts.order_facts(order, now))
    calculation = result.calculation
    if calculation.dose is None:
        measured = (rules.Code.MEASUREMENT_MISSING, rules.Code.IMPLAUSIBLE_MEASUREMENT, rules.Code.LAB_MISSING)
        why = next((f for f in result.hard_stops if f.code in measured), None)
        raise InvalidInput(
            f"The dose of {order.drug.display_name} ({order.basis_text}) cannot be calculated: "
            + (why.message if why else "it needs a current height and weight (and creatinine for AUC).")
            + " Record or correct them first.",
            code=why.code.value if why else "MEASUREMENT_MISSING",
        )
    order.dose, order.dose_unit = calculation.dose.value, calculation.dose.unit
    order.calculated_dose = calculation.dose.value
    order.calculation_inputs = calculation.inputs


def _reduction_for(order: Order) -> Decimal:
    if order.plan_id is None or order.cycle is None:
        return order.reduction_pct
    latest = (
        DoseModification.objects.filter(plan_id=order.plan_id, drug=order.drug, from_cycle__lte=order.cycle)
        .order_by("-from_cycle", "-at")
        .first()
    )
    return latest.percent if latest else Decimal(0)


@audited("orders:plan:modify_dose", site_of=site_from(TreatmentPlan, "patient__site"))
def modify_dose(
    plan_id: int, *, actor: User, drug_key: str, percent: Decimal, from_cycle: int, reason: str
) -> DoseModification:
    """Reduce one drug by ``percent`` from ``from_cycle`` on; orders not yet verified are recalculated."""
    check(actor, Action.WRITE_ORDERS)
    plan = (
        TreatmentPlan.objects.select_related("patient__site")
        .filter(pk=plan_id, patient__site__in=actor.site_ids())
        .first()
    )
    if plan is None:
        raise NotFound("No such treatment plan at your sites.", code="UNKNOWN_PLAN")
    if not reason.strip():
        raise InvalidInput("Say why the dose is modified (e.g. grade 3 neuropathy).", code="REASON_REQUIRED")
    if not 1 <= from_cycle <= plan.cycles:
        raise InvalidInput(
            f"The plan has cycles 1 to {plan.cycles}; {from_cycle} is not one of them.", code="INVALID_INPUT"
        )
    if not Decimal(0) <= percent < 100:
        raise InvalidInput("A reduction is 0 (back to full dose) to less than 100 %.", code="INVALID_INPUT")
    drug = Drug.objects.filter(key=drug_key).first()
    if drug is None or not plan.orders.filter(drug=drug).exists():
        raise NotFound(f"{drug_key} is not part of this plan.", code="UNKNOWN_DRUG")
    modification = DoseModification.objects.create(
        plan=plan, drug=drug, percent=percent, from_cycle=from_cycle, reason=reason.strip(), by=actor, at=timezone.now()
    )
    changed = []
    editable = (OrderStatus.DRAFT, OrderStatus.RETURNED, OrderStatus.SUBMITTED, OrderStatus.ON_HOLD)
    for order in plan.orders.select_for_update().filter(drug=drug, cycle__gte=from_cycle, status__in=editable):
        before = snapshot(order)
        _apply_calculation(order)
        save_versioned(
            order,
            expected_version=order.version,
            fields=["dose", "dose_unit", "reduction_pct", "calculated_dose", "calculation_inputs"],
        )
        record(
            "orders:order:amended",
            actor=actor,
            entity=order,
            site=plan.patient.site,
            patient_id=plan.patient_id,
            before=before,
            after=snapshot(order),
            reason=f"dose modification: {reason}",
        )
        changed.append(order.pk)
    record(
        "orders:plan:dose_modified",
        actor=actor,
        entity=plan,
        site=plan.patient.site,
        patient_id=plan.patient_id,
        after={"drug": drug_key, "percent": str(percent), "from_cycle": from_cycle, "orders": changed},
        reason=reason,
    )
    return modification


# --- orders -----------------------------------------------------------------------------------------


@audited("orders:order:create", site_of=site_from(Patient))
def create_order(
    patient_id: int,
    *,
    actor: User,
    drug_key: str,
    dose: str,
    route: str,
    planned_start: dt.datetime,
    diluent_key: str | None = None,
    volume_ml: Decimal | None = None,
    duration_minutes: int | None = None,
    indication_code: str = "",
    priority: int = 3,
    note: str = "",
    send: bool = False,
) -> Order:
    """A stand-alone order (antibiotic, iron, hydration...). ``dose`` is a flat amount ("1 g") or a
    basis ("15 mg/kg"), which is calculated with the current weight and kept beside the dose.
    ``send`` submits it for verification in the same transaction (otherwise it stays a draft)."""
    check(actor, Action.WRITE_ORDERS)
    order = proposed_order(
        patient_for(actor, patient_id),
        actor=actor,
        drug_key=drug_key,
        dose=dose,
        route=route,
        planned_start=planned_start,
        diluent_key=diluent_key,
        volume_ml=volume_ml,
        duration_minutes=duration_minutes,
        indication_code=indication_code,
        priority=priority,
        note=note,
    )
    order.save()
    record(
        "orders:order:created",
        actor=actor,
        entity=order,
        site=order.site,
        patient_id=order.patient_id,
        after=snapshot(order),
    )
    if send:
        _move(order, OrderStatus.SUBMITTED, actor=actor, expected_version=order.version)
    return order


def proposed_order(
    patient: Patient,
    *,
    actor: User,
    drug_key: str,
    dose: str,
    route: str,
    planned_start: dt.datetime,
    diluent_key: str | None = None,
    volume_ml: Decimal | None = None,
    duration_minutes: int | None = None,
    indication_code: str = "",
    priority: int = 3,
    note: str = "",
) -> Order:
    """An unsaved order built from what a prescriber typed (``check_order`` uses it too)."""
    if not drug_key:
        raise InvalidInput("Choose the drug to order.", code="MISSING_FIELD")
    if not route.strip():
        raise InvalidInput("Give the route (IV, SC, IM...).", code="MISSING_FIELD")
    drugs = {d.key: d for d in Drug.objects.filter(key__in=[drug_key, diluent_key or ""])}
    if drug_key not in drugs:
        raise NotFound(f"{drug_key!r} is not in the formulary.", code="UNKNOWN_DRUG")
    if diluent_key and diluent_key not in drugs:
        raise NotFound(f"Diluent {diluent_key!r} is not in the formulary.", code="UNKNOWN_DRUG")
    now = timezone.now()
    refuse_implausible(planned_start, ORDER_PLANNED_START, now=now, zone=patient.site.zone)
    amount = parse_dose(dose)
    order = Order(
        site=patient.site,
        patient=patient,
        drug=drugs[drug_key],
        dose=amount.value,
        dose_unit=amount.unit,
        route=route.strip(),
        diluent=drugs.get(diluent_key or ""),
        volume_ml=_checked_volume(volume_ml),
        duration_minutes=_checked_minutes(duration_minutes),
        planned_start=planned_start,
        prescriber=actor,
        indication_code=indication_code.strip().upper(),
        priority=priority,
        note=note,
        created_at=now,
    )
    if "/" in amount.unit:
        order.basis_value, order.basis_unit = amount.value, amount.unit
        _apply_calculation(order, now)
    return order


N = TypeVar("N", int, Decimal)
MAX_VOLUME_ML: Final = Decimal(5000)
MAX_INFUSION_MINUTES: Final = 7 * 24 * 60


def _checked_volume(volume_ml: Decimal | None) -> Decimal | None:
    """A final volume is more than 0 mL and no more than a bag a pump can hold (5 L)."""
    return _within(volume_ml, MAX_VOLUME_ML, "volume_ml", f"A volume of {volume_ml} mL", f"{MAX_VOLUME_ML} mL")


def _checked_minutes(minutes: int | None) -> int | None:
    """An infusion lasts more than 0 minutes and at most a week (a continuous ambulatory pump)."""
    limit = f"{MAX_INFUSION_MINUTES} minutes (7 days)"
    return _within(minutes, MAX_INFUSION_MINUTES, "duration_minutes", f"An infusion time of {minutes} minutes", limit)


def _within(value: N | None, most: N, field: str, what: str, limit: str) -> N | None:
    if value is not None and not 0 < value <= most:
        raise InvalidInput(
            f"{what} is not possible: give more than 0 and at most {limit}.",
            code="INVALID_INPUT",
            details={"field": field},
        )
    return value


def _stale(order: Order, expected_version: int) -> StaleEdit:
    """409 naming what changed since the version the person opened."""
    changes: list[str] = []
    events = AuditEvent.objects.filter(
        entity_type="orders.order", entity_id=str(order.pk), action="orders:order:amended"
    ).order_by("id")
    for event in events:
        before, after = event.before or {}, event.after or {}
        if int(before.get("version", 0)) >= expected_version:
            changes += [
                f"{k}: {before.get(k)} → {after.get(k)}"
                for k in after
                if k not in ("version", "status") and before.get(k) != after.get(k)
            ]
    if order.status != OrderStatus.SUBMITTED:
        changes.append(f"status is now {order.get_status_display()}")
    return StaleEdit(
        f"Order #{order.pk} changed since you opened it (version {expected_version} → {order.version}): "
        f"{'; '.join(changes) or 'see its history'}. Review the new version before acting.",
        details={"expected_version": expected_version, "current_version": order.version, "changes": changes},
    )


def _move(
    order: Order,
    to: OrderStatus,
    *,
    actor: User,
    expected_version: int,
    reason: str = "",
    fields: tuple[str, ...] = (),
    audit_action: str = "",
    signature_meaning: str = "",
) -> Order:
    if order.version != expected_version:
        raise _stale(order, expected_version)
    if to not in TRANSITIONS[order.status]:
        raise Conflict(
            f"Order #{order.pk} is {order.get_status_display().lower()}; it cannot become "
            f"{OrderStatus(to).label.lower()}.",
            code="WRONG_STATE",
        )
    before = snapshot(order)
    order.status = to
    order.status_reason = reason
    save_versioned(order, expected_version=expected_version, fields=["status", "status_reason", *fields])
    record(
        audit_action or f"orders:order:{to}",
        actor=actor,
        entity=order,
        site=order.site,
        patient_id=order.patient_id,
        before=before,
        after=snapshot(order),
        reason=reason,
        signature_meaning=signature_meaning,
    )
    return order


def advance_order(order: Order, to: OrderStatus, *, actor: User, reason: str = "") -> Order:
    """Move an order along as its preparation (or later its administration) moves, inside the
    caller's transaction; the order row is locked and must allow the move."""
    locked = Order.objects.select_for_update().get(pk=order.pk)
    order.version, order.status = locked.version, locked.status
    return _move(order, to, actor=actor, expected_version=locked.version, reason=reason)


@audited("orders:order:submit", site_of=site_from(Order))
def submit_order(order_id: int, *, actor: User, expected_version: int) -> Order:
    check(actor, Action.WRITE_ORDERS)
    order = order_for(actor, order_id, lock=True)
    return _move(order, OrderStatus.SUBMITTED, actor=actor, expected_version=expected_version)


@audited("orders:order:amend", site_of=site_from(Order))
def amend_order(
    order_id: int,
    *,
    actor: User,
    expected_version: int,
    reason: str,
    dose: str | None = None,
    route: str | None = None,
    diluent_key: str | None = None,
    volume_ml: Decimal | None = None,
    duration_minutes: int | None = None,
    planned_start: dt.datetime | None = None,
) -> Order:
    """The prescriber corrects a draft or returned order; it goes back to the pharmacist on submit."""
    check(actor, Action.WRITE_ORDERS)
    order = order_for(actor, order_id, lock=True)
    if order.version != expected_version:
        raise _stale(order, expected_version)
    if order.status not in (OrderStatus.DRAFT, OrderStatus.RETURNED):
        raise Conflict(
            "Only a draft or returned order can be changed; cancel it and write a new one.", code="WRONG_STATE"
        )
    if not reason.strip():
        raise InvalidInput("Say what the change corrects.", code="REASON_REQUIRED")
    before = snapshot(order)
    if dose:
        amount = parse_dose(dose)
        if "/" in amount.unit:
            order.basis_value, order.basis_unit = amount.value, amount.unit
            _apply_calculation(order)
        else:
            order.dose, order.dose_unit = amount.value, amount.unit
    if route:
        order.route = route.strip()
    if diluent_key:
        diluent = Drug.objects.filter(key=diluent_key).first()
        if diluent is None:
            raise NotFound(f"Diluent {diluent_key!r} is not in the formulary.", code="UNKNOWN_DRUG")
        order.diluent = diluent
    if volume_ml is not None:
        order.volume_ml = _checked_volume(volume_ml)
    if duration_minutes is not None:
        order.duration_minutes = _checked_minutes(duration_minutes)
    if planned_start is not None:
        refuse_implausible(planned_start, ORDER_PLANNED_START, now=timezone.now(), zone=order.site.zone)
        order.planned_start = planned_start
    save_versioned(
        order,
        expected_version=expected_version,
        fields=[
            "dose",
            "dose_unit",
            "basis_value",
            "basis_unit",
            "calculated_dose",
            "calculation_inputs",
            "reduction_pct",
            "route",
            "diluent",
            "volume_ml",
            "duration_minutes",
            "planned_start",
        ],
    )
    record(
        "orders:order:amended",
        actor=actor,
        entity=order,
        site=order.site,
        patient_id=order.patient_id,
        before=before,
        after=snapshot(order),
        reason=reason,
    )
    return order


@audited("orders:order:verify", site_of=site_from(Order))
def verify_order(
    order_id: int,
    *,
    actor: User,
    expected_version: int,
    password: str,
    overrides: dict[str, str] | None = None,
    signer_username: str | None = None,
    continuous_session: bool = True,
) -> Order:
    """The pharmacist's clinical verification: no hard stop left, a reason for every warning, the
    prescriber is someone else, and an electronic signature bound to the order's content."""
    check(actor, Action.VERIFY_ORDERS)
    now = timezone.now()
    order = order_for(actor, order_id, lock=True)
    if order.prescriber_id == actor.pk:
        raise NotAllowed("You wrote this order, so another pharmacist must verify it.", code="SAME_PERSON")
    if order.allergy_exceptions.filter(by=actor).exists():
        raise NotAllowed(
            "You documented the allergy exception on this order, so another pharmacist must verify it.",
            code="SAME_PERSON",
        )
    if order.version != expected_version:
        raise _stale(order, expected_version)
    if order.status not in (OrderStatus.SUBMITTED, OrderStatus.ON_HOLD):
        raise Conflict(
            f"Order #{order.pk} is {order.get_status_display().lower()}; only a submitted or held order is verified.",
            code="WRONG_STATE",
        )
    result = review(order, now)
    if result.hard_stops:
        raise Conflict(
            "Cannot verify: "
            + " ".join(f"[{f.code}] {f.message}" for f in result.hard_stops)
            + " Return the order to the prescriber or hold it.",
            code="HARD_STOP",
            details={"findings": [f.code for f in result.hard_stops]},
        )
    given = {code: text.strip() for code, text in (overrides or {}).items() if text and text.strip()}
    if any(len(text) > 300 for text in given.values()):
        raise InvalidInput("Keep each override reason under 300 characters.", code="INVALID_INPUT")
    missing = sorted({f.code.value for f in result.warnings} - set(given))
    if missing:
        raise InvalidInput(
            f"Give a reason to override each warning: {', '.join(missing)}.",
            code="OVERRIDE_REASON_REQUIRED",
            details={"missing": missing},
        )
    signature = sign(
        actor=actor,
        signer_username=signer_username,
        password=password,
        meaning=SignatureMeaning.VERIFIED_BY,
        entity_type="orders.order",
        entity_id=order.pk,
        content=signed_content(order),
        continuous_session=continuous_session,
    )
    for finding in result.warnings:
        Override.objects.create(
            order=order,
            code=finding.code,
            message=finding.message[:500],
            reason=given[finding.code],
            by=actor,
            at=now,
            order_version=order.version,
        )
    order.verified_by, order.verified_at, order.verification = actor, now, signature
    return _move(
        order,
        OrderStatus.VERIFIED,
        actor=actor,
        expected_version=expected_version,
        reason="; ".join(f"{code}: {text}" for code, text in sorted(given.items())),
        fields=("verified_by", "verified_at", "verification"),
        signature_meaning=SignatureMeaning.VERIFIED_BY,
    )


@audited("orders:allergy_exception:document", site_of=site_from(Order))
def document_allergy_exception(
    order_id: int, *, actor: User, expected_version: int, allergy_id: int, kind: str, note: str
) -> AllergyException:
    """The prescriber documents why this order goes ahead despite a severe allergy (a desensitisation
    protocol, or a note that the benefit outweighs the risk). Only this lowers the allergy hard stop
    to a warning, which the verifying pharmacist still has to accept with a reason."""
    check(actor, Action.WRITE_ORDERS)
    order = order_for(actor, order_id, lock=True)
    if order.version != expected_version:
        raise _stale(order, expected_version)
    if order.status not in (OrderStatus.DRAFT, OrderStatus.RETURNED, OrderStatus.SUBMITTED, OrderStatus.ON_HOLD):
        raise Conflict(
            f"Order #{order.pk} is {order.get_status_display().lower()}; an exception is documented before "
            "verification.",
            code="WRONG_STATE",
        )
    allergy = order.patient.allergies.filter(pk=allergy_id).first()
    if allergy is None:
        raise NotFound("That allergy is not on this patient's chart.", code="UNKNOWN_ALLERGY")
    if kind not in ExceptionKind.values:
        raise InvalidInput(f"Say what the exception is: {' or '.join(ExceptionKind.labels)}.", code="INVALID_INPUT")
    text = note.strip()
    if len(text) < 10:
        raise InvalidInput(
            "Write the protocol's name and steps, or why the benefit outweighs the risk (at least 10 characters).",
            code="REASON_REQUIRED",
        )
    if AllergyException.objects.filter(order=order, allergy=allergy).exists():
        raise Conflict("An exception for this allergy is already documented on this order.", code="DUPLICATE")
    now = timezone.now()
    stops = [f for f in review(order, now).hard_stops if f.numbers.get("allergy_id") == str(allergy.pk)]
    if not stops:
        raise Conflict(
            f"The allergy to {allergy.substance} does not stop this order, so no exception is needed; "
            "the pharmacist reviews any warning it gives.",
            code="NOT_NEEDED",
        )
    exception = AllergyException.objects.create(
        order=order, allergy=allergy, kind=kind, note=text[:2000], by=actor, at=now
    )
    record(
        "orders:allergy_exception:documented",
        actor=actor,
        entity=order,
        site=order.site,
        patient_id=order.patient_id,
        after={"allergy": allergy.substance, "severity": allergy.severity, "kind": kind, "note": text},
    )
    return exception


def _with_reason(reason: str, what: str) -> str:
    if not reason.strip():
        raise InvalidInput(f"Say why the order is {what}; the prescriber reads it.", code="REASON_REQUIRED")
    return reason.strip()


@audited("orders:order:return", site_of=site_from(Order))
def return_order(order_id: int, *, actor: User, expected_version: int, reason: str) -> Order:
    check(actor, Action.VERIFY_ORDERS)
    order = order_for(actor, order_id, lock=True)
    return _move(
        order,
        OrderStatus.RETURNED,
        actor=actor,
        expected_version=expected_version,
        reason=_with_reason(reason, "returned"),
    )


@audited("orders:order:hold", site_of=site_from(Order))
def hold_order(order_id: int, *, actor: User, expected_version: int, reason: str) -> Order:
    check(actor, Action.VERIFY_ORDERS)
    order = order_for(actor, order_id, lock=True)
    return _move(
        order, OrderStatus.ON_HOLD, actor=actor, expected_version=expected_version, reason=_with_reason(reason, "held")
    )


ON_CANCEL: list[Callable[[Order, User, str], None]] = []
"""Run inside the cancelling transaction; apps that act on orders (compounding) register here in
``ready()`` to stop their own work on a cancelled order."""


@audited("orders:order:cancel", site_of=site_from(Order))
def cancel_order(order_id: int, *, actor: User, expected_version: int, reason: str) -> Order:
    check(actor, Action.CANCEL_ORDERS)
    order = order_for(actor, order_id, lock=True)
    order = _move(
        order,
        OrderStatus.CANCELLED,
        actor=actor,
        expected_version=expected_version,
        reason=_with_reason(reason, "cancelled"),
    )
    for hook in ON_CANCEL:
        hook(order, actor, reason)
    return order


QUEUE_ORDER = ("planned_start", "priority", "sequence")


def awaiting_verification(actor: User) -> QuerySet[Order]:
    """Submitted and held orders at the actor's sites (index ``(status, planned_start)``)."""
    return Order.objects.filter(
        site__in=actor.site_ids(), status__in=(OrderStatus.SUBMITTED, OrderStatus.ON_HOLD)
    ).select_related("patient", "drug", "prescriber", "diluent")


def verification_queue(actor: User, *, after: int | None = None, size: int = QUEUE_PAGE) -> Page[Order]:
    """One page of the queue, earliest planned start first (then the most urgent, then the order
    within its day's sequence), after order ``after``."""
    return page_of(awaiting_verification(actor), QUEUE_ORDER, cursor=after, size=size)


def plan_orders_to_submit(plan: TreatmentPlan, cycle: int) -> list[Order]:
    return list(plan.orders.filter(cycle=cycle, status=OrderStatus.DRAFT))


@transaction.atomic
def submit_cycle(plan_id: int, *, actor: User, cycle: int) -> list[Order]:
    """Submit every draft order of one cycle (the prescriber's "sign and send" for the cycle)."""
    plan = TreatmentPlan.objects.filter(pk=plan_id, patient__site__in=actor.site_ids()).first()
    if plan is None:
        raise NotFound("No such treatment plan at your sites.", code="UNKNOWN_PLAN")
    return [submit_order(o.pk, actor=actor, expected_version=o.version) for o in plan_orders_to_submit(plan, cycle)]
