"""The demo company's own settings (``GET /companysettings``): name, address, identifiers, defaults.

One ``CompanySettingsApi`` record in the ``companysettings`` collection. The ``Next*Number`` fields are
filled in when read (``reads_company``), since writes move them. Identifiers follow each country's
shape (Norwegian 9-digit organisation number, Swedish ``556xxx-xxxx``, Dutch 8-digit KvK number) and
the IBAN carries valid check digits; none of them belongs to a real company.
"""

from __future__ import annotations

from eaccounting_api import spec
from eaccounting_sandbox.demo_context import Ctx
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.store import Record

SETTINGS = "CompanySettingsApi"
STREETS = {"NO": "Storgata 1", "SE": "Storgatan 1", "NL": "Hoofdstraat 1"}
VAT_PERIODS = {"NO": "Bimonthly", "SE": "OnceAQuarter", "NL": "OnceAQuarter"}
BBAN_DIGITS = {"NO": 11, "SE": 20, "NL": 10}


def _digits(ctx: Ctx, count: int) -> str:
    return "".join(str(ctx.rng.randrange(10)) for _ in range(count))


def iban(country: str, bban: str) -> str:
    """An IBAN with correct check digits (ISO 13616: mod 97 of the rearranged number is 1)."""
    rearranged = bban + country + "00"
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return f"{country}{98 - number % 97:02d}{bban}"


def _identifiers(ctx: Ctx) -> dict[str, str | None]:
    code = ctx.profile.code
    if code == "SE":
        org = f"556{_digits(ctx, 3)}-{_digits(ctx, 4)}"
        return {"org": org, "vat": f"SE{org.replace('-', '')}01", "peppol": f"0007:{org.replace('-', '')}"}
    if code == "NL":
        kvk = _digits(ctx, 8)
        return {"org": kvk, "vat": f"NL{_digits(ctx, 9)}B01", "peppol": f"0106:{kvk}"}
    org = "9" + _digits(ctx, 8)
    return {"org": org, "vat": f"NO{org}MVA", "peppol": f"0192:{org}"}


def _name(ctx: Ctx) -> str:
    base = ctx.company.id.rsplit("-", 1)[0] if "-" in ctx.company.id else ctx.company.id
    return f"{base.replace('-', ' ').replace('_', ' ').title()} {ctx.profile.company_suffix}"


def settings(ctx: Ctx) -> Record:
    """Build and store the settings (after the reference data: terms, users, bank accounts)."""
    prof = ctx.profile
    ids = _identifiers(ctx)
    slug = ctx.company.id.lower()
    postal, city = prof.cities[0]
    bank = "DEMO" if prof.code == "NL" else ""  # Dutch BBANs start with a 4-letter bank code
    bban = bank + _digits(ctx, BBAN_DIGITS.get(prof.code, 11))

    def value(prop: str, label: str) -> int:
        return spec.enum_value(SETTINGS, prop, label)

    user = ctx.users[0]
    record = build(
        SETTINGS,
        Name=_name(ctx),
        Email=f"post@{slug}.example",
        Phone="+" + _digits(ctx, 10),
        Address1=STREETS.get(prof.code, STREETS["NO"]),
        CountryCode=prof.code,
        PostalCode=postal,
        City=city,
        Website=f"https://{slug}.example",
        OurReference=f"{user['FirstName']} {user['LastName']}",
        CurrencyCode=prof.currency,
        TermsOfPaymentId=ctx.terms_sales[2]["Id"],
        CorporateIdentityNumber=ids["org"],
        PeppolId=ids["peppol"],
        VatCode=ids["vat"],
        BankGiro="5050-1055" if prof.code == "SE" else None,
        BankAccount=ctx.bank_accounts[0]["Bban"],
        Iban=iban(prof.code, bban),
        AccountNumberDigits=4,
        # The oldest fiscal year is locked (demo.py); the lock runs to its last day.
        AccountingLockedTo=ctx.years[0]["EndDate"],
        AccountingLockInterval=value("AccountingLockInterval", "Year"),
        # Month 4, day 10: inside the spec's bounds, which swap Month (<= 31) and Day (<= 12).
        TaxDeclarationDate=build("TaxDeclarationDateApi", Month=4, Day=10),
        ProductVariant=value("ProductVariant", "Standard"),
        TypeOfBusiness=value("TypeOfBusiness", "Corporation"),
        VatPeriod=value("VatPeriod", VAT_PERIODS.get(prof.code, "OnceAQuarter")),
        ShowPricesExclVatPC=True,
        UsesCostCenter=True,
        UsesProject=True,
        UsesPaymentReferenceNumber=True,
        UsesSupplierInvoiceEdit=True,
        UseAutomaticVatCalculation=True,
        ApprovalSettings=build("ApprovalSettingsApi", UsesSupplierInvoiceApproval=True),
        CompanyStatus=value("CompanyStatus", "Active"),
        CompanyIdentifier=ctx.company.id,
        CompanyEmailForUpload=f"{slug}@inbox.example",
        VismaWebshopStatus=value("VismaWebshopStatus", "Enabled"),
        InvoicePrintSettingsType=value("InvoicePrintSettingsType", "CompanyNameAndFooter"),
        LatePaymentFee=35.0,
    )
    ctx.add("companysettings", SETTINGS, [record])
    return record
