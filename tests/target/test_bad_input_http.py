"""Bad input ends in the reject file with a message naming record and field, and no write request."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from target_support import TargetHarness, messages

from target_eaccounting.record_errors import TooManyFailedRecordsError

INVOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "CustomerNumber": {"type": "string"},
        "InvoiceDate": {"type": "string", "format": "date"},
        "OurReference": {"type": ["string", "null"]},
        "Rows": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"UnitPrice": {"type": "number"}, "Quantity": {"type": "number"}},
            },
        },
    },
}


def test_bad_records_are_rejected_without_any_write(harness: TargetHarness) -> None:
    customer = harness.objects("customers")[0]
    article = harness.objects("articles")[0]

    def invoice(**extra: object) -> dict:
        return {
            "CustomerNumber": customer["CustomerNumber"],
            "InvoiceDate": "2025-05-05",
            "Rows": [{"ArticleNumber": article["Number"], "Quantity": 1, "UnitPrice": 10.0}],
            **extra,
        }

    bad_invoices = [
        {k: v for k, v in invoice().items() if k != "CustomerNumber"},  # missing required CustomerId/Number
        invoice(Rows=[{"ArticleNumber": article["Number"], "Quantity": 1, "UnitPrice": "ten"}]),  # wrong type
        invoice(OurReference="x" * 10_000),  # far too long
        invoice(CustomerNumber="NO-SUCH-CUSTOMER"),  # unknown customer
    ]
    unbalanced = {
        "VoucherText": "bad",
        "VoucherDate": "2025-05-05",
        "Rows": [{"AccountNumber": 1920, "DebitAmount": 10}, {"AccountNumber": 3000, "CreditAmount": 9}],
    }
    before = {c: len(harness.objects(c)) for c in ("customerinvoices", "vouchers")}
    lines = [
        *messages("customer_invoices", bad_invoices, INVOICE_SCHEMA),
        *messages("vouchers", [unbalanced]),
    ]
    with pytest.raises(TooManyFailedRecordsError, match="5 record"):
        harness.run(lines)
    assert {c: len(harness.objects(c)) for c in before} == before
    rejects = harness.rejects()
    assert len(rejects) == 5
    by_field = {(r["reason"], r["field"]): r for r in rejects}
    assert ("invalid_record", "CustomerId") in by_field
    assert ("invalid_record", "Rows[0].UnitPrice") in by_field
    assert "has type str" in by_field[("invalid_record", "Rows[0].UnitPrice")]["message"]
    long = by_field[("invalid_record", "OurReference")]
    assert "10000 characters" in long["message"]
    assert len(long["message"]) < 300
    assert long["record"]["OurReference"] == "x" * 10_000  # the original record is kept whole
    assert "NO-SUCH-CUSTOMER" in by_field[("reference_not_found", "CustomerNumber")]["message"]
    assert ("unbalanced_voucher", "Rows") in by_field
    for reject in rejects:
        assert reject["external_key"]
        assert reject["client_id"] == "sandbox-client"


def test_api_rejection_carries_error_id_and_replay_feeds_it_back(
    harness: TargetHarness, tmp_path: Path
) -> None:
    customer = harness.objects("customers")[0]
    # valid for the spec, refused by the API: an article id that does not exist
    record = {
        "CustomerId": customer["Id"],
        "InvoiceDate": "2025-05-05",
        "Rows": [{"ArticleId": "00000000-0000-4000-8000-00000000dead", "Quantity": 1, "UnitPrice": 1.0}],
    }
    with pytest.raises(TooManyFailedRecordsError):
        harness.run(messages("customer_invoices", [record]))
    (reject,) = harness.rejects()
    assert reject["reason"] == "api_error"
    assert reject["http_status"] in (400, 404)
    assert reject["ErrorId"]
    assert reject["ErrorCode"] is not None

    # fix the record in the reject file, then replay it through the CLI
    fixed_line = reject
    fixed_line["record"]["Rows"][0]["ArticleId"] = harness.objects("articles")[0]["Id"]
    replay_file = tmp_path / "fixed.jsonl"
    import json

    replay_file.write_text(json.dumps(fixed_line) + "\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**harness.config, "reject_path": str(tmp_path / "replay-rejects.jsonl")}))
    before = len(harness.objects("customerinvoices"))
    result = subprocess.run(
        [sys.executable, "-m", "target_eaccounting", "--config", str(config), "--replay", str(replay_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "created=1" in result.stderr
    assert len(harness.objects("customerinvoices")) == before + 1


def test_revoked_grant_exits_2_with_summary_and_nothing_lost(harness: TargetHarness, tmp_path: Path) -> None:
    import json

    customer = harness.objects("customers")[0]
    record = {"CustomerNumber": customer["CustomerNumber"], "Note": "never written"}
    messages_file = tmp_path / "in.singer"
    messages_file.write_text("\n".join(messages("customers", [record])) + "\n")
    config = tmp_path / "config.json"
    config.write_text(json.dumps(harness.config))
    harness.sandbox.admin("POST", "password-change", {"company": harness.company})
    result = subprocess.run(
        [sys.executable, "-m", "target_eaccounting", "--config", str(config), "--input", str(messages_file)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "re-authorize" in result.stderr
    assert "summary: created=0 updated=0 skipped=0 rejected=0" in result.stderr
    assert harness.config["refresh_token"] not in result.stderr
    assert harness.config["client_secret"] not in result.stderr
