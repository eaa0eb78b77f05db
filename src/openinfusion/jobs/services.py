"""Start long work on the worker and report how far it got.

A view or API handler calls ``start_job`` and answers at once with the job's progress page; the
worker runs the task, which calls ``run_job`` to mark the job running, pass on progress and keep
the result (or the reason it failed). The job is created and its task enqueued in one
transaction, so work asked for is never lost and never runs before its job exists.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from openinfusion.accounts.models import User
from openinfusion.errors import NotFound
from openinfusion.jobs.models import Job, JobStatus

Progress = Callable[[int, int], None]
PROGRESS_EVERY_SECONDS = 0.5  # how often a running job writes its progress


def start_job(task: Any, *, actor: User, kind: str, title: str, result_template: str, **arguments: Any) -> Job:
    """Create the job the person will watch and enqueue ``task(job_id=..., **arguments)``."""
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            title=title,
            result_template=result_template,
            requested_by=actor,
            requested_at=timezone.now(),
        )
        task.enqueue(job_id=job.pk, **arguments)
    return job


def run_job(job_id: int, work: Callable[[Progress], dict[str, Any]]) -> dict[str, Any] | None:
    """Run ``work`` for the job, with a progress callback; keep its result or its failure."""
    Job.objects.filter(pk=job_id).update(status=JobStatus.RUNNING)
    last_write = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal last_write
        if time.monotonic() - last_write >= PROGRESS_EVERY_SECONDS or done >= total:
            Job.objects.filter(pk=job_id).update(done=done, total=total)
            last_write = time.monotonic()

    try:
        result = work(progress)
    except Exception as error:
        _finish(job_id, status=JobStatus.FAILED, error=f"{type(error).__name__}: {error}")
        raise
    _finish(job_id, status=JobStatus.DONE, result=result)
    return result


def _finish(job_id: int, *, status: str, result: dict[str, Any] | None = None, error: str = "") -> None:
    finished_at: dt.datetime = timezone.now()
    Job.objects.filter(pk=job_id).update(status=status, result=result, error=error, finished_at=finished_at)


def job_for(job_id: int, *, viewer: User) -> Job:
    """A job is seen only by the person who asked for it."""
    job = Job.objects.filter(pk=job_id, requested_by=viewer).first()
    if job is None:
        raise NotFound("No such job of yours.")
    return job
