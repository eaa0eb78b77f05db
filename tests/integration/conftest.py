"""Formulary and stock fixtures: a drug with its product, stock locations, and GS1 scans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from tests.clock import site_today

from openinfusion.clinical.codes import ndc_to_gtin14

# The tests build their own products with a labeler code no real company has, so they never
# pose as a real package.
TEST_NDC = "99999-101-01"
OTHER_NDC = "99999-202-02"


def gs1(ndc: str, lot: str, expiry: dt.date, serial: str = "SN1") -> str:
    """A GS1 element string as a DataMatrix scanner sends it (GS = \\x1d after variable fields)."""
    return f"01{ndc_to_gtin14(ndc)}17{expiry:%y%m%d}10{lot}\x1d21{serial}"


@pytest.fixture
def drug(db):
    from openinfusion.formulary.models import Drug

    return Drug.objects.create(
        key="oxaliplatin",
        generic_name="oxaliplatin",
        tall_man="OXALIplatin",
        category="chemotherapy",
        niosh_group=1,
        high_alert=True,
        dose_basis="mg/m2",
    )


@pytest.fixture
def product(drug):
    from openinfusion.formulary.models import Product

    return Product.objects.create(
        drug=drug,
        ndc11="99999010101",
        ndc_labelled=TEST_NDC,
        gtin14=ndc_to_gtin14(TEST_NDC),
        labeler="Test Labs",
        strength_amount=Decimal(100),
        strength_unit="mg",
        strength_volume=Decimal(20),
        strength_volume_unit="mL",
        total_volume_ml=Decimal(20),
        form="solution",
        container="single_dose_vial",
    )


@pytest.fixture
def store(site):
    from openinfusion.inventory.models import Location

    return Location.objects.create(site=site, code="store", name="Main store", kind="store")


@pytest.fixture
def clean_room(site):
    from openinfusion.inventory.models import Location

    return Location.objects.create(site=site, code="hd-room", name="Hazardous buffer room", kind="hazardous_buffer")


@pytest.fixture
def south_store(other_site):
    from openinfusion.inventory.models import Location

    return Location.objects.create(site=other_site, code="store", name="South store", kind="store")


@pytest.fixture
def future(site) -> dt.date:
    """An expiry 200 days ahead on the site's calendar."""
    return site_today(site) + dt.timedelta(days=200)
