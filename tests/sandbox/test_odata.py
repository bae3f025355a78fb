"""The OData subset ($filter, $orderby) compiled in-process: semantics and rejected input."""

from __future__ import annotations

from typing import Any

import pytest

from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.odata import compile_filter, compile_orderby, sort_key

INVOICES: list[dict[str, Any]] = [
    {
        "Id": "0a000000-0000-4000-8000-000000000001",
        "InvoiceNumber": 1,
        "CustomerName": "Fjord AS",
        "ModifiedUtc": "2024-01-01T10:00:00.1234567Z",
        "DueDate": "2024-01-31",
        "IsCreditInvoice": False,
        "TotalAmount": 100.0,
        "YourReference": None,
    },
    {
        "Id": "0b000000-0000-4000-8000-000000000002",
        "InvoiceNumber": 2,
        "CustomerName": "O'Brien Ltd",
        "ModifiedUtc": "2024-06-01T00:00:00.0000000Z",
        "DueDate": "2024-07-01",
        "IsCreditInvoice": True,
        "TotalAmount": -50.5,
        "YourReference": "PO-7",
    },
    {
        "Id": "0c000000-0000-4000-8000-000000000003",
        "InvoiceNumber": 3,
        "CustomerName": "Vest Bygg AS",
        "ModifiedUtc": "2025-02-03T04:05:06.7000000Z",
        "DueDate": "2025-03-01",
        "IsCreditInvoice": False,
        "TotalAmount": 2500.0,
        "YourReference": "PO-8",
    },
]


def numbers(text: str, schema: str = "CustomerInvoiceApi") -> list[int]:
    predicate = compile_filter(text, schema)
    return [i["InvoiceNumber"] for i in INVOICES if predicate(i)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("InvoiceNumber eq 2", [2]),
        ("InvoiceNumber ne 2", [1, 3]),
        ("InvoiceNumber gt 1", [2, 3]),
        ("InvoiceNumber ge 2", [2, 3]),
        ("InvoiceNumber lt 2", [1]),
        ("InvoiceNumber le 2", [1, 2]),
        ("TotalAmount lt 0", [2]),
        ("TotalAmount ge 100.0", [1, 3]),
        ("IsCreditInvoice eq true", [2]),
        ("IsCreditInvoice eq false and TotalAmount gt 1000", [3]),
        ("InvoiceNumber eq 1 or InvoiceNumber eq 3", [1, 3]),
        ("(InvoiceNumber eq 1 or InvoiceNumber eq 2) and IsCreditInvoice eq true", [2]),
        ("InvoiceNumber eq 1 or InvoiceNumber eq 2 and IsCreditInvoice eq false", [1]),
        ("not (InvoiceNumber eq 1)", [2, 3]),
        ("CustomerName eq 'Fjord AS'", [1]),
        ("CustomerName eq 'O''Brien Ltd'", [2]),
        ("YourReference eq null", [1]),
        ("YourReference ne null", [2, 3]),
        ("YourReference gt 'PO-7'", [3]),
        ("contains(CustomerName,'AS')", [1, 3]),
        ("startswith(CustomerName,'Vest')", [3]),
        ("Id eq 0b000000-0000-4000-8000-000000000002", [2]),
        ("Id gt 0a000000-0000-4000-8000-000000000001", [2, 3]),
        ("Id eq '0C000000-0000-4000-8000-000000000003'", [3]),
    ],
)
def test_filter_semantics(text: str, expected: list[int]) -> None:
    assert numbers(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ModifiedUtc gt 2024-01-01T00:00:00Z", [1, 2, 3]),
        ("ModifiedUtc gt 2024-01-01T10:00:00.1234567Z", [2, 3]),
        ("ModifiedUtc ge 2024-01-01T10:00:00.1234567Z", [1, 2, 3]),
        ("ModifiedUtc lt 2024-06-01", [1]),
        ("ModifiedUtc le 2024-06-01T00:00:00Z", [1, 2]),
        ("ModifiedUtc gt 2024-06-01T01:59:59+02:00", [2, 3]),  # offsets are converted to UTC
        ("ModifiedUtc gt 2024-06-01T02:00:00+02:00", [3]),
        ("DueDate ge 2024-07-01T00:00:00Z", [2, 3]),  # date-only stored value compared as an instant
        ("DueDate lt 2024-07-01T00:00:00.0000001Z", [1, 2]),
        ("DueDate eq 2025-03-01", [3]),
        ("ModifiedUtc lt datetime'2024-06-01T00:00:00'", [1]),  # OData v3 typed literal
        ("ModifiedUtc lt datetimeoffset'2024-06-01T00:00:00Z'", [1]),
    ],
)
def test_date_times_compare_as_instants(text: str, expected: list[int]) -> None:
    assert numbers(text) == expected


def test_numeric_literal_against_string_number_property() -> None:
    accounts = [{"Number": "1500", "IsActive": True}, {"Number": "3000", "IsActive": True}, {"Number": "999"}]
    predicate = compile_filter("Number gt 1000 and IsActive eq true", "AccountApi")
    assert [a["Number"] for a in accounts if predicate(a)] == ["1500", "3000"]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "InvoiceNumber",
        "InvoiceNumber eq",
        "InvoiceNumber equals 3",
        "InvoiceNumber eq 3 and",
        "(InvoiceNumber eq 3",
        "InvoiceNumber eq 3)",
        "NoSuchField eq 3",
        "Rows eq 3",
        "Rows/any(r: r/Quantity gt 1)",
        "InvoiceNumber eq 'three'",
        "IsCreditInvoice eq 1",
        "CustomerName eq Fjord",
        "InvoiceNumber add 1 eq 2",
        "InvoiceNumber eq 3 ; drop",
        "CustomerName eq 'unterminated",
        "contains(InvoiceNumber,'1')",
    ],
)
def test_unparsable_filters_are_400_6000(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        compile_filter(text, "CustomerInvoiceApi")
    assert (caught.value.status, caught.value.error_code) == (400, 6000)


@pytest.mark.parametrize(
    "text",
    [
        "ModifiedUtc gt 2024-13-01T00:00:00Z",
        "ModifiedUtc gt 2024-01-01T25:00:00Z",
        "ModifiedUtc gt 2024-01-01X",
        "ModifiedUtc gt 'not a date'",
        "ModifiedUtc gt datetime'2024-02-30T00:00:00'",
    ],
)
def test_malformed_date_times_are_400_6001(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        compile_filter(text, "CustomerInvoiceApi")
    assert (caught.value.status, caught.value.error_code) == (400, 6001)


def test_orderby_parses_fields_and_directions() -> None:
    assert compile_orderby("ModifiedUtc") == [("ModifiedUtc", False)]
    assert compile_orderby("ModifiedUtc desc, Id asc") == [("ModifiedUtc", True), ("Id", False)]
    assert compile_orderby("InvoiceNumber DESC", "CustomerInvoiceApi") == [("InvoiceNumber", True)]


@pytest.mark.parametrize("text", ["", "ModifiedUtc sideways", "Modified Utc", "A,,B", "Rows/Text"])
def test_bad_orderby_is_400_6000(text: str) -> None:
    with pytest.raises(ApiError) as caught:
        compile_orderby(text)
    assert caught.value.error_code == 6000


def test_orderby_unknown_property_is_rejected_when_schema_given() -> None:
    with pytest.raises(ApiError):
        compile_orderby("Nope", "CustomerInvoiceApi")


def test_sort_key_orders_mixed_date_forms_as_instants() -> None:
    records = [
        {"EndDate": "2024-01-02"},
        {"EndDate": "2024-01-01T23:00:00.0000000Z"},
        {"EndDate": None},
        {"EndDate": "2024-01-01"},
    ]
    ordered = sorted(records, key=sort_key("EndDate", "ProjectApi"))
    assert [r["EndDate"] for r in ordered] == [
        None,
        "2024-01-01",
        "2024-01-01T23:00:00.0000000Z",
        "2024-01-02",
    ]
