"""Pure helpers of eaccounting_api.paging: literals, keyset expressions, timestamps, page decoding."""

from __future__ import annotations

import datetime as dt
import random
import uuid

import msgspec
import pytest

from eaccounting_api import paging

GUID = "0f8c6a8e-1b2c-4d5e-8f90-1234567890ab"


def test_literals() -> None:
    assert paging.literal(GUID) == GUID  # OData v4 Guid: unquoted
    assert paging.literal("2026-01-01T15:14:04.0225761Z") == "2026-01-01T15:14:04.0225761Z"
    assert paging.literal("O'Brien") == "'O''Brien'"
    assert paging.literal(1910) == "1910"
    assert paging.literal(None) == "null"
    assert paging.literal(True) == "true"


def test_keyset_expressions() -> None:
    assert paging.after(("Id",), (GUID,)) == f"Id gt {GUID}"
    assert paging.after(("A", "B"), ("x", 2)) == "(A gt 'x') or (A eq 'x' and B gt 2)"
    assert paging.before(("A", "B"), ("x", 2)) == "(A lt 'x') or (A eq 'x' and B lt 2)"
    assert paging.conjunction(None, "a eq 1") == "a eq 1"
    assert paging.conjunction("a eq 1", "b eq 2") == "(a eq 1) and (b eq 2)"
    assert paging.conjunction(None, None) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-06-24", dt.datetime(2026, 6, 24, tzinfo=dt.UTC)),
        ("2026-01-01T15:14:04.0225761Z", dt.datetime(2026, 1, 1, 15, 14, 4, 22576, tzinfo=dt.UTC)),
        ("2026-01-01T15:14:04Z", dt.datetime(2026, 1, 1, 15, 14, 4, tzinfo=dt.UTC)),
        ("2026-01-01T17:14:04+02:00", dt.datetime(2026, 1, 1, 15, 14, 4, tzinfo=dt.UTC)),
    ],
)
def test_parse_instant_tolerates_the_api_forms(text: str, expected: dt.datetime) -> None:
    assert paging.parse_instant(text) == expected


def test_odata_instant_keeps_the_servers_form_and_normalizes_others() -> None:
    assert paging.odata_instant("2026-01-01T15:14:04.0225761Z") == "2026-01-01T15:14:04.0225761Z"
    assert paging.odata_instant("2026-01-01T17:14:04+02:00") == "2026-01-01T15:14:04Z"
    assert paging.odata_instant("2026-06-24") == "2026-06-24T00:00:00Z"


def test_decode_page_full_and_pass_through() -> None:
    body = msgspec.json.encode(
        {
            "Meta": {"CurrentPage": 2, "PageSize": 2, "TotalNumberOfPages": 3, "TotalNumberOfResults": 5,
                     "ServerTimeUtc": "2026-01-01T00:00:00.1234567Z"},
            "Data": [{"Id": GUID, "ModifiedUtc": "2026-01-01", "Rows": [{"X": 1}]}],
        }
    )  # fmt: skip
    full = paging.decode_page(body, "GET /x")
    assert (full.number, full.size, full.total_pages, full.total_results) == (2, 2, 3, 5)
    assert full.data == [{"Id": GUID, "ModifiedUtc": "2026-01-01", "Rows": [{"X": 1}]}]
    raw = paging.decode_page(body, "GET /x", ("Id", "ModifiedUtc"))
    record = raw.data[0]
    assert isinstance(record, paging.RawRecord)
    assert dict(record) == {"Id": GUID, "ModifiedUtc": "2026-01-01"}
    assert msgspec.json.decode(record.raw) == full.data[0]


def test_decode_page_names_the_request_on_a_bad_body() -> None:
    with pytest.raises(ValueError, match="GET /customers: response is not a paginated envelope"):
        paging.decode_page(b'[{"Id": 1}]', "GET /customers")


def test_page_size_errors_are_told_apart() -> None:
    assert paging.is_page_size_error("Query parameter $pagesize must be at most 1000, got 2000.")
    assert not paging.is_page_size_error("The query specified in the URI is not valid. Syntax error")


@pytest.mark.parametrize(
    ("message", "refused", "stated"),
    [
        ("Query parameter $pagesize must be at most 1000, got 2000.", 2000, 1000),  # the sandbox
        ("pagesize must be <= 500", 1000, 500),
        ("The limit of '500' for Top query has been exceeded. The value from the incoming request is '1000'.",
         1000, 500),
        ("Page size too large.", 1000, None),  # blames the page size, names no maximum
    ],
)  # fmt: skip
def test_page_size_errors_and_the_maximum_they_name(message: str, refused: int, stated: int | None) -> None:
    assert paging.is_page_size_error(message)
    assert paging.named_page_size(message, refused) == stated
    assert not paging.blames_filter(message)


def test_what_else_a_400_may_blame() -> None:
    plain = "The query specified in the URI is not valid."
    assert not paging.is_page_size_error(plain)
    assert not paging.blames_filter(plain)
    assert not paging.blames_orderby(plain)
    assert paging.named_page_size("Invalid $filter near position 1000", 2000) is None
    assert paging.blames_filter("Invalid $filter: unknown function.")
    assert paging.blames_orderby("$orderby is not supported.")
    assert paging.smaller_page_sizes(1000) == [500, 200, 100, 50, 20, 10]


def test_instant_ticks_keep_the_servers_seven_digits() -> None:
    a, b = "2026-01-01T15:14:04.0225761Z", "2026-01-01T15:14:04.0225762Z"
    assert paging.instant_ticks(b) - paging.instant_ticks(a) == 1  # parse_instant would make them equal
    assert paging.instant_ticks("2026-01-01T15:14:04Z") < paging.instant_ticks(a)  # not a string comparison
    assert paging.instant_ticks("2026-01-01T17:14:04.5+02:00") == paging.instant_ticks(
        "2026-01-01T15:14:04.5Z"
    )
    assert paging.instant_ticks("2026-01-01") == paging.instant_ticks("2026-01-01T00:00:00Z")


def test_order_checks_accept_either_guid_collation() -> None:
    rng = random.Random(5)
    ids = [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(30)]
    ordinal = sorted(ids)
    sql_server = sorted(ids, key=paging.COLLATIONS[1])
    assert ordinal != sql_server
    assert paging.in_order([(i,) for i in ordinal])
    assert paging.in_order([(i,) for i in sql_server])
    assert not paging.in_order([(i,) for i in ids])  # the natural order of a server ignoring $orderby
    # (replication key, Id): instants compared as instants, whatever their fraction digits.
    rows = [
        ("2026-01-01T00:00:00Z", ids[0]),
        ("2026-01-01T00:00:00.5Z", ids[1]),
        ("2026-01-01T00:00:01Z", ids[2]),
    ]
    assert paging.in_order(rows)
    assert paging.between((ordinal[5],), (ordinal[4],), (ordinal[6],))
    assert not paging.between((ordinal[4],), (ordinal[4],), None)  # strictly after
