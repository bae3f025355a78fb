"""``PostgresLedger``: the write ledger (``ledger.WriteLedger``) in the coordination database, so a re-run
of a tenant's target on another machine knows what was written and creates nothing twice.

Same contract as the SQLite ``ledger.Ledger``: ``begin`` before the request, ``done`` after it, ``forget``
after a definite failure; a ``pending`` entry means "look the object up before writing again". Every
call commits before it returns (autocommit; Postgres' default ``synchronous_commit`` makes it durable).

One namespace per tenant (``connection.tenant_key``: ``<client_id>/<tenant_id>``). A run holds a
session advisory lock on its namespace for its whole life: a second target run of the same tenant,
on any machine, waits for the first to finish (two runs deciding "not written yet" for one record at
once would both create it). A run that dies loses its connection, and with it the lock.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Mapping
from typing import Any

from eaccounting_api.connection import coordination_from_config, tenant_key
from eaccounting_api.pg_coordination import Coordination, advisory_key
from target_eaccounting.ledger import DONE, PENDING, Entry

try:
    import psycopg
    from psycopg import sql
except ModuleNotFoundError:  # the `postgres` extra: pg_coordination.Coordination says what to install
    psycopg = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

TABLE = "ledger_writes"


def _ddl(coordination: Coordination) -> list[sql.Composed]:
    table = coordination.table(TABLE)
    return [
        sql.SQL(
            """CREATE TABLE IF NOT EXISTS {} (
                namespace    text NOT NULL,
                stream       text NOT NULL,
                key          text NOT NULL,
                status       text NOT NULL,
                object_id    text,
                payload_hash text NOT NULL,
                extra        jsonb NOT NULL DEFAULT '{{}}',
                updated_utc  timestamptz NOT NULL,
                PRIMARY KEY (namespace, stream, key)
            )"""
        ).format(table),
        sql.SQL(
            "CREATE INDEX IF NOT EXISTS ledger_writes_object ON {} (namespace, stream, object_id)"
        ).format(table),
    ]


_UPSERT = """INSERT INTO {table} (namespace, stream, key, status, object_id, payload_hash, extra, updated_utc)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (namespace, stream, key) DO UPDATE SET
status = excluded.status, payload_hash = excluded.payload_hash, extra = excluded.extra,
updated_utc = excluded.updated_utc, object_id = """
_NEW_ID = "excluded.object_id"
# an update keeps the Id of the object written earlier while the new write is pending
_KEEP_ID = "COALESCE(excluded.object_id, {table}.object_id)"


class PostgresLedger:
    """Thread-safe; one connection guarded by a lock (writes are tiny next to an HTTP round trip)."""

    def __init__(self, coordination: Coordination, namespace: str) -> None:
        self.coordination = coordination
        self.namespace = namespace
        self._table = coordination.table(TABLE)
        self._lock = threading.Lock()
        coordination.prepare(TABLE, [TABLE], _ddl(coordination))
        self._db = coordination.connect()
        lock_id = advisory_key(f"ledger:{namespace}")
        try:
            row = self._db.execute("SELECT pg_try_advisory_lock(%s)", (lock_id,)).fetchone()
            if not (row and row[0]):
                log.warning("another target run of %s holds the ledger; waiting for it to finish", namespace)
                self._db.execute("SELECT pg_advisory_lock(%s)", (lock_id,))
        except psycopg.Error as exc:
            self._db.close()
            raise coordination.error("cannot lock the ledger", exc) from None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> PostgresLedger:
        coordination = coordination_from_config(config)
        if coordination is None:
            raise ValueError("PostgresLedger needs coordination_dsn")
        return cls(coordination, tenant_key(config))

    def __repr__(self) -> str:
        return f"PostgresLedger({self.coordination.where!r}, namespace={self.namespace!r})"

    def _run(self, query: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        statement = sql.SQL(query).format(table=self._table)
        with self._lock:
            try:
                cursor = self._db.execute(statement, params)
                return cursor.fetchall() if cursor.description else []
            except psycopg.Error as exc:
                raise self.coordination.error("ledger query failed", exc) from None

    def close(self) -> None:
        with self._lock:
            if not self._db.closed:
                self._db.close()  # ends the session: releases the namespace lock

    def get(self, stream: str, key: str) -> Entry | None:
        rows = self._run(
            "SELECT stream, key, status, object_id, payload_hash, extra FROM {table} "
            "WHERE namespace = %s AND stream = %s AND key = %s",
            (self.namespace, stream, key),
        )
        if not rows:
            return None
        row = rows[0]
        return Entry(row[0], row[1], row[2], row[3], row[4], dict(row[5] or {}))

    def key_for_object(self, stream: str, object_id: str) -> str | None:
        """The external key that already claims ``object_id`` (so a lookup never adopts it twice)."""
        rows = self._run(
            "SELECT key FROM {table} WHERE namespace = %s AND stream = %s AND object_id = %s AND status = %s",
            (self.namespace, stream, object_id, DONE),
        )
        return str(rows[0][0]) if rows else None

    def begin(self, stream: str, key: str, payload_hash: str, extra: dict[str, Any]) -> None:
        """Record the intent to write; keeps the Id of an earlier successful write (updates)."""
        self._upsert(Entry(stream, key, PENDING, None, payload_hash, extra), keep_id=True)

    def done(
        self, stream: str, key: str, object_id: str, payload_hash: str, extra: dict[str, Any] | None = None
    ) -> None:
        self._upsert(Entry(stream, key, DONE, object_id, payload_hash, extra or {}), keep_id=False)

    def forget(self, stream: str, key: str, previous: Entry | None) -> None:
        """Undo ``begin`` after a definite failure: restore the earlier entry, or delete the intent."""
        if previous is not None and previous.is_done:
            assert previous.object_id is not None
            self.done(stream, key, previous.object_id, previous.payload_hash, previous.extra)
            return
        self._run(
            "DELETE FROM {table} WHERE namespace = %s AND stream = %s AND key = %s AND status = %s",
            (self.namespace, stream, key, PENDING),
        )

    def counts(self) -> dict[str, int]:
        rows = self._run(
            "SELECT status, COUNT(*) FROM {table} WHERE namespace = %s GROUP BY status", (self.namespace,)
        )
        return {str(s): int(n) for s, n in rows}

    def _upsert(self, entry: Entry, *, keep_id: bool) -> None:
        self._run(
            _UPSERT + (_KEEP_ID if keep_id else _NEW_ID),
            (
                self.namespace,
                entry.stream,
                entry.key,
                entry.status,
                entry.object_id,
                entry.payload_hash,
                json.dumps(entry.extra, sort_keys=True),
                dt.datetime.now(dt.UTC),
            ),
        )
