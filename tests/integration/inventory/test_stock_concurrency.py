"""Many technicians consuming one lot at once never drive it negative (reliability C1)."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import close_old_connections, connection
from django.db.models import Sum
from tests.clock import site_today
from tests.integration.conftest import TEST_NDC, gs1

from openinfusion.errors import DomainError
from openinfusion.inventory import scanning, services
from openinfusion.inventory.models import StockBalance, StockMovement

STOCK = 30


@pytest.mark.django_db(transaction=True)
def test_concurrent_consumers_never_take_more_than_is_on_hand(flushable_audit, make_user, product, store):
    tech = make_user("tech", "technician")
    package = scanning.from_scan(gs1(TEST_NDC, "CC-1", site_today(store) + dt.timedelta(days=60)))
    lot = services.receive_stock(actor=tech, package=package, location_id=store.pk, quantity=STOCK).lot
    workers = 12 if connection.vendor == "postgresql" else 6
    attempts_each = 6
    start = threading.Barrier(workers)
    taken: list[int] = []
    refused: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def consume(n: int) -> None:
        try:
            start.wait()
            for i in range(attempts_each):
                size = 1 + (n + i) % 3
                try:
                    services.consume_stock(
                        lot.pk, actor=tech, location_id=store.pk, quantity=size, reference=f"prep-{n}-{i}"
                    )
                    with lock:
                        taken.append(size)
                except DomainError as error:
                    with lock:
                        refused.append(error.code)
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=consume, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    balance = StockBalance.objects.get(lot=lot, location=store).quantity
    assert balance >= 0
    assert sum(taken) == STOCK - balance
    assert len(taken) + len(refused) == workers * attempts_each
    assert set(refused) <= {"INSUFFICIENT_STOCK"}
    assert StockMovement.objects.filter(lot=lot).aggregate(t=Sum("quantity"))["t"] == balance
    assert refused, "the test must drive the lot to exhaustion to prove the guard"
