"""What a package scan (or a hand-typed entry for a damaged barcode) tells us."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from openinfusion.clinical import codes
from openinfusion.errors import InvalidInput


@dataclass(frozen=True)
class ScannedPackage:
    gtin14: str
    lot: str
    expiry: dt.date
    serial: str = ""
    manual_entry: bool = False

    @property
    def ndc_display(self) -> str:
        return codes.gtin14_to_ndc10_digits(self.gtin14)


def from_scan(element_string: str) -> ScannedPackage:
    """Read a GS1 DataMatrix element string; lot and expiry must both be present.

    Keyboard-wedge scanners and people typing often send the group separator as ``<GS>`` or a
    literal ``\\x1d``; both are read as the real separator.
    """
    text = element_string.strip().replace("<GS>", "\x1d").replace("\\x1d", "\x1d")
    package = codes.parse_gs1(text)
    if not package.lot or package.expiry is None:
        raise InvalidInput(
            "The barcode has no lot or no expiry. Scan the 2D DataMatrix code on the package, not the 1D barcode.",
            code="BAD_BARCODE",
        )
    return ScannedPackage(gtin14=package.gtin, lot=package.lot, expiry=package.expiry, serial=package.serial or "")


def from_manual_entry(ndc: str, lot: str, expiry: dt.date, serial: str = "") -> ScannedPackage:
    """A package typed in by hand (no scanner, or the barcode is damaged): its NDC as printed
    (10 digits, with or without dashes) or its 14-digit GTIN, marked as typed and audited."""
    if not lot.strip():
        raise InvalidInput("Type the lot number printed on the package.", code="LOT_REQUIRED")
    digits = ndc.strip().replace("-", "").replace(" ", "")
    gtin = codes.check_gtin14(digits) if len(digits) == 14 else codes.ndc_to_gtin14(ndc)
    return ScannedPackage(gtin14=gtin, lot=lot.strip(), expiry=expiry, serial=serial.strip(), manual_entry=True)


@dataclass(frozen=True)
class PackageEntry:
    """What the person gave at the receiving bench: a scan, or NDC, lot and expiry typed by hand."""

    scan: str = ""
    ndc: str = ""
    lot: str = ""
    expiry: dt.date | str | None = None
    serial: str = ""

    def read(self) -> ScannedPackage:
        if self.scan.strip():
            return from_scan(self.scan)
        expiry = self.expiry
        if isinstance(expiry, str):
            try:
                expiry = dt.date.fromisoformat(expiry.strip())
            except ValueError:
                expiry = None
        if not (self.ndc.strip() and self.lot.strip() and expiry):
            raise InvalidInput(
                "Scan the package's GS1 DataMatrix, or type its NDC (or GTIN), lot and expiry "
                "(YYYY-MM-DD) in the boxes for typing it in.",
                code="BAD_BARCODE",
            )
        return from_manual_entry(self.ndc, self.lot, expiry, self.serial)
