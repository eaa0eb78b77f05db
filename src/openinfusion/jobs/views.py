"""The progress of a job, refreshed by htmx until it finishes, then its result in place."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from openinfusion.accounts.access import requires, signed_in
from openinfusion.accounts.permissions import Action
from openinfusion.jobs.services import job_for


@requires(Action.SIGNED_IN)
def progress(request: HttpRequest, job_id: int) -> HttpResponse:
    job = job_for(job_id, viewer=signed_in(request))
    return render(request, "jobs/_progress.html", {"job": job})
