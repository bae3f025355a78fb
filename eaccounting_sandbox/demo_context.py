"""What the demo generators share while one company is generated: ids, the context, voucher building.

``demo.generate_company`` creates a :class:`Ctx` and hands it to the generators (``demo_reference``,
``demo_sales``, ``demo_purchase``, ``demo_documents``, ``demo_other``); they import this module,
``demo_reference`` and the helpers below them (``demo_bookkeeping`` books the sales), never ``demo``.
"""

from __future__ import annotations

import random
import zlib
from datetime import date, datetime, timedelta
from typing import Any

from eaccounting_sandbox.demo_country import CountryProfile
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import midnight_z, stamp
from eaccounting_sandbox.store import Company, Record

BASE_CUSTOMER_INVOICES = 500


class Ids:
    """Deterministic, uuid-shaped ids: one counter per kind, distinct per company and seed."""

    def __init__(self, company_id: str, seed: int) -> None:
        self._tenant = (zlib.crc32(company_id.encode()) ^ (seed * 2654435761)) & 0xFFFFFFFF
        self._counters: dict[str, int] = {}

    def prefix(self, kind: str) -> str:
        return f"{self._tenant:08x}-{zlib.crc32(kind.encode()) & 0xFFFF:04x}-4"

    def new(self, kind: str) -> str:
        n = self._counters.get(kind, 0) + 1
        self._counters[kind] = n
        return (
            f"{self.prefix(kind)}{(n >> 48) & 0xFFF:03x}-8{(n >> 36) & 0xFFF:03x}-{n & 0xFFFFFFFFFFFF:012x}"
        )

    def reserve(self, kind: str, count: int) -> None:
        """Advance ``kind``'s counter by ``count`` (the caller formats those ids itself)."""
        self._counters[kind] = self._counters.get(kind, 0) + count

    def block(self, kind: str, count: int) -> list[str]:
        """``count`` new ids at once (the fast path for a million invoices)."""
        start = self._counters.get(kind, 0) + 1
        self._counters[kind] = start + count - 1
        head = self.prefix(kind)
        return [
            f"{head}{(n >> 48) & 0xFFF:03x}-8{(n >> 36) & 0xFFF:03x}-{n & 0xFFFFFFFFFFFF:012x}"
            for n in range(start, start + count)
        ]


class Ctx:
    """What the demo_* builders share while one company is generated."""

    def __init__(self, company: Company, seed: int, scale: float, prof: CountryProfile, today: date) -> None:
        self.company = company
        self.rng = random.Random(seed)  # noqa: S311 - seeded demo data, not cryptography
        self.scale = scale
        self.profile = prof
        self.today = today
        self.ids = Ids(company.id, seed)
        self.years: list[Record] = []
        self.vat_by_rate: dict[float, Record] = {}
        self.start = date(today.year - 2, 1, 1)
        # filled in by the builders, in generation order
        self.terms_sales: list[Record] = []
        self.terms_purchase: list[Record] = []
        self.units: list[Record] = []
        self.codings: list[Record] = []
        self.users: list[Record] = []
        self.customers: list[Record] = []
        self.articles: list[Record] = []
        self.suppliers: list[Record] = []
        self.bank_accounts: list[Record] = []
        self.projects: list[Record] = []

    def scaled(self, base: int) -> int:
        return max(1, round(base * self.scale))

    def moment(self, day: date, salt: int = 0) -> str:
        """A server timestamp during business hours of ``day`` (7 fractional digits)."""
        seconds = 8 * 3600 + (salt * 7919) % (9 * 3600)
        moment = datetime(day.year, day.month, day.day) + timedelta(
            seconds=seconds, microseconds=salt % 999983
        )
        return stamp(moment)

    def add(self, name: str, schema: str, records: list[Record]) -> list[Record]:
        self.company.collection(name, schema).extend(records)
        return records

    def day_between(self, start: date, end: date) -> date:
        return start + timedelta(days=self.rng.randrange((end - start).days + 1))


def voucher(
    ctx: Ctx, day: date, text: str, rows: list[tuple[int, float, float, str]], **extra: Any
) -> Record:
    """A balanced voucher (rows are (account, debit, credit, text))."""
    names = {n: name for n, name, _ in ctx.profile.accounts}
    number = ctx.company.next_number(f"voucher-{day.year}")
    created = ctx.moment(day, number)
    return build(
        "VoucherApi",
        Id=ctx.ids.new("voucher"),
        VoucherDate=midnight_z(day),
        VoucherText=text,
        Rows=[
            build(
                "VoucherRowApi",
                AccountNumber=acc,
                AccountDescription=names.get(acc),
                DebitAmount=debit,
                CreditAmount=credit,
                TransactionText=row_text[:60],
            )
            for acc, debit, credit, row_text in rows
        ],
        NumberAndNumberSeries=f"A{number}",
        NumberSeries="A",
        CreatedUtc=created,
        ModifiedUtc=created,
        **extra,
    )


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
