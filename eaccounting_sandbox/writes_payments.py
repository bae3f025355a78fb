"""Payments on customer and supplier invoices.

A payment lowers ``RemainingAmount`` (supplier invoices count up from their negative remaining amount),
sets ``PaymentStatus``/``PaymentDate`` (``...T00:00:00Z`` on customer invoices, date-only on supplier
invoices, docs/API_FACTS.md#dates-and-timestamps) and bumps ``ModifiedUtc``. The API has no list of
payments, so a payment is visible to clients as: the invoice's amounts, a payment voucher in
``/vouchers`` (``SourceId`` = invoice id, VoucherType BankTransactionDeposit or, paying a supplier,
BankTransactionWithdrawal) and a matched bank transaction whose ``Id`` is the response's
``BankTransactionId``. A second POST of the same payment is booked again, as on the live API
(docs/API_FACTS.md#payments), unless the invoice is already fully paid.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from eaccounting_sandbox.demo_country import profile
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import date_only, midnight_z
from eaccounting_sandbox.enum_values import (
    CUSTOMER_INVOICE,
    SUPPLIER_INVOICE,
    payment_status,
    payment_voucher_type,
)
from eaccounting_sandbox.store import Company, Record
from eaccounting_sandbox.validation import field_failure, validate_body
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


def payment_handler(kind: str) -> Handler:
    collection = "customerinvoices" if kind == "customer" else "supplierinvoices"

    def handler(company: Company, params: dict[str, str], _q: dict[str, str], body: Any) -> tuple[int, Any]:
        invoice = require(company, collection, path_param(params, "invoiceId"), "Invoice")
        values = validate_body("InvoicePaymentApi", body)
        bank = reference(company, "bankaccounts", values.get("CompanyBankAccountId"), "CompanyBankAccountId")
        day = document_day(values.get("PaymentDate"), "PaymentDate")
        if day > utc_today():
            raise field_failure("PaymentDate", f"PaymentDate {day.isoformat()} is in the future.")
        check_fiscal_year(company, day, body, "PaymentDate")
        currency = invoice["CurrencyCode"] or company.base_currency
        if str(values["PaymentCurrency"]).upper() != currency.upper():
            raise field_failure(
                "PaymentCurrency", f"PaymentCurrency must be the invoice currency {currency}."
            )
        amount = round(float(values["PaymentAmount"]), 2)
        # Payments are in the invoice currency, so they count against RemainingAmountInvoiceCurrency.
        remaining = invoice["RemainingAmountInvoiceCurrency"]
        if amount == 0:
            raise field_failure("PaymentAmount", "PaymentAmount must not be zero.")
        if abs(remaining) < 0.005:
            raise field_failure("PaymentAmount", f"Invoice {invoice['Id']} is already fully paid.")
        # Customer invoices count down to 0; supplier invoices count up from a negative remaining amount.
        new_remaining = round(remaining - amount if kind == "customer" else remaining + amount, 2)
        return 201, _book_payment(
            company,
            kind,
            invoice=invoice,
            bank=bank,
            day=day,
            amount=amount,
            new_remaining=new_remaining,
            values=values,
        )

    return handler


def _book_payment(
    company: Company,
    kind: str,
    *,
    invoice: Record,
    bank: Record,
    day: date,
    amount: float,
    new_remaining: float,
    values: dict[str, Any],
) -> Record:
    prof = profile(company.country)
    label = invoice["InvoiceNumber"]
    text = f"{'Innbetaling' if kind == 'customer' else 'Utbetaling'} faktura {label}"
    counter = prof.receivables if kind == "customer" else prof.payables
    rate = float(invoice.get("CurrencyRate") or 1.0)
    domestic = round(float(values.get("DomesticPaymentAmount") or amount * rate), 2)
    signed = domestic if kind == "customer" else -domestic  # the ledger and the bank are in base currency
    book_voucher(
        company,
        {
            "VoucherDate": midnight_z(day),
            "VoucherText": text,
            "Rows": [
                {
                    "AccountNumber": bank["LedgerAccountNumber"],
                    "DebitAmount": max(signed, 0.0),
                    "CreditAmount": max(-signed, 0.0),
                },
                {
                    "AccountNumber": counter,
                    "DebitAmount": max(-signed, 0.0),
                    "CreditAmount": max(signed, 0.0),
                },
            ],
        },
        None,
        voucher_type=payment_voucher_type(customer=kind == "customer"),
        source_id=invoice["Id"],
    )
    tx_id = new_id()
    company.add_child(
        "banktransactions",
        bank["Id"],
        build(
            "BankTransactionApi",
            Id=tx_id,
            TransactionDate=midnight_z(day),
            IsReconciled=True,
            Reference=values.get("Reference") or text,
            OriginalAmount=amount if kind == "customer" else -amount,
            OriginalCurrency=values["PaymentCurrency"],
            TransactionAmount=signed,
            TransactionAmountCurrency=company.base_currency,
            ChargeCurrency=company.base_currency,
        ),
    )
    payment = compose(
        "InvoicePaymentApi",
        values,
        {
            "PaymentDate": midnight_z(day),
            "BankTransactionId": tx_id,
            "PaymentAmount": amount,
            "DomesticPaymentAmount": domestic,
        },
    )
    company.payments.setdefault(invoice["Id"], []).append(payment)
    paid = abs(new_remaining) < 0.005
    updated = dict(invoice)
    updated["RemainingAmountInvoiceCurrency"] = new_remaining
    updated["RemainingAmount"] = round(new_remaining * rate, 2)
    due = date.fromisoformat(str(invoice["DueDate"] or day.isoformat())[:10])
    updated["PaymentStatus"] = payment_status(
        CUSTOMER_INVOICE if kind == "customer" else SUPPLIER_INVOICE,
        paid=paid,
        overdue=due < utc_today(),
        partly=True,  # this payment made it at least partly paid
    )
    updated["PaymentDate"] = midnight_z(day) if kind == "customer" else date_only(day)
    stamp_fields(company, updated, created=False)
    collection = "customerinvoices" if kind == "customer" else "supplierinvoices"
    company.collection(collection).replace(invoice, updated)
    if kind == "customer":
        ledger = company.collection("customerledgeritems")
        for item in ledger.items:
            if (
                item["VoucherId"] == invoice["VoucherId"]
                and item["InvoiceNumber"] == invoice["InvoiceNumber"]
            ):
                ledger.replace(
                    item,
                    dict(
                        item, RemainingAmountInvoiceCurrency=new_remaining, ModifiedUtc=updated["ModifiedUtc"]
                    ),
                )
                break
    return payment


PAYMENT_HANDLERS: dict[tuple[str, str], Handler] = {
    ("POST", "/customerinvoices/{invoiceId}/payments"): payment_handler("customer"),
    ("POST", "/supplierinvoices/{invoiceId}/payments"): payment_handler("supplier"),
}
