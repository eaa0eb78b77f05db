"""Compounding screens: the work queue, one preparation step by step (scanner-first), open vials,
the final-check queue and review, and the label preview."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.permissions import Action
from openinfusion.compounding import documents, queries, services
from openinfusion.compounding import recipes as recipes_service
from openinfusion.compounding.models import Photo, Preparation, PreparationStatus, Recipe
from openinfusion.errors import DomainError, NotFound
from openinfusion.formulary.models import Drug
from openinfusion.inventory import scanning
from openinfusion.inventory.models import LocationKind
from openinfusion.orders.services import QUEUE_ORDER
from openinfusion.paging import QUEUE_PAGE, capped_count, page_of
from openinfusion.web.live import page_or_part
from openinfusion.web.pager import position

ROOMS = {"hazardous": LocationKind.HAZARDOUS_BUFFER, "sterile": LocationKind.CLEAN_ROOM}


@requires(Action.VIEW_PREPARATIONS)
def work_queue(request: HttpRequest) -> HttpResponse:
    """What to make, the earliest needed first, and the verified orders still to plan: a page of
    each, "Later" pages on (each list keeps its own place)."""
    me = signed_in(request)
    room = request.GET.get("room", "")
    services.expire_open_vials(actor=me)
    at, plan_at = position(request, "after"), position(request, "plan_after")
    queued = queries.queued(me, ROOMS.get(room))
    page = queries.work_queue(me, ROOMS.get(room), after=at.cursor)
    to_plan = page_of(queries.to_plan(me), QUEUE_ORDER, cursor=plan_at.cursor, size=QUEUE_PAGE)
    context = {
        "page": page,
        "preparations": page.rows,
        "to_make": capped_count(queued),
        "at": at,
        "to_plan": to_plan,
        "plan_at": plan_at,
        "room": room,
    }
    return page_or_part(request, "compounding/queue.html", "compounding/_queue.html", context)


def _act(request: HttpRequest, preparation_id: int, action: Any, success: str) -> HttpResponse:
    try:
        action()
    except DomainError as error:
        messages.error(request, f"{error.code}: {error.message}")
    else:
        messages.success(request, success)
    return redirect("compounding:preparation", preparation_id=preparation_id)


@requires(Action.PLAN_PREPARATIONS, methods=("POST",))
def plan(request: HttpRequest, order_id: int) -> HttpResponse:
    try:
        preparation = services.plan_preparation(order_id, actor=signed_in(request))
    except DomainError as error:
        messages.error(request, f"{error.code}: {error.message}")
        return redirect("compounding:queue")
    messages.success(request, f"Planned {preparation.barcode}.")
    return redirect("compounding:preparation", preparation_id=preparation.pk)


@requires(Action.RELEASE_TO_COMPOUND, methods=("POST",))
def release(request: HttpRequest, preparation_id: int) -> HttpResponse:
    me, reason = signed_in(request), request.POST.get("reason", "")
    return _act(
        request,
        preparation_id,
        lambda: services.release_to_compound(preparation_id, actor=me, reason=reason),
        "Released to compound.",
    )


@requires(Action.COMPOUND, methods=("POST",))
def start(request: HttpRequest, preparation_id: int) -> HttpResponse:
    me = signed_in(request)
    return _act(request, preparation_id, lambda: services.start_preparation(preparation_id, actor=me), "Started.")


@requires(Action.COMPOUND, methods=("POST",))
def step(request: HttpRequest, preparation_id: int) -> HttpResponse:
    """The one form of the preparation screen: a scan, a weighing or a photo, whichever is next."""
    me, data = signed_in(request), request.POST
    if "scan" in data or "typed_lot" in data:
        typed = scanning.PackageEntry(
            scan=data.get("scan", ""),
            ndc=data.get("typed_code", ""),
            lot=data.get("typed_lot", ""),
            expiry=data.get("typed_expiry", ""),
            serial=data.get("typed_serial", ""),
        )

        def action() -> object:
            return services.record_scan(preparation_id, actor=me, typed=typed)
    elif "photo" in request.FILES:
        upload = request.FILES.get("photo")
        assert upload is not None

        def action() -> object:
            return services.record_photo(preparation_id, actor=me, image=upload.read(), name=upload.name or "photo")
    else:

        def action() -> object:
            return services.record_weighing(
                preparation_id,
                actor=me,
                scale=data.get("scale", ""),
                tare_g=data.get("tare_g", ""),
                gross_g=data.get("gross_g", ""),
            )

    return _act(request, preparation_id, action, "Step recorded.")


@requires(Action.COMPOUND, methods=("POST",))
def complete(request: HttpRequest, preparation_id: int) -> HttpResponse:
    me, keep = signed_in(request), request.POST.get("keep_open_vials") == "on"
    return _act(
        request,
        preparation_id,
        lambda: services.complete_preparation(preparation_id, actor=me, keep_open_vials=keep),
        "Complete: sent to the pharmacist's final check.",
    )


def _context(preparation: Preparation) -> dict[str, Any]:
    steps = list(preparation.steps.select_related("by").order_by("index"))
    plan_steps = preparation.plan["steps"]
    upcoming = (
        plan_steps[len(steps)]
        if preparation.status == PreparationStatus.IN_PROGRESS and len(steps) < len(plan_steps)
        else None
    )
    return {
        "suggested": queries.lots_to_take(preparation, upcoming)[:3] if upcoming else [],
        "p": preparation,
        "plan": preparation.plan,
        "done": steps,
        "next": upcoming,
        "next_number": len(steps) + 1,
        "step_count": len(plan_steps),
        "errors": preparation.intercepted_errors.select_related("by"),
        "photos": preparation.photos.all(),
        "minutes_left": queries.minutes_left(preparation),
        "moves": queries.moves_to_room(preparation) if preparation.status in BEFORE_THE_LAST_SCAN else [],
    }


# While packages are still to be scanned, the screen says what to bring into the room first.
BEFORE_THE_LAST_SCAN = (PreparationStatus.PLANNED, PreparationStatus.IN_PROGRESS)


@requires(Action.VIEW_PREPARATIONS)
def preparation(request: HttpRequest, preparation_id: int) -> HttpResponse:
    item = services.preparation_for(signed_in(request), preparation_id)
    return render(request, "compounding/preparation.html", _context(item))


@requires(Action.VIEW_PREPARATIONS)
def open_vials(request: HttpRequest) -> HttpResponse:
    me = signed_in(request)
    services.expire_open_vials(actor=me)
    return render(request, "compounding/open_vials.html", {"vials": queries.open_vials(me)})


@requires(Action.FINAL_CHECK)
def checks(request: HttpRequest) -> HttpResponse:
    return render(request, "compounding/checks.html", {"preparations": queries.awaiting_check(signed_in(request))})


@requires(Action.FINAL_CHECK, methods=("GET", "POST"))
def check(request: HttpRequest, preparation_id: int) -> HttpResponse:
    me = signed_in(request)
    if request.method == "POST":
        approve = request.POST.get("decision") == "approve"
        try:
            services.final_check(
                preparation_id,
                actor=me,
                approve=approve,
                password=request.POST.get("password", ""),
                reason=request.POST.get("reason", ""),
            )
        except DomainError as error:
            context = _context(services.preparation_for(me, preparation_id)) | {"error": error}
            return render(request, "compounding/check.html", context, status=error.status)
        if approve:
            messages.success(request, "Approved: the label is released.")
            return redirect("compounding:label", preparation_id=preparation_id)
        messages.success(request, "Rejected: the dose is wasted and a new preparation is queued.")
        return redirect("compounding:checks")
    return render(request, "compounding/check.html", _context(services.preparation_for(me, preparation_id)))


@requires(Action.PRINT_LABELS)
def label(request: HttpRequest, preparation_id: int) -> HttpResponse:
    me = signed_in(request)
    item = services.preparation_for(me, preparation_id)
    data, refusal = None, None
    if item.status == PreparationStatus.APPROVED:
        try:
            data = documents.label_data(documents.released(preparation_id, actor=me))
        except DomainError as error:
            refusal = error
    context = {"p": item, "label": data, "released": data is not None, "refusal": refusal}
    return render(request, "compounding/label.html", context, status=refusal.status if refusal else 200)


@requires(Action.VIEW_PREPARATIONS)
def photo(request: HttpRequest, photo_id: int) -> FileResponse:
    me = signed_in(request)
    found = Photo.objects.filter(pk=photo_id, preparation__site__in=me.site_ids()).first()
    if found is None:
        raise NotFound("No such photo at your sites.")
    return FileResponse(found.image.open("rb"), content_type=found.content_type)


@requires(Action.VIEW_PREPARATIONS, methods=("GET", "POST"))
def recipes(request: HttpRequest) -> HttpResponse:
    """Master formulation records with their history; propose a new version, approve one."""
    me = signed_in(request)
    if request.method == "POST":
        try:
            if "approve" in request.POST:
                recipe = recipes_service.approve_recipe(int(request.POST["approve"]), actor=me)
                messages.success(request, f"{recipe} is now the version in use.")
            else:
                recipe = recipes_service.propose_recipe(
                    actor=me,
                    drug_key=request.POST.get("drug", ""),
                    instructions=request.POST.get("instructions", "").splitlines(),
                    change_reason=request.POST.get("reason", ""),
                )
                messages.success(request, f"{recipe} proposed: another pharmacist approves it.")
        except DomainError as error:
            messages.error(request, f"{error.code}: {error.message}")
        return redirect("compounding:recipes")
    context = {
        "recipes": Recipe.objects.select_related("drug", "written_by", "approved_by").order_by(
            "drug__generic_name", "-version"
        ),
        "drugs": Drug.objects.exclude(category="base_solution"),
    }
    return render(request, "compounding/recipes.html", context)
