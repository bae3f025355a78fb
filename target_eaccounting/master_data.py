"""Customers, suppliers and articles: upsert by natural number.

Not in the ledger yet → looked up by number (the batch's numbers together, see ``numbers_needed``);
absent → POST (a 409 "number exists" turns into an update, after a fresh lookup). Present →
read-modify-write PUT of the stored object merged with the record (fields the record lacks are kept),
skipped when nothing would change.
"""

from __future__ import annotations

from typing import Any

from eaccounting_api.errors import ConflictError
from target_eaccounting import mapping
from target_eaccounting.exactly_once import create_once, put_once
from target_eaccounting.ledger import Entry
from target_eaccounting.outcomes import CREATED, SKIPPED, UPDATED
from target_eaccounting.record_errors import RecordError
from target_eaccounting.references import PLANNED
from target_eaccounting.stream_declaration import StreamSpec
from target_eaccounting.write_context import WriteContext

# stream -> the reference kind its numbers resolve as (``References``)
_REFERENCE_KIND = {"customers": "customer", "suppliers": "supplier", "articles": "article"}


class MasterDataStrategy:
    kind = "master data"

    def numbers_needed(
        self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str
    ) -> list[tuple[str, str]]:
        """The record's own number, unless the ledger shows the record unchanged (then no lookup)."""
        assert spec.number_field is not None
        number = record.get(spec.number_field)
        if not number or _unchanged(ctx.ledger.get(spec.name, key), mapping.record_hash(record)):
            return []
        return [(_REFERENCE_KIND[spec.name], str(number))]

    def write(self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str) -> None:
        assert spec.number_field is not None
        kind = _REFERENCE_KIND[spec.name]
        digest = mapping.record_hash(record)
        entry = ctx.ledger.get(spec.name, key)
        payload = mapping.map_master(spec.schema, record, spec.number_field)
        number = str(payload[spec.number_field])
        if entry is not None and entry.object_id and _unchanged(entry, digest):
            ctx.refs.remember(kind, number, entry.object_id)
            ctx.outcomes.record(SKIPPED, spec.name, key, entry.object_id, "unchanged since the last write")
            return
        existing = ctx.refs.find_by_number(kind, number)
        if existing is None:
            mapping.validate_payload(spec.schema, payload)
            if ctx.settings.dry_run:
                ctx.refs.remember(kind, number, PLANNED)
                ctx.outcomes.record(CREATED, spec.name, key)
                return
            try:
                object_id = create_once(
                    ctx,
                    spec,
                    key,
                    digest=digest,
                    extra={"number": number},
                    entry=entry,
                    post=lambda: str(ctx.api.post(spec.path, payload)["Id"]),
                    lookup=lambda: _id_by_number(ctx, kind, number),
                )
            except ConflictError:
                # 409 / 4000: the number exists (created concurrently or invisible to the lookup)
                existing = ctx.refs.find_by_number(kind, number, fresh=True)
                if existing is None:
                    raise RecordError(
                        "api_error",
                        f"creating {spec.number_field} {number!r} answered Conflict, but no object "
                        "with that number can be found",
                        field=spec.number_field,
                    ) from None
            else:
                ctx.ledger.done(spec.name, key, object_id, digest, {"number": number})
                ctx.refs.remember(kind, number, object_id)
                ctx.outcomes.record(CREATED, spec.name, key, object_id)
                return
        _update(ctx, spec, key, kind=kind, digest=digest, payload=payload, existing=existing, entry=entry)


def _unchanged(entry: Entry | None, digest: str) -> bool:
    """Whether the ledger holds this very record as written (nothing to look up or send)."""
    return entry is not None and entry.is_done and bool(entry.object_id) and entry.payload_hash == digest


def _id_by_number(ctx: WriteContext, kind: str, number: str) -> str | None:
    found = ctx.refs.find_by_number(kind, number, fresh=True)
    return str(found["Id"]) if found else None


def _update(
    ctx: WriteContext,
    spec: StreamSpec,
    key: str,
    *,
    kind: str,
    digest: str,
    payload: dict[str, Any],
    existing: dict[str, Any],
    entry: Entry | None,
) -> None:
    object_id = str(existing["Id"])
    number = str(payload[spec.number_field or ""])
    ctx.refs.remember(kind, number, object_id)
    merged = mapping.merge_for_put(spec.schema, existing, payload)
    if not mapping.differs(spec.schema, existing, merged):
        if not ctx.settings.dry_run:
            ctx.ledger.done(spec.name, key, object_id, digest, {"number": number})
        ctx.outcomes.record(SKIPPED, spec.name, key, object_id, "already up to date in eAccounting")
        return
    mapping.validate_payload(spec.schema, payload, partial=True)
    if ctx.settings.dry_run:
        ctx.outcomes.record(UPDATED, spec.name, key, object_id)
        return
    extra = {"number": number}
    put_once(
        ctx, spec, key, digest=digest, extra=extra, entry=entry, path=f"{spec.path}/{object_id}", body=merged
    )
    ctx.ledger.done(spec.name, key, object_id, digest, extra)
    ctx.outcomes.record(UPDATED, spec.name, key, object_id)
