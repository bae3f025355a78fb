"""A stream over a GET that answers one JSON object (``streams.SINGLE_OBJECT_STREAMS``).

``GET /companysettings`` has no list envelope, no paging, no ``Id`` and no timestamp: each run reads it
once (full table) and emits the object as the stream's one record. It goes through the shared
``Runtime`` client (auth, rate limit, retries, the run summary's request counts) and through
``record_output`` like every list stream, so its date-times (``AccountingLockedTo``, ...) go out as
RFC 3339 UTC and a property the spec does not declare is declared in a new SCHEMA first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from singer_sdk import Stream
from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.helpers.types import Context

from eaccounting_api.authenticator import EAccountingAuthenticator
from tap_eaccounting.client import load_schema
from tap_eaccounting.record_output import RecordOutput
from tap_eaccounting.runtime import Runtime
from tap_eaccounting.streams import SingleObjectDef

if TYPE_CHECKING:
    from singer_sdk import Tap

Record = dict[str, Any]


class SingleObjectStream(Stream):
    """One ``SingleObjectDef`` row: one request, one record."""

    # Records are the API's JSON as decoded (the schema is tolerant), as on the list streams.
    TYPE_CONFORMANCE_LEVEL = TypeConformanceLevel.NONE

    def __init__(self, tap: Tap, definition: SingleObjectDef, runtime: Runtime) -> None:
        super().__init__(tap, schema=load_schema(definition.name), name=definition.name)
        self.definition = definition
        self.runtime = runtime
        self.primary_keys = list(definition.keys)
        # Opt-in: with no key, an upserting loader appends the one row on every run.
        self.selected_by_default = definition.selected_by_default
        self.replication_key = None
        self.output = RecordOutput(self, tap)

    @property
    def authenticator(self) -> EAccountingAuthenticator:
        return self.runtime.client.authenticator

    def get_records(self, context: Context | None) -> Iterable[Record]:
        record = self.runtime.client.get_json(self.definition.path)
        if not isinstance(record, dict):
            kind = type(record).__name__
            raise TypeError(f"{self.name}: {self.definition.path} answered a JSON {kind}, not an object")
        yield record

    def post_process(self, row: Record, context: Context | None = None) -> Record | None:
        """Date-times as RFC 3339 UTC, an undeclared property declared first (``record_output``)."""
        return self.output.process(row)
