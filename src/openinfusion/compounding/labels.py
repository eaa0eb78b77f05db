"""Patient labels and compounding records for a prepared dose: PDF (any printer) and ZPL (Zebra).

Pure Python over frozen dataclasses, no Django: the caller gathers the facts, these functions only
draw them. One list of label lines (:func:`label_lines`) feeds both the PDF and the ZPL, so the two
formats always say the same thing.

What the label carries follows USP <797> (patient, drug, dose, volume, BUD, storage, who prepared
and checked), USP <800> (a hazardous-drug warning) and ISMP practice (tall-man drug names, the
vinca-alkaloid statement "FOR INTRAVENOUS USE ONLY — FATAL IF GIVEN BY OTHER ROUTES", the BUD in
the site's zone with the zone named, unambiguous dates such as "14 Feb 1961").

Text is never cut off: a line too long for the label is drawn smaller (measured with the font's
real metrics), then wrapped; if the whole label still does not fit, :class:`LabelError` is raised
rather than printing a label with something missing. PDFs are deterministic (``invariant=1``).
"""

from __future__ import annotations

import datetime
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.graphics import renderPDF
from reportlab.graphics.barcode.ecc200datamatrix import ECC200DataMatrix
from reportlab.graphics.shapes import Drawing, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4, letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.utils import ImageReader, simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from openinfusion.clinical.bud import zone_named

__all__ = [
    "HAZARD_WARNING",
    "LABEL_SIZES",
    "RECORD_SECTIONS",
    "VINCA_WARNING",
    "CompoundingRecord",
    "LabelData",
    "LabelError",
    "LabelLine",
    "RecordLine",
    "compounding_record_pdf",
    "label_lines",
    "label_pdf",
    "label_zpl",
]

HAZARD_WARNING = "HAZARDOUS DRUG — handle and dispose per USP <800>"
VINCA_WARNING = "FOR INTRAVENOUS USE ONLY — FATAL IF GIVEN BY OTHER ROUTES"
LIGHT_WARNING = "PROTECT FROM LIGHT"

_MM = 72 / 25.4
LABEL_SIZES: dict[str, tuple[float, float]] = {
    "4x3in": (4 * 72.0, 3 * 72.0),
    "4x6in": (4 * 72.0, 6 * 72.0),
    "100x62mm": (100 * _MM, 62 * _MM),
}

RECORD_SECTIONS = (
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
)

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FONT = "Helvetica"
_BOLD = "Helvetica-Bold"


class LabelError(ValueError):
    """The label or record cannot be produced as asked; the message says what to fix."""


@dataclass(frozen=True)
class LabelData:
    preparation_id: int
    barcode_text: str  # what the nurse scans at the bedside, e.g. "OIP-000123"
    site_name: str
    patient_name: str  # "COSTA, Ana"
    mrn: str
    birth_date: datetime.date
    drug: str  # tall-man display name, e.g. "OXALIplatin"
    dose: str  # "152.15 mg"
    final_volume: str  # "280.4 mL"
    concentration: str  # "0.54 mg/mL"
    base_solution: str  # "dextrose 5% in water 250 mL"
    route: str  # "IV"
    rate_and_duration: str  # "140.2 mL/h over 120 min"
    bud: datetime.datetime  # aware
    time_zone: str  # IANA zone to print the BUD in, e.g. "America/New_York"
    storage: str  # "Refrigerate 2–8 °C" / "Room temperature"
    protect_from_light: bool
    hazardous: bool  # NIOSH group 1 or 2
    vinca_alkaloid: bool  # prints VINCA_WARNING
    bag_number: int
    bag_count: int
    prepared_by: str
    checked_by: str


@dataclass(frozen=True)
class RecordLine:
    """One row of a table in the compounding record."""

    cells: tuple[str, ...]


@dataclass(frozen=True)
class CompoundingRecord:
    label: LabelData
    order_summary: tuple[tuple[str, str], ...]  # (name, value): order, calculation inputs, verification signature
    plan_summary: tuple[tuple[str, str], ...]
    scans: tuple[RecordLine, ...]  # (time, step, product, NDC, lot, expiry, serial, result)
    weighings: tuple[
        RecordLine, ...
    ]  # (time, step, scale, tare g, gross g, expected mL, measured mL, deviation %, result)
    steps: tuple[RecordLine, ...]  # (time, step, by, detail)
    intercepted_errors: tuple[RecordLine, ...]  # (time, step, code, message, by)
    photos: tuple[bytes, ...]  # JPEG/PNG bytes to embed (may be empty)
    final_check: tuple[tuple[str, str], ...]  # who, when, meaning, signature hash


# --------------------------------------------------------------------------------------------------
# What the label says (shared by PDF and ZPL)


@dataclass(frozen=True)
class LabelLine:
    """One line of label text. ``kind`` picks its size and decoration in each output format."""

    kind: str  # site, patient, ids, drug, dose, base, route, bud, storage, hazard, vinca, people
    text: str


# kind -> (bold, size in points on a 4x3 inch label)
_PDF_STYLE: dict[str, tuple[bool, float]] = {
    "site": (False, 7.0),
    "patient": (True, 12.0),
    "ids": (False, 8.5),
    "bag": (True, 8.5),
    "drug": (True, 17.0),
    "dose": (True, 10.0),
    "base": (False, 8.5),
    "route": (True, 9.0),
    "bud": (True, 9.0),
    "storage": (False, 8.5),
    "hazard": (True, 8.5),
    "vinca": (True, 8.5),
    "people": (False, 7.0),
}


def format_date(day: datetime.date) -> str:
    """``14 Feb 1961``: no day/month ambiguity, no locale."""
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


def format_bud(bud: datetime.datetime, time_zone: str) -> str:
    """The BUD in the site's zone, zone named: ``10 Mar 2025 14:30 EDT (America/New_York)``."""
    if bud.tzinfo is None or bud.utcoffset() is None:
        raise LabelError("The beyond-use date has no time zone; pass an aware datetime (stored in UTC).")
    try:
        zone = zone_named(time_zone)
    except ValueError as exc:
        raise LabelError(f"{str(exc).capitalize()}.") from exc
    local = bud.astimezone(zone)
    return f"{format_date(local.date())} {local:%H:%M} {local.tzname()} ({time_zone})"


def _check(data: LabelData) -> None:
    required = {
        "barcode_text": data.barcode_text,
        "site_name": data.site_name,
        "patient_name": data.patient_name,
        "mrn": data.mrn,
        "drug": data.drug,
        "dose": data.dose,
        "final_volume": data.final_volume,
        "concentration": data.concentration,
        "base_solution": data.base_solution,
        "route": data.route,
        "rate_and_duration": data.rate_and_duration,
        "storage": data.storage,
        "prepared_by": data.prepared_by,
        "checked_by": data.checked_by,
    }
    empty = [name for name, value in required.items() if not value.strip()]
    if empty:
        raise LabelError(f"Label field(s) empty: {', '.join(empty)}. Every field must be printed on the label.")
    if not 1 <= data.bag_number <= data.bag_count:
        raise LabelError(f"Bag {data.bag_number} of {data.bag_count} is impossible; check the bag numbering.")
    for name, value in required.items():
        bad = sorted({ch for ch in value if not _printable(ch)})
        if bad:
            shown = ", ".join(f"{ch!r} (U+{ord(ch):04X})" for ch in bad)
            raise LabelError(
                f"Label field {name} has character(s) the label fonts cannot print: {shown}. "
                "Correct the text; a label must never show a character wrongly."
            )


def _printable(ch: str) -> bool:
    """Whether the standard PDF fonts (WinAnsi) and the Zebra font print ``ch`` as itself."""
    if ch < " " or ch == "\x7f":
        return False
    try:
        ch.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def label_lines(data: LabelData) -> tuple[LabelLine, ...]:
    """The label's text, top to bottom. Raises :class:`LabelError` on data that cannot be labelled."""
    _check(data)
    storage = data.storage + (f" · {LIGHT_WARNING}" if data.protect_from_light else "")
    lines = [
        LabelLine("site", data.site_name),
        LabelLine("patient", data.patient_name),
        LabelLine("ids", f"MRN {data.mrn} · DOB {format_date(data.birth_date)}"),
        LabelLine("bag", f"Bag {data.bag_number} of {data.bag_count} · Prep #{data.preparation_id}"),
        LabelLine("drug", data.drug),
        LabelLine("dose", f"{data.dose} in {data.final_volume} total ({data.concentration})"),
        LabelLine("base", f"Base solution: {data.base_solution}"),
        LabelLine("route", f"Route: {data.route} · Rate: {data.rate_and_duration}"),
        LabelLine("bud", f"BUD: {format_bud(data.bud, data.time_zone)}"),
        LabelLine("storage", f"Storage: {storage}"),
    ]
    if data.hazardous:
        lines.append(LabelLine("hazard", HAZARD_WARNING))
    if data.vinca_alkaloid:
        lines.append(LabelLine("vinca", VINCA_WARNING))
    lines.append(LabelLine("people", f"Prepared by: {data.prepared_by} · Checked by: {data.checked_by}"))
    return tuple(lines)


# --------------------------------------------------------------------------------------------------
# DataMatrix


class _DataMatrix(ECC200DataMatrix):  # type: ignore[misc]
    """reportlab's 44x44 ECC 200 symbol with a correct data encodation.

    reportlab's C40 encoder appends a spurious NUL when the text leaves one C40 value over, and
    its pad codeword is wrong when the 253-state randomiser yields 254. ASCII encodation (ISO/IEC
    16022 5.2.3, digit pairs packed) with the standard padding avoids both; placement and
    Reed-Solomon stay reportlab's.
    """

    def validate(self) -> None:
        bad = [ch for ch in self.value if ord(ch) > 255]
        if bad:
            raise LabelError(f"Barcode text {self.value!r} has characters a DataMatrix cannot carry: {bad!r}.")
        self.valid = 1
        self.validated = self.value

    def _encode_c40(self, value: str) -> list[int]:
        codewords: list[int] = []
        i = 0
        while i < len(value):
            pair = value[i : i + 2]
            if len(pair) == 2 and pair.isascii() and pair.isdigit():
                codewords.append(130 + int(pair))
                i += 2
                continue
            o = ord(value[i])
            if o > 127:
                codewords += [235, o - 127]  # upper shift
            else:
                codewords.append(o + 1)
            i += 1
        if len(codewords) > self.cw_data:
            raise LabelError(f"Barcode text is too long for the label's DataMatrix ({len(value)} characters).")
        if len(codewords) < self.cw_data:
            codewords.append(129)
        while len(codewords) < self.cw_data:
            pad = 129 + (149 * (len(codewords) + 1)) % 253 + 1
            codewords.append(pad if pad <= 254 else pad - 254)
        return codewords


def datamatrix_modules(text: str) -> tuple[tuple[bool, ...], ...]:
    """The symbol's modules, top row first, True for dark."""
    symbol = _DataMatrix(value=text)
    symbol.validate()
    rows = symbol.encode()  # bottom row first (reportlab reverses for PDF coordinates)
    return tuple(tuple(bool(m) for m in row) for row in reversed(rows))


def draw_datamatrix(drawing: Drawing, modules: Sequence[Sequence[bool]], x: float, top: float, size: float) -> None:
    """Dark modules as horizontal runs of filled rectangles, symbol's top-left at (x, top)."""
    for r, row in enumerate(modules):
        y = top - (r + 1) * size
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            drawing.add(Rect(x + start * size, y, (c - start) * size, size, fillColor=colors.black, strokeColor=None))


# --------------------------------------------------------------------------------------------------
# Label as PDF


def _fit(text: str, font: str, size: float, width: float, floor: float) -> list[tuple[str, float]]:
    """Lines and their sizes so that each is at most ``width`` wide: shrink, then wrap, never clip."""
    natural = stringWidth(text, font, size)
    if natural <= width:
        return [(text, size)]
    shrunk = size * width / natural
    smallest = max(floor, size * 0.6)
    if shrunk >= smallest:
        return [(text, _round_down(shrunk))]
    out: list[tuple[str, float]] = []
    for line in simpleSplit(text, font, smallest, width):
        w = stringWidth(line, font, smallest)
        out.append((line, smallest if w <= width else _round_down(smallest * width / w)))
    return out


def _round_down(size: float) -> float:
    return int(size * 10) / 10


@dataclass(frozen=True)
class _Placed:
    kind: str
    text: str
    font: str
    size: float
    x: float
    baseline: float


def _layout(
    lines: Sequence[LabelLine], width: float, height: float, scale: float, code_size: float, extra: float = 0.0
) -> tuple[list[_Placed], list[tuple[float, float, float, float, str]], float]:
    """Place lines top-down at ``scale`` with ``extra`` space after each; beside the DataMatrix, narrower.

    Returns texts, boxes (x, y, w, h, style) and the lowest y used.
    """
    margin = 0.045 * min(width, height) + 2
    gap = 6.0
    code_bottom = height - margin - code_size - 10  # symbol plus its human-readable line
    placed: list[_Placed] = []
    boxes: list[tuple[float, float, float, float, str]] = []
    y = height - margin
    for line in lines:
        bold, nominal = _PDF_STYLE[line.kind]
        font = _BOLD if bold else _FONT
        size = nominal * scale
        boxed = line.kind in ("hazard", "vinca")
        pad = 2.0 * scale if boxed else 0.0
        left = margin + pad
        full = width - 2 * margin - 2 * pad
        # Beside the symbol when the line starts above its bottom edge (symbol plus caption).
        narrow = y > code_bottom
        avail = full - (code_size + gap) if narrow else full
        fitted = _fit(line.text, font, size, avail, floor=4.5)
        top = y
        y -= pad
        for text, s in fitted:
            y -= s * 1.18
            placed.append(_Placed(line.kind, text, font, s, left, y + s * 0.22))
        y -= pad
        if boxed:
            boxes.append((margin, y, (avail if narrow else full) + 2 * pad, top - y, line.kind))
            y -= 1.5 * scale
        y -= extra
    return placed, boxes, y


def _label_drawing(data: LabelData, size: str) -> Drawing:
    if size not in LABEL_SIZES:
        raise LabelError(f"Unknown label size {size!r}; choose one of {', '.join(LABEL_SIZES)}.")
    width, height = LABEL_SIZES[size]
    lines = label_lines(data)
    modules = datamatrix_modules(data.barcode_text)
    base = 4 * 72.0, 3 * 72.0
    scale = min(height / base[1], width / base[0] * 1.25)
    module = max(1.2, round(1.5 * min(width / base[0], height / base[1]) * 4) / 4)
    code_size = module * len(modules)
    while True:
        placed, boxes, lowest = _layout(lines, width, height, scale, code_size)
        if lowest >= 0.045 * min(width, height):
            break
        scale -= 0.02
        if scale < 0.55:
            raise LabelError(
                f"The label text does not fit a {size} label even at the smallest legible size; "
                "use a larger label size."
            )
    # Spread what is left over between the lines (a tall label reads better with air, not a blank foot).
    bottom = 0.045 * min(width, height)
    extra = min((lowest - bottom) / (len(lines) + 1), 0.5 * _PDF_STYLE["drug"][1] * scale)
    spread = _layout(lines, width, height, scale, code_size, extra)
    if spread[2] >= bottom:
        placed, boxes, lowest = spread
    drawing = Drawing(width, height)
    for x, y, w, h, kind in boxes:
        if kind == "hazard":  # reverse print: white on black
            drawing.add(Rect(x, y, w, h, fillColor=colors.black, strokeColor=None))
        else:
            drawing.add(Rect(x, y, w, h, fillColor=None, strokeColor=colors.black, strokeWidth=1.2))
    for p in placed:
        fill = colors.white if p.kind == "hazard" else colors.black
        drawing.add(String(p.x, p.baseline, p.text, fontName=p.font, fontSize=p.size, fillColor=fill))
    margin = 0.045 * min(width, height) + 2
    code_x = width - margin - code_size
    code_top = height - margin
    draw_datamatrix(drawing, modules, code_x, code_top, module)
    caption = _fit(data.barcode_text, _FONT, 7.0, code_size + margin - 2, floor=4.5)[0]
    drawing.add(
        String(
            code_x + code_size / 2,
            code_top - code_size - 8,
            caption[0],
            fontName=_FONT,
            fontSize=caption[1],
            textAnchor="middle",
        )
    )
    return drawing


def _new_canvas(buffer: io.BytesIO, pagesize: tuple[float, float], title: str) -> Canvas:
    canvas = Canvas(buffer, pagesize=pagesize, invariant=1)
    canvas.setTitle(title)
    canvas.setAuthor("OpenInfusion")
    canvas.setCreator("OpenInfusion")
    return canvas


def label_pdf(data: LabelData, size: str = "4x3in") -> bytes:
    """One-page PDF patient label of ``size`` (a key of :data:`LABEL_SIZES`)."""
    drawing = _label_drawing(data, size)
    buffer = io.BytesIO()
    canvas = _new_canvas(buffer, LABEL_SIZES[size], f"Label {data.barcode_text}")
    renderPDF.draw(drawing, canvas, 0, 0)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --------------------------------------------------------------------------------------------------
# Label as ZPL


# kind -> (bold, character height in dots at 203 dpi)
_ZPL_STYLE: dict[str, tuple[bool, int]] = {
    "site": (False, 22),
    "patient": (True, 36),
    "ids": (False, 26),
    "bag": (True, 26),
    "drug": (True, 52),
    "dose": (True, 30),
    "base": (False, 26),
    "route": (True, 28),
    "bud": (True, 28),
    "storage": (False, 26),
    "hazard": (True, 26),
    "vinca": (True, 26),
    "people": (False, 22),
}
# Zebra font 0 (CG Triumvirate Bold Condensed) is narrower than this; the estimate errs wide so
# that text sized by it fits.
_ZPL_CHAR_WIDTH = 0.6


def zpl_escape(text: str) -> str:
    """Field data for ``^FH_^FD``: ``^``, ``~``, ``_`` and every non-ASCII byte (UTF-8, ``^CI28``) as ``_XX``."""
    out: list[str] = []
    for ch in text:
        if ch.isascii() and ch not in "^~_" and " " <= ch < "\x7f":
            out.append(ch)
        else:
            out.extend(f"_{byte:02X}" for byte in ch.encode("utf-8"))
    return "".join(out)


def _zpl_fit(text: str, height: int, width: int, floor: int) -> list[tuple[str, int]]:
    def est(t: str, h: int) -> float:
        return len(t) * h * _ZPL_CHAR_WIDTH

    if est(text, height) <= width:
        return [(text, height)]
    shrunk = int(width / (len(text) * _ZPL_CHAR_WIDTH))
    smallest = max(floor, int(height * 0.6))
    if shrunk >= smallest:
        return [(text, shrunk)]
    out: list[tuple[str, int]] = []
    current = ""
    for word in text.split(" "):
        candidate = f"{current} {word}" if current else word
        if current and est(candidate, smallest) > width:
            out.append((current, smallest))
            current = word
        else:
            current = candidate
    out.append((current, smallest))
    return [(t, h if est(t, h) <= width else max(8, int(width / (len(t) * _ZPL_CHAR_WIDTH)))) for t, h in out]


def label_zpl(data: LabelData, dpi: int = 203) -> str:
    """A 4x3 inch label as ZPL II: text fields via ``^FH`` (UTF-8 escapes), DataMatrix via ``^BX``."""
    if dpi not in (203, 300, 600):
        raise LabelError(f"Zebra printers print at 203, 300 or 600 dpi, not {dpi}.")
    lines = label_lines(data)
    k = dpi / 203
    width, height = 4 * dpi, 3 * dpi
    margin = round(20 * k)
    module = max(2, round(6 * k))
    code_size = 26 * module  # room for symbols up to 26x26 modules (about 40 characters)
    caption_h = round(22 * k)
    code_bottom = margin + code_size + caption_h + round(6 * k)
    code_x = width - margin - code_size
    out = [
        "^XA",
        "^CI28",  # field data is UTF-8 (escaped with ^FH)
        f"^PW{width}",
        f"^LL{height}",
        "^LH0,0",
        f"^FO{code_x},{margin}^BXN,{module},200^FH_^FD{zpl_escape(data.barcode_text)}^FS",
    ]
    caption = _zpl_fit(data.barcode_text, caption_h, code_size + margin - 4, 12)[0]
    out.append(f"^FO{code_x},{margin + code_size + 4}^A0N,{caption[1]},{caption[1]}^FH_^FD{zpl_escape(caption[0])}^FS")
    y = margin
    for line in lines:
        bold, nominal = _ZPL_STYLE[line.kind]
        h = round(nominal * k)
        boxed = line.kind in ("hazard", "vinca")
        pad = round(6 * k) if boxed else 0
        narrow = y < code_bottom
        avail = width - 2 * margin - 2 * pad - ((code_size + round(12 * k)) if narrow else 0)
        top = y
        y += pad
        fields: list[str] = []
        for text, size in _zpl_fit(line.text, h, avail, round(16 * k)):
            # Bold: a second pass offset by one dot thickens the condensed font for the key lines.
            field = f"^A0N,{size},{size}^FH_^FD{zpl_escape(text)}^FS"
            fields.append(f"^FO{margin + pad},{y}{field}")
            if bold and line.kind in ("drug", "patient"):
                fields.append(f"^FO{margin + pad + 1},{y}{field}")
            y += round(size * 1.12)
        y += pad
        if boxed:
            box_w = avail + 2 * pad
            if line.kind == "hazard":  # solid black bar, text printed in reverse (^FR)
                out.append(f"^FO{margin},{top}^GB{box_w},{y - top},{y - top}^FS")
                out.extend(f.replace("^A0N", "^FR^A0N", 1) for f in fields)
            else:
                out.append(f"^FO{margin},{top}^GB{box_w},{y - top},{max(2, round(3 * k))}^FS")
                out.extend(fields)
            y += round(6 * k)
        else:
            out.extend(fields)
        y += round(4 * k)
    if y > height - margin // 2:
        raise LabelError("The label text does not fit a 4x3 inch Zebra label; shorten the text or print the PDF.")
    out.append("^PQ1")
    out.append("^XZ")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------------
# Compounding record


_SCAN_HEAD = ("Time", "Step", "Product", "NDC", "Lot", "Expiry", "Serial", "Result")
_WEIGH_HEAD = ("Time", "Step", "Scale", "Tare g", "Gross g", "Expected mL", "Measured mL", "Deviation %", "Result")
_STEP_HEAD = ("Time", "Step", "By", "Detail")
_ERROR_HEAD = ("Time", "Step", "Code", "Message", "By")


def _styles() -> dict[str, ParagraphStyle]:
    sheet = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("rec-title", parent=sheet["Title"], fontSize=16, leading=19, spaceAfter=2),
        "sub": ParagraphStyle("rec-sub", parent=sheet["Normal"], fontSize=9, leading=11, alignment=1),
        "h": ParagraphStyle("rec-h", parent=sheet["Heading2"], fontSize=12, leading=14, spaceBefore=10, spaceAfter=4),
        "cell": ParagraphStyle("rec-cell", parent=sheet["Normal"], fontName=_FONT, fontSize=7.5, leading=9),
        "head": ParagraphStyle("rec-head", parent=sheet["Normal"], fontName=_BOLD, fontSize=7.5, leading=9),
        "none": ParagraphStyle("rec-none", parent=sheet["Normal"], fontSize=8.5, leading=10, textColor=colors.grey),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def _grid(rows: list[list[Paragraph]], widths: Sequence[float], header: bool) -> Table:
    table = Table(rows, colWidths=list(widths), repeatRows=1 if header else 0)
    commands: list[tuple[object, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.88, 0.88, 0.88)))
    table.setStyle(TableStyle(commands))
    return table


def _pairs(pairs: Iterable[tuple[str, str]], frame: float, st: dict[str, ParagraphStyle]) -> list[object]:
    rows = [[_p(name, st["head"]), _p(value, st["cell"])] for name, value in pairs]
    if not rows:
        return [_p("None recorded.", st["none"])]
    return [_grid(rows, (frame * 0.28, frame * 0.72), header=False)]


def _rows(
    section: str,
    head: Sequence[str],
    weights: Sequence[float],
    lines: Sequence[RecordLine],
    frame: float,
    st: dict[str, ParagraphStyle],
) -> list[object]:
    if not lines:
        return [_p("None recorded.", st["none"])]
    rows = [[_p(h, st["head"]) for h in head]]
    for number, line in enumerate(lines, 1):
        if len(line.cells) > len(head):
            raise LabelError(
                f"{section} row {number} has {len(line.cells)} cells but the table has {len(head)} columns "
                f"({', '.join(head)}); nothing may be dropped from the record."
            )
        cells = [*line.cells, *("" for _ in range(len(head) - len(line.cells)))]
        rows.append([_p(cell, st["cell"]) for cell in cells])
    total = sum(weights)
    return [_grid(rows, [frame * w / total for w in weights], header=True)]


def _photo(number: int, raw: bytes, frame: float) -> Image:
    try:
        w, h = ImageReader(io.BytesIO(raw)).getSize()
    except Exception as exc:  # PIL raises several types for unreadable data
        raise LabelError(f"Photo {number} is not a readable JPEG or PNG image.") from exc
    ratio = min(frame / w, 320 / h)
    return Image(io.BytesIO(raw), width=w * ratio, height=h * ratio, hAlign="LEFT")


def compounding_record_pdf(record: CompoundingRecord, *, paper: str = "letter") -> bytes:
    """The batch record of one preparation: every section, every row, the photos; ``paper`` "letter" or "A4"."""
    pages = {"letter": letter, "A4": A4}
    if paper not in pages:
        raise LabelError(f"Unknown paper {paper!r}; choose letter or A4.")
    page_w, page_h = pages[paper]
    data = record.label
    lines = label_lines(data)  # refuses the same bad data the label would
    label = _label_drawing(data, "4x3in")
    label.add(Rect(0, 0, label.width, label.height, fillColor=None, strokeColor=colors.grey, strokeWidth=0.5))
    st = _styles()
    margin = 0.6 * 72
    frame = page_w - 2 * margin
    footer_id = f"{data.barcode_text} · {data.patient_name} · MRN {data.mrn}"

    product = [
        ("Patient", data.patient_name),
        ("MRN", data.mrn),
        ("Date of birth", format_date(data.birth_date)),
        ("Drug", data.drug),
        ("Dose", data.dose),
        ("Final volume", data.final_volume),
        ("Concentration", data.concentration),
        ("Base solution", data.base_solution),
        ("Route", data.route),
        ("Rate and duration", data.rate_and_duration),
        ("BUD", format_bud(data.bud, data.time_zone)),
        ("Storage", data.storage + (f"; {LIGHT_WARNING.lower()}" if data.protect_from_light else "")),
        ("Bag", f"{data.bag_number} of {data.bag_count}"),
        ("Prepared by", data.prepared_by),
        ("Checked by", data.checked_by),
    ]
    product += [("Warning", line.text) for line in lines if line.kind in ("hazard", "vinca")]

    def story() -> list[object]:
        out: list[object] = [
            _p("Compounding record", st["title"]),
            _p(f"Preparation #{data.preparation_id} · {data.barcode_text} · {data.site_name}", st["sub"]),
            Spacer(1, 6),
        ]

        def section(title: str, body: list[object]) -> None:
            out.append(KeepTogether([_p(title, st["h"]), body[0]]) if body else _p(title, st["h"]))
            out.extend(body[1:])

        section("Patient and product", _pairs(product, frame, st))
        section("Label as printed", [label])
        section("Order", _pairs(record.order_summary, frame, st))
        section("Plan", _pairs(record.plan_summary, frame, st))
        section("Scans", _rows("Scans", _SCAN_HEAD, (1.1, 1.2, 2, 1.3, 1, 1, 1.2, 1), record.scans, frame, st))
        section(
            "Weighings",
            _rows("Weighings", _WEIGH_HEAD, (1.1, 1.2, 1.1, 0.8, 0.8, 0.9, 0.9, 0.9, 1), record.weighings, frame, st),
        )
        section("Steps", _rows("Steps", _STEP_HEAD, (1.1, 1.3, 1.2, 4), record.steps, frame, st))
        section(
            "Intercepted errors",
            _rows("Intercepted errors", _ERROR_HEAD, (1.1, 1.2, 1.2, 3.5, 1.2), record.intercepted_errors, frame, st),
        )
        photos: list[object] = []
        for number, raw in enumerate(record.photos, 1):
            photos.append(_photo(number, raw, frame))
            photos.append(_p(f"Photo {number} of {len(record.photos)}", st["none"]))
            photos.append(Spacer(1, 6))
        section("Photos", photos or [_p("None recorded.", st["none"])])
        section("Final check", _pairs(record.final_check, frame, st))
        return out

    def build(total: int) -> tuple[bytes, int]:
        buffer = io.BytesIO()
        doc = SimpleDocTemplate(
            buffer,
            pagesize=(page_w, page_h),
            leftMargin=margin,
            rightMargin=margin,
            topMargin=margin,
            bottomMargin=margin,
            title=f"Compounding record {data.barcode_text}",
            author="OpenInfusion",
            creator="OpenInfusion",
            invariant=1,
        )

        def footer(canvas: Canvas, document: SimpleDocTemplate) -> None:
            canvas.saveState()
            canvas.setFont(_FONT, 7.5)
            canvas.drawString(margin, margin / 2, footer_id)
            canvas.drawRightString(page_w - margin, margin / 2, f"Page {document.page} of {total}")
            canvas.restoreState()

        doc.build(story(), onFirstPage=footer, onLaterPages=footer)
        return buffer.getvalue(), int(doc.page)

    _, pages_needed = build(0)
    pdf, _ = build(pages_needed)
    return pdf
