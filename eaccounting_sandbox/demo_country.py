"""Per-country bookkeeping facts for the demo companies: currency, VAT rates, chart of accounts.

These are public bookkeeping conventions (Norway's NS 4102 chart, Sweden's BAS chart, a Dutch
RGS-style chart) and the countries' VAT rates, not anything from Visma's spec.
"""

from __future__ import annotations

from dataclasses import dataclass

# Account types as eAccounting lists them under /accountTypes (type number -> description).
ACCOUNT_TYPES = {
    1: "Assets",
    2: "Equity and liabilities",
    3: "Revenue",
    4: "Cost of goods",
    5: "Other costs",
    6: "Financial items",
}


@dataclass(frozen=True)
class VatRate:
    code: str
    description: str
    rate: float  # fraction, 0.25 = 25 %
    sales_account: int  # output VAT account
    purchase_account: int  # input VAT account


@dataclass(frozen=True)
class CountryProfile:
    code: str
    currency: str
    language: str
    vat_rates: tuple[VatRate, ...]
    # (number, name, account type)
    accounts: tuple[tuple[int, str, int], ...]
    receivables: int
    payables: int
    bank: int
    sales: int
    purchases: int
    equity: int
    cities: tuple[tuple[str, str], ...]  # (postal code, city)
    company_suffix: str
    # Foreign customers: (currency, country code, units of base currency per unit), a demo snapshot.
    fx: tuple[tuple[str, str, float], ...] = ()

    def rate(self, currency: str | None) -> float:
        """Base-currency units per unit of ``currency`` (1.0 for the base currency or an unknown one)."""
        return next((rate for code, _, rate in self.fx if code == currency), 1.0)


_NO_ACCOUNTS = (
    (1200, "Maskiner og anlegg", 1),
    (1460, "Innkjøpte varer for videresalg", 1),
    (1500, "Kundefordringer", 1),
    (1570, "Andre kortsiktige fordringer", 1),
    (1900, "Kontanter", 1),
    (1920, "Bankinnskudd", 1),
    (1950, "Skattetrekkskonto", 1),
    (2000, "Aksjekapital", 2),
    (2050, "Annen egenkapital", 2),
    (2400, "Leverandørgjeld", 2),
    (2600, "Skattetrekk", 2),
    (2700, "Utgående merverdiavgift, høy sats", 2),
    (2701, "Utgående merverdiavgift, middels sats", 2),
    (2702, "Utgående merverdiavgift, lav sats", 2),
    (2710, "Inngående merverdiavgift, høy sats", 2),
    (2711, "Inngående merverdiavgift, middels sats", 2),
    (2740, "Oppgjørskonto merverdiavgift", 2),
    (3000, "Salgsinntekt, avgiftspliktig", 3),
    (3100, "Salgsinntekt, avgiftsfri", 3),
    (3200, "Salgsinntekt, utenfor avgiftsområdet", 3),
    (4000, "Innkjøp av råvarer og halvfabrikata", 4),
    (4300, "Innkjøp av varer for videresalg", 4),
    (5000, "Lønn til ansatte", 5),
    (6300, "Leie lokale", 5),
    (6540, "Inventar", 5),
    (6800, "Kontorrekvisita", 5),
    (6900, "Telefon", 5),
    (7100, "Bilgodtgjørelse", 5),
    (7770, "Bank- og kortgebyrer", 5),
    (8050, "Annen renteinntekt", 6),
    (8150, "Annen rentekostnad", 6),
)
_SE_ACCOUNTS = (
    (1220, "Inventarier och verktyg", 1),
    (1460, "Lager av handelsvaror", 1),
    (1510, "Kundfordringar", 1),
    (1910, "Kassa", 1),
    (1930, "Företagskonto", 1),
    (2081, "Aktiekapital", 2),
    (2091, "Balanserad vinst eller förlust", 2),
    (2440, "Leverantörsskulder", 2),
    (2610, "Utgående moms, 25 %", 2),
    (2620, "Utgående moms, 12 %", 2),
    (2630, "Utgående moms, 6 %", 2),
    (2640, "Ingående moms", 2),
    (2650, "Redovisningskonto för moms", 2),
    (3001, "Försäljning inom Sverige, 25 % moms", 3),
    (3002, "Försäljning inom Sverige, 12 % moms", 3),
    (3003, "Försäljning inom Sverige, 6 % moms", 3),
    (3004, "Försäljning inom Sverige, momsfri", 3),
    (4010, "Inköp material och varor", 4),
    (5010, "Lokalhyra", 5),
    (5410, "Förbrukningsinventarier", 5),
    (6110, "Kontorsmateriel", 5),
    (6212, "Mobiltelefon", 5),
    (6570, "Bankkostnader", 5),
    (7010, "Löner till kollektivanställda", 5),
    (8310, "Ränteintäkter", 6),
    (8410, "Räntekostnader", 6),
)
_NL_ACCOUNTS = (
    (100, "Inventaris", 1),
    (1100, "Bank", 1),
    (1000, "Kas", 1),
    (1300, "Debiteuren", 1),
    (1500, "Te betalen btw hoog", 2),
    (1510, "Te betalen btw laag", 2),
    (1520, "Te vorderen btw", 2),
    (1600, "Crediteuren", 2),
    (1700, "Afdracht btw", 2),
    (500, "Eigen vermogen", 2),
    (3000, "Voorraad handelsgoederen", 1),
    (4000, "Huisvestingskosten", 5),
    (4100, "Kantoorkosten", 5),
    (4200, "Bankkosten", 5),
    (4300, "Lonen en salarissen", 5),
    (7000, "Inkoopwaarde van de omzet", 4),
    (8000, "Omzet hoog tarief", 3),
    (8010, "Omzet laag tarief", 3),
    (8020, "Omzet vrijgesteld", 3),
    (9000, "Rentebaten", 6),
    (9100, "Rentelasten", 6),
)

PROFILES = {
    "NO": CountryProfile(
        code="NO",
        currency="NOK",
        language="nb",
        vat_rates=(
            VatRate("3", "Utgående mva, høy sats", 0.25, 2700, 2710),
            VatRate("31", "Utgående mva, middels sats", 0.15, 2701, 2711),
            VatRate("33", "Utgående mva, lav sats", 0.12, 2702, 2711),
            VatRate("5", "Innenlands omsetning, fritatt", 0.0, 2740, 2740),
        ),
        accounts=_NO_ACCOUNTS,
        receivables=1500,
        payables=2400,
        bank=1920,
        sales=3000,
        purchases=4300,
        equity=2050,
        cities=(("0150", "Oslo"), ("5003", "Bergen"), ("7010", "Trondheim"), ("4006", "Stavanger")),
        company_suffix="AS",
        fx=(("EUR", "DE", 11.5), ("SEK", "SE", 0.98)),
    ),
    "SE": CountryProfile(
        code="SE",
        currency="SEK",
        language="sv",
        vat_rates=(
            VatRate("MP1", "Försäljning 25 %", 0.25, 2610, 2640),
            VatRate("MP2", "Försäljning 12 %", 0.12, 2620, 2640),
            VatRate("MP3", "Försäljning 6 %", 0.06, 2630, 2640),
            VatRate("MF", "Momsfri försäljning", 0.0, 2650, 2650),
        ),
        accounts=_SE_ACCOUNTS,
        receivables=1510,
        payables=2440,
        bank=1930,
        sales=3001,
        purchases=4010,
        equity=2091,
        cities=(("11122", "Stockholm"), ("41103", "Göteborg"), ("21119", "Malmö"), ("75320", "Uppsala")),
        company_suffix="AB",
        fx=(("EUR", "FI", 11.3), ("NOK", "NO", 1.02)),
    ),
    "NL": CountryProfile(
        code="NL",
        currency="EUR",
        language="nl",
        vat_rates=(
            VatRate("H", "BTW hoog tarief", 0.21, 1500, 1520),
            VatRate("L", "BTW laag tarief", 0.09, 1510, 1520),
            VatRate("V", "BTW vrijgesteld", 0.0, 1700, 1700),
        ),
        accounts=_NL_ACCOUNTS,
        receivables=1300,
        payables=1600,
        bank=1100,
        sales=8000,
        purchases=7000,
        equity=500,
        cities=(
            ("1012 AB", "Amsterdam"),
            ("3011 AD", "Rotterdam"),
            ("3511 AX", "Utrecht"),
            ("2511 CV", "Den Haag"),
        ),
        company_suffix="B.V.",
        fx=(("SEK", "SE", 0.088), ("USD", "US", 0.92)),
    ),
}


def profile(country: str) -> CountryProfile:
    try:
        return PROFILES[country.upper()]
    except KeyError:
        raise ValueError(
            f"unsupported demo country {country!r}; choose one of {', '.join(PROFILES)}"
        ) from None
