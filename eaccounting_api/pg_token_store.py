"""``PostgresTokenStore``: one grant's rotating tokens in a row of the coordination database, so a tap
and a target of one tenant on different machines never burn each other's single-use refresh token.

The same interface as ``tokens.FileTokenStore``:

- ``lock()``: ``SELECT ... FOR UPDATE`` on the grant's row, in a transaction held across
  read -> refresh -> write (``authenticator.EAccountingAuthenticator._refresh``). A second process, on
  any machine, waits at the same row. A holder that dies (crash, SIGKILL, lost machine) loses its
  connection, and Postgres then rolls its transaction back and releases the lock: the store stays
  usable for the others. Re-entrant for the holding thread, exclusive for the process's other threads.
- ``write()``: ``UPDATE`` and ``COMMIT`` before it returns (durable before anything uses the new
  access token). The commit ends the transaction, so a process waiting at the row gets it then and
  reads the pair just committed; the writer locks the row again (waiting its turn) until ``lock()``
  exits. The exclusive section is thus read -> refresh -> write, which is all a refresh needs.
- The row key is ``<client_id>/<tenant_id>`` (``connection.token_store_from_config``). Nothing here logs
  a token or puts one in an exception; the table is readable by its owner only (``pg_coordination``).

Test hook (tests/multi only): ``EACCOUNTING_TEST_HOLD_TOKEN_LOCK_SECONDS`` makes ``lock()`` sleep that
long right after it took the row lock, before any token request, so a test can kill the holder.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from eaccounting_api.errors import TokenStoreError
from eaccounting_api.pg_coordination import Coordination
from eaccounting_api.tokens import TokenSet

try:
    import psycopg
    from psycopg import sql
except ModuleNotFoundError:  # the `postgres` extra: pg_coordination.Coordination says what to install
    psycopg = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

TABLE = "tokens"
HOLD_ENV = "EACCOUNTING_TEST_HOLD_TOKEN_LOCK_SECONDS"


def _ddl(coordination: Coordination) -> list[sql.Composed]:
    return [
        sql.SQL(
            """CREATE TABLE IF NOT EXISTS {} (
                store_key     text PRIMARY KEY,
                client_id     text NOT NULL,
                access_token  text,
                refresh_token text,
                expires_at    double precision,
                refreshed_at  double precision,
                refresh_count integer NOT NULL DEFAULT 0,
                updated_at    timestamptz NOT NULL DEFAULT now()
            )"""
        ).format(coordination.table(TABLE))
    ]


class PostgresTokenStore:
    def __init__(self, coordination: Coordination, store_key: str, client_id: str) -> None:
        self.coordination = coordination
        self.store_key = store_key
        self.client_id = client_id
        self._table = coordination.table(TABLE)
        self._conn: psycopg.Connection[Any] | None = None
        self._thread_lock = threading.RLock()
        self._depth = 0

    def __repr__(self) -> str:
        return f"PostgresTokenStore({self.location!r})"

    @property
    def key(self) -> str:
        return f"{self.coordination.where}#{self.coordination.schema}.{TABLE}/{self.store_key}"

    @property
    def location(self) -> str:
        return f"{self.coordination.where} {self.coordination.schema}.{TABLE}[{self.store_key}]"

    def describe(self) -> dict[str, Any]:
        return {"token_store": self.location}

    # ---- connection ----------------------------------------------------------------------

    def _connection(self) -> psycopg.Connection[Any]:
        if self._conn is None or self._conn.closed:
            self.coordination.prepare(TABLE, [TABLE], _ddl(self.coordination))
            self._conn = self.coordination.connect(autocommit=False)
        return self._conn

    def _fail(self, what: str, exc: psycopg.Error) -> TokenStoreError:
        """Drop the connection (a broken one is never reused) and describe ``exc`` without secrets."""
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None
        cause = self.coordination.error(what, exc)
        return TokenStoreError(f"token store {self.location}: {cause}")

    def _select(self, conn: psycopg.Connection[Any], *, for_update: bool) -> tuple[Any, ...] | None:
        query = sql.SQL(
            "SELECT access_token, refresh_token, expires_at, refreshed_at, refresh_count FROM {} "
            "WHERE store_key = %s"
        ).format(self._table)
        if for_update:
            query = query + sql.SQL(" FOR UPDATE")
        return conn.execute(query, (self.store_key,)).fetchone()

    # ---- the TokenStore interface --------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        with self._thread_lock:
            if self._depth:  # re-entered by the holding thread: the row lock is already ours
                self._depth += 1
                try:
                    yield
                finally:
                    self._depth -= 1
                return
            conn = self._connection()
            try:
                conn.execute(
                    sql.SQL(
                        "INSERT INTO {} (store_key, client_id) VALUES (%s, %s) ON CONFLICT DO NOTHING"
                    ).format(self._table),
                    (self.store_key, self.client_id),
                )
                conn.commit()
                self._select(conn, for_update=True)
            except psycopg.Error as exc:
                raise self._fail("cannot lock the token row", exc) from None
            hold = float(os.environ.get(HOLD_ENV) or 0)
            if hold > 0:
                log.warning("test hook %s: holding the token row lock for %.1f s", HOLD_ENV, hold)
                time.sleep(hold)
            self._depth = 1
            try:
                yield
            finally:
                self._depth = 0
                if self._conn is not None and not self._conn.closed:
                    with contextlib.suppress(psycopg.Error):
                        self._conn.rollback()  # ends the transaction: releases the row lock

    def read(self) -> TokenSet | None:
        """The stored tokens, or None when the store was never written."""
        with self._thread_lock:
            conn = self._connection()
            try:
                row = self._select(conn, for_update=False)
                if not self._depth:
                    conn.commit()
            except psycopg.Error as exc:
                raise self._fail("cannot read the token row", exc) from None
        if row is None or row[1] is None:
            return None
        return TokenSet(
            access_token=str(row[0]),
            refresh_token=str(row[1]),
            expires_at=float(row[2]),
            refreshed_at=float(row[3] or 0.0),
            refresh_count=int(row[4] or 0),
        )

    def exists(self) -> bool:
        return self.read() is not None

    def write(self, tokens: TokenSet) -> None:
        """Store ``tokens`` durably (committed on return)."""
        with self.lock():
            conn = self._connection()
            try:
                conn.execute(
                    sql.SQL(
                        "UPDATE {} SET access_token = %s, refresh_token = %s, expires_at = %s, "
                        "refreshed_at = %s, refresh_count = %s, updated_at = now() WHERE store_key = %s"
                    ).format(self._table),
                    (
                        tokens.access_token,
                        tokens.refresh_token,
                        tokens.expires_at,
                        tokens.refreshed_at,
                        tokens.refresh_count,
                        self.store_key,
                    ),
                )
                conn.commit()
                self._select(conn, for_update=True)  # hold the lock again until lock() exits
            except psycopg.Error as exc:
                raise self._fail("cannot write the token row", exc) from None

    def close(self) -> None:
        with self._thread_lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
