"""API operations for patients (operation ids are a contract): create_patient, get_patient,
record_measurement, record_lab, record_allergy, record_diagnosis."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema, Status

from openinfusion.accounts.permissions import Action
from openinfusion.api import InputSchema, NumberText, actor, allow, stored_text
from openinfusion.patients import services
from openinfusion.patients.models import CareSetting, LabResult, Measurement, Patient, Pregnancy, Sex

router = Router(tags=["patients"])


class PatientIn(InputSchema):
    site_id: int
    mrn: str = stored_text(Patient, "mrn")
    family_name: str = stored_text(Patient, "family_name")
    given_name: str = stored_text(Patient, "given_name")
    birth_date: dt.date
    sex: Sex
    care_setting: CareSetting = CareSetting.INFUSION_CENTER
    ward: str = stored_text(Patient, "ward", default="")
    bed: str = stored_text(Patient, "bed", default="")
    home_address: str = stored_text(Patient, "home_address", default="")
    pregnancy: Pregnancy = Pregnancy.UNKNOWN


class ObservationOut(Schema):
    id: int
    kind: str
    value: Decimal
    unit: str
    taken_at: dt.datetime
    corrects: int | None


class AllergyOut(Schema):
    id: int
    substance: str
    is_class: bool
    severity: str
    reaction: str


class PatientOut(Schema):
    id: int
    site: str
    mrn: str
    family_name: str
    given_name: str
    birth_date: dt.date
    age: int
    sex: str
    care_setting: str
    diagnoses: list[str]
    allergies: list[AllergyOut]
    height: ObservationOut | None
    weight: ObservationOut | None
    labs: list[ObservationOut]


def _observation(row: Measurement | LabResult, kind: str) -> ObservationOut:
    return ObservationOut(
        id=row.pk, kind=kind, value=row.value, unit=row.unit, taken_at=row.taken_at, corrects=row.corrects_id
    )


def _maybe(row: Measurement | LabResult | None, kind: str) -> ObservationOut | None:
    return None if row is None else _observation(row, kind)


def patient_out(patient: Patient) -> PatientOut:
    return PatientOut(
        id=patient.pk,
        site=patient.site.code,
        mrn=patient.mrn,
        family_name=patient.family_name,
        given_name=patient.given_name,
        birth_date=patient.birth_date,
        age=patient.age_on(patient.site.today(timezone.now())),
        sex=patient.sex,
        care_setting=patient.care_setting,
        diagnoses=[str(d) for d in patient.diagnoses.all()],
        allergies=[
            AllergyOut(id=a.pk, substance=a.substance, is_class=a.is_class, severity=a.severity, reaction=a.reaction)
            for a in patient.allergies.all()
        ],
        height=_maybe(services.current_measurement(patient, "height"), "height"),
        weight=_maybe(services.current_measurement(patient, "weight"), "weight"),
        labs=[_observation(lab, test) for test, lab in services.latest_labs(patient).items()],
    )


@router.post("/patients", response={201: PatientOut}, operation_id="create_patient", auth=allow(Action.MANAGE_PATIENTS))
def create_patient(request: HttpRequest, payload: PatientIn) -> Status[PatientOut]:
    return Status(201, patient_out(services.create_patient(actor=actor(request), **payload.dict())))


@router.get("/patients/{patient_id}", response=PatientOut, operation_id="get_patient", auth=allow(Action.VIEW_PATIENTS))
def get_patient(request: HttpRequest, patient_id: int) -> PatientOut:
    return patient_out(services.patient_for(actor(request), patient_id))


TAKEN_AT = Field(
    default=None,
    description="When it was taken, with its UTC offset (e.g. 2026-12-07T10:30-05:00); a time without one is "
    "refused (it names no instant). Not in the future, not more than 2 years ago. Empty: now.",
)


class MeasurementIn(InputSchema):
    kind: str
    value: NumberText
    taken_at: dt.datetime | None = TAKEN_AT
    corrects_id: int | None = None
    confirm_unusual: bool = Field(
        default=False,
        description="I re-measured and the value is right: records a value refused as a probable slip "
        "(a BMI no person has with the other measure, a weight further from the last than the time between allows). "
        "The refusal's details name this flag; the confirmation is audited.",
    )


@router.post(
    "/patients/{patient_id}/measurements",
    response={201: ObservationOut},
    operation_id="record_measurement",
    auth=allow(Action.RECORD_OBSERVATIONS),
)
def record_measurement(request: HttpRequest, patient_id: int, payload: MeasurementIn) -> Status[ObservationOut]:
    row = services.record_measurement(
        patient_id,
        actor=actor(request),
        kind=payload.kind,
        text=payload.value,
        taken_at=payload.taken_at,
        corrects_id=payload.corrects_id,
        confirm_unusual=payload.confirm_unusual,
    )
    return Status(201, _observation(row, row.kind))


class LabIn(InputSchema):
    test: str
    value: NumberText
    unit: str
    taken_at: dt.datetime | None = TAKEN_AT
    source: str = ""
    mrn: str | None = None
    corrects_id: int | None = None


@router.post(
    "/patients/{patient_id}/labs",
    response={201: ObservationOut},
    operation_id="record_lab",
    auth=allow(Action.RECORD_OBSERVATIONS),
)
def record_lab(request: HttpRequest, patient_id: int, payload: LabIn) -> Status[ObservationOut]:
    row = services.record_lab(patient_id, actor=actor(request), **payload.dict())
    return Status(201, _observation(row, row.test))


class AllergyIn(InputSchema):
    substance: str
    severity: str
    reaction: str = ""
    is_class: bool = False


@router.post(
    "/patients/{patient_id}/allergies",
    response={201: AllergyOut},
    operation_id="record_allergy",
    auth=allow(Action.RECORD_OBSERVATIONS),
)
def record_allergy(request: HttpRequest, patient_id: int, payload: AllergyIn) -> Status[AllergyOut]:
    a = services.record_allergy(patient_id, actor=actor(request), **payload.dict())
    return Status(
        201, AllergyOut(id=a.pk, substance=a.substance, is_class=a.is_class, severity=a.severity, reaction=a.reaction)
    )


class DiagnosisIn(InputSchema):
    code: str
    text: str


@router.post(
    "/patients/{patient_id}/diagnoses",
    response={201: PatientOut},
    operation_id="record_diagnosis",
    auth=allow(Action.MANAGE_PATIENTS),
)
def record_diagnosis(request: HttpRequest, patient_id: int, payload: DiagnosisIn) -> Status[PatientOut]:
    me = actor(request)
    services.record_diagnosis(patient_id, actor=me, code=payload.code, text=payload.text)
    return Status(201, patient_out(services.patient_for(me, patient_id)))
