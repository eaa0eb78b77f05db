"""The verification queue costs the same few queries however many orders wait in it: an N+1 (one
diluent lookup per order made it 93 queries at 84 orders) cannot come back."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.integration.orders.conftest import chart, start_plan

from openinfusion.orders.services import submit_cycle

pytestmark = pytest.mark.django_db

QUEUE_SCREEN_BUDGET = 7  # measured 6: session, user, roles, sites, the queue with its joins, the shell
QUEUE_API_BUDGET = 6  # measured 5


def waiting_plans(prescriber, site, count: int, first: int = 0) -> None:
    for n in range(first, first + count):
        patient = chart(prescriber, site, mrn=f"MRN-Q{n:03d}")
        plan = start_plan(prescriber, patient, cycles=1)
        submit_cycle(plan.pk, actor=prescriber, cycle=1)


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
        assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(
    ("path", "budget"), [("/orders/verify/", QUEUE_SCREEN_BUDGET), ("/api/v1/verification-queue", QUEUE_API_BUDGET)]
)
def test_the_verification_queue_does_not_grow_its_queries_with_its_orders(
    library, prescriber, pharmacist, site, client_for, path, budget
):
    client = client_for(pharmacist)
    waiting_plans(prescriber, site, 1)
    client.get(path)  # the first request of a session may renew it
    few = queries(client, path)
    waiting_plans(prescriber, site, 3, first=1)
    many = queries(client, path)
    assert many == few <= budget, (few, many)
