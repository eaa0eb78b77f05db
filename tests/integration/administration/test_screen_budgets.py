"""The technician's work queue (screen and API) and the nurse's chair board cost the same few
queries however many doses they show: an N+1 cannot come back."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.integration.administration.conftest import dispense
from tests.integration.compounding.conftest import OXALIPLATIN_100, verified_order

from openinfusion.compounding import services as compounding

pytestmark = pytest.mark.django_db

# Measured at 1 and 4 doses on SQLite: 11, 6 and 9 queries; one spare each.
WORK_QUEUE_BUDGET = 12
WORK_QUEUE_API_BUDGET = 7
CHAIR_BOARD_BUDGET = 10


def queries(client, path: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(path).status_code == 200
    return len(captured)


@pytest.fixture
def more_vials(receive, hazardous_room):
    return receive(OXALIPLATIN_100, "OX-100-BUDGET", hazardous_room, quantity=12)


@pytest.mark.parametrize(
    ("path", "budget"),
    [("/compounding/", WORK_QUEUE_BUDGET), ("/api/v1/compounding/work-queue", WORK_QUEUE_API_BUDGET)],
)
def test_the_work_queue_does_not_grow_its_queries_with_its_doses(
    patient, prescriber, pharmacist, technician, stocked, more_vials, client_for, path, budget
):
    def planned(count: int) -> None:
        for n in range(count):
            order = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(hours=2 + n))
            compounding.plan_preparation(order.pk, actor=pharmacist)

    client = client_for(technician)
    planned(1)
    client.get(path)  # the first request of a session may renew it
    few = queries(client, path)
    planned(3)
    many = queries(client, path)
    assert many == few <= budget, (few, many)


def test_the_chair_board_does_not_grow_its_queries_with_its_doses(
    make_checked, more_vials, technician, nurse, client_for
):
    client = client_for(nurse)
    dispense(make_checked(), technician)
    client.get("/administration/")
    few = queries(client, "/administration/")
    for n in range(2):
        dispense(make_checked(starts_in=dt.timedelta(minutes=40 + 10 * n)), technician, place=f"Chair 0{n + 4}")
    many = queries(client, "/administration/")
    assert many == few <= CHAIR_BOARD_BUDGET, (few, many)


def test_the_work_queue_pages_by_needed_by_time_with_a_next_link(
    patient, prescriber, pharmacist, technician, stocked, more_vials, client_for
):
    from openinfusion.compounding.models import Preparation

    for n in (5, 2, 9, 2, 7):  # two needed at the same time
        order = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(hours=n))
        compounding.plan_preparation(order.pk, actor=pharmacist)
    client = client_for(technician)
    seen: list[int] = []
    path = "/api/v1/compounding/work-queue?limit=2"
    while path:
        response = client.get(path)
        seen += [p["id"] for p in response.json()]
        link = response.headers.get("Link", "")
        path = link[1 : link.index(">")] if link else ""
    assert seen == list(Preparation.objects.order_by("needed_by", "id").values_list("id", flat=True))
    assert len(seen) == 5
