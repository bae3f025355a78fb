"""A batch's numbers looked up together, without HTTP: OR-ed ``$filter`` chunks or a full list read,
whichever takes fewer requests; exact matches only; bounded when an endpoint ignores ``$filter``; and
``References`` keeping the per-record semantics (cache, ``reference_not_found``, fresh lookups)."""

from __future__ import annotations

import itertools
import json
import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import pytest

from eaccounting_api import paging
from eaccounting_api.errors import BadRequestError
from target_eaccounting.api import Api
from target_eaccounting.number_lookup import filter_chunks, find_ids, or_filter
from target_eaccounting.record_errors import RecordError
from target_eaccounting.references import References

_CLAUSE_RE = re.compile(r"(\w+) eq '((?:[^']|'')*)'")


class FakeResponse:
    status_code = 200
    headers: Mapping[str, str] = {"Content-Type": "application/json"}

    def __init__(self, body: Any) -> None:
        self.content = json.dumps(body).encode()

    def json(self) -> Any:
        return json.loads(self.content)


class FakeListEndpoint:
    """``/customers`` over ``items``: pages in Id order; ``$filter`` (OR-ed ``eq`` clauses) applied
    case-insensitively like SQL Server's default collation, or ignored altogether."""

    def __init__(self, items: list[dict[str, Any]], *, honour_filter: bool = True) -> None:
        self.items = sorted(items, key=lambda i: i["Id"])
        self.honour_filter = honour_filter
        self.requests: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, path: str, *, parse: Any = None, **kw: Any) -> Any:
        """``EAccountingClient.request``: the response, or what ``parse`` makes of it."""
        response = self._respond(method, path, **kw)
        return parse(response) if parse is not None else response

    def _respond(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, **_: Any) -> Any:
        params = dict(params or {})
        self.requests.append((method, path, params))
        if path.startswith("/customers/"):
            found = [i for i in self.items if i["Id"] == path.rsplit("/", 1)[1]]
            return FakeResponse(found[0])
        rows = self.items
        text = params.get(paging.FILTER_PARAM)
        if text and self.honour_filter:
            assert len(text) <= paging.MAX_FILTER_CHARS
            wanted = {(f, v.replace("''", "'").lower()) for f, v in _CLAUSE_RE.findall(text)}
            rows = [r for r in rows if any(str(r.get(f)).lower() == v for f, v in wanted)]
        size = int(params[paging.PAGE_SIZE_PARAM])
        page = int(params.get(paging.PAGE_PARAM, 1))
        pages = math.ceil(len(rows) / size)
        meta = {"CurrentPage": page, "PageSize": size, "TotalNumberOfPages": pages}
        meta["TotalNumberOfResults"] = len(rows)
        return FakeResponse({"Meta": meta, "Data": rows[(page - 1) * size : page * size]})

    @property
    def list_reads(self) -> int:
        return sum(1 for _, path, _ in self.requests if path == "/customers")


def customers(count: int, prefix: str = "C") -> list[dict[str, Any]]:
    return [
        {"Id": f"{i:08d}-0000-0000-0000-000000000000", "CustomerNumber": f"{prefix}{i}"} for i in range(count)
    ]


def ids_of(items: list[dict[str, Any]]) -> dict[str, str]:
    return {i["CustomerNumber"]: i["Id"] for i in items}


def test_filter_chunks_cover_every_number_in_order_within_the_limit() -> None:
    numbers = [f"NUMBER-{i:05d}" for i in range(500)] + ["O'Brien"]
    chunks = filter_chunks("CustomerNumber", numbers)
    assert [n for chunk in chunks for n in chunk] == numbers
    assert len(chunks) > 1
    assert all(len(or_filter("CustomerNumber", c)) <= paging.MAX_FILTER_CHARS for c in chunks)
    # full chunks: adding the next number would cross the limit
    for chunk, after in itertools.pairwise(chunks):
        assert len(or_filter("CustomerNumber", [*chunk, after[0]])) > paging.MAX_FILTER_CHARS
    assert "CustomerNumber eq 'O''Brien'" in or_filter("CustomerNumber", chunks[-1])
    huge = "X" * (paging.MAX_FILTER_CHARS + 10)
    assert filter_chunks("CustomerNumber", ["a", huge, "b"]) == [["a"], [huge], ["b"]]


def test_a_few_numbers_take_one_filtered_read_whatever_the_collection_size() -> None:
    items = customers(3000)
    endpoint = FakeListEndpoint(items)
    found = find_ids(Api(endpoint), "/customers", "CustomerNumber", ["C5", "C2999", "C5", "NOPE"])
    assert found.ids == {"C5": ids_of(items)["C5"], "C2999": ids_of(items)["C2999"]}
    assert found.requests == endpoint.list_reads == 1
    assert "CustomerNumber eq 'C2999'" in endpoint.requests[0][2][paging.FILTER_PARAM]


def test_matches_are_exact_whatever_the_server_collation() -> None:
    items = [*customers(3, "ABC-"), {"Id": "99", "CustomerNumber": "abc-1"}]
    found = find_ids(Api(FakeListEndpoint(items)), "/customers", "CustomerNumber", ["abc-0", "ABC-1"])
    # the server answers ABC-0 for 'abc-0' and both ABC-1 and abc-1 for 'ABC-1'
    assert found.ids == {"ABC-1": ids_of(items)["ABC-1"]}


def test_many_numbers_in_a_small_collection_take_a_full_read() -> None:
    items = customers(1500)
    endpoint = FakeListEndpoint(items)
    wanted = [f"C{i}" for i in range(0, 1500, 5)] + [f"NEW{i}" for i in range(200)]
    assert len(filter_chunks("CustomerNumber", wanted)) > 2
    found = find_ids(Api(endpoint), "/customers", "CustomerNumber", wanted)
    assert found.ids == {n: i for n, i in ids_of(items).items() if n in wanted}
    assert found.requests == endpoint.list_reads == 2  # the collection's two pages, no filter
    assert all(paging.FILTER_PARAM not in params for _, _, params in endpoint.requests)


def test_many_numbers_in_a_big_collection_take_filter_chunks() -> None:
    items = customers(20_000)
    endpoint = FakeListEndpoint(items)
    wanted = [f"C{i}" for i in range(5, 20_000, 97)]  # 206 numbers, a few on page 1
    found = find_ids(Api(endpoint), "/customers", "CustomerNumber", wanted)
    assert found.ids == {n: i for n, i in ids_of(items).items() if n in wanted}
    on_first_page = {i["CustomerNumber"] for i in sorted(items, key=lambda i: i["Id"])[:1000]}
    chunks = filter_chunks("CustomerNumber", sorted(n for n in set(wanted) if n not in on_first_page))
    assert 1 < len(chunks) < 19
    assert found.requests == endpoint.list_reads == 1 + len(chunks)  # page 1, then the chunks
    assert found.requests < len(wanted) / 20


@pytest.mark.parametrize(("size", "wanted", "most"), [(2500, 5, 1 + 3), (20_000, 206, 2 + 20)])
def test_an_endpoint_that_ignores_the_filter_costs_one_full_read_at_most(
    size: int, wanted: int, most: int
) -> None:
    items = customers(size)
    endpoint = FakeListEndpoint(items, honour_filter=False)
    numbers = [f"C{i}" for i in range(5, size, size // wanted)][:wanted]
    found = find_ids(Api(endpoint), "/customers", "CustomerNumber", numbers)
    assert found.ids == {n: i for n, i in ids_of(items).items() if n in numbers}
    assert found.requests == endpoint.list_reads <= most


def references(endpoint: FakeListEndpoint) -> References:
    return References(Api(endpoint), None, invoice_streams={})


def test_prefetched_numbers_resolve_without_requests_and_missing_ones_are_confirmed_before_a_reject() -> None:
    items = customers(40)
    endpoint = FakeListEndpoint(items)
    refs = references(endpoint)
    refs.prefetch("customer", [f"C{i}" for i in range(30)] + ["GONE"])
    assert endpoint.list_reads == 1
    assert all(
        refs.resolve("customer", f"C{i}", "CustomerNumber") == ids_of(items)[f"C{i}"] for i in range(30)
    )
    assert endpoint.list_reads == 1
    with pytest.raises(RecordError, match="'GONE' does not exist") as rejected:
        refs.resolve("customer", "GONE", "CustomerNumber")
    assert rejected.value.reason == "reference_not_found"
    assert rejected.value.field == "CustomerNumber"
    assert endpoint.list_reads == 2  # one exact lookup confirmed the absence...
    with pytest.raises(RecordError):
        refs.resolve("customer", "GONE", "CustomerNumber")
    assert endpoint.list_reads == 2  # ...and is cached
    refs.resolve("customer", "C35", "CustomerNumber")  # not announced: looked up alone
    assert endpoint.list_reads == 3
    assert refs.lookups == 3


def test_master_data_trusts_the_batch_lookup_unless_asked_for_a_fresh_one() -> None:
    items = customers(10)
    endpoint = FakeListEndpoint(items)
    refs = references(endpoint)
    refs.prefetch("customer", ["C1", "NEW"])
    assert refs.find_by_number("customer", "NEW") is None
    existing = refs.find_by_number("customer", "C1")
    assert existing == items[1]
    assert [(m, p) for m, p, _ in endpoint.requests[1:]] == [("GET", f"/customers/{items[1]['Id']}")]
    assert refs.find_by_number("customer", "NEW", fresh=True) is None  # after a 409: look again
    assert endpoint.list_reads == 2
    refs.remember("customer", "NEW", "created-id")
    refs.prefetch("customer", ["NEW", "C1"])  # both known now: no request
    assert endpoint.list_reads == 2


def test_a_failed_batch_lookup_leaves_each_record_to_look_up_alone(caplog: pytest.LogCaptureFixture) -> None:
    class Refusing(FakeListEndpoint):
        def request(self, method: str, path: str, **kw: Any) -> Any:
            if "or" in str((kw.get("params") or {}).get(paging.FILTER_PARAM, "")).split():
                raise BadRequestError("filter too complex", status=400, method=method, path=path)
            return super().request(method, path, **kw)

    endpoint = Refusing(customers(5))
    refs = references(endpoint)
    with caplog.at_level(logging.WARNING):
        refs.prefetch("customer", ["C1", "C2"])
    assert "batch lookup of 2 customer numbers failed" in caplog.text
    assert refs.resolve("customer", "C2", "CustomerNumber") == customers(5)[2]["Id"]
