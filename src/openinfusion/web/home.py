"""What each role does, as listed on its home page.

A task names the URL of its screen once that screen exists; until then it is listed as work the
role does in OpenInfusion without a link. Later capabilities add their URL names here.
"""

from __future__ import annotations

from dataclasses import dataclass

from openinfusion.accounts.permissions import Role


@dataclass(frozen=True)
class Task:
    title: str
    description: str
    url_name: str | None = None


TASKS: dict[Role, tuple[Task, ...]] = {
    Role.PRESCRIBER: (
        Task("Patients", "Charts with labs and trends; start treatment plans and submit orders.", "patients:list"),
        Task("Returned orders", "Answer orders a pharmacist returned with a reason.", "orders:returned"),
    ),
    Role.PHARMACIST: (
        Task("Verify orders", "Check dose, labs, allergies and cumulative dose; sign electronically.", "orders:queue"),
        Task("Patients", "Charts: measurements, labs, allergies, plans and orders.", "patients:list"),
        Task(
            "Final check",
            "Review scans, weights and photos of prepared doses; sign to release the label.",
            "compounding:checks",
        ),
        Task("Formulary", "Drugs, products, hazard groups, limits and stability.", "formulary:browser"),
        Task("Recall and trace", "Quarantine a lot and find every package of it.", "inventory:recall"),
        Task("Audit trail", "Look up who did what and when.", "audit:report"),
    ),
    Role.TECHNICIAN: (
        Task(
            "Compounding queue",
            "Prepare released doses step by step: scan every component and weigh.",
            "compounding:queue",
        ),
        Task("Open vials", "Punctured vials still in date, offered to the next dose.", "compounding:open_vials"),
        Task("Dispensing", "Send checked doses to chairs, wards and homes; returns.", "administration:dispensing"),
        Task("Receive stock", "Scan GS1 barcodes of delivered packages into inventory.", "inventory:receive"),
        Task("Stock", "What is on each shelf, by lot and expiry.", "inventory:stock"),
    ),
    Role.NURSE: (
        Task("Chair board", "See today's patients and the live status of each dose.", "administration:board"),
        Task(
            "Bedside administration",
            "Scan wristband and label, program the pump, record the infusion.",
            "administration:bedside",
        ),
        Task("Patients", "Record weights, labs and allergies.", "patients:list"),
        Task(
            "Compounding queue", "Doses being made for your chairs, and when each will be ready.", "compounding:queue"
        ),
    ),
    Role.SCHEDULER: (
        Task(
            "Day board",
            "Book chairs and nurses so the day flows, and tell the pharmacy when doses are due.",
            "chairs:board",
        ),
    ),
    Role.INVENTORY: (
        Task("Stock", "Lots and expiry by location.", "inventory:stock"),
        Task("Receive stock", "Scan GS1 barcodes of delivered packages.", "inventory:receive"),
        Task("Expiring", "Lots expiring within 30, 60 or 90 days.", "inventory:expiring"),
        Task("Reorder", "Products below their reorder point and purchase orders.", "inventory:reorder"),
        Task("Recall and trace", "Quarantine a lot and find every package of it.", "inventory:recall"),
    ),
    Role.BIOMED: (Task("Equipment", "Pumps and devices: calibration, inspection, battery and alarm checks, repairs."),),
    Role.QUALITY: (
        Task("Audit trail", "Report and export who did what and when; check the chain is intact.", "audit:report"),
        Task("Compliance", "Environmental monitoring, cleaning, competency and incidents."),
        Task("Recall and trace", "Quarantine a lot and find every package of it.", "inventory:recall"),
    ),
    Role.ADMIN: (
        Task("People and roles", "Add people, give roles at sites, unlock and deactivate accounts.", "accounts:users"),
        Task("Admin site", "Sites, locations and the records behind the screens.", "admin:index"),
        Task("Audit trail", "Report and export who did what and when.", "audit:report"),
        Task("API", "Interactive API documentation and tokens for machine clients.", "api:openapi-view"),
    ),
}


def tasks_for(role_codes: set[str]) -> list[tuple[Role, tuple[Task, ...]]]:
    return [(role, TASKS[role]) for role in Role if role.value in role_codes]
