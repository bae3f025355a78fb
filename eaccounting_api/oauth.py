"""OAuth for eAccounting: access tokens from a rotating refresh token, shared safely by processes.

Identity facts (docs/API_FACTS.md#token-lifetimes-and-rotation): the token endpoint takes HTTP Basic client
credentials and a form-encoded body; every response carries a NEW refresh token and the old one stops working;
``ea:api`` and ``offline_access`` are mandatory scopes. Hence:

- Every refresh runs under the token store's inter-process lock: re-read the store, and if
  another process already refreshed, use its tokens instead of burning the shared refresh
  token a second time. Otherwise refresh, write the rotated pair durably, release, use.
- The config's ``refresh_token`` only seeds an empty store; afterwards the store is the truth.
- ``invalid_grant`` (password change, revoked grant, a refresh token used elsewhere) and a 401
  that survives a fresh access token raise ``ReauthorizationRequired``.
- No token, code or secret is ever logged or put in an exception message.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar
from urllib.parse import urlencode

import requests

from eaccounting_api.errors import (
    AuthenticationError,
    EAccountingError,
    FatalError,
    ReauthorizationRequired,
    error_from_response,
)
from eaccounting_api.retry import RetryPolicy
from eaccounting_api.tokens import FileTokenStore, TokenSet

log = logging.getLogger(__name__)

REFRESH_MARGIN_SECONDS = 300.0  # refresh 5 minutes before expiry
MANDATORY_SCOPES = ("ea:api", "offline_access")
TOKEN_PATH = "/connect/token"  # noqa: S105 - a URL path, not a password
AUTHORIZE_PATH = "/connect/authorize"
DEFAULT_IDENTITY_URL = "https://identity.vismaonline.com"


def full_scope_list(scopes: Iterable[str]) -> list[str]:
    """``scopes`` plus the mandatory ones, without duplicates, mandatory first."""
    result = list(MANDATORY_SCOPES)
    for scope in scopes:
        if scope not in result:
            result.append(scope)
    return result


class TokenManager:
    """Hands out valid access tokens for one tenant grant. Thread-safe; one per process and store."""

    _shared: ClassVar[dict[str, TokenManager]] = {}
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        identity_url: str,
        store: FileTokenStore,
        seed_refresh_token: str | None = None,
        *,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
        timeout: float = 30.0,
        user_agent: str = "eaccounting-singer",
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.identity_url = identity_url.rstrip("/")
        self.store = store
        self._seed = seed_refresh_token or None
        self.refresh_margin = refresh_margin
        self.timeout = timeout
        self.user_agent = user_agent
        self.retry = retry or RetryPolicy(max_tries=4)
        self._session = session or requests.Session()
        self._lock = threading.RLock()
        self._current: TokenSet | None = None
        self.refreshes = 0  # token requests made by this instance (for tests and benches)

    def __repr__(self) -> str:
        return f"TokenManager(client_id={self.client_id!r}, store={self.store!r})"

    @classmethod
    def shared(
        cls,
        *,
        client_id: str,
        client_secret: str,
        identity_url: str,
        store_path: str | os.PathLike[str],
        seed_refresh_token: str | None = None,
        **kwargs: Any,
    ) -> TokenManager:
        """The process-wide instance for ``store_path`` (created on first call)."""
        store = FileTokenStore(store_path)
        key = str(store.path)
        with cls._shared_lock:
            existing = cls._shared.get(key)
            if existing is not None:
                if existing.client_id != client_id or existing.identity_url != identity_url.rstrip("/"):
                    raise ValueError(
                        f"token store {key} is already in use by client_id {existing.client_id!r} "
                        f"at {existing.identity_url}; use a separate token_store_path per client"
                    )
                return existing
            manager = cls(client_id, client_secret, identity_url, store, seed_refresh_token, **kwargs)
            cls._shared[key] = manager
            return manager

    @classmethod
    def forget_shared(cls) -> None:
        """Drop the process-wide instances (tests that start several sandboxes in one process)."""
        with cls._shared_lock:
            cls._shared.clear()

    @property
    def token_url(self) -> str:
        return self.identity_url + TOKEN_PATH

    # ---- access tokens -------------------------------------------------------------------

    def access_token(self) -> str:
        """A valid access token, refreshed when it expires within ``refresh_margin``."""
        with self._lock:
            current = self._current
            if current is not None and not current.needs_refresh(self.refresh_margin):
                return current.access_token
            return self._refresh(stale=current.access_token if current else None).access_token

    def on_unauthorized(self, stale_token: str) -> str:
        """The API refused ``stale_token`` (401): return a newer token, refreshing if needed."""
        with self._lock:
            current = self._current
            if current is not None and current.access_token != stale_token:
                return current.access_token  # another thread already replaced it
            log.info("access token refused by the API (401); refreshing")
            return self._refresh(stale=stale_token, force=True).access_token

    def refresh_now(self) -> TokenSet:
        """Refresh unconditionally (proves the grant is alive; used by ``auth status --verify``)."""
        with self._lock:
            stored = self.store.read()
            stale = stored.access_token if stored else None
            return self._refresh(stale=stale, force=True)

    def current(self) -> TokenSet | None:
        """What the store holds now (for ``auth status``)."""
        return self.store.read()

    def _refresh(self, *, stale: str | None, force: bool = False) -> TokenSet:
        with self.store.lock():
            stored = self.store.read()
            if stored is not None and stored.access_token != stale:
                # Another process (or an earlier run) wrote newer tokens: use them if fresh.
                if not stored.needs_refresh(self.refresh_margin):
                    self._current = stored
                    return stored
            elif stored is not None and not force and not stored.needs_refresh(self.refresh_margin):
                self._current = stored
                return stored
            if stored is None:
                if not self._seed:
                    raise ReauthorizationRequired(
                        f"no tokens in {self.store.path} and no refresh_token in the config",
                        client_id=self.client_id,
                    )
                log.info("token store %s is empty: seeding it from config refresh_token", self.store.path)
                refresh_token = self._seed
            else:
                refresh_token = stored.refresh_token
            fresh = self._token_request(
                {"grant_type": "refresh_token", "refresh_token": refresh_token}, previous=stored
            )
            # Persist the rotated refresh token before anything uses the new access token.
            self.store.write(fresh)
            self._current = fresh
            log.info(
                "refreshed the eAccounting access token (expires in %ds); token store %s updated",
                int(fresh.expires_in()),
                self.store.path,
            )
            return fresh

    # ---- authorization code flow ---------------------------------------------------------

    def authorize_url(self, scopes: Iterable[str], redirect_uri: str, state: str | None = None) -> str:
        params = {
            "client_id": self.client_id,
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": " ".join(full_scope_list(scopes)),
        }
        if state:
            params["state"] = state
        return f"{self.identity_url}{AUTHORIZE_PATH}?{urlencode(params)}"

    def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Trade an authorization code for tokens and store them (replacing any old grant)."""
        with self._lock, self.store.lock():
            fresh = self._token_request(
                {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
                previous=None,
            )
            self.store.write(fresh)
            self._current = fresh
            log.info("stored new eAccounting tokens in %s", self.store.path)
            return fresh

    # ---- token endpoint ------------------------------------------------------------------

    def _token_request(self, form: Mapping[str, str], *, previous: TokenSet | None) -> TokenSet:
        grant = form["grant_type"]

        def exchange() -> requests.Response:
            response = self._session.post(
                self.token_url,
                data=dict(form),
                auth=(self.client_id, self._client_secret),
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
                timeout=self.timeout,
            )
            if response.status_code >= 400:
                raise self._token_error(response, grant)
            return response

        # A refresh token works once, so a retry after the server consumed it gets invalid_grant,
        # which is what we would have to report anyway; retrying is never worse than not.
        response = self.retry.call(
            exchange, method="POST", path=TOKEN_PATH, client_id=self.client_id, idempotent=True
        )
        self.refreshes += 1
        try:
            body = response.json()
            return TokenSet.from_token_response(body, previous=previous)
        except (ValueError, KeyError, TypeError):
            raise EAccountingError(
                "identity token response lacks access_token/refresh_token",
                status=response.status_code,
                method="POST",
                path=TOKEN_PATH,
                client_id=self.client_id,
            ) from None

    def _token_error(self, response: requests.Response, grant: str) -> EAccountingError | FatalError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        oauth_error = body.get("error") if isinstance(body, dict) else None
        description = body.get("error_description") if isinstance(body, dict) else None
        where: dict[str, Any] = {"status": response.status_code, "method": "POST", "path": TOKEN_PATH}
        if oauth_error == "invalid_grant":
            what = "refresh token" if grant == "refresh_token" else "authorization code"
            return ReauthorizationRequired(
                f"identity rejected the {what} (invalid_grant: the password was changed, access was "
                "revoked, or the token was already used)",
                error_code=oauth_error,
                developer_message=description,
                client_id=self.client_id,
                **where,
            )
        if oauth_error in ("invalid_client", "unauthorized_client"):
            return AuthenticationError(
                f"identity rejected the client credentials ({oauth_error}): "
                "check client_id and client_secret",
                error_code=oauth_error,
                developer_message=description,
                client_id=self.client_id,
                **where,
            )
        error = error_from_response(response, client_id=self.client_id, path=TOKEN_PATH)
        if oauth_error:
            error.error_code = oauth_error
            error.developer_message = description
        return error

    # ---- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Token health without secrets."""
        tokens = self.store.read()
        info: dict[str, Any] = {
            "client_id": self.client_id,
            "identity_url": self.identity_url,
            "token_store_path": str(self.store.path),
            "store_exists": tokens is not None,
            "seed_refresh_token_configured": bool(self._seed),
        }
        if self.store.exists():
            info["store_mode"] = oct(self.store.path.stat().st_mode & 0o777)
        if tokens is not None:
            now = time.time()
            info["access_token_expires_in_seconds"] = int(tokens.expires_in(now))
            info["access_token_valid"] = tokens.expires_in(now) > 0
            info["last_refresh_utc"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(tokens.refreshed_at))
            info["refreshes_since_authorization"] = tokens.refresh_count
        return info
