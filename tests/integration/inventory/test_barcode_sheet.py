"""The sheet of codes to scan without real packages: a PDF whose DataMatrix symbols, read back by an
independent decoder (zxing-cpp) from the PDF's own drawing, are the GS1 strings of the lots on hand
and the patients' MRNs, and a decoded package code is accepted by the scan box."""

from __future__ import annotations

import datetime as dt

import pytest
from tests.clock import site_today
from tests.integration.conftest import TEST_NDC, gs1
from tests.unit.compounding.test_labels import black_rects_bitmap, decode

from openinfusion.inventory import scanning, services

pytestmark = pytest.mark.django_db


def a_patient(make_user, site_id: int, mrn: str) -> None:
    from openinfusion.patients.services import create_patient

    create_patient(
        actor=make_user(f"doc-{mrn}", "prescriber"),
        site_id=site_id,
        mrn=mrn,
        family_name="Ames",
        given_name="Lea",
        birth_date=dt.date(1970, 1, 2),
        sex="F",
    )


def test_the_sheet_carries_each_lot_on_hand_and_each_wristband(make_user, product, store, client_for):
    tech = make_user("tech", "technician", "inventory")
    expiry = site_today(store) + dt.timedelta(days=90)
    for lot in ("SHEET-A", "SHEET-B"):
        package = scanning.from_scan(gs1(TEST_NDC, lot, expiry))
        services.receive_stock(actor=tech, package=package, location_id=store.pk, quantity=2)
    a_patient(make_user, store.site_id, "MRN-7001")
    response = client_for(tech).get("/inventory/barcodes.pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    read = sorted(decode(black_rects_bitmap(response.content, px_per_pt=6)))
    packages = [text for text in read if text.startswith("01")]
    assert len(packages) == 2 and "MRN-7001" in read
    for text in packages:
        scanned = scanning.from_scan(text)  # what a scanner sends is what the scan box reads
        assert scanned.lot in ("SHEET-A", "SHEET-B") and scanned.expiry == expiry


def test_people_who_do_not_see_patients_get_no_wristbands(make_user, product, store, client_for):
    buyer = make_user("buyer", "inventory")
    package = scanning.from_scan(gs1(TEST_NDC, "SHEET-C", site_today(store) + dt.timedelta(days=90)))
    services.receive_stock(actor=buyer, package=package, location_id=store.pk, quantity=1)
    a_patient(make_user, store.site_id, "MRN-7002")
    read = decode(black_rects_bitmap(client_for(buyer).get("/inventory/barcodes.pdf").content, px_per_pt=6))
    assert len(read) == 1 and read[0].startswith("01") and "MRN-7002" not in read
