"""The scheduler's day board costs the same few queries however many visits the day holds (it ran
one site lookup per appointment: 127 queries on a busy day)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.integration.chairs.conftest import visit

from openinfusion.chairs.services import plan_day

pytestmark = pytest.mark.django_db

BOARD_BUDGET = 14  # measured 13: session, user, roles, sites, chairs, shifts, visits with their joins, plan, outages


def board_queries(client, centre, day) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/schedule/", {"site": centre.code, "date": day.isoformat()})
        assert response.status_code == 200
    return len(captured)


def test_the_day_board_does_not_grow_its_queries_with_its_visits(centre, day, patients, scheduler, client_for):
    client = client_for(scheduler)
    for i, p in enumerate(patients[:2]):
        visit(centre, p, day, earliest=dt.time(8 + i), latest=dt.time(13), minutes=90)
    plan_day(centre.pk, day, actor=scheduler, time_limit=1)
    client.get("/schedule/")  # the first request of a session may renew it
    few = board_queries(client, centre, day)
    for i, p in enumerate(patients[2:]):
        visit(centre, p, day, earliest=dt.time(8 + i % 3), latest=dt.time(14), minutes=60)
    plan_day(centre.pk, day, actor=scheduler, time_limit=1)
    many = board_queries(client, centre, day)
    assert many == few <= BOARD_BUDGET, (few, many)
