"""The print endpoints: a customer invoice, an order, its delivery note and a quote as a PDF.

The live API answers these with the PDF's bytes (``application/pdf``); the spec documents no body for
three of them and, for ``/quotes/{id}/print``, a ``CustomerInvoiceApi`` JSON body that does not match
what a print endpoint sends ("Print a quote as PDF"). The sandbox answers all four with a small valid
PDF (``minimal_pdf``) that names the document and lists what a reader checks: parties, dates, rows,
totals. ``GET /customerinvoices/{invoiceId}/pdf`` is different: it answers a JSON link (``reads``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from eaccounting_sandbox.demo_country import profile
from eaccounting_sandbox.error_responses import not_found
from eaccounting_sandbox.minimal_pdf import pdf_document
from eaccounting_sandbox.request_params import uuid_param
from eaccounting_sandbox.store import Company, Record

PDF = "application/pdf"
# Document titles in the company's language (the demo profiles' languages).
TITLES = {
    "nb": {
        "invoice": "Faktura",
        "credit": "Kreditnota",
        "order": "Ordre",
        "deliverynote": "Følgeseddel",
        "quote": "Tilbud",
    },
    "sv": {
        "invoice": "Faktura",
        "credit": "Kreditfaktura",
        "order": "Order",
        "deliverynote": "Följesedel",
        "quote": "Offert",
    },
    "nl": {
        "invoice": "Factuur",
        "credit": "Creditnota",
        "order": "Order",
        "deliverynote": "Pakbon",
        "quote": "Offerte",
    },
}


@dataclass(frozen=True)
class FileBody:
    """A response that is a file, not JSON."""

    media_type: str
    content: bytes
    filename: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Content-Disposition": f'inline; filename="{self.filename}"'}


def _day(value: Any) -> str:
    return str(value or "")[:10]


def _money(amount: Any, currency: Any) -> str:
    return f"{float(amount or 0.0):,.2f} {currency or ''}".strip()


def _party(doc: Record, prefix: str) -> list[str]:
    """Name and address lines of the invoice (``Invoice``) or delivery (``Delivery``) party."""
    name = doc.get(f"{prefix}CustomerName") or doc.get("CustomerName") or ""
    place = " ".join(str(doc.get(f"{prefix}{k}") or "") for k in ("PostalCode", "City")).strip()
    lines = [name, doc.get(f"{prefix}Address1") or "", doc.get(f"{prefix}Address2") or "", place]
    return [line for line in lines if line]


def _rows(doc: Record, currency: Any, *, prices: bool) -> list[str]:
    lines = []
    for row in doc.get("Rows") or []:
        text = row.get("Text") or row.get("ArticleNumber") or ""
        if row.get("IsTextRow"):
            lines.append(text)
            continue
        quantity = f"{float(row.get('Quantity') or 0.0):g} {row.get('UnitAbbreviation') or ''}".strip()
        price = f"  x {_money(row.get('UnitPrice'), currency)}  =  {_money(row.get('Amount'), currency)}"
        lines.append(f"{text}  {quantity}{price if prices else ''}")
    return lines


def _invoice(company: Company, doc: Record, titles: dict[str, str]) -> tuple[str, list[str], str]:
    currency = doc.get("CurrencyCode") or company.base_currency
    kind = "credit" if doc.get("IsCreditInvoice") else "invoice"
    lines = [
        *_party(doc, "Invoice"),
        "",
        f"{_day(doc.get('InvoiceDate'))} - {_day(doc.get('DueDate'))}",
        f"OCR / KID: {doc.get('PaymentReferenceNumber') or ''}",
        "",
        *_rows(doc, currency, prices=True),
        "",
        f"MVA / VAT: {_money(doc.get('TotalVatAmountInvoiceCurrency'), currency)}",
        f"Total: {_money(doc.get('TotalAmountInvoiceCurrency'), currency)}",
    ]
    return f"{titles[kind]} {doc.get('InvoiceNumber')}", lines, f"invoice-{doc.get('InvoiceNumber')}.pdf"


def _order(company: Company, doc: Record, titles: dict[str, str]) -> tuple[str, list[str], str]:
    currency = doc.get("CurrencyCode") or company.base_currency
    lines = [
        *_party(doc, "Invoice"),
        "",
        _day(doc.get("OrderDate")),
        "",
        *_rows(doc, currency, prices=True),
        "",
        f"MVA / VAT: {_money(doc.get('VatAmount'), currency)}",
        f"Total: {_money(doc.get('Amount'), currency)}",
    ]
    return f"{titles['order']} {doc.get('Number')}", lines, f"order-{doc.get('Number')}.pdf"


def _delivery_note(company: Company, doc: Record, titles: dict[str, str]) -> tuple[str, list[str], str]:
    lines = [
        *_party(doc, "Delivery"),
        "",
        f"{titles['order']} {doc.get('Number')}, {_day(doc.get('DeliveryDate') or doc.get('OrderDate'))}",
        "",
        *_rows(doc, None, prices=False),
    ]
    number = doc.get("Number")
    return f"{titles['deliverynote']} {number}", lines, f"deliverynote-{number}.pdf"


def _quote(company: Company, doc: Record, titles: dict[str, str]) -> tuple[str, list[str], str]:
    currency = doc.get("CurrencyCode") or company.base_currency
    lines = [
        *_party(doc, "Invoice"),
        "",
        f"{_day(doc.get('QuoteDate'))} - {_day(doc.get('DueDate'))}",
        "",
        *_rows(doc, currency, prices=True),
        "",
        f"MVA / VAT: {_money(doc.get('VatAmount'), currency)}",
        f"Total: {_money(doc.get('TotalAmount'), currency)}",
    ]
    return f"{titles['quote']} {doc.get('Number')}", lines, f"quote-{doc.get('Number')}.pdf"


Render = Callable[[Company, Record, dict[str, str]], tuple[str, list[str], str]]
# path -> (collection, path parameter, what it is, renderer)
PRINTS: dict[str, tuple[str, str, str, Render]] = {
    "/customerinvoices/{invoiceId}/print": ("customerinvoices", "invoiceId", "Customer invoice", _invoice),
    "/orders/{id}/print": ("orders", "id", "Order", _order),
    "/orders/{id}/deliverynote/print": ("orders", "id", "Order", _delivery_note),
    "/quotes/{id}/print": ("quotes", "id", "Quote", _quote),
}


def print_document(company: Company, path: str, params: Mapping[str, str]) -> FileBody:
    """The PDF of a print path (a key of ``PRINTS``); ``ApiError`` 404 for an unknown document."""
    collection, param, what, render = PRINTS[path]
    doc_id = uuid_param(params.get(param), what)
    doc = company.collection(collection).get(doc_id)
    if doc is None:
        raise not_found(f"{what} '{doc_id}' was not found.")
    settings = company.collection("companysettings").items
    titles = TITLES.get(profile(company.country).language, TITLES["nb"])
    title, lines, filename = render(company, doc, titles)
    seller = settings[0]["Name"] if settings else company.id
    return FileBody(PDF, pdf_document(title, [seller, "", *lines]), filename)
