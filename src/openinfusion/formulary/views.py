"""Formulary browser and drug detail."""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from openinfusion.accounts.access import requires
from openinfusion.accounts.permissions import Action
from openinfusion.errors import NotFound
from openinfusion.formulary.models import Category, Drug


@requires(Action.VIEW_FORMULARY)
def browser(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    category = request.GET.get("category", "")
    drugs = Drug.objects.annotate(product_count=Count("products", filter=Q(products__active=True)))
    if query:
        digits = "".join(ch for ch in query if ch.isdigit())
        match = Q(generic_name__icontains=query) | Q(tall_man__icontains=query) | Q(drug_class__icontains=query)
        if len(digits) >= 4:
            match |= Q(products__ndc11__contains=digits)
        drugs = drugs.filter(match).distinct()
    if category:
        drugs = drugs.filter(category=category)
    context = {"drugs": drugs, "query": query, "category": category, "categories": Category.choices}
    template = "formulary/_drugs.html" if request.htmx else "formulary/browser.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@requires(Action.VIEW_FORMULARY)
def drug_detail(request: HttpRequest, key: str) -> HttpResponse:
    drug = Drug.objects.filter(key=key).first()
    if drug is None:
        raise NotFound(f"No drug {key!r} in the formulary.")
    products = drug.products.filter(active=True)
    return render(request, "formulary/drug.html", {"drug": drug, "products": products})
