"""The allergy groups of ``data/allergy_groups.yaml`` as a ``clinical.allergy.Table`` (read once)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

from openinfusion.clinical.allergy import Group, Table

PATH = Path(__file__).parent / "data" / "allergy_groups.yaml"


@cache
def table() -> Table:
    rows = yaml.safe_load(PATH.read_text(encoding="utf-8"))["groups"]
    return Table(
        tuple(
            Group(
                key=row["key"],
                names=tuple(row.get("names", ())),
                drugs=tuple(row.get("drugs", ())),
                cross_sensitive=tuple(row.get("cross_sensitive") or ()),
                source=row["source"],
            )
            for row in rows
        )
    )
