"""The two baselines of the zero-latency tap bench, for one list endpoint.

* **Transport floor** (``fetch_pages``): the shared ``EAccountingClient`` (same limiter, authenticator,
  retry, connection pool) fetching the pages the tap fetches: page 1, then pages 2..N on
  ``max_concurrency`` threads, bodies read and dropped. No decoding beyond page 1's ``Meta``, no
  Singer. The fastest honest way to move those bytes with this client: what the tap can at best
  approach, since it makes these requests and more.
* **SDK ceiling** (``CeilingTap``): a minimal ``singer_sdk.Tap`` with one stream of the same schema,
  keys and replication key, whose ``get_records`` yields ``paging.RawRecord``s decoded beforehand
  (outside the timing), written by the tap's own ``BufferedMsgSpecWriter``. No HTTP at all: what the
  SDK costs per record with the same writer, so tap vs ceiling isolates the tap's own overhead.
* **Bare SDK tap over HTTP** (``BareHttpTap``): the ceiling's tap whose stream fetches the pages itself,
  as the floor does (same client, page 1 then the rest ``max_concurrency`` at a time, ``2 *
  max_concurrency`` ahead like the tap's page pool) and decodes each page in the fetching thread into
  ``RawRecord``s (the one decode every raw-passing tap needs), then emits them. No order, churn, shape
  or date-time checks, no state beyond the SDK's own. The fastest SDK tap that does the same work over
  the same transport: no tap built on the SDK can beat it on the same machine, so its distance to the
  floor is what the SDK and the shared cores cost, not the tap.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ClassVar

import msgspec
from singer_sdk import Stream, Tap
from singer_sdk.helpers.conform import TypeConformanceLevel

from eaccounting_api import paging
from eaccounting_api.connection import client_from_config
from tap_eaccounting.message_writer import BufferedMsgSpecWriter


class _MetaOnly(msgspec.Struct):
    Meta: paging.Meta


def page_params(page: int, size: int, order_keys: tuple[str, ...]) -> dict[str, str]:
    """A page of a first full read, as the tap asks for it (``paging``'s parameter names)."""
    params = {paging.PAGE_PARAM: str(page), paging.PAGE_SIZE_PARAM: str(size)}
    if order_keys:
        params[paging.ORDERBY_PARAM] = ",".join(order_keys)
    return params


def fetch_pages(
    config: dict[str, Any],
    path: str,
    *,
    order_keys: tuple[str, ...] = ("Id",),
    page_size: int = paging.DEFAULT_PAGE_SIZE,
    concurrency: int = 4,
    keep: bool = False,
) -> list[bytes]:
    """Every page of ``path``: page 1 (for the count), then the rest ``concurrency`` at a time. Returns
    the bodies with ``keep``, else drops each as it arrives (and returns no body)."""
    client = client_from_config(config, max_concurrency=concurrency)
    try:
        first = client.request("GET", path, params=page_params(1, page_size, order_keys)).content
        meta = msgspec.json.decode(first, type=_MetaOnly).Meta
        pages = max(1, math.ceil(meta.TotalNumberOfResults / page_size))

        def fetch(number: int) -> bytes:
            body = client.request("GET", path, params=page_params(number, page_size, order_keys)).content
            return body if keep else b""

        with ThreadPoolExecutor(concurrency, thread_name_prefix="floor") as pool:
            rest = list(pool.map(fetch, range(2, pages + 1)))
    finally:
        client.close()
    return [first, *rest] if keep else []


def raw_records(bodies: list[bytes], raw_fields: tuple[str, ...]) -> list[paging.RawRecord]:
    """The pages' items as the tap emits them: ``RawRecord``s with ``raw_fields`` decoded."""
    records: list[paging.RawRecord] = []
    for body in bodies:
        page = paging.decode_page(body, "bench page", raw_fields)
        records.extend(r for r in page.data if isinstance(r, paging.RawRecord))
    return records


class CeilingStream(Stream):
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE  # as the tap's streams
    is_sorted = False  # as the tap's streams (bulk pages are in Id order)

    def get_records(self, context: Any) -> Iterator[dict[str, Any]]:
        yield from CeilingTap.records


class CeilingTap(Tap):
    """Set ``entry`` (the tap's catalog entry of the stream) and ``records`` before instantiating."""

    name = "tap-ceiling"
    message_writer_class = BufferedMsgSpecWriter
    config_jsonschema: ClassVar[dict[str, Any]] = {"type": "object", "properties": {}}
    entry: ClassVar[dict[str, Any]] = {}
    records: ClassVar[list[paging.RawRecord]] = []

    def discover_streams(self) -> list[Stream]:
        entry = CeilingTap.entry
        stream = CeilingStream(self, schema=entry["schema"], name=entry["tap_stream_id"])
        stream.primary_keys = list(entry.get("key_properties") or [])
        stream.replication_key = entry.get("replication_key")
        return [stream]


class BareHttpStream(CeilingStream):
    def get_records(self, context: Any) -> Iterator[dict[str, Any]]:
        tap = BareHttpTap
        keys = (*self.primary_keys, *([self.replication_key] if self.replication_key else []))
        client = client_from_config(tap.client_config, max_concurrency=tap.concurrency)

        def page(number: int) -> list[paging.RawRecord]:
            body = client.request("GET", tap.path, params=page_params(number, tap.page_size, ("Id",))).content
            decoded = paging.decode_page(body, "bench page", keys)
            return [r for r in decoded.data if isinstance(r, paging.RawRecord)]

        try:
            first = client.request("GET", tap.path, params=page_params(1, tap.page_size, ("Id",))).content
            decoded = paging.decode_page(first, "bench page", keys)
            pages = max(1, decoded.total_pages)
            yield from (r for r in decoded.data if isinstance(r, paging.RawRecord))
            with ThreadPoolExecutor(tap.concurrency, thread_name_prefix="bare") as pool:
                ahead: deque[Future[list[paging.RawRecord]]] = deque()
                numbers = iter(range(2, pages + 1))
                for number in numbers:
                    ahead.append(pool.submit(page, number))
                    if len(ahead) >= 2 * tap.concurrency:
                        break
                while ahead:
                    records = ahead.popleft().result()
                    for number in numbers:
                        ahead.append(pool.submit(page, number))
                        break
                    yield from records
        finally:
            client.close()


class BareHttpTap(CeilingTap):
    """Set ``entry``, ``client_config``, ``path`` and ``concurrency`` before instantiating."""

    name = "tap-bare-http"
    client_config: ClassVar[dict[str, Any]] = {}
    path: ClassVar[str] = ""
    concurrency: ClassVar[int] = 4
    page_size: ClassVar[int] = paging.DEFAULT_PAGE_SIZE

    def discover_streams(self) -> list[Stream]:
        entry = CeilingTap.entry
        stream = BareHttpStream(self, schema=entry["schema"], name=entry["tap_stream_id"])
        stream.primary_keys = list(entry.get("key_properties") or [])
        stream.replication_key = entry.get("replication_key")
        return [stream]
