"""Before anything is mixed: release for costly or hold-sensitive doses (the drug's release policy,
or a verified LAB_HOLD override), the compounder's current qualification (USP <797> sterile
compounding competency; USP <800> hazardous-drug training for a NIOSH group 1 drug), and a BUD that
reaches the time the dose is needed (USP <797> §14)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from tests.clock import site_today
from tests.integration.compounding.conftest import (
    PASSWORD,
    SITE_ZONE,
    post,
    qualify,
    refused_event,
    state,
    verified_order,
)

from openinfusion.compounding import services
from openinfusion.compounding.models import Preparation
from openinfusion.errors import DomainError
from openinfusion.orders.library import load_regimens
from openinfusion.orders.models import Order
from openinfusion.orders.services import create_order, create_treatment_plan, review, submit_order, verify_order
from openinfusion.patients.services import record_lab

pytestmark = pytest.mark.django_db

BASE = "/api/v1/compounding"


@pytest.fixture
def rituximab(patient, prescriber, pharmacist, clean_room, hazardous_room):
    """Rituximab 700 mg in 0.9 % NaCl 250 mL: a monoclonal antibody released only on demand."""
    order = verified_order(
        patient, prescriber, pharmacist, drug="rituximab", dose="700 mg", diluent="sodium-chloride-0.9"
    )
    return services.plan_preparation(order.pk, actor=pharmacist)


# --- release ------------------------------------------------------------------------------------------


def test_a_monoclonal_antibody_waits_for_release(rituximab, technician, nurse, client_for):
    assert rituximab.needs_release and not rituximab.released
    assert rituximab.room.kind == "clean_room" and rituximab.plan["hazardous"] is False
    before = state(rituximab)
    with pytest.raises(DomainError) as refused:
        services.start_preparation(rituximab.pk, actor=technician)
    assert refused.value.code == "NOT_RELEASED"
    assert state(rituximab) == before
    refused_event("compounding:preparation:start", "NOT_RELEASED")

    url = f"{BASE}/preparations/{rituximab.pk}/release"
    assert post(client_for(technician), url, {"reason": "patient arrived"}).status_code == 403
    assert post(client_for(nurse), url, {"reason": "  "}).json()["code"] == "REASON_REQUIRED"
    response = post(client_for(nurse), url, {"reason": "patient arrived, vitals fine"})
    assert response.status_code == 200, response.content
    assert response.json()["released"] is True
    released = Preparation.objects.get(pk=rituximab.pk)
    assert (released.released_by, released.release_reason) == (nurse, "patient arrived, vitals fine")
    assert post(client_for(nurse), url, {"reason": "again"}).json()["code"] == "WRONG_STATE"

    started = services.start_preparation(rituximab.pk, actor=technician)
    assert started.status == "in_progress"


def test_a_dose_verified_over_a_lab_hold_waits_for_release(
    patient, prescriber, pharmacist, technician, hazardous_room, stocked
):
    """mFOLFOX6 holds at ANC < 1.5 × 10^9/L; the pharmacist overrode it, so the dose waits for labs."""

    load_regimens(actor=None)
    record_lab(patient.pk, actor=prescriber, test="anc", value="1.0", unit="10^9/L")
    plan = create_treatment_plan(
        patient.pk,
        actor=prescriber,
        regimen_key="mfolfox6",
        start_date=site_today(SITE_ZONE),
        cycles=1,
        indication_code="C18.7",
    )
    order = Order.objects.get(plan=plan, drug__key="oxaliplatin", cycle=1)
    order = submit_order(order.pk, actor=prescriber, expected_version=order.version)
    reasons = {f.code.value: "oncologist accepts ANC 1.0" for f in review(order).warnings}
    assert "LAB_HOLD" in reasons
    order = verify_order(
        order.pk, actor=pharmacist, expected_version=order.version, password=PASSWORD, overrides=reasons
    )
    preparation = services.plan_preparation(order.pk, actor=pharmacist)
    assert preparation.needs_release
    with pytest.raises(DomainError) as refused:
        services.start_preparation(preparation.pk, actor=technician)
    assert refused.value.code == "NOT_RELEASED"
    services.release_to_compound(preparation.pk, actor=pharmacist, reason="repeat ANC 1.8 this morning")
    assert services.start_preparation(preparation.pk, actor=technician).status == "in_progress"


def test_an_oxaliplatin_dose_is_released_at_once(preparation):
    assert not preparation.needs_release and preparation.released


# --- qualification ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kinds", "valid_for_days", "missing"),
    [
        ((), 0, "Sterile compounding (USP <797>) and Hazardous drug handling (USP <800>)"),
        (("sterile", "hazardous"), -1, "Sterile compounding (USP <797>) and Hazardous drug handling (USP <800>)"),
        (("sterile",), 30, "Hazardous drug handling (USP <800>)"),
        (("hazardous",), 30, "Sterile compounding (USP <797>)"),
    ],
    ids=["none", "expired", "no-hazardous", "no-sterile"],
)
def test_a_hazardous_dose_needs_a_current_sterile_and_hazardous_qualification(
    preparation, make_user, client_for, kinds, valid_for_days, missing
):
    tech = make_user("new-tech", "technician")
    if kinds:
        qualify(tech, *kinds, valid_until=site_today(SITE_ZONE) + dt.timedelta(days=valid_for_days))
    before = state(preparation)
    with pytest.raises(DomainError) as refused:
        services.start_preparation(preparation.pk, actor=tech)
    assert refused.value.code == "NOT_QUALIFIED" and refused.value.status == 403
    assert missing in refused.value.message
    assert state(preparation) == before
    refused_event("compounding:preparation:start", "NOT_QUALIFIED")
    response = post(client_for(tech), f"{BASE}/preparations/{preparation.pk}/start")
    assert response.status_code == 403 and response.json()["code"] == "NOT_QUALIFIED"


def test_a_qualification_valid_through_today_still_counts(preparation, make_user):
    tech = make_user("new-tech", "technician")
    qualify(tech, "sterile", "hazardous", valid_until=site_today(SITE_ZONE))
    assert services.start_preparation(preparation.pk, actor=tech).prepared_by == tech


def test_a_non_hazardous_dose_needs_only_the_sterile_qualification(rituximab, make_user, nurse):
    tech = make_user("sterile-tech", "technician")
    qualify(tech, "sterile")
    services.release_to_compound(rituximab.pk, actor=nurse, reason="patient arrived")
    assert services.start_preparation(rituximab.pk, actor=tech).status == "in_progress"


# --- BUD and state ---------------------------------------------------------------------------------


def test_a_dose_made_now_that_would_expire_before_it_is_needed_is_refused(
    patient, prescriber, pharmacist, technician, stocked
):
    """Oxaliplatin in D5W keeps 24 h refrigerated; a dose needed in 3 days cannot be made today."""
    order = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(days=3))
    preparation = services.plan_preparation(order.pk, actor=pharmacist)
    before = state(preparation)
    with pytest.raises(DomainError) as refused:
        services.start_preparation(preparation.pk, actor=technician)
    assert refused.value.code == "BUD_BEFORE_NEEDED"
    assert state(preparation) == before
    refused_event("compounding:preparation:start", "BUD_BEFORE_NEEDED")


def test_a_preparation_is_started_once(preparation, technician, second_technician):
    services.start_preparation(preparation.pk, actor=technician)
    before = state(preparation)
    with pytest.raises(DomainError) as refused:
        services.start_preparation(preparation.pk, actor=second_technician)
    assert refused.value.code == "WRONG_STATE"
    assert state(preparation) == before
    assert Preparation.objects.get(pk=preparation.pk).prepared_by == technician


def test_an_order_is_planned_once_and_only_when_verified(order, preparation, pharmacist, patient, prescriber):
    with pytest.raises(DomainError) as refused:
        services.plan_preparation(order.pk, actor=pharmacist)
    assert refused.value.code == "ALREADY_PLANNED"
    draft = create_order(
        patient.pk,
        actor=prescriber,
        drug_key="oxaliplatin",
        dose="153 mg",
        route="IV",
        planned_start=timezone.now(),
        diluent_key="dextrose-5",
    )
    with pytest.raises(DomainError) as refused:
        services.plan_preparation(draft.pk, actor=pharmacist)
    assert refused.value.code == "WRONG_STATE"
