"""The integer enums the spec states only in prose: the sandbox's data, writes and checks keep to them."""

from __future__ import annotations

from datetime import date

import pytest
from domain_write_helpers import fails, write

from eaccounting_api import spec
from eaccounting_sandbox.conformance import Conformance
from eaccounting_sandbox.demo import generate_company
from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.store import Company
from eaccounting_sandbox.validation import validate_body

TODAY = date(2026, 6, 15)


@pytest.fixture(scope="module")
def company() -> Company:
    return generate_company("demo-no", 1, today=TODAY)


@pytest.fixture
def writable_company() -> Company:
    return generate_company("enum-writes", 2)


def test_demo_statuses_use_each_schemas_own_numbering(company: Company) -> None:
    projects = company.collection("projects").items
    assert {p["Status"] for p in projects} == {1, 2}  # 1 = Ongoing, 2 = Finished
    supplier = company.collection("supplierinvoices").items
    assert {s["PaymentStatus"] for s in supplier} == {3, 6, 7}  # Unpaid, Paid, OverDue
    assert all(s["RemainingAmount"] == 0 for s in supplier if s["PaymentStatus"] == 6)
    customer = company.collection("customerinvoices").items
    assert {c["PaymentStatus"] for c in customer} == {0, 1, 2}  # Paid, Unpaid, Overdue
    invoices = {c["Id"]: c for c in customer}
    booked = [
        v for v in company.collection("vouchers").items if v["Id"] in {c["VoucherId"] for c in customer}
    ]
    assert booked
    for voucher in booked:
        credit = invoices[voucher["SourceId"]]["IsCreditInvoice"]
        assert voucher["VoucherType"] == (15 if credit else 14)  # CustomerInvoiceCredit / ...Debit
    assert any(v["VoucherType"] == 15 for v in booked)
    payments = [v for v in company.collection("vouchers").items if v["VoucherText"].startswith("Innbetaling")]
    assert payments
    assert {v["VoucherType"] for v in payments} == {10}  # BankTransactionDeposit
    accounts = company.collection("bankaccounts").items
    assert [(a["BankAccountType"], a["BankAccountTypeDescription"]) for a in accounts] == [
        (1, "Cheque account"),  # 1 = ChequeAccount
        (3, "Savings account"),  # 3 = SavingsAccount (2 is CashAccount)
    ]


def test_every_integer_enum_of_the_demo_data_holds(company: Company) -> None:
    checked = 0
    for coll in company.collections.values():
        enums = spec.integer_enums(coll.schema)
        for record in coll.items[:200]:
            for prop, allowed in enums.items():
                assert record[prop] is None or record[prop] in allowed, (coll.name, prop, record[prop])
                checked += 1
    assert checked > 1000


def test_a_value_outside_a_prose_enum_is_a_400_naming_the_values(writable_company: Company) -> None:
    error = fails(writable_company, "POST", "/projects", {"Number": "P-1", "Name": "P", "Status": 0})
    assert (error.status, error.error_code) == (400, 2000)
    [entry] = error.errors or []
    assert (entry["Field"], entry["ErrorCode"]) == ("Status", "InvalidValue")
    assert "1 (Ongoing), 2 (Finished)" in entry["Message"]
    created = write(writable_company, "POST", "/projects", {"Number": "P-1", "Name": "P", "Status": 2})
    assert created["Status"] == 2
    customer = writable_company.collection("customers").items[0]["Id"]
    article = writable_company.collection("articles").items[0]["Id"]
    body = {
        "CustomerId": customer,
        "SendType": 5,  # nullable, 0 = None ... 4 = Kivra
        "Rows": [{"ArticleId": article, "Quantity": 1, "UnitPrice": 10.0}],
    }
    bad = fails(writable_company, "POST", "/customerinvoices", body)
    assert [e["Field"] for e in bad.errors or []] == ["SendType"]
    write(writable_company, "POST", "/customerinvoices", dict(body, SendType=None))
    # A gap in a listed enumeration is a wrong value too (HouseWorkType lists 7 and 9, not 8).
    with pytest.raises(ApiError) as gap:
        validate_body("ArticleApi", {"HouseWorkType": 8})
    assert "HouseWorkType" in {e["Field"] for e in gap.value.errors or []}


def test_supplier_payments_follow_the_supplier_numbering(writable_company: Company) -> None:
    invoice = next(
        i for i in writable_company.collection("supplierinvoices").items if i["PaymentStatus"] == 7
    )
    bank = writable_company.collection("bankaccounts").items[0]["Id"]
    body = {"CompanyBankAccountId": bank, "PaymentAmount": 1.0, "PaymentCurrency": "NOK", "PaymentType": 1}
    write(writable_company, "POST", "/supplierinvoices/{invoiceId}/payments", body, invoiceId=invoice["Id"])
    partly = writable_company.collection("supplierinvoices").get(invoice["Id"])
    assert partly["PaymentStatus"] == 4  # PartiallyPaidOverDue
    vouchers = [v for v in writable_company.collection("vouchers").items if v["SourceId"] == invoice["Id"]]
    assert [v["VoucherType"] for v in vouchers] == [11]  # BankTransactionWithdrawal


def test_the_response_check_sees_a_value_outside_a_prose_enum(company: Company) -> None:
    conformance = Conformance()
    voucher = company.collection("vouchers").items[0]
    conformance.check_body("VoucherApi", voucher, "GET /v2/vouchers/x")
    assert conformance.report()["failures"] == []
    conformance.check_body("VoucherApi", dict(voucher, VoucherType=4), "GET /v2/vouchers/x")
    [failure] = conformance.report()["failures"]
    assert failure["instance_path"] == "VoucherType"
