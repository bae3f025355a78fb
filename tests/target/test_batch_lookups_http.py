"""Over HTTP: the numbers of a batch are looked up in a few list reads, not one GET per record, with
the same outcomes (created, updated, skipped, ``reference_not_found``). Requests are counted by the
sandbox (``/_admin/stats``), so each test has a sandbox of its own."""

from __future__ import annotations

from typing import Any

import pytest
from target_support import TargetHarness, messages

from target_eaccounting.record_errors import TooManyFailedRecordsError


def count(h: TargetHarness, endpoint: str) -> int:
    stats: dict[str, dict[str, int]] = h.sandbox.admin("GET", "stats")["endpoints"]
    return sum(stats.get(endpoint, {}).values())


def new_customer(h: TargetHarness, number: str) -> dict[str, Any]:
    template = h.objects("customers")[0]
    return {
        "CustomerNumber": number,
        "Name": f"Kunde {number}",
        "IsPrivatePerson": False,
        "IsActive": True,
        "InvoiceCity": "Bergen",
        "InvoicePostalCode": "5003",
        "TermsOfPaymentId": template["TermsOfPaymentId"],
    }


def test_drafts_referencing_few_customers_look_them_up_together(fresh_harness: TargetHarness) -> None:
    h = fresh_harness
    customers = [c["CustomerNumber"] for c in h.objects("customers")[:20]]
    articles = [a["Number"] for a in h.objects("articles")[:3]]
    drafts = [
        {
            "CustomerNumber": customers[i % len(customers)],
            "InvoiceDate": "2025-05-05",
            "YourReference": f"BATCH-{i}",
            "Rows": [{"ArticleNumber": articles[i % len(articles)], "Quantity": 1, "UnitPrice": 10.0 + i}],
        }
        for i in range(60)
    ]
    unknown = {**drafts[0], "CustomerNumber": "NO-SUCH-CUSTOMER", "YourReference": "BATCH-X"}
    h.sandbox.admin("DELETE", "stats")

    with pytest.raises(TooManyFailedRecordsError):
        h.run(messages("customer_invoice_drafts", [*drafts, unknown]), max_failed_records=0)

    created = [
        d for d in h.objects("customerinvoicedrafts") if str(d.get("YourReference")).startswith("BATCH-")
    ]
    assert sorted(d["YourReference"] for d in created) == sorted(f"BATCH-{i}" for i in range(60))
    [reject] = h.rejects()
    assert (reject["reason"], reject["field"]) == ("reference_not_found", "CustomerNumber")
    assert "'NO-SUCH-CUSTOMER' does not exist" in reject["message"]
    # 61 records, 21 customer numbers: one batch read, and one exact read confirming the missing number
    assert count(h, "GET /v2/customers") == 2
    assert count(h, "GET /v2/articles") == 1
    assert count(h, "POST /v2/customerinvoicedrafts") == 60


def test_new_customers_cost_one_batch_lookup_and_one_post_each(fresh_harness: TargetHarness) -> None:
    h = fresh_harness
    existing = h.objects("customers")[:5]
    records = [new_customer(h, f"NEW-{i:03d}") for i in range(40)]
    records += [{"CustomerNumber": c["CustomerNumber"], "Note": "checked"} for c in existing]
    h.sandbox.admin("DELETE", "stats")

    target = h.run(messages("customers", records))

    assert target.run.outcomes.counts == {"created": 40, "updated": 5, "skipped": 0, "rejected": 0}
    assert count(h, "GET /v2/customers") == 1
    assert count(h, "POST /v2/customers") == 40
    assert count(h, "GET /v2/customers/{customerId}") == 5  # read-modify-write of the existing ones
    assert count(h, "PUT /v2/customers/{customerId}") == 5
    stored = {c["CustomerNumber"]: c for c in h.objects("customers")}
    assert all(f"NEW-{i:03d}" in stored for i in range(40))
    assert {stored[c["CustomerNumber"]]["Note"] for c in existing} == {"checked"}

    h.sandbox.admin("DELETE", "stats")
    again = h.run(messages("customers", records))
    assert again.run.outcomes.counts == {"created": 0, "updated": 0, "skipped": 45, "rejected": 0}
    assert count(h, "GET /v2/customers") == 0  # the ledger knows them all: nothing to look up


def test_many_numbers_in_a_small_collection_take_one_full_read(fresh_harness: TargetHarness) -> None:
    h = fresh_harness
    records = [new_customer(h, f"BULKCUSTOMER{i:04d}") for i in range(150)]
    h.sandbox.admin("DELETE", "stats")

    target = h.run(messages("customers", records))

    assert target.run.outcomes.counts["created"] == 150
    # 150 numbers need several $filter chunks; the company's customers fit one page, read whole
    assert count(h, "GET /v2/customers") == 1
    assert count(h, "POST /v2/customers") == 150
