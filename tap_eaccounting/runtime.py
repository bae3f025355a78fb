"""What all streams of one tap run share (``Runtime``): the API client, the thread pools, the page size,
what each endpoint was found to support, and the parent id lists (``stream_scheduler`` has how streams
use them side by side)."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from singer_sdk import Stream

from eaccounting_api import paging
from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.connection import DEFAULT_MAX_CONCURRENCY, client_from_config
from tap_eaccounting import fan_out
from tap_eaccounting.list_capabilities import STATE_KEY as CAPABILITIES_KEY
from tap_eaccounting.list_capabilities import CapabilityBook
from tap_eaccounting.reader import ListQuery, PageSize, Reader
from tap_eaccounting.stream_scheduler import DEFAULT_MAX_PARALLEL_STREAMS, ContextPool, StreamCounter
from tap_eaccounting.streams import BY_NAME


class Runtime:
    """What all streams of one tap run share: the API client, the thread pools, the page size, what each
    endpoint was found to support (``list_capabilities``), and the parent id lists."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        self.config = config
        self.max_concurrency = max(1, int(config.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY))
        self.page_size = PageSize(int(config.get("page_size") or paging.DEFAULT_PAGE_SIZE))
        self.parallel_streams = max(
            1, int(config.get("max_parallel_streams") or DEFAULT_MAX_PARALLEL_STREAMS)
        )
        # Shared by every stream of the run (``stream_scheduler``); tasks carry the stream they work for.
        self.pool = ContextPool(self.max_concurrency, thread_name_prefix="page")
        self.fanout = ContextPool(self.max_concurrency, thread_name_prefix="parent")
        self.capabilities = CapabilityBook()
        self.strict = bool(config.get("strict_completeness"))
        self.fan_out_enabled = fan_out.enabled(config)
        self.clock = fan_out.monotonic  # of the progress lines; tests drive it
        self._parent_ids: dict[str, list[str]] = {}
        self._parent_listed_at: dict[str, str | None] = {}  # page 1's ServerTimeUtc of each listing
        self._parent_locks: dict[str, threading.Lock] = {}  # one listing per parent at a time
        self._lock = threading.Lock()

    @cached_property
    def client(self) -> EAccountingClient:
        # Its authenticator is the process-wide one of the token store, so every stream and thread
        # refreshes through one lock and one rotating refresh token. Pages and parents run in two pools,
        # beside the stream threads' own requests.
        client = client_from_config(
            self.config, max_concurrency=self.max_concurrency * 2 + self.parallel_streams
        )
        client.stats = StreamCounter()  # the summary's numbers, per stream
        return client

    def reader(self, stream: Stream) -> Reader:
        # A stream's first reader of the run starts from what its state says about the endpoints.
        self.capabilities.seed(stream.name, stream.stream_state.get(CAPABILITIES_KEY))
        return Reader(
            self.client,
            self.pool,
            self.page_size,
            self.max_concurrency,
            stream.logger,
            book=self.capabilities,
            stream=stream.name,
            strict=self.strict,
        )

    def parent_ids(self, parent: str, stream: Stream) -> list[str]:
        """Every ``Id`` of the parent stream's endpoint (read once per run, by the first child to ask)."""
        with self._lock:
            listing = self._parent_locks.setdefault(parent, threading.Lock())
        with listing:
            cached = self._parent_ids.get(parent)
            if cached is None:
                definition = BY_NAME[parent]
                query = ListQuery(f"{parent} (parent ids)", definition.path, dict(definition.params), ("Id",))
                reader = self.reader(stream)
                cached = [str(r["Id"]) for r in reader.read(query)]
                with self._lock:
                    self._parent_ids[parent] = cached
                    self._parent_listed_at[parent] = reader.stats.first_server_time
            return cached

    def parent_listed_at(self, parent: str) -> str | None:
        """The server's clock when this run listed ``parent`` (``None`` if it did not)."""
        with self._lock:
            return self._parent_listed_at.get(parent)
