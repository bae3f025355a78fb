"""Payments and vouchers: the two writes with no natural lookup key.

Payments: the API returns no payment Id and offers no list of an invoice's payments, so whether an
ambiguous payment POST was booked is decided on the invoice itself: its remaining amount is read
(under a per-invoice lock, so payments of one invoice run one at a time) before the POST and
recorded in the ledger; after an unclear outcome the invoice is read again. A drop by exactly the
payment's amount → booked; no change → not booked (safe to send again); anything else → undecidable.

Vouchers: looked up by content (text, date, rows) in the voucher's fiscal year.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from eaccounting_api.errors import NotFoundError
from target_eaccounting import mapping
from target_eaccounting.api import quote
from target_eaccounting.ledger import PENDING
from target_eaccounting.outcomes import CREATED, SKIPPED
from target_eaccounting.record_errors import RecordError, Undecidable
from target_eaccounting.references import PLANNED
from target_eaccounting.stream_specs import StreamSpec

if TYPE_CHECKING:
    from target_eaccounting.writer import Writer

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


INVOICE_LOCKS = KeyedLocks()


def _remaining(invoice: Mapping[str, Any]) -> Decimal | None:
    value = invoice.get("RemainingAmountInvoiceCurrency", invoice.get("RemainingAmount"))
    return None if value is None else Decimal(str(value))


def _skip_or_refuse(w: Writer, spec: StreamSpec, key: str, digest: str) -> bool:
    entry = w.ledger.get(spec.name, key)
    if entry is None or not entry.is_done:
        return False
    if entry.payload_hash != digest:
        raise w.changed_after_write(spec, key, entry)
    w.outcomes.record(SKIPPED, spec.name, key, entry.object_id, "already written")
    return True


def write_payment(w: Writer, spec: StreamSpec, rec: dict[str, Any], key: str) -> None:
    digest = mapping.record_hash(rec)
    if _skip_or_refuse(w, spec, key, digest):
        return
    resolve = w.refs.resolver(spec.name)
    invoice_id = mapping.invoice_target(rec, resolve)
    year = w.fiscal_year(spec, rec)
    payload, _, _ = mapping.map_payment(
        rec, resolve, reference_field=w.settings.reference_field(spec), reference=key
    )
    if invoice_id == PLANNED:  # dry run: the invoice is itself only planned
        mapping.validate_payload(spec.schema, {"PaymentCurrency": "?", **payload})
        w.outcomes.record(CREATED, spec.name, key, None, f"fiscal year {year.describe()}")
        return
    assert spec.invoice_path is not None
    invoice_path = f"{spec.invoice_path}/{invoice_id}"
    with INVOICE_LOCKS.hold(invoice_id):
        try:
            invoice = w.api.get(invoice_path)
        except NotFoundError:
            raise RecordError(
                "reference_not_found",
                f"invoice {invoice_id} does not exist in this company",
                field="InvoiceId",
            ) from None
        if not payload.get("PaymentCurrency") and invoice.get("CurrencyCode"):
            payload["PaymentCurrency"] = invoice["CurrencyCode"]
        mapping.validate_payload(spec.schema, payload)
        w.inject_fiscal_year(spec, payload, year)
        if w.settings.dry_run:
            w.outcomes.record(CREATED, spec.name, key, None, f"fiscal year {year.describe()}")
            return
        entry = w.ledger.get(spec.name, key)
        before = _remaining(invoice)
        amount = Decimal(str(payload["PaymentAmount"]))
        # a pending entry from an earlier run: compare against the amount remaining back then
        baseline = before
        if entry is not None and entry.status == PENDING and entry.extra.get("remaining") is not None:
            baseline = Decimal(str(entry.extra["remaining"]))
        extra = {"invoice_id": invoice_id, "remaining": str(before), "amount": str(amount)}
        path = spec.path.replace("{invoiceId}", invoice_id)

        def post() -> str:
            w.api.post(path, payload)
            return invoice_id

        def lookup() -> str | None:
            now = _remaining(w.api.get(invoice_path))
            if baseline is None or now is None:
                raise Undecidable("the invoice shows no remaining amount")
            return decide_payment(baseline, now, amount, invoice_id)

        object_id = w.create(spec, key, digest, extra, entry, post=post, lookup=lookup)
        w.ledger.done(spec.name, key, object_id, digest, extra)
    w.outcomes.record(CREATED, spec.name, key, object_id)


def decide_payment(baseline: Decimal, now: Decimal, amount: Decimal, invoice_id: str) -> str | None:
    moved = abs(baseline - now)
    if abs(moved - abs(amount)) < CENT:
        return invoice_id
    if moved < CENT:
        return None
    raise Undecidable(f"the invoice's remaining amount moved by {moved}, the payment is {amount}")


def _row_signature(rows: Any) -> list[tuple[str, str, str]]:
    out = []
    for row in rows or []:
        if isinstance(row, Mapping):
            out.append(
                (
                    str(row.get("AccountNumber")),
                    str(Decimal(str(row.get("DebitAmount") or 0)).quantize(Decimal("0.01"))),
                    str(Decimal(str(row.get("CreditAmount") or 0)).quantize(Decimal("0.01"))),
                )
            )
    return sorted(out)


def write_voucher(w: Writer, spec: StreamSpec, rec: dict[str, Any], key: str) -> None:
    digest = mapping.record_hash(rec)
    if _skip_or_refuse(w, spec, key, digest):
        return
    year = w.fiscal_year(spec, rec)
    payload = mapping.map_voucher(rec, w.refs.resolver(spec.name))
    mapping.validate_payload(spec.schema, payload)
    w.inject_fiscal_year(spec, payload, year)
    if w.settings.dry_run:
        w.outcomes.record(CREATED, spec.name, key, None, f"fiscal year {year.describe()}")
        return
    entry = w.ledger.get(spec.name, key)
    text = str(payload.get("VoucherText", ""))
    date = str(payload.get("VoucherDate") or "")[:10]
    signature = _row_signature(payload.get("Rows"))

    def lookup() -> str | None:
        items = w.api.list(f"/vouchers/{year.id}", filter_=f"VoucherText eq {quote(text)}")
        found = [
            v
            for v in items
            if v.get("VoucherText") == text
            and (not date or str(v.get("VoucherDate") or "")[:10] == date)
            and _row_signature(v.get("Rows")) == signature
            and w.ledger.key_for_object(spec.name, str(v.get("Id"))) in (None, key)
        ]
        if len(found) > 1:
            raise Undecidable(f"{len(found)} vouchers with the same text, date and rows")
        return str(found[0]["Id"]) if found else None

    object_id = w.create(
        spec,
        key,
        digest,
        {"fiscal_year_id": year.id},
        entry,
        post=lambda: str(w.api.post(spec.path, payload)["Id"]),
        lookup=lookup,
    )
    w.ledger.done(spec.name, key, object_id, digest, {"fiscal_year_id": year.id})
    w.outcomes.record(CREATED, spec.name, key, object_id)
