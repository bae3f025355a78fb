"""Demo purchase data: suppliers, supplier invoices and drafts, bank transactions."""

from __future__ import annotations

from datetime import date, timedelta

from eaccounting_sandbox.demo_context import Ctx
from eaccounting_sandbox.demo_reference import record
from eaccounting_sandbox.demo_schema import build, skeleton
from eaccounting_sandbox.demo_time import date_only, midnight_z
from eaccounting_sandbox.enum_values import SUPPLIER_INVOICE, payment_status
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


def _supplier_invoices(ctx: Ctx) -> None:  # noqa: PLR0915 - one flat hot loop keeps 300,000 invoices fast
    """Supplier invoices; credit and unpaid ones carry a negative ``RemainingAmount``
    (docs/API_FACTS.md#derived-fields)."""
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
    voucher_ids = ctx.ids.block("supplierinvoicevoucher", count)
    row_prefix = ctx.ids.prefix("supplierinvoicerow")
    # Templates per supplier and per row kind: one shallow copy per record keeps 300,000 invoices fast.
    per_supplier = [
        dict(template, SupplierId=s["Id"], SupplierName=s["Name"], SupplierNumber=s["SupplierNumber"])
        for s in ctx.suppliers
    ]
    cost_row = skeleton("SupplierInvoiceRowApi")
    cost_row.update(VatCodeId=vat_code, LineNumber=0)
    vat_row = skeleton("SupplierInvoiceRowApi")
    vat_row.update(AccountNumber=vat_rate.purchase_account, LineNumber=1, TransactionText="Inngående mva")
    # Supplier invoices number their statuses apart from customer invoices (3 = Unpaid, 6 = Paid, ...).
    paid_status, unpaid, overdue = (
        payment_status(SUPPLIER_INVOICE, paid=paid, overdue=late)
        for paid, late in ((True, False), (False, False), (False, True))
    )
    days: dict[int, tuple[date, str, str, str, str]] = {}
    invoices = []
    n_suppliers, n_costs = len(per_supplier), len(costs)
    for i in range(count):
        offset = i * span // count
        cached = days.get(offset)
        if cached is None:
            day = ctx.start + timedelta(days=offset)
            due = day + timedelta(days=30)
            cached = days[offset] = (
                due,
                midnight_z(day),
                date_only(due),
                date_only(due - timedelta(days=1)),
                midnight_z(due),
            )
        due, day_z, due_only, paid_on, due_z = cached
        credit = i % 20 == 19
        net = float(200 + (i * 7919) % 9800)
        vat = round(net * vat_rate.rate, 2)
        total = round(net + vat, 2)
        paid = (ctx.today - due).days > 10 and i % 9 != 4
        if credit:
            total, vat, net = -total, -vat, -net
        # The live API sends RemainingAmount negative on supplier invoices (docs/API_FACTS.md#derived-fields).
        remaining = 0.0 if paid else -abs(total)
        inv = per_supplier[i % n_suppliers].copy()
        clock = f"T{8 + i % 9:02d}:{i % 60:02d}:{(i * 13) % 60:02d}.{(i * 7919) % 10000000:07d}Z"
        inv["Id"] = ids[i]
        inv["InvoiceDate"] = day_z
        inv["DueDate"] = due_only
        inv["InvoiceNumber"] = f"S{100000 + i}"
        inv["Number"] = i + 1
        inv["TotalAmount"] = total
        inv["Vat"] = inv["VatHigh"] = vat
        inv["IsCreditInvoice"] = credit
        inv["OcrNumber"] = f"{700000 + i}"
        inv["RemainingAmount"] = inv["RemainingAmountInvoiceCurrency"] = remaining
        inv["PaymentStatus"] = paid_status if paid else (overdue if due < ctx.today else unpaid)
        inv["PaymentDate"] = paid_on if paid else None
        inv["VoucherNumber"] = f"L{i + 1}"
        inv["VoucherId"] = voucher_ids[i]
        inv["CreatedUtc"] = day_z[:10] + clock
        inv["ModifiedUtc"] = (due_z if paid else day_z)[:10] + clock
        inv["Rows"] = [
            dict(
                cost_row,
                Id=f"{row_prefix}000-8000-{2 * i:012x}",
                AccountNumber=costs[i % n_costs],
                DebetAmount=max(net, 0.0),
                CreditAmount=max(-net, 0.0),
                TransactionText=inv["SupplierName"],
            ),
            dict(
                vat_row,
                Id=f"{row_prefix}000-8000-{2 * i + 1:012x}",
                DebetAmount=max(vat, 0.0),
                CreditAmount=max(-vat, 0.0),
            ),
        ]
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
