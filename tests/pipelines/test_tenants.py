"""Many tenants: one project, one job, one token store + one state ID + one schema per tenant.

The `prod` environment of meltano.yml derives every per-tenant path from ``EACCOUNTING_TENANT``
(token store, ledger, reject file, target schema); ``meltano run --state-id-suffix=<tenant>`` keeps
each tenant's bookmarks apart. Two companies of one sandbox are synced in turn into one Postgres.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from pipeline_support import (
    ALL_SCOPES,
    PIPELINES,
    MeltanoProject,
    RunResult,
    count_mismatches,
    expected_counts,
    isolated_env,
)
from postgres_support import Postgres, pg_counts, query

from eaccounting_api.tokens import FileTokenStore
from eaccounting_sandbox.server import SandboxServer

pytestmark = PIPELINES

TENANTS = {
    "north": {"seed": 11, "country": "NO", "scale": 0.2},
    "south": {"seed": 12, "country": "SE", "scale": 0.3},
}
JOB_STATE = "prod:tap-eaccounting-to-target-postgres"
# A few streams are enough to tell tenants apart (the full set is test_postgres_elt's job): Meltano
# reads an extra's override from `<PLUGIN>__<EXTRA>`.
SELECT = ["customers.*", "customer_invoices.*", "articles.*", "fiscal_years.*", "vouchers.*", "suppliers.*"]


@dataclass
class Tenants:
    url: str
    project: Path
    runs: dict[str, RunResult]
    rerun: RunResult
    states: dict[str, dict[str, Any]]
    states_after_rerun: dict[str, dict[str, Any]]
    state_ids: list[str]
    expected: dict[str, dict[str, int]]


def _state(project: MeltanoProject, env: dict[str, str], state_id: str) -> dict[str, Any]:
    out = project.run("--environment=prod", "state", "get", state_id, env=env).output
    loaded: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return loaded


@pytest.fixture(scope="module")
def tenants(
    meltano_project: MeltanoProject,
    module_sandbox: SandboxServer,
    postgres: Postgres,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Tenants]:
    tmp = tmp_path_factory.mktemp("tenants")
    sandbox = module_sandbox
    for name, spec in TENANTS.items():
        sandbox.admin("POST", "companies", {"company": name, **spec})
    with postgres.database() as url:
        system_db = isolated_env(tmp)  # one system DB for every tenant: the state IDs keep them apart
        envs = {
            name: {
                **system_db,
                "EACCOUNTING_TENANT": name,
                "TAP_EACCOUNTING_API_URL": sandbox.api_url,
                "TAP_EACCOUNTING_IDENTITY_URL": sandbox.identity_url,
                "TAP_EACCOUNTING_CLIENT_ID": "sandbox-client",
                "TAP_EACCOUNTING_CLIENT_SECRET": "sandbox-secret",
                "TAP_EACCOUNTING_REFRESH_TOKEN": sandbox.mint_tokens(name, ALL_SCOPES)["refresh_token"],
                "TARGET_POSTGRES_SQLALCHEMY_URL": url,
                "TAP_EACCOUNTING__SELECT": json.dumps(SELECT),
            }
            for name in TENANTS
        }
        expected = {name: expected_counts(sandbox, name) for name in TENANTS}
        runs = {
            name: meltano_project.run(
                "--environment=prod", "run", f"--state-id-suffix={name}", "postgres-elt", env=env
            )
            for name, env in envs.items()
        }
        states = {name: _state(meltano_project, envs[name], f"{JOB_STATE}:{name}") for name in TENANTS}
        listed = meltano_project.run("--environment=prod", "state", "list", env=envs["north"]).output
        state_ids = sorted({w for w in listed.split() if w.startswith("prod:")})
        # A second run of one tenant resumes from its own bookmarks and leaves the other's alone.
        sandbox.admin("POST", "churn", {"company": "north", "creates": 2, "updates": 2, "deletes": 0})
        rerun = meltano_project.run(
            "--environment=prod", "run", "--state-id-suffix=north", "postgres-elt", env=envs["north"]
        )
        expected["north"] = expected_counts(sandbox, "north")
        after = {name: _state(meltano_project, envs[name], f"{JOB_STATE}:{name}") for name in TENANTS}
        yield Tenants(url, meltano_project.root, runs, rerun, states, after, state_ids, expected)


def check_each_schema_holds_exactly_its_own_company(tenants: Tenants) -> None:
    for name in TENANTS:
        counts = pg_counts(tenants.url, f"eaccounting_{name}")
        selected = {s.split(".")[0] for s in SELECT}
        expected = {k: v for k, v in tenants.expected[name].items() if k in selected}
        assert set(counts) == selected, name
        assert count_mismatches(expected, counts) == {}, name
    assert tenants.expected["north"]["customer_invoices"] != tenants.expected["south"]["customer_invoices"]
    ids = {
        name: {
            r[0]
            for r in query(tenants.url, f'select "Id"::text from eaccounting_{name}.customer_invoices')  # noqa: S608 (fixed names)
        }
        for name in TENANTS
    }
    assert ids["north"].isdisjoint(ids["south"])
    currencies = {
        name: {
            r[0]
            for r in query(tenants.url, f'select "CurrencyCode" from eaccounting_{name}.customer_invoices')  # noqa: S608 (fixed names)
        }
        for name in TENANTS
    }
    assert "NOK" in currencies["north"]
    assert "SEK" in currencies["south"]


def check_each_tenant_has_its_own_state_id(tenants: Tenants) -> None:
    assert [f"{JOB_STATE}:{name}" for name in sorted(TENANTS)] == tenants.state_ids
    for name in TENANTS:
        assert tenants.states[name]["singer_state"]["bookmarks"]["customer_invoices"]["replication_key_value"]
    # north's second run moved north's bookmarks only.
    assert tenants.states_after_rerun["south"] == tenants.states["south"]
    assert tenants.states_after_rerun["north"] != tenants.states["north"]
    emitted = tenants.rerun.record_counts()
    assert emitted.get("customer_invoices", 0) < tenants.runs["north"].record_counts()["customer_invoices"]


def check_each_token_store_holds_a_token_of_its_own_company(
    tenants: Tenants, module_sandbox: SandboxServer
) -> None:
    customers = {
        name: {
            c["Id"]
            for c in module_sandbox.admin(
                "GET", "objects", params={"company": name, "collection": "customers"}
            )
        }
        for name in TENANTS
    }
    for name in TENANTS:
        path = tenants.project / ".secrets" / name / "tokens.json"
        tokens = FileTokenStore(path).read()
        assert tokens is not None, path
        response = requests.get(
            f"{module_sandbox.api_url}/customers",
            headers={"Authorization": f"Bearer {tokens.access_token}"},
            timeout=30,
        )
        assert response.status_code == 200
        seen = {c["Id"] for c in response.json()["Data"]}
        other = next(n for n in TENANTS if n != name)
        assert seen, name
        assert seen <= customers[name], name
        assert seen.isdisjoint(customers[other]), name
    stores = [(tenants.project / ".secrets" / n / "tokens.json").read_text() for n in TENANTS]
    assert stores[0] != stores[1]


def test_two_tenants_never_mix_tokens_state_or_data(tenants: Tenants, module_sandbox: SandboxServer) -> None:
    # One scenario, one test: pytest-xdist 3.8 ignores `xdist_group` under pytest 9 (it sets
    # `item._nodeid`, which pytest 9 no longer reads), so separate tests of this module could run on
    # both workers and each would pay for the whole scenario.
    check_each_schema_holds_exactly_its_own_company(tenants)
    check_each_tenant_has_its_own_state_id(tenants)
    check_each_token_store_holds_a_token_of_its_own_company(tenants, module_sandbox)
