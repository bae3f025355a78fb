"""Writing one record: validation, references, fiscal year, ledger, and the no-duplicate create.

Every create goes through :meth:`Writer.create`: the ledger records the intent before the POST;
an ambiguous outcome (``AmbiguousWriteError``: timeout, reset, 5xx after sending) is never re-sent
blindly. The object is looked up first (master data by number, documents by the reference field
carrying the external key, payments by the invoice's remaining amount, vouchers by content). Found →
adopted; provably absent → sent again (bounded); undecidable → rejected as ``outcome_unknown`` with
the ledger entry left ``pending``, so any later run looks it up before writing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft7Validator

from eaccounting_api.errors import (
    AmbiguousWriteError,
    ConflictError,
    EAccountingError,
    ReauthorizationRequired,
)
from target_eaccounting import mapping
from target_eaccounting.api import Api, api_error
from target_eaccounting.fiscal import FiscalYear, FiscalYears
from target_eaccounting.ledger import PENDING, Entry, Ledger
from target_eaccounting.outcomes import CREATED, SKIPPED, UPDATED, Outcomes
from target_eaccounting.record_errors import RecordError, Undecidable
from target_eaccounting.references import PLANNED, References
from target_eaccounting.stream_specs import DOCUMENT, MASTER, PAYMENT, VOUCHER, StreamSpec

_MASTER_KIND = {"customers": "customer", "suppliers": "supplier", "articles": "article"}


@dataclass
class WriteSettings:
    key_fields: Mapping[str, str] = field(default_factory=dict)
    reference_fields: Mapping[str, str | None] = field(default_factory=dict)
    convert_drafts: bool = False
    inject_fiscal_year_id: bool = True
    dry_run: bool = False
    max_write_attempts: int = 3

    def key_field(self, spec: StreamSpec) -> str | None:
        return self.key_fields.get(spec.name) or spec.number_field

    def reference_field(self, spec: StreamSpec) -> str | None:
        if spec.name in self.reference_fields:
            return self.reference_fields[spec.name] or None
        return spec.default_reference_field


class Writer:
    def __init__(  # noqa: PLR0917 -- internal calls pass the write context positionally
        self,
        api: Api,
        ledger: Ledger,
        refs: References,
        fiscal: FiscalYears,
        outcomes: Outcomes,
        settings: WriteSettings,
        logger: logging.Logger,
    ) -> None:
        self.api = api
        self.ledger = ledger
        self.refs = refs
        self.fiscal = fiscal
        self.outcomes = outcomes
        self.settings = settings
        self.logger = logger
        self._warned: set[tuple[str, str]] = set()
        self._warned_lock = threading.Lock()

    # --- entry point -----------------------------------------------------------------------------

    def prepare_key(self, spec: StreamSpec, record: Mapping[str, Any]) -> str:
        return mapping.external_key(mapping.clean_record(record), self.settings.key_field(spec))

    def write(self, spec: StreamSpec, record: Mapping[str, Any], validator: Draft7Validator | None) -> None:
        """Write one record; every failure ends in the reject file, never in an exception."""
        from target_eaccounting import documents, payments

        rec = mapping.clean_record(record)
        self._warn_unknown_fields(spec, rec)
        key: str | None = None
        try:
            key = mapping.external_key(rec, self.settings.key_field(spec))
            mapping.validate_against_stream_schema(validator, rec)
            if spec.kind == MASTER:
                self.write_master(spec, rec, key)
            elif spec.kind == DOCUMENT:
                documents.write_document(self, spec, rec, key)
            elif spec.kind == PAYMENT:
                payments.write_payment(self, spec, rec, key)
            elif spec.kind == VOUCHER:
                payments.write_voucher(self, spec, rec, key)
        except RecordError as err:
            self.outcomes.reject(spec.name, key, record, err)
        except ReauthorizationRequired:
            raise
        except EAccountingError as exc:
            self.outcomes.reject(spec.name, key, record, api_error(exc, "request failed"))

    def _warn_unknown_fields(self, spec: StreamSpec, rec: Mapping[str, Any]) -> None:
        """Fields the API does not take are dropped, and said so once per stream and field."""
        key_field = self.settings.key_field(spec)
        for name in mapping.unknown_fields(spec.schema, rec):
            if name == key_field or (spec.name, name) in self._warned:
                continue
            with self._warned_lock:
                if (spec.name, name) in self._warned:
                    continue
                self._warned.add((spec.name, name))
            self.logger.warning(
                "%s: field %s is not part of the API's %s; it is not sent", spec.name, name, spec.schema
            )

    # --- helpers shared by all streams -----------------------------------------------------------

    def fiscal_year(self, spec: StreamSpec, rec: Mapping[str, Any]) -> FiscalYear:
        assert spec.date_field is not None
        return self.fiscal.for_document(rec, spec.date_field)

    def inject_fiscal_year(self, spec: StreamSpec, payload: dict[str, Any], year: FiscalYear) -> None:
        # Not in the spec's request bodies; the sandbox (like the issue) checks it against the date.
        if spec.takes_fiscal_year_id and self.settings.inject_fiscal_year_id:
            payload["FiscalYearId"] = year.id

    def changed_after_write(self, spec: StreamSpec, key: str, entry: Entry) -> RecordError:
        return RecordError(
            "changed_after_write",
            f"external key {key!r} was already written as {entry.object_id} with different content, and "
            f"{spec.name} cannot be updated through the API; give the record a new external key or fix "
            "the object in eAccounting",
        )

    def look(self, spec: StreamSpec, key: str, lookup: Callable[[], str | None], cause: str) -> str | None:
        try:
            return lookup()
        except Undecidable as exc:
            raise RecordError(
                "outcome_unknown",
                f"{cause}; the lookup cannot decide whether {spec.name} {key!r} was created ({exc}). "
                "Not re-sent: check eAccounting, then replay (the ledger keeps it pending)",
            ) from exc
        except ReauthorizationRequired:
            raise
        except EAccountingError as exc:
            raise RecordError(
                "outcome_unknown",
                f"{cause}; looking the object up failed too ({exc}). Not re-sent: replay later "
                "(the ledger keeps it pending, so the replay looks it up first)",
                api=api_error(exc, "").api,
            ) from exc

    def create(  # noqa: PLR0917 -- internal calls pass the write context positionally
        self,
        spec: StreamSpec,
        key: str,
        payload_hash: str,
        extra: dict[str, Any],
        entry: Entry | None,
        post: Callable[[], str],
        lookup: Callable[[], str | None],
    ) -> str:
        """POST with the ledger bracket and the look-before-resend rule. Returns the object Id."""
        if entry is not None and entry.status == PENDING:
            found = self.look(spec, key, lookup, "an earlier write of this record has no known outcome")
            if found:
                self.logger.info("%s %s: found from an earlier run as %s", spec.name, key, found)
                return found
        previous = entry if entry is not None and entry.is_done else None
        self.ledger.begin(spec.name, key, payload_hash, extra)
        last: AmbiguousWriteError | None = None
        for attempt in range(1, self.settings.max_write_attempts + 1):
            try:
                return post()
            except AmbiguousWriteError as exc:
                last = exc
                self.logger.warning(
                    "%s %s: outcome of POST unknown (attempt %d: %s); looking it up before any re-send",
                    spec.name,
                    key,
                    attempt,
                    exc.summary,
                )
                found = self.look(spec, key, lookup, f"POST {spec.path} had an ambiguous outcome")
                if found:
                    return found
            except ConflictError:
                self.ledger.forget(spec.name, key, previous)
                raise
            except ReauthorizationRequired:
                raise
            except EAccountingError as exc:
                self.ledger.forget(spec.name, key, previous)
                raise api_error(exc, f"POST {spec.path} failed") from exc
        raise RecordError(
            "outcome_unknown",
            f"POST {spec.path} stayed ambiguous after {self.settings.max_write_attempts} attempts (each "
            "lookup found nothing). Not re-sent again: replay later (the ledger keeps it pending)",
            api=api_error(last, "").api if last else None,
        )

    # --- master data: upsert by natural number ---------------------------------------------------

    def write_master(self, spec: StreamSpec, rec: dict[str, Any], key: str) -> None:
        assert spec.number_field is not None
        kind = _MASTER_KIND[spec.name]
        digest = mapping.record_hash(rec)
        entry = self.ledger.get(spec.name, key)
        payload = mapping.map_master(spec.schema, rec, spec.number_field)
        number = str(payload[spec.number_field])
        if entry is not None and entry.is_done and entry.payload_hash == digest and entry.object_id:
            self.refs.remember(kind, number, entry.object_id)
            self.outcomes.record(SKIPPED, spec.name, key, entry.object_id, "unchanged since the last write")
            return
        existing = self.refs.find_by_number(kind, number)
        if existing is None:
            mapping.validate_payload(spec.schema, payload)
            if self.settings.dry_run:
                self.refs.remember(kind, number, PLANNED)
                self.outcomes.record(CREATED, spec.name, key)
                return
            try:
                object_id = self.create(
                    spec,
                    key,
                    digest,
                    {"number": number},
                    entry,
                    post=lambda: str(self.api.post(spec.path, payload)["Id"]),
                    lookup=lambda: self._master_lookup(kind, number),
                )
            except ConflictError:
                # 409 / 4000: the number exists (created concurrently or invisible to the lookup)
                existing = self.refs.find_by_number(kind, number)
                if existing is None:
                    raise RecordError(
                        "api_error",
                        f"creating {spec.number_field} {number!r} answered Conflict, but no object "
                        "with that number can be found",
                        field=spec.number_field,
                    ) from None
            else:
                self.ledger.done(spec.name, key, object_id, digest, {"number": number})
                self.refs.remember(kind, number, object_id)
                self.outcomes.record(CREATED, spec.name, key, object_id)
                return
        self._master_update(spec, kind, key, digest, payload, existing, entry)

    def _master_lookup(self, kind: str, number: str) -> str | None:
        found = self.refs.find_by_number(kind, number)
        return str(found["Id"]) if found else None

    def _master_update(  # noqa: PLR0917 -- internal calls pass the write context positionally
        self,
        spec: StreamSpec,
        kind: str,
        key: str,
        digest: str,
        payload: dict[str, Any],
        existing: dict[str, Any],
        entry: Entry | None,
    ) -> None:
        object_id = str(existing["Id"])
        number = str(payload[spec.number_field or ""])
        self.refs.remember(kind, number, object_id)
        merged = mapping.merge_for_put(spec.schema, existing, payload)
        if not mapping.differs(spec.schema, existing, merged):
            if not self.settings.dry_run:
                self.ledger.done(spec.name, key, object_id, digest, {"number": number})
            self.outcomes.record(SKIPPED, spec.name, key, object_id, "already up to date in eAccounting")
            return
        mapping.validate_payload(spec.schema, payload, partial=True)
        if self.settings.dry_run:
            self.outcomes.record(UPDATED, spec.name, key, object_id)
            return
        self.put(spec, key, digest, {"number": number}, entry, f"{spec.path}/{object_id}", merged)
        self.ledger.done(spec.name, key, object_id, digest, {"number": number})
        self.outcomes.record(UPDATED, spec.name, key, object_id)

    def put(  # noqa: PLR0917 -- internal calls pass the write context positionally
        self,
        spec: StreamSpec,
        key: str,
        digest: str,
        extra: dict[str, Any],
        entry: Entry | None,
        path: str,
        body: dict[str, Any],
    ) -> None:
        """A PUT (idempotent: the shared client retries it); a lasting unclear outcome stays pending."""
        previous = entry if entry is not None and entry.is_done else None
        self.ledger.begin(spec.name, key, digest, extra)
        try:
            self.api.put(path, body)
        except ReauthorizationRequired:
            raise
        except AmbiguousWriteError as exc:
            raise RecordError(
                "outcome_unknown", f"PUT {path}: {exc}; safe to replay (PUT is idempotent)"
            ) from exc
        except EAccountingError as exc:
            self.ledger.forget(spec.name, key, previous)
            raise api_error(exc, f"PUT {path} failed") from exc
