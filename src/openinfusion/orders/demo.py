"""Demo patients, plans and one day of orders in every state, made through the real services so
the audit trail, signatures and findings look as they would in use."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from django.utils import timezone

from openinfusion.accounts.models import Site, User
from openinfusion.demo import DEMO_PASSWORD
from openinfusion.orders import services
from openinfusion.orders.library import load_regimens
from openinfusion.orders.models import Order, OrderStatus, Regimen
from openinfusion.patients import services as charts
from openinfusion.patients.models import CareSetting, Patient

FAMILY = (
    "Alvarez",
    "Brennan",
    "Chen",
    "Dubois",
    "Eriksen",
    "Fofana",
    "Garcia",
    "Hughes",
    "Ibrahim",
    "Jensen",
    "Kowalczyk",
    "Larsen",
    "Moreno",
    "Nakamura",
    "O'Neill",
    "Petrov",
    "Quinn",
    "Rossi",
    "Singh",
    "Tanaka",
    "Urban",
    "Vasquez",
    "Weber",
    "Xu",
    "Yilmaz",
    "Zimmer",
    "Abbott",
    "Bauer",
    "Costa",
    "Doyle",
    "Evans",
    "Fischer",
)
GIVEN = (
    "Ana",
    "Ben",
    "Carla",
    "David",
    "Eva",
    "Farid",
    "Grace",
    "Henry",
    "Iris",
    "Jon",
    "Kira",
    "Luis",
    "Maya",
    "Noah",
    "Olga",
    "Paul",
    "Rosa",
    "Sami",
    "Tara",
    "Umar",
    "Vera",
    "Will",
    "Yara",
    "Zoe",
)

# Regimen, diagnosis (ICD-10) and sex for the patients on plans; the rest get stand-alone orders.
PLANS = (
    ("mfolfox6", "C18.7", "Malignant neoplasm of sigmoid colon", "F"),
    ("folfiri", "C18.2", "Malignant neoplasm of ascending colon", "M"),
    ("r-chop-21", "C83.3", "Diffuse large B-cell lymphoma", "M"),
    ("ac", "C50.9", "Malignant neoplasm of breast", "F"),
    ("carboplatin-paclitaxel", "C56.9", "Malignant neoplasm of ovary", "F"),
    ("cisplatin-etoposide", "C34.90", "Malignant neoplasm of lung", "M"),
    ("gemcitabine", "C25.9", "Malignant neoplasm of pancreas", "M"),
    ("pembrolizumab", "C43.9", "Malignant melanoma of skin", "F"),
    ("trastuzumab-maintenance", "C50.9", "Malignant neoplasm of breast", "F"),
    ("bortezomib", "C90.00", "Multiple myeloma", "M"),
    ("infliximab-maintenance", "K50.90", "Crohn's disease", "F"),
    ("rituximab-ra", "M05.79", "Rheumatoid arthritis with rheumatoid factor", "F"),
    ("zoledronic-acid-oncology", "C79.51", "Secondary malignant neoplasm of bone", "M"),
    ("mfolfox6", "C20", "Malignant neoplasm of rectum", "M"),
)
SINGLE = (
    ("vancomycin", "15 mg/kg", "IV", "sodium-chloride-0.9", 250, "L03.115", "Cellulitis of leg", "home"),
    ("ceftriaxone", "2 g", "IV", "sodium-chloride-0.9", 50, "M86.10", "Osteomyelitis", "home"),
    ("iron-sucrose", "200 mg", "IV", "sodium-chloride-0.9", 100, "D63.1", "Anemia in chronic kidney disease", "center"),
    ("ferric-carboxymaltose", "750 mg", "IV", "sodium-chloride-0.9", 250, "D50.9", "Iron deficiency anemia", "center"),
    ("acyclovir", "10 mg/kg", "IV", "sodium-chloride-0.9", 250, "B00.4", "Herpes encephalitis", "ward"),
    ("piperacillin-tazobactam", "4.5 g", "IV", "sodium-chloride-0.9", 100, "J18.9", "Pneumonia", "ward"),
    ("immune-globulin", "0.4 g/kg", "IV", None, None, "D80.1", "Hypogammaglobulinemia", "center"),
    ("zoledronic-acid", "4 mg", "IV", "sodium-chloride-0.9", 100, "C79.51", "Bone metastases", "center"),
    ("vancomycin", "1250 mg", "IV", "sodium-chloride-0.9", 250, "A49.01", "MSSA bacteremia", "ward"),
    ("iron-sucrose", "200 mg", "IV", "sodium-chloride-0.9", 100, "D63.1", "Anemia in chronic kidney disease", "home"),
    ("cefazolin", "2 g", "IV", "sodium-chloride-0.9", 100, "L03.115", "Cellulitis of leg", "home"),
    ("ceftriaxone", "1 g", "IV", "sodium-chloride-0.9", 50, "J18.9", "Pneumonia", "ward"),
    ("morphine", "2 mg", "IV push", None, None, "G89.3", "Cancer pain", "ward"),
    ("hydromorphone", "0.5 mg", "IV push", None, None, "G89.3", "Cancer pain", "ward"),
    ("meropenem", "1 g", "IV", "sodium-chloride-0.9", 100, "N39.0", "Urinary tract infection", "ward"),
    ("acyclovir", "5 mg/kg", "IV", "dextrose-5", 250, "B02.9", "Zoster", "center"),
    ("ferric-carboxymaltose", "750 mg", "IV", "sodium-chloride-0.9", 250, "D50.9", "Iron deficiency anemia", "home"),
    ("cefazolin", "2 g", "IV", "sodium-chloride-0.9", 100, "M86.10", "Osteomyelitis", "center"),
)


def load_orders_demo(seed: int = 11) -> None:
    if Patient.objects.exists():
        return
    if not Regimen.objects.exists():
        load_regimens(actor=None)
    rng = random.Random(seed)  # noqa: S311 - demo values, not security
    prescriber = User.objects.get(username="prescriber")
    pharmacist = User.objects.get(username="pharmacist")
    center = Site.objects.get(code="infusion-center")
    ward = Site.objects.get(code="main-pharmacy")
    today = center.today(timezone.now())  # the center's calendar, not the server's
    plans = []
    for n, (regimen, code, text, sex) in enumerate(PLANS):
        patient = _patient(
            prescriber, center, n, sex, rng, CareSetting.INFUSION_CENTER, code, text, low_counts=n % 5 == 4
        )
        if n == 3:
            charts.record_allergy(
                patient.pk,
                actor=prescriber,
                substance="platinum",
                is_class=True,
                severity="moderate",
                reaction="flushing",
            )
        plans.append(
            services.create_treatment_plan(
                patient.pk, actor=prescriber, regimen_key=regimen, start_date=today, cycles=2, indication_code=code
            )
        )
    singles = []
    for n, (drug, dose, route, diluent, volume, code, text, setting) in enumerate(SINGLE):
        site = {"home": center, "center": center, "ward": ward}[setting]
        care = {"home": CareSetting.HOME, "center": CareSetting.INFUSION_CENTER, "ward": CareSetting.INPATIENT}[setting]
        patient = _patient(prescriber, site, 100 + n, "FM"[n % 2], rng, care, code, text, low_counts=False)
        start = timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=1 + n % 8)
        singles.append(
            services.create_order(
                patient.pk,
                actor=prescriber,
                drug_key=drug,
                dose=dose,
                route=route,
                planned_start=start,
                diluent_key=diluent,
                volume_ml=Decimal(volume) if volume else None,
                duration_minutes=60 if volume else None,
                indication_code=code,
            )
        )
    for plan in plans:
        services.submit_cycle(plan.pk, actor=prescriber, cycle=1)
    for order in singles[:-3]:
        services.submit_order(order.pk, actor=prescriber, expected_version=order.version)
    _verify_some(pharmacist)
    _left_for_the_pharmacist(prescriber, center, rng)


def _left_for_the_pharmacist(prescriber: User, site: Site, rng: random.Random) -> None:
    """A new colon-cancer referral with no plan yet (the prescriber starts one), and a submitted
    order over its maximum single dose (the pharmacist must return it)."""
    _patient(
        prescriber,
        site,
        60,
        "F",
        rng,
        CareSetting.INFUSION_CENTER,
        "C18.7",
        "Malignant neoplasm of sigmoid colon",
        low_counts=False,
    )
    lymphoma = _patient(
        prescriber,
        site,
        61,
        "M",
        rng,
        CareSetting.INFUSION_CENTER,
        "C83.3",
        "Diffuse large B-cell lymphoma",
        low_counts=False,
    )
    slip = services.create_order(
        lymphoma.pk,
        actor=prescriber,
        drug_key="vincristine",
        dose="2.8 mg",
        route="IV",
        planned_start=timezone.now().replace(minute=0, second=0, microsecond=0) + dt.timedelta(hours=2),
        diluent_key="sodium-chloride-0.9",
        volume_ml=Decimal(50),
        duration_minutes=10,
        indication_code="C83.3",
        note="1.4 mg/m2 — check against the 2 mg cap",
    )
    services.submit_order(slip.pk, actor=prescriber, expected_version=slip.version)


def _patient(
    actor: User, site: Site, n: int, sex: str, rng: random.Random, care: str, code: str, text: str, *, low_counts: bool
) -> Patient:
    patient = charts.create_patient(
        actor=actor,
        site_id=site.pk,
        mrn=f"MRN{40000 + n}",
        family_name=FAMILY[n % len(FAMILY)],
        given_name=GIVEN[(n // len(FAMILY) + n * 7) % len(GIVEN)],  # no two demo patients share a name
        birth_date=dt.date(1940 + n % 45, 1 + n % 12, 1 + n % 27),
        sex=sex,
        care_setting=care,
        ward="4 West" if care == CareSetting.INPATIENT else "",
        bed=str(10 + n % 20) if care == CareSetting.INPATIENT else "",
        home_address=f"{12 + n} Lake Road, Lakeside" if care == CareSetting.HOME else "",
    )
    taken = timezone.now() - dt.timedelta(days=1)
    height = rng.randint(152, 190) if sex == "M" else rng.randint(150, 178)
    charts.record_measurement(patient.pk, actor=actor, kind="height", text=f"{height} cm", taken_at=taken)
    weight = Decimal(rng.randint(520, 1050)) / 10
    charts.record_measurement(patient.pk, actor=actor, kind="weight", text=f"{weight} kg", taken_at=taken)
    anc = "1.1" if low_counts else str(Decimal(rng.randint(18, 60)) / 10)
    platelets = "62" if low_counts else str(rng.randint(140, 380))
    for test, value, unit in (
        ("anc", anc, "10^9/L"),
        ("platelets", platelets, "10^9/L"),
        ("hemoglobin", str(Decimal(rng.randint(98, 150)) / 10), "g/dL"),
        ("scr", str(Decimal(rng.randint(6, 14)) / 10), "mg/dL"),
        ("bilirubin", str(Decimal(rng.randint(3, 12)) / 10), "mg/dL"),
        ("ast", str(rng.randint(12, 45)), "units/L"),
        ("alt", str(rng.randint(10, 45)), "units/L"),
    ):
        for days_ago in (43, 22, 1):
            jitter = Decimal(rng.randint(90, 110)) / 100 if days_ago > 1 else Decimal(1)
            charts.record_lab(
                patient.pk,
                actor=actor,
                test=test,
                value=str((Decimal(value) * jitter).quantize(Decimal("0.1"))),
                unit=unit,
                taken_at=timezone.now() - dt.timedelta(days=days_ago),
                source="demo lab",
            )
    charts.record_diagnosis(patient.pk, actor=actor, code=code, text=text)
    return patient


def _verify_some(pharmacist: User) -> None:
    """Leave the day with orders in every state: verified (with overrides), returned, on hold, cancelled."""
    submitted = list(Order.objects.filter(status=OrderStatus.SUBMITTED).order_by("planned_start", "id"))
    for n, order in enumerate(submitted):
        review = services.review(order)
        if review.hard_stops or n % 4 == 1:
            services.return_order(
                order.pk,
                actor=pharmacist,
                expected_version=order.version,
                reason=review.hard_stops[0].message
                if review.hard_stops
                else "Please confirm the dose against the latest weight.",
            )
        elif n % 9 == 2:
            services.hold_order(
                order.pk, actor=pharmacist, expected_version=order.version, reason="Waiting for today's CBC."
            )
        elif n % 3 == 0:
            overrides = {f.code.value: "Reviewed with the prescriber (demo)." for f in review.warnings}
            services.verify_order(
                order.pk, actor=pharmacist, expected_version=order.version, password=DEMO_PASSWORD, overrides=overrides
            )
    for order in Order.objects.filter(status=OrderStatus.DRAFT, plan__isnull=True)[:1]:
        services.cancel_order(
            order.pk,
            actor=User.objects.get(username="prescriber"),
            expected_version=order.version,
            reason="Changed to oral therapy.",
        )
