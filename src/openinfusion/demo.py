"""The demo site: sites and one user per role (later capabilities add their demo data here).

Idempotent: running it again leaves existing records alone.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from openinfusion.accounts import services
from openinfusion.accounts.models import Site, SiteKind, User
from openinfusion.accounts.permissions import Role

DEMO_PASSWORD = "infusion-demo-2026"

SITES = (
    ("main-pharmacy", "Northfield Hospital Infusion Pharmacy", SiteKind.HOSPITAL_PHARMACY, "America/New_York"),
    ("infusion-center", "Northfield Infusion Center", SiteKind.INFUSION_CENTER, "America/New_York"),
    ("home-infusion", "Lakeside Home Infusion", SiteKind.HOME_INFUSION, "America/Chicago"),
)


@dataclass(frozen=True)
class DemoUser:
    username: str
    first_name: str
    last_name: str
    roles: tuple[Role, ...]
    sites: tuple[str, ...] = ("main-pharmacy", "infusion-center")


USERS = (
    DemoUser("prescriber", "Priya", "Raman", (Role.PRESCRIBER,)),
    DemoUser("pharmacist", "Marcus", "Okafor", (Role.PHARMACIST,)),
    DemoUser("pharmacist2", "Elena", "Varga", (Role.PHARMACIST,)),
    DemoUser("technician", "Tom", "Becker", (Role.TECHNICIAN,)),
    DemoUser("nurse", "Nadia", "Haddad", (Role.NURSE,)),
    DemoUser("scheduler", "Sam", "Ortiz", (Role.SCHEDULER,)),
    DemoUser("inventory", "Irene", "Lund", (Role.INVENTORY,)),
    DemoUser("biomed", "Ben", "Achebe", (Role.BIOMED,)),
    DemoUser("quality", "Quinn", "Moreau", (Role.QUALITY,)),
    DemoUser("admin", "Ada", "Kowalski", (Role.ADMIN,)),
    DemoUser("home-pharmacist", "Hana", "Sato", (Role.PHARMACIST,), ("home-infusion",)),
    DemoUser("home-nurse", "Hugo", "Lindqvist", (Role.NURSE,), ("home-infusion",)),
)


def load_demo() -> list[DemoUser]:
    """Create the demo sites and users that do not exist yet; return every demo user."""
    with transaction.atomic():
        for code, name, kind, zone in SITES:
            if not Site.objects.filter(code=code).exists():
                services.create_site(actor=None, code=code, name=name, kind=kind, time_zone=zone)
        for person in USERS:
            if not User.objects.filter(username=person.username).exists():
                services.create_user(
                    actor=None,
                    username=person.username,
                    password=DEMO_PASSWORD,
                    roles=[r.value for r in person.roles],
                    sites=person.sites,
                    first_name=person.first_name,
                    last_name=person.last_name,
                )
    _load_capabilities()
    return list(USERS)


def _load_capabilities() -> None:
    """Each capability adds its demo data on top of the people above."""
    from openinfusion.administration.demo import load_administration_demo
    from openinfusion.chairs.demo import load_chairs_demo
    from openinfusion.compounding.demo import load_compounding_demo
    from openinfusion.formulary.importer import STARTER_FILES, import_formulary
    from openinfusion.formulary.models import Drug
    from openinfusion.inventory.demo import load_inventory_demo
    from openinfusion.orders.demo import load_orders_demo

    if not Drug.objects.exists():
        import_formulary(STARTER_FILES, actor=None)
    load_inventory_demo()
    load_orders_demo()
    load_compounding_demo()
    load_administration_demo()
    load_chairs_demo()
