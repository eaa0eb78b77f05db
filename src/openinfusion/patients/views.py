"""Patient list and chart: measurements, labs with trends, allergies, plans, orders, cumulative doses."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.permissions import Action
from openinfusion.errors import DomainError
from openinfusion.formulary.models import Category, Drug
from openinfusion.orders.models import ROUTES, Regimen
from openinfusion.patients import services
from openinfusion.patients.models import Lab, LabResult, Patient
from openinfusion.web import fields
from openinfusion.web.charts import trend_svg

TRENDS = ((Lab.ANC, "ANC", Decimal("1.5")), (Lab.PLATELETS, "Platelets", Decimal(100)), (Lab.SCR, "Creatinine", None))


@requires(Action.VIEW_PATIENTS)
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    patients = Patient.objects.filter(site__in=signed_in(request).site_ids()).select_related("site")
    if query:
        patients = patients.filter(
            Q(mrn__iexact=query) | Q(family_name__icontains=query) | Q(given_name__icontains=query)
        )
    return render(request, "patients/list.html", {"patients": patients[:200], "query": query})


@requires(Action.VIEW_PATIENTS)
def chart(request: HttpRequest, patient_id: int) -> HttpResponse:
    return chart_page(request, patient_id)


def chart_page(request: HttpRequest, patient_id: int, *, status: int = 200, **refused: Any) -> HttpResponse:
    """The chart; a form refused elsewhere (an order, a plan) comes back here with what was typed
    and why it was refused, so nothing typed is lost."""
    patient = services.patient_for(signed_in(request), patient_id)
    now = timezone.now()
    today = patient.site.today(now)
    labs = LabResult.objects.current().filter(patient=patient).order_by("taken_at")
    trends = [
        trend_svg(
            title,
            [(lab.taken_at, lab.value) for lab in labs if lab.test == test],
            next((lab.unit for lab in labs if lab.test == test), ""),
            hold,
        )
        for test, title, hold in TRENDS
    ]
    diagnoses = list(patient.diagnoses.all())
    drugs = list(Drug.objects.only("key", "generic_name", "tall_man", "category", "dose_basis"))
    context = {
        "patient": patient,
        "age": patient.age_on(today),
        "height": services.current_measurement(patient, "height"),
        "weight": services.current_measurement(patient, "weight"),
        "measurements": patient.measurements.select_related("recorded_by")[:12],
        "labs": services.latest_labs(patient).values(),
        "trends": trends,
        "diagnoses": diagnoses,
        "indication": diagnoses[0].code if diagnoses else "",
        "plans": patient.plans.select_related("regimen"),
        "orders": patient.orders.select_related("drug", "diluent", "site").order_by("-planned_start")[:40],
        "regimens": Regimen.objects.all(),
        "routes": ROUTES,
        "drugs": [d for d in drugs if d.category != Category.BASE_SOLUTION],
        "diluents": [d for d in drugs if d.category == Category.BASE_SOLUTION],
        "lab_tests": Lab.choices,
        "today": today,
        "next_hour": f"{(now.astimezone(patient.site.zone) + dt.timedelta(hours=1)):%H:00}",
        **refused,
    }
    return render(request, "patients/chart.html", context, status=status)


@requires(Action.MANAGE_PATIENTS, methods=("POST",))
def diagnosis(request: HttpRequest, patient_id: int) -> HttpResponse:
    try:
        row = services.record_diagnosis(
            patient_id, actor=signed_in(request), code=request.POST.get("code", ""), text=request.POST.get("text", "")
        )
    except DomainError as error:
        messages.error(request, f"Diagnosis not recorded — {error.message}")
    else:
        messages.success(request, f"Diagnosis recorded: {row}.")
    return redirect("patients:chart", patient_id=patient_id)


@requires(Action.RECORD_OBSERVATIONS, methods=("POST",))
def record(request: HttpRequest, patient_id: int, what: str) -> HttpResponse:
    """One form per record kind on the chart. Saved: back to the chart with what was saved. Refused:
    the chart again with the reason beside the form and what was typed still in it (and, for a
    probable slip, the box to confirm a re-measured value)."""
    me, data = signed_in(request), request.POST
    row: object
    try:
        site = services.patient_for(me, patient_id).site
        if what == "measurement":
            row = services.record_measurement(
                patient_id,
                actor=me,
                kind=data.get("kind", ""),
                text=data.get("value", ""),
                taken_at=fields.site_datetime(site, data.get("taken_at"), "Taken"),
                confirm_unusual=data.get("confirm") == "on",
            )
        elif what == "lab":
            row = services.record_lab(
                patient_id,
                actor=me,
                test=data.get("test", ""),
                value=data.get("value", ""),
                unit=data.get("unit", ""),
                taken_at=fields.site_datetime(site, data.get("taken_at"), "Taken"),
            )
        else:
            row = services.record_allergy(
                patient_id,
                actor=me,
                substance=data.get("substance", ""),
                severity=data.get("severity", ""),
                reaction=data.get("reaction", ""),
                is_class=data.get("is_class") == "on",
            )
    except DomainError as error:
        return chart_page(request, patient_id, status=error.status, **{f"{what}_form": data, f"{what}_error": error})
    messages.success(request, f"Saved: {row}.")
    return redirect("patients:chart", patient_id=patient_id)
