"""Long work leaves the request: the job is queued with its task in one transaction, the real
worker (django-tasks' database worker, ``openinfusion worker --batch``) runs it, and the person who
asked watches its progress and sees the result in place."""

from __future__ import annotations

import pytest
from django_tasks_db.models import DBTaskResult

from openinfusion.audit.services import record
from openinfusion.audit.tasks import verify_audit_chain
from openinfusion.audit.verify import verify_chain
from openinfusion.cli import main
from openinfusion.jobs.models import Job
from openinfusion.jobs.services import start_job

pytestmark = pytest.mark.django_db


def chain_check(actor) -> Job:
    return start_job(
        verify_audit_chain,
        actor=actor,
        kind="audit_verify",
        title="Checking the audit chain",
        result_template="audit/_chain.html",
    )


# The worker commits and closes connections as in production, so these tests commit too.
@pytest.mark.django_db(transaction=True)
def test_a_chain_check_is_queued_then_run_by_the_worker_and_its_result_shown(committed_db, quality, client_for):
    for n in range(12):
        record("test:event:made", actor=None, entity_type="test", entity_id=str(n))
    job = chain_check(quality)
    assert DBTaskResult.objects.filter(status="READY").count() == 1
    client = client_for(quality)
    waiting = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "waiting for the worker" in waiting and 'hx-trigger="every 1s"' in waiting

    assert main(["worker", "--batch"]) == 0

    job.refresh_from_db()
    assert job.status == "done" and job.result["intact"] and job.result["count"] == verify_chain().count
    assert (job.done, job.total) == (job.result["count"], job.result["count"])
    shown = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f"all {job.result['count']} events verified" in shown
    assert "hx-trigger" not in shown  # finished: the page stops asking


def test_progress_is_told_in_batches_up_to_the_total(quality):
    for n in range(7):
        record("test:event:made", actor=None, entity_type="test", entity_id=str(n))
    heard: list[tuple[int, int]] = []
    report = verify_chain(batch_size=3, progress=lambda done, total: heard.append((done, total)))
    assert heard[-1] == (report.count, report.count)
    assert [done for done, _ in heard] == sorted(done for done, _ in heard)
    assert all(done <= total for done, total in heard) and len(heard) >= report.count // 3


def test_a_job_is_seen_only_by_the_person_who_asked(quality, admin, client_for):
    job = chain_check(quality)
    assert client_for(admin).get(f"/jobs/{job.pk}/").status_code == 404
    assert client_for(quality).get(f"/jobs/{job.pk}/").status_code == 200


@pytest.mark.django_db(transaction=True)
def test_a_broken_chain_is_a_result_shown_in_place(committed_db, quality, client_for, tamper):
    record("test:event:made", actor=None, entity_type="test", entity_id="1")
    client = client_for(quality)
    job = chain_check(quality)
    tamper("UPDATE audit_auditevent SET hash = 'x' WHERE id = 1")
    assert main(["worker", "--batch"]) == 0
    job.refresh_from_db()
    assert job.status == "done" and job.result["intact"] is False
    shown = client.get(f"/jobs/{job.pk}/")
    assert "Chain broken at event 1" in shown.content.decode(), shown.content.decode()


def test_work_that_crashes_marks_its_job_failed_with_the_reason(quality, client_for):
    from openinfusion.jobs.services import run_job

    job = chain_check(quality)

    def crash(progress):
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        run_job(job.pk, crash)
    job.refresh_from_db()
    assert job.status == "failed" and job.error == "RuntimeError: disk full" and job.finished_at
    assert "failed: RuntimeError: disk full" in client_for(quality).get(f"/jobs/{job.pk}/").content.decode()
