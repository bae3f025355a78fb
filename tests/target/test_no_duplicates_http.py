"""Zero duplicates: lost responses, re-runs, and a target killed mid-run.

Each test runs in a private sandbox (faults and switches are per server). Invoices carry their
external key in YourReference and payments in Reference, so the sandbox's own objects (admin API)
say how often each record was written.
"""

from __future__ import annotations

import collections
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from target_support import TargetHarness, record_message, schema_message

UNLIMITED = {"rate_limit_per_minute": 100_000}


def pipeline(h: TargetHarness, n: int, *, prefix: str = "K") -> list[str]:
    customer = h.objects("customers")[0]
    article = h.objects("articles")[0]
    lines = [schema_message("customer_invoices"), schema_message("customer_invoice_payments")]
    for i in range(n):
        lines.append(
            record_message(
                "customer_invoices",
                {
                    "order_id": f"{prefix}-{i}",
                    "CustomerId": customer["Id"],
                    "InvoiceDate": "2025-10-01",
                    "Rows": [{"ArticleId": article["Id"], "Quantity": 1, "UnitPrice": 100.0}],
                },
            )
        )
        lines.append(
            record_message(
                "customer_invoice_payments",
                {
                    "payment_id": f"P{prefix}-{i}",
                    "InvoiceExternalKey": f"{prefix}-{i}",
                    "PaymentDate": "2025-10-15",
                    "PaymentAmount": 50.0,
                    "PaymentType": 1,
                },
            )
        )
    return lines


KEYS = {
    "external_key_properties": {"customer_invoices": "order_id", "customer_invoice_payments": "payment_id"},
    **UNLIMITED,
}


def written(h: TargetHarness, prefix: str = "K") -> tuple[collections.Counter[str], collections.Counter[str]]:
    invoices = collections.Counter(
        str(i.get("YourReference"))
        for i in h.objects("customerinvoices")
        if str(i.get("YourReference") or "").startswith(f"{prefix}-")
    )
    payments = collections.Counter(
        str(p.get("Reference"))
        for p in h.objects("payments")
        if str(p.get("Reference") or "").startswith(f"P{prefix}-")
    )
    return invoices, payments


def assert_exactly_once(h: TargetHarness, n: int, prefix: str = "K") -> None:
    invoices, payments = written(h, prefix)
    assert len(invoices) == n, f"{n - len(invoices)} invoices missing"
    assert max(invoices.values()) == 1, [k for k, c in invoices.items() if c > 1]
    assert len(payments) == n, f"{n - len(payments)} payments missing"
    assert max(payments.values()) == 1, [k for k, c in payments.items() if c > 1]


def lost_responses(h: TargetHarness, rate: float) -> None:
    h.sandbox.admin("POST", "config", {"rate_limit_per_minute": 0})
    h.sandbox.admin("POST", "faults", {"lost_response_rate": rate, "methods": ["POST"], "seed": 11})


def other_streams(h: TargetHarness, n: int) -> list[str]:
    """Vouchers and converted drafts: the two other lookups (content; reference + CreatedFromDraftId)."""
    customer = h.objects("customers")[0]
    article = h.objects("articles")[0]
    lines = [schema_message("vouchers"), schema_message("customer_invoice_drafts")]
    for i in range(n):
        voucher = {
            "voucher_id": f"V-{i}",
            "VoucherText": f"Target voucher V-{i}",
            "VoucherDate": "2025-11-03",
            "Rows": [
                {"AccountNumber": 1920, "DebitAmount": 10.0 + i},
                {"AccountNumber": 3000, "CreditAmount": 10.0 + i},
            ],
        }
        draft = {
            "draft_id": f"DR-{i}",
            "CustomerId": customer["Id"],
            "InvoiceDate": "2025-11-04",
            "Rows": [{"ArticleId": article["Id"], "Quantity": 2, "UnitPrice": 30.0}],
        }
        lines += [record_message("vouchers", voucher), record_message("customer_invoice_drafts", draft)]
    return lines


OTHER_KEYS = {"vouchers": "voucher_id", "customer_invoice_drafts": "draft_id"}


def test_lost_responses_create_nothing_twice_and_rerun_creates_nothing(fresh_harness: TargetHarness) -> None:
    h = fresh_harness
    lost_responses(h, 0.3)
    lines = pipeline(h, 40) + other_streams(h, 20)
    keys = {**KEYS, "external_key_properties": {**KEYS["external_key_properties"], **OTHER_KEYS}}
    target = h.run(lines, max_concurrency=8, convert_drafts=True, **keys)
    assert h.sandbox.admin("GET", "stats")["faults_injected"].get("lost_response", 0) >= 10
    assert target.run.outcomes.counts == {"created": 120, "updated": 0, "skipped": 0, "rejected": 0}
    assert_exactly_once(h, 40)
    vouchers = collections.Counter(
        v["VoucherText"] for v in h.objects("vouchers") if str(v["VoucherText"]).startswith("Target voucher")
    )
    assert len(vouchers) == 20
    assert max(vouchers.values()) == 1
    converted = collections.Counter(
        str(i.get("YourReference"))
        for i in h.objects("customerinvoices")
        if str(i.get("YourReference")).startswith("DR-")
    )
    assert len(converted) == 20
    assert max(converted.values()) == 1

    h.sandbox.admin("DELETE", "faults")
    again = h.run(lines, convert_drafts=True, **keys)
    assert again.run.outcomes.counts == {"created": 0, "updated": 0, "skipped": 120, "rejected": 0}
    assert again.run.api.writes == 0
    assert_exactly_once(h, 40)


@pytest.mark.slow
def test_done_when_1000_invoices_and_1000_payments_at_20_percent_lost(fresh_harness: TargetHarness) -> None:
    h = fresh_harness
    lost_responses(h, 0.2)
    started = time.monotonic()
    target = h.run(pipeline(h, 1000, prefix="D"), max_concurrency=8, **KEYS)
    elapsed = time.monotonic() - started
    invoices, payments = written(h, "D")
    print(  # the closing note quotes these numbers
        f"\nlost-response 20%: invoices={len(invoices)} (max per key {max(invoices.values())}), "
        f"payments={len(payments)} (max per key {max(payments.values())}), "
        f"faults={h.sandbox.admin('GET', 'stats')['faults_injected']}, {elapsed:.1f}s"
    )
    assert_exactly_once(h, 1000, "D")
    assert target.run.outcomes.counts["rejected"] == 0


def test_killed_mid_run_then_rerun_writes_every_record_exactly_once(
    fresh_harness: TargetHarness, tmp_path: Path
) -> None:
    h = fresh_harness
    h.sandbox.admin("POST", "config", {"rate_limit_per_minute": 0})
    h.sandbox.admin("POST", "faults", {"latency_ms": 15, "methods": ["POST"]})
    n = 150
    messages = tmp_path / "input.singer"
    messages.write_text("".join(line + "\n" for line in pipeline(h, n, prefix="X")))
    config_path = tmp_path / "config.json"
    config: dict[str, Any] = {**h.config, **KEYS, "max_concurrency": 4}
    config_path.write_text(json.dumps(config))
    command = [
        sys.executable,
        "-m",
        "target_eaccounting",
        "--config",
        str(config_path),
        "--input",
        str(messages),
    ]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(written(h, "X")[0]) < n // 3:
            time.sleep(0.05)
        assert proc.poll() is None, "the target finished before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    partial_invoices, _ = written(h, "X")
    assert 0 < len(partial_invoices) < n

    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert_exactly_once(h, n, "X")


def test_death_during_draft_conversion_never_converts_twice(harness: TargetHarness) -> None:
    import requests

    from target_eaccounting.ledger import Ledger

    h = harness
    customer = h.objects("customers")[0]
    article = h.objects("articles")[0]
    drafts = [
        {
            "draft_id": f"CV-{i}",
            "CustomerId": customer["Id"],
            "InvoiceDate": "2025-11-05",
            "Rows": [{"ArticleId": article["Id"], "Quantity": 1, "UnitPrice": 20.0}],
        }
        for i in range(2)
    ]
    keys = {"external_key_properties": {"customer_invoice_drafts": "draft_id"}}
    lines = [schema_message("customer_invoice_drafts")] + [
        record_message("customer_invoice_drafts", d) for d in drafts
    ]
    h.run(lines, **keys)  # drafts only
    ledger = Ledger(h.config["ledger_path"])
    for i in range(2):  # as if the process died inside POST .../convert
        entry = ledger.get("customer_invoice_drafts", f"CV-{i}")
        assert entry is not None
        assert entry.object_id is not None
        ledger.begin(
            "customer_invoice_drafts", f"CV-{i}", entry.payload_hash, {**entry.extra, "converting": "x"}
        )
    # ... and the first conversion did reach the server before the process died
    first = ledger.get("customer_invoice_drafts", "CV-0")
    assert first is not None
    token = h.sandbox.mint_tokens(h.company)["access_token"]
    response = requests.post(
        f"{h.sandbox.api_url}/customerinvoicedrafts/{first.object_id}/convert",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    ledger.close()

    h.run(lines, convert_drafts=True, **keys)
    invoices = collections.Counter(
        str(i.get("YourReference"))
        for i in h.objects("customerinvoices")
        if str(i.get("YourReference")).startswith("CV-")
    )
    assert invoices == {"CV-0": 1, "CV-1": 1}
    again = h.run(lines, convert_drafts=True, **keys)
    assert again.run.outcomes.counts["skipped"] == 2
    assert again.run.api.writes == 0
