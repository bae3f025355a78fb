"""Customer and supplier invoice payments: the write with no natural lookup key.

The API returns no payment Id and offers no list of an invoice's payments, so whether an ambiguous
payment POST was booked is decided on the invoice itself: its remaining amount is read (under a
per-invoice lock, so payments of one invoice run one at a time) before the POST and recorded in the
ledger; after an unclear outcome the invoice is read again. A drop by exactly the payment's amount →
booked; no change → not booked (safe to send again); anything else → undecidable.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from eaccounting_api.errors import NotFoundError
from target_eaccounting import mapping
from target_eaccounting.exactly_once import already_written, create_once
from target_eaccounting.ledger import PENDING
from target_eaccounting.outcomes import CREATED
from target_eaccounting.record_errors import RecordError, Undecidable
from target_eaccounting.references import PLANNED
from target_eaccounting.stream_declaration import StreamSpec
from target_eaccounting.write_context import WriteContext

CENT = Decimal("0.005")


class KeyedLocks:
    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            yield


def remaining_amount(invoice: Mapping[str, Any]) -> Decimal | None:
    value = invoice.get("RemainingAmountInvoiceCurrency", invoice.get("RemainingAmount"))
    return None if value is None else Decimal(str(value))


def decide_payment(baseline: Decimal, now: Decimal, amount: Decimal, invoice_id: str) -> str | None:
    """Was the payment booked? ``invoice_id`` if the remaining amount moved by exactly ``amount``,
    None if it did not move; anything else is undecidable."""
    moved = abs(baseline - now)
    if abs(moved - abs(amount)) < CENT:
        return invoice_id
    if moved < CENT:
        return None
    raise Undecidable(f"the invoice's remaining amount moved by {moved}, the payment is {amount}")


class PaymentStrategy:
    """One instance serves every payment stream, so its per-invoice locks cover them all."""

    kind = "payment"

    def __init__(self) -> None:
        self._invoice_locks = KeyedLocks()

    def numbers_needed(
        self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str
    ) -> list[tuple[str, str]]:
        return []  # the bank account list is read once per run; InvoiceExternalKey is in the ledger

    def write(self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str) -> None:
        digest = mapping.record_hash(record)
        if already_written(ctx, spec, key, digest):
            return
        resolve = ctx.refs.resolver(spec.name)
        invoice_id = mapping.invoice_target(record, resolve)
        year = spec.fiscal_year(ctx, record)
        payload, _, _ = mapping.map_payment(
            record, resolve, reference_field=spec.reference_field(ctx.settings), reference=key
        )
        if invoice_id == PLANNED:  # dry run: the invoice is itself only planned
            mapping.validate_payload(spec.schema, {"PaymentCurrency": "?", **payload})
            ctx.outcomes.record(CREATED, spec.name, key, None, f"fiscal year {year.describe()}")
            return
        assert spec.invoice_path is not None
        invoice_path = f"{spec.invoice_path}/{invoice_id}"
        with self._invoice_locks.hold(invoice_id):
            try:
                invoice = ctx.api.get(invoice_path)
            except NotFoundError:
                raise RecordError(
                    "reference_not_found",
                    f"invoice {invoice_id} does not exist in this company",
                    field="InvoiceId",
                ) from None
            if not payload.get("PaymentCurrency") and invoice.get("CurrencyCode"):
                payload["PaymentCurrency"] = invoice["CurrencyCode"]
            mapping.validate_payload(spec.schema, payload)
            spec.stamp_fiscal_year(ctx.settings, payload, year)
            if ctx.settings.dry_run:
                ctx.outcomes.record(CREATED, spec.name, key, None, f"fiscal year {year.describe()}")
                return
            entry = ctx.ledger.get(spec.name, key)
            before = remaining_amount(invoice)
            amount = Decimal(str(payload["PaymentAmount"]))
            # a pending entry from an earlier run: compare against the amount remaining back then
            baseline = before
            if entry is not None and entry.status == PENDING and entry.extra.get("remaining") is not None:
                baseline = Decimal(str(entry.extra["remaining"]))
            extra = {"invoice_id": invoice_id, "remaining": str(before), "amount": str(amount)}
            path = spec.path.replace("{invoiceId}", invoice_id)

            def post() -> str:
                ctx.api.post(path, payload)
                return invoice_id

            def lookup() -> str | None:
                now = remaining_amount(ctx.api.get(invoice_path))
                if baseline is None or now is None:
                    raise Undecidable("the invoice shows no remaining amount")
                return decide_payment(baseline, now, amount, invoice_id)

            object_id = create_once(
                ctx, spec, key, digest=digest, extra=extra, entry=entry, post=post, lookup=lookup
            )
            ctx.ledger.done(spec.name, key, object_id, digest, extra)
        ctx.outcomes.record(CREATED, spec.name, key, object_id)
