"""The formulary screens answer for every drug of the starter formulary, whatever its key holds
(``sodium-chloride-0.9`` broke the browser for every role: a dot is not a slug)."""

from __future__ import annotations

import pytest

from openinfusion.formulary.importer import STARTER_FILES, import_formulary
from openinfusion.formulary.models import Drug

pytestmark = pytest.mark.django_db


@pytest.fixture
def starter(db):
    import_formulary(STARTER_FILES, actor=None)


@pytest.mark.parametrize("role", ["pharmacist", "technician", "nurse", "prescriber", "inventory"])
def test_the_formulary_browser_lists_every_drug_and_each_drug_page_opens(starter, make_user, client_for, role):
    client = client_for(make_user(f"a-{role}", role))
    page = client.get("/formulary/")
    assert page.status_code == 200
    keys = list(Drug.objects.values_list("key", flat=True))
    assert "sodium-chloride-0.9" in keys
    for key in keys:
        assert f'href="/formulary/drugs/{key}/"' in page.content.decode()
        assert client.get(f"/formulary/drugs/{key}/").status_code == 200, key


def test_an_unknown_drug_page_is_a_404(starter, pharmacist, client_for):
    assert client_for(pharmacist).get("/formulary/drugs/no-such-drug/").status_code == 404
