"""The streams this target accepts, each mapped to one API object.

Record fields use the API's PascalCase names, so what the tap reads the target can write back.
"""

from __future__ import annotations

from dataclasses import dataclass

from target_eaccounting.record_errors import UnknownStreamError

MASTER = "master"
DOCUMENT = "document"
PAYMENT = "payment"
VOUCHER = "voucher"


@dataclass(frozen=True)
class StreamSpec:
    name: str
    kind: str
    #: spec path of the POST (payments: with ``{invoiceId}``)
    path: str
    #: request body schema in the spec
    schema: str
    #: master data: the natural number field used for upserts
    number_field: str | None = None
    #: the document's own date, used to pick the fiscal year
    date_field: str | None = None
    #: default field that carries the external key on the created object (documents)
    default_reference_field: str | None = None
    #: the API takes ``FiscalYearId`` on this body (the sandbox checks it against the date)
    takes_fiscal_year_id: bool = False
    #: payments: the invoice collection the payment belongs to
    invoice_path: str | None = None
    #: payments: the stream whose external keys ``InvoiceExternalKey`` refers to
    invoice_streams: tuple[str, ...] = ()
    #: streams whose pending records are written before this stream's batch: a document waits for the
    #: master data it references, a payment for its invoice. Sources such as tap-postgres emit their
    #: streams alphabetically (payments, then invoices, then customers), so order can't be left to them.
    depends_on: tuple[str, ...] = ()


STREAMS: dict[str, StreamSpec] = {
    s.name: s
    for s in (
        StreamSpec("customers", MASTER, "/customers", "CustomerApi", number_field="CustomerNumber"),
        StreamSpec("suppliers", MASTER, "/suppliers", "SupplierApi", number_field="SupplierNumber"),
        StreamSpec("articles", MASTER, "/articles", "ArticleApi", number_field="Number"),
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
