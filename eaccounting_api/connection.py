"""The connection settings of tap and target, declared once, and what they build: the authenticator
and the API client.

``CONNECTION_SETTINGS`` is the shared part of both connectors' ``config_jsonschema`` (and so of their
``--about``, meltano.yml and the README tables): each connector lists it first, then its own settings.
``client_from_config`` and ``authenticator_from_config`` read exactly these keys; ``max_concurrency``
is the caller's (it means pages for the tap and writes for the target) and only sizes the pool.

Where tokens and the rate budget live: by default a token file per grant (``token_store_path``) and a
budget per process. With ``coordination_dsn`` both move to Postgres (``pg_token_store``,
``shared_budget``), shared by every process on every machine; the grant's row there is
``<client_id>/<tenant_id>``, so ``tenant_id`` is required with it (a stable name survives a
re-authorization, which a hash of the seed refresh token would not).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from singer_sdk import typing as th

from eaccounting_api.api_client import EAccountingClient
from eaccounting_api.authenticator import EAccountingAuthenticator
from eaccounting_api.pg_coordination import Coordination
from eaccounting_api.pg_token_store import PostgresTokenStore
from eaccounting_api.ratelimit import (
    DEFAULT_KEYING,
    DEFAULT_METHODS,
    DEFAULT_PER_MINUTE,
    KEYINGS,
    METHOD_COUNTINGS,
    Keying,
    MethodCounting,
    RateLimiter,
)
from eaccounting_api.shared_budget import DEFAULT_SCOPE, SCOPES, SharedRateBudget
from eaccounting_api.tokens import FileTokenStore, TokenStore

DEFAULT_API_URL = "https://eaccountingapi.vismaonline.com/v2"
DEFAULT_IDENTITY_URL = "https://identity.vismaonline.com"
# The version has one source, pyproject.toml; the installed distribution's metadata carries it.
DEFAULT_USER_AGENT = f"eaccounting-singer/{metadata.version('eaccounting-singer')}"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_CONCURRENCY = 4

CONNECTION_SETTINGS: tuple[th.Property, ...] = (
    th.Property("client_id", th.StringType, required=True, description="OAuth client id."),
    th.Property(
        "client_secret", th.StringType, required=True, secret=True, description="OAuth client secret."
    ),
    th.Property(
        "refresh_token",
        th.StringType,
        secret=True,
        description="Refresh token seeding the token store on first use (rotations live in the store).",
    ),
    th.Property(
        "token_store_path",
        th.StringType,
        description="JSON file holding the rotating tokens (0600, atomic writes, flock-locked); tap and "
        "target of one grant must share it. Default: ~/.local/state/eaccounting/tokens-<client>-<hash>.json "
        "(the same file for the same client_id and refresh_token).",
    ),
    th.Property("api_url", th.StringType, default=DEFAULT_API_URL, description="API base URL, with /v2."),
    th.Property(
        "identity_url", th.StringType, default=DEFAULT_IDENTITY_URL, description="Identity server URL."
    ),
    th.Property(
        "request_timeout", th.NumberType, default=DEFAULT_TIMEOUT, description="Seconds per request."
    ),
    th.Property("user_agent", th.StringType, default=DEFAULT_USER_AGENT, description="User-Agent header."),
    th.Property(
        "rate_limit_per_minute",
        th.IntegerType,
        default=DEFAULT_PER_MINUTE,
        description="Client-side budget per endpoint and minute (Visma documents 600).",
    ),
    th.Property(
        "rate_limit_keying",
        th.StringType,
        default=DEFAULT_KEYING,
        allowed_values=list(KEYINGS),
        description="What counts as one endpoint for the limiter (UNVERIFIED): 'template' (/x/{id} is "
        "one endpoint, strictest), 'url' (each concrete URL) or 'global' (one budget).",
    ),
    th.Property(
        "rate_limit_methods",
        th.StringType,
        default=DEFAULT_METHODS,
        allowed_values=list(METHOD_COUNTINGS),
        description="Whether reads and writes of one endpoint share its budget (UNVERIFIED): 'shared' "
        "(GET and POST of /customers share one budget, safe) or 'split' (reads and writes counted apart).",
    ),
    th.Property(
        "rate_limit_scope",
        th.StringType,
        default=DEFAULT_SCOPE,
        allowed_values=list(SCOPES),
        description="Who shares one budget with coordination_dsn (UNVERIFIED): 'client' (every tenant of "
        "the client_id, safe) or 'client_company' (each tenant its own).",
    ),
    th.Property(
        "tenant_id",
        th.StringType,
        description="Stable name of the company this grant belongs to; with coordination_dsn it keys the "
        "token row, the target's ledger and (client_company) the rate budget. Required with it.",
    ),
    th.Property(
        "coordination_dsn",
        th.StringType,
        secret=True,
        description="Postgres DSN shared by every machine (needs the `postgres` extra): token store, rate "
        "budget per client and endpoint, and the target's ledger live there. Default: none (local files).",
    ),
)


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


def _timeout(config: Mapping[str, Any]) -> float:
    return float(config.get("request_timeout") or DEFAULT_TIMEOUT)


def _user_agent(config: Mapping[str, Any]) -> str:
    return str(config.get("user_agent") or DEFAULT_USER_AGENT)


def coordination_from_config(config: Mapping[str, Any]) -> Coordination | None:
    """The process-wide ``Coordination`` of ``coordination_dsn``, or None (embedded default)."""
    dsn = config.get("coordination_dsn")
    return Coordination.shared(str(dsn)) if dsn else None


def tenant_key(config: Mapping[str, Any]) -> str:
    """``<client_id>/<tenant_id>``: the grant's row in the coordination database (and the namespace of
    the target's ledger there)."""
    if not config.get("tenant_id"):
        raise ValueError(
            "config setting 'tenant_id' is required with coordination_dsn: a stable name of the company "
            "(e.g. its slug), the same for the tap and the target of that company"
        )
    return f"{_required(config, 'client_id')}/{config['tenant_id']}"


def token_store_from_config(config: Mapping[str, Any]) -> TokenStore:
    coordination = coordination_from_config(config)
    if coordination is None:
        return FileTokenStore(token_store_path(config))
    return PostgresTokenStore(coordination, tenant_key(config), _required(config, "client_id"))


def authenticator_from_config(config: Mapping[str, Any]) -> EAccountingAuthenticator:
    """The process-wide ``EAccountingAuthenticator`` for this config's token store."""
    return EAccountingAuthenticator.shared(
        client_id=_required(config, "client_id"),
        client_secret=_required(config, "client_secret"),
        identity_url=str(config.get("identity_url") or DEFAULT_IDENTITY_URL),
        store=token_store_from_config(config),
        seed_refresh_token=config.get("refresh_token") or None,
        timeout=_timeout(config),
        user_agent=_user_agent(config),
    )


def _keying(config: Mapping[str, Any]) -> Keying:
    value = str(config.get("rate_limit_keying") or DEFAULT_KEYING)
    if value not in KEYINGS:
        raise ValueError(
            f"config setting 'rate_limit_keying' must be one of {', '.join(KEYINGS)}; got {value!r}"
        )
    return value


def _methods(config: Mapping[str, Any]) -> MethodCounting:
    value = str(config.get("rate_limit_methods") or DEFAULT_METHODS)
    if value not in METHOD_COUNTINGS:
        raise ValueError(
            f"config setting 'rate_limit_methods' must be one of {', '.join(METHOD_COUNTINGS)}; got {value!r}"
        )
    return value


def limiter_from_config(config: Mapping[str, Any]) -> RateLimiter:
    """The process's own limiter, or with ``coordination_dsn`` the budget shared per ``rate_limit_scope``."""
    per_minute = int(config.get("rate_limit_per_minute") or DEFAULT_PER_MINUTE)
    coordination = coordination_from_config(config)
    if coordination is None:
        return RateLimiter(per_minute, keying=_keying(config), methods=_methods(config))
    scope = str(config.get("rate_limit_scope") or DEFAULT_SCOPE)
    if scope not in SCOPES:
        raise ValueError(
            f"config setting 'rate_limit_scope' must be one of {', '.join(SCOPES)}; got {scope!r}"
        )
    budget_scope = _required(config, "client_id") if scope == "client" else tenant_key(config)
    return SharedRateBudget(
        coordination, budget_scope, per_minute, keying=_keying(config), methods=_methods(config)
    )


def client_from_config(
    config: Mapping[str, Any], *, max_concurrency: int = DEFAULT_MAX_CONCURRENCY
) -> EAccountingClient:
    """An ``EAccountingClient`` authenticated by ``authenticator_from_config(config)``, with a
    connection pool for ``max_concurrency`` requests at once."""
    authenticator = authenticator_from_config(config)
    limiter = limiter_from_config(config)
    limiter.before_reserve = authenticator.ensure_token  # see ratelimit: refresh, then book the slot
    return EAccountingClient(
        str(config.get("api_url") or DEFAULT_API_URL),
        authenticator,
        limiter=limiter,
        timeout=_timeout(config),
        user_agent=_user_agent(config),
        client_id=_required(config, "client_id"),
        pool_size=max_concurrency + 2,
    )
