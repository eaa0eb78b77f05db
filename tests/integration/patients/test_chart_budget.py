"""The patient chart costs the same few queries however long the patient's history: more plans,
orders, labs and measurements add rows to the page, never queries."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from tests.integration.orders.conftest import FRESH_LABS, chart, start_plan

from openinfusion.patients import services

pytestmark = pytest.mark.django_db

CHART_BUDGET = 16  # session, user, roles, sites, patient, labs, body size, diagnoses, allergies, plans, orders…


@pytest.fixture
def library(db):
    from openinfusion.formulary.importer import STARTER_FILES, import_formulary
    from openinfusion.orders.library import load_regimens

    import_formulary(STARTER_FILES, actor=None)
    load_regimens(actor=None)


def more_history(patient, prescriber, plans: int) -> None:
    """Each plan adds a cycle of orders, a weight and a fresh set of labs a day older than the last."""
    for n in range(plans):
        start_plan(prescriber, patient, cycles=1)
        services.record_measurement(patient.pk, actor=prescriber, kind="weight", text=f"{67 + n % 3} kg")
        taken = timezone.now() - dt.timedelta(days=n + 1)
        for test, (value, unit) in FRESH_LABS.items():
            services.record_lab(patient.pk, actor=prescriber, test=test, value=value, unit=unit, taken_at=taken)


def chart_queries(client, patient) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/patients/{patient.pk}/").status_code == 200
    return len(captured)


def test_the_chart_does_not_grow_its_queries_with_the_patients_history(library, prescriber, site, client_for):
    patient = chart(prescriber, site)
    client = client_for(prescriber)
    more_history(patient, prescriber, 1)
    client.get(f"/patients/{patient.pk}/")  # the first request of a session may renew it
    few = chart_queries(client, patient)
    more_history(patient, prescriber, 3)
    many = chart_queries(client, patient)
    assert many == few <= CHART_BUDGET, (few, many)
