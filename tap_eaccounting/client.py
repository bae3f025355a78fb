"""The one stream class of the tap: a list endpoint read through the shared ``EAccountingClient``.

URL, auth, rate limiting, retries and error mapping belong to ``eaccounting_api.api_client``; pagination and
churn safety to ``tap_eaccounting.reader``; this module maps one row of ``streams.STREAMS`` onto the
Singer SDK: schema, keys, bookmarks (capped by the server's clock) and parent keys. Each record's last
step, RFC 3339 date-times and undeclared properties declared, is ``record_output``'s (``post_process``).

Children (a ``{param}`` in the path) are not SDK child streams: the SDK would read a child only for the
parent rows its own (incremental) sync emits, so bank transactions of an unchanged bank account would
never be read again. Instead a child lists its parent's ids itself (once per run, cached):

* an incremental child (``accounts``, ``vouchers``, ``sales_price_list_prices_by_list``) has one state
  partition per parent id, so each keeps its own bookmark; after a complete run it first asks its flat
  *sibling* list (``/accounts`` for ``/accounts/{fiscalyearId}``) with one request whether any row changed
  since the run's watermark, and reads nothing else when none did (``probe_sibling`` has the argument);
* a full-table child (bank transactions, auto-invoice recipients, ...) reads every parent in one
  partition-free pass, ``max_concurrency`` parents at a time, in parent order, logging its progress
  (``fan_out``, which also says why a fan-out stream syncs only when ``fan_out_streams`` lists it).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context

from eaccounting_api import paging
from eaccounting_api.authenticator import EAccountingAuthenticator
from eaccounting_api.errors import BadRequestError, NotFoundError
from tap_eaccounting import deletes, fan_out
from tap_eaccounting.reader import ListQuery, Reader
from tap_eaccounting.record_output import RecordOutput
from tap_eaccounting.runtime import Runtime
from tap_eaccounting.streams import BY_NAME, StreamDef

if TYPE_CHECKING:
    from singer_sdk import Tap

Record = dict[str, Any]
SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
FISCAL_YEAR_DOES_NOT_EXIST = "3001"  # ErrorCode (docs/API_FACTS.md#error-codes)
# Stream-level state key of a partitioned child: the lower bound of the sibling probe (see probe_sibling).
WATERMARK_KEY = "sibling_watermark"


def load_schema(name: str) -> dict[str, Any]:
    text = (SCHEMA_DIR / f"{name}.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    schema.pop("$schema", None)
    return schema


class EAccountingStream(fan_out.FanOutSelection):
    """One list endpoint, configured by its ``StreamDef`` row (selected as ``FanOutSelection`` says)."""

    # Records are the API's JSON as decoded: no per-record type conversion (the schema is tolerant).
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE
    # Bulk pages are ordered by Id, not by the replication key: the bookmark is final only at the end.
    is_sorted = False

    def __init__(self, tap: Tap, definition: StreamDef, runtime: Runtime) -> None:
        schema = load_schema(definition.name)
        if tap.config.get("detect_deletes"):
            schema["properties"][deletes.DELETED_AT] = {"type": ["string", "null"], "format": "date-time"}
        self.selected_by_default = not definition.fan_out  # and off unless enabled (``selected``)
        super().__init__(tap, schema=schema, name=definition.name)
        self.definition = definition
        self.fan_out_off = definition.fan_out and definition.name not in runtime.fan_out_enabled
        self.runtime = runtime
        self.primary_keys = list(definition.keys)
        self.replication_key = definition.replication_key
        self._reader: Reader | None = None
        self._unchanged: bool | None = None  # the sibling probe's verdict, once per run
        self._parents_read: set[str] = set()
        self.output = RecordOutput(self, tap)

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Date-times as RFC 3339 UTC, an undeclared property declared first (``record_output``)."""
        return self.output.process(row)

    def generate_child_contexts(self, record: Record, context: Context | None) -> Iterable[Context | None]:
        """No SDK child streams (children list their parents themselves, see above): no context, so
        the SDK neither copies each record as one (``copy.copy`` of every record) nor filters it again."""
        if self.child_streams:
            yield from super().generate_child_contexts(record, context)

    @property
    def authenticator(self) -> EAccountingAuthenticator:
        """The SDK authenticator every request of this stream goes through (the shared client's)."""
        return self.runtime.client.authenticator

    @property
    def reader(self) -> Reader:
        if self._reader is None:
            self._reader = self.runtime.reader(self)
        return self._reader

    @property
    def order_keys(self) -> tuple[str, ...]:
        """The sort key: the primary key without an injected parent key (constant per request)."""
        return tuple(k for k in self.definition.keys if k != self.definition.parent_key)

    @property
    def partitions(self) -> list[dict[str, Any]] | None:
        d = self.definition
        if not (d.parent and d.replication_key and d.parent_key):
            return None
        if self._unchanged is None:
            self._unchanged = self.probe_sibling()
        if self._unchanged:
            # Nothing changed anywhere: the partitions of the state, without listing the parents.
            return [dict(p["context"]) for p in self.stream_state.get("partitions", [])]
        return [{d.parent_key: pid} for pid in self.runtime.parent_ids(d.parent, self)]

    def probe_sibling(self) -> bool:
        """Whether no row of any partition changed since the last complete run: one request to the flat
        sibling list, ``$filter=<replication key> ge <watermark>``, ``$pagesize=1``, answering 0 rows.

        The watermark is the parent listing's ``ServerTimeUtc`` minus ``TAIL_OVERLAP`` of the last run that
        read every partition (stored when its last partition was read). Why 0 rows means nothing to read:
        a row whose current version was visible when that run read its partition was emitted then (or
        earlier, if its timestamp was below that partition's bookmark); any other row was written after
        the listing (the partition reads came later, and a new parent's rows are written after the
        parent, which the listing did not show), so it is stamped at or after the listing's server time
        minus ``TAIL_OVERLAP``: the same assumption that caps every bookmark (``cap_bookmark``). So 0 rows
        at or after the watermark means every existing row was emitted, in every partition, including
        parents created since and partitions that were empty: the bookmarks stay as they are and the
        parent list is not read. The smallest partition *bookmark* would not do: a bookmark is the last
        timestamp *seen*, so partitions changed at different times have bookmarks months apart and the
        newer partitions' old rows would always match. After 0 rows the watermark advances to the probe's
        own ``ServerTimeUtc`` minus ``TAIL_OVERLAP`` (every row visible to it is older than the old one).
        No watermark yet (first run, an interrupted run), ``detect_deletes`` (which scans every partition
        anyway), a refused probe or any matching row: every partition is read as usual."""
        d = self.definition
        state = self.stream_state
        watermark = state.get(WATERMARK_KEY)
        if not d.sibling or not watermark or not state.get("partitions") or self.config.get("detect_deletes"):
            return False
        sibling = BY_NAME[d.sibling]
        query = ListQuery(
            label=f"{self.name} (changes via {sibling.path})",
            path=sibling.path,
            params=dict(sibling.params),
            order_keys=(),
            replication_key=d.replication_key,
            since=str(watermark),
            since_param=paging.MODIFIED_SINCE_PARAMS.get(sibling.path),
        )
        page = self.reader.probe(query)
        if page is None:
            return False
        if page.total_results:
            self.logger.info(
                "%s: %d row(s) of %s changed since %s; reading every partition",
                self.name,
                page.total_results,
                sibling.path,
                watermark,
            )
            return False
        if page.server_time:
            later = paging.parse_instant(page.server_time) - paging.TAIL_OVERLAP
            if later > paging.parse_instant(str(watermark)):
                state[WATERMARK_KEY] = paging.format_instant(later)
        self.logger.info("%s: no change since %s (one request to %s)", self.name, watermark, sibling.path)
        return True

    def partition_read(self, parent_value: str) -> None:
        """After the last partition of a complete read: store the next run's probe watermark."""
        d = self.definition
        if not d.sibling or d.parent is None:
            return
        self._parents_read.add(parent_value)
        listed_at = self.runtime.parent_listed_at(d.parent)
        if listed_at and self._parents_read >= set(self.runtime.parent_ids(d.parent, self)):
            mark = paging.parse_instant(listed_at) - paging.TAIL_OVERLAP
            self.stream_state[WATERMARK_KEY] = paging.format_instant(mark)

    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        # The SDK would cap bookmarks at the *local* clock; they are capped at the server's instead.
        return None

    # -- reading ---------------------------------------------------------------------------------------
    def query(self, path: str, since: str | None) -> ListQuery:
        d = self.definition
        return ListQuery(
            label=self.name,
            path=path,
            params=dict(d.params),
            order_keys=self.order_keys,
            replication_key=d.replication_key,
            since=since,
            since_param=paging.MODIFIED_SINCE_PARAMS.get(d.path),
            passthrough=self.passthrough,
            template=d.path,
            decode=self.output.shape.decode_page,
        )

    @cached_property
    def passthrough(self) -> bool:
        """Whether records may go out as the API's own JSON bytes (``paging.RawRecord``): only when
        nothing changes them on the way: no parent key to add, no stream maps or flattening, every
        property selected, no type conformance (``post_process`` keeps them raw, see ``record_shape``)."""
        if self.definition.parent_key or self.TYPE_CONFORMANCE_LEVEL != TypeConformanceLevel.NONE:
            return False
        if any(self.config.get(k) for k in ("stream_maps", "flattening_enabled", "stream_map_config")):
            return False
        return all(self.mask[("properties", name)] for name in self.schema["properties"])

    def concrete_path(self, value: str) -> str:
        param = self.definition.path_param
        assert param is not None
        return self.definition.path.replace("{" + param + "}", value)

    def get_records(self, context: Context | None) -> Iterable[Record]:
        if not self.config.get("detect_deletes"):
            yield from self.read_records(context)
            self.runtime.capabilities.keep_in(self.name, self.stream_state)
            return
        keys = self.definition.keys
        seen: set[tuple[Any, ...]] = set()
        for record in self.read_records(context):
            seen.add(tuple(record.get(k) for k in keys))
            yield record
        yield from self.detect_deletes(context, seen)
        self.runtime.capabilities.keep_in(self.name, self.stream_state)

    def detect_deletes(self, context: Context | None, seen: set[tuple[Any, ...]]) -> Iterator[Record]:
        """Emit the keys the previous run saw and this run did not (see ``deletes``)."""
        state = self.get_context_state(context)
        if self.replication_key and self.bookmark_start(context):
            # An incremental read saw only changes: read every key (key fields decoded only).
            d = self.definition
            path = self.concrete_path(str(context[d.parent_key])) if d.parent_key and context else d.path
            query = dataclasses.replace(self.query(path, None), passthrough=True, decode=None)
            injected = {d.parent_key: context[d.parent_key]} if d.parent_key and context else {}
            for record in self.reader.read(query):
                full = {**record, **injected}
                seen.add(tuple(full.get(k) for k in self.definition.keys))
        previous = state.get(deletes.DIGEST_KEY)
        yield from deletes.deleted_records(previous, seen, self.definition.keys, self.replication_key)
        state[deletes.DIGEST_KEY] = deletes.encode(deletes.normalize(k) for k in seen)

    def read_records(self, context: Context | None) -> Iterator[Record]:
        d = self.definition
        if d.parent and d.parent_key and not d.replication_key:
            yield from self.read_parents(d.parent)
            return
        if d.parent_key and context and self._unchanged:
            return  # the sibling probe found no change in any partition
        since = self.bookmark_start(context)
        if d.parent_key and context:
            parent_value = str(context[d.parent_key])
            reader = self.reader
            yield from self.read_child(reader, parent_value, since)
            self.partition_read(parent_value)
        else:
            reader = self.reader
            yield from reader.read(self.query(d.path, since))
        self.cap_bookmark(context, reader.stats.first_server_time, since)

    def bookmark_start(self, context: Context | None) -> str | None:
        if not self.replication_key:
            return None
        value = self.get_starting_replication_key_value(context)
        return str(value) if value else None

    def read_child(self, reader: Reader, parent_value: str, since: str | None) -> Iterator[Record]:
        key = self.definition.parent_key
        assert key is not None
        try:
            for record in reader.read(self.query(self.concrete_path(parent_value), since)):
                record[key] = parent_value
                yield record
        except NotFoundError:
            # The API answers 404 for a parent without children on some child endpoints
            # (/voucherwithoverunderpayment/{voucherId}; docs/API_FACTS.md#unverified-assumptions); a parent
            # deleted meanwhile also lands here.
            self.logger.debug("%s: no records for %s %s", self.name, key, parent_value)

    def read_parents(self, parent: str) -> Iterator[Record]:
        """Every parent's records, in parent order, with progress lines (``fan_out.read_per_parent``)."""
        rt = self.runtime
        progress = fan_out.Progress(
            self.name, self.logger, rt.client.stats, rt.clock, announce=self.definition.fan_out
        )
        parents = rt.parent_ids(parent, self)
        progress.start(len(parents), parent)
        return fan_out.read_per_parent(
            parents,
            lambda v: list(self.read_child(rt.reader(self), v, None)),
            rt.fanout,
            rt.max_concurrency,
            progress,
        )

    def cap_bookmark(self, context: Context | None, server_time: str | None, since: str | None) -> None:
        """Cap the new bookmark at page 1's ``ServerTimeUtc`` minus ``TAIL_OVERLAP``, never below the
        old one: a row modified during this run is read again next run, and clock skew between this
        machine and the server cannot skip rows."""
        if not self.replication_key or not server_time:
            return
        markers = self.get_context_state(context).get("progress_markers")
        value = markers.get("replication_key_value") if isinstance(markers, dict) else None
        if not value:
            return
        cap = paging.parse_instant(server_time) - paging.TAIL_OVERLAP
        if since:
            cap = max(cap, paging.parse_instant(since))
        if paging.parse_instant(str(value)) > cap:
            assert isinstance(markers, dict)
            markers["replication_key_value"] = paging.format_instant(cap)


class AccountBalancesStream(EAccountingStream):
    """``/accountbalances/{date}`` at each date of ``account_balance_dates``: ``today`` (UTC),
    ``fiscal_year_ends`` (each fiscal year's end date) or ``YYYY-MM-DD``."""

    def balance_dates(self) -> list[str]:
        wanted = self.config.get("account_balance_dates") or ["today", "fiscal_year_ends"]
        dates: list[str] = []
        for item in wanted:
            if item == "today":
                dates.append(dt.datetime.now(dt.UTC).date().isoformat())
            elif item == "fiscal_year_ends":
                query = ListQuery("fiscal_years (end dates)", "/fiscalyears", {}, ("Id",))
                for year in self.runtime.reader(self).read(query):
                    dates.append(str(year["EndDate"])[:10])
            else:
                dates.append(dt.date.fromisoformat(str(item)).isoformat())
        return sorted(set(dates))

    def get_records(self, context: Context | None) -> Iterable[Record]:
        for day in self.balance_dates():
            try:
                yield from self.read_child(self.reader, day, None)
            except BadRequestError as exc:
                if str(exc.error_code) != FISCAL_YEAR_DOES_NOT_EXIST:
                    raise
                self.logger.warning("account_balances: no fiscal year contains %s; date skipped", day)
        self.runtime.capabilities.keep_in(self.name, self.stream_state)
