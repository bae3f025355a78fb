"""Fiscal-year choice: the year containing the document's own date, never today's.

Fiscal years are fetched once per run (:class:`FiscalYears`); :func:`choose` is pure.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eaccounting_api import timeparse
from target_eaccounting.record_errors import RecordError


@dataclass(frozen=True)
class FiscalYear:
    id: str
    start: dt.date
    end: dt.date
    locked: bool

    def describe(self) -> str:
        return f"{self.start}..{self.end}{' (locked)' if self.locked else ''}"


def parse_date(value: Any, field: str) -> dt.date:
    """A date from ``yyyy-mm-dd`` or an ISO date-time (the API uses both for date-only fields)."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return timeparse.parse_date(value)
        except ValueError:
            pass
    raise RecordError("invalid_record", f"{value!r} is not a date (expected yyyy-mm-dd)", field=field)


def from_api(items: Iterable[Mapping[str, Any]]) -> list[FiscalYear]:
    years = [
        FiscalYear(
            id=str(item["Id"]),
            start=parse_date(item["StartDate"], "StartDate"),
            end=parse_date(item["EndDate"], "EndDate"),
            locked=bool(item.get("IsLockedForAccounting")),
        )
        for item in items
    ]
    return sorted(years, key=lambda y: y.start)


def choose(years: list[FiscalYear], date: dt.date, field: str) -> FiscalYear:
    """The fiscal year containing ``date``; outside every year or in a locked one is a record error."""
    existing = ", ".join(y.describe() for y in years) or "none"
    for year in years:
        if year.start <= date <= year.end:
            if year.locked:
                raise RecordError(
                    "fiscal_year",
                    f"{field} {date} falls in fiscal year {year.describe()}, which is locked for "
                    f"accounting. Fiscal years: {existing}",
                    field=field,
                )
            return year
    raise RecordError(
        "fiscal_year",
        f"{field} {date} is outside every fiscal year of the company. Fiscal years: {existing}",
        field=field,
    )


class FiscalYears:
    """The tenant's fiscal years, fetched on first use and then cached for the run."""

    def __init__(self, fetch: Callable[[], Sequence[Mapping[str, Any]]]) -> None:
        self._fetch = fetch
        self._years: list[FiscalYear] | None = None
        self._lock = threading.Lock()

    def years(self) -> list[FiscalYear]:
        with self._lock:
            if self._years is None:
                self._years = from_api(self._fetch())
            return self._years

    def for_document(self, record: Mapping[str, Any], date_field: str) -> FiscalYear:
        """The year of the record's own date; a missing date means the API's default, today."""
        value = record.get(date_field)
        date = dt.date.today() if value in (None, "") else parse_date(value, date_field)
        return choose(self.years(), date, date_field)
