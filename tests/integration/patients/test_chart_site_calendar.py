"""The chart tells age and today's date by the patient's site's calendar, not the server's (UTC)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.clock_at("2026-05-04T02:00:00+00:00")  # 22:00 on 3 May in New York, the site's zone
def test_the_chart_tells_age_and_today_on_the_sites_calendar(patient, prescriber, client_for):
    """Born 4 May 1966: still 59 on the evening of 3 May in New York, though UTC is already on the 4th."""
    page = client_for(prescriber).get(f"/patients/{patient.pk}/").content.decode()
    assert "· 59 y ·" in page
    assert 'value="2026-05-03"' in page  # a new plan starts today, the site's today


@pytest.mark.clock_at("2026-06-10T00:30:00+00:00")  # 20:30 on 9 June in New York, the site's zone
def test_a_birth_date_after_the_sites_today_is_refused(prescriber, site, client_for):
    """Born “10 June” is tomorrow in New York, though UTC already reads the 10th: refused."""
    from openinfusion.patients.models import Patient

    response = client_for(prescriber).post(
        "/api/v1/patients",
        {
            "site_id": site.pk,
            "mrn": "NEW-1",
            "family_name": "New",
            "given_name": "Bo",
            "birth_date": "2026-06-10",
            "sex": "M",
        },
        content_type="application/json",
    )
    assert response.status_code == 422, response.content
    assert response.json()["code"] == "FUTURE_DATE" and "2026-06-09" in response.json()["message"]
    assert not Patient.objects.exists()
