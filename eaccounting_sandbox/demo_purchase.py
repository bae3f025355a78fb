"""Demo purchase data: suppliers, supplier invoices and drafts, bank transactions."""

from __future__ import annotations

from datetime import date, timedelta

from eaccounting_sandbox.demo import Ctx
from eaccounting_sandbox.demo_other import record
from eaccounting_sandbox.demo_schema import build, skeleton
from eaccounting_sandbox.demo_time import date_only, midnight_z
from eaccounting_sandbox.store import Record

SUPPLIERS = (
    "Kontorland",
    "Telenor",
    "Strøm AS",
    "Husleie Eiendom",
    "Grossisten",
    "IT-Partner",
    "Frakt og Logistikk",
)
BASE_SUPPLIER_INVOICES = 150
BASE_BANK_TRANSACTIONS = 120


def generate(ctx: Ctx) -> None:
    _suppliers(ctx)
    _supplier_invoices(ctx)
    _supplier_drafts(ctx)
    _bank_transactions(ctx)


def _suppliers(ctx: Ctx) -> None:
    prof = ctx.profile
    suppliers = []
    for n, name in enumerate(SUPPLIERS):
        postal, city = prof.cities[n % len(prof.cities)]
        suppliers.append(
            record(
                ctx,
                "SupplierApi",
                "supplier",
                n,
                SupplierNumber=str(20000 + n),
                Name=name,
                Address1=f"Industriveien {n + 1}",
                PostalCode=postal[:10],
                City=city,
                CountryCode=prof.code,
                CurrencyCode=prof.currency,
                TermsOfPaymentId=ctx.terms_purchase[2]["Id"],
                IsActive=True,
                BankAccountNumber=f"1503.{10 + n}.12345",
                CorporateIdentityNumber=f"{910000000 + n * 41}",
                EmailAddress=f"post@{n}.example.com",
            )
        )
    ctx.suppliers = ctx.add("suppliers", "SupplierApi", suppliers)


def _supplier_invoices(ctx: Ctx) -> None:
    """Supplier invoices; credit invoices and unpaid ones carry a negative ``RemainingAmount`` (FACTS.md)."""
    prof = ctx.profile
    count = ctx.scaled(BASE_SUPPLIER_INVOICES)
    costs = [n for n, _, kind in prof.accounts if kind in (4, 5)]
    vat_rate = prof.vat_rates[0]
    vat_code = ctx.vat_by_rate[vat_rate.rate]["Id"]
    span = (ctx.today - ctx.start).days
    template = skeleton("SupplierInvoiceApi")
    template.update(
        CurrencyCode=prof.currency,
        CurrencyRate=1.0,
        IsDomestic=True,
        NumberSeries="L",
        BankAccountId=ctx.bank_accounts[0]["Id"],
        Status=1,
    )
    ids = ctx.ids.block("supplierinvoice", count)
    row_prefix = ctx.ids.prefix("supplierinvoicerow")
    invoices = []
    for i in range(count):
        supplier = ctx.suppliers[i % len(ctx.suppliers)]
        day = ctx.start + timedelta(days=i * span // count)
        due = day + timedelta(days=30)
        credit = i % 20 == 19
        net = float(200 + (i * 7919) % 9800)
        vat = round(net * vat_rate.rate, 2)
        total = round(net + vat, 2)
        paid = (ctx.today - due).days > 10 and i % 9 != 4
        if credit:
            total, vat, net = -total, -vat, -net
        # The live API reports RemainingAmount negative on supplier invoices (FACTS.md, "Derived fields").
        remaining = 0.0 if paid else -abs(total)
        inv = template.copy()
        account = costs[i % len(costs)]
        inv.update(
            Id=ids[i],
            SupplierId=supplier["Id"],
            SupplierName=supplier["Name"],
            SupplierNumber=supplier["SupplierNumber"],
            InvoiceDate=midnight_z(day),
            DueDate=date_only(due),
            InvoiceNumber=f"S{100000 + i}",
            Number=i + 1,
            TotalAmount=total,
            Vat=vat,
            VatHigh=vat,
            IsCreditInvoice=credit,
            OcrNumber=f"{700000 + i}",
            RemainingAmount=remaining,
            RemainingAmountInvoiceCurrency=remaining,
            PaymentStatus=0 if paid else (2 if due < ctx.today else 1),
            PaymentDate=date_only(due - timedelta(days=1)) if paid else None,
            VoucherNumber=f"L{i + 1}",
            VoucherId=ctx.ids.new("supplierinvoicevoucher"),
            CreatedUtc=ctx.moment(day, i),
            ModifiedUtc=ctx.moment(due if paid else day, i),
            Rows=[
                build(
                    "SupplierInvoiceRowApi",
                    Id=f"{row_prefix}000-8000-{2 * i:012x}",
                    AccountNumber=account,
                    DebetAmount=max(net, 0.0),
                    CreditAmount=max(-net, 0.0),
                    VatCodeId=vat_code,
                    LineNumber=0,
                    TransactionText=supplier["Name"],
                ),
                build(
                    "SupplierInvoiceRowApi",
                    Id=f"{row_prefix}000-8000-{2 * i + 1:012x}",
                    AccountNumber=vat_rate.purchase_account,
                    DebetAmount=max(vat, 0.0),
                    CreditAmount=max(-vat, 0.0),
                    LineNumber=1,
                    TransactionText="Inngående mva",
                ),
            ],
        )
        invoices.append(inv)
    ctx.add("supplierinvoices", "SupplierInvoiceApi", invoices)


def _supplier_drafts(ctx: Ctx) -> None:
    drafts = []
    for n in range(4):
        supplier = ctx.suppliers[n]
        day = ctx.today - timedelta(days=n + 1)
        drafts.append(
            record(
                ctx,
                "SupplierInvoiceDraftApi",
                "supplierdraft",
                n,
                SupplierId=supplier["Id"],
                SupplierName=supplier["Name"],
                SupplierNumber=supplier["SupplierNumber"],
                InvoiceDate=midnight_z(day),
                DueDate=date_only(day + timedelta(days=30)),
                InvoiceNumber=f"D{n + 1}",
                TotalAmount=1250.0,
                Vat=250.0,
                VatHigh=250.0,
                CurrencyCode=ctx.profile.currency,
                CurrencyRate=1.0,
                IsDomestic=True,
                CanBeApprovedByCurrentUser=n % 2 == 0,
                CanBeBookeptByCurrentUser=True,
                ApprovalStatus=n % 2,
                Rows=[
                    build(
                        "SupplierInvoiceDraftRowApi",
                        Id=ctx.ids.new("supplierdraftrow"),
                        AccountNumber=ctx.profile.purchases,
                        DebitAmount=1000.0,
                    )
                ],
            )
        )
    ctx.add("supplierinvoicedrafts", "SupplierInvoiceDraftApi", drafts)


def _bank_transactions(ctx: Ctx) -> None:
    """Bank transactions on the cheque account, most reconciled, the recent ones not yet."""
    account = ctx.bank_accounts[0]
    count = ctx.scaled(BASE_BANK_TRANSACTIONS)
    span = (ctx.today - ctx.start).days
    txs: list[Record] = ctx.company.children["banktransactions"][account["Id"]]
    for i in range(count):
        day: date = ctx.start + timedelta(days=i * span // count)
        amount = float(((i * 7919) % 20000) - 8000)
        txs.append(
            record(
                ctx,
                "BankTransactionApi",
                "banktransaction",
                i,
                TransactionDate=midnight_z(day),
                IsReconciled=(ctx.today - day).days > 20,
                Reference=f"Ref {i + 1}",
                OriginalAmount=amount,
                ChargeCurrency=ctx.profile.currency,
                TransactionAmount=amount,
                TransactionAmountCurrency=ctx.profile.currency,
                OriginalCurrency=ctx.profile.currency,
            )
        )
    savings = ctx.company.children["banktransactions"][ctx.bank_accounts[1]["Id"]]
    savings.append(
        record(
            ctx,
            "BankTransactionApi",
            "banktransaction",
            count,
            TransactionDate=midnight_z(ctx.today),
            IsReconciled=False,
            Reference="Renter",
            OriginalAmount=42.0,
            TransactionAmount=42.0,
            ChargeCurrency=ctx.profile.currency,
            TransactionAmountCurrency=ctx.profile.currency,
            OriginalCurrency=ctx.profile.currency,
        )
    )
