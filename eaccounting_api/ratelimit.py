"""Client-side rate limiter, so that a normal sync never meets a 429.

Visma documents "600 requests per minute, per client and per endpoint/URL" (docs/API_FACTS.md#rate-limit).
The figure, what counts as "one endpoint" and whether the method counts are UNVERIFIED, so they are
the constants below and constructor arguments:

- ``DEFAULT_PER_MINUTE``: the budget per key and window.
- ``DEFAULT_KEYING``: ``"template"`` counts ``/customers/{id}`` as one endpoint whatever the id
  (the stricter reading: it can only be slower than needed, never 429); ``"url"`` counts each
  concrete path separately; ``"global"`` puts everything in one bucket.
- ``DEFAULT_METHODS``: ``"shared"`` gives reads and writes of an endpoint one budget (GET and POST
  of ``/customers`` share 600/min: safe whatever the API counts); ``"split"`` counts reads (GET,
  HEAD, OPTIONS) and writes (POST, PUT, PATCH, DELETE) apart, twice the throughput for a target that
  looks up and creates on one endpoint, and right if the API counts per method (its per-method
  counts can only be finer than reads vs writes, so ``split`` never sends more than the API allows).

The algorithm is a sliding-window log with reservations: each ``acquire`` takes a send time
no earlier than the send time ``budget`` requests ago plus the window, then sleeps until it.
So no window of ``window_seconds`` ever holds more than ``budget`` sends per key, whether the
server counts in a sliding or a fixed window, and waiting callers are served in order
without spinning. ``window_seconds`` carries a small margin over 60 s for network jitter.

A slot is only as good as the send that follows it: the request must leave when its slot comes, not
after a token refresh. ``before_reserve`` (``connection.client_from_config`` sets it to the
authenticator's ``ensure_token``) runs before a slot is booked, so a refresh happens before the
reservation, never between the slot and the send.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Literal
from urllib.parse import urlsplit

from eaccounting_api.errors import spec_path

DEFAULT_PER_MINUTE = 600
DEFAULT_WINDOW_SECONDS = 60.5
Keying = Literal["template", "url", "global"]
KEYINGS: tuple[Keying, ...] = ("template", "url", "global")
DEFAULT_KEYING: Keying = "template"
MethodCounting = Literal["shared", "split"]
METHOD_COUNTINGS: tuple[MethodCounting, ...] = ("shared", "split")
DEFAULT_METHODS: MethodCounting = "shared"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class RateLimiter:
    def __init__(
        self,
        per_minute: int = DEFAULT_PER_MINUTE,
        *,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        keying: Keying = DEFAULT_KEYING,
        methods: MethodCounting = DEFAULT_METHODS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if per_minute < 1:
            raise ValueError("per_minute must be at least 1")
        self.per_minute = per_minute
        self.window_seconds = window_seconds
        self.keying = keying
        self.methods = methods
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._sends: dict[str, deque[float]] = {}
        self.total_wait = 0.0
        self.before_reserve: Callable[[], None] | None = None

    def key(self, method: str, path: str) -> str:
        """The bucket for a request (path relative to the API root or absolute; query ignored)."""
        endpoint = self.endpoint(path)
        if self.methods == "split":
            return f"{'read' if method.upper() in READ_METHODS else 'write'} {endpoint}"
        return endpoint

    def endpoint(self, path: str) -> str:
        """What counts as one endpoint under ``keying``, whatever the method."""
        if self.keying == "global":
            return "*"
        bare = urlsplit(path).path
        if self.keying == "url":
            return bare
        return spec_path(bare) or bare

    def booked(self, key: str) -> list[float]:
        """The send slots booked for ``key`` that are still in the window (on the limiter's clock; this
        process's own log, ``SharedRateBudget`` keeps its log in the database)."""
        with self._lock:
            now = self._clock()
            return [at for at in self._sends.get(key, ()) if at > now - self.window_seconds]

    def reserve(self, key: str) -> float:
        """Book the next send slot for ``key``; return how long to wait for it (no sleeping)."""
        with self._lock:
            now = self._clock()
            sends = self._sends.setdefault(key, deque())
            while sends and sends[0] <= now - self.window_seconds:
                sends.popleft()
            at = now if len(sends) < self.per_minute else max(now, sends.popleft() + self.window_seconds)
            sends.append(at)
            wait = at - now
            self.total_wait += wait
            return wait

    def acquire(self, key: str) -> float:
        """Block until a send for ``key`` fits the budget; return the seconds waited."""
        if self.before_reserve is not None:
            self.before_reserve()
        wait = self.reserve(key)
        if wait > 0:
            self._sleep(wait)
        return wait
