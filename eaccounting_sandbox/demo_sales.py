"""Demo sales data: customers (some abroad), articles, customer invoices with rows.

Customer invoices are the resource that scales to 1,000,000, so they are built from templates: one
shallow copy of a fully-populated per-customer invoice per record, a few fields set, rows copied from a
small pool of precomputed row sets. Their vouchers, ledger items and payments: ``demo_bookkeeping.py``.
Nested objects that are the same for every invoice (``ContributionMargin``,
the VAT specification of a row set) are shared between records: the store never mutates a stored
object in place (writes replace whole records), so sharing is safe and saves gigabytes.
"""

from __future__ import annotations

from datetime import date, timedelta

from eaccounting_sandbox import demo_bookkeeping
from eaccounting_sandbox.demo_context import BASE_CUSTOMER_INVOICES, Ctx, customer_fields
from eaccounting_sandbox.demo_schema import build, skeleton, vat_specification
from eaccounting_sandbox.demo_time import date_only, midnight_z
from eaccounting_sandbox.enum_values import CUSTOMER_INVOICE, payment_status
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
        currency, country, _ = (
            prof.fx[(n // 9) % len(prof.fx)] if n % 9 == 4 else (prof.currency, prof.code, 1.0)
        )
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
        vat_spec, vat_total = vat_specification(vat_by_rate)
        sets.append((rows, round(net_total, 2), vat_total, vat_spec))
    return sets


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
    """Customer invoices in invoice-number order over the three fiscal years, most of the older paid.

    Everything that repeats (per day, per due date, per row set, per customer) is computed once and
    looked up; per invoice there is one dict copy, its row copies and a handful of assignments.
    """
    prof = ctx.profile
    count = ctx.scaled(BASE_CUSTOMER_INVOICES)
    if count >= 1 << 36:
        raise ValueError(f"scale {ctx.scale} gives more invoices than the id scheme allows")
    template, row_sets = invoice_template(ctx), _row_sets(ctx)
    terms_days = {t["Id"]: t["NumberOfDays"] for t in ctx.terms_sales}
    # One template per customer, so each invoice is a single shallow copy plus its own fields.
    per_customer = [
        dict(
            template,
            **customer_fields(ctx, c),
            CurrencyCode=c["CurrencyCode"],
            CurrencyRate=prof.rate(c["CurrencyCode"]),
        )
        for c in ctx.customers
    ]
    customer_rates = [prof.rate(c["CurrencyCode"]) for c in ctx.customers]
    customer_terms = [terms_days[c["TermsOfPaymentId"]] for c in ctx.customers]
    # Precomputed (rows, vat spec, total, vat) for debit and credit invoices of each row set.
    variants = [
        (
            (rows, spec, round(net + vat, 2), vat),
            ([_negated(r) for r in rows], spec, round(-(net + vat), 2), round(-vat, 2)),
        )
        for rows, net, vat, spec in row_sets
    ]
    span, today = (ctx.today - ctx.start).days, ctx.today
    # Ids as Ids.block would make them (n = 1..count, below 2**36 so the middle groups are zero).
    invoice_head = ctx.ids.prefix("customerinvoice") + "000-8000-"
    voucher_head = ctx.ids.prefix("invoicevoucher") + "000-8000-"
    row_heads = [f"{ctx.ids.prefix('customerinvoicerow')}000-8{line:03x}-" for line in range(4)]
    ctx.ids.reserve("customerinvoice", count)
    ctx.ids.reserve("invoicevoucher", count)
    clocks = [
        f"T{8 + k % 9:02d}:{k % 60:02d}:{(k * 7) % 60:02d}.{(k * 7919) % 10000000:07d}Z" for k in range(10007)
    ]
    paid_status = payment_status(CUSTOMER_INVOICE, paid=True, overdue=False)
    days: dict[int, tuple[date, str]] = {}
    dues: dict[tuple[int, int], tuple[str, int, bool, list[str]]] = {}
    invoices: list[Record] = []
    append = invoices.append
    n_cust, n_sets = len(per_customer), len(row_sets)
    for i in range(count):
        n = i + 1
        offset = i * span // count
        day_info = days.get(offset)
        if day_info is None:
            day = ctx.start + timedelta(days=offset)
            day_info = days[offset] = (day, midnight_z(day))
        day, day_z = day_info
        customer = (i * 7919) % n_cust
        due_key = (offset, customer_terms[customer])
        due_info = dues.get(due_key)
        if due_info is None:
            due = day + timedelta(days=customer_terms[customer])
            pays = [midnight_z(due - timedelta(days=k)) for k in range(5)]
            due_info = dues[due_key] = (
                date_only(due),
                payment_status(CUSTOMER_INVOICE, paid=False, overdue=due < today),
                (today - due).days > 20,
                pays,
            )
        due_only, open_status, old_enough, pays = due_info
        credit = i % 25 == 24
        rows, vat_spec, total, vat = variants[(i * 104729) % n_sets][credit]
        tail = f"{n:012x}"
        paid = old_enough and i % 11 != 3
        created = day_z[:10] + clocks[i % 10007]
        inv = per_customer[customer].copy()
        inv["Rows"] = [{**row, "Id": row_heads[line] + tail} for line, row in enumerate(rows)]
        inv["Id"] = invoice_head + tail
        inv["InvoiceNumber"] = n
        inv["IsCreditInvoice"] = credit
        inv["VatSpecification"] = vat_spec
        inv["InvoiceDate"] = inv["DeliveryDate"] = day_z
        inv["DueDate"] = due_only
        # Amounts in the invoice currency; TotalAmount/TotalVatAmount/RemainingAmount in the company's.
        inv["TotalAmountInvoiceCurrency"] = total
        inv["TotalVatAmountInvoiceCurrency"] = vat
        rate = customer_rates[customer]
        if rate == 1.0:
            inv["TotalAmount"], inv["TotalVatAmount"] = total, vat
        else:
            inv["TotalAmount"], inv["TotalVatAmount"] = round(total * rate, 2), round(vat * rate, 2)
        inv["PaymentReferenceNumber"] = f"{n:08d}"
        inv["VoucherId"] = voucher_head + tail
        inv["VoucherNumber"] = f"F{n}"
        inv["CreatedUtc"] = created
        if paid:
            inv["RemainingAmount"] = inv["RemainingAmountInvoiceCurrency"] = 0.0
            inv["PaymentStatus"] = paid_status
            pay_z = pays[i % 5]
            inv["PaymentDate"] = pay_z
            inv["ModifiedUtc"] = pay_z[:10] + created[10:]
        else:
            inv["RemainingAmountInvoiceCurrency"] = total
            inv["RemainingAmount"] = inv["TotalAmount"]
            inv["PaymentStatus"] = open_status
            inv["ModifiedUtc"] = created
        append(inv)
    ctx.add("customerinvoices", "CustomerInvoiceApi", invoices)
    ctx.company.counters["customerinvoice"] = count
    demo_bookkeeping.book_invoices(ctx, invoices, prof.receivables, prof.sales)


def _negated(row: Record) -> Record:
    """A credit-invoice row: the same row with negative quantity and amounts."""
    return dict(row, Quantity=-row["Quantity"], AmountNoVat=-row["AmountNoVat"], Amount=-row["Amount"])
