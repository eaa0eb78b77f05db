"""Home-delivery manifest PDF: what left the pharmacy for one patient, with cold-chain flags, a barcode of the
manifest id, and signature lines for pharmacy out, courier and the person who received it.

Pure Python (no Django): the caller builds a DeliveryManifest from the dispense records.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.code128 import Code128
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from reportlab.platypus.flowables import Flowable

from openinfusion.clinical.bud import zone_named

COLD_CHAIN_FLAG = "KEEP 2\u20138 \u00b0C"
SIGNATURE_ROLES = ("Pharmacy out", "Courier", "Received by (patient/caregiver)")
TEMPERATURE_LINE = "Temperature on delivery: ________ \u00b0C    Time: ________    Initials: ________"


@dataclass(frozen=True)
class ManifestItem:
    description: str
    quantity: str
    storage: str
    cold_chain: bool


@dataclass(frozen=True)
class DeliveryManifest:
    manifest_id: str
    site_name: str
    patient_name: str
    mrn: str
    address: str
    phone: str
    dispatched_at: datetime.datetime  # timezone-aware
    time_zone: str
    items: tuple[ManifestItem, ...]
    supplies: tuple[str, ...]
    pump: str | None
    notes: str

    def __post_init__(self) -> None:
        if not self.manifest_id.strip():
            raise ValueError("manifest_id must not be empty")
        if not all(32 <= ord(ch) < 127 for ch in self.manifest_id):
            raise ValueError("manifest_id must be printable ASCII (it is printed as a Code 128 barcode)")
        if self.dispatched_at.tzinfo is None or self.dispatched_at.utcoffset() is None:
            raise ValueError("dispatched_at must be timezone-aware")
        zone_named(self.time_zone)


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Cut ``text`` (adding "...") so it fits in ``width`` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "..."


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text), style)


def manifest_pdf(m: DeliveryManifest) -> bytes:
    """Render the manifest. Output is byte-for-byte deterministic for the same input."""
    local = m.dispatched_at.astimezone(zone_named(m.time_zone))
    dispatched = f"{local:%Y-%m-%d %H:%M} {local.tzname() or ''} ({m.time_zone})"

    base = ParagraphStyle("body", fontName="Helvetica", fontSize=11, leading=14)
    bold = ParagraphStyle("bold", parent=base, fontName="Helvetica-Bold")
    flag = ParagraphStyle("flag", parent=bold, textColor=colors.HexColor("#0b4f8a"))
    title = ParagraphStyle("title", parent=bold, fontSize=18, leading=22)
    heading = ParagraphStyle("heading", parent=bold, fontSize=13, leading=16, spaceBefore=10, spaceAfter=4)

    margin = 15 * mm
    width = A4[0] - 2 * margin
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin + 5 * mm,
        title=f"Delivery manifest {m.manifest_id}",
        author=m.site_name,
        creator="OpenInfusion",
        invariant=1,
    )

    barcode = Code128(m.manifest_id, barHeight=14 * mm, barWidth=0.9, humanReadable=False, quiet=True)
    header = Table(
        [
            [
                [_p(m.site_name, bold), _p("Delivery manifest", title), _p(f"Manifest ID: {m.manifest_id}", bold)],
                barcode,
            ]
        ],
        colWidths=[width * 0.55, width * 0.45],
    )
    header.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP"), ("ALIGN", (1, 0), (1, 0), "RIGHT")]))

    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ]
    )
    patient = Table(
        [
            [_p("Patient", bold), _p(m.patient_name, base), _p("MRN", bold), _p(m.mrn, base)],
            [_p("Address", bold), _p(m.address, base), _p("Phone", bold), _p(m.phone, base)],
            [_p("Dispatched", bold), _p(dispatched, base), _p("", base), _p("", base)],
        ],
        colWidths=[width * 0.15, width * 0.50, width * 0.10, width * 0.25],
    )
    patient.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("SPAN", (1, 2), (3, 2)),
            ]
        )
    )

    item_rows: list[list[Flowable]] = [
        [_p("Item", bold), _p("Quantity", bold), _p("Storage", bold), _p("Cold chain", bold), _p("Checked", bold)]
    ]
    for item in m.items:
        item_rows.append(
            [
                _p(item.description, base),
                _p(item.quantity, base),
                _p(item.storage, base),
                _p(COLD_CHAIN_FLAG, flag) if item.cold_chain else _p("-", base),
                _p("[   ]", base),
            ]
        )
    items = Table(
        item_rows,
        colWidths=[width * 0.34, width * 0.14, width * 0.22, width * 0.18, width * 0.12],
        repeatRows=1,
    )
    items.setStyle(grid)

    story: list[Flowable] = [
        header,
        Spacer(1, 6),
        patient,
        Paragraph("Items", heading),
        items if m.items else _p("No medicines on this manifest.", base),
    ]

    cold = [item for item in m.items if item.cold_chain]
    if cold:
        cold_rows: list[list[Flowable]] = [[_p("Cold-chain item", bold), _p("Record on delivery", bold)]]
        for item in cold:
            cold_rows.append([_p(item.description, base), _p(TEMPERATURE_LINE, base)])
        cold_table = Table(cold_rows, colWidths=[width * 0.35, width * 0.65], repeatRows=1)
        cold_table.setStyle(grid)
        story += [
            Paragraph("Cold chain: record the temperature at delivery", heading),
            _p("Refrigerate on arrival. Do not freeze. Call the pharmacy if the temperature is out of range.", base),
            Spacer(1, 3),
            cold_table,
        ]

    story.append(Paragraph("Supplies", heading))
    if m.supplies:
        for supply in m.supplies:
            story.append(Paragraph(f"[   ] {escape(supply)}", base))
    else:
        story.append(_p("None.", base))

    story.append(Paragraph("Pump", heading))
    story.append(_p(m.pump if m.pump else "No pump supplied.", base))

    if m.notes.strip():
        story += [Paragraph("Notes", heading), _p(m.notes, base)]

    signature_rows: list[list[Flowable]] = [
        [_p("Role", bold), _p("Name", bold), _p("Signature", bold), _p("Date/time", bold)]
    ]
    for role in SIGNATURE_ROLES:
        signature_rows.append([_p(role, bold), _p("", base), _p("", base), _p("", base)])
    signatures = Table(
        signature_rows,
        colWidths=[width * 0.28, width * 0.26, width * 0.26, width * 0.20],
        rowHeights=[None] + [14 * mm] * len(SIGNATURE_ROLES),
    )
    signatures.setStyle(grid)
    story.append(KeepTogether([Paragraph("Signatures", heading), signatures]))

    footer = f"{m.site_name} - manifest {m.manifest_id} - {m.patient_name} ({m.mrn})"

    def _on_page(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 9)
        canvas.drawString(margin, margin * 0.6, _fit(footer, "Helvetica", 9, width - 60))
        canvas.drawRightString(A4[0] - margin, margin * 0.6, f"Page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=_on_page, onLaterPages=_on_page)
    return buffer.getvalue()
