"""API operations for the formulary: list_products, get_drug (operation ids are a contract)."""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Q
from django.http import HttpRequest
from ninja import Router, Schema

from openinfusion.accounts.permissions import Action
from openinfusion.api import allow
from openinfusion.clinical.units import format_decimal
from openinfusion.errors import NotFound
from openinfusion.formulary.models import Drug, Product

router = Router(tags=["formulary"])


class ProductOut(Schema):
    id: int
    drug: str
    drug_key: str
    ndc: str
    ndc11: str
    gtin14: str
    labeler: str
    strength: str
    strength_amount: Decimal
    strength_unit: str
    strength_volume: Decimal | None
    strength_volume_unit: str
    total_volume_ml: Decimal | None
    form: str
    container: str
    storage: str
    specific_gravity: Decimal | None
    source: str


class DrugOut(Schema):
    id: int
    key: str
    generic_name: str
    display_name: str
    category: str
    drug_class: str
    niosh_group: int | None
    hazardous: bool
    high_alert: bool
    routes_allowed: list[str]
    routes_forbidden: list[str]
    dose_basis: str
    max_single_dose: str | None
    lifetime_limit: str | None
    rounding_threshold_pct: Decimal | None
    compatible_diluents: list[str]
    incompatible_diluents: list[str]
    concentration_range: str | None
    stability: list[dict[str, object]]
    protect_from_light: bool
    filter: str
    release_policy: str
    sources: list[object]
    products: list[ProductOut]


def product_out(p: Product) -> ProductOut:
    return ProductOut(
        id=p.pk,
        drug=p.drug.display_name,
        drug_key=p.drug.key,
        ndc=p.ndc_labelled,
        ndc11=p.ndc11,
        gtin14=p.gtin14,
        labeler=p.labeler,
        strength=p.strength_label,
        strength_amount=p.strength_amount,
        strength_unit=p.strength_unit,
        strength_volume=p.strength_volume,
        strength_volume_unit=p.strength_volume_unit,
        total_volume_ml=p.total_volume_ml,
        form=p.form,
        container=p.container,
        storage=p.storage,
        specific_gravity=p.specific_gravity,
        source=p.source,
    )


def _with_unit(value: Decimal | None, unit: str) -> str | None:
    return None if value is None else f"{format_decimal(value)} {unit}".strip()


def drug_out(d: Drug) -> DrugOut:
    concentration = None
    if d.concentration_min is not None or d.concentration_max is not None:
        low = _with_unit(d.concentration_min, d.concentration_unit) or "any"
        high = _with_unit(d.concentration_max, d.concentration_unit) or "any"
        concentration = f"{low} to {high}"
    return DrugOut(
        id=d.pk,
        key=d.key,
        generic_name=d.generic_name,
        display_name=d.display_name,
        category=d.category,
        drug_class=d.drug_class,
        niosh_group=d.niosh_group,
        hazardous=d.hazardous,
        high_alert=d.high_alert,
        routes_allowed=d.routes_allowed,
        routes_forbidden=d.routes_forbidden,
        dose_basis=d.dose_basis,
        max_single_dose=_with_unit(d.max_single_dose, d.max_single_dose_unit),
        lifetime_limit=_with_unit(d.lifetime_limit, d.lifetime_limit_unit),
        rounding_threshold_pct=d.rounding_threshold_pct,
        compatible_diluents=d.compatible_diluents,
        incompatible_diluents=d.incompatible_diluents,
        concentration_range=concentration,
        stability=d.stability,
        protect_from_light=d.protect_from_light,
        filter=d.filter,
        release_policy=d.release_policy,
        sources=d.sources,
        products=[product_out(p) for p in d.products.filter(active=True).select_related("drug")],
    )


@router.get("/products", response=list[ProductOut], operation_id="list_products", auth=allow(Action.VIEW_FORMULARY))
def list_products(request: HttpRequest, q: str = "", drug: str = "") -> list[ProductOut]:
    products = Product.objects.filter(active=True).select_related("drug")
    if q:
        digits = "".join(ch for ch in q if ch.isdigit())
        match = Q(drug__generic_name__icontains=q) | Q(labeler__icontains=q) | Q(drug__tall_man__icontains=q)
        if digits:
            match |= Q(ndc11__contains=digits) | Q(gtin14__contains=digits)
        products = products.filter(match)
    if drug:
        products = products.filter(drug__key=drug)
    return [product_out(p) for p in products]


@router.get("/drugs/{key}", response=DrugOut, operation_id="get_drug", auth=allow(Action.VIEW_FORMULARY))
def get_drug(request: HttpRequest, key: str) -> DrugOut:
    drug = Drug.objects.filter(key=key).first()
    if drug is None:
        raise NotFound(f"No drug {key!r} in the formulary.")
    return drug_out(drug)
