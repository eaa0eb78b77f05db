"""``serve``, ``migrate`` and ``check``: running the app and keeping its database current."""

from __future__ import annotations

import argparse
import os
from typing import Any

from openinfusion.commands import emit, setup_django


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    serve = subparsers.add_parser("serve", help="serve the app with gunicorn (production-style)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=default_workers(), help="processes (default: 2 per core + 1)")
    serve.add_argument("--threads", type=int, default=4, help="threads per process (default 4)")
    serve.set_defaults(handler=run_serve)

    migrate = subparsers.add_parser("migrate", help="create or update the database tables")
    migrate.add_argument("--json", action="store_true")
    migrate.set_defaults(handler=run_migrate)

    check = subparsers.add_parser("check", help="check configuration, database and audit chain")
    check.add_argument("--json", action="store_true")
    check.set_defaults(handler=run_check)

    manage = subparsers.add_parser("manage", help="run a Django management command", add_help=False)
    manage.add_argument("arguments", nargs=argparse.REMAINDER)
    manage.set_defaults(handler=run_manage)


def default_workers() -> int:
    """Two processes per core and one more, capped at 9: with 4 threads each, one slow request (a
    re-plan, a big export) holds one thread, not the server."""
    return min(2 * (os.cpu_count() or 1) + 1, 9)


def gunicorn_settings(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "bind": f"{args.host}:{args.port}",
        "workers": args.workers,
        "worker_class": "gthread",
        "threads": args.threads,
        "accesslog": "-",
        "timeout": 120,  # a thread's request may take longer: the process keeps telling the arbiter it is alive
    }


def run_serve(args: argparse.Namespace) -> int:
    setup_django()
    from gunicorn.app.base import BaseApplication

    from openinfusion.wsgi import application

    class Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for name, value in gunicorn_settings(args).items():
                self.cfg.set(name, value)

        def load(self) -> Any:
            return application

    print(f"OpenInfusion is serving at http://{args.host}:{args.port}/", flush=True)
    Server().run()
    return 0


def run_migrate(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", interactive=False, verbosity=0 if args.json else 1)
    return emit({"migrated": True, "database": connection.vendor}, as_json=args.json, text="Database is up to date.")


def run_check(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.checks import run_checks
    from django.db import connection

    from openinfusion.audit.verify import verify_chain

    problems = [str(message) for message in run_checks(include_deployment_checks=False) if message.is_serious()]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    report = verify_chain()
    configuration = "ok" if not problems else "problems"
    result = {
        "configuration": configuration,
        "problems": problems,
        "database": connection.vendor,
        "audit_chain": report.as_dict(),
    }
    text = "\n".join(
        [
            *problems,
            f"Configuration {configuration}; database {connection.vendor} reachable; audit chain "
            + (f"intact ({report.count} events)." if report.intact else f"BROKEN at event {report.first_broken_id}."),
        ]
    )
    emit(result, as_json=args.json, text=text)
    return 0 if report.intact and not problems else 1


def run_manage(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["openinfusion manage", *args.arguments])
    return 0
