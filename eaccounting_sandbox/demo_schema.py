"""Spec-driven record skeletons: every property of a schema, filled with a type-correct default.

The demo data and the write path start every object from ``skeleton(schema_name)`` and then set the
fields that carry meaning. Nothing here knows a schema by heart: property names, types, enums and
bounds all come from ``eaccounting_api.spec``. Because every schema in the spec has
``additionalProperties: false``, a stored record must carry exactly the spec's properties.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from eaccounting_api import spec

ZERO_UUID = "00000000-0000-0000-0000-000000000000"
EPOCH = "2000-01-01T00:00:00Z"


def _types(prop: dict[str, Any]) -> list[str]:
    raw = prop.get("type")
    if raw is None:
        return []
    return [raw] if isinstance(raw, str) else list(raw)


def default_for(prop: dict[str, Any]) -> Any:  # noqa: PLR0911 - one return per JSON type reads clearest
    """The value a freshly created object holds for ``prop`` when nobody set it."""
    if "$ref" in prop:
        return skeleton(spec.ref_name(prop["$ref"]))
    types = _types(prop)
    if "null" in types:
        return None
    kind = types[0] if types else "object"
    if "enum" in prop:
        return prop["enum"][0]
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        low = prop.get("minimum", 0)
        value = max(low, 0) if prop.get("maximum", 0) >= 0 else low
        return int(value) if kind == "integer" else float(value)
    if kind == "array":
        return []
    if kind == "string":
        fmt = prop.get("format")
        if fmt == "uuid":
            return ZERO_UUID
        if fmt == "date-time":
            return EPOCH
        return "x" * int(prop.get("minLength", 0))
    return {}


@cache
def _skeleton_template(schema_name: str) -> tuple[dict[str, Any], tuple[tuple[str, str | None], ...]]:
    """The filled-in template, and which keys hold a fresh container: (key, nested schema or None for [])."""
    props = spec.schemas()[schema_name].get("properties", {})
    template = {name: default_for(sub) for name, sub in props.items()}
    nested = tuple(
        (name, spec.ref_name(sub["$ref"]) if "$ref" in sub else None)
        for name, sub in props.items()
        if isinstance(template[name], dict | list)
    )
    return template, nested


def skeleton(schema_name: str) -> dict[str, Any]:
    """A new dict holding every property of ``schema_name`` at its default (no shared containers)."""
    template, nested = _skeleton_template(schema_name)
    record = template.copy()
    for name, sub in nested:
        record[name] = skeleton(sub) if sub else []
    return record


def properties(schema_name: str) -> dict[str, Any]:
    props: dict[str, Any] = spec.schemas()[schema_name].get("properties", {})
    return props


def item_schema_of(schema_name: str, prop_name: str) -> str | None:
    """For an array-of-$ref or $ref property, the referenced schema name."""
    prop = properties(schema_name).get(prop_name, {})
    ref = prop.get("$ref") or prop.get("items", {}).get("$ref")
    return spec.ref_name(ref) if ref else None


def build(schema_name: str, **values: Any) -> dict[str, Any]:
    """``skeleton(schema_name)`` with ``values`` set; unknown names are a programming error."""
    record = skeleton(schema_name)
    unknown = set(values) - set(record)
    if unknown:
        raise KeyError(f"{schema_name} has no properties {sorted(unknown)}")
    record.update(values)
    return record


def vat_specification(net_by_rate: Mapping[float, float]) -> tuple[list[dict[str, Any]], float]:
    """An invoice's ``VatSpecification`` (one row per VAT rate, in the invoice currency) and its VAT total.

    Shared by the demo generator and the invoice writes, so generated and created invoices agree.
    """
    rows = [
        build(
            "CustomerInvoiceVatApi",
            AmountInvoiceCurrency=round(amount, 2),
            VatAmountInvoiceCurrency=round(amount * rate, 2),
            VatPercent=rate,
        )
        for rate, amount in sorted(net_by_rate.items())
    ]
    return rows, round(sum(v["VatAmountInvoiceCurrency"] for v in rows), 2)
