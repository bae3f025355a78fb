"""Timestamps as the eAccounting API writes them, parsed one way by the tap, the target and the sandbox.

The live API strays from its spec's ``date-time`` (docs/API_FACTS.md#dates-and-timestamps): ``DueDate`` and
supplier-invoice ``PaymentDate`` come back date-only, customer-invoice ``PaymentDate`` as midnight ``Z``,
and ``ServerTimeUtc`` with 7 fractional digits. pendulum's ISO 8601 parser takes all of them: a date
alone is midnight, no offset means UTC, and fractions beyond microseconds are truncated (which only
ever moves a lower bound earlier).
"""

from __future__ import annotations

import datetime as dt

import pendulum
from pendulum.parsing.exceptions import ParserError


def parse_instant(value: str) -> dt.datetime:
    """An aware datetime in the offset the text carries (UTC when it carries none).

    Raises ``ValueError`` for anything that is not an ISO 8601 date or date-time.
    """
    try:
        parsed = pendulum.parse(value.strip(), exact=True)
    except (ParserError, ValueError) as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date or date-time") from exc
    if isinstance(parsed, dt.datetime):
        offset = parsed.utcoffset() or dt.timedelta(0)
        return dt.datetime.combine(parsed.date(), parsed.time(), tzinfo=dt.timezone(offset))
    if isinstance(parsed, dt.date):
        return dt.datetime.combine(parsed, dt.time(), tzinfo=dt.UTC)
    raise ValueError(f"{value!r} is not a date or date-time")


def parse_utc(value: str) -> dt.datetime:
    """``parse_instant`` converted to UTC."""
    return parse_instant(value).astimezone(dt.UTC)


def parse_date(value: str) -> dt.date:
    """The calendar date as written (``2026-06-24``, ``2026-06-25T00:00:00Z``, ``…T10:00:00+02:00``)."""
    return parse_instant(value).date()
