"""Who may do what: one table mapping every action to the roles allowed to do it.

Pure Python. Every web view and API operation declares its action (``web.access.requires`` and
``api.allow``); ``tests/integration/test_permissions.py`` fails when a route declares none and
checks every action against every role over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Role(StrEnum):
    PRESCRIBER = "prescriber"
    PHARMACIST = "pharmacist"
    TECHNICIAN = "technician"
    NURSE = "nurse"
    SCHEDULER = "scheduler"
    INVENTORY = "inventory"
    BIOMED = "biomed"
    QUALITY = "quality"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.PRESCRIBER: "Prescriber",
    Role.PHARMACIST: "Pharmacist",
    Role.TECHNICIAN: "Pharmacy technician",
    Role.NURSE: "Nurse",
    Role.SCHEDULER: "Scheduler",
    Role.INVENTORY: "Inventory / buyer",
    Role.BIOMED: "Biomedical engineering",
    Role.QUALITY: "Quality",
    Role.ADMIN: "Administrator",
}


class Action(StrEnum):
    """Every action a route can declare. ``PUBLIC`` needs no sign-in; ``SIGNED_IN`` any role."""

    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    VIEW_AUDIT = "view_audit"
    EXPORT_AUDIT = "export_audit"
    VERIFY_AUDIT_CHAIN = "verify_audit_chain"
    MANAGE_USERS = "manage_users"
    USE_ADMIN_SITE = "use_admin_site"
    VIEW_FORMULARY = "view_formulary"
    MANAGE_FORMULARY = "manage_formulary"
    VIEW_STOCK = "view_stock"
    RECEIVE_STOCK = "receive_stock"
    MOVE_STOCK = "move_stock"
    WASTE_STOCK = "waste_stock"
    ADJUST_STOCK = "adjust_stock"
    QUARANTINE_LOT = "quarantine_lot"
    TRACE_LOT = "trace_lot"
    MANAGE_PURCHASING = "manage_purchasing"
    VIEW_PATIENTS = "view_patients"
    MANAGE_PATIENTS = "manage_patients"
    RECORD_OBSERVATIONS = "record_observations"
    VIEW_ORDERS = "view_orders"
    WRITE_ORDERS = "write_orders"
    VERIFY_ORDERS = "verify_orders"
    CANCEL_ORDERS = "cancel_orders"
    VIEW_PREPARATIONS = "view_preparations"
    PLAN_PREPARATIONS = "plan_preparations"
    RELEASE_TO_COMPOUND = "release_to_compound"
    COMPOUND = "compound"
    FINAL_CHECK = "final_check"
    PRINT_LABELS = "print_labels"
    DISPENSE = "dispense"
    HANDOFF = "handoff"
    ADMINISTER = "administer"
    VIEW_CHAIR_BOARD = "view_chair_board"
    EDUCATE = "educate"
    VIEW_SCHEDULE = "view_schedule"
    MANAGE_SCHEDULE = "manage_schedule"


ALL_ROLES: frozenset[Role] = frozenset(Role)

PERMISSIONS: dict[Action, frozenset[Role]] = {
    Action.PUBLIC: ALL_ROLES,
    Action.SIGNED_IN: ALL_ROLES,
    Action.VIEW_AUDIT: frozenset({Role.QUALITY, Role.ADMIN, Role.PHARMACIST}),
    Action.EXPORT_AUDIT: frozenset({Role.QUALITY, Role.ADMIN}),
    Action.VERIFY_AUDIT_CHAIN: frozenset({Role.QUALITY, Role.ADMIN}),
    Action.MANAGE_USERS: frozenset({Role.ADMIN}),
    Action.USE_ADMIN_SITE: frozenset({Role.ADMIN}),
    Action.VIEW_FORMULARY: ALL_ROLES,
    Action.MANAGE_FORMULARY: frozenset({Role.PHARMACIST, Role.ADMIN}),
    Action.VIEW_STOCK: frozenset(
        {Role.PHARMACIST, Role.TECHNICIAN, Role.INVENTORY, Role.NURSE, Role.SCHEDULER, Role.QUALITY, Role.ADMIN}
    ),
    Action.RECEIVE_STOCK: frozenset({Role.TECHNICIAN, Role.INVENTORY, Role.PHARMACIST}),
    Action.MOVE_STOCK: frozenset({Role.TECHNICIAN, Role.INVENTORY, Role.PHARMACIST}),
    Action.WASTE_STOCK: frozenset({Role.TECHNICIAN, Role.INVENTORY, Role.PHARMACIST}),
    Action.ADJUST_STOCK: frozenset({Role.INVENTORY, Role.PHARMACIST}),
    Action.QUARANTINE_LOT: frozenset({Role.INVENTORY, Role.PHARMACIST, Role.QUALITY}),
    Action.TRACE_LOT: frozenset({Role.INVENTORY, Role.PHARMACIST, Role.QUALITY}),
    Action.MANAGE_PURCHASING: frozenset({Role.INVENTORY, Role.PHARMACIST}),
    Action.VIEW_PATIENTS: frozenset(
        {Role.PRESCRIBER, Role.PHARMACIST, Role.TECHNICIAN, Role.NURSE, Role.SCHEDULER, Role.QUALITY}
    ),
    Action.MANAGE_PATIENTS: frozenset({Role.PRESCRIBER, Role.PHARMACIST, Role.NURSE, Role.SCHEDULER}),
    Action.RECORD_OBSERVATIONS: frozenset({Role.PRESCRIBER, Role.PHARMACIST, Role.NURSE}),
    Action.VIEW_ORDERS: frozenset(
        {Role.PRESCRIBER, Role.PHARMACIST, Role.TECHNICIAN, Role.NURSE, Role.SCHEDULER, Role.QUALITY}
    ),
    Action.WRITE_ORDERS: frozenset({Role.PRESCRIBER}),
    Action.VERIFY_ORDERS: frozenset({Role.PHARMACIST}),
    Action.CANCEL_ORDERS: frozenset({Role.PRESCRIBER, Role.PHARMACIST}),
    Action.VIEW_PREPARATIONS: frozenset({Role.PHARMACIST, Role.TECHNICIAN, Role.NURSE, Role.QUALITY}),
    Action.PLAN_PREPARATIONS: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.RELEASE_TO_COMPOUND: frozenset({Role.PHARMACIST, Role.NURSE}),
    Action.COMPOUND: frozenset({Role.TECHNICIAN, Role.PHARMACIST}),
    Action.FINAL_CHECK: frozenset({Role.PHARMACIST}),
    Action.PRINT_LABELS: frozenset({Role.PHARMACIST, Role.TECHNICIAN, Role.NURSE}),
    Action.DISPENSE: frozenset({Role.PHARMACIST, Role.TECHNICIAN}),
    Action.HANDOFF: frozenset({Role.PHARMACIST, Role.TECHNICIAN, Role.NURSE}),
    Action.ADMINISTER: frozenset({Role.NURSE}),
    Action.VIEW_CHAIR_BOARD: frozenset({Role.NURSE, Role.PHARMACIST, Role.TECHNICIAN, Role.SCHEDULER, Role.QUALITY}),
    Action.EDUCATE: frozenset({Role.NURSE, Role.PHARMACIST}),
    Action.VIEW_SCHEDULE: frozenset({Role.SCHEDULER, Role.NURSE, Role.PHARMACIST, Role.TECHNICIAN}),
    Action.MANAGE_SCHEDULE: frozenset({Role.SCHEDULER}),
}


def roles_allowed(action: Action) -> frozenset[Role]:
    return PERMISSIONS[action]


def is_allowed(roles: Iterable[str], action: Action) -> bool:
    """True when any of the given role codes may perform the action."""
    allowed = PERMISSIONS[action]
    return any(role in allowed for role in roles)
