"""The reads of the /v2 API: the records of a list endpoint, one object by id, counts per endpoint.

``list_records`` gives the items of a list endpoint before OData and paging (``list_pages`` applies
those); endpoint-specific list handlers cover parametrized paths and endpoint query parameters, every
other list endpoint is its stored collection as is. ``read`` answers every other GET: ``get_record`` the
GET-by-id paths, ``READERS`` the company settings, exchange rates, offset candidates (``reads_company``),
the print endpoints (``reads_print``) and the SIE export (``sie_export``).
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from eaccounting_api import spec
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import instant_key, parse_day
from eaccounting_sandbox.error_responses import (
    QUERY_DATETIME_ERROR,
    bad_query,
    not_found,
)
from eaccounting_sandbox.ledger_balances import account_balances
from eaccounting_sandbox.reads_company import company_settings, exchange_rate, offset_candidates
from eaccounting_sandbox.reads_print import PRINTS, FileBody, print_document
from eaccounting_sandbox.request_params import bool_param, day_param, uuid_param
from eaccounting_sandbox.sie_export import sie4_export
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
    year_id = company.fiscal_year(uuid_param(params.get("fiscalyearId"), "Fiscal year"))["Id"]
    return [a for a in company.collection("accounts").items if a["FiscalYearId"] == year_id]


def _vouchers_by_year(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
    year = company.fiscal_year(uuid_param(params.get("fiscalyearId"), "Fiscal year"))
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
        account_id = uuid_param(params.get("bankAccountId"), "Bank account")
        if company.collection("bankaccounts").get(account_id) is None:
            raise not_found(f"Bank account '{account_id}' was not found.")
        # Spec: fromDate defaults to the first, toDate to the last day of the current month.
        first = datetime.now(UTC).date().replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        start = day_param(query.get("fromDate"), "fromDate", first)
        end = day_param(query.get("toDate"), "toDate", last)
        result = []
        for tx in company.children["banktransactions"].get(account_id, []):
            day = parse_day(tx["TransactionDate"])
            if tx["IsReconciled"] is matched and day is not None and start <= day <= end:
                result.append(tx)
        return result

    return handler


def _child(name: str, param: str, what: str) -> ListHandler:
    def handler(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
        parent = uuid_param(params.get(param), what)
        records = company.children[name].get(parent)
        if records is None:
            raise not_found(f"{what} '{parent}' was not found.")
        return records

    return handler


def _autoinvoice(company: Company, params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
    customer_id = uuid_param(params.get("customerId"), "Customer")
    if company.collection("customers").get(customer_id) is None:
        raise not_found(f"Customer '{customer_id}' was not found.")
    return company.children["autoinvoicerecipients"].get(customer_id, [])


def _prices_by_list(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
    list_id = uuid_param(params.get("salesPriceListId"), "Sales price list")
    if company.collection("salespricelists").get(list_id) is None:
        raise not_found(f"Sales price list '{list_id}' was not found.")
    return [p for p in company.collection("salespricelists/prices").items if p["SalesPriceListId"] == list_id]


def _with_date_param(name: str) -> ListHandler:
    """Endpoints whose ``vatRateDate`` only selects rates in force; rates are constant here, so validate."""

    def handler(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
        day_param(query.get("vatRateDate"), "vatRateDate", company.today)
        return company.collection(name).items

    return handler


def _flag_filter(name: str, param: str, field: str, keep_when_set: bool, default: bool) -> ListHandler:
    def handler(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
        items = company.collection(name).items
        if not bool_param(query, param, default):
            return items
        return [r for r in items if bool(r[field]) is keep_when_set]

    return handler


def _articles(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
    bool_param(query, "showPricesWithTwoDecimals", False)
    customer = query.get("customerId")
    if customer and company.collection("customers").get(uuid_param(customer, "Customer")) is None:
        raise not_found(f"Customer '{customer}' was not found.")
    return company.collection("articles").items


def _attachments(company: Company, _params: Mapping[str, str], query: Mapping[str, str]) -> list[Record]:
    bool_param(query, "includeTemporaryUrl", False)
    items = company.collection("attachments").items
    if bool_param(query, "includeMatched", False):
        return items
    unmatched = spec.enum_value("Attachment", "AttachmentStatus", "Unmatched")  # not yet linked to a document
    return [a for a in items if a["AttachmentStatus"] == unmatched]


def _account_balances(company: Company, params: Mapping[str, str], _q: Mapping[str, str]) -> list[Record]:
    day = day_param(params.get("date"), "date", company.today) if params.get("date") else company.today
    return account_balances(company, day)


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


# -- GET by id and the other single-object reads ----------------------------------------------------
def _find(records: list[Record], **match: Any) -> Record | None:
    for record in records:
        if all(record.get(k) == v for k, v in match.items()):
            return record
    return None


def read(company: Company, path: str, params: Mapping[str, str], query: Mapping[str, str]) -> Answer:
    """What a spec GET that is not a list answers: a JSON object or array, a file, or no body."""
    reader = READERS.get(path)
    if reader is not None:
        return reader(company, params, query)
    op = spec.operation("GET", path)
    if op is not None and "Warmup" in op.get("tags", []):
        return None  # the hosting's warm-up probe: 200 without a body
    return get_record(company, path, params)


def get_record(company: Company, path: str, params: Mapping[str, str]) -> Record:
    """The object a spec GET-by-id path returns; ``ApiError`` 404 when it does not exist."""
    getter = GETTERS.get(path)
    if getter is not None:
        found = getter(company, params)
    else:
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


def _account(company: Company, params: Mapping[str, str]) -> Record | None:
    year = company.fiscal_year(uuid_param(params.get("fiscalyearId"), "Fiscal year"))
    return _find(
        company.collection("accounts").items, FiscalYearId=year["Id"], Number=params["accountNumber"]
    )


def _account_balance(company: Company, params: Mapping[str, str]) -> Record | None:
    day = day_param(params.get("date"), "date", company.today)
    number = params.get("accountNumber", "")
    return _find(account_balances(company, day), AccountNumber=int(number) if number.isdigit() else -1)


def _bank_transaction(company: Company, params: Mapping[str, str]) -> Record | None:
    records = company.children["banktransactions"].get(
        uuid_param(params.get("bankAccountId"), "Bank account")
    )
    return _find(records or [], Id=uuid_param(params.get("bankTransactionId"), "Bank transaction"))


def _voucher(company: Company, params: Mapping[str, str]) -> Record | None:
    company.fiscal_year(uuid_param(params.get("fiscalyearId"), "Fiscal year"))
    return company.collection("vouchers").get(uuid_param(params.get("voucherId"), "Voucher"))


def _price(company: Company, params: Mapping[str, str]) -> Record | None:
    return _find(
        company.collection("salespricelists/prices").items,
        SalesPriceListId=uuid_param(params.get("salesPriceListId"), "Sales price list"),
        ArticleId=uuid_param(params.get("articleId"), "Article"),
    )


def _cost_center_item(company: Company, params: Mapping[str, str]) -> Record | None:
    item_id = uuid_param(params.get("itemId"), "Cost center item")
    for center in company.collection("costcenters").items:
        found = _find(center["Items"] or [], Id=item_id)
        if found is not None:
            return found
    return None


def _last_message(company: Company, params: Mapping[str, str]) -> Record | None:
    thread = uuid_param(params.get("messageThreadId"), "Message thread")
    messages = [
        m for m in company.collection("messagethreads/messages").items if m["MessageThreadId"] == thread
    ]
    return messages[-1] if messages else None


def _invoice_pdf_link(company: Company, params: Mapping[str, str]) -> Record | None:
    """The live API links to the PDF in blob storage; here the link is a data: URL holding the PDF
    ``/customerinvoices/{invoiceId}/print`` answers."""
    path = "/customerinvoices/{invoiceId}/print"
    pdf = print_document(company, path, params)
    return build(
        "InvoiceUrlApi", Url=f"data:{pdf.media_type};base64,{base64.b64encode(pdf.content).decode()}"
    )


Getter = Callable[[Company, Mapping[str, str]], Record | None]
# GET paths whose key is not a single Id in a collection named like the path.
GETTERS: dict[str, Getter] = {
    "/accounts/{fiscalyearId}/{accountNumber}": _account,
    "/accountbalances/{accountNumber}/{date}": _account_balance,
    "/banktransactions/{bankAccountId}/{bankTransactionId}": _bank_transaction,
    "/vouchers/{fiscalyearId}/{voucherId}": _voucher,
    "/salespricelists/prices/{salesPriceListId}/{articleId}": _price,
    "/countries/{countrycode}": lambda company, params: _find(
        company.collection("countries").items, Code=str(params.get("countrycode", "")).upper()
    ),
    "/costcenteritems/{itemId}": _cost_center_item,
    "/messagethreads/{messageThreadId}/messages": _last_message,
    "/customerinvoices/{invoiceId}/pdf": _invoice_pdf_link,
}

Answer = Record | list[Record] | FileBody | None
Reader = Callable[[Company, Mapping[str, str], Mapping[str, str]], Answer]


def _print_reader(path: str) -> Reader:
    def reader(company: Company, params: Mapping[str, str], _query: Mapping[str, str]) -> Answer:
        return print_document(company, path, params)

    return reader


# Single-object GETs that are not looked up by key: settings, rates, offsets, prints, the SIE export.
READERS: dict[str, Reader] = {
    "/companysettings": lambda company, _params, _query: company_settings(company),
    "/currencies/exchangerate": lambda company, _params, query: exchange_rate(company, query),
    "/supplierinvoices/{creditInvoiceId}/offsetcandidates": lambda company, params, _query: offset_candidates(
        company, params
    ),
    "/sie4export/{fromDate}/{toDate}": lambda company, params, _query: sie4_export(company, params),
    **{path: _print_reader(path) for path in PRINTS},
}
