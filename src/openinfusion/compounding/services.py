"""The IV workflow: plan a preparation from a verified order, release it, start it, record every
scan, weighing and step in the only order allowed, complete it (stock consumed from the lots
scanned), and the pharmacist's final check. One function per transition, one transaction, audited.

A failed check (wrong product, unusable lot, weight out of tolerance, step out of order) refuses the
step and is kept as an ``InterceptedError`` (written after the refused transaction rolls back).

The final check signs ``signed_content(preparation)`` (defined in ``integrity``, named here too: the
bedside calls it, so the name is a contract) and is refused to anyone who took part in the dose.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import SignatureMeaning, User
from openinfusion.accounts.permissions import Action
from openinfusion.accounts.signatures import sign
from openinfusion.audit.services import audited, record, site_from
from openinfusion.clinical import bud, gravimetric
from openinfusion.clinical.units import Quantity, format_decimal
from openinfusion.compounding import planning
from openinfusion.compounding.independence import require_independent
from openinfusion.compounding.integrity import entity, parts_of, require_order_unchanged, signed_content
from openinfusion.compounding.models import (
    ACTIVE_STATUSES,
    InterceptedError,
    OpenVial,
    OpenVialStatus,
    Photo,
    Preparation,
    PreparationStatus,
    Qualification,
    QualificationKind,
    Scan,
    StepRecord,
    Weighing,
)
from openinfusion.errors import Conflict, DomainError, InvalidInput, NotAllowed, NotFound
from openinfusion.formulary.models import Container, Drug, Form, Product, ReleasePolicy
from openinfusion.inventory import scanning
from openinfusion.inventory.ledger import InsufficientStock, post_movement
from openinfusion.inventory.models import Location, LocationKind, Lot, MovementKind
from openinfusion.inventory.services import require_usable, site_today
from openinfusion.orders.models import Order, OrderStatus
from openinfusion.orders.services import advance_order, order_for

PHOTO_TYPES = {b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class StepRefused(DomainError):
    """A failed check at a step; the step must be done again."""

    status = 422


def preparation_for(actor: User, preparation_id: int, *, lock: bool = False) -> Preparation:
    preparations = Preparation.objects.select_related("order__drug", "order__patient", "room", "order__diluent")
    if lock:
        preparations = preparations.select_for_update(of=("self",))
    preparation = preparations.filter(pk=preparation_id, site__in=actor.site_ids()).first()
    if preparation is None:
        raise NotFound("No such preparation at your sites.", code="UNKNOWN_PREPARATION")
    return preparation


# --- planning -----------------------------------------------------------------------------------


def _room(actor: User, order: Order) -> Location:
    kind = LocationKind.HAZARDOUS_BUFFER if order.drug.hazardous else LocationKind.CLEAN_ROOM
    rooms = Location.objects.filter(kind=kind, active=True, site__in=actor.site_ids()).select_related("site")
    room = rooms.filter(site=order.site).first() or rooms.first()
    if room is None:
        raise NotFound(f"No {LocationKind(kind).label.lower()} is set up at your sites.", code="NO_ROOM")
    return room


def _vial_options(drug: Drug, unit: str) -> list[planning.VialOption]:
    options = []
    for product in drug.products.filter(active=True, strength_unit=unit):
        powder = product.form in (Form.LYOPHILIZED_POWDER, Form.POWDER)
        volume = product.reconstitution_volume_ml if powder else (product.strength_volume or product.total_volume_ml)
        if not volume:
            continue
        options.append(
            planning.VialOption(
                product_id=product.pk,
                label=f"{product.strength_label} ({product.ndc_labelled})",
                amount=product.strength_amount,
                volume_ml=volume,
                single_dose=product.container != Container.MULTIPLE_DOSE_VIAL,
                reconstitution_diluent=product.reconstitution_diluent if powder else "",
                reconstitution_ml=product.reconstitution_volume_ml if powder else None,
                specific_gravity=product.specific_gravity,
            )
        )
    return options


def _open_vial_options(drug: Drug, room: Location, now: dt.datetime, unit: str) -> list[planning.OpenVialOption]:
    options = []
    for vial in OpenVial.objects.filter(
        product__drug=drug, product__strength_unit=unit, location=room, status=OpenVialStatus.OPEN, expires_at__gt=now
    ).select_related("product"):
        product = vial.product
        volume = product.reconstitution_volume_ml or product.strength_volume or product.total_volume_ml
        if volume:
            options.append(
                planning.OpenVialOption(
                    vial.pk,
                    product.pk,
                    f"{product.strength_label} lot {vial.lot.lot_number}",
                    vial.remaining_ml,
                    product.strength_amount / volume,
                    product.specific_gravity,
                )
            )
    return options


def _bag(order: Order) -> planning.BagOption | None:
    if order.diluent is None or not order.volume_ml:
        return None
    products = order.diluent.products.filter(active=True, total_volume_ml__isnull=False)
    wanted = order.volume_ml

    def distance(product: Product) -> Decimal:
        return abs((product.total_volume_ml or Decimal(0)) - wanted)

    product = min(products, key=distance, default=None)
    if product is None or product.total_volume_ml is None:
        raise NotFound(f"No {order.diluent.display_name} bag is on the formulary.", code="NO_BAG")
    return planning.BagOption(
        product.pk,
        f"{order.diluent.display_name} {format_decimal(product.total_volume_ml)} mL ({product.ndc_labelled})",
        product.total_volume_ml,
        product.specific_gravity,
    )


def _storage_and_stability(drug: Drug) -> tuple[str, Decimal | None]:
    """Keep it cold when the drug's stability allows (longer dating), else at room temperature."""
    by_storage = {s["storage"]: Decimal(str(s["hours"])) for s in drug.stability}
    for storage in ("refrigerator", "room"):
        if storage in by_storage:
            return storage, by_storage[storage]
    return "room", None


def _needs_release(order: Order) -> bool:
    return order.drug.release_policy == ReleasePolicy.ON_RELEASE or order.overrides.filter(code="LAB_HOLD").exists()


@audited("compounding:preparation:plan", site_of=site_from(Order))
def plan_preparation(order_id: int, *, actor: User) -> Preparation:
    """Work out and store how to make a verified order's dose."""
    check(actor, Action.PLAN_PREPARATIONS)
    order = order_for(actor, order_id, lock=True)
    if order.status != OrderStatus.VERIFIED:
        raise Conflict(
            f"Order #{order.pk} is {order.get_status_display().lower()}; only a verified order is prepared.",
            code="WRONG_STATE",
        )
    if order.preparations.filter(status__in=ACTIVE_STATUSES).exists():
        raise Conflict(f"Order #{order.pk} already has a preparation under way.", code="ALREADY_PLANNED")
    room = _room(actor, order)
    now = timezone.now()
    storage, stability = _storage_and_stability(order.drug)
    drug = order.drug
    plan = planning.plan_preparation(
        dose=order.dose,
        unit=order.dose_unit,
        vials=_vial_options(drug, order.dose_unit),
        open_vials=_open_vial_options(drug, room, now, order.dose_unit),
        bag=_bag(order),
        duration_minutes=order.duration_minutes,
        concentration_range=(drug.concentration_min, drug.concentration_max, drug.concentration_unit),
        hazardous=drug.hazardous,
        storage=storage,
        protect_from_light=drug.protect_from_light,
        stability_hours=stability,
    )
    preparation = Preparation.objects.create(
        site=room.site,
        order=order,
        room=room,
        plan=plan.as_json(),
        needed_by=order.planned_start,
        needs_release=_needs_release(order),
        planned_at=now,
        planned_by=actor,
        recipe=drug.recipes.filter(status="approved").first(),
    )
    record(
        "compounding:preparation:planned",
        actor=actor,
        entity=preparation,
        site=room.site,
        patient_id=order.patient_id,
        after={"order": order.pk, "room": room.code, "draws": len(plan.draws), "waste": format_decimal(plan.waste)},
    )
    return preparation


def _save(preparation: Preparation, fields: list[str], event: str, *, actor: User, **details: Any) -> Preparation:
    """Write the changed fields with a new version, and the audit event of the change."""
    preparation.version += 1
    preparation.save(update_fields=[*fields, "version"])
    record(
        f"compounding:preparation:{event}",
        actor=actor,
        entity=preparation,
        site=preparation.site,
        patient_id=preparation.order.patient_id,
        **details,
    )
    return preparation


@audited("compounding:preparation:release", site_of=site_from(Preparation))
def release_to_compound(preparation_id: int, *, actor: User, reason: str) -> Preparation:
    """Let a costly or hold-sensitive dose be mixed: labs reviewed, patient arrived or nurse release."""
    check(actor, Action.RELEASE_TO_COMPOUND)
    preparation = preparation_for(actor, preparation_id, lock=True)
    if not reason.strip():
        raise InvalidInput(
            "Say what releases it (labs reviewed, patient arrived, nurse release).", code="REASON_REQUIRED"
        )
    if preparation.status != PreparationStatus.PLANNED or preparation.released_at:
        raise Conflict("Only a planned preparation waiting for release can be released.", code="WRONG_STATE")
    preparation.released_at, preparation.released_by, preparation.release_reason = timezone.now(), actor, reason
    return _save(preparation, ["released_at", "released_by", "release_reason"], "released", actor=actor, reason=reason)


def require_qualified(actor: User, hazardous: bool, today: dt.date) -> None:
    needed = [QualificationKind.STERILE] + ([QualificationKind.HAZARDOUS] if hazardous else [])
    current = set(Qualification.objects.filter(user=actor, valid_until__gte=today).values_list("kind", flat=True))
    missing = [QualificationKind(k).label for k in needed if k not in current]
    if missing:
        raise NotAllowed(
            f"You have no current qualification for {' and '.join(missing)}; ask a pharmacist to "
            "assign this dose to a qualified technician.",
            code="NOT_QUALIFIED",
        )


@audited("compounding:preparation:start", site_of=site_from(Preparation))
def start_preparation(preparation_id: int, *, actor: User) -> Preparation:
    check(actor, Action.COMPOUND)
    preparation = preparation_for(actor, preparation_id, lock=True)
    if preparation.status != PreparationStatus.PLANNED:
        raise Conflict(
            f"This preparation is {preparation.get_status_display().lower()}; it cannot be started.", code="WRONG_STATE"
        )
    if not preparation.released:
        raise Conflict(
            "This dose waits for release (labs, arrival or nurse) before anything is mixed.", code="NOT_RELEASED"
        )
    now = timezone.now()
    # a qualification's last valid day is judged by the calendar where the work is done
    require_qualified(actor, bool(preparation.plan["hazardous"]), site_today(preparation.room))
    limit = _bud_limit(preparation)
    if now + limit < preparation.needed_by:
        raise Conflict(
            f"Made now it would expire at {preparation.site.clock(now + limit)}, before it is needed "
            f"({preparation.site.clock(preparation.needed_by)}). Prepare it later.",
            code="BUD_BEFORE_NEEDED",
        )
    preparation.status, preparation.started_at, preparation.prepared_by = PreparationStatus.IN_PROGRESS, now, actor
    advance_order(preparation.order, OrderStatus.PREPARING, actor=actor)
    return _save(preparation, ["status", "started_at", "prepared_by"], "started", actor=actor)


def _bud_limit(preparation: Preparation) -> dt.timedelta:
    storage = bud.Storage(preparation.plan["storage"])
    usp = bud.usp797_limit(bud.CspCategory.CATEGORY_2, storage, starting_components=bud.StartingComponents.STERILE)
    hours = preparation.plan.get("stability_hours")
    return min(usp, dt.timedelta(hours=float(hours))) if hours else usp


# --- steps ----------------------------------------------------------------------------------------


def _next_step(preparation: Preparation, kind: str | tuple[str, ...]) -> tuple[int, dict[str, Any]]:
    if preparation.status != PreparationStatus.IN_PROGRESS:
        raise Conflict("Start the preparation first.", code="WRONG_STATE")
    index = preparation.steps.count()
    steps = preparation.plan["steps"]
    if index >= len(steps):
        raise StepRefused("Every step is done: complete the preparation.", code="STEP_OUT_OF_ORDER")
    step = steps[index]
    kinds = (kind,) if isinstance(kind, str) else kind
    if step["kind"] not in kinds:
        raise StepRefused(
            f"Step {index + 1} is “{step['title']}”; do that first.", code="STEP_OUT_OF_ORDER", details={"step": index}
        )
    return index, step


def _keep_intercepted(error: DomainError, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A refused step is kept as an intercepted error of the preparation (after the rollback)."""
    actor = kwargs["actor"]
    preparation = preparation_for(actor, int(args[0]))
    InterceptedError.objects.create(
        preparation=preparation,
        step_index=preparation.steps.count(),
        code=error.code,
        message=error.message[:500],
        data={k: str(v) for k, v in kwargs.items() if k != "actor"},
        by=actor,
        at=timezone.now(),
    )


@audited("compounding:preparation:scan", site_of=site_from(Preparation), keep=_keep_intercepted, keep_when=StepRefused)
def record_scan(
    preparation_id: int, *, actor: User, scan: str = "", typed: scanning.PackageEntry | None = None
) -> StepRecord:
    """Scan a vial, the reconstitution diluent or the bag: it must be what the step names, usable.
    ``typed`` is the package typed in by hand instead (NDC or GTIN, lot, expiry): the same checks,
    kept as typed."""
    check(actor, Action.COMPOUND)
    preparation = preparation_for(actor, preparation_id, lock=True)
    index, step = _next_step(preparation, ("scan_vial", "reconstitute", "scan_bag"))
    package = (typed or scanning.PackageEntry(scan=scan)).read()
    product = Product.objects.select_related("drug").filter(gtin14=package.gtin14).first()
    if product is None:
        raise StepRefused(f"GTIN {package.gtin14} is not a formulary product. Set it aside.", code="WRONG_PRODUCT")
    _match(product, step)
    lot = Lot.objects.select_related("product__drug").filter(product=product, lot_number=package.lot).first()
    if lot is None:
        raise StepRefused(
            f"Lot {package.lot} of {product} was never received here; it cannot be used.", code="UNKNOWN_LOT"
        )
    try:
        require_usable(lot, site_today(preparation.room))  # the expiry date where the stock is
    except DomainError as error:
        raise StepRefused(error.message, code=error.code) from None
    open_vial = _open_vial(step, lot)
    if open_vial is None:  # a new vial, the diluent or the bag leaves the room's shelf now
        _take_vial(preparation, lot, actor)
    data: dict[str, Any] = {
        "gtin": package.gtin14,
        "lot": lot.lot_number,
        "expiry": lot.expiry.isoformat(),
        "serial": package.serial,
    }
    if package.manual_entry:
        data["typed"] = True
    if step["kind"] == "reconstitute":
        data["volume_ml"] = step["volume_ml"]
    done = StepRecord.objects.create(
        preparation=preparation, index=index, kind=step["kind"], data=data, by=actor, at=timezone.now()
    )
    Scan.objects.create(step=done, product=product, lot=lot, serial=package.serial, open_vial=open_vial)
    record(
        "compounding:preparation:scanned",
        actor=actor,
        entity=preparation,
        site=preparation.site,
        patient_id=preparation.order.patient_id,
        after={"step": index + 1, **data},
    )
    return done


def _take_vial(preparation: Preparation, lot: Lot, actor: User) -> None:
    """The scanned package leaves the shelf now: one consumed from the room, under the ledger's lock,
    so stock stays true and a recall of the lot finds this preparation."""
    try:
        post_movement(
            lot, preparation.room, MovementKind.CONSUME, -1, actor=actor, reference=f"preparation:{preparation.pk}"
        )
    except InsufficientStock:
        raise StepRefused(
            f"No package of lot {lot.lot_number} is left in {preparation.room.name}. Transfer stock there first, "
            "or scan another lot.",
            code="INSUFFICIENT_STOCK",
        ) from None


def _match(product: Product, step: dict[str, Any]) -> None:
    if step["kind"] == "reconstitute":
        if product.drug.key != step["diluent"]:
            raise StepRefused(
                f"This is {product.drug.display_name}; reconstitute with {step['diluent']}.", code="WRONG_PRODUCT"
            )
        return
    wanted = Product.objects.select_related("drug").get(pk=step["product_id"])
    if product.pk == wanted.pk:
        return
    if product.drug_id != wanted.drug_id:
        raise StepRefused(
            f"Wrong drug: this is {product.drug.display_name}, the step needs {wanted.drug.display_name}. Put it back.",
            code="WRONG_PRODUCT",
        )
    same_strength = (product.strength_amount, product.strength_unit, product.strength_volume) == (
        wanted.strength_amount,
        wanted.strength_unit,
        wanted.strength_volume,
    )
    if not same_strength:
        raise StepRefused(
            f"Wrong strength: this is {product.strength_label}, the step needs {wanted.strength_label}.",
            code="WRONG_STRENGTH",
        )


def _open_vial(step: dict[str, Any], lot: Lot) -> OpenVial | None:
    if step.get("open_vial_id") is None:
        return None
    vial = OpenVial.objects.select_for_update().get(pk=step["open_vial_id"])
    if vial.lot_id != lot.pk:
        raise StepRefused(
            f"The plan uses the open vial of lot {vial.lot.lot_number}; scan that vial.", code="WRONG_PRODUCT"
        )
    if vial.status != OpenVialStatus.OPEN or vial.expires_at <= timezone.now():
        raise StepRefused(
            f"That open vial expired at {vial.location.site.clock(vial.expires_at)}; waste it and plan again.",
            code="OPEN_VIAL_EXPIRED",
        )
    return vial


def _grams(value: Decimal | str, what: str) -> Decimal:
    try:
        grams = Decimal(str(value))
    except InvalidOperation:
        raise InvalidInput(f"The {what} weight must be a number of grams.", code="INVALID_INPUT") from None
    if grams < 0:
        raise InvalidInput(f"The {what} weight cannot be negative.", code="INVALID_INPUT")
    return grams


@audited("compounding:preparation:weigh", site_of=site_from(Preparation), keep=_keep_intercepted, keep_when=StepRefused)
def record_weighing(
    preparation_id: int, *, actor: User, scale: str, tare_g: Decimal | str, gross_g: Decimal | str
) -> StepRecord:
    """Weigh what was drawn (or added to the bag): volume from mass and specific gravity, within tolerance."""
    check(actor, Action.COMPOUND)
    preparation = preparation_for(actor, preparation_id, lock=True)
    index, step = _next_step(preparation, ("weigh_draw", "weigh_bag"))
    if not scale.strip():
        raise InvalidInput("Give the id of the scale used (it must be calibrated).", code="SCALE_REQUIRED")
    tare, gross = _grams(tare_g, "empty"), _grams(gross_g, "filled")
    gravity, expected = Decimal(step["specific_gravity"]), Decimal(step["expected_ml"])
    tolerance = Decimal(step["tolerance_pct"])
    if gross <= tare:
        raise StepRefused(
            "The filled weight must be more than the empty weight. Weigh again.", code="GRAVIMETRIC_OUT_OF_TOLERANCE"
        )
    result = gravimetric.gravimetric_check(
        Quantity(gross - tare, "g"), gravity, Quantity(expected, "mL"), tolerance_pct=tolerance
    )
    measured = result.measured_volume.value
    data = {
        "scale": scale,
        "tare_g": str(tare),
        "gross_g": str(gross),
        "measured_ml": str(measured),
        "deviation_pct": str(result.deviation_pct),
    }
    if not result.within_tolerance:
        raise StepRefused(
            f"Weight gives {format_decimal(measured)} mL, {format_decimal(result.deviation_pct)} % from the "
            f"{format_decimal(expected)} mL planned (tolerance ±{format_decimal(tolerance)} %). Correct the volume and "
            "weigh again.",
            code="GRAVIMETRIC_OUT_OF_TOLERANCE",
            details=data,
        )
    done = StepRecord.objects.create(
        preparation=preparation, index=index, kind=step["kind"], data=data, by=actor, at=timezone.now()
    )
    Weighing.objects.create(
        step=done,
        scale=scale,
        tare_g=tare,
        gross_g=gross,
        specific_gravity=gravity,
        expected_ml=expected,
        measured_ml=measured,
        deviation_pct=result.deviation_pct,
        tolerance_pct=tolerance,
    )
    record(
        "compounding:preparation:weighed",
        actor=actor,
        entity=preparation,
        site=preparation.site,
        patient_id=preparation.order.patient_id,
        after={"step": index + 1, **data},
    )
    return done


@audited("compounding:preparation:photo", site_of=site_from(Preparation))
def record_photo(preparation_id: int, *, actor: User, image: bytes, name: str = "photo") -> Photo:
    """Keep a photo with the record (PNG or JPEG, at most 8 MB), tagged with the current step, while
    the dose is being made (the final check signs the photos with the rest of the record)."""
    from django.core.files.base import ContentFile

    check(actor, Action.COMPOUND)
    preparation = preparation_for(actor, preparation_id, lock=True)
    if preparation.status != PreparationStatus.IN_PROGRESS:
        raise Conflict(
            f"This preparation is {preparation.get_status_display().lower()}: photos are kept with a step while the "
            "dose is being made, and a checked record is signed and closed.",
            code="WRONG_STATE",
        )
    kind = next((t for magic, t in PHOTO_TYPES.items() if image.startswith(magic)), None)
    if kind is None or len(image) > 8 * 1024 * 1024:
        raise InvalidInput("Upload a PNG or JPEG photo of at most 8 MB.", code="BAD_PHOTO")
    photo = Photo(
        preparation=preparation, step_index=preparation.steps.count(), content_type=kind, by=actor, at=timezone.now()
    )
    photo.image.save(f"{preparation.barcode}-{name[:40]}.{kind.split('/')[1]}", ContentFile(image), save=False)
    photo.save()
    record(
        "compounding:preparation:photographed",
        actor=actor,
        entity=preparation,
        site=preparation.site,
        after={"photo": photo.pk, "step": photo.step_index + 1},
    )
    return photo


@audited("compounding:preparation:complete", site_of=site_from(Preparation))
def complete_preparation(preparation_id: int, *, actor: User, keep_open_vials: bool = False) -> Preparation:
    """Every step done (the scanned vials left stock as they were scanned): keep or waste what is
    left in them, set the BUD, and pass it to the final check."""
    check(actor, Action.COMPOUND)
    preparation = preparation_for(actor, preparation_id, lock=True)
    if preparation.status != PreparationStatus.IN_PROGRESS:
        raise Conflict("Only a preparation being made can be completed.", code="WRONG_STATE")
    if preparation.steps.count() < len(preparation.plan["steps"]):
        step = preparation.plan["steps"][preparation.steps.count()]
        raise Conflict(f"Not every step is done: next is “{step['title']}”.", code="STEP_OUT_OF_ORDER")
    now = timezone.now()
    reference = f"preparation:{preparation.pk}"
    expiries = []
    draws = [d for d in preparation.plan["draws"]]
    scans = Scan.objects.filter(step__preparation=preparation, step__kind="scan_vial").select_related("lot", "product")
    for scan, draw in zip(scans.order_by("step__index"), draws, strict=True):
        expiries.append(bud.end_of_expiry_date(scan.lot.expiry, preparation.site.zone))
        if scan.open_vial is not None:
            _draw_from_open_vial(scan.open_vial, Decimal(draw["draw_ml"]), now, reference)
            continue
        leftover = Decimal(draw["leftover_ml"])
        if leftover > 0 and keep_open_vials:
            container = bud.Container.SINGLE_DOSE if draw["single_dose"] else bud.Container.MULTIPLE_DOSE
            OpenVial.objects.create(
                product=scan.product,
                lot=scan.lot,
                location=preparation.room,
                opened_at=now,
                expires_at=now + bud.in_use_limit(container),
                remaining_ml=leftover,
                opened_for=preparation,
            )
    dated = bud.beyond_use_date(now, usp_limit=_bud_limit(preparation), component_expiries=expiries)
    preparation.status, preparation.completed_at, preparation.bud = PreparationStatus.AWAITING_CHECK, now, dated.bud
    preparation.completed_by = actor
    advance_order(preparation.order, OrderStatus.PREPARED, actor=actor)
    after = {"bud": dated.bud.isoformat(), "bud_governed_by": dated.governed_by, "kept_open": keep_open_vials}
    return _save(preparation, ["status", "completed_at", "completed_by", "bud"], "completed", actor=actor, after=after)


def _draw_from_open_vial(vial: OpenVial, draw_ml: Decimal, now: dt.datetime, reference: str) -> None:
    vial.remaining_ml = max(vial.remaining_ml - draw_ml, Decimal(0))
    if vial.remaining_ml == 0:
        vial.status, vial.closed_at, vial.closed_reason = OpenVialStatus.USED_UP, now, f"used up by {reference}"
    vial.save(update_fields=["remaining_ml", "status", "closed_at", "closed_reason"])


@audited("compounding:open_vials:expire")
def expire_open_vials(*, actor: User | None, now: dt.datetime | None = None) -> int:
    """Waste every open vial past its in-use limit, with the reason: at the acting person's sites
    (run when the queue opens), or everywhere when the system runs it (the CLI)."""
    now = now or timezone.now()
    vials = OpenVial.objects.select_for_update().filter(status=OpenVialStatus.OPEN, expires_at__lte=now)
    if actor is not None:
        vials = vials.filter(location__site__in=actor.site_ids())
    expired = list(vials)
    for vial in expired:
        vial.status, vial.closed_at = OpenVialStatus.WASTED, now
        vial.closed_reason = f"in-use limit reached {vial.location.site.clock(vial.expires_at)} (USP <797>)"
        vial.save(update_fields=["status", "closed_at", "closed_reason"])
        record(
            "compounding:open_vial:wasted",
            actor=actor,
            entity=vial,
            site=vial.location.site,
            reason=vial.closed_reason,
            after={"remaining_ml": str(vial.remaining_ml)},
        )
    return len(expired)


# --- final check ----------------------------------------------------------------------------------


@audited("compounding:preparation:final_check", site_of=site_from(Preparation))
def final_check(
    preparation_id: int,
    *,
    actor: User,
    approve: bool,
    password: str = "",
    reason: str = "",
    signer_username: str | None = None,
    continuous_session: bool = True,
) -> Preparation:
    """A pharmacist who took no part in the dose approves (signing ``signed_content``) or rejects it
    (the dose is wasted and a new preparation is planned), while its order still matches what the
    verifying pharmacist signed."""
    check(actor, Action.FINAL_CHECK)
    preparation = preparation_for(actor, preparation_id, lock=True)
    if preparation.status != PreparationStatus.AWAITING_CHECK:
        raise Conflict("Only a completed preparation awaits the final check.", code="WRONG_STATE")
    require_independent(
        actor.pk,
        parts_of(preparation),
        excludes_verifier=preparation.site.final_check_excludes_verifier,
        details=entity(preparation),
    )
    require_order_unchanged(
        preparation,
        step="Do not use this dose: set it aside, cancel the order and have it written and verified again.",
    )
    now = timezone.now()
    if approve:
        signature = sign(
            actor=actor,
            signer_username=signer_username,
            password=password,
            meaning=SignatureMeaning.FINAL_CHECK_BY,
            entity_type="compounding.preparation",
            entity_id=preparation.pk,
            content=signed_content(preparation),
            continuous_session=continuous_session,
        )
        preparation.status, preparation.final_check = PreparationStatus.APPROVED, signature
        advance_order(preparation.order, OrderStatus.CHECKED, actor=actor)
    else:
        if not reason.strip():
            raise InvalidInput("Say why the preparation is rejected.", code="REASON_REQUIRED")
        preparation.status, preparation.rejection_reason = PreparationStatus.REJECTED, reason.strip()
        advance_order(preparation.order, OrderStatus.VERIFIED, actor=actor, reason=f"preparation rejected: {reason}")
    preparation.checked_by, preparation.checked_at = actor, now
    _save(
        preparation,
        ["status", "final_check", "rejection_reason", "checked_by", "checked_at"],
        "approved" if approve else "rejected",
        actor=actor,
        reason=reason,
        signature_meaning=SignatureMeaning.FINAL_CHECK_BY if approve else "",
    )
    if not approve:
        # a new dose is planned at once when it can be; if not (no room, no stock), the rejection
        # stands and the verified order waits in the queue for a plan
        with contextlib.suppress(DomainError), transaction.atomic():
            plan_preparation(preparation.order_id, actor=actor)
    return preparation


def cancel_for_order(order: Order, actor: User, reason: str) -> None:
    """The order was cancelled: stop its preparation (vials already scanned stay consumed, as wasted)."""
    for preparation in Preparation.objects.select_for_update().filter(order=order, status__in=ACTIVE_STATUSES):
        preparation.status, preparation.rejection_reason = PreparationStatus.CANCELLED, f"order cancelled: {reason}"
        _save(preparation, ["status", "rejection_reason"], "cancelled", actor=actor, reason=reason)
