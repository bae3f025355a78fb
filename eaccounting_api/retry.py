"""THE retry policy of the shared client (tap and target use nothing else).

- 429: wait what the server asked for: ``Retry-After`` if it is ever present, else the
  "Try again in N seconds" of the ErrorCode 4010 body (the documented eAccounting behaviour);
  without either, the exponential schedule below. A 429 means "not processed", so even a
  non-idempotent write is re-sent.
- 5xx, timeouts, connection resets, and bodies cut short: capped exponential backoff with full
  jitter (``uniform(0, min(max_delay, base_delay * 2**(attempt-1)))``). A body is cut short either
  mid-transfer (the connection drops before Content-Length bytes, or inside a chunk: requests raises
  ``ChunkedEncodingError``, which is not a ``ConnectionError``) or invisibly to HTTP (as many bytes
  as announced, but not decodable: ``TruncatedBodyError``, raised by the caller's parse step, which
  runs inside the retried exchange for exactly this reason).
- Any other 4xx: no retry (the error carries ErrorId/ErrorCode/message/path).
- A non-idempotent request (POST, PATCH) that may have reached the server (read timeout,
  reset after send, 5xx, a body cut short) is never re-sent: ``AmbiguousWriteError``. The API
  has no idempotency key, so only the caller can find out whether it took effect. A connect
  failure or connect timeout provably did not send anything and is retried.

Budget: at most ``max_tries`` sends, and a wait that would end past ``max_time`` (measured on the
injectable ``clock``) is not taken: the last error is raised at once instead of sleeping out the
budget for one more send (for a 429, a send the server has already said it will refuse).

Why a bounded ``for`` loop and not ``backoff.on_exception`` (checked against backoff 2.2.1, the
latest release): its sync loop (``backoff/_sync.py``) always sleeps with ``time.sleep`` and measures
``max_time`` with ``datetime.now()``, with no way to inject either. ``on_backoff`` sees
``details["wait"]``, but backoff sleeps it anyway, so tests could not assert the computed waits
without sleeping them (a real 429 asks for up to 60 s) short of patching ``time.sleep`` for the
whole process (the in-process sandbox and the limiter sleep through it too). Its ``max_time`` also
shortens the last wait to the remaining budget and re-sends (a 30 s "Try again" with 3 s left:
sleeps 3 s, then sends a request certain to get 429 again), and ``full_jitter`` draws from the
global ``random``. The exception-dependent wait alone would fit (``backoff.runtime``); the sleep
and the budget do not.
"""

from __future__ import annotations

import http.client
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import requests
import urllib3.exceptions

from eaccounting_api.errors import (
    AmbiguousWriteError,
    EAccountingError,
    RateLimitError,
    ServerError,
    TransportError,
    TruncatedBodyError,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# The connection died after the status line, before the whole body arrived. With ``stream=False``
# requests wraps urllib3's ``ProtocolError``/``IncompleteRead`` in ``ChunkedEncodingError`` (checked with
# requests 2.34 and urllib3 2.8, for a reset and for a clean close, with Content-Length or chunked);
# the raw ones are listed for code paths that read ``response.raw``.
INCOMPLETE_BODY_ERRORS = (
    requests.exceptions.ChunkedEncodingError,
    urllib3.exceptions.ProtocolError,
    http.client.IncompleteRead,  # base of urllib3's IncompleteRead
)
TRANSPORT_ERRORS = (requests.Timeout, requests.ConnectionError, *INCOMPLETE_BODY_ERRORS)
RETRYABLE = (RateLimitError, ServerError, TruncatedBodyError, *TRANSPORT_ERRORS)
# Failures that happen before a byte is sent (refused, DNS, connect timeout).
NOT_SENT_ERRORS = (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)

RetryListener = Callable[[BaseException, float, int], None]


def is_idempotent(method: str) -> bool:
    return method.upper() in IDEMPOTENT_METHODS


def request_was_sent(exc: BaseException) -> bool:
    """False only when the failure provably happened before any byte reached the server."""
    if isinstance(exc, requests.ConnectTimeout):
        return False
    current: BaseException | None = exc
    for _ in range(8):  # walk requests -> MaxRetryError -> reason -> cause
        if current is None:
            break
        if isinstance(current, NOT_SENT_ERRORS):
            return False
        if isinstance(current, urllib3.exceptions.MaxRetryError):
            current = current.reason
        elif current.args and isinstance(current.args[0], BaseException):
            current = current.args[0]
        else:
            current = current.__cause__ or current.__context__
    return True


def describe(exc: BaseException) -> str:
    if isinstance(exc, EAccountingError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


@dataclass
class RetryPolicy:
    max_tries: int = 8
    max_time: float = 600.0
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_rate_limit_wait: float = 120.0
    rng: random.Random = field(default_factory=random.Random)
    listeners: list[RetryListener] = field(default_factory=list)
    # Injectable so tests can assert on the computed waits instead of the wall clock.
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic

    def wait_for(self, exc: BaseException, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based) after ``exc``."""
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_rate_limit_wait)
        cap = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
        return self.rng.uniform(0, cap)

    def _backing_off(self, exc: BaseException, wait: float, attempt: int) -> None:
        log.warning("%s; retry %d/%d in %.2fs", describe(exc), attempt, self.max_tries - 1, wait)
        for listener in self.listeners:
            listener(exc, wait, attempt)

    def call(
        self,
        fn: Callable[[], T],
        *,
        method: str,
        path: str,
        client_id: str | None = None,
        idempotent: bool | None = None,
    ) -> T:
        """Run ``fn`` (one HTTP exchange that raises typed errors) under the policy."""
        safe = is_idempotent(method) if idempotent is None else idempotent
        where: dict[str, Any] = {"method": method.upper(), "path": path, "client_id": client_id}

        def attempt_once() -> T:
            try:
                return fn()
            except TRANSPORT_ERRORS as exc:
                if not safe and request_was_sent(exc):
                    raise AmbiguousWriteError(
                        f"{type(exc).__name__} after the request was sent; outcome unknown, NOT re-sent",
                        **where,
                    ) from exc
                raise
            except TruncatedBodyError as exc:
                if not safe:
                    raise AmbiguousWriteError(
                        f"{exc.summary} after the request was processed; outcome unknown, NOT re-sent",
                        status=exc.status,
                        **where,
                    ) from exc
                raise
            except ServerError as exc:
                if not safe:
                    raise AmbiguousWriteError(
                        "server error after the request was received; outcome unknown, NOT re-sent",
                        status=exc.status,
                        error_code=exc.error_code,
                        error_id=exc.error_id,
                        developer_message=exc.developer_message,
                        **where,
                    ) from exc
                raise

        started = self.clock()
        for attempt in range(1, self.max_tries + 1):
            try:
                return attempt_once()
            except RETRYABLE as exc:
                wait = self.wait_for(exc, attempt)
                out_of_time = self.clock() - started + wait > self.max_time
                if attempt == self.max_tries or out_of_time:
                    if isinstance(exc, TRANSPORT_ERRORS):
                        raise TransportError(f"{type(exc).__name__} after {attempt} tries", **where) from exc
                    raise
                self._backing_off(exc, wait, attempt)
                self.sleep(wait)
        raise AssertionError("unreachable: the last attempt returns or raises")
