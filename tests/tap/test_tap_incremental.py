"""Incremental replication: resume from state, bookmark capped by the server's clock, 1 request when
nothing changed, and the $filter fallback."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pytest

from eaccounting_api import paging
from eaccounting_api.connection import client_from_config
from eaccounting_sandbox.server import SandboxServer

from .conftest import COMPANY, object_ids, run_tap, tap_config


def _bookmark(state: dict, stream: str) -> str:
    return str(state["bookmarks"][stream]["replication_key_value"])


def test_resume_from_state_reads_only_changes(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(fresh_sandbox, tmp_path, page_size=100)
    first = run_tap(config, ["customer_invoices"])
    assert sorted(first.ids("customer_invoices")) == sorted(object_ids(fresh_sandbox, "customerinvoices"))
    state = first.state
    assert "progress_markers" not in state["bookmarks"]["customer_invoices"]
    bookmark = _bookmark(state, "customer_invoices")
    # Never past page 1's ServerTimeUtc (minus the overlap), whatever the rows say.
    server_time = paging.parse_instant(
        first.tap.streams["customer_invoices"].reader.stats.first_server_time or ""
    )
    assert paging.parse_instant(bookmark) <= server_time - paging.TAIL_OVERLAP

    changed = fresh_sandbox.admin(
        "POST",
        "churn",
        {"company": COMPANY, "creates": 3, "updates": 5, "collections": ["customerinvoices"]},
    )["customerinvoices"]
    second = run_tap(config, ["customer_invoices"], state=state)
    got = second.ids("customer_invoices")
    assert set(changed["created"]) | set(changed["updated"]) <= got
    assert len(second.records["customer_invoices"]) < 50  # only the changes (and rows at the bookmark)
    assert second.requests("customer_invoices") == 1
    assert paging.parse_instant(_bookmark(second.state, "customer_invoices")) >= paging.parse_instant(
        bookmark
    )


FLAT = ["customer_invoices", "customers", "suppliers"]
CHILDREN = ["accounts", "vouchers", "sales_price_list_prices_by_list"]


def _api_requests(server: SandboxServer) -> dict[str, int]:
    """API requests the sandbox served per endpoint since the last reset (``GET /_admin/stats``); a
    token refresh (identity server) is not an API request."""
    stats = server.admin("GET", "stats")["endpoints"]
    return {endpoint: sum(by_status.values()) for endpoint, by_status in stats.items() if " /v2/" in endpoint}


def test_no_change_run_makes_one_request_per_incremental_stream(
    fresh_sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tap_config(fresh_sandbox, tmp_path)
    first = run_tap(config, FLAT + CHILDREN)
    assert all(first.records[name] for name in FLAT + CHILDREN)
    fresh_sandbox.admin("DELETE", "stats")
    second = run_tap(config, FLAT + CHILDREN, state=first.state)
    served = _api_requests(fresh_sandbox)
    # Counted by the server: one request per stream, no parent list (fiscal years, price lists), no
    # per-partition read; the children ask their flat sibling list once.
    paths = ["customerinvoices", "customers", "suppliers", "accounts", "vouchers", "salespricelists/prices"]
    assert served == {f"GET /v2/{path}": 1 for path in paths}
    for name in FLAT + CHILDREN:
        assert second.requests(name) == 1, name
    for name in CHILDREN:
        assert second.records[name] == [], name
        assert second.state["bookmarks"][name]["partitions"] == first.state["bookmarks"][name]["partitions"]

    # A change in one fiscal year: the probe sees it, every partition is read, the change is emitted.
    # The sandbox stamps a write with its own clock as it commits, so no overlap is needed here; with the
    # default 5 minutes the fourth run would read the just-churned rows once more (as every stream does).
    monkeypatch.setattr(paging, "TAIL_OVERLAP", dt.timedelta(0))
    changed = fresh_sandbox.admin(
        "POST", "churn", {"company": COMPANY, "creates": 0, "updates": 2, "collections": ["vouchers"]}
    )["vouchers"]["updated"]
    third = run_tap(config, CHILDREN, state=second.state)
    assert set(changed) <= third.ids("vouchers")
    years = {p["context"]["FiscalYearId"] for p in first.state["bookmarks"]["vouchers"]["partitions"]}
    assert third.requests("vouchers") == 1 + len(years)  # the probe, then one page per fiscal year
    assert third.requests("accounts") == third.requests("sales_price_list_prices_by_list") == 1
    # ... and the run after it is a no-change run again.
    fourth = run_tap(config, CHILDREN, state=third.state)
    assert all(fourth.requests(name) == 1 and not fourth.records[name] for name in CHILDREN)


def test_partitioned_child_streams_keep_a_bookmark_per_fiscal_year(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    config = tap_config(sandbox, tmp_path)
    run = run_tap(config, ["vouchers", "accounts"])
    partitions = run.state["bookmarks"]["vouchers"]["partitions"]
    years = {p["context"]["FiscalYearId"] for p in partitions}
    assert len(years) == 3
    assert all(p.get("replication_key_value") for p in partitions)
    assert {r["FiscalYearId"] for r in run.records["vouchers"]} == years
    again = run_tap(config, ["vouchers"], state=run.state)
    assert len(again.records["vouchers"]) < len(run.records["vouchers"])


def test_start_date_bounds_the_first_run(sandbox: SandboxServer, tmp_path: Path) -> None:
    everything = run_tap(tap_config(sandbox, tmp_path), ["customer_invoices"]).records["customer_invoices"]
    values = sorted(paging.parse_instant(r["ModifiedUtc"]) for r in everything)
    middle = values[len(values) // 2]
    config = tap_config(sandbox, tmp_path, start_date=paging.format_instant(middle))
    records = run_tap(config, ["customer_invoices"]).records["customer_invoices"]
    assert {r["Id"] for r in records} == {
        r["Id"] for r in everything if paging.parse_instant(r["ModifiedUtc"]) >= middle
    }


def test_filter_rejected_falls_back_to_client_side_filtering(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Make every $filter the tap sends one the server rejects (400 ErrorCode 6000), as a server
    # without OData support would.
    everything = run_tap(tap_config(sandbox, tmp_path), ["customers"]).records["customers"]
    middle = sorted(r["ChangedUtc"] for r in everything)[len(everything) // 2]
    original = paging.conjunction
    monkeypatch.setattr(
        paging, "conjunction", lambda *parts: (original(*parts) or "") + " bogus" if any(parts) else None
    )
    caplog.set_level(logging.WARNING)
    config = tap_config(sandbox, tmp_path, start_date=middle)
    records = run_tap(config, ["customers"]).records["customers"]
    expected = {
        r["Id"] for r in everything if paging.parse_instant(r["ChangedUtc"]) >= paging.parse_instant(middle)
    }
    assert {r["Id"] for r in records} == expected
    warnings = [r for r in caplog.records if "rejected $filter" in r.getMessage()]
    assert len(warnings) == 1


def test_a_fiscal_year_created_after_the_last_run_is_read(
    fresh_sandbox: SandboxServer, tmp_path: Path
) -> None:
    # The probe's state knows three fiscal years; a new one (with an account) is not in it, and its rows
    # are stamped after the watermark: the probe sees them and the new partition is read whole.
    config = tap_config(fresh_sandbox, tmp_path)
    first = run_tap(config, ["accounts"])
    client = client_from_config(config)
    year = client.request(
        "POST", "/fiscalyears", json={"StartDate": "2027-01-01", "EndDate": "2027-12-31"}
    ).json()
    client.request(
        "POST",
        "/accounts",
        json={"FiscalYearId": year["Id"], "Number": "1930", "Name": "Bank", "IsActive": True},
    )
    client.close()
    second = run_tap(config, ["accounts"], state=first.state)
    assert {(r["FiscalYearId"], r["Number"]) for r in second.records["accounts"]} >= {(year["Id"], "1930")}
    assert second.requests("accounts") == 1 + 4  # the probe, then one page per fiscal year
    assert len(second.state["bookmarks"]["accounts"]["partitions"]) == 4
