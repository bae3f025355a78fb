"""What a stream declaration is: a :class:`StreamSpec` and the :class:`WriteStrategy` it names.

The declarations themselves are in ``stream_specs``; the strategies (``master_data``, ``documents``,
``payments``, ``vouchers``) import this module, never the table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from target_eaccounting.fiscal import FiscalYear
from target_eaccounting.write_context import WriteContext, WriteSettings


class WriteStrategy(Protocol):
    """How one kind of object is written (master data, document, payment, voucher)."""

    @property
    def kind(self) -> str: ...

    def numbers_needed(
        self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str
    ) -> list[tuple[str, str]]:
        """The (kind, number) pairs writing this record will look up (``References.BY_NUMBER`` kinds),
        so that a batch looks them up together before any of its records is written."""
        ...

    def write(self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str) -> None:
        """Write one clean, schema-valid record with external key ``key``; record its outcome in
        ``ctx.outcomes``. A record that cannot be written raises ``RecordError`` (or an
        ``EAccountingError``); both end in the reject file."""
        ...


@dataclass(frozen=True)
class StreamSpec:
    name: str
    #: how records of this stream are written
    strategy: WriteStrategy
    #: spec path of the POST (payments: with ``{invoiceId}``)
    path: str
    #: request body schema in the spec
    schema: str
    #: master data: the natural number field used for upserts
    number_field: str | None = None
    #: the document's own date, used to pick the fiscal year
    date_field: str | None = None
    #: default field that carries the external key on the created object (documents)
    default_reference_field: str | None = None
    #: the API takes ``FiscalYearId`` on this body (the sandbox checks it against the date)
    takes_fiscal_year_id: bool = False
    #: payments: the invoice collection the payment belongs to
    invoice_path: str | None = None
    #: payments: the stream whose external keys ``InvoiceExternalKey`` refers to
    invoice_streams: tuple[str, ...] = ()
    #: streams whose pending records are written before this stream's batch: a document waits for the
    #: master data it references, a payment for its invoice. Sources such as tap-postgres emit their
    #: streams alphabetically (payments, then invoices, then customers), so order can't be left to them.
    depends_on: tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return self.strategy.kind

    def key_field(self, settings: WriteSettings) -> str | None:
        """The record field holding the external key: configured, else the number (master data)."""
        return settings.key_fields.get(self.name) or self.number_field

    def reference_field(self, settings: WriteSettings) -> str | None:
        """The API field that carries the external key on the created object, if any."""
        if self.name in settings.reference_fields:
            return settings.reference_fields[self.name] or None
        return self.default_reference_field

    def fiscal_year(self, ctx: WriteContext, record: Mapping[str, Any]) -> FiscalYear:
        """The fiscal year of the record's own date (a record error if none or locked)."""
        assert self.date_field is not None
        return ctx.fiscal_years.for_document(record, self.date_field)

    def stamp_fiscal_year(self, settings: WriteSettings, payload: dict[str, Any], year: FiscalYear) -> None:
        # Not in the spec's request bodies; the sandbox (like the issue) checks it against the date.
        if self.takes_fiscal_year_id and settings.inject_fiscal_year_id:
            payload["FiscalYearId"] = year.id
