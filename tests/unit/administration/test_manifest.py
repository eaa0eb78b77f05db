"""Delivery manifest PDF: items, cold-chain flags, signature lines, barcode id, and wrapping."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import pypdf
import pytest
from reportlab.pdfbase.pdfmetrics import stringWidth

from openinfusion.administration.manifest import (
    COLD_CHAIN_FLAG,
    SIGNATURE_ROLES,
    DeliveryManifest,
    ManifestItem,
    manifest_pdf,
)

UTC = dt.UTC

ITEMS = (
    ManifestItem("Vancomycin 1.25 g in sodium chloride 0.9% 250 mL", "7 bags", "Refrigerate", cold_chain=True),
    ManifestItem("Sodium chloride 0.9% 10 mL prefilled flush", "30 syringes", "Room temperature", cold_chain=False),
    ManifestItem("Heparin 10 units/mL 5 mL lock flush", "14 syringes", "Room temperature", cold_chain=False),
    ManifestItem("Infliximab 400 mg in 250 mL", "1 bag", "Refrigerate, protect from light", cold_chain=True),
)


def _manifest(**overrides: object) -> DeliveryManifest:
    base = DeliveryManifest(
        manifest_id="MAN-2025-000417",
        site_name="North Home Infusion Pharmacy",
        patient_name="Samuel Achterberg",
        mrn="MRN-0042",
        address="14 Elm Street, Apt 3, Springfield, IL 62704",
        phone="+1 (555) 010-7788",
        dispatched_at=dt.datetime(2025, 1, 14, 14, 0, tzinfo=UTC),
        time_zone="America/New_York",
        items=ITEMS,
        supplies=("Alcohol pads x 100", "Nitrile gloves, medium", "Chemotherapy spill kit"),
        pump="CADD-Solis VIP ambulatory pump, serial 7712",
        notes="Patient works nights: deliver after 15:00.",
    )
    return dataclasses.replace(base, **overrides)  # type: ignore[arg-type]


def _pages(pdf: bytes) -> list[pypdf.PageObject]:
    return list(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def _flat(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in _pages(pdf)).split())


def test_manifest_lists_every_item_supply_pump_and_the_id() -> None:
    pdf = manifest_pdf(_manifest())
    assert pdf.startswith(b"%PDF")
    text = _flat(pdf)
    for item in ITEMS:
        assert item.description in text
        assert item.quantity in text
    for supply in ("Alcohol pads x 100", "Nitrile gloves, medium", "Chemotherapy spill kit"):
        assert supply in text
    assert "CADD-Solis VIP ambulatory pump, serial 7712" in text
    assert "MAN-2025-000417" in text
    assert "Samuel Achterberg" in text and "MRN-0042" in text and "+1 (555) 010-7788" in text
    assert "2025-01-14 09:00 EST" in text  # dispatched time in the site's zone


def test_keep_cold_flag_only_on_cold_chain_items_with_a_temperature_line() -> None:
    text = _flat(manifest_pdf(_manifest()))
    cold = [i for i in ITEMS if i.cold_chain]
    assert text.count(COLD_CHAIN_FLAG) == len(cold)
    assert COLD_CHAIN_FLAG == "KEEP 2\u20138 \u00b0C"
    assert text.count("Temperature on delivery") == len(cold)

    warm_only = _manifest(items=tuple(i for i in ITEMS if not i.cold_chain))
    warm_text = _flat(manifest_pdf(warm_only))
    assert COLD_CHAIN_FLAG not in warm_text
    assert "Temperature on delivery" not in warm_text


def test_each_flag_sits_on_its_cold_chain_row() -> None:
    text = _flat(manifest_pdf(_manifest()))
    for item in ITEMS:
        start = text.index(item.description)
        row = text[start : start + len(item.description) + 80]
        assert (COLD_CHAIN_FLAG in row) is item.cold_chain, item.description


def test_three_signature_lines_with_date_time() -> None:
    text = _flat(manifest_pdf(_manifest()))
    assert SIGNATURE_ROLES == ("Pharmacy out", "Courier", "Received by (patient/caregiver)")
    for role in SIGNATURE_ROLES:
        assert role in text
    for column in ("Name", "Signature", "Date/time"):
        assert column in text


def test_barcode_is_drawn() -> None:
    pdf = manifest_pdf(_manifest())
    content = _pages(pdf)[0].get_contents()
    assert content is not None
    # Code 128 bars are filled rectangles: many "re" operators in the header.
    assert content.get_data().count(b" re") > 30


def test_no_pump_no_supplies_no_items() -> None:
    text = _flat(manifest_pdf(_manifest(pump=None, supplies=(), items=(), notes="")))
    assert "No pump supplied." in text
    assert "None." in text
    assert "No medicines on this manifest." in text


def _overflows(pdf: bytes) -> list[str]:
    """Text runs whose right edge passes the page's right edge (estimated with the font's metrics)."""
    bad: list[str] = []
    for page in _pages(pdf):
        page_width = float(page.mediabox.width)

        def visit(
            text: str, cm: list[float], tm: list[float], font: object, size: float, page_width: float = page_width
        ) -> None:
            if not text.strip() or not isinstance(font, dict):
                return
            name = str(font.get("/BaseFont", "/Helvetica")).lstrip("/")
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            if x + stringWidth(text.rstrip("\n"), name, size) > page_width:
                bad.append(text)

        page.extract_text(visitor_text=visit)
    return bad


def test_long_address_wraps_instead_of_overflowing() -> None:
    address = (
        "Flat 12B, The Old Mill Building, 1234 Extraordinarily Long Boulevard Name Northwest, "
        "Unit Behind The Blue Garage Door, Near The Water Tower, Springfield Township, "
        "Greene County, IL 62704-1234, United States of America"
    )
    pdf = manifest_pdf(_manifest(address=address, patient_name="A" * 30 + " " + "Longfamilyname" * 4))
    assert _overflows(pdf) == []
    text = " ".join(" ".join(p.extract_text() for p in _pages(pdf)).split())
    for word in address.split():
        assert word in text
    raw = "\n".join(p.extract_text() for p in _pages(pdf))
    address_lines = [line for line in raw.splitlines() if any(w in line for w in ("Boulevard", "Garage", "Tower"))]
    assert len(address_lines) >= 2, "the address should be split over several lines"


def test_overflow_check_catches_overflow() -> None:
    """Guard for the guard: a line drawn past the right edge is reported."""
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4, invariant=1)
    canvas.setFont("Helvetica", 11)
    canvas.drawString(400, 400, "This line runs well past the right edge of the page")
    canvas.save()
    assert _overflows(buffer.getvalue())


def test_deterministic_output() -> None:
    assert manifest_pdf(_manifest()) == manifest_pdf(_manifest())


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"dispatched_at": dt.datetime(2025, 1, 14, 14, 0)}, "timezone-aware"),
        ({"manifest_id": ""}, "manifest_id"),
        ({"manifest_id": "MAN\u00e9"}, "ASCII"),
        ({"time_zone": "Nowhere/Atlantis"}, "time zone"),
    ],
)
def test_bad_manifest_is_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _manifest(**overrides)
