"""A printable sheet of DataMatrix codes to scan off paper or a screen: packages of the stock on hand
(their GS1 element string, as the manufacturer prints it on the carton) and patients' wristbands
(the MRN). For training, and for a person trying the demo with a phone or a USB scanner."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from reportlab.graphics import renderPDF
from reportlab.graphics.shapes import Drawing
from reportlab.lib.pagesizes import letter
from reportlab.pdfgen.canvas import Canvas

from openinfusion.compounding.labels import datamatrix_modules, draw_datamatrix
from openinfusion.inventory.models import Lot

GS = "\x1d"
COLUMNS, ROWS = 3, 4
MODULE_PT = 2.2  # a 44-module symbol is about 97 pt (34 mm) wide: easy for a phone camera


@dataclass(frozen=True)
class Code:
    title: str
    detail: str
    text: str  # what the symbol carries, GS as the group separator

    @property
    def typed(self) -> str:
        """The same text as a person types it (the separator as <GS>)."""
        return self.text.replace(GS, "<GS>")


def package_code(lot: Lot, serial: str = "DEMO1") -> Code:
    """A package of ``lot``: GTIN (01), expiry (17), lot (10), serial (21)."""
    text = f"01{lot.product.gtin14}17{lot.expiry:%y%m%d}10{lot.lot_number}{GS}21{serial}"
    return Code(str(lot.product), f"lot {lot.lot_number}, expires {lot.expiry:%Y-%m-%d}", text)


def wristband_code(mrn: str, name: str) -> Code:
    return Code(name, "wristband", mrn)


def sheet_pdf(codes: Sequence[Code], heading: str) -> bytes:
    """US Letter pages of 3 × 4 codes, each with its title, detail and the text to type instead."""
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=letter, invariant=1)
    canvas.setTitle(heading)
    canvas.setAuthor("OpenInfusion")
    width, height = letter
    cell_w, cell_h = (width - 72) / COLUMNS, (height - 108) / ROWS
    for start in range(0, max(len(codes), 1), COLUMNS * ROWS):
        canvas.setFont("Helvetica-Bold", 14)
        canvas.drawString(36, height - 48, heading)
        for n, code in enumerate(codes[start : start + COLUMNS * ROWS]):
            x = 36 + (n % COLUMNS) * cell_w
            top = height - 72 - (n // COLUMNS) * cell_h
            modules = datamatrix_modules(code.text)
            drawing = Drawing(width, height)
            draw_datamatrix(drawing, modules, x + 8, top - 8, MODULE_PT)
            renderPDF.draw(drawing, canvas, 0, 0)
            text_top = top - 16 - len(modules) * MODULE_PT
            canvas.setFont("Helvetica-Bold", 8)
            canvas.drawString(x + 8, text_top, code.title[:48])
            canvas.setFont("Helvetica", 7.5)
            canvas.drawString(x + 8, text_top - 10, code.detail[:56])
            canvas.setFont("Courier", 6.5)
            canvas.drawString(x + 8, text_top - 20, code.typed[:60])
        canvas.showPage()
    canvas.save()
    return buffer.getvalue()
