"""The keyset reads that repair what churn can hide from a page walk ordered by an immutable key: the
tail (rows created or modified while the walk ran) and the gap check (rows between two pages). See
``reader`` for why they suffice.

Both trust ``$filter`` and ``$orderby`` completely, so every page is checked against what was asked
(rows inside the filter, strictly after the cursor, in order): a violation, a cursor that does not
advance, or a 400 raises ``RepairFailed`` and the read falls back to what needs neither (see
``reader``).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

from eaccounting_api import paging
from eaccounting_api.errors import BadRequestError
from tap_eaccounting.list_capabilities import IGNORED
from tap_eaccounting.list_read import Bound, FilterIgnored, ReadContext, Record, RepairFailed
from tap_eaccounting.list_requests import Ask, Relearned


def keyset(
    ctx: ReadContext,
    size: int,
    where: str | None,
    keys: tuple[str, ...],
    inside: Callable[[Record], bool],
    *,
    since: str | None = None,
    served: Callable[[list[Record]], None] | None = None,
) -> Iterator[Record]:
    """Sequential keyset pagination over ``where`` ordered by ``keys`` (churn cannot skip a row);
    ``since``: the value of the endpoint's own "since" parameter (default: the query's bound);
    ``served``: sees every page's rows, also those already emitted (which are not yielded again)."""
    q = ctx.q
    since_value = (since or q.since) if q.since_param else None
    cursor: tuple[Any, ...] | None = None
    while True:
        step = paging.after(keys, cursor) if cursor is not None else None
        ask = Ask(size=size, filter=paging.conjunction(where, step), orderby=keys, since=since_value)
        after = cursor

        def wanted(row: Record, after: tuple[Any, ...] | None = after) -> bool:
            return inside(row) and (after is None or paging.between(ctx.key(row, keys), after, None))

        try:
            page = ctx.requests.first(q, ask)
            ctx.check(page.data, ask, wanted)
        except (Relearned, FilterIgnored, BadRequestError) as exc:
            raise RepairFailed(f"{type(exc).__name__}: {exc}") from exc
        if not ctx.book.get(q.endpoint).orderby_usable:
            raise RepairFailed(f"{q.endpoint} ignores $orderby")
        ctx.count(page.data)
        if served is not None:
            served(page.data)
        yield from ctx.emit(page.data)
        rows = len(page.data)
        more = page.total_results > rows or page.total_pages > 1 or ctx.meta_doubt
        if rows < size or not more:
            return
        cursor = ctx.key(page.data[-1], keys)
        if any(v is None for v in cursor):
            ctx.logger.warning("%s: null key in %s, keyset read stops early", q.label, keys)
            return
        if after is not None and not paging.between(cursor, after, None):
            ctx.book.learn(q.endpoint, filter=IGNORED)
            raise RepairFailed(f"{q.endpoint}: the keyset cursor does not advance")


def tail(ctx: ReadContext, size: int) -> Iterator[Record]:
    """Rows stamped at or after page 1's ``ServerTimeUtc`` minus ``TAIL_OVERLAP`` (never before the
    bookmark), in their newest version.

    The keyset runs on the immutable key within that bound, not on the replication key: a row in the
    bound when the tail starts stays in it (modifications only move its stamp later) and keeps its key,
    so it cannot be skipped; and a cursor never holds a timestamp, which the API may show with less
    precision than it compares (``list_read.latest_ticks``), so a cursor on it could stall or skip."""
    q = ctx.q
    rk = q.replication_key
    assert rk is not None
    start = ctx.stats.first_server_time
    if start is None:
        return
    t0 = paging.parse_instant(start)
    tail_from = t0 - paging.TAIL_OVERLAP
    if q.since and paging.parse_instant(q.since) > tail_from:
        tail_from = paging.parse_instant(q.since)
    since = paging.format_instant(tail_from)
    where = None if q.since_param else f"{rk} ge {since}"
    from_ticks = paging.instant_ticks(since)
    t0_ticks = paging.instant_ticks(start)

    def inside(row: Record) -> bool:
        return ctx.at_or_after(row, from_ticks)

    def served(rows: list[Record]) -> None:
        # Every row served, not only those emitted: a row created while the walk ran and already
        # emitted by one of its later pages is still churn (its insert may have shifted others).
        if any(ctx.at_or_after(row, t0_ticks) for row in rows):
            ctx.stats.churn = True

    for record in keyset(ctx, size, where, q.order_keys, inside, since=since, served=served):
        ctx.stats.tail_records += 1
        yield record


def gaps(
    ctx: ReadContext, size: int, bounds: list[Bound | None], since_filter: str | None
) -> Iterator[Record]:
    """Rows strictly between page ``p``'s last key and page ``p + 1``'s first key, and after the last."""
    q = ctx.q
    keys = q.order_keys
    edges = [b for b in bounds if b is not None]
    if not keys or any(v is None for b in edges for part in b for v in part):
        ctx.logger.warning("%s: no usable key to check for rows hidden by churn", q.label)
        return
    ranges: list[tuple[tuple[Any, ...], tuple[Any, ...] | None]] = []
    for (_, last), (nxt, _) in itertools.pairwise(edges):
        ranges.append((last, nxt))
    if edges:
        ranges.append((edges[-1][1], None))
    recovered = 0
    for chunk in _chunks(ranges, keys):
        where = paging.conjunction(since_filter, " or ".join(f"({_range(keys, r)})" for r in chunk))

        def inside(row: Record, chunk: list[tuple[Any, Any]] = chunk) -> bool:
            key = ctx.key(row)
            return ctx.keep(row) and any(paging.between(key, low, high) for low, high in chunk)

        for record in keyset(ctx, size, where, keys, inside):
            recovered += 1
            yield record
    ctx.stats.gap_records += recovered
    if recovered:
        ctx.logger.info("%s: %d row(s) recovered between pages after churn", q.label, recovered)


def _range(keys: tuple[str, ...], bounds: tuple[tuple[Any, ...], tuple[Any, ...] | None]) -> str:
    low, high = bounds
    return paging.conjunction(paging.after(keys, low), paging.before(keys, high) if high else None) or ""


def _chunks(
    ranges: list[tuple[tuple[Any, ...], tuple[Any, ...] | None]], keys: tuple[str, ...]
) -> Iterator[list[tuple[Any, Any]]]:
    """At most ``GAPS_PER_REQUEST`` ranges and about ``MAX_FILTER_CHARS`` of ``$filter`` per request."""
    chunk: list[tuple[Any, Any]] = []
    length = 0
    for item in ranges:
        text = _range(keys, item)
        if chunk and (len(chunk) >= paging.GAPS_PER_REQUEST or length + len(text) > paging.MAX_FILTER_CHARS):
            yield chunk
            chunk, length = [], 0
        chunk.append(item)
        length += len(text) + 6
    if chunk:
        yield chunk
