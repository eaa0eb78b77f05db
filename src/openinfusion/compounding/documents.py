"""The label and the compounding record of a preparation, built from what was recorded. A label is
released (shown or printed) only for an approved dose whose signatures still match what they signed."""

from __future__ import annotations

import dataclasses
import datetime as dt

from openinfusion.accounts.models import Site, User
from openinfusion.audit.services import audited, site_from
from openinfusion.clinical.units import format_decimal
from openinfusion.compounding import labels
from openinfusion.compounding.integrity import entity, require_signatures_match
from openinfusion.compounding.models import Preparation, PreparationStatus
from openinfusion.compounding.services import preparation_for
from openinfusion.errors import Conflict, InvalidInput

VINCA_ALKALOIDS = {"vincristine", "vinblastine", "vinorelbine"}
STORAGE_TEXT = {"refrigerator": "Refrigerate 2–8 °C", "room": "Room temperature 20–25 °C", "freezer": "Freeze"}


def label_data(preparation: Preparation) -> labels.LabelData:
    order, plan = preparation.order, preparation.plan
    patient = order.patient
    bag = plan.get("bag") or {}
    rate = plan.get("rate_ml_h")
    assert preparation.bud is not None
    return labels.LabelData(
        preparation_id=preparation.pk,
        barcode_text=preparation.barcode,
        site_name=preparation.site.name,
        patient_name=f"{patient.family_name.upper()}, {patient.given_name}",
        mrn=patient.mrn,
        birth_date=patient.birth_date,
        drug=order.drug.display_name,
        dose=order.dose_text,
        final_volume=f"{plan['final_volume_ml']} mL",
        concentration=plan["concentration"],
        base_solution=bag.get("label", "none (undiluted)").split(" (")[0],
        route=order.route,
        rate_and_duration=(f"{rate} mL/h over {plan['duration_minutes']} min" if rate else "as ordered"),
        bud=preparation.bud,
        time_zone=preparation.site.time_zone,
        storage=STORAGE_TEXT.get(plan["storage"], plan["storage"]),
        protect_from_light=bool(plan["protect_from_light"]),
        hazardous=bool(plan["hazardous"]),
        vinca_alkaloid=order.drug.key in VINCA_ALKALOIDS,
        bag_number=preparation.bag_number,
        bag_count=preparation.bag_count,
        prepared_by=preparation.prepared_by.printed_name if preparation.prepared_by else "",
        checked_by=preparation.checked_by.printed_name if preparation.checked_by else "",
    )


@audited("compounding:label:release", site_of=site_from(Preparation))
def released(preparation_id: int, *, actor: User) -> Preparation:
    """The preparation whose label may be shown or printed: approved at the final check, with its
    record still matching the final-check signature and its order the verification signature."""
    preparation = preparation_for(actor, preparation_id)
    if preparation.status != PreparationStatus.APPROVED:
        raise Conflict(
            "The label is released only after the pharmacist's final check approves the dose.",
            code="LABEL_NOT_RELEASED",
            details=entity(preparation),
        )
    require_signatures_match(preparation)
    return preparation


def label_pdf_for(actor: User, preparation_id: int, size: str = "4x3in") -> bytes:
    if size not in labels.LABEL_SIZES:
        raise InvalidInput(f"Label size is one of {', '.join(labels.LABEL_SIZES)}.", code="INVALID_INPUT")
    return labels.label_pdf(label_data(released(preparation_id, actor=actor)), size)


def label_zpl_for(actor: User, preparation_id: int) -> str:
    return labels.label_zpl(label_data(released(preparation_id, actor=actor)))


def _when(moment: dt.datetime | None, site: Site) -> str:
    return site.clock(moment) if moment else ""


def record_pdf_for(actor: User, preparation_id: int) -> bytes:
    """Everything about one preparation, for the record (any status after completion)."""
    preparation = preparation_for(actor, preparation_id)
    if preparation.bud is None:
        raise Conflict("The compounding record exists once the preparation is completed.", code="WRONG_STATE")
    order = preparation.order
    steps = list(preparation.steps.select_related("by").order_by("index"))
    scans = [s for s in steps if hasattr(s, "scan")]
    weighings = [s for s in steps if hasattr(s, "weighing")]
    label = label_data(preparation)
    if not label.checked_by:  # the record of a dose awaiting (or refused at) the final check
        label = dataclasses.replace(label, checked_by="not yet checked")
    return labels.compounding_record_pdf(
        labels.CompoundingRecord(
            label=label,
            order_summary=(
                ("Order", f"#{order.pk} {order.drug.display_name} {order.dose_text} {order.route}"),
                ("Basis", order.basis_text or "flat dose"),
                *((name, str(value)) for name, value in order.calculation_inputs.items()),
                ("Verified by", order.verified_by.printed_name if order.verified_by else ""),
                ("Verified at", _when(order.verified_at, preparation.site)),
            ),
            plan_summary=(
                ("Room", preparation.room.name),
                ("Draw", f"{preparation.plan['draw_ml']} mL from {len(preparation.plan['draws'])} vial(s)"),
                ("Final volume", f"{preparation.plan['final_volume_ml']} mL"),
                ("Handling", preparation.plan["handling"]),
                ("Drug left in vials", f"{preparation.plan['waste']} {preparation.plan['unit']}"),
                ("Status", preparation.get_status_display()),
            ),
            scans=tuple(
                labels.RecordLine(
                    (
                        _when(s.at, preparation.site),
                        str(s.index + 1),
                        str(s.scan.product),
                        s.scan.product.ndc_labelled,
                        s.scan.lot.lot_number,
                        s.scan.lot.expiry.isoformat(),
                        s.scan.serial,
                        "accepted",
                    )
                )
                for s in scans
            ),
            weighings=tuple(
                labels.RecordLine(
                    (
                        _when(s.at, preparation.site),
                        str(s.index + 1),
                        s.weighing.scale,
                        str(s.weighing.tare_g),
                        str(s.weighing.gross_g),
                        format_decimal(s.weighing.expected_ml),
                        format_decimal(s.weighing.measured_ml),
                        str(s.weighing.deviation_pct),
                        "within",
                    )
                )
                for s in weighings
            ),
            steps=tuple(
                labels.RecordLine((_when(s.at, preparation.site), str(s.index + 1), s.by.username, s.kind))
                for s in steps
            ),
            intercepted_errors=tuple(
                labels.RecordLine(
                    (_when(e.at, preparation.site), str(e.step_index + 1), e.code, e.message, e.by.username)
                )
                for e in preparation.intercepted_errors.select_related("by")
            ),
            photos=tuple(photo.image.read() for photo in preparation.photos.all()),
            final_check=(
                ("Checked by", preparation.checked_by.printed_name if preparation.checked_by else "not yet"),
                ("Checked at", _when(preparation.checked_at, preparation.site)),
                ("Meaning", "final check by" if preparation.final_check else ""),
                ("Signature hash", preparation.final_check.content_hash if preparation.final_check else ""),
            ),
        )
    )
