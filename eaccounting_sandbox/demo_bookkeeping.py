"""Bookkeeping behind the demo's customer invoices: booking vouchers, ledger items, payments."""

from __future__ import annotations

from datetime import date

from eaccounting_sandbox.demo_context import BASE_CUSTOMER_INVOICES, Ctx, voucher
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import midnight_z
from eaccounting_sandbox.enum_values import invoice_voucher_type, payment_voucher_type
from eaccounting_sandbox.store import Record


def book_invoices(ctx: Ctx, invoices: list[Record], receivables: int, sales: int) -> None:
    """The booking voucher, the customer ledger item and (for paid ones) the payment of each invoice.

    Only the first 1,000 invoices get them (at 1,000,000 invoices a voucher each would double the
    generation time); beyond that an invoice's ``VoucherId`` points at no stored voucher. Balances
    (``/accountbalances``) therefore follow the first 1,000 invoices only.
    """
    vat_account = ctx.profile.vat_rates[0].sales_account
    vouchers, ledger = [], []
    for inv in invoices[: BASE_CUSTOMER_INVOICES * 2]:
        day = date.fromisoformat(inv["InvoiceDate"][:10])
        total, vat = inv["TotalAmount"], inv["TotalVatAmount"]
        net = round(total - vat, 2)  # 2 decimals, like every amount the API sends (no float noise)
        text = f"Faktura {inv['InvoiceNumber']}"
        rec = voucher(
            ctx,
            day,
            text,
            [
                (receivables, max(total, 0.0), max(-total, 0.0), text),
                (sales, max(-net, 0.0), max(net, 0.0), text),
                (vat_account, max(-vat, 0.0), max(vat, 0.0), text),
            ],
            VoucherType=invoice_voucher_type(credit=inv["IsCreditInvoice"]),
            SourceId=inv["Id"],
        )
        rec["Id"] = inv["VoucherId"]
        vouchers.append(rec)
        ledger.append(
            build(
                "CustomerLedgerItemApi",
                Id=ctx.ids.new("customerledgeritem"),
                CurrencyCode=inv["CurrencyCode"],
                CurrencyRate=inv["CurrencyRate"],
                CurrencyRateUnit=1,
                CustomerId=inv["CustomerId"],
                DueDate=inv["DueDate"],
                InvoiceDate=inv["InvoiceDate"],
                InvoiceNumber=inv["InvoiceNumber"],
                IsCreditInvoice=inv["IsCreditInvoice"],
                ModifiedUtc=inv["ModifiedUtc"],
                PaymentReferenceNumber=inv["PaymentReferenceNumber"],
                RemainingAmountInvoiceCurrency=inv["RemainingAmountInvoiceCurrency"],
                TotalAmountInvoiceCurrency=inv["TotalAmountInvoiceCurrency"],
                VATAmountInvoiceCurrency=inv["TotalVatAmountInvoiceCurrency"],
                VoucherId=inv["VoucherId"],
            )
        )
        if inv["PaymentDate"] and len(ctx.company.payments) < BASE_CUSTOMER_INVOICES:
            pay_day = date.fromisoformat(inv["PaymentDate"][:10])
            ctx.company.payments[inv["Id"]] = [
                build(
                    "InvoicePaymentApi",
                    CompanyBankAccountId=ctx.bank_accounts[0]["Id"],
                    PaymentDate=midnight_z(pay_day),
                    Reference=inv["PaymentReferenceNumber"],
                    PaymentAmount=inv["TotalAmountInvoiceCurrency"],
                    PaymentCurrency=inv["CurrencyCode"],
                    DomesticPaymentAmount=total,
                    PaymentType=2,
                    BankTransactionId=ctx.ids.new("paymenttx"),
                )
            ]
            pay_text = f"Innbetaling faktura {inv['InvoiceNumber']}"
            vouchers.append(
                voucher(
                    ctx,
                    pay_day,
                    pay_text,
                    [
                        (ctx.profile.bank, max(total, 0.0), max(-total, 0.0), pay_text),
                        (receivables, max(-total, 0.0), max(total, 0.0), pay_text),
                    ],
                    VoucherType=payment_voucher_type(customer=True),
                    SourceId=inv["Id"],
                )
            )
    ctx.add("vouchers", "VoucherApi", vouchers)
    ctx.add("customerledgeritems", "CustomerLedgerItemApi", ledger)
