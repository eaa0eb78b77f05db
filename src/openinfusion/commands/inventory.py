"""``stock receive|move|list|expiring`` and ``recall``: inventory from the command line.

Commands that change stock act as a named user (``--user``, default ``$OPENINFUSION_USER``) so the
ledger and the audit trail say who did it; that user's roles must allow the action.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from openinfusion.commands import emit, fail, setup_django
from openinfusion.errors import DomainError, InvalidInput, NotFound


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stock = subparsers.add_parser("stock", help="stock on hand, receiving and expiry")
    actions = stock.add_subparsers(dest="stock_command", required=True, metavar="ACTION")

    receive = actions.add_parser("receive", help="receive packages by their GS1 DataMatrix")
    receive.add_argument("--gs1", required=True, help="element string; GS as \\x1d or <GS>")
    receive.add_argument("--quantity", type=int, required=True)
    receive.add_argument("--location", required=True, help="location code")
    _common(receive, acting=True)
    receive.set_defaults(handler=run_receive)

    move = actions.add_parser("move", help="move packages of a lot between locations (e.g. store to clean room)")
    move.add_argument("lot_number")
    move.add_argument("--product", help="NDC, when several products share the lot number")
    move.add_argument("--from", dest="source", required=True, help="location code it leaves")
    move.add_argument("--to", dest="target", required=True, help="location code it goes to")
    move.add_argument("--to-site", help="site code of the target, when it is another site")
    move.add_argument("--quantity", type=int, required=True)
    move.add_argument("--reason", default="")
    _common(move, acting=True)
    move.set_defaults(handler=run_move)

    listing = actions.add_parser("list", help="stock on hand by location")
    listing.add_argument("--location", help="location code")
    _common(listing, acting=False)
    listing.set_defaults(handler=run_list)

    expiring = actions.add_parser("expiring", help="lots on the shelf expiring within N days")
    expiring.add_argument("--days", type=int, default=30)
    _common(expiring, acting=False)
    expiring.set_defaults(handler=run_expiring)

    recall = subparsers.add_parser("recall", help="quarantine a lot as recalled and trace where it went")
    recall.add_argument("lot_number")
    recall.add_argument("--product", help="NDC, when several products share the lot number")
    recall.add_argument("--reason", default="", help="recall reference (defaults to 'recall')")
    _common(recall, acting=True)
    recall.set_defaults(handler=run_recall)


def _common(parser: argparse.ArgumentParser, *, acting: bool) -> None:
    parser.add_argument("--site", help="site code, when a location code exists at several sites")
    parser.add_argument(
        "--user",
        default=os.environ.get("OPENINFUSION_USER"),
        required=acting and not os.environ.get("OPENINFUSION_USER"),
        help="act as this user (default $OPENINFUSION_USER)",
    )
    parser.add_argument("--json", action="store_true")


def _user(args: argparse.Namespace) -> Any:
    from openinfusion.accounts.models import Site, User

    if args.user:
        user = User.objects.filter(username=args.user, is_active=True).first()
        if user is None:
            raise NotFound(f"No active user {args.user!r}.", code="UNKNOWN_USER")
        return user
    # Read-only listings without --user see every site (an operator at the server console).
    console = User(username="console")
    console._site_ids = set(Site.objects.values_list("id", flat=True))
    return console


def _location(user: Any, code: str, site: str | None) -> Any:
    from openinfusion.inventory.models import Location

    matches = Location.objects.filter(code=code, site__in=user.site_ids())
    if site:
        matches = matches.filter(site__code=site)
    found = list(matches[:2])
    if not found:
        raise NotFound(f"No location {code!r} at your sites.", code="UNKNOWN_LOCATION")
    if len(found) > 1:
        raise InvalidInput(f"Location {code!r} exists at several sites; add --site.", code="AMBIGUOUS_LOCATION")
    return found[0]


def _balance_row(balance: Any, today: Any) -> dict[str, Any]:
    lot = balance.lot
    return {
        "location": balance.location.code,
        "product": str(lot.product),
        "ndc": lot.product.ndc_labelled,
        "lot": lot.lot_number,
        "expiry": lot.expiry.isoformat(),
        "status": lot.effective_status(today),
        "quantity": balance.quantity,
    }


def _table(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "Nothing to show."
    return "\n".join(
        f"{r['location']:<14} {r['expiry']} {r['status']:<11} {r['quantity']:>5}  {r['lot']:<14} {r['product']}"
        for r in rows
    )


def run_receive(args: argparse.Namespace) -> int:
    setup_django()
    from openinfusion.accounts.access import check
    from openinfusion.accounts.permissions import Action
    from openinfusion.inventory import scanning, services

    try:
        user = _user(args)
        check(user, Action.RECEIVE_STOCK)
        package = scanning.PackageEntry(scan=args.gs1)
        location = _location(user, args.location, args.site)
        receipt = services.receive_stock(actor=user, package=package, location_id=location.pk, quantity=args.quantity)
    except DomainError as error:
        return fail(error, as_json=args.json)
    lot = receipt.lot
    result = {
        "lot_id": lot.pk,
        "lot": lot.lot_number,
        "expiry": lot.expiry.isoformat(),
        "product": str(lot.product),
        "location": location.code,
        "received": args.quantity,
        "on_hand": receipt.movement.balance_after,
    }
    text = (
        f"Received {args.quantity} × {lot.product} lot {lot.lot_number} into {location.name} "
        f"(now {receipt.movement.balance_after} on hand)."
    )
    return emit(result, as_json=args.json, text=text)


def _lot(user: Any, number: str, ndc: str | None) -> Any:
    from openinfusion.inventory.models import Lot

    lots = Lot.objects.filter(lot_number=number).select_related("product")
    if ndc:
        lots = lots.filter(product__ndc_labelled=ndc)
    found = list(lots[:2])
    if not found:
        raise NotFound(f"No lot {number!r}{f' of NDC {ndc}' if ndc else ''}.", code="UNKNOWN_LOT")
    if len(found) > 1:
        raise InvalidInput(f"Lot {number!r} exists for several products; add --product NDC.", code="AMBIGUOUS_LOT")
    return found[0]


def run_move(args: argparse.Namespace) -> int:
    setup_django()
    from openinfusion.inventory import services

    try:
        user = _user(args)
        lot = _lot(user, args.lot_number, args.product)
        source = _location(user, args.source, args.site)
        target = _location(user, args.target, args.to_site or args.site)
        out, into = services.transfer_stock(
            lot.pk,
            actor=user,
            from_location_id=source.pk,
            to_location_id=target.pk,
            quantity=args.quantity,
            reason=args.reason,
        )
    except DomainError as error:
        return fail(error, as_json=args.json)
    result = {
        "lot": lot.lot_number,
        "product": str(lot.product),
        "from": source.code,
        "to": target.code,
        "moved": args.quantity,
        "left_at_source": out.balance_after,
        "now_at_target": into.balance_after,
    }
    text = (
        f"Moved {args.quantity} × {lot.product} lot {lot.lot_number} from {source.name} "
        f"(now {out.balance_after}) to {target.name} (now {into.balance_after})."
    )
    return emit(result, as_json=args.json, text=text)


def run_list(args: argparse.Namespace) -> int:
    setup_django()
    from django.utils import timezone

    from openinfusion.inventory import queries

    try:
        user = _user(args)
        location_id = _location(user, args.location, args.site).pk if args.location else None
    except DomainError as error:
        return fail(error, as_json=args.json)
    today = timezone.localdate()
    rows = [_balance_row(b, today) for b in queries.stock_on_hand(user.site_ids(), location_id)]
    return emit({"stock": rows}, as_json=args.json, text=_table(rows))


def run_expiring(args: argparse.Namespace) -> int:
    setup_django()
    from django.utils import timezone

    from openinfusion.inventory import queries

    try:
        user = _user(args)
    except DomainError as error:
        return fail(error, as_json=args.json)
    today = timezone.localdate()
    rows = [_balance_row(b, today) for b in queries.expiring(user.site_ids(), today, args.days)]
    return emit({"days": args.days, "expiring": rows}, as_json=args.json, text=_table(rows))


def run_recall(args: argparse.Namespace) -> int:
    setup_django()
    from openinfusion.accounts.access import check
    from openinfusion.accounts.permissions import Action
    from openinfusion.clinical.codes import ndc_to_ndc11
    from openinfusion.inventory import queries, services
    from openinfusion.inventory.models import Lot

    try:
        user = _user(args)
        check(user, Action.QUARANTINE_LOT)
        # Only lots held (or once held) at the user's sites, as services.lot_for sees them.
        lots = Lot.objects.filter(lot_number=args.lot_number, movements__location__site__in=user.site_ids()).distinct()
        if args.product:
            lots = lots.filter(product__ndc11=ndc_to_ndc11(args.product))
        found = list(lots.select_related("product__drug")[:2])
        if not found:
            raise NotFound(f"No lot {args.lot_number!r} on record.", code="UNKNOWN_LOT")
        if len(found) > 1:
            raise InvalidInput("Several products have this lot number; add --product NDC.", code="AMBIGUOUS_LOT")
        lot = services.quarantine_lot(found[0].pk, actor=user, reason=args.reason or "recall", recall=True)
    except DomainError as error:
        return fail(error, as_json=args.json)
    trace = queries.trace_lot(lot, user.site_ids())
    result = {
        "lot": lot.lot_number,
        "product": str(lot.product),
        "status": lot.status,
        "received": trace.received,
        "wasted": trace.wasted,
        "on_hand": [{"location": b.location.code, "quantity": b.quantity} for b in trace.on_hand],
        "consumed": [
            {"reference": m.reference, "quantity": -m.quantity, "at": m.at.isoformat(), "location": m.location.code}
            for m in trace.consumed
        ],
        "patients": trace.patients,
    }
    text = (
        f"Lot {lot.lot_number} of {lot.product} is now RECALLED. Received {trace.received}; on hand: "
        + (", ".join(f"{b.quantity} at {b.location.code}" for b in trace.on_hand) or "none")
        + f"; consumed into {len(trace.consumed)} preparation(s)."
    )
    return emit(result, as_json=args.json, text=text)
