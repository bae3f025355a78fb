"""``EAccountingAuthenticator``: the Singer SDK OAuth authenticator every API request of tap and target
goes through (``api_client.EAccountingClient`` installs it as its sessions' ``auth`` hook).

The token lifecycle of one tenant grant, shared safely by threads and processes:

- ``authenticate_request`` (also ``__call__``, the ``requests`` auth hook) puts a bearer token on the
  request itself; the token is refreshed first when it expires within ``REFRESH_MARGIN_SECONDS``
  (5 minutes). The rate limiter calls ``ensure_token`` before it books a request's slot, so that this
  refresh happens before the wait for the slot, not between the slot and the send.
- Every refresh runs under the token store's inter-process lock: re-read the store, and if another
  process already refreshed, use its tokens instead of burning the shared refresh token a second
  time. Otherwise refresh (HTTP Basic client credentials, form body), write the rotated pair
  durably, release, use.
- ``handle_unauthorized`` after a 401: refresh once per refused token (threads that got the same 401
  share one refresh) and re-authenticate the request. A 401 that survives the fresh token is the
  caller's to report (``ReauthorizationRequired``, see ``api_client``).
- The config's ``refresh_token`` only seeds an empty store; afterwards the store is the truth.
  ``invalid_grant`` raises ``ReauthorizationRequired`` (see ``oauth.token_error``).
- One instance per process and token store (``shared``). The store is a ``tokens.TokenStore``: the
  file store (one machine), or ``pg_token_store.PostgresTokenStore``, whose row lock serialises the
  refreshes of every machine.
- No token, code or secret is ever logged, shown by ``repr`` or put in an exception message.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import requests
from requests.auth import HTTPBasicAuth
from singer_sdk.authenticators import OAuthAuthenticator

from eaccounting_api import oauth
from eaccounting_api.errors import ReauthorizationRequired
from eaccounting_api.retry import RetryPolicy
from eaccounting_api.tokens import TokenSet, TokenStore

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 300.0  # refresh 5 minutes before expiry


class EAccountingAuthenticator(OAuthAuthenticator):
    """OAuth 2.0 refresh-token authenticator for one grant. Thread-safe; one per process and store.

    The SDK attributes ``access_token``, ``expires_in`` (lifetime, seconds) and ``last_refreshed``
    describe the token in use. The SDK's ``refresh_token`` attribute stays ``None``: the refresh
    token rotates, possibly in another process, so only the store's copy is ever used.
    """

    _shared: ClassVar[dict[str, EAccountingAuthenticator]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        identity_url: str,
        store: TokenStore,
        seed_refresh_token: str | None = None,
        *,
        timeout: float,
        user_agent: str,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.identity_url = identity_url.rstrip("/")
        super().__init__(
            auth_endpoint=self.identity_url + oauth.TOKEN_PATH,
            client_id=client_id,
            client_secret=client_secret,
        )
        self.store = store
        self._seed = seed_refresh_token or None
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.user_agent = user_agent
        self.retry = retry or RetryPolicy(max_tries=4)
        # Not the SDK's token session: it re-sends POSTs itself (urllib3.Retry), under ``retry``.
        self._http = session or requests.Session()
        self._client_auth = HTTPBasicAuth(client_id, client_secret)
        self._lock = threading.RLock()
        self._current: TokenSet | None = None
        self._ensured = threading.local()  # the token ensure_token gave this thread's next request
        self.refreshes = 0  # token requests made by this instance (reported by benches and tests)

    def __repr__(self) -> str:
        return f"EAccountingAuthenticator(client_id={self.client_id!r}, store={self.store!r})"

    @classmethod
    def shared(
        cls,
        *,
        client_id: str,
        client_secret: str,
        identity_url: str,
        store: TokenStore,
        seed_refresh_token: str | None = None,
        **kwargs: Any,
    ) -> EAccountingAuthenticator:
        """The process-wide instance for ``store`` (by ``store.key``; created on first call)."""
        key = store.key
        with cls._shared_lock:
            existing = cls._shared.get(key)
            if existing is not None:
                if existing.client_id != client_id or existing.identity_url != identity_url.rstrip("/"):
                    raise ValueError(
                        f"token store {store.location} is already in use by client_id "
                        f"{existing.client_id!r} at {existing.identity_url}; use a separate "
                        "token_store_path (or tenant_id) per client"
                    )
                return existing
            instance = cls(client_id, client_secret, identity_url, store, seed_refresh_token, **kwargs)
            cls._shared[key] = instance
            return instance

    @classmethod
    def forget_shared(cls) -> None:
        """Drop the process-wide instances (tests that start several sandboxes in one process)."""
        with cls._shared_lock:
            cls._shared.clear()

    # ---- the SDK authenticator -----------------------------------------------------------

    def is_token_valid(self) -> bool:
        """Whether the token in use is good for more than ``refresh_margin`` seconds."""
        current = self._current
        return current is not None and not current.needs_refresh(self.refresh_margin)

    def update_access_token(self) -> None:
        """Get a token good for more than ``refresh_margin``: the store's, if another process (or an
        earlier run) refreshed recently enough, else a refresh."""
        with self._lock:
            self._refresh(refused=None)

    def ensure_token(self) -> None:
        """Refresh now if the token in use is due. The rate limiter calls this before it books a slot,
        so that no refresh falls between the slot and the send (``ratelimit``); the calling thread's
        next request then carries this token (see ``_ensured_is_usable``)."""
        with self._lock:
            if not self.is_token_valid():
                self.update_access_token()
            self._ensured.token = self.access_token

    def _ensured_is_usable(self, ensured: str | None) -> bool:
        """Whether the token ``ensure_token`` gave this thread is still the one in use and has kept at
        least half of what the margin asks (capped by its lifetime): then it is sent without a second
        refresh, also where a lifetime shorter than the margin makes every token "due"."""
        current = self._current
        if ensured is None or current is None or current.access_token != ensured:
            return False
        lifetime = current.expires_at - current.refreshed_at
        return current.expires_in() > min(self.refresh_margin, lifetime) / 2

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        ensured = getattr(self._ensured, "token", None)
        self._ensured.token = None
        with self._lock:
            if not self._ensured_is_usable(ensured) and not self.is_token_valid():
                self.update_access_token()
            token = self.access_token
        # On the request itself, not on the SDK's shared ``auth_headers``: several threads
        # authenticate requests at once.
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    def handle_unauthorized(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """The API answered 401 to ``request``: refresh (once per refused token) and re-authenticate it."""
        refused = str(request.headers.get("Authorization", "")).removeprefix("Bearer ").strip()
        self._ensured.token = None
        with self._lock:
            current = self._current
            if current is None or current.access_token == refused:  # else another thread replaced it
                log.info("access token refused by the API (401); refreshing")
                self._refresh(refused=refused)
            token = self.access_token
        request.headers["Authorization"] = f"Bearer {token}"
        return request

    @property
    def oauth_request_body(self) -> dict[str, str]:
        """The refresh grant's form: the store's refresh token, or the config's seed while the store is
        empty. Read it under ``store.lock()``: any process may rotate the token."""
        stored = self.store.read()
        if stored is not None:
            return oauth.refresh_form(stored.refresh_token)
        if not self._seed:
            raise ReauthorizationRequired(
                f"no tokens in {self.store.location} and no refresh_token in the config",
                client_id=self.client_id,
            )
        log.info("token store %s is empty: seeding it from config refresh_token", self.store.location)
        return oauth.refresh_form(self._seed)

    def _adopt(self, tokens: TokenSet) -> TokenSet:
        self._current = tokens
        self.access_token = tokens.access_token
        self.expires_in = int(tokens.expires_at - tokens.refreshed_at)
        self.last_refreshed = dt.datetime.fromtimestamp(tokens.refreshed_at, tz=dt.UTC)
        return tokens

    def _refresh(self, *, refused: str | None) -> TokenSet:
        """Under the store lock: adopt the store's tokens if they are fresh and not ``refused`` (an access
        token the API just refused), else refresh and store the rotated pair before using it."""
        with self.store.lock():
            stored = self.store.read()
            if (
                stored is not None
                and stored.access_token != refused
                and not stored.needs_refresh(self.refresh_margin)
            ):
                return self._adopt(stored)
            fresh = self._token_request(self.oauth_request_payload, previous=stored)
            self.store.write(fresh)  # durable before anything uses the new access token
            adopted = self._adopt(fresh)
        # Logged after the inter-process lock is released: a blocked log stream (a full stderr pipe)
        # must never hold every other process of this tenant off the token store.
        log.info(
            "refreshed the eAccounting access token (expires in %ds); token store %s updated",
            int(fresh.expires_in()),
            self.store.location,
        )
        return adopted

    def refresh_now(self) -> TokenSet:
        """Refresh unconditionally (proves the grant is alive; used by ``auth status --verify``)."""
        with self._lock:
            stored = self.store.read()
            return self._refresh(refused=stored.access_token if stored else None)

    # ---- authorization code flow ---------------------------------------------------------

    def authorize_url(self, scopes: Iterable[str], redirect_uri: str, state: str | None = None) -> str:
        return oauth.authorize_url(self.identity_url, str(self.client_id), scopes, redirect_uri, state)

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens and store them (replacing any old grant)."""
        with self._lock, self.store.lock():
            fresh = self._token_request(oauth.code_form(code, redirect_uri), previous=None)
            self.store.write(fresh)
            log.info("stored new eAccounting tokens in %s", self.store.location)
            return self._adopt(fresh)

    # ---- token endpoint ------------------------------------------------------------------

    def _token_request(self, form: Mapping[str, str], *, previous: TokenSet | None) -> TokenSet:
        grant = form["grant_type"]

        def exchange() -> requests.Response:
            response = self._http.post(
                self.auth_endpoint,
                data=dict(form),
                auth=self._client_auth,
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
                timeout=self.timeout,
            )
            if response.status_code >= 400:
                raise oauth.token_error(response, grant, client_id=self.client_id)
            return response

        # A refresh token works once, so a retry after the server consumed it gets invalid_grant,
        # which is what we would have to report anyway; retrying is never worse than not.
        response = self.retry.call(
            exchange, method="POST", path=oauth.TOKEN_PATH, client_id=self.client_id, idempotent=True
        )
        self.refreshes += 1
        return oauth.tokens_from_response(response, previous=previous, client_id=self.client_id)

    # ---- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Token health without secrets."""
        tokens = self.store.read()
        info: dict[str, Any] = {
            "client_id": self.client_id,
            "identity_url": self.identity_url,
            **self.store.describe(),
            "store_exists": tokens is not None,
            "seed_refresh_token_configured": bool(self._seed),
        }
        if tokens is not None:
            now = time.time()
            info["access_token_expires_in_seconds"] = int(tokens.expires_in(now))
            info["access_token_valid"] = tokens.expires_in(now) > 0
            info["last_refresh_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(tokens.refreshed_at))
            info["refreshes_since_authorization"] = tokens.refresh_count
        return info
