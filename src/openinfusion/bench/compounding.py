"""Compounding throughput: how many preparations per minute the scan–weigh–check path sustains.

On its own site, with its own people, rooms, stock and one patient, the benchmark writes N verified
flat-dose orders through the real order services (not timed), then carries each one through the
whole path, timed: ``plan_preparation`` → ``walkthrough.prepare`` (start, every scan and weighing,
complete) → ``final_check`` (approved and signed by a second pharmacist) → ``label_pdf_for``.

The baseline, measured in the same run, is the floor of that path: the same number of audit
events and ledger movements, in the same number of transactions, written directly through
``audit.services.record`` and ``inventory.ledger.post_movement`` with no check at all. The ratio of
the two is what the safety checks (permissions, scans, lots, gravimetry, BUD, e-signature with the
password hashed again, label rendering) cost.

It needs a database without real data: it refuses one that has sites, patients or orders unless
``force`` is given, and what it writes stays (the audit trail is append-only).
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import secrets
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from unittest import mock

from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext, override_settings
from django.utils import timezone

from openinfusion.accounts.models import Site, User
from openinfusion.accounts.services import create_site, create_user
from openinfusion.audit.models import AuditEvent
from openinfusion.audit.services import record
from openinfusion.compounding import documents, services, walkthrough
from openinfusion.compounding.models import Preparation, Qualification, QualificationKind
from openinfusion.errors import Conflict, NotFound
from openinfusion.formulary.importer import STARTER_FILES, import_formulary
from openinfusion.formulary.models import Drug, Product
from openinfusion.inventory import scanning
from openinfusion.inventory.ledger import post_movement
from openinfusion.inventory.models import Location, LocationKind, Lot, MovementKind, StockMovement
from openinfusion.inventory.services import receive_stock
from openinfusion.orders import services as orders
from openinfusion.orders.models import Order
from openinfusion.patients import services as charts
from openinfusion.patients.models import Patient
from openinfusion.scheduling.metrics import percentile

FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
"""Setup only: the people who never sign in the timed path (prescriber, verifying pharmacist,
technician, clerk) get a fast hash, so N verifications do not spend N x ~0.3 s in Argon2. The
checker, who signs every final check in the timed path, keeps the configured hasher. Outside the
setup those fast hashes match no configured hasher, so those accounts cannot sign in at all."""
WARM_UP = 1
"""Preparations made first and left out of the figures (first queries, templates, fonts)."""

# Flat-dose stand-alone orders, used in turn: drug, dose, diluent, bag mL, minutes.
ORDERS = (
    ("oxaliplatin", "150 mg", "dextrose-5", 250, 120),  # hazardous, two solution vials (100 + 50 mg)
    ("vancomycin", "1250 mg", "sodium-chloride-0.9", 250, 90),  # powder: scan, reconstitute
    ("iron-sucrose", "200 mg", "sodium-chloride-0.9", 100, 30),  # one solution vial
)
RECONSTITUTION = ("sterile-water",)
LABS = (
    ("anc", "3.2", "10^9/L"),
    ("platelets", "240", "10^9/L"),
    ("hemoglobin", "12.8", "g/dL"),
    ("scr", "0.9", "mg/dL"),
    ("bilirubin", "0.6", "mg/dL"),
    ("ast", "24", "units/L"),
    ("alt", "21", "units/L"),
)

ANCHOR = {
    "citation": "Reece et al., Am J Health-Syst Pharm (AJHP) 2016;73(3):165-73, "
    "https://pubmed.ncbi.nlm.nih.gov/26796911/ (gravimetric i.v. workflow, oncology ambulatory pharmacy)",
    "published": "15,843 doses; 7% (1,126) errors caught during compounding (gravimetric 71%, barcode 26%, "
    "reconstitution 3%); technician time -34%, pharmacist check time -37% with the gravimetric workflow.",
    "minutes_per_dose": None,
    "note": "The paper as summarised in performance-anchors.md (A4) gives relative time savings, not "
    "technician minutes per dose. For scale only, the same file's generator uses 10-40 min per dose "
    "(section d.7, marked [assumption], not a published figure).",
    "assumed_minutes_per_dose": [10, 40],
}


class DatabaseNotEmpty(Conflict):
    code = "DATABASE_NOT_EMPTY"


@dataclass
class _World:
    site: Site
    technician: User
    checker: User
    password: str
    orders: list[int]
    floor_lot: Lot
    floor_location: Location


@dataclass
class _Sample:
    """One preparation carried through the path."""

    seconds: float
    queries: int
    audit_events: int
    movements: int
    transactions: int
    steps: dict[str, list[float]] = field(default_factory=dict)


# --- the database ---------------------------------------------------------------------------------


def database_has_data() -> bool:
    """True when the database holds sites, patients or orders (an empty, migrated one holds none)."""
    tables = set(connection.introspection.table_names())
    return any(model._meta.db_table in tables and model.objects.exists() for model in (Site, Patient, Order))


def refuse_real_data(force: bool) -> None:
    if not force and database_has_data():
        raise DatabaseNotEmpty(
            "This database already has sites, patients or orders. The benchmark writes its own site, "
            "patient, orders and audit events, which cannot be removed afterwards; run it on an empty "
            "database (OPENINFUSION_DATA_DIR=$(mktemp -d), or a scratch OPENINFUSION_DATABASE_URL), or "
            "pass --force to write into this one anyway."
        )


# --- setting up (not timed) -----------------------------------------------------------------------


def _setup(count: int) -> _World:
    """A site with rooms and stock, four people, one patient and ``count`` verified orders."""
    tag, password = secrets.token_hex(3), secrets.token_urlsafe(18)
    site = create_site(actor=None, code=f"bench-{tag}", name=f"Benchmark pharmacy {tag}", kind="hospital_pharmacy")

    def person(role: str, name: str) -> User:
        return create_user(
            actor=None,
            username=f"bench-{tag}-{name.lower()}",
            password=password,
            roles=[role],
            sites=[site.code],
            first_name="Bench",
            last_name=name,
        )

    checker = person("pharmacist", "Checker")
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        prescriber = person("prescriber", "Prescriber")
        pharmacist = person("pharmacist", "Verifier")
        technician = person("technician", "Technician")
        clerk = person("inventory", "Clerk")
    until = timezone.localdate() + dt.timedelta(days=365)
    for kind in (QualificationKind.STERILE, QualificationKind.HAZARDOUS):
        Qualification.objects.create(
            user=technician, kind=kind, valid_until=until, recorded_by=pharmacist, recorded_at=timezone.now()
        )
    if not Drug.objects.exists():
        import_formulary(STARTER_FILES, actor=None)
    missing = sorted({k for row in ORDERS for k in (row[0], row[2])} - set(Drug.objects.values_list("key", flat=True)))
    if missing:
        raise NotFound(f"The formulary has no {', '.join(missing)}; the benchmark needs them.", code="UNKNOWN_DRUG")
    rooms = {
        kind: Location.objects.create(site=site, code=f"bench-{kind}", name=f"Bench {kind}", kind=kind)
        for kind in (LocationKind.HAZARDOUS_BUFFER, LocationKind.CLEAN_ROOM, LocationKind.STORE)
    }
    _stock(clerk, rooms, count)
    patient = _patient(prescriber, site, tag)
    with override_settings(PASSWORD_HASHERS=FAST_HASHERS):
        order_ids = [_verified_order(prescriber, pharmacist, password, patient, n) for n in range(count)]
    floor_location = rooms[LocationKind.STORE]
    floor_lot = Lot.objects.filter(movements__location=floor_location).first()
    assert floor_lot is not None
    return _World(site, technician, checker, password, order_ids, floor_lot, floor_location)


def _stock(clerk: User, rooms: dict[LocationKind, Location], count: int) -> None:
    """Enough packages of every product of the ordered drugs in the room each is made in; diluents
    and bags in both rooms (every scanned package leaves the room's stock); and a store lot for the
    floor's ledger movements."""
    expiry = timezone.localdate() + dt.timedelta(days=400)
    drugs = {row[0] for row in ORDERS} | {row[2] for row in ORDERS} | set(RECONSTITUTION)
    products = Product.objects.filter(drug__key__in=drugs, active=True).select_related("drug").order_by("pk")
    for product in products:
        if product.drug.category == "base_solution":
            for kind in (LocationKind.HAZARDOUS_BUFFER, LocationKind.CLEAN_ROOM):
                _receive(clerk, product, rooms[kind], expiry, 2 * count + 5)
        else:
            room = rooms[LocationKind.HAZARDOUS_BUFFER if product.drug.hazardous else LocationKind.CLEAN_ROOM]
            _receive(clerk, product, room, expiry, 2 * count + 5)
    first = products.first()
    assert first is not None
    _receive(clerk, first, rooms[LocationKind.STORE], expiry, 60 * count + 60, lot="FLOOR")


def _receive(clerk: User, product: Product, room: Location, expiry: dt.date, quantity: int, lot: str = "") -> None:
    lot = f"BENCH{lot}{product.pk:04d}{room.pk:04d}"
    package = scanning.ScannedPackage(gtin14=product.gtin14, lot=lot, expiry=expiry, serial=f"S{lot}")
    receive_stock(actor=clerk, package=package, location_id=room.pk, quantity=quantity)


def _patient(prescriber: User, site: Site, tag: str) -> Patient:
    patient = charts.create_patient(
        actor=prescriber,
        site_id=site.pk,
        mrn=f"BENCH-{tag}",
        family_name="Benchmark",
        given_name="Pat",
        birth_date=dt.date(1961, 5, 17),
        sex="F",
    )
    taken = timezone.now() - dt.timedelta(hours=6)
    charts.record_measurement(patient.pk, actor=prescriber, kind="height", text="168 cm", taken_at=taken)
    charts.record_measurement(patient.pk, actor=prescriber, kind="weight", text="71 kg", taken_at=taken)
    for test, value, unit in LABS:
        charts.record_lab(patient.pk, actor=prescriber, test=test, value=value, unit=unit, taken_at=taken)
    return patient


def _verified_order(prescriber: User, pharmacist: User, password: str, patient: Patient, n: int) -> int:
    drug, dose, diluent, volume, minutes = ORDERS[n % len(ORDERS)]
    order = orders.create_order(
        patient.pk,
        actor=prescriber,
        drug_key=drug,
        dose=dose,
        route="IV",
        planned_start=timezone.now() + dt.timedelta(hours=2),
        diluent_key=diluent,
        volume_ml=Decimal(volume),
        duration_minutes=minutes,
    )
    order = orders.submit_order(order.pk, actor=prescriber, expected_version=order.version)
    review = orders.review(order)
    if review.hard_stops:
        raise Conflict(f"Benchmark order {drug} {dose} has a hard stop: {review.hard_stops[0].message}")
    # One patient with many orders of the same drug: duplicate-therapy warnings are expected.
    overrides = {f.code.value: "Benchmark order." for f in review.warnings}
    orders.verify_order(
        order.pk, actor=pharmacist, expected_version=order.version, password=password, overrides=overrides
    )
    return order.pk


# --- the path (timed) -----------------------------------------------------------------------------


class _TimedServices:
    """Stands in for ``compounding.services`` inside the walkthrough: the same functions, each
    call timed under the kind of step it does."""

    KINDS = {"start_preparation": "start", "complete_preparation": "complete"}

    def __init__(self, steps: dict[str, list[float]]) -> None:
        self.steps = steps
        self.next_kinds: deque[str] = deque()
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        real = getattr(services, name)
        if name not in ("start_preparation", "complete_preparation", "record_scan", "record_weighing"):
            return real

        def timed(*args: Any, **kwargs: Any) -> Any:
            kind = self.KINDS.get(name) or self.next_kinds.popleft()
            self.calls += 1
            with _timer(self.steps[kind]):
                return real(*args, **kwargs)

        return timed


@contextmanager
def _timer(into: list[float]) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        into.append(time.perf_counter() - start)


def _counts() -> tuple[int, int]:
    last_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
    last_movement = StockMovement.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return last_event, last_movement


def _new_rows(since: tuple[int, int]) -> tuple[int, int]:
    return (
        AuditEvent.objects.filter(id__gt=since[0]).count(),
        StockMovement.objects.filter(id__gt=since[1]).count(),
    )


def _one_preparation(world: _World, order_id: int) -> _Sample:
    steps: dict[str, list[float]] = defaultdict(list)
    proxy = _TimedServices(steps)
    before = _counts()
    writes = 0
    connection.queries_log.clear()  # the log keeps 9,000 queries; past that a capture counts wrong
    with CaptureQueriesContext(connection) as queries, mock.patch.object(walkthrough, "services", proxy):
        start = time.perf_counter()
        with _timer(steps["plan"]):
            preparation = services.plan_preparation(order_id, actor=world.technician)
        writes += 1
        if preparation.needs_release:
            with _timer(steps["release"]):
                services.release_to_compound(preparation.pk, actor=world.checker, reason="labs reviewed (benchmark)")
            writes += 1
        proxy.next_kinds.extend(step["kind"] for step in preparation.plan["steps"])
        with _timer(steps["prepare"]):
            preparation = walkthrough.prepare(preparation, world.technician)
        writes += proxy.calls
        with _timer(steps["final_check"]):
            services.final_check(preparation.pk, actor=world.checker, approve=True, password=world.password)
        writes += 1
        with _timer(steps["label"]):
            pdf = documents.label_pdf_for(world.checker, preparation.pk)
        seconds = time.perf_counter() - start
    assert pdf.startswith(b"%PDF"), "the label is a PDF"
    events, movements = _new_rows(before)
    # What the walkthrough spends outside the services: choosing the lot to scan (FEFO), reloading.
    inside = sum(sum(steps[k]) for k in steps if k not in ("plan", "release", "prepare", "final_check", "label"))
    steps["lot_pick"] = [steps.pop("prepare")[0] - inside]
    return _Sample(seconds, len(queries.captured_queries), events, movements, writes, dict(steps))


def _floor(world: _World, sample: _Sample, n: int) -> _Sample:
    """The same audit events and ledger movements in the same number of transactions, unchecked."""
    before = _counts()
    per, extra = divmod(sample.audit_events, sample.transactions)
    per_movement, extra_movements = divmod(sample.movements, sample.transactions)
    connection.queries_log.clear()
    with CaptureQueriesContext(connection) as queries:
        start = time.perf_counter()
        for t in range(sample.transactions):
            with transaction.atomic():
                for e in range(per + (t < extra)):
                    record(
                        "bench:floor:event",
                        actor=world.technician,
                        entity_type="bench.floor",
                        entity_id=n,
                        site=world.site,
                        after={"transaction": t, "event": e},
                    )
                for _ in range(per_movement + (t < extra_movements)):
                    post_movement(
                        world.floor_lot,
                        world.floor_location,
                        MovementKind.CONSUME,
                        -1,
                        actor=world.technician,
                        reference=f"bench-floor:{n}",
                    )
        seconds = time.perf_counter() - start
    events, movements = _new_rows(before)
    assert (events, movements) == (sample.audit_events, sample.movements)
    return _Sample(seconds, len(queries.captured_queries), events, movements, sample.transactions)


# --- the report -----------------------------------------------------------------------------------


def _ms(values: list[float]) -> dict[str, float]:
    return {
        "p50": round(percentile(values, 0.5) * 1000, 2),
        "p95": round(percentile(values, 0.95) * 1000, 2),
        "p99": round(percentile(values, 0.99) * 1000, 2),
        "mean": round(sum(values) / len(values) * 1000, 2),
    }


def _summary(samples: list[_Sample]) -> dict[str, Any]:
    seconds = sum(s.seconds for s in samples)
    n = len(samples)
    return {
        "seconds": round(seconds, 3),
        "preparations_per_minute": round(n / seconds * 60, 1),
        "per_preparation_ms": _ms([s.seconds for s in samples]),
        "queries_per_preparation": round(sum(s.queries for s in samples) / n, 1),
        "audit_events_per_preparation": round(sum(s.audit_events for s in samples) / n, 2),
        "ledger_movements_per_preparation": round(sum(s.movements for s in samples) / n, 2),
        "transactions_per_preparation": round(sum(s.transactions for s in samples) / n, 2),
    }


STEP_ORDER = (
    "plan",
    "release",
    "start",
    "scan_vial",
    "reconstitute",
    "weigh_draw",
    "scan_bag",
    "weigh_bag",
    "complete",
    "lot_pick",
    "final_check",
    "label",
)


def _database() -> str:
    version = ""
    if connection.vendor == "sqlite":
        import sqlite3

        version = sqlite3.sqlite_version
    elif connection.vendor == "postgresql":
        server = connection.cursor().connection.info.server_version
        version = f"{server // 10000}.{server % 10000}"
    return f"{connection.display_name} {version}".strip()


def run(
    preparations: int = 50, *, force: bool = False, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Set up, carry ``preparations`` orders through the path, then write the floor; the report."""
    if preparations < 1:
        raise ValueError("at least one preparation")
    refuse_real_data(force)
    say = progress or (lambda _: None)
    load = os.getloadavg()[0]
    started = time.perf_counter()
    say(f"Setting up {preparations + WARM_UP} verified orders…")
    world = _setup(preparations + WARM_UP)
    setup_seconds = time.perf_counter() - started
    say("Timing the path…")
    cpu = time.process_time()
    samples = [_one_preparation(world, order_id) for order_id in world.orders]
    path_cpu = time.process_time() - cpu
    say("Timing the floor…")
    cpu = time.process_time()
    floors = [_floor(world, sample, n) for n, sample in enumerate(samples)]
    floor_cpu = time.process_time() - cpu
    samples, floors = samples[WARM_UP:], floors[WARM_UP:]
    hashing: list[float] = []
    for _ in range(3):  # what re-entering the password costs inside every final check
        with _timer(hashing):
            assert world.checker.check_password(world.password)
    approved = Preparation.objects.filter(order_id__in=world.orders, status="approved").count()
    assert approved == preparations + WARM_UP, f"{approved} preparations approved"
    steps: dict[str, list[float]] = defaultdict(list)
    for sample in samples:
        for kind, values in sample.steps.items():
            steps[kind].extend(values)
    path, floor = _summary(samples), _summary(floors)
    # CPU of this process (the database server's, on PostgreSQL, is not in it), warm-up included:
    # less sensitive than wall time to other work on the machine.
    path["process_cpu_seconds"], floor["process_cpu_seconds"] = round(path_cpu, 2), round(floor_cpu, 2)
    half = len(samples) // 2 or 1
    path["halves_per_minute"] = [
        round(len(part) / sum(s.seconds for s in part) * 60, 1) for part in (samples[:half], samples[half:]) if part
    ]
    return {
        "benchmark": "compounding-throughput",
        "path": "plan_preparation -> walkthrough.prepare (start, scans, weighings, complete) -> "
        "final_check (approve, e-signature) -> label_pdf_for",
        "database": _database(),
        "vendor": connection.vendor,
        "preparations": preparations,
        "warm_up": WARM_UP,
        "orders": [f"{drug} {dose} IV in {diluent} {volume} mL" for drug, dose, diluent, volume, _ in ORDERS],
        "setup_seconds": round(setup_seconds, 2),
        "result": path,
        "baseline": {
            "what": "floor: the same audit events and ledger movements in the same number of transactions, "
            "written directly with audit.services.record and inventory.ledger.post_movement, no checks",
            **floor,
        },
        "overhead_factor": round(path["seconds"] / floor["seconds"], 1),
        "signature_password_check_ms": round(percentile(hashing, 0.5) * 1000, 1),
        "steps_ms": {kind: {"count": len(steps[kind]), **_ms(steps[kind])} for kind in STEP_ORDER if steps[kind]},
        "human_anchor": ANCHOR,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(terse=True),
            "load_average_1m_at_start": round(load, 2),
        },
        "measured_at": timezone.now().replace(microsecond=0).isoformat(),
        "note": "Single process, one preparation at a time; queries are counted with "
        "CaptureQueriesContext around each preparation (both for the path and the floor).",
    }


def as_text(report: dict[str, Any]) -> str:
    """The report as a person reads it: the figure and the baseline side by side."""
    path, floor = report["result"], report["baseline"]
    rows = (
        ("preparations / minute", "preparations_per_minute", "{:,.1f}"),
        ("per preparation p50 (ms)", ("per_preparation_ms", "p50"), "{:,.1f}"),
        ("per preparation p95 (ms)", ("per_preparation_ms", "p95"), "{:,.1f}"),
        ("per preparation p99 (ms)", ("per_preparation_ms", "p99"), "{:,.1f}"),
        ("SQL queries / preparation", "queries_per_preparation", "{:,.1f}"),
        ("audit events / preparation", "audit_events_per_preparation", "{:,.1f}"),
        ("ledger movements / prep.", "ledger_movements_per_preparation", "{:,.1f}"),
        ("transactions / preparation", "transactions_per_preparation", "{:,.1f}"),
        ("process CPU s (incl. warm-up)", "process_cpu_seconds", "{:,.2f}"),
    )

    def value(summary: dict[str, Any], key: str | tuple[str, str]) -> Any:
        return summary[key] if isinstance(key, str) else summary[key[0]][key[1]]

    lines = [
        f"Compounding throughput on {report['database']}: {report['preparations']} preparations "
        f"(after {report['warm_up']} warm-up), one at a time",
        f"  path: {report['path']}",
        f"  orders in turn: {'; '.join(report['orders'])}",
        "",
        f"  {'':<28}{'whole path':>14}{'floor':>14}",
    ]
    lines += [
        f"  {label:<28}{fmt.format(value(path, key)):>14}{fmt.format(value(floor, key)):>14}"
        for label, key, fmt in rows
    ]
    lines += [
        "",
        f"  Sustained: {' then '.join(f'{v:,.1f}' for v in path['halves_per_minute'])} preparations / minute over "
        "the first and second half of the run",
        f"  Safety-check overhead: x{report['overhead_factor']} (the path takes {report['overhead_factor']} times as "
        "long as writing its audit events and ledger movements alone)",
        "",
        f"  Of each final check, about {report['signature_password_check_ms']:,.0f} ms is checking the signer's "
        "password again (the configured password hasher), as an e-signature requires.",
        "",
        f"  {'step':<14}{'count':>7}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}{'mean ms':>10}",
    ]
    for kind in (k for k in STEP_ORDER if k in report["steps_ms"]):
        stats = report["steps_ms"][kind]
        lines.append(
            f"  {kind:<14}{stats['count']:>7}{stats['p50']:>10.1f}{stats['p95']:>10.1f}{stats['p99']:>10.1f}"
            f"{stats['mean']:>10.1f}"
        )
    anchor = report["human_anchor"]
    low, high = anchor["assumed_minutes_per_dose"]
    lines += [
        "  (lot_pick: the walkthrough's own FEFO lot choice and reloads, outside the services)",
        "",
        f"  Human anchor: {anchor['published']}",
        f"    {anchor['citation']}",
        f"    {anchor['note']} At {low}-{high} min per dose a technician makes {60 / high:.1f}-{60 / low:.1f} "
        f"doses an hour; the software path above sustains {path['preparations_per_minute'] * 60:,.0f} an hour.",
        "",
        f"  Setup (not timed): {report['setup_seconds']} s. Machine: {report['machine']['cpus']} CPUs, "
        f"load {report['machine']['load_average_1m_at_start']} at start, Python {report['machine']['python']}, "
        f"{report['machine']['platform']}.",
    ]
    return "\n".join(lines)
