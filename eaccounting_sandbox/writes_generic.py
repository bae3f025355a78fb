"""Generic create/replace/delete for the simpler resources the spec lets clients write.

Beyond the writes the issue names (``writes_master.py``, ``writes_ledger.py``, ``writes_sales.py``,
``writes_payments.py``), every spec operation of the form ``POST /x``, ``PUT /x/{id}`` or
``DELETE /x/{id}`` whose request schema is the item schema of the list ``/x`` gets plain REST semantics:
validate, assign ``Id`` and stamps, store; PUT replaces the whole object; DELETE removes it. The success
status is the one the spec documents (some POSTs say 200, one PUT says 201). A few resources get their
ledger rules on top (fiscal years must not overlap; supplier invoices get a number, a negative
``RemainingAmount`` and the fiscal-year checks). ``writes`` tries this module after the specific ones.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from eaccounting_api import spec
from eaccounting_sandbox.demo_schema import properties
from eaccounting_sandbox.demo_time import date_only, midnight_z, parse_day
from eaccounting_sandbox.enum_values import SUPPLIER_INVOICE, payment_status
from eaccounting_sandbox.store import Company, Record
from eaccounting_sandbox.validation import field_failure, validate_body
from eaccounting_sandbox.write_support import (
    Handler,
    book_voucher,
    check_fiscal_year,
    compose,
    document_day,
    new_id,
    reference,
    require,
    stamp_fields,
    utc_today,
)

# Resources whose stored objects other code derives things from; they keep answering 404 for writes.
EXCLUDED = {"customerledgeritems"}


def _success(op: dict[str, Any]) -> int:
    responses = op.get("responses", {})
    return next((int(s) for s in ("200", "201", "204") if s in responses), 200)


def _fiscal_year(company: Company, record: Record, _values: dict[str, Any], _raw: Any) -> None:
    start, end = parse_day(record["StartDate"]), parse_day(record["EndDate"])
    if start is None or end is None or end < start:
        raise field_failure("EndDate", "EndDate must be a date after StartDate.")
    for year in company.fiscal_years():
        other_start, other_end = parse_day(year["StartDate"]), parse_day(year["EndDate"])
        if (
            year["Id"] != record["Id"]
            and other_start
            and other_end
            and start <= other_end
            and other_start <= end
        ):
            raise field_failure("StartDate", f"The fiscal year overlaps fiscal year {year['Id']}.")
    record["StartDate"], record["EndDate"] = midnight_z(start), midnight_z(end)
    record["IsLockedForAccounting"] = False


def _supplier_invoice(company: Company, record: Record, values: dict[str, Any], raw: Any) -> None:
    supplier = reference(company, "suppliers", values.get("SupplierId"), "SupplierId")
    day = document_day(values.get("InvoiceDate"), "InvoiceDate")
    check_fiscal_year(company, day, raw, "InvoiceDate")
    due = document_day(values.get("DueDate"), "DueDate", day)
    total = float(record["TotalAmount"] or 0.0)
    record.update(
        SupplierName=supplier["Name"],
        SupplierNumber=supplier["SupplierNumber"],
        InvoiceDate=midnight_z(day),
        DueDate=date_only(due),
        Number=company.next_number("supplierinvoice", len(company.collection("supplierinvoices").items) + 1),
        # Negative on supplier invoices, as the live API reports it (docs/API_FACTS.md#derived-fields).
        RemainingAmount=-abs(total),
        RemainingAmountInvoiceCurrency=-abs(total),
        PaymentStatus=payment_status(SUPPLIER_INVOICE, paid=False, overdue=due < utc_today()),
        PaymentDate=None,
        CurrencyCode=record["CurrencyCode"] or company.base_currency,
        CurrencyRate=record["CurrencyRate"] or 1.0,
    )


RULES = {"fiscalyears": _fiscal_year, "supplierinvoices": _supplier_invoice}


@cache
def _collections() -> dict[str, str]:
    """List path without the slash -> item schema, for unparametrized list endpoints."""
    return {e.path.strip("/"): e.item_schema for e in spec.list_endpoints() if not e.path_params}


def _shape(prop: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(str(prop.get(key)) for key in ("type", "$ref", "items", "format"))


def _convert_voucher_draft(
    company: Company, params: dict[str, str], _q: dict[str, str], _b: Any
) -> tuple[int, Any]:
    """Book a voucher draft: the ledger rules of POST /vouchers apply; the draft is gone afterwards."""
    draft = require(company, "voucherdrafts", next(iter(params.values()), None), "Voucher draft")
    values = {k: draft[k] for k in ("VoucherDate", "VoucherText", "Rows") if draft.get(k) is not None}
    voucher = book_voucher(company, values, None)
    company.collection("voucherdrafts").remove_ids({draft["Id"]})
    return 201, voucher


def _convert_supplier_draft(
    company: Company, params: dict[str, str], _q: dict[str, str], _b: Any
) -> tuple[int, Any]:
    """Turn a supplier invoice draft into a supplier invoice (same fields, the invoice rules apply)."""
    draft = require(
        company, "supplierinvoicedrafts", next(iter(params.values()), None), "Supplier invoice draft"
    )
    target, source = properties("SupplierInvoiceApi"), properties("SupplierInvoiceDraftApi")
    # Same-named fields only when both schemas give them the same shape (Attachments differs).
    values = {
        k: v
        for k, v in draft.items()
        if k != "Rows" and k in target and _shape(target[k]) == _shape(source[k])
    }
    values["InvoiceNumber"] = draft["InvoiceNumber"] or f"D-{draft['Id'][:8]}"
    values["Rows"] = [
        {k: v for k, v in row.items() if k in properties("SupplierInvoiceRowApi") and k != "Id"}
        | {"DebetAmount": row.get("DebitAmount") or 0.0}
        for row in draft["Rows"] or []
    ]
    record = compose("SupplierInvoiceApi", values, {"Id": new_id(), "CreatedFromDraftId": draft["Id"]})
    _supplier_invoice(company, record, values, None)
    stamp_fields(company, record, created=True)
    company.collection("supplierinvoices").add(record)
    company.collection("supplierinvoicedrafts").remove_ids({draft["Id"]})
    return 201, record


CONVERSIONS: dict[tuple[str, str], Handler] = {
    ("POST", "/voucherdrafts/{voucherDraftId}/convert"): _convert_voucher_draft,
    ("POST", "/supplierinvoicedrafts/{id}/convert"): _convert_supplier_draft,
}


def handler_for(method: str, path: str) -> Handler | None:
    """A generic handler for ``method path`` if it has the plain REST shape, else ``None``."""
    op = spec.operation(method, path)
    if (method, path) in CONVERSIONS or op is None:
        return CONVERSIONS.get((method, path))
    parts = path.strip("/").split("/")
    params = [p.strip("{}") for p in parts if p.startswith("{")]
    name = "/".join(p for p in parts if not p.startswith("{"))
    schema = _collections().get(name)
    if schema is None or name in EXCLUDED or (params and not parts[-1].startswith("{")):
        return None
    status = _success(op)
    if method == "POST" and not params and spec.request_schema_name(op) == schema:
        return _create(name, schema, status)
    if method == "PUT" and len(params) == 1 and spec.request_schema_name(op) == schema:
        return _replace(name, schema, status)
    if method == "DELETE" and len(params) == 1:
        return _delete(name, status)
    return None


def _create(name: str, schema: str, status: int) -> Handler:
    def handler(company: Company, _p: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
        values = validate_body(schema, body)
        server = {"Id": new_id()} if "Id" in properties(schema) else {}
        record = compose(schema, values, server)
        if name in RULES:
            RULES[name](company, record, values, body)
        stamp_fields(company, record, created=True)
        return status, company.collection(name, schema).add(record)

    return handler


def _replace(name: str, schema: str, status: int) -> Handler:
    def handler(company: Company, params: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
        old = require(company, name, next(iter(params.values()), None), name)
        values = validate_body(schema, body)
        record = compose(schema, values, {"Id": old["Id"]})
        if "CreatedUtc" in record:
            record["CreatedUtc"] = old["CreatedUtc"]
        if name in RULES:
            RULES[name](company, record, values, body)
        stamp_fields(company, record, created=False)
        return status, company.collection(name).replace(old, record)

    return handler


def _delete(name: str, status: int) -> Handler:
    def handler(company: Company, params: dict[str, str], _q: dict[str, str], _b: Any) -> tuple[int, Any]:
        old = require(company, name, next(iter(params.values()), None), name)
        company.collection(name).remove_ids({old["Id"]})
        return status, None

    return handler
