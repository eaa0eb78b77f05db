"""``openinfusion stock receive|list|expiring``, ``recall`` and ``formulary import`` from the shell:
JSON for scripts, readable text for people, and refusals that exit non-zero with a code."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest
from tests.clock import site_today
from tests.integration.conftest import OTHER_NDC, TEST_NDC, gs1

from openinfusion.cli import main
from openinfusion.clinical.codes import ndc_to_gtin14
from openinfusion.errors import DomainError
from openinfusion.formulary.models import Drug, Product
from openinfusion.inventory import scanning, services
from openinfusion.inventory.models import Lot, StockBalance, StockMovement

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_default_user(monkeypatch):
    monkeypatch.delenv("OPENINFUSION_USER", raising=False)


@pytest.fixture
def inv(make_user):
    return make_user("inv", "inventory", "technician")


def run(capsys, *argv: str) -> tuple[int, dict]:
    """Run the CLI with --json and read its one JSON object."""
    capsys.readouterr()
    code = main([*argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


def run_text(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def expiry(days: int) -> dt.date:
    return site_today("America/New_York") + dt.timedelta(days=days)  # the test site's zone


def stocked(actor, location, lot, days=100, quantity=10):
    package = scanning.from_scan(gs1(TEST_NDC, lot, expiry(days)))
    return services.receive_stock(actor=actor, package=package, location_id=location.pk, quantity=quantity).lot


def test_stock_receive_json_puts_stock_on_the_shelf(capsys, inv, product, store):
    """Scripts (e.g. a wholesaler's advance shipping notice) receive through the CLI; the JSON must
    say which lot and how many are now on hand, and the ledger must name the acting user."""
    scan = gs1(TEST_NDC, "CLI-1", expiry(120), "S-1")
    code, out = run(
        capsys, "stock", "receive", "--gs1", scan, "--quantity", "6", "--location", "store", "--user", "inv"
    )
    assert code == 0, out
    lot = Lot.objects.get(lot_number="CLI-1")
    assert out["lot_id"] == lot.pk and out["expiry"] == expiry(120).isoformat()
    assert out["received"] == 6 and out["on_hand"] == 6 and out["location"] == "store"
    movement = StockMovement.objects.get()
    assert movement.actor == inv and movement.serial_numbers == ["S-1"]


def test_stock_receive_text_accepts_a_typed_group_separator(capsys, inv, product, store):
    """Keyboard-wedge scanners and people type the GS separator as <GS>; it must still read."""
    scan = gs1(TEST_NDC, "CLI-2", expiry(120)).replace("\x1d", "<GS>")
    code, out, _ = run_text(
        capsys, "stock", "receive", "--gs1", scan, "--quantity", "2", "--location", "store", "--user", "inv"
    )
    assert code == 0
    assert "Received 2" in out and "CLI-2" in out and "now 2 on hand" in out
    assert StockBalance.objects.get().quantity == 2


@pytest.mark.parametrize(
    ("argv", "code"),
    [
        (["--gs1", "GOOD", "--location", "nowhere", "--user", "inv"], "UNKNOWN_LOCATION"),
        (["--gs1", "UNKNOWN", "--location", "store", "--user", "inv"], "UNKNOWN_PRODUCT"),
        (["--gs1", "01123", "--location", "store", "--user", "inv"], "BAD_BARCODE"),
        (["--gs1", "GOOD", "--location", "store", "--user", "ghost"], "UNKNOWN_USER"),
        (["--gs1", "GOOD", "--location", "store", "--user", "rn"], "FORBIDDEN"),
    ],
)
def test_stock_receive_refusals_exit_non_zero_with_a_json_error(capsys, inv, make_user, product, store, argv, code):
    """A script must be able to tell a refusal from success (exit code) and why (error code), and a
    refusal must put nothing on the shelf."""
    make_user("rn", "nurse")
    scans = {"GOOD": gs1(TEST_NDC, "X", expiry(90)), "UNKNOWN": gs1(OTHER_NDC, "X", expiry(90))}
    argv = [scans.get(a, a) for a in argv]
    exit_code, out = run(capsys, "stock", "receive", "--quantity", "1", *argv)
    assert exit_code != 0
    assert set(out) == {"error"} and out["error"]["code"] == code and out["error"]["message"]
    assert not StockMovement.objects.exists()


def test_stock_receive_refusal_in_text_mode_goes_to_stderr(capsys, inv, product, store):
    """People at a terminal read the code and the message; stdout stays empty for pipes."""
    past = expiry(-1)
    exit_code, out, err = run_text(
        capsys, "stock", "receive", "--gs1", gs1(TEST_NDC, "OLD", past), "--quantity", "1", "--location", "store",
        "--user", "inv",
    )  # fmt: skip
    assert exit_code != 0 and out == ""
    assert err.startswith("error [EXPIRED_LOT]:") and "expired" in err


def test_stock_receive_needs_a_user(capsys, product, store):
    """Every stock change names a person; without --user (or $OPENINFUSION_USER) the command stops."""
    with pytest.raises(SystemExit) as stopped:
        main(["stock", "receive", "--gs1", gs1(TEST_NDC, "X", expiry(90)), "--quantity", "1", "--location", "store"])
    assert stopped.value.code != 0
    assert not StockMovement.objects.exists()


def test_stock_list_json_and_text(capsys, inv, make_user, product, store, clean_room, south_store):
    """The listing is what a technician counts against; it must show every lot on hand at the
    user's sites (and only there), filtered by location when asked."""
    stocked(inv, store, "L-STORE", quantity=5)
    lot = stocked(inv, store, "L-CLEAN", quantity=3)
    services.transfer_stock(lot.pk, actor=inv, from_location_id=store.pk, to_location_id=clean_room.pk, quantity=3)
    south = make_user("south-inv", "inventory", sites=("south",))
    stocked(south, south_store, "L-SOUTH", quantity=1)

    code, out = run(capsys, "stock", "list", "--user", "inv")
    assert code == 0
    assert sorted((r["location"], r["lot"], r["quantity"]) for r in out["stock"]) == [
        ("hd-room", "L-CLEAN", 3),
        ("store", "L-STORE", 5),
    ]
    assert out["stock"][0]["ndc"] == TEST_NDC and out["stock"][0]["status"] == "available"

    code, out = run(capsys, "stock", "list", "--location", "hd-room", "--user", "inv")
    assert [r["lot"] for r in out["stock"]] == ["L-CLEAN"]

    code, out = run(capsys, "stock", "list")
    assert {r["lot"] for r in out["stock"]} == {"L-CLEAN", "L-STORE", "L-SOUTH"}, "the console sees every site"

    code, out = run(capsys, "stock", "list", "--location", "store")
    assert code != 0 and out["error"]["code"] == "AMBIGUOUS_LOCATION"
    code, out = run(capsys, "stock", "list", "--location", "store", "--site", "south")
    assert [r["lot"] for r in out["stock"]] == ["L-SOUTH"]

    code, text, _ = run_text(capsys, "stock", "list", "--location", "store", "--user", "inv")
    assert code == 0 and "L-STORE" in text and "L-CLEAN" not in text and "OXALIplatin" in text


def test_stock_list_of_an_unknown_location_is_refused(capsys, inv, store):
    """A mistyped location must not look like an empty shelf."""
    code, out = run(capsys, "stock", "list", "--location", "stroe", "--user", "inv")
    assert code != 0 and out["error"]["code"] == "UNKNOWN_LOCATION"


def test_stock_expiring_json_and_text(capsys, inv, product, store):
    """The expiry report must list what expires within the window, soonest first, and nothing else."""
    stocked(inv, store, "E10", days=10)
    stocked(inv, store, "E25", days=25)
    stocked(inv, store, "E45", days=45)
    code, out = run(capsys, "stock", "expiring", "--days", "30", "--user", "inv")
    assert code == 0 and out["days"] == 30
    assert [(r["lot"], r["expiry"]) for r in out["expiring"]] == [
        ("E10", expiry(10).isoformat()),
        ("E25", expiry(25).isoformat()),
    ]
    code, out = run(capsys, "stock", "expiring", "--days", "60", "--user", "inv")
    assert [r["lot"] for r in out["expiring"]] == ["E10", "E25", "E45"]
    code, text, _ = run_text(capsys, "stock", "expiring", "--days", "5", "--user", "inv")
    assert code == 0 and text.strip() == "Nothing to show."


@pytest.fixture
def recalled_lot(inv, product, store, clean_room):
    lot = stocked(inv, store, "RC-9", quantity=10)
    services.transfer_stock(lot.pk, actor=inv, from_location_id=store.pk, to_location_id=clean_room.pk, quantity=4)
    for ref in ("prep-201", "prep-202"):
        services.consume_stock(lot.pk, actor=inv, location_id=clean_room.pk, quantity=1, reference=ref)
    services.waste_stock(lot.pk, actor=inv, location_id=store.pk, quantity=1, reason="vial cracked")
    return lot


def test_recall_quarantines_the_lot_and_prints_the_trace(capsys, inv, recalled_lot):
    """On a recall the pharmacy must block the lot at once and find every package of it: on the
    shelf by location and in which preparations it went."""
    code, out = run(capsys, "recall", "RC-9", "--reason", "FDA Z-0456-2026", "--user", "inv")
    assert code == 0, out
    lot = Lot.objects.get(pk=recalled_lot.pk)
    assert lot.status == "recalled" and lot.status_reason == "FDA Z-0456-2026"
    assert out["status"] == "recalled" and out["received"] == 10 and out["wasted"] == 1
    assert sorted((b["location"], b["quantity"]) for b in out["on_hand"]) == [("hd-room", 2), ("store", 5)]
    assert [(c["reference"], c["quantity"], c["location"]) for c in out["consumed"]] == [
        ("prep-201", 1, "hd-room"),
        ("prep-202", 1, "hd-room"),
    ]
    with pytest.raises(DomainError) as blocked:
        services.consume_stock(
            lot.pk, actor=inv, location_id=lot.balances.first().location_id, quantity=1, reference="p"
        )
    assert blocked.value.code == "RECALLED_LOT"


def test_recall_text_names_the_status_and_where_the_stock_is(capsys, inv, recalled_lot):
    """The person at the terminal reads one line: recalled, how much was received, where it is."""
    code, text, _ = run_text(capsys, "recall", "RC-9", "--user", "inv")
    assert code == 0
    assert "RECALLED" in text and "Received 10" in text and "5 at store" in text and "2 at hd-room" in text
    assert "consumed into 2 preparation(s)" in text
    assert Lot.objects.get(pk=recalled_lot.pk).status_reason == "recall"


def test_recall_refusals(capsys, make_user, inv, recalled_lot, drug, store):
    """A recall by someone not allowed, of an unknown lot, or of a lot number two products share
    must be refused with a code and leave every lot as it was."""
    make_user("tech-only", "technician")
    code, out = run(capsys, "recall", "RC-9", "--user", "tech-only")
    assert code != 0 and out["error"]["code"] == "FORBIDDEN"
    code, out = run(capsys, "recall", "NOPE", "--user", "inv")
    assert code != 0 and out["error"]["code"] == "UNKNOWN_LOT"
    assert Lot.objects.get(pk=recalled_lot.pk).status == "available"

    Product.objects.create(
        drug=drug, ndc11="99999020202", ndc_labelled=OTHER_NDC, gtin14=ndc_to_gtin14(OTHER_NDC), labeler="T",
        strength_amount=Decimal(50), strength_unit="mg", form="solution", container="single_dose_vial",
    )  # fmt: skip
    package = scanning.from_scan(gs1(OTHER_NDC, "RC-9", expiry(100)))
    other = services.receive_stock(actor=inv, package=package, location_id=store.pk, quantity=1).lot
    code, out = run(capsys, "recall", "RC-9", "--user", "inv")
    assert code != 0 and out["error"]["code"] == "AMBIGUOUS_LOT"
    assert set(Lot.objects.values_list("status", flat=True)) == {"available"}
    code, out = run(capsys, "recall", "RC-9", "--product", OTHER_NDC, "--user", "inv")
    assert code == 0 and out["received"] == 1
    assert Lot.objects.get(pk=other.pk).status == "recalled"
    assert Lot.objects.get(pk=recalled_lot.pk).status == "available"


def test_recall_only_sees_lots_at_the_users_sites(capsys, make_user, inv, recalled_lot, south_store):
    """A buyer at one site must not recall (or even learn of) another site's lot, and another site's
    lot with the same number must not make this site's recall ambiguous."""
    south = make_user("south-inv", "inventory", sites=("south",))
    code, out = run(capsys, "recall", "RC-9", "--user", "south-inv")
    assert code != 0 and out["error"]["code"] == "UNKNOWN_LOT"
    assert Lot.objects.get(pk=recalled_lot.pk).status == "available"

    Product.objects.create(
        drug=recalled_lot.product.drug, ndc11="99999020202", ndc_labelled=OTHER_NDC,
        gtin14=ndc_to_gtin14(OTHER_NDC), labeler="T", strength_amount=Decimal(50), strength_unit="mg",
        form="solution", container="single_dose_vial",
    )  # fmt: skip
    package = scanning.from_scan(gs1(OTHER_NDC, "RC-9", expiry(100)))
    theirs = services.receive_stock(actor=south, package=package, location_id=south_store.pk, quantity=1).lot
    code, out = run(capsys, "recall", "RC-9", "--user", "inv")
    assert code == 0, out
    assert Lot.objects.get(pk=recalled_lot.pk).status == "recalled"
    assert Lot.objects.get(pk=theirs.pk).status == "available"


def test_formulary_import_of_a_bad_file_exits_non_zero_naming_the_line(capsys, tmp_path):
    """The person fixing the file needs its name and line; a script needs the exit code; and
    nothing may be loaded."""
    bad = tmp_path / "local.yaml"
    bad.write_text(
        "drugs:\n  - key: ok-drug\n    generic_name: ok\n    category: iron\n"
        "  - key: bad-drug\n    generic_name: bad\n    category: astrology\n",
        encoding="utf-8",
    )
    code, out = run(capsys, "formulary", "import", str(bad))
    assert code != 0
    assert out["error"]["code"] == "BAD_FORMULARY_FILE" and "local.yaml line 5" in out["error"]["message"]
    assert not Drug.objects.exists()
    code, _, err = run_text(capsys, "formulary", "import", str(bad))
    assert code != 0 and "local.yaml line 5" in err


def test_formulary_import_starter_json_and_text(capsys):
    """``formulary import --starter`` is the first step of every installation."""
    code, out = run(capsys, "formulary", "import", "--starter")
    assert code == 0
    assert out["drugs_created"] == Drug.objects.count() >= 40
    assert out["products_created"] == Product.objects.count() >= 60
    code, text, _ = run_text(capsys, "formulary", "import", "--starter")
    assert code == 0 and "0 drugs added" in text and f"{Drug.objects.count()} updated" in text


def test_stock_move_puts_packages_in_the_clean_room_and_refuses_more_than_there_is(
    capsys, inv, product, store, clean_room
):
    stocked(inv, store, "L-MOVE", quantity=4)
    code, out = run(
        capsys, "stock", "move", "L-MOVE", "--from", "store", "--to", "hd-room", "--quantity", "3", "--user", "inv"
    )
    assert code == 0, out
    assert (out["moved"], out["left_at_source"], out["now_at_target"]) == (3, 1, 3)
    code, out = run(
        capsys, "stock", "move", "L-MOVE", "--from", "store", "--to", "hd-room", "--quantity", "5", "--user", "inv"
    )
    assert code != 0 and out["error"]["code"] == "INSUFFICIENT_STOCK"
    assert {b.location_id: b.quantity for b in StockBalance.objects.all()} == {store.pk: 1, clean_room.pk: 3}
