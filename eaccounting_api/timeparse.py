"""Timestamps as the eAccounting API writes them, parsed one way by the tap, the target and the sandbox.

The live API strays from its spec's ``date-time`` (docs/API_FACTS.md#dates-and-timestamps): ``DueDate`` and
supplier-invoice ``PaymentDate`` come back date-only, customer-invoice ``PaymentDate`` as midnight ``Z``,
and ``ServerTimeUtc`` with 7 fractional digits. pendulum's ISO 8601 parser takes all of them: a date
alone is midnight, no offset means UTC, and fractions beyond microseconds are truncated (which only
ever moves a lower bound earlier).

What the tap emits for a ``date-time`` property is RFC 3339 in one form, UTC with ``Z``
(``to_rfc3339_utc``): strict loaders reject a date alone, target-postgres stores ``timestamp without
time zone`` and target-snowflake drops an offset, so only ``Z`` means the same instant everywhere.
"""

from __future__ import annotations

import datetime as dt
import re

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


# RFC 3339 (section 5.6) in UTC with ``Z``: what the tap emits. Any number of fraction digits (the API
# sends 7); a leap second (``:60``) is RFC 3339 too. A Python pattern (``\Z``: no trailing newline).
RFC3339_UTC = (
    r"^\d{4}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])"
    r"T(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d+)?Z\Z"
)
RFC3339_UTC_RE = re.compile(RFC3339_UTC)
# A date, optionally a time (seconds and fraction optional), optionally a zone: what gets normalised.
_LOOSE_RE = re.compile(
    r"^(\d{4}-\d\d-\d\d)(?:[Tt ](\d\d:\d\d(?::\d\d)?)(\.\d+)?)?\s*(Z|z|[+-]\d\d(?::?\d\d)?)?$"
)


def is_rfc3339_utc(value: str) -> bool:
    """Whether ``value`` is already in the form the tap emits (RFC 3339, UTC, ``Z``)."""
    return RFC3339_UTC_RE.match(value) is not None


def to_rfc3339_utc(value: str) -> str:
    """``value`` as RFC 3339 in UTC with ``Z``: a date alone is midnight UTC (``2026-06-24`` ->
    ``2026-06-24T00:00:00Z``), a time without a zone is UTC, an offset is converted (``10:00:00+01:00``
    -> ``09:00:00Z``); fraction digits are kept as written (7 stay 7). Text already in that form is
    returned as it is.

    Raises ``ValueError`` for anything that is not a date or date-time.
    """
    if RFC3339_UTC_RE.match(value):
        return value
    match = _LOOSE_RE.match(value.strip())
    if match is None:
        raise ValueError(f"{value!r} is not an ISO 8601 date or date-time")
    day, clock, fraction, zone = match.groups()
    clock = clock or "00:00:00"
    if len(clock) == 5:
        clock += ":00"
    try:
        moment = dt.datetime.fromisoformat(f"{day}T{clock}")
        if zone and zone not in ("Z", "z"):
            digits = zone[1:].replace(":", "")
            offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:] or 0))
            moment = moment - offset if zone[0] == "+" else moment + offset
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{value!r} is not an ISO 8601 date or date-time") from exc
    return moment.isoformat() + (fraction or "") + "Z"
