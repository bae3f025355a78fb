"""Customer invoices and drafts: create (drafts: update, convert) with the reference-field lookup.

The external key is written into the stream's reference field (``YourReference`` by default) so that
after an ambiguous POST the object can be found again by ``$filter=<field> eq '<key>'`` for the same
customer, skipping objects another key already claims in the ledger.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from eaccounting_api.errors import AmbiguousWriteError, EAccountingError, NotFoundError
from target_eaccounting import mapping
from target_eaccounting.api import api_error, quote
from target_eaccounting.exactly_once import changed_after_write, create_once, look, put_once
from target_eaccounting.ledger import PENDING
from target_eaccounting.outcomes import CREATED, SKIPPED, UPDATED
from target_eaccounting.record_errors import RecordError, Undecidable
from target_eaccounting.references import PLANNED, NumberCollector
from target_eaccounting.stream_declaration import StreamSpec
from target_eaccounting.write_context import WriteContext

DRAFTS = "customer_invoice_drafts"
# where a converted draft ends up
INVOICES = "customer_invoices"
INVOICES_PATH = "/customerinvoices"


class DocumentStrategy:
    kind = "document"

    def numbers_needed(
        self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str
    ) -> list[tuple[str, str]]:
        """The customer and article numbers the record references (none if it is written already)."""
        entry = ctx.ledger.get(spec.name, key)
        if entry is not None and entry.is_done and entry.payload_hash == mapping.record_hash(record):
            return []
        collect = NumberCollector()
        with contextlib.suppress(RecordError):  # rejected with its message when it is written
            mapping.map_invoice(
                spec.schema, record, collect, draft=spec.name == DRAFTS, reference_field=None, reference=None
            )
        return collect.numbers

    def write(self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str) -> None:
        draft = spec.name == DRAFTS
        digest = mapping.record_hash(record)
        entry = ctx.ledger.get(spec.name, key)
        if entry is not None and entry.is_done and entry.object_id:
            converted = entry.extra.get("invoice_id")
            if entry.payload_hash == digest:
                ctx.refs.remember_invoice(spec.name, key, str(converted or entry.object_id))
                if draft and ctx.settings.convert_drafts and not converted and not ctx.settings.dry_run:
                    _convert(ctx, spec, key, digest=digest, draft_id=entry.object_id, extra=dict(entry.extra))
                    ctx.outcomes.record(UPDATED, spec.name, key, entry.object_id, "converted")
                    return
                ctx.outcomes.record(SKIPPED, spec.name, key, entry.object_id, "already written")
                return
            if not draft or converted:
                raise changed_after_write(spec, key, entry)
        if (
            entry is not None
            and entry.status == PENDING
            and entry.extra.get("converting")
            and entry.object_id
        ):
            _resume_convert(
                ctx, spec, key, digest=entry.payload_hash, draft_id=entry.object_id, pending=entry.extra
            )
            return
        year = spec.fiscal_year(ctx, record)
        payload, ref_field, ref_value = mapping.map_invoice(
            spec.schema,
            record,
            ctx.refs.resolver(spec.name),
            draft=draft,
            reference_field=spec.reference_field(ctx.settings),
            reference=key,
        )
        mapping.validate_payload(spec.schema, payload)
        spec.stamp_fiscal_year(ctx.settings, payload, year)
        if ctx.settings.dry_run:
            ctx.refs.remember_invoice(spec.name, key, PLANNED)
            action = UPDATED if entry is not None and entry.is_done else CREATED
            ctx.outcomes.record(action, spec.name, key, None, f"fiscal year {year.describe()}")
            return
        customer_id = str(payload["CustomerId"])
        extra = {"reference_field": ref_field, "reference": ref_value, "customer_id": customer_id}
        if entry is not None and entry.is_done and entry.object_id:  # a changed draft: update it
            path = f"{spec.path}/{entry.object_id}"
            put_once(ctx, spec, key, digest=digest, extra=extra, entry=entry, path=path, body=payload)
            ctx.ledger.done(spec.name, key, entry.object_id, digest, extra)
            ctx.outcomes.record(UPDATED, spec.name, key, entry.object_id)
            return
        object_id = create_once(
            ctx,
            spec,
            key,
            digest=digest,
            extra=extra,
            entry=entry,
            post=lambda: str(ctx.api.post(spec.path, payload)["Id"]),
            lookup=lambda: _find_document(ctx, spec.name, spec.path, key=key, extra=extra),
        )
        ctx.ledger.done(spec.name, key, object_id, digest, extra)
        ctx.refs.remember_invoice(spec.name, key, object_id)
        if draft and ctx.settings.convert_drafts:
            _convert(ctx, spec, key, digest=digest, draft_id=object_id, extra=extra)
        ctx.outcomes.record(CREATED, spec.name, key, object_id)


def _find_document(
    ctx: WriteContext,
    stream: str,
    path: str,
    *,
    key: str,
    extra: Mapping[str, Any],
    draft_id: str | None = None,
) -> str | None:
    """The object carrying the external key (as written into ``extra``'s reference field) for this
    customer, not claimed by another key."""
    ref_field, ref_value = extra.get("reference_field"), extra.get("reference")
    if not ref_field or not ref_value:
        raise Undecidable("no reference field is configured for this stream")
    customer_id = str(extra.get("customer_id"))
    items = ctx.api.list(path, filter_=f"{ref_field} eq {quote(ref_value)}")
    found = [
        i
        for i in items
        if i.get(ref_field) == ref_value
        and str(i.get("CustomerId")) == customer_id
        and (draft_id is None or str(i.get("CreatedFromDraftId")) == draft_id)
        and ctx.ledger.key_for_object(stream, str(i.get("Id"))) in (None, key)
    ]
    if len(found) > 1:
        raise Undecidable(f"{len(found)} objects carry {ref_field} = {ref_value!r}")
    return str(found[0]["Id"]) if found else None


def _convert(
    ctx: WriteContext, spec: StreamSpec, key: str, *, digest: str, draft_id: str, extra: dict[str, Any]
) -> None:
    ctx.ledger.begin(spec.name, key, digest, {**extra, "converting": draft_id})

    def lookup() -> str | None:
        return _find_document(ctx, INVOICES, INVOICES_PATH, key=key, extra=extra, draft_id=draft_id)

    invoice_id: str | None = None
    try:
        invoice_id = str(ctx.api.post(f"{spec.path}/{draft_id}/convert")["Id"])
    except AmbiguousWriteError as exc:
        ctx.logger.warning(
            "%s %s: outcome of converting draft %s unknown (%s); looking for the invoice first",
            spec.name,
            key,
            draft_id,
            exc.summary,
        )
        invoice_id = look(spec, key, lookup, cause=f"converting draft {draft_id} had an ambiguous outcome")
        if invoice_id is None:
            ctx.ledger.done(spec.name, key, draft_id, digest, extra)
            raise RecordError(
                "api_error",
                f"draft {draft_id} was created; converting it had an unclear outcome and no invoice "
                "was found, so it is still a draft. Replay converts it",
            ) from None
    except EAccountingError as exc:
        ctx.ledger.done(spec.name, key, draft_id, digest, extra)
        raise api_error(exc, f"draft {draft_id} was created, but converting it failed") from exc
    ctx.ledger.done(spec.name, key, draft_id, digest, {**extra, "invoice_id": invoice_id})
    ctx.refs.remember_invoice(spec.name, key, invoice_id)


def _resume_convert(
    ctx: WriteContext, spec: StreamSpec, key: str, *, digest: str, draft_id: str, pending: dict[str, Any]
) -> None:
    """An earlier run died (or got no answer) while converting this draft: find the invoice first;
    convert again only if the draft is still there and no invoice came from it."""
    extra = {k: v for k, v in pending.items() if k != "converting"}

    def lookup() -> str | None:
        return _find_document(ctx, INVOICES, INVOICES_PATH, key=key, extra=extra, draft_id=draft_id)

    invoice_id = look(
        spec, key, lookup, cause=f"an earlier conversion of draft {draft_id} has no known outcome"
    )
    if invoice_id:
        ctx.ledger.done(spec.name, key, draft_id, digest, {**extra, "invoice_id": invoice_id})
        ctx.refs.remember_invoice(spec.name, key, invoice_id)
        ctx.outcomes.record(CREATED, spec.name, key, draft_id, "conversion found from an earlier run")
        return
    if ctx.settings.dry_run:
        ctx.outcomes.record(UPDATED, spec.name, key, draft_id, "convert")
        return
    try:
        ctx.api.get(f"{spec.path}/{draft_id}")
    except NotFoundError:
        raise RecordError(
            "outcome_unknown",
            f"draft {draft_id} is gone but no invoice created from it was found; check eAccounting",
        ) from None
    if ctx.settings.convert_drafts:
        _convert(ctx, spec, key, digest=digest, draft_id=draft_id, extra=extra)
    else:
        ctx.ledger.done(spec.name, key, draft_id, digest, extra)
    ctx.outcomes.record(UPDATED, spec.name, key, draft_id, "converted" if ctx.settings.convert_drafts else "")
