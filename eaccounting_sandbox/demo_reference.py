"""Demo reference data: terms of payment, units, codings, users, currencies, banks, bank accounts, labels."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from eaccounting_api import spec
from eaccounting_sandbox.demo_context import Ctx
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
    """``build`` plus a fresh ``Id`` and the Created/Modified/Changed ``Utc`` stamps the schema has."""
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
                BankAccountType=spec.enum_value("BankAccountApi", "BankAccountType", kind),
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
            for n, (name, kind, desc) in enumerate(
                (
                    ("Driftskonto", "ChequeAccount", "Cheque account"),
                    ("Sparekonto", "SavingsAccount", "Savings account"),
                )
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
