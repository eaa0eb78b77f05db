"""``formulary import``: load or update drugs and products from YAML."""

from __future__ import annotations

import argparse
from pathlib import Path

from openinfusion.commands import emit, fail, setup_django
from openinfusion.errors import DomainError


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    formulary = subparsers.add_parser("formulary", help="the formulary")
    actions = formulary.add_subparsers(dest="formulary_command", required=True, metavar="ACTION")
    load = actions.add_parser("import", help="load or update drugs and products from YAML files")
    load.add_argument("files", nargs="*", type=Path, help="YAML files with drugs: and/or products: lists")
    load.add_argument("--starter", action="store_true", help="load the bundled starter formulary")
    load.add_argument("--json", action="store_true")
    load.set_defaults(handler=run_import)


def run_import(args: argparse.Namespace) -> int:
    setup_django()
    from openinfusion.formulary.importer import STARTER_FILES, import_formulary

    paths = list(args.files) + (list(STARTER_FILES) if args.starter or not args.files else [])
    try:
        result = import_formulary(paths, actor=None)
    except DomainError as error:
        return fail(error, as_json=args.json)
    text = (
        f"Formulary loaded: {result.drugs_created} drugs added, {result.drugs_updated} updated; "
        f"{result.products_created} products added, {result.products_updated} updated."
    )
    return emit(result.__dict__, as_json=args.json, text=text)
