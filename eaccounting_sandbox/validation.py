"""Request-body validation against the spec's request schemas, with per-field errors.

ASP.NET model binding, as the live API does it: unknown properties are ignored; ``readOnly`` properties
are accepted but the server sets them; a missing required property, a value of the wrong JSON type, a
string longer than ``maxLength``, a number outside ``minimum``/``maximum`` or a value outside an ``enum``
is a 400 with ErrorCode 2000 (DataModelValidationError) and one ``Errors`` entry per field (``Field`` is
the JSON path, e.g. ``Rows[1].ArticleId``). Everything here is driven by ``eaccounting_api.spec``;
nothing is hand-copied (most integer enums come from the spec's prose, see
``scripts/generate_from_spec.py``).
"""

from __future__ import annotations

import uuid
from typing import Any

from eaccounting_api import spec
from eaccounting_sandbox.demo_time import parse_instant
from eaccounting_sandbox.error_responses import DATA_MODEL_VALIDATION, ApiError, field_error

# Fields the spec marks required that the live API does not insist on (docs/API_FACTS.md#writes:
# a POST /customerinvoices without EuThirdParty, RotReducedInvoicingType or row IsTextRow succeeded).
LENIENT_REQUIRED = {
    ("CustomerInvoiceApi", "EuThirdParty"),
    ("CustomerInvoiceApi", "RotReducedInvoicingType"),
    ("CustomerInvoiceDraftApi", "EuThirdParty"),
    ("CustomerInvoiceDraftApi", "RotReducedInvoicingType"),
    ("CustomerInvoiceDraftRowApi", "IsTextRow"),
    ("CustomerInvoiceDraftRowApi", "ReversedConstructionServicesVatFree"),
}


def _types(prop: dict[str, Any]) -> set[str]:
    raw = prop.get("type")
    return {raw} if isinstance(raw, str) else set(raw or [])


def _type_ok(value: Any, types: set[str]) -> bool:
    checks = {
        "null": value is None,
        "boolean": isinstance(value, bool),
        "integer": (isinstance(value, int) and not isinstance(value, bool))
        or (isinstance(value, float) and value.is_integer()),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "string": isinstance(value, str),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }
    return any(checks.get(t, False) for t in types)


class _Checker:
    def __init__(self) -> None:
        self.errors: list[dict[str, Any]] = []

    def add(self, field: str, code: str, message: str) -> None:
        self.errors.append(field_error(field, code, message, key=field.rsplit(".", maxsplit=1)[-1]))

    def check_object(self, schema_name: str, body: Any, path: str) -> dict[str, Any]:
        """The known properties of ``body`` (unknown ones dropped), after checking each."""
        if not isinstance(body, dict):
            self.add(path or schema_name, "InvalidType", f"Expected a JSON object for {schema_name}.")
            return {}
        schema = spec.schemas()[schema_name]
        props: dict[str, Any] = schema.get("properties", {})
        for name in schema.get("required", []):
            if (schema_name, name) in LENIENT_REQUIRED or props.get(name, {}).get("readOnly"):
                continue
            if body.get(name) is None:
                field = f"{path}.{name}" if path else name
                self.add(field, "Required", f"The {name} field is required.")
        cleaned: dict[str, Any] = {}
        required = set(schema.get("required", []))
        for name, value in body.items():
            prop = props.get(name)
            if prop is None:
                continue  # unknown properties are ignored, as ASP.NET model binding does
            if value is None and name in required:
                continue  # already reported as missing
            field = f"{path}.{name}" if path else name
            cleaned[name] = self.check_value(prop, value, field)
        return cleaned

    def check_value(self, prop: dict[str, Any], value: Any, field: str) -> Any:
        if "$ref" in prop:
            if value is None:
                return None
            return self.check_object(spec.ref_name(prop["$ref"]), value, field)
        types = _types(prop)
        if not _type_ok(value, types):
            wanted = "/".join(sorted(t for t in types if t != "null"))
            self.add(
                field, "InvalidType", f"The value {value!r} is not valid for {field} (expected {wanted})."
            )
            return value
        if value is None:
            return None
        if isinstance(value, str):
            self.check_string(prop, value, field)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if "integer" in types and isinstance(value, float):
                value = int(value)
            self.check_number(prop, value, field)
        elif isinstance(value, list):
            item = prop.get("items", {})
            return [self.check_value(item, v, f"{field}[{i}]") for i, v in enumerate(value)]
        return value

    def check_string(self, prop: dict[str, Any], value: str, field: str) -> None:
        fmt = prop.get("format")
        if fmt == "uuid":
            try:
                uuid.UUID(value)
            except ValueError:
                self.add(field, "InvalidFormat", f"The value '{value}' is not a valid Guid for {field}.")
        elif fmt == "date-time" and parse_instant(value) is None:
            self.add(field, "InvalidFormat", f"The value '{value}' is not a valid date for {field}.")
        if "maxLength" in prop and len(value) > prop["maxLength"]:
            self.add(field, "MaxLength", f"{field} must be at most {prop['maxLength']} characters long.")
        if "minLength" in prop and len(value) < prop["minLength"]:
            self.add(field, "MinLength", f"{field} must be at least {prop['minLength']} characters long.")
        if "enum" in prop and value not in prop["enum"]:
            self.add(field, "InvalidValue", f"{field} must be one of {_allowed(prop)}.")

    def check_number(self, prop: dict[str, Any], value: float, field: str) -> None:
        if "minimum" in prop and value < prop["minimum"]:
            self.add(field, "OutOfRange", f"{field} must be at least {prop['minimum']}.")
        if "maximum" in prop and value > prop["maximum"]:
            self.add(field, "OutOfRange", f"{field} must be at most {prop['maximum']}.")
        if "enum" in prop and value not in prop["enum"]:
            self.add(field, "InvalidValue", f"{field} must be one of {_allowed(prop)}.")


def _allowed(prop: dict[str, Any]) -> str:
    """``1 (Ongoing), 2 (Finished)``: an enum's values, with the labels the spec gives them."""
    names = prop.get("x-enum-names") or [None] * len(prop["enum"])
    return ", ".join(
        f"{value} ({name})" if name else repr(value)
        for value, name in zip(prop["enum"], names, strict=False)
        if value is not None
    )


def validate_body(schema_name: str, body: Any) -> dict[str, Any]:
    """The body's known properties, checked; ``ApiError`` 400 (2000) listing every bad field."""
    if body is None:
        raise ApiError(400, DATA_MODEL_VALIDATION, f"A request body ({schema_name}) is required.", [])
    checker = _Checker()
    cleaned = checker.check_object(schema_name, body, "")
    if checker.errors:
        fields = ", ".join(e["Field"] for e in checker.errors)
        raise ApiError(
            400, DATA_MODEL_VALIDATION, f"Validation failed for {schema_name}: {fields}.", checker.errors
        )
    return cleaned


def writable(schema_name: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the schema's readOnly properties (the server sets those)."""
    props = spec.schemas()[schema_name].get("properties", {})
    return {k: v for k, v in values.items() if not props.get(k, {}).get("readOnly")}


def field_failure(field: str, message: str, code: int = DATA_MODEL_VALIDATION, status: int = 400) -> ApiError:
    """A 400 naming one field (business rules: unknown references, unbalanced vouchers, ...)."""
    return ApiError(status, code, message, [field_error(field, str(code), message)])
