"""Writes of the ledger: accounts (create, replace) and vouchers (create).

A voucher must balance, use accounts of its fiscal year and be dated in an open fiscal year
(``write_support.book_voucher``, shared with invoices and payments, which book vouchers too).
"""

from __future__ import annotations

from typing import Any

from eaccounting_sandbox.demo_country import ACCOUNT_TYPES
from eaccounting_sandbox.error_responses import (
    CONFLICT,
    FISCAL_YEAR_DOES_NOT_EXIST,
    ApiError,
    field_error,
    not_found,
)
from eaccounting_sandbox.store import Company, Record
from eaccounting_sandbox.validation import field_failure, validate_body
from eaccounting_sandbox.write_support import Handler, book_voucher, compose, parse_id, stamp_fields


def _account(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    year = company.collection("fiscalyears").get(str(values.get("FiscalYearId", "")).lower())
    if year is None:
        raise field_failure(
            "FiscalYearId",
            f"Fiscal year {values.get('FiscalYearId')} does not exist.",
            FISCAL_YEAR_DOES_NOT_EXIST,
        )
    number = str(values["Number"])
    for other in company.collection("accounts").items:
        if other["FiscalYearId"] == year["Id"] and other["Number"] == number and other is not old:
            raise ApiError(
                409,
                CONFLICT,
                f"Conflict - account {number} already exists in fiscal year {year['Id']}.",
                [field_error("Number", str(CONFLICT), "Account number must be unique.")],
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
        raise not_found(f"Account {number} was not found in fiscal year {year['Id']}.")
    values = validate_body("AccountApi", body)
    record = _account(company, values, old)
    return 200, company.collection("accounts").replace(old, record)


def create_voucher(company: Company, _p: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
    return 201, book_voucher(company, validate_body("VoucherApi", body), body)


LEDGER_HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "/accounts"): create_account,
    ("PUT", "/accounts/{fiscalyearId}/{accountNumber}"): replace_account,
    ("POST", "/vouchers"): create_voucher,
}
