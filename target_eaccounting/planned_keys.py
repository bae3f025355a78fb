"""The invoices a dry run planned, by stream and external key, kept on disk rather than in memory.

A payment may name its invoice by ``InvoiceExternalKey``. In a real run the ledger answers that (an
invoice is in the ledger before its payment is written); a dry run writes no ledger, so the keys it
planned are remembered here, so that a payment later in the same dry run finds its planned invoice.
A million planned invoices held as Python strings cost ~200 MB; here they live in a private
temporary SQLite database (``sqlite3.connect("")``: a file SQLite creates 0600 and removes when it
is closed), whose page cache keeps memory at about 2 MB whatever the number of keys. Nothing is
created until the first key is added, so a real run never opens it.
"""

from __future__ import annotations

import sqlite3
import threading

_SCHEMA = (
    "CREATE TABLE planned (stream TEXT NOT NULL, key TEXT NOT NULL, PRIMARY KEY (stream, key)) WITHOUT ROWID"
)


class PlannedKeys:
    """Thread-safe set of (stream, external key)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def add(self, stream: str, key: str) -> None:
        with self._lock:
            if self._db is None:
                self._db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
                # nothing here must survive the process: no journal, no fsync
                self._db.execute("PRAGMA journal_mode=OFF")
                self._db.execute("PRAGMA synchronous=OFF")
                self._db.execute(_SCHEMA)
            self._db.execute("INSERT OR IGNORE INTO planned (stream, key) VALUES (?, ?)", (stream, key))

    def __contains__(self, item: tuple[str, str]) -> bool:
        with self._lock:
            if self._db is None:
                return False
            row = self._db.execute("SELECT 1 FROM planned WHERE stream = ? AND key = ?", item).fetchone()
        return row is not None

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
