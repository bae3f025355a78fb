"""Write semantics over real HTTP: each test writes into its own company of the session sandbox."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from eaccounting_sandbox.server import SandboxServer

ALL = ["ea:api", "offline_access", "ea:sales", "ea:purchase", "ea:accounting"]


class Api:
    def __init__(self, sandbox: SandboxServer, company: str) -> None:
        self.base = sandbox.api_url
        token = sandbox.mint_tokens(company, ALL)["access_token"]
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, json: Any = None, params: dict[str, str] | None = None) -> Any:
        return self.session.request(method, f"{self.base}{path}", json=json, params=params, timeout=30)

    def get(self, path: str, **params: str) -> Any:
        response = self.call("GET", path, params=params)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def api(sandbox: SandboxServer) -> Api:
    company = f"writes-{uuid.uuid4().hex[:8]}"
    sandbox.admin("POST", "companies", {"company": company, "seed": 3, "country": "NO", "scale": 0.1})
    return Api(sandbox, company)


def customer_body(api: Api, **extra: Any) -> dict[str, Any]:
    terms = api.get("/termsofpayments")["Data"][0]["Id"]
    body = {
        "Name": "HTTP Kunde AS",
        "InvoiceCity": "Bergen",
        "InvoicePostalCode": "5003",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": terms,
    }
    body.update(extra)
    return body


def test_created_invoice_shows_up_in_the_list_with_server_fields(api: Api) -> None:
    customer = api.call("POST", "/customers", customer_body(api))
    assert customer.status_code == 201, customer.text
    article = api.get("/articles")["Data"][0]
    before = api.get("/customerinvoices", **{"$orderby": "InvoiceNumber desc", "$pagesize": "1"})["Data"][0]
    body = {"CustomerId": customer.json()["Id"], "Rows": [{"ArticleId": article["Id"], "Quantity": 1}]}
    created = api.call("POST", "/customerinvoices", body)
    assert created.status_code == 201, created.text
    invoice = created.json()
    assert invoice["InvoiceNumber"] == before["InvoiceNumber"] + 1
    assert invoice["CreatedUtc"]
    assert invoice["ModifiedUtc"]
    listed = api.get("/customerinvoices", modifiedSinceUtc=invoice["ModifiedUtc"])["Data"]
    assert [i["Id"] for i in listed] == [invoice["Id"]]
    filtered = api.get("/customerinvoices", **{"$filter": f"InvoiceNumber eq {invoice['InvoiceNumber']}"})[
        "Data"
    ]
    assert filtered == [invoice]
    assert api.get(f"/customerinvoices/{invoice['Id']}") == invoice


def test_validation_conflict_and_not_found_bodies(api: Api) -> None:
    bad = api.call("POST", "/customers", {"Name": "x" * 80, "IsActive": "maybe"})
    assert bad.status_code == 400
    body = bad.json()
    assert body["ErrorCode"] == 2000
    assert uuid.UUID(body["ErrorId"])
    assert {"Name", "IsActive", "InvoiceCity"} <= {e["Field"] for e in body["Errors"]}
    first = api.call("POST", "/customers", customer_body(api, CustomerNumber="H-1"))
    assert first.status_code == 201
    dup = api.call("POST", "/customers", customer_body(api, CustomerNumber="H-1"))
    assert dup.status_code == 409
    assert dup.json()["ErrorCode"] == 4000
    missing = api.call("PUT", f"/customers/{uuid.uuid4()}", customer_body(api))
    assert missing.status_code == 404


def test_put_replaces_the_whole_customer(api: Api) -> None:
    created = api.call("POST", "/customers", customer_body(api, EmailAddress="x@example.com")).json()
    only_name = api.call("PUT", f"/customers/{created['Id']}", {"Id": created["Id"], "Name": "Only"})
    assert only_name.status_code == 400
    replaced = api.call("PUT", f"/customers/{created['Id']}", customer_body(api, Name="Nytt navn"))
    assert replaced.status_code == 200
    assert replaced.json()["EmailAddress"] is None
    assert api.get(f"/customers/{created['Id']}")["Name"] == "Nytt navn"


def test_fiscal_year_rules_over_http(api: Api) -> None:
    years = api.get("/fiscalyears")["Data"]
    customer = api.get("/customers")["Data"][0]["Id"]
    outside = api.call(
        "POST", "/customerinvoices", {"CustomerId": customer, "InvoiceDate": "1990-01-01", "Rows": []}
    )
    assert (outside.status_code, outside.json()["ErrorCode"]) == (400, 3001)
    locked_year = next(y for y in years if y["IsLockedForAccounting"])
    locked = api.call(
        "POST",
        "/customerinvoices",
        {"CustomerId": customer, "InvoiceDate": locked_year["StartDate"], "Rows": []},
    )
    assert locked.status_code == 400
    assert locked.json()["ErrorCode"] == 4026
    no_year = api.call("POST", "/accounts", {"Name": "Konto", "Number": "1931", "IsActive": True})
    assert no_year.status_code == 400


def test_payment_over_http_updates_the_invoice_and_books_a_voucher(api: Api) -> None:
    unpaid = api.get(
        "/customerinvoices",
        **{"$filter": "PaymentStatus ne 0 and IsCreditInvoice eq false", "$pagesize": "1"},
    )["Data"][0]
    bank = api.get("/bankaccounts")["Data"][0]["Id"]
    body = {
        "CompanyBankAccountId": bank,
        "PaymentAmount": unpaid["RemainingAmountInvoiceCurrency"],
        "PaymentCurrency": unpaid["CurrencyCode"],
        "PaymentType": 2,
        "Reference": "HTTP-PAY",
    }
    paid = api.call("POST", f"/customerinvoices/{unpaid['Id']}/payments", body)
    assert paid.status_code == 201, paid.text
    after = api.get(f"/customerinvoices/{unpaid['Id']}")
    assert after["RemainingAmount"] == 0
    assert after["PaymentStatus"] == 0
    assert after["PaymentDate"].endswith("T00:00:00Z")
    assert after["ModifiedUtc"] > unpaid["ModifiedUtc"]
    vouchers = api.get("/vouchers", **{"$filter": f"SourceId eq '{unpaid['Id']}'"})["Data"]
    assert any("Innbetaling" in v["VoucherText"] for v in vouchers)


def test_voucher_must_balance_over_http(api: Api) -> None:
    rows = [{"AccountNumber": 1920, "DebitAmount": 50.0}, {"AccountNumber": 3000, "CreditAmount": 40.0}]
    unbalanced = api.call("POST", "/vouchers", {"VoucherText": "HTTP", "Rows": rows})
    assert unbalanced.status_code == 400
    rows[1]["CreditAmount"] = 50.0
    created = api.call("POST", "/vouchers", {"VoucherText": "HTTP", "Rows": rows})
    assert created.status_code == 201
    listed = api.get("/vouchers", **{"$filter": f"Id eq {created.json()['Id']}"})["Data"]
    assert listed == [created.json()]


def test_generic_writes_over_http_use_the_documented_statuses(api: Api) -> None:
    created = api.call("POST", "/projects", {"Number": "H1", "Name": "HTTP-prosjekt", "Status": 1})
    assert created.status_code == 201, created.text
    project = created.json()
    replaced = api.call("PUT", f"/projects/{project['Id']}", {"Number": "H1", "Name": "Omdøpt", "Status": 2})
    assert replaced.status_code == 201  # the spec documents 201 for this PUT
    assert api.get(f"/projects/{project['Id']}")["Name"] == "Omdøpt"
    label = api.call("POST", "/customerlabels", {"Name": "HTTP"}).json()
    deleted = api.call("DELETE", f"/customerlabels/{label['Id']}")
    assert deleted.status_code == 200
    assert api.call("GET", f"/customerlabels/{label['Id']}").status_code == 404
    draft = api.get("/voucherdrafts")["Data"][0]
    converted = api.call("POST", f"/voucherdrafts/{draft['Id']}/convert")
    assert converted.status_code == 201, converted.text
    assert api.get("/vouchers", **{"$filter": f"Id eq {converted.json()['Id']}"})["Data"] == [
        converted.json()
    ]
