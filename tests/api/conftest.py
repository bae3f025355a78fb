"""Helpers for the shared-client tests: configs pointing at a sandbox, each with its own token store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from api_support import CLIENT_SECRET, READ_SCOPES, MakeConfig

from eaccounting_api.authenticator import EAccountingAuthenticator


@pytest.fixture(autouse=True)
def _one_authenticator_per_test() -> Iterator[None]:
    # The process-wide registry would otherwise carry authenticators between tests' sandboxes.
    EAccountingAuthenticator.forget_shared()
    yield
    EAccountingAuthenticator.forget_shared()


@pytest.fixture
def make_config(tmp_path: Path) -> MakeConfig:
    """``make_config(server, company=..., scopes=...)``: a tap/target config seeded with a fresh grant."""

    def make(server: Any, *, company: str = "demo-no", scopes: list[str] | None = None, **extra: Any) -> dict:
        minted = server.mint_tokens(company, scopes or READ_SCOPES)
        return {
            "client_id": "sandbox-client",
            "client_secret": CLIENT_SECRET,
            "refresh_token": minted["refresh_token"],
            "token_store_path": str(tmp_path / f"tokens-{uuid.uuid4().hex[:8]}.json"),
            "api_url": server.api_url,
            "identity_url": server.identity_url,
            "request_timeout": 10,
            "user_agent": "eaccounting-api-tests",
            **extra,
        }

    return make


@pytest.fixture
def own_company(sandbox: Any) -> str:
    """A new, small tenant on the shared sandbox, so revoking its grants disturbs no other test."""
    name = f"api-{uuid.uuid4().hex[:10]}"
    sandbox.admin("POST", "companies", {"company": name, "seed": 3, "country": "NO", "scale": 0.02})
    return name
