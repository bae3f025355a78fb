"""Writes for sales documents: invoice drafts (+ convert) and customer invoices.

A created invoice gets the next ``InvoiceNumber``, its totals and VAT specification from the rows, a
date-only ``DueDate`` from the terms of payment, a booking voucher (visible in ``/vouchers``) and a
customer ledger item. Payments are in ``writes_payments.py``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eaccounting_sandbox.demo_country import profile
from eaccounting_sandbox.demo_schema import build, skeleton, vat_specification
from eaccounting_sandbox.demo_time import date_only, midnight_z
from eaccounting_sandbox.enum_values import CUSTOMER_INVOICE, invoice_voucher_type, payment_status
from eaccounting_sandbox.store import Company, Record
from eaccounting_sandbox.validation import field_failure, validate_body, writable
from eaccounting_sandbox.write_support import (
    Handler,
    book_voucher,
    check_fiscal_year,
    compose,
    document_day,
    new_id,
    path_param,
    reference,
    require,
    stamp_fields,
    utc_today,
)

CUSTOMER_FIELDS = {
    "CustomerNumber": "CustomerNumber",
    "CustomerName": "Name",
    "InvoiceCustomerName": "Name",
    "InvoiceAddress1": "InvoiceAddress1",
    "InvoiceAddress2": "InvoiceAddress2",
    "InvoicePostalCode": "InvoicePostalCode",
    "InvoiceCity": "InvoiceCity",
    "InvoiceCountryCode": "InvoiceCountryCode",
    "CustomerIsPrivatePerson": "IsPrivatePerson",
    "CustomerEmail": "EmailAddress",
    # Derived from the customer whatever the client sends (docs/API_FACTS.md#derived-fields).
    "ReverseChargeOnConstructionServices": "ReverseChargeOnConstructionServices",
}


def _priced_rows(
    company: Company, given_rows: list[dict[str, Any]], row_schema: str, credit: bool
) -> tuple[list[Record], float, dict[float, float]]:
    """Rows with article data and amounts filled in; (rows, net total, net per VAT rate)."""
    codings = {c["Id"]: c for c in company.collection("articleaccountcodings").items}
    rows: list[Record] = []
    net_total = 0.0
    per_rate: dict[float, float] = {}
    for index, given in enumerate(given_rows):
        row = skeleton(row_schema)
        row.update(writable(row_schema, given))
        row["Id"] = new_id()
        row["LineNumber"] = index
        article_id = given.get("ArticleId")
        if article_id:
            article = reference(company, "articles", article_id, f"Rows[{index}].ArticleId")
            quantity = float(given.get("Quantity", 1.0) or 0.0)
            price = float(given["UnitPrice"]) if given.get("UnitPrice") is not None else article["NetPrice"]
            if credit and quantity > 0:
                quantity = -quantity
            net = round(price * quantity * (1 - float(given.get("DiscountPercentage") or 0.0)), 2)
            rate = (
                0.0
                if given.get("IsVatFree")
                else codings.get(article["CodingId"], {}).get("VatRatePercent", 0.0)
            )
            row.update(
                ArticleId=article["Id"],
                ArticleNumber=article["Number"],
                IsServiceArticle=article["IsServiceArticle"],
                Text=given.get("Text") or article["Name"],
                UnitPrice=price,
                Quantity=quantity,
                UnitId=article["UnitId"],
                UnitAbbreviation=article["UnitAbbreviation"],
                PurchasePrice=article["PurchasePrice"],
                VatRate=rate,
                Amount=net,
            )
            if "AmountNoVat" in row:
                row["AmountNoVat"] = net
                row["PercentVat"] = rate
            net_total += net
            per_rate[rate] = per_rate.get(rate, 0.0) + net
        elif "IsTextRow" in row:
            row["IsTextRow"] = True
        rows.append(row)
    return rows, round(net_total, 2), per_rate


def create_invoice(company: Company, values: dict[str, Any], raw: Any, draft: Record | None = None) -> Record:
    customer = reference(company, "customers", values.get("CustomerId"), "CustomerId")
    day = document_day(values.get("InvoiceDate"), "InvoiceDate")
    check_fiscal_year(company, day, raw, "InvoiceDate")
    terms = reference(
        company,
        "termsofpayments",
        values.get("TermsOfPaymentId") or customer["TermsOfPaymentId"],
        "TermsOfPaymentId",
    )
    credit = bool(values.get("IsCreditInvoice"))
    rows, net, per_rate = _priced_rows(company, values.get("Rows") or [], "CustomerInvoiceRowApi", credit)
    vat_spec, vat_fx = vat_specification(per_rate)
    total_fx = round(net + vat_fx, 2)
    # Rows are in the invoice (customer's) currency; TotalAmount, TotalVatAmount, RemainingAmount and the
    # booking voucher in the company's currency.
    prof = profile(company.country)
    currency = customer["CurrencyCode"] or company.base_currency
    fx_rate = float(values.get("CurrencyRate") or prof.rate(currency))
    total, vat = round(total_fx * fx_rate, 2), round(vat_fx * fx_rate, 2)
    net = round(total - vat, 2)
    due = document_day(values.get("DueDate"), "DueDate", day + timedelta(days=terms["NumberOfDays"]))
    number = company.next_number("customerinvoice")
    invoice_id = new_id()
    text = f"Faktura {number}"
    entry = book_voucher(
        company,
        {
            "VoucherDate": midnight_z(day),
            "VoucherText": text,
            "Rows": [
                {
                    "AccountNumber": prof.receivables,
                    "DebitAmount": max(total, 0.0),
                    "CreditAmount": max(-total, 0.0),
                },
                {"AccountNumber": prof.sales, "DebitAmount": max(-net, 0.0), "CreditAmount": max(net, 0.0)},
                {
                    "AccountNumber": prof.vat_rates[0].sales_account,
                    "DebitAmount": max(-vat, 0.0),
                    "CreditAmount": max(vat, 0.0),
                },
            ],
        },
        None,
        voucher_type=invoice_voucher_type(credit=credit),
        source_id=invoice_id,
    )
    server: dict[str, Any] = {f: customer[c] for f, c in CUSTOMER_FIELDS.items()}
    server.update(
        Id=invoice_id,
        InvoiceNumber=number,
        CustomerId=customer["Id"],
        TermsOfPaymentId=terms["Id"],
        CurrencyCode=currency,
        CurrencyRate=fx_rate,
        Rows=rows,
        VatSpecification=vat_spec,
        InvoiceDate=midnight_z(day),
        DueDate=date_only(due),
        TotalAmount=total,
        TotalAmountInvoiceCurrency=total_fx,
        TotalVatAmount=vat,
        TotalVatAmountInvoiceCurrency=vat_fx,
        RemainingAmount=total,
        RemainingAmountInvoiceCurrency=total_fx,
        PaymentStatus=payment_status(CUSTOMER_INVOICE, paid=False, overdue=due < utc_today()),
        PaymentReferenceNumber=f"{number:08d}",
        VoucherId=entry["Id"],
        VoucherNumber=entry["NumberAndNumberSeries"],
        CreatedFromDraftId=draft["Id"] if draft else values.get("CreatedFromDraftId"),
        IsCreditInvoice=credit,
    )
    invoice = compose("CustomerInvoiceApi", values, server)
    stamp_fields(company, invoice, created=True)
    company.collection("customerinvoices").add(invoice)
    company.collection("customerledgeritems").add(_ledger_item(invoice))
    return invoice


def _ledger_item(invoice: Record) -> Record:
    return build(
        "CustomerLedgerItemApi",
        Id=new_id(),
        CurrencyCode=invoice["CurrencyCode"],
        CurrencyRate=invoice["CurrencyRate"] or 1.0,
        CurrencyRateUnit=1,
        CustomerId=invoice["CustomerId"],
        DueDate=invoice["DueDate"],
        InvoiceDate=invoice["InvoiceDate"],
        InvoiceNumber=invoice["InvoiceNumber"],
        IsCreditInvoice=invoice["IsCreditInvoice"],
        ModifiedUtc=invoice["ModifiedUtc"],
        PaymentReferenceNumber=invoice["PaymentReferenceNumber"],
        RemainingAmountInvoiceCurrency=invoice["RemainingAmountInvoiceCurrency"],
        TotalAmountInvoiceCurrency=invoice["TotalAmountInvoiceCurrency"],
        VATAmountInvoiceCurrency=invoice["TotalVatAmountInvoiceCurrency"],
        VoucherId=invoice["VoucherId"],
    )


def post_invoice(company: Company, _p: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
    values = validate_body("CustomerInvoiceApi", body)
    draft = None
    if values.get("CreatedFromDraftId"):
        draft = reference(
            company, "customerinvoicedrafts", values["CreatedFromDraftId"], "CreatedFromDraftId"
        )
        if not values.get("Rows"):
            values["Rows"] = [_draft_row_as_invoice_row(r) for r in draft["Rows"] or []]
    invoice = create_invoice(company, values, body, draft)
    if draft is not None:
        company.collection("customerinvoicedrafts").remove_ids({draft["Id"]})
    return 201, invoice


# -- drafts ---------------------------------------------------------------------------------------
def _draft(company: Company, values: dict[str, Any], old: Record | None) -> Record:
    customer = reference(company, "customers", values.get("CustomerId"), "CustomerId")
    for index, row in enumerate(values.get("Rows") or []):
        if not row.get("IsTextRow") and not row.get("ArticleId"):
            raise field_failure(f"Rows[{index}].ArticleId", "ArticleId is required when IsTextRow is false.")
    credit = bool(values.get("IsCreditInvoice"))
    rows, net, per_rate = _priced_rows(
        company, values.get("Rows") or [], "CustomerInvoiceDraftRowApi", credit
    )
    vat = round(sum(amount * rate for rate, amount in per_rate.items()), 2)
    server = {f: customer[c] for f, c in CUSTOMER_FIELDS.items() if f in skeleton("CustomerInvoiceDraftApi")}
    server.update(
        Id=old["Id"] if old else new_id(),
        CustomerId=customer["Id"],
        Rows=rows,
        TotalAmount=round(net + vat, 2),
        TotalVatAmount=vat,
        TotalAmountBaseCurrency=round(net + vat, 2),
        TotalVatAmountBaseCurrency=vat,
        InvoiceCurrencyCode=customer["CurrencyCode"] or company.base_currency,
        TermsOfPaymentId=values.get("TermsOfPaymentId") or customer["TermsOfPaymentId"],
        CreatedUtc=old["CreatedUtc"] if old else company.clock.stamp(),
    )
    return compose("CustomerInvoiceDraftApi", values, server)


def post_draft(company: Company, _p: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
    draft = _draft(company, validate_body("CustomerInvoiceDraftApi", body), None)
    return 201, company.collection("customerinvoicedrafts").add(draft)


def put_draft(company: Company, params: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
    old = require(
        company, "customerinvoicedrafts", path_param(params, "customerInvoiceDraftId"), "Invoice draft"
    )
    draft = _draft(company, validate_body("CustomerInvoiceDraftApi", body), old)
    return 200, company.collection("customerinvoicedrafts").replace(old, draft)


def delete_draft(company: Company, params: dict[str, str], _q: dict[str, str], _b: Any) -> tuple[int, Any]:
    old = require(
        company, "customerinvoicedrafts", path_param(params, "customerInvoiceDraftId"), "Invoice draft"
    )
    company.collection("customerinvoicedrafts").remove_ids({old["Id"]})
    return 200, None


def _draft_row_as_invoice_row(row: Record) -> dict[str, Any]:
    keep = (
        "ArticleId",
        "Text",
        "UnitPrice",
        "DiscountPercentage",
        "Quantity",
        "ProjectId",
        "CostCenterItemId1",
    )
    return {k: row[k] for k in keep if row.get(k) is not None}


def convert_draft(
    company: Company, params: dict[str, str], query: dict[str, str], body: Any
) -> tuple[int, Any]:
    draft = require(
        company, "customerinvoicedrafts", path_param(params, "customerInvoiceDraftId"), "Invoice draft"
    )
    if body is not None:
        validate_body("CustomerInvoiceDraftValidationApi", body)
    keep_date = str(query.get("keepOriginalDraftDate", "false")).lower() == "true"
    invoice_fields = skeleton("CustomerInvoiceApi")
    values = {k: v for k, v in writable("CustomerInvoiceDraftApi", draft).items() if k in invoice_fields}
    values["Rows"] = [_draft_row_as_invoice_row(r) for r in draft["Rows"] or []]
    values["InvoiceDate"] = (
        draft["InvoiceDate"] if keep_date and draft["InvoiceDate"] else midnight_z(utc_today())
    )
    values.pop("DueDate", None)
    invoice = create_invoice(company, values, None, draft)
    company.collection("customerinvoicedrafts").remove_ids({draft["Id"]})
    return 201, invoice


SALES_HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "/customerinvoices"): post_invoice,
    ("POST", "/customerinvoicedrafts"): post_draft,
    ("PUT", "/customerinvoicedrafts/{customerInvoiceDraftId}"): put_draft,
    ("DELETE", "/customerinvoicedrafts/{customerInvoiceDraftId}"): delete_draft,
    ("POST", "/customerinvoicedrafts/{customerInvoiceDraftId}/convert"): convert_draft,
}
