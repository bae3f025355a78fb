"""The enum values the sandbox sets by meaning: invoice payment statuses and voucher types.

Customer and supplier invoices do not share a numbering: ``CustomerInvoiceApi.PaymentStatus`` is
0 = Paid, 1 = Unpaid, 2 = Overdue, while ``SupplierInvoiceApi.PaymentStatus`` runs from 3 = Unpaid to
17 (4 = PartiallyPaidOverDue, 5 = PartiallyPaid, 6 = Paid, 7 = OverDue, ...). Both lists, like the
voucher types, exist in Visma's spec only as description prose; the generator turns them into enums
with labels, and the values are looked up here by label rather than copied.
"""

from __future__ import annotations

from eaccounting_api import spec

CUSTOMER_INVOICE = "CustomerInvoiceApi"
SUPPLIER_INVOICE = "SupplierInvoiceApi"


def payment_status(schema_name: str, *, paid: bool, overdue: bool, partly: bool = False) -> int:
    """The ``PaymentStatus`` of an invoice of ``schema_name`` (customer statuses have no partial state)."""
    if paid:
        label = "Paid"
    elif schema_name == SUPPLIER_INVOICE:
        if partly:
            label = "PartiallyPaidOverDue" if overdue else "PartiallyPaid"
        else:
            label = "OverDue" if overdue else "Unpaid"
    else:
        label = "Overdue" if overdue else "Unpaid"
    return spec.enum_value(schema_name, "PaymentStatus", label)


def voucher_type(label: str) -> int:
    """``VoucherApi.VoucherType`` by its label (``"CustomerInvoiceDebit"`` -> 14)."""
    return spec.enum_value("VoucherApi", "VoucherType", label)


def invoice_voucher_type(*, credit: bool) -> int:
    """The voucher type that books a customer invoice (debit) or credit note."""
    return voucher_type("CustomerInvoiceCredit" if credit else "CustomerInvoiceDebit")


def payment_voucher_type(*, customer: bool) -> int:
    """A payment is booked against the matched bank transaction: money in from a customer, out to a
    supplier."""
    return voucher_type("BankTransactionDeposit" if customer else "BankTransactionWithdrawal")
