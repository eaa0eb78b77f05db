"""Ordering from the chart, as a prescriber does it on the screen: a diagnosis recorded first, then a
single drug ordered for a date and time on the site's clock (North is on Chicago time), sent to
the pharmacist; a plan's first dose at the time chosen. A refused order keeps what was typed, says
why, and writes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.clock import site_today
from tests.integration.orders.conftest import SITE_ZONE, chart

from openinfusion.audit.models import AuditEvent
from openinfusion.orders.models import Order, OrderStatus, TreatmentPlan
from openinfusion.patients.models import Diagnosis

pytestmark = pytest.mark.django_db


def order_form(**changes: str) -> dict[str, str]:
    tomorrow = site_today(SITE_ZONE) + dt.timedelta(days=1)
    form = {
        "drug": "iron-sucrose",
        "dose": "200 mg",
        "route": "IV",
        "diluent": "sodium-chloride-0.9",
        "volume_ml": "100",
        "duration_minutes": "15",
        "date": tomorrow.isoformat(),
        "time": "10:30",
        "indication": "D50.9",
        "send": "on",
    }
    return form | changes


def test_a_prescriber_records_a_diagnosis_then_orders_one_drug_at_a_site_time(library, prescriber, site, client_for):
    patient = chart(prescriber, site, diagnosis=None)
    client = client_for(prescriber)
    page = client.get(f"/patients/{patient.pk}/").content.decode()
    assert 'id="single-order"' in page
    assert '<option value="iron-sucrose">iron sucrose — flat dose</option>' in page
    assert '<option value="sodium-chloride-0.9">sodium chloride 0.9%</option>' in page  # diluents by name

    response = client.post(f"/patients/{patient.pk}/diagnoses", {"code": "d50.9", "text": "Iron deficiency anaemia"})
    assert response.status_code == 302
    assert Diagnosis.objects.get(patient=patient).code == "D50.9"

    response = client.post(f"/orders/patients/{patient.pk}/orders", order_form())
    assert response.status_code == 302, response.content.decode()[:2000]
    order = Order.objects.get(patient=patient)
    assert order.status == OrderStatus.SUBMITTED and order.plan is None
    local = order.planned_start.astimezone(site.zone)
    assert (local.date(), local.hour, local.minute) == (site_today(SITE_ZONE) + dt.timedelta(days=1), 10, 30)
    assert (order.dose, order.dose_unit, order.diluent.key, order.duration_minutes) == (
        200,
        "mg",
        "sodium-chloride-0.9",
        15,
    )
    assert order.indication_code == "D50.9"
    assert list(
        AuditEvent.objects.filter(entity_id=str(order.pk), action__startswith="orders:order:").values_list(
            "action", flat=True
        )
    ) == ["orders:order:created", "orders:order:submitted"]
    shown = client.get(response["Location"]).content.decode()
    assert "sent to the pharmacist" in shown
    assert f"{local:%Y-%m-%d} 10:30 C" in shown  # CST or CDT: the site's clock, with its zone
    assert "UTC" not in shown


@pytest.mark.parametrize(
    ("changes", "code", "says"),
    [
        ({"time": "25:00"}, "INVALID_INPUT", "24-hour clock"),
        ({"volume_ml": "100,5"}, "INVALID_INPUT", "Type a point for decimals (100.5)"),
        ({"dose": ""}, "NOT_A_QUANTITY", "Nothing was typed"),
        ({"drug": "unobtainium"}, "UNKNOWN_DRUG", "not in the formulary"),
        ({"route": ""}, "MISSING_FIELD", "Give the route"),
    ],
)
def test_a_refused_order_writes_nothing_and_keeps_what_was_typed(patient, prescriber, client_for, changes, code, says):
    form = order_form(note="after lunch", **changes)
    response = client_for(prescriber).post(f"/orders/patients/{patient.pk}/orders", form)
    page = response.content.decode()
    assert response.status_code in (404, 422), page[:500]
    assert f'data-code="{code}"' in page and says in page
    assert 'value="after lunch"' in page  # what was typed is still in the form
    assert not Order.objects.filter(plan=None).exists()
    assert AuditEvent.objects.filter(action="orders:order:create", outcome="refused").count() == (
        0 if code in ("INVALID_INPUT",) else 1
    )


def test_a_time_the_clock_skips_is_refused_with_the_reason(patient, prescriber, client_for):
    """2027-03-14 02:30 does not exist in Chicago: clocks go from 02:00 to 03:00 (US DST rules)."""
    response = client_for(prescriber).post(
        f"/orders/patients/{patient.pk}/orders", order_form(date="2027-03-14", time="02:30")
    )
    assert response.status_code == 422
    assert "NO_SUCH_LOCAL_TIME" in response.content.decode() and "clocks go forward" in response.content.decode()
    assert not Order.objects.filter(plan=None).exists()


def test_a_plan_takes_the_first_dose_time_on_the_site_clock(patient, prescriber, client_for):
    start = site_today(SITE_ZONE) + dt.timedelta(days=2)
    response = client_for(prescriber).post(
        f"/orders/patients/{patient.pk}/plans",
        {
            "regimen": "mfolfox6",
            "start_date": start.isoformat(),
            "first_dose_at": "07:45",
            "cycles": "1",
            "indication": "C18.7",
        },
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    first = Order.objects.filter(plan=TreatmentPlan.objects.get()).order_by("planned_start").first()
    local = first.planned_start.astimezone(first.site.zone)
    assert (local.date(), local.hour, local.minute) == (start, 7, 45)


def test_only_a_prescriber_may_order_from_the_chart(patient, pharmacist, client_for):
    response = client_for(pharmacist).post(f"/orders/patients/{patient.pk}/orders", order_form())
    assert response.status_code == 403
    assert not Order.objects.filter(plan=None).exists()
