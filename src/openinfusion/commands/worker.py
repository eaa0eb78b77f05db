"""``worker``: run the background work (django-tasks' database worker) beside the web server."""

from __future__ import annotations

import argparse

from openinfusion.commands import setup_django


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    worker = subparsers.add_parser("worker", help="run background jobs (chain checks, exports, plans)")
    worker.add_argument("--batch", action="store_true", help="run what is queued now, then stop")
    worker.add_argument("--interval", type=float, default=1.0, help="seconds between looks at the queue")
    worker.set_defaults(handler=run_worker)


def run_worker(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command

    call_command("db_worker", batch=args.batch, interval=args.interval, no_startup_delay=True, reload=False)
    return 0
