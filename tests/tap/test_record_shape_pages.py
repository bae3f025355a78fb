"""The bulk forms of the read path's per-record work: ``RecordShape.decode_page`` (each record checked
with its page, in the page pool) against ``RecordShape.check`` one record at a time, the Guid order
checked in bulk against every collation, and ``ReadContext`` counting and emitting a page at once."""

from __future__ import annotations

import itertools
import json
import logging
import random
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from unittest import mock

import msgspec
import pytest

from eaccounting_api import paging
from eaccounting_api.paging import RawRecord
from tap_eaccounting.list_capabilities import CapabilityBook
from tap_eaccounting.list_query import ListQuery, ReadStats
from tap_eaccounting.list_read import ReadContext
from tap_eaccounting.record_shape import RecordShape, ShapedRecord

from .test_record_shape import item, raw, schema

FIELDS = ("Id", "ModifiedUtc")


def page_of(items: list[str]) -> bytes:
    meta = {"CurrentPage": 1, "PageSize": 50, "TotalNumberOfPages": 1, "TotalNumberOfResults": len(items)}
    return f'{{"Meta":{json.dumps(meta)},"Data":[{",".join(items)}]}}'.encode()


def compact(data: dict[str, Any]) -> str:
    return bytes(raw(data).raw).decode()


def outcome(checked: Any, record: Any) -> tuple[Any, ...]:
    """What a check decides: the bytes or dict to emit, its key fields, what to declare, the non-dates."""
    if checked is None:
        return (bytes(record.raw), dict(record), {}, [])
    out = checked.record
    body = bytes(out.raw) if isinstance(out, RawRecord) else out
    return (body, dict(out) if isinstance(out, RawRecord) else None, checked.undeclared, checked.not_dates)


def test_a_page_checks_each_record_as_check_does_one_by_one() -> None:
    items = [
        compact(item()),  # clean
        compact(item(Id="b", ModifiedUtc="2026-01-31T10:00:00+01:00", DueDate="2026-06-24")),  # rewrites
        compact(item(Id="c", DueDate="soon")),  # no date: null, reported
        compact({**item(Id="d", DueDate="2026-06-24"), "New": 1}),  # undeclared: does not fit the struct
        json.dumps(item(Id="e", DueDate="2026-06-24")),  # whitespace: cannot be spliced
    ]
    shape, alone = RecordShape(schema()), RecordShape(schema())
    page = shape.decode_page(page_of(items), "GET /x", FIELDS)
    assert page.total_results == 5
    assert [type(r) for r in page.data] == [ShapedRecord] * 3 + [RawRecord, ShapedRecord]
    for text, record in zip(items, page.data, strict=True):
        sent = json.loads(text)
        # The key fields as sent: the reader's checks read the values the API wrote.
        assert dict(record) == {"Id": sent["Id"], "ModifiedUtc": sent["ModifiedUtc"]}
        one = RawRecord(msgspec.Raw(text.encode()), {k: sent[k] for k in FIELDS})
        assert outcome(shape.check(record), record) == outcome(alone.check(one), one), sent["Id"]


def test_a_record_checked_under_an_older_shape_is_checked_again() -> None:
    shape = RecordShape(schema())
    page = shape.decode_page(page_of([compact(item()), compact(item(Id="b"))]), "GET /x", FIELDS)
    first, second = page.data
    assert isinstance(first, ShapedRecord)
    assert isinstance(second, ShapedRecord)
    assert first.shaped is not None
    generation = first.shaped[0]
    # What the page found is what ``check`` applies (here: a planted rewrite, to show it is used) ...
    first.shaped = (generation, b'{"Id":"planted"}', [("Id", "a", "planted")], [])
    checked = shape.check(first)
    assert checked is not None
    assert bytes(checked.record.raw) == b'{"Id":"planted"}'  # type: ignore[attr-defined]
    # ... until the schema changes: then the record is checked again from its bytes.
    assert shape.declare("Flag", True) == ["boolean", "null"]
    second.shaped = (generation, b'{"Id":"planted"}', [("Id", "b", "planted")], [])
    assert shape.check(second) is None


def test_a_page_of_other_items_is_still_refused() -> None:
    shape = RecordShape(schema())
    with pytest.raises(ValueError, match="GET /x"):
        shape.decode_page(page_of(["[1]"]), "GET /x", FIELDS)
    with pytest.raises(ValueError, match="GET /x"):
        shape.decode_page(b'{"Meta": 1}', "GET /x", FIELDS)


def every_collation(rows: list[tuple[Any, ...]]) -> bool:
    return any(
        all(tuple(map(c, a)) <= tuple(map(c, b)) for a, b in itertools.pairwise(rows))
        for c in paging.COLLATIONS
    )


@pytest.mark.parametrize("seed", range(8))
def test_the_bulk_guid_order_check_agrees_with_every_collation(seed: int) -> None:
    rng = random.Random(seed)
    ids = [str(uuid.UUID(int=rng.getrandbits(128))) for _ in range(12)]
    cases: list[list[Any]] = [
        sorted(ids),
        sorted(ids, key=paging.COLLATIONS[1]),
        ids,
        sorted(ids, reverse=True),
        [i.upper() if n % 2 else i for n, i in enumerate(sorted(ids))],  # case does not order Guids
        [*sorted(ids)[:6], "not a guid", *sorted(ids)[6:]],
        [*sorted(ids)[:3], None, *sorted(ids)[3:]],
        sorted(rng.sample(range(1000), 12)),
    ]
    for values in cases:
        rows = [(v,) for v in values]
        assert paging.in_order(rows) == every_collation(rows), values


def context(order_keys: tuple[str, ...] = ("Id",)) -> ReadContext:
    q = ListQuery("x", "/x", {}, order_keys, replication_key="ModifiedUtc")
    return ReadContext(
        q, mock.Mock(), CapabilityBook(), ThreadPoolExecutor(1), 2, logging.getLogger("t"), ReadStats()
    )


def test_a_page_is_counted_and_emitted_at_once_and_keyless_rows_each_time() -> None:
    ctx = context()
    rows = [
        {"Id": "a", "ModifiedUtc": "1"},
        {"Id": "a", "ModifiedUtc": "1"},  # served twice: counted and emitted once
        {"Id": "b", "ModifiedUtc": "1"},
        {"Id": None, "ModifiedUtc": "1"},
        {"Id": None, "ModifiedUtc": "1"},
    ]
    keys = ctx.keys(rows)
    assert keys == [("a",), ("a",), ("b",), (None,), (None,)]
    assert len(ctx.count(rows, keys)) == 4  # a, b, and each keyless row alone
    assert ctx.emit(rows, keys) == [rows[0], rows[2], rows[3], rows[4]]
    again = [{"Id": "a", "ModifiedUtc": "2"}, {"Id": "b", "ModifiedUtc": "1"}, {"Id": None}]
    assert len(ctx.count(again)) == 1  # only the keyless row is new
    assert ctx.distinct == 5
    assert ctx.emit(again) == [again[0], again[2]]  # a newer version of a goes out again


def test_keys_of_a_compound_order() -> None:
    ctx = context(("Code", "Id"))
    assert ctx.keys([{"Code": 1, "Id": "a"}, {"Id": "b"}]) == [(1, "a"), (None, "b")]
