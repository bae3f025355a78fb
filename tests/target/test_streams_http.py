"""Every stream's happy path against the sandbox, over real HTTP, plus fiscal-year choice."""

from __future__ import annotations

from typing import Any

import pytest
from target_support import TargetHarness, messages, record_message, schema_message

from target_eaccounting.record_errors import TooManyFailedRecordsError, UnknownStreamError


def _customer(h: TargetHarness) -> dict[str, Any]:
    return h.objects("customers")[0]


def _article(h: TargetHarness) -> dict[str, Any]:
    return h.objects("articles")[0]


def invoice_record(h: TargetHarness, date: str, amount: float = 100.0, **extra: Any) -> dict[str, Any]:
    return {
        "CustomerNumber": _customer(h)["CustomerNumber"],
        "InvoiceDate": date,
        "Rows": [{"ArticleNumber": _article(h)["Number"], "Quantity": 1, "UnitPrice": amount}],
        **extra,
    }


def fiscal_year_ids(h: TargetHarness) -> dict[int, str]:
    return {int(str(y["StartDate"])[:4]): str(y["Id"]) for y in h.objects("fiscalyears")}


def test_customers_upsert_creates_updates_and_never_wipes(harness: TargetHarness) -> None:
    existing = _customer(harness)
    assert existing["EmailAddress"]
    new = {
        "CustomerNumber": "T-9001",
        "Name": "Ny Kunde AS",
        "InvoiceCity": "Bergen",
        "InvoicePostalCode": "5003",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": existing["TermsOfPaymentId"],
    }
    rename = {"CustomerNumber": existing["CustomerNumber"], "Name": "Omdøpt AS"}
    before = len(harness.objects("customers"))
    target = harness.run(messages("customers", [new, rename]))
    assert target.run.outcomes.counts == {"created": 1, "updated": 1, "skipped": 0, "rejected": 0}
    by_number = {c["CustomerNumber"]: c for c in harness.objects("customers")}
    assert len(by_number) == before + 1
    assert by_number["T-9001"]["InvoiceCity"] == "Bergen"
    updated = by_number[existing["CustomerNumber"]]
    assert updated["Name"] == "Omdøpt AS"
    assert updated["EmailAddress"] == existing["EmailAddress"]  # read-modify-write kept it
    assert updated["InvoiceAddress1"] == existing["InvoiceAddress1"]

    again = harness.run(messages("customers", [new, rename]))
    assert again.run.outcomes.counts["skipped"] == 2
    assert again.run.api.writes == 0
    assert len(harness.objects("customers")) == before + 1


def test_suppliers_and_articles_upsert(harness: TargetHarness) -> None:
    supplier = harness.objects("suppliers")[0]
    article = _article(harness)
    target = harness.run(
        [
            *messages(
                "suppliers",
                [
                    {"SupplierNumber": supplier["SupplierNumber"], "Note": "updated by target"},
                    {
                        "SupplierNumber": "S-77",
                        "Name": "Ny Leverandør",
                        "TermsOfPaymentId": supplier["TermsOfPaymentId"],
                    },
                ],
            ),
            *messages(
                "articles",
                [
                    {"Number": article["Number"], "Name": "Renamed article"},
                    {
                        "Number": "A-NEW",
                        "Name": "New article",
                        "CodingId": article["CodingId"],
                        "UnitId": article["UnitId"],
                        "IsActive": True,
                    },
                ],
            ),
        ]
    )
    assert target.run.outcomes.counts == {"created": 2, "updated": 2, "skipped": 0, "rejected": 0}
    suppliers = {s["SupplierNumber"]: s for s in harness.objects("suppliers")}
    assert suppliers[supplier["SupplierNumber"]]["Note"] == "updated by target"
    assert suppliers[supplier["SupplierNumber"]]["Name"] == supplier["Name"]
    assert "S-77" in suppliers
    articles = {a["Number"]: a for a in harness.objects("articles")}
    assert articles[article["Number"]]["Name"] == "Renamed article"
    assert articles[article["Number"]]["UnitId"] == article["UnitId"]
    assert articles["A-NEW"]["CodingId"] == article["CodingId"]


def test_invoices_get_the_fiscal_year_of_their_own_date(harness: TargetHarness) -> None:
    years = fiscal_year_ids(harness)
    back_dated = invoice_record(harness, "2025-03-01")
    future = invoice_record(harness, "2026-12-20")  # after "today" in the sandbox's clock
    locked = invoice_record(harness, "2024-05-01")
    outside = invoice_record(harness, "2031-01-01")
    # the plan names the year each document gets (the sandbox 400s a FiscalYearId that does not
    # contain the document date, so the creates below prove the injected ids)
    harness.run(messages("customer_invoices", [back_dated, future]), dry_run=True)
    details = sorted(p["detail"] for p in harness.plan())
    assert details == ["fiscal year 2025-01-01..2025-12-31", "fiscal year 2026-01-01..2026-12-31"]
    before = len(harness.objects("customerinvoices"))
    with pytest.raises(TooManyFailedRecordsError):
        harness.run(messages("customer_invoices", [back_dated, future, locked, outside]))
    created = harness.objects("customerinvoices")[before:]
    assert sorted(str(i["InvoiceDate"])[:10] for i in created) == ["2025-03-01", "2026-12-20"]
    by_date = {str(i["InvoiceDate"])[:10]: i for i in created}
    if "FiscalYearId" in by_date["2025-03-01"]:  # the sandbox keeps what it validated
        assert by_date["2025-03-01"]["FiscalYearId"] == years[2025]
        assert by_date["2026-12-20"]["FiscalYearId"] == years[2026]
    rejects = {r["record"]["InvoiceDate"]: r for r in harness.rejects()}
    assert set(rejects) == {"2024-05-01", "2031-01-01"}
    assert rejects["2024-05-01"]["reason"] == "fiscal_year"
    assert "locked" in rejects["2024-05-01"]["message"]
    assert "2031-01-01 is outside every fiscal year" in rejects["2031-01-01"]["message"]
    assert "2025-01-01..2025-12-31" in rejects["2031-01-01"]["message"]


def test_invoice_payments_by_id_and_by_external_key_of_an_invoice_in_the_same_run(
    harness: TargetHarness,
) -> None:
    existing = next(i for i in harness.objects("customerinvoices") if float(i["RemainingAmount"]) > 10)
    invoice = invoice_record(harness, "2025-06-01", 400.0, order_id="ORD-1")
    pay_new = {
        "InvoiceExternalKey": "ORD-1",
        "PaymentDate": "2025-06-10",
        "PaymentAmount": 125.0,
        "PaymentType": 1,
    }
    pay_old = {
        "InvoiceId": existing["Id"],
        "PaymentDate": "2025-07-01",
        "PaymentAmount": 10.0,
        "PaymentType": 1,
    }
    # payments arrive before their invoice is drained: the payment sink waits for the invoice sink
    lines = [
        schema_message("customer_invoice_payments"),
        schema_message("customer_invoices"),
        record_message("customer_invoices", invoice),
        record_message("customer_invoice_payments", pay_new),
        record_message("customer_invoice_payments", pay_old),
    ]
    config = {"external_key_properties": {"customer_invoices": "order_id"}}
    target = harness.run(lines, **config)
    assert target.run.outcomes.counts == {"created": 3, "updated": 0, "skipped": 0, "rejected": 0}
    created = next(i for i in harness.objects("customerinvoices") if i.get("YourReference") == "ORD-1")
    payments = harness.objects("payments")
    assert sum(1 for p in payments if p.get("Reference") and p.get("PaymentAmount") == 125.0) == 1
    refreshed = {i["Id"]: i for i in harness.objects("customerinvoices")}
    assert float(refreshed[created["Id"]]["RemainingAmount"]) < float(created["TotalAmount"])
    assert float(refreshed[existing["Id"]]["RemainingAmount"]) == pytest.approx(
        float(existing["RemainingAmount"]) - 10.0
    )
    again = harness.run(lines, **config)
    assert again.run.outcomes.counts["skipped"] == 3
    assert again.run.api.writes == 0


def test_supplier_invoice_payment(harness: TargetHarness) -> None:
    invoice = next(i for i in harness.objects("supplierinvoices") if abs(float(i["RemainingAmount"])) > 5)
    payment = {
        "InvoiceId": invoice["Id"],
        "PaymentDate": "2025-08-01",
        "PaymentAmount": 5.0,
        "PaymentType": 1,
    }
    target = harness.run(messages("supplier_invoice_payments", [payment]))
    assert target.run.outcomes.counts["created"] == 1
    after = next(i for i in harness.objects("supplierinvoices") if i["Id"] == invoice["Id"])
    assert abs(float(after["RemainingAmount"])) == pytest.approx(abs(float(invoice["RemainingAmount"])) - 5.0)


def test_drafts_created_and_converted(harness: TargetHarness) -> None:
    before = len(harness.objects("customerinvoices"))
    drafts = [invoice_record(harness, "2025-09-01", 80.0), invoice_record(harness, "2025-09-02", 90.0)]
    target = harness.run(messages("customer_invoice_drafts", drafts), convert_drafts=True)
    assert target.run.outcomes.counts["created"] == 2
    converted = harness.objects("customerinvoices")[before:]
    assert len(converted) == 2
    assert all(i.get("YourReference") for i in converted)
    again = harness.run(messages("customer_invoice_drafts", drafts), convert_drafts=True)
    assert again.run.outcomes.counts["skipped"] == 2
    assert len(harness.objects("customerinvoices")) == before + 2


def test_vouchers_balanced_created_unbalanced_rejected_before_sending(harness: TargetHarness) -> None:
    vat = harness.objects("vatcodes")[0]
    good = {
        "VoucherText": "Target test voucher",
        "VoucherDate": "2025-04-30",
        "Rows": [
            {"AccountNumber": 1920, "DebitAmount": 250.0, "VatCode": vat["Code"]},
            {"AccountNumber": 3000, "CreditAmount": 250.0},
        ],
    }
    bad = {
        **good,
        "VoucherText": "unbalanced",
        "Rows": [{**good["Rows"][0]}, {"AccountNumber": 3000, "CreditAmount": 200}],
    }
    before = len(harness.objects("vouchers"))
    target = harness.run(messages("vouchers", [good, bad]), max_failed_records=1)
    assert target.run.outcomes.counts["created"] == 1
    assert target.run.api.writes == 1
    vouchers = harness.objects("vouchers")[before:]
    assert [v["VoucherText"] for v in vouchers] == ["Target test voucher"]
    (reject,) = harness.rejects()
    assert reject["reason"] == "unbalanced_voucher"
    assert "difference 50.00" in reject["message"]


def test_unknown_stream_fails_at_schema_time(harness: TargetHarness) -> None:
    with pytest.raises(UnknownStreamError, match="'orders'"):
        harness.run([schema_message("orders"), record_message("orders", {"x": 1})])


def test_dry_run_plans_without_writing(harness: TargetHarness) -> None:
    existing = _customer(harness)
    lines = [
        *messages("customers", [{"CustomerNumber": existing["CustomerNumber"], "Name": "Dry"}]),
        *messages(
            "customer_invoices",
            [invoice_record(harness, "2025-02-02"), invoice_record(harness, "2024-02-02")],
        ),
    ]
    counts_before = {c: len(harness.objects(c)) for c in ("customers", "customerinvoices")}
    target = harness.run(lines, dry_run=True)
    assert target.run.api.writes == 0
    assert {c: len(harness.objects(c)) for c in counts_before} == counts_before
    plan = harness.plan()
    actions = sorted((p["stream"], p["action"]) for p in plan)  # concurrent: any order
    assert actions == [
        ("customer_invoices", "create"),
        ("customer_invoices", "reject"),
        ("customers", "update"),
    ]
    (rejected,) = [p for p in plan if p["action"] == "reject"]
    assert rejected["reason"] == "fiscal_year"
    assert "2024-02-02" in rejected["message"]
    assert not harness.rejects()


def test_master_data_created_once_under_concurrency(harness: TargetHarness) -> None:
    """Two records with one new number but different external keys race: one creates, the other finds
    it (or gets 409/4000 and resolves it) and updates; never two customers with one number."""
    terms = _customer(harness)["TermsOfPaymentId"]
    base = {
        "CustomerNumber": "RACE-1",
        "InvoiceCity": "Oslo",
        "InvoicePostalCode": "0150",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": terms,
    }
    records = [{**base, "src": "a", "Name": "Race A"}, {**base, "src": "b", "Name": "Race B"}]
    target = harness.run(messages("customers", records), external_key_properties={"customers": "src"})
    counts = target.run.outcomes.counts
    assert counts["rejected"] == 0
    assert counts["created"] == 1
    assert [c["CustomerNumber"] for c in harness.objects("customers")].count("RACE-1") == 1


def test_what_the_tap_reads_writes_back_as_a_no_op(harness: TargetHarness) -> None:
    """Master data exactly as the API returns it (read-only fields, nested objects) is recognised as
    already up to date: skipped, no PUT."""
    records = harness.objects("customers")[:3]
    target = harness.run(messages("customers", records))
    assert target.run.outcomes.counts == {"created": 0, "updated": 0, "skipped": 3, "rejected": 0}
    assert target.run.api.writes == 0


def test_streams_in_alphabetical_order_still_write_master_data_first(harness: TargetHarness) -> None:
    """tap-postgres emits streams alphabetically: payments, invoices, then the customer they reference."""
    customer = {
        "CustomerNumber": "ALPHA-1",
        "Name": "Alfabet AS",
        "InvoiceCity": "Oslo",
        "InvoicePostalCode": "0150",
        "IsActive": True,
        "IsPrivatePerson": False,
        "TermsOfPaymentId": _customer(harness)["TermsOfPaymentId"],
    }
    invoice = {**invoice_record(harness, "2025-06-01", 300.0), "CustomerNumber": "ALPHA-1", "order_id": "A-1"}
    payment = {
        "InvoiceExternalKey": "A-1",
        "PaymentDate": "2025-06-05",
        "PaymentAmount": 50.0,
        "PaymentType": 1,
    }
    lines = [
        schema_message("customer_invoice_payments"),
        record_message("customer_invoice_payments", payment),
        schema_message("customer_invoices"),
        record_message("customer_invoices", invoice),
        schema_message("customers"),
        record_message("customers", customer),
    ]
    target = harness.run(lines, external_key_properties={"customer_invoices": "order_id"})
    assert harness.rejects() == []
    assert target.run.outcomes.counts == {"created": 3, "updated": 0, "skipped": 0, "rejected": 0}
    created = [i for i in harness.objects("customerinvoices") if i.get("YourReference") == "A-1"]
    assert len(created) == 1
    assert created[0]["CustomerNumber"] == "ALPHA-1" or created[0]["CustomerId"] in {
        c["Id"] for c in harness.objects("customers") if c["CustomerNumber"] == "ALPHA-1"
    }
