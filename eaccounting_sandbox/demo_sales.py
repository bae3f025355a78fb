"""Demo sales data: customers, articles, customer invoices (rows, payments, vouchers), drafts, ledger items.

Customer invoices are the resource that scales to 1,000,000, so they are built from templates: one
shallow copy of a fully-populated invoice per record, a few fields set, rows copied from a small pool
of precomputed row sets. Nested objects that are the same for every invoice (``ContributionMargin``,
the VAT specification of a row set) are shared between records: the store never mutates a stored
object in place (writes replace whole records), so sharing is safe and saves gigabytes.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from eaccounting_sandbox.demo import BASE_CUSTOMER_INVOICES, Ctx, voucher
from eaccounting_sandbox.demo_schema import build, skeleton
from eaccounting_sandbox.demo_time import date_only, midnight_z
from eaccounting_sandbox.store import Record

FIRST_NAMES = (
    "Nordlys",
    "Fjord",
    "Vest",
    "Berg",
    "Skog",
    "Havn",
    "Elv",
    "Stein",
    "Lyng",
    "Vik",
    "Dal",
    "Fjell",
)
TRADES = ("Bygg", "Konsult", "Handel", "Transport", "Design", "Regnskap", "Elektro", "Rør", "Data", "Maskin")
ARTICLES = (
    ("Konsulenttime", 1150.0, True),
    ("Prosjektledelse", 1350.0, True),
    ("Installasjon", 890.0, True),
    ("Kabel 10 m", 249.0, False),
    ("Bryter", 129.0, False),
    ("Sikringsskap", 4590.0, False),
    ("Servicebesøk", 1490.0, True),
    ("Reisekostnader", 450.0, True),
    ("Lisens, årlig", 6000.0, True),
    ('Skjerm 27"', 3290.0, False),
    ("Tastatur", 690.0, False),
    ("Opplæring, dag", 9500.0, True),
)
ROW_SETS = 257


def generate(ctx: Ctx) -> None:
    _customers(ctx)
    _articles(ctx)
    _invoices(ctx)


def _customers(ctx: Ctx) -> None:
    prof, rng = ctx.profile, ctx.rng
    count = max(40, round(80 * max(1.0, ctx.scale) ** 0.5))
    customers = []
    for n in range(count):
        private = n % 7 == 6
        name = (
            f"{rng.choice(FIRST_NAMES)} {rng.choice(TRADES)} {prof.company_suffix}"
            if not private
            else f"Kari Nordmann {n}"
        )[:50]
        postal, city = prof.cities[n % len(prof.cities)]
        terms = ctx.terms_sales[n % len(ctx.terms_sales)]
        created = ctx.start + timedelta(days=rng.randrange(60))
        # Every ninth customer is abroad and invoiced in its own currency.
        currency, country, _ = prof.fx[(n // 9) % len(prof.fx)] if n % 9 == 4 else (prof.currency, prof.code, 1.0)
        customers.append(
            build(
                "CustomerApi",
                Id=ctx.ids.new("customer"),
                CustomerNumber=str(10000 + n),
                Name=name,
                InvoiceAddress1=f"Storgata {n + 1}",
                InvoicePostalCode=postal,
                InvoiceCity=city,
                InvoiceCountryCode=country,
                EmailAddress=f"faktura{n}@example.com",
                IsPrivatePerson=private,
                IsActive=n % 23 != 22,
                TermsOfPaymentId=terms["Id"],
                TermsOfPayment=dict(terms),
                CurrencyCode=currency,
                CorporateIdentityNumber=None if private else f"{900000000 + n * 37}",
                ChangedUtc=ctx.moment(created, n),
                SalesDocumentLanguage=prof.language,
            )
        )
    ctx.customers = ctx.add("customers", "CustomerApi", customers)
    for customer in customers[:5]:
        ctx.company.children["autoinvoicerecipients"][customer["Id"]] = [
            build(
                "AutoInvoiceAddressApi",
                Name=customer["Name"],
                ElectronicAddress=f"0192:{customer['CorporateIdentityNumber'] or '999999999'}",
                Address1=customer["InvoiceAddress1"],
                PostalCode=customer["InvoicePostalCode"],
                City=customer["InvoiceCity"],
                CountryCode=customer["InvoiceCountryCode"],
                CorporateIdentityNumber=customer["CorporateIdentityNumber"],
            )
        ]


def _articles(ctx: Ctx) -> None:
    articles = []
    for n, (name, price, service) in enumerate(ARTICLES):
        coding = ctx.codings[0 if service or n % 3 else 1]
        unit = ctx.units[0 if service else 1]
        created = ctx.moment(ctx.start + timedelta(days=n), n)
        articles.append(
            build(
                "ArticleApi",
                Id=ctx.ids.new("article"),
                Number=str(100 + n),
                Name=name,
                IsActive=True,
                NetPrice=price,
                NetPriceWithDiscount=price,
                GrossPrice=round(price * (1 + coding["VatRatePercent"]), 2),
                CodingId=coding["Id"],
                CodingName=coding["Name"],
                UnitId=unit["Id"],
                UnitName=unit["Name"],
                UnitAbbreviation=unit["Abbreviation"],
                PurchasePrice=round(price * 0.55, 2),
                IsStock=not service,
                IsServiceArticle=service,
                StockBalance=0.0 if service else 40.0,
                StockBalanceAvailable=0.0 if service else 40.0,
                CurrencyCode=ctx.profile.currency,
                CreatedUtc=created,
                ChangedUtc=created,
            )
        )
    ctx.articles = ctx.add("articles", "ArticleApi", articles)


def _row_sets(ctx: Ctx) -> list[tuple[list[Record], float, float, list[Record]]]:
    """Precomputed (rows, net total, VAT total, VAT specification) combinations."""
    rng, codings = ctx.rng, {c["Id"]: c for c in ctx.codings}
    sets = []
    margin = build("ContributionMarginApi", Amount=0.0, Percentage=0.0)
    for _ in range(ROW_SETS):
        rows: list[Record] = []
        net_total = 0.0
        vat_by_rate: dict[float, float] = {}
        for line in range(1 + rng.randrange(3)):
            article = rng.choice(ctx.articles)
            quantity = float(1 + rng.randrange(8))
            rate = codings[article["CodingId"]]["VatRatePercent"]
            net = round(article["NetPrice"] * quantity, 2)
            net_total += net
            vat_by_rate[rate] = vat_by_rate.get(rate, 0.0) + net
            row = skeleton("CustomerInvoiceRowApi")
            row.update(
                ArticleNumber=article["Number"],
                ArticleId=article["Id"],
                IsServiceArticle=article["IsServiceArticle"],
                AmountNoVat=net,
                PercentVat=rate,
                VatRate=rate,
                LineNumber=line,
                Text=article["Name"],
                UnitPrice=article["NetPrice"],
                UnitAbbreviation=article["UnitAbbreviation"],
                Quantity=quantity,
                UnitId=article["UnitId"],
                PurchasePrice=article["PurchasePrice"],
                Amount=net,
                ContributionMargin=margin,
            )
            rows.append(row)
        vat_spec = [
            build(
                "CustomerInvoiceVatApi",
                AmountInvoiceCurrency=round(amount, 2),
                VatAmountInvoiceCurrency=round(amount * rate, 2),
                VatPercent=rate,
            )
            for rate, amount in sorted(vat_by_rate.items())
        ]
        vat_total = round(sum(v["VatAmountInvoiceCurrency"] for v in vat_spec), 2)
        sets.append((rows, round(net_total, 2), vat_total, vat_spec))
    return sets


def customer_fields(ctx: Ctx, customer: Record) -> dict[str, Any]:
    return {
        "CustomerId": customer["Id"],
        "CustomerNumber": customer["CustomerNumber"],
        "CustomerName": customer["Name"],
        "InvoiceCustomerName": customer["Name"],
        "InvoiceAddress1": customer["InvoiceAddress1"],
        "InvoicePostalCode": customer["InvoicePostalCode"],
        "InvoiceCity": customer["InvoiceCity"],
        "InvoiceCountryCode": customer["InvoiceCountryCode"],
        "DeliveryCustomerName": customer["Name"],
        "DeliveryAddress1": customer["InvoiceAddress1"],
        "DeliveryPostalCode": customer["InvoicePostalCode"],
        "DeliveryCity": customer["InvoiceCity"],
        "DeliveryCountryCode": customer["InvoiceCountryCode"],
        "CustomerIsPrivatePerson": customer["IsPrivatePerson"],
        "TermsOfPaymentId": customer["TermsOfPaymentId"],
        "CustomerEmail": customer["EmailAddress"],
    }


def invoice_template(ctx: Ctx) -> Record:
    template = skeleton("CustomerInvoiceApi")
    template.update(
        CurrencyCode=ctx.profile.currency,
        CurrencyRate=1.0,
        CreatedByUserId=ctx.users[0]["Id"],
        IncludesVat=False,
        SendType=0,
        OurReference="Ola Nordmann",
    )
    return template


def _invoices(ctx: Ctx) -> None:  # noqa: PLR0915 - one flat hot loop is what makes 1M invoices fast
    """Customer invoices in invoice-number order over the three fiscal years, most of the older paid."""
    prof = ctx.profile
    count = ctx.scaled(BASE_CUSTOMER_INVOICES)
    template, row_sets = invoice_template(ctx), _row_sets(ctx)
    terms_days = {t["Id"]: t["NumberOfDays"] for t in ctx.terms_sales}
    # One template per customer, so each invoice is a single shallow copy plus its own fields.
    per_customer = [
        dict(template, **customer_fields(ctx, c), CurrencyCode=c["CurrencyCode"], CurrencyRate=prof.rate(c["CurrencyCode"]))
        for c in ctx.customers
    ]
    customer_rates = [prof.rate(c["CurrencyCode"]) for c in ctx.customers]
    customer_terms = [timedelta(days=terms_days[c["TermsOfPaymentId"]]) for c in ctx.customers]
    span = (ctx.today - ctx.start).days
    ids = ctx.ids.block("customerinvoice", count)
    row_ids = ctx.ids.prefix("customerinvoicerow")
    voucher_ids = ctx.ids.block("invoicevoucher", count)
    day_cache: dict[int, tuple[date, str]] = {}
    invoices: list[Record] = []
    append = invoices.append
    n_cust, n_sets = len(per_customer), len(row_sets)
    for i in range(count):
        offset = i * span // count
        cached = day_cache.get(offset)
        if cached is None:
            day = ctx.start + timedelta(days=offset)
            cached = day_cache[offset] = (day, midnight_z(day))
        day, day_z = cached
        customer = (i * 7919) % n_cust
        rows, net, vat, vat_spec = row_sets[(i * 104729) % n_sets]
        credit = i % 25 == 24
        sign = -1.0 if credit else 1.0
        total = round(sign * (net + vat), 2)
        due = day + customer_terms[customer]
        created = f"{day_z[:11]}{8 + i % 9:02d}:{i % 60:02d}:{(i * 7) % 60:02d}.{(i * 7919) % 10000000:07d}Z"
        inv = per_customer[customer].copy()
        new_rows = []
        for row in rows:
            copy = row.copy()
            copy["Id"] = (
                f"{row_ids}{(i >> 36) & 0xFFF:03x}-8{row['LineNumber']:03x}-{i & 0xFFFFFFFFFFFF:012x}"
            )
            if credit:
                copy["AmountNoVat"] = copy["Amount"] = -row["Amount"]
                copy["Quantity"] = -row["Quantity"]
            new_rows.append(copy)
        paid = (ctx.today - due).days > 20 and i % 11 != 3
        inv["Id"] = ids[i]
        inv["InvoiceNumber"] = i + 1
        inv["IsCreditInvoice"] = credit
        inv["Rows"] = new_rows
        inv["VatSpecification"] = vat_spec
        inv["InvoiceDate"] = day_z
        inv["DeliveryDate"] = day_z
        inv["DueDate"] = date_only(due)
        # Amounts in the invoice currency; TotalAmount/TotalVatAmount/RemainingAmount in the company's.
        rate = customer_rates[customer]
        inv["TotalAmountInvoiceCurrency"] = total
        inv["TotalVatAmountInvoiceCurrency"] = round(sign * vat, 2)
        inv["RemainingAmountInvoiceCurrency"] = 0.0 if paid else total
        if rate == 1.0:
            inv["TotalAmount"], inv["TotalVatAmount"] = total, inv["TotalVatAmountInvoiceCurrency"]
        else:
            inv["TotalAmount"], inv["TotalVatAmount"] = round(total * rate, 2), round(sign * vat * rate, 2)
        inv["RemainingAmount"] = 0.0 if paid else inv["TotalAmount"]
        inv["PaymentStatus"] = 0 if paid else (2 if due < ctx.today else 1)
        inv["PaymentReferenceNumber"] = f"{i + 1:08d}"
        inv["VoucherId"] = voucher_ids[i]
        inv["VoucherNumber"] = f"F{i + 1}"
        inv["CreatedUtc"] = created
        if paid:
            pay_day = due - timedelta(days=i % 5)
            inv["PaymentDate"] = midnight_z(pay_day)
            inv["ModifiedUtc"] = f"{midnight_z(pay_day)[:11]}{created[11:]}"
        else:
            inv["ModifiedUtc"] = created
        append(inv)
    ctx.add("customerinvoices", "CustomerInvoiceApi", invoices)
    ctx.company.counters["customerinvoice"] = count
    _invoice_vouchers_and_ledger(ctx, invoices, prof.receivables, prof.sales)


def _invoice_vouchers_and_ledger(ctx: Ctx, invoices: list[Record], receivables: int, sales: int) -> None:
    """The booking voucher of every invoice and a customer ledger item per invoice.

    Vouchers are built only for the base-scale invoices (at 1,000,000 invoices a voucher each would
    double generation time); the invoice's ``VoucherId`` of larger scales points at no stored voucher.
    """
    vat_account = ctx.profile.vat_rates[0].sales_account
    vouchers, ledger = [], []
    for inv in invoices[: BASE_CUSTOMER_INVOICES * 2]:
        day = date.fromisoformat(inv["InvoiceDate"][:10])
        total, vat = inv["TotalAmount"], inv["TotalVatAmount"]
        text = f"Faktura {inv['InvoiceNumber']}"
        rec = voucher(
            ctx,
            day,
            text,
            [
                (receivables, max(total, 0.0), max(-total, 0.0), text),
                (sales, max(-(total - vat), 0.0), max(total - vat, 0.0), text),
                (vat_account, max(-vat, 0.0), max(vat, 0.0), text),
            ],
            VoucherType=4,
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
                    VoucherType=5,
                    SourceId=inv["Id"],
                )
            )
    ctx.add("vouchers", "VoucherApi", vouchers)
    ctx.add("customerledgeritems", "CustomerLedgerItemApi", ledger)
