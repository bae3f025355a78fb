"""Date and time formats the sandbox stores and compares.

The live API mixes formats in ``date-time`` fields (docs/API_FACTS.md#dates-and-timestamps): ``DueDate`` is
date-only, ``PaymentDate`` is ``...T00:00:00Z`` on customer invoices and date-only on supplier
invoices, and server timestamps carry 7 fractional digits like .NET's ``DateTime`` ("o" format).
Server-set ``*Utc`` timestamps are stored in one fixed-width form (``STAMP_LEN`` characters), so that
string order equals time order; ``instant_key`` turns any accepted form into that form for comparisons.
"""

from __future__ import annotations

import re
import threading
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from eaccounting_api import timeparse

STAMP_LEN = len("2024-01-01T00:00:00.0000000Z")
_DATE_TIME_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?"
    r"(Z|[+-]\d{2}:\d{2})?$"
)


def stamp(moment: datetime) -> str:
    """``2024-05-01T12:34:56.1234560Z``: a UTC timestamp with 7 fractional digits."""
    moment = moment.astimezone(UTC) if moment.tzinfo else moment
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{moment.microsecond:06d}0Z"


def midnight_z(day: date) -> str:
    """``2024-05-01T00:00:00Z``: how customer-invoice ``PaymentDate`` and most document dates come back."""
    return f"{day.isoformat()}T00:00:00Z"


def date_only(day: date) -> str:
    """``2024-05-01``: how ``DueDate`` and supplier-invoice ``PaymentDate`` come back."""
    return day.isoformat()


def parse_instant(text: str) -> datetime | None:
    """Parse a date or date-time the way the API accepts them, as naive UTC; ``None`` if it is not one.

    The regex decides what the emulated API accepts (ISO 8601 extended form, at most 7 fractional
    digits); ``eaccounting_api.timeparse`` does the parsing the tap and target share.
    """
    if not _DATE_TIME_RE.match(text.strip()):
        return None
    try:
        return timeparse.parse_utc(text).replace(tzinfo=None)
    except ValueError:
        return None


def instant_key(value: str) -> str | None:
    """A fixed-width sortable key for any date or date-time string (``None`` if unparsable).

    Values already in the stored form are returned as they are (the fast path over 1M records).
    """
    if len(value) == STAMP_LEN and value[-1] == "Z" and value[10] == "T":
        return value
    return _slow_instant_key(value)


@lru_cache(maxsize=65536)
def _slow_instant_key(value: str) -> str | None:
    # Dates such as DueDate repeat across records (a few thousand distinct days), so a cache pays.
    moment = parse_instant(value)
    return None if moment is None else stamp(moment)


@lru_cache(maxsize=65536)
def parse_day(text: str) -> date | None:
    """The calendar date of a date or date-time string (``None`` if unparsable; cached: days repeat)."""
    moment = parse_instant(text)
    return None if moment is None else moment.date()


class Clock:
    """Strictly increasing server timestamps, so every write gets a fresh ``ModifiedUtc``."""

    def __init__(self) -> None:
        self._last = datetime(2000, 1, 1)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            current = datetime.now(UTC).replace(tzinfo=None)
            if current <= self._last:
                current = self._last + timedelta(microseconds=1)
            self._last = current
            return current

    def stamp(self) -> str:
        return stamp(self.now())

    def advance_past(self, latest: str) -> None:
        """Never hand out a stamp at or before ``latest`` (the newest generated one): incremental syncs
        bookmark the highest ``ModifiedUtc`` they saw, so a later write must sort after it."""
        moment = parse_instant(latest)
        with self._lock:
            if moment is not None and moment > self._last:
                self._last = moment
