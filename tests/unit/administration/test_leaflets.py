"""Patient education leaflets: coverage of the formulary, validation, and the printed PDF."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pypdf
import pytest
import yaml

from openinfusion.administration.leaflets import (
    DEFAULT,
    SECTION_HEADINGS,
    Leaflet,
    ScheduleItem,
    leaflet_pdf,
    load_leaflets,
)

DRUGS_YAML = Path(__file__).resolve().parents[3] / "src" / "openinfusion" / "formulary" / "data" / "drugs.yaml"
UTC = dt.UTC


def _text(pdf: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() for page in reader.pages)


def _flat(pdf: bytes) -> str:
    return " ".join(_text(pdf).split())


@pytest.fixture(scope="module")
def leaflets() -> dict[str, Leaflet]:
    return load_leaflets()


def test_every_formulary_leaflet_key_has_a_leaflet(leaflets: dict[str, Leaflet]) -> None:
    drugs = yaml.safe_load(DRUGS_YAML.read_text(encoding="utf-8"))["drugs"]
    wanted = {d["education_leaflet"] for d in drugs if d.get("education_leaflet")}
    assert wanted, "the formulary names no leaflets: the test would prove nothing"
    assert wanted - set(leaflets) == set()
    assert "home-infusion" in leaflets
    assert leaflets["home-infusion"].home_infusion, "home-infusion leaflet must carry line and pump advice"


def test_every_leaflet_has_content_and_https_sources(leaflets: dict[str, Leaflet]) -> None:
    for key, leaflet in leaflets.items():
        assert leaflet.key == key
        assert leaflet.common_side_effects and leaflet.serious_side_effects and leaflet.when_to_call, key
        assert all(url.startswith("https://") for url in leaflet.sources), key


def test_home_infusion_leaflet_explains_pump_alarms_and_battery(leaflets: dict[str, Leaflet]) -> None:
    advice = " ".join(leaflets["home-infusion"].home_infusion).lower()
    for word in ("flush", "occlusion", "air-in-line", "low battery", "battery depleted"):
        assert word in advice, word


def _write(tmp_path: Path, entries: list[dict[str, object]]) -> Path:
    path = tmp_path / "leaflets.yaml"
    path.write_text(yaml.safe_dump({"leaflets": entries}), encoding="utf-8")
    return path


def _entry(key: str = "test-drug") -> dict[str, object]:
    return {
        "key": key,
        "title": "Test drug",
        "what_it_is_for": "It treats a test.",
        "how_it_is_given": "A drip over 1 hour.",
        "common_side_effects": ["Tiredness."],
        "serious_side_effects": ["Trouble breathing."],
        "when_to_call": ["Fever."],
        "sources": ["https://example.org/label"],
    }


@pytest.mark.parametrize(
    "field",
    [
        "title",
        "what_it_is_for",
        "how_it_is_given",
        "common_side_effects",
        "serious_side_effects",
        "when_to_call",
        "sources",
    ],
)
def test_missing_required_field_is_refused_naming_key_and_field(tmp_path: Path, field: str) -> None:
    good = _entry("good-one")
    bad = _entry("bad-one")
    del bad[field]
    with pytest.raises(ValueError, match=rf"'bad-one'.*'{field}'"):
        load_leaflets(_write(tmp_path, [good, bad]))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("common_side_effects", []),
        ("serious_side_effects", "not a list"),
        ("title", "   "),
        ("sources", ["http://insecure.example.org"]),
        ("when_to_call", ["Call \u2265 3 times"]),  # the PDF font cannot print this sign
    ],
)
def test_bad_field_value_is_refused(tmp_path: Path, field: str, value: object) -> None:
    bad = _entry("bad-two")
    bad[field] = value
    with pytest.raises(ValueError, match=rf"'bad-two'.*'{field}"):
        load_leaflets(_write(tmp_path, [bad]))


def test_duplicate_and_unknown_fields_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"'dup'.*duplicated"):
        load_leaflets(_write(tmp_path, [_entry("dup"), _entry("dup")]))
    extra = _entry("extra")
    extra["dose"] = "5 mg"
    with pytest.raises(ValueError, match=r"'extra'.*dose"):
        load_leaflets(_write(tmp_path, [extra]))


def test_optional_home_infusion_defaults_to_empty(tmp_path: Path) -> None:
    loaded = load_leaflets(_write(tmp_path, [_entry("plain")]))
    assert loaded["plain"].home_infusion == ()


def _pdf(leaflet: Leaflet, **overrides: object) -> bytes:
    kwargs: dict[str, object] = {
        "patient_name": "Maria Okonkwo-Lindqvist",
        "schedule": [
            ScheduleItem(dt.datetime(2025, 1, 14, 14, 0, tzinfo=UTC), "FOLFOX cycle 3 day 1"),
            ScheduleItem(dt.datetime(2025, 1, 16, 15, 30, tzinfo=UTC), "Pump disconnect"),
        ],
        "time_zone": "America/New_York",
        "site_name": "North Infusion Center",
        "contact_phone": "+1 (555) 010-2030",
    }
    kwargs.update(overrides)
    return leaflet_pdf(leaflet, **kwargs)  # type: ignore[arg-type]


def test_pdf_has_title_patient_headings_schedule_in_site_zone_and_phone(leaflets: dict[str, Leaflet]) -> None:
    leaflet = leaflets["oxaliplatin"]
    pdf = _pdf(leaflet)
    assert pdf.startswith(b"%PDF")
    text = _flat(pdf)
    assert leaflet.title in text
    assert "Maria Okonkwo-Lindqvist" in text
    for heading in SECTION_HEADINGS:
        assert heading in text, heading
    assert "At home" in text  # oxaliplatin carries home advice
    # 14:00 UTC in January is 09:00 in New York (EST, UTC-5); 15:30 UTC is 10:30.
    assert "09:00 EST" in text
    assert "10:30 EST" in text
    assert "14:00" not in text
    assert "Tue 14 Jan 2025" in text
    assert "FOLFOX cycle 3 day 1" in text
    assert "+1 (555) 010-2030" in text
    assert "North Infusion Center" in text


def test_schedule_is_shown_in_the_given_zone_in_summer_too(leaflets: dict[str, Leaflet]) -> None:
    summer = [ScheduleItem(dt.datetime(2025, 7, 1, 14, 0, tzinfo=UTC), "Chair 4")]
    text = _flat(_pdf(leaflets["ivig"], schedule=summer, time_zone="Europe/Berlin"))
    assert "16:00 CEST" in text


def test_schedule_is_sorted_and_empty_schedule_says_so(leaflets: dict[str, Leaflet]) -> None:
    later = ScheduleItem(dt.datetime(2025, 2, 1, 14, 0, tzinfo=UTC), "Second visit")
    sooner = ScheduleItem(dt.datetime(2025, 1, 1, 14, 0, tzinfo=UTC), "First visit")
    text = _flat(_pdf(leaflets["iv-iron"], schedule=[later, sooner]))
    assert text.index("First visit") < text.index("Second visit")
    empty = _flat(_pdf(leaflets["iv-iron"], schedule=[]))
    assert "No appointments are booked yet" in empty


def test_pdf_refuses_naive_times_and_unknown_zones(leaflets: dict[str, Leaflet]) -> None:
    naive = [ScheduleItem(dt.datetime(2025, 1, 14, 14, 0), "Naive")]
    with pytest.raises(ValueError, match="timezone-aware"):
        _pdf(leaflets["antibiotic"], schedule=naive)
    with pytest.raises(ValueError, match="time zone"):
        _pdf(leaflets["antibiotic"], time_zone="Mars/Olympus_Mons")


def test_pdf_is_deterministic_and_large_type(leaflets: dict[str, Leaflet]) -> None:
    first = _pdf(leaflets["home-infusion"])
    assert first == _pdf(leaflets["home-infusion"])
    sizes: list[float] = []

    def visit(text: str, cm: list[float], tm: list[float], font: object, size: float) -> None:
        if text.strip():
            sizes.append(size * tm[0] if tm[0] else size)

    reader = pypdf.PdfReader(io.BytesIO(first))
    page = reader.pages[0]
    page.extract_text(visitor_text=visit)
    body = [s for s in sizes if s > 0]
    assert body
    # Everything but the page footer (10 pt) is at least 12 pt.
    assert sum(1 for s in body if s >= 12) / len(body) > 0.9


def test_letter_page_size(leaflets: dict[str, Leaflet]) -> None:
    pdf = _pdf(leaflets["opioid"], page_size="Letter")
    box = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)


def test_default_path_is_the_packaged_yaml() -> None:
    assert DEFAULT.name == "leaflets.yaml" and DEFAULT.is_file()


def test_long_name_and_schedule_text_stay_on_the_page(leaflets: dict[str, Leaflet]) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    long_what = "Cycle 3 day 1 of FOLFOX with bevacizumab, then pump connect and teaching session " * 3
    pdf = _pdf(
        leaflets["monoclonal-antibody"],
        patient_name="Maximiliana Konstantinopoulou-Wolfeschlegelsteinhausenberger " * 2,
        schedule=[ScheduleItem(dt.datetime(2025, 1, 14, 14, 0, tzinfo=UTC), long_what)],
    )
    overflow: list[str] = []
    for page in pypdf.PdfReader(io.BytesIO(pdf)).pages:
        page_width = float(page.mediabox.width)

        def visit(
            text: str, cm: list[float], tm: list[float], font: object, size: float, page_width: float = page_width
        ) -> None:
            if not text.strip() or not isinstance(font, dict):
                return
            name = str(font.get("/BaseFont", "/Helvetica")).lstrip("/")
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            if x + stringWidth(text.rstrip("\n"), name, size) > page_width:
                overflow.append(text)

        page.extract_text(visitor_text=visit)
    assert overflow == []
