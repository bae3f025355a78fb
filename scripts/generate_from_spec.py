"""Generate the project's structural copy of Visma's OpenAPI description.

A development-time tool: its input, Visma's ``openapi-v2.json``, is not part of the repo and nothing reads
it at run time. The repo keeps only what this script writes. Its origin is in docs/API_FACTS.md#sources;
how to run it in CONTRIBUTING.md#regenerating-from-the-spec.

Reads ``../shared/eaccounting-api/openapi-v2.json`` (or ``--spec PATH``) and writes
``eaccounting_api/spec/openapi-structural.json``: every path, operation, parameter and
schema with its types, formats, required lists, lengths, bounds, patterns and enums, and
no prose.

Facts the original keeps only in prose are made structural:

* ``x-scopes``: the OAuth scopes each operation's description lists ("Requires any of
  the following scopes: ...").
* ``enum`` (with ``x-enum-names``, the labels in the same order) on integer properties whose
  description lists every value ("<strong>Possible values:</strong><br/>1 = Ongoing,<br/>2 =
  Finished"); see ``prose_enum``. ``--enums`` prints what was taken and what was left, and why.
* Response descriptions, which OpenAPI requires, become the empty string.

Further outputs (the tap's per-stream JSON schemas) are produced by the generators
registered in ``EXTRA_GENERATORS``; each takes the structural spec and returns
``{relative_path: text}``.

The output is deterministic: source key order is kept, JSON is written with a fixed
indent and a trailing newline, so re-running gives no diff (``tests/test_spec_generation.py``
checks it).
"""

from __future__ import annotations

import argparse
import importlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SPEC = ROOT.parent / "shared" / "eaccounting-api" / "openapi-v2.json"
STRUCTURAL_PATH = Path("eaccounting_api/spec/openapi-structural.json")

# Schema keywords that carry prose or examples, never structure.
PROSE_KEYS = frozenset({"description", "summary", "example", "examples", "title", "externalDocs"})
SCOPE_RE = re.compile(r"\bea:[a-z_]+\b")

# How Visma's generator writes an enumeration into a property description: a marker, then one
# "value = Label" (or "Label = value") per <br/>, then optionally <br/><br/> and more prose.
POSSIBLE_VALUES = "<strong>Possible values:</strong><br/>"
LIST_END = "<br/><br/>"
LABEL = r"[A-Za-z][\w-]*(?: [\w-]+)*"
NOTE = r"(?: \([^()]*\))?"  # "3 = AutoInvoiceB2C (not available for Swedish customers)"
ITEM_RES = (
    re.compile(rf"^(?P<value>\d+) = (?P<label>{LABEL}){NOTE}$"),
    re.compile(rf"^(?P<label>{LABEL}) = (?P<value>\d+){NOTE}$"),
)
# "Type of the document - see DocumentTypeApi enum for available values": the list is a copy of an
# enum the spec does not carry, so it is not known to be complete.
DEFERS_RE = re.compile(r"\bsee \w+ enum\b", re.IGNORECASE)

# "module:function" of generators that take the structural spec and return files to write.
EXTRA_GENERATORS: list[str] = [
    "tap_eaccounting.schema_gen:generate_stream_schemas",
]


def _is_integer(prop: dict[str, Any]) -> bool:
    kind = prop.get("type")
    return kind == "integer" or (isinstance(kind, list) and "integer" in kind)


def _listed(text: str) -> tuple[list[int], list[str]] | str:
    """The (values, labels) of a "Possible values" list, or why it is not a list of values."""
    values: list[int] = []
    labels: list[str] = []
    for raw in text.removeprefix(POSSIBLE_VALUES).split(LIST_END, 1)[0].split("<br/>"):
        item = raw.strip().rstrip(",").strip()
        match = next((m for m in (r.match(item) for r in ITEM_RES) if m), None)
        if match is None:
            return f"not a 'value = Label' item: {item!r}"
        values.append(int(match["value"]))
        labels.append(match["label"])
    if len(values) < 2:
        return "one value only (reads as a default or an example, not a complete list)"
    if len(set(values)) != len(values):
        return "a value is listed twice"
    return values, labels


def prose_enum(prop: dict[str, Any]) -> tuple[list[int], list[str]] | str | None:
    """``(values, labels)`` when the description lists every value; a reason when it lists some
    but cannot be trusted to list all; None when it lists none."""
    text = prop.get("description", "")
    if not text.startswith(POSSIBLE_VALUES) or " = " not in text or not _is_integer(prop):
        return None  # "True = ..." on booleans, a stray "2 = Rejected" on strings: no enumeration
    if "enum" in prop:
        return "the spec already declares an enum"
    if DEFERS_RE.search(text):
        return "defers to an enum the spec does not carry"
    return _listed(text)


def prose_enums(schemas: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``({"Schema.Property": (values, labels)}, {"Schema.Property": reason rejected})``."""
    found: dict[str, Any] = {}
    rejected: dict[str, str] = {}
    for schema_name, schema in schemas.items():
        for prop_name, prop in schema.get("properties", {}).items():
            result = prose_enum(prop)
            if isinstance(result, tuple):
                found[f"{schema_name}.{prop_name}"] = result
            elif isinstance(result, str):
                rejected[f"{schema_name}.{prop_name}"] = result
    return found, rejected


def with_enum(prop: dict[str, Any], values: list[int], labels: list[str]) -> dict[str, Any]:
    """``prop`` plus ``enum``/``x-enum-names``; a nullable property keeps null allowed."""
    nullable = isinstance(prop.get("type"), list) and "null" in prop["type"]
    return {
        **prop,
        "enum": [*values, None] if nullable else list(values),
        "x-enum-names": [*labels, None] if nullable else list(labels),
    }


def strip_schema(node: Any) -> Any:
    """Drop prose keywords from a JSON Schema, keeping property names intact."""
    if isinstance(node, list):
        return [strip_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in PROSE_KEYS:
            continue
        if key in ("properties", "patternProperties", "$defs"):
            out[key] = {name: strip_schema(sub) for name, sub in value.items()}
        else:
            out[key] = strip_schema(value)
    return out


def strip_parameter(param: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in param.items() if k not in PROSE_KEYS and k != "schema"}
    if "schema" in param:
        out["schema"] = strip_schema(param["schema"])
    return out


def strip_content(content: dict[str, Any]) -> dict[str, Any]:
    return {
        media: {k: strip_schema(v) for k, v in body.items() if k not in PROSE_KEYS}
        for media, body in content.items()
    }


def strip_operation(op: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "tags" in op:
        out["tags"] = op["tags"]
    if op.get("deprecated"):
        out["deprecated"] = True
    # Scopes live only in the prose; keep them, sorted for determinism.
    out["x-scopes"] = sorted(set(SCOPE_RE.findall(op.get("description", ""))))
    if "parameters" in op:
        out["parameters"] = [strip_parameter(p) for p in op["parameters"]]
    if "requestBody" in op:
        body = op["requestBody"]
        out["requestBody"] = {k: v for k, v in body.items() if k not in PROSE_KEYS and k != "content"}
        out["requestBody"]["content"] = strip_content(body.get("content", {}))
    responses: dict[str, Any] = {}
    for status, resp in op.get("responses", {}).items():
        entry: dict[str, Any] = {"description": ""}
        if "content" in resp:
            entry["content"] = strip_content(resp["content"])
        responses[status] = entry
    out["responses"] = responses
    return out


def build_structural(spec: dict[str, Any]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        paths[path] = {
            method: strip_operation(op) if isinstance(op, dict) and method != "parameters" else op
            for method, op in item.items()
            if method not in PROSE_KEYS
        }
    schemas = strip_schema(spec["components"]["schemas"])
    found, _ = prose_enums(spec["components"]["schemas"])
    for key, (values, labels) in found.items():
        schema_name, prop_name = key.split(".")
        props = schemas[schema_name]["properties"]
        props[prop_name] = with_enum(props[prop_name], values, labels)
    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "servers": [{"url": s["url"]} for s in spec.get("servers", [])],
        "paths": paths,
        "components": {"schemas": schemas},
    }


def dumps(doc: Any) -> str:
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


def render_all(spec_path: Path) -> dict[Path, str]:
    """Every generated file, as {path relative to the repo: content}."""
    structural = build_structural(json.loads(spec_path.read_text(encoding="utf-8")))
    files: dict[Path, str] = {STRUCTURAL_PATH: dumps(structural)}
    for ref in EXTRA_GENERATORS:
        module_name, func_name = ref.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError:
            continue  # that generator's package is not built yet
        func: Callable[[dict[str, Any]], dict[str, str]] = getattr(module, func_name)
        for rel, text in func(structural).items():
            files[Path(rel)] = text
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--check", action="store_true", help="fail if any output would change")
    parser.add_argument("--enums", action="store_true", help="list the enums taken from prose; write nothing")
    args = parser.parse_args(argv)
    if not args.spec.exists():
        print(f"spec not found: {args.spec}", file=sys.stderr)
        return 2
    if args.enums:
        found, rejected = prose_enums(
            json.loads(args.spec.read_text(encoding="utf-8"))["components"]["schemas"]
        )
        for key, (values, _labels) in found.items():
            print(f"enum      {key}: {values}")
        for key, reason in rejected.items():
            print(f"rejected  {key}: {reason}")
        return 0
    sys.path.insert(0, str(ROOT))
    stale = []
    for rel, text in render_all(args.spec).items():
        target = ROOT / rel
        if target.exists() and target.read_text(encoding="utf-8") == text:
            continue
        stale.append(str(rel))
        if not args.check:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
    if args.check and stale:
        print("out of date: " + ", ".join(stale), file=sys.stderr)
        return 1
    print(f"{'checked' if args.check else 'wrote'}: {len(stale)} file(s) changed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
