"""Demo sales documents besides invoices: invoice drafts, orders, quotes and quote drafts, webshop orders."""

from __future__ import annotations

from datetime import timedelta

from eaccounting_sandbox.demo_context import Ctx, customer_fields
from eaccounting_sandbox.demo_reference import record
from eaccounting_sandbox.demo_schema import build
from eaccounting_sandbox.demo_time import midnight_z
from eaccounting_sandbox.store import Record


def generate(ctx: Ctx) -> None:
    invoice_drafts(ctx)
    sales_documents(ctx)


def invoice_drafts(ctx: Ctx) -> None:
    drafts = []
    for n in range(8):
        customer = ctx.customers[n * 3 % len(ctx.customers)]
        article = ctx.articles[n % len(ctx.articles)]
        day = ctx.today - timedelta(days=n + 1)  # stamps stay in the past
        row = build(
            "CustomerInvoiceDraftRowApi",
            Id=ctx.ids.new("draftrow"),
            LineNumber=0,
            ArticleId=article["Id"],
            ArticleNumber=article["Number"],
            IsServiceArticle=article["IsServiceArticle"],
            UnitId=article["UnitId"],
            Text=article["Name"],
            UnitPrice=article["NetPrice"],
            Quantity=2.0,
            Amount=article["NetPrice"] * 2,
            UnitAbbreviation=article["UnitAbbreviation"],
            VatRate=0.25,
        )
        fields = customer_fields(ctx, customer)
        drafts.append(
            build(
                "CustomerInvoiceDraftApi",
                Id=ctx.ids.new("customerinvoicedraft"),
                CustomerId=customer["Id"],
                CreatedUtc=ctx.moment(day, n),
                Rows=[row],
                InvoiceCustomerName=customer["Name"],
                InvoiceAddress1=fields["InvoiceAddress1"],
                InvoicePostalCode=fields["InvoicePostalCode"],
                InvoiceCity=fields["InvoiceCity"],
                InvoiceCountryCode=fields["InvoiceCountryCode"],
                InvoiceCurrencyCode=ctx.profile.currency,
                TermsOfPaymentId=customer["TermsOfPaymentId"],
                InvoiceDate=midnight_z(day),
                TotalAmount=round(article["NetPrice"] * 2 * 1.25, 2),
                TotalVatAmount=round(article["NetPrice"] * 2 * 0.25, 2),
                CustomerNumber=customer["CustomerNumber"],
                CustomerName=customer["Name"],
                CustomerIsPrivatePerson=customer["IsPrivatePerson"],
            )
        )
    ctx.add("customerinvoicedrafts", "CustomerInvoiceDraftApi", drafts)


def sales_documents(ctx: Ctx) -> None:
    customers, prof = ctx.customers, ctx.profile
    margin = build("ContributionMarginApi", Amount=0.0, Percentage=0.0)
    common = {"CurrencyCode": prof.currency, "ContributionMargin": margin}
    orders: list[Record] = []
    quotes: list[Record] = []
    drafts: list[Record] = []
    webshop: list[Record] = []
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
