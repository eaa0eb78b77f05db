"""Treatment plans: a regimen becomes cycles × draft orders with every dose calculated from the
patient's current height and weight (Mosteller BSA, Mosteller RD, N Engl J Med 1987;317:1098),
kept beside its inputs, planned in the site's own time; a dose modification recalculates the
orders not yet verified from its cycle on and carries forward; no weight, no plan."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from tests.clock import site_today
from tests.integration.orders.conftest import (
    BSA_M2,
    PASSWORD,
    SITE_ZONE,
    chart,
    plan_order,
    post,
    start_plan,
    submitted,
)

from openinfusion.audit.models import AuditEvent
from openinfusion.errors import DomainError
from openinfusion.orders.models import DoseModification, Order, OrderStatus, TreatmentPlan
from openinfusion.orders.services import modify_dose, verify_order

pytestmark = pytest.mark.django_db

MFOLFOX6_DAY_1 = ["ondansetron", "dexamethasone", "oxaliplatin", "leucovorin", "fluorouracil", "fluorouracil"]


def test_a_plan_writes_every_cycle_day_as_draft_orders(patient, prescriber, client_for):
    response = post(
        client_for(prescriber),
        "/api/v1/plans",
        {
            "patient_id": patient.pk,
            "regimen": "mfolfox6",
            "start_date": site_today(SITE_ZONE).isoformat(),
            "cycles": 3,
            "indication_code": "c18.7",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert len(body["orders"]) == 3 * len(MFOLFOX6_DAY_1)
    for cycle in (1, 2, 3):
        drugs = [o["drug"] for o in body["orders"] if o["cycle"] == cycle]
        assert drugs == MFOLFOX6_DAY_1
    assert {o["status"] for o in body["orders"]} == {"draft"}
    plan = TreatmentPlan.objects.get(pk=body["id"])
    assert (plan.indication_code, plan.plan_weight_kg, plan.plan_height_cm) == ("C18.7", 68, 172)
    event = AuditEvent.objects.get(action="orders:plan:created")
    assert event.after["orders"] == 18 and event.actor == prescriber


def test_doses_are_the_basis_times_the_mosteller_bsa_with_the_inputs_kept(plan):
    """√(172 cm × 68 kg / 3600) = 1.80 m²: oxaliplatin 85 mg/m² → 153 mg, leucovorin 400 mg/m² → 720 mg,
    infusional fluorouracil 2400 mg/m² → 4320 mg; flat premedications stay as written."""
    expected = {
        ("oxaliplatin", 3): Decimal(85) * BSA_M2,
        ("leucovorin", 4): Decimal(400) * BSA_M2,
        ("fluorouracil", 5): Decimal(400) * BSA_M2,
        ("fluorouracil", 6): Decimal(2400) * BSA_M2,
        ("ondansetron", 1): Decimal(8),
        ("dexamethasone", 2): Decimal(8),
    }
    for order in Order.objects.filter(plan=plan, cycle=1).select_related("drug"):
        assert order.dose == expected[(order.drug.key, order.sequence)], order
        assert order.dose_unit == "mg" and order.calculated_dose == order.dose
    oxaliplatin = plan_order(plan)
    assert oxaliplatin.dose == Decimal(153)
    assert oxaliplatin.calculation_inputs == {
        "basis": "85 mg/m²",
        "weight": "68 kg",
        "height": "172 cm",
        "bsa_m2": "1.8",
        "bsa_formula": "mosteller",
        "calculated": "153 mg",
    }


def test_planned_starts_are_in_site_time_and_follow_each_other(plan):
    """09:00 on the site's clock (Chicago), not UTC, every cycle (across a DST change too); each drug
    starts when the one before it ends (a push counts 15 minutes)."""
    zone = ZoneInfo(SITE_ZONE)
    for cycle in (1, 2, 3):
        orders = list(Order.objects.filter(plan=plan, cycle=cycle).order_by("sequence"))
        local = [o.planned_start.astimezone(zone) for o in orders]
        assert local[0].date() == plan.start_date + dt.timedelta(days=14 * (cycle - 1))
        assert [t.strftime("%H:%M") for t in local] == ["09:00", "09:15", "09:30", "11:30", "13:30", "13:45"]
    assert plan_order(plan, "ondansetron").planned_start.astimezone(dt.UTC).hour != 9


def test_a_dose_reduction_recalculates_only_unverified_orders_from_its_cycle_on(plan, prescriber, pharmacist):
    """Oxaliplatin −20 % from cycle 2 (e.g. grade 2 persistent neuropathy): cycle 1 stays 153 mg;
    a cycle-2 order already verified is not rewritten behind the pharmacist's signature; cycle 3
    becomes 153 × 0.8 = 122.4 mg, and so does every later order (carried forward)."""
    cycle_2 = submitted(plan_order(plan, cycle=2), prescriber)
    verify_order(
        cycle_2.pk,
        actor=pharmacist,
        expected_version=cycle_2.version,
        password=PASSWORD,
        overrides={"LAB_MISSING": "labs will be drawn the day before cycle 2"},
    )
    modify_dose(
        plan.pk, actor=prescriber, drug_key="oxaliplatin", percent=Decimal(20), from_cycle=2, reason="neuropathy"
    )

    assert plan_order(plan, cycle=1).dose == Decimal(153)
    verified = plan_order(plan, cycle=2)
    assert (verified.status, verified.dose, verified.reduction_pct) == (OrderStatus.VERIFIED, Decimal(153), 0)
    reduced = plan_order(plan, cycle=3)
    assert (reduced.dose, reduced.reduction_pct) == (Decimal("122.4"), Decimal(20))
    assert reduced.calculation_inputs["reduction"] == "20 %"
    assert reduced.calculation_inputs["calculated"] == "122.4 mg"
    assert reduced.version == 2
    assert plan_order(plan, "leucovorin", cycle=3).dose == Decimal(720)  # other drugs untouched

    amended = AuditEvent.objects.get(action="orders:order:amended", entity_id=str(reduced.pk))
    assert (amended.before["dose"], amended.after["dose"]) == ("153 mg", "122.4 mg")
    assert amended.reason == "dose modification: neuropathy"
    event = AuditEvent.objects.get(action="orders:plan:dose_modified")
    assert event.after["orders"] == [reduced.pk]
    assert DoseModification.objects.get().from_cycle == 2


def test_a_reduction_carries_forward_to_cycles_after_it(patient, prescriber):
    plan = start_plan(prescriber, patient, cycles=4)
    modify_dose(plan.pk, actor=prescriber, drug_key="oxaliplatin", percent=Decimal(25), from_cycle=2, reason="ANC")
    modify_dose(plan.pk, actor=prescriber, drug_key="oxaliplatin", percent=Decimal(0), from_cycle=4, reason="back")
    doses = [plan_order(plan, cycle=c).dose for c in (1, 2, 3, 4)]
    assert doses == [Decimal(153), Decimal("114.75"), Decimal("114.75"), Decimal(153)]


def test_a_dose_modification_needs_a_reason(plan, prescriber):
    with pytest.raises(DomainError) as refused:
        modify_dose(plan.pk, actor=prescriber, drug_key="oxaliplatin", percent=Decimal(20), from_cycle=2, reason=" ")
    assert refused.value.code == "REASON_REQUIRED"
    assert not DoseModification.objects.exists()
    assert plan_order(plan, cycle=2).dose == Decimal(153)


def test_a_plan_without_a_weight_is_refused_and_nothing_is_created(library, prescriber, site, client_for):
    patient = chart(prescriber, site, weight=None)
    response = post(
        client_for(prescriber),
        "/api/v1/plans",
        {
            "patient_id": patient.pk,
            "regimen": "mfolfox6",
            "start_date": site_today(SITE_ZONE).isoformat(),
            "cycles": 2,
            "indication_code": "C18.7",
        },
    )
    assert response.status_code == 422
    assert response.json()["code"] == "MEASUREMENT_MISSING"
    assert "cannot be calculated: No weight is recorded" in response.json()["message"]
    assert not TreatmentPlan.objects.exists() and not Order.objects.exists()
    refused = AuditEvent.objects.get(action="orders:plan:create", outcome="refused")
    assert refused.reason.startswith("MEASUREMENT_MISSING") and refused.actor == prescriber


def test_only_a_prescriber_may_start_a_plan(patient, pharmacist, client_for):
    response = post(
        client_for(pharmacist),
        "/api/v1/plans",
        {
            "patient_id": patient.pk,
            "regimen": "mfolfox6",
            "start_date": "2030-01-07",
            "cycles": 1,
            "indication_code": "C18",
        },
    )
    assert response.status_code == 403
    assert not TreatmentPlan.objects.exists()
