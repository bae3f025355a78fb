"""Write semantics in-process (``Company.write``): validation, conflicts, fiscal years, payments, PUT."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from domain_write_helpers import customer_body, fails, invoice_body, write

from eaccounting_api import spec
from eaccounting_sandbox import reads
from eaccounting_sandbox.demo import generate_company
from eaccounting_sandbox.store import Company


@pytest.fixture
def company() -> Company:
    return generate_company("writes", 2)


def test_create_customer_assigns_server_fields_and_is_visible(company: Company) -> None:
    created = write(company, "POST", "/customers", customer_body(company, Unknown="ignored"))
    assert "Unknown" not in created
    assert created["Id"]
    assert created["CustomerNumber"]
    assert created["ChangedUtc"].endswith("Z")
    assert created["TermsOfPayment"]["Id"] == created["TermsOfPaymentId"]
    assert not list(spec.validator("CustomerApi").iter_errors(created))
    assert reads.list_records(company, "/customers", {}, {})[-1] is created
    assert reads.get_record(company, "/customers/{customerId}", {"customerId": created["Id"]}) is created


def test_missing_wrong_type_and_over_long_fields_are_400_per_field(company: Company) -> None:
    error = fails(
        company, "POST", "/customers", {"Name": "x" * 51, "IsActive": "yes", "TermsOfPaymentId": "nope"}
    )
    assert (error.status, error.error_code) == (400, 2000)
    by_field = {e["Field"]: e for e in error.errors or []}
    assert {
        "InvoiceCity",
        "InvoicePostalCode",
        "IsPrivatePerson",
        "Name",
        "IsActive",
        "TermsOfPaymentId",
    } <= set(by_field)
    assert by_field["Name"]["ErrorCode"] == "MaxLength"
    assert by_field["IsActive"]["ErrorCode"] == "InvalidType"
    assert by_field["InvoiceCity"]["ErrorCode"] == "Required"
    assert all(isinstance(e["ErrorCode"], str) for e in error.errors or [])
    rows = fails(company, "POST", "/vouchers", {"VoucherText": "x", "Rows": [{"DebitAmount": "ten"}]})
    assert {e["Field"] for e in rows.errors or []} == {"Rows[0].AccountNumber", "Rows[0].DebitAmount"}


def test_duplicate_numbers_are_409_4000(company: Company) -> None:
    existing = company.collection("customers").items[0]["CustomerNumber"]
    assert fails(company, "POST", "/customers", customer_body(company, CustomerNumber=existing)).status == 409
    supplier = company.collection("suppliers").items[0]
    body = {
        "Name": "Dup",
        "TermsOfPaymentId": supplier["TermsOfPaymentId"],
        "SupplierNumber": supplier["SupplierNumber"],
    }
    conflict = fails(company, "POST", "/suppliers", body)
    assert (conflict.status, conflict.error_code) == (409, 4000)
    article = company.collection("articles").items[0]
    body = {
        "Number": article["Number"],
        "Name": "x",
        "CodingId": article["CodingId"],
        "UnitId": article["UnitId"],
        "IsActive": True,
    }
    assert fails(company, "POST", "/articles", body).error_code == 4000
    body["Number"] = "A-NEW"
    assert write(company, "POST", "/articles", body)["Number"] == "A-NEW"


def test_put_replaces_the_whole_object(company: Company) -> None:
    created = write(
        company, "POST", "/customers", customer_body(company, EmailAddress="a@example.com", Note="n")
    )
    assert (
        fails(
            company,
            "PUT",
            "/customers/{customerId}",
            {"Id": created["Id"], "Name": "Only"},
            customerId=created["Id"],
        ).status
        == 400
    )
    replaced = write(
        company,
        "PUT",
        "/customers/{customerId}",
        customer_body(company, Name="Renamed"),
        customerId=created["Id"],
    )
    assert replaced["Name"] == "Renamed"
    assert replaced["EmailAddress"] is None  # omitted -> back to null
    assert replaced["Note"] is None
    assert replaced["CustomerNumber"] == created["CustomerNumber"]
    assert replaced["ChangedUtc"] > created["ChangedUtc"]
    assert company.collection("customers").get(created["Id"]) is replaced


def test_unknown_ids_are_404(company: Company) -> None:
    ghost = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
    assert (
        fails(company, "PUT", "/customers/{customerId}", customer_body(company), customerId=ghost).status
        == 404
    )
    assert fails(company, "DELETE", "/suppliers/{id}", id=ghost).status == 404
    payment = {"CompanyBankAccountId": ghost, "PaymentAmount": 1, "PaymentCurrency": "NOK", "PaymentType": 1}
    assert (
        fails(company, "POST", "/customerinvoices/{invoiceId}/payments", payment, invoiceId=ghost).status
        == 404
    )
    assert fails(company, "POST", "/sie4import", {}).status == 404  # not emulated


def test_created_invoice_gets_number_totals_stamps_and_voucher(company: Company) -> None:
    last = company.collection("customerinvoices").items[-1]["InvoiceNumber"]
    body = invoice_body(company, ReverseChargeOnConstructionServices=True, InvoiceNumber=9, TotalAmount=1.0)
    invoice = write(company, "POST", "/customerinvoices", body)
    assert invoice["ReverseChargeOnConstructionServices"] is False  # derived from the customer
    assert invoice["InvoiceNumber"] == last + 1
    assert invoice["TotalAmount"] == pytest.approx(200.0 * (1 + invoice["Rows"][0]["VatRate"]))
    assert invoice["RemainingAmount"] == invoice["TotalAmount"]
    assert len(invoice["DueDate"]) == 10
    assert invoice["CreatedUtc"] == invoice["ModifiedUtc"]
    assert not list(spec.validator("CustomerInvoiceApi").iter_errors(invoice))
    assert company.collection("vouchers").get(invoice["VoucherId"])["SourceId"] == invoice["Id"]
    newest = reads.list_records(
        company, "/customerinvoices", {}, {"modifiedSinceUtc": invoice["ModifiedUtc"]}
    )
    assert [i["Id"] for i in newest] == [invoice["Id"]]
    second = write(company, "POST", "/customerinvoices", invoice_body(company))
    assert second["InvoiceNumber"] == invoice["InvoiceNumber"] + 1


def test_fiscal_year_rules_on_invoices(company: Company) -> None:
    outside = fails(company, "POST", "/customerinvoices", invoice_body(company, InvoiceDate="1999-05-01"))
    assert (outside.status, outside.error_code) == (400, 3001)
    locked_day = company.fiscal_years()[0]["StartDate"][:10]
    locked = fails(company, "POST", "/customerinvoices", invoice_body(company, InvoiceDate=locked_day))
    assert (locked.status, locked.error_code) == (400, 4026)
    this_year, last_year = company.fiscal_years()[2], company.fiscal_years()[1]
    wrong = fails(company, "POST", "/customerinvoices", invoice_body(company, FiscalYearId=last_year["Id"]))
    assert wrong.status == 400
    assert wrong.errors[0]["Field"] == "FiscalYearId"  # type: ignore[index]  # errors is set on 400s
    assert write(company, "POST", "/customerinvoices", invoice_body(company, FiscalYearId=this_year["Id"]))


def test_customer_payment_updates_invoice_and_is_listable(company: Company) -> None:
    invoice = write(company, "POST", "/customerinvoices", invoice_body(company))
    bank = company.collection("bankaccounts").items[0]
    body = {
        "CompanyBankAccountId": bank["Id"],
        "PaymentAmount": 100.0,
        "PaymentCurrency": "NOK",
        "PaymentType": 1,
        "Reference": "part 1",
    }
    payment = write(company, "POST", "/customerinvoices/{invoiceId}/payments", body, invoiceId=invoice["Id"])
    assert not list(spec.validator("InvoicePaymentApi").iter_errors(payment))
    partly = company.collection("customerinvoices").get(invoice["Id"])
    assert partly["RemainingAmount"] == pytest.approx(invoice["TotalAmount"] - 100.0)
    assert partly["PaymentStatus"] != 0
    assert partly["ModifiedUtc"] > invoice["ModifiedUtc"]
    rest = dict(body, PaymentAmount=partly["RemainingAmount"], PaymentType=2)
    write(company, "POST", "/customerinvoices/{invoiceId}/payments", rest, invoiceId=invoice["Id"])
    paid = company.collection("customerinvoices").get(invoice["Id"])
    assert paid["RemainingAmount"] == 0
    assert paid["PaymentStatus"] == 0
    assert paid["PaymentDate"].endswith("T00:00:00Z")
    vouchers = [v for v in company.collection("vouchers").items if v["SourceId"] == invoice["Id"]]
    assert len(vouchers) == 3  # the invoice booking + two payments
    today = datetime.now(UTC).date().isoformat()
    matched = reads.list_records(
        company,
        "/banktransactions/{bankAccountId}/matched",
        {"bankAccountId": bank["Id"]},
        {"fromDate": today, "toDate": today},
    )
    assert payment["BankTransactionId"] in {t["Id"] for t in matched}
    assert len(company.payments[invoice["Id"]]) == 2
    again = fails(company, "POST", "/customerinvoices/{invoiceId}/payments", body, invoiceId=invoice["Id"])
    assert again.status == 400


def test_payment_rules(company: Company) -> None:
    invoice = write(company, "POST", "/customerinvoices", invoice_body(company))
    bank = company.collection("bankaccounts").items[0]["Id"]
    base = {"CompanyBankAccountId": bank, "PaymentAmount": 10.0, "PaymentCurrency": "NOK", "PaymentType": 1}
    path = "/customerinvoices/{invoiceId}/payments"
    future = (datetime.now(UTC).date() + timedelta(days=3)).isoformat()
    assert fails(company, "POST", path, dict(base, PaymentDate=future), invoiceId=invoice["Id"]).status == 400
    assert (
        fails(company, "POST", path, dict(base, PaymentCurrency="SEK"), invoiceId=invoice["Id"]).status == 400
    )
    outside = fails(company, "POST", path, dict(base, PaymentDate="1999-12-31"), invoiceId=invoice["Id"])
    assert (outside.status, outside.error_code) == (400, 3001)
    locked_day = company.fiscal_years()[0]["EndDate"][:10]
    locked = fails(company, "POST", path, dict(base, PaymentDate=locked_day), invoiceId=invoice["Id"])
    assert (locked.status, locked.error_code) == (400, 4026)
    wrong_year = company.fiscal_years()[1]["Id"]
    assert (
        fails(company, "POST", path, dict(base, FiscalYearId=wrong_year), invoiceId=invoice["Id"]).status
        == 400
    )
    missing = fails(company, "POST", path, {"PaymentAmount": 1}, invoiceId=invoice["Id"])
    assert {"CompanyBankAccountId", "PaymentCurrency", "PaymentType"} <= {
        e["Field"] for e in missing.errors or []
    }


def test_supplier_payment_counts_up_from_negative_remaining(company: Company) -> None:
    invoice = next(i for i in company.collection("supplierinvoices").items if i["RemainingAmount"] < 0)
    bank = company.collection("bankaccounts").items[0]["Id"]
    body = {
        "CompanyBankAccountId": bank,
        "PaymentAmount": -invoice["RemainingAmount"],
        "PaymentCurrency": "NOK",
        "PaymentType": 2,
    }
    write(company, "POST", "/supplierinvoices/{invoiceId}/payments", body, invoiceId=invoice["Id"])
    paid = company.collection("supplierinvoices").get(invoice["Id"])
    assert paid["RemainingAmount"] == 0
    assert paid["PaymentStatus"] == 6  # SupplierInvoiceApi: 6 = Paid (customer invoices: 0 = Paid)
    assert len(paid["PaymentDate"]) == 10  # date-only on supplier invoices


def test_vouchers_must_balance_and_use_existing_accounts(company: Company) -> None:
    rows = [{"AccountNumber": 1920, "DebitAmount": 10.0}, {"AccountNumber": 3000, "CreditAmount": 9.0}]
    unbalanced = fails(company, "POST", "/vouchers", {"VoucherText": "x", "Rows": rows})
    assert unbalanced.errors[0]["Field"] == "Rows"  # type: ignore[index]  # errors is set on 400s
    rows[1]["CreditAmount"] = 10.0
    voucher = write(company, "POST", "/vouchers", {"VoucherText": "ok", "Rows": rows})
    assert not list(spec.validator("VoucherApi").iter_errors(voucher))
    assert voucher in reads.list_records(company, "/vouchers", {}, {})
    rows[0]["AccountNumber"] = 9999
    assert fails(company, "POST", "/vouchers", {"VoucherText": "x", "Rows": rows}).error_code == 3002
    locked_day = company.fiscal_years()[0]["StartDate"][:10]
    body = {"VoucherText": "x", "VoucherDate": locked_day, "Rows": rows[1:]}
    assert fails(company, "POST", "/vouchers", body).error_code in (4026, 2000)


def test_accounts_require_fiscal_year_and_are_unique_per_year(company: Company) -> None:
    assert (
        fails(company, "POST", "/accounts", {"Name": "Ny", "Number": "1930", "IsActive": True}).status == 400
    )
    year = company.fiscal_years()[2]["Id"]
    body = {"Name": "Ny konto", "Number": "1930", "IsActive": True, "FiscalYearId": year}
    account = write(company, "POST", "/accounts", body)
    assert account["Type"] == 1
    assert account in reads.list_records(company, "/accounts/{fiscalyearId}", {"fiscalyearId": year}, {})
    assert fails(company, "POST", "/accounts", body).status == 409
    renamed = write(
        company,
        "PUT",
        "/accounts/{fiscalyearId}/{accountNumber}",
        dict(body, Name="Omdøpt"),
        fiscalyearId=year,
        accountNumber="1930",
    )
    assert renamed["Name"] == "Omdøpt"


def test_draft_lifecycle_and_convert(company: Company) -> None:
    article = company.collection("articles").items[1]
    customer = company.collection("customers").items[2]
    body = {
        "CustomerId": customer["Id"],
        "Rows": [{"ArticleId": article["Id"], "Quantity": 3, "IsTextRow": False}],
    }
    bad = fails(
        company,
        "POST",
        "/customerinvoicedrafts",
        {"CustomerId": customer["Id"], "Rows": [{"IsTextRow": False}]},
    )
    assert bad.errors[0]["Field"] == "Rows[0].ArticleId"  # type: ignore[index]  # errors is set on 400s
    draft = write(company, "POST", "/customerinvoicedrafts", body)
    assert draft["TotalAmount"] > 0
    updated = write(
        company,
        "PUT",
        "/customerinvoicedrafts/{customerInvoiceDraftId}",
        dict(body, YourReference="R1"),
        customerInvoiceDraftId=draft["Id"],
    )
    assert updated["YourReference"] == "R1"
    invoice = write(
        company,
        "POST",
        "/customerinvoicedrafts/{customerInvoiceDraftId}/convert",
        customerInvoiceDraftId=draft["Id"],
    )
    assert invoice["CreatedFromDraftId"] == draft["Id"]
    assert invoice["YourReference"] == "R1"
    assert invoice["Rows"][0]["Quantity"] == 3
    assert company.collection("customerinvoicedrafts").get(draft["Id"]) is None
    other = write(company, "POST", "/customerinvoicedrafts", body)
    write(
        company,
        "DELETE",
        "/customerinvoicedrafts/{customerInvoiceDraftId}",
        customerInvoiceDraftId=other["Id"],
    )
    assert company.collection("customerinvoicedrafts").get(other["Id"]) is None


def test_delete_customer_with_invoices_is_refused_without_is_allowed(company: Company) -> None:
    used = company.collection("customerinvoices").items[0]["CustomerId"]
    assert fails(company, "DELETE", "/customers/{customerId}", customerId=used).error_code == 4001
    fresh = write(company, "POST", "/customers", customer_body(company))
    assert write(company, "DELETE", "/customers/{customerId}", customerId=fresh["Id"]) is None
    assert company.collection("customers").get(fresh["Id"]) is None


def test_foreign_currency_invoice_and_payment(company: Company) -> None:
    foreign = next(c for c in company.collection("customers").items if c["CurrencyCode"] != "NOK")
    invoice = write(company, "POST", "/customerinvoices", invoice_body(company, foreign["Id"]))
    rate = invoice["CurrencyRate"]
    assert invoice["CurrencyCode"] == foreign["CurrencyCode"]
    assert rate != 1.0
    assert invoice["TotalAmount"] == pytest.approx(invoice["TotalAmountInvoiceCurrency"] * rate, abs=0.01)
    booked = company.collection("vouchers").get(invoice["VoucherId"])
    assert sum(r["DebitAmount"] for r in booked["Rows"]) == pytest.approx(invoice["TotalAmount"])
    bank = company.collection("bankaccounts").items[0]["Id"]
    half = round(invoice["TotalAmountInvoiceCurrency"] / 2, 2)
    body = {
        "CompanyBankAccountId": bank,
        "PaymentAmount": half,
        "PaymentCurrency": foreign["CurrencyCode"],
        "PaymentType": 1,
    }
    payment = write(company, "POST", "/customerinvoices/{invoiceId}/payments", body, invoiceId=invoice["Id"])
    assert payment["DomesticPaymentAmount"] == pytest.approx(half * rate, abs=0.01)
    after = company.collection("customerinvoices").get(invoice["Id"])
    assert after["RemainingAmountInvoiceCurrency"] == pytest.approx(
        invoice["TotalAmountInvoiceCurrency"] - half
    )
    assert after["RemainingAmount"] == pytest.approx(after["RemainingAmountInvoiceCurrency"] * rate, abs=0.01)
    wrong = fails(
        company,
        "POST",
        "/customerinvoices/{invoiceId}/payments",
        dict(body, PaymentCurrency="NOK"),
        invoiceId=invoice["Id"],
    )
    assert wrong.errors[0]["Field"] == "PaymentCurrency"  # type: ignore[index]  # errors is set on 400s


def test_null_required_field_is_reported_once(company: Company) -> None:
    error = fails(company, "POST", "/customers", customer_body(company, IsActive=None))
    assert [e["ErrorCode"] for e in error.errors or [] if e["Field"] == "IsActive"] == ["Required"]
