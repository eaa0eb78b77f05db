"""A live infusion day on top of the compounding demo: checked doses dispensed to chairs, a ward
and one home delivery with its courier hand-off; infusions started, with vitals, and one ended."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from openinfusion.accounts.models import Site, User
from openinfusion.administration import prescription, services
from openinfusion.administration.models import Administration, Dispense, Pump
from openinfusion.compounding import services as compounding
from openinfusion.compounding import walkthrough
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.demo import DEMO_PASSWORD
from openinfusion.errors import DomainError
from openinfusion.formulary.models import Product
from openinfusion.inventory.models import Location
from openinfusion.inventory.scanning import ScannedPackage
from openinfusion.inventory.services import receive_stock
from openinfusion.orders import services as orders
from openinfusion.orders.models import Order, OrderStatus
from openinfusion.patients.models import CareSetting, Patient

PUMPS = (
    ("PMP-1001", "Sapphire infusion pump"),
    ("PMP-1002", "Sapphire infusion pump"),
    ("PMP-2001", "CADD ambulatory pump"),
)


def load_administration_demo() -> None:
    if Pump.objects.exists() or not Site.objects.filter(code="infusion-center").exists():
        return
    center = Site.objects.get(code="infusion-center")
    for serial, model in PUMPS:
        Pump.objects.create(site=center, serial=serial, model=model, ambulatory=serial.startswith("PMP-2"))
    technician = User.objects.get(username="technician")
    nurse = User.objects.get(username="nurse")
    checker = User.objects.get(username="pharmacist2")
    _home_delivery(technician)
    for waiting in Preparation.objects.filter(status=PreparationStatus.AWAITING_CHECK)[:2]:
        compounding.final_check(waiting.pk, actor=checker, approve=True, password=DEMO_PASSWORD)
    for chair, preparation in enumerate(Preparation.objects.filter(status=PreparationStatus.APPROVED), start=1):
        if preparation.dispenses.exists():
            continue
        patient = preparation.order.patient
        destination, place = (
            ("ward", f"{patient.ward} bed {patient.bed}")
            if patient.care_setting == CareSetting.INPATIENT
            else ("chair", f"Chair {chair:02d}")
        )
        try:
            services.dispense_preparation(preparation.pk, actor=technician, destination=destination, place=place)
        except DomainError:
            continue
    for n, dispense in enumerate(Dispense.objects.exclude(destination="home")):
        _infuse(dispense, nurse, end=n == 0)
    _dose_waiting_at_the_chair(technician, checker)


def _dose_waiting_at_the_chair(technician: User, checker: User) -> None:
    """A dose due in 30 minutes, made, checked and at Chair 01: the nurse's next bedside scan."""
    prescriber = User.objects.get(username="prescriber")
    patient = Patient.objects.filter(care_setting=CareSetting.INFUSION_CENTER, site__code="infusion-center").first()
    if patient is None:
        return
    try:
        order = orders.create_order(
            patient.pk,
            actor=prescriber,
            drug_key="ondansetron",
            dose="8 mg",
            route="IV",
            planned_start=timezone.now() + dt.timedelta(minutes=30),
            diluent_key="sodium-chloride-0.9",
            volume_ml=Decimal(50),
            duration_minutes=15,
            indication_code="R11.0",
        )
        orders.submit_order(order.pk, actor=prescriber, expected_version=order.version)
        order.refresh_from_db()
        review = orders.review(order)
        orders.verify_order(
            order.pk,
            actor=checker,
            expected_version=order.version,
            password=DEMO_PASSWORD,
            overrides={f.code.value: "Reviewed (demo)." for f in review.warnings},
        )
        preparation = compounding.plan_preparation(order.pk, actor=technician)
        _delivery_this_morning(technician, {int(d["product_id"]) for d in preparation.plan["draws"]})
        walkthrough.stock_room(preparation, technician)
        walkthrough.prepare(preparation, technician)
        compounding.final_check(preparation.pk, actor=checker, approve=True, password=DEMO_PASSWORD)
        services.dispense_preparation(preparation.pk, actor=technician, destination="chair", place="Chair 01")
    except DomainError:
        return


def _delivery_this_morning(technician: User, product_ids: set[int]) -> None:
    """The wholesaler's morning delivery: ten packages of each product the dose needs."""
    store = Location.objects.filter(site__code="main-pharmacy", code="store").first()
    for product in Product.objects.filter(pk__in=product_ids):
        if store is not None:
            expiry = timezone.localdate() + dt.timedelta(days=300)
            package = ScannedPackage(gtin14=product.gtin14, lot=f"AM{product.pk:04d}", expiry=expiry, serial="SAM1")
            receive_stock(actor=technician, package=package, location_id=store.pk, quantity=10)


def _home_delivery(technician: User) -> None:
    """Verify, make, check and send one dose to a home-infusion patient (the courier has it)."""
    checker = User.objects.get(username="pharmacist2")
    order = (
        Order.objects.filter(
            status__in=(OrderStatus.SUBMITTED, OrderStatus.VERIFIED), patient__care_setting=CareSetting.HOME
        )
        .order_by("status")
        .first()
    )
    if order is None:
        return
    try:
        if order.status == OrderStatus.SUBMITTED:
            review = orders.review(order)
            orders.verify_order(
                order.pk,
                actor=checker,
                expected_version=order.version,
                password=DEMO_PASSWORD,
                overrides={f.code.value: "Reviewed (demo)." for f in review.warnings},
            )
        preparation = compounding.plan_preparation(order.pk, actor=technician)
        walkthrough.stock_room(preparation, technician)
        walkthrough.prepare(preparation, technician)
        compounding.final_check(preparation.pk, actor=checker, approve=True, password=DEMO_PASSWORD)
        dispense = services.dispense_preparation(
            preparation.pk, actor=technician, destination="home", place=order.patient.home_address
        )
        services.record_handoff(
            dispense.pk,
            actor=technician,
            temperature_c=Decimal("5.0") if dispense.cold_chain else None,
            note="Lakeside courier, van 1",
        )
    except DomainError:
        return


def _infuse(dispense: Dispense, nurse: User, *, end: bool) -> None:
    order = dispense.preparation.order
    plan = dispense.preparation.plan
    try:
        administration = services.bedside_verify(
            actor=nurse, wristband=order.patient.mrn, label=dispense.preparation.barcode, order_id=order.pk
        )
        prescribed = prescription.prescribed_rate(dispense.preparation)
        if prescribed is not None:  # the fastest prescribed rate: the one the bag is labelled with, or the standard
            services.record_pump_program(
                administration.pk,
                actor=nurse,
                pump_serial="PMP-1001",
                rate_ml_h=prescribed.high_ml_h,
                volume_ml=Decimal(plan["final_volume_ml"]),
            )
        services.start_administration(administration.pk, actor=nurse)
        services.record_vitals(
            administration.pk,
            actor=nurse,
            systolic=124,
            diastolic=78,
            heart_rate=76,
            temperature_c=Decimal("36.8"),
            spo2=98,
            respiratory_rate=14,
        )
        if end:
            # The demo's finished infusion began when its bag would have: its start is set back by
            # the bag's duration so the end is believable (the demo cannot wait for it).
            minutes = prescription.planned_minutes(services.administration_for(nurse, administration.pk)) or 30
            Administration.objects.filter(pk=administration.pk).update(
                started_at=timezone.now() - dt.timedelta(minutes=minutes)
            )
            services.end_administration(
                administration.pk,
                actor=nurse,
                volume_infused_ml=Decimal(plan["final_volume_ml"]),
                waste_disposal="yellow hazardous bin" if plan.get("hazardous") else "",
            )
    except DomainError:
        return  # e.g. outside the dose's time window when the demo is loaded late in the day
