"""Patient education leaflets: load the plain-language texts from ``data/leaflets.yaml`` and print one as a
PDF with the patient's name, upcoming schedule (in the site's time zone) and the site's phone number.

Pure Python (no Django): the caller looks up the patient, schedule and site and passes plain values.
"""

from __future__ import annotations

import datetime
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

import yaml
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4, LETTER
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    KeepTogether,
    ListFlowable,
    ListItem,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)
from reportlab.platypus.flowables import Flowable

from openinfusion.clinical.bud import zone_named

DEFAULT = Path(__file__).parent / "data" / "leaflets.yaml"

_KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TEXT_FIELDS = ("title", "what_it_is_for", "how_it_is_given")
_REQUIRED_LISTS = ("common_side_effects", "serious_side_effects", "when_to_call", "sources")
_OPTIONAL_LISTS = ("home_infusion",)
_ALL_FIELDS = frozenset(("key", *_TEXT_FIELDS, *_REQUIRED_LISTS, *_OPTIONAL_LISTS))

# Section headings, in print order. Tests and callers may refer to these.
HEADING_WHAT_FOR = "What it is for"
HEADING_HOW_GIVEN = "How it is given"
HEADING_COMMON = "Common side effects"
HEADING_SERIOUS = "Serious side effects: tell us at once"
HEADING_WHEN_TO_CALL = "When to call us"
HEADING_AT_HOME = "At home"
HEADING_SCHEDULE = "Your upcoming schedule"
HEADING_CONTACT = "How to reach us"
SECTION_HEADINGS = (
    HEADING_WHAT_FOR,
    HEADING_HOW_GIVEN,
    HEADING_COMMON,
    HEADING_SERIOUS,
    HEADING_WHEN_TO_CALL,
    HEADING_SCHEDULE,
    HEADING_CONTACT,
)

PAGE_SIZES: Mapping[str, tuple[float, float]] = {"A4": A4, "Letter": LETTER}
BODY_PT = 13.0
HEADING_PT = 16.0
TITLE_PT = 22.0


@dataclass(frozen=True)
class Leaflet:
    key: str
    title: str
    what_it_is_for: str
    how_it_is_given: str
    common_side_effects: tuple[str, ...]
    serious_side_effects: tuple[str, ...]
    when_to_call: tuple[str, ...]
    home_infusion: tuple[str, ...]
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ScheduleItem:
    when: datetime.datetime  # timezone-aware
    what: str


def _printable(text: str) -> bool:
    """The PDF uses the standard Helvetica font (Windows-1252 glyphs); other characters would print as boxes."""
    try:
        text.encode("cp1252")
    except UnicodeEncodeError:
        return False
    return True


def _text(key: str, field: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"leaflet {key!r}: field {field!r} must be non-empty text")
    if not _printable(value):
        raise ValueError(f"leaflet {key!r}: field {field!r} has characters the PDF font cannot print")
    return " ".join(value.split())


def _text_list(key: str, field: str, value: Any, *, required: bool) -> tuple[str, ...]:
    if value is None and not required:
        return ()
    if not isinstance(value, list) or (required and not value):
        raise ValueError(f"leaflet {key!r}: field {field!r} must be a non-empty list of text")
    items = tuple(_text(key, f"{field}[{i}]", item) for i, item in enumerate(value))
    if field == "sources":
        for i, url in enumerate(items):
            if not url.startswith("https://") or " " in url:
                raise ValueError(f"leaflet {key!r}: field 'sources[{i}]' must be an https URL")
    return items


def _leaflet(index: int, entry: Any) -> Leaflet:
    if not isinstance(entry, dict):
        raise ValueError(f"leaflet #{index}: entry must be a mapping")
    raw_key = entry.get("key")
    if not isinstance(raw_key, str) or not _KEY_RE.match(raw_key):
        raise ValueError(f"leaflet #{index}: field 'key' must be lowercase words joined by hyphens")
    key = raw_key
    unknown = sorted(str(name) for name in set(entry) - _ALL_FIELDS)
    if unknown:
        raise ValueError(f"leaflet {key!r}: unknown field(s) {', '.join(unknown)}")
    for field in (*_TEXT_FIELDS, *_REQUIRED_LISTS):
        if field not in entry:
            raise ValueError(f"leaflet {key!r}: field {field!r} is missing")
    return Leaflet(
        key=key,
        title=_text(key, "title", entry["title"]),
        what_it_is_for=_text(key, "what_it_is_for", entry["what_it_is_for"]),
        how_it_is_given=_text(key, "how_it_is_given", entry["how_it_is_given"]),
        common_side_effects=_text_list(key, "common_side_effects", entry["common_side_effects"], required=True),
        serious_side_effects=_text_list(key, "serious_side_effects", entry["serious_side_effects"], required=True),
        when_to_call=_text_list(key, "when_to_call", entry["when_to_call"], required=True),
        home_infusion=_text_list(key, "home_infusion", entry.get("home_infusion"), required=False),
        sources=_text_list(key, "sources", entry["sources"], required=True),
    )


def load_leaflets(path: Path | str = DEFAULT) -> dict[str, Leaflet]:
    """Read and validate every leaflet; raise ValueError naming the leaflet key and field on a bad entry."""
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    if not isinstance(data, dict) or not isinstance(data.get("leaflets"), list):
        raise ValueError(f"{path}: expected a mapping with a 'leaflets' list")
    leaflets: dict[str, Leaflet] = {}
    for index, entry in enumerate(data["leaflets"]):
        leaflet = _leaflet(index, entry)
        if leaflet.key in leaflets:
            raise ValueError(f"leaflet {leaflet.key!r}: field 'key' is duplicated")
        leaflets[leaflet.key] = leaflet
    return leaflets


# --- PDF ---------------------------------------------------------------------------------------------------


def format_local(when: datetime.datetime, zone: ZoneInfo) -> tuple[str, str]:
    """(date, time) of an aware datetime in ``zone``, e.g. ("Mon 15 Jan 2024", "09:00 EST")."""
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError("schedule times must be timezone-aware")
    local = when.astimezone(zone)
    return local.strftime("%a %d %b %Y"), f"{local:%H:%M} {local.tzname() or ''}".rstrip()


def _fit(text: str, font: str, size: float, width: float) -> str:
    """Cut ``text`` (adding "...") so it fits in ``width`` points."""
    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "...", font, size) > width:
        text = text[:-1]
    return text.rstrip() + "..."


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName="Helvetica", fontSize=BODY_PT, leading=BODY_PT * 1.35, alignment=TA_LEFT)
    return {
        "body": base,
        "bold": ParagraphStyle("bold", parent=base, fontName="Helvetica-Bold"),
        "small": ParagraphStyle("small", parent=base, fontSize=12, leading=15, textColor=colors.HexColor("#333333")),
        "title": ParagraphStyle(
            "title", parent=base, fontName="Helvetica-Bold", fontSize=TITLE_PT, leading=TITLE_PT * 1.2, spaceAfter=4
        ),
        "heading": ParagraphStyle(
            "heading",
            parent=base,
            fontName="Helvetica-Bold",
            fontSize=HEADING_PT,
            leading=HEADING_PT * 1.25,
            spaceBefore=10,
            spaceAfter=4,
            textColor=colors.HexColor("#1f3a5f"),
        ),
    }


def _bullets(items: Sequence[str], style: ParagraphStyle) -> ListFlowable:
    return ListFlowable(
        [ListItem(Paragraph(escape(item), style), leftIndent=18) for item in items],
        bulletType="bullet",
        start="\u2022",
        bulletFontSize=BODY_PT,
        leftIndent=18,
    )


def _callout(text: str, style: ParagraphStyle, width: float) -> Table:
    table = Table([[Paragraph(text, style)]], colWidths=[width])
    table.setStyle(
        TableStyle(
            [
                ("BOX", (0, 0), (-1, -1), 1.5, colors.HexColor("#1f3a5f")),
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor("#eef3f8")),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 8),
            ]
        )
    )
    return table


def leaflet_pdf(
    leaflet: Leaflet,
    *,
    patient_name: str,
    schedule: Sequence[ScheduleItem],
    time_zone: str,
    site_name: str,
    contact_phone: str,
    page_size: str = "A4",
) -> bytes:
    """A large-type patient leaflet. Output is byte-for-byte deterministic for the same input."""
    zone = zone_named(time_zone)
    if page_size not in PAGE_SIZES:
        raise ValueError(f"page_size must be one of {', '.join(PAGE_SIZES)}")
    for item in schedule:
        format_local(item.when, zone)  # refuses naive datetimes before anything is drawn
    rows = sorted(schedule, key=lambda item: item.when)

    size = PAGE_SIZES[page_size]
    margin = 18 * mm
    width = size[0] - 2 * margin
    s = _styles()
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=size,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin + 6 * mm,
        title=f"{leaflet.title} - patient information",
        author=site_name,
        subject="Patient education leaflet",
        creator="OpenInfusion",
        invariant=1,
    )
    phone_line = f"Questions? Call <b>{escape(site_name)}</b> on <b>{escape(contact_phone)}</b>"

    story: list[Flowable] = [
        Paragraph(escape(leaflet.title), s["title"]),
        Paragraph("Information for you and your family", s["small"]),
        Spacer(1, 4),
        Paragraph(f"Prepared for: <b>{escape(patient_name)}</b>", s["body"]),
        Spacer(1, 6),
        _callout(phone_line, s["body"], width),
        Paragraph(escape(HEADING_WHAT_FOR), s["heading"]),
        Paragraph(escape(leaflet.what_it_is_for), s["body"]),
        Paragraph(escape(HEADING_HOW_GIVEN), s["heading"]),
        Paragraph(escape(leaflet.how_it_is_given), s["body"]),
        Paragraph(escape(HEADING_COMMON), s["heading"]),
        _bullets(leaflet.common_side_effects, s["body"]),
        KeepTogether(
            [
                Paragraph(escape(HEADING_SERIOUS), s["heading"]),
                _bullets(leaflet.serious_side_effects, s["body"]),
            ]
        ),
        Spacer(1, 4),
        _callout(
            "If you have trouble breathing, chest pain, or swelling of the face, lips or throat, "
            "<b>call emergency services now</b> (911 in the US).",
            s["body"],
            width,
        ),
        Paragraph(escape(HEADING_WHEN_TO_CALL), s["heading"]),
        _bullets(leaflet.when_to_call, s["body"]),
    ]
    if leaflet.home_infusion:
        story += [Paragraph(escape(HEADING_AT_HOME), s["heading"]), _bullets(leaflet.home_infusion, s["body"])]

    schedule_block: list[Flowable] = [
        Paragraph(escape(HEADING_SCHEDULE), s["heading"]),
        Paragraph(f"Times are shown in {escape(time_zone)} time.", s["small"]),
        Spacer(1, 3),
    ]
    if rows:
        table_rows: list[list[Flowable]] = [
            [
                Paragraph("<b>Date</b>", s["body"]),
                Paragraph("<b>Time</b>", s["body"]),
                Paragraph("<b>What</b>", s["body"]),
            ]
        ]
        for item in rows:
            day, clock = format_local(item.when, zone)
            table_rows.append(
                [
                    Paragraph(escape(day), s["body"]),
                    Paragraph(escape(clock), s["body"]),
                    Paragraph(escape(item.what), s["body"]),
                ]
            )
        table = Table(table_rows, colWidths=[width * 0.30, width * 0.20, width * 0.50], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eef3f8")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        schedule_block.append(table)
    else:
        schedule_block.append(Paragraph("No appointments are booked yet. We will call you with your times.", s["body"]))
    story.append(KeepTogether(schedule_block))

    story += [
        Paragraph(escape(HEADING_CONTACT), s["heading"]),
        Paragraph(f"{escape(site_name)}: <b>{escape(contact_phone)}</b>", s["body"]),
        Paragraph("Keep this leaflet and your medicine list with you. Bring them to every visit.", s["body"]),
        Spacer(1, 8),
        Paragraph(
            "This leaflet does not list every side effect. Ask your nurse, pharmacist or doctor about anything "
            "that worries you.",
            s["small"],
        ),
    ]

    footer = f"{site_name} - {contact_phone} - {leaflet.title} - {patient_name}"

    def _on_page(canvas: Canvas, document: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 10)
        canvas.setFillColor(colors.HexColor("#444444"))
        canvas.drawString(margin, margin * 0.6, _fit(footer, "Helvetica", 10, width - 60))
        canvas.drawRightString(size[0] - margin, margin * 0.6, f"Page {document.page}")
        canvas.restoreState()

    doc.build(story, onFirstPage=_on_page, onLaterPages=_on_page)
    return buffer.getvalue()
