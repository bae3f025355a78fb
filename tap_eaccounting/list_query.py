"""What the reader is asked to read (``ListQuery``), the page size asked by default, and its counters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from eaccounting_api import paging

# A page decoder for pass-through reads: ``(body, where, raw_fields) -> Page``, as ``paging.decode_page``.
PageDecoder = Callable[[bytes, str, tuple[str, ...]], paging.Page]


@dataclass
class PageSize:
    """The page size every endpoint is asked for at first (the ``page_size`` setting); an endpoint known
    to serve fewer rows a page is asked for what it serves (``list_capabilities``)."""

    size: int = paging.DEFAULT_PAGE_SIZE


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
    template: str | None = None  # the path template (``/accounts/{fiscalyearId}``); default: ``path``
    # Decodes the pages of a pass-through read instead of ``paging.decode_page`` (in the page pool's
    # threads): ``RecordShape.decode_page``, which checks each record's shape with its page.
    decode: PageDecoder | None = field(default=None, compare=False)

    @property
    def endpoint(self) -> str:
        """What capabilities are learned for: the path template."""
        return self.template or self.path

    @property
    def raw_fields(self) -> tuple[str, ...] | None:
        if not self.passthrough:
            return None
        rk = (self.replication_key,) if self.replication_key else ()
        return tuple(dict.fromkeys((*self.order_keys, *rk)))


@dataclass
class ReadStats:
    requests: int = 0  # every request of the reader (all its reads and probes)
    pages: int = 0
    first_server_time: str | None = None  # page 1's ServerTimeUtc of the last read
    churn: bool = False  # the last read saw the list change while it read
    tail_records: int = 0
    gap_records: int = 0
    # The last read: requests, passes (a fallback or a re-read is a pass), and the reconciliation.
    read_requests: int = 0
    passes: int = 0
    settle_rounds: int = 0
    unsettled: bool = False  # MAX_SETTLE_ROUNDS rounds (or a refused one), none of them settling
    expected: int = 0  # smallest TotalNumberOfResults of the last pass
    distinct: int = 0  # distinct keys served by the query the last pass ran
