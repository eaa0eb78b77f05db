"""The audit report screen: filter by time, user, patient and action; export CSV; check the chain."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from pydantic import ValidationError

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.permissions import Action
from openinfusion.audit.queries import AuditFilter, filtered_events, newest_page
from openinfusion.audit.tasks import verify_audit_chain
from openinfusion.jobs.services import start_job
from openinfusion.web.live import page_or_part
from openinfusion.web.pager import position

CSV_COLUMNS = (
    "id",
    "at",
    "actor_username",
    "site",
    "action",
    "outcome",
    "entity_type",
    "entity_id",
    "patient_id",
    "reason",
    "signature_meaning",
    "request_id",
    "before",
    "after",
    "hash",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
PAGE_SIZE = 50


def _filters(request: HttpRequest) -> tuple[AuditFilter, str | None]:
    raw = {k: v for k, v in request.GET.items() if k in {"since", "until", "user", "patient", "action"} and v}
    try:
        return AuditFilter.model_validate(raw), None
    except ValidationError as error:
        names = [str(e["loc"][0]) for e in error.errors()]
        hint = "use dates like 2026-11-22 or 2026-11-22T08:00" if {"since", "until"} & set(names) else "it is too long"
        return AuditFilter(), f"Could not read {', '.join(names)}: {hint}."


@requires(Action.VIEW_AUDIT)
def report(request: HttpRequest) -> HttpResponse:
    """Newest first, PAGE_SIZE events a page; "Older" continues after the last event shown
    (keyset paging: no count, no offset, the same few queries at any depth)."""
    filters, problem = _filters(request)
    at = position(request, "before")
    page = newest_page(filtered_events(signed_in(request), filters), before=at.cursor, size=PAGE_SIZE)
    context = {
        "page": page,
        "filters": filters,
        "problem": problem or at.problem,
        "query": at.query,
        "paged": at.cursor is not None,
    }
    return page_or_part(request, "audit/report.html", "audit/_events.html", context)


def safe_cell(value: object) -> str:
    """Neutralise spreadsheet formulas (OWASP ASVS 4.0.3 7.3.2 / CSV injection)."""
    text = "" if value is None else str(value)
    if isinstance(value, dt.datetime):
        text = value.astimezone(dt.UTC).isoformat()
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


@requires(Action.EXPORT_AUDIT)
def export_csv(request: HttpRequest) -> StreamingHttpResponse:
    filters, _ = _filters(request)
    events = filtered_events(signed_in(request), filters).order_by("id")
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(CSV_COLUMNS)
        for event in events.iterator(chunk_size=2000):
            yield writer.writerow(
                [
                    safe_cell(event.site.code if event.site else "") if c == "site" else safe_cell(getattr(event, c))
                    for c in CSV_COLUMNS
                ]
            )

    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return StreamingHttpResponse(
        rows(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="openinfusion-audit-{stamp}.csv"'},
    )


@requires(Action.VERIFY_AUDIT_CHAIN, methods=("POST",))
def verify(request: HttpRequest) -> HttpResponse:
    """The whole chain takes minutes at millions of events: the worker checks it while the page
    shows its progress, and the result appears in place."""
    job = start_job(
        verify_audit_chain,
        actor=signed_in(request),
        kind="audit_verify",
        title="Checking the audit chain",
        result_template="audit/_chain.html",
    )
    return render(request, "jobs/_progress.html", {"job": job})
