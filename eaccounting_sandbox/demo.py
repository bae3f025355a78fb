"""The deterministic demo company: a small business with three fiscal years, the oldest locked.

``generate_company(company_id, seed, scale, country)`` builds a :class:`~eaccounting_sandbox.store.Company`
whose every object validates against its spec schema (``tests/sandbox/test_domain_demo.py`` checks).
``scale`` multiplies the big resources (customer and supplier invoices, vouchers, bank transactions);
1,000,000 customer invoices take well under a minute (``bench/sandbox_generate_bench.py``).

Generation is deterministic for a given (company_id, seed, scale, country, today); ``today`` defaults to
the current UTC date, because fiscal years and "no payments in the future" are relative to it.
"""

from __future__ import annotations

import gc
from datetime import UTC, date, datetime

from eaccounting_sandbox import (
    demo_company,
    demo_documents,
    demo_other,
    demo_purchase,
    demo_reference,
    demo_sales,
)
from eaccounting_sandbox.demo_context import Ctx
from eaccounting_sandbox.demo_country import ACCOUNT_TYPES, profile
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import midnight_z
from eaccounting_sandbox.store import Company

# Only big companies are frozen out of the cyclic GC: freezing also pins whatever else is alive then.
FREEZE_FROM_SCALE = 20


def generate_company(
    company_id: str, seed: int, scale: float = 1.0, country: str = "NO", today: date | None = None
) -> Company:
    """Build the demo company (see the module docstring)."""
    prof = profile(country)
    today = today or datetime.now(UTC).date()
    company = Company(company_id, seed, prof.code, today)
    company.base_currency = prof.currency
    ctx = Ctx(company, seed, scale, prof, today)
    # Millions of new dicts would make the cyclic GC rescan the growing heap again and again; nothing
    # built here is cyclic. Afterwards the records move to the permanent generation (gc.freeze), so
    # the server's collections do not walk a million invoices either (big companies only).
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        _ledger(ctx)
        demo_reference.reference_data(ctx)
        demo_sales.generate(ctx)
        demo_purchase.generate(ctx)
        demo_documents.generate(ctx)
        demo_other.generate(ctx)
        # Last: it draws from ctx.rng, and every earlier generator's data stays as it was.
        demo_company.settings(ctx)
    finally:
        if was_enabled:
            gc.enable()
    company.clock.advance_past(_newest_stamp(company))
    if scale >= FREEZE_FROM_SCALE:
        gc.freeze()
    return company


def _newest_stamp(company: Company) -> str:
    newest = ""
    for coll in company.collections.values():
        for name in ("ModifiedUtc", "ChangedUtc", "CreatedUtc"):
            if coll.items and name in coll.items[0]:
                newest = max(newest, max((r[name] or "" for r in coll.items), default=""))
    return newest


def _ledger(ctx: Ctx) -> None:
    """Fiscal years (oldest locked), VAT codes, the chart of accounts per year, opening balances."""
    prof, year0 = ctx.profile, ctx.today.year - 2
    for offset in range(3):
        ctx.years.append(
            build(
                "FiscalYearApi",
                Id=ctx.ids.new("fiscalyear"),
                StartDate=midnight_z(date(year0 + offset, 1, 1)),
                EndDate=midnight_z(date(year0 + offset, 12, 31)),
                IsLockedForAccounting=offset == 0,
                BookkeepingMethod=0,
            )
        )
    ctx.add("fiscalyears", "FiscalYearApi", ctx.years)

    vatcodes = []
    for vat in prof.vat_rates:
        record = build(
            "VatCodeApi",
            Id=ctx.ids.new("vatcode"),
            Code=vat.code,
            Description=vat.description,
            VatRate=vat.rate,
        )
        record["RelatedAccounts"] = build(
            "RelatedAccounts", AccountNumber1=vat.sales_account, AccountNumber2=vat.purchase_account
        )
        vatcodes.append(record)
        ctx.vat_by_rate.setdefault(vat.rate, record)
    ctx.add("vatcodes", "VatCodeApi", vatcodes)
    ctx.add(
        "vatcodesrates",
        "VatCodeRateApi",
        [
            build(
                "VatCodeRateApi",
                Id=code["Id"],
                Code=code["Code"],
                Description=code["Description"],
                VatRates=[build("VatRateApi", VatRate=code["VatRate"], VatRateDate=midnight_z(ctx.start))],
                RelatedAccounts=dict(code["RelatedAccounts"]),
            )
            for code in vatcodes
        ],
    )

    sales_vat = vatcodes[0]["Id"]
    accounts = []
    for year in ctx.years:
        created = ctx.moment(ctx.start)
        for number, name, kind in prof.accounts:
            accounts.append(
                build(
                    "AccountApi",
                    Name=name,
                    Number=str(number),
                    FiscalYearId=year["Id"],
                    Type=kind,
                    TypeDescription=ACCOUNT_TYPES[kind],
                    VatCodeId=sales_vat if number == prof.sales else None,
                    VatCodeDescription=vatcodes[0]["Description"] if number == prof.sales else None,
                    IsActive=True,
                    AllowTransactionText=True,
                    IsProjectAllowed=kind >= 3,
                    IsCostCenterAllowed=kind >= 3,
                    CreatedUtc=created,
                    ModifiedUtc=created,
                )
            )
    ctx.add("accounts", "AccountApi", accounts)
    ctx.add(
        "accountTypes",
        "AccountTypesApi",
        [build("AccountTypesApi", Type=k, TypeDescription=v) for k, v in ACCOUNT_TYPES.items()],
    )
    ctx.add(
        "accounts/standardaccounts",
        "StandardAccountApi",
        [
            build("StandardAccountApi", AccountType=ACCOUNT_TYPES[k], AccountNumber=n)
            for n, _, k in prof.accounts
        ],
    )
    names = {n: name for n, name, _ in prof.accounts}
    opening: list[tuple[int, float]] = [(prof.bank, 250000.0), (prof.equity, -250000.0)]
    ctx.add(
        "fiscalyears/openingbalances",
        "OpeningBalancesApi",
        [build("OpeningBalancesApi", Name=names[n], Number=n, Balance=b) for n, b in opening],
    )
