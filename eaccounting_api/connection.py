"""Build the shared OAuth manager and API client from a tap or target config dict.

Keys read (all other keys are ignored): ``client_id``, ``client_secret``, ``refresh_token``,
``token_store_path``, ``api_url``, ``identity_url``, ``request_timeout``, ``user_agent``,
``max_concurrency`` (connection pool size), ``rate_limit_per_minute`` and ``rate_limit_keying``
(``template`` | ``url`` | ``global``; both UNVERIFIED, see ``ratelimit``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from eaccounting_api.api_client import DEFAULT_API_URL, DEFAULT_TIMEOUT, DEFAULT_USER_AGENT, EAccountingClient
from eaccounting_api.oauth import DEFAULT_IDENTITY_URL, TokenManager
from eaccounting_api.ratelimit import DEFAULT_KEYING, DEFAULT_PER_MINUTE, KEYINGS, Keying, RateLimiter


def default_token_store_path(config: Mapping[str, Any]) -> Path:
    """Where tokens live when ``token_store_path`` is not set.

    One file per client and grant: the name carries a short hash of the seed refresh token, so
    two tenants served by one client never share a file, while a tap and a target configured with
    the same seed do (which is what lets them coordinate rotation).
    """
    base = Path(os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state") / "eaccounting"
    seed = str(config.get("refresh_token") or "")
    grant = hashlib.sha256(seed.encode("utf-8")).hexdigest()[:12]
    return base / f"tokens-{config.get('client_id', 'unknown')}-{grant}.json"


def token_store_path(config: Mapping[str, Any]) -> Path:
    explicit = config.get("token_store_path")
    return Path(explicit).expanduser() if explicit else default_token_store_path(config)


def _required(config: Mapping[str, Any], key: str) -> str:
    value = config.get(key)
    if not value:
        raise ValueError(f"config setting {key!r} is required")
    return str(value)


def token_manager_from_config(config: Mapping[str, Any]) -> TokenManager:
    """The process-wide ``TokenManager`` for this config's token store."""
    return TokenManager.shared(
        client_id=_required(config, "client_id"),
        client_secret=_required(config, "client_secret"),
        identity_url=str(config.get("identity_url") or DEFAULT_IDENTITY_URL),
        store_path=token_store_path(config),
        seed_refresh_token=config.get("refresh_token") or None,
        timeout=float(config.get("request_timeout") or DEFAULT_TIMEOUT),
        user_agent=str(config.get("user_agent") or DEFAULT_USER_AGENT),
    )


def _keying(config: Mapping[str, Any]) -> Keying:
    value = str(config.get("rate_limit_keying") or DEFAULT_KEYING)
    if value not in KEYINGS:
        raise ValueError(
            f"config setting 'rate_limit_keying' must be one of {', '.join(KEYINGS)}; got {value!r}"
        )
    return value


def client_from_config(config: Mapping[str, Any], *, max_concurrency: int | None = None) -> EAccountingClient:
    concurrency = int(max_concurrency or config.get("max_concurrency") or 4)
    return EAccountingClient(
        str(config.get("api_url") or DEFAULT_API_URL),
        token_manager_from_config(config),
        limiter=RateLimiter(
            int(config.get("rate_limit_per_minute") or DEFAULT_PER_MINUTE), keying=_keying(config)
        ),
        timeout=float(config.get("request_timeout") or DEFAULT_TIMEOUT),
        user_agent=str(config.get("user_agent") or DEFAULT_USER_AGENT),
        client_id=_required(config, "client_id"),
        pool_size=concurrency + 2,
    )
