"""The ``openinfusion`` command: one entry point, a subcommand per task.

Each module in ``openinfusion.commands`` registers its subcommands with ``register(subparsers)``
and sets ``handler`` on its parser; a handler takes the parsed arguments and returns the exit code.
Commands that need the database call ``commands.setup_django()`` themselves, so ``calc`` runs
without any configuration.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from openinfusion import __version__
from openinfusion.commands import accounts, audit, bench, calc, formulary, inventory, schedule, server, worker


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="openinfusion", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"openinfusion {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (server, worker, accounts, audit, formulary, inventory, calc, bench, schedule):
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    code: int = args.handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
