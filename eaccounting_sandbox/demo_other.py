"""Demo data for the long tail: a few records for every remaining list endpoint."""

from __future__ import annotations

from datetime import timedelta

from eaccounting_api import spec
from eaccounting_sandbox.demo_context import Ctx, voucher
from eaccounting_sandbox.demo_reference import record
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import midnight_z


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
                Status=spec.enum_value("ProjectApi", "Status", "Finished" if n % 2 else "Ongoing"),
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


def _ledger_tail(ctx: Ctx) -> None:
    """Manual vouchers and drafts, inventory, VAT reports, allocation periods, over/under-payments."""
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
