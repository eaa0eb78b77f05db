"""``audit verify``: recompute the hash chain and name the first broken event."""

from __future__ import annotations

import argparse

from openinfusion.commands import emit, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    audit = subparsers.add_parser("audit", help="the audit trail")
    actions = audit.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    verify = actions.add_parser("verify", help="recompute the hash chain")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    setup_django()
    from openinfusion.audit.verify import verify_chain

    report = verify_chain()
    if report.intact:
        text = f"Audit chain intact: {report.count} events verified."
    else:
        text = (
            f"Audit chain BROKEN at event {report.first_broken_id}: {report.problem} "
            f"({report.count} verified before it)."
        )
    emit(report.as_dict(), as_json=args.json, text=text)
    return 0 if report.intact else 1
