"""Patient labels (PDF and ZPL) and the compounding record PDF.

The PDFs are read back with pypdf (text, page size, images) and the DataMatrix is rebuilt from the
PDF's own drawing operators and decoded by zxing-cpp, a decoder independent of the encoder.
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import re

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader
from pypdf.generic import ContentStream
from reportlab.pdfbase.pdfmetrics import stringWidth

from openinfusion.compounding.labels import (
    LABEL_SIZES,
    CompoundingRecord,
    LabelData,
    LabelError,
    RecordLine,
    compounding_record_pdf,
    label_pdf,
    label_zpl,
)

UTC = datetime.UTC

LONG_DRUG = "piperacillin and tazobactam in dextrose 5% extra long name"

# Every item USP <797>/<800> and ISMP expect on the patient label, as printed.
REQUIRED = [
    "Riverside Infusion Center",
    "COSTA, Ana",
    "MRN 40017",
    "DOB 14 Feb 1961",
    "OXALIplatin",
    "152.15 mg",
    "280.4 mL",
    "0.54 mg/mL",
    "dextrose 5% in water 250 mL",
    "Route: IV",
    "140.2 mL/h over 120 min",
    # 18:30 UTC on 10 Mar 2025 is 14:30 in New York: EDT began the day before.
    "BUD: 10 Mar 2025 14:30 EDT (America/New_York)",
    "Refrigerate 2–8 °C",
    "Bag 1 of 2",
    "Prep #123",
    "Prepared by: T. Tech",
    "Checked by: P. Pharm",
    "OIP-000123",
]
HAZARD = "HAZARDOUS DRUG — handle and dispose per USP <800>"
VINCA = "FOR INTRAVENOUS USE ONLY — FATAL IF GIVEN BY OTHER ROUTES"
LIGHT = "PROTECT FROM LIGHT"


def make_label(**changes: object) -> LabelData:
    data = LabelData(
        preparation_id=123,
        barcode_text="OIP-000123",
        site_name="Riverside Infusion Center",
        patient_name="COSTA, Ana",
        mrn="40017",
        birth_date=datetime.date(1961, 2, 14),
        drug="OXALIplatin",
        dose="152.15 mg",
        final_volume="280.4 mL",
        concentration="0.54 mg/mL",
        base_solution="dextrose 5% in water 250 mL",
        route="IV",
        rate_and_duration="140.2 mL/h over 120 min",
        bud=datetime.datetime(2025, 3, 10, 18, 30, tzinfo=UTC),
        time_zone="America/New_York",
        storage="Refrigerate 2–8 °C",
        protect_from_light=True,
        hazardous=True,
        vinca_alkaloid=False,
        bag_number=1,
        bag_count=2,
        prepared_by="T. Tech",
        checked_by="P. Pharm",
    )
    return dataclasses.replace(data, **changes)


def text_of(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join(page.extract_text().split()) for page in reader.pages)


def mul(m, n):
    """Product of two PDF matrices (a, b, c, d, e, f): m applied first, then n."""
    return (
        m[0] * n[0] + m[1] * n[2],
        m[0] * n[1] + m[1] * n[3],
        m[2] * n[0] + m[3] * n[2],
        m[2] * n[1] + m[3] * n[3],
        m[4] * n[0] + m[5] * n[2] + n[4],
        m[4] * n[1] + m[5] * n[3] + n[5],
    )


def placed_texts(pdf: bytes) -> list[tuple[str, float, float, float, float]]:
    """(text, x start, x end, baseline y, size) in page units of every string drawn on page 1.

    Walks the content stream (q/Q/cm/Tf/Tm/Tj) and measures each string with its font's metrics.
    """
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    fonts = {name: str(ref.get_object()["/BaseFont"]).lstrip("/") for name, ref in page["/Resources"]["/Font"].items()}
    ctm = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    stack = []
    font, size, tm = "Helvetica", 0.0, ctm
    out: list[tuple[str, float, float, float, float]] = []
    for operands, op in ContentStream(page.get_contents(), reader).operations:
        if op == b"q":
            stack.append(ctm)
        elif op == b"Q":
            ctm = stack.pop()
        elif op == b"cm":
            ctm = mul(tuple(float(v) for v in operands), ctm)
        elif op == b"Tf":
            font, size = fonts[operands[0]], float(operands[1])
        elif op == b"Tm":
            tm = tuple(float(v) for v in operands)
        elif op == b"Tj":
            raw = operands[0]
            text = (raw.original_bytes if hasattr(raw, "original_bytes") else bytes(raw)).decode("cp1252")
            m = mul(tm, ctm)
            x0, y = m[4], m[5]
            out.append((text, x0, x0 + stringWidth(text, font, size) * m[0], y, size * m[3]))
    return out


def black_rects_bitmap(pdf: bytes, px_per_pt: int = 8) -> Image.Image:
    """Rasterise the filled black rectangles of page 1 by interpreting its content stream."""
    reader = PdfReader(io.BytesIO(pdf))
    page = reader.pages[0]
    width, height = float(page.mediabox.width), float(page.mediabox.height)
    img = Image.new("L", (int(width * px_per_pt), int(height * px_per_pt)), 255)
    ctm = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
    stack = []
    black = True
    pending: list[tuple[float, float, float, float]] = []

    for operands, op in ContentStream(page.get_contents(), reader).operations:
        args = [float(v) for v in operands] if op in (b"cm", b"re", b"rg", b"g") else []
        if op == b"q":
            stack.append((ctm, black))
        elif op == b"Q":
            ctm, black = stack.pop()
        elif op == b"cm":
            ctm = mul(tuple(args), ctm)
        elif op == b"rg":
            black = max(args) < 0.2
        elif op == b"g":
            black = args[0] < 0.2
        elif op == b"re":
            x, y, w, h = args
            x0, y0 = x * ctm[0] + y * ctm[2] + ctm[4], x * ctm[1] + y * ctm[3] + ctm[5]
            pending.append((x0, y0, w * ctm[0], h * ctm[3]))
        elif op in (b"f", b"F", b"f*", b"B", b"b", b"S", b"n"):
            if black and op != b"S" and op != b"n":
                for x, y, w, h in pending:
                    left, right = sorted((x, x + w))
                    low, high = sorted((y, y + h))
                    box = (
                        round(left * px_per_pt),
                        round((height - high) * px_per_pt),
                        round(right * px_per_pt) - 1,
                        round((height - low) * px_per_pt) - 1,
                    )
                    img.paste(0, box)
            pending = []
    return img


def decode(img: Image.Image) -> list[str]:
    return [r.text for r in zxingcpp.read_barcodes(img) if r.format == zxingcpp.BarcodeFormat.DataMatrix]


# ----------------------------------------------------------------------------------------------- PDF


@pytest.mark.parametrize("size", sorted(LABEL_SIZES))
def test_label_pdf_is_one_page_of_the_chosen_size(size):
    pdf = label_pdf(make_label(), size)
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(pdf))
    assert len(reader.pages) == 1
    box = reader.pages[0].mediabox
    assert (float(box.width), float(box.height)) == pytest.approx(LABEL_SIZES[size], abs=0.01)


def test_label_sizes_are_the_named_physical_sizes():
    assert LABEL_SIZES["4x3in"] == pytest.approx((288, 216))
    assert LABEL_SIZES["4x6in"] == pytest.approx((288, 432))
    assert LABEL_SIZES["100x62mm"] == pytest.approx((283.46, 175.75), abs=0.01)


@pytest.mark.parametrize("size", sorted(LABEL_SIZES))
def test_label_pdf_prints_every_required_item(size):
    text = text_of(label_pdf(make_label(), size))
    missing = [item for item in REQUIRED if item not in text]
    assert not missing, f"missing {missing} in {text!r}"


def test_bud_is_printed_in_the_sites_zone_across_dst():
    winter = make_label(bud=datetime.datetime(2025, 3, 8, 18, 30, tzinfo=UTC))
    assert "BUD: 08 Mar 2025 13:30 EST (America/New_York)" in text_of(label_pdf(winter))
    chicago = make_label(time_zone="America/Chicago")
    assert "BUD: 10 Mar 2025 13:30 CDT (America/Chicago)" in text_of(label_pdf(chicago))


def test_the_drug_is_the_largest_text_on_the_label():
    sizes: dict[str, float] = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            sizes[text.strip()] = size * tm[0] * cm[0]

    PdfReader(io.BytesIO(label_pdf(make_label()))).pages[0].extract_text(visitor_text=visit)
    assert max(sizes, key=lambda t: sizes[t]) == "OXALIplatin"
    assert sizes["OXALIplatin"] >= 14


@pytest.mark.parametrize(
    ("changes", "present", "absent"),
    [
        ({"hazardous": True, "vinca_alkaloid": False, "protect_from_light": False}, [HAZARD], [VINCA, LIGHT]),
        ({"hazardous": False, "vinca_alkaloid": False, "protect_from_light": False}, [], [HAZARD, VINCA, LIGHT]),
        ({"hazardous": False, "vinca_alkaloid": False, "protect_from_light": True}, [LIGHT], [HAZARD, VINCA]),
        (
            {"drug": "vinCRIStine", "hazardous": True, "vinca_alkaloid": True, "protect_from_light": True},
            [HAZARD, VINCA, LIGHT],
            [],
        ),
    ],
)
def test_warnings_appear_only_when_they_apply(changes, present, absent):
    data = make_label(**changes)
    for output in (text_of(label_pdf(data)), zpl_text(label_zpl(data))):
        assert [w for w in present if w not in output] == []
        assert [w for w in absent if w in output] == []


@pytest.mark.parametrize("barcode", ["OIP-000123", "OIP-0001234", "oip-7/a b", "P" + "0123456789" * 6])
def test_datamatrix_in_the_pdf_decodes_to_the_barcode_text(barcode):
    pdf = label_pdf(make_label(barcode_text=barcode))
    assert decode(black_rects_bitmap(pdf)) == [barcode]
    assert barcode in text_of(pdf)  # and it is printed for humans


@pytest.mark.parametrize("size", sorted(LABEL_SIZES))
def test_a_long_drug_name_and_base_solution_fit_the_label_width(size):
    data = make_label(drug=LONG_DRUG, base_solution="sodium chloride 0.9% " * 5 + "250 mL")
    pdf = label_pdf(data, size)
    width = LABEL_SIZES[size][0]
    placed = placed_texts(pdf)
    assert placed, "no text found"
    overflowing = [(t, round(x0, 1), round(x1, 1)) for t, x0, x1, _y, _s in placed if x0 < 0 or x1 > width]
    assert overflowing == []
    text = text_of(pdf)
    assert all(word in text for word in LONG_DRUG.split())  # shrunk or wrapped, never dropped
    assert decode(black_rects_bitmap(pdf)) == ["OIP-000123"]  # and nothing was drawn over the symbol


@pytest.mark.parametrize("size", sorted(LABEL_SIZES))
def test_text_beside_the_datamatrix_stays_clear_of_it(size):
    pdf = label_pdf(make_label(drug=LONG_DRUG, patient_name="VANDERWESTHUIZEN-OKONKWO, Maria Fernanda"), size)
    width, height = LABEL_SIZES[size]
    image = black_rects_bitmap(pdf, px_per_pt=1)
    # The symbol: the black pixels in the top-right quarter of the label.
    box = image.crop((int(width / 2), 0, int(width), int(height / 2))).point(lambda v: 255 - v).getbbox()
    assert box is not None
    left, top, bottom = width / 2 + box[0], height - box[1], height - box[3]
    near = [
        (t, round(x1, 1))
        for t, x0, x1, y, s in placed_texts(pdf)
        if y < top and y + 0.75 * s > bottom and x1 > left - 1 and t != "OIP-000123"
    ]
    assert near == []
    assert all(x0 >= 0 and x1 <= width for _t, x0, x1, _y, _s in placed_texts(pdf))


def test_label_pdf_is_deterministic():
    assert label_pdf(make_label()) == label_pdf(make_label())


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"bud": datetime.datetime(2025, 3, 10, 18, 30)}, "no time zone"),
        ({"time_zone": "Mars/Olympus"}, "Unknown time zone"),
        ({"bag_number": 3, "bag_count": 2}, "Bag 3 of 2"),
        ({"patient_name": "  "}, "patient_name"),
        ({"patient_name": "NOWAK, Łucja"}, r"Ł.*U\+0141"),
    ],
)
def test_it_refuses_data_it_cannot_label_faithfully(changes, message):
    with pytest.raises(LabelError, match=message):
        label_pdf(make_label(**changes))
    with pytest.raises(LabelError, match=message):
        label_zpl(make_label(**changes))


def test_it_refuses_an_unknown_label_size():
    with pytest.raises(LabelError, match="4x3in"):
        label_pdf(make_label(), "2x1in")


# ----------------------------------------------------------------------------------------------- ZPL


def zpl_unescape(data: str) -> str:
    return re.sub(r"(?:_[0-9A-F]{2})+", lambda m: bytes.fromhex(m.group().replace("_", "")).decode("utf-8"), data)


def zpl_fields(zpl: str) -> list[str]:
    return [zpl_unescape(m) for m in re.findall(r"\^FH_\^FD(.*?)\^FS", zpl)]


def zpl_text(zpl: str) -> str:
    return " ".join(zpl_fields(zpl))


def test_zpl_is_one_label_with_the_datamatrix():
    zpl = label_zpl(make_label())
    assert zpl.startswith("^XA")
    assert zpl.rstrip().endswith("^XZ")
    assert zpl.count("^XA") == zpl.count("^XZ") == 1
    assert re.search(r"\^BXN,\d+,200\^FH_\^FDOIP-000123\^FS", zpl)


def test_zpl_prints_every_required_item():
    text = zpl_text(label_zpl(make_label()))
    missing = [item for item in [*REQUIRED, HAZARD, LIGHT] if item not in text]
    assert not missing, f"missing {missing} in {text!r}"


def test_zpl_escapes_special_and_non_ascii_characters():
    zpl = label_zpl(make_label(site_name="North^Wing ~2_B", vinca_alkaloid=True))
    assert zpl.isascii()
    assert "°" not in zpl and "—" not in zpl and "–" not in zpl
    assert "_C2_B0" in zpl  # °
    assert "_E2_80_94" in zpl  # —
    # Every field carrying data is in ^FH mode, and no data character can start a command.
    assert all("^FH_^FD" in line for line in zpl.splitlines() if "^FD" in line)
    assert "North_5EWing _7E2_5FB" in zpl
    assert "North^Wing ~2_B" in zpl_fields(zpl)


@pytest.mark.parametrize(("dpi", "width", "height"), [(203, 812, 609), (300, 1200, 900)])
@pytest.mark.parametrize("drug", ["OXALIplatin", LONG_DRUG])
def test_zpl_fits_a_4x3_inch_label(dpi, width, height, drug):
    zpl = label_zpl(make_label(drug=drug, vinca_alkaloid=True), dpi=dpi)
    assert f"^PW{width}" in zpl and f"^LL{height}" in zpl
    origins = [(int(x), int(y)) for x, y in re.findall(r"\^FO(\d+),(\d+)", zpl)]
    assert origins
    assert all(0 <= x < width and 0 <= y < height for x, y in origins)
    for x, y, w, h in re.findall(r"\^FO(\d+),(\d+)\^GB(\d+),(\d+)", zpl):
        assert int(x) + int(w) <= width and int(y) + int(h) <= height
    # Text fields, at their character height, stay inside the label too.
    for y, size in re.findall(r"\^FO\d+,(\d+)(?:\^FR)?\^A0N,(\d+),\d+", zpl):
        assert int(y) + int(size) <= height
    assert all(word in zpl_text(zpl) for word in drug.split())


def test_zpl_refuses_a_dpi_zebra_does_not_print():
    with pytest.raises(LabelError, match="203, 300 or 600"):
        label_zpl(make_label(), dpi=150)


# -------------------------------------------------------------------------------------------- record

SECTIONS = [
    "Compounding record",
    "Patient and product",
    "Label as printed",
    "Order",
    "Plan",
    "Scans",
    "Weighings",
    "Steps",
    "Intercepted errors",
    "Photos",
    "Final check",
]


def png(width: int = 320, height: int = 240) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (180, 40, 40)).save(buffer, "PNG")
    return buffer.getvalue()


def make_record(**changes: object) -> CompoundingRecord:
    record = CompoundingRecord(
        label=make_label(),
        order_summary=(("Order", "#12 FOLFOX cycle 3 day 1"), ("BSA", "1.79 m² (Mosteller)")),
        plan_summary=(("Vials", "OXALIplatin 100 mg/20 mL × 2, lot A7731"),),
        scans=(
            RecordLine(
                ("09:02", "Drug vial", "OXALIplatin 100 mg/20 mL", "0409-1234-01", "A7731", "2026-01", "SN991", "OK")
            ),
        ),
        weighings=(RecordLine(("09:10", "Drug added", "SC-2", "31.20", "61.58", "30.43", "30.38", "-0.16", "Within")),),
        steps=(RecordLine(("09:05", "Withdrew", "T. Tech", "30.43 mL from 2 vials")),),
        intercepted_errors=(
            RecordLine(("09:03", "Drug vial", "WRONG_DRUG", "Scanned CARBOplatin, expected OXALIplatin", "T. Tech")),
        ),
        photos=(png(),),
        final_check=(("Who", "P. Pharm"), ("Meaning", "Final check approved"), ("Signature", "sha256:9f2c…")),
    )
    return dataclasses.replace(record, **changes)


def test_record_has_every_section_and_every_row():
    pdf = compounding_record_pdf(make_record())
    assert pdf.startswith(b"%PDF-")
    text = text_of(pdf)
    assert [s for s in SECTIONS if s not in text] == []
    for item in [
        "#12 FOLFOX cycle 3 day 1",
        "1.79 m² (Mosteller)",
        "OXALIplatin 100 mg/20 mL × 2, lot A7731",
        "0409-1234-01",
        "SN991",
        "61.58",
        "-0.16",
        "30.43 mL from 2 vials",
        "WRONG_DRUG",
        "Scanned CARBOplatin, expected OXALIplatin",
        "Final check approved",
        "sha256:9f2c…",
        *REQUIRED,
        HAZARD,
    ]:
        assert item in text, item
    assert "None recorded." not in text


def test_record_embeds_the_photos():
    def images(pdf: bytes) -> int:
        return sum(len(page.images) for page in PdfReader(io.BytesIO(pdf)).pages)

    assert images(compounding_record_pdf(make_record(photos=(png(), png(200, 400))))) == 2
    assert images(compounding_record_pdf(make_record(photos=()))) == 0


def test_record_says_when_a_section_is_empty():
    empty = make_record(
        order_summary=(), plan_summary=(), scans=(), weighings=(), steps=(), intercepted_errors=(), photos=()
    )
    pdf = compounding_record_pdf(empty)
    text = text_of(pdf)
    assert [s for s in SECTIONS if s not in text] == []
    assert text.count("None recorded.") == 7
    assert "Final check approved" in text


def test_record_pages_are_numbered_and_identify_the_patient():
    many = tuple(RecordLine((f"09:{i:02d}", "Step", "T. Tech", f"detail {i}")) for i in range(120))
    pdf = compounding_record_pdf(make_record(steps=many))
    reader = PdfReader(io.BytesIO(pdf))
    total = len(reader.pages)
    assert total >= 3
    for number, page in enumerate(reader.pages, 1):
        page_text = " ".join(page.extract_text().split())
        assert f"Page {number} of {total}" in page_text
        assert "OIP-000123 · COSTA, Ana · MRN 40017" in page_text
    assert "detail 119" in text_of(pdf)


def test_record_paper_sizes():
    a4 = PdfReader(io.BytesIO(compounding_record_pdf(make_record(), paper="A4"))).pages[0].mediabox
    assert (float(a4.width), float(a4.height)) == pytest.approx((595.28, 841.89), abs=0.01)
    letter = PdfReader(io.BytesIO(compounding_record_pdf(make_record()))).pages[0].mediabox
    assert (float(letter.width), float(letter.height)) == pytest.approx((612, 792))


def test_record_refuses_rows_it_would_have_to_truncate_and_unreadable_photos():
    too_wide = make_record(steps=(RecordLine(("09:05", "Withdrew", "T. Tech", "detail", "extra")),))
    with pytest.raises(LabelError, match="Steps row 1 has 5 cells"):
        compounding_record_pdf(too_wide)
    with pytest.raises(LabelError, match="Photo 1 is not a readable"):
        compounding_record_pdf(make_record(photos=(b"not an image",)))


def test_record_is_deterministic():
    assert compounding_record_pdf(make_record()) == compounding_record_pdf(make_record())
