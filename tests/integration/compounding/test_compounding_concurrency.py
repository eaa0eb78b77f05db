"""At once: two people starting the same preparation start it once; technicians scanning the last
packages of a lot take each package once and the lot never goes negative (row locks on PostgreSQL,
serialised writes on SQLite)."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import close_old_connections, connection
from django.db.models import Sum
from tests.integration.compounding.conftest import D5W_250, OXALIPLATIN_100, lot_scan, qualify, verified_order

from openinfusion.audit.models import AuditEvent
from openinfusion.compounding import services
from openinfusion.compounding.models import InterceptedError, Preparation, Scan
from openinfusion.errors import DomainError
from openinfusion.inventory.models import StockBalance, StockMovement

# serialized rollback restores the seeded roles that the flush after each transactional test empties
pytestmark = pytest.mark.django_db(transaction=True)


def race(attempts: list[Callable[[], object]]) -> list[str]:
    """Run the attempts in threads released together; each gives "ok" or the refusal's code."""
    start = threading.Barrier(len(attempts))
    outcomes: list[str] = [""] * len(attempts)
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            start.wait()
            try:
                attempts[n]()
                outcomes[n] = "ok"
            except DomainError as error:
                outcomes[n] = error.code
        except BaseException as error:
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return outcomes


def test_a_preparation_started_twice_at_once_is_started_once(committed_db, preparation, technician, second_technician):
    outcomes = race(
        [
            lambda: services.start_preparation(preparation.pk, actor=technician),
            lambda: services.start_preparation(preparation.pk, actor=second_technician),
        ]
    )
    assert sorted(outcomes) == ["WRONG_STATE", "ok"]
    started = Preparation.objects.get(pk=preparation.pk)
    winner = technician if outcomes[0] == "ok" else second_technician
    assert (started.status, started.prepared_by, started.version) == ("in_progress", winner, preparation.version + 1)
    assert AuditEvent.objects.filter(action="compounding:preparation:started").count() == 1
    assert AuditEvent.objects.filter(action="orders:order:preparing").count() == 1
    assert started.order.status == "preparing"


@pytest.mark.parametrize(("packages", "technicians"), [(1, 2), (2, 4)])
def test_technicians_scanning_the_last_packages_of_a_lot_take_each_once(
    committed_db,
    patient,
    prescriber,
    pharmacist,
    make_user,
    receive,
    hazardous_room,
    packages,
    technicians,
):
    lot = receive(OXALIPLATIN_100, "OX-LAST", hazardous_room, quantity=packages)
    receive(D5W_250, "D5-250-A", hazardous_room, quantity=technicians)
    starts = []
    for n in range(technicians):
        tech = make_user(f"tech-{n}", "technician")
        qualify(tech)
        order = verified_order(patient, prescriber, pharmacist)
        preparation = services.plan_preparation(order.pk, actor=pharmacist)
        services.start_preparation(preparation.pk, actor=tech)
        starts.append((preparation, tech))

    def scan(preparation: Preparation, tech) -> Callable[[], object]:
        return lambda: services.record_scan(preparation.pk, actor=tech, scan=lot_scan(lot, f"S{preparation.pk}"))

    outcomes = race([scan(p, t) for p, t in starts])
    assert sorted(outcomes) == ["INSUFFICIENT_STOCK"] * (technicians - packages) + ["ok"] * packages
    assert StockBalance.objects.get(lot=lot, location=hazardous_room).quantity == 0
    assert not StockBalance.objects.filter(quantity__lt=0).exists()
    assert StockMovement.objects.filter(lot=lot).aggregate(total=Sum("quantity"))["total"] == 0
    assert Scan.objects.filter(lot=lot).count() == packages
    losers = [p for (p, _), outcome in zip(starts, outcomes, strict=True) if outcome != "ok"]
    assert sorted(InterceptedError.objects.values_list("preparation_id", "code")) == sorted(
        (p.pk, "INSUFFICIENT_STOCK") for p in losers
    )
    for preparation in losers:
        assert preparation.steps.count() == 0
