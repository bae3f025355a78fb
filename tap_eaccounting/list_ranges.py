"""Reading a list again in ranges of its replication key, each range one response: the repair of a scan
pass when the endpoint ignores or refuses ``$orderby`` but applies ``$filter`` (see ``reader``).

Without a usable order, page-index reading misses rows whenever the order moves between requests: a
delete shifts every later row, and a server that ignores ``$orderby`` may even answer each request in
another order. One response is one consistent snapshot, so the rows are read again in ranges
``<rk> ge b[i] and <rk> lt b[i+1]`` that come back whole: cut at the values the scan saw, about
``RANGE_FILL`` of a page apart once scaled to the rows the server counted (the scan may have seen few).
The ranges tile the time line, and the last, open one starts at page 1's ``ServerTimeUtc`` less
``SETTLE_MARGIN`` (the settle rounds' margin, ``page_walk``: a write is stamped at most that long before
the ``ServerTimeUtc`` of any response served before it became visible, UNVERIFIED, the sandbox's
``stamp_lag_seconds``). A row not modified while the closed ranges are read is in the range it was in;
a row modified meanwhile is stamped at or after that floor, so it is in the open range, which is read
after every other range has been answered. Without the margin (the open range starting at the last
value the scan saw) a row stamped late, or ahead, lands in a closed range already read: the profile
matrix lost rows that way (``orderby_ignored`` under heavy churn, ``stamp_lag_seconds`` +-120). Rows
without a replication key get a range of their own. A range that comes back larger than one page (rows
were created or modified into it) is split at the values its page shows (a sample of it, scaled the
same way), again until every range comes back whole; one that cannot be split (every row shows one
value) is read page by page, which is no worse than the scan. Splits end: every split range spans fewer
distinct values (and the read's request bound holds anyway).

A closed range split is safe (a row modified meanwhile goes to the open range, read later), but the
open range holds every row stamped within the margin, and when it is split, a row modified while its
parts are read is stamped anywhere in the margin, perhaps in a part already read. So after an open
range that did not come back whole, the rows stamped since its first response's ``ServerTimeUtc`` less
the margin are read again as a new open range (a **recent round**): a row the parts missed was written
after that response, so it is in the round, and served unless written again while the round ran. Rounds
end on an open range that comes back whole (one snapshot), on a round that served no key new to the
read (the residual: a row written again during every round, each time into a part already read, is
accepted, as ``page_walk`` accepts it), or after ``MAX_SETTLE_ROUNDS``, then unsettled, with the reader's
warning. A list written to faster than rows can be read within the margin cannot do better: nothing
tells a row written now from one written a margin ago. The rounds spend the settle rounds' share of
``reader.request_bound``, which this route has no other use for (settle rounds need a usable order).
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
from tap_eaccounting.page_walk import SETTLE_MARGIN
from tap_eaccounting.pass_plan import MAX_SETTLE_ROUNDS

RANGE_FILL = 0.75  # rows per range, as a share of the page: room for rows that arrive meanwhile
# [low, high) in ticks (None: unbounded), or None: the rows without a replication key.
Range = tuple[int | None, int | None] | None
NULL: Range = None
_MARGIN_TICKS = int(SETTLE_MARGIN.total_seconds() * TICKS_PER_SECOND)


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
        # The first ServerTimeUtc of an open range that did not come back whole (None: it did), and
        # whether one did not (a page may lack ServerTimeUtc).
        self.open_split_at: str | None = None
        self.open_split = False

    def run(self) -> Iterator[Record]:
        ctx = self.ctx
        start = ctx.stats.first_server_time
        if start is None:
            raise RepairFailed("page 1 showed no ServerTimeUtc: nothing bounds the rows written meanwhile")
        floor = paging.instant_ticks(start) - _MARGIN_TICKS
        values = [paging.instant_ticks(str(identity[-1])) for identity in ctx.emitted if identity[-1]]
        per_range = self._scaled(len(values), ctx.max_total)
        bounds: list[int | None] = [None, *cuts(values, per_range, high=floor), floor]
        closed: list[Range] = [] if ctx.since_ticks is not None else [NULL]
        closed += list(itertools.pairwise(bounds))
        yield from self._read_all(closed)
        yield from self._recent(floor)  # the open range: after every other one

    def _recent(self, floor: int) -> Iterator[Record]:
        """The open range from ``floor``, then recent rounds while it does not come back whole."""
        ctx = self.ctx
        for rounds in range(MAX_SETTLE_ROUNDS + 1):  # the open range, then at most MAX_SETTLE_ROUNDS
            ctx.stats.settle_rounds += 1 if rounds else 0
            self.open_split_at, self.open_split = None, False
            known = ctx.distinct
            yield from self._read_all([(floor, None)])
            if not self.open_split or (rounds and ctx.distinct == known):
                return  # one snapshot, or a round that found nothing the read missed
            if self.open_split_at is not None:
                floor = max(floor, paging.instant_ticks(self.open_split_at) - _MARGIN_TICKS)
        ctx.stats.unsettled = True

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
        if where is not None and where[1] is None and not self.open_split:
            self.open_split, self.open_split_at = True, page.server_time
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
