"""``createsite``, ``createuser`` and ``demo``."""

from __future__ import annotations

import argparse
import getpass
import os
from typing import Any

from openinfusion.accounts.permissions import Role
from openinfusion.commands import emit, fail, setup_django
from openinfusion.errors import DomainError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    site = subparsers.add_parser("createsite", help="add a site (pharmacy, infusion center, home branch)")
    site.add_argument("--code", required=True)
    site.add_argument("--name", required=True)
    site.add_argument("--kind", required=True, choices=["hospital_pharmacy", "infusion_center", "home_infusion"])
    site.add_argument("--time-zone", default="UTC")
    site.add_argument("--json", action="store_true")
    site.set_defaults(handler=run_createsite)

    user = subparsers.add_parser("createuser", help="add a person with roles at sites")
    user.add_argument("username")
    user.add_argument("--role", action="append", required=True, choices=[r.value for r in Role])
    user.add_argument("--site", action="append", required=True, help="site code (repeat for several)")
    user.add_argument("--first-name", default="")
    user.add_argument("--last-name", default="")
    user.add_argument("--email", default="")
    user.add_argument(
        "--password-env", default="OPENINFUSION_NEW_PASSWORD", help="environment variable holding the password"
    )
    user.add_argument("--json", action="store_true")
    user.set_defaults(handler=run_createuser)

    demo = subparsers.add_parser("demo", help="load the demo sites and a user for every role")
    demo.add_argument("--json", action="store_true")
    demo.set_defaults(handler=run_demo)


def run_createsite(args: argparse.Namespace) -> int:
    setup_django()
    from openinfusion.accounts import services

    try:
        site = services.create_site(
            actor=None, code=args.code, name=args.name, kind=args.kind, time_zone=args.time_zone
        )
    except DomainError as error:
        return fail(error, as_json=args.json)
    return emit({"site": site.code, "id": site.pk}, as_json=args.json, text=f"Site {site.code} created.")


def run_createuser(args: argparse.Namespace) -> int:
    setup_django()
    from openinfusion.accounts import services

    password = os.environ.get(args.password_env) or getpass.getpass(f"Password for {args.username}: ")
    try:
        user = services.create_user(
            actor=None,
            username=args.username,
            password=password,
            roles=args.role,
            sites=args.site,
            first_name=args.first_name,
            last_name=args.last_name,
            email=args.email,
        )
    except DomainError as error:
        return fail(error, as_json=args.json)
    return emit(
        {"username": user.username, "id": user.pk, "roles": sorted(args.role), "sites": sorted(args.site)},
        as_json=args.json,
        text=f"User {user.username} created with roles {', '.join(sorted(args.role))}.",
    )


def run_demo(args: argparse.Namespace) -> int:
    setup_django()
    from openinfusion.demo import DEMO_PASSWORD, load_demo

    users = load_demo()
    logins = [{"username": u.username, "roles": [r.value for r in u.roles], "sites": list(u.sites)} for u in users]
    lines = [f"  {u['username']:<16} {', '.join(u['roles']):<12} {', '.join(u['sites'])}" for u in logins]
    text = "Demo loaded. Sign in with any of these (password: " + DEMO_PASSWORD + "):\n" + "\n".join(lines)
    codes = _demo_codes()
    text += (
        "\nNo scanner? Type these into a scan box (or scan them off Inventory → Codes to scan (PDF),"
        " /inventory/barcodes.pdf):\n" + "\n".join(f"  {c.title[:40]:<40} {c.typed}" for c in codes)
    )
    payload = {
        "password": DEMO_PASSWORD,
        "logins": logins,
        "codes": [{"title": c.title, "text": c.typed} for c in codes],
    }
    return emit(payload, as_json=args.json, text=text)


def _demo_codes() -> list[Any]:
    """A few of the demo's packages in the clean rooms and two wristbands, as a scan would send them."""
    from openinfusion.inventory import barcodes
    from openinfusion.inventory.models import Lot
    from openinfusion.patients.models import Patient

    lots = Lot.objects.filter(balances__quantity__gt=0, status="available").select_related("product__drug")
    codes = [barcodes.package_code(lot) for lot in lots.distinct().order_by("pk")[:4]]
    return codes + [barcodes.wristband_code(p.mrn, str(p)) for p in Patient.objects.order_by("mrn")[:2]]
