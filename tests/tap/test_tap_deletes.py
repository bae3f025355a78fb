"""detect_deletes: hard deletes between runs come out as records with _sdc_deleted_at."""

from __future__ import annotations

from pathlib import Path

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting import deletes

from .conftest import COMPANY, object_ids, run_tap, tap_config


def test_digest_round_trip() -> None:
    uuids = {("0f8c6a8e-1b2c-4d5e-8f90-1234567890ab",), ("A0000000-0000-4000-8000-000000000001",)}
    canonical = {deletes.normalize(k) for k in uuids}
    assert deletes.decode(deletes.encode(canonical)) == canonical
    mixed = {("2026-01-01", 1910), ("2026-01-01", 2400)}
    assert deletes.decode(deletes.encode(mixed)) == mixed


def test_deleted_rows_are_emitted_once(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(fresh_sandbox, tmp_path, detect_deletes=True, page_size=100)
    streams = ["customer_invoices", "customers", "countries"]
    first = run_tap(config, streams)
    assert not any("_sdc_deleted_at" in r for s in streams for r in first.records[s])
    digest = first.state["bookmarks"]["customer_invoices"][deletes.DIGEST_KEY]
    assert len(digest) < 30 * len(first.records["customer_invoices"])  # compact: ~22 bytes per id

    before = object_ids(fresh_sandbox, "customerinvoices")
    fresh_sandbox.admin(
        "POST", "churn", {"company": COMPANY, "deletes": 7, "updates": 2, "collections": ["customerinvoices"]}
    )
    gone = before - object_ids(fresh_sandbox, "customerinvoices")
    assert len(gone) == 7
    second = run_tap(config, streams, state=first.state)
    tombstones = [r for r in second.records["customer_invoices"] if r.get("_sdc_deleted_at")]
    assert {r["Id"] for r in tombstones} == gone
    assert all(set(r) == {"Id", "ModifiedUtc", "_sdc_deleted_at"} for r in tombstones)
    assert not any(r.get("_sdc_deleted_at") for s in ("customers", "countries") for r in second.records[s])

    third = run_tap(config, streams, state=second.state)
    assert not any(r.get("_sdc_deleted_at") for s in streams for r in third.records[s])
