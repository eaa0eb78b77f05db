"""The home-delivery manifest of a dispense."""

from __future__ import annotations

from openinfusion.accounts.models import User
from openinfusion.administration import manifest
from openinfusion.administration.models import Destination
from openinfusion.administration.services import dispense_for
from openinfusion.errors import Conflict

SUPPLIES = ("saline flush syringes 10 mL × 4", "alcohol swabs", "gloves", "sharps container", "spill kit")


def manifest_pdf_for(actor: User, dispense_id: int) -> bytes:
    dispense = dispense_for(actor, dispense_id)
    if dispense.destination != Destination.HOME:
        raise Conflict("A manifest is for a home delivery.", code="NOT_A_DELIVERY")
    preparation = dispense.preparation
    order, patient = preparation.order, preparation.order.patient
    storage = "refrigerate" if dispense.cold_chain else "room temperature"
    item = manifest.ManifestItem(
        description=f"{order.drug.display_name} {order.dose_text} in {preparation.plan['final_volume_ml']} mL "
        f"({preparation.barcode})",
        quantity="1 bag",
        storage=storage,
        cold_chain=dispense.cold_chain,
    )
    return manifest.manifest_pdf(
        manifest.DeliveryManifest(
            manifest_id=f"DLV-{dispense.pk:06d}",
            site_name=preparation.site.name,
            patient_name=f"{patient.family_name.upper()}, {patient.given_name}",
            mrn=patient.mrn,
            address=patient.home_address or dispense.place,
            phone="on file",
            dispatched_at=dispense.dispensed_at,
            time_zone=preparation.site.time_zone,
            items=(item,),
            supplies=SUPPLIES
            + (("hazardous spill kit and chemo waste bag",) if preparation.plan.get("hazardous") else ()),
            pump="ambulatory pump (serial at hand-off)"
            if order.duration_minutes and order.duration_minutes > 240
            else None,
            notes=f"Prepared {preparation.site.clock(preparation.completed_at)}" if preparation.completed_at else "",
        )
    )
