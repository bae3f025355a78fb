"""Exactly once while 20% of response bodies are cut short, reads and writes alike (docs: "Survive the
real API's unknowns"). A cut read is read again; a cut POST has committed, so it is ambiguous and the
target looks the object up instead of re-sending; a cut PUT is re-sent (idempotent). The target CLI
exits 0 and every record exists exactly once."""

from __future__ import annotations

import collections
import json
import subprocess
import sys
from pathlib import Path

import pytest
from target_support import TargetHarness, record_message, schema_message

N_CUSTOMERS = 100
N_INVOICES = 100
N_UPDATES = 10


def input_lines(h: TargetHarness) -> tuple[list[str], dict[str, str]]:
    existing = h.objects("customers")
    article = h.objects("articles")[0]
    lines = [schema_message("customers")]
    for i in range(N_CUSTOMERS):
        customer = {
            "CustomerNumber": f"TR-{i}",
            "Name": f"Truncated {i} AS",
            "InvoiceCity": "Oslo",
            "InvoicePostalCode": "0150",
            "IsActive": True,
            "IsPrivatePerson": False,
            "TermsOfPaymentId": existing[0]["TermsOfPaymentId"],
        }
        lines.append(record_message("customers", customer))
    renamed = {str(c["CustomerNumber"]): f"Renamed {c['CustomerNumber']}" for c in existing[:N_UPDATES]}
    lines += [record_message("customers", {"CustomerNumber": n, "Name": name}) for n, name in renamed.items()]
    lines.append(schema_message("customer_invoices"))
    for i in range(N_INVOICES):
        invoice = {
            "order_id": f"TI-{i}",
            "CustomerId": existing[1]["Id"],
            "InvoiceDate": "2025-10-01",
            "Rows": [{"ArticleId": article["Id"], "Quantity": 1, "UnitPrice": 10.0 + i}],
        }
        lines.append(record_message("customer_invoices", invoice))
    return lines, renamed


@pytest.mark.parametrize("mode", ["json", "connection"])
def test_every_record_written_exactly_once_with_20_percent_of_bodies_cut(
    fresh_harness: TargetHarness, tmp_path: Path, mode: str
) -> None:
    h = fresh_harness
    lines, renamed = input_lines(h)
    messages = tmp_path / "input.singer"
    messages.write_text("".join(line + "\n" for line in lines))
    config = {
        **h.config,
        "external_key_properties": {"customer_invoices": "order_id"},
        "rate_limit_per_minute": 100_000,
    }
    (tmp_path / "config.json").write_text(json.dumps(config))
    h.sandbox.admin("POST", "config", {"rate_limit_per_minute": 0})
    # ``methods`` named: the sandbox cuts write answers too (after the write has committed).
    faults = {"truncate_rate": 0.2, "truncate_mode": mode, "methods": ["GET", "POST", "PUT"], "seed": 21}
    h.sandbox.admin("POST", "faults", faults)
    command = [sys.executable, "-m", "target_eaccounting", "--config", str(tmp_path / "config.json")]
    run = subprocess.run(
        [*command, "--input", str(messages)], capture_output=True, text=True, timeout=300, check=False
    )
    endpoints = h.sandbox.admin("GET", "stats")["endpoints"]
    h.sandbox.admin("DELETE", "faults")
    assert run.returncode == 0, run.stderr[-3000:]
    assert h.rejects() == []
    # The faults did hit reads, creates and updates.
    for endpoint in ("POST /v2/customers", "POST /v2/customerinvoices"):
        assert endpoints[endpoint].get("truncated", 0) >= 3, (endpoint, endpoints[endpoint])
    # Batch lookups read customers in ~20 GETs, not one per record: at 20% a few of them are cut.
    assert endpoints["GET /v2/customers"].get("truncated", 0) >= 1, endpoints["GET /v2/customers"]
    assert sum(v.get("truncated", 0) for k, v in endpoints.items() if k.startswith("PUT ")) >= 1

    customers = collections.Counter(str(c["CustomerNumber"]) for c in h.objects("customers"))
    created = {f"TR-{i}" for i in range(N_CUSTOMERS)}
    assert {n: customers[n] for n in created} == dict.fromkeys(created, 1)
    names = {str(c["CustomerNumber"]): c["Name"] for c in h.objects("customers")}
    assert {n: names[n] for n in renamed} == renamed
    invoices = collections.Counter(
        str(i.get("YourReference"))
        for i in h.objects("customerinvoices")
        if str(i.get("YourReference")).startswith("TI-")
    )
    assert invoices == collections.Counter({f"TI-{i}": 1 for i in range(N_INVOICES)})
