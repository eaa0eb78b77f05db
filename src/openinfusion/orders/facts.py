"""Gather what the rules need about one order (saved or proposed) from the database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils import timezone

from openinfusion.clinical import allergy, body, renal
from openinfusion.clinical.dosing import AUC_UNIT
from openinfusion.clinical.units import Quantity
from openinfusion.formulary import allergy_groups
from openinfusion.formulary.models import Drug
from openinfusion.orders import rules
from openinfusion.orders.models import ACTIVE_STATUSES, AllergyException, Order, OrderStatus, Regimen
from openinfusion.patients.models import Allergy, MeasurementKind
from openinfusion.patients.services import current_measurement, latest_labs

GIVEN_STATUSES = (
    OrderStatus.VERIFIED,
    OrderStatus.PREPARING,
    OrderStatus.PREPARED,
    OrderStatus.CHECKED,
    OrderStatus.DISPENSED,
    OrderStatus.ADMINISTERING,
    OrderStatus.ADMINISTERED,
)
"""Doses counted in cumulative totals: committed ones at their ordered dose, administered ones at
the amount actually given (``Order.given_dose``)."""


def basis_quantity(value: Decimal, basis: str) -> Quantity:
    """A regimen's dose basis as a quantity: ``AUC`` 5 is 5 mg·min/mL."""
    return Quantity(value, AUC_UNIT if basis == "AUC" else basis)


def drug_facts(drug: Drug) -> rules.DrugFacts:
    def amount(value: Decimal | None, unit: str) -> Quantity | None:
        return None if value is None or not unit else Quantity(value, unit)

    vials = tuple(
        Quantity(p.strength_amount, p.strength_unit)
        for p in drug.products.filter(active=True)
        if p.strength_unit in ("mg", "g", "mcg", "units")
    )
    return rules.DrugFacts(
        key=drug.key,
        name=drug.display_name,
        drug_class=drug.drug_class,
        routes_allowed=tuple(drug.routes_allowed),
        routes_forbidden=tuple(drug.routes_forbidden),
        max_single_dose=amount(drug.max_single_dose, drug.max_single_dose_unit),
        lifetime_limit=amount(drug.lifetime_limit, drug.lifetime_limit_unit),
        rounding_threshold_pct=drug.rounding_threshold_pct,
        compatible_diluents=tuple(drug.compatible_diluents),
        incompatible_diluents=tuple(drug.incompatible_diluents),
        concentration_min=drug.concentration_min,
        concentration_max=drug.concentration_max,
        concentration_unit=drug.concentration_unit,
        renal_adjustment=drug.renal_adjustment,
        vial_sizes=vials,
        dose_basis=drug.dose_basis,
        usual_dose=_usual_dose(drug),
        alternate_usual_doses=tuple(
            (Quantity(Decimal(r["min"]), r["unit"]), Quantity(Decimal(r["max"]), r["unit"]))
            for r in drug.alternate_usual_doses
        ),
        standard_minutes=drug.infusion_minutes_min,
        category=drug.category,
    )


def _usual_dose(drug: Drug) -> tuple[Quantity, Quantity] | None:
    if drug.usual_dose_max is None or not drug.usual_dose_unit:
        return None
    unit = AUC_UNIT if drug.usual_dose_unit == "AUC" else drug.usual_dose_unit
    low = drug.usual_dose_min if drug.usual_dose_min is not None else drug.usual_dose_max
    return Quantity(low, unit), Quantity(drug.usual_dose_max, unit)


def allowed_bases(order: Order) -> tuple[str, ...]:
    """The bases this order's dose may be written in: its regimen line's for a plan's order; else
    the drug's own and every basis the regimen library uses for it (paediatric mg/kg included)."""
    regimen = order.plan.regimen if order.plan_id and order.plan else None
    if regimen is not None:
        own = {str(line["dose"]["basis"]) for line in _lines(regimen) if line["drug"] == order.drug.key}
        if own:
            return tuple(sorted(own))
    used = {
        str(line["dose"]["basis"])
        for regimen in Regimen.objects.only("days")
        for line in _lines(regimen)
        if line["drug"] == order.drug.key
    }
    return tuple(sorted(used | {order.drug.dose_basis}))


def _lines(regimen: Regimen) -> list[dict[str, Any]]:
    return [line for day in regimen.days for line in day["drugs"]]


def _allergies(order: Order) -> tuple[allergy.Allergy, ...]:
    exceptions = (
        {e.allergy_id: e.text for e in AllergyException.objects.filter(order=order).select_related("by")}
        if order.pk
        else {}
    )
    return tuple(
        allergy.Allergy(a.substance, a.severity, a.reaction, a.pk, exceptions.get(a.pk, ""))
        for a in Allergy.objects.filter(patient=order.patient).order_by("pk")
    )


def _observed(measurement: object | None) -> rules.Observed | None:
    if measurement is None:
        return None
    return rules.Observed(measurement.quantity, measurement.taken_at)  # type: ignore[attr-defined]


def order_facts(order: Order, now: dt.datetime | None = None) -> rules.OrderFacts:
    """Everything known that bears on this order, as of ``now``."""
    patient = order.patient
    plan = order.plan
    regimen = plan.regimen if plan else None
    labs = {test: rules.LabValue(lab.value, lab.unit, lab.taken_at) for test, lab in latest_labs(patient).items()}
    basis = None if order.basis_value is None else basis_quantity(order.basis_value, order.basis_unit)
    cap = None if order.max_dose is None else Quantity(order.max_dose, order.max_dose_unit)
    return rules.OrderFacts(
        drug=drug_facts(order.drug),
        dose=order.dose_quantity,
        route=order.route,
        planned_start=order.planned_start,
        now=now or timezone.now(),
        basis=basis,
        reduction_pct=order.reduction_pct,
        max_dose=cap,
        diluent_key=order.diluent.key if order.diluent else None,
        volume_ml=order.volume_ml,
        age_years=patient.age_on(order.site.today(order.planned_start)),
        sex=body.Sex.parse(patient.sex),
        height=_observed(current_measurement(patient, MeasurementKind.HEIGHT)),
        weight=_observed(current_measurement(patient, MeasurementKind.WEIGHT)),
        plan_weight_kg=plan.plan_weight_kg if plan else None,
        bsa_formula=body.BsaFormula(plan.bsa_formula) if plan else body.BsaFormula.MOSTELLER,
        weight_basis=renal.WeightBasis(plan.weight_basis) if plan else renal.WeightBasis.ACTUAL,
        labs=labs,
        allergies=_allergies(order),
        allergy_groups=allergy_groups.table(),
        duration_minutes=order.duration_minutes,
        allowed_bases=allowed_bases(order),
        regimen_name=regimen.name if regimen else "",
        diagnoses=tuple(patient.diagnoses.values_list("code", flat=True)),
        indications=tuple(i["code"] for i in regimen.indications) if regimen else (),
        hold_rules=tuple(
            rules.HoldRule(h["lab"], h["op"], Decimal(str(h["value"])), h["unit"]) for h in regimen.hold_parameters
        )
        if regimen and order.role == "treatment"
        else (),
        required_labs=tuple(regimen.required_labs) if regimen and order.role == "treatment" else (),
        lab_max_age=dt.timedelta(days=regimen.lab_max_age_days) if regimen else dt.timedelta(days=3),
        cycle_days=regimen.cycle_days if regimen and order.day == regimen.treatment_days[0] else None,
        previous_cycle_start=_previous_cycle_start(order),
        prior_doses=_prior_doses(order),
        other_orders=_other_orders(order),
    )


def _previous_cycle_start(order: Order) -> dt.datetime | None:
    if order.plan_id is None or not order.cycle or order.cycle <= 1:
        return None
    first_day = order.plan.regimen.treatment_days[0]  # type: ignore[union-attr]
    previous = (
        Order.objects.filter(plan_id=order.plan_id, cycle=order.cycle - 1, day=first_day, drug=order.drug)
        .exclude(status=OrderStatus.CANCELLED)
        .values_list("planned_start", flat=True)
        .first()
    )
    return previous


def _prior_doses(order: Order) -> tuple[rules.PriorDose, ...]:
    prior = Order.objects.filter(patient=order.patient, drug=order.drug, status__in=GIVEN_STATUSES)
    if order.pk:
        prior = prior.exclude(pk=order.pk)
    doses = []
    for given in prior:
        bsa = given.calculation_inputs.get("bsa_m2")
        weight = given.calculation_inputs.get("weight")
        amount = given.dose_quantity if given.given_dose is None else Quantity(given.given_dose, given.dose_unit)
        doses.append(
            rules.PriorDose(
                amount,
                Decimal(bsa) if bsa else None,
                Quantity(Decimal(weight.split()[0]), weight.split()[1]) if weight else None,
            )
        )
    return tuple(doses)


def _other_orders(order: Order) -> tuple[rules.OtherOrder, ...]:
    window = rules.DUPLICATE_WINDOW
    others = Order.objects.filter(
        patient=order.patient,
        status__in=ACTIVE_STATUSES,
        planned_start__gte=order.planned_start - window,
        planned_start__lte=order.planned_start + window,
    ).select_related("drug")
    if order.pk:
        others = others.exclude(pk=order.pk)
    return tuple(
        rules.OtherOrder(
            o.pk,
            o.drug.key,
            o.drug.drug_class,
            o.planned_start,
            same_plan_day=bool(order.plan_id and o.plan_id == order.plan_id and o.cycle == order.cycle),
        )
        for o in others
    )
