"""The recall trace names every preparation a lot went into and the patient it is for (FDA recall
readiness, 21 CFR 7.49; DSCSA lot-level traceability); a quarantined lot is refused at the bench at
once. The work queue is each room's work by the time it is needed, and another site's preparation
does not exist for you."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.integration.compounding.conftest import lot_scan, post, refused_event, verified_order

from openinfusion.compounding import services, walkthrough
from openinfusion.compounding.models import InterceptedError
from openinfusion.errors import DomainError
from openinfusion.inventory import queries
from openinfusion.inventory.services import quarantine_lot
from openinfusion.orders.models import Order

pytestmark = pytest.mark.django_db

BASE = "/api/v1/compounding"


def test_the_recall_trace_names_the_preparation_and_the_patient(
    preparation, technician, pharmacist, patient, stocked, site, client_for
):
    walkthrough.prepare(preparation, technician, steps=2)
    lot = stocked["oxaliplatin"]
    trace = queries.trace_lot(lot, {site.pk})
    assert [m.reference for m in trace.consumed] == [f"preparation:{preparation.pk}"] * 2
    assert trace.patients == [
        {
            "preparation": preparation.barcode,
            "patient": str(patient),
            "patient_id": patient.pk,
            "mrn": "MRN-2001",
            "order": preparation.order_id,
            "dose": "OXALIplatin 153 mg",
            "status": "Being prepared",
            "order_status": Order.objects.get(pk=preparation.order_id).get_status_display(),
        }
    ]
    response = client_for(pharmacist).get(f"/api/v1/inventory/lots/{lot.pk}/trace")
    assert response.status_code == 200, response.content
    traced = response.json()
    assert [(p["preparation"], p["mrn"], p["patient_id"]) for p in traced["patients"]] == [
        (preparation.barcode, "MRN-2001", patient.pk)
    ]
    assert len(traced["consumed"]) == 2


def test_a_lot_quarantined_after_a_first_vial_is_refused_for_the_second(preparation, technician, stock_keeper, stocked):
    walkthrough.prepare(preparation, technician, steps=1)
    lot = stocked["oxaliplatin"]
    quarantine_lot(lot.pk, actor=stock_keeper, reason="visible particles reported by another site")
    with pytest.raises(DomainError) as refused:
        services.record_scan(preparation.pk, actor=technician, scan=lot_scan(lot, "V2"))
    assert refused.value.code == "QUARANTINED_LOT"
    assert preparation.steps.count() == 1
    assert InterceptedError.objects.get(preparation=preparation).step_index == 1
    refused_event("compounding:preparation:scan", "QUARANTINED_LOT")
    # the trace still shows the one vial that went in before the quarantine
    assert len(queries.trace_lot(lot, {preparation.site_id}).consumed) == 1


def test_the_work_queue_is_sorted_by_needed_by_and_filtered_by_room(
    patient, prescriber, pharmacist, technician, nurse, stocked, client_for
):
    later = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(hours=6))
    soon = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(hours=1))
    antibody = verified_order(
        patient,
        prescriber,
        pharmacist,
        drug="rituximab",
        dose="700 mg",
        diluent="sodium-chloride-0.9",
        starts_in=dt.timedelta(hours=3),
    )
    planned = {o.pk: services.plan_preparation(o.pk, actor=pharmacist) for o in (later, soon, antibody)}
    tech = client_for(technician)
    queue = tech.get(f"{BASE}/work-queue").json()
    assert [p["order_id"] for p in queue] == [soon.pk, antibody.pk, later.pk]
    needed = [p["needed_by"] for p in queue]
    assert needed == sorted(needed)
    hazardous = tech.get(f"{BASE}/work-queue", {"room": "hazardous_buffer"}).json()
    assert [p["order_id"] for p in hazardous] == [soon.pk, later.pk]
    clean = tech.get(f"{BASE}/work-queue", {"room": "clean_room"}).json()
    assert [(p["order_id"], p["needs_release"], p["released"]) for p in clean] == [(antibody.pk, True, False)]
    # a completed dose leaves the queue for the final checks
    walkthrough.prepare(planned[soon.pk], technician)
    assert [p["order_id"] for p in tech.get(f"{BASE}/work-queue").json()] == [antibody.pk, later.pk]
    assert [p["order_id"] for p in client_for(pharmacist).get(f"{BASE}/final-checks").json()] == [soon.pk]
    assert client_for(nurse).get(f"{BASE}/work-queue").status_code == 200


def test_another_sites_preparation_is_not_found(preparation, technician, make_user, other_site, client_for):
    walkthrough.prepare(preparation, technician)
    south = make_user("south-pharmacist", "pharmacist", sites=("south",))
    south_tech = make_user("south-tech", "technician", sites=("south",))
    client = client_for(south)
    assert client.get(f"{BASE}/work-queue").json() == []
    assert client.get(f"{BASE}/final-checks").json() == []
    for response in (
        post(client_for(south_tech), f"{BASE}/preparations/{preparation.pk}/start"),
        post(client, f"{BASE}/preparations/{preparation.pk}/final-check", {"approve": False, "reason": "x"}),
        post(client, f"{BASE}/preparations/{preparation.pk}/release", {"reason": "x"}),
        client.get(f"{BASE}/preparations/{preparation.pk}/record.pdf"),
        client.get(f"{BASE}/preparations/{preparation.pk}/label.pdf"),
        client.get(f"{BASE}/preparations/{preparation.pk}/label.zpl"),
    ):
        assert response.status_code == 404, response.content
        assert response.json()["code"] == "UNKNOWN_PREPARATION"
    with pytest.raises(DomainError) as refused:
        services.final_check(preparation.pk, actor=south, approve=True, password="x")
    assert refused.value.code == "UNKNOWN_PREPARATION"
    assert preparation.order.status != "checked"


def test_an_order_at_another_site_cannot_be_planned(order, make_user, other_site, client_for):
    south = make_user("south-pharmacist", "pharmacist", sites=("south",))
    response = post(client_for(south), f"{BASE}/preparations", {"order_id": order.pk})
    assert response.status_code == 404
