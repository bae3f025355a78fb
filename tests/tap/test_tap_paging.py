"""Pagination edges: 0, 1, exactly N and N + partial pages; a capped page size (clamped or refused)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest

from eaccounting_sandbox.server import SandboxServer

from .conftest import object_ids, run_tap, tap_config

PAGE_LINE = re.compile(r"^customers page (\d+)/(\d+)$")


def _pages(caplog: pytest.LogCaptureFixture) -> list[tuple[int, int]]:
    found = []
    for record in caplog.records:
        match = PAGE_LINE.match(record.getMessage())
        if match:
            found.append((int(match.group(1)), int(match.group(2))))
    return found


@pytest.mark.parametrize(
    ("page_size", "pages"),
    [(80, 1), (40, 2), (20, 4), (7, 12), (1000, 1)],
    ids=["one-full-page", "exactly-2", "exactly-4", "12-with-partial-last", "one-partial-page"],
)
def test_every_record_once_whatever_the_page_size(
    sandbox: SandboxServer,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    page_size: int,
    pages: int,
) -> None:
    expected = object_ids(sandbox, "customers")
    assert len(expected) == 80  # the demo company; the page counts above assume it
    caplog.set_level(logging.DEBUG)  # a one-page read logs its page line at DEBUG
    run = run_tap(tap_config(sandbox, tmp_path, page_size=page_size), ["customers"])
    ids = [r["Id"] for r in run.records["customers"]]
    assert sorted(ids) == sorted(expected)  # each exactly once: no gap, no duplicate
    assert _pages(caplog) == [(n, pages) for n in range(1, pages + 1)]
    # Bulk pages, plus one tail request when there was more than one page.
    assert run.requests("customers") == pages + (1 if pages > 1 else 0)


def test_zero_records_is_one_request(
    sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # a one-page read logs its page line at DEBUG
    config = tap_config(sandbox, tmp_path, start_date="2999-01-01T00:00:00Z")
    run = run_tap(config, ["customers"])
    assert run.records["customers"] == []
    assert run.requests("customers") == 1
    assert _pages(caplog) == [(1, 1)]


def _all_voucher_ids(run: Any) -> list[str]:
    return [r["Id"] for r in run.records["all_vouchers"]]


def test_page_size_above_the_maximum_is_clamped(sandbox: SandboxServer, tmp_path: Path) -> None:
    # The sandbox serves at most 1000 per page and says so in Meta.PageSize; the tap trusts it
    # (asking page 2 of 2000 would skip rows 1001..2000 if it trusted its own size).
    expected = object_ids(sandbox, "vouchers")
    assert len(expected) > 1000
    run = run_tap(tap_config(sandbox, tmp_path, page_size=2000), ["all_vouchers"])
    assert sorted(_all_voucher_ids(run)) == sorted(expected)


def test_page_size_refused_with_400_is_halved(
    fresh_sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fresh_sandbox.admin("POST", "config", {"reject_oversize_page": True})
    expected = object_ids(fresh_sandbox, "vouchers")
    caplog.set_level(logging.DEBUG)  # a one-page read logs its page line at DEBUG
    run = run_tap(tap_config(fresh_sandbox, tmp_path, page_size=2000), ["all_vouchers"])
    assert sorted(_all_voucher_ids(run)) == sorted(expected)
    assert any("page size 2000 refused" in r.getMessage() for r in caplog.records)


def test_a_bound_carried_by_a_parameter_tails_from_the_first_page_not_from_the_start(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    # /customerinvoices takes its bookmark as modifiedSinceUtc, not $filter. On a first run the tail must
    # ask for rows since page 1's ServerTimeUtc (one request here), not for everything again.
    expected = object_ids(sandbox, "customerinvoices")
    assert len(expected) == 500  # the demo company
    run = run_tap(tap_config(sandbox, tmp_path, page_size=100), ["customer_invoices"])
    assert {r["Id"] for r in run.records["customer_invoices"]} == set(expected)
    assert run.requests("customer_invoices") == 5 + 1  # 5 bulk pages, 1 tail request
