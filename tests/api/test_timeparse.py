"""The one timestamp parser: every form the live API sends (docs/API_FACTS.md#dates-and-timestamps)."""

from __future__ import annotations

import datetime as dt

import pytest

from eaccounting_api import timeparse


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-06-24", dt.datetime(2026, 6, 24, tzinfo=dt.UTC)),  # date-only DueDate
        ("2026-06-25T00:00:00Z", dt.datetime(2026, 6, 25, tzinfo=dt.UTC)),  # customer-invoice PaymentDate
        ("2026-11-24T15:14:04.0225761Z", dt.datetime(2026, 11, 24, 15, 14, 4, 22576, tzinfo=dt.UTC)),
        ("2024-01-01T23:30:00-02:00", dt.datetime(2024, 1, 2, 1, 30, tzinfo=dt.UTC)),
        ("2024-01-01T10:00:00", dt.datetime(2024, 1, 1, 10, tzinfo=dt.UTC)),  # no offset: UTC
    ],
)
def test_parses_every_observed_form(text: str, utc: dt.datetime) -> None:
    assert timeparse.parse_utc(text) == utc


def test_calendar_date_is_the_one_written_not_the_utc_one() -> None:
    # A document dated late on Jan 1 in UTC-2 belongs to Jan 1's fiscal year, though it is Jan 2 in UTC.
    assert timeparse.parse_date("2024-01-01T23:30:00-02:00") == dt.date(2024, 1, 1)


@pytest.mark.parametrize("text", ["", "x", "2024-13-01", "2024-02-30", "yesterday"])
def test_rejects_what_is_not_a_date(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601"):
        timeparse.parse_instant(text)


@pytest.mark.parametrize(
    ("text", "emitted"),
    [
        ("2026-06-24", "2026-06-24T00:00:00Z"),  # date-only DueDate: midnight UTC
        ("2026-01-31T10:00:00", "2026-01-31T10:00:00Z"),  # no zone: UTC
        ("2026-01-31T10:00", "2026-01-31T10:00:00Z"),
        ("2026-01-31T10:00:00+01:00", "2026-01-31T09:00:00Z"),  # an offset: converted
        ("2026-01-31T00:30:00.1234567+01:00", "2026-01-30T23:30:00.1234567Z"),  # across midnight, digits kept
        ("2026-01-31T22:00:00-0230", "2026-02-01T00:30:00Z"),
        ("2026-01-31t10:00:00z", "2026-01-31T10:00:00Z"),
        ("2026-11-24T15:14:04.0225761Z", "2026-11-24T15:14:04.0225761Z"),  # already RFC 3339 UTC: as is
        ("0001-01-01T00:00:00", "0001-01-01T00:00:00Z"),  # .NET's DateTime.MinValue
    ],
)
def test_to_rfc3339_utc(text: str, emitted: str) -> None:
    assert timeparse.to_rfc3339_utc(text) == emitted
    assert timeparse.is_rfc3339_utc(emitted)
    assert timeparse.parse_utc(emitted) == timeparse.parse_utc(text.upper())


@pytest.mark.parametrize(
    "text",
    [
        "2026-06-24",
        "2026-01-31T10:00:00",
        "2026-01-31T10:00:00+00:00",
        "2026-13-01T00:00:00Z",
        "2026-01-31 10:00:00Z",
    ],
)
def test_is_rfc3339_utc_only_for_the_emitted_form(text: str) -> None:
    assert not timeparse.is_rfc3339_utc(text)


@pytest.mark.parametrize("text", ["", "x", "2024-02-30", "2026-01-31T25:00:00", "0001-01-01T00:30:00+01:00"])
def test_to_rfc3339_utc_rejects_what_is_not_a_date(text: str) -> None:
    with pytest.raises(ValueError, match="is not an ISO 8601"):
        timeparse.to_rfc3339_utc(text)
