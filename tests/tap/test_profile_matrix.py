"""The tap survives every sandbox profile and every switch alone, under churn (``profile_matrix`` has the
case, the runs and the checks), and the profiles without a usable $filter (and orderby_ignored with
stamps lagging) also under heavy churn: every record that exists from the start of a run to its end is
emitted in that run, each run stays within its request bound, and exits 0; with ``strict_completeness``
and a real shortfall, the run exits 3 naming the counts."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from eaccounting_sandbox import server as sandbox_server
from eaccounting_sandbox.server import SandboxServer
from eaccounting_sandbox.switches import PROFILES
from tap_eaccounting.run_summary import EXIT_STREAMS_FAILED
from tap_eaccounting.tap import stream_scopes

from .profile_matrix import (
    STREAMS,
    Case,
    check,
    expected,
    heavy_churn_cases,
    new_company,
    profile_cases,
    run_case,
    run_case_once,
    switch_cases,
)
from .profile_matrix import tap_config as matrix_config

# A switch case that a profile sets alone (filter_mode=ignored is "filter_ignored") runs once, as the profile.
_ALONE_IN_A_PROFILE = [
    {name: value} for p in PROFILES.values() if len(p.switches) == 1 for name, value in p.switches.items()
]
CASES = profile_cases() + [c for c in switch_cases() if c.switches not in _ALONE_IN_A_PROFILE]
CASES += heavy_churn_cases()


@pytest.fixture(scope="module")
def matrix_sandbox() -> Iterator[SandboxServer]:
    """A private sandbox for the module (switches are global to a sandbox): no rate limit (cases follow
    each other faster than 600 requests a minute), and no response validation (every case's company is
    new data; the rest of the suite validates every shape these switches serve)."""
    start = len(sandbox_server.CONFORMANCE_FAILURES)
    with SandboxServer(seed=1, rate_limit_per_minute=0, validate_responses=False) as server:
        yield server
    assert len(sandbox_server.CONFORMANCE_FAILURES) == start


def test_every_switch_value_and_profile_is_a_case() -> None:
    names = {c.name for c in CASES}
    assert {f"profile:{p}" for p in PROFILES} <= names
    covered = {(k, v) for c in CASES for k, v in c.switches.items()}
    covered |= {(k, v) for p in PROFILES.values() if len(p.switches) == 1 for k, v in p.switches.items()}
    assert {(k, v) for c in switch_cases() for k, v in c.switches.items()} <= covered


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_the_tap_survives(matrix_sandbox: SandboxServer, case: Case, tmp_path: Path) -> None:
    runs = run_case(matrix_sandbox, case, tmp_path)
    problems = [f"run {n}: {problem}" for n, run in enumerate(runs, 1) for problem in check(run, case)]
    assert not problems, "\n".join(problems)
    assert runs[0].emitted("customer_invoices"), "the first run read nothing: the case proves nothing"


def test_strict_completeness_with_a_real_shortfall_exits_3_with_the_counts(
    matrix_sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """No $filter, no $orderby, and each unordered request in another order: a multi-page read cannot
    see every row, whatever it does. Strict, that is a failed stream naming both counts."""
    case = Case(
        "strict-shortfall",
        switches={"filter_mode": "ignored", "orderby_mode": "refused", "shuffle_unordered": True},
        strict=True,
    )
    company = new_company(matrix_sandbox)
    caplog.set_level(logging.ERROR)
    config = matrix_config(matrix_sandbox, company, case, tmp_path)
    run = run_case_once(matrix_sandbox, company, case, config, {})
    assert run.summary.exit_code == EXIT_STREAMS_FAILED
    failed = {o.name: o.error for o in run.summary.outcomes.values() if o.status != "ok"}
    assert "customer_invoices" in failed
    assert set(failed.values()) == {"IncompleteReadError"}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert any("distinct record(s) where TotalNumberOfResults said" in e for e in errors), errors
    assert not check(run, case)  # the streams that did not fail are complete, within their bounds


def test_scope_4011_without_the_scope_fails_those_streams_cleanly(
    matrix_sandbox: SandboxServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The matrix's grant holds every scope, so there ``scope_4011`` changes nothing. Without
    ``ea:accounting``, the 403s in the 4011 wording fail only the streams that need it, each naming the
    scope (run exit code 3); the others are complete."""
    case = Case("scope_4011-without-accounting", profile="scope_4011")
    company = new_company(matrix_sandbox)
    config = matrix_config(matrix_sandbox, company, case, tmp_path)
    grant = ["ea:api", "offline_access", "ea:sales", "ea:purchase"]
    config["refresh_token"] = matrix_sandbox.mint_tokens(company, grant)["refresh_token"]
    caplog.set_level(logging.ERROR)
    run = run_case_once(matrix_sandbox, company, case, config, {})
    assert run.summary.exit_code == EXIT_STREAMS_FAILED
    failed = {o.name: o.error for o in run.summary.outcomes.values() if o.status != "ok"}
    scopes = stream_scopes()
    lacking = [name for name in STREAMS if not set(scopes[name]) & set(grant)]
    assert lacking == ["vouchers", "all_vouchers"]  # /banktransactions also takes ea:purchase
    assert failed == dict.fromkeys(lacking, "PermissionDeniedError")
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    for stream in failed:
        assert any(e.startswith(f"{stream}:") and "ea:accounting" in e for e in errors), errors
    assert expected(run, "customer_invoices") <= set(run.emitted("customer_invoices"))
