"""Dispensing and custody: a checked dose is dispensed once, a cold-chain dose is received only
with its temperature inside 2–8 °C, an unused dose comes back (re-dispensable while in date and
intact, else wasted as hazardous waste), a home delivery has its manifest."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import timezone
from pypdf import PdfReader
from tests.integration.administration.conftest import approve, dispense, post, refused_events

from openinfusion.administration import services
from openinfusion.administration.models import Dispense, Handoff
from openinfusion.audit.models import AuditEvent
from openinfusion.compounding import services as compounding
from openinfusion.compounding.models import Preparation
from openinfusion.errors import DomainError
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/administration"


def order_status(preparation) -> str:
    return Order.objects.get(pk=preparation.order_id).status


def refused(code: str, run) -> DomainError:
    with pytest.raises(DomainError) as error:
        run()
    assert error.value.code == code, error.value.message
    return error.value


# --- dispense once ----------------------------------------------------------------------------------


def test_a_checked_dose_is_dispensed_once(checked, technician, pharmacist, client_for):
    response = post(
        client_for(technician),
        f"{BASE}/dispenses",
        {"preparation_id": checked.pk, "destination": "chair", "place": "Chair 03"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["preparation"], body["status"], body["place"], body["cold_chain"]) == (
        checked.barcode,
        "dispensed",
        "Chair 03",
        True,
    )
    assert order_status(checked) == "dispensed"
    assert list(Handoff.objects.filter(dispense_id=body["id"]).values_list("kind", flat=True)) == ["pharmacy_out"]

    again = post(
        client_for(pharmacist),
        f"{BASE}/dispenses",
        {"preparation_id": checked.pk, "destination": "ward", "place": "4 West bed 7"},
    )
    assert again.status_code == 409 and again.json()["code"] == "ALREADY_DISPENSED"
    assert Dispense.objects.filter(preparation=checked).count() == 1
    assert refused_events("administration:dispense:create")[0].startswith("ALREADY_DISPENSED")
    assert AuditEvent.objects.filter(action="administration:dispense:created").count() == 1


def test_only_an_approved_preparation_is_dispensed(order, pharmacist, technician, stocked):
    planned = compounding.plan_preparation(order.pk, actor=pharmacist)
    refused("NOT_CHECKED", lambda: dispense(planned, technician))
    assert not Dispense.objects.exists()
    assert order_status(planned) == "verified"


@pytest.mark.parametrize(("destination", "place"), [("roof", "Chair 1"), ("chair", "  ")])
def test_a_dispense_says_where_the_dose_goes(checked, technician, destination, place):
    refused("INVALID_INPUT", lambda: dispense(checked, technician, destination, place))
    assert not Dispense.objects.exists() and order_status(checked) == "checked"


def test_a_nurse_cannot_dispense(checked, nurse, client_for):
    response = post(
        client_for(nurse), f"{BASE}/dispenses", {"preparation_id": checked.pk, "destination": "chair", "place": "C1"}
    )
    assert response.status_code == 403
    with pytest.raises(DomainError) as error:
        dispense(checked, nurse)
    assert error.value.status == 403
    assert not Dispense.objects.exists() and order_status(checked) == "checked"


def test_another_sites_dispense_is_not_found(checked, technician, make_user, other_site, client_for):
    sent = dispense(checked, technician)
    south = make_user("south-tech", "technician", sites=("south",))
    south_nurse = make_user("south-nurse", "nurse", sites=("south",))
    for path in ("handoff", "receive", "return"):
        response = post(client_for(south), f"{BASE}/dispenses/{sent.pk}/{path}", {"reason": "x", "temperature_c": 5})
        assert response.status_code == 404, (path, response.content)
        assert response.json()["code"] == "UNKNOWN_DISPENSE"
    assert client_for(south_nurse).get(f"{BASE}/dispenses/{sent.pk}/manifest.pdf").status_code == 404
    again = post(
        client_for(south), f"{BASE}/dispenses", {"preparation_id": checked.pk, "destination": "chair", "place": "C1"}
    )
    assert again.status_code == 404 and again.json()["code"] == "UNKNOWN_PREPARATION"
    fresh = Dispense.objects.get(pk=sent.pk)
    assert fresh.status == "dispensed" and fresh.handoffs.count() == 1


# --- cold chain -------------------------------------------------------------------------------------


def test_a_cold_chain_dose_needs_its_temperature_inside_2_to_8_c(checked, technician, nurse, client_for):
    """Oxaliplatin keeps 24 h cold (6 h at room temperature): the plan stores it refrigerated."""
    assert checked.plan["storage"] == "refrigerator"
    sent = dispense(checked, technician, "home", "12 Elm Street, Springfield")
    assert sent.cold_chain
    services.record_handoff(sent.pk, actor=technician, temperature_c=Decimal("4.5"), note="courier van 1")
    assert Dispense.objects.get(pk=sent.pk).status == "in_transit"

    client = client_for(nurse)
    missing = post(client, f"{BASE}/dispenses/{sent.pk}/receive", {})
    assert missing.status_code == 422 and missing.json()["code"] == "TEMPERATURE_REQUIRED"
    warm = post(client, f"{BASE}/dispenses/{sent.pk}/receive", {"temperature_c": "12"})
    assert warm.status_code == 409 and warm.json()["code"] == "COLD_CHAIN_BROKEN"
    assert "12" in warm.json()["message"] and "2–8 °C" in warm.json()["message"]
    fresh = Dispense.objects.get(pk=sent.pk)
    assert fresh.status == "in_transit"
    assert list(fresh.handoffs.values_list("kind", flat=True)) == ["pharmacy_out", "courier"]
    reasons = refused_events("administration:dispense:receive")
    assert len(reasons) == 2
    assert reasons[0].startswith("TEMPERATURE_REQUIRED") and reasons[1].startswith("COLD_CHAIN_BROKEN")

    # the warm bag comes back to the pharmacy and is wasted: its storage was not kept
    back = services.return_preparation(sent.pk, actor=nurse, reason="arrived warm", temperature_c=Decimal(12))
    assert back.status == "wasted" and "storage not kept" in back.closed_reason
    assert "hazardous waste" in back.closed_reason
    assert order_status(checked) == "verified"


def test_a_cold_chain_dose_received_cold_is_received(checked, technician, nurse, client_for):
    sent = dispense(checked, technician, "ward", "4 West bed 7")
    response = post(client_for(nurse), f"{BASE}/dispenses/{sent.pk}/receive", {"temperature_c": "5.0"})
    assert response.status_code == 200 and response.json()["status"] == "received"
    assert Handoff.objects.get(dispense=sent, kind="received").temperature_c == Decimal("5.0")


def test_a_room_temperature_dose_needs_no_temperature(checked_room_temperature, technician, nurse):
    sent = dispense(checked_room_temperature, technician)
    assert not sent.cold_chain
    assert services.receive_dispense(sent.pk, actor=nurse).status == "received"


# --- returns ----------------------------------------------------------------------------------------


def test_an_intact_dose_in_date_comes_back_ready_to_dispense_again(
    checked_room_temperature, technician, nurse, client_for
):
    preparation = checked_room_temperature
    sent = dispense(preparation, technician)
    no_reason = post(client_for(nurse), f"{BASE}/dispenses/{sent.pk}/return", {"reason": " "})
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "REASON_REQUIRED"
    response = post(client_for(nurse), f"{BASE}/dispenses/{sent.pk}/return", {"reason": "patient did not come"})
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "returned"
    assert order_status(preparation) == "checked"

    again = dispense(preparation, technician, "chair", "Chair 07")
    assert again.pk != sent.pk and again.status == "dispensed"
    assert order_status(preparation) == "dispensed"
    assert sorted(Dispense.objects.filter(preparation=preparation).values_list("status", flat=True)) == [
        "dispensed",
        "returned",
    ]


def test_a_damaged_hazardous_dose_is_wasted_as_hazardous_waste(
    checked_room_temperature, technician, nurse, pharmacist, client_for
):
    preparation = checked_room_temperature
    sent = dispense(preparation, technician)
    response = post(
        client_for(nurse), f"{BASE}/dispenses/{sent.pk}/return", {"reason": "bag leaking at the port", "intact": False}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "wasted"
    assert "not intact" in body["closed_reason"] and "hazardous waste" in body["closed_reason"]
    assert order_status(preparation) == "verified"
    assert Handoff.objects.get(dispense=sent, kind="returned").note == "bag leaking at the port"
    # the order needs a new preparation: the wasted bag is not sent again
    refused_again = post(
        client_for(technician),
        f"{BASE}/dispenses",
        {"preparation_id": preparation.pk, "destination": "chair", "place": "Chair 03"},
    )
    assert refused_again.status_code == 409 and refused_again.json()["code"] == "NOT_CHECKED"
    assert Preparation.objects.get(pk=preparation.pk).status == "rejected", "a wasted bag is never offered again"
    assert Dispense.objects.filter(preparation=preparation).count() == 1


def test_a_wasted_bag_is_never_dispensed_even_once_its_order_is_checked_again(
    checked_room_temperature, technician, pharmacist, nurse
):
    """The replacement dose is made and checked; the leaking bag that came back is still not sent."""
    wasted = checked_room_temperature
    sent = dispense(wasted, technician)
    services.return_preparation(sent.pk, actor=nurse, reason="bag leaking", intact=False)
    replacement = approve(Order.objects.get(pk=wasted.order_id), technician, pharmacist)
    assert order_status(replacement) == "checked"
    refused("NOT_CHECKED", lambda: dispense(wasted, technician))  # the wasted bag is marked rejected
    assert dispense(replacement, technician).status == "dispensed"
    assert Dispense.objects.filter(preparation=wasted).count() == 1


def test_a_dose_past_its_bud_comes_back_as_waste(checked_room_temperature, technician, nurse):
    sent = dispense(checked_room_temperature, technician)
    Preparation.objects.filter(pk=checked_room_temperature.pk).update(bud=timezone.now())
    back = services.return_preparation(sent.pk, actor=nurse, reason="not given today")
    assert back.status == "wasted" and "BUD passed" in back.closed_reason


def test_a_given_dose_cannot_be_returned(checked, technician, nurse):
    sent = dispense(checked, technician)
    Dispense.objects.filter(pk=sent.pk).update(status="administered")
    refused("WRONG_STATE", lambda: services.return_preparation(sent.pk, actor=nurse, reason="left over"))


# --- home delivery manifest ---------------------------------------------------------------------------


def test_a_home_delivery_has_a_manifest(checked, technician, nurse, client_for):
    sent = dispense(checked, technician, "home", "12 Elm Street, Springfield")
    response = client_for(nurse).get(f"{BASE}/dispenses/{sent.pk}/manifest.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    assert f"DLV-{sent.pk:06d}" in text
    assert "HUGHES" in text and "MRN-2001" in text
    assert checked.barcode in text


def test_a_chair_dose_has_no_delivery_manifest(checked, technician, client_for):
    sent = dispense(checked, technician)
    response = client_for(technician).get(f"{BASE}/dispenses/{sent.pk}/manifest.pdf")
    assert response.status_code == 409 and response.json()["code"] == "NOT_A_DELIVERY"
