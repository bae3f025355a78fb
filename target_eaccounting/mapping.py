"""Record → API payload: pure functions (no I/O; references arrive already resolved).

Records use the API's PascalCase names. A record may carry more than the API takes (the tap's
records carry read-only fields such as ``TotalAmount`` or ``CustomerNumber`` on invoices): read-only
fields are dropped, helper fields (``CustomerNumber``, row ``ArticleNumber``, voucher row ``VatCode``,
``InvoiceExternalKey``) are turned into Ids, and anything the API's schema does not know is dropped
and reported back to the caller so it can be logged.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from eaccounting_api import spec, timeparse
from target_eaccounting.record_errors import RecordError

#: resolver(kind, value, field) -> Id; raises RecordError("reference_not_found", ...)
Resolver = Callable[[str, str, str], str]

SDC_PREFIX = "_sdc_"
KEY_HASH_CHARS = 32


def plain(value: Any) -> Any:
    """JSON-native values: the SDK parses JSON floats as ``Decimal``; the API and the reject file get
    plain numbers again."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


def clean_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record without Singer metadata columns, with plain JSON numbers."""
    return {k: plain(v) for k, v in record.items() if not k.startswith(SDC_PREFIX)}


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def record_hash(record: Mapping[str, Any]) -> str:
    """Hash of the record's content (what the ledger compares to decide skip / update)."""
    return hashlib.sha256(canonical_json(clean_record(record)).encode()).hexdigest()


def external_key(record: Mapping[str, Any], key_field: str | None) -> str:
    """The record's external key: the configured source field, or a hash of the record."""
    if key_field:
        value = record.get(key_field)
        if value is None or value == "":
            raise RecordError(
                "invalid_record",
                f"the external key field {key_field!r} is missing or empty",
                field=key_field,
            )
        return str(value)
    return "h" + record_hash(record)[: KEY_HASH_CHARS - 1]


# --- spec-driven shaping -------------------------------------------------------------------------


def _resolve(node: Mapping[str, Any]) -> Mapping[str, Any]:
    ref = node.get("$ref")
    if isinstance(ref, str):
        resolved: Mapping[str, Any] = spec.schemas()[spec.ref_name(ref)]
        return resolved
    return node


def writable(schema_name: str, record: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Keep the fields the API accepts on write (known to the schema, not readOnly), recursively.

    Returns the payload and the dotted paths of the dropped unknown fields (read-only ones are
    dropped silently: they are what the API itself returns).
    """
    dropped: list[str] = []
    payload = _writable(spec.schemas()[schema_name], record, "", dropped)
    return payload, dropped


def _writable(schema: Mapping[str, Any], obj: Mapping[str, Any], prefix: str, dropped: list[str]) -> dict:
    props: Mapping[str, Any] = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name, value in obj.items():
        sub = props.get(name)
        if sub is None:
            dropped.append(prefix + name)
            continue
        sub = _resolve(sub)
        if sub.get("readOnly"):
            continue
        out[name] = _writable_value(sub, value, f"{prefix}{name}", dropped)
    return out


def _writable_value(schema: Mapping[str, Any], value: Any, path: str, dropped: list[str]) -> Any:
    if isinstance(value, Mapping) and "properties" in schema:
        return _writable(schema, value, path + ".", dropped)
    items = schema.get("items")
    if isinstance(value, list) and isinstance(items, Mapping):
        item_schema = _resolve(items)
        return [_writable_value(item_schema, v, f"{path}[{i}]", dropped) for i, v in enumerate(value)]
    return value


# --- checks the API would only answer with a 400 ------------------------------------------------

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
# Only these formats are asserted: the spec's others (int32, double, ...) are type annotations.
LOCAL_FORMATS = FormatChecker(formats=())


@LOCAL_FORMATS.checks("uuid")
def is_uuid(value: object) -> bool:
    return not isinstance(value, str) or bool(UUID_RE.match(value))


@LOCAL_FORMATS.checks("date", raises=ValueError)
@LOCAL_FORMATS.checks("date-time", raises=ValueError)
def is_date(value: object) -> bool:
    # a date alone counts: the API itself returns date-only values in date-time fields
    # (docs/API_FACTS.md#dates-and-timestamps), and records read by the tap carry them
    if isinstance(value, str):
        timeparse.parse_instant(value)
    return True


@cache
def _value_validator(schema_name: str) -> Validator:
    return spec.validator(schema_name).evolve(format_checker=LOCAL_FORMATS)


def check_values(schema_name: str, record: Mapping[str, Any]) -> None:
    """Before any request: every field of the record the API takes holds a value of its ``enum``
    (when the spec gives one), a well-formed UUID where the spec says ``format: uuid``, and a date
    that parses where it says ``date``/``date-time``. The rest of the schema is checked on the
    payload (``validate_payload``), once references are resolved."""
    payload, _ = writable(schema_name, record)
    errors = _value_validator(schema_name).iter_errors(payload)
    _first_error([e for e in errors if e.validator in ("enum", "format")], f"invalid {schema_name}")


def _path(error: ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(error: ValidationError) -> tuple[str, str]:
    """(field path, short message) for a jsonschema error, never echoing a huge value."""
    field = _path(error)
    if error.validator == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else str(error.message)
        field = f"{field}.{missing}" if field else missing
        return field, "required field is missing"
    if error.validator == "maxLength" and isinstance(error.instance, str):
        return field, f"is {len(error.instance)} characters long, at most {error.validator_value} allowed"
    if error.validator == "type":
        got = type(error.instance).__name__
        return field, f"has type {got}, expected {error.validator_value}"
    if error.validator == "additionalProperties":
        return field, "carries a field the API does not accept"
    return field, _describe_value(error)


def _describe_value(error: ValidationError) -> str:
    text = repr(error.instance)
    shown = text if len(text) <= 60 else text[:57] + "..."
    expected = error.validator_value
    if error.validator == "enum" and isinstance(expected, list):
        return f"is {shown}, not one of {', '.join(map(json.dumps, expected))}"
    if error.validator == "format" and expected == "uuid":
        return f"is {shown}, not a UUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"
    if error.validator == "format" and expected in ("date", "date-time"):
        return f"is {shown}, not a date (ISO 8601, e.g. 2025-05-31 or 2025-05-31T12:00:00Z)"
    return f"{shown} fails {error.validator} {expected!r}"


def _first_error(errors: list[ValidationError], what: str) -> None:
    if not errors:
        return
    errors.sort(key=lambda e: (list(e.absolute_path).__len__(), str(e.absolute_path)))
    field, message = describe(errors[0])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise RecordError("invalid_record", f"{what}: field {field or '<record>'} {message}{more}", field=field)


def validate_against_stream_schema(validator: Draft7Validator | None, record: Mapping[str, Any]) -> None:
    """Check the record against the SCHEMA message's schema (the source's declared types)."""
    if validator is not None:
        _first_error(list(validator.iter_errors(dict(record))), "does not match the stream's SCHEMA")


def validate_payload(schema_name: str, payload: Mapping[str, Any], *, partial: bool = False) -> None:
    """Check the payload against the API's request schema (required, types, maxLength, enums).

    ``partial``: an update that only carries some fields (required-ness is not checked).
    """
    errors = list(spec.validator(schema_name).iter_errors(dict(payload)))
    if partial:
        errors = [e for e in errors if e.validator != "required"]
    _first_error(errors, f"invalid {schema_name}")


# --- per-stream mapping --------------------------------------------------------------------------


def _set_reference(
    payload: dict[str, Any], field: str | None, reference: str | None
) -> tuple[str | None, str | None]:
    """Write the external key into the reference field unless the record brings its own value.

    Returns (field, value to look the object up by).
    """
    if not field:
        return None, None
    own = payload.get(field)
    if own:
        return field, str(own)
    if reference is not None:
        payload[field] = reference
    return field, reference


def map_master(schema_name: str, record: Mapping[str, Any], number_field: str) -> dict[str, Any]:
    payload, _ = writable(schema_name, record)
    if not payload.get(number_field):
        raise RecordError(
            "invalid_record",
            f"{number_field} is required: master data is upserted by its number",
            field=number_field,
        )
    return payload


def map_invoice(
    schema_name: str,
    record: Mapping[str, Any],
    resolve: Resolver,
    *,
    draft: bool,
    reference_field: str | None,
    reference: str | None,
) -> tuple[dict[str, Any], str | None, str | None]:
    """A customer invoice or draft. Returns (payload, reference field, reference value)."""
    payload, _ = writable(schema_name, record)
    if not record.get("CustomerId"):
        number = record.get("CustomerNumber")
        if not number:
            raise RecordError(
                "invalid_record", "either CustomerId or CustomerNumber is required", field="CustomerId"
            )
        payload["CustomerId"] = resolve("customer", str(number), "CustomerNumber")
    # The live API accepts invoices without these; the spec requires them (docs/API_FACTS.md#writes).
    payload.setdefault("EuThirdParty", False)
    payload.setdefault("RotReducedInvoicingType", 0)
    rows = record.get("Rows")
    if isinstance(rows, list):
        for i, (row, out) in enumerate(zip(rows, payload.get("Rows", []), strict=False)):
            if not isinstance(row, Mapping) or not isinstance(out, dict):
                continue
            if not row.get("ArticleId") and row.get("ArticleNumber"):
                out["ArticleId"] = resolve("article", str(row["ArticleNumber"]), f"Rows[{i}].ArticleNumber")
            if draft:
                out.setdefault("IsTextRow", not out.get("ArticleId"))
                out.setdefault("ReversedConstructionServicesVatFree", False)
    field, value = _set_reference(payload, reference_field, reference)
    return payload, field, value


def map_payment(
    record: Mapping[str, Any], resolve: Resolver, *, reference_field: str | None, reference: str | None
) -> tuple[dict[str, Any], str | None, str | None]:
    payload, _ = writable("InvoicePaymentApi", record)
    if not payload.get("CompanyBankAccountId"):
        payload["CompanyBankAccountId"] = resolve(
            "bank_account", str(record.get("CompanyBankAccountNumber") or ""), "CompanyBankAccountId"
        )
    field, value = _set_reference(payload, reference_field, reference)
    return payload, field, value


def invoice_target(record: Mapping[str, Any], resolve: Resolver) -> str:
    """The Id of the invoice a payment belongs to: ``InvoiceId`` or ``InvoiceExternalKey``."""
    if record.get("InvoiceId"):
        invoice_id = str(record["InvoiceId"])
        if not is_uuid(invoice_id):  # it goes into the request path, where the API answers 400/404
            raise RecordError("invalid_record", f"InvoiceId {invoice_id!r} is not a UUID", field="InvoiceId")
        return invoice_id
    key = record.get("InvoiceExternalKey")
    if key:
        return resolve("invoice_key", str(key), "InvoiceExternalKey")
    raise RecordError("invalid_record", "a payment needs InvoiceId or InvoiceExternalKey", field="InvoiceId")


def _amount(value: Any, field: str) -> Decimal:
    if value is None:
        return Decimal(0)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        raise RecordError("invalid_record", f"{value!r} is not a number", field=field) from None


def _rows(rows: list[Any]) -> list[tuple[int, Mapping[str, Any]]]:
    return [(i, r) for i, r in enumerate(rows) if isinstance(r, Mapping)]


def check_voucher_balance(rows: Any) -> None:
    """Debits must equal credits (to the cent) before a voucher is sent."""
    if not isinstance(rows, list) or not rows:
        raise RecordError("invalid_record", "a voucher needs at least two rows", field="Rows")
    debit = sum((_amount(r.get("DebitAmount"), f"Rows[{i}].DebitAmount") for i, r in _rows(rows)), Decimal(0))
    credit = sum(
        (_amount(r.get("CreditAmount"), f"Rows[{i}].CreditAmount") for i, r in _rows(rows)), Decimal(0)
    )
    diff = (debit - credit).quantize(Decimal("0.01"))
    if diff != 0:
        raise RecordError(
            "unbalanced_voucher",
            f"voucher rows do not balance: debit {debit:.2f}, credit {credit:.2f}, difference {diff:.2f}",
            field="Rows",
        )


def map_voucher(record: Mapping[str, Any], resolve: Resolver) -> dict[str, Any]:
    payload, _ = writable("VoucherApi", record)
    rows = record.get("Rows")
    if isinstance(rows, list):
        for i, (row, out) in enumerate(zip(rows, payload.get("Rows", []), strict=False)):
            if not isinstance(row, Mapping) or not isinstance(out, dict):
                continue
            if not row.get("VatCodeId") and row.get("VatCode"):
                out["VatCodeId"] = resolve("vat_code", str(row["VatCode"]), f"Rows[{i}].VatCode")
    check_voucher_balance(payload.get("Rows"))
    return payload


def merge_for_put(
    schema_name: str, existing: Mapping[str, Any], payload: Mapping[str, Any]
) -> dict[str, Any]:
    """Read-modify-write: the stored object's writable fields overlaid with the record's fields.

    PUT replaces the whole object (omitted fields become null), so every field the record does not
    carry is sent back unchanged.
    """
    base, _ = writable(schema_name, existing)
    base.update(payload)
    return base


HELPER_FIELDS = frozenset(
    {"CustomerNumber", "ArticleNumber", "VatCode", "InvoiceExternalKey", "CompanyBankAccountNumber"}
)


def unknown_fields(schema_name: str, record: Mapping[str, Any]) -> list[str]:
    """Fields of the record the API's schema does not know (and that are no helper field)."""
    _, dropped = writable(schema_name, record)
    return [f for f in dropped if f.rsplit(".", 1)[-1].split("]")[-1] not in HELPER_FIELDS]


def differs(schema_name: str, existing: Mapping[str, Any], merged: Mapping[str, Any]) -> bool:
    base, _ = writable(schema_name, existing)
    return canonical_json(base) != canonical_json(merged)
