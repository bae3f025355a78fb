"""The write ledger: external key → created object Id and payload hash. ``WriteLedger`` is what the write
strategies use; ``Ledger`` keeps it in SQLite at ``ledger_path`` (the embedded default), and
``pg_ledger.PostgresLedger`` in the coordination database (``coordination_dsn``), so that a re-run on
another machine knows what was written.

The file maps business keys to objects, so it is created 0600 (``private_files``).
Every change is committed (WAL, ``synchronous=FULL``) before the call returns, so an entry is on disk
before the target emits any state covering its record. A write is bracketed:

- ``begin`` records the intent (status ``pending``) *before* the request is sent;
- ``done`` records the created Id once the API answered, or once a lookup found the object;
- ``forget`` removes a pending intent after a definite failure (nothing was created).

A ``pending`` entry found later (the process died between sending and recording, or the outcome was
ambiguous) means: look the object up before writing again. It is never blindly re-sent.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from target_eaccounting import private_files

PENDING = "pending"
DONE = "done"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS writes (
    stream       TEXT NOT NULL,
    key          TEXT NOT NULL,
    status       TEXT NOT NULL,
    object_id    TEXT,
    payload_hash TEXT NOT NULL,
    extra        TEXT NOT NULL DEFAULT '{}',
    updated_utc  TEXT NOT NULL,
    PRIMARY KEY (stream, key)
);
CREATE INDEX IF NOT EXISTS writes_object ON writes (stream, object_id);
"""

_UPSERT_HEAD = (
    "INSERT INTO writes (stream, key, status, object_id, payload_hash, extra, updated_utc) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (stream, key) DO UPDATE SET status = excluded.status, "
    "payload_hash = excluded.payload_hash, extra = excluded.extra, updated_utc = excluded.updated_utc, "
)
_UPSERT = _UPSERT_HEAD + "object_id = excluded.object_id"
# an update keeps the Id of the object written earlier while the new write is pending
_UPSERT_KEEP_ID = _UPSERT_HEAD + "object_id = COALESCE(excluded.object_id, writes.object_id)"


@dataclass(frozen=True)
class Entry:
    stream: str
    key: str
    status: str
    object_id: str | None
    payload_hash: str
    extra: dict[str, Any]

    @property
    def is_done(self) -> bool:
        return self.status == DONE


class WriteLedger(Protocol):
    """The ledger interface (thread-safe; every change is durable when the call returns)."""

    def get(self, stream: str, key: str) -> Entry | None: ...

    def key_for_object(self, stream: str, object_id: str) -> str | None: ...

    def begin(self, stream: str, key: str, payload_hash: str, extra: dict[str, Any]) -> None: ...

    def done(
        self, stream: str, key: str, object_id: str, payload_hash: str, extra: dict[str, Any] | None = None
    ) -> None: ...

    def forget(self, stream: str, key: str, previous: Entry | None) -> None: ...

    def counts(self) -> dict[str, int]: ...

    def close(self) -> None: ...


class Ledger:
    """Thread-safe; one connection guarded by a lock (writes are tiny next to an HTTP round trip)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # SQLite creates its -wal and -shm files with the database file's mode: 0600 for all three
        private_files.create(self.path)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def get(self, stream: str, key: str) -> Entry | None:
        with self._lock:
            row = self._db.execute(
                "SELECT stream, key, status, object_id, payload_hash, extra FROM writes "
                "WHERE stream = ? AND key = ?",
                (stream, key),
            ).fetchone()
        return _entry(row) if row else None

    def key_for_object(self, stream: str, object_id: str) -> str | None:
        """The external key that already claims ``object_id`` (so a lookup never adopts it twice)."""
        with self._lock:
            row = self._db.execute(
                "SELECT key FROM writes WHERE stream = ? AND object_id = ? AND status = ?",
                (stream, object_id, DONE),
            ).fetchone()
        return str(row[0]) if row else None

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
        with self._lock:
            self._db.execute(
                "DELETE FROM writes WHERE stream = ? AND key = ? AND status = ?", (stream, key, PENDING)
            )

    def counts(self) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute("SELECT status, COUNT(*) FROM writes GROUP BY status").fetchall()
        return {str(s): int(n) for s, n in rows}

    def _upsert(self, entry: Entry, *, keep_id: bool) -> None:
        now = dt.datetime.now(dt.UTC).isoformat()
        row = (entry.stream, entry.key, entry.status, entry.object_id, entry.payload_hash)
        with self._lock:
            self._db.execute(
                _UPSERT_KEEP_ID if keep_id else _UPSERT,
                (*row, json.dumps(entry.extra, sort_keys=True), now),
            )


def _entry(row: tuple[Any, ...]) -> Entry:
    return Entry(
        stream=row[0],
        key=row[1],
        status=row[2],
        object_id=row[3],
        payload_hash=row[4],
        extra=json.loads(row[5] or "{}"),
    )
