"""Write semantics in-process beyond the issue's resources: generic REST writes, read-modify-write."""

from __future__ import annotations

from datetime import datetime

import pytest
from domain_write_helpers import customer_body, fails, write

from eaccounting_api import spec
from eaccounting_sandbox import reads, writes
from eaccounting_sandbox.demo import generate_company
from eaccounting_sandbox.store import Company


@pytest.fixture
def company() -> Company:
    return generate_company("writes-generic", 4)


@pytest.mark.parametrize(
    ("collection", "path", "param"),
    [
        ("customers", "/customers/{customerId}", "customerId"),
        ("suppliers", "/suppliers/{id}", "id"),
        ("articles", "/articles/{articleId}", "articleId"),
        (
            "customerinvoicedrafts",
            "/customerinvoicedrafts/{customerInvoiceDraftId}",
            "customerInvoiceDraftId",
        ),
    ],
)
def test_read_modify_write_round_trips(company: Company, collection: str, path: str, param: str) -> None:
    """Updates must be read-modify-write (docs/API_FACTS.md#put-replaces-the-whole-object); PUTting back
    what GET returned must work unchanged."""
    original = company.collection(collection).items[1]
    updated = write(company, "PUT", path, dict(original), **{param: original["Id"]})
    stamps = {
        "ChangedUtc",
        "ModifiedUtc",
        "Rows",
        "TotalAmount",
        "TotalVatAmount",
        "TotalAmountBaseCurrency",
        "TotalVatAmountBaseCurrency",
    }
    assert {k: v for k, v in updated.items() if k not in stamps} == {
        k: v for k, v in original.items() if k not in stamps
    }
    assert company.collection(collection).get(original["Id"]) is updated


def test_account_read_modify_write(company: Company) -> None:
    original = company.collection("accounts").items[-1]
    params = {"fiscalyearId": original["FiscalYearId"], "accountNumber": original["Number"]}
    updated = write(company, "PUT", "/accounts/{fiscalyearId}/{accountNumber}", dict(original), **params)
    assert {k: v for k, v in updated.items() if k != "ModifiedUtc"} == {
        k: v for k, v in original.items() if k != "ModifiedUtc"
    }


def test_generic_rest_writes_for_simple_resources(company: Company) -> None:
    customer = company.collection("customers").items[0]["Id"]
    body = {"Number": "P-9", "Name": "Nytt prosjekt", "Status": 1, "CustomerId": customer, "Notes": "n"}
    status, project = writes.write(company, "POST", "/projects", params={}, query={}, body=body)
    assert status == 201
    assert project in reads.list_records(company, "/projects", {}, {})
    assert not list(spec.validator("ProjectApi").iter_errors(project))
    status, replaced = writes.write(
        company, "PUT", "/projects/{id}", params={"id": project["Id"]}, query={}, body=dict(body, Notes=None)
    )
    assert status == 201  # what the spec documents for this PUT
    assert replaced["Notes"] is None
    assert replaced["ModifiedUtc"] > project["ModifiedUtc"]
    status, note = writes.write(
        company, "POST", "/notes", params={}, query={}, body={"Text": "Ring", "DocumentType": 0}
    )
    assert status == 200  # the spec documents 200 for POST /notes
    assert note in reads.list_records(company, "/notes", {}, {})
    label = write(company, "POST", "/articlelabels", {"Name": "Ny etikett"})
    assert write(company, "DELETE", "/articlelabels/{articleLabelId}", articleLabelId=label["Id"]) is None
    assert company.collection("articlelabels").get(label["Id"]) is None
    assert fails(company, "POST", "/projects", {"Name": "x" * 201}).status == 400


def test_new_fiscal_year_must_not_overlap_and_opens_the_period(company: Company) -> None:
    last = company.fiscal_years()[-1]
    overlapping = {"StartDate": last["StartDate"], "EndDate": last["EndDate"]}
    assert fails(company, "POST", "/fiscalyears", overlapping).status == 400
    next_year = int(last["EndDate"][:4]) + 1
    created = write(
        company, "POST", "/fiscalyears", {"StartDate": f"{next_year}-01-01", "EndDate": f"{next_year}-12-31"}
    )
    assert created["IsLockedForAccounting"] is False
    assert company.fiscal_year_for(datetime(next_year, 6, 1).date()) is created


def test_created_supplier_invoice_is_unpaid_with_negative_remaining(company: Company) -> None:
    supplier = company.collection("suppliers").items[0]
    body = {"SupplierId": supplier["Id"], "InvoiceNumber": "EXT-1", "TotalAmount": 1250.0}
    invoice = write(company, "POST", "/supplierinvoices", body)
    assert invoice["RemainingAmount"] == -1250.0
    assert invoice["SupplierName"] == supplier["Name"]
    assert len(invoice["DueDate"]) == 10
    assert not list(spec.validator("SupplierInvoiceApi").iter_errors(invoice))
    locked = company.fiscal_years()[0]["StartDate"]
    assert fails(company, "POST", "/supplierinvoices", dict(body, InvoiceDate=locked)).error_code == 4026


def test_partly_sent_nested_object_comes_back_complete(company: Company) -> None:
    body = customer_body(company, DirectDebitCustomerSettings={"MandateId": "M-1"})
    created = write(company, "POST", "/customers", body)
    assert created["DirectDebitCustomerSettings"]["MandateId"] == "M-1"
    assert not list(spec.validator("CustomerApi").iter_errors(created))
    assert set(created["DirectDebitCustomerSettings"]) == set(
        spec.schemas()["DirectDebitCustomerSettingsApi"]["properties"]
    )


def test_voucher_draft_converts_into_a_booked_voucher(company: Company) -> None:
    rows = [{"AccountNumber": 6800, "DebitAmount": 80.0}, {"AccountNumber": 1920, "CreditAmount": 80.0}]
    draft = write(
        company,
        "POST",
        "/voucherdrafts",
        {"VoucherText": "Utkast", "Rows": rows, "VoucherDate": datetime.now().date().isoformat()},
    )
    voucher = write(company, "POST", "/voucherdrafts/{voucherDraftId}/convert", voucherDraftId=draft["Id"])
    assert voucher["VoucherText"] == "Utkast"
    assert voucher in reads.list_records(company, "/vouchers", {}, {})
    assert not list(spec.validator("VoucherApi").iter_errors(voucher))
    assert company.collection("voucherdrafts").get(draft["Id"]) is None


def test_supplier_invoice_draft_converts_into_an_invoice(company: Company) -> None:
    draft = company.collection("supplierinvoicedrafts").items[0]
    invoice = write(company, "POST", "/supplierinvoicedrafts/{id}/convert", id=draft["Id"])
    assert invoice["CreatedFromDraftId"] == draft["Id"]
    assert invoice["RemainingAmount"] == -abs(draft["TotalAmount"])
    assert invoice["Rows"][0]["DebetAmount"] == draft["Rows"][0]["DebitAmount"]
    assert not list(spec.validator("SupplierInvoiceApi").iter_errors(invoice))
    assert company.collection("supplierinvoicedrafts").get(draft["Id"]) is None
