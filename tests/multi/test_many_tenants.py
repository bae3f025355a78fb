"""N tenants of one client_id served by K worker processes that share nothing but Postgres.

One sandbox, six companies, one client_id; three "machines" (own HOME, XDG_STATE_HOME, working
directory) each sync two tenants one after another with the real ``tap-eaccounting``, all configured
with the same ``coordination_dsn``. The sandbox counts 30 requests per minute per client and endpoint
(Visma: 600), and the six syncs need about 60 on ``/customerinvoices``: half of them must wait for
the window to move on. Access tokens are good for 310 s and the connectors refresh 300 s early, so
a token is due ~10 s after it was issued: the tenants that wait refresh when they resume.

Checked: no 429 anywhere (the sandbox's own counters); no token request refused (no invalid_grant,
every job exits 0); every tenant's records complete (distinct ids = the sandbox's counts); and the
shared budget really was the limit (the hot endpoint saw more than one window's worth, spread over
more than one window, and no faster than the budget allows).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from machine_support import Machine, catalog, endpoint_statuses, results, statuses, tenant_config

from eaccounting_sandbox.server import SandboxServer

TENANTS = [f"multi-{i}-no" for i in range(6)]
WORKERS = 3
PER_MINUTE = 30
HOT = "GET /v2/customerinvoices"
STREAMS = {"customers", "customer_invoices"}
COUNTS = {"customers": "/customers", "customer_invoices": "/customerinvoices"}


@pytest.fixture(scope="module")
def sandbox_of_tenants() -> Any:
    with SandboxServer(seed=1, rate_limit_per_minute=PER_MINUTE, access_token_ttl=310) as server:
        for i, tenant in enumerate(TENANTS):
            server.admin("POST", "companies", {"company": tenant, "seed": 20 + i, "scale": 0.2})
        yield server


def test_tenants_on_three_machines_share_one_budget_without_a_429(
    sandbox_of_tenants: SandboxServer, coordination_db: str, tmp_path: Path
) -> None:
    sandbox = sandbox_of_tenants
    selected = catalog(STREAMS)
    machines = [Machine(tmp_path, f"machine-{k}") for k in range(WORKERS)]
    config = {"page_size": 20, "rate_limit_per_minute": PER_MINUTE, "max_concurrency": 4}
    started = time.monotonic()
    workers = [
        machine.worker(
            [
                {
                    "tenant": tenant,
                    "kind": "tap",
                    "config": tenant_config(sandbox, tenant, coordination_db, **config),
                    "catalog": selected,
                }
                for tenant in TENANTS[k::WORKERS]
            ]
        )
        for k, machine in enumerate(machines)
    ]
    done: list[dict[str, Any]] = []
    for worker in workers:
        done.extend(results(worker))
        worker.wait(timeout=240)
    elapsed = time.monotonic() - started

    failures = [f"{r['tenant']}: exit {r['exit']}\n{r.get('stderr_tail', '')}" for r in done if r["exit"]]
    assert not failures, "\n".join(failures)
    assert sorted(r["tenant"] for r in done) == sorted(TENANTS)

    seen = statuses(sandbox)
    assert "429" not in seen, seen
    token = endpoint_statuses(sandbox, "POST /connect/token")
    assert set(token) == {"200"}, token  # no invalid_grant: no refresh token was used twice
    with psycopg.connect(coordination_db) as conn:
        rows = dict(conn.execute("SELECT store_key, refresh_count FROM eaccounting_coordination.tokens"))
    assert set(rows) == {f"sandbox-client/{t}" for t in TENANTS}  # one row per tenant
    # Tokens expired mid-sync (while requests waited for the budget) and were refreshed from the
    # rotated token in Postgres, not the seed; every token request is one of the rows' refreshes.
    assert sum(rows.values()) >= 1, rows
    assert token["200"] == len(TENANTS) + sum(rows.values()), (token, rows)

    for result in done:
        expected = sandbox.admin("GET", "counts", params={"company": result["tenant"]})
        assert result["records"] == {s: expected[COUNTS[s]] for s in STREAMS}, result["tenant"]

    hot = endpoint_statuses(sandbox, HOT)
    assert set(hot) == {"200"}, hot
    # More than one window's budget went to the hot endpoint, so the budget made requests wait a
    # window; and it made them wait no longer than that (a budget per tenant would be quicker but 429).
    assert hot["200"] > PER_MINUTE
    minimum_windows = (hot["200"] - 1) // PER_MINUTE
    assert elapsed >= minimum_windows * 60, (elapsed, hot)
    assert elapsed < (minimum_windows + 1) * 60 + 30, (elapsed, hot)
