"""A year of generated history on top of the demo, for ``openinfusion bench load``.

The demo is built through its own code path (``openinfusion.demo.load_demo``, i.e. the services).
The history on top is written with ``bulk_create``, because a million audit events through
``audit.services.record`` (one transaction and one locked chain-head update each) would take hours:

- patients (with a height and a weight each), orders and preparations of the past year, all in
  finished states (orders administered or cancelled, preparations approved), so today's queues stay
  the demo's while the tables behind them hold a year;
- audit events for that history, in time order over the year, appended to the chain exactly as
  ``record()`` appends one: each event gets the next id, ``prev_hash`` = the head's hash and
  ``hash = chain.link_hash(prev_hash, fields)`` over the same fields ``record()`` hashes
  (``audit.services.event_fields``); every batch is one transaction that locks the chain head,
  inserts the batch and moves the head on. The chain verifier then walks the result.

Everything random comes from one ``random.Random(seed)``: the same seed and scale give the same
rows (timestamps are relative to the moment the build starts).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from openinfusion.accounts.models import Site, User
from openinfusion.audit import chain
from openinfusion.audit.models import AuditChainHead, AuditEvent
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.formulary.models import Drug
from openinfusion.inventory.models import Location
from openinfusion.orders.models import Order, OrderStatus
from openinfusion.patients.models import Measurement, Patient

FULL_SCALE = {"patients": 3000, "orders": 4600, "preparations": 4420, "audit_events": 1_000_000}
"""What ``--scale 1.0`` builds (a year of a mid-sized infusion pharmacy)."""
BATCH = 5000
HISTORY_SITES = ("main-pharmacy", "infusion-center")
ORDER_ACTIONS = (
    ("orders:order:created", "prescriber"),
    ("orders:order:submitted", "prescriber"),
    ("orders:order:verified", "pharmacist"),
)
PREPARATION_ACTIONS = (
    ("compounding:preparation:planned", "technician"),
    ("compounding:preparation:started", "technician"),
    ("compounding:step:scanned", "technician"),
    ("compounding:step:weighed", "technician"),
    ("compounding:step:scanned", "technician"),
    ("compounding:step:weighed", "technician"),
    ("compounding:preparation:completed", "technician"),
    ("compounding:preparation:checked", "pharmacist2"),
    ("administration:dose:dispensed", "technician"),
    ("administration:infusion:started", "nurse"),
    ("administration:infusion:ended", "nurse"),
)
OTHER_ACTIONS: tuple[tuple[str, str | None], ...] = (
    ("accounts:session:signed_in", None),
    ("accounts:session:signed_out", None),
    ("patients:measurement:recorded", "nurse"),
    ("patients:lab:recorded", "nurse"),
    ("scheduling:appointment:booked", "scheduler"),
    ("inventory:count:recorded", "inventory"),
)
SIGNERS = ("prescriber", "pharmacist", "pharmacist2", "technician", "nurse", "scheduler", "inventory", "quality")

Progress = Callable[[str], None]


@dataclass(frozen=True)
class HistorySize:
    patients: int
    orders: int
    preparations: int
    audit_events: int

    @classmethod
    def at(cls, scale: float) -> HistorySize:
        return cls(**{name: max(1, round(count * scale)) for name, count in FULL_SCALE.items()})


def build(scale: float, seed: int, progress: Progress) -> dict[str, Any]:
    """The demo, then a year of history at ``scale``; returns counts and seconds per phase."""
    from openinfusion.demo import load_demo

    size = HistorySize.at(scale)
    rng = random.Random(seed)  # noqa: S311 - a reproducible history, not a secret
    phases: dict[str, Any] = {}
    now = timezone.now().replace(microsecond=0)
    start = now - dt.timedelta(days=365)

    with _phase("demo", phases, progress) as done:
        load_demo()
        done(AuditEvent.objects.count())
    people = {u.username: u for u in User.objects.filter(username__in=SIGNERS)}
    sites = list(Site.objects.filter(code__in=HISTORY_SITES).order_by("code"))
    with _phase("patients", phases, progress) as done:
        patients = _patients(size.patients, sites, people, start, rng)
        done(len(patients))
    with _phase("orders", phases, progress) as done:
        orders = _orders(size.orders, patients, people, start, now, rng)
        done(len(orders))
    with _phase("preparations", phases, progress) as done:
        preparations = _preparations(size.preparations, orders, people)
        done(len(preparations))
    with _phase("audit events", phases, progress) as done:
        written = _audit_events(size.audit_events, patients, orders, preparations, people, start, now, rng, progress)
        done(written)
    with _phase("planner statistics", phases, progress) as done:
        analyze()
        done(1)
    return {"size": size.__dict__, "phases": phases, "audit_events_total": AuditEvent.objects.count()}


def analyze() -> None:
    """Gather the planner's statistics, as autovacuum would in the minutes after a bulk load (and as
    an operator runs after a restore): without them PostgreSQL guesses a handful of rows per filter
    and an audit search falls back to sorting every match (0.2–2 s at 1 million events instead of
    under 11 ms)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


class _phase:
    """Times one phase and prints ``phase: N rows in S s`` on the progress line."""

    def __init__(self, name: str, into: dict[str, Any], progress: Progress) -> None:
        self.name, self.into, self.progress = name, into, progress
        self.count = 0

    def __enter__(self) -> Callable[[int], None]:
        self.started = time.perf_counter()
        self.progress(f"history: {self.name} ...")

        def done(count: int) -> None:
            self.count = count

        return done

    def __exit__(self, *exc: object) -> None:
        seconds = time.perf_counter() - self.started
        self.into[self.name] = {"rows": self.count, "seconds": round(seconds, 2)}
        self.progress(f"history: {self.name}: {self.count:,} in {seconds:.1f} s")


def _patients(
    count: int, sites: list[Site], people: dict[str, User], start: dt.datetime, rng: random.Random
) -> list[Patient]:
    nurse = people["nurse"]
    rows = [
        Patient(
            site=sites[n % len(sites)],
            mrn=f"H{n + 1:07d}",
            family_name=rng.choice(FAMILY_NAMES),
            given_name=rng.choice(GIVEN_NAMES),
            birth_date=dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(0, 365 * 60)),
            sex=rng.choice("FM"),
            created_at=start + dt.timedelta(minutes=rng.randrange(0, 60 * 24 * 300)),
            created_by=nurse,
        )
        for n in range(count)
    ]
    Patient.objects.bulk_create(rows, batch_size=BATCH)
    patients = list(Patient.objects.filter(mrn__startswith="H").order_by("pk"))
    measurements = []
    for patient in patients:
        height = Decimal(rng.randrange(150, 195))
        weight = Decimal(rng.randrange(50, 100))
        for kind, value, unit in (("height", height, "cm"), ("weight", weight, "kg")):
            measurements.append(
                Measurement(
                    patient=patient,
                    kind=kind,
                    value=value,
                    unit=unit,
                    taken_at=patient.created_at,
                    recorded_at=patient.created_at,
                    recorded_by=nurse,
                )
            )
    Measurement.objects.bulk_create(measurements, batch_size=BATCH)
    return patients


def _orders(
    count: int,
    patients: list[Patient],
    people: dict[str, User],
    start: dt.datetime,
    now: dt.datetime,
    rng: random.Random,
) -> list[Order]:
    drugs = list(Drug.objects.exclude(category="base_solution").order_by("key")[:20])
    span = (now - dt.timedelta(days=2) - start).total_seconds()
    planned = sorted(start + dt.timedelta(seconds=rng.uniform(0, span)) for _ in range(count))
    rows = []
    for n, when in enumerate(planned):
        patient = patients[rng.randrange(len(patients))]
        cancelled = rng.random() < (1 - FULL_SCALE["preparations"] / FULL_SCALE["orders"])
        rows.append(
            Order(
                site_id=patient.site_id,
                patient=patient,
                drug=drugs[n % len(drugs)],
                dose=Decimal(rng.choice((50, 100, 150, 200, 500, 1000))),
                dose_unit="mg",
                route="IV",
                planned_start=when,
                prescriber=people["prescriber"],
                status=OrderStatus.CANCELLED if cancelled else OrderStatus.ADMINISTERED,
                created_at=when - dt.timedelta(days=2),
                verified_by=people["pharmacist"],
                verified_at=when - dt.timedelta(days=1),
                note="history",
            )
        )
    Order.objects.bulk_create(rows, batch_size=BATCH)
    return list(Order.objects.filter(note="history").order_by("pk"))


def _preparations(count: int, orders: list[Order], people: dict[str, User]) -> list[Preparation]:
    rooms = {loc.site_id: loc for loc in Location.objects.filter(kind="clean_room").order_by("-pk")}
    any_room = Location.objects.order_by("pk").first()
    if any_room is None:
        return []
    given = [o for o in orders if o.status == OrderStatus.ADMINISTERED]
    chosen = (given + [o for o in orders if o.status != OrderStatus.ADMINISTERED])[:count]
    rows = []
    for order in chosen:
        made = order.planned_start - dt.timedelta(hours=2)
        rows.append(
            Preparation(
                site_id=order.site_id,
                order=order,
                room=rooms.get(order.site_id, any_room),
                plan={"history": True},
                status=PreparationStatus.APPROVED,
                needed_by=order.planned_start,
                planned_at=made - dt.timedelta(hours=1),
                planned_by=people["technician"],
                started_at=made - dt.timedelta(minutes=40),
                prepared_by=people["technician"],
                completed_at=made - dt.timedelta(minutes=10),
                bud=made + dt.timedelta(hours=24),
                checked_by=people["pharmacist2"],
                checked_at=made,
            )
        )
    Preparation.objects.bulk_create(rows, batch_size=BATCH)
    return list(Preparation.objects.filter(order__note="history").order_by("pk"))


def _event_specs(
    count: int,
    patients: list[Patient],
    orders: list[Order],
    preparations: list[Preparation],
    people: dict[str, User],
    rng: random.Random,
) -> Iterator[dict[str, Any]]:
    """What happened, in no particular order: each order's and preparation's lifecycle, then
    sign-ins, observations, bookings and counts until there are ``count`` events."""
    made = 0
    prepared = {p.order_id: p for p in preparations}
    for order in orders:
        entities: list[tuple[str, str, Order | Preparation, str]] = [
            (a, who, order, "orders.order") for a, who in ORDER_ACTIONS
        ]
        preparation = prepared.get(order.pk)
        if preparation is not None:
            entities += [(a, who, preparation, "compounding.preparation") for a, who in PREPARATION_ACTIONS]
        for action, who, entity, label in entities:
            if made >= count:
                return
            made += 1
            yield {
                "action": action,
                "actor": people[who],
                "entity_type": label,
                "entity_id": str(entity.pk),
                "site_id": order.site_id,
                "patient_id": str(order.patient_id),
                "after": {"status": action.rsplit(":", 1)[1], "drug_id": order.drug_id, "dose": order.dose},
            }
    while made < count:
        other, doer = OTHER_ACTIONS[rng.randrange(len(OTHER_ACTIONS))]
        actor = people[doer or SIGNERS[rng.randrange(len(SIGNERS))]]
        patient = patients[rng.randrange(len(patients))] if doer in ("nurse", "scheduler") else None
        made += 1
        yield {
            "action": other,
            "actor": actor,
            "entity_type": "patients.patient" if patient else "accounts.user",
            "entity_id": str(patient.pk if patient else actor.pk),
            "site_id": patient.site_id if patient else None,
            "patient_id": str(patient.pk) if patient else "",
            "after": {"value": str(rng.randrange(40, 120))} if patient else None,
        }


def _audit_events(
    count: int,
    patients: list[Patient],
    orders: list[Order],
    preparations: list[Preparation],
    people: dict[str, User],
    start: dt.datetime,
    now: dt.datetime,
    rng: random.Random,
    progress: Progress,
) -> int:
    specs = list(_event_specs(count, patients, orders, preparations, people, rng))
    rng.shuffle(specs)
    span_us = int((now - dt.timedelta(hours=1) - start).total_seconds() * 1_000_000)
    offsets = sorted(rng.randrange(span_us) for _ in specs)
    started = time.perf_counter()
    for first in range(0, len(specs), BATCH):
        with transaction.atomic():
            head = AuditChainHead.objects.select_for_update().filter(pk=1).first()
            if head is None:
                AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": chain.GENESIS_HASH})
                head = AuditChainHead.objects.select_for_update().get(pk=1)
            prev_hash, next_id = head.last_hash, head.last_event_id + 1
            rows = []
            for spec, offset in zip(specs[first : first + BATCH], offsets[first : first + BATCH], strict=True):
                actor = spec["actor"]
                event = AuditEvent(
                    id=next_id,
                    at=start + dt.timedelta(microseconds=offset),
                    actor=actor,
                    actor_username=actor.username,
                    site_id=spec["site_id"],
                    action=spec["action"],
                    outcome="done",
                    entity_type=spec["entity_type"],
                    entity_id=spec["entity_id"],
                    patient_id=spec["patient_id"],
                    before=None,
                    after=chain.jsonable(spec["after"]) if spec["after"] is not None else None,
                    reason="",
                    signature_meaning="",
                    request_id="",
                    prev_hash=prev_hash,
                )
                # The same fields and the same function as audit.services.record().
                event.hash = chain.link_hash(prev_hash, {name: getattr(event, name) for name in chain.CHAINED_FIELDS})
                rows.append(event)
                prev_hash, next_id = event.hash, next_id + 1
            AuditEvent.objects.bulk_create(rows)
            AuditChainHead.objects.filter(pk=head.pk).update(
                last_event_id=next_id - 1, last_hash=prev_hash, count=head.count + len(rows)
            )
        done = first + len(rows)
        if done % (BATCH * 20) == 0 or done == len(specs):
            progress(f"history: audit events {done:,} / {len(specs):,} in {time.perf_counter() - started:.1f} s")
    return len(specs)


FAMILY_NAMES = (
    "Garcia", "Smith", "Nguyen", "Okafor", "Kowalski", "Haddad", "Lindqvist", "Sato", "Moreau", "Ortiz",
    "Becker", "Raman", "Varga", "Achebe", "Lund", "Rossi", "Kim", "Novak", "Silva", "Murphy",
)  # fmt: skip
GIVEN_NAMES = (
    "Ana", "Ben", "Chen", "Dara", "Eli", "Fatima", "Gus", "Hana", "Ivan", "Jo",
    "Kofi", "Lea", "Mina", "Noor", "Otto", "Pia", "Ravi", "Sara", "Tariq", "Uma",
)  # fmt: skip
