"""Inventory screens: stock by location, receive (scanner-first), lot detail with its ledger,
expiring, recall with its trace, reorder and purchase orders. Views parse, call a service, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.permissions import Action, is_allowed
from openinfusion.errors import DomainError
from openinfusion.inventory import barcodes, purchasing, queries, scanning, services
from openinfusion.inventory.models import Location, Lot, PurchaseOrder
from openinfusion.patients.models import Patient
from openinfusion.web import fields


def _locations(request: HttpRequest) -> list[Location]:
    return list(Location.objects.filter(site__in=signed_in(request).site_ids(), active=True).select_related("site"))


@requires(Action.VIEW_STOCK)
def stock(request: HttpRequest) -> HttpResponse:
    location_id = request.GET.get("location")
    balances = queries.stock_on_hand(signed_in(request).site_ids(), int(location_id) if location_id else None)
    context = {
        "balances": balances,
        "locations": _locations(request),
        "today": timezone.localdate(),
        "selected": location_id,
    }
    return render(request, "inventory/stock.html", context)


@requires(Action.RECEIVE_STOCK, methods=("GET", "POST"))
def receive(request: HttpRequest) -> HttpResponse:
    result: dict[str, Any] = {}
    if request.method == "POST":
        try:
            package = _package(request)
            receipt = services.receive_stock(
                actor=signed_in(request),
                package=package,
                location_id=fields.required_whole(request.POST.get("location"), "Location"),
                quantity=fields.required_whole(request.POST.get("quantity"), "Quantity"),
                reason=request.POST.get("reason", ""),
            )
        except DomainError as error:
            result = {"error": error}
        else:
            result = {"receipt": receipt}
    context = {
        "locations": _locations(request),
        "result": result,
        "last_location": request.POST.get("location"),
        "today": timezone.localdate(),
    }
    template = "inventory/_receive_result.html" if request.htmx else "inventory/receive.html"  # type: ignore[attr-defined]
    status = 200 if not result.get("error") else result["error"].status
    return render(request, template, context, status=status if not request.htmx else 200)  # type: ignore[attr-defined]


def _package(request: HttpRequest) -> scanning.PackageEntry:
    return scanning.PackageEntry(
        scan=request.POST.get("scan", ""),
        ndc=request.POST.get("ndc", ""),
        lot=request.POST.get("lot", ""),
        expiry=request.POST.get("expiry", ""),
    )


@requires(Action.VIEW_STOCK, methods=("GET",))
def lot_detail(request: HttpRequest, lot_id: int) -> HttpResponse:
    lot = services.lot_for(signed_in(request), lot_id)
    return render(request, "inventory/lot.html", _lot_context(request, lot))


def _lot_context(request: HttpRequest, lot: Lot) -> dict[str, Any]:
    site_ids = signed_in(request).site_ids()
    return {
        "lot": lot,
        "status": lot.effective_status(timezone.localdate()),
        "balances": lot.balances.filter(location__site__in=site_ids, quantity__gt=0).select_related("location"),
        "movements": lot.movements.filter(location__site__in=site_ids).select_related("location", "actor"),
        "trace": queries.trace_lot(lot, site_ids),
        "locations": _locations(request),
    }


@requires(Action.QUARANTINE_LOT, methods=("POST",))
def quarantine(request: HttpRequest, lot_id: int) -> HttpResponse:
    try:
        services.quarantine_lot(
            lot_id,
            actor=signed_in(request),
            reason=request.POST.get("reason", ""),
            recall=request.POST.get("recall") == "on",
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Lot blocked: it can no longer be received, picked or used.")
    return redirect("inventory:lot", lot_id=lot_id)


@requires(Action.WASTE_STOCK, methods=("POST",))
def waste(request: HttpRequest, lot_id: int) -> HttpResponse:
    try:
        services.waste_stock(
            lot_id,
            actor=signed_in(request),
            location_id=fields.required_whole(request.POST.get("location"), "Location"),
            quantity=fields.required_whole(request.POST.get("quantity"), "Quantity"),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Waste recorded.")
    return redirect("inventory:lot", lot_id=lot_id)


@requires(Action.MOVE_STOCK, methods=("POST",))
def transfer(request: HttpRequest, lot_id: int) -> HttpResponse:
    """Move packages of a lot, e.g. from the store into the clean room a dose is made in; ``next``
    (a path of this site) brings the person back to the screen that suggested the move."""
    me, data = signed_in(request), request.POST
    try:
        out, _ = services.transfer_stock(
            lot_id,
            actor=me,
            from_location_id=fields.required_whole(data.get("from_location"), "From"),
            to_location_id=fields.required_whole(data.get("to_location"), "To"),
            quantity=fields.required_whole(data.get("quantity"), "Quantity"),
            reason=data.get("reason", "").strip(),
        )
    except DomainError as error:
        messages.error(request, f"Not moved — {error.message}")
    else:
        messages.success(request, f"Moved {-out.quantity} of lot {out.lot.lot_number} from {out.location.name}.")
    back = data.get("next", "")
    if back.startswith("/") and url_has_allowed_host_and_scheme(back, allowed_hosts=None):
        return redirect(back)
    return redirect("inventory:lot", lot_id=lot_id)


@requires(Action.VIEW_STOCK)
def restock(request: HttpRequest) -> HttpResponse:
    """Each clean room and satellite below its par level, with the lots to bring from the store."""
    lines = queries.room_restock(signed_in(request).site_ids(), timezone.localdate())
    return render(request, "inventory/restock.html", {"lines": lines})


@requires(Action.VIEW_STOCK)
def barcode_sheet(request: HttpRequest) -> HttpResponse:
    """A PDF of DataMatrix codes to scan off paper or the screen: one package of each usable lot on
    hand at the person's sites and, for those who see patients, the wristbands of their patients."""
    me = signed_in(request)
    today = timezone.localdate()  # the person's home site's date (the zone of the request)
    lots = (
        Lot.objects.filter(balances__location__site__in=me.site_ids(), balances__quantity__gt=0, status="available")
        .filter(expiry__gte=today)
        .select_related("product__drug")
        .distinct()
        .order_by("product__drug__generic_name", "expiry")[:SHEET_LOTS]
    )
    codes = [barcodes.package_code(lot) for lot in lots]
    if is_allowed(me.role_codes(), Action.VIEW_PATIENTS):
        patients = Patient.objects.filter(site__in=me.site_ids()).order_by("mrn")[:SHEET_WRISTBANDS]
        codes += [barcodes.wristband_code(p.mrn, f"{p.family_name.upper()}, {p.given_name}") for p in patients]
    pdf = barcodes.sheet_pdf(codes, "OpenInfusion — codes to scan (packages on hand, wristbands)")
    response = HttpResponse(pdf, content_type="application/pdf")
    response["Content-Disposition"] = 'inline; filename="barcodes.pdf"'
    return response


SHEET_LOTS, SHEET_WRISTBANDS = 36, 24


@requires(Action.TRACE_LOT, methods=("GET",))
def recall(request: HttpRequest) -> HttpResponse:
    """Find a lot by number (or scan) to quarantine and trace it."""
    number = request.GET.get("lot", "").strip()
    if number.startswith("01") and len(number) > 20:
        try:
            number = scanning.from_scan(number).lot
        except DomainError as error:
            messages.error(request, error.message)
            number = ""
    site_ids = signed_in(request).site_ids()
    lots: list[Lot] = (
        list(
            Lot.objects.filter(lot_number__iexact=number, movements__location__site__in=site_ids)
            .distinct()
            .select_related("product__drug")
        )
        if number
        else []
    )
    if number and len(lots) == 1:
        return redirect("inventory:lot", lot_id=lots[0].pk)
    return render(request, "inventory/recall.html", {"lots": lots, "number": number})


@requires(Action.VIEW_STOCK)
def expiring(request: HttpRequest) -> HttpResponse:
    days = request.GET.get("days", "30")
    window = int(days) if days in {"30", "60", "90"} else 30
    today = timezone.localdate()
    rows = queries.expiring(signed_in(request).site_ids(), today, window)
    return render(request, "inventory/expiring.html", {"balances": rows, "days": window, "today": today})


@requires(Action.MANAGE_PURCHASING, methods=("GET", "POST"))
def reorder(request: HttpRequest) -> HttpResponse:
    site_ids = signed_in(request).site_ids()
    suggestions = purchasing.reorder_suggestions(site_ids, timezone.localdate())
    if request.method == "POST":
        supplier_id = fields.required_whole(request.POST.get("supplier"), "Supplier")
        chosen = [s for supplier, rows in suggestions.items() if supplier.pk == supplier_id for s in rows]
        by_location: dict[int, dict[int, int]] = {}
        for s in chosen:
            by_location.setdefault(s.par_level.location_id, {})[s.par_level.product_id] = s.quantity
        try:
            for location_id, lines in by_location.items():
                purchasing.create_purchase_order(
                    actor=signed_in(request),
                    supplier_id=supplier_id,
                    location_id=location_id,
                    lines=lines,
                )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Draft purchase order created from the suggestions.")
        return redirect("inventory:purchase_orders")
    return render(request, "inventory/reorder.html", {"suggestions": suggestions})


@requires(Action.MANAGE_PURCHASING)
def purchase_orders(request: HttpRequest) -> HttpResponse:
    orders = (
        PurchaseOrder.objects.filter(site__in=signed_in(request).site_ids())
        .select_related("supplier", "location")
        .prefetch_related("lines__product__drug")
    )
    return render(request, "inventory/purchase_orders.html", {"orders": orders})


@requires(Action.MANAGE_PURCHASING, methods=("POST",))
def purchase_order_action(request: HttpRequest, order_id: int, verb: str) -> HttpResponse:
    version = fields.required_whole(request.POST.get("version"), "Version")
    try:
        if verb == "send":
            purchasing.send_purchase_order(order_id, actor=signed_in(request), expected_version=version)
        elif verb == "cancel":
            purchasing.cancel_purchase_order(
                order_id,
                actor=signed_in(request),
                expected_version=version,
                reason=request.POST.get("reason", ""),
            )
    except DomainError as error:
        messages.error(request, error.message)
    return redirect(reverse("inventory:purchase_orders"))
