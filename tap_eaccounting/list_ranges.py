"""Reading a list again in ranges of its replication key, each range one response: the repair of a scan
pass when the endpoint ignores or refuses ``$orderby`` but applies ``$filter`` (see ``reader``).

Without a usable order, page-index reading misses rows whenever the order moves between requests: a
delete shifts every later row, and a server that ignores ``$orderby`` may even answer each request in
another order. One response is one consistent snapshot, so the rows are read again in ranges
``<rk> ge b[i] and <rk> lt b[i+1]`` that come back whole: cut at the values the scan saw, about
``RANGE_FILL`` of a page apart once scaled to the rows the server counted (the scan may have seen few).
The ranges tile the time line: a row not modified meanwhile is in the range it was in, and a row
modified meanwhile is stamped later than every boundary, so it is in the last, open range, which is
read after every other range has been answered. Rows without a replication key get a range of their
own. A range that comes back larger than one page (rows were created or modified into it) is split at
the values its page shows (a sample of it, scaled the same way), again until every range comes back
whole; one that cannot be split (every row shows one value) is read page by page, which is no worse
than the scan. Splits end: every split range spans fewer distinct values (and the read's request bound
holds anyway).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from concurrent.futures import Future

from eaccounting_api import paging
from eaccounting_api.errors import BadRequestError
from eaccounting_api.paging import Page
from tap_eaccounting.list_read import (
    TICKS_PER_SECOND,
    FilterIgnored,
    ReadContext,
    Record,
    RepairFailed,
    latest_ticks,
)
from tap_eaccounting.list_requests import Ask, Relearned

RANGE_FILL = 0.75  # rows per range, as a share of the page: room for rows that arrive meanwhile
# [low, high) in ticks (None: unbounded), or None: the rows without a replication key.
Range = tuple[int | None, int | None] | None
NULL: Range = None


def instant(ticks: int) -> str:
    """Ticks as the server's own timestamp form (7 fraction digits, ``Z``): an exact OData literal."""
    seconds, rest = divmod(ticks, TICKS_PER_SECOND)
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=seconds)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{rest:07d}Z"


def cuts(values: list[int], per_range: int, low: int | None = None, high: int | None = None) -> list[int]:
    """Boundaries strictly inside (``low``, ``high``), each where ``values`` change, with ``per_range`` of
    them between two (more where values repeat: a cut never falls between equal values)."""
    inside = sorted(v for v in values if (low is None or v > low) and (high is None or v < high))
    result: list[int] = []
    since_cut = 0
    for previous, value in itertools.pairwise(inside[:1] + inside):
        if since_cut >= per_range and value > previous:
            result.append(value)
            since_cut = 0
        since_cut += 1
    return result


class RangeRead:
    def __init__(self, ctx: ReadContext, size: int, since_filter: str | None) -> None:
        self.ctx = ctx
        self.size = size
        self.since_filter = since_filter
        self.per_range = max(1, int(size * RANGE_FILL))
        rk = ctx.q.replication_key
        assert rk is not None
        self.rk = rk

    def run(self) -> Iterator[Record]:
        ctx = self.ctx
        values = [paging.instant_ticks(str(identity[-1])) for identity in ctx.emitted if identity[-1]]
        bounds: list[int | None] = [None, *cuts(values, self._scaled(len(values), ctx.max_total)), None]
        closed: list[Range] = [] if ctx.since_ticks is not None else [NULL]
        closed += list(itertools.pairwise(bounds[:-1]))
        yield from self._read_all(closed)
        yield from self._read_all([(bounds[-2], None)])  # the open range: after every other one

    def _scaled(self, seen: int, counted: int) -> int:
        """Values seen per range, for ``per_range`` rows of the ``counted`` ones."""
        return max(1, self.per_range * seen // max(counted, seen, 1))

    def _read_all(self, ranges: list[Range]) -> Iterator[Record]:
        ctx = self.ctx
        futures: dict[int, Future[Page]] = {}
        try:
            for index, where in enumerate(ranges):
                futures[index] = ctx.pool.submit(self._get, where)
                if index >= ctx.window:
                    yield from self._take(ranges[index - ctx.window], futures.pop(index - ctx.window))
            for index in sorted(futures):
                yield from self._take(ranges[index], futures.pop(index))
        finally:
            for pending in futures.values():
                pending.cancel()

    def _ask(self, where: Range, page: int = paging.FIRST_PAGE) -> Ask:
        q = self.ctx.q
        return Ask(
            size=self.size,
            page=page,
            filter=paging.conjunction(self.since_filter, self._expression(where)),
            since=q.since if q.since_param else None,
        )

    def _expression(self, where: Range) -> str:
        if where is None:
            return f"{self.rk} eq null"
        low, high = where
        parts = [f"{self.rk} ge {instant(low)}" if low is not None else None]
        parts.append(f"{self.rk} lt {instant(high)}" if high is not None else None)
        return paging.conjunction(*parts) or f"{self.rk} ne null"

    def _get(self, where: Range) -> Page:
        try:
            return self.ctx.requests.first(self.ctx.q, self._ask(where))
        except (Relearned, BadRequestError) as exc:
            raise RepairFailed(f"{type(exc).__name__}: {exc}") from exc

    def _inside(self, where: Range, row: Record) -> bool:
        value = row.get(self.rk)
        if where is None or not value:
            return where is None and not value and self.ctx.keep(row)
        low, high = where
        earliest = paging.instant_ticks(str(value))
        fits = (low is None or latest_ticks(str(value)) >= low) and (high is None or earliest < high)
        return fits and self.ctx.keep(row)

    def _take(self, where: Range, future: Future[Page]) -> Iterator[Record]:
        ctx = self.ctx
        page = future.result()
        try:
            ctx.check(page.data, self._ask(where), lambda row: self._inside(where, row))
        except FilterIgnored as exc:
            raise RepairFailed(f"$filter ignored: {exc}") from exc
        ctx.count(page.data)
        yield from ctx.emit(page.data)
        if page.total_results <= len(page.data):
            return  # the whole range in one response
        yield from self._overflow(where, page)

    def _overflow(self, where: Range, page: Page) -> Iterator[Record]:
        """A range larger than one page: split it at the values its page shows, or walk its pages."""
        ctx = self.ctx
        if where is not None:
            low, high = where
            values = [paging.instant_ticks(str(r[self.rk])) for r in page.data if r.get(self.rk)]
            per_range = self._scaled(len(values), page.total_results)
            inner: list[int | None] = [*cuts(values, per_range, low, high)]
            if inner:
                edges: list[int | None] = [low, *inner, high]
                parts: list[Range] = list(itertools.pairwise(edges))
                yield from self._read_all(parts[:-1])
                yield from self._read_all(parts[-1:])
                return
        pages = -(-page.total_results // self.size)
        for number in range(2, pages + 1):
            try:
                more = ctx.requests.get(ctx.q, self._ask(where, number))
            except BadRequestError:
                return  # past the last page (rows were deleted meanwhile)
            ctx.count(more.data)
            yield from ctx.emit(more.data)
            if len(more.data) < self.size:
                return


def ranges(ctx: ReadContext, size: int, since_filter: str | None) -> Iterator[Record]:
    """Every row of the query, read again range by range (see the module docstring)."""
    yield from RangeRead(ctx, size, since_filter).run()
