"""The audit report screen and CSV export (ONC 170.315(d)(3); OWASP ASVS 4.0.3 7.3.2)."""

from __future__ import annotations

import csv
import io

import pytest
from django.db import transaction

from openinfusion.audit.services import record

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(pharmacist, quality, site, other_site):
    with transaction.atomic():
        record("tests:dose:changed", actor=pharmacist, site=site, patient_id="P-1", reason='=HYPERLINK("x")')
        record("tests:dose:changed", actor=quality, site=site, patient_id="P-2", reason="ordinary")
        record("tests:dose:changed", actor=None, site=other_site, patient_id="P-SOUTH", reason="other site")


def test_quality_sees_events_of_their_site_but_not_another_sites(history, quality, client_for):
    body = client_for(quality).get("/audit/").content.decode()
    assert "P-1" in body and "P-2" in body
    assert "P-SOUTH" not in body


@pytest.mark.parametrize(
    ("query", "present", "absent"),
    [
        ("user=pharmacist", "P-1", "P-2"),
        ("patient=P-2", "P-2", "P-1"),
        ("action=tests:dose", "P-1", "accounts:session:signed_in"),
        ("since=2000-01-01&until=2001-01-01", "No events match", "P-1"),
    ],
)
def test_filters_narrow_the_report(history, quality, client_for, query, present, absent):
    body = client_for(quality).get(f"/audit/?{query}").content.decode()
    assert present in body and absent not in body


def test_a_bad_date_filter_says_what_to_type(history, quality, client_for):
    body = client_for(quality).get("/audit/?since=yesterday").content.decode()
    assert "use dates like 2026-11-22" in body


def test_htmx_requests_get_only_the_table(history, quality, client_for):
    body = client_for(quality).get("/audit/?user=pharmacist", HTTP_HX_REQUEST="true").content.decode()
    assert "<table" in body and "<html" not in body


def test_csv_export_neutralises_formulas_and_respects_sites(history, quality, client_for):
    response = client_for(quality).get("/audit/export.csv?action=tests:")
    assert response["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["patient_id"] for r in rows] == ["P-1", "P-2"]
    assert rows[0]["reason"].startswith("'=")


def test_the_csv_export_runs_the_same_few_queries_however_many_events_it_holds(history, quality, client_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from openinfusion.audit.services import record

    client = client_for(quality)
    client.get("/audit/")  # the first request of a session may renew it

    def export_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            b"".join(client.get("/audit/export.csv").streaming_content)
        return len(queries)

    few = export_queries()
    site = quality.sites.first()
    for n in range(40):
        record("tests:export:row", actor=None, entity_type="test", entity_id=str(n), site=site)
    assert export_queries() == few


def test_the_chain_check_button_queues_the_check_for_the_worker_and_shows_its_progress(history, quality, client_for):
    """The check itself runs on the worker (tests/integration/test_jobs.py runs it to the result)."""
    from openinfusion.jobs.models import Job

    body = client_for(quality).post("/audit/verify").content.decode()
    job = Job.objects.get()
    assert (job.kind, job.requested_by, job.status) == ("audit_verify", quality, "queued")
    assert f'hx-get="/jobs/{job.pk}/"' in body and "<progress" in body


def test_api_hides_another_sites_event_as_not_found(history, quality, client_for):
    from openinfusion.audit.models import AuditEvent

    south = AuditEvent.objects.get(patient_id="P-SOUTH")
    response = client_for(quality).get(f"/api/v1/audit/events/{south.pk}")
    assert response.status_code == 404
    own = AuditEvent.objects.get(patient_id="P-1")
    assert client_for(quality).get(f"/api/v1/audit/events/{own.pk}").json()["patient_id"] == "P-1"
