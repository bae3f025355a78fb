"""Customer invoices and drafts: create (drafts: update, convert) with the reference-field lookup.

The external key is written into the stream's reference field (``YourReference`` by default) so that
after an ambiguous POST the object can be found again by ``$filter=<field> eq '<key>'`` for the same
customer, skipping objects another key already claims in the ledger.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from eaccounting_api.errors import (
    AmbiguousWriteError,
    EAccountingError,
    NotFoundError,
    ReauthorizationRequired,
)
from target_eaccounting import mapping
from target_eaccounting.api import api_error, quote
from target_eaccounting.ledger import PENDING
from target_eaccounting.outcomes import CREATED, SKIPPED, UPDATED
from target_eaccounting.record_errors import RecordError, Undecidable
from target_eaccounting.references import PLANNED
from target_eaccounting.stream_specs import StreamSpec

if TYPE_CHECKING:
    from target_eaccounting.writer import Writer

DRAFTS = "customer_invoice_drafts"


def write_document(w: Writer, spec: StreamSpec, rec: dict[str, Any], key: str) -> None:
    draft = spec.name == DRAFTS
    digest = mapping.record_hash(rec)
    entry = w.ledger.get(spec.name, key)
    if entry is not None and entry.is_done and entry.object_id:
        converted = entry.extra.get("invoice_id")
        if entry.payload_hash == digest:
            w.refs.remember("invoice_key", key, str(converted or entry.object_id))
            if draft and w.settings.convert_drafts and not converted and not w.settings.dry_run:
                convert(w, spec, key, digest, entry.object_id, dict(entry.extra))
                w.outcomes.record(UPDATED, spec.name, key, entry.object_id, "converted")
                return
            w.outcomes.record(SKIPPED, spec.name, key, entry.object_id, "already written")
            return
        if not draft or converted:
            raise w.changed_after_write(spec, key, entry)
    if entry is not None and entry.status == PENDING and entry.extra.get("converting") and entry.object_id:
        resume_convert(w, spec, key, entry.payload_hash, entry.object_id, entry.extra)
        return
    year = w.fiscal_year(spec, rec)
    payload, ref_field, ref_value = mapping.map_invoice(
        spec.schema,
        rec,
        w.refs.resolver(spec.name),
        draft=draft,
        reference_field=w.settings.reference_field(spec),
        reference=key,
    )
    mapping.validate_payload(spec.schema, payload)
    w.inject_fiscal_year(spec, payload, year)
    if w.settings.dry_run:
        w.refs.remember("invoice_key", key, PLANNED)
        action = UPDATED if entry is not None and entry.is_done else CREATED
        w.outcomes.record(action, spec.name, key, None, f"fiscal year {year.describe()}")
        return
    customer_id = str(payload["CustomerId"])
    extra = {"reference_field": ref_field, "reference": ref_value, "customer_id": customer_id}
    if entry is not None and entry.is_done and entry.object_id:  # a changed draft: update it
        w.put(spec, key, digest, extra, entry, f"{spec.path}/{entry.object_id}", payload)
        w.ledger.done(spec.name, key, entry.object_id, digest, extra)
        w.outcomes.record(UPDATED, spec.name, key, entry.object_id)
        return
    object_id = w.create(
        spec,
        key,
        digest,
        extra,
        entry,
        post=lambda: str(w.api.post(spec.path, payload)["Id"]),
        lookup=lambda: find_document(w, spec.name, spec.path, key, ref_field, ref_value, customer_id),
    )
    w.ledger.done(spec.name, key, object_id, digest, extra)
    w.refs.remember("invoice_key", key, object_id)
    if draft and w.settings.convert_drafts:
        convert(w, spec, key, digest, object_id, extra)
    w.outcomes.record(CREATED, spec.name, key, object_id)


def find_document(  # noqa: PLR0917 -- internal calls pass the write context positionally
    w: Writer,
    stream: str,
    path: str,
    key: str,
    ref_field: str | None,
    ref_value: str | None,
    customer_id: str,
    draft_id: str | None = None,
) -> str | None:
    """The object with ``ref_value`` in ``ref_field`` for this customer, not claimed by another key."""
    if not ref_field or not ref_value:
        raise Undecidable("no reference field is configured for this stream")
    items = w.api.list(path, filter_=f"{ref_field} eq {quote(ref_value)}")
    found = [
        i
        for i in items
        if i.get(ref_field) == ref_value
        and str(i.get("CustomerId")) == customer_id
        and (draft_id is None or str(i.get("CreatedFromDraftId")) == draft_id)
        and w.ledger.key_for_object(stream, str(i.get("Id"))) in (None, key)
    ]
    if len(found) > 1:
        raise Undecidable(f"{len(found)} objects carry {ref_field} = {ref_value!r}")
    return str(found[0]["Id"]) if found else None


def convert(  # noqa: PLR0917 -- internal calls pass the write context positionally
    w: Writer, spec: StreamSpec, key: str, digest: str, draft_id: str, extra: dict[str, Any]
) -> None:
    ref_field, ref_value = extra.get("reference_field"), extra.get("reference")
    customer_id = str(extra.get("customer_id"))
    w.ledger.begin(spec.name, key, digest, {**extra, "converting": draft_id})

    def lookup() -> str | None:
        return find_document(
            w, "customer_invoices", "/customerinvoices", key, ref_field, ref_value, customer_id, draft_id
        )

    invoice_id: str | None = None
    try:
        invoice_id = str(w.api.post(f"{spec.path}/{draft_id}/convert")["Id"])
    except ReauthorizationRequired:
        raise
    except AmbiguousWriteError as exc:
        w.logger.warning(
            "%s %s: outcome of converting draft %s unknown (%s); looking for the invoice first",
            spec.name,
            key,
            draft_id,
            exc.summary,
        )
        invoice_id = w.look(spec, key, lookup, f"converting draft {draft_id} had an ambiguous outcome")
        if invoice_id is None:
            w.ledger.done(spec.name, key, draft_id, digest, extra)
            raise RecordError(
                "api_error",
                f"draft {draft_id} was created; converting it had an unclear outcome and no invoice "
                "was found, so it is still a draft. Replay converts it",
            ) from None
    except EAccountingError as exc:
        w.ledger.done(spec.name, key, draft_id, digest, extra)
        raise api_error(exc, f"draft {draft_id} was created, but converting it failed") from exc
    w.ledger.done(spec.name, key, draft_id, digest, {**extra, "invoice_id": invoice_id})
    w.refs.remember("invoice_key", key, invoice_id)


def resume_convert(  # noqa: PLR0917 -- internal calls pass the write context positionally
    w: Writer, spec: StreamSpec, key: str, digest: str, draft_id: str, pending: dict[str, Any]
) -> None:
    """An earlier run died (or got no answer) while converting this draft: find the invoice first;
    convert again only if the draft is still there and no invoice came from it."""
    extra = {k: v for k, v in pending.items() if k != "converting"}

    def lookup() -> str | None:
        return find_document(
            w,
            "customer_invoices",
            "/customerinvoices",
            key,
            extra.get("reference_field"),
            extra.get("reference"),
            str(extra.get("customer_id")),
            draft_id,
        )

    invoice_id = w.look(spec, key, lookup, f"an earlier conversion of draft {draft_id} has no known outcome")
    if invoice_id:
        w.ledger.done(spec.name, key, draft_id, digest, {**extra, "invoice_id": invoice_id})
        w.refs.remember("invoice_key", key, invoice_id)
        w.outcomes.record(CREATED, spec.name, key, draft_id, "conversion found from an earlier run")
        return
    if w.settings.dry_run:
        w.outcomes.record(UPDATED, spec.name, key, draft_id, "convert")
        return
    try:
        w.api.get(f"{spec.path}/{draft_id}")
    except NotFoundError:
        raise RecordError(
            "outcome_unknown",
            f"draft {draft_id} is gone but no invoice created from it was found; check eAccounting",
        ) from None
    if w.settings.convert_drafts:
        convert(w, spec, key, digest, draft_id, extra)
    else:
        w.ledger.done(spec.name, key, draft_id, digest, extra)
    w.outcomes.record(UPDATED, spec.name, key, draft_id, "converted" if w.settings.convert_drafts else "")
