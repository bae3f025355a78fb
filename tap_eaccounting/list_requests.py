"""The list requests of one reader: parameters from what the endpoint is known to take, a count held
against the read's bound, and a 400 diagnosed by elimination.

A 400 on a request that may be about an option (``$pagesize`` above what this run saw served,
``$filter`` or ``$orderby`` not yet served on this endpoint in this run) is diagnosed by sending the
same request without one suspect at a time: at ``MIN_PAGE_SIZE`` (then the largest of
``PAGE_SIZE_STEPS`` that is served, or straight the maximum the message names), without ``$filter``,
without ``$orderby``, without both. Suspects the message names go first. The first variant served
names the culprit: it is recorded in the ``CapabilityBook`` and ``Relearned`` tells the caller to start
its route again. Every step is logged at DEBUG and counted; a 400 that no variant explains is raised.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import NoReturn

import requests

from eaccounting_api import paging
from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.errors import BadRequestError
from eaccounting_api.paging import Page
from tap_eaccounting.list_capabilities import REFUSED, CapabilityBook
from tap_eaccounting.list_query import ListQuery, ReadStats

# Diagnoses per read (page size, then $filter/$orderby, then page size again) and requests per diagnosis.
MAX_DIAGNOSES = 3
DIAGNOSIS_REQUESTS = 1 + 4 + len(paging.PAGE_SIZE_STEPS)  # the refused request, 4 variants, the sizes


@dataclass(frozen=True)
class Ask:
    size: int
    page: int = paging.FIRST_PAGE
    filter: str | None = None
    orderby: tuple[str, ...] = ()
    since: str | None = None  # the value of the endpoint's own "since" parameter (``since_param``)

    def describe(self) -> str:
        parts = [f"$pagesize={self.size}"]
        parts += ["$filter"] if self.filter else []
        parts += [f"$orderby={','.join(self.orderby)}"] if self.orderby else []
        return " ".join(parts)


class Relearned(Exception):
    """A 400 taught something about the endpoint (now in the book): start the route again."""


class BudgetSpent(Exception):
    """The read made as many requests as ``reader.request_bound`` allows."""


def reason(exc: BadRequestError) -> str:
    return " ".join([exc.developer_message or "", exc.summary, *(str(e.get("Message")) for e in exc.errors)])


class ListRequests:
    def __init__(
        self, client: EAccountingClient, book: CapabilityBook, logger: logging.Logger, stats: ReadStats
    ) -> None:
        self.client = client
        self.book = book
        self.logger = logger
        self.stats = stats  # counts every request (``requests``) and those of the current read
        self.lock = threading.Lock()
        self.limit: Callable[[], int] | None = None
        self.diagnoses = 0

    def start_read(self, limit: Callable[[], int] | None) -> None:
        """Count (and bound, with ``limit``) the requests of a new read."""
        with self.lock:
            self.stats.read_requests = 0
            self.diagnoses = 0
            self.limit = limit

    def end_read(self) -> None:
        with self.lock:
            self.limit = None

    @staticmethod
    def params(q: ListQuery, ask: Ask) -> dict[str, str]:
        params = dict(q.params)
        if ask.since is not None and q.since_param:
            params[q.since_param] = paging.odata_instant(ask.since)
        if ask.filter:
            params[paging.FILTER_PARAM] = ask.filter
        params[paging.PAGE_PARAM] = str(ask.page)
        params[paging.PAGE_SIZE_PARAM] = str(ask.size)
        if ask.orderby:
            params[paging.ORDERBY_PARAM] = ",".join(ask.orderby)
        return params

    def get(self, q: ListQuery, ask: Ask) -> Page:
        """One request (any thread); ``BudgetSpent`` instead when the read's bound is reached."""
        with self.lock:
            if self.limit is not None and self.stats.read_requests >= self.limit():
                raise BudgetSpent(f"{self.stats.read_requests} requests, the bound for this read")
            self.stats.requests += 1
            self.stats.read_requests += 1
        # Decoded inside the client's retry: a page cut short (ValueError) is fetched again.
        page = self.client.request(
            "GET", q.path, params=self.params(q, ask), parse=lambda r: self.decode(q, r)
        )
        self.book.served(q.endpoint, ask.size, filtered=bool(ask.filter), ordered=bool(ask.orderby))
        return page

    @staticmethod
    def decode(q: ListQuery, response: requests.Response) -> Page:
        raw_fields = q.raw_fields
        if q.decode is not None and raw_fields is not None:
            return q.decode(response.content, f"GET {q.path}", raw_fields)
        return paging.decode_page(response.content, f"GET {q.path}", raw_fields)

    def first(self, q: ListQuery, ask: Ask) -> Page:
        """``get`` for a request that starts something (a walk, a keyset page): a 400 is diagnosed."""
        try:
            return self.get(q, ask)
        except BadRequestError as exc:
            self.diagnose(q, ask, exc)

    def diagnose(self, q: ListQuery, ask: Ask, exc: BadRequestError) -> NoReturn:
        text = reason(exc)
        template = q.endpoint
        verified = self.book.verified(template)
        suspects: list[str] = []
        if ask.size > max(self.book.largest_served(template), paging.MIN_PAGE_SIZE):
            suspects.append("size")
        if ask.filter and "filter" not in verified:
            suspects.append("filter")
        if ask.orderby and "orderby" not in verified:
            suspects.append("orderby")
        if not suspects or self.diagnoses >= MAX_DIAGNOSES:
            raise exc
        self.diagnoses += 1
        named = {"size": paging.is_page_size_error, "filter": paging.blames_filter}
        named["orderby"] = paging.blames_orderby
        suspects.sort(key=lambda s: 0 if named[s](text) else 1)
        if "filter" in suspects and "orderby" in suspects:
            suspects.append("filter+orderby")
        self.logger.debug("%s: 400 from %s with %s (%s); diagnosing", q.label, template, ask.describe(), text)
        for suspect in suspects:
            if suspect == "size":
                stated = paging.named_page_size(text, ask.size)
                if self._served(q, replace(ask, size=stated or paging.MIN_PAGE_SIZE), suspect):
                    size = stated or self._largest_size(q, ask)
                    self.book.learn(template, page_size=size, refused_size=ask.size)
                    raise Relearned(f"{template} serves at most {size} rows a page")
                continue
            trial = replace(ask, size=min(ask.size, paging.MIN_PAGE_SIZE) if "size" in suspects else ask.size)
            if "filter" in suspect:
                trial = replace(trial, filter=None)
            if "orderby" in suspect:
                trial = replace(trial, orderby=())
            if self._served(q, trial, suspect):
                findings = {name: REFUSED for name in ("filter", "orderby") if name in suspect}
                self.book.learn(template, **findings)
                raise Relearned(f"{template} refuses {suspect}")
        raise exc

    def _served(self, q: ListQuery, trial: Ask, suspect: str) -> bool:
        try:
            self.get(q, trial)
        except BadRequestError as exc:
            self.logger.debug("%s: without %s (%s): 400 again (%s)", q.label, suspect, trial.describe(), exc)
            return False
        self.logger.debug("%s: without %s (%s): served", q.label, suspect, trial.describe())
        return True

    def _largest_size(self, q: ListQuery, ask: Ask) -> int:
        for size in paging.smaller_page_sizes(ask.size):
            if size <= paging.MIN_PAGE_SIZE or self._served(q, replace(ask, size=size), "a larger page"):
                return size
        return paging.MIN_PAGE_SIZE
