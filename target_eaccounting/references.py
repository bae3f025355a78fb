"""Per-tenant reference resolution, cached for the run.

``CustomerNumber`` → ``CustomerId``, article ``Number`` → ``ArticleId``, VAT ``Code`` → ``VatCodeId``,
the company bank account for payments, and ``InvoiceExternalKey`` → the Id of an invoice this target
created (from the ledger; in a dry run, an invoice planned earlier in the run resolves as planned, see
``planned_keys``). An unresolvable reference is a record error raised before any write.

Memory: invoice keys are not held here (a run of a million invoices would hold a million strings):
a written invoice is in the ledger before any payment can name it, and a planned one is in
``PlannedKeys`` on disk. What stays in memory grows with the distinct master-data numbers and VAT
codes, not with the documents.

Numbers are looked up a batch at a time (``prefetch``, see ``number_lookup``) before the batch is
written; a number the batch did not announce is looked up alone. A number the batch lookup did not
find is looked up alone again before a record is rejected for it (a full read can miss an object
deleted meanwhile ahead of the page being read), while master data takes "not found" as is: its
create falls back to an update on 409.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from eaccounting_api.errors import EAccountingError, NotFoundError
from target_eaccounting.api import Api, api_error, quote
from target_eaccounting.ledger import WriteLedger
from target_eaccounting.number_lookup import find_ids
from target_eaccounting.planned_keys import PlannedKeys
from target_eaccounting.record_errors import RecordError

PLANNED = "<planned in this dry run>"

# kind -> (list path, number field)
BY_NUMBER = {
    "customer": ("/customers", "CustomerNumber"),
    "supplier": ("/suppliers", "SupplierNumber"),
    "article": ("/articles", "Number"),
}

log = logging.getLogger(__name__)


class NumberCollector:
    """A resolver that resolves nothing: it notes the numbers a record references (``BY_NUMBER``
    kinds), so that a batch's numbers can be looked up together before it is written."""

    def __init__(self) -> None:
        self.numbers: list[tuple[str, str]] = []

    def __call__(self, kind: str, value: str, field: str) -> str:
        if kind in BY_NUMBER:
            self.numbers.append((kind, value))
        return PLANNED


class References:
    def __init__(
        self, api: Api, ledger: WriteLedger | None, *, invoice_streams: Mapping[str, tuple[str, ...]]
    ):
        self.api = api
        self.ledger = ledger
        self.invoice_streams = invoice_streams
        self._lock = threading.Lock()
        # (BY_NUMBER kind, number) -> Id, None (absent) or PLANNED (dry run)
        self._cache: dict[tuple[str, str], str | None] = {}
        self._planned_invoices = PlannedKeys()
        # numbers the last batch lookup of their kind did not find
        self._absent: set[tuple[str, str]] = set()
        self._vat_codes: dict[str, str] | None = None
        self._bank_accounts: list[dict[str, Any]] | None = None
        self.lookups = 0  # list requests made to find objects by number

    def remember(self, kind: str, value: str, object_id: str) -> None:
        """A master-data object this run created or found (a dry run remembers planned ones)."""
        if kind not in BY_NUMBER:
            raise ValueError(f"remember() takes master data, not {kind!r} (invoices: remember_invoice)")
        with self._lock:
            self._cache[(kind, value)] = object_id
            self._absent.discard((kind, value))

    def remember_invoice(self, stream: str, key: str, object_id: str) -> None:
        """An invoice (or draft) of ``stream`` written or planned under external ``key``. Only a planned
        one is kept: a written one is in the ledger already (every caller records it there first)."""
        if object_id == PLANNED:
            self._planned_invoices.add(stream, key)

    def close(self) -> None:
        self._planned_invoices.close()

    def prefetch(self, kind: str, numbers: Iterable[str]) -> None:
        """Look up, together, the numbers of ``kind`` not resolved yet in this run. A failed lookup is
        only logged: each record then looks its numbers up alone (and is rejected with the error)."""
        path, field = BY_NUMBER[kind]
        with self._lock:
            wanted = {n for n in numbers if (kind, n) not in self._cache}
        if not wanted:
            return
        try:
            found = find_ids(self.api, path, field, wanted)
        except EAccountingError as exc:
            log.warning("batch lookup of %d %s numbers failed (%s); one by one", len(wanted), kind, exc)
            return
        with self._lock:
            self.lookups += found.requests
            for number in wanted:
                if number in found.ids:
                    self._cache.setdefault((kind, number), found.ids[number])
                    self._absent.discard((kind, number))
                elif (kind, number) not in self._cache:
                    self._absent.add((kind, number))

    def _look_up(self, kind: str, number: str) -> str | None:
        """The Id of the object with this number, from one exact ``$filter`` read."""
        path, field = BY_NUMBER[kind]
        with self._lock:
            self.lookups += 1
        items = self.api.list(path, filter_=f"{field} eq {quote(number)}")
        found = [o for o in items if o.get(field) == number]  # the server may match case-insensitively
        return str(found[0]["Id"]) if found else None

    def find_by_number(self, kind: str, number: str, *, fresh: bool = False) -> dict[str, Any] | None:
        """The stored object with this natural number (full object), or None. Unless ``fresh``, what
        this run already knows is trusted: an Id is read directly, a number the batch lookup did not
        find (or a planned one, in a dry run) is absent."""
        object_id: str | None = None
        if not fresh:
            with self._lock:
                known = (kind, number) in self._cache or (kind, number) in self._absent
                object_id = self._cache.get((kind, number))
            if known and object_id in (None, PLANNED):
                return None
        if object_id is not None:
            try:
                return self.api.get(f"{BY_NUMBER[kind][0]}/{object_id}")
            except NotFoundError:
                pass  # deleted since it was looked up: look again
        object_id = self._look_up(kind, number)
        return None if object_id is None else self.api.get(f"{BY_NUMBER[kind][0]}/{object_id}")

    def resolver(self, stream: str) -> Callable[[str, str, str], str]:
        def resolve(kind: str, value: str, field: str) -> str:
            return self.resolve(kind, value, field, stream=stream)

        return resolve

    def resolve(self, kind: str, value: str, field: str, *, stream: str = "") -> str:
        try:
            if kind in BY_NUMBER:
                return self._by_number(kind, value, field)
            if kind == "vat_code":
                return self._vat_code(value, field)
            if kind == "bank_account":
                return self._bank_account(value, field)
            if kind == "invoice_key":
                return self._invoice_key(value, field, stream)
        except EAccountingError as exc:
            raise api_error(exc, f"could not resolve {field} {value!r}") from exc
        raise ValueError(f"unknown reference kind {kind!r}")

    def _by_number(self, kind: str, value: str, field: str) -> str:
        with self._lock:
            if (kind, value) in self._cache:
                cached = self._cache[(kind, value)]
                if cached:
                    return cached
                raise _missing(kind, value, field)
        object_id = self._look_up(kind, value)
        with self._lock:
            self._cache.setdefault((kind, value), object_id)
            object_id = self._cache[(kind, value)]
        if object_id is None:
            raise _missing(kind, value, field)
        return object_id

    def _vat_code(self, value: str, field: str) -> str:
        with self._lock:
            if self._vat_codes is None:
                self._vat_codes = {str(v.get("Code")): str(v["Id"]) for v in self.api.list("/vatcodes")}
            codes = self._vat_codes
        if value in codes:
            return codes[value]
        raise RecordError(
            "reference_not_found",
            f"VAT code {value!r} does not exist in this company "
            f"(known: {', '.join(sorted(codes)) or 'none'})",
            field=field,
        )

    def _bank_account(self, value: str, field: str) -> str:
        with self._lock:
            if self._bank_accounts is None:
                self._bank_accounts = self.api.list("/bankaccounts")
            accounts = [a for a in self._bank_accounts if a.get("IsActive", True)]
        if value:
            match = [
                a
                for a in accounts
                if value in (str(a.get("LedgerAccountNumber")), a.get("Name"), a.get("Bban"), a.get("Iban"))
            ]
        else:
            match = [a for a in accounts if a.get("IsDefaultChequeAccount")] or (
                accounts if len(accounts) == 1 else []
            )
        if len(match) == 1:
            return str(match[0]["Id"])
        known = ", ".join(f"{a.get('LedgerAccountNumber')} {a.get('Name')}" for a in accounts) or "none"
        what = f"bank account {value!r}" if value else "a default company bank account"
        raise RecordError(
            "reference_not_found",
            f"cannot pick {what} for the payment; set CompanyBankAccountId or CompanyBankAccountNumber "
            f"(active accounts: {known})",
            field=field,
        )

    def _invoice_key(self, value: str, field: str, stream: str) -> str:
        streams = self.invoice_streams.get(stream, ())
        if any((source, value) in self._planned_invoices for source in streams):
            return PLANNED
        if self.ledger is not None:
            for source in streams:
                entry = self.ledger.get(source, value)
                if entry is not None and entry.is_done and entry.object_id:
                    # a converted draft is paid on the invoice it became
                    return str(entry.extra.get("invoice_id") or entry.object_id)
        raise RecordError(
            "reference_not_found",
            f"no invoice with external key {value!r} was created by this target "
            f"(looked in the ledger for streams {', '.join(streams) or 'none'}); it may have been "
            "rejected, or use InvoiceId",
            field=field,
        )


def _missing(kind: str, value: str, field: str) -> RecordError:
    return RecordError(
        "reference_not_found", f"{kind} number {value!r} does not exist in this company", field=field
    )
