"""The coordination database: one Postgres that every process of every machine shares, so that many
tenants of one client_id can run anywhere (``coordination_dsn``).

What lives in it, each in its own module: the token store (``pg_token_store``), the rate budget per
client and endpoint (``shared_budget``) and the target's write ledger (``target_eaccounting.pg_ledger``).
This module holds what they share:

- ``Coordination``: the DSN, connections (TCP keepalives; a session stuck inside a transaction is ended
  by the server after ``IDLE_IN_TRANSACTION_TIMEOUT``, which releases its locks), and the schema.
- Schema on first use: each component hands its ``CREATE ... IF NOT EXISTS`` statements to
  ``prepare``, which runs them once per process under a transaction-scoped advisory lock (two
  processes creating the same table at once would otherwise collide in the catalog), then revokes
  every privilege of PUBLIC on the schema and its tables: the tokens are readable by the owning role
  (the connector's) and superusers only. A component whose tables exist already skips all of it, so a
  role that does not own the tables (a DBA created them) never needs to.
- ``redact_dsn``: what any message may say about a DSN (never its password).

psycopg is the ``postgres`` extra (pip install 'eaccounting-singer[postgres]'); without it this module
still imports, and only ``Coordination`` says what to install.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

from eaccounting_api.errors import FatalError

try:
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict
except ModuleNotFoundError:  # the `postgres` extra is not installed: say so when a DSN is configured
    psycopg = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

SCHEMA = "eaccounting_coordination"
CONNECT_TIMEOUT_SECONDS = 10
IDLE_IN_TRANSACTION_TIMEOUT = "5min"  # a refresh holds the token row lock for one token request
MISSING_EXTRA = (
    "coordination_dsn needs the `postgres` extra: pip install 'eaccounting-singer[postgres]' "
    "(Meltano: pip_url 'eaccounting-singer[postgres]')"
)


class CoordinationError(FatalError):
    default_summary = "the coordination database is unusable"


def redact_dsn(dsn: str) -> str:
    """``postgresql://user@host:port/dbname``: the parts of ``dsn`` that locate the database, never the
    password. A DSN that cannot be parsed is not echoed at all."""
    if psycopg is None:
        return "<coordination_dsn>"
    try:
        parts = conninfo_to_dict(dsn)
    except psycopg.Error:
        return "<unparseable coordination_dsn>"
    user = f"{parts['user']}@" if parts.get("user") else ""
    host = str(parts.get("host") or parts.get("hostaddr") or "localhost")
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{host}{port}/{parts.get('dbname') or ''}"


def dsn_password(dsn: str) -> str | None:
    if psycopg is None:
        return None
    try:
        password = conninfo_to_dict(dsn).get("password")
    except psycopg.Error:
        return None
    return str(password) if password else None


def advisory_key(text: str) -> int:
    """A stable signed 64-bit advisory lock key for ``text`` (the same in every process)."""
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big", signed=True)


class Coordination:
    """One coordination database and schema. Thread-safe; one per process and DSN (``shared``)."""

    _shared: ClassVar[dict[tuple[str, str], Coordination]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, dsn: str, schema: str = SCHEMA) -> None:
        if psycopg is None:
            raise CoordinationError(MISSING_EXTRA)
        self._dsn = dsn
        self.schema = schema
        self.where = redact_dsn(dsn)
        self._password = dsn_password(dsn)
        self._prepared: set[str] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Coordination({self.where!r}, schema={self.schema!r})"

    @classmethod
    def shared(cls, dsn: str, schema: str = SCHEMA) -> Coordination:
        with cls._shared_lock:
            found = cls._shared.get((dsn, schema))
            if found is None:
                found = cls._shared[(dsn, schema)] = cls(dsn, schema)
            return found

    def table(self, name: str) -> sql.Composable:
        return sql.Identifier(self.schema, name)

    def error(self, what: str, exc: BaseException) -> CoordinationError:
        """A ``CoordinationError`` for ``exc`` that names the database but holds no password."""
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        if self._password and self._password in detail:
            detail = detail.replace(self._password, "***")
        where = f"{self.where}, schema {self.schema}"
        return CoordinationError(f"{what} ({where}): {type(exc).__name__}: {detail}")

    def connect(self, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        """A new connection (the caller owns and closes it)."""
        try:
            conn = psycopg.connect(
                self._dsn,
                autocommit=autocommit,
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                application_name="eaccounting-coordination",
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
            )
            conn.execute(
                sql.SQL("SET idle_in_transaction_session_timeout = {}").format(
                    sql.Literal(IDLE_IN_TRANSACTION_TIMEOUT)
                )
            )
            if not autocommit:
                conn.commit()
        except psycopg.Error as exc:
            raise self.error("cannot connect to the coordination database", exc) from None
        return conn

    def prepare(self, component: str, tables: Sequence[str], ddl: Sequence[sql.Composed]) -> None:
        """Create ``component``'s ``tables`` with ``ddl`` unless they exist (once per process)."""
        with self._lock:
            if component in self._prepared:
                return
            conn = self.connect()
            try:
                if not self._missing(conn, tables):
                    self._prepared.add(component)
                    return
                schema = sql.Identifier(self.schema)
                with conn.transaction():
                    conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(f"{self.schema}:ddl"),))
                    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(schema))
                    conn.execute(sql.SQL("REVOKE ALL ON SCHEMA {} FROM PUBLIC").format(schema))
                    for statement in ddl:
                        conn.execute(statement)
                    for name in tables:
                        conn.execute(sql.SQL("REVOKE ALL ON TABLE {} FROM PUBLIC").format(self.table(name)))
                log.info("created the %s tables in %s (schema %s)", component, self.where, self.schema)
                self._prepared.add(component)
            except psycopg.Error as exc:
                raise self.error(f"cannot create the {component} tables", exc) from None
            finally:
                conn.close()

    def _missing(self, conn: psycopg.Connection[Any], tables: Sequence[str]) -> list[str]:
        missing = []
        for name in tables:
            row = conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}"."{name}"',)).fetchone()
            if row is None or row[0] is None:
                missing.append(name)
        return missing
