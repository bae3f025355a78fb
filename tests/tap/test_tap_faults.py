"""Stream-level recovery: 5xx, connection resets and timeouts mid-sync cost retries, never records;
SIGKILL mid-sync then resume from the last STATE loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from eaccounting_sandbox.server import SandboxServer

from .conftest import catalog_for, object_ids, run_tap, tap_config


def test_5xx_resets_and_timeouts_are_retried_without_losing_records(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    fresh_sandbox.admin(
        "POST",
        "faults",
        {
            "error_rate": 0.2,
            "reset_rate": 0.1,
            "slow_rate": 0.05,
            "slow_seconds": 3,
            "seed": 3,
            "max_faults": 12,
            "paths": ["/v2/customerinvoices"],
        },
    )
    config = tap_config(fresh_sandbox, tmp_path, page_size=25, request_timeout=1)
    run = run_tap(config, ["customer_invoices"])
    injected = fresh_sandbox.admin("GET", "stats")["faults_injected"]
    fresh_sandbox.admin("DELETE", "faults")
    assert sum(injected.values()) if isinstance(injected, dict) else injected
    ids = [r["Id"] for r in run.records["customer_invoices"]]
    assert sorted(ids) == sorted(object_ids(fresh_sandbox, "customerinvoices"))
    assert run.tap.streams["customer_invoices"].runtime.client.stats["retries"] >= 1


def test_429_is_waited_out_without_losing_records(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    # 429 ErrorCode 4010 "... Try again in 1 seconds." on some pages, as the live API answers over budget.
    faults = {"rate_limit_rate": 0.3, "rate_limit_seconds": 1, "seed": 4, "max_faults": 4}
    fresh_sandbox.admin("POST", "faults", {**faults, "paths": ["/v2/customerinvoices"]})
    run = run_tap(tap_config(fresh_sandbox, tmp_path, page_size=25), ["customer_invoices"])
    fresh_sandbox.admin("DELETE", "faults")
    ids = [r["Id"] for r in run.records["customer_invoices"]]
    assert sorted(ids) == sorted(object_ids(fresh_sandbox, "customerinvoices"))
    assert run.tap.streams["customer_invoices"].runtime.client.stats["429"] >= 1


def _messages(path: Path) -> list[dict]:
    lines = path.read_text("utf-8").splitlines()
    result = []
    for line in lines:
        try:
            result.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the line the kill cut short
    return result


def test_sigkill_mid_sync_then_resume_misses_nothing(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    streams = ["customers", "customer_invoices", "supplier_invoices"]
    config = tap_config(fresh_sandbox, tmp_path, page_size=10, max_concurrency=2)
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_for(config, streams)))
    # Slow pages, so the kill lands in the middle of customer_invoices.
    fresh_sandbox.admin("POST", "faults", {"latency_ms": 30, "paths": ["/v2/customerinvoices"]})
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tap_eaccounting.tap",
            "--config",
            str(tmp_path / "config.json"),
            "--catalog",
            str(tmp_path / "catalog.json"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    lines: list[bytes] = []
    invoices = 0
    for line in proc.stdout:
        lines.append(line)
        if b'"RECORD"' in line and b'"customer_invoices"' in line:
            invoices += 1
            if invoices == 120:
                os.kill(proc.pid, signal.SIGKILL)
                break
    lines.extend(proc.stdout.read().splitlines(keepends=True))
    proc.wait(timeout=30)
    out = tmp_path / "out.jsonl"
    out.write_bytes(b"".join(lines))
    fresh_sandbox.admin("DELETE", "faults")
    first = _messages(out)
    states = [m["value"] for m in first if m["type"] == "STATE"]
    emitted: dict[str, set[str]] = {s: set() for s in streams}
    for m in first:
        if m["type"] == "RECORD":
            emitted[m["stream"]].add(m["record"]["Id"])
    assert 0 < len(emitted["customer_invoices"]) < 500, "the kill did not land mid-stream"
    resumed = run_tap(config, streams, state=states[-1] if states else None)
    for stream, collection in [
        ("customers", "customers"),
        ("customer_invoices", "customerinvoices"),
        ("supplier_invoices", "supplierinvoices"),
    ]:
        got = emitted[stream] | resumed.ids(stream)
        assert object_ids(fresh_sandbox, collection) <= got, stream
