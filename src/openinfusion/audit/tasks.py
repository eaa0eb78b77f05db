"""Audit work that runs on the worker: checking the whole chain takes minutes at millions of events."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from openinfusion.audit.verify import verify_chain
from openinfusion.jobs.services import run_job


@task()
def verify_audit_chain(job_id: int) -> dict[str, Any] | None:
    return run_job(job_id, lambda progress: verify_chain(progress=progress).as_dict())
