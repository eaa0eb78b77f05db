"""The queues and the chair board keep themselves current: the page polls its own address every
30 s with htmx and gets back only the live part (rows and counts), never the page around it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from tests.integration.administration.conftest import dispense
from tests.integration.compounding.conftest import submitted_order, verified_order

from openinfusion.compounding import services as compounding

pytestmark = pytest.mark.django_db

SCREENS = [
    ("/orders/verify/", "pharmacist", "verification-queue"),
    ("/compounding/", "technician", "compounding-queue"),
    ("/administration/", "nurse", "chair-board-live"),
]


@pytest.fixture
def doses(patient, prescriber, pharmacist, technician, make_checked):
    """Two orders waiting for the pharmacist, one planned preparation, one dose on the chair board."""
    for hours in (4, 5):
        submitted_order(patient, prescriber, starts_in=dt.timedelta(hours=hours))
    planned = verified_order(patient, prescriber, pharmacist, starts_in=dt.timedelta(hours=3))
    compounding.plan_preparation(planned.pk, actor=pharmacist)
    dispense(make_checked(), technician)


def fetch(client, path: str, **headers: str) -> tuple[str, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path, **headers)
    assert response.status_code == 200
    return response.content.decode(), len(captured)


@pytest.mark.parametrize(("path", "role", "part"), SCREENS)
def test_a_refresh_returns_the_live_part_alone_with_fewer_queries(
    doses, path, role, part, pharmacist, technician, nurse, client_for
):
    person = {"pharmacist": pharmacist, "technician": technician, "nurse": nurse}[role]
    client = client_for(person)
    client.get(path)  # the first request of a session may renew it
    page, page_queries = fetch(client, path)
    assert f'id="{part}"' in page and 'hx-trigger="every 30s"' in page and f'hx-get="{path}"' in page
    refreshed, part_queries = fetch(client, path, HTTP_HX_REQUEST="true")
    assert refreshed.lstrip().startswith(f'<div id="{part}"') and refreshed.rstrip().endswith("</div>")
    assert "<html" not in refreshed and "Sign out" not in refreshed
    assert part_queries < page_queries and len(refreshed) < len(page)
    rows = page[page.index(f'id="{part}"') :]
    assert refreshed.count("<tr") == rows.count("<tr") > 1  # the same rows as the page shows
