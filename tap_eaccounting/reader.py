"""Reading one list query completely, fast, and without losing a record to churn.

The rule: **a record that exists both when the read starts and when it ends is emitted**, whatever is
created, modified or deleted around it meanwhile. Page-index pagination alone cannot promise that: a
delete before position ``p * size`` shifts every later row one place left, so the row at the start of
page ``p + 1`` slides onto page ``p``; if page ``p`` was fetched before the delete and page ``p + 1``
after it, that row is never seen. Keyset pagination (``key gt <last key>``) cannot skip a row, but is
strictly sequential: one round trip per page, so 100 pages at 250 ms take 25 s, 2.5x the rate-limit
floor. The design below keeps page-index concurrency for the bulk and repairs what it can lose:

1. **Bulk**: page 1 is ordered by an *immutable* unique key (``Id``, or the natural key) and, for an
   incremental stream, filtered on ``<replication key> ge <bookmark>``. It tells ``TotalNumberOfPages``;
   the remaining pages are fetched concurrently (``max_concurrency`` in flight) and emitted in order.
   Ordered by an immutable key, a *modification* never moves a row, and a row never leaves the filtered
   set (modification timestamps only grow), so only deletes (left shifts) can hide a row, and only in
   the key range *between* two consecutive pages: a row whose key lies inside a page's first..last
   range is on that page, since pages are contiguous slices of the order.
2. **Tail**: a keyset catch-up on (``<replication key>``, key) from page 1's ``ServerTimeUtc`` (minus
   ``TAIL_OVERLAP``) reads every row created or modified while the bulk ran, in its newest version.
3. **Gap check**, only when churn was seen (``TotalNumberOfResults`` moved between pages, the page count
   grew, or the tail found a row stamped after page 1), or always for a multi-page stream with no
   replication key (nothing else can reveal churn there): one keyset query per ``GAPS_PER_REQUEST``
   boundaries asks for rows strictly between page ``p``'s last key and page ``p + 1``'s first key, and
   after the last page. A row hidden by a left shift is exactly such a row, so it is found and emitted.

Cost: a read that fits one page is one request (one response is one consistent snapshot, so no tail and
no check). A multi-page incremental read adds one tail request; the gap check adds
``ceil(pages / GAPS_PER_REQUEST)`` requests only under churn. Duplicates are possible (a row moved right,
or modified after its page was read, is emitted twice), which upserting loaders absorb.

Incremental children (one state partition per parent) add no path around these reads: ``Reader.probe``
only *counts* the rows of the flat sibling list at or after a watermark (one request, ``$pagesize=1``),
and a partition is skipped only when that count is 0, i.e. when no row was written since the last run
that read every partition; otherwise every partition is read as above. The argument that this skips
no row is in ``client.EAccountingStream.probe_sibling``.

If the server rejects ``$filter`` (400), the read falls back, once, to a full scan with the bookmark
applied client-side, and warns: without ``$filter`` there is no tail and no gap check, so the churn
guarantee degrades to what page-index pagination gives.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eaccounting_api import paging
from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.errors import BadRequestError
from eaccounting_api.paging import Page

Record = dict[str, Any]


@dataclass
class PageSize:
    """The page size all streams of a run ask for; halved for good when the server refuses it."""

    size: int = paging.DEFAULT_PAGE_SIZE
    lock: threading.Lock = field(default_factory=threading.Lock)

    def halve(self, refused: int, logger: logging.Logger, reason: str) -> bool:
        with self.lock:
            if self.size != refused:
                return True  # another stream halved it already
            if refused <= paging.MIN_PAGE_SIZE:
                return False
            self.size = max(paging.MIN_PAGE_SIZE, refused // 2)
            logger.warning("page size %d refused (%s); using %d", refused, reason, self.size)
            return True


@dataclass
class ListQuery:
    label: str  # the stream name, for progress lines
    path: str  # concrete path (parameters filled in)
    params: dict[str, str]  # endpoint query parameters
    order_keys: tuple[str, ...]  # immutable, unique (within this path) sort key
    replication_key: str | None = None
    since: str | None = None  # inclusive lower bound on the replication key
    since_param: str | None = None  # endpoint parameter carrying ``since`` instead of ``$filter``
    passthrough: bool = False  # emit ``RawRecord``s (see paging.RawRecord)

    @property
    def raw_fields(self) -> tuple[str, ...] | None:
        if not self.passthrough:
            return None
        rk = (self.replication_key,) if self.replication_key else ()
        return tuple(dict.fromkeys((*self.order_keys, *rk)))


@dataclass
class ReadStats:
    requests: int = 0
    pages: int = 0
    first_server_time: str | None = None
    churn: bool = False
    tail_records: int = 0
    gap_records: int = 0


class Reader:
    """Reads list queries for one stream. ``filter_supported`` turns off after a ``$filter`` 400."""

    def __init__(
        self,
        client: EAccountingClient,
        pool: ThreadPoolExecutor,
        page_size: PageSize,
        max_concurrency: int,
        logger: logging.Logger,
    ) -> None:
        self.client = client
        self.pool = pool
        self.page_size = page_size
        # Pages submitted ahead: twice the pool's workers, so a worker never idles while the caller is
        # still emitting a finished page; the pool itself bounds requests in flight to max_concurrency.
        self.window = 2 * max(1, max_concurrency)
        self.logger = logger
        self.filter_supported = True
        self.stats = ReadStats()

    # -- requests ----------------------------------------------------------------------------------
    def _get(self, path: str, params: dict[str, str], raw_fields: tuple[str, ...] | None = None) -> Page:
        # Decoded inside the client's retry: a page cut short (ValueError) is fetched again.
        page = self.client.request(
            "GET",
            path,
            params=params,
            parse=lambda r: paging.decode_page(r.content, f"GET {path}", raw_fields),
        )
        self.stats.requests += 1
        return page

    def _params(self, q: ListQuery, since: str | None, extra_filter: str | None) -> dict[str, str]:
        params = dict(q.params)
        since_filter = None
        if since and q.replication_key:
            if q.since_param:
                params[q.since_param] = paging.odata_instant(since)
            elif self.filter_supported:
                since_filter = f"{q.replication_key} ge {paging.odata_instant(since)}"
        text = paging.conjunction(since_filter, extra_filter)
        if text:
            params[paging.FILTER_PARAM] = text
        return params

    def _first_page(self, q: ListQuery) -> tuple[Page, int]:
        # Bounded: each turn halves the page size or turns $filter off.
        for _ in range(16):
            size = self.page_size.size
            params = self._params(q, q.since, None)
            params.update(self._order(q.order_keys, 1, size))
            try:
                return self._get(q.path, params, q.raw_fields), size
            except BadRequestError as exc:
                reason = " ".join([exc.developer_message or "", *(str(e.get("Message")) for e in exc.errors)])
                if paging.is_page_size_error(reason) and self.page_size.halve(size, self.logger, reason):
                    continue
                if paging.FILTER_PARAM in params and self.filter_supported:
                    self.filter_supported = False
                    self.logger.warning(
                        "%s: the server rejected $filter (%s); falling back to a full scan filtered "
                        "client-side, without churn repair",
                        q.label,
                        exc,
                    )
                    continue
                raise
        raise RuntimeError(f"{q.label}: could not agree on a page size with {q.path}")

    def probe(self, q: ListQuery) -> Page | None:
        """One request: how many rows of ``q`` match (``Meta.TotalNumberOfResults``), one row per page,
        ordered by the replication key. ``None`` when the server refuses the query (400) or ``$filter`` is
        known to be unsupported: the caller then reads as if the probe had found changes."""
        if q.since and not q.since_param and not self.filter_supported:
            return None
        params = self._params(q, q.since, None)
        params.update(self._order((q.replication_key,) if q.replication_key else q.order_keys, 1, 1))
        try:
            return self._get(q.path, params)
        except BadRequestError as exc:
            self.logger.warning("%s: probe refused (%s); reading every partition instead", q.label, exc)
            return None

    @staticmethod
    def _order(keys: tuple[str, ...], page: int, size: int) -> dict[str, str]:
        params = {paging.PAGE_PARAM: str(page), paging.PAGE_SIZE_PARAM: str(size)}
        if keys:
            params[paging.ORDERBY_PARAM] = ",".join(keys)
        return params

    # -- the read -----------------------------------------------------------------------------------
    def read(self, q: ListQuery) -> Iterator[Record]:
        """Every record of ``q`` (bulk, tail, gap repair), emitted as pages arrive, in page order."""
        self.stats.churn = False  # per read: a stream's reader serves each of its partitions in turn
        first, size = self._first_page(q)
        self.stats.first_server_time = first.server_time
        client_side = bool(q.since and q.replication_key and not q.since_param and not self.filter_supported)
        keep = self._client_filter(q) if client_side else None
        total = max(first.total_pages, 1)
        size = first.size or size  # trust Meta.PageSize over what was asked
        bounds: list[tuple[tuple[Any, ...], tuple[Any, ...]] | None] = []
        self._progress(q, 1, total)
        yield from self._emit(first, q, bounds, keep)
        if first.total_pages > 1:
            yield from self._bulk(q, first, size, bounds, keep)
        if not self.filter_supported or first.total_pages <= 1:
            return
        if q.replication_key:
            yield from self._tail(q, size)
        if self.stats.churn or (not q.replication_key and first.total_pages > 1):
            yield from self._gaps(q, size, bounds)

    def _emit(
        self,
        page: Page,
        q: ListQuery,
        bounds: list[tuple[tuple[Any, ...], tuple[Any, ...]] | None],
        keep: Any,
    ) -> Iterator[Record]:
        self.stats.pages += 1
        data = page.data
        if data:
            keys = q.order_keys
            bounds.append((tuple(data[0].get(k) for k in keys), tuple(data[-1].get(k) for k in keys)))
        else:
            bounds.append(None)
        if keep is None:
            yield from data
        else:
            yield from (r for r in data if keep(r))

    def _bulk(
        self,
        q: ListQuery,
        first: Page,
        size: int,
        bounds: list[tuple[tuple[Any, ...], tuple[Any, ...]] | None],
        keep: Any,
    ) -> Iterator[Record]:
        base = self._params(q, q.since, None)
        total = first.total_pages
        futures: dict[int, Future[Page]] = {}
        next_page = 2

        def fill() -> None:
            nonlocal next_page
            while next_page <= total and len(futures) < self.window:
                params = {**base, **self._order(q.order_keys, next_page, size)}
                futures[next_page] = self.pool.submit(self._get, q.path, params, q.raw_fields)
                next_page += 1

        try:
            fill()
            number = 2
            while number <= total:
                page = futures.pop(number).result()
                if page.total_results != first.total_results or page.total_pages != first.total_pages:
                    self.stats.churn = True
                total = max(total, page.total_pages)  # rows were added: read the new pages too
                fill()
                self._progress(q, number, total)
                yield from self._emit(page, q, bounds, keep)
                number += 1
        finally:
            for pending in futures.values():
                pending.cancel()

    def _keyset(
        self, q: ListQuery, size: int, since: str | None, where: str | None, keys: tuple[str, ...]
    ) -> Iterator[Record]:
        """Sequential keyset pagination over ``where`` ordered by ``keys`` (churn cannot skip a row)."""
        cursor: tuple[Any, ...] | None = None
        more = True
        while more:
            step = paging.after(keys, cursor) if cursor is not None else None
            params = self._params(q, since, paging.conjunction(where, step))
            params.update(self._order(keys, 1, size))
            page = self._get(q.path, params, q.raw_fields)
            yield from page.data
            more = len(page.data) >= max(page.size, 1) and page.total_pages > 1
            if more:
                cursor = tuple(page.data[-1].get(k) for k in keys)
                if any(v is None for v in cursor):
                    self.logger.warning("%s: null key in %s, keyset read stops early", q.label, keys)
                    return

    def _tail(self, q: ListQuery, size: int) -> Iterator[Record]:
        rk = q.replication_key
        assert rk is not None
        start = self.stats.first_server_time
        if start is None:
            return
        t0 = paging.parse_instant(start)
        tail_from = t0 - paging.TAIL_OVERLAP
        if q.since and paging.parse_instant(q.since) > tail_from:
            tail_from = paging.parse_instant(q.since)
        since = paging.format_instant(tail_from)
        where = None if q.since_param else f"{rk} ge {since}"
        for record in self._keyset(q, size, since if q.since_param else None, where, (rk, *q.order_keys)):
            self.stats.tail_records += 1
            value = record.get(rk)
            if value and paging.parse_instant(str(value)) >= t0:
                self.stats.churn = True  # created or modified while the bulk was read
            yield record

    def _gaps(
        self, q: ListQuery, size: int, bounds: list[tuple[tuple[Any, ...], tuple[Any, ...]] | None]
    ) -> Iterator[Record]:
        keys = q.order_keys
        edges = [b for b in bounds if b is not None]
        if not keys or any(v is None for b in edges for part in b for v in part):
            self.logger.warning("%s: no usable key to check for rows hidden by churn", q.label)
            return
        ranges: list[str] = []
        for (_, last), (nxt, _) in itertools.pairwise(edges):
            ranges.append(paging.conjunction(paging.after(keys, last), paging.before(keys, nxt)) or "")
        if edges:
            ranges.append(paging.after(keys, edges[-1][1]))
        recovered = 0
        for chunk in _chunks(ranges):
            where = " or ".join(f"({r})" for r in chunk)
            for record in self._keyset(q, size, q.since, where, keys):
                recovered += 1
                yield record
        self.stats.gap_records += recovered
        if recovered:
            self.logger.info("%s: %d row(s) recovered between pages after churn", q.label, recovered)

    def _client_filter(self, q: ListQuery) -> Any:
        rk = q.replication_key
        assert rk is not None
        assert q.since is not None
        since = paging.parse_instant(q.since)

        def keep(record: Record) -> bool:
            value = record.get(rk)
            return bool(value) and paging.parse_instant(str(value)) >= since

        return keep

    def _progress(self, q: ListQuery, number: int, total: int) -> None:
        self.logger.info("%s page %d/%d", q.label, number, total)


def _chunks(ranges: list[str]) -> Iterator[list[str]]:
    """At most ``GAPS_PER_REQUEST`` ranges and about ``MAX_FILTER_CHARS`` of ``$filter`` per request."""
    chunk: list[str] = []
    length = 0
    for text in ranges:
        if chunk and (len(chunk) >= paging.GAPS_PER_REQUEST or length + len(text) > paging.MAX_FILTER_CHARS):
            yield chunk
            chunk, length = [], 0
        chunk.append(text)
        length += len(text) + 6
    if chunk:
        yield chunk
