"""``record_shape`` on single records: which stay raw, how a date-time is rewritten in the bytes, when it
falls back to a full decode, and how undeclared properties are declared."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from eaccounting_api.paging import RawRecord
from tap_eaccounting.record_shape import RecordShape, date_time_tree

DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
TEXT = {"type": ["string", "null"]}


def schema() -> dict[str, Any]:
    row = {"type": ["object", "null"], "properties": {"DeliveryDate": DATE_TIME, "DueDate": TEXT}}
    return {
        "type": "object",
        "properties": {
            "Id": TEXT,
            "ModifiedUtc": DATE_TIME,
            "DueDate": DATE_TIME,
            "Amount": {"type": ["number", "null"]},
            "Rows": {"type": ["array", "null"], "items": row},
            "Settings": {"type": ["object", "null"], "properties": {"SigningDate": DATE_TIME}},
            "Stamps": {"type": ["array", "null"], "items": DATE_TIME},
        },
    }


def item(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "Id": "a",
        "ModifiedUtc": "2026-01-31T10:00:00.1234567Z",
        "DueDate": "2026-02-28T00:00:00Z",
        "Amount": 1.10,
        "Rows": [{"DeliveryDate": None, "DueDate": "later"}],
        "Settings": None,
        "Stamps": ["2026-01-01T00:00:00Z"],
    }
    return {**base, **changes}


def raw(data: dict[str, Any], compact: bool = True) -> RawRecord:
    # Amount 1.10 written as the API would (.NET keeps the decimal's scale): re-encoding makes it 1.1.
    text = json.dumps(data, separators=(",", ":") if compact else None).replace("1.1,", "1.10,")
    return RawRecord(msgspec.Raw(text.encode()), {"Id": data["Id"], "ModifiedUtc": data["ModifiedUtc"]})


def test_the_tree_finds_date_times_at_any_depth() -> None:
    assert date_time_tree(schema()) == {
        "ModifiedUtc": "date-time",
        "DueDate": "date-time",
        "Rows": {"DeliveryDate": "date-time"},
        "Settings": {"SigningDate": "date-time"},
        "Stamps": "date-time",
    }


def test_a_clean_record_stays_as_it_is() -> None:
    shape = RecordShape(schema())
    assert shape.check(raw(item())) is None
    assert shape.check(item()) is None


def test_date_times_are_spliced_into_the_bytes() -> None:
    shape = RecordShape(schema())
    record = raw(
        item(
            ModifiedUtc="2026-01-31T10:00:00+01:00",
            DueDate="2026-06-24",
            Rows=[{"DeliveryDate": "2026-06-24", "DueDate": "2026-06-24x"}, {"DeliveryDate": "2026-06-25"}],
            Settings={"SigningDate": "2026-01-31T10:00:00", "Other": 1},
        )
    )
    checked = shape.check(record)
    assert checked is not None
    out = checked.record
    assert isinstance(out, RawRecord)  # still raw: not re-encoded
    assert b'"Amount":1.10,' in bytes(out.raw)
    assert json.loads(bytes(out.raw)) == item(
        ModifiedUtc="2026-01-31T09:00:00Z",
        DueDate="2026-06-24T00:00:00Z",
        Rows=[
            {"DeliveryDate": "2026-06-24T00:00:00Z", "DueDate": "2026-06-24x"},
            {"DeliveryDate": "2026-06-25T00:00:00Z"},
        ],
        Settings={"SigningDate": "2026-01-31T10:00:00Z", "Other": 1},
    )
    # The decoded key fields follow: the bookmark is taken from the rewritten replication key.
    assert dict(out) == {"Id": "a", "ModifiedUtc": "2026-01-31T09:00:00Z"}
    assert not checked.undeclared
    assert not checked.not_dates


@pytest.mark.parametrize(
    ("form", "data"),
    [
        ("whitespace", None),
        ("an escaped character", '"DueDate":"2026-06-24T10:00:00\\u002B01:00"'),
        ("the same text under a property that is no date-time", None),
        ("an array of date-times", None),
    ],
)
def test_bytes_it_cannot_splice_are_decoded_fully(form: str, data: str | None) -> None:
    shape = RecordShape(schema())
    expected = item(DueDate="2026-06-24T00:00:00Z")
    if form == "whitespace":
        record = raw(item(DueDate="2026-06-24"), compact=False)
    elif form == "an escaped character":
        record = raw(item(DueDate="x"))
        record.raw = msgspec.Raw(bytes(record.raw).replace(b'"DueDate":"x"', data.encode()))  # type: ignore[union-attr]
        expected = item(DueDate="2026-06-24T09:00:00Z")
    elif form == "an array of date-times":
        record = raw(item(Stamps=["2026-01-01", "2026-01-02T00:00:00Z"]))
        expected = item(Stamps=["2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"])
    else:
        # A row's DueDate is plain text: "DueDate":"2026-06-24" occurs twice, only one is a date-time.
        rows = [{"DeliveryDate": None, "DueDate": "2026-06-24"}]
        record = raw(item(DueDate="2026-06-24", Rows=rows))
        expected = item(DueDate="2026-06-24T00:00:00Z", Rows=rows)
    checked = shape.check(record)
    assert checked is not None
    assert not isinstance(checked.record, RawRecord), form
    assert checked.record == {**expected, "Amount": 1.1}


def test_a_value_that_is_no_date_goes_out_null_and_is_reported() -> None:
    shape = RecordShape(schema())
    checked = shape.check(raw(item(DueDate="soon", Settings={"SigningDate": "n/a"})))
    assert checked is not None
    assert json.loads(bytes(checked.record.raw)) == item(DueDate=None, Settings={"SigningDate": None})  # type: ignore[attr-defined]
    assert checked.not_dates == [("DueDate", "soon"), ("Settings.SigningDate", "n/a")]
    dict_checked = shape.check(item(DueDate="soon"))
    assert dict_checked is not None
    assert dict_checked.record["DueDate"] is None
    assert dict_checked.not_dates == [("DueDate", "soon")]


def test_an_undeclared_property_beside_a_date_to_rewrite_is_found() -> None:
    shape = RecordShape(schema())
    assert shape.check(raw(item(DueDate="2026-06-24"))) is not None
    checked = shape.check(raw({**item(DueDate="2026-06-24"), "New": 1}))
    assert checked is not None
    assert checked.undeclared == {"New": 1}
    assert checked.record["DueDate"] == "2026-06-24T00:00:00Z"
    assert checked.record["New"] == 1


@pytest.mark.parametrize("as_raw", [True, False])
def test_undeclared_properties_are_reported_and_declared(as_raw: bool) -> None:
    shape = RecordShape(schema())

    def check(data: dict[str, Any]) -> Any:
        return shape.check(raw(data) if as_raw else dict(data))

    checked = check({**item(), "Flag": True, "Nothing": None, "Extra": {"A": 1}})
    assert checked is not None
    assert checked.undeclared == {"Flag": True, "Nothing": None, "Extra": {"A": 1}}
    assert checked.record["Flag"] is True
    assert shape.declare("Flag", True) == ["boolean", "null"]
    assert shape.declare("Nothing", None) is None  # only null: nothing to declare
    assert shape.declare("Extra", {"A": 1}) == ["object", "null"]
    properties = shape.schema["properties"]
    assert properties["Flag"] == {"type": ["boolean", "null"]}
    assert properties["Extra"] == {"type": ["object", "null"], "additionalProperties": True}
    assert "Nothing" not in properties
    # Declared now: the same record passes as it is.
    assert check({**item(), "Flag": False, "Nothing": None, "Extra": {"B": []}}) is None
    # Another type widens the declaration; an integer where a number is declared fits.
    checked = check({**item(), "Flag": "yes", "Nothing": 3})
    assert checked is not None
    assert checked.undeclared == {"Flag": "yes", "Nothing": 3}
    assert shape.declare("Flag", "yes") == ["boolean", "string", "null"]
    assert shape.declare("Nothing", 3) == ["integer", "null"]
    assert shape.declare("Nothing", 2.5) == ["number", "null"]
    assert shape.declare("Nothing", 4) is None
    assert check({**item(), "Flag": "no", "Nothing": 7}) is None
    # The generated schema's own properties are never redeclared.
    assert shape.declare("Amount", "text") is None
