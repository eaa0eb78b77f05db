"""The regimen library: ``orders/data/regimens.yaml`` validated row by row and loaded all or nothing."""

from __future__ import annotations

import functools
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from openinfusion.audit.services import audited, record
from openinfusion.errors import InvalidInput
from openinfusion.formulary.models import Drug
from openinfusion.orders.models import Regimen

LIBRARY = Path(__file__).resolve().parent / "data" / "regimens.yaml"
DOSE_BASES = ("mg", "g", "mcg", "units", "mEq", "mg/m2", "mg/kg", "units/m2", "units/kg", "mcg/kg", "AUC")


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Dose(_Row):
    value: Decimal = Field(gt=0)
    basis: Literal[DOSE_BASES]  # type: ignore[valid-type]


class Cap(_Row):
    value: Decimal = Field(gt=0)
    unit: str


class DrugLine(_Row):
    drug: str
    sequence: int = Field(ge=1)
    dose: Dose
    max_dose: Cap | None = None
    route: Literal["IV", "IV push", "SC", "IM", "PO"]
    diluent: str | None = None
    volume_ml: Decimal | None = Field(default=None, gt=0)
    duration_minutes: int | None = Field(default=None, gt=0)
    role: Literal["treatment", "premedication", "hydration", "supportive"] = "treatment"
    note: str = ""


class Day(_Row):
    day: int = Field(ge=1)
    drugs: list[DrugLine] = Field(min_length=1)


class Hold(_Row):
    lab: Literal["anc", "platelets", "hemoglobin", "scr", "crcl", "bilirubin", "ast", "alt"]
    op: Literal["<", ">"]
    value: Decimal
    unit: str


class Indication(_Row):
    code: str
    text: str


class RegimenRow(_Row):
    key: str = Field(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
    name: str
    category: str
    cycle_days: int = Field(ge=1)
    default_cycles: int | None = None
    indications: list[Indication] = []
    hold_parameters: list[Hold] = []
    required_labs: list[str] = []
    lab_max_age_days: int | None = None
    emetogenic_risk: str | None = None
    source: str
    days: list[Day] = Field(min_length=1)


@functools.lru_cache(maxsize=4)
def _document(path: Path, mtime_ns: int, size: int) -> dict[str, Any]:
    """The file as parsed, read again only when it changed (the suite loads the library hundreds of times)."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader) or {}


def _rows(path: Path) -> list[RegimenRow]:
    status = path.stat()
    document = _document(path, status.st_mtime_ns, status.st_size)
    problems: list[str] = []
    rows: list[RegimenRow] = []
    known = set(Drug.objects.values_list("key", flat=True))
    for index, raw in enumerate(document.get("regimens", []), start=1):
        label = raw.get("key", f"#{index}") if isinstance(raw, dict) else f"#{index}"
        try:
            row = RegimenRow.model_validate(raw)
        except ValidationError as error:
            problems += [f"regimen {label}: {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()]
            continue
        for day in row.days:
            for line in day.drugs:
                for key in filter(None, (line.drug, line.diluent)):
                    if key not in known:
                        problems.append(f"regimen {label} day {day.day}: {key!r} is not in the formulary")
        rows.append(row)
    if problems:
        raise InvalidInput(
            f"The regimen library has {len(problems)} problem(s); nothing was loaded.\n" + "\n".join(problems[:20]),
            code="BAD_REGIMEN_FILE",
            details={"problems": problems},
        )
    return rows


@audited("orders:regimens:load")
def load_regimens(path: Path = LIBRARY, *, actor: Any | None) -> int:
    """Create or update every regimen of the file by key; a bad regimen loads none of them."""
    rows = _rows(path)
    known = set(Regimen.objects.values_list("key", flat=True))
    fresh = []
    for row in rows:
        data = row.model_dump(mode="json")
        values = {
            field: data[field]
            for field in (
                "name",
                "category",
                "cycle_days",
                "default_cycles",
                "indications",
                "hold_parameters",
                "required_labs",
                "lab_max_age_days",
                "days",
                "source",
            )
        } | {"emetogenic_risk": row.emetogenic_risk or "", "lab_max_age_days": row.lab_max_age_days or 3}
        if row.key in known:
            Regimen.objects.filter(key=row.key).update(**values)
        else:
            fresh.append(Regimen(key=row.key, **values))
    Regimen.objects.bulk_create(fresh)
    record("orders:regimens:loaded", actor=actor, after={"file": path.name, "regimens": len(rows)})
    return len(rows)
