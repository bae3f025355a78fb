"""Writes over HTTP: status codes and bodies, visibility in later (cached) list reads, error shapes,
and the lost-response fault (the write commits, the client only sees a dropped connection)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from eaccounting_sandbox.server import SandboxServer


def customer(terms_id: str, number: str | None = None, **extra: Any) -> dict[str, Any]:
    body = {
        "Name": "Fjord Test AS",
        "InvoiceCity": "Bergen",
        "InvoicePostalCode": "5003",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": terms_id,
        **extra,
    }
    if number is not None:
        body["CustomerNumber"] = number
    return body


class Api:
    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.session = requests.Session()
        self.session.headers["Authorization"] = "Bearer " + sandbox.mint_tokens()["access_token"]

    def __call__(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, self.sandbox.api_url + path, timeout=10, **kwargs)

    def terms_id(self) -> str:
        return str(self("GET", "/termsofpayments").json()["Data"][0]["Id"])


@pytest.fixture
def api(fresh_sandbox: SandboxServer) -> Api:
    return Api(fresh_sandbox)


def test_created_customer_is_visible_in_cached_list_views(api: Api) -> None:
    # Warm the view cache for an ordered and a filtered view first.
    ordered = {"$orderby": "CustomerNumber desc", "$pagesize": 1000}
    before = api("GET", "/customers", params=ordered).json()["Meta"]["TotalNumberOfResults"]
    by_number = {"$filter": "CustomerNumber eq 'HTTP-1'"}
    assert api("GET", "/customers", params=by_number).json()["Data"] == []
    created = api("POST", "/customers", json=customer(api.terms_id(), "HTTP-1"))
    assert created.status_code == 201, created.text
    record = created.json()
    uuid.UUID(record["Id"])
    assert record["ChangedUtc"]
    assert api("GET", "/customers", params=ordered).json()["Meta"]["TotalNumberOfResults"] == before + 1
    assert [c["Id"] for c in api("GET", "/customers", params=by_number).json()["Data"]] == [record["Id"]]
    assert api("GET", f"/customers/{record['Id']}").json() == record


def test_duplicate_customer_number_is_409_conflict(api: Api) -> None:
    body = customer(api.terms_id(), "HTTP-DUP")
    assert api("POST", "/customers", json=body).status_code == 201
    again = api("POST", "/customers", json=body)
    assert again.status_code == 409
    assert again.json()["ErrorCode"] == 4000


def test_missing_required_fields_are_400_with_per_field_errors(api: Api) -> None:
    response = api("POST", "/customers", json={"Name": "Only a name"})
    assert response.status_code == 400
    body = response.json()
    fields = {e["Field"] for e in body["Errors"]}
    assert {"InvoiceCity", "TermsOfPaymentId"} <= fields
    assert all(isinstance(e["ErrorCode"], str) for e in body["Errors"])


def test_invalid_json_is_400(api: Api) -> None:
    response = api("POST", "/customers", data=b"{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["ErrorCode"] == 2000


def test_put_replaces_the_whole_object(api: Api) -> None:
    created = api(
        "POST", "/customers", json=customer(api.terms_id(), "HTTP-PUT", EmailAddress="a@b.no")
    ).json()
    replacement = {k: v for k, v in created.items() if k != "EmailAddress"}
    response = api("PUT", f"/customers/{created['Id']}", json=replacement)
    assert response.status_code == 200, response.text
    assert api("GET", f"/customers/{created['Id']}").json()["EmailAddress"] is None


def test_unknown_id_on_write_is_404(api: Api) -> None:
    response = api("PUT", f"/customers/{uuid.uuid4()}", json=customer(api.terms_id(), "HTTP-404"))
    assert response.status_code == 404


def test_lost_response_write_commits_but_the_client_sees_a_dropped_connection(
    api: Api, fresh_sandbox: SandboxServer
) -> None:
    terms = api.terms_id()
    fresh_sandbox.admin("POST", "faults", {"lost_response_rate": 1.0, "methods": ["POST"], "max_faults": 1})
    with pytest.raises(requests.ConnectionError):
        api("POST", "/customers", json=customer(terms, "HTTP-LOST"))
    stored = fresh_sandbox.admin("GET", "objects", params={"company": "demo-no", "collection": "customers"})
    assert [c["CustomerNumber"] for c in stored].count("HTTP-LOST") == 1
    # A blind retry is what double-books: here it meets the duplicate check instead.
    assert api("POST", "/customers", json=customer(terms, "HTTP-LOST")).status_code == 409
    stats = fresh_sandbox.admin("GET", "stats")
    assert stats["endpoints"]["POST /v2/customers"]["lost_response"] == 1
