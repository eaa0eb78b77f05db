"""``openinfusion bench compounding``: the throughput benchmark of the scan–weigh–check path.

It prints the figure beside its baseline, measured in the same run. It writes its own site,
patient and orders, so it refuses a database with real data unless ``--force``; run it on a
fresh data directory (``OPENINFUSION_DATA_DIR=$(mktemp -d)``) or a scratch PostgreSQL database.
"""

from __future__ import annotations

import argparse
import sys

from openinfusion.commands import emit, fail, schedule, setup_django
from openinfusion.errors import DomainError, InvalidInput


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    bench = subparsers.add_parser("bench", help="benchmarks: each figure beside its baseline, same run")
    kinds = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCHMARK")
    compounding = kinds.add_parser(
        "compounding", help="preparations per minute through plan, scans, weighings, final check and label"
    )
    compounding.add_argument("--preparations", type=int, default=50, metavar="N", help="how many (default 50)")
    compounding.add_argument(
        "--force", action="store_true", help="run even though the database has real data (what it writes stays)"
    )
    compounding.add_argument("--json", action="store_true")
    compounding.set_defaults(handler=run_compounding)
    schedule.register_bench(kinds)
    register_load(kinds)


def register_load(kinds: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """``openinfusion bench load``: the screens under load with a year of history, beside their SQL."""
    load = kinds.add_parser(
        "load", help="a year of history, then the screens under locust load beside their plain queries"
    )
    load.add_argument("--scale", type=float, default=1.0, help="history size; 1.0 = 3,000 patients, 1M audit events")
    load.add_argument("--seed", type=int, default=1, help="for the generated history (default 1)")
    load.add_argument("--rate", type=float, default=50.0, metavar="PER_SECOND", help="requests/s offered (default 50)")
    load.add_argument("--duration", type=float, default=300.0, metavar="SECONDS", help="of load (default 300)")
    load.add_argument("--users", type=int, default=10, metavar="N", help="people signed in (default 10, at least 5)")
    load.add_argument("--repeat", type=int, default=50, metavar="N", help="runs of each plain query (default 50)")
    load.add_argument("--reuse", action="store_true", help="load the history already in this database")
    load.add_argument("--json", action="store_true")
    load.set_defaults(handler=run_load)


def run_load(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command

    from openinfusion.bench import load

    try:
        if not 0 < args.scale <= 10:
            raise InvalidInput("Give a scale above 0 and at most 10.", code="INVALID_INPUT")
        if args.rate <= 0 or args.duration <= 0 or args.repeat < 1:
            raise InvalidInput("Give a positive rate, duration and repeat.", code="INVALID_INPUT")
        if not 5 <= args.users <= 500:
            raise InvalidInput("Give between 5 and 500 users (one of each role at least).", code="INVALID_INPUT")
        call_command("migrate", interactive=False, verbosity=0)
        load.refuse_real_data(args.reuse)
        report = load.run(
            scale=args.scale,
            seed=args.seed,
            rate=args.rate,
            duration=args.duration,
            users=args.users,
            repeat=args.repeat,
            reuse=args.reuse,
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except DomainError as error:
        return fail(error, as_json=args.json)
    return emit(report, as_json=args.json, text=load.as_text(report))


def run_compounding(args: argparse.Namespace) -> int:
    setup_django()
    from django.core.management import call_command

    from openinfusion.bench import compounding

    try:
        if args.preparations < 1:
            raise InvalidInput("Give at least one preparation.", code="INVALID_INPUT")
        compounding.refuse_real_data(args.force)
        call_command("migrate", interactive=False, verbosity=0)
        report = compounding.run(
            args.preparations,
            force=args.force,
            progress=None if args.json else lambda line: print(line, file=sys.stderr),
        )
    except DomainError as error:
        return fail(error, as_json=args.json)
    return emit(report, as_json=args.json, text=compounding.as_text(report))
