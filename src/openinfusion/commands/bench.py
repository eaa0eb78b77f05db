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
