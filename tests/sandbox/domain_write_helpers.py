"""Helpers shared by the in-process write tests (``Company.write`` called directly)."""

from __future__ import annotations

from typing import Any

import pytest

from eaccounting_sandbox import writes
from eaccounting_sandbox.error_responses import ApiError
from eaccounting_sandbox.store import Company


def write(company: Company, method: str, path: str, body: Any = None, **params: str) -> Any:
    status, result = writes.write(company, method, path, params=params, query={}, body=body)
    assert status in (200, 201, 204)
    return result


def fails(company: Company, method: str, path: str, body: Any = None, **params: str) -> ApiError:
    with pytest.raises(ApiError) as caught:
        writes.write(company, method, path, params=params, query={}, body=body)
    return caught.value


def customer_body(company: Company, **extra: Any) -> dict[str, Any]:
    body = {
        "Name": "Ny Kunde AS",
        "InvoiceCity": "Oslo",
        "InvoicePostalCode": "0150",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": company.collection("termsofpayments").items[0]["Id"],
    }
    body.update(extra)
    return body


def invoice_body(company: Company, customer_id: str | None = None, **extra: Any) -> dict[str, Any]:
    article = company.collection("articles").items[0]
    body = {
        "CustomerId": customer_id or company.collection("customers").items[0]["Id"],
        "Rows": [{"ArticleId": article["Id"], "Quantity": 2, "UnitPrice": 100.0}],
    }
    body.update(extra)
    return body
