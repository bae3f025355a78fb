"""The list-endpoint query pipeline: records -> $filter -> $orderby -> $page/$pagesize -> envelope.

Paging as integrators report Visma's pagination page (docs/API_FACTS.md#pagination): ``$page`` is 1-based,
``$pagesize`` defaults to 50 and is at most 1000. Without ``$orderby`` the live API's order is not
stable between requests; ``shuffle_unordered`` makes each request see a different permutation, so a
client that pages without ``$orderby`` can see duplicates and gaps, as integrators reported.

What the live API does beyond that is UNVERIFIED, so each endpoint follows its switches
(``SandboxConfig.for_endpoint``, README "Switches and profiles"):

- ``filter_mode`` / ``orderby_mode``: "honoured"; "ignored" (the option has no effect and is not even
  parsed; an ignored ``$orderby`` gives a fixed permutation per seed and endpoint that is never the
  order asked for, so a client can notice); "refused" (400 ErrorCode 6000 in ASP.NET OData's wording).
- ``max_page_size`` with ``page_size_enforcement``: "clamp_report" serves the cap and says so in
  ``Meta.PageSize``; "clamp_echo" serves the cap but echoes the size asked in ``Meta.PageSize`` (pages,
  offsets and ``TotalNumberOfPages`` follow the size served, so only ``PageSize`` lies); "reject"
  answers 400 (6000) in the ``page_size_error_wording`` given.
- ``empty_total_pages``: ``TotalNumberOfPages`` of an empty list, 0 or 1.
- ``past_last_page``: a page after the last is an empty page ("empty") or a 400 ("error").
- ``extra_properties`` / ``date_shapes``: ``response_drift`` reshapes the items served; ``Page.items``
  keeps them as stored, for response validation.

Filtered and sorted views are cached by (company, version, endpoint, params, $filter, $orderby), so paging
through 1,000,000 records compiles and sorts once; any write or churn changes the version.
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import msgspec

from eaccounting_api.spec import ListEndpoint
from eaccounting_sandbox.error_responses import ApiError, bad_query
from eaccounting_sandbox.odata import compile_filter, compile_orderby, sort_key
from eaccounting_sandbox.reads import list_records
from eaccounting_sandbox.response_drift import Drift
from eaccounting_sandbox.store import Company
from eaccounting_sandbox.switches import DEFAULT_PAGE_SIZE, INT32_MAX, SandboxConfig, Switches

Record = dict[str, Any]
CACHE_ENTRIES = 32
SUPPORTED_OPTIONS = ("$page", "$pagesize", "$filter", "$orderby")
# ASP.NET OData's answer to a query option the controller does not allow.
REFUSED = (
    "Query option '{}' is not allowed. To allow it, set the 'AllowedQueryOptions' property on "
    "EnableQueryAttribute or QueryValidationSettings."
)
PAGE_SIZE_WORDINGS = {
    "pagesize": "Query parameter $pagesize must be at most {cap}, got {size}.",
    "odata_top": "The limit of '{cap}' for Top query has been exceeded. The value from the incoming "
    "request is '{size}'.",
    "range": "The page size must be between 1 and {cap}.",
}
_encoder = msgspec.json.Encoder()


def server_time_utc() -> str:
    """Now, with the 7 fractional digits .NET's round-trip format gives (``...04.0225761Z``)."""
    ns = time.time_ns()
    seconds, rest = divmod(ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{rest // 100:07d}Z"


@dataclass(frozen=True)
class Page:
    body: bytes
    headers: dict[str, str]
    meta: dict[str, Any]
    items: Sequence[Record]  # as stored, before any response_drift (what validation checks)


def _int_param(query: Mapping[str, str], name: str, default: int) -> int:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_query(f"Query parameter {name} must be an integer, got {raw!r}.") from None
    if not 1 <= value <= INT32_MAX:
        raise bad_query(f"Query parameter {name} must be between 1 and {INT32_MAX}, got {value}.")
    return value


def _page_sizes(query: Mapping[str, str], switches: Switches) -> tuple[int, int]:
    """(size asked, size served): above the cap, clamp or refuse as the switches say."""
    cap = switches.max_page_size
    asked = _int_param(query, "$pagesize", min(DEFAULT_PAGE_SIZE, cap))
    if asked <= cap:
        return asked, asked
    if switches.page_size_enforcement == "reject":
        raise bad_query(PAGE_SIZE_WORDINGS[switches.page_size_error_wording].format(cap=cap, size=asked))
    return asked, cap


def in_requested_order(records: Sequence[Record], orderby_text: str, endpoint: ListEndpoint) -> bool:
    try:
        order = compile_orderby(orderby_text, endpoint.item_schema)
    except ApiError:
        return False
    keys = [sort_key(field, endpoint.item_schema) for field, _ in order]
    for first, second in itertools.pairwise(records):
        for key, (_, descending) in zip(keys, order, strict=True):
            a, b = key(first), key(second)
            if a != b:
                if (a > b) != descending:
                    return False
                break
    return True


class QueryPipeline:
    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self._views: OrderedDict[tuple[Any, ...], list[Record] | Sequence[Record]] = OrderedDict()
        self._rng = random.Random()  # noqa: S311 - page-order shuffling, not cryptography

    def view(  # noqa: PLR0917 - the cache key's parts, passed positionally by page()
        self,
        company: Company,
        endpoint: ListEndpoint,
        path_params: Mapping[str, str],
        domain_query: Mapping[str, str],
        filter_text: str | None,
        orderby_text: str | None,
        ignored_orderby: str | None = None,
    ) -> Sequence[Record]:
        """The filtered, sorted records of one list request (cached by the company's version).

        ``ignored_orderby`` (``orderby_mode`` "ignored", then ``orderby_text`` is None): the records in
        a fixed permutation per seed and endpoint, reversed if it happens to be the order asked for."""
        key = (
            company.id,
            id(company),
            company.version,
            endpoint.path,
            tuple(sorted(path_params.items())),
            tuple(sorted(domain_query.items())),
            filter_text,
            orderby_text,
            ignored_orderby,
        )
        cached = self._views.get(key)
        if cached is not None:
            self._views.move_to_end(key)
            return cached
        # Compile first: a bad $filter/$orderby is a 400 even when the collection is empty.
        predicate: Callable[[Record], bool] | None = None
        order: list[tuple[str, bool]] = []
        if filter_text:
            predicate = compile_filter(filter_text, endpoint.item_schema)
        if orderby_text:
            order = compile_orderby(orderby_text, endpoint.item_schema)
        records: Sequence[Record] = list_records(company, endpoint.path, path_params, domain_query)
        if predicate is not None:
            records = [r for r in records if predicate(r)]
        if order:
            records = list(records)
            # Stable sorts from the last key to the first give a multi-key order; nulls sort first and
            # date-times as instants (odata.sort_key).
            for field, descending in reversed(order):
                records.sort(key=sort_key(field, endpoint.item_schema), reverse=descending)
        if ignored_orderby is not None:
            records = list(records)
            random.Random(f"{self.config.seed}:{endpoint.path}").shuffle(records)  # noqa: S311 - not crypto
            if ignored_orderby and in_requested_order(records, ignored_orderby, endpoint):
                records.reverse()
        self._views[key] = records
        if len(self._views) > CACHE_ENTRIES:
            self._views.popitem(last=False)
        return records

    def page(
        self,
        company: Company,
        endpoint: ListEndpoint,
        path_params: Mapping[str, str],
        query: Mapping[str, str],
        url_base: str,
    ) -> Page:
        switches = self.config.for_endpoint(endpoint.path)
        page_no = _int_param(query, "$page", 1)
        asked, size = _page_sizes(query, switches)
        unsupported = sorted(k for k in query if k.startswith("$") and k not in SUPPORTED_OPTIONS)
        if unsupported:
            # Loud, not silently ignored: a client relying on $select/$top would get wrong data.
            raise bad_query(f"Query option(s) {', '.join(unsupported)} not supported by the sandbox.")
        filter_text = query.get("$filter") or None
        orderby_text = query.get("$orderby") or None
        for text, mode, option in (
            (filter_text, switches.filter_mode, "Filter"),
            (orderby_text, switches.orderby_mode, "OrderBy"),
        ):
            if text is not None and mode == "refused":
                raise bad_query(REFUSED.format(option))
        if switches.filter_mode == "ignored":
            filter_text = None
        ignored_orderby = None
        if switches.orderby_mode == "ignored":
            ignored_orderby, orderby_text = orderby_text or "", None
        domain_query = {k: v for k, v in query.items() if not k.startswith("$")}
        records = self.view(
            company, endpoint, path_params, domain_query, filter_text, orderby_text, ignored_orderby
        )
        total = len(records)
        pages = math.ceil(total / size) if total else switches.empty_total_pages
        if page_no > max(pages, 1) and switches.past_last_page == "error":
            raise bad_query(f"The page {page_no} does not exist; the last page is {max(pages, 1)}.")
        start = (page_no - 1) * size
        stop = min(start + size, total)
        if start >= total:
            items: Sequence[Record] = []
        elif orderby_text is None and switches.shuffle_unordered and total > 1:
            items = [records[i] for i in self._permutation(total, start, stop)]
        else:
            items = records[start:stop]
        # clamp_echo: Meta.PageSize (and the Link header) repeat the size asked, not the size served.
        shown = asked if switches.page_size_enforcement == "clamp_echo" else size
        meta = {
            "CurrentPage": page_no,
            "PageSize": shown,
            "TotalNumberOfPages": pages,
            "TotalNumberOfResults": total,
            "ServerTimeUtc": server_time_utc(),
        }
        served = Drift(switches).items(items, endpoint.item_schema) if switches.drifts else items
        body = _encoder.encode({"Meta": meta, "Data": served})
        headers = {}
        if pages:
            headers["Link"] = _link_header(url_base, query, page_no, shown, pages)
        return Page(body=body, headers=headers, meta=meta, items=items)

    def _permutation(self, total: int, start: int, stop: int) -> list[int]:
        """Positions ``start..stop`` of a fresh random affine permutation of ``range(total)``."""
        step = self._rng.randrange(1, total)
        while math.gcd(step, total) != 1:  # terminates: 1 is coprime with every total
            step = step % (total - 1) + 1
        offset = self._rng.randrange(total)
        return [(offset + i * step) % total for i in range(start, stop)]

    def clear(self) -> None:
        self._views.clear()


def _link_header(url_base: str, query: Mapping[str, str], page_no: int, size: int, pages: int) -> str:
    def url(target: int) -> str:
        params = {**query, "$page": str(target), "$pagesize": str(size)}
        return f"{url_base}?{urlencode(params, quote_via=quote, safe='$,')}"

    links = []
    if page_no < pages:
        links.append(f'<{url(page_no + 1)}>; rel="next"')
    links.append(f'<{url(pages)}>; rel="last"')
    return ", ".join(links)
