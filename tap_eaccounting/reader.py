"""Reading one list query completely, fast, without losing a record to churn, and whatever the server
turns out to support.

The rule: **a record that exists both when the read starts and when it ends is emitted**, whatever is
created, modified or deleted around it meanwhile. Page-index pagination alone cannot promise that: a
delete before position ``p * size`` shifts every later row one place left, so the row at the start of
page ``p + 1`` slides onto page ``p``; if page ``p`` was fetched before the delete and page ``p + 1``
after it, that row is never seen. Keyset pagination (``key gt <last key>``) cannot skip a row, but is
strictly sequential: one round trip per page, so 100 pages at 250 ms take 25 s, 2.5x the rate-limit
floor. The **keyed route** keeps page-index concurrency for the bulk and repairs what it can lose:

1. **Bulk** (``page_walk``): page 1 is ordered by an *immutable* unique key (``Id``, or the natural
   key) and, for an incremental stream, filtered on ``<replication key> ge <bookmark>``. It tells how
   many rows match; the remaining pages are fetched concurrently (``max_concurrency`` in flight) and
   emitted in order. Ordered by an immutable key, a *modification* never moves a row, and a row never
   leaves the filtered set (modification timestamps only grow), so only deletes (left shifts) can hide
   a row, and only in the key range *between* two consecutive pages: a row whose key lies inside a
   page's first..last range is on that page, since pages are contiguous slices of the order.
2. **Tail** (``keyset_repair``): a keyset catch-up on the key, within ``<replication key> ge`` page 1's
   ``ServerTimeUtc`` (minus ``TAIL_OVERLAP``), reads every row created or modified while the bulk ran,
   in its newest version.
3. **Gap check**, only when churn was seen (``TotalNumberOfResults`` moved between pages, or the tail
   found a row stamped after page 1), or always for a multi-page stream with no replication key
   (nothing else can reveal churn there): one keyset query per ``GAPS_PER_REQUEST`` boundaries asks for
   rows strictly between page ``p``'s last key and page ``p + 1``'s first key, and after the last page.
   A row hidden by a left shift is exactly such a row, so it is found and emitted.

Cost: a read that fits one page is one request (one response is one consistent snapshot, so no tail and
no check). A multi-page incremental read adds one tail request; the gap check adds
``ceil(pages / GAPS_PER_REQUEST)`` requests only under churn. Rows are emitted once per key and
replication-key value: a row modified after its page was read goes out again, in its new version.

**Adapting to the endpoint.** Nothing about the API's list options is verified (``paging``), so every
answer is checked against what was asked, and what it shows is learned per endpoint (path template),
kept in the stream's state and announced once (``list_capabilities``); a later run starts from it:

* ``$filter`` *ignored*: a filtered page holds a row the filter excludes (replication key below the
  bound, a keyset row not after its cursor, a gap-check row outside its ranges); *refused*: a 400
  that the same request without ``$filter`` does not get (``list_requests`` diagnoses 400s by
  elimination, also for ``$orderby`` and the page size). Then the read is a **scan**: no server-side
  filter, the bound applied client-side, no tail and no gap check.
* ``$orderby`` *ignored*: a page of two or more rows out of the order asked (under either collation
  the server may sort Ids in, ``paging.COLLATIONS``); *refused*: 400. Then the read is a **scan** with
  no ``$orderby``: nothing relies on the order, no keyset and no key ranges. Where ``$filter`` works
  and there is a replication key, the scan is repaired by **ranges** of it instead (``list_ranges``),
  each range one response: a page-index read without an order loses rows to any move of that order.
* page size: what page 1 shows is served, or what a 400 names or leaves (``page_walk``,
  ``list_requests``); the endpoint is then asked for that size.

A filter found ignored or refused during the bulk starts the read again as a scan (rows already
emitted are not emitted twice); one found during a tail or gap check leaves the bulk's rows standing
and turns the pass into a scan pass. An ignored ``$orderby`` lets the bulk finish (page-index reading
does not need the order) and turns the pass into a scan pass.

**Completeness.** After each pass (a run of the walk, plus the repairs of the keyed route) the distinct
keys the query *as sent* served (for a scan filtered client-side: the unfiltered rows, against the
unfiltered count) are reconciled with the pass's smallest ``TotalNumberOfResults``. Churn tolerance:
the smallest total is the reference because rows deleted mid-read lower it (whether or not they were
seen) while rows created mid-read need not be seen (they did not exist when the read started). A
shortfall, or churn during a scan pass (which has no repair, so a shift can hide a row without
changing the count; a scan also takes a row stamped after page 1 for churn, as the count stays put
when as many rows are created as deleted), costs one **re-read** as a scan (same options and page
size; rows already emitted are not emitted twice, keys are counted across both passes). The re-read
walks backward, one page at a time, in replication-key order where the order is usable, so that
rows written meanwhile go to the end and deletes shift rows onto pages not read yet (``page_walk``).
A shortfall that remains is a WARNING with the counts, or ``IncompleteReadError`` with
``strict_completeness`` (meant for sources without churn, where any shortfall is a lost row).

**Settling** (a scan in replication-key order: ``$orderby`` usable, a replication key). A backward
re-read misses only a row modified while it ran, before it reached the row (the row moved to the end,
already read). So **settle rounds** follow (``PageWalk.settle``): each reads every row stamped since the
previous pass began (less ``SETTLE_MARGIN``, for rows visible later than their stamp), from the end
backward; a round of one response is one snapshot and settles the read, and so does a round that
served no row version the read had not emitted while the read holds as many distinct rows as the round
counted; any other round is followed by another (none after a round refused down to page 1: it has no
``ServerTimeUtc``). A forward walk that ends reconciled with no churn seen costs one round too (the
**settle check**): inserts and deletes that keep the count can hide a row from a concurrent walk, and
leave rows stamped after it began (less the margin) at the end of the order; if the last page shows
none, the walk was a snapshot, else the read is read again, then settled. At most ``MAX_SETTLE_ROUNDS``
rounds (the check included); a list written to faster than one response can catch ends unsettled, with
a WARNING naming the rounds and the counts. Assumed: a write is stamped at most ``SETTLE_MARGIN``
before the ``ServerTimeUtc`` of any response served before it became visible (UNVERIFIED; the sandbox's
``stamp_lag_seconds``). Without a usable order or a replication key nothing shows where writes went:
such a scan has the count and one backward re-read.

**Termination.** A read makes at most ``request_bound(total, size)`` requests: ``total`` is the largest
``TotalNumberOfResults`` (or count of distinct keys, if larger) any of its responses showed, ``size`` the
page size the endpoint serves. ``ListRequests`` enforces it: at the bound the read stops, reconciles
and warns. Before the bound, every loop ends on its own: walks after the computed pages, or on a short,
empty, refused or all-seen page; a keyset when its cursor does not advance (then the filter is learned
ignored); a settle round at page 1 at the latest; passes after one restart for ``$filter``, the
restarts of at most ``MAX_DIAGNOSES`` diagnoses, one re-read and ``MAX_SETTLE_ROUNDS`` settle rounds.

Incremental children (one state partition per parent) add no path around these reads: ``Reader.probe``
only *counts* the rows of the flat sibling list at or after a watermark (one request, ``$pagesize=1``;
diagnoses included at most ``PROBE_BOUND``),
and a partition is skipped only when that count is 0, i.e. when no row was written since the last run
that read every partition; otherwise every partition is read as above. The argument that this skips
no row is in ``client.EAccountingStream.probe_sibling``. A sibling known to ignore or refuse ``$filter``
is not probed.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Generator, Iterator
from concurrent.futures import ThreadPoolExecutor

from eaccounting_api import paging
from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.errors import BadRequestError
from eaccounting_api.paging import Page
from tap_eaccounting.keyset_repair import gaps, tail
from tap_eaccounting.list_capabilities import IGNORED, CapabilityBook
from tap_eaccounting.list_query import ListQuery, PageSize, ReadStats
from tap_eaccounting.list_ranges import ranges
from tap_eaccounting.list_read import FilterIgnored, ReadContext, Record, RepairFailed, latest_ticks
from tap_eaccounting.list_requests import (
    DIAGNOSIS_REQUESTS,
    MAX_DIAGNOSES,
    Ask,
    BudgetSpent,
    ListRequests,
    Relearned,
)
from tap_eaccounting.page_walk import PageWalk
from tap_eaccounting.pass_plan import MAX_SETTLE_ROUNDS, PassPlan, Step

__all__ = [
    "MAX_SETTLE_ROUNDS",
    "PROBE_BOUND",
    "IncompleteReadError",
    "ListQuery",
    "PageSize",
    "ReadStats",
    "Reader",
    "request_bound",
]

MAX_REREADS = 1
# The most requests one probe makes: its request, again after each of at most MAX_DIAGNOSES diagnoses.
PROBE_BOUND = (1 + MAX_DIAGNOSES) * DIAGNOSIS_REQUESTS
# A guard only: restarts end on their own (see above).
_MAX_PASSES = 2 + MAX_DIAGNOSES + MAX_REREADS + MAX_SETTLE_ROUNDS


def request_bound(total: int, size: int) -> int:
    """The most requests one read makes (see "Termination"). With ``pages = ceil(total / size)``:

    * the keyed pass: the walk and one page past it (``pages + 1``), the tail (``pages + 1``: at most
      every row), the gap checks (two per ``GAPS_PER_REQUEST`` ranges, plus the pages of rows found);
      or the walk and the ranges of ``list_ranges`` (about ``pages / RANGE_FILL`` and their splits);
    * two scan passes (``pages + 1`` each): a restart after ``$filter`` failed, and a re-read;
    * ``MAX_SETTLE_ROUNDS`` settle rounds of at most ``pages + 1`` requests each: a round asks each page
      number at most once, from the last page down (at most ``pages``), plus the one request whose
      count sends it up to a later last page (``page_walk.PageWalk.settle``); the ranges route has no
      settle rounds (no usable order) and spends this share on as many recent rounds of
      ``list_ranges`` instead, each the ranges of the rows stamped within ``SETTLE_MARGIN``;
    * ``MAX_DIAGNOSES`` diagnoses of ``DIAGNOSIS_REQUESTS`` requests each.

    ``total`` covers churn: rows created meanwhile raise it, so they raise the bound with them."""
    pages = max(1, math.ceil(max(total, 0) / max(size, 1)))
    gap_checks = 2 * math.ceil((pages + 1) / paging.GAPS_PER_REQUEST) + pages
    keyed = 2 * (pages + 1) + gap_checks
    settling = MAX_SETTLE_ROUNDS * (pages + 1)
    return keyed + 2 * (pages + 1) + settling + MAX_DIAGNOSES * DIAGNOSIS_REQUESTS


class IncompleteReadError(RuntimeError):
    """``strict_completeness``: a read served fewer distinct records than the server counted."""

    def __init__(self, stream: str, path: str, expected: int, got: int) -> None:
        self.stream, self.path, self.expected, self.got = stream, path, expected, got
        super().__init__(
            f"{stream}: {path} served {got} distinct record(s) where TotalNumberOfResults said {expected}, "
            "after a re-read (strict_completeness is on)"
        )


class Reader:
    """Reads list queries for one stream (one reader per stream, or per parent of a fan-out)."""

    def __init__(
        self,
        client: EAccountingClient,
        pool: ThreadPoolExecutor,
        page_size: PageSize,
        max_concurrency: int,
        logger: logging.Logger,
        *,
        book: CapabilityBook | None = None,
        stream: str | None = None,
        strict: bool = False,
    ) -> None:
        self.pool = pool
        self.page_size = page_size
        # Pages submitted ahead: twice the pool's workers, so a worker never idles while the caller is
        # still emitting a finished page; the pool itself bounds requests in flight to max_concurrency.
        self.window = 2 * max(1, max_concurrency)
        self.logger = logger
        self.book = book if book is not None else CapabilityBook()
        self.stream = stream
        self.strict = strict
        self.stats = ReadStats()
        self.requests = ListRequests(client, self.book, logger, self.stats)
        self.plan = PassPlan(self.book, self.stats, logger)

    # -- the read -----------------------------------------------------------------------------------
    def read(self, q: ListQuery) -> Iterator[Record]:
        """Every record of ``q``, emitted as pages arrive, in page order (see the module docstring)."""
        stats = self.stats
        stats.churn, stats.first_server_time, stats.passes = False, None, 0
        stats.settle_rounds, stats.unsettled = 0, False
        ctx = ReadContext(q, self.requests, self.book, self.pool, self.window, self.logger, stats)
        ctx.size = self.page_size.size
        self.book.use(self._owner(q), q.endpoint)
        self.requests.start_read(lambda: request_bound(ctx.max_total, ctx.size))
        step: Step | None = Step()
        spent = False
        try:
            while step is not None and stats.passes < _MAX_PASSES:
                stats.passes += 1
                try:
                    walk = yield from self._pass(ctx, step)
                except (Relearned, FilterIgnored) as exc:
                    self.logger.debug("%s: %s (%s); reading again", q.label, type(exc).__name__, exc)
                    continue
                except BudgetSpent as exc:
                    spent = True
                    self.logger.warning("%s: %s stopped after %s", q.label, q.path, exc)
                    break
                step = self.plan.next(ctx, step, walk)
        finally:
            self.requests.end_read()
        self.book.announce(self._owner(q), q.endpoint, self.logger)
        self._conclude(ctx, spent)

    def _pass(self, ctx: ReadContext, step: Step) -> Generator[Record, None, PageWalk]:
        q = ctx.q
        rereading = step.rereading
        caps = self.book.get(q.endpoint)
        size = min(self.page_size.size, caps.page_size or self.page_size.size)
        ctx.size = min(ctx.size, size)
        since_filter = self._since_filter(q) if caps.filter_usable else None
        since_value = q.since if q.since_param else None
        scanning = rereading or step.below is not None or not (caps.filter_usable and caps.orderby_usable)
        ctx.begin_pass(restricted=bool(since_filter or since_value), scanning=scanning)
        order = q.order_keys
        if (rereading or step.below) and q.replication_key:
            # Backward, and in the order rows are written in: rows created or modified meanwhile go to
            # the end (already read), deletes shift rows toward the pages still to read (``page_walk``).
            order = (q.replication_key, *q.order_keys)
        ask = Ask(
            size=size,
            filter=paging.conjunction(since_filter) if since_filter else None,
            orderby=order if caps.orderby_usable else (),
            since=since_value,
        )
        walk = PageWalk(
            ctx,
            ask,
            ctx.keep if ask.filter else None,
            lambda n, of: self._progress(q, n, of),
            descending=rereading or step.below is not None,
        )
        if step.below is not None:
            if ask.orderby:  # else the order was found unusable meanwhile: nothing to settle by
                yield from walk.settle(step.below)
            return walk
        yield from walk.run()
        if not walk.multi_page:
            ctx.repaired = True  # one response: one consistent snapshot
            return walk
        caps = self.book.get(q.endpoint)
        if rereading or not caps.filter_usable or not (caps.orderby_usable or q.replication_key):
            return walk
        try:
            if not caps.orderby_usable:
                yield from ranges(ctx, walk.size, ask.filter)
            elif q.replication_key:
                yield from tail(ctx, walk.size)
            if caps.orderby_usable and (ctx.stats.churn or not q.replication_key):
                yield from gaps(ctx, walk.size, walk.bounds, ask.filter)
            ctx.repaired = True
        except RepairFailed as exc:
            self.logger.debug("%s: repair of %s dropped (%s)", q.label, q.path, exc)
        return walk

    def _conclude(self, ctx: ReadContext, spent: bool) -> None:
        q, stats = ctx.q, self.stats
        stats.expected, stats.distinct = ctx.expected, ctx.distinct
        if stats.unsettled:
            self.logger.warning(
                "%s: %s kept changing while it was read: %d settle round(s) did not settle it "
                "(%d distinct record(s), TotalNumberOfResults %d); a row modified meanwhile may be missing "
                "until the next run",
                q.label,
                q.path,
                stats.settle_rounds,
                ctx.distinct,
                ctx.expected,
            )
        if not q.order_keys or ctx.distinct >= ctx.expected:
            return
        if self.strict:
            raise IncompleteReadError(q.label, q.path, ctx.expected, ctx.distinct)
        self.logger.warning(
            "%s: %s served %d distinct record(s) where TotalNumberOfResults said %d, after %d pass(es)%s",
            q.label,
            q.path,
            ctx.distinct,
            ctx.expected,
            stats.passes,
            " (stopped at the request bound)" if spent else "",
        )

    @staticmethod
    def _since_filter(q: ListQuery) -> str | None:
        if q.since and q.replication_key and not q.since_param:
            return f"{q.replication_key} ge {paging.odata_instant(q.since)}"
        return None

    def _owner(self, q: ListQuery) -> str:
        return self.stream or q.label

    def _progress(self, q: ListQuery, number: int, total: int) -> None:
        # A one-page read (most per-parent reads: one per customer or voucher) says nothing worth a line
        # at INFO; fan-out streams log their own progress (fan_out.py).
        level = logging.DEBUG if total <= 1 else logging.INFO
        self.logger.log(level, "%s page %d/%d", q.label, number, total)

    # -- the probe ----------------------------------------------------------------------------------
    def probe(self, q: ListQuery) -> Page | None:
        """One request: how many rows of ``q`` match (``Meta.TotalNumberOfResults``), one row per page,
        ordered by the replication key. ``None`` when the server refuses the query (400) or is known not
        to apply ``$filter``: the caller then reads as if the probe had found changes. At most
        ``PROBE_BOUND`` requests."""
        self.book.use(self._owner(q), q.endpoint)
        self.requests.start_read(lambda: PROBE_BOUND)
        try:
            return self._probe(q)
        finally:
            self.requests.end_read()

    def _probe(self, q: ListQuery) -> Page | None:
        keys = (q.replication_key,) if q.replication_key else q.order_keys
        for _ in range(1 + MAX_DIAGNOSES):
            caps = self.book.get(q.endpoint)
            since_filter = self._since_filter(q)
            if since_filter and not caps.filter_usable:
                return None
            ask = Ask(
                size=1,
                filter=paging.conjunction(since_filter) if since_filter else None,
                orderby=keys if caps.orderby_usable else (),
                since=q.since if q.since_param else None,
            )
            try:
                page = self.requests.first(q, ask)
            except Relearned:
                continue
            except (BadRequestError, BudgetSpent) as exc:
                self.logger.warning("%s: probe refused (%s); reading every partition instead", q.label, exc)
                return None
            finally:
                self.book.announce(self._owner(q), q.endpoint, self.logger)
            if since_filter and q.since and not self._all_since(q, page):
                self.book.learn(q.endpoint, filter=IGNORED)
                self.book.announce(self._owner(q), q.endpoint, self.logger)
                return None
            return page
        return None

    @staticmethod
    def _all_since(q: ListQuery, page: Page) -> bool:
        assert q.since is not None
        assert q.replication_key is not None
        bound = paging.instant_ticks(paging.odata_instant(q.since))
        values = [r.get(q.replication_key) for r in page.data]
        return all(v and latest_ticks(str(v)) >= bound for v in values)
