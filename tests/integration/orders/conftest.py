"""Orders fixtures: the starter formulary and regimen library, the people who write and verify
orders (including a prescriber who is also a pharmacist), and a colon-cancer patient with height,
weight, fresh labs and a diagnosis, at a site whose clock is not UTC.

The library is loaded per test (under a second): a session-wide load would outlive the flush of
transactional tests and change what other suites count.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.clock import site_today

PASSWORD = "correct-horse-battery-7"
SITE_ZONE = "America/Chicago"

HEIGHT = "172 cm"
WEIGHT = "68 kg"
FRESH_LABS: dict[str, tuple[str, str]] = {
    "anc": ("3.2", "10^9/L"),
    "platelets": ("220", "10^9/L"),
    "hemoglobin": ("12.5", "g/dL"),
    "scr": ("0.8", "mg/dL"),
    "bilirubin": ("0.6", "mg/dL"),
    "ast": ("25", "units/L"),
    "alt": ("22", "units/L"),
}
BSA_M2 = Decimal("1.80")
"""Mosteller: √(172 × 68 / 3600) = √3.2489 = 1.8025 → 1.80 m²."""


@pytest.fixture
def site(db):
    """North, on Chicago time, so planned starts in site time differ from UTC."""
    from openinfusion.accounts.services import create_site

    return create_site(
        actor=None, code="north", name="North Infusion Pharmacy", kind="hospital_pharmacy", time_zone=SITE_ZONE
    )


@pytest.fixture
def library(db):
    from openinfusion.formulary.importer import STARTER_FILES, import_formulary
    from openinfusion.orders.library import load_regimens

    import_formulary(STARTER_FILES, actor=None)
    load_regimens(actor=None)


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
def prescribing_pharmacist(make_user):
    """A clinical pharmacist with prescribing rights: may write and verify, never both on one order."""
    return make_user("dual", "prescriber", "pharmacist", first_name="Sam", last_name="Okoye")


@pytest.fixture
def south_prescriber(make_user, other_site):
    return make_user("south-prescriber", "prescriber", sites=("south",))


def chart(
    actor,
    site,
    *,
    mrn: str = "MRN-1001",
    height: str | None = HEIGHT,
    weight: str | None = WEIGHT,
    labs: dict[str, tuple[str, str]] | None = None,
    labs_taken_at: dt.datetime | None = None,
    diagnosis: str | None = "C18.7",
    birth_date: dt.date = dt.date(1966, 5, 4),
):
    """A patient made through the chart services, with what a regimen's checks need."""
    from openinfusion.patients import services

    patient = services.create_patient(
        actor=actor,
        site_id=site.pk,
        mrn=mrn,
        family_name="Hughes",
        given_name="Grace",
        birth_date=birth_date,
        sex="F",
    )
    if height:
        services.record_measurement(patient.pk, actor=actor, kind="height", text=height)
    if weight:
        services.record_measurement(patient.pk, actor=actor, kind="weight", text=weight)
    for test, (value, unit) in (FRESH_LABS if labs is None else labs).items():
        services.record_lab(patient.pk, actor=actor, test=test, value=value, unit=unit, taken_at=labs_taken_at)
    if diagnosis:
        services.record_diagnosis(patient.pk, actor=actor, code=diagnosis, text="Malignant neoplasm")
    return patient


def start_plan(actor, patient, *, regimen: str = "mfolfox6", cycles: int = 3, start: dt.date | None = None):
    from openinfusion.orders.services import create_treatment_plan

    return create_treatment_plan(
        patient.pk,
        actor=actor,
        regimen_key=regimen,
        start_date=start or site_today(SITE_ZONE),
        cycles=cycles,
        indication_code="C18.7",
    )


def plan_order(plan, drug: str = "oxaliplatin", cycle: int = 1):
    from openinfusion.orders.models import Order

    return Order.objects.select_related("drug").get(plan=plan, drug__key=drug, cycle=cycle)


@pytest.fixture
def patient(library, prescriber, site):
    return chart(prescriber, site)


@pytest.fixture
def plan(patient, prescriber):
    """mFOLFOX6 × 3 cycles from today: six orders per cycle, all drafts."""
    return start_plan(prescriber, patient)


def post(client, path: str, body: dict | None = None, **headers: str):
    return client.post(path, body or {}, content_type="application/json", **headers)


def submitted(order, prescriber):
    """The order as the pharmacist finds it in the queue."""
    from openinfusion.orders.services import submit_order

    return submit_order(order.pk, actor=prescriber, expected_version=order.version)
