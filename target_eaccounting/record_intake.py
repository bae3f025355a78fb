"""One record in: clean it, find its external key, validate it, hand it to its stream's strategy.

Validation before any request: the stream's own SCHEMA, then the values the API would refuse with a
400 (an enum value out of range, a malformed UUID, a date that does not parse; ``mapping.check_values``).

Every per-record failure (``RecordError``, or an ``EAccountingError`` from a request) ends in the
reject file and the run goes on. A ``FatalError`` (the grant needs re-authorization, the token store
is unusable) is not caught here: it stops the run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from jsonschema import Draft7Validator

from eaccounting_api.errors import EAccountingError
from target_eaccounting import mapping
from target_eaccounting.api import api_error
from target_eaccounting.record_errors import RecordError
from target_eaccounting.stream_declaration import StreamSpec
from target_eaccounting.write_context import WriteContext


class RecordIntake:
    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self._warned: set[tuple[str, str]] = set()
        self._warned_lock = threading.Lock()

    def key(self, spec: StreamSpec, record: Mapping[str, Any]) -> str:
        """The record's external key (raises ``RecordError`` if it has none)."""
        return mapping.external_key(mapping.clean_record(record), spec.key_field(self.ctx.settings))

    def prepare(self, spec: StreamSpec, records: Iterable[Mapping[str, Any]]) -> None:
        """Before a batch is written: look up the numbers its records need, together (a few list reads
        instead of one per record). A record this cannot read is left to ``write`` to reject."""
        wanted: dict[str, set[str]] = {}
        for record in records:
            rec = mapping.clean_record(record)
            try:
                key = self.key(spec, rec)
            except RecordError:
                continue
            for kind, number in spec.strategy.numbers_needed(self.ctx, spec, rec, key):
                wanted.setdefault(kind, set()).add(number)
        for kind, numbers in wanted.items():
            self.ctx.refs.prefetch(kind, numbers)

    def write(
        self,
        spec: StreamSpec,
        record: Mapping[str, Any],
        validator: Draft7Validator | None,
        *,
        line_number: int | None = None,
    ) -> None:
        """Write one record (read from input line ``line_number``, when known); every record failure
        ends in the reject file, never in an exception."""
        rec = mapping.clean_record(record)
        self._warn_unknown_fields(spec, rec)
        key: str | None = None
        try:
            key = mapping.external_key(rec, spec.key_field(self.ctx.settings))
            mapping.validate_against_stream_schema(validator, rec)
            mapping.check_values(spec.schema, rec)
            spec.strategy.write(self.ctx, spec, rec, key)
        except RecordError as err:
            self.ctx.outcomes.reject(spec.name, key, record, err, line_number=line_number)
        except EAccountingError as exc:
            error = api_error(exc, "request failed")
            self.ctx.outcomes.reject(spec.name, key, record, error, line_number=line_number)

    def _warn_unknown_fields(self, spec: StreamSpec, rec: Mapping[str, Any]) -> None:
        """Fields the API does not take are dropped, and said so once per stream and field."""
        key_field = spec.key_field(self.ctx.settings)
        for name in mapping.unknown_fields(spec.schema, rec):
            if name == key_field or (spec.name, name) in self._warned:
                continue
            with self._warned_lock:
                if (spec.name, name) in self._warned:
                    continue
                self._warned.add((spec.name, name))
            self.ctx.logger.warning(
                "%s: field %s is not part of the API's %s; it is not sent", spec.name, name, spec.schema
            )
