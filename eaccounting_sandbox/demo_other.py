"""Demo reference data (terms, units, codings, currencies, ...) and a few records for every other list endpoint."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eaccounting_sandbox.demo import Ctx, voucher
from eaccounting_sandbox.demo_schema import build, properties
from eaccounting_sandbox.demo_time import midnight_z
from eaccounting_sandbox.store import Record

COUNTRIES = (
    ("NO", "Norge", "Norway", False),
    ("SE", "Sverige", "Sweden", True),
    ("DK", "Danmark", "Denmark", True),
    ("FI", "Suomi", "Finland", True),
    ("NL", "Nederland", "Netherlands", True),
    ("DE", "Deutschland", "Germany", True),
    ("GB", "United Kingdom", "United Kingdom", False),
)


def record(ctx: Ctx, schema: str, kind: str, n: int = 0, **values: Any) -> Record:
    """``build`` plus a fresh ``Id`` and every non-nullable ``*Utc`` timestamp set (when the schema has them)."""
    props = properties(schema)
    if "Id" in props and "Id" not in values:
        values["Id"] = ctx.ids.new(kind)
    moment = ctx.moment(ctx.start + timedelta(days=(n * 37) % 700), n)
    for name in props:
        if (
            name.endswith("Utc")
            and name not in values
            and name in ("CreatedUtc", "ModifiedUtc", "ChangedUtc")
        ):
            values[name] = moment
    return build(schema, **values)


def reference_data(ctx: Ctx) -> None:
    prof = ctx.profile
    terms = [
        ("10 dager netto", "10 days net", 10, 0),
        ("14 dager netto", "14 days net", 14, 0),
        ("30 dager netto", "30 days net", 30, 0),
        ("Kontant", "Cash", 0, 2),
    ]
    ctx.terms_sales = [
        record(
            ctx,
            "TermsOfPaymentApi",
            "terms",
            Name=name,
            NameEnglish=en,
            NumberOfDays=days,
            TermsOfPaymentTypeId=kind,
            TermsOfPaymentTypeText=en,
            AvailableForSales=True,
            AvailableForPurchase=True,
        )
        for name, en, days, kind in terms
    ]
    ctx.terms_purchase = ctx.terms_sales
    ctx.add("termsofpayments", "TermsOfPaymentApi", ctx.terms_sales)
    ctx.units = ctx.add(
        "units",
        "UnitApi",
        [
            record(ctx, "UnitApi", "unit", Name=name, Code=code, Abbreviation=abbr, AbbreviationEnglish=en)
            for name, code, abbr, en in (
                ("Timer", "HUR", "t", "h"),
                ("Stykk", "EA", "stk", "pcs"),
                ("Dager", "DAY", "d", "d"),
                ("Meter", "MTR", "m", "m"),
            )
        ],
    )
    codings = []
    for n, vat in enumerate(prof.vat_rates):
        codings.append(
            record(
                ctx,
                "ArticleAccountCodingApi",
                "coding",
                n,
                Name=f"{vat.description}",
                NameEnglish=vat.description,
                Type="Goods" if n else "Services",
                VatRate=f"{vat.rate * 100:g}%",
                IsActive=True,
                VatRatePercent=vat.rate,
                DomesticSalesSubjectToVatAccountNumber=prof.sales,
                DomesticSalesVatExemptAccountNumber=prof.sales + 100,
            )
        )
    ctx.codings = ctx.add("articleaccountcodings", "ArticleAccountCodingApi", codings)
    ctx.users = ctx.add(
        "users",
        "UserApi",
        [
            record(
                ctx,
                "UserApi",
                "user",
                Email=f"{first.lower()}@example.com",
                FirstName=first,
                LastName=last,
                IsActive=True,
                IsCurrentUser=n == 0,
                HasPurchaseInvoicesApprovalPermission=n == 0,
            )
            for n, (first, last) in enumerate((("Ola", "Nordmann"), ("Kari", "Hansen"), ("Per", "Olsen")))
        ],
    )
    ctx.add(
        "currencies",
        "CurrencyApi",
        [build("CurrencyApi", Code=c) for c in ("NOK", "SEK", "DKK", "EUR", "USD")],
    )
    ctx.add(
        "countries",
        "CountryApi",
        [
            build("CountryApi", Code=code, Name=name, NameEnglish=en, IsEuMember=eu)
            for code, name, en, eu in COUNTRIES
        ],
    )
    banks = ctx.add(
        "banks",
        "BankApi",
        [
            record(ctx, "BankApi", "bank", Name=name)
            for name in ("DNB", "Nordea", "SpareBank 1", "Handelsbanken")
        ],
    )
    ctx.add(
        "foreignpaymentcodes",
        "ForeignPaymentCodesApi",
        [
            record(ctx, "ForeignPaymentCodesApi", "fpc", Code=code, Description=text, CountryCode=prof.code)
            for code, text in ((14, "Import of goods"), (29, "Services"), (30, "Rent"))
        ],
    )
    ctx.add(
        "deliverymethods",
        "DeliveryMethodApi",
        [
            record(ctx, "DeliveryMethodApi", "delmethod", Name=name, NameEnglish=en, Code=code)
            for name, en, code in (
                ("Post", "Mail", "P"),
                ("Bud", "Courier", "B"),
                ("Henting", "Pick-up", "H"),
            )
        ],
    )
    ctx.add(
        "deliveryterms",
        "DeliveryTermApi",
        [
            record(ctx, "DeliveryTermApi", "delterm", Name=name, NameEnglish=name, Code=name, Editable=False)
            for name in ("EXW", "FCA", "DAP")
        ],
    )
    ctx.bank_accounts = ctx.add(
        "bankaccounts",
        "BankAccountApi",
        [
            record(
                ctx,
                "BankAccountApi",
                "bankaccount",
                n,
                Bank=banks[n]["Id"],
                BankAccountType=1 + n,
                BankAccountTypeDescription=desc,
                Bban=f"1234.56.{78901 + n}",
                Name=name,
                NameEnglish=name,
                IsActive=True,
                LedgerAccountNumber=prof.bank,
                IsDefaultChequeAccount=n == 0,
                CurrencyCode=prof.currency,
                Balance=build("BalanceAndDateApi", Balance=0.0, Date=midnight_z(ctx.today)),
            )
            for n, (name, desc) in enumerate(
                (("Driftskonto", "Cheque account"), ("Sparekonto", "Savings account"))
            )
        ],
    )
    for account in ctx.bank_accounts:
        ctx.company.children["banktransactions"][account["Id"]] = []
    centers = []
    for n, name in enumerate(("Avdeling", "Region")):
        center = record(ctx, "CostCenterApi", "costcenter", n, Name=name, Number=n + 1, IsActive=True)
        center["Items"] = [
            record(
                ctx,
                "CostCenterItemApi",
                "costcenteritem",
                k,
                CostCenterId=center["Id"],
                Name=f"{name} {k + 1}",
                ShortName=f"{name[:3].upper()}{k + 1}",
                IsActive=True,
            )
            for k in range(3)
        ]
        centers.append(center)
    ctx.add("costcenters", "CostCenterApi", centers)
    for name, schema in (("articlelabels", "ArticleLabelApi"), ("customerlabels", "CustomerLabelApi")):
        ctx.add(
            name,
            schema,
            [
                record(ctx, schema, name, Name=label, Description=f"{label} ({name[:-6]})")
                for label in ("Prioritet", "Kampanje", "Arkiv")
            ],
        )


def generate(ctx: Ctx) -> None:
    """The long tail: at least a few records for every remaining list endpoint."""
    prof, customers, articles = ctx.profile, ctx.customers, ctx.articles
    ctx.projects = ctx.add(
        "projects",
        "ProjectApi",
        [
            record(
                ctx,
                "ProjectApi",
                "project",
                n,
                Number=str(n + 1),
                Name=f"Prosjekt {n + 1}",
                StartDate=midnight_z(ctx.start + timedelta(days=30 * n)),
                CustomerId=customers[n]["Id"],
                CustomerName=customers[n]["Name"],
                Status=n % 2,
            )
            for n in range(5)
        ],
    )
    ctx.add(
        "discountagreements",
        "DiscountAgreementApi",
        [
            record(
                ctx,
                "DiscountAgreementApi",
                "discount",
                n,
                Name=f"Rabattavtale {n + 1}",
                Number=n + 1,
                IsActive=True,
            )
            for n in range(3)
        ],
    )
    lists = ctx.add(
        "salespricelists",
        "SalesPriceListApi",
        [
            record(
                ctx,
                "SalesPriceListApi",
                "pricelist",
                n,
                Name=name,
                Number=n + 1,
                CurrencyCode=prof.currency,
                IsStandard=n == 0,
                IsActive=True,
            )
            for n, name in enumerate(("Standard", "Forhandler"))
        ],
    )
    ctx.add(
        "salespricelists/prices",
        "SalesPriceListRowApi",
        [
            record(
                ctx,
                "SalesPriceListRowApi",
                "price",
                n,
                SalesPriceListId=plist["Id"],
                ArticleId=art["Id"],
                NetPrice=round(art["NetPrice"] * (1 - 0.1 * k), 2),
                GrossPrice=round(art["GrossPrice"] * (1 - 0.1 * k), 2),
                CurrencyCode=prof.currency,
            )
            for k, plist in enumerate(lists)
            for n, art in enumerate(articles)
        ],
    )
    _sales_documents(ctx)
    _ledger_tail(ctx)
    users = ctx.users
    threads = []
    messages = []
    for n in range(4):
        thread = record(
            ctx,
            "MessageThreadApi",
            "thread",
            n,
            DocumentType=1,
            DocumentNumber=str(n + 1),
            Subject=f"Spørsmål om faktura {n + 1}",
            IsClosed=n == 3,
        )
        for k in range(2):
            msg = record(
                ctx,
                "MessageApi",
                "message",
                n * 2 + k,
                Text=f"Melding {k + 1}",
                CreatedByUserId=users[k]["Id"],
                ModifiedByUserId=users[k]["Id"],
                MessageThreadId=thread["Id"],
            )
            messages.append(msg)
        thread["LastMessage"] = dict(messages[-1])
        threads.append(thread)
    ctx.add("messagethreads", "MessageThreadApi", threads)
    ctx.add("messagethreads/messages", "MessageApi", messages)
    ctx.add(
        "notes",
        "NoteApi",
        [
            record(
                ctx,
                "NoteApi",
                "note",
                n,
                AttachedTo=customers[n]["Id"],
                Text=f"Ring kunden ({n + 1})",
                Subject="Oppfølging",
                DocumentType=0,
                IsDone=n % 2 == 1,
            )
            for n in range(4)
        ],
    )
    ctx.add(
        "attachments",
        "Attachment",
        [
            record(
                ctx,
                "Attachment",
                "attachment",
                n,
                ContentType="application/pdf",
                FileName=f"kvittering{n + 1}.pdf",
                AttachedDocumentType=0,
                AttachmentStatus=n % 2,
                Type=1,
                CurrencyCode=prof.currency,
                AmountInvoiceCurrency=100.0 * (n + 1),
                ImageDate=midnight_z(ctx.today - timedelta(days=n)),
            )
            for n in range(4)
        ],
    )
    ctx.add(
        "backgrounds",
        "DocumentApi",
        [
            record(
                ctx,
                "DocumentApi",
                "document",
                n,
                ContentType="image/png",
                Name=f"bakgrunn{n + 1}.png",
                NameWithoutExtension=f"bakgrunn{n + 1}",
                Size=20480,
                Type=1,
                Title=f"Bakgrunn {n + 1}",
            )
            for n in range(2)
        ],
    )
    ctx.add(
        "salesdocumentattachments",
        "SalesDocumentAttachmentApi",
        [
            record(
                ctx,
                "SalesDocumentAttachmentApi",
                "salesattachment",
                n,
                DocumentType=n % 3,
                OriginalFilename=f"vedlegg{n + 1}.pdf",
                DocumentSize=1024 * (n + 1),
                CreatedBy="Ola Nordmann",
            )
            for n in range(3)
        ],
    )
    ctx.add(
        "partnerresourcelinks",
        "PartnerResourceLinkApi",
        [
            record(
                ctx,
                "PartnerResourceLinkApi",
                "partnerlink",
                n,
                ResourceId=customers[n]["Id"],
                ResourceType=1,
                Href=f"https://partner.example.com/customers/{n + 1}",
                PartnerCompanyName="Partner AS",
                PartnerSystemName="CRM",
            )
            for n in range(2)
        ],
    )
    ctx.add(
        "appstore/status",
        "AppStoreActivationStatusApi",
        [record(ctx, "AppStoreActivationStatusApi", "appstore", ActivationStatus=1)],
    )


def _sales_documents(ctx: Ctx) -> None:
    customers, prof = ctx.customers, ctx.profile
    margin = build("ContributionMarginApi", Amount=0.0, Percentage=0.0)
    common = {"CurrencyCode": prof.currency, "ContributionMargin": margin}
    orders, quotes, drafts, webshop = [], [], [], []
    for n in range(6):
        cust = customers[n]
        day = ctx.today - timedelta(days=3 * n)
        address = {
            "CustomerName": cust["Name"],
            "CustomerNumber": cust["CustomerNumber"],
            "InvoiceCustomerName": cust["Name"],
            "InvoiceAddress1": cust["InvoiceAddress1"],
            "InvoicePostalCode": cust["InvoicePostalCode"],
            "InvoiceCity": cust["InvoiceCity"],
            "InvoiceCountryCode": cust["InvoiceCountryCode"],
            "CustomerIsPrivatePerson": cust["IsPrivatePerson"],
        }
        orders.append(
            record(
                ctx,
                "OrderApi",
                "order",
                n,
                CustomerId=cust["Id"],
                Amount=1000.0 * (n + 1),
                VatAmount=250.0 * (n + 1),
                OrderDate=midnight_z(day),
                Status=1 + n % 4,
                Number=n + 1,
                **address,
                **common,
            )
        )
        for target, kind in ((quotes, "quote"), (drafts, "quotedraft")):
            target.append(
                record(
                    ctx,
                    "QuoteApi",
                    kind,
                    n,
                    CustomerId=cust["Id"],
                    TotalAmount=1250.0 * (n + 1),
                    VatAmount=250.0 * (n + 1),
                    QuoteDate=midnight_z(day),
                    DueDate=midnight_z(day + timedelta(days=30)),
                    Status=n % 3,
                    CurrencyRate=1.0,
                    Number=n + 1 if kind == "quote" else None,
                    TermsOfPayment=dict(ctx.terms_sales[0]),
                    **address,
                    **common,
                )
            )
        webshop.append(
            record(
                ctx,
                "WebshopOrderApi",
                "webshop",
                n,
                Name=cust["Name"],
                Number=str(n + 1),
                BaseCurrencyCode=prof.currency,
                OrderCurrencyCode=prof.currency,
                OrderDate=midnight_z(day),
                OrderNumber=f"WS-{n + 1}",
                TotalAmountBaseCurrency=499.0,
                TotalAmountOrderCurrency=499.0,
                CustomerCity=cust["InvoiceCity"],
                CustomerCountryCode=cust["InvoiceCountryCode"],
                EmailAddress=cust["EmailAddress"],
            )
        )
    ctx.add("orders", "OrderApi", orders)
    ctx.add("quotes", "QuoteApi", quotes)
    ctx.add("quotedrafts", "QuoteApi", drafts)
    ctx.add("webshoporders", "WebshopOrderApi", webshop[:3])


def _ledger_tail(ctx: Ctx) -> None:
    """Manual vouchers and drafts, inventory, VAT reports, allocation periods, over/under-payment relations."""
    prof, rng = ctx.profile, ctx.rng
    costs = [n for n, _, kind in prof.accounts if kind == 5]
    manual = []
    for n in range(ctx.scaled(60)):
        day = ctx.day_between(ctx.start, ctx.today)
        amount = float(100 * (1 + rng.randrange(80)))
        account = costs[n % len(costs)]
        text = f"Bilag {n + 1}"
        manual.append(
            voucher(
                ctx, day, text, [(account, amount, 0.0, text), (prof.bank, 0.0, amount, text)], VoucherType=2
            )
        )
    ctx.add("vouchers", "VoucherApi", manual)
    over = manual[:2]
    for n, rec in enumerate(over):
        ctx.company.children["voucherwithoverunderpayment"][rec["Id"]] = [
            build("LedgerVoucherRelationApi", Amount=12.5 * (n + 1), CustomerId=ctx.customers[n]["Id"])
        ]
    ctx.add(
        "voucherdrafts",
        "VoucherDraftApi",
        [
            record(
                ctx,
                "VoucherDraftApi",
                "voucherdraft",
                n,
                VoucherDate=midnight_z(ctx.today),
                VoucherText=f"Utkast {n}",
                NumberSeries="A",
                Rows=[
                    build("VoucherDraftRowApi", AccountNumber=costs[0], DebitAmount=50.0),
                    build("VoucherDraftRowApi", AccountNumber=prof.bank, CreditAmount=50.0),
                ],
            )
            for n in range(2)
        ],
    )
    ctx.add(
        "inventoryitems",
        "InventoryItemApi",
        [
            record(
                ctx,
                "InventoryItemApi",
                "inventory",
                n,
                Number=n + 1,
                Name=name,
                PurchasePrice=price,
                PurchaseDate=midnight_z(ctx.start + timedelta(days=40 * n)),
                CurrentValue=price * 0.8,
                DepreciationBasis=price,
                LifeSpanInMonths=36,
                Depreciate=True,
            )
            for n, (name, price) in enumerate((("Varebil", 350000.0), ("Server", 60000.0)))
        ],
    )
    ctx.add(
        "vatreports",
        "VatReportApi",
        [
            record(
                ctx,
                "VatReportApi",
                "vatreport",
                n,
                Name=f"MVA-melding {ctx.start.year + n // 6} termin {n % 6 + 1}",
                StartDate=midnight_z(ctx.start.replace(year=ctx.start.year + n // 6, month=2 * (n % 6) + 1)),
                EndDate=midnight_z(
                    ctx.start.replace(year=ctx.start.year + n // 6, month=2 * (n % 6) + 2, day=28)
                ),
                DocumentApprovalStatus=2,
                TotalAmount=1000.0 * (n + 1),
            )
            for n in range(8)
        ],
    )
    ctx.add(
        "allocationperiods",
        "AllocationPeriodApi",
        [
            record(
                ctx,
                "AllocationPeriodApi",
                "allocation",
                n,
                AllocationPeriodSourceType=0,
                Status=0,
                BookkeepingDate=midnight_z(ctx.today.replace(day=1)),
                DebitAccountNumber=costs[0],
                CreditAccountNumber=prof.payables,
                Amount=1000.0,
                Description="Periodisering husleie",
            )
            for n in range(2)
        ],
    )
