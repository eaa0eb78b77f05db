from __future__ import annotations

import datetime as dt

from django import template

from openinfusion.inventory.models import Lot

register = template.Library()


@register.filter
def lot_status(lot: Lot, today: dt.date) -> str:
    """The status a person should act on today (expired is derived from the date)."""
    return lot.effective_status(today)
