"""Vouchers: balanced journal entries, looked up by content after an unclear outcome.

A voucher carries no field for the external key, so the lookup lists the vouchers of its fiscal year
with the same text and compares date and rows (account, debit, credit), skipping vouchers another
external key already claims in the ledger.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from target_eaccounting import mapping
from target_eaccounting.api import quote
from target_eaccounting.exactly_once import already_written, create_once
from target_eaccounting.outcomes import CREATED
from target_eaccounting.record_errors import Undecidable
from target_eaccounting.stream_declaration import StreamSpec
from target_eaccounting.write_context import WriteContext


def row_signature(rows: Any) -> list[tuple[str, str, str]]:
    """The voucher's rows as sorted (account, debit, credit) triples, amounts to the cent."""
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


class VoucherStrategy:
    kind = "voucher"

    def numbers_needed(
        self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str
    ) -> list[tuple[str, str]]:
        return []  # VAT codes are read whole, once per run

    def write(self, ctx: WriteContext, spec: StreamSpec, record: dict[str, Any], key: str) -> None:
        digest = mapping.record_hash(record)
        if already_written(ctx, spec, key, digest):
            return
        year = spec.fiscal_year(ctx, record)
        payload = mapping.map_voucher(record, ctx.refs.resolver(spec.name))
        mapping.validate_payload(spec.schema, payload)
        spec.stamp_fiscal_year(ctx.settings, payload, year)
        if ctx.settings.dry_run:
            ctx.outcomes.record(CREATED, spec.name, key, None, f"fiscal year {year.describe()}")
            return
        entry = ctx.ledger.get(spec.name, key)
        text = str(payload.get("VoucherText", ""))
        date = str(payload.get("VoucherDate") or "")[:10]
        signature = row_signature(payload.get("Rows"))

        def lookup() -> str | None:
            items = ctx.api.list(f"/vouchers/{year.id}", filter_=f"VoucherText eq {quote(text)}")
            found = [
                v
                for v in items
                if v.get("VoucherText") == text
                and (not date or str(v.get("VoucherDate") or "")[:10] == date)
                and row_signature(v.get("Rows")) == signature
                and ctx.ledger.key_for_object(spec.name, str(v.get("Id"))) in (None, key)
            ]
            if len(found) > 1:
                raise Undecidable(f"{len(found)} vouchers with the same text, date and rows")
            return str(found[0]["Id"]) if found else None

        extra = {"fiscal_year_id": year.id}
        object_id = create_once(
            ctx,
            spec,
            key,
            digest=digest,
            extra=extra,
            entry=entry,
            post=lambda: str(ctx.api.post(spec.path, payload)["Id"]),
            lookup=lookup,
        )
        ctx.ledger.done(spec.name, key, object_id, digest, extra)
        ctx.outcomes.record(CREATED, spec.name, key, object_id)
