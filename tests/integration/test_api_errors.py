"""The API never answers 500 to bad input or to a race: an integrity race is 409 and changes
nothing, a body over the upload limit is 413, and numbers that are not numbers, integers past what
a record holds, absurd ranges, over-long strings, NUL bytes and unknown choices are 422 naming the
field — on SQLite and on PostgreSQL (which refuses NUL and over-long text SQLite would store).
Anonymous calls are 401, not a CSRF 403."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from openinfusion.audit.models import AuditEvent
from openinfusion.patients.models import Patient

pytestmark = pytest.mark.django_db

NEW_PATIENT = {
    "mrn": "MRN-4004",
    "family_name": "Tanaka",
    "given_name": "Iris",
    "birth_date": "1971-02-14",
    "sex": "F",
}


@pytest.fixture
def prescriber(make_user):
    return make_user("prescriber", "prescriber")


@pytest.fixture
def api(prescriber, client_for) -> Client:
    return client_for(prescriber)


def post(client: Client, path: str, body: object):
    return client.post(path, body, content_type="application/json")


def refused_fields(response) -> set[str]:
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "VALIDATION_ERROR", body
    return {f["field"] for f in body["details"]["fields"]}


# --- integrity races --------------------------------------------------------------------------------


def test_a_unique_clash_the_check_did_not_see_is_409_and_saves_nothing(api, site, monkeypatch):
    """Two clerks create the same MRN at once: both checks pass, the second insert hits the unique
    constraint. The loser is told to reload, the winner's chart is untouched, nothing half-saved."""
    assert post(api, "/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT}).status_code == 201
    events = AuditEvent.objects.count()
    monkeypatch.setattr(Patient.objects, "filter", lambda *a, **k: Patient.objects.none())  # the race: check sees none

    response = post(api, "/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT, "given_name": "Other"})

    assert response.status_code == 409, response.content
    body = response.json()
    assert body["code"] == "SAVED_BY_SOMEONE_ELSE"
    assert "reload" in body["message"].lower()
    monkeypatch.undo()
    assert list(Patient.objects.values_list("given_name", flat=True)) == ["Iris"]
    assert AuditEvent.objects.count() == events
    assert post(api, "/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT, "mrn": "MRN-5005"}).status_code == 201


# --- bodies over the limit ----------------------------------------------------------------------------


def test_a_body_over_the_upload_limit_is_413_in_json(api, site, settings):
    body = json.dumps({"site_id": site.pk, **NEW_PATIENT, "home_address": "x" * 2_700_000})
    response = api.post("/api/v1/patients", body, content_type="application/json")
    assert response.status_code == 413, response.content
    assert response.json()["code"] == "BODY_TOO_LARGE"
    assert "MB" in response.json()["message"]
    assert not Patient.objects.exists()


# --- numbers ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["NaN", "nan", "Infinity", "-Infinity", "inf", "sNaN"])
def test_a_lab_value_that_is_not_a_finite_number_is_422(api, site, value):
    patient = post(api, "/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT}).json()
    response = post(api, f"/api/v1/patients/{patient['id']}/labs", {"test": "anc", "value": value, "unit": "10^9/L"})
    assert response.status_code == 422, response.content
    assert "value" in response.json()["message"]


@pytest.mark.parametrize("field", ["priority", "duration_minutes", "patient_id"])
def test_an_integer_past_64_bits_is_422_naming_the_field(api, field):
    order = {"patient_id": 1, "drug": "oxaliplatin", "dose": "85 mg/m2", "route": "IV"}
    order |= {"planned_start": "2026-12-07T10:30-05:00", field: 2**70}
    assert field in refused_fields(post(api, "/api/v1/orders", order))


def test_a_negative_duration_is_422(api):
    order = {"patient_id": 1, "drug": "oxaliplatin", "dose": "85 mg/m2", "route": "IV"}
    order |= {"planned_start": "2026-12-07T10:30-05:00", "duration_minutes": -15, "volume_ml": "NaN"}
    assert refused_fields(post(api, "/api/v1/orders", order)) == {"duration_minutes", "volume_ml"}


@pytest.mark.parametrize("days", ["6374580", "-1", "99999999999999999999999"])
def test_an_absurd_expiry_window_is_422(make_user, client_for, days):
    client = client_for(make_user("tech", "technician"))
    assert refused_fields(client.get(f"/api/v1/inventory/stock/expiring?days={days}")) == {"days"}


# --- strings and choices ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("mrn", "M" * 200),
        ("family_name", "x" * 1_000_000),
        ("given_name", "Iris\x00"),
        ("home_address", "1 Main St\x00"),
        ("sex", "banana"),
        ("care_setting", "moon"),
        ("pregnancy", "maybe"),
    ],
)
def test_an_over_long_nul_bearing_or_unknown_value_is_422_naming_the_field(api, site, field, value):
    response = post(api, "/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT, field: value})
    assert refused_fields(response) == {field}
    assert field in response.json()["message"]
    assert not Patient.objects.exists()


def test_a_nul_byte_anywhere_in_a_body_is_422(api):
    response = post(api, "/api/v1/orders", {"patient_id": 1, "drug": "oxali\x00platin", "dose": "1 mg", "route": "IV"})
    assert "drug" in refused_fields(response)


# --- who is calling -----------------------------------------------------------------------------------


def test_an_anonymous_post_is_401_not_a_csrf_403(site):
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT}, content_type="application/json"
    )
    assert response.status_code == 401, response.content
    assert response.json()["code"] == "NOT_AUTHENTICATED"


def test_a_signed_in_browser_post_without_its_csrf_token_is_still_403(api, site):
    client = api
    client.handler.enforce_csrf_checks = True
    response = client.post("/api/v1/patients", {"site_id": site.pk, **NEW_PATIENT}, content_type="application/json")
    assert response.status_code == 403
    assert not Patient.objects.exists()
