"""The coordination database's parts, each against a real Postgres: schema creation (concurrent, private),
the token row lock, the shared rate budget across processes, the Postgres ledger, the DSN's secrecy,
the settings, the `postgres` extra, and the sandbox's rate_limit_scope switch."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
import requests
from psycopg.conninfo import make_conninfo

from eaccounting_api.connection import client_from_config, limiter_from_config, token_store_from_config
from eaccounting_api.pg_coordination import SCHEMA, Coordination, CoordinationError, redact_dsn
from eaccounting_api.pg_token_store import PostgresTokenStore
from eaccounting_api.shared_budget import SharedRateBudget
from eaccounting_api.tokens import FileTokenStore, TokenSet
from eaccounting_sandbox.server import SandboxServer
from target_eaccounting.ledger import DONE, PENDING
from target_eaccounting.pg_ledger import PostgresLedger

WORKER = str(Path(__file__).with_name("coordination_worker.py"))
TABLES = ("tokens", "rate_sends", "ledger_writes")


def test_redact_dsn_never_shows_the_password() -> None:
    assert (
        redact_dsn("postgresql://app:s3cret@db.example:6432/coord")
        == "postgresql://app@db.example:6432/coord"
    )
    assert redact_dsn("host=db user=app password=s3cret dbname=coord") == "postgresql://app@db/coord"
    assert redact_dsn("postgresql://app@db/coord?password=s3cret") == "postgresql://app@db/coord"
    assert "s3cret" not in redact_dsn("postgresql://app:s3cret@db:notaport/x%zz")


def test_an_unreachable_database_is_a_fatal_error_without_the_password() -> None:
    coordination = Coordination("postgresql://app:s3cret-pw@127.0.0.1:1/coord")
    with pytest.raises(CoordinationError) as raised:
        PostgresTokenStore(coordination, "cid/t", "cid").read()
    assert "s3cret-pw" not in str(raised.value)
    assert "postgresql://app@127.0.0.1:1/coord" in str(raised.value)
    assert raised.value.exit_code == 1


def test_concurrent_first_use_creates_the_schema_once(coordination_db: str) -> None:
    start_at = time.time() + 3  # every process connects first, then all create at the same instant
    procs = [
        subprocess.Popen(
            [sys.executable, WORKER, "prepare", coordination_db, str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-2000:]
    with psycopg.connect(coordination_db) as conn:
        found = {
            r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", (SCHEMA,))
        }
    assert found == set(TABLES)


def test_no_role_but_the_owner_can_read_the_tokens(coordination_db: str) -> None:
    role = f"probe_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(coordination_db, autocommit=True) as conn:
        # A DBA's defaults that would hand every new table and schema to everybody:
        conn.execute("ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC")
        conn.execute("ALTER DEFAULT PRIVILEGES GRANT USAGE ON SCHEMAS TO PUBLIC")
        conn.execute(f"CREATE ROLE {role} LOGIN")
    try:
        store = PostgresTokenStore(Coordination(coordination_db), "cid/t", "cid")
        store.write(TokenSet("ACCESS", "REFRESH", time.time() + 60))
        SharedRateBudget(Coordination(coordination_db), "cid").reserve("/x")
        PostgresLedger(Coordination(coordination_db), "cid/t").close()
        with psycopg.connect(coordination_db) as conn:
            assert not conn.execute(
                "SELECT has_schema_privilege(%s, %s, 'USAGE')", (role, SCHEMA)
            ).fetchone()[0]
            for table in TABLES:
                granted = conn.execute(
                    "SELECT has_table_privilege(%s, %s, 'SELECT')", (role, f"{SCHEMA}.{table}")
                ).fetchone()[0]
                assert not granted, table
            owners = {
                r[0]
                for r in conn.execute("SELECT tableowner FROM pg_tables WHERE schemaname = %s", (SCHEMA,))
            }
            assert owners == {conn.info.user}  # owned by the connector's role
        probe = make_conninfo(coordination_db, user=role)
        with psycopg.connect(probe) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT refresh_token FROM eaccounting_coordination.tokens")
    finally:
        with psycopg.connect(coordination_db, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_the_token_row_lock_excludes_other_stores_until_the_holder_is_done(coordination_db: str) -> None:
    first = PostgresTokenStore(Coordination(coordination_db), "cid/t", "cid")
    second = PostgresTokenStore(Coordination(coordination_db), "cid/t", "cid")  # another "process"
    assert first.read() is None
    assert not first.exists()
    entered = threading.Event()
    seen: list[TokenSet | None] = []

    def other() -> None:
        with second.lock():
            entered.set()
            seen.append(second.read())

    with first.lock():
        assert first.read() is None
        waiting = threading.Thread(target=other)
        waiting.start()
        assert not entered.wait(1.0), "the second store got the lock while the first held it"
        with first.lock():  # re-entrant for the holder
            assert not entered.is_set()
            # the refresh of the holder: the waiter is let in once the rotated pair is committed
            first.write(TokenSet("A2", "R2", time.time() + 60, refresh_count=2))
    waiting.join(timeout=10)
    assert entered.is_set()
    assert seen[0] is not None  # the waiter read what the holder wrote, never the empty store
    assert (seen[0].access_token, seen[0].refresh_token, seen[0].refresh_count) == ("A2", "R2", 2)
    # written means committed: visible to any other connection
    stored = PostgresTokenStore(Coordination(coordination_db), "cid/t", "cid").read()
    assert stored is not None
    assert stored.refresh_token == "R2"
    assert "R2" not in repr(seen[0])
    assert first.describe() == {"token_store": first.location}
    assert "eaccounting_coordination.tokens[cid/t]" in first.location


def _sends(dsn: str, scope: str, count: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, WORKER, "sends", dsn, scope, "4", "1.5", str(count)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_processes_share_one_budget_per_scope_and_wait_instead_of_exceeding_it(coordination_db: str) -> None:
    procs = [_sends(coordination_db, "client-a", 6) for _ in range(3)] + [
        _sends(coordination_db, "client-b", 4)
    ]
    runs = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-2000:]
        runs.append(json.loads(out))
    slots = sorted(t for run in runs[:3] for t in run["slots"])
    sent = sorted(t for run in runs[:3] for t in run["sent"])
    assert len(slots) == 18
    # No window of 1.5 s holds more than 4 slots of the shared key, and the sends keep to their slots
    # within what a busy 2-core machine's scheduler allows (the real window has a 1 s margin for it).
    for i in range(len(slots) - 4):
        assert slots[i + 4] - slots[i] >= 1.5 - 1e-6, (i, slots[i : i + 5])
        assert sent[i + 4] - sent[i] >= 1.5 - 0.3, (i, sent[i : i + 5])
    # 18 sends at 4 per 1.5 s: 4 full windows of waiting, and not much more.
    assert 4 * 1.5 - 1e-6 <= slots[-1] - slots[0] < 4 * 1.5 + 0.5
    # Another scope has a budget of its own: its 4 sends did not wait for client-a's.
    other = runs[3]["slots"]
    assert other[-1] - other[0] < 1.0


def test_the_budget_scope_follows_rate_limit_scope(coordination_db: str) -> None:
    config = {
        "client_id": "cid",
        "client_secret": "s",
        "coordination_dsn": coordination_db,
        "tenant_id": "acme",
    }
    shared = limiter_from_config(config)
    assert isinstance(shared, SharedRateBudget)
    assert shared.budget_key("/customers") == "cid|/customers"
    own = limiter_from_config({**config, "rate_limit_scope": "client_company"})
    assert isinstance(own, SharedRateBudget)
    assert own.budget_key("/customers") == "cid/acme|/customers"
    with pytest.raises(ValueError, match="rate_limit_scope"):
        limiter_from_config({**config, "rate_limit_scope": "company"})
    without_tenant = {k: v for k, v in config.items() if k != "tenant_id"}
    with pytest.raises(ValueError, match="tenant_id"):
        token_store_from_config(without_tenant)
    store = token_store_from_config(config)
    assert isinstance(store, PostgresTokenStore)
    assert store.store_key == "cid/acme"
    assert isinstance(
        token_store_from_config({k: v for k, v in config.items() if k != "coordination_dsn"}), FileTokenStore
    )


def test_the_postgres_ledger_keeps_the_sqlite_ledgers_contract(coordination_db: str) -> None:
    ledger = PostgresLedger(Coordination(coordination_db), "cid/acme")
    other_tenant = PostgresLedger(Coordination(coordination_db), "cid/other")
    ledger.begin("customer_invoices", "K-1", "h1", {"n": 1})
    entry = ledger.get("customer_invoices", "K-1")
    assert entry is not None
    assert (entry.status, entry.object_id, entry.extra) == (PENDING, None, {"n": 1})
    ledger.done("customer_invoices", "K-1", "ID-1", "h1", {"n": 2})
    assert ledger.key_for_object("customer_invoices", "ID-1") == "K-1"
    done = ledger.get("customer_invoices", "K-1")
    ledger.begin("customer_invoices", "K-1", "h2", {})  # an update keeps the written Id while pending
    pending = ledger.get("customer_invoices", "K-1")
    assert pending is not None
    assert (pending.status, pending.object_id) == (PENDING, "ID-1")
    ledger.forget("customer_invoices", "K-1", done)  # a failed update restores the done entry
    assert ledger.get("customer_invoices", "K-1") == done
    ledger.begin("customer_invoices", "K-2", "h", {})
    ledger.forget("customer_invoices", "K-2", None)
    assert ledger.get("customer_invoices", "K-2") is None
    assert ledger.counts() == {DONE: 1}
    assert other_tenant.get("customer_invoices", "K-1") is None  # tenants never see each other's
    assert other_tenant.counts() == {}

    # A second run of the same tenant waits until the first one closes its ledger.
    opened = threading.Event()
    second = threading.Thread(
        target=lambda: (PostgresLedger(Coordination(coordination_db), "cid/acme").close(), opened.set())
    )
    second.start()
    assert not opened.wait(1.0)
    ledger.close()
    second.join(timeout=10)
    assert opened.is_set()
    other_tenant.close()


def test_without_the_postgres_extra_the_connectors_run_and_a_dsn_says_what_to_install(tmp_path: Path) -> None:
    code = """
import sys
sys.modules["psycopg"] = None  # as if the `postgres` extra were not installed
import tap_eaccounting.tap, target_eaccounting.target
from eaccounting_api.connection import client_from_config
from eaccounting_api.errors import FatalError
base = {"client_id": "cid", "client_secret": "s", "token_store_path": sys.argv[1]}
client_from_config(base)
try:
    client_from_config({**base, "coordination_dsn": "postgresql://u:pw@h/db", "tenant_id": "t"})
except FatalError as exc:
    print(exc)
"""
    out = subprocess.check_output([sys.executable, "-c", code, str(tmp_path / "tokens.json")], text=True)
    assert "pip install 'eaccounting-singer[postgres]'" in out
    assert "pw" not in out


def test_a_due_token_is_refreshed_before_the_slot_is_booked_and_used_after_the_wait(
    fresh_sandbox: SandboxServer, coordination_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fresh_sandbox.admin("POST", "config", {"access_token_ttl": 299})  # shorter than the margin: always due
    config = {
        "client_id": "sandbox-client",
        "client_secret": "sandbox-secret",
        "refresh_token": fresh_sandbox.mint_tokens()["refresh_token"],
        "api_url": fresh_sandbox.api_url,
        "identity_url": fresh_sandbox.identity_url,
        "coordination_dsn": coordination_db,
        "tenant_id": f"t-{uuid.uuid4().hex[:8]}",
    }
    client = client_from_config(config)
    refreshes_at_booking: list[int] = []
    book = client.limiter.reserve

    def recording(key: str) -> float:
        refreshes_at_booking.append(client.authenticator.refreshes)
        return book(key)

    monkeypatch.setattr(client.limiter, "reserve", recording)
    for _ in range(3):
        client.get_json("/customers", params={"$pagesize": 1})
    # each request's refresh came before its slot was booked, and none after it
    assert refreshes_at_booking == [1, 2, 3]
    assert client.authenticator.refreshes == 3


@pytest.mark.parametrize(("scope", "third"), [("client", 429), ("client_company", 200)])
def test_the_sandbox_counts_per_client_or_per_client_and_company(
    fresh_sandbox: SandboxServer, scope: str, third: int
) -> None:
    fresh_sandbox.admin("POST", "companies", {"company": "other-no", "seed": 2, "scale": 0.1})
    fresh_sandbox.admin("POST", "config", {"rate_limit_per_minute": 2, "rate_limit_scope": scope})
    url = f"{fresh_sandbox.api_url}/customers"
    one = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens()["access_token"]}
    two = {"Authorization": "Bearer " + fresh_sandbox.mint_tokens("other-no")["access_token"]}
    assert [requests.get(url, headers=one, timeout=10).status_code for _ in range(2)] == [200, 200]
    assert requests.get(url, headers=two, timeout=10).status_code == third
    with pytest.raises(RuntimeError, match="rate_limit_scope"):
        fresh_sandbox.admin("POST", "config", {"rate_limit_scope": "company"})
