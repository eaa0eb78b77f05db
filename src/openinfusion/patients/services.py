"""Every change to a patient's record: one function per intent, one transaction, one audit event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.utils import timezone

from openinfusion.accounts.access import check
from openinfusion.accounts.models import Site, User
from openinfusion.accounts.permissions import Action
from openinfusion.audit.services import audited, record, site_from
from openinfusion.clinical import body
from openinfusion.clinical.plausible_dates import (
    BIRTH_DATE,
    LAB_TAKEN,
    MEASUREMENT_TAKEN,
    DateWindow,
    refuse_implausible,
)
from openinfusion.clinical.units import format_decimal, parse_quantity
from openinfusion.errors import Conflict, InvalidInput, NotFound
from openinfusion.patients import unusual
from openinfusion.patients.models import (
    LAB_UNITS,
    Allergy,
    CareSetting,
    Diagnosis,
    Lab,
    LabResult,
    Measurement,
    MeasurementKind,
    Patient,
    Severity,
)

Obs = TypeVar("Obs", Measurement, LabResult)

# Values no living patient's sample gives, per unit (a 10× or wrong-unit slip lands outside).
LAB_LIMITS: dict[tuple[str, str], tuple[Decimal, Decimal]] = {
    (Lab.ANC, "10^9/L"): (Decimal(0), Decimal(100)),
    (Lab.WBC, "10^9/L"): (Decimal(0), Decimal(500)),
    (Lab.PLATELETS, "10^9/L"): (Decimal(0), Decimal(3000)),
    (Lab.HEMOGLOBIN, "g/dL"): (Decimal(2), Decimal(25)),
    (Lab.HEMOGLOBIN, "g/L"): (Decimal(20), Decimal(250)),
    (Lab.SCR, "mg/dL"): (Decimal("0.1"), Decimal(25)),
    (Lab.SCR, "umol/L"): (Decimal(9), Decimal(2200)),
    (Lab.BILIRUBIN, "mg/dL"): (Decimal(0), Decimal(50)),
    (Lab.BILIRUBIN, "umol/L"): (Decimal(0), Decimal(850)),
    (Lab.AST, "units/L"): (Decimal(0), Decimal(20000)),
    (Lab.ALT, "units/L"): (Decimal(0), Decimal(20000)),
}


def patient_for(actor: User, patient_id: int) -> Patient:
    """A patient at one of the actor's sites; another site's patient does not exist for them."""
    patient = Patient.objects.filter(pk=patient_id, site__in=actor.site_ids()).select_related("site").first()
    if patient is None:
        raise NotFound("No such patient at your sites.", code="UNKNOWN_PATIENT")
    return patient


@audited("patients:patient:create", site_of=site_from(Site, "pk", key="site_id"))
def create_patient(
    *,
    actor: User,
    site_id: int,
    mrn: str,
    family_name: str,
    given_name: str,
    birth_date: dt.date,
    sex: str,
    care_setting: str = CareSetting.INFUSION_CENTER,
    ward: str = "",
    bed: str = "",
    home_address: str = "",
    pregnancy: str = "unknown",
) -> Patient:
    check(actor, Action.MANAGE_PATIENTS)
    if site_id not in actor.site_ids():
        raise NotFound("No such site among yours.", code="UNKNOWN_SITE")
    site = Site.objects.get(pk=site_id)
    mrn = mrn.strip()
    if not mrn or not family_name.strip() or not given_name.strip():
        raise InvalidInput("MRN, family name and given name are all needed.", code="MISSING_FIELD")
    refuse_implausible(birth_date, BIRTH_DATE, now=timezone.now(), zone=site.zone)
    if care_setting == CareSetting.HOME and not home_address.strip():
        raise InvalidInput("A home-infusion patient needs the address the nurse visits.", code="MISSING_FIELD")
    if Patient.objects.filter(site_id=site_id, mrn=mrn).exists():
        raise Conflict(f"MRN {mrn} is already a patient at this site. Open that chart instead.", code="DUPLICATE_MRN")
    patient = Patient.objects.create(
        site=site,
        mrn=mrn,
        family_name=family_name.strip(),
        given_name=given_name.strip(),
        birth_date=birth_date,
        sex=sex,
        care_setting=care_setting,
        ward=ward,
        bed=bed,
        home_address=home_address,
        pregnancy=pregnancy,
        created_at=timezone.now(),
        created_by=actor,
    )
    record(
        "patients:patient:created",
        actor=actor,
        entity=patient,
        site=patient.site,
        patient_id=patient.pk,
        after={"mrn": mrn, "care_setting": care_setting},
    )
    return patient


def _taken_at(taken_at: dt.datetime | None, patient: Patient, window: DateWindow) -> dt.datetime:
    """When it was taken: now if not given; else an instant with its zone, within the field's window."""
    now = timezone.now()
    if taken_at is None:
        return now
    refuse_implausible(taken_at, window, now=now, zone=patient.site.zone)
    return taken_at


def _correction_of(model: type[Obs], patient: Patient, corrects_id: int | None, **same: str) -> Obs | None:
    if corrects_id is None:
        return None
    old: Obs | None = model.objects.filter(pk=corrects_id, patient=patient, **same).first()
    if old is None:
        raise NotFound("The record to correct is not this patient's.", code="UNKNOWN_RECORD")
    if model.objects.filter(corrects=old).exists():
        raise Conflict("That record was already corrected; correct the newest one.", code="ALREADY_CORRECTED")
    return old


@audited("patients:measurement:record", site_of=site_from(Patient))
def record_measurement(
    patient_id: int,
    *,
    actor: User,
    kind: str,
    text: str,
    taken_at: dt.datetime | None = None,
    corrects_id: int | None = None,
    confirm_unusual: bool = False,
) -> Measurement:
    """Record a height or weight ("172 cm", "68.5 kg"): impossible values are refused; a value that
    makes the BMI implausible with the other measure, or a weight further from the previous one than
    the time between them allows (``weight_change``), is refused unless the person confirms they
    re-measured (``confirm_unusual``); the confirmation is audited with the warnings it answered."""
    check(actor, Action.RECORD_OBSERVATIONS)
    patient = patient_for(actor, patient_id)
    if kind not in MeasurementKind.values:
        raise InvalidInput("Say whether this is a height or a weight.", code="INVALID_INPUT")
    quantity = parse_quantity(text)
    value = body.height_in_cm(quantity) if kind == MeasurementKind.HEIGHT else body.weight_in_kg(quantity)
    taken = _taken_at(taken_at, patient, MEASUREMENT_TAKEN)
    old = _correction_of(Measurement, patient, corrects_id, kind=kind)
    other = current_measurement(
        patient, MeasurementKind.WEIGHT if kind == MeasurementKind.HEIGHT else MeasurementKind.HEIGHT
    )
    slips = unusual.bmi_slip(kind, quantity, other)
    if kind == MeasurementKind.WEIGHT:
        slips += unusual.weight_jump(patient, quantity, value, taken, corrected=old)
    if not confirm_unusual:
        unusual.refuse(slips)
    unit = "cm" if kind == MeasurementKind.HEIGHT else "kg"
    measurement = Measurement.objects.create(
        patient=patient,
        kind=kind,
        value=value,
        unit=unit,
        taken_at=taken,
        recorded_at=timezone.now(),
        recorded_by=actor,
        corrects=old,
        note=f"entered as {quantity}" if quantity.unit != unit else "",
    )
    after: dict[str, Any] = {"kind": kind, "value": str(value), "unit": unit, "entered": str(quantity)}
    after["taken_at"] = taken.isoformat()
    if slips:
        after["confirmed_unusual"] = [{"code": slip.code, "message": slip.message} for slip in slips]
    record(
        "patients:measurement:recorded",
        actor=actor,
        entity=measurement,
        site=patient.site,
        patient_id=patient.pk,
        before={"corrects": old.pk, "value": str(old)} if old else None,
        after=after,
    )
    return measurement


@audited("patients:lab:record", site_of=site_from(Patient))
def record_lab(
    patient_id: int,
    *,
    actor: User,
    test: str,
    value: Decimal | str,
    unit: str,
    taken_at: dt.datetime | None = None,
    source: str = "",
    mrn: str | None = None,
    corrects_id: int | None = None,
) -> LabResult:
    """Record a lab result in one of the units allowed for the test, within what a sample can show.
    ``mrn``, when the sender gives it, must be this patient's: a result for someone else is refused."""
    check(actor, Action.RECORD_OBSERVATIONS)
    patient = patient_for(actor, patient_id)
    if mrn is not None and mrn.strip() != patient.mrn:
        raise Conflict(
            f"This result is for MRN {mrn}, but the chart open is {patient.mrn}. Nothing was saved; "
            "file it in the right patient's chart.",
            code="WRONG_PATIENT",
        )
    if test not in LAB_UNITS:
        raise InvalidInput(f"Unknown lab test {test!r}; use one of {', '.join(LAB_UNITS)}.", code="UNKNOWN_LAB")
    unit = unit.replace("umol/L", "umol/L").replace("U/L", "units/L")
    if unit not in LAB_UNITS[test]:
        raise InvalidInput(
            f"{Lab(test).label} is recorded in {' or '.join(LAB_UNITS[test])}, not {unit!r}.", code="UNIT_MISMATCH"
        )
    typed = str(value).strip()
    if "," in typed:
        raise InvalidInput(
            f"“{typed}” has a comma: type a point for decimals ({typed.replace(',', '.')}). Nothing was saved.",
            code="INVALID_INPUT",
        )
    try:
        amount = Decimal(typed)
    except InvalidOperation:
        raise InvalidInput(
            f"“{typed}” is not a number. Type the result as a number, e.g. 11.25." if typed else "Type the result.",
            code="INVALID_INPUT",
        ) from None
    low, high = LAB_LIMITS[(test, unit)]
    if not low <= amount <= high:
        raise InvalidInput(
            f"{Lab(test).label} {format_decimal(amount)} {unit} is outside what a sample can show "
            f"({format_decimal(low)}–{format_decimal(high)} {unit}). Check the value and its unit.",
            code="IMPLAUSIBLE_LAB",
        )
    old = _correction_of(LabResult, patient, corrects_id, test=test)
    lab = LabResult.objects.create(
        patient=patient,
        test=test,
        value=amount,
        unit=unit,
        taken_at=_taken_at(taken_at, patient, LAB_TAKEN),
        source=source,
        recorded_at=timezone.now(),
        recorded_by=actor,
        corrects=old,
    )
    record(
        "patients:lab:recorded",
        actor=actor,
        entity=lab,
        site=patient.site,
        patient_id=patient.pk,
        before={"corrects": old.pk, "value": str(old)} if old else None,
        after={"test": test, "value": str(amount), "unit": unit, "taken_at": lab.taken_at.isoformat()},
    )
    return lab


@audited("patients:allergy:record", site_of=site_from(Patient))
def record_allergy(
    patient_id: int, *, actor: User, substance: str, severity: str, reaction: str = "", is_class: bool = False
) -> Allergy:
    check(actor, Action.RECORD_OBSERVATIONS)
    patient = patient_for(actor, patient_id)
    substance = substance.strip().lower()
    if not substance:
        raise InvalidInput("Name the drug or drug class the patient reacts to.", code="MISSING_FIELD")
    if severity not in Severity.values:
        raise InvalidInput(f"Severity is one of {', '.join(Severity.values)}.", code="INVALID_INPUT")
    allergy = Allergy.objects.create(
        patient=patient,
        substance=substance,
        is_class=is_class,
        reaction=reaction,
        severity=severity,
        recorded_at=timezone.now(),
        recorded_by=actor,
    )
    record(
        "patients:allergy:recorded",
        actor=actor,
        entity=allergy,
        site=patient.site,
        patient_id=patient.pk,
        after={"substance": substance, "class": is_class, "severity": severity, "reaction": reaction},
    )
    return allergy


@audited("patients:diagnosis:record", site_of=site_from(Patient))
def record_diagnosis(patient_id: int, *, actor: User, code: str, text: str) -> Diagnosis:
    check(actor, Action.MANAGE_PATIENTS)
    patient = patient_for(actor, patient_id)
    code = code.strip().upper()
    if not (3 <= len(code) <= 8 and code[0].isalpha() and code[1:3].isdigit()):
        raise InvalidInput(f"{code!r} is not an ICD-10 code (e.g. C18.7, M05.79).", code="BAD_ICD10")
    diagnosis = Diagnosis.objects.create(
        patient=patient, code=code, text=text.strip(), recorded_at=timezone.now(), recorded_by=actor
    )
    record(
        "patients:diagnosis:recorded",
        actor=actor,
        entity=diagnosis,
        site=patient.site,
        patient_id=patient.pk,
        after={"code": code, "text": text},
    )
    return diagnosis


def current_measurement(patient: Patient, kind: str) -> Measurement | None:
    return Measurement.objects.current().filter(patient=patient, kind=kind).order_by("-taken_at", "-id").first()


def latest_labs(patient: Patient) -> dict[str, LabResult]:
    latest: dict[str, LabResult] = {}
    for lab in LabResult.objects.current().filter(patient=patient).order_by("-taken_at", "-id"):
        latest.setdefault(lab.test, lab)
    return latest
