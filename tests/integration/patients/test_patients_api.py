"""The patient chart through the API: MRNs unique per site, another site's patient does not exist
(404, not 403), impossible heights and probable unit slips refused before they reach a dose,
corrections that keep the corrected row, labs in the wrong unit, 10× slips or another patient's
results refused — and every refusal left in the audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest

from openinfusion.audit.models import AuditEvent
from openinfusion.patients.models import LabResult, Measurement, Patient

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "MRN-3003",
    "family_name": "Tanaka",
    "given_name": "Iris",
    "birth_date": "1971-02-14",
    "sex": "F",
}


def post(client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


def measure(client, patient, kind: str, value: str, **extra):
    return post(client, f"/api/v1/patients/{patient.pk}/measurements", {"kind": kind, "value": value, **extra})


def lab(client, patient, test: str, value: str, unit: str, **extra):
    return post(client, f"/api/v1/patients/{patient.pk}/labs", {"test": test, "value": value, "unit": unit, **extra})


def refusals(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, outcome="refused"))


# --- patients --------------------------------------------------------------------------------------


def test_a_prescriber_creates_a_patient_and_it_is_audited(prescriber, site, client_for):
    response = post(client_for(prescriber), "/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["mrn"] == "MRN-3003" and body["site"] == "north"
    assert body["height"] is None and body["weight"] is None and body["labs"] == []
    event = AuditEvent.objects.get(action="patients:patient:created")
    assert event.actor == prescriber and event.patient_id == str(body["id"])


def test_a_duplicate_mrn_at_the_same_site_is_refused_409_and_audited(patient, prescriber, site, client_for):
    response = post(client_for(prescriber), "/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT, "mrn": patient.mrn})
    assert response.status_code == 409
    assert response.json()["code"] == "DUPLICATE_MRN"
    assert Patient.objects.filter(mrn=patient.mrn).count() == 1
    assert refusals("patients:patient:create")[0].reason.startswith("DUPLICATE_MRN")


def test_the_same_mrn_may_exist_at_another_site(patient, south_nurse, other_site, client_for):
    response = post(
        client_for(south_nurse), "/api/v1/patients", {"site_id": other_site.pk, **NEW_PATIENT, "mrn": patient.mrn}
    )
    assert response.status_code == 201, response.content


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("", None),
        ("/measurements", {"kind": "weight", "value": "70 kg"}),
        ("/labs", {"test": "anc", "value": "3.1", "unit": "10^9/L"}),
        ("/allergies", {"substance": "carboplatin", "severity": "severe"}),
    ],
)
def test_another_sites_patient_is_answered_404_not_403(south_patient, nurse, client_for, path, body):
    client = client_for(nurse)
    url = f"/api/v1/patients/{south_patient.pk}{path}"
    response = client.get(url) if body is None else post(client, url, body)
    assert response.status_code == 404
    assert response.json()["code"] == "UNKNOWN_PATIENT"
    assert not Measurement.objects.exists() and not LabResult.objects.exists()


# --- measurements ----------------------------------------------------------------------------------


def test_a_height_in_inches_is_stored_in_cm_with_what_was_entered(patient, nurse, client_for):
    response = measure(client_for(nurse), patient, "height", "68 in")
    assert response.status_code == 201, response.content
    row = Measurement.objects.get()
    assert (row.value, row.unit, row.note) == (Decimal("172.72"), "cm", "entered as 68 in")  # 68 × 2.54


def test_a_height_no_person_has_is_refused_and_nothing_is_saved(patient, nurse, client_for):
    response = measure(client_for(nurse), patient, "height", "175 in", confirm_unusual=True)
    assert response.status_code == 422
    body = response.json()
    assert body["code"] == "IMPLAUSIBLE_MEASUREMENT"
    assert "175 cm" in body["message"]  # the likely meaning is offered
    assert not Measurement.objects.exists()
    assert refusals("patients:measurement:record")[0].reason.startswith("IMPLAUSIBLE_MEASUREMENT")


def test_a_height_that_gives_an_impossible_bmi_is_refused_unless_confirmed(patient, nurse, client_for):
    """69 cm with 70 kg is a BMI of 147: inches typed into the cm box. Refused, nothing saved; the
    nurse may confirm a value that is truly right."""
    client = client_for(nurse)
    assert measure(client, patient, "weight", "70 kg").status_code == 201

    refused = measure(client, patient, "height", "69 cm")
    assert refused.status_code == 422
    assert refused.json()["code"] == "IMPLAUSIBLE_MEASUREMENT"
    assert "looks like inches entered as centimetres" in refused.json()["message"]
    assert refused.json()["details"]["bmi"] == "147.0"
    assert not Measurement.objects.filter(kind="height").exists()
    assert len(refusals("patients:measurement:record")) == 1

    confirmed = measure(client, patient, "height", "69 cm", confirm_unusual=True)
    assert confirmed.status_code == 201
    assert Measurement.objects.filter(kind="height").count() == 1


def test_a_correction_points_at_the_corrected_row_which_is_kept(patient, nurse, client_for):
    client = client_for(nurse)
    first = measure(client, patient, "weight", "68 kg").json()
    correction = measure(client, patient, "weight", "72 kg", corrects_id=first["id"])
    assert correction.status_code == 201, correction.content
    assert correction.json()["corrects"] == first["id"]

    chart = client.get(f"/api/v1/patients/{patient.pk}").json()
    assert chart["weight"]["id"] == correction.json()["id"]
    assert float(chart["weight"]["value"]) == 72
    old = Measurement.objects.get(pk=first["id"])
    assert old.value == 68 and old.corrected_by.pk == correction.json()["id"]
    event = AuditEvent.objects.get(action="patients:measurement:recorded", entity_id=str(correction.json()["id"]))
    assert event.before["corrects"] == first["id"]


def test_a_row_already_corrected_cannot_be_corrected_again(patient, nurse, client_for):
    client = client_for(nurse)
    first = measure(client, patient, "weight", "68 kg").json()
    measure(client, patient, "weight", "72 kg", corrects_id=first["id"])
    again = measure(client, patient, "weight", "71 kg", corrects_id=first["id"])
    assert again.status_code == 409
    assert again.json()["code"] == "ALREADY_CORRECTED"
    assert Measurement.objects.count() == 2


# --- labs ------------------------------------------------------------------------------------------


def test_a_lab_in_an_allowed_unit_is_recorded(patient, nurse, client_for):
    response = lab(client_for(nurse), patient, "scr", "88", "umol/L", mrn=patient.mrn)
    assert response.status_code == 201, response.content
    assert LabResult.objects.get().unit == "umol/L"


def test_a_lab_in_the_wrong_unit_is_refused(patient, nurse, client_for):
    response = lab(client_for(nurse), patient, "anc", "3100", "cells/uL")
    assert response.status_code == 422
    assert response.json()["code"] == "UNIT_MISMATCH"
    assert "10^9/L" in response.json()["message"]
    assert not LabResult.objects.exists()
    assert refusals("patients:lab:record")[0].reason.startswith("UNIT_MISMATCH")


def test_a_ten_fold_lab_slip_is_refused(patient, nurse, client_for):
    """Haemoglobin 125 g/dL: g/L typed with the g/dL unit (no sample is above 25 g/dL)."""
    response = lab(client_for(nurse), patient, "hemoglobin", "125", "g/dL")
    assert response.status_code == 422
    assert response.json()["code"] == "IMPLAUSIBLE_LAB"
    assert not LabResult.objects.exists()
    assert refusals("patients:lab:record")[0].reason.startswith("IMPLAUSIBLE_LAB")


def test_a_result_for_another_mrn_is_refused_as_the_wrong_patient(patient, nurse, client_for):
    response = lab(client_for(nurse), patient, "platelets", "210", "10^9/L", mrn="MRN-9999")
    assert response.status_code == 409
    assert response.json()["code"] == "WRONG_PATIENT"
    assert "MRN-9999" in response.json()["message"]
    assert not LabResult.objects.exists()
    assert refusals("patients:lab:record")[0].reason.startswith("WRONG_PATIENT")


def test_a_lab_correction_replaces_the_latest_value_and_keeps_the_old_one(patient, nurse, client_for):
    client = client_for(nurse)
    first = lab(client, patient, "anc", "0.9", "10^9/L").json()
    fixed = lab(client, patient, "anc", "1.9", "10^9/L", corrects_id=first["id"]).json()
    labs = client.get(f"/api/v1/patients/{patient.pk}").json()["labs"]
    assert [(row["id"], float(row["value"])) for row in labs if row["kind"] == "anc"] == [(fixed["id"], 1.9)]
    assert LabResult.objects.count() == 2


# --- every refusal is audited ----------------------------------------------------------------------


def test_every_chart_refusal_is_audited_with_its_code(patient, nurse, client_for):
    client = client_for(nurse)
    measure(client, patient, "height", "175 in")
    lab(client, patient, "anc", "3100", "cells/uL")
    lab(client, patient, "hemoglobin", "125", "g/dL")
    lab(client, patient, "anc", "3.1", "10^9/L", mrn="MRN-9999")
    post(client, f"/api/v1/patients/{patient.pk}/allergies", {"substance": " ", "severity": "severe"})
    events = AuditEvent.objects.filter(outcome="refused", action__startswith="patients:").order_by("id")
    assert [(e.action, e.reason.split(":")[0], e.actor) for e in events] == [
        ("patients:measurement:record", "IMPLAUSIBLE_MEASUREMENT", nurse),
        ("patients:lab:record", "UNIT_MISMATCH", nurse),
        ("patients:lab:record", "IMPLAUSIBLE_LAB", nurse),
        ("patients:lab:record", "WRONG_PATIENT", nurse),
        ("patients:allergy:record", "MISSING_FIELD", nurse),
    ]
    assert not Measurement.objects.exists() and not LabResult.objects.exists()


# --- the chart screen -----------------------------------------------------------------------------


def test_the_chart_shows_a_converted_weight_rounded_beside_what_was_typed(patient, nurse, client_for):
    client = client_for(nurse)
    saved = client.post(f"/patients/{patient.pk}/measurements", {"kind": "weight", "value": "231 lb", "confirm": "on"})
    page = client.get(saved["Location"]).content.decode()
    assert "Saved: Weight 104.78 kg (entered as 231 lb)." in page and "104.77983" not in page


@pytest.mark.parametrize(
    ("path", "form", "says"),
    [
        ("labs", {"test": "hemoglobin", "value": "11,25", "unit": "g/dL"}, "type a point for decimals (11.25)"),
        ("measurements", {"kind": "weight", "value": ""}, "Nothing was typed: write a number and a unit"),
    ],
)
def test_a_chart_entry_that_cannot_be_read_says_how_to_write_it(patient, nurse, client_for, path, form, says):
    client = client_for(nurse)
    before = (LabResult.objects.count(), Measurement.objects.count())
    page = client.post(f"/patients/{patient.pk}/{path}", form, follow=True).content.decode()
    assert says in page and "“”" not in page
    assert (LabResult.objects.count(), Measurement.objects.count()) == before
