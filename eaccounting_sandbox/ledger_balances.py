"""Ledger arithmetic over the vouchers: account balances at a day, and a fiscal year's balances.

Balance-sheet accounts accumulate over every year; result accounts (account types 3 and up: revenue,
costs, financial items) restart each fiscal year, and earlier years' results are carried into the
equity account, so the balances always sum to zero. Amounts are debit minus credit.
"""

from __future__ import annotations

from datetime import date

from eaccounting_sandbox.demo_country import profile
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import parse_day
from eaccounting_sandbox.error_responses import FISCAL_YEAR_DOES_NOT_EXIST, ApiError
from eaccounting_sandbox.store import Company, Record


def is_result(account: Record | None, number: int) -> bool:
    """Result accounts (revenue, costs, financial items) restart each fiscal year; the rest carry over."""
    return account["Type"] >= 3 if account else number >= 3000


def year_balances(
    company: Company, start: date, end: date, accounts: dict[int, Record]
) -> tuple[dict[int, float], dict[int, float], dict[int, float]]:
    """(opening, closing, result) per account for the fiscal year ``start``..``end`` (the SIE
    export's ``#IB``, ``#UB``, ``#RES``): closing balances plus the year's result sum to zero."""
    equity = profile(company.country).equity
    opening: dict[int, float] = {}
    for row in company.collection("fiscalyears/openingbalances").items:
        opening[row["Number"]] = opening.get(row["Number"], 0.0) + row["Balance"]
    movement: dict[int, float] = {}
    result: dict[int, float] = {}
    for voucher in company.collection("vouchers").items:
        day = parse_day(voucher["VoucherDate"])
        if day is None or day > end:
            continue
        for row in voucher["Rows"]:
            number = row["AccountNumber"]
            amount = row["DebitAmount"] - row["CreditAmount"]
            restarts = is_result(accounts.get(number), number)
            if day < start:
                key = equity if restarts else number
                opening[key] = opening.get(key, 0.0) + amount
            elif restarts:
                result[number] = result.get(number, 0.0) + amount
            else:
                movement[number] = movement.get(number, 0.0) + amount
    closing = {n: opening.get(n, 0.0) + movement.get(n, 0.0) for n in set(opening) | set(movement)}
    return opening, closing, result


def account_balances(company: Company, day: date) -> list[Record]:
    """Balances at ``day`` in its fiscal year (``/accountbalances``): opening balances (first year)
    plus vouchers up to ``day``."""
    year = company.fiscal_year_for(day)
    if year is None:
        raise ApiError(400, FISCAL_YEAR_DOES_NOT_EXIST, f"No fiscal year contains {day}.", [])
    year_start = parse_day(year["StartDate"])
    assert year_start is not None
    equity = profile(company.country).equity
    accounts = {
        int(a["Number"]): a for a in company.collection("accounts").items if a["FiscalYearId"] == year["Id"]
    }
    totals: dict[int, float] = {}
    for opening in company.collection("fiscalyears/openingbalances").items:
        totals[opening["Number"]] = totals.get(opening["Number"], 0.0) + opening["Balance"]
    for voucher in company.collection("vouchers").items:
        vday = parse_day(voucher["VoucherDate"])
        if vday is None or vday > day:
            continue
        for row in voucher["Rows"]:
            number = row["AccountNumber"]
            account = accounts.get(number)
            if vday < year_start and is_result(account, number):
                number = equity
            totals[number] = totals.get(number, 0.0) + row["DebitAmount"] - row["CreditAmount"]
    result = []
    for number in sorted(totals):
        account = accounts.get(number)
        result.append(
            build(
                "AccountBalanceApi",
                AccountNumber=number,
                AccountName=account["Name"] if account else None,
                Balance=round(totals[number], 2),
                AccountType=account["Type"] if account else 0,
                AccountTypeDescription=account["TypeDescription"] if account else None,
            )
        )
    return result
