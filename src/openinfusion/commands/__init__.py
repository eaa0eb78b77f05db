"""Subcommands of the ``openinfusion`` CLI, and the helpers they share."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from openinfusion.errors import DomainError


def setup_django() -> None:
    """Configure Django for a command that needs the database or the models."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "openinfusion.settings")
    import django

    django.setup()


def emit(result: dict[str, Any], *, as_json: bool, text: str) -> int:
    """Print a result as one JSON object (``--json``) or as a readable line; exit code 0."""
    print(json.dumps(result, default=str, sort_keys=True) if as_json else text)
    return 0


def fail(error: DomainError, *, as_json: bool, exit_code: int = 2) -> int:
    """Print a refusal as ``{"error": {"code", "message"}}`` (``--json``) or on stderr; non-zero exit."""
    if as_json:
        print(json.dumps({"error": error.as_dict()}, default=str, sort_keys=True))
    else:
        print(f"error [{error.code}]: {error.message}", file=sys.stderr)
    return exit_code
