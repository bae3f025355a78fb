"""One read of a list query in progress: what it emitted, what it counted, and the checks every page
goes through (shared by the page walk and the keyset repairs; see ``reader`` for the design).

Emitted rows are de-duplicated by key and replication-key value (an unchanged row served twice goes
out once; a newer version of it goes out again). Counted keys are those the query *as sent* served,
whatever the client-side filter then kept, per kind of query (with or without the server-side "since"
restriction), across the passes of the read: that count is what ``TotalNumberOfResults`` describes.

A replication-key value is read as the *latest* instant it may stand for (``latest_ticks``): the API may
show a date-time with less precision than it stores and compares (a date alone, whole seconds; UNVERIFIED,
docs/API_FACTS.md#dates-and-timestamps), and a row shown as ``2026-01-31`` may well match
``ModifiedUtc ge 2026-01-31T10:00:00Z``. So the "since" bound never drops such a row, and a filtered page
holding one is not taken for an ignored ``$filter``.
"""

from __future__ import annotations

import itertools
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from eaccounting_api import paging
from eaccounting_api.paging import Page
from tap_eaccounting.list_capabilities import IGNORED, OK, CapabilityBook
from tap_eaccounting.list_query import ListQuery, ReadStats
from tap_eaccounting.list_requests import Ask, ListRequests

Record = dict[str, Any]
Bound = tuple[tuple[Any, ...], tuple[Any, ...]]
TICKS_PER_SECOND = 10_000_000
_PRECISION_RE = re.compile(r"^\d{4}-\d\d-\d\d(T\d\d:\d\d(:\d\d(?:\.(\d{1,7}))?)?)?")


def latest_ticks(value: str) -> int:
    """The latest instant (100 ns ticks) a timestamp as shown may stand for: its last tick at the
    precision it is written in (a date: its day; no seconds: its minute; ``.123``: its millisecond)."""
    ticks = paging.instant_ticks(value)
    match = _PRECISION_RE.match(value)
    if match is None or match.group(1) is None:
        return ticks + 86_400 * TICKS_PER_SECOND - 1 if match else ticks
    if match.group(2) is None:
        return ticks + 60 * TICKS_PER_SECOND - 1
    digits = len(match.group(3) or "")
    return ticks + 10 ** (7 - digits) - 1


class FilterIgnored(Exception):
    """Rows violating the ``$filter`` sent came back: the query did not run as written."""


class RepairFailed(Exception):
    """A keyset repair step (tail, gap check) cannot be trusted: its results are dropped."""


@dataclass
class ReadContext:
    q: ListQuery
    requests: ListRequests
    book: CapabilityBook
    pool: ThreadPoolExecutor
    window: int
    logger: logging.Logger
    stats: ReadStats
    emitted: set[tuple[Any, ...]] = field(default_factory=set)
    counted: dict[bool, set[Any]] = field(default_factory=lambda: {False: set(), True: set()})
    max_total: int = 0  # the largest TotalNumberOfResults of the read
    latest_total: int = 0  # the TotalNumberOfResults of the read's latest walk page
    size: int = paging.DEFAULT_PAGE_SIZE  # the page size served (for the bound)
    # The current pass:
    restricted: bool = False  # the query sent carries the "since" restriction
    totals: list[int] = field(default_factory=list)  # TotalNumberOfResults of its page walk
    meta_doubt: bool = False  # Meta contradicted the rows served (TotalNumberOfPages or Results)
    churn: bool = False  # TotalNumberOfResults moved between its pages
    repaired: bool = False  # tail and gap checks ran (else churn is only caught by a re-read)
    scanning: bool = False  # no ``$filter`` or no ``$orderby``: no keyed repair follows the walk
    _since_ticks: int | None = None
    _null_keys: itertools.count[int] = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        q = self.q
        if q.since and q.replication_key:
            self._since_ticks = paging.instant_ticks(paging.odata_instant(q.since))

    def begin_pass(self, restricted: bool, scanning: bool = False) -> None:
        self.restricted = restricted
        self.scanning = scanning
        self.totals = []
        self.meta_doubt = False
        self.churn = False
        self.repaired = False

    # -- keys and predicates ------------------------------------------------------------------------------
    def key(self, row: Record, keys: tuple[str, ...] | None = None) -> tuple[Any, ...]:
        return tuple([row.get(k) for k in (self.q.order_keys if keys is None else keys)])

    def keys(self, rows: list[Record]) -> list[tuple[Any, ...]]:
        """The order keys of a page's rows, computed once per page for ``check``, ``count`` and ``emit``."""
        names = self.q.order_keys
        if len(names) == 1:
            (name,) = names
            return [(row.get(name),) for row in rows]
        return [tuple([row.get(k) for k in names]) for row in rows]

    def at_or_after(self, row: Record, ticks: int | None) -> bool:
        """Whether the row's replication key may be at or after ``ticks`` (``None``: no bound), at the
        precision the value is shown in (``latest_ticks``)."""
        if ticks is None:
            return True
        rk = self.q.replication_key
        value = row.get(rk) if rk else None
        return bool(value) and latest_ticks(str(value)) >= ticks

    def keep(self, row: Record) -> bool:
        """The "since" bound, applied client-side to every row (a no-op where the server applied it)."""
        return self.at_or_after(row, self._since_ticks)

    @property
    def since_ticks(self) -> int | None:
        return self._since_ticks

    # -- a page ---------------------------------------------------------------------------------------------
    def note(self, page: Page) -> None:
        """Totals of a page of the walk: the reconciliation's reference and the bound's input. In a scan
        pass (no repair follows), also a row stamped after page 1: churn that left the count as it was
        (as many rows created as deleted) still moves rows between pages."""
        self.totals.append(page.total_results)
        self.latest_total = page.total_results
        self.max_total = max(self.max_total, page.total_results)
        if len(self.totals) > 1 and page.total_results != self.totals[0]:
            self.churn = self.stats.churn = True
        rk, start = self.q.replication_key, self.stats.first_server_time
        if self.scanning and not self.churn and rk and start:
            t0 = paging.instant_ticks(start)
            if any(r.get(rk) and paging.instant_ticks(str(r[rk])) >= t0 for r in page.data):
                self.churn = self.stats.churn = True

    def check(
        self, rows: list[Record], ask: Ask, inside: Any = None, keys: list[tuple[Any, ...]] | None = None
    ) -> None:
        """What the request promised, checked on its rows: the ``$orderby`` (on any page of 2+ rows) and
        the ``$filter`` (``inside``: its client-side reading). Learns the verdicts; a violated filter
        raises ``FilterIgnored``. ``keys``: the rows' order keys (``keys``), if already at hand."""
        template = self.q.endpoint
        if ask.orderby and len(rows) >= 2:
            if keys is None or ask.orderby != self.q.order_keys:
                keys = [self.key(r, ask.orderby) for r in rows]
            ordered = paging.in_order(keys)
            if not ordered:
                self.logger.debug("%s: a page of %s not in %s order", self.q.label, template, ask.orderby)
            self.book.learn(template, orderby=OK if ordered else IGNORED)
        if ask.filter and inside is not None and rows:
            if not all(inside(r) for r in rows):
                self.logger.debug("%s: %s served rows its $filter excludes", self.q.label, template)
                self.book.learn(template, filter=IGNORED)
                raise FilterIgnored(template)
            self.book.learn(template, filter=OK)

    def count(self, rows: list[Record], keys: list[tuple[Any, ...]] | None = None) -> set[Any]:
        """Count the rows served by the query as sent; the keys new to this read. ``keys``: the rows'
        order keys (``keys``), if already at hand."""
        counted = self.counted[self.restricted]
        keys = self.keys(rows) if keys is None else keys
        page = set(keys)
        if any(None in key for key in page):  # a row without a whole key counts alone, each time
            page = {key for key in page if None not in key}
            page.update(("<no key>", next(self._null_keys)) for key in keys if None in key)
        fresh = page - counted
        counted |= fresh
        self.max_total = max(self.max_total, len(counted))
        return fresh

    def emit(self, rows: list[Record], keys: list[tuple[Any, ...]] | None = None) -> list[Record]:
        """The rows the "since" bound keeps, each version once (a row without a key always).
        ``keys``: the rows' order keys (``keys``), if already at hand."""
        rk = self.q.replication_key
        since = self._since_ticks
        emitted = self.emitted
        out: list[Record] = []
        for row, key in zip(rows, self.keys(rows) if keys is None else keys, strict=True):
            if since is not None and not self.at_or_after(row, since):
                continue
            if None in key:
                out.append(row)
                continue
            identity = (*key, row.get(rk)) if rk else key
            if identity not in emitted:
                emitted.add(identity)
                out.append(row)
        return out

    @property
    def distinct(self) -> int:
        return len(self.counted[self.restricted])

    @property
    def expected(self) -> int:
        """What the pass should have counted: its smallest total (rows deleted meanwhile were seen or
        not; rows created meanwhile need not be)."""
        return min(self.totals) if self.totals else 0
