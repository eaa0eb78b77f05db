"""Times on the chart mean one instant: the API refuses a time without its UTC offset (it would be
read as UTC, hours off for the site), forms read times on the patient's site's clock and refuse a
time that clock skips, and a date implausibly far in the past or future for its field is refused.
Nothing is saved on a refusal, and the refusal is audited."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from openinfusion.audit.models import AuditEvent
from openinfusion.errors import InvalidInput
from openinfusion.patients import services
from openinfusion.patients.models import LabResult, Measurement, Patient

pytestmark = pytest.mark.django_db


def post(client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


def site_wall(site, moment: dt.datetime) -> str:
    """A moment as a datetime-local input sends it: the site's wall clock, no zone."""
    return f"{moment.astimezone(site.zone):%Y-%m-%dT%H:%M}"


def last_spring_forward(site) -> dt.date:
    """The latest day (today or before) on which the site's clocks went forward."""
    today = timezone.now().astimezone(site.zone).date()
    for back in range(400):
        day = today - dt.timedelta(days=back)
        midnight, noon = (dt.datetime.combine(day, dt.time(h), tzinfo=site.zone) for h in (0, 12))
        if noon.utcoffset() > midnight.utcoffset():  # type: ignore[operator]
            return day
    raise AssertionError("no spring-forward day in the last 400 days")


def nothing_saved() -> bool:
    return not Measurement.objects.exists() and not LabResult.objects.exists()


# --- a time without its zone ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("measurements", {"kind": "weight", "value": "70 kg"}),
        ("labs", {"test": "anc", "value": "3.1", "unit": "10^9/L"}),
    ],
)
def test_the_api_refuses_a_time_without_its_offset(patient, nurse, client_for, path, body):
    """“2026-06-09T09:30” would be read as 09:30 UTC, 05:30 in New York: refused, with the offset to give."""
    wall = (timezone.now() - dt.timedelta(hours=2)).astimezone(patient.site.zone)
    naive = f"{wall:%Y-%m-%dT%H:%M}"
    response = post(client_for(nurse), f"/api/v1/patients/{patient.pk}/{path}", {**body, "taken_at": naive})
    assert response.status_code == 422, response.content
    answer = response.json()
    assert answer["code"] == "TIME_WITHOUT_ZONE"
    assert wall.isoformat(timespec="minutes") in answer["message"]  # e.g. 2026-06-09T08:30-04:00
    assert nothing_saved()
    assert AuditEvent.objects.filter(outcome="refused", reason__startswith="TIME_WITHOUT_ZONE").count() == 1


def test_a_date_alone_is_not_a_time_taken(patient, nurse, client_for):
    today = f"{timezone.now().astimezone(patient.site.zone):%Y-%m-%d}"
    response = post(
        client_for(nurse),
        f"/api/v1/patients/{patient.pk}/labs",
        {"test": "anc", "value": "3.1", "unit": "10^9/L", "taken_at": today},
    )
    assert response.status_code == 422 and response.json()["code"] == "TIME_WITHOUT_ZONE"
    assert nothing_saved()


def test_a_time_with_its_offset_is_the_instant_it_names(patient, nurse, client_for):
    taken = (timezone.now() - dt.timedelta(hours=2)).astimezone(patient.site.zone).replace(second=0, microsecond=0)
    response = post(
        client_for(nurse),
        f"/api/v1/patients/{patient.pk}/labs",
        {"test": "anc", "value": "3.1", "unit": "10^9/L", "taken_at": taken.isoformat()},
    )
    assert response.status_code == 201, response.content
    assert LabResult.objects.get().taken_at == taken


def test_the_service_refuses_a_naive_time_from_any_caller(patient, nurse):
    with pytest.raises(InvalidInput) as caught:
        services.record_measurement(
            patient.pk, actor=nurse, kind="weight", text="70 kg", taken_at=dt.datetime(2026, 6, 9, 9, 30)
        )
    assert caught.value.code == "TIME_WITHOUT_ZONE" and "-04:00" in caught.value.message
    assert nothing_saved()


# --- forms: the site's clock ----------------------------------------------------------------------


def test_the_measurement_form_reads_the_time_taken_on_the_sites_clock(patient, nurse, client_for):
    taken = (timezone.now() - dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    response = client_for(nurse).post(
        f"/patients/{patient.pk}/measurements",
        {"kind": "weight", "value": "70 kg", "taken_at": site_wall(patient.site, taken)},
    )
    assert response.status_code == 302, response.content.decode()[:300]
    assert Measurement.objects.get().taken_at == taken


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("measurements", {"kind": "weight", "value": "70 kg"}),
        ("labs", {"test": "anc", "value": "3.1", "unit": "10^9/L"}),
    ],
)
def test_a_form_refuses_a_time_the_sites_clock_skips_and_keeps_what_was_typed(patient, nurse, client_for, path, form):
    """On the spring-forward night New York's clocks go from 01:59 to 03:00: 02:30 never happened."""
    gap = f"{last_spring_forward(patient.site):%Y-%m-%d}T02:30"
    response = client_for(nurse).post(f"/patients/{patient.pk}/{path}", {**form, "taken_at": gap})
    page = response.content.decode()
    assert response.status_code == 422, page[:300]
    assert 'data-code="NO_SUCH_LOCAL_TIME"' in page and "clocks go forward" in page
    assert f'value="{gap}"' in page and f'value="{form["value"]}"' in page
    assert nothing_saved()


# --- dates implausible for the field --------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("measurements", {"kind": "weight", "value": "70 kg"}),
        ("labs", {"test": "anc", "value": "3.1", "unit": "10^9/L"}),
    ],
)
@pytest.mark.parametrize(
    ("shift", "code"),
    [(dt.timedelta(days=-3 * 365), "TOO_FAR_BACK"), (dt.timedelta(hours=2), "FUTURE_TIME")],
)
def test_the_api_refuses_a_time_taken_implausibly_far_back_or_ahead(
    patient, nurse, client_for, path, body, shift, code
):
    taken = (timezone.now() + shift).isoformat()
    response = post(client_for(nurse), f"/api/v1/patients/{patient.pk}/{path}", {**body, "taken_at": taken})
    assert response.status_code == 422, response.content
    assert response.json()["code"] == code
    assert "Nothing was saved" in response.json()["message"]
    assert nothing_saved()


def test_a_lab_taken_in_1999_is_refused_on_the_chart_screen(patient, nurse, client_for):
    response = client_for(nurse).post(
        f"/patients/{patient.pk}/labs",
        {"test": "anc", "value": "3.1", "unit": "10^9/L", "taken_at": "1999-06-09T09:30"},
    )
    page = response.content.decode()
    assert response.status_code == 422, page[:300]
    assert 'data-code="TOO_FAR_BACK"' in page and "more than 2 years ago" in page
    assert nothing_saved()


def test_a_measurement_a_few_minutes_ahead_is_clock_difference_not_the_future(patient, nurse):
    services.record_measurement(
        patient.pk, actor=nurse, kind="weight", text="70 kg", taken_at=timezone.now() + dt.timedelta(minutes=3)
    )
    assert Measurement.objects.count() == 1


@pytest.mark.parametrize("years", [121, 150])
def test_a_birth_date_more_than_120_years_ago_is_refused(prescriber, site, client_for, years):
    born = timezone.now().astimezone(site.zone).date().replace(day=1) - dt.timedelta(days=round(years * 365.25))
    response = post(
        client_for(prescriber),
        "/api/v1/patients",
        {
            "site_id": site.pk,
            "mrn": "OLD-1",
            "family_name": "Old",
            "given_name": "Ada",
            "birth_date": f"{born}",
            "sex": "F",
        },
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "TOO_FAR_BACK" and "more than 120 years ago" in response.json()["message"]
    assert not Patient.objects.exists()
