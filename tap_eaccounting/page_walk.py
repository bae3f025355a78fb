"""The page-index walk of a list query: page 1, then the rest concurrently, emitted in page order.

How many pages: ``ceil(TotalNumberOfResults / size served)``, never ``Meta.TotalNumberOfPages``
alone (a server may say 0 while serving rows). The size served is what page 1 reveals: ``Meta.PageSize``
when below the ask (a server that clamps and says so), else the rows of page 1 when it holds fewer than
asked yet is not the last (a server that clamps but echoes the ask); either is learned as the endpoint's
``page_size``, and later pages are asked for at that size, so page ``p`` starts where the server's
page ``p`` starts whichever size it counts in. Past the computed last page the walk goes on one page
at a time while pages come back full with new keys and the counts do not add up (Meta contradicts the
rows served). A page past the end may come back empty or as a 400: both end the walk.

A re-read walks backward (``descending``): page 1 for the count, then the last page down to page 2, one
at a time, then page 1 again. Deletes shift later rows toward page 1, i.e. onto pages not read yet, so
against an order that only changes by deletes and rows added at the end (the reader re-reads in
replication-key order where there is one: new and modified rows go to the end), no row that stays put
hides from it, whatever the first (forward, concurrent) walk lost. Only a row modified during the walk,
before the walk reached it, can hide from it: it moved to the end, already read.

A **settle round** (``settle``) reads exactly those: in replication-key order, from the last page
backward down to the first page whose first row is stamped before ``below`` (the ``ServerTimeUtc`` the
previous walk or round started at), so every row stamped at or after ``below`` is read, in its newest
version. The same argument holds within the round for rows it does not see modified; a row modified
during the round moved to the end again. A round of one response is one snapshot, so none can hide from
it (``atomic``): the reader settles a read with rounds until one is (``reader``, "Settling").

A row may become visible later than its stamp says (a late commit, replication lag, skew between the
node answering ``ServerTimeUtc`` and the database's clock; UNVERIFIED, the sandbox's
``stamp_lag_seconds``). Such a row, written while a pass ran, is stamped before that pass's first
``ServerTimeUtc`` and lands among the rows already stamped then, not at the very end: it may hide from
the pass, and shift a row of the pages still to read onto a page already read. Both rows are stamped at
most ``SETTLE_MARGIN`` before the pass began, so a round reads from ``below`` minus that margin (and
the settle check looks for rows stamped since then). With the margin a round on a busy list rarely is
one response. A round that reaches its floor serving no row version the read had not emitted
(``quiet``) settles the read too, when the read also holds as many distinct rows as the round counted
(``pass_plan``): every row the earlier passes missed lies within the round's range, so it was served
(and new) unless it was written again during the round; the count then catches such a row unless as
many rows the read emitted were deleted meanwhile. That residual case (a row written again in every
pass, each time before the pass reached it, while others are deleted) is accepted. Versions, not
keys: a round that serves rows written since the one before shows the list still being written to,
the only way a row can hide; a list written to in every round ends unsettled, with a warning.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field, replace

from eaccounting_api import paging
from eaccounting_api.errors import BadRequestError
from eaccounting_api.paging import Page
from tap_eaccounting.list_read import Bound, ReadContext, Record
from tap_eaccounting.list_requests import Ask

# How long before a pass began a row written while it ran may be stamped (see the module docstring):
# the same bound the bookmark cap and the tail catch-up assume (``paging.TAIL_OVERLAP``), one constant
# for one assumption. Five minutes is far above a commit's or a replica's usual lag and a synced
# clock's skew; the cost is that every row stamped within it is read again by each round.
SETTLE_MARGIN = paging.TAIL_OVERLAP
_MARGIN_TICKS = int(SETTLE_MARGIN.total_seconds() * 10_000_000)  # .NET ticks: 100 ns


@dataclass
class PageWalk:
    ctx: ReadContext
    ask: Ask  # page 1's request
    inside: Callable[[Record], bool] | None  # the $filter's client-side reading, if one is sent
    progress: Callable[[int, int], None]
    descending: bool = False  # a re-read: backward, one page at a time (see the module docstring)
    size: int = 0  # the page size served
    pages_read: int = 0
    rows: int = 0  # rows served by this walk
    last_rows: int = 0  # rows of the last page
    last_fresh: int = 0  # keys of the last page new to the read
    bounds: list[Bound | None] = field(default_factory=list)  # first and last key of each page
    first: Page | None = None
    next_page: int = 0  # the page after the highest one read (``_extend`` goes on from there)
    start: str | None = None  # ServerTimeUtc of the walk's (or round's) first response
    responses: int = 0  # pages served to this walk (or round)
    stamped: bool = False  # a settle round served a row stamped at or after its floor
    fresh_versions: int = 0  # rows this walk (or round) emitted: versions new to the read
    reached: bool = False  # a settle round read down to its floor (or page 1)

    @property
    def multi_page(self) -> bool:
        return self.pages_read > 1

    def run(self) -> Iterator[Record]:
        ctx = self.ctx
        first = ctx.requests.first(ctx.q, self.ask)
        self.first = first
        self.start = first.server_time
        if ctx.stats.first_server_time is None:
            ctx.stats.first_server_time = first.server_time
        ctx.note(first)
        self.size = self._served_size(first)
        ctx.size = min(ctx.size, self.size)
        planned = max(1, math.ceil(first.total_results / self.size))
        rows = len(first.data)
        if first.total_pages != (math.ceil(first.total_results / self.size) if first.total_results else 0):
            ctx.meta_doubt = first.total_pages > 1 or rows > 0  # a count of 0 or 1 for no rows is fine
        if first.total_results < rows:
            ctx.meta_doubt = True
        self.progress(1, planned)
        yield from self._take(first)
        if planned > 1 and self.descending:
            yield from self._backward(planned)
        elif planned > 1:
            yield from self._bulk(planned)
        yield from self._extend()

    def _served_size(self, first: Page) -> int:
        asked, rows = self.ask.size, len(first.data)
        learned: int | None = None
        if 0 < rows < asked and first.total_results > rows:
            learned = rows  # not the last page, yet short: what the server really serves
        elif 0 < first.size < asked and rows <= first.size:
            learned = first.size  # clamped, and said so
        if learned is None:
            return asked
        self.ctx.book.learn(self.ctx.q.endpoint, page_size=learned)
        return learned

    def _take(self, page: Page) -> Iterator[Record]:
        """Check, count and emit one page (a re-read's order is not checked: the first pass checked the
        endpoint's, and a re-read may sort on a timestamp the API shows coarser than it sorts)."""
        ctx = self.ctx
        data = page.data
        keys = ctx.keys(data)  # once per page, for every check below
        ask = replace(self.ask, orderby=()) if self.descending else self.ask
        ctx.check(data, ask, self.inside, keys)
        ctx.stats.pages += 1
        self.pages_read += 1
        self.responses += 1
        self.last_fresh = len(ctx.count(data, keys))
        self.rows += len(data)
        self.last_rows = len(data)
        self.bounds.append((keys[0], keys[-1]) if data else None)
        emitted = ctx.emit(data, keys)
        self.fresh_versions += len(emitted)
        yield from emitted

    def _bulk(self, planned: int) -> Iterator[Record]:
        ctx = self.ctx
        futures: dict[int, Future[Page]] = {}
        next_page = 2
        total = planned

        def fill() -> None:
            nonlocal next_page
            while next_page <= total and len(futures) < ctx.window:
                ask = replace(self.ask, page=next_page, size=self.size)
                futures[next_page] = ctx.pool.submit(ctx.requests.get, ctx.q, ask)
                next_page += 1

        try:
            fill()
            number = 2
            while number <= total:
                try:
                    page = futures.pop(number).result()
                except BadRequestError as exc:
                    ctx.logger.debug("%s: page %d refused (%s): past the last page", ctx.q.label, number, exc)
                    break
                ctx.note(page)
                # Rows were added: read the new pages too.
                total = max(total, math.ceil(page.total_results / self.size))
                fill()
                self.progress(number, total)
                yield from self._take(page)
                if not page.data:
                    break  # past the end (rows were deleted meanwhile)
                number += 1
        finally:
            for pending in futures.values():
                pending.cancel()

    def _backward(self, planned: int) -> Iterator[Record]:
        ctx = self.ctx
        highest: tuple[int, int] | None = None  # (rows, fresh keys) of the last page
        for number in [*range(planned, 1, -1), paging.FIRST_PAGE]:
            try:
                page = ctx.requests.get(ctx.q, replace(self.ask, page=number, size=self.size))
            except BadRequestError as exc:
                ctx.logger.debug("%s: page %d refused (%s): past the last page", ctx.q.label, number, exc)
                continue  # rows were deleted meanwhile: the lower pages are still to be read
            ctx.note(page)
            self.progress(number, planned)
            yield from self._take(page)
            if highest is None:
                highest = (self.last_rows, self.last_fresh)
        self.last_rows, self.last_fresh = highest or (0, 0)
        self.next_page = planned + 1

    def settle(self, below: str) -> Iterator[Record]:
        """A settle round (see the module docstring): from the last page (as the read's latest
        ``TotalNumberOfResults`` places it; once higher if its answer counts more rows) backward, down
        to the first page that starts with a row stamped before its floor (``below`` minus
        ``SETTLE_MARGIN``), or page 1."""
        ctx = self.ctx
        self.size = self.ask.size
        floor = paging.instant_ticks(below) - _MARGIN_TICKS
        number = self._last_page(ctx.latest_total)
        while True:
            try:
                page = ctx.requests.get(ctx.q, replace(self.ask, page=number))
            except BadRequestError as exc:
                ctx.logger.debug("%s: page %d refused (%s): past the last page", ctx.q.label, number, exc)
                if number <= paging.FIRST_PAGE:
                    self.responses += 2  # nothing read: the round settles nothing
                    return
                number -= 1  # rows were deleted meanwhile
                continue
            if self.start is None:
                self.start = page.server_time
            ctx.note(page)
            last = self._last_page(page.total_results)
            if last > number and not self.responses:  # the first answer only (not a lower page's)
                number = last  # rows were added at the end: start from there
                self.responses += 1  # not taken, but it makes the round more than one snapshot
                continue
            self.progress(number, last)
            yield from self._take(page)
            self.stamped = self.stamped or any(ctx.at_or_after(r, floor) for r in page.data)
            if number <= paging.FIRST_PAGE or (page.data and not ctx.at_or_after(page.data[0], floor)):
                self.reached = True
                return
            number = min(number - 1, last)  # an empty page: past the end, rows were deleted meanwhile

    @property
    def atomic(self) -> bool:
        """The walk (or round) was one response: one consistent snapshot."""
        return self.responses == 1

    @property
    def quiet(self) -> bool:
        """A settle round that read down to its floor and served no row version the read had not
        emitted (see the module docstring for what that shows)."""
        return self.reached and not self.fresh_versions

    def _last_page(self, total: int) -> int:
        return max(paging.FIRST_PAGE, math.ceil(max(total, 0) / max(self.size, 1)))

    def _extend(self) -> Iterator[Record]:
        """Past the computed last page, while pages come back full, bring new keys, and the counts do not
        add up. Ends on a short or empty page, a 400, or a page of keys already seen."""
        ctx = self.ctx
        number = self.next_page or self.pages_read + 1
        while self.last_fresh and self.last_rows >= self.size and self._counts_disagree(number):
            try:
                page = ctx.requests.get(ctx.q, replace(self.ask, page=number, size=self.size))
            except BadRequestError as exc:
                ctx.logger.debug("%s: page %d refused (%s): past the last page", ctx.q.label, number, exc)
                return
            ctx.note(page)
            self.progress(number, number)
            yield from self._take(page)
            number += 1

    def _counts_disagree(self, next_page: int) -> bool:
        assert self.first is not None
        ctx = self.ctx
        return ctx.meta_doubt or self.rows != max(ctx.totals) or self.first.total_pages >= next_page
