"""One tenant on several machines at once: the shared token row and the shared ledger.

- A tap on one machine and a target on another, at the same time, both refreshing every second from
  one grant: neither burns the other's single-use refresh token.
- The target re-run on a third machine (no ledger file there) writes no duplicate.
- A process killed (SIGKILL) while it holds the token row lock leaves the store usable: the process
  waiting for the lock gets it when Postgres notices the lost connection, and finishes.

The DSN carries a password (the test server trusts loopback, so it is never checked); no connector
output may contain it.
"""

from __future__ import annotations

import collections
import json
import queue
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest
from machine_support import Machine, catalog, endpoint_statuses, tenant_config
from psycopg.conninfo import make_conninfo

from eaccounting_api.pg_coordination import redact_dsn
from eaccounting_api.pg_token_store import HOLD_ENV
from eaccounting_sandbox.server import SandboxServer

PASSWORD = "DSN-PASSWORD-never-logged"
INVOICES = 20


@pytest.fixture(scope="module")
def tenant_sandbox() -> Any:
    # 301 s tokens, refreshed 300 s early: a fresh token every second; 250 ms per request stretches the runs
    with SandboxServer(seed=1, access_token_ttl=301, faults={"latency_ms": 250}) as server:
        for tenant in ("shared-no", "killed-no"):
            server.admin("POST", "companies", {"company": tenant, "seed": 3, "scale": 0.2})
        yield server


@pytest.fixture
def dsn(coordination_db: str) -> str:
    return make_conninfo(coordination_db, password=PASSWORD)


def invoice_lines(sandbox: SandboxServer, tenant: str) -> str:
    objects = {
        c: sandbox.admin("GET", "objects", params={"company": tenant, "collection": c})[0]
        for c in ("customers", "articles")
    }
    schema = {"type": "object", "properties": {}, "additionalProperties": True}
    lines = [{"type": "SCHEMA", "stream": "customer_invoices", "schema": schema, "key_properties": []}]
    for i in range(INVOICES):
        record = {
            "order_id": f"K-{i}",
            "CustomerId": objects["customers"]["Id"],
            "InvoiceDate": "2025-10-01",
            "Rows": [{"ArticleId": objects["articles"]["Id"], "Quantity": 1, "UnitPrice": 100.0}],
        }
        lines.append({"type": "RECORD", "stream": "customer_invoices", "record": record})
    return "".join(json.dumps(line) + "\n" for line in lines)


def written(sandbox: SandboxServer, tenant: str) -> collections.Counter[str]:
    invoices = sandbox.admin("GET", "objects", params={"company": tenant, "collection": "customerinvoices"})
    return collections.Counter(str(i.get("YourReference")) for i in invoices if i.get("YourReference"))


def test_tap_and_target_of_one_tenant_on_two_machines_burn_no_token_and_rerun_writes_nothing(
    tenant_sandbox: SandboxServer, dsn: str, tmp_path: Path
) -> None:
    sandbox = tenant_sandbox
    tenant = "shared-no"
    tap_machine, target_machine, rerun_machine = (Machine(tmp_path, n) for n in ("tap", "target", "rerun"))
    base = tenant_config(sandbox, tenant, dsn)
    target_config = {
        **base,
        "external_key_properties": {"customer_invoices": "order_id"},
        "max_concurrency": 1,
    }
    lines = invoice_lines(sandbox, tenant)

    tap = tap_machine.connector(
        "tap", {**base, "page_size": 4, "max_concurrency": 1}, catalog=catalog({"customers"})
    )
    target = target_machine.connector("target", target_config, input_text=lines)
    tap_out, tap_err = tap.communicate(timeout=120)
    target_out, target_err = target.communicate(timeout=120)
    assert tap.returncode == 0, tap_err[-3000:]
    assert target.returncode == 0, target_err[-3000:]

    token = endpoint_statuses(sandbox, "POST /connect/token")
    assert set(token) == {"200"}, token  # no invalid_grant
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT refresh_count FROM eaccounting_coordination.tokens WHERE store_key = %s",
            (f"sandbox-client/{tenant}",),
        ).fetchone()
    assert row is not None
    # Every token request is counted in the row: whichever process refreshed did so from the pair the
    # store held, nobody past it. (Which of the two refreshes is up to timing: a process that finds a
    # fresh pair in the store adopts it.)
    assert "refreshed the eAccounting access token" in tap_err + target_err
    assert row[0] >= 3, row
    assert token["200"] == row[0] + 1, (token, row)

    ids = {json.loads(m)["record"]["Id"] for m in tap_out.splitlines() if '"RECORD"' in m[:30]}
    assert len(ids) == sandbox.admin("GET", "counts", params={"company": tenant})["/customers"]
    assert written(sandbox, tenant) == {f"K-{i}": 1 for i in range(INVOICES)}

    # A third machine, no ledger file of its own: the ledger in Postgres says all 20 were written.
    rerun = rerun_machine.connector("target", target_config, input_text=lines)
    rerun_out, rerun_err = rerun.communicate(timeout=120)
    assert rerun.returncode == 0, rerun_err[-3000:]
    assert written(sandbox, tenant) == {f"K-{i}": 1 for i in range(INVOICES)}
    assert not list(rerun_machine.work.glob("*.sqlite")), "the Postgres ledger was not used"

    for output in (tap_out, tap_err, target_out, target_err, rerun_out, rerun_err):
        assert PASSWORD not in output
    # The DSN is named (creating the tables, refreshing), without its password; which process names it
    # is up to timing.
    assert redact_dsn(dsn) in tap_err + target_err + rerun_err


def _lines(stream: Any, into: queue.Queue[str]) -> None:
    for line in stream:
        into.put(line)


def _locks_waited(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND application_name = 'eaccounting-coordination'"
        ).fetchone()
    return int(row[0]) if row else 0


def test_a_process_killed_while_holding_the_token_lock_leaves_the_store_usable(
    tenant_sandbox: SandboxServer, dsn: str, tmp_path: Path
) -> None:
    sandbox = tenant_sandbox
    tenant = "killed-no"
    config = {**tenant_config(sandbox, tenant, dsn), "page_size": 20}
    selected = catalog({"customers"})
    holder = Machine(tmp_path, "holder").connector("tap", config, catalog=selected, **{HOLD_ENV: "120"})
    stderr: queue.Queue[str] = queue.Queue()
    threading.Thread(target=_lines, args=(holder.stderr, stderr), daemon=True).start()
    deadline = time.monotonic() + 60
    while True:  # the holder has the row lock (first use: it refreshes from the seed) and sleeps in it
        line = stderr.get(timeout=max(0.1, deadline - time.monotonic()))
        if "holding the token row lock" in line:
            break

    waiter = Machine(tmp_path, "waiter").connector("tap", config, catalog=selected)
    deadline = time.monotonic() + 60
    while _locks_waited(dsn) < 1:  # the waiter is blocked on the row
        assert waiter.poll() is None, waiter.communicate()[1][-3000:]
        assert time.monotonic() < deadline, "the second process never waited for the token lock"
        time.sleep(0.1)

    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=10)
    killed_at = time.monotonic()
    out, err = waiter.communicate(timeout=60)
    assert waiter.returncode == 0, err[-3000:]
    assert time.monotonic() - killed_at < 30  # it got the lock at once, not after a timeout
    ids = {json.loads(m)["record"]["Id"] for m in out.splitlines() if '"RECORD"' in m[:30]}
    assert len(ids) == sandbox.admin("GET", "counts", params={"company": tenant})["/customers"]
    # the killed holder never sent its token request: the waiter refreshed from the seed, once
    assert "seeding it from config refresh_token" in err
    assert set(endpoint_statuses(sandbox, "POST /connect/token")) == {"200"}
