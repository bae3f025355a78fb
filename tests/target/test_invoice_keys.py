"""``InvoiceExternalKey``: a written invoice is found in the ledger, a planned one (dry run) in the
on-disk ``PlannedKeys``; neither is held in memory, so a run of a million invoices stays small."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from target_support import TargetHarness, record_message, schema_message

from target_eaccounting.api import Api
from target_eaccounting.ledger import Ledger
from target_eaccounting.planned_keys import PlannedKeys
from target_eaccounting.record_errors import RecordError
from target_eaccounting.references import PLANNED, References
from target_eaccounting.stream_specs import STREAMS

PAYMENTS = "customer_invoice_payments"


class NoHttp:
    def request(self, method: str, path: str, **_: Any) -> Any:
        raise AssertionError(f"unexpected request {method} {path}")


@pytest.fixture
def refs(tmp_path: Path) -> Iterator[References]:
    ledger = Ledger(tmp_path / "ledger.sqlite")
    references = References(
        Api(NoHttp()), ledger, invoice_streams={n: s.invoice_streams for n, s in STREAMS.items()}
    )
    yield references
    references.close()
    ledger.close()


def resolve(refs: References, key: str, stream: str = PAYMENTS) -> str:
    return refs.resolve("invoice_key", key, "InvoiceExternalKey", stream=stream)


def test_a_planned_invoice_resolves_as_planned_for_the_payments_of_its_own_streams(refs: References) -> None:
    refs.remember_invoice("customer_invoices", "K-1", PLANNED)
    refs.remember_invoice("customer_invoice_drafts", "D-1", PLANNED)
    assert resolve(refs, "K-1") == PLANNED
    assert resolve(refs, "D-1") == PLANNED
    with pytest.raises(RecordError, match="'K-2'") as missing:
        resolve(refs, "K-2")
    assert missing.value.reason == "reference_not_found"
    # supplier payments name no customer-invoice stream: a customer invoice's key is not theirs
    with pytest.raises(RecordError, match="'K-1'"):
        resolve(refs, "K-1", "supplier_invoice_payments")


def test_a_written_invoice_resolves_from_the_ledger_only(refs: References) -> None:
    assert refs.ledger is not None
    refs.ledger.done("customer_invoices", "K-1", "id-1", "hash")
    refs.ledger.done("customer_invoice_drafts", "D-1", "draft-1", "hash", {"invoice_id": "invoice-1"})
    assert resolve(refs, "K-1") == "id-1"
    assert resolve(refs, "D-1") == "invoice-1"  # a converted draft is paid on its invoice
    refs.remember_invoice("customer_invoices", "K-9", "id-9")  # not in the ledger: nothing to find
    with pytest.raises(RecordError, match="'K-9'"):
        resolve(refs, "K-9")


def test_master_data_is_what_remember_takes(refs: References) -> None:
    with pytest.raises(ValueError, match="remember_invoice"):
        refs.remember("invoice_key", "K-1", "id-1")


def test_planned_keys_cost_no_python_memory_per_key() -> None:
    keys = [f"h{i:031x}" for i in range(20_000)]
    planned = PlannedKeys()
    planned.add("customer_invoices", "warm-up")  # the database itself
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for key in keys:
            planned.add("customer_invoices", key)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert ("customer_invoices", keys[-1]) in planned
    assert ("customer_invoice_drafts", keys[-1]) not in planned
    planned.close()
    # a dict of (stream, key) tuples would hold ~150 bytes per key (3 MB here)
    assert grown < 200_000, f"{grown} bytes of Python objects for {len(keys)} keys"


def test_a_dry_run_plans_a_payment_of_an_invoice_planned_in_the_same_run(harness: TargetHarness) -> None:
    customer = harness.objects("customers")[0]
    article = harness.objects("articles")[0]
    invoice = {
        "CustomerNumber": customer["CustomerNumber"],
        "InvoiceDate": "2025-06-01",
        "Rows": [{"ArticleNumber": article["Number"], "Quantity": 1, "UnitPrice": 400.0}],
        "order_id": "DRY-1",
    }
    payment = {"PaymentDate": "2025-06-10", "PaymentAmount": 125.0, "PaymentType": 1}
    lines = [
        schema_message(PAYMENTS),
        schema_message("customer_invoices"),
        record_message("customer_invoices", invoice),
        record_message(PAYMENTS, {**payment, "InvoiceExternalKey": "DRY-1"}),
        record_message(PAYMENTS, {**payment, "InvoiceExternalKey": "DRY-UNKNOWN"}),
    ]
    target = harness.run(lines, dry_run=True, external_key_properties={"customer_invoices": "order_id"})
    assert target.run.api.writes == 0
    actions = sorted((p["stream"], p["action"], p.get("reason")) for p in harness.plan())
    assert actions == [
        ("customer_invoice_payments", "create", None),
        ("customer_invoice_payments", "reject", "reference_not_found"),
        ("customer_invoices", "create", None),
    ]
