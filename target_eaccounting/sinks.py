"""One sink class for every stream; what differs per stream lives in its declaration (``stream_specs``).

A batch is written concurrently (up to ``max_concurrency`` records in flight, under the shared
client's per-endpoint rate limiter). Records with the same external key run one after another, so
a duplicate in the input can never be created twice. ``process_batch`` returns only once every
record is in the ledger or the reject file, and the SDK emits state only after all sinks drained.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from concurrent.futures import Future
from typing import Any, Protocol, cast

from jsonschema import Draft7Validator
from singer_sdk import Target
from singer_sdk.sinks import BatchSink

from target_eaccounting.record_errors import RecordError
from target_eaccounting.run import RunContext
from target_eaccounting.stream_specs import stream_spec

_DATELIKE = frozenset({"date", "date-time", "time"})


def without_date_formats(schema: Any) -> Any:
    """The schema minus date formats, so the SDK hands records over with their original strings
    (the reject file must hold the record exactly as it came, and dates go to the API as sent)."""
    if isinstance(schema, dict):
        return {
            k: without_date_formats(v)
            for k, v in schema.items()
            if not (k == "format" and isinstance(v, str) and v in _DATELIKE)
        }
    if isinstance(schema, list):
        return [without_date_formats(v) for v in schema]
    return schema


class SinkHost(Protocol):
    """What a sink needs from its target (``TargetEAccounting``), which it does not import."""

    @property
    def run(self) -> RunContext: ...

    @property
    def input_line(self) -> int | None: ...

    def drain_streams(self, names: tuple[str, ...]) -> None: ...

    def abort(self) -> None: ...


class EAccountingSink(BatchSink):
    MAX_SIZE_DEFAULT = 1000

    def __init__(
        self,
        target: Target,
        stream_name: str,
        schema: dict,
        key_properties: list[str] | None,
    ) -> None:
        self.spec = stream_spec(stream_name)  # unknown stream: a clear error at SCHEMA time
        Draft7Validator.check_schema(schema)
        self.record_validator: Draft7Validator | None = Draft7Validator(copy.deepcopy(schema))
        super().__init__(target, stream_name, without_date_formats(schema), key_properties)
        # the SDK hands every sink its target; this one is always a TargetEAccounting
        self.host = cast("SinkHost", target)

    def get_validator(self) -> None:
        # The SDK's validator raises and stops the run; here a bad record is rejected instead,
        # see ``mapping.validate_against_stream_schema``.
        return None

    def process_record(self, record: dict, context: dict) -> None:
        super().process_record(record, context)
        # the SDK hands the record over while its line is being read: rejects name that line
        context.setdefault("line_numbers", []).append(self.host.input_line)

    def process_batch(self, context: dict) -> None:
        records: list[dict[str, Any]] = context.get("records", [])
        if not records:
            return
        # master data before the documents that reference it, invoices before their payments
        self.host.drain_streams(self.spec.depends_on)
        run = self.host.run
        line_numbers: list[int | None] = context.get("line_numbers") or [None] * len(records)
        groups: dict[str, list[tuple[dict[str, Any], int | None]]] = {}
        for index, (record, line_number) in enumerate(zip(records, line_numbers, strict=True)):
            try:
                key = run.intake.key(self.spec, record)
            except RecordError:
                key = f"\x00invalid-{index}"  # rejected with its message by ``write``
            groups.setdefault(key, []).append((record, line_number))
        futures: list[Future[None]] = []
        try:
            run.intake.prepare(self.spec, records)
            futures = [run.executor.submit(self._write_group, g) for g in groups.values()]
            for future in futures:
                future.result()
        except BaseException:
            for future in futures:
                future.cancel()
            self.host.abort()
            raise
        run.outcomes.flush()

    def _write_group(self, records: Sequence[tuple[Mapping[str, Any], int | None]]) -> None:
        intake = self.host.run.intake
        for record, line_number in records:
            intake.write(self.spec, record, self.record_validator, line_number=line_number)
