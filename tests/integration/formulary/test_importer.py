"""The formulary importer: the bundled starter data loads and re-loads cleanly, a bad row refuses
the whole file (naming file and line) and writes nothing, and look-alike drugs stay apart."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from tests.integration.conftest import gs1

from openinfusion.audit.models import AuditEvent
from openinfusion.clinical import codes
from openinfusion.errors import DomainError
from openinfusion.formulary.importer import STARTER_FILES, import_formulary
from openinfusion.formulary.models import Drug, Product

pytestmark = pytest.mark.django_db

GOOD_DRUG = """\
  - key: test-drug
    generic_name: testamycin
    category: antibiotic
    routes_allowed: [IV]
"""

GOOD_PRODUCT = """\
  - drug: test-drug
    ndc: 99999-301-01
    labeler: Test Labs
    strength: {amount: 500, unit: mg}
    form: lyophilized_powder
    container: single_dose_vial
"""


@pytest.fixture
def starter(db):
    return import_formulary(STARTER_FILES, actor=None)


def write(tmp_path: Path, name: str, body: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def counts() -> tuple[int, int]:
    return Drug.objects.count(), Product.objects.count()


def refused(paths: list[Path]) -> DomainError:
    with pytest.raises(DomainError) as caught:
        import_formulary(paths, actor=None)
    assert caught.value.code == "BAD_FORMULARY_FILE"
    return caught.value


def test_the_starter_formulary_loads_with_every_ndc_matching_its_gtin(starter):
    """Issue 4 promises a usable starter formulary; a product whose stored GTIN does not carry its
    own NDC would make every scan of that package resolve wrongly or not at all."""
    assert starter.drugs_created >= 40 and starter.products_created >= 60
    assert Drug.objects.count() == starter.drugs_created
    assert Product.objects.count() == starter.products_created
    for product in Product.objects.all():
        assert codes.check_gtin14(product.gtin14) == product.gtin14
        assert product.gtin14 == codes.ndc_to_gtin14(product.ndc_labelled), product
        assert codes.gtin14_to_ndc10_digits(product.gtin14) == codes.ndc10_digits(product.ndc_labelled)
        assert product.ndc11 == codes.ndc_to_ndc11(product.ndc_labelled)


def test_reimporting_updates_rows_instead_of_duplicating_them(starter, tmp_path):
    """Sites re-run the import after every formulary review; duplicates would split stock and
    let an old row with stale facts be picked."""
    again = import_formulary(STARTER_FILES, actor=None)
    assert (again.drugs_created, again.products_created) == (0, 0)
    assert (again.drugs_updated, again.products_updated) == (starter.drugs_created, starter.products_created)
    assert counts() == (starter.drugs_created, starter.products_created)

    Drug.objects.filter(key="vincristine").update(high_alert=False, routes_forbidden=[])
    import_formulary(STARTER_FILES, actor=None)
    vincristine = Drug.objects.get(key="vincristine")
    assert vincristine.high_alert and "intrathecal" in vincristine.routes_forbidden


def test_an_edited_row_updates_the_existing_drug_and_product(tmp_path):
    """Updating by key and NDC (not by position) keeps the same database rows, so lots and orders
    pointing at them stay attached."""
    path = write(tmp_path, "site.yaml", "drugs:\n" + GOOD_DRUG + "products:\n" + GOOD_PRODUCT)
    import_formulary([path], actor=None)
    drug_id, product_id = Drug.objects.get().pk, Product.objects.get().pk
    edited = write(
        tmp_path,
        "site.yaml",
        "drugs:\n" + GOOD_DRUG.replace("testamycin", "testamycin sodium") + "products:\n" + GOOD_PRODUCT,
    )
    result = import_formulary([edited], actor=None)
    assert (result.drugs_updated, result.products_updated) == (1, 1)
    assert Drug.objects.get().pk == drug_id and Drug.objects.get().generic_name == "testamycin sodium"
    assert Product.objects.get().pk == product_id


BAD_ROWS = {
    "unknown category": (
        "drugs:\n" + GOOD_DRUG + "  - key: bad-drug\n    generic_name: bad\n    category: witchcraft\n",
        6,
    ),
    "bad NDC": ("drugs:\n" + GOOD_DRUG + "products:\n" + GOOD_PRODUCT.replace("99999-301-01", "9999-30-1"), 7),
    "unknown drug": ("drugs:\n" + GOOD_DRUG + "products:\n" + GOOD_PRODUCT.replace("drug: test-drug", "drug: nope"), 7),
    "duplicate drug key": ("drugs:\n" + GOOD_DRUG + GOOD_DRUG, 6),
    "duplicate NDC": ("drugs:\n" + GOOD_DRUG + "products:\n" + GOOD_PRODUCT + GOOD_PRODUCT, 13),
    "unit nobody can convert": (
        "drugs:\n" + GOOD_DRUG + "products:\n" + GOOD_PRODUCT.replace("unit: mg}", "unit: mg iron}"),
        7,
    ),
    "route both allowed and forbidden": (
        "drugs:\n" + GOOD_DRUG.replace("routes_allowed: [IV]", "routes_allowed: [IV]\n    routes_forbidden: [IV]"),
        2,
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_bad_row_after_good_rows_refuses_the_whole_file_and_names_its_line(tmp_path, case):
    """All or nothing: a half-loaded formulary (good rows in, the bad one silently out) is worse than
    none, and the person fixing the file needs the file name and line to find the row."""
    body, line = BAD_ROWS[case]
    path = write(tmp_path, "site-formulary.yaml", body)
    error = refused([path])
    assert f"site-formulary.yaml line {line}" in error.message, error.message
    assert any(f"site-formulary.yaml line {line}" in p for p in error.details["problems"])
    assert counts() == (0, 0)


def test_a_bad_second_file_leaves_an_existing_formulary_untouched(starter, tmp_path):
    """Rows of a good first file must not be written when a later file is refused, and existing
    rows must not change."""
    before = counts()
    snapshot = list(Drug.objects.order_by("key").values_list("key", "generic_name"))
    good = write(tmp_path, "a-good.yaml", "drugs:\n" + GOOD_DRUG.replace("testamycin", "CHANGED"))
    bad = write(tmp_path, "b-bad.yaml", "products:\n" + GOOD_PRODUCT.replace("drug: test-drug", "drug: ghost"))
    error = refused([good, bad])
    assert "b-bad.yaml line 2" in error.message
    assert counts() == before
    assert list(Drug.objects.order_by("key").values_list("key", "generic_name")) == snapshot


def test_an_11_digit_ndc_with_ambiguous_padding_is_reported_with_its_line(tmp_path):
    """An NDC that parses but cannot give a GTIN must be caught in validation (with its line), not
    fail half-way through writing with a message that does not name the row."""
    path = write(
        tmp_path,
        "site.yaml",
        "drugs:\n" + GOOD_DRUG + "products:\n" + GOOD_PRODUCT.replace("99999-301-01", "09999-0301-01"),
    )
    error = refused([path])
    assert "site.yaml line 7" in error.message, error.message
    assert counts() == (0, 0)


def test_a_row_that_is_not_a_mapping_is_reported_not_crashed_on(tmp_path):
    """A stray scalar in the list (a common YAML slip) must be a refusal with a line, not a crash."""
    path = write(tmp_path, "site.yaml", "drugs:\n" + GOOD_DRUG + "  - just-a-string\n")
    error = refused([path])
    assert "site.yaml" in error.message
    assert counts() == (0, 0)


@pytest.mark.parametrize("body", ["- key: x\n", "not yaml: [\n"])
def test_a_file_that_is_not_a_formulary_mapping_is_refused(tmp_path, body):
    """A wrong or broken file must be refused with its name, not crash the import."""
    error = refused([write(tmp_path, "wrong.yaml", body)])
    assert "wrong.yaml" in error.message
    assert counts() == (0, 0)


def test_a_refused_import_is_audited(tmp_path):
    """Quality review must see refused formulary changes (who tried what, and why it was refused)."""
    path = write(tmp_path, "site.yaml", "drugs:\n  - key: x\n    generic_name: x\n    category: nope\n")
    refused([path])
    event = AuditEvent.objects.get(action="formulary:import:load")
    assert event.outcome == "refused"
    assert "BAD_FORMULARY_FILE" in event.reason and "site.yaml line 2" in event.reason
    assert not AuditEvent.objects.filter(action="formulary:import:loaded").exists()


def test_a_successful_import_is_audited_with_its_counts(starter):
    """A formulary change must leave one audit event saying which files and how many rows."""
    event = AuditEvent.objects.get(action="formulary:import:loaded")
    assert event.after["files"] == ["drugs.yaml", "products.yaml"]
    assert event.after["products_created"] == starter.products_created


def test_sodium_chloride_0_9_and_23_4_are_different_drugs_and_never_confused(starter, site, make_user, future):
    """Concentrated 23.4% sodium chloride given in place of 0.9% is a known fatal error (ISMP);
    the two must be separate drugs and a scan of one must never resolve to the other."""
    from openinfusion.inventory import scanning, services
    from openinfusion.inventory.models import Location

    normal = Drug.objects.get(key="sodium-chloride-0.9")
    concentrate = Drug.objects.get(key="sodium-chloride-23.4")
    assert normal.pk != concentrate.pk and concentrate.high_alert
    normal_gtins = set(normal.products.values_list("gtin14", flat=True))
    concentrate_gtins = set(concentrate.products.values_list("gtin14", flat=True))
    assert normal_gtins and concentrate_gtins and not normal_gtins & concentrate_gtins

    tech = make_user("tech", "technician")
    store = Location.objects.create(site=site, code="store", name="Store", kind="store")
    for drug in (normal, concentrate):
        for product in drug.products.all():
            package = scanning.from_scan(gs1(product.ndc_labelled, f"L{product.pk}", future))
            lot = services.receive_stock(actor=tech, package=package, location_id=store.pk, quantity=1).lot
            assert lot.product == product and lot.product.drug == drug


def test_vinca_alkaloids_list_intrathecal_as_forbidden(starter):
    """Intrathecal vincristine/vinblastine is uniformly fatal; the route check relies on this row."""
    for key in ("vincristine", "vinblastine"):
        drug = Drug.objects.get(key=key)
        assert "intrathecal" in drug.routes_forbidden and "intrathecal" not in drug.routes_allowed


def test_the_api_lists_products_and_drugs_with_tall_man_names(starter, technician, client_for):
    """People read drug names on screens and labels; look-alike names must show in tall-man letters,
    and the API must return what the import loaded."""
    client = client_for(technician)
    response = client.get("/api/v1/formulary/products")
    assert response.status_code == 200
    products = response.json()
    assert len(products) == Product.objects.count()
    vincristine = [p for p in products if p["drug_key"] == "vincristine"]
    assert vincristine and all(p["drug"] == "vinCRIStine" for p in vincristine)
    stored = Product.objects.get(pk=vincristine[0]["id"])
    assert vincristine[0]["gtin14"] == stored.gtin14 and vincristine[0]["ndc"] == stored.ndc_labelled

    by_drug = client.get("/api/v1/formulary/products", {"drug": "sodium-chloride-23.4"}).json()
    assert {p["drug_key"] for p in by_drug} == {"sodium-chloride-23.4"}

    drug = client.get("/api/v1/formulary/drugs/vincristine").json()
    assert drug["display_name"] == "vinCRIStine" and drug["generic_name"] == "vincristine sulfate"
    assert "intrathecal" in drug["routes_forbidden"]
    assert {p["ndc"] for p in drug["products"]} == set(
        Product.objects.filter(drug__key="vincristine").values_list("ndc_labelled", flat=True)
    )
    plain = client.get("/api/v1/formulary/drugs/sodium-chloride-0.9").json()
    assert plain["display_name"] == "sodium chloride 0.9%"
    assert client.get("/api/v1/formulary/drugs/no-such-drug").status_code == 404
