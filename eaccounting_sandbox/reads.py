"""The reads of the /v2 API: the records of a list endpoint, one object by id, counts per endpoint.

``list_records`` gives the items of a list endpoint before OData and paging (``list_pages`` applies
those); endpoint-specific list handlers cover parametrized paths and endpoint query parameters, every
other list endpoint is its stored collection as is. ``get_record`` answers the GET-by-id paths.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from eaccounting_api import spec
from eaccounting_sandbox.demo_country import profile
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import instant_key, parse_day
from eaccounting_sandbox.error_responses import (
    FISCAL_YEAR_DOES_NOT_EXIST,
    QUERY_DATETIME_ERROR,
    ApiError,
    bad_query,
    not_found,
)
from eaccounting_sandbox.store import Company, Record

ListHandler = Callable[[Company, Mapping[str, str], Mapping[str, str]], list[Record]]

WIDE_OPEN = {"fromDate": "1900-01-01", "toDate": "2999-12-31"}


def list_records(
    company: Company, endpoint_path: str, path_params: Mapping[str, str], query: Mapping[str, str]
) -> list[Record]:
    """The items of a list endpoint before OData and paging (see DESIGN.md, "Sandbox domain")."""
    handler = LIST_HANDLERS.get(endpoint_path)
    if handler is not None:
        return handler(company, path_params, query)
    name = endpoint_path.strip("/")
    if name not in company.collections:
        raise not_found(f"No list endpoint {endpoint_path}.")
    return company.collections[name].items


# -- query parameter parsing (bad values are 400, never silently ignored) ------------------------
def _bool(query: Mapping[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise bad_query(f"The value '{raw}' is not valid for query parameter {name} (expected true/false).")


def _day(raw: str | None, name: str, default: date) -> date:
    if raw is None or raw == "":
        return default
    day = parse_day(raw)
    if day is None:
        raise bad_query(
            f"The value '{raw}' is not a valid date for {name} (yyyy-MM-dd).", QUERY_DATETIME_ERROR
        )
    return day


def _uuid(raw: str | None, what: str) -> str:
    try:
        return str(uuid.UUID(raw or ""))
    except ValueError:
        raise not_found(f"{what} '{raw}' was not found.") from None


# -- list handlers --------------------------------------------------------------------------------
def _customerinvoices(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
    items = company.collection("customerinvoices").items
    raw = query.get("modifiedSinceUtc")
    if raw is None or raw == "":
        return items
    since = instant_key(raw)
    if since is None:
        raise bad_query(
            f"The value '{raw}' is not a valid date-time for modifiedSinceUtc.", QUERY_DATETIME_ERROR
        )
    # Inclusive: a client resuming from its bookmark sees the boundary record again, never misses one.
    return [r for r in items if (instant_key(r["ModifiedUtc"] or "") or "") >= since]


def _accounts_by_year(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
    year_id = company.fiscal_year(_uuid(params.get("fiscalyearId"), "Fiscal year"))["Id"]
    return [a for a in company.collection("accounts").items if a["FiscalYearId"] == year_id]


def _vouchers_by_year(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
    year = company.fiscal_year(_uuid(params.get("fiscalyearId"), "Fiscal year"))
    start, end = parse_day(year["StartDate"]), parse_day(year["EndDate"])
    if start is None or end is None:
        raise not_found(f"Fiscal year {year['Id']} has no valid dates.")
    result = []
    for voucher in company.collection("vouchers").items:
        day = parse_day(voucher["VoucherDate"])
        if day is not None and start <= day <= end:
            result.append(voucher)
    return result


def _bank_transactions(matched: bool) -> ListHandler:
    def handler(company: Company, params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
        account_id = _uuid(params.get("bankAccountId"), "Bank account")
        if company.collection("bankaccounts").get(account_id) is None:
            raise not_found(f"Bank account '{account_id}' was not found.")
        # Spec: fromDate defaults to the first, toDate to the last day of the current month.
        first = datetime.now(UTC).date().replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        start = _day(query.get("fromDate"), "fromDate", first)
        end = _day(query.get("toDate"), "toDate", last)
        result = []
        for tx in company.children["banktransactions"].get(account_id, []):
            day = parse_day(tx["TransactionDate"])
            if tx["IsReconciled"] is matched and day is not None and start <= day <= end:
                result.append(tx)
        return result

    return handler


def _child(name: str, param: str, what: str) -> ListHandler:
    def handler(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
        parent = _uuid(params.get(param), what)
        records = company.children[name].get(parent)
        if records is None:
            raise not_found(f"{what} '{parent}' was not found.")
        return records

    return handler


def _autoinvoice(company: Company, params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
    customer_id = _uuid(params.get("customerId"), "Customer")
    if company.collection("customers").get(customer_id) is None:
        raise not_found(f"Customer '{customer_id}' was not found.")
    return company.children["autoinvoicerecipients"].get(customer_id, [])


def _prices_by_list(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
    list_id = _uuid(params.get("salesPriceListId"), "Sales price list")
    if company.collection("salespricelists").get(list_id) is None:
        raise not_found(f"Sales price list '{list_id}' was not found.")
    return [p for p in company.collection("salespricelists/prices").items if p["SalesPriceListId"] == list_id]


def _with_date_param(name: str) -> ListHandler:
    """Endpoints whose ``vatRateDate`` only selects rates in force; rates are constant here, so validate."""

    def handler(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
        _day(query.get("vatRateDate"), "vatRateDate", company.today)
        return company.collection(name).items

    return handler


def _flag_filter(name: str, param: str, field: str, keep_when_set: bool, default: bool) -> ListHandler:
    def handler(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
        items = company.collection(name).items
        if not _bool(query, param, default):
            return items
        return [r for r in items if bool(r[field]) is keep_when_set]

    return handler


def _articles(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
    _bool(query, "showPricesWithTwoDecimals", False)
    customer = query.get("customerId")
    if customer and company.collection("customers").get(_uuid(customer, "Customer")) is None:
        raise not_found(f"Customer '{customer}' was not found.")
    return company.collection("articles").items


def _attachments(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
    _bool(query, "includeTemporaryUrl", False)
    items = company.collection("attachments").items
    if _bool(query, "includeMatched", False):
        return items
    # AttachmentStatus 0 = unmatched (not yet linked to a voucher or invoice).
    return [a for a in items if a["AttachmentStatus"] == 0]


def _account_balances(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
    day = _day(params.get("date"), "date", company.today) if params.get("date") else company.today
    return account_balances(company, day)


def account_balances(company: Company, day: date) -> list[Record]:
    """Balances at ``day`` in its fiscal year: opening balances (first year) plus vouchers up to ``day``.

    Balance-sheet accounts accumulate over every year up to ``day``; result accounts (account types 3
    and up: revenue, costs, financial items) restart each fiscal year, and earlier years' results are
    carried into the equity account, so the balances always sum to zero.
    """
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
            if vday < year_start and (account["Type"] >= 3 if account else number >= 3000):
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


LIST_HANDLERS: dict[str, ListHandler] = {
    "/customerinvoices": _customerinvoices,
    "/accounts/{fiscalyearId}": _accounts_by_year,
    "/vouchers/{fiscalyearId}": _vouchers_by_year,
    "/accountbalances/{date}": _account_balances,
    "/banktransactions/{bankAccountId}/matched": _bank_transactions(True),
    "/banktransactions/{bankAccountId}/unmatched": _bank_transactions(False),
    "/customers/{customerId}/autoinvoicerecipients": _autoinvoice,
    "/salespricelists/prices/{salesPriceListId}": _prices_by_list,
    "/voucherwithoverunderpayment/{voucherId}": _child("voucherwithoverunderpayment", "voucherId", "Voucher"),
    "/articleaccountcodings": _with_date_param("articleaccountcodings"),
    "/vatcodes": _with_date_param("vatcodes"),
    "/articles": _articles,
    "/attachments": _attachments,
    "/messagethreads": _flag_filter("messagethreads", "excludeClosed", "IsClosed", False, False),
    "/supplierinvoicedrafts": _flag_filter(
        "supplierinvoicedrafts", "approvableByCurrentUser", "CanBeApprovedByCurrentUser", True, False
    ),
}


def parent_params(  # noqa: PLR0911 - one return per parametrized endpoint
    company: Company, endpoint_path: str
) -> list[dict[str, str]]:
    """Every path-parameter set a parametrized list endpoint has data under (for counts and tests)."""
    if endpoint_path in ("/accounts/{fiscalyearId}", "/vouchers/{fiscalyearId}"):
        return [{"fiscalyearId": y["Id"]} for y in company.fiscal_years()]
    if endpoint_path.startswith("/banktransactions/"):
        return [{"bankAccountId": a["Id"]} for a in company.collection("bankaccounts").items]
    if endpoint_path == "/customers/{customerId}/autoinvoicerecipients":
        return [{"customerId": c} for c in company.children["autoinvoicerecipients"]]
    if endpoint_path == "/salespricelists/prices/{salesPriceListId}":
        return [{"salesPriceListId": p["Id"]} for p in company.collection("salespricelists").items]
    if endpoint_path == "/voucherwithoverunderpayment/{voucherId}":
        return [{"voucherId": v} for v in company.children["voucherwithoverunderpayment"]]
    if endpoint_path == "/accountbalances/{date}":
        return [{"date": company.today.isoformat()}]
    return [{}]


_COUNT_QUERIES: dict[str, dict[str, str]] = {
    "/attachments": {"includeMatched": "true"},
    "/banktransactions/{bankAccountId}/matched": WIDE_OPEN,
    "/banktransactions/{bankAccountId}/unmatched": WIDE_OPEN,
}


def counts(company: Company) -> dict[str, int]:
    """Records per list endpoint; parametrized ones summed over every parent, date windows wide open."""
    result = {}
    for endpoint in spec.list_endpoints():
        query = _COUNT_QUERIES.get(endpoint.path, {})
        result[endpoint.path] = sum(
            len(list_records(company, endpoint.path, params, query))
            for params in parent_params(company, endpoint.path)
        )
    return result


# -- GET by id ------------------------------------------------------------------------------------
def _find(records: list[Record], **match: Any) -> Record | None:
    for record in records:
        if all(record.get(k) == v for k, v in match.items()):
            return record
    return None


def get_record(company: Company, path: str, params: Mapping[str, str]) -> Record:
    """The object a spec GET-by-id path returns; ``ApiError`` 404 when it does not exist."""
    found = _get_special(company, path, params)
    if found is None:
        parts = path.strip("/").split("/")
        name = "/".join(p for p in parts if not p.startswith("{"))
        keys = [p.strip("{}") for p in parts if p.startswith("{")]
        name = {"documents": "backgrounds"}.get(name, name)
        coll = company.collections.get(name)
        if coll is None or len(keys) != 1 or not coll.keyed:
            raise not_found(f"GET {path} is not emulated.")
        # The spec's parameter names do not always match the template's case ({articlelabelid} vs
        # articleLabelId), so a single path parameter is taken whatever it is called.
        raw = params.get(keys[0]) or (next(iter(params.values())) if len(params) == 1 else "")
        found = coll.get(str(raw).lower())
    if found is None:
        raise not_found(f"{path} {dict(params)} was not found.")
    return found


def _get_special(  # noqa: PLR0911 - one branch per GET path whose key is not a plain Id
    company: Company, path: str, params: Mapping[str, str]
) -> Record | None:
    if path == "/accounts/{fiscalyearId}/{accountNumber}":
        year = company.fiscal_year(_uuid(params.get("fiscalyearId"), "Fiscal year"))
        return _find(
            company.collection("accounts").items, FiscalYearId=year["Id"], Number=params["accountNumber"]
        )
    if path == "/accountbalances/{accountNumber}/{date}":
        day = _day(params.get("date"), "date", company.today)
        number = params.get("accountNumber", "")
        return _find(account_balances(company, day), AccountNumber=int(number) if number.isdigit() else -1)
    if path == "/banktransactions/{bankAccountId}/{bankTransactionId}":
        records = company.children["banktransactions"].get(
            _uuid(params.get("bankAccountId"), "Bank account"), []
        )
        return _find(records, Id=_uuid(params.get("bankTransactionId"), "Bank transaction"))
    if path == "/vouchers/{fiscalyearId}/{voucherId}":
        company.fiscal_year(_uuid(params.get("fiscalyearId"), "Fiscal year"))
        return company.collection("vouchers").get(_uuid(params.get("voucherId"), "Voucher"))
    if path == "/salespricelists/prices/{salesPriceListId}/{articleId}":
        return _find(
            company.collection("salespricelists/prices").items,
            SalesPriceListId=_uuid(params.get("salesPriceListId"), "Sales price list"),
            ArticleId=_uuid(params.get("articleId"), "Article"),
        )
    if path == "/countries/{countrycode}":
        return _find(company.collection("countries").items, Code=str(params.get("countrycode", "")).upper())
    if path == "/costcenteritems/{itemId}":
        item_id = _uuid(params.get("itemId"), "Cost center item")
        for center in company.collection("costcenters").items:
            found = _find(center["Items"] or [], Id=item_id)
            if found is not None:
                return found
        return None
    if path == "/messagethreads/{messageThreadId}/messages":
        thread = _uuid(params.get("messageThreadId"), "Message thread")
        messages = [
            m for m in company.collection("messagethreads/messages").items if m["MessageThreadId"] == thread
        ]
        return messages[-1] if messages else None
    if path == "/customerinvoices/{invoiceId}/pdf":
        invoice = company.collection("customerinvoices").get(_uuid(params.get("invoiceId"), "Invoice"))
        if invoice is None:
            return None
        return build(
            "InvoiceUrlApi", Url=f"https://sandbox.invalid/{company.id}/invoices/{invoice['Id']}.pdf"
        )
    return None
