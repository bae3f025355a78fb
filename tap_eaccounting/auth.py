"""Singer SDK authenticator backed by the shared ``eaccounting_api.oauth.TokenManager``.

All streams (and any thread of them) share one ``TokenManager`` per process and token store,
so there is exactly one refresh in flight per tenant, and the rotated refresh token is on disk
before it is used (see ``eaccounting_api.tokens``). This module also builds the manager and the
shared API client from a tap or target config dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests
from singer_sdk.authenticators import OAuthAuthenticator

from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.connection import client_from_config, token_manager_from_config, token_store_path
from eaccounting_api.oauth import TOKEN_PATH, TokenManager

__all__ = [
    "EAccountingAuthenticator",
    "build_client",
    "build_token_manager",
    "token_store_path",
]


def build_token_manager(config: Mapping[str, Any]) -> TokenManager:
    """The process-wide ``TokenManager`` for ``config`` (keys: client_id, client_secret,
    refresh_token, token_store_path, identity_url, request_timeout, user_agent)."""
    return token_manager_from_config(config)


def build_client(config: Mapping[str, Any], *, max_concurrency: int | None = None) -> EAccountingClient:
    """An ``EAccountingClient`` (auth, per-endpoint limiter, retry, error mapping) for ``config``
    (adds api_url, max_concurrency, rate_limit_per_minute to the keys above)."""
    return client_from_config(config, max_concurrency=max_concurrency)


class EAccountingAuthenticator(OAuthAuthenticator):
    """An ``OAuthAuthenticator`` whose token lifecycle is the shared ``TokenManager``'s.

    Use ``EAccountingAuthenticator.for_config(config)`` from a stream's ``authenticator``
    property: it returns the same instance for every stream of the process.
    """

    _instances: dict[str, EAccountingAuthenticator] = {}

    def __init__(self, manager: TokenManager) -> None:
        super().__init__(auth_endpoint=manager.identity_url + TOKEN_PATH, client_id=manager.client_id)
        self.manager = manager

    @classmethod
    def for_config(cls, config: Mapping[str, Any]) -> EAccountingAuthenticator:
        manager = build_token_manager(config)
        key = str(manager.store.path)
        instance = cls._instances.get(key)
        if instance is None or instance.manager is not manager:
            instance = cls._instances[key] = cls(manager)
        return instance

    @property
    def oauth_request_body(self) -> dict:
        # Token requests are made by the TokenManager (Basic auth, rotation, locking); this body
        # only documents the grant and carries no secret.
        return {"grant_type": "refresh_token"}

    def is_token_valid(self) -> bool:
        tokens = self.manager.store.read()
        return tokens is not None and not tokens.needs_refresh(self.manager.refresh_margin)

    def update_access_token(self) -> None:
        """Make sure the shared manager holds a valid token (refreshing under the store lock)."""
        self.manager.access_token()

    def authenticate_request(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # Set the header on the request itself, not on the shared ``auth_headers`` dict: streams
        # may call this from several threads at once.
        request.headers["Authorization"] = f"Bearer {self.manager.access_token()}"
        return request

    def handle_unauthorized(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        """After a 401 on ``request``: refresh (once per stale token) and re-authenticate it."""
        header = request.headers.get("Authorization", "")
        stale = header.removeprefix("Bearer ").strip()
        request.headers["Authorization"] = f"Bearer {self.manager.on_unauthorized(stale)}"
        return request
