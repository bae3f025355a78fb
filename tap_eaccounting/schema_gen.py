"""Generate ``tap_eaccounting/schemas/<stream>.json`` from the structural spec.

Called by ``scripts/generate_from_spec.py`` (``generate_stream_schemas``). For each stream of
``streams.STREAMS`` it takes the item schema of the endpoint's ``PaginatedResponseOf<X>`` envelope and:

* inlines every ``$ref`` (a recursive reference becomes an untyped object rather than looping);
* keeps the PascalCase property names as the API sends them;
* makes every property nullable and drops ``required``, ``additionalProperties: false``, ``readOnly``
  and value constraints (lengths, bounds, patterns, enums): the live API returns nulls where the spec
  says otherwise, and a loader must not reject a record the API really sent;
* keeps ``format: date-time`` on date-time fields (warehouses type the column from it) but nothing
  stricter; the live API sends date-only values (``"2026-06-24"``) in some of them, which the tap
  rewrites to RFC 3339 UTC on the way out (``record_shape``);
* lets every nested object carry properties it does not declare (``additionalProperties: true``): a
  newer API version may add some, and loaders that conform records to the schema recursively (the SDK's
  ``TypeConformanceLevel.RECURSIVE``) keep them in the object's JSON column instead of dropping them.
  Undeclared *top-level* properties are declared at run time instead (``record_output``);
* drops the OpenAPI numeric/uuid formats, which JSON Schema does not define;
* types every ``number`` as an exact decimal a SQL loader lands as ``NUMERIC(p,s)`` / ``NUMBER(p,s)``
  (``decimal_schema``) and every array as one JSON value (``_json_array``), see "Loader types" below;
* adds the parent key that a child stream carries (``FiscalYearId`` on ``vouchers``, ...).

Loader types (README, "Loader types", has what lands where). The spec types every money amount,
quantity, percentage and rate alike (``number``, ``format: double``: Swashbuckle's rendering of .NET
``decimal``), so the scale is chosen here per kind of property, by name (``decimal_kind``), from the
precisions the spec's descriptions document, with room to spare; precision is 38 throughout (Snowflake's
maximum, so no value the API can hold overflows), and a value with more decimals than its scale would be
rounded by the database, so each scale is at least the largest documented one of its kind:

* money (amounts, prices, balances, VAT amounts; the default): scale 4. Amounts are documented with 2
  decimals ("Format: 2 decimals", "Maximum 2 decimal places"), unit prices with 4 when the customer or
  currency is foreign (``CustomerInvoiceRowApi.UnitPrice``); one scale for all money keeps sums across
  columns at one scale.
* quantities (``Quantity``, ``StockBalance``, ``Weight``, ``WorkHours``, ...): scale 4
  (``CustomerInvoiceRowApi.Quantity``: "Format: 4 decimals"; weights: 2).
* percentages and VAT rates (``*Percent*``, ``VatRate``): scale 6 (discount percentages: "Format: 4
  decimals"; 6 leaves room for a rate written as a fraction, 0.255 = 25.5 %).
* exchange rates (``CurrencyRate``, ``CurrencyRateUnit``, ``Rate``, ``...ExchangeRate``): scale 10; the
  spec documents no precision, and the rate of a weak currency against a strong one is small
  (0.000061 EUR per IDR).

The form is ``anyOf: [{type: string, format: x-singer.decimal, precision, scale}, {type: number},
{type: null}]``: the SDK's SQL type mapping (target-postgres 0.8.1, target-snowflake 0.20.4) takes the
first non-null branch that names a type, ``x-singer.decimal`` with its precision and scale, while the
records keep the API's JSON numbers (the ``number`` branch validates them), so the tap's raw pass-through
of the API's bytes stays untouched. The SDK's own ``SingerDecimalType`` writes ``singer.decimal`` (no
``x-``), which neither loader knows, and a string-only decimal would force every record to be re-encoded.
Integers stay ``integer``.

Arrays are ``{type: [array, object, null], anyOf: [{type: array}, {type: null}], items: ...}``.
target-postgres maps an array with an item schema to a Postgres array (``jsonb[]``, ``text[]``) but a
``type`` union of array and object to one ``jsonb`` value (target-snowflake: ``VARIANT`` either way); the
``anyOf`` keeps what validates exactly "array or null" (a record holding an object there is invalid), and
with it the SDK's typing helpers (``is_object_type`` reads ``anyOf`` first) and its standard tap tests do
not take the property for an object. The item schema stays for readers, for the loaders' recursive
conformance and for the tap's own date-time checks inside nested rows (``record_shape``).

A single-object stream (``streams.SINGLE_OBJECT_STREAMS``) gets its named response schema, converted the
same way.

The output is deterministic (property order as in the spec, fixed indent, trailing newline).
"""

from __future__ import annotations

import json
from typing import Any

from tap_eaccounting.streams import (
    SINGLE_OBJECT_STREAMS,
    STREAMS,
    SingleObjectDef,
    StreamDef,
    injected_properties,
)

SCHEMA_DIR = "tap_eaccounting/schemas"
REF_PREFIX = "#/components/schemas/"
KEEP_FORMATS = frozenset({"date-time", "date"})
DECIMAL_PRECISION = 38
# Scale per kind of number (the module docstring says why each).
DECIMAL_SCALES = {"money": 4, "quantity": 4, "percentage": 6, "exchange_rate": 10}
QUANTITIES = frozenset(
    {
        "Quantity",
        "DeliveredQuantity",
        "QuantityToAllocate",
        "StockBalance",
        "StockBalanceAvailable",
        "StockBalanceReserved",
        "OrderingPoint",
        "Weight",
        "WeightToAllocate",
        "WorkHours",
    }
)
EXCHANGE_RATES = frozenset({"CurrencyRate", "CurrencyRateUnit", "Rate", "BankTransactionEventExchangeRate"})


def decimal_kind(name: str) -> str:
    """The kind of the number property ``name``: ``money`` unless its name says otherwise."""
    if name in EXCHANGE_RATES:
        return "exchange_rate"
    if name in QUANTITIES:
        return "quantity"
    if "Percent" in name or name == "VatRate":
        return "percentage"
    return "money"


def decimal_schema(name: str) -> dict[str, Any]:
    """A nullable exact decimal of ``name``'s kind that still validates the API's JSON numbers."""
    return {
        "anyOf": [
            {
                "type": "string",
                "format": "x-singer.decimal",
                "precision": DECIMAL_PRECISION,
                "scale": DECIMAL_SCALES[decimal_kind(name)],
            },
            {"type": "number"},
            {"type": "null"},
        ]
    }


def _json_array(out: dict[str, Any]) -> None:
    """Type the array ``out`` so that target-postgres lands it as one ``jsonb`` value (module docstring)."""
    out["type"] = ["array", "object", "null"]
    out["anyOf"] = [{"type": "array"}, {"type": "null"}]


def _nullable(types: Any) -> list[str]:
    listed = types if isinstance(types, list) else [types]
    return [*(t for t in listed if t != "null"), "null"]


def _is_number(node: dict[str, Any]) -> bool:
    types = node.get("type")
    return "number" in (types if isinstance(types, list) else [types])


def _convert(node: Any, components: dict[str, Any], seen: tuple[str, ...], name: str = "") -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    if _is_number(node) and "$ref" not in node:
        return decimal_schema(name)
    if "$ref" in node:
        ref = node["$ref"].removeprefix(REF_PREFIX)
        if ref in seen:
            return {"type": ["object", "null"]}
        return _convert(components[ref], components, (*seen, ref), name)
    out: dict[str, Any] = {}
    node_type = node.get("type")
    if node_type is not None:
        out["type"] = _nullable(node_type)
    if node.get("format") in KEEP_FORMATS:
        out["format"] = node["format"]
    if "properties" in node:
        out["properties"] = {
            prop: _convert(sub, components, seen, prop) for prop, sub in node["properties"].items()
        }
        out.setdefault("type", ["object", "null"])
        out["additionalProperties"] = True
    if "items" in node:
        out["items"] = _convert(node["items"], components, seen, name)
        _json_array(out)
    return out


def item_schema_name(structural_spec: dict[str, Any], path: str) -> str:
    op = structural_spec["paths"][path]["get"]
    envelope = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    components = structural_spec["components"]["schemas"]
    item_ref: str = components[envelope.removeprefix(REF_PREFIX)]["properties"]["Data"]["items"]["$ref"]
    return item_ref.removeprefix(REF_PREFIX)


def record_schema(structural_spec: dict[str, Any], name: str) -> dict[str, Any]:
    """The component schema ``name`` as a record's schema (tolerant, see the module docstring)."""
    components = structural_spec["components"]["schemas"]
    schema = _convert(components[name], components, (name,))
    schema["type"] = "object"
    del schema["additionalProperties"]  # the record itself: undeclared properties get declared
    return schema


def single_object_schema(structural_spec: dict[str, Any], stream: SingleObjectDef) -> dict[str, Any]:
    op = structural_spec["paths"][stream.path]["get"]
    declared = op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    if declared.removeprefix(REF_PREFIX) != stream.schema:
        raise ValueError(f"stream {stream.name}: {stream.path} answers {declared}, not {stream.schema}")
    schema = record_schema(structural_spec, stream.schema)
    for key in stream.keys:
        if key not in schema.get("properties", {}):
            raise ValueError(f"stream {stream.name}: key property {key!r} is not in {stream.schema}")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def stream_schema(structural_spec: dict[str, Any], stream: StreamDef) -> dict[str, Any]:
    name = item_schema_name(structural_spec, stream.path)
    schema = record_schema(structural_spec, name)
    properties = schema.setdefault("properties", {})
    for prop, kind in injected_properties(stream).items():
        if prop not in properties:
            properties[prop] = {"type": ["string", "null"]}
            if kind == "date":
                properties[prop]["format"] = "date"
    for key in stream.keys:
        if key not in properties:
            raise ValueError(f"stream {stream.name}: key property {key!r} is not in {name}")
    if stream.replication_key and stream.replication_key not in properties:
        raise ValueError(f"stream {stream.name}: replication key {stream.replication_key!r} not in {name}")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def generate_stream_schemas(structural_spec: dict[str, Any]) -> dict[str, str]:
    """``{relative path: JSON text}`` for every stream's schema file."""
    schemas = {stream.name: stream_schema(structural_spec, stream) for stream in STREAMS}
    for single in SINGLE_OBJECT_STREAMS:
        schemas[single.name] = single_object_schema(structural_spec, single)
    return {
        f"{SCHEMA_DIR}/{name}.json": json.dumps(schemas[name], indent=2) + "\n" for name in sorted(schemas)
    }
