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
* adds the parent key that a child stream carries (``FiscalYearId`` on ``vouchers``, ...).

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


def _nullable(types: Any) -> list[str]:
    listed = types if isinstance(types, list) else [types]
    return [*(t for t in listed if t != "null"), "null"]


def _convert(node: Any, components: dict[str, Any], seen: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(node, dict):
        return {}
    if "$ref" in node:
        name = node["$ref"].removeprefix(REF_PREFIX)
        if name in seen:
            return {"type": ["object", "null"]}
        return _convert(components[name], components, (*seen, name))
    out: dict[str, Any] = {}
    node_type = node.get("type")
    if node_type is not None:
        out["type"] = _nullable(node_type)
    if node.get("format") in KEEP_FORMATS:
        out["format"] = node["format"]
    if "properties" in node:
        out["properties"] = {
            name: _convert(sub, components, seen) for name, sub in node["properties"].items()
        }
        out.setdefault("type", ["object", "null"])
        out["additionalProperties"] = True
    if "items" in node:
        out["items"] = _convert(node["items"], components, seen)
        out.setdefault("type", ["array", "null"])
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
