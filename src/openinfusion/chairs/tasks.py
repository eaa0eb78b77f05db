"""Scheduling work that runs on the worker: planning a week solves up to seven days, 5 s each."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django_tasks import task

from openinfusion.accounts.models import User
from openinfusion.chairs import services
from openinfusion.jobs.services import Progress, run_job


@task()
def plan_week(job_id: int, site_id: int, first_day: str, actor_id: int) -> dict[str, Any] | None:
    """Plan the seven days from ``first_day`` as the person who asked (their rights are checked
    again here, when the work runs)."""
    actor = User.objects.get(pk=actor_id)

    def work(progress: Progress) -> dict[str, Any]:
        outcomes = services.plan_week(site_id, dt.date.fromisoformat(first_day), actor=actor, progress=progress)
        return {
            "days": [
                {"date": o.date.isoformat(), "day": f"{o.date:%a %d %b}", "status": o.status, "refusal": o.refusal}
                for o in outcomes
            ]
        }

    return run_job(job_id, work)
