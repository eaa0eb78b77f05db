"""Issue 14's probes, replayed: doses that cannot be right are refused at entry or cannot be verified,
whatever reason is typed; severe allergies need the prescriber's documented exception.

Each probe goes through the services and the API (and the order screen for the exception). The
error-prone notations are those of the ISMP List of Error-Prone Abbreviations, Symbols and Dose
Designations (2021): "µg"/"ug" for mcg, a naked decimal (".5 mg"), a trailing zero ("5.0 mg")."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from tests.integration.orders.conftest import PASSWORD, chart, plan_order, post, start_plan, submitted

from openinfusion.audit.models import AuditEvent
from openinfusion.errors import Conflict, DomainError, InvalidInput
from openinfusion.orders import services
from openinfusion.orders.models import AllergyException, Order, OrderStatus
from openinfusion.patients.services import record_allergy

pytestmark = pytest.mark.django_db


def order_body(patient, drug: str, dose: str, **extra: Any) -> dict[str, Any]:
    start = timezone.now() + dt.timedelta(hours=2)
    return {"patient_id": patient.pk, "drug": drug, "dose": dose, "route": "IV", "planned_start": start, **extra}


def write(patient, prescriber, drug: str, dose: str, **extra: Any) -> Order:
    return services.create_order(
        patient.pk,
        actor=prescriber,
        drug_key=drug,
        dose=dose,
        route="IV",
        planned_start=timezone.now() + dt.timedelta(hours=2),
        send=True,
        **extra,
    )


def verify_with_every_reason(order: Order, pharmacist) -> Order:
    """What the probing pharmacist did: type a reason for every warning, then sign."""
    reasons = {f.code.value: "checked with the prescriber" for f in services.review(order).warnings}
    return services.verify_order(
        order.pk, actor=pharmacist, expected_version=order.version, password=PASSWORD, overrides=reasons
    )


# --- refused at entry: nothing is saved ------------------------------------------------------------


@pytest.mark.parametrize(
    ("dose", "code", "fragment"),
    [
        ("8 ug", "ERROR_PRONE_NOTATION", "write mcg"),
        ("8 µg", "ERROR_PRONE_NOTATION", "write mcg"),
        (".5 mg", "ERROR_PRONE_NOTATION", "zero before the decimal point"),
        ("5.0 mg", "ERROR_PRONE_NOTATION", "trailing zero"),
        ("0 mg", "INVALID_DOSE", "dose of zero"),
        ("4 mg/2 mL", "INVALID_DOSE", "concentration, not a dose"),
    ],
)
def test_an_error_prone_or_empty_dose_is_refused_at_entry(patient, prescriber, client_for, dose, code, fragment):
    before = (Order.objects.count(), AuditEvent.objects.filter(action="orders:order:created").count())
    with pytest.raises(InvalidInput) as refused:
        write(patient, prescriber, "ondansetron", dose)
    assert refused.value.code == code and fragment in refused.value.message
    response = post(client_for(prescriber), "/api/v1/orders", order_body(patient, "ondansetron", dose))
    assert response.status_code == 422 and response.json()["code"] == code, response.content
    assert fragment in response.json()["message"]
    assert (Order.objects.count(), AuditEvent.objects.filter(action="orders:order:created").count()) == before


@pytest.mark.parametrize(
    ("extra", "field"), [({"volume_ml": Decimal(-50)}, "volume"), ({"duration_minutes": 0}, "infusion time")]
)
def test_a_negative_volume_or_a_zero_infusion_time_is_refused(patient, prescriber, client_for, extra, field):
    with pytest.raises(InvalidInput) as refused:
        write(patient, prescriber, "ondansetron", "8 mg", **extra)
    assert field in refused.value.message.lower()
    body = order_body(patient, "ondansetron", "8 mg", **{k: str(v) for k, v in extra.items()})
    response = post(client_for(prescriber), "/api/v1/orders", body)
    assert response.status_code == 422, response.content
    assert not Order.objects.filter(patient=patient).exists()


def test_the_new_order_screen_shows_the_refusal_and_keeps_what_was_typed(patient, prescriber, client_for):
    client = client_for(prescriber)
    start = timezone.now() + dt.timedelta(hours=2)
    response = client.post(
        f"/orders/patients/{patient.pk}/orders",
        {
            "drug": "ondansetron",
            "dose": "8 µg",
            "route": "IV",
            "date": start.astimezone(patient.site.zone).date().isoformat(),
            "time": "10:30",
        },
    )
    assert response.status_code == 422
    text = response.content.decode()
    assert "write mcg" in text and "8 µg" in text
    assert not Order.objects.filter(patient=patient).exists()


# --- written, but cannot be verified whatever reason is typed --------------------------------------


@pytest.mark.parametrize(
    ("drug", "dose", "dosed_in"),
    [("ondansetron", "8 mL", "mg"), ("carboplatin", "450 mL", "mg")],
)
def test_a_volume_for_a_drug_dosed_by_mass_cannot_be_verified(
    patient, prescriber, pharmacist, client_for, drug, dose, dosed_in
):
    order = write(patient, prescriber, drug, dose, duration_minutes=30)
    with pytest.raises(Conflict) as refused:
        verify_with_every_reason(order, pharmacist)
    assert refused.value.code == "HARD_STOP" and "UNIT_MISMATCH" in refused.value.details["findings"]
    assert f"dosed in {dosed_in}" in refused.value.message
    response = post(
        client_for(pharmacist),
        f"/api/v1/orders/{order.pk}/verify",
        {"version": order.version, "password": PASSWORD, "overrides": {}},
    )
    assert response.status_code == 409 and response.json()["code"] == "HARD_STOP"
    order.refresh_from_db()
    assert order.status == OrderStatus.SUBMITTED and order.verification_id is None


def test_oxaliplatin_per_kg_in_mfolfox6_is_not_verified_after_reasons_for_the_warnings(
    library, prescriber, pharmacist, site
):
    """The probe: 85 mg/kg where mFOLFOX6 says 85 mg/m² (here 5780 mg for 68 kg): two hard stops."""
    patient = chart(prescriber, site)
    plan = start_plan(prescriber, patient, cycles=1)
    order = plan_order(plan)
    order = services.amend_order(
        order.pk, actor=prescriber, expected_version=order.version, reason="probe", dose="85 mg/kg"
    )
    order = submitted(order, prescriber)
    with pytest.raises(Conflict) as refused:
        verify_with_every_reason(order, pharmacist)
    assert {"BASIS_MISMATCH", "DOSE_ABOVE_USUAL"} <= set(refused.value.details["findings"])


def test_a_ten_fold_flat_dose_cannot_be_verified_but_a_usual_one_can(patient, prescriber, pharmacist):
    """Dexamethasone 4–20 mg usual: 200 mg (a 10× slip of 20 mg) stops; 20 mg verifies."""
    slip = write(patient, prescriber, "dexamethasone", "200 mg", duration_minutes=15)
    with pytest.raises(Conflict) as refused:
        verify_with_every_reason(slip, pharmacist)
    assert refused.value.details["findings"] == ["DOSE_ABOVE_USUAL"]
    usual = write(patient, prescriber, "dexamethasone", "20 mg", duration_minutes=15)
    assert verify_with_every_reason(usual, pharmacist).status == OrderStatus.VERIFIED


def test_an_infusion_written_without_a_duration_cannot_be_verified(patient, prescriber, pharmacist):
    order = write(patient, prescriber, "sodium-chloride-0.9", "1000 mL")
    with pytest.raises(Conflict) as refused:
        verify_with_every_reason(order, pharmacist)
    assert refused.value.details["findings"] == ["RATE_MISSING"]
    order = services.return_order(order.pk, actor=pharmacist, expected_version=order.version, reason="no rate")
    fixed = services.amend_order(
        order.pk, actor=prescriber, expected_version=order.version, reason="add the rate", duration_minutes=240
    )
    assert "RATE_MISSING" not in {f.code for f in services.review(fixed).findings}


# --- severe allergies -------------------------------------------------------------------------------


@pytest.mark.parametrize("is_class", [False, True], ids=["box-left-at-its-default", "class-box-ticked"])
def test_penicillin_anaphylaxis_stops_a_penicillin_order_however_it_was_typed(
    patient, prescriber, pharmacist, is_class
):
    record_allergy(patient.pk, actor=prescriber, substance="Penicillin", severity="anaphylaxis", is_class=is_class)
    order = write(patient, prescriber, "piperacillin-tazobactam", "4.5 g", duration_minutes=30)
    with pytest.raises(Conflict) as refused:
        verify_with_every_reason(order, pharmacist)
    assert refused.value.details["findings"] == ["ALLERGY"]
    assert "penicillins" in refused.value.message and "exception" in refused.value.message


def test_a_cephalosporin_after_penicillin_anaphylaxis_is_a_cross_sensitivity_warning(patient, prescriber, pharmacist):
    record_allergy(patient.pk, actor=prescriber, substance="penicillin", severity="anaphylaxis")
    order = write(patient, prescriber, "cefazolin", "2 g", duration_minutes=30)
    [finding] = [f for f in services.review(order).findings if f.code == "ALLERGY"]
    assert finding.severity == "warning" and "cross-react" in finding.message
    assert verify_with_every_reason(order, pharmacist).status == OrderStatus.VERIFIED


def test_a_severe_reaction_typed_in_the_reaction_counts_as_severe(patient, prescriber, pharmacist):
    record_allergy(patient.pk, actor=prescriber, substance="carboplatin", severity="moderate", reaction="angioedema")
    order = write(patient, prescriber, "cisplatin", "50 mg", duration_minutes=60)
    with pytest.raises(Conflict):
        verify_with_every_reason(order, pharmacist)


def test_only_the_prescribers_documented_exception_lowers_a_severe_allergy_to_a_warning(
    patient, prescriber, pharmacist, client_for
):
    allergy = record_allergy(patient.pk, actor=prescriber, substance="penicillin", severity="anaphylaxis")
    order = write(patient, prescriber, "piperacillin-tazobactam", "4.5 g", duration_minutes=30)
    with pytest.raises(DomainError) as forbidden:
        services.document_allergy_exception(
            order.pk,
            actor=pharmacist,
            expected_version=order.version,
            allergy_id=allergy.pk,
            kind="prescriber_note",
            note="pharmacist tries to lift it",
        )
    assert forbidden.value.status == 403
    response = post(
        client_for(prescriber),
        f"/api/v1/orders/{order.pk}/allergy-exceptions",
        {
            "version": order.version,
            "allergy_id": allergy.pk,
            "kind": "desensitisation_protocol",
            "note": "12-step rapid desensitisation (Castells), ICU bed booked",
        },
    )
    assert response.status_code == 201, response.content
    assert AuditEvent.objects.filter(action="orders:allergy_exception:documented").count() == 1
    [finding] = [f for f in services.review(order).findings if f.code == "ALLERGY"]
    assert finding.severity == "warning" and "12-step rapid desensitisation" in finding.message
    assert verify_with_every_reason(order, pharmacist).status == OrderStatus.VERIFIED


def test_the_order_screen_offers_the_exception_to_the_prescriber_only(patient, prescriber, pharmacist, client_for):
    allergy = record_allergy(patient.pk, actor=prescriber, substance="penicillin", severity="anaphylaxis")
    order = write(patient, prescriber, "piperacillin-tazobactam", "4.5 g", duration_minutes=30)
    assert 'id="allergy-exception"' not in client_for(pharmacist).get(f"/orders/{order.pk}/").content.decode()
    client = client_for(prescriber)
    page = client.get(f"/orders/{order.pk}/").content.decode()
    assert 'id="allergy-exception"' in page
    short = client.post(
        f"/orders/{order.pk}/exception",
        {"version": order.version, "allergy": allergy.pk, "kind": "prescriber_note", "note": "ok"},
    )
    assert short.status_code == 422 and "at least 10 characters" in short.content.decode()
    assert not AllergyException.objects.exists()
    done = client.post(
        f"/orders/{order.pk}/exception",
        {
            "version": order.version,
            "allergy": allergy.pk,
            "kind": "prescriber_note",
            "note": "no alternative for this pseudomonas; benefit outweighs the risk",
        },
    )
    assert done.status_code == 302
    assert f'id="allergy-exception-{allergy.pk}"' in client.get(f"/orders/{order.pk}/").content.decode()


# --- dates that cannot be right ----------------------------------------------------------------------


def test_a_plan_starting_in_1999_or_an_order_a_year_and_a_half_ahead_is_refused(patient, prescriber, client_for):
    with pytest.raises(InvalidInput) as refused:
        start_plan(prescriber, patient, cycles=1, start=dt.date(1999, 5, 4))
    assert refused.value.code == "TOO_FAR_BACK"
    far = timezone.now() + dt.timedelta(days=550)
    response = post(
        client_for(prescriber), "/api/v1/orders", order_body(patient, "ondansetron", "8 mg") | {"planned_start": far}
    )
    assert response.status_code == 422 and response.json()["code"] in ("FUTURE_DATE", "FUTURE_TIME")
    naive = (timezone.now() + dt.timedelta(hours=2)).replace(tzinfo=None).isoformat(timespec="minutes")
    response = post(
        client_for(prescriber), "/api/v1/orders", order_body(patient, "ondansetron", "8 mg") | {"planned_start": naive}
    )
    assert response.status_code == 422 and response.json()["code"] == "TIME_WITHOUT_ZONE"
    assert not Order.objects.filter(patient=patient).exists()


def test_whoever_documented_the_exception_cannot_also_verify_the_order(
    patient, prescriber, prescribing_pharmacist, pharmacist
):
    """Separation of duties: the exception lifts a hard stop, so its author is not the independent check."""
    allergy = record_allergy(patient.pk, actor=prescriber, substance="penicillin", severity="anaphylaxis")
    order = write(patient, prescriber, "piperacillin-tazobactam", "4.5 g", duration_minutes=30)
    services.document_allergy_exception(
        order.pk,
        actor=prescribing_pharmacist,
        expected_version=order.version,
        allergy_id=allergy.pk,
        kind="desensitisation_protocol",
        note="12-step rapid desensitisation, ICU bed booked",
    )
    with pytest.raises(DomainError) as refused:
        verify_with_every_reason(order, prescribing_pharmacist)
    assert refused.value.code == "SAME_PERSON" and "allergy exception" in refused.value.message
    assert verify_with_every_reason(order, pharmacist).status == OrderStatus.VERIFIED


def test_an_exception_is_only_for_an_allergy_that_stops_the_order(patient, prescriber):
    mild = record_allergy(patient.pk, actor=prescriber, substance="penicillin", severity="mild")
    order = write(patient, prescriber, "piperacillin-tazobactam", "4.5 g", duration_minutes=30)
    with pytest.raises(Conflict) as refused:
        services.document_allergy_exception(
            order.pk,
            actor=prescriber,
            expected_version=order.version,
            allergy_id=mild.pk,
            kind="prescriber_note",
            note="not needed for a mild rash",
        )
    assert refused.value.code == "NOT_NEEDED"
    assert not AllergyException.objects.exists()


def test_a_flat_dose_of_a_drug_dosed_by_body_size_needs_the_measurements(library, prescriber, pharmacist, site):
    """The probe: oxaliplatin 1500 mg on a chart with no height gave no finding."""
    patient = chart(prescriber, site, height=None)
    order = write(patient, prescriber, "oxaliplatin", "1500 mg", duration_minutes=120)
    with pytest.raises(Conflict) as refused:
        verify_with_every_reason(order, pharmacist)
    assert "MEASUREMENT_MISSING" in refused.value.details["findings"]
    assert "no height" in refused.value.message
