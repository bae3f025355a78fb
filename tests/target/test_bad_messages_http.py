"""No bad message stops the target: each becomes a reject line with its line number and reason, every
good record around it lands, and the run exits 3. Files holding records are private (0600 / 0700)."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from target_support import TargetHarness, record_message, schema_message

CUSTOMERS_SCHEMA = {"type": "object", "properties": {}, "additionalProperties": True}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _run_cli(config: dict[str, Any], lines: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))
    input_file = tmp_path / "in.singer"
    input_file.write_text("".join(line + "\n" for line in lines))
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "target_eaccounting",
            "--config",
            str(config_file),
            "--input",
            str(input_file),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _input(h: TargetHarness) -> tuple[list[str], dict[int, tuple[str, str | None]], list[str], list[str]]:
    """The input; {line number: (reason, field)} of each bad line; the good customer numbers; the good
    drafts' references."""
    template = h.objects("customers")[0]
    article = h.objects("articles")[0]

    def customer(number: str, **extra: Any) -> dict[str, Any]:
        return {
            "CustomerNumber": number,
            "Name": f"Kunde {number}",
            "IsPrivatePerson": False,
            "IsActive": True,
            "InvoiceCity": "Bergen",
            "InvoicePostalCode": "5003",
            "TermsOfPaymentId": template["TermsOfPaymentId"],
            **extra,
        }

    def draft(reference: str, **extra: Any) -> dict[str, Any]:
        return {
            "CustomerNumber": template["CustomerNumber"],
            "InvoiceDate": "2025-05-05",
            "YourReference": reference,
            "Rows": [{"ArticleNumber": article["Number"], "Quantity": 1, "UnitPrice": 10.0}],
            **extra,
        }

    customers_schema = json.dumps(
        {
            "type": "SCHEMA",
            "stream": "customers",
            "schema": CUSTOMERS_SCHEMA,
            "key_properties": ["CustomerNumber"],
        }
    )
    lines = [
        customers_schema,  # 1
        record_message("customers", customer("BAD-1")),  # 2 good
        '{"type": "RECORD", "stream": "customers", "record": {"CustomerNumber": "BAD-x"',  # 3 not JSON
        record_message("customers", customer("BAD-2")),  # 4 good
        record_message("suppliers", {"SupplierNumber": "S-1", "Name": "early"}),  # 5 before its SCHEMA
        record_message("customers", customer("BAD-3")),  # 6 good
        record_message("customers", {"Name": "no number"}),  # 7 no key property
        record_message("customers", customer("BAD-4")),  # 8 good
        record_message("customers", customer("BAD-5", TermsOfPaymentId="not-a-uuid")),  # 9 bad UUID
        record_message("customers", customer("BAD-6")),  # 10 good
        schema_message("customer_invoice_drafts"),  # 11
        record_message("customer_invoice_drafts", draft("good-d1")),  # 12 good
        record_message("customer_invoice_drafts", draft("bad-enum", RotReducedInvoicingType=7)),  # 13
        record_message("customer_invoice_drafts", draft("good-d2")),  # 14 good
        record_message("customer_invoice_drafts", draft("bad-date", InvoiceDate="2025-02-30")),  # 15
        record_message("customer_invoice_drafts", draft("good-d3")),  # 16 good
    ]
    bad = {
        3: ("invalid_message", None),
        5: ("record_before_schema", None),
        7: ("missing_key_property", "CustomerNumber"),
        9: ("invalid_record", "TermsOfPaymentId"),
        13: ("invalid_record", "RotReducedInvoicingType"),
        15: ("invalid_record", "InvoiceDate"),
    }
    return lines, bad, [f"BAD-{i}" for i in range(1, 7) if i != 5], ["good-d1", "good-d2", "good-d3"]


def test_each_bad_message_is_rejected_and_every_good_record_lands(
    harness: TargetHarness, tmp_path: Path
) -> None:
    lines, bad, good_customers, good_drafts = _input(harness)
    drafts_before = len(harness.objects("customerinvoicedrafts"))
    private = tmp_path / "private" / "run"  # created by the target
    config = {
        **harness.config,
        "ledger_path": str(private / "ledger.sqlite"),
        "reject_path": str(private / "rejects.jsonl"),
    }
    result = _run_cli(config, lines, tmp_path)

    assert result.returncode == 3, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    assert "6 record(s) rejected" in result.stderr
    assert "summary: created=8 updated=0 skipped=0 rejected=6" in result.stderr

    numbers = {c["CustomerNumber"] for c in harness.objects("customers")}
    assert set(good_customers) <= numbers
    assert "BAD-5" not in numbers
    drafts = harness.objects("customerinvoicedrafts")[drafts_before:]
    assert sorted(d["YourReference"] for d in drafts) == good_drafts

    rejects = [json.loads(line) for line in (private / "rejects.jsonl").read_text().splitlines()]
    by_line = {r["line_number"]: r for r in rejects}
    assert {n: (r["reason"], r["field"]) for n, r in by_line.items()} == bad
    for number, reject in by_line.items():
        assert reject["message"]
        # one log line per reject, naming the line
        assert result.stderr.count(f"line_number={number} reason={reject['reason']}") == 1
    assert by_line[3]["record"] is None
    assert by_line[3]["raw_line"] == lines[2]
    assert "not JSON" in by_line[3]["message"]
    assert by_line[5]["stream"] == "suppliers"
    assert by_line[5]["record"] == {"SupplierNumber": "S-1", "Name": "early"}
    assert "before its stream's SCHEMA" in by_line[5]["message"]
    assert by_line[7]["record"] == {"Name": "no number"}
    assert "CustomerNumber" in by_line[7]["message"]
    assert "'not-a-uuid', not a UUID" in by_line[9]["message"]
    assert by_line[9]["external_key"] == "BAD-5"
    assert "not one of 0, 1, 2" in by_line[13]["message"]
    assert "'2025-02-30', not a date" in by_line[15]["message"]

    for path in (private / "ledger.sqlite", private / "rejects.jsonl"):
        assert _mode(path) == 0o600, path
    for wal in private.glob("ledger.sqlite-*"):
        assert _mode(wal) == 0o600, wal
    assert _mode(private) == 0o700
    assert _mode(private.parent) == 0o700


def test_dry_run_plans_the_bad_messages_in_a_private_plan(harness: TargetHarness, tmp_path: Path) -> None:
    lines, bad, _, _ = _input(harness)
    private = tmp_path / "dry"
    config = {
        **harness.config,
        "dry_run": True,
        "ledger_path": str(private / "ledger.sqlite"),
        "reject_path": str(private / "rejects.jsonl"),
        "plan_path": str(private / "plan" / "plan.jsonl"),
    }
    result = _run_cli(config, lines, tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    plan = [json.loads(line) for line in (private / "plan" / "plan.jsonl").read_text().splitlines()]
    rejected = {p["line_number"]: (p["reason"], p["field"]) for p in plan if p["action"] == "reject"}
    assert rejected == bad
    assert [p["action"] for p in plan].count("create") == 8
    assert _mode(private / "plan" / "plan.jsonl") == 0o600
    assert _mode(private / "plan") == 0o700
