"""Compounding fixtures: the starter formulary, a patient with a verified oxaliplatin order (a
prescriber writes it, a different pharmacist verifies it with a signature), the hazardous buffer
room and the clean room with stock received by GS1 scan, and a qualified technician.

North runs on New York time here, so daylight-saving changes are real for its clocks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from tests.clock import site_today
from tests.integration.conftest import gs1

PASSWORD = "correct-horse-battery-7"
SITE_ZONE = "America/New_York"

OXALIPLATIN_100 = "25021-233-20"
"""100 mg/20 mL single-dose vial: the plan for 153 mg takes two of these (least waste, fewest vials)."""
OXALIPLATIN_50 = "25021-233-10"
"""50 mg/10 mL: same drug, other strength."""
OXALIPLATIN_50_FRESENIUS = "63323-750-10"
CARBOPLATIN_50 = "61703-339-18"
"""50 mg/5 mL multiple-dose vial."""
D5W_250 = "0338-0062-30"
RITUXIMAB_100 = "63459-103-10"
NACL_250 = "63323-623-74"

OXALIPLATIN_LOT = "OX-100-A"
D5W_LOT = "D5-250-A"


def expiry_in(days: int = 200) -> dt.date:
    return site_today(SITE_ZONE) + dt.timedelta(days=days)


@pytest.fixture
def site(db):
    from openinfusion.accounts.services import create_site

    return create_site(
        actor=None, code="north", name="North Infusion Pharmacy", kind="hospital_pharmacy", time_zone=SITE_ZONE
    )


@pytest.fixture
def formulary(db):
    from openinfusion.formulary.importer import STARTER_FILES, import_formulary

    import_formulary(STARTER_FILES, actor=None)


@pytest.fixture
def prescriber(make_user):
    return make_user("prescriber", "prescriber", first_name="Priya", last_name="Raman")


@pytest.fixture
def second_pharmacist(make_user):
    return make_user("pharmacist-2", "pharmacist", first_name="Lena", last_name="Moreau")


@pytest.fixture
def nurse(make_user):
    return make_user("nurse", "nurse")


@pytest.fixture
def stock_keeper(make_user):
    return make_user("stores", "inventory", "technician")


def qualify(user, *kinds: str, valid_until: dt.date | None = None) -> None:
    from openinfusion.compounding.models import Qualification

    for kind in kinds or ("sterile", "hazardous"):
        Qualification.objects.create(
            user=user,
            kind=kind,
            valid_until=valid_until or expiry_in(180),
            recorded_by=user,
            recorded_at=timezone.now(),
        )


@pytest.fixture
def technician(make_user):
    """A technician qualified for sterile and hazardous compounding."""
    tech = make_user("technician", "technician", first_name="Tomas", last_name="Berg")
    qualify(tech)
    return tech


@pytest.fixture
def second_technician(make_user):
    tech = make_user("technician-2", "technician", first_name="Ana", last_name="Silva")
    qualify(tech)
    return tech


@pytest.fixture
def patient(formulary, prescriber, site):
    from openinfusion.patients import services

    patient = services.create_patient(
        actor=prescriber,
        site_id=site.pk,
        mrn="MRN-2001",
        family_name="Hughes",
        given_name="Grace",
        birth_date=dt.date(1966, 5, 4),
        sex="F",
    )
    services.record_measurement(patient.pk, actor=prescriber, kind="height", text="172 cm")
    services.record_measurement(patient.pk, actor=prescriber, kind="weight", text="68 kg")
    for test, value, unit in (
        ("anc", "3.2", "10^9/L"),
        ("platelets", "220", "10^9/L"),
        ("hemoglobin", "12.5", "g/dL"),
        ("scr", "0.8", "mg/dL"),
        ("bilirubin", "0.6", "mg/dL"),
        ("ast", "25", "units/L"),
        ("alt", "22", "units/L"),
    ):
        services.record_lab(patient.pk, actor=prescriber, test=test, value=value, unit=unit)
    services.record_diagnosis(patient.pk, actor=prescriber, code="C18.7", text="Malignant neoplasm of colon")
    return patient


def submitted_order(
    patient,
    prescriber,
    *,
    drug: str = "oxaliplatin",
    dose: str = "153 mg",
    diluent: str = "dextrose-5",
    volume_ml: str = "250",
    duration_minutes: int = 120,
    starts_in: dt.timedelta = dt.timedelta(hours=2),
):
    """An order written by the prescriber and sent to the pharmacist (in the verification queue)."""
    from openinfusion.orders import services

    return services.create_order(
        patient.pk,
        actor=prescriber,
        drug_key=drug,
        dose=dose,
        route="IV",
        planned_start=timezone.now() + starts_in,
        diluent_key=diluent,
        volume_ml=Decimal(volume_ml),
        duration_minutes=duration_minutes,
        indication_code="C18.7",
        send=True,
    )


def verified_order(
    patient,
    prescriber,
    pharmacist,
    *,
    drug: str = "oxaliplatin",
    dose: str = "153 mg",
    diluent: str = "dextrose-5",
    volume_ml: str = "250",
    duration_minutes: int = 120,
    starts_in: dt.timedelta = dt.timedelta(hours=2),
    overrides: dict[str, str] | None = None,
):
    """An order written by the prescriber and verified (signed) by a different pharmacist; every
    warning the review raises gets a reason (so a LAB_HOLD here is an overridden hold)."""
    from openinfusion.orders import services

    order = submitted_order(
        patient,
        prescriber,
        drug=drug,
        dose=dose,
        diluent=diluent,
        volume_ml=volume_ml,
        duration_minutes=duration_minutes,
        starts_in=starts_in,
    )
    warnings = {f.code.value: "accepted for the test" for f in services.review(order).warnings}
    return services.verify_order(
        order.pk,
        actor=pharmacist,
        expected_version=order.version,
        password=PASSWORD,
        overrides={**warnings, **(overrides or {})},
    )


@pytest.fixture
def hazardous_room(site):
    from openinfusion.inventory.models import Location

    return Location.objects.create(site=site, code="hd-room", name="Hazardous buffer room", kind="hazardous_buffer")


@pytest.fixture
def clean_room(site):
    from openinfusion.inventory.models import Location

    return Location.objects.create(site=site, code="clean-room", name="Clean room", kind="clean_room")


@pytest.fixture
def receive(stock_keeper) -> Callable[..., Any]:
    """Receive packages into a location by GS1 scan; returns the lot."""
    from openinfusion.inventory import scanning
    from openinfusion.inventory.services import receive_stock

    def run(ndc: str, lot: str, location, quantity: int = 5, expiry: dt.date | None = None):
        package = scanning.from_scan(gs1(ndc, lot, expiry or expiry_in()))
        return receive_stock(actor=stock_keeper, package=package, location_id=location.pk, quantity=quantity).lot

    return run


@pytest.fixture
def stocked(receive, hazardous_room, clean_room):
    """Oxaliplatin 100 mg vials and D5W 250 mL bags in the hazardous room; NaCl bags in the clean room."""
    return {
        "oxaliplatin": receive(OXALIPLATIN_100, OXALIPLATIN_LOT, hazardous_room, quantity=6),
        "d5w": receive(D5W_250, D5W_LOT, hazardous_room, quantity=4),
        "nacl": receive(NACL_250, "NS-250-A", clean_room, quantity=4),
    }


@pytest.fixture
def order(patient, prescriber, pharmacist):
    """Oxaliplatin 153 mg in D5W 250 mL over 2 h, needed in 2 hours, verified."""
    return verified_order(patient, prescriber, pharmacist)


@pytest.fixture
def preparation(order, pharmacist, stocked):
    from openinfusion.compounding import services

    return services.plan_preparation(order.pk, actor=pharmacist)


def scan_of(ndc: str, lot: str, expiry: dt.date | None = None, serial: str = "SN1") -> str:
    return gs1(ndc, lot, expiry or expiry_in(), serial)


def lot_scan(lot, serial: str = "SN1") -> str:
    """The GS1 string printed on a package of a lot we hold."""
    return f"01{lot.product.gtin14}17{lot.expiry:%y%m%d}10{lot.lot_number}\x1d21{serial}"


def exact_weight(step: dict[str, Any], tare: Decimal = Decimal("11.250")) -> Decimal:
    return tare + Decimal(step["expected_ml"]) * Decimal(step["specific_gravity"])


def post(client, path: str, body: dict | None = None, **headers: str):
    return client.post(path, body or {}, content_type="application/json", **headers)


def state(preparation) -> dict[str, Any]:
    """Everything a refused step must leave as it was (intercepted errors and audit events aside)."""
    from openinfusion.compounding.models import OpenVial, Preparation, Scan, StepRecord, Weighing
    from openinfusion.inventory.models import Lot, StockBalance, StockMovement
    from openinfusion.orders.models import Order

    fresh = Preparation.objects.get(pk=preparation.pk)
    order = Order.objects.get(pk=fresh.order_id)
    return {
        "preparation": (fresh.status, fresh.version, fresh.started_at, fresh.completed_at, fresh.bud),
        "order": (order.status, order.version),
        "steps": list(StepRecord.objects.filter(preparation=fresh).values_list("index", "kind")),
        "scans": Scan.objects.count(),
        "weighings": Weighing.objects.count(),
        "movements": StockMovement.objects.count(),
        "balances": sorted(StockBalance.objects.values_list("lot_id", "location_id", "quantity")),
        "lots": sorted(Lot.objects.values_list("pk", "status")),
        "open_vials": sorted(OpenVial.objects.values_list("pk", "status", "remaining_ml")),
    }


def refused_event(action: str, code: str):
    """The one refused audit event of an action, naming the code."""
    from openinfusion.audit.models import AuditEvent

    events = list(AuditEvent.objects.filter(action=action, outcome="refused"))
    assert len(events) == 1, [(e.action, e.reason) for e in events]
    assert events[0].reason.startswith(code), events[0].reason
    return events[0]
