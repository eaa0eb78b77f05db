"""A recall trace over a year of stock movements answers within a second (issue 4's performance
promise): during a recall the pharmacist is on the phone with the manufacturer while it runs.

The year is written with ``bulk_create`` (the services would take minutes); it runs in the normal
suite on SQLite and PostgreSQL, so it carries no skip marker.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from openinfusion.clinical import codes
from openinfusion.formulary.models import Drug, Product
from openinfusion.inventory import queries
from openinfusion.inventory.models import Location, Lot, MovementKind, StockBalance, StockMovement

pytestmark = pytest.mark.django_db

PRODUCTS = 300
LOTS_PER_PRODUCT = 2
MOVEMENTS = 50_000
TARGET_CONSUMES = 150
BUDGET_SECONDS = 1.0


@pytest.fixture
def year_of_stock(make_user, site, other_site):
    """300 products, 600 lots, 8 locations at two sites, ~50,000 receive/consume/waste movements
    spread over 365 days; one target lot with known consumptions at both sites."""
    rng = random.Random(20260401)
    actor = make_user("bulk", "inventory", sites=("north", "south"))
    now = timezone.now()
    drugs = Drug.objects.bulk_create(
        Drug(key=f"bulk-drug-{i}", generic_name=f"bulkamycin {i}", category="antibiotic") for i in range(30)
    )
    ndcs = [f"99998-{i:03d}-{i % 100:02d}" for i in range(PRODUCTS)]
    products = Product.objects.bulk_create(
        Product(
            drug=drugs[i % len(drugs)],
            ndc11=codes.ndc_to_ndc11(ndc),
            ndc_labelled=ndc,
            gtin14=codes.ndc_to_gtin14(ndc),
            labeler="Bulk Labs",
            strength_amount=Decimal(100),
            strength_unit="mg",
            form="solution",
            container="single_dose_vial",
        )
        for i, ndc in enumerate(ndcs)
    )
    lots = Lot.objects.bulk_create(
        Lot(
            product=p,
            lot_number=f"B{p.pk}-{n}",
            expiry=(now + dt.timedelta(days=100 + n * 200)).date(),
            received_at=now - dt.timedelta(days=365),
        )
        for p in products
        for n in range(LOTS_PER_PRODUCT)
    )
    locations = Location.objects.bulk_create(
        Location(site=s, code=f"loc-{i}", name=f"{s.code} location {i}", kind="store")
        for s in (site, other_site)
        for i in range(4)
    )
    target = lots[len(lots) // 2]

    at_field = StockMovement._meta.get_field("at")
    no_serials = StockMovement._meta.get_field("serial_numbers").get_db_prep_value([], connection)

    def row(lot: Lot, location: Location, kind: str, quantity: int, seconds_ago: int, reference: str = "") -> tuple:
        at = at_field.get_db_prep_value(now - dt.timedelta(seconds=seconds_ago), connection)
        return (lot.pk, location.pk, kind, quantity, 0, at, actor.pk, "", reference, False, no_serials)

    others = [lot for lot in lots if lot.pk != target.pk]
    rows = []
    for _ in range(MOVEMENTS - TARGET_CONSUMES - 3):
        kind = rng.choice([MovementKind.RECEIVE, MovementKind.CONSUME, MovementKind.CONSUME, MovementKind.WASTE])
        consume = kind == MovementKind.CONSUME
        rows.append(
            row(
                rng.choice(others),
                rng.choice(locations),
                kind,
                rng.randint(1, 5) * (1 if kind == MovementKind.RECEIVE else -1),
                rng.randrange(365 * 86400),
                f"prep-{rng.randrange(20_000)}" if consume else "",
            )
        )
    year = 365 * 86400
    rows.append(row(target, locations[0], MovementKind.RECEIVE, 400, year))
    rows.append(row(target, locations[4], MovementKind.RECEIVE, 100, year))
    rows.append(row(target, locations[1], MovementKind.WASTE, -2, 200 * 86400))
    for i, second in enumerate(rng.sample(range(1, year - 86400), TARGET_CONSUMES)):
        rows.append(
            row(target, locations[i % len(locations)], MovementKind.CONSUME, -(1 + i % 2), second, f"prep-target-{i}")
        )
    rng.shuffle(rows)
    insert_movements(rows)
    StockBalance.objects.bulk_create(
        [
            StockBalance(lot=target, location=locations[0], quantity=7),
            StockBalance(lot=target, location=locations[4], quantity=3),
        ]
    )
    if connection.vendor == "postgresql":  # what autovacuum would have done over the year
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inventory_stockmovement")
    return target, locations


COLUMNS = (
    "lot_id, location_id, kind, quantity, balance_after, at, actor_id, reason, reference, manual_entry, serial_numbers"
)


def insert_movements(rows: list[tuple]) -> None:
    """Write the year in seconds, not minutes: COPY on PostgreSQL, multi-row INSERTs on SQLite
    (bulk_create spends most of its time building 50,000 model instances)."""
    if connection.vendor == "postgresql":
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(f"COPY inventory_stockmovement ({COLUMNS}) FROM STDIN") as copy,
        ):
            for r in rows:
                copy.write_row(r)
        return
    placeholders = "(" + ", ".join(["%s"] * 11) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            cursor.execute(
                f"INSERT INTO inventory_stockmovement ({COLUMNS}) VALUES " + ", ".join([placeholders] * len(chunk)),
                [value for r in chunk for value in r],
            )


def best_of_three(function):
    timings, result = [], None
    for _ in range(3):
        start = time.perf_counter()
        result = function()
        timings.append(time.perf_counter() - start)
    return min(timings), result


def test_a_recall_trace_over_a_year_of_movements_answers_within_a_second(year_of_stock, site, other_site):
    """During a recall every minute counts; the trace must stay fast as the ledger grows, and it
    must return exactly this lot's consumptions (no other lot's, none missing)."""
    target, _ = year_of_stock
    assert StockMovement.objects.count() == MOVEMENTS
    site_ids = {site.pk, other_site.pk}

    elapsed, trace = best_of_three(lambda: queries.trace_lot(target, site_ids))
    print(f"trace_lot over {MOVEMENTS} movements: best of 3 = {elapsed * 1000:.1f} ms ({connection.vendor})")
    assert elapsed < BUDGET_SECONDS, f"trace took {elapsed:.3f} s"

    expected = list(
        StockMovement.objects.filter(lot=target, kind=MovementKind.CONSUME).order_by("at").values_list("pk", flat=True)
    )
    assert len(expected) == TARGET_CONSUMES
    assert [m.pk for m in trace.consumed] == expected
    assert {m.reference for m in trace.consumed} == {f"prep-target-{i}" for i in range(TARGET_CONSUMES)}
    assert trace.received == 500 and trace.wasted == 2
    assert sorted((b.location.site_id, b.quantity) for b in trace.on_hand) == [(site.pk, 7), (other_site.pk, 3)]


def test_the_trace_is_limited_to_the_asking_sites(year_of_stock, site):
    """A user at one site sees that site's part of the trace only (multi-site isolation)."""
    target, locations = year_of_stock
    north = {loc.pk for loc in locations if loc.site_id == site.pk}
    trace = queries.trace_lot(target, {site.pk})
    assert trace.consumed and all(m.location_id in north for m in trace.consumed)
    assert (
        len(trace.consumed)
        == StockMovement.objects.filter(lot=target, kind=MovementKind.CONSUME, location__site=site).count()
    )
    assert trace.received == 400
