"""Streams synced side by side (``max_parallel_streams``): every record emitted, each stream's SCHEMA
before its records, no STATE claiming a record not out yet, resumable from any STATE, after SIGKILL and
SIGTERM too; ``fail_fast`` stops the running streams; ``max_parallel_streams: 1`` syncs one stream after
another."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.run_summary import EXIT_OK, EXIT_STREAMS_FAILED
from tap_eaccounting.streams import BY_NAME, STREAMS

from .conftest import COMPANY, catalog_for, object_ids, tap_config
from .test_tap_stream_failures import NO_PURCHASE, run_selected, summary_rows

Message = dict[str, Any]
# The whole company: every stream but voucher_over_under_payments (a fan-out stream: one request per
# voucher); the other fan-out stream, one request per customer, enabled.
WHOLE = [s.name for s in STREAMS if s.name != "voucher_over_under_payments"]
ENABLED: dict[str, Any] = {"fan_out_streams": ["customer_auto_invoice_recipients"]}
# A mix: flat incremental, full table, partitioned children, fan-out children, account balances.
MIX = [
    "customers",
    "customer_invoices",
    "supplier_invoices",
    "articles",
    "vat_codes",
    "accounts",
    "vouchers",
    "customer_auto_invoice_recipients",
    "bank_transactions_matched",
    "account_balances",
]


def key_of(stream: str, record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record.get(k) for k in BY_NAME[stream].keys)


def keys(msgs: list[Message], stream: str) -> set[tuple[Any, ...]]:
    return {key_of(stream, m["record"]) for m in msgs if m["type"] == "RECORD" and m["stream"] == stream}


def first_index(msgs: list[Message], kind: str, stream: str) -> int | None:
    return next((i for i, m in enumerate(msgs) if m["type"] == kind and m.get("stream") == stream), None)


def last_record_index(msgs: list[Message], stream: str) -> int | None:
    found = [i for i, m in enumerate(msgs) if m["type"] == "RECORD" and m["stream"] == stream]
    return found[-1] if found else None


def overlapping(msgs: list[Message]) -> list[tuple[str, str]]:
    """(a, b) where b's SCHEMA came out after a's and before a's last record: b started while a ran."""
    schemas = {m["stream"]: i for i, m in reversed(list(enumerate(msgs))) if m["type"] == "SCHEMA"}
    result = []
    for a, start in schemas.items():
        end = last_record_index(msgs, a)
        result += [(a, b) for b, at in schemas.items() if end is not None and start < at < end]
    return result


def check_schema_first(msgs: list[Message]) -> None:
    for stream in {m["stream"] for m in msgs if m["type"] == "RECORD"}:
        schema, record = first_index(msgs, "SCHEMA", stream), first_index(msgs, "RECORD", stream)
        assert record is not None
        assert schema is not None, stream
        assert schema < record, stream


def check_states_claim_only_emitted(msgs: list[Message]) -> int:
    """Every bookmark a STATE holds (of a stream, or of a partition) comes after every record of that
    stream (partition) in the whole output: a complete run, from no state. Returns the bookmarks seen."""
    last: dict[tuple[str, Any], int] = {}
    for i, m in enumerate(msgs):
        if m["type"] == "RECORD":
            parent_key = BY_NAME[m["stream"]].parent_key
            last[(m["stream"], None)] = i
            if parent_key:
                last[(m["stream"], m["record"].get(parent_key))] = i
    checked = 0
    for i, m in enumerate(msgs):
        if m["type"] != "STATE":
            continue
        for stream, entry in m["value"].get("bookmarks", {}).items():
            if entry.get("replication_key_value"):
                assert last.get((stream, None), -1) < i, (stream, i)
                checked += 1
            for partition in entry.get("partitions", []):
                if partition.get("replication_key_value"):
                    (value,) = partition["context"].values()
                    assert last.get((stream, value), -1) < i, (stream, value, i)
                    checked += 1
    return checked


def test_side_by_side_emits_every_record_in_valid_order(
    fresh_sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Latency and small pages: the stream threads and both pools have requests in flight at once.
    fresh_sandbox.admin("POST", "faults", {"latency_ms": 30})
    config = tap_config(
        fresh_sandbox, tmp_path, **ENABLED, account_balance_dates=["today"], max_concurrency=8, page_size=20
    )
    with caplog.at_level(logging.WARNING):
        run, summary = run_selected(config, WHOLE)
    fresh_sandbox.admin("DELETE", "faults")
    assert summary.exit_code == EXIT_OK
    counts: dict[str, int] = fresh_sandbox.admin("GET", "counts", params={"company": COMPANY})
    wrong = {}
    for name in WHOLE:
        records = [m for m in run.messages if m["type"] == "RECORD" and m["stream"] == name]
        if not (len(records) == len(keys(run.messages, name)) == counts[BY_NAME[name].path]):
            wrong[name] = (len(records), counts[BY_NAME[name].path])
    assert not wrong, f"stream: (records, sandbox count): {wrong}"
    for name in WHOLE:
        assert summary.outcomes[name].records == len(keys(run.messages, name)), name
    check_schema_first(run.messages)
    assert check_states_claim_only_emitted(run.messages) >= 20
    assert "progress_markers" not in json.dumps(run.state)
    assert overlapping(run.messages), "no two streams ran at once"
    # The shared HTTP pool is sized for the stream threads and both pools: no connection thrown away.
    assert not [r for r in caplog.records if "Connection pool is full" in r.getMessage()]


def test_one_stream_at_a_time_gives_the_same_records(sandbox: SandboxServer, tmp_path: Path) -> None:
    parallel, _ = run_selected(tap_config(sandbox, tmp_path, **ENABLED, page_size=50), MIX)
    sequential, summary = run_selected(
        tap_config(sandbox, tmp_path, **ENABLED, page_size=50, max_parallel_streams=1), MIX
    )
    assert summary.exit_code == EXIT_OK
    for name in MIX:
        assert keys(sequential.messages, name) == keys(parallel.messages, name), name
    assert not overlapping(sequential.messages)  # each stream's messages end before the next one's start
    assert overlapping(parallel.messages)
    check_schema_first(sequential.messages)
    check_states_claim_only_emitted(sequential.messages)


def test_resuming_from_any_state_misses_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(sandbox, tmp_path, **ENABLED, page_size=50)
    full, _ = run_selected(config, MIX)
    check_schema_first(full.messages)
    assert check_states_claim_only_emitted(full.messages) >= 5
    states = [i for i, m in enumerate(full.messages) if m["type"] == "STATE"]
    assert len(states) >= len(MIX)
    for at in states:
        before = full.messages[:at]
        resumed, summary = run_selected(
            tap_config(sandbox, tmp_path, **ENABLED), MIX, state=full.messages[at]["value"]
        )
        assert summary.exit_code == EXIT_OK
        for name in MIX:
            missing = keys(full.messages, name) - keys(before, name) - keys(resumed.messages, name)
            assert not missing, (at, name, len(missing))


def _start(tmp_path: Path, config: dict[str, Any], streams: list[str]) -> subprocess.Popen[bytes]:
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_for(config, streams)))
    cmd = [sys.executable, "-m", "tap_eaccounting.tap", "--config", str(tmp_path / "config.json")]
    cmd += ["--catalog", str(tmp_path / "catalog.json")]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _until_states(proc: subprocess.Popen[bytes], states: int) -> list[bytes]:
    """The tap's stdout lines up to its ``states``-th STATE message."""
    assert proc.stdout is not None
    lines: list[bytes] = []
    seen = 0
    for line in proc.stdout:
        lines.append(line)
        seen += b'"type":"STATE"' in line
        if seen == states:
            break
    return lines


def _parse(lines: list[bytes]) -> list[Message]:
    result = []
    for line in lines:
        try:
            result.append(json.loads(line))
        except json.JSONDecodeError:
            break  # the line a kill cut short
    return result


def _check_against_sandbox(
    server: SandboxServer, first: list[Message], config: dict[str, Any], streams: list[str]
) -> None:
    """A stream bookmarked in a STATE of the interrupted run had emitted all its records before it; a
    run resumed from its last STATE emits the rest: together, every record the sandbox holds."""
    counts: dict[str, int] = server.admin("GET", "counts", params={"company": COMPANY})
    for i, m in enumerate(first):
        if m["type"] == "STATE":
            for name, entry in m["value"].get("bookmarks", {}).items():
                if entry.get("replication_key_value"):
                    assert len(keys(first[:i], name)) == counts[BY_NAME[name].path], (name, i)
    states = [m["value"] for m in first if m["type"] == "STATE"]
    resumed, summary = run_selected(config, streams, state=states[-1])
    assert summary.exit_code == EXIT_OK
    for name in streams:
        got = keys(first, name) | keys(resumed.messages, name)
        assert len(got) == counts[BY_NAME[name].path], name


def test_sigkill_mid_run_then_resume_misses_nothing(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    fresh_sandbox.admin("POST", "faults", {"latency_ms": 40})  # every /v2 request: streams overlap longer
    config = tap_config(fresh_sandbox, tmp_path, **ENABLED, account_balance_dates=["today"], page_size=100)
    proc = _start(tmp_path, config, WHOLE)
    lines = _until_states(proc, 12)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.stdout is not None
    lines += proc.stdout.read().splitlines(keepends=True)
    proc.wait(timeout=30)
    fresh_sandbox.admin("DELETE", "faults")
    first = _parse(lines)
    finished = {m["stream"] for m in first if m["type"] == "SCHEMA"}
    assert 2 <= len(finished) < len(WHOLE), "the kill did not land mid-run"
    assert overlapping(first), "no two streams ran at once before the kill"
    check_schema_first(first)
    resume = tap_config(fresh_sandbox, tmp_path, **ENABLED, account_balance_dates=["today"])
    _check_against_sandbox(fresh_sandbox, first, resume, WHOLE)


def test_sigterm_stops_the_run_gracefully(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    fresh_sandbox.admin("POST", "faults", {"latency_ms": 40})
    config = tap_config(fresh_sandbox, tmp_path, **ENABLED, account_balance_dates=["today"], page_size=100)
    proc = _start(tmp_path, config, WHOLE)
    lines = _until_states(proc, 12)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    fresh_sandbox.admin("DELETE", "faults")
    first = _parse(lines + out.splitlines(keepends=True))
    stderr = err.decode()
    assert proc.returncode == EXIT_STREAMS_FAILED, stderr[-3000:]
    assert "interrupted by SIGTERM" in stderr
    rows = summary_rows(stderr)
    assert any("not run" in row for row in rows.values()), "every stream had started: a late signal"
    assert "Traceback" not in stderr
    check_schema_first(first)
    resume = tap_config(fresh_sandbox, tmp_path, **ENABLED, account_balance_dates=["today"])
    _check_against_sandbox(fresh_sandbox, first, resume, WHOLE)


def test_fail_fast_side_by_side_stops_the_running_streams(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    # articles opens alone (first in catalog order); then customer_invoices (slow pages) and
    # supplier_invoices (403: no ea:purchase) start together, vat_codes waits for a free slot.
    fresh_sandbox.admin("POST", "faults", {"latency_ms": 60, "paths": ["/v2/customerinvoices"]})
    config = tap_config(
        fresh_sandbox, tmp_path, fail_fast=True, max_parallel_streams=2, page_size=10, max_concurrency=1
    )
    config["refresh_token"] = fresh_sandbox.mint_tokens(COMPANY, NO_PURCHASE)["refresh_token"]
    streams = ["articles", "customer_invoices", "supplier_invoices", "vat_codes"]
    run, summary = run_selected(config, streams)
    fresh_sandbox.admin("DELETE", "faults")
    assert summary.exit_code == EXIT_STREAMS_FAILED
    status = {name: o.status_text for name, o in summary.outcomes.items()}
    assert status == {
        "articles": "ok",
        "customer_invoices": "stopped",
        "supplier_invoices": "failed: PermissionDeniedError",
        "vat_codes": "not run",
    }
    invoices = object_ids(fresh_sandbox, "customerinvoices")
    assert len(run.records["customer_invoices"]) < len(invoices)  # stopped before its end
    assert summary.outcomes["customer_invoices"].records == len(run.records["customer_invoices"])
    assert "replication_key_value" not in run.state["bookmarks"].get("customer_invoices", {})
    assert run.state["bookmarks"]["articles"]["replication_key_value"]
    assert not [m for m in run.messages if m.get("stream") == "vat_codes"]

    resumed, _ = run_selected(tap_config(fresh_sandbox, tmp_path), ["customer_invoices"], state=run.state)
    assert resumed.ids("customer_invoices") == invoices


def test_requests_are_counted_per_stream_while_streams_overlap(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    fresh_sandbox.admin("DELETE", "stats")
    config = tap_config(fresh_sandbox, tmp_path, **ENABLED, page_size=20)
    streams = ["customers", "customer_invoices", "customer_auto_invoice_recipients", "accounts"]
    run, summary = run_selected(config, streams)
    endpoints = fresh_sandbox.admin("GET", "stats")["endpoints"]
    served = sum(sum(by_status.values()) for endpoint, by_status in endpoints.items() if " /v2/" in endpoint)
    assert overlapping(run.messages)
    outcomes = summary.outcomes
    # Every request the sandbox served is booked to exactly one stream.
    assert sum(o.requests for o in outcomes.values()) == served
    for flat in ("customers", "customer_invoices"):
        assert outcomes[flat].requests == run.requests(flat) > 1, flat  # its reader's, nothing else
    # One request per customer (80), plus the listing of the customers' ids (pages of 20).
    assert outcomes["customer_auto_invoice_recipients"].requests >= 80 + 4
    assert outcomes["accounts"].requests >= 1 + 3  # the fiscal years, then one partition each
