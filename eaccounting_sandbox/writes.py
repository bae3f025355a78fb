"""Create/update/delete semantics of the emulated write endpoints (master data, vouchers, accounts).

Shared rules (see DESIGN.md, "Sandbox domain"): bodies are validated against the operation's request
schema (``validation.py``); the server assigns ``Id``, numbers and ``*Utc`` stamps; PUT replaces the whole
object (omitted writable fields go back to their default, docs/API_FACTS.md#put-replaces-the-whole-object);
duplicate CustomerNumber / SupplierNumber / article Number is 409 ErrorCode 4000; a document dated outside
every fiscal year is 400 ErrorCode 3001, in a locked year 400 ErrorCode 4026. Sales documents and payments
are in ``writes_sales.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from eaccounting_sandbox import errors
from eaccounting_sandbox.demo_country import ACCOUNT_TYPES
from eaccounting_sandbox.demo_schema import item_schema_of, skeleton
from eaccounting_sandbox.demo_time import parse_day
from eaccounting_sandbox.errors import ApiError
from eaccounting_sandbox.store import Company, Record
from eaccounting_sandbox.validation import field_failure, validate_body, writable

LOCKED_PERIOD = 4026
CAN_NOT_BE_DELETED = 4001
ACCOUNT_NOT_FOUND = 3002

Handler = Callable[[Company, dict[str, str], dict[str, str], Any], tuple[int, Any]]


# -- shared helpers -------------------------------------------------------------------------------
def new_id() -> str:
    return str(uuid.uuid4())


def utc_today() -> date:
    return datetime.now(UTC).date()


def parse_id(raw: str | None, what: str) -> str:
    try:
        return str(uuid.UUID(raw or ""))
    except ValueError:
        raise errors.not_found(f"{what} '{raw}' was not found.") from None


def path_param(params: dict[str, str], name: str) -> str | None:
    """``params[name]``, or the only parameter whatever its name: the spec's parameter names do not
    always match its path templates' case (``{articlelabelid}`` vs ``articleLabelId``)."""
    if name in params:
        return params[name]
    return next(iter(params.values())) if len(params) == 1 else None


def require(company: Company, collection: str, record_id: str | None, what: str) -> Record:
    record = company.collection(collection).get(parse_id(record_id, what))
    if record is None:
        raise errors.not_found(f"{what} '{record_id}' was not found.")
    return record


def reference(company: Company, collection: str, record_id: Any, field: str) -> Record:
    """A record a body refers to; a dangling reference is a 400 naming the field."""
    record = company.collection(collection).get(str(record_id).lower()) if record_id else None
    if record is None:
        raise field_failure(field, f"{field} '{record_id}' does not refer to an existing object.")
    return record


def document_day(raw: Any, field: str, default: date | None = None) -> date:
    if raw is None:
        return default or utc_today()
    day = parse_day(str(raw))
    if day is None:
        raise field_failure(field, f"'{raw}' is not a valid date for {field}.")
    return day


def check_fiscal_year(company: Company, day: date, body: Any, field: str) -> Record:
    """The fiscal year of a document dated ``day``; 3001 outside every year, 4026 in a locked one.

    A ``FiscalYearId`` in the raw body (accepted on invoices and payments although their schemas do not
    declare it) must be the year containing the document date.
    """
    year = company.fiscal_year_for(day)
    if year is None:
        raise ApiError(
            400,
            errors.FISCAL_YEAR_DOES_NOT_EXIST,
            f"FiscalYearDoesNotExist - no fiscal year contains {field} {day.isoformat()}.",
            [
                errors.field_error(
                    field, str(errors.FISCAL_YEAR_DOES_NOT_EXIST), "Fiscal year does not exist."
                )
            ],
        )
    if year["IsLockedForAccounting"]:
        raise ApiError(
            400,
            LOCKED_PERIOD,
            f"The period of {field} {day.isoformat()} is locked for accounting.",
            [errors.field_error(field, str(LOCKED_PERIOD), "The fiscal year is locked.")],
        )
    sent = body.get("FiscalYearId") if isinstance(body, dict) else None
    if sent is not None and str(sent).lower() != year["Id"]:
        raise field_failure(
            "FiscalYearId",
            f"FiscalYearId {sent} is not the fiscal year of {field} {day.isoformat()} ({year['Id']}).",
            errors.FISCAL_YEAR_DOES_NOT_EXIST,
        )
    return year


def stamp_fields(company: Company, record: Record, *, created: bool) -> None:
    now = company.clock.stamp()
    for name in ("ModifiedUtc", "ChangedUtc"):
        if name in record:
            record[name] = now
    if created and "CreatedUtc" in record:
        record["CreatedUtc"] = now


def compose(schema: str, values: dict[str, Any], server: dict[str, Any]) -> Record:
    """A full record: defaults, then the client's writable values, then what the server decides."""
    record = skeleton(schema)
    for name, value in writable(schema, values).items():
        nested = item_schema_of(schema, name)
        # A partly-sent nested object comes back complete, its omitted fields at their defaults.
        record[name] = {**skeleton(nested), **value} if isinstance(value, dict) and nested else value
    record.update(server)
    return record


def unique_number(
    company: Company, collection: str, field: str, value: Any, *, exclude: str | None, start: int
) -> str:
    """``value`` if no other record has it (409 4000 if one does), else the next free number."""
    items = company.collection(collection).items
    if value is not None:
        for other in items:
            if other.get(field) == value and other.get("Id") != exclude:
                raise ApiError(
                    409,
                    errors.CONFLICT,
                    f"Conflict - {field} '{value}' already exists ({collection} {other.get('Id')}).",
                    [errors.field_error(field, str(errors.CONFLICT), f"{field} must be unique.")],
                )
        return str(value)
    numeric = [int(r[field]) for r in items if str(r.get(field) or "").isdigit()]
    return str(max(numeric, default=start - 1) + 1)


# -- master data ----------------------------------------------------------------------------------
def _customer(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    terms = reference(company, "termsofpayments", values.get("TermsOfPaymentId"), "TermsOfPaymentId")
    # A PUT without CustomerNumber keeps the number: it is the natural key integrations match on.
    given = values.get("CustomerNumber") or (old["CustomerNumber"] if old else None)
    number = unique_number(
        company, "customers", "CustomerNumber", given, exclude=old["Id"] if old else None, start=10000
    )
    record = compose(
        "CustomerApi",
        values,
        {"Id": old["Id"] if old else new_id(), "CustomerNumber": number, "TermsOfPayment": dict(terms)},
    )
    stamp_fields(company, record, created=old is None)
    return record


def _supplier(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    reference(company, "termsofpayments", values.get("TermsOfPaymentId"), "TermsOfPaymentId")
    given = values.get("SupplierNumber") or (old["SupplierNumber"] if old else None)
    number = unique_number(
        company, "suppliers", "SupplierNumber", given, exclude=old["Id"] if old else None, start=20000
    )
    record = compose(
        "SupplierApi",
        values,
        {
            "Id": old["Id"] if old else new_id(),
            "SupplierNumber": number,
            "CreatedUtc": old["CreatedUtc"] if old else None,
        },
    )
    stamp_fields(company, record, created=old is None)
    return record


def _article(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    coding = reference(company, "articleaccountcodings", values.get("CodingId"), "CodingId")
    unit = reference(company, "units", values.get("UnitId"), "UnitId")
    number = unique_number(
        company, "articles", "Number", values.get("Number"), exclude=old["Id"] if old else None, start=1
    )
    record = compose(
        "ArticleApi",
        values,
        {
            "Id": old["Id"] if old else new_id(),
            "Number": number,
            "CodingName": coding["Name"],
            "UnitName": unit["Name"],
            "UnitAbbreviation": unit["Abbreviation"],
            "CreatedUtc": old["CreatedUtc"] if old else None,
            "IsServiceArticle": not values.get("IsStock", False),
        },
    )
    stamp_fields(company, record, created=old is None)
    return record


MASTER = {
    "customers": ("CustomerApi", _customer, "Customer"),
    "suppliers": ("SupplierApi", _supplier, "Supplier"),
    "articles": ("ArticleApi", _article, "Article"),
}


def _master_create(collection: str) -> Handler:
    schema, build_record, _ = MASTER[collection]

    def handler(company: Company, _p: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
        record = build_record(company, validate_body(schema, body), None)
        return 201, company.collection(collection).add(record)

    return handler


def _master_replace(collection: str, param: str) -> Handler:
    schema, build_record, what = MASTER[collection]

    def handler(company: Company, params: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
        old = require(company, collection, path_param(params, param), what)
        record = build_record(company, validate_body(schema, body), old)
        return 200, company.collection(collection).replace(old, record)

    return handler


def _master_delete(collection: str, param: str, used_by: tuple[str, str]) -> Handler:
    _, _, what = MASTER[collection]

    def handler(company: Company, params: dict[str, str], _q: dict[str, str], _b: Any) -> tuple[int, Any]:
        old = require(company, collection, path_param(params, param), what)
        documents, field = used_by
        if any(doc.get(field) == old["Id"] for doc in company.collection(documents).items):
            raise ApiError(
                400, CAN_NOT_BE_DELETED, f"{what} {old['Id']} has {documents} and can not be deleted.", []
            )
        company.collection(collection).remove_ids({old["Id"]})
        return 200, None  # the spec documents 200 (no body) for deletes

    return handler


# -- accounts and vouchers ------------------------------------------------------------------------
def _account(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    year = company.collection("fiscalyears").get(str(values.get("FiscalYearId", "")).lower())
    if year is None:
        raise field_failure(
            "FiscalYearId",
            f"Fiscal year {values.get('FiscalYearId')} does not exist.",
            errors.FISCAL_YEAR_DOES_NOT_EXIST,
        )
    number = str(values["Number"])
    for other in company.collection("accounts").items:
        if other["FiscalYearId"] == year["Id"] and other["Number"] == number and other is not old:
            raise ApiError(
                409,
                errors.CONFLICT,
                f"Conflict - account {number} already exists in fiscal year {year['Id']}.",
                [errors.field_error("Number", str(errors.CONFLICT), "Account number must be unique.")],
            )
    record = compose("AccountApi", values, {"FiscalYearId": year["Id"], "Number": number})
    given_type = values.get("Type")
    # useDefaultAccountType: without a known type the standard one follows the account class (first digit).
    default_type = (old or {}).get("Type") or {"1": 1, "2": 2, "3": 3, "4": 4, "8": 6}.get(number[:1], 5)
    record["Type"] = given_type if given_type in ACCOUNT_TYPES else default_type
    record["TypeDescription"] = ACCOUNT_TYPES.get(record["Type"])
    if old is not None:
        record["CreatedUtc"] = old["CreatedUtc"]
    stamp_fields(company, record, created=old is None)
    return record


def create_account(company: Company, _p: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
    record = _account(company, validate_body("AccountApi", body), None)
    return 201, company.collection("accounts").add(record)


def replace_account(
    company: Company, params: dict[str, str], _q: dict[str, str], body: Any
) -> tuple[int, Any]:
    year = company.fiscal_year(parse_id(params.get("fiscalyearId"), "Fiscal year"))
    number = params.get("accountNumber")
    old = next(
        (
            a
            for a in company.collection("accounts").items
            if a["FiscalYearId"] == year["Id"] and a["Number"] == number
        ),
        None,
    )
    if old is None:
        raise errors.not_found(f"Account {number} was not found in fiscal year {year['Id']}.")
    values = validate_body("AccountApi", body)
    record = _account(company, values, old)
    return 200, company.collection("accounts").replace(old, record)


def book_voucher(
    company: Company, values: dict[str, Any], raw: Any, *, voucher_type: int = 2, source_id: str | None = None
) -> Record:
    """Validate the ledger rules of a voucher (balanced, accounts exist, open fiscal year) and store it."""
    day = document_day(values.get("VoucherDate"), "VoucherDate")
    year = check_fiscal_year(company, day, raw, "VoucherDate")
    accounts = {
        a["Number"]: a for a in company.collection("accounts").items if a["FiscalYearId"] == year["Id"]
    }
    rows, debit, credit = [], 0.0, 0.0
    for index, given in enumerate(values.get("Rows") or []):
        account = accounts.get(str(given.get("AccountNumber")))
        if account is None:
            raise field_failure(
                f"Rows[{index}].AccountNumber",
                f"Account {given.get('AccountNumber')} does not exist in fiscal year {year['Id']}.",
                ACCOUNT_NOT_FOUND,
            )
        row = skeleton("VoucherRowApi")
        row.update(writable("VoucherRowApi", given))
        row["AccountDescription"] = account["Name"]
        row["DebitAmount"] = round(float(row["DebitAmount"] or 0.0), 2)
        row["CreditAmount"] = round(float(row["CreditAmount"] or 0.0), 2)
        debit += row["DebitAmount"]
        credit += row["CreditAmount"]
        rows.append(row)
    if not rows or abs(debit - credit) >= 0.005:
        raise field_failure(
            "Rows", f"The voucher rows do not balance: debit {debit:.2f}, credit {credit:.2f}."
        )
    number = company.next_number(f"voucher-{day.year}", 1000)
    record = compose(
        "VoucherApi",
        values,
        {
            "Id": new_id(),
            "VoucherDate": f"{day.isoformat()}T00:00:00Z",
            "Rows": rows,
            "NumberAndNumberSeries": f"A{number}",
            "NumberSeries": "A",
            "VoucherType": voucher_type,
            "SourceId": source_id,
        },
    )
    stamp_fields(company, record, created=True)
    return company.collection("vouchers").add(record)


def create_voucher(company: Company, _p: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
    return 201, book_voucher(company, validate_body("VoucherApi", body), body)


def dispatch(
    company: Company, method: str, path: str, *, params: dict[str, str], query: dict[str, str], body: Any
) -> tuple[int, Any]:
    from eaccounting_sandbox.writes_generic import handler_for
    from eaccounting_sandbox.writes_sales import SALES_HANDLERS

    handler = HANDLERS.get((method, path)) or SALES_HANDLERS.get((method, path)) or handler_for(method, path)
    if handler is None:
        raise errors.not_found(f"{method} {path} is not emulated by the sandbox.")
    return handler(company, params, query, body)


HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "/customers"): _master_create("customers"),
    ("PUT", "/customers/{customerId}"): _master_replace("customers", "customerId"),
    ("DELETE", "/customers/{customerId}"): _master_delete(
        "customers", "customerId", ("customerinvoices", "CustomerId")
    ),
    ("POST", "/suppliers"): _master_create("suppliers"),
    ("PUT", "/suppliers/{id}"): _master_replace("suppliers", "id"),
    ("DELETE", "/suppliers/{id}"): _master_delete("suppliers", "id", ("supplierinvoices", "SupplierId")),
    ("POST", "/articles"): _master_create("articles"),
    ("PUT", "/articles/{articleId}"): _master_replace("articles", "articleId"),
    ("POST", "/accounts"): create_account,
    ("PUT", "/accounts/{fiscalyearId}/{accountNumber}"): replace_account,
    ("POST", "/vouchers"): create_voucher,
}
