"""A failing stream does not take the run down: its records are flushed, a STATE keeps what finished,
the other streams go on, the run ends with a per-stream summary and exit code 3 (README "Exit codes");
``fail_fast`` stops at the first failure; run-level errors (dead grant, unreachable host, wrong api_url,
wrong client secret) stop at once with one line."""

from __future__ import annotations

import io
import json
import logging
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import pytest

from eaccounting_sandbox.server import SandboxServer
from tap_eaccounting.client import EAccountingStream
from tap_eaccounting.run_summary import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REAUTHORIZE,
    EXIT_STREAMS_FAILED,
    RunSummary,
    StreamOutcome,
    describe_fallbacks,
)
from tap_eaccounting.stream_failures import EXIT_UNREACHABLE
from tap_eaccounting.tap import TapEAccounting

from .conftest import COMPANY, Run, catalog_for, object_ids, run_tap, tap_config

# A grant without ea:purchase: /supplierinvoices answers 403 (not retried), the other two are served.
NO_PURCHASE = ["ea:api", "offline_access", "ea:sales", "ea:accounting"]
WITHOUT_SCOPE = ["customers", "supplier_invoices", "vat_codes"]  # in the tap's stream order
# 5xx on half the /customers requests, two tries each (``quick``): with one page in flight at a time the
# draws follow the pages, and seed 17 fails page 6 of 10-row pages twice (50 of the 80 customers read).
CUSTOMERS_5XX = {"error_rate": 0.5, "seed": 17, "paths": ["/v2/customers"]}


def cli(
    tmp_path: Path, config: dict[str, Any], streams: list[str], state: dict[str, Any] | None = None
) -> subprocess.CompletedProcess[str]:
    (tmp_path / "config.json").write_text(json.dumps(config))
    (tmp_path / "catalog.json").write_text(json.dumps(catalog_for(config, streams)))
    cmd = [sys.executable, "-m", "tap_eaccounting.tap", "--config", str(tmp_path / "config.json")]
    if state is not None:
        (tmp_path / "state.json").write_text(json.dumps(state))
        cmd += ["--state", str(tmp_path / "state.json")]
    return subprocess.run(
        [*cmd, "--catalog", str(tmp_path / "catalog.json")],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )


def messages(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


def record_ids(msgs: list[dict[str, Any]], stream: str) -> list[str]:
    return [m["record"]["Id"] for m in msgs if m["type"] == "RECORD" and m["stream"] == stream]


def last_state(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    return [m["value"] for m in msgs if m["type"] == "STATE"][-1]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "ERROR" in line]


def summary_rows(stderr: str) -> dict[str, str]:
    """Stream -> its summary row, from the block after "Run summary:"."""
    lines = stderr.splitlines()
    start = next(i for i, line in enumerate(lines) if "Run summary:" in line)
    rows = {}
    for line in lines[start + 2 :]:
        if not line.startswith("  "):
            break
        rows[line.split()[0]] = line
    return rows


def fast_retries(tap: TapEAccounting) -> None:
    """Two tries, no real backoff: the default policy sleeps out ~30 s before giving up."""
    stream = next(iter(tap.streams.values()))
    assert isinstance(stream, EAccountingStream)
    stream.runtime.client.retry.max_tries = 2
    stream.runtime.client.retry.base_delay = 0.01


def run_selected(
    config: dict[str, Any], streams: list[str], state: dict[str, Any] | None = None, *, quick: bool = False
) -> tuple[Run, RunSummary]:
    """In-process ``sync_selected`` (what the CLI runs), capturing the Singer messages."""
    tap = TapEAccounting(config=config, state=state, catalog=catalog_for(config, streams))
    if quick:
        fast_retries(tap)
    buffer = io.StringIO()
    with redirect_stdout(buffer):
        summary = tap.sync_selected()
    run = Run(messages(buffer.getvalue()), tap)
    for message in run.messages:
        if message["type"] == "RECORD":
            run.records[message["stream"]].append(message["record"])
    return run, summary


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port bound but not listening: connecting to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_a_failing_stream_leaves_the_others_and_a_resumable_state(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    config = tap_config(sandbox, tmp_path)
    config["refresh_token"] = sandbox.mint_tokens(COMPANY, NO_PURCHASE)["refresh_token"]
    result = cli(tmp_path, config, WITHOUT_SCOPE)

    assert result.returncode == EXIT_STREAMS_FAILED, result.stderr[-3000:]
    out = messages(result.stdout)
    assert sorted(record_ids(out, "customers")) == sorted(object_ids(sandbox, "customers"))
    assert sorted(record_ids(out, "vat_codes")) == sorted(object_ids(sandbox, "vatcodes"))
    assert not record_ids(out, "supplier_invoices")
    # The STATE covers what finished; the failed stream has no bookmark (a first run).
    state = last_state(out)
    assert state["bookmarks"]["customers"]["replication_key_value"]
    assert "replication_key_value" not in state["bookmarks"].get("supplier_invoices", {})
    assert "progress_markers" not in json.dumps(state)

    # One error line: the stream, what, the host, what to do; no traceback; then the summary.
    (line,) = error_lines(result.stderr)
    assert "supplier_invoices: the access token lacks the OAuth scope for GET /supplierinvoices" in line
    assert "`ea:purchase_readonly`" in line
    assert sandbox.api_url.split("//")[1].split("/")[0] in line
    assert "deselect the stream or re-authorize" in line
    assert "Traceback" not in result.stderr
    rows = summary_rows(result.stderr)
    assert list(rows) == WITHOUT_SCOPE
    assert rows["customers"].split()[1:3] == ["ok", str(len(record_ids(out, "customers")))]
    assert rows["supplier_invoices"].split()[1:4] == ["failed:", "PermissionDeniedError", "0"]
    assert rows["vat_codes"].split()[1] == "ok"
    # The noise is gone.
    assert "Skipping deselected stream" not in result.stderr
    assert "assumed to be unsorted" not in result.stderr

    # With the scope granted, resuming from that STATE reads the failed stream, and only changes of the
    # others.
    resumed = run_tap(tap_config(sandbox, tmp_path), WITHOUT_SCOPE, state=state)
    assert resumed.ids("supplier_invoices") == object_ids(sandbox, "supplierinvoices")
    assert len(resumed.records["customers"]) < len(record_ids(out, "customers"))


def test_records_of_a_stream_failing_mid_way_are_flushed_and_its_bookmark_kept(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    # The failing stream is the last one, and its state does not change (its bookmark stays where it
    # was): no later message, not even a STATE, pushes its buffered records out.
    fresh_sandbox.admin("POST", "faults", CUSTOMERS_5XX)
    config = tap_config(fresh_sandbox, tmp_path, page_size=10, max_concurrency=1)
    bookmark = {"replication_key": "ChangedUtc", "replication_key_value": "2000-01-01T00:00:00Z"}
    run, summary = run_selected(config, ["customers"], {"bookmarks": {"customers": bookmark}}, quick=True)
    fresh_sandbox.admin("DELETE", "faults")
    assert summary.exit_code == EXIT_STREAMS_FAILED
    failed = summary.outcomes["customers"]
    assert (failed.status, failed.error) == ("failed", "ServerError")
    customers = object_ids(fresh_sandbox, "customers")
    assert 0 < len(run.records["customers"]) < len(customers), "the fault did not land mid-stream"
    assert failed.records == len(run.records["customers"]) == 50
    assert failed.retries >= 1
    assert run.state == {"bookmarks": {"customers": bookmark}}

    resumed, summary = run_selected(config, ["customers"], run.state)
    assert summary.exit_code == EXIT_OK
    assert resumed.ids("customers") == customers


def test_fail_fast_stops_at_the_first_failing_stream(sandbox: SandboxServer, tmp_path: Path) -> None:
    # One stream at a time: the streams after the failing one never start (side by side, the ones
    # already running are stopped instead: test_tap_parallel.py).
    config = tap_config(sandbox, tmp_path, fail_fast=True, max_parallel_streams=1)
    config["refresh_token"] = sandbox.mint_tokens(COMPANY, NO_PURCHASE)["refresh_token"]
    result = cli(tmp_path, config, WITHOUT_SCOPE)
    assert result.returncode == EXIT_STREAMS_FAILED, result.stderr[-3000:]
    out = messages(result.stdout)
    assert record_ids(out, "customers")
    assert not [m for m in out if m.get("stream") == "vat_codes"]
    assert last_state(out)["bookmarks"]["customers"]["replication_key_value"]
    rows = summary_rows(result.stderr)
    assert "failed: PermissionDeniedError" in rows["supplier_invoices"]
    assert "not run" in rows["vat_codes"]
    assert len(error_lines(result.stderr)) == 1


def test_a_5xx_beyond_retries_fails_only_its_stream(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    fresh_sandbox.admin("POST", "faults", {"error_rate": 1.0, "paths": ["/v2/customers"]})
    config = tap_config(fresh_sandbox, tmp_path)
    run, summary = run_selected(config, ["customer_invoices", "customers", "suppliers"], quick=True)
    fresh_sandbox.admin("DELETE", "faults")
    assert summary.exit_code == EXIT_STREAMS_FAILED
    assert summary.failed == ["customers"]
    assert run.ids("suppliers") == object_ids(fresh_sandbox, "suppliers")
    assert run.ids("customer_invoices") == object_ids(fresh_sandbox, "customerinvoices")
    failed = summary.outcomes["customers"]
    assert (failed.status, failed.error, failed.requests, failed.retries) == ("failed", "ServerError", 2, 1)
    assert summary.outcomes["suppliers"].retries == 0  # counted per stream


def test_a_failed_partition_keeps_its_old_bookmark_and_finished_ones_advance(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    config = tap_config(fresh_sandbox, tmp_path)
    first, _ = run_selected(config, ["accounts"])
    partitions = [p["context"]["FiscalYearId"] for p in first.state["bookmarks"]["accounts"]["partitions"]]
    assert len(partitions) >= 2
    by_year = {
        fy: {r["Number"] for r in first.records["accounts"] if r["FiscalYearId"] == fy} for fy in partitions
    }
    cut = partitions[-1]  # read last: the partitions before it finish first

    # Every answer for that fiscal year cut short, beyond the (two) tries.
    fresh_sandbox.admin("POST", "faults", {"truncate_rate": 1.0, "paths": [f"/v2/accounts/{cut}"]})
    config = tap_config(fresh_sandbox, tmp_path)
    failed, summary = run_selected(config, ["accounts"], quick=True)
    fresh_sandbox.admin("DELETE", "faults")
    assert summary.failed == ["accounts"]
    assert summary.exit_code == EXIT_STREAMS_FAILED  # a probe of /fiscalyears found the API answering
    contexts = {p["context"]["FiscalYearId"]: p for p in failed.state["bookmarks"]["accounts"]["partitions"]}
    for fy in partitions[:-1]:
        assert contexts[fy]["replication_key_value"], fy
    assert set(contexts.get(cut, {})) <= {"context"}  # no bookmark, no progress markers

    resumed, summary = run_selected(config, ["accounts"], state=failed.state)
    assert summary.exit_code == EXIT_OK
    assert {r["Number"] for r in resumed.records["accounts"] if r["FiscalYearId"] == cut} == by_year[cut]


def test_reauthorization_stops_at_once_with_one_line(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(fresh_sandbox, tmp_path)
    fresh_sandbox.admin("POST", "password-change", {"company": COMPANY})
    result = cli(tmp_path, config, ["customers", "suppliers"])
    assert result.returncode == EXIT_REAUTHORIZE, result.stderr[-3000:]
    (line,) = error_lines(result.stderr)
    assert "re-authorize" in line
    assert "Traceback" not in result.stderr
    assert not [m for m in messages(result.stdout) if m["type"] == "RECORD"]
    rows = summary_rows(result.stderr)
    assert "stopped: ReauthorizationRequired" in rows["customers"]
    assert "not run" in rows["suppliers"]


def test_an_unreachable_host_is_named_in_one_line(
    sandbox: SandboxServer, tmp_path: Path, closed_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    config = tap_config(sandbox, tmp_path, api_url=f"http://127.0.0.1:{closed_port}/v2")
    with caplog.at_level(logging.INFO):
        _, summary = run_selected(config, ["customers", "suppliers"], quick=True)
    assert summary.exit_code == EXIT_UNREACHABLE
    assert summary.outcomes["suppliers"].status == "not run"
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert (
        f"cannot reach the eAccounting API at 127.0.0.1:{closed_port} (Connection refused"
        in error.getMessage()
    )
    assert "check api_url" in error.getMessage()
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.INFO]


def test_a_wrong_api_url_says_it_is_not_the_api(sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(sandbox, tmp_path, api_url=sandbox.api_url.removesuffix("/v2"))
    result = cli(tmp_path, config, ["customers", "suppliers"])
    assert result.returncode == EXIT_ERROR, result.stderr[-3000:]
    (line,) = error_lines(result.stderr)
    assert f"api_url {config['api_url']} does not answer like the eAccounting API v2" in line
    assert "answers 404" in line
    assert "Traceback" not in result.stderr
    assert "not run" in summary_rows(result.stderr)["suppliers"]


def test_a_wrong_client_secret_is_one_line(sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(sandbox, tmp_path, client_secret="not-the-secret")
    result = cli(tmp_path, config, ["customers", "suppliers"])
    assert result.returncode == EXIT_ERROR, result.stderr[-3000:]
    (line,) = error_lines(result.stderr)
    assert "check client_id and client_secret" in line
    assert sandbox.identity_url.split("//")[1].split("/")[0] in line
    assert "not-the-secret" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_the_summary_table() -> None:
    summary = RunSummary()
    ok = summary.add("customers")
    ok.status, ok.records, ok.requests, ok.seconds = "ok", 1200, 3, 1.24
    ok.fallbacks = describe_fallbacks(
        {"/customers": {"filter": "ignored", "orderby": "ok", "page_size": 500}}
    )
    failed = summary.add("suppliers")
    failed.status, failed.error, failed.rate_limited, failed.retries = "failed", "ServerError", 2, 7
    summary.outcomes["units"] = StreamOutcome("units")
    assert summary.exit_code == EXIT_STREAMS_FAILED
    assert summary.table().splitlines() == [
        "Run summary: 3 stream(s): 1 ok, 1 failed, 1 not run",
        "  stream     status               records  requests  seconds  429s  retries  fallbacks",
        "  customers  ok                      1200         3      1.2     0        0  "
        "/customers $filter ignored, 500/page",
        "  suppliers  failed: ServerError        0         0      0.0     2        7  -",
        "  units      not run                    0         0      0.0     0        0  -",
    ]  # fmt: skip


def test_a_run_without_selected_streams_says_so(config: dict[str, Any]) -> None:
    assert RunSummary().table() == "Run summary: no stream selected"
    run, summary = run_selected(config, [])
    assert (summary.exit_code, summary.outcomes) == (EXIT_OK, {})
    assert not [m for m in run.messages if m["type"] == "RECORD"]


def test_a_client_that_cannot_be_built_is_one_line(
    config: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    run_selected(config, ["units"])  # this process's authenticator now owns the token store
    other = {**config, "client_id": "another-client"}
    with caplog.at_level(logging.INFO):
        _, summary = run_selected(other, ["units"])
    assert summary.exit_code == EXIT_ERROR
    assert summary.outcomes["units"].status == "not run"
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert error.getMessage().startswith("configuration: token store")
    assert "already in use by client_id 'sandbox-client'" in error.getMessage()
