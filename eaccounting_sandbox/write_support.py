"""What every write handler shares: the handler type, id/date/reference helpers and voucher booking.

Shared rules (see DESIGN.md, "Sandbox domain"): bodies are validated against the operation's request
schema (``validation.py``); the server assigns ``Id``, numbers and ``*Utc`` stamps; PUT replaces the whole
object (omitted writable fields go back to their default, docs/API_FACTS.md#put-replaces-the-whole-object);
a document dated outside every fiscal year is 400 ErrorCode 3001, in a locked year 400 ErrorCode 4026.
The write handlers per area (``writes_master``, ``writes_ledger``, ``writes_sales``, ``writes_payments``,
``writes_generic``) import this module; ``writes`` picks the handler for a request.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from eaccounting_sandbox.demo_schema import item_schema_of, skeleton
from eaccounting_sandbox.demo_time import parse_day
from eaccounting_sandbox.error_responses import (
    CONFLICT,
    FISCAL_YEAR_DOES_NOT_EXIST,
    ApiError,
    field_error,
    not_found,
)
from eaccounting_sandbox.store import Company, Record
from eaccounting_sandbox.validation import field_failure, writable

LOCKED_PERIOD = 4026
ACCOUNT_NOT_FOUND = 3002

# (company, path parameters, query parameters, decoded body) -> (status, JSON-able body or None)
Handler = Callable[[Company, dict[str, str], dict[str, str], Any], tuple[int, Any]]


def new_id() -> str:
    return str(uuid.uuid4())


def utc_today() -> date:
    return datetime.now(UTC).date()


def parse_id(raw: str | None, what: str) -> str:
    try:
        return str(uuid.UUID(raw or ""))
    except ValueError:
        raise not_found(f"{what} '{raw}' was not found.") from None


def path_param(params: dict[str, str], name: str) -> str | None:
    """``params[name]``, or the only parameter whatever its name: the spec's parameter names do not
    always match its path templates' case (``{articlelabelid}`` vs ``articleLabelId``)."""
    if name in params:
        return params[name]
    return next(iter(params.values())) if len(params) == 1 else None


def require(company: Company, collection: str, record_id: str | None, what: str) -> Record:
    record = company.collection(collection).get(parse_id(record_id, what))
    if record is None:
        raise not_found(f"{what} '{record_id}' was not found.")
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
            FISCAL_YEAR_DOES_NOT_EXIST,
            f"FiscalYearDoesNotExist - no fiscal year contains {field} {day.isoformat()}.",
            [field_error(field, str(FISCAL_YEAR_DOES_NOT_EXIST), "Fiscal year does not exist.")],
        )
    if year["IsLockedForAccounting"]:
        raise ApiError(
            400,
            LOCKED_PERIOD,
            f"The period of {field} {day.isoformat()} is locked for accounting.",
            [field_error(field, str(LOCKED_PERIOD), "The fiscal year is locked.")],
        )
    sent = body.get("FiscalYearId") if isinstance(body, dict) else None
    if sent is not None and str(sent).lower() != year["Id"]:
        raise field_failure(
            "FiscalYearId",
            f"FiscalYearId {sent} is not the fiscal year of {field} {day.isoformat()} ({year['Id']}).",
            FISCAL_YEAR_DOES_NOT_EXIST,
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
                    CONFLICT,
                    f"Conflict - {field} '{value}' already exists ({collection} {other.get('Id')}).",
                    [field_error(field, str(CONFLICT), f"{field} must be unique.")],
                )
        return str(value)
    numeric = [int(r[field]) for r in items if str(r.get(field) or "").isdigit()]
    return str(max(numeric, default=start - 1) + 1)


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
