"""Load or update the formulary from YAML (``drugs:`` and/or ``products:`` lists).

Every row is validated first; a bad row is reported with its file and line, and then nothing is
written. A good file is applied in one transaction (drugs by key, products by NDC) with one audit
event. The bundled starter data lives in ``formulary/data/``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from openinfusion.audit.services import audited, record
from openinfusion.clinical import codes
from openinfusion.clinical.units import UNIT_CODES
from openinfusion.errors import DomainError, InvalidInput
from openinfusion.formulary.models import Category, Container, DoseBasis, Drug, Form, Product, ReleasePolicy, Storage

DATA_DIR = Path(__file__).resolve().parent / "data"
STARTER_FILES = (DATA_DIR / "drugs.yaml", DATA_DIR / "products.yaml")


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


def _known_unit(code: str) -> str:
    if code and code not in UNIT_CODES:
        raise ValueError(f"unit {code!r} is not one OpenInfusion knows (e.g. mg, g, units, mg/mL, mg/m2, mg.min/mL)")
    return code


UnitCode = Annotated[str, AfterValidator(_known_unit)]


class Amount(_Row):
    value: Decimal = Field(gt=0)
    unit: UnitCode


class Range(_Row):
    min: Decimal | None = Field(default=None, ge=0)
    max: Decimal | None = Field(default=None, ge=0)
    unit: UnitCode = ""


class Stability(_Row):
    storage: Literal["room", "refrigerator", "freezer"]
    hours: Decimal = Field(gt=0)
    source: str = ""


class DrugRow(_Row):
    key: str = Field(pattern=r"^[a-z0-9]+(?:[-.][a-z0-9]+)*$")
    generic_name: str
    tall_man: str | None = None
    drug_class: str = ""
    category: Category
    niosh_group: Literal[1, 2, 3] | None = None
    high_alert: bool = False
    routes_allowed: list[str] = []
    routes_forbidden: list[str] = []
    dose_basis: DoseBasis = DoseBasis.FLAT
    usual_dose: Range | None = None
    alternate_usual_doses: list[Range] = []
    max_single_dose: Amount | None = None
    lifetime_limit: Amount | None = None
    rounding_threshold_pct: Decimal | None = Field(default=None, ge=0, le=25)
    compatible_diluents: list[str] = []
    incompatible_diluents: list[str] = []
    concentration_range: Range | None = None
    stability_after_preparation: list[Stability] = []
    protect_from_light: bool = False
    filter: str | None = None
    usual_infusion_minutes: int | Range | None = None
    renal_adjustment: bool = False
    release_policy: ReleasePolicy = ReleasePolicy.IMMEDIATE
    premix_eligible: bool = False
    education_leaflet: str | None = None
    source: str | None = None
    sources: list[Any] = []

    @field_validator("routes_forbidden")
    @classmethod
    def forbidden_not_allowed(cls, value: list[str], info: Any) -> list[str]:
        clash = set(value) & set(info.data.get("routes_allowed", []))
        if clash:
            raise ValueError(f"route(s) {', '.join(sorted(clash))} are both allowed and forbidden")
        return value


class Strength(_Row):
    amount: Decimal = Field(gt=0)
    unit: UnitCode
    per_volume: Decimal | None = Field(default=None, gt=0)
    volume_unit: UnitCode = "mL"


class Reconstitution(_Row):
    diluent: str
    volume_ml: Decimal = Field(gt=0)


class ProductRow(_Row):
    drug: str
    ndc: str
    labeler: str = ""
    manufacturer: str = ""
    strength: Strength
    total_volume_ml: Decimal | None = Field(default=None, gt=0)
    form: Form
    container: Container
    reconstitution: Reconstitution | None = None
    specific_gravity: Decimal | None = Field(default=None, gt=Decimal("0.5"), lt=Decimal("2"))
    storage: Storage = Storage.ROOM
    protect_from_light: bool = False
    unit_cost_usd: Decimal | None = Field(default=None, ge=0)
    source: str = ""


class _LineLoader(yaml.CSafeLoader):  # libyaml's parser (PyYAML's wheels ship it): 3× faster than pure Python
    """Remembers the line each mapping starts on, so errors can name it."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> dict[str, Any]:
    mapping: dict[str, Any] = {str(k): v for k, v in loader.construct_mapping(node, deep=True).items()}
    mapping["__line__"] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


@dataclass(frozen=True)
class ImportResult:
    drugs_created: int
    drugs_updated: int
    products_created: int
    products_updated: int


Rows = tuple[list[tuple[str, int, DrugRow]], list[tuple[str, int, ProductRow]], list[str]]


def _read(paths: Iterable[Path]) -> Rows:
    """The files' rows, validated; read again only when a file changed (the test suite loads the
    starter formulary hundreds of times)."""
    stamps = tuple((path, *_stamp(path)) for path in paths)
    drugs, products, problems = _read_stamped(stamps)
    return list(drugs), list(products), list(problems)


def _stamp(path: Path) -> tuple[int, int]:
    try:
        status = path.stat()
    except OSError:
        return (0, 0)
    return (status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=8)
def _read_stamped(stamps: tuple[tuple[Path, int, int], ...]) -> Rows:
    return _read_files([stamp[0] for stamp in stamps])


def _read_files(paths: Iterable[Path]) -> Rows:
    drugs: list[tuple[str, int, DrugRow]] = []
    products: list[tuple[str, int, ProductRow]] = []
    problems: list[str] = []
    for path in paths:
        try:
            document = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader) or {}  # noqa: S506 - SafeLoader subclass
        except (OSError, yaml.YAMLError) as error:
            problems.append(f"{path.name}: cannot be read as YAML ({error})")
            continue
        if not isinstance(document, dict):
            problems.append(f"{path.name}: expected a mapping with drugs: and/or products: lists")
            continue
        for section, model, sink in (("drugs", DrugRow, drugs), ("products", ProductRow, products)):
            for row in document.get(section, []) or []:
                line = row.pop("__line__", 0) if isinstance(row, dict) else 0
                try:
                    sink.append((path.name, line, model.model_validate(row)))  # type: ignore[arg-type]
                except ValidationError as error:
                    label = (row.get("key") or row.get("ndc") if isinstance(row, dict) else None) or "?"
                    for e in error.errors():
                        field = ".".join(str(p) for p in e["loc"])
                        problems.append(f"{path.name} line {line} ({section[:-1]} {label}): {field}: {e['msg']}")
    return drugs, products, problems


def _check_references(drugs: list[tuple[str, int, DrugRow]], products: list[tuple[str, int, ProductRow]]) -> list[str]:
    problems: list[str] = []
    keys = [row.key for _, _, row in drugs]
    for name, line, drug in drugs:
        if keys.count(drug.key) > 1:
            problems.append(f"{name} line {line}: drug key {drug.key} appears more than once")
    known = set(keys) | set(Drug.objects.values_list("key", flat=True))
    seen: dict[str, int] = {}
    for name, line, row in products:
        if row.drug not in known:
            problems.append(f"{name} line {line}: product {row.ndc} names unknown drug {row.drug!r}")
        try:
            ndc11 = codes.ndc_to_ndc11(row.ndc)
            codes.ndc_to_gtin14(row.ndc)  # an NDC that parses may still give no unambiguous GTIN
        except DomainError as error:
            problems.append(f"{name} line {line}: NDC {row.ndc}: {error.message}")
            continue
        if ndc11 in seen:
            problems.append(f"{name} line {line}: NDC {row.ndc} already given on line {seen[ndc11]}")
        seen[ndc11] = line
    return problems


def _drug_fields(row: DrugRow) -> dict[str, Any]:
    minutes = row.usual_infusion_minutes
    low, high = (
        (minutes, minutes) if isinstance(minutes, int) else ((minutes.min, minutes.max) if minutes else (None, None))
    )
    dose = row.usual_dose or Range()
    concentration = row.concentration_range or Range()
    return {
        "generic_name": row.generic_name,
        "tall_man": row.tall_man or "",
        "drug_class": row.drug_class,
        "category": row.category,
        "niosh_group": row.niosh_group,
        "high_alert": row.high_alert,
        "routes_allowed": row.routes_allowed,
        "routes_forbidden": row.routes_forbidden,
        "dose_basis": row.dose_basis,
        "usual_dose_min": dose.min,
        "usual_dose_max": dose.max,
        "usual_dose_unit": dose.unit,
        "alternate_usual_doses": [
            {"min": str(r.min), "max": str(r.max), "unit": r.unit}
            for r in row.alternate_usual_doses
            if r.min is not None and r.max is not None
        ],
        "max_single_dose": row.max_single_dose.value if row.max_single_dose else None,
        "max_single_dose_unit": row.max_single_dose.unit if row.max_single_dose else "",
        "lifetime_limit": row.lifetime_limit.value if row.lifetime_limit else None,
        "lifetime_limit_unit": row.lifetime_limit.unit if row.lifetime_limit else "",
        "rounding_threshold_pct": row.rounding_threshold_pct,
        "compatible_diluents": row.compatible_diluents,
        "incompatible_diluents": row.incompatible_diluents,
        "concentration_min": concentration.min,
        "concentration_max": concentration.max,
        "concentration_unit": concentration.unit,
        "stability": [
            {"storage": s.storage, "hours": str(s.hours), "source": s.source} for s in row.stability_after_preparation
        ],
        "protect_from_light": row.protect_from_light,
        "filter": row.filter or "",
        "infusion_minutes_min": low,
        "infusion_minutes_max": high,
        "renal_adjustment": row.renal_adjustment,
        "release_policy": row.release_policy,
        "premix_eligible": row.premix_eligible,
        "education_leaflet": row.education_leaflet or row.key,
        "sources": [row.source] if row.source else [str(s) for s in row.sources],
    }


def _product_fields(row: ProductRow, drugs: dict[str, Drug]) -> dict[str, Any]:
    return {
        "drug": drugs[row.drug],
        "ndc_labelled": row.ndc,
        "gtin14": codes.ndc_to_gtin14(row.ndc),
        "labeler": row.labeler or row.manufacturer,
        "strength_amount": row.strength.amount,
        "strength_unit": row.strength.unit,
        "strength_volume": row.strength.per_volume,
        "strength_volume_unit": row.strength.volume_unit if row.strength.per_volume else "",
        "total_volume_ml": row.total_volume_ml,
        "form": row.form,
        "container": row.container,
        "reconstitution_diluent": row.reconstitution.diluent if row.reconstitution else "",
        "reconstitution_volume_ml": row.reconstitution.volume_ml if row.reconstitution else None,
        "specific_gravity": row.specific_gravity,
        "storage": row.storage,
        "protect_from_light": row.protect_from_light,
        "unit_cost": row.unit_cost_usd,
        "source": row.source,
        "active": True,
    }


@audited("formulary:import:load")
def import_formulary(paths: Iterable[Path], *, actor: Any | None) -> ImportResult:
    """Validate every row of every file, then load all of it or none of it."""
    paths = list(paths)
    drug_rows, product_rows, problems = _read(paths)
    problems += _check_references(drug_rows, product_rows)
    if problems:
        shown = "\n".join(problems[:20]) + (f"\n… and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise InvalidInput(
            f"The formulary file has {len(problems)} problem(s); nothing was loaded.\n{shown}",
            code="BAD_FORMULARY_FILE",
            details={"problems": problems},
        )
    known_drugs = set(Drug.objects.values_list("key", flat=True))
    new_drugs = [Drug(key=row.key, **_drug_fields(row)) for _, _, row in drug_rows if row.key not in known_drugs]
    Drug.objects.bulk_create(new_drugs)
    for _, _, drug_row in drug_rows:
        if drug_row.key in known_drugs:
            Drug.objects.filter(key=drug_row.key).update(**_drug_fields(drug_row))
    drugs = {d.key: d for d in Drug.objects.all()}
    known_products = set(Product.objects.values_list("ndc11", flat=True))
    fields = [(codes.ndc_to_ndc11(row.ndc), _product_fields(row, drugs)) for _, _, row in product_rows]
    Product.objects.bulk_create([Product(ndc11=ndc11, **f) for ndc11, f in fields if ndc11 not in known_products])
    for ndc11, product_fields in fields:
        if ndc11 in known_products:
            Product.objects.filter(ndc11=ndc11).update(**product_fields)
    updated_drugs = sum(row.key in known_drugs for _, _, row in drug_rows)
    updated_products = sum(ndc11 in known_products for ndc11, _ in fields)
    counts = {
        "drugs_created": len(drug_rows) - updated_drugs,
        "drugs_updated": updated_drugs,
        "products_created": len(fields) - updated_products,
        "products_updated": updated_products,
    }
    record("formulary:import:loaded", actor=actor, after={"files": [p.name for p in paths], **counts})
    return ImportResult(**counts)
