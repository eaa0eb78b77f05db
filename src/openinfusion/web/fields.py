"""What people type into the screens' forms, read as a pharmacist or nurse means it: numbers with a
point for decimals, times on the 24-hour clock of the site the record belongs to. Each refusal
says what was wrong and how to write it."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from openinfusion.accounts.models import Site
from openinfusion.errors import InvalidInput

_TIME = re.compile(r"(?P<hour>[01]?\d|2[0-3]):?(?P<minute>[0-5]\d)")


def number(text: str | None, what: str) -> Decimal | None:
    """A decimal number, or None when the field was left empty."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    if "," in cleaned:
        raise InvalidInput(
            f"{what}: “{cleaned}” has a comma. Type a point for decimals ({cleaned.replace(',', '.')}).",
            code="INVALID_INPUT",
        )
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(f"{what}: “{cleaned}” is not a number.", code="INVALID_INPUT") from None
    if not value.is_finite():
        raise InvalidInput(f"{what}: “{cleaned}” is not a number.", code="INVALID_INPUT")
    return value


def required_number(text: str | None, what: str) -> Decimal:
    value = number(text, what)
    if value is None:
        raise InvalidInput(f"{what} is empty: type a number.", code="MISSING_FIELD")
    return value


def whole(text: str | None, what: str) -> int | None:
    """A whole number, or None when the field was left empty."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    try:
        return int(cleaned)
    except ValueError:
        raise InvalidInput(f"{what}: “{cleaned}” is not a whole number.", code="INVALID_INPUT") from None


def required_whole(text: str | None, what: str) -> int:
    value = whole(text, what)
    if value is None:
        raise InvalidInput(f"{what} is empty: type a whole number.", code="MISSING_FIELD")
    return value


def date(text: str | None, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat((text or "").strip())
    except ValueError:
        raise InvalidInput(f"{what} must be a date like 2026-03-14.", code="INVALID_INPUT") from None


def time_of_day(text: str | None, what: str) -> dt.time:
    """A time on the 24-hour clock: 09:30, 9:30 or 0930."""
    match = _TIME.fullmatch((text or "").strip())
    if match is None:
        raise InvalidInput(f"{what} must be a time on the 24-hour clock, like 09:30 or 14:00.", code="INVALID_INPUT")
    return dt.time(int(match["hour"]), int(match["minute"]))


def site_moment(site: Site, day_text: str | None, time_text: str | None, what: str) -> dt.datetime:
    """The instant a date and a time typed for ``site`` mean on that site's clock; a time that
    clock skips (the hour lost when summer time starts) is refused, naming the field."""
    day, at = date(day_text, f"{what} (date)"), time_of_day(time_text, f"{what} (time)")
    try:
        return site.moment(day, at)
    except InvalidInput as error:
        raise InvalidInput(f"{what}: {error.message}", code=error.code, details=error.details) from None


def site_datetime(site: Site, text: str | None, what: str) -> dt.datetime | None:
    """A date and time in one field ("2026-03-14T09:30" from a datetime-local input, or with a
    space) on the site's clock; None when the field was left empty."""
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    day, _, at = cleaned.replace("T", " ").partition(" ")
    return site_moment(site, day, at, what)
