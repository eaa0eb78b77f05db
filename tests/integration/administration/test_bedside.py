"""The bedside check: the nurse scans the wristband and the bag's label; a wrong patient, a bag
not dispensed, a dose already given, an order no longer active, a passed BUD or a time outside
±2 h of the planned start is a hard stop that changes nothing but leaves a near miss and a
refused audit event."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.administration.conftest import at_bedside, dispense, post, program, ran_for, refused_events

from openinfusion.administration import services
from openinfusion.administration.models import Administration, Dispense, NearMiss, Pump
from openinfusion.audit.models import AuditEvent
from openinfusion.compounding.models import Preparation
from openinfusion.errors import DomainError
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/administration"
ACTION = "administration:bedside:verify"


def state() -> dict[str, Any]:
    """What a refused bedside check must leave as it was."""
    return {
        "administrations": list(Administration.objects.values_list("pk", "status")),
        "dispenses": sorted(Dispense.objects.values_list("pk", "status")),
        "orders": sorted(Order.objects.values_list("pk", "status", "version")),
        "events": AuditEvent.objects.exclude(outcome="refused").count(),
    }


def _not_a_label(p: Preparation, nurse, technician) -> tuple[str, str]:
    dispense(p, technician)
    return p.order.patient.mrn, "0102345678901234"


def _not_dispensed(p: Preparation, nurse, technician) -> tuple[str, str]:
    return p.order.patient.mrn, p.barcode


def _wrong_patient(p: Preparation, nurse, technician) -> tuple[str, str]:
    dispense(p, technician)
    return "MRN-9999", p.barcode


def _given_already(p: Preparation, nurse, technician) -> tuple[str, str]:
    administration = at_bedside(p, nurse, technician)
    program(administration, nurse, Pump.objects.create(site=p.site, serial="PMP-2002", model="test pump"))
    services.start_administration(administration.pk, actor=nurse)
    ran_for(administration, 180)
    services.end_administration(
        administration.pk,
        actor=nurse,
        volume_infused_ml=Decimal(p.plan["final_volume_ml"]),
        waste_disposal="yellow hazardous bin",
    )
    return p.order.patient.mrn, p.barcode


def _returned(p: Preparation, nurse, technician) -> tuple[str, str]:
    sent = dispense(p, technician)
    services.return_preparation(sent.pk, actor=nurse, reason="patient went home unwell")
    return p.order.patient.mrn, p.barcode


def _bud_passed(p: Preparation, nurse, technician) -> tuple[str, str]:
    dispense(p, technician)
    Preparation.objects.filter(pk=p.pk).update(bud=timezone.now() - dt.timedelta(minutes=1))
    return p.order.patient.mrn, p.barcode


def _too_early(p: Preparation, nurse, technician) -> tuple[str, str]:
    dispense(p, technician)  # due in 5 hours: outside the ±2 h window
    return p.order.patient.mrn, p.barcode


CASES: list[tuple[str, Callable[..., tuple[str, str]], dt.timedelta]] = [
    ("WRONG_PREPARATION", _not_a_label, dt.timedelta(minutes=30)),
    ("WRONG_PREPARATION", _not_dispensed, dt.timedelta(minutes=30)),
    ("WRONG_PATIENT", _wrong_patient, dt.timedelta(minutes=30)),
    ("ALREADY_ADMINISTERED", _given_already, dt.timedelta(minutes=30)),
    ("ORDER_NOT_ACTIVE", _returned, dt.timedelta(minutes=30)),
    ("BUD_EXPIRED", _bud_passed, dt.timedelta(minutes=30)),
    ("OUTSIDE_TIME_WINDOW", _too_early, dt.timedelta(hours=5)),
]


@pytest.mark.parametrize(
    ("code", "arrange", "starts_in"),
    CASES,
    ids=["not-a-label", "not-dispensed", "wrong-patient", "given", "returned", "bud", "too-early"],
)
def test_a_bedside_mismatch_is_a_hard_stop_kept_as_a_near_miss(
    make_checked, nurse, technician, client_for, code, arrange, starts_in
):
    preparation = make_checked(starts_in=starts_in)
    wristband, label = arrange(preparation, nurse, technician)
    client = client_for(nurse)  # signing in is audited too
    before, misses = state(), NearMiss.objects.count()

    scan = {"wristband": wristband, "label": label, "order_id": preparation.order_id}
    response = post(client, f"{BASE}/administrations", scan)
    assert response.status_code == 409, response.content
    assert response.json()["code"] == code
    assert state() == before
    miss = NearMiss.objects.order_by("-pk").first()
    assert NearMiss.objects.count() == misses + 1 and miss is not None
    assert (miss.code, miss.by, miss.site_id) == (code, nurse, preparation.site_id)
    assert miss.scanned == {"wristband": wristband, "label": label, "order_id": str(preparation.order_id)}
    assert refused_events(ACTION)[-1].startswith(code)


def test_the_wrong_patient_message_names_the_patient_the_dose_is_for(checked, nurse, technician):
    dispense(checked, technician)
    with pytest.raises(DomainError) as error:
        services.bedside_verify(actor=nurse, wristband="MRN-9999", label=checked.barcode, order_id=checked.order_id)
    assert error.value.code == "WRONG_PATIENT" and "HUGHES, Grace (MRN-2001)" in error.value.message
    assert not Administration.objects.exists()


@pytest.mark.parametrize("wristband", ["MRN-2001", "MRN:MRN-2001", "  MRN-2001  "])
def test_the_right_patient_and_bag_pass(checked, nurse, technician, client_for, wristband):
    dispense(checked, technician)
    response = post(
        client_for(nurse),
        f"{BASE}/administrations",
        {"wristband": wristband, "label": f" {checked.barcode} ", "order_id": checked.order_id},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["order_id"], body["status"], body["pump"], body["started_at"]) == (
        checked.order_id,
        "verified",
        None,
        None,
    )
    administration = Administration.objects.get()
    assert (administration.nurse, administration.patient_id) == (nurse, checked.order.patient_id)
    assert AuditEvent.objects.filter(action="administration:bedside:verified").count() == 1
    assert not NearMiss.objects.exists()
    assert Order.objects.get(pk=checked.order_id).status == "dispensed"


def test_a_received_dose_passes_too(checked, nurse, technician):
    sent = dispense(checked, technician, "ward", "4 West bed 7")
    services.receive_dispense(sent.pk, actor=nurse, temperature_c=Decimal("4"))
    assert (
        services.bedside_verify(
            actor=nurse, wristband="MRN-2001", label=checked.barcode, order_id=checked.order_id
        ).status
        == "verified"
    )


def test_a_redispensed_dose_is_checked_on_its_new_dispense(checked_room_temperature, nurse, technician):
    preparation = checked_room_temperature
    first = dispense(preparation, technician)
    services.return_preparation(first.pk, actor=nurse, reason="chair moved")
    second = dispense(preparation, technician, "chair", "Chair 09")
    administration = services.bedside_verify(
        actor=nurse, wristband="MRN-2001", label=preparation.barcode, order_id=preparation.order_id
    )
    assert administration.dispense_id == second.pk


def test_a_technician_cannot_do_the_bedside_check(checked, technician, client_for):
    dispense(checked, technician)
    response = post(
        client_for(technician),
        f"{BASE}/administrations",
        {"wristband": "MRN-2001", "label": checked.barcode, "order_id": checked.order_id},
    )
    assert response.status_code == 403
    with pytest.raises(DomainError) as error:
        services.bedside_verify(
            actor=technician, wristband="MRN-2001", label=checked.barcode, order_id=checked.order_id
        )
    assert error.value.status == 403
    assert not Administration.objects.exists() and not NearMiss.objects.exists()


def test_a_nurse_at_another_site_cannot_give_the_dose(checked, technician, make_user, other_site, client_for):
    dispense(checked, technician)
    south_nurse = make_user("south-nurse", "nurse", sites=("south",))
    response = post(
        client_for(south_nurse),
        f"{BASE}/administrations",
        {"wristband": "MRN-2001", "label": checked.barcode, "order_id": checked.order_id},
    )
    assert response.status_code == 409 and response.json()["code"] == "WRONG_PREPARATION"
    assert not Administration.objects.exists()


def test_scanning_again_after_leaving_the_page_reopens_the_same_record(checked, nurse, technician, pump, client_for):
    """The nurse scans, is called away before starting, comes back and scans again: the same
    infusion record (checked again), not ALREADY_ADMINISTERED; once started, a scan leads back to it."""
    first = at_bedside(checked, nurse, technician)
    client = client_for(nurse)
    again = post(
        client,
        f"{BASE}/administrations",
        {"wristband": "MRN-2001", "label": checked.barcode, "order_id": checked.order_id},
    )
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.pk and Administration.objects.count() == 1
    program(first, nurse, pump)
    services.start_administration(first.pk, actor=nurse)
    running = services.bedside_verify(
        actor=nurse, wristband="MRN-2001", label=checked.barcode, order_id=checked.order_id
    )
    assert (running.pk, running.status) == (first.pk, "infusing")
    assert AuditEvent.objects.filter(action="administration:bedside:reopened").count() == 2
    assert not NearMiss.objects.exists()


def test_a_rescan_still_refuses_the_wrong_patient(checked, nurse, technician):
    at_bedside(checked, nurse, technician)
    with pytest.raises(DomainError) as refused:
        services.bedside_verify(actor=nurse, wristband="MRN-9999", label=checked.barcode, order_id=checked.order_id)
    assert refused.value.code == "WRONG_PATIENT"
