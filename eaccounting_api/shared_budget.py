"""``SharedRateBudget``: the rate limiter of ``ratelimit`` with its send log in the coordination database,
so every process of one client_id, on any machine, draws on one budget per endpoint.

Visma counts its 600 requests per minute per client and endpoint: tenants synced through one client_id
share that budget, and per-process limiters (each sure it has all of it) add up to 429 storms.

The algorithm is ``ratelimit.RateLimiter``'s (a sliding-window log with reservations), per key:

1. in one short transaction, take ``pg_advisory_xact_lock`` for the key (the reservations of one key
   are serialised across machines; other keys do not wait), read the database clock (one clock for
   every machine), drop sends older than the window, and book the next slot: now, or the send
   ``per_minute`` reservations back plus the window, whichever is later;
2. commit, then sleep until the slot outside any transaction. A request that would exceed the budget
   waits; it is never refused.

The key is ``<scope>|<endpoint>``: ``scope`` is the client_id (``rate_limit_scope=client``, the default:
safe whatever Visma counts) or client_id and tenant (``client_company``: only right if Visma counts per
company, which is UNVERIFIED); the endpoint is ``RateLimiter.key`` (``rate_limit_keying``, and with
``rate_limit_methods=split`` a ``read``/``write`` prefix).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from typing import Any

from eaccounting_api.pg_coordination import Coordination, advisory_key
from eaccounting_api.ratelimit import (
    DEFAULT_KEYING,
    DEFAULT_METHODS,
    DEFAULT_PER_MINUTE,
    Keying,
    MethodCounting,
    RateLimiter,
)

try:
    import psycopg
    from psycopg import sql
except ModuleNotFoundError:  # the `postgres` extra: pg_coordination.Coordination says what to install
    psycopg = None  # type: ignore[assignment]

TABLE = "rate_sends"
# The window plus a margin for what lies between a slot and the request's arrival, which across
# machines includes their different network paths (the per-process limiter allows 0.5 s).
SHARED_WINDOW_SECONDS = 61.0
SCOPES = ("client", "client_company")
DEFAULT_SCOPE = "client"


def _ddl(coordination: Coordination) -> list[sql.Composed]:
    return [
        sql.SQL(
            "CREATE TABLE IF NOT EXISTS {} (budget_key text NOT NULL, sent_at double precision NOT NULL)"
        ).format(coordination.table(TABLE)),
        sql.SQL("CREATE INDEX IF NOT EXISTS rate_sends_by_key ON {} (budget_key, sent_at)").format(
            coordination.table(TABLE)
        ),
    ]


class SharedRateBudget(RateLimiter):
    """Thread-safe: the process's threads share one connection, one reservation at a time."""

    def __init__(
        self,
        coordination: Coordination,
        scope: str,
        per_minute: int = DEFAULT_PER_MINUTE,
        *,
        window_seconds: float = SHARED_WINDOW_SECONDS,
        keying: Keying = DEFAULT_KEYING,
        methods: MethodCounting = DEFAULT_METHODS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        super().__init__(
            per_minute, window_seconds=window_seconds, keying=keying, methods=methods, sleep=sleep
        )
        self.coordination = coordination
        self.scope = scope
        self._table = coordination.table(TABLE)
        self._conn: psycopg.Connection[Any] | None = None

    def __repr__(self) -> str:
        return f"SharedRateBudget({self.coordination!r}, scope={self.scope!r}, per_minute={self.per_minute})"

    def budget_key(self, key: str) -> str:
        return f"{self.scope}|{key}"

    def reserve(self, key: str) -> float:
        """Book the next send slot for ``key`` in the shared log; return how long to wait for it."""
        return self.book(key)[1]

    def book(self, key: str) -> tuple[float, float]:
        """Book the next send slot for ``key``: (the slot on the database's clock, seconds to wait)."""
        with self._lock:
            try:
                slot, now = self._book(self.budget_key(key))
            except psycopg.OperationalError:
                self._drop()  # the connection broke (server restart, network): one more try on a new one
                try:
                    slot, now = self._book(self.budget_key(key))
                except psycopg.Error as exc:
                    self._drop()
                    raise self.coordination.error("cannot reserve a rate budget slot", exc) from None
            except psycopg.Error as exc:
                self._drop()
                raise self.coordination.error("cannot reserve a rate budget slot", exc) from None
            self.total_wait += slot - now
            return slot, slot - now

    def _book(self, budget_key: str) -> tuple[float, float]:
        if self._conn is None or self._conn.closed:
            self.coordination.prepare(TABLE, [TABLE], _ddl(self.coordination))
            self._conn = self.coordination.connect()
        conn = self._conn
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (advisory_key(f"rate:{budget_key}"),))
            row = conn.execute("SELECT extract(epoch FROM clock_timestamp())::double precision").fetchone()
            assert row is not None
            now = float(row[0])
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE budget_key = %s AND sent_at <= %s").format(self._table),
                (budget_key, now - self.window_seconds),
            )
            # The reservation ``per_minute`` back: the new send must be a full window after it.
            oldest = conn.execute(
                sql.SQL(
                    "SELECT sent_at FROM {} WHERE budget_key = %s ORDER BY sent_at DESC OFFSET %s LIMIT 1"
                ).format(self._table),
                (budget_key, self.per_minute - 1),
            ).fetchone()
            at = now if oldest is None else max(now, float(oldest[0]) + self.window_seconds)
            conn.execute(
                sql.SQL("INSERT INTO {} (budget_key, sent_at) VALUES (%s, %s)").format(self._table),
                (budget_key, at),
            )
        return at, now

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
        self._conn = None

    def close(self) -> None:
        with self._lock:
            self._drop()
