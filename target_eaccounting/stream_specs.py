"""The streams this target accepts, each mapped to one API object and the strategy that writes it.

Record fields use the API's PascalCase names, so what the tap reads the target can write back.
"""

from __future__ import annotations

from target_eaccounting.documents import DocumentStrategy
from target_eaccounting.master_data import MasterDataStrategy
from target_eaccounting.payments import PaymentStrategy
from target_eaccounting.record_errors import UnknownStreamError
from target_eaccounting.stream_declaration import StreamSpec
from target_eaccounting.vouchers import VoucherStrategy

# One strategy per kind of object; the one PaymentStrategy also serialises payments per invoice.
MASTER_DATA = MasterDataStrategy()
DOCUMENT = DocumentStrategy()
PAYMENT = PaymentStrategy()
VOUCHER = VoucherStrategy()

STREAMS: dict[str, StreamSpec] = {
    s.name: s
    for s in (
        StreamSpec("customers", MASTER_DATA, "/customers", "CustomerApi", number_field="CustomerNumber"),
        StreamSpec("suppliers", MASTER_DATA, "/suppliers", "SupplierApi", number_field="SupplierNumber"),
        StreamSpec("articles", MASTER_DATA, "/articles", "ArticleApi", number_field="Number"),
        StreamSpec(
            "customer_invoice_drafts",
            DOCUMENT,
            "/customerinvoicedrafts",
            "CustomerInvoiceDraftApi",
            date_field="InvoiceDate",
            default_reference_field="YourReference",
            depends_on=("customers", "articles"),
        ),
        StreamSpec(
            "customer_invoices",
            DOCUMENT,
            "/customerinvoices",
            "CustomerInvoiceApi",
            date_field="InvoiceDate",
            default_reference_field="YourReference",
            takes_fiscal_year_id=True,
            depends_on=("customers", "articles"),
        ),
        StreamSpec(
            "customer_invoice_payments",
            PAYMENT,
            "/customerinvoices/{invoiceId}/payments",
            "InvoicePaymentApi",
            date_field="PaymentDate",
            default_reference_field="Reference",
            takes_fiscal_year_id=True,
            invoice_path="/customerinvoices",
            invoice_streams=("customer_invoices", "customer_invoice_drafts"),
            depends_on=("customer_invoices", "customer_invoice_drafts"),
        ),
        StreamSpec(
            "supplier_invoice_payments",
            PAYMENT,
            "/supplierinvoices/{invoiceId}/payments",
            "InvoicePaymentApi",
            date_field="PaymentDate",
            default_reference_field="Reference",
            takes_fiscal_year_id=True,
            invoice_path="/supplierinvoices",
            depends_on=("suppliers",),
        ),
        StreamSpec("vouchers", VOUCHER, "/vouchers", "VoucherApi", date_field="VoucherDate"),
    )
}


def stream_spec(name: str) -> StreamSpec:
    """The spec of stream ``name``; an unknown name is a clear error (raised at SCHEMA time)."""
    try:
        return STREAMS[name]
    except KeyError:
        known = ", ".join(sorted(STREAMS))
        raise UnknownStreamError(
            f"target-eaccounting cannot write stream {name!r}: it maps to no API object. "
            f"Accepted streams: {known}. Rename the stream (e.g. with a stream map) or drop it."
        ) from None
