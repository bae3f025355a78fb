"""No record lost under churn: a record that exists when the sync starts and when it ends is emitted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from eaccounting_sandbox.server import SandboxServer

from .conftest import COMPANY, SCOPES, object_ids, run_tap, tap_config

CHURN = {"company": COMPANY, "creates": 6, "updates": 6, "deletes": 12, "every": 1}


def _churn_between_pages(server: SandboxServer, seed: int) -> None:
    # Before every list request with $page >= 2 (i.e. between the pages of one read), the sandbox
    # creates, modifies and deletes records across invoices, customers, suppliers, ...
    server.admin("POST", "faults", {"churn": CHURN, "seed": seed, "paths": ["/v2/customerinvoices"]})


@pytest.mark.parametrize("max_concurrency", [1, 4])
def test_full_sync_under_churn_loses_nothing(
    fresh_sandbox: SandboxServer, tmp_path: Path, max_concurrency: int
) -> None:
    config = tap_config(fresh_sandbox, tmp_path, page_size=25, max_concurrency=max_concurrency)
    before = object_ids(fresh_sandbox, "customerinvoices")
    _churn_between_pages(fresh_sandbox, seed=11)
    run = run_tap(config, ["customer_invoices"])
    fresh_sandbox.admin("DELETE", "faults")
    after = object_ids(fresh_sandbox, "customerinvoices")
    assert before - after, "the churn deleted no invoice: the test would prove nothing"
    missing = (before & after) - run.ids("customer_invoices")
    assert not missing, f"{len(missing)} surviving invoice(s) never emitted"
    stats = run.tap.streams["customer_invoices"].reader.stats
    assert stats.churn  # detected, so the gaps between pages were checked


def test_incremental_sync_under_churn_loses_nothing(fresh_sandbox: SandboxServer, tmp_path: Path) -> None:
    config = tap_config(fresh_sandbox, tmp_path, page_size=10, max_concurrency=4)
    first = run_tap(config, ["customer_invoices"])
    # Many modified rows, so the incremental read spans several pages while churn goes on.
    changed = fresh_sandbox.admin(
        "POST", "churn", {"company": COMPANY, "updates": 120, "collections": ["customerinvoices"]}
    )["customerinvoices"]["updated"]
    _churn_between_pages(fresh_sandbox, seed=5)
    second = run_tap(config, ["customer_invoices"], state=first.state)
    fresh_sandbox.admin("DELETE", "faults")
    after = object_ids(fresh_sandbox, "customerinvoices")
    missing = (set(changed) & after) - second.ids("customer_invoices")
    assert not missing, f"{len(missing)} modified invoice(s) never emitted"


def _naive_page_index_read(server: SandboxServer, page_size: int) -> set[str]:
    token = server.mint_tokens(COMPANY, SCOPES)["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {token}"
    seen: set[str] = set()
    page, pages = 1, 1
    while page <= pages:
        body: dict[str, Any] = session.get(
            f"{server.api_url}/customerinvoices",
            params={"$page": page, "$pagesize": page_size, "$orderby": "Id"},
            timeout=30,
        ).json()
        pages = body["Meta"]["TotalNumberOfPages"]
        seen.update(r["Id"] for r in body["Data"])
        page += 1
    return seen


def test_control_plain_page_index_pagination_does_lose_rows(fresh_sandbox: SandboxServer) -> None:
    """The churn above is strong enough to hide rows from a client that only pages by index."""
    before = object_ids(fresh_sandbox, "customerinvoices")
    _churn_between_pages(fresh_sandbox, seed=11)
    seen = _naive_page_index_read(fresh_sandbox, page_size=25)
    fresh_sandbox.admin("DELETE", "faults")
    after = object_ids(fresh_sandbox, "customerinvoices")
    assert (before & after) - seen
