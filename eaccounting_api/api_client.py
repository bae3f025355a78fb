"""``EAccountingClient``: the one HTTP path to the eAccounting API for tap and target.

Per request: rate limiter slot -> prepared by the thread's session, whose ``auth`` hook is the
``EAccountingAuthenticator`` (bearer token, refreshed 5 minutes early) -> send (pooled connection,
timeout, User-Agent) -> on 401 ``authenticator.handle_unauthorized`` refreshes once and the request
is re-sent; a second 401 with the fresh token means the grant is dead (``ReauthorizationRequired``)
-> non-2xx mapped to a typed error by ``errors.error_from_response`` -> the caller's ``parse`` step
(a body that does not decode is ``TruncatedBodyError``) -> all of it under ``retry.RetryPolicy``.
The parse runs inside the retried exchange because a 200 can arrive with as many bytes as its
Content-Length says and still be cut short; only decoding it tells, and only a re-send repairs it.

Thread-safe: each thread gets its own ``requests.Session`` (sessions are not documented as
thread-safe), all mounted on one shared ``HTTPAdapter`` whose pool is sized for the caller's
concurrency, so connections are reused across threads.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

import requests
from requests.adapters import HTTPAdapter

from eaccounting_api.authenticator import EAccountingAuthenticator
from eaccounting_api.errors import (
    EAccountingError,
    ReauthorizationRequired,
    TruncatedBodyError,
    error_from_response,
)
from eaccounting_api.ratelimit import RateLimiter
from eaccounting_api.retry import INCOMPLETE_BODY_ERRORS, RetryPolicy

log = logging.getLogger(__name__)
T = TypeVar("T")
Parse = Callable[[requests.Response], T]

# requests reads a body it was not asked to stream in 10 KB chunks (``requests.models.CONTENT_CHUNK_SIZE``),
# each a trip through urllib3's Python layers that must take the interpreter lock back from the threads
# decoding and emitting pages: ~450 trips for a page of 1,000 invoices. Streamed, and read here in 1 MB
# chunks, the same bytes cost a zero-latency sync about a fifth less CPU (bench/TRANSPORT_PROFILE.md).
BODY_CHUNK_BYTES = 1 << 20


def read_body(response: requests.Response) -> None:
    """Read a streamed response's whole body now, so that ``response.content`` returns it.

    This is what ``Response.content`` does, with a larger chunk: ``iter_content`` raises the same
    requests exceptions for a body cut short (``retry.INCOMPLETE_BODY_ERRORS``) and urllib3 returns the
    connection to the pool once the body is read. Setting ``_content`` is how ``content`` itself caches
    the body; requests offers no public setter.
    """
    response._content = b"".join(response.iter_content(BODY_CHUNK_BYTES)) or b""


def json_body(response: requests.Response) -> Any:
    """The decoded JSON body; an empty body does not decode either (a read always has one)."""
    return response.json()


def optional_json_body(response: requests.Response) -> Any:
    """The decoded JSON body, or None for an empty one (a write may be answered without a body)."""
    return response.json() if response.content else None


class EAccountingClient:
    def __init__(
        self,
        api_url: str,
        authenticator: EAccountingAuthenticator,
        *,
        timeout: float,
        user_agent: str,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        client_id: str | None = None,
        pool_size: int = 10,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.authenticator = authenticator
        self.limiter = limiter or RateLimiter()
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.user_agent = user_agent
        self.client_id = client_id
        self._adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 1), max_retries=0)
        self._local = threading.local()
        self._stats_lock = threading.Lock()
        # requests, retries, 429 (and 429_wait_ms waited after them), limiter_waits (and limiter_wait_ms),
        # incomplete_bodies, error_<status or class>
        self.stats: Counter[str] = Counter()
        self.retry.listeners.append(self._count_retry)

    def __repr__(self) -> str:
        return f"EAccountingClient({self.api_url!r}, client_id={self.client_id!r})"

    @property
    def session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.mount("https://", self._adapter)
            session.mount("http://", self._adapter)
            session.headers["User-Agent"] = self.user_agent
            session.headers["Accept"] = "application/json"
            session.auth = self.authenticator  # every request this session prepares is authenticated by it
            self._local.session = session
        return session

    def close(self) -> None:
        self._adapter.close()

    def _count(self, key: str, n: int = 1) -> None:
        with self._stats_lock:
            self.stats[key] += n

    def _count_retry(self, exc: BaseException, wait: float, tries: int) -> None:
        self._count("retries")
        if isinstance(exc, (TruncatedBodyError, *INCOMPLETE_BODY_ERRORS)):
            self._count("incomplete_bodies")
        if isinstance(exc, EAccountingError) and exc.status == 429:
            self._count("429")
            self._count("429_wait_ms", round(wait * 1000))

    def url(self, path: str) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.api_url}/{path.lstrip('/')}"

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        parse: None = None,
    ) -> requests.Response: ...

    @overload
    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        parse: Parse[T],
    ) -> T: ...

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        timeout: float | None = None,
        parse: Parse[Any] | None = None,
    ) -> Any:
        """Send one logical request (retried per the policy); return the 2xx response, or what
        ``parse`` makes of it, or raise. ``parse`` signals an undecodable body with ``ValueError``
        (json and msgspec decode errors are ValueErrors); that becomes ``TruncatedBodyError``."""
        method = method.upper()
        url = self.url(path)
        key = self.limiter.key(method, path)
        session = self.session
        unprepared = requests.Request(method, url, params=params, json=json, headers=dict(headers or {}))
        # What ``Session.request`` adds to ``send``: proxies and CA bundle from the environment.
        settings = session.merge_environment_settings(url, {}, None, None, None)
        settings["stream"] = True  # the body is read by ``read_body``, in large chunks

        def send(prepare: Callable[[], requests.PreparedRequest]) -> requests.Response:
            waited = self.limiter.acquire(key)  # may block: authenticate after it, so the token is fresh
            if waited > 0:
                self._count("limiter_waits")
                self._count("limiter_wait_ms", round(waited * 1000))
            prepared = prepare()
            self._count("requests")
            started = time.perf_counter()
            response = session.send(prepared, timeout=timeout or self.timeout, **settings)
            read_body(response)
            log.debug(
                "%s %s -> %d in %.0f ms",
                method,
                path,
                response.status_code,
                (time.perf_counter() - started) * 1000,
            )
            return response

        def exchange() -> Any:
            # ``prepare_request`` runs the session's auth hook: the authenticator sets the token.
            response = send(lambda: session.prepare_request(unprepared))
            if response.status_code == 401:
                # The token may have been revoked or expired early: refresh once and re-send. A 401
                # means the request was refused, so this is safe even for writes.
                refused = response.request
                response.close()
                response = send(lambda: self.authenticator.handle_unauthorized(refused))
                if response.status_code == 401:
                    error = error_from_response(response, client_id=self.client_id)
                    raise ReauthorizationRequired(
                        "the API refuses a freshly refreshed access token (401)",
                        status=401,
                        error_code=error.error_code,
                        error_id=error.error_id,
                        developer_message=error.developer_message,
                        method=method,
                        path=error.path,
                        client_id=self.client_id,
                    )
            if response.status_code >= 400:
                raise error_from_response(response, client_id=self.client_id)
            if parse is None:
                return response
            try:
                return parse(response)
            except ValueError as exc:
                size = len(response.content)
                raise TruncatedBodyError(
                    f"the {response.status_code} response body ({size} bytes) does not decode: {exc}",
                    received_bytes=size,
                    status=response.status_code,
                    method=method,
                    path=path,
                    client_id=self.client_id,
                ) from exc

        try:
            return self.retry.call(
                exchange, method=method, path=path, client_id=self.client_id, idempotent=idempotent
            )
        except EAccountingError as exc:
            failed = exc.status if exc.status and exc.status >= 400 else type(exc).__name__
            self._count(f"error_{failed}")
            raise

    def get_json(self, path: str, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params, parse=json_body)

    def post_json(
        self,
        path: str,
        json: Any,
        *,
        params: Mapping[str, Any] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        return self.request(
            "POST", path, params=params, json=json, idempotent=idempotent, parse=optional_json_body
        )

    def put_json(self, path: str, json: Any, *, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("PUT", path, params=params, json=json, parse=optional_json_body)

    def delete(self, path: str, *, params: Mapping[str, Any] | None = None) -> None:
        self.request("DELETE", path, params=params)
