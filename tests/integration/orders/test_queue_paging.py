"""The queues page by keyset: a screen shows the first 50 to act on and "Later" walks the rest, each
order exactly once and in the queue's order, without counting or skipping a year of rows."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from tests.integration.orders.test_queue_budget import waiting_plans

from openinfusion.orders.models import Order, OrderStatus
from openinfusion.paging import QUEUE_PAGE, capped_count

pytestmark = pytest.mark.django_db

ROW = re.compile(r'<tr data-order="(\d+)">')
LATER = re.compile(r'<a rel="next" href="\?(after=\d+)">')


def queue_order() -> list[int]:
    """What the queue must show: planned start, then priority, then sequence, then id."""
    waiting = Order.objects.filter(status__in=(OrderStatus.SUBMITTED, OrderStatus.ON_HOLD))
    return list(waiting.order_by("planned_start", "priority", "sequence", "id").values_list("id", flat=True))


@pytest.fixture
def backlog(library, prescriber, site):
    """Nine mFOLFOX6 cycles (54 orders) waiting, some sharing a planned start; one made stat."""
    waiting_plans(prescriber, site, 9)
    stat = Order.objects.filter(status=OrderStatus.SUBMITTED).order_by("-id").first()
    Order.objects.filter(pk=stat.pk).update(priority=1)
    assert len(queue_order()) > QUEUE_PAGE
    return stat


def test_the_screen_shows_a_page_and_later_walks_every_order_once_in_order(backlog, pharmacist, client_for):
    client = client_for(pharmacist)
    shown: list[int] = []
    path = "/orders/verify/"
    pages = 0
    while path:
        body = client.get(path).content.decode()
        rows = [int(pk) for pk in ROW.findall(body)]
        assert 0 < len(rows) <= QUEUE_PAGE
        shown += rows
        pages += 1
        later = LATER.search(body)
        path = f"/orders/verify/?{later.group(1)}" if later else ""
        if pages == 1:
            assert f"{len(queue_order())} waiting" in body and later is not None
        else:
            assert "← First page" in body
    assert shown == queue_order() and pages == -(-len(shown) // QUEUE_PAGE) > 1


def test_a_stat_order_goes_before_routine_ones_planned_at_the_same_time(backlog, pharmacist, client_for):
    same_time = Order.objects.filter(status=OrderStatus.SUBMITTED, planned_start=backlog.planned_start)
    assert same_time.count() > 1
    order = queue_order()
    assert order.index(backlog.pk) == min(order.index(o.pk) for o in same_time)


def test_the_api_walks_the_queue_by_its_link_header(backlog, pharmacist, client_for):
    client = client_for(pharmacist)
    seen: list[int] = []
    path = "/api/v1/verification-queue?limit=7"
    while path:
        response = client.get(path)
        assert response.status_code == 200
        seen += [o["id"] for o in response.json()]
        link = response.headers.get("Link", "")
        path = link[1 : link.index(">")] if link else ""
    assert seen == queue_order()


def test_a_page_position_that_cannot_be_read_shows_the_first_page_and_says_so(backlog, pharmacist, client_for):
    body = client_for(pharmacist).get("/orders/verify/?after=12abc").content.decode()
    assert "Could not read the page position (after)" in body
    assert [int(pk) for pk in ROW.findall(body)] == queue_order()[:QUEUE_PAGE]
    assert client_for(pharmacist).get("/api/v1/verification-queue?after=0").status_code == 422


def test_an_order_verified_while_paging_drops_out_without_shifting_the_rest(backlog, pharmacist, client_for):
    """Keyset, not offset: acting on an order on page 1 neither hides nor repeats one on page 2."""
    client = client_for(pharmacist)
    first = client.get("/orders/verify/").content.decode()
    expected_later = queue_order()[QUEUE_PAGE : 2 * QUEUE_PAGE]
    Order.objects.filter(pk=int(ROW.findall(first)[0])).update(status=OrderStatus.VERIFIED)
    later = client.get(f"/orders/verify/?{LATER.search(first).group(1)}").content.decode()
    assert [int(pk) for pk in ROW.findall(later)] == expected_later


def test_a_count_stops_at_its_cap(backlog):
    waiting = Order.objects.filter(status=OrderStatus.SUBMITTED)
    assert capped_count(waiting, cap=10) == (10, True)
    assert capped_count(waiting, cap=1000) == (waiting.count(), False)
    assert capped_count(waiting.filter(planned_start__lt=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))) == (0, False)
