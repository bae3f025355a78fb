"""Server-side rate limit: N requests per minute per client per endpoint (sliding window).

Whether one company's calls count against another company's of the same client is UNVERIFIED: the
``rate_limit_scope`` switch counts per client (``client``, the default) or per client and company.
Whether the method counts is UNVERIFIED too: the ``rate_limit_methods`` switch counts every method of
a URL together (``shared``, the default: the documented "per endpoint/URL" read literally, the
stricter server) or each method apart (``split``: GET and POST of ``/customers`` have 600 each).

Exceeding it answers 429 with ErrorCode 4010 and "... Try again in N seconds." and, as documented
for eAccounting, no Retry-After header (developer.vismaonline.com/docs/rate-limits). Requests
resume as soon as the rate in the last 60 seconds falls below the limit.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

from eaccounting_sandbox.error_responses import RATE_LIMITED, ApiError

WINDOW_SECONDS = 60.0


def quota_exceeded(limit: int, wait_seconds: int) -> ApiError:
    """The live API's 429 (developer.vismaonline.com/docs/rate-limits)."""
    message = (
        f"API calls quota exceeded! maximum admitted {limit} per Minute. Try again in {wait_seconds} seconds."
    )
    return ApiError(429, RATE_LIMITED, message)


class RateLimiter:
    def __init__(
        self,
        per_minute: Callable[[], int],
        clock: Callable[[], float] = time.monotonic,
        scope: Callable[[], str] = lambda: "client",
        methods: Callable[[], str] = lambda: "shared",
    ) -> None:
        self._per_minute = per_minute
        self._scope = scope
        self._methods = methods
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}

    def check(self, client_id: str, endpoint: str, company: str = "") -> None:
        """Count one request to ``endpoint`` (``"GET /v2/customers"``); raise ApiError 429 if the client
        is over budget on it."""
        limit = self._per_minute()
        if limit <= 0:
            return
        now = self._clock()
        who = client_id if self._scope() == "client" else f"{client_id}/{company}"
        if self._methods() == "shared":
            endpoint = endpoint.split(" ", 1)[-1]
        hits = self._hits.setdefault((who, endpoint), deque())
        while hits and hits[0] <= now - WINDOW_SECONDS:
            hits.popleft()
        if len(hits) >= limit:
            # Rejected requests do not count; the oldest hit leaving the window frees a slot.
            wait = max(1, math.ceil(hits[len(hits) - limit] + WINDOW_SECONDS - now))
            raise quota_exceeded(limit, wait)
        hits.append(now)

    def reset(self) -> None:
        self._hits.clear()
