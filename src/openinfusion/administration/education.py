"""Patient education: the leaflet PDF with the patient's schedule, and the record of teaching."""

from __future__ import annotations

from functools import cache

from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import User
from openinfusion.accounts.permissions import Action
from openinfusion.administration import leaflets
from openinfusion.administration.models import EducationRecord
from openinfusion.audit.services import audited, record, site_from
from openinfusion.errors import InvalidInput, NotFound
from openinfusion.orders.models import ACTIVE_STATUSES, Order, OrderStatus
from openinfusion.patients.services import patient_for

SKILLS = (
    "connect and disconnect",
    "flush the line",
    "respond to pump alarms",
    "change the battery",
    "recognise a reaction",
)
SITE_PHONE = "the infusion team's number on your discharge sheet"


@cache
def library() -> dict[str, leaflets.Leaflet]:
    return leaflets.load_leaflets()


def leaflet_key(patient_id: int, actor: User, key: str | None) -> str:
    if key:
        if key not in library():
            raise NotFound(f"No leaflet {key!r}.", code="UNKNOWN_LEAFLET")
        return key
    therapy = (
        Order.objects.filter(patient_id=patient_id, role="treatment")
        .exclude(status=OrderStatus.CANCELLED)
        .select_related("drug")
        .order_by("-planned_start")
    )
    for order in therapy:
        if order.drug.education_leaflet in library():
            return order.drug.education_leaflet
    raise NotFound("This patient has no order with a leaflet; choose one.", code="UNKNOWN_LEAFLET")


def education_pdf(actor: User, patient_id: int, key: str | None = None) -> bytes:
    check(actor, Action.VIEW_CHAIR_BOARD)
    patient = patient_for(actor, patient_id)
    chosen = leaflet_key(patient.pk, actor, key)
    upcoming = Order.objects.filter(
        patient=patient, status__in=ACTIVE_STATUSES, planned_start__gte=timezone.now()
    ).select_related("drug")
    schedule = [
        leaflets.ScheduleItem(o.planned_start, f"{o.drug.display_name} {o.dose_text} {o.route}")
        for o in upcoming.order_by("planned_start")[:12]
    ]
    return leaflets.leaflet_pdf(
        library()[chosen],
        patient_name=f"{patient.given_name} {patient.family_name}",
        schedule=schedule,
        time_zone=patient.site.time_zone,
        site_name=patient.site.name,
        contact_phone=SITE_PHONE,
    )


@audited("administration:education:record", site_of=site_from("patients.Patient"))
def record_education(
    patient_id: int,
    *,
    actor: User,
    leaflet: str,
    recipient: str,
    topics: list[str],
    teach_back: bool,
    skills: list[str] | None = None,
) -> EducationRecord:
    """What was taught, to whom, whether the teach-back was confirmed, and for home infusion the
    skills the caregiver showed."""
    check(actor, Action.EDUCATE)
    patient = patient_for(actor, patient_id)
    if leaflet not in library():
        raise NotFound(f"No leaflet {leaflet!r}.", code="UNKNOWN_LEAFLET")
    if recipient not in ("patient", "caregiver"):
        raise InvalidInput("Say whether the patient or a caregiver was taught.", code="INVALID_INPUT")
    shown = [s for s in (skills or []) if s]
    unknown = sorted(set(shown) - set(SKILLS))
    if unknown or not [t for t in topics if t.strip()]:
        raise InvalidInput(f"Name the topics taught; skills are among: {', '.join(SKILLS)}.", code="INVALID_INPUT")
    entry = EducationRecord.objects.create(
        patient=patient,
        leaflet=leaflet,
        recipient=recipient,
        topics=[t.strip() for t in topics if t.strip()],
        teach_back=teach_back,
        skills=shown,
        by=actor,
        at=timezone.now(),
    )
    record(
        "administration:education:recorded",
        actor=actor,
        entity=entry,
        site=patient.site,
        patient_id=patient.pk,
        after={"leaflet": leaflet, "recipient": recipient, "teach_back": teach_back, "skills": shown},
    )
    return entry
