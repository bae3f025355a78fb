"""Company-level reads: the company's settings, currency exchange rates, supplier-invoice offset candidates.

``GET /companysettings`` answers the stored settings (``demo_company``) with the ``Next*Number`` fields
computed from the data, so they move as writes add customers, invoices and so on.
``GET /currencies/exchangerate`` answers from the company's own rates (the ones its foreign invoices
use, ``CountryProfile.fx``) and a fixed snapshot against the euro for other currencies; rates do not
change with the date, which is checked and echoed.
``GET /supplierinvoices/{creditInvoiceId}/offsetcandidates`` lists the supplier's open debit invoices
in the credit invoice's currency; ``RemainingAmount`` is the invoice's own (negative on supplier
invoices, docs/API_FACTS.md#derived-fields).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from eaccounting_sandbox.demo_country import profile
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import midnight_z
from eaccounting_sandbox.error_responses import bad_query, not_found
from eaccounting_sandbox.request_params import day_param, uuid_param
from eaccounting_sandbox.store import Company, Record

# Units per euro: a fixed demo snapshot for currencies a company has no rate of its own for.
UNITS_PER_EUR = {"EUR": 1.0, "NOK": 11.5, "SEK": 11.3, "DKK": 7.46, "USD": 1.08, "GBP": 0.85, "CHF": 0.95}


def _next(values: Iterable[Any]) -> int:
    return max((int(v) for v in values if str(v or "").isdigit()), default=0) + 1


def company_settings(company: Company) -> Record:
    stored = company.collection("companysettings").items
    if not stored:
        raise not_found("The company has no settings.")
    return dict(
        stored[0],
        NextCustomerNumber=_next(c["CustomerNumber"] for c in company.collection("customers").items),
        NextSupplierNumber=_next(s["SupplierNumber"] for s in company.collection("suppliers").items),
        NextCustomerInvoiceNumber=company.counters.get("customerinvoice", 0) + 1,
        NextQuoteNumber=_next(q["Number"] for q in company.collection("quotes").items),
        NextOrderNumber=_next(o["Number"] for o in company.collection("orders").items),
        NextArticleNumber=_next(a["Number"] for a in company.collection("articles").items),
    )


def _in_base(company: Company, code: str) -> float:
    """Units of the company's currency per unit of ``code``."""
    prof = profile(company.country)
    own = {currency: rate for currency, _, rate in prof.fx}
    if code == company.base_currency:
        return 1.0
    if code in own:
        return own[code]
    if code not in UNITS_PER_EUR:
        raise bad_query(f"The currency code '{code}' is not supported.")
    euro = 1.0 if company.base_currency == "EUR" else own.get("EUR", UNITS_PER_EUR[company.base_currency])
    return euro / UNITS_PER_EUR[code]


def exchange_rate(company: Company, query: Mapping[str, str]) -> Record:
    """Units of ``targetCurrencyCode`` per unit of ``sourceCurrencyCode`` on ``date`` (default today)."""
    codes = {}
    for name in ("sourceCurrencyCode", "targetCurrencyCode"):
        raw = (query.get(name) or "").strip().upper()
        if not raw:
            raise bad_query(f"The query parameter {name} is required.")
        codes[name] = raw
    day = day_param(query.get("date"), "date", company.today)
    source, target = codes["sourceCurrencyCode"], codes["targetCurrencyCode"]
    return build(
        "ExchangeRateApi",
        Date=midnight_z(day),
        SourceCurrency=source,
        TargetCurrency=target,
        Rate=round(_in_base(company, source) / _in_base(company, target), 6),
    )


def offset_candidates(company: Company, params: Mapping[str, str]) -> list[Record]:
    invoices = company.collection("supplierinvoices")
    credit_id = uuid_param(params.get("creditInvoiceId"), "Credit invoice")
    credit = invoices.get(credit_id)
    if credit is None:
        raise not_found(f"Credit invoice '{credit_id}' was not found.")
    if not credit["IsCreditInvoice"]:
        raise bad_query(f"Supplier invoice '{credit_id}' is not a credit invoice.")
    return [
        build(
            "SupplierInvoiceOffsetCandidateApi",
            InvoiceId=inv["Id"],
            InvoiceNumber=inv["InvoiceNumber"],
            InvoiceDate=inv["InvoiceDate"],
            SupplierName=inv["SupplierName"],
            RemainingAmount=inv["RemainingAmountInvoiceCurrency"],
            CurrencyCode=inv["CurrencyCode"],
        )
        for inv in invoices.items
        if inv["SupplierId"] == credit["SupplierId"]
        and not inv["IsCreditInvoice"]
        and inv["CurrencyCode"] == credit["CurrencyCode"]
        and abs(inv["RemainingAmountInvoiceCurrency"] or 0.0) >= 0.005
    ]
