"""A weight far from the patient's previous one is a probable slip (pounds typed as kilograms, a
digit too many, another patient's scale ticket): it is refused until the person confirms they
re-measured, and the confirmation is audited. Through the service, the API and the chart screen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from openinfusion.audit.models import AuditEvent
from openinfusion.errors import InvalidInput
from openinfusion.patients import services
from openinfusion.patients.models import Measurement

pytestmark = pytest.mark.django_db

DAY = dt.timedelta(days=1)


def weigh(actor, patient, text: str, taken_at: dt.datetime | None = None, **extra) -> Measurement:
    return services.record_measurement(patient.pk, actor=actor, kind="weight", text=text, taken_at=taken_at, **extra)


def weights() -> list[Decimal]:
    return [row.value for row in Measurement.objects.filter(kind="weight").order_by("taken_at", "id")]


def refused(action: str = "patients:measurement:record") -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action, outcome="refused"))


# --- the service ----------------------------------------------------------------------------------


def test_154_kg_the_day_after_70_kg_is_refused_until_remeasured(patient, nurse):
    """154 is 70 kg in pounds: the message offers “154 lb”. Nothing is saved until the nurse confirms."""
    weigh(nurse, patient, "70 kg", timezone.now() - DAY)
    with pytest.raises(InvalidInput) as caught:
        weigh(nurse, patient, "154 kg")
    error = caught.value
    assert error.code == "WEIGHT_JUMP"
    assert "120 % more than the last weight, 70 kg" in error.message
    assert "“154 lb”" in error.message and "Nothing was saved" in error.message
    assert error.details["previous_kg"] == "70" and error.details["confirm"] == "confirm_unusual"
    assert weights() == [70]
    assert refused()[0].reason.startswith("WEIGHT_JUMP")

    confirmed = weigh(nurse, patient, "154 kg", confirm_unusual=True)
    assert weights() == [70, 154]
    event = AuditEvent.objects.get(action="patients:measurement:recorded", entity_id=str(confirmed.pk))
    assert [c["code"] for c in event.after["confirmed_unusual"]] == ["WEIGHT_JUMP"]
    assert "120 %" in event.after["confirmed_unusual"][0]["message"]


def test_104_8_to_150_kg_on_the_same_day_is_refused(patient, nurse):
    weigh(nurse, patient, "104.8 kg", timezone.now() - dt.timedelta(hours=3))
    with pytest.raises(InvalidInput) as caught:
        weigh(nurse, patient, "150 kg")
    assert caught.value.code == "WEIGHT_JUMP"
    assert "43 % more" in caught.value.message and "3 hours before" in caught.value.message
    assert weights() == [Decimal("104.8")]


def test_a_loss_beyond_the_share_is_refused_too(patient, nurse):
    """70 lb typed for 70 kg reads as 31.75 kg: less than half the last weight."""
    weigh(nurse, patient, "72 kg", timezone.now() - 2 * DAY)
    with pytest.raises(InvalidInput) as caught:
        weigh(nurse, patient, "70 lb")
    assert "56 % less" in caught.value.message and "“70 kg”" in caught.value.message


@pytest.mark.parametrize("text", ["77 kg", "63 kg", "75.5 kg"])
def test_a_change_within_ten_percent_in_a_week_needs_no_confirmation(patient, nurse, text):
    weigh(nurse, patient, "70 kg", timezone.now() - 6 * DAY)
    weigh(nurse, patient, text)
    assert len(weights()) == 2
    assert not refused()


@pytest.mark.parametrize(
    ("weeks_ago", "text", "saved"),
    [
        (4, "79 kg", True),  # +12.9 %: 4 weeks allow 10 % + 3 × 1 % = 13 %
        (4, "80 kg", False),  # +14.3 %
        (20, "87 kg", True),  # +24.3 %: at most 25 % however long ago
        (20, "88 kg", False),  # +25.7 %
        (52, "154 kg", False),  # pounds for kilograms is a slip at any distance
    ],
)
def test_the_share_allowed_grows_with_the_time_since_the_last_weight(patient, nurse, weeks_ago, text, saved):
    """10 % within a week, 1 % more for each further week, never more than 25 %."""
    weigh(nurse, patient, "70 kg", timezone.now() - weeks_ago * 7 * DAY)
    if saved:
        weigh(nurse, patient, text)
    else:
        with pytest.raises(InvalidInput, match="more than the"):
            weigh(nurse, patient, text)
    assert len(weights()) == (2 if saved else 1)


def test_a_correction_is_compared_with_the_weight_before_the_slip(patient, nurse):
    weigh(nurse, patient, "70 kg", timezone.now() - DAY)
    slip = weigh(nurse, patient, "154 kg", confirm_unusual=True)
    weigh(nurse, patient, "71 kg", corrects_id=slip.pk)  # no confirmation: 71 is near 70, not 154
    assert Measurement.objects.current().filter(kind="weight").count() == 2


def test_the_first_weight_and_heights_are_not_compared(patient, nurse):
    weigh(nurse, patient, "100 kg")
    services.record_measurement(patient.pk, actor=nurse, kind="height", text="180 cm")
    services.record_measurement(patient.pk, actor=nurse, kind="height", text="150 cm")
    assert Measurement.objects.count() == 3


def test_a_back_dated_weight_is_compared_with_the_one_before_it(patient, nurse):
    weigh(nurse, patient, "70 kg", timezone.now() - 10 * DAY)
    weigh(nurse, patient, "71 kg", timezone.now() - DAY)
    with pytest.raises(InvalidInput, match="70 kg"):
        weigh(nurse, patient, "90 kg", timezone.now() - 9 * DAY)


# --- the API --------------------------------------------------------------------------------------


def measure(client, patient, value: str, **extra):
    return client.post(
        f"/api/v1/patients/{patient.pk}/measurements",
        {"kind": "weight", "value": value, **extra},
        content_type="application/json",
    )


def test_the_api_refuses_a_jump_with_its_numbers_and_saves_it_once_confirmed(patient, nurse, client_for):
    client = client_for(nurse)
    yesterday = (timezone.now() - DAY).isoformat()
    assert measure(client, patient, "70 kg", taken_at=yesterday).status_code == 201

    response = measure(client, patient, "154 kg")
    assert response.status_code == 422, response.content
    body = response.json()
    assert body["code"] == "WEIGHT_JUMP"
    assert body["details"]["change_percent"] == "120" and body["details"]["allowed_percent"] == "10"
    assert body["details"]["confirm"] == "confirm_unusual"
    assert weights() == [70]

    assert measure(client, patient, "154 kg", confirm_unusual=True).status_code == 201
    assert weights() == [70, 154]


# --- the chart screen -----------------------------------------------------------------------------


def test_the_chart_shows_the_warning_keeps_the_value_and_asks_to_confirm(patient, nurse, client_for):
    weigh(nurse, patient, "70 kg", timezone.now() - DAY)
    client = client_for(nurse)
    response = client.post(f"/patients/{patient.pk}/measurements", {"kind": "weight", "value": "154 kg"})
    page = response.content.decode()
    assert response.status_code == 422, page[:300]
    assert 'data-code="WEIGHT_JUMP"' in page and "120 % more than the last weight" in page
    assert 'value="154 kg"' in page  # what was typed is still in the form
    assert 'name="confirm"' in page and "I re-measured" in page
    assert weights() == [70]

    saved = client.post(f"/patients/{patient.pk}/measurements", {"kind": "weight", "value": "154 kg", "confirm": "on"})
    assert saved.status_code == 302
    assert weights() == [70, 154]
    newest = Measurement.objects.latest("id")
    event = AuditEvent.objects.get(action="patients:measurement:recorded", entity_id=str(newest.pk))
    assert event.after["confirmed_unusual"][0]["code"] == "WEIGHT_JUMP"


def test_the_chart_asks_for_no_confirmation_before_a_warning(patient, nurse, client_for):
    page = client_for(nurse).get(f"/patients/{patient.pk}/").content.decode()
    assert 'name="confirm"' not in page  # nobody ticks "re-measured" before there is a reason to
